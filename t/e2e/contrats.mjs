/*
 * "Mes contrats" (contrats.html) in a real browser at 360 px: the client
 * sees their two contracts, the latest signed first, and downloads one;
 * the file is the uploaded PDF.  Run by t/e2e/contrats.t.
 */

import {
    assert, cspViolations, done, launch, login, newPage, ok, scenario,
    screenshot, setup,
} from './lib.mjs';

const BASE = `${setup.url}/espace-client/`;
const browser = await launch();

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
        const {statSync, readFileSync} = await import('node:fs');

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
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
