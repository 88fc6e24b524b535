/*
 * "Mes contrats" (contrats.html) in a real browser at 360 px: the client
 * sees their two contracts, the latest signed first, and downloads one;
 * the file is the uploaded PDF.
 *
 * Then the round trip through the pages: an administrator uploads a PDF
 * for a client from admin.html (its file input), that client logs in,
 * sees no link to the administration, opens "Mes contrats" from the
 * navigation and downloads it by a click: the bytes are those uploaded.
 * admin.html opened by that client says plainly, in French, that it is
 * not for them.  Run by t/e2e/contrats.t.
 */

import {randomBytes} from 'node:crypto';
import {readFileSync, statSync} from 'node:fs';

import {
    assert, cspViolations, done, launch, login, newPage, ok, scenario,
    screenshot, setup,
} from './lib.mjs';

const BASE = `${setup.url}/espace-client/`;
const TITLE = `Marché de travaux ${setup.pid}`;
const browser = await launch();

/* a PDF's first bytes, then every byte value and noise: nothing text-safe */
function pdfBytes() {
    const all = Buffer.alloc(256);

    for (let i = 0; i < 256; i++) {
        all[i] = i;
    }

    return Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\r\n'),
                          all, randomBytes(200 * 1024), all,
                          Buffer.from('\r\n%%EOF\n')]);
}

async function roundTrip() {
    const pdf = pdfBytes();
    const admin = await newPage(browser, {width: 1280, height: 800});
    const client = await newPage(browser, {width: 360, height: 740});
    const step = scenario('a contract through the pages', {
        onFailure: async (name) => {
            await screenshot(admin, 'contrats-admin-failed');
            await screenshot(client, 'contrats-client-failed');
        },
    });

    await step('an administrator uploads a PDF for a client from admin.html',
               async () => {
        await login(admin, BASE, setup.admin);
        await admin.goto(`${BASE}admin.html`);
        await admin.getByLabel('Nom, identifiant, e-mail ou numéro client')
            .fill(setup.fresh.name);
        await admin.getByRole('button', {name: 'Rechercher'}).click();
        const card = admin.locator('[data-users] .card').first();

        await card.getByRole('button', {name: 'Contrats'}).click();
        await card.getByText('Aucun contrat.').waitFor();
        await card.getByLabel('Intitulé du contrat').fill(TITLE);
        await card.getByLabel('Signé le').fill('2026-05-12');
        await card.getByLabel(/Fichier PDF/).setInputFiles({
            name: 'marche.pdf', mimeType: 'application/pdf', buffer: pdf,
        });
        await card.getByRole('button', {name: 'Ajouter le contrat'}).click();
        await card.locator('[data-contract]', {hasText: TITLE}).waitFor();
        const focus = await admin.evaluate(() => {
            const a = document.activeElement;

            return a && a.closest('[data-contract]')
                ? a.closest('[data-contract]').innerText : `<${a.tagName}>`;
        });

        assert(focus.includes(TITLE), `the focus after the upload: ${focus}`);
    });

    await step('the client sees no link to the administration', async () => {
        await login(client, BASE, setup.fresh);
        const nav = client.getByRole('navigation', {name: 'Menu du compte'});

        await nav.getByRole('link', {name: 'Mes contrats'}).waitFor();
        const links = await client.locator('a[href*="admin"]:visible')
            .count();
        const text = await nav.innerText();

        assert(links === 0, `${links} link(s) to admin pages`);
        assert(!/Administration/.test(text), `navigation: ${text}`);
    });

    await step('"Mes contrats" from the navigation: a click downloads the'
               + ' very bytes uploaded', async () => {
        await client.getByRole('navigation', {name: 'Menu du compte'})
            .getByRole('link', {name: 'Mes contrats'}).click();
        await client.waitForURL(/contrats\.html$/);
        const card = client.locator('[data-contracts] .card',
                                    {hasText: TITLE});

        await card.waitFor();
        assert((await card.innerText()).includes('12/05/2026'),
               'the day of signature');
        const [download] = await Promise.all([
            client.waitForEvent('download'),
            card.getByRole('link', {name: /Télécharger le PDF/}).click(),
        ]);
        const path = await download.path();
        const got = readFileSync(path);

        assert(/^contrat-\d+-2026-05-12\.pdf$/.test(
            download.suggestedFilename()), download.suggestedFilename());
        assert(statSync(path).size === pdf.length,
               `${statSync(path).size} bytes, ${pdf.length} uploaded`);
        assert(got.equals(pdf), 'the bytes differ from those uploaded');
    });

    await step('admin.html refuses the client plainly, in French',
               async () => {
        await client.goto(`${BASE}admin.html`);
        const refusal = client.locator('[data-forbidden]');

        await refusal.waitFor();
        const text = await refusal.innerText();

        assert(/réservée?s? aux administrateurs/.test(text), text);
        assert(await client.locator('[data-admin]').isHidden(),
               'the admin forms stay hidden');
        assert(await client.locator('.admin-nav').isHidden(),
               'the admin pages\' links stay hidden');
        assert(await client.locator('.error-summary').count() === 0
               || await client.locator('.error-summary').isHidden(),
               'no error summary');
        const heading = await client.locator('main h1').innerText();

        assert(/réservé|accès/i.test(heading), `heading: ${heading}`);
        await refusal.getByRole('link', {name: /accueil/}).click();
        await client.waitForURL(/accueil\.html$/);
    });

    await admin.context().close();
    await client.context().close();
}

try {
    const page = await newPage(browser, {width: 360, height: 740});
    const step = scenario('Mes contrats', {
        onFailure: async () => screenshot(page, 'contrats-failed'),
    });

    await step('the client sees their contracts, the latest first',
               async () => {
        await login(page, BASE, setup.client);
        await page.goto(`${BASE}contrats.html`);
        const cards = page.locator('[data-contracts] .card__title');

        await cards.first().waitFor();
        const titles = await cards.allInnerTexts();

        assert(titles.join('|') === 'Avenant n°1|Devis signé',
               `titles: ${titles.join('|')}`);
        const text = await page.locator('main').innerText();

        assert(text.includes('22/04/2026') || text.includes('22 avril 2026'),
               `the day of signature: ${text}`);
        assert(await page.locator('[data-loading]').isHidden(),
               'loading hidden');
    });

    await step('a contract downloads as the PDF that was uploaded',
               async () => {
        const [download] = await Promise.all([
            page.waitForEvent('download'),
            page.getByRole('link', {name: /Télécharger le PDF/}).first()
                .click(),
        ]);
        const name = download.suggestedFilename();

        assert(/^contrat-\d+-2026-04-22\.pdf$/.test(name), `name: ${name}`);
        const path = await download.path();

        assert(statSync(path).size === setup.size, 'the size uploaded');
        assert(readFileSync(path).subarray(0, 5).toString() === '%PDF-',
               'a PDF');
    });

    await step('no sideways scroll at 360 px, no CSP violation', async () => {
        const wide = await page.evaluate(
            () => document.documentElement.scrollWidth > window.innerWidth);

        assert(!wide, 'sideways scroll');
        const problems = await cspViolations(page);

        assert(problems.length === 0, problems.join('\n'));
    });
    await page.context().close();

    await roundTrip();
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
