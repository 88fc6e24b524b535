/*
 * The admin pages in a real browser at 360 px: an administrator creates a
 * client with a generated password (which then logs in), finds and
 * deactivates then reactivates them, creates a chantier choosing that
 * client by search, sets a revised end, uploads and deletes a contract,
 * sends a dead-lettered notification again, and reads it all in the
 * journal; an employee sees no admin page.  Run by t/e2e/admin.t.
 */

import {
    assert, cspViolations, done, launch, login, newPage, ok, scenario,
    screenshot, setup,
} from './lib.mjs';

const BASE = `${setup.url}/espace-client/`;
const LOGIN = `e2e-admin-${setup.pid}`;
const CODE = `CH-E2E-${setup.pid}`;
const browser = await launch();

async function noSideScroll(page) {
    return page.evaluate(
        () => document.documentElement.scrollWidth <= window.innerWidth);
}

try {
    const page = await newPage(browser, {width: 360, height: 740});
    const step = scenario('admin pages', {
        onFailure: async () => screenshot(page, 'admin-failed'),
    });
    let generated = null;

    await step('an administrator creates a client, the password shown once',
               async () => {
        await login(page, BASE, setup.admin);
        await page.goto(`${BASE}admin.html`);
        const form = page.locator('#user-create');

        await form.getByLabel('Rôle').selectOption('client');
        await form.getByLabel('Identifiant de connexion').fill(LOGIN);
        await form.getByLabel('Civilité').selectOption('Mme');
        await form.getByLabel('Prénom').fill('Agathe');
        await form.getByLabel('Nom', {exact: true}).fill(`Essai ${setup.pid}`);
        await form.getByLabel('Numéro client (clients)')
            .fill(`E2E-${setup.pid}`);
        await form.getByLabel('Adresse (clients)').fill('3 rue Haute');
        await form.getByLabel('Code postal').fill('69001');
        await form.getByLabel('Ville').fill('Lyon');
        await form.getByLabel('Adresse e-mail').fill('agathe@example.test');
        await form.getByRole('button', {name: 'Créer le compte'}).click();

        const notice = page.locator('[data-created] .notice');

        await notice.waitFor();
        generated = await notice.locator('strong').innerText();
        assert(/^[A-Za-z0-9]{16}$/.test(generated), `password ${generated}`);
        assert(await page.evaluate(() => document.activeElement.closest(
            '[data-created]') !== null), 'focus on the notice');
        assert(await noSideScroll(page), 'no sideways scroll at 360 px');
    });

    await step('a French error next to the field for a taken login',
               async () => {
        const form = page.locator('#user-create');

        await form.getByLabel('Rôle').selectOption('employee');
        await form.getByLabel('Identifiant de connexion').fill(LOGIN);
        await form.getByLabel('Prénom').fill('Bis');
        await form.getByLabel('Nom', {exact: true}).fill('Bis');
        await form.getByRole('button', {name: 'Créer le compte'}).click();
        await page.locator('#new-login-error').waitFor();
        const error = await page.locator('#new-login-error').innerText();

        assert(/déjà utilisé/.test(error) && !/\(login\)/.test(error),
               `error: ${error}`);
    });

    await step('found by search, deactivated, reactivated', async () => {
        await page.getByLabel('Nom, identifiant, e-mail ou numéro client')
            .fill(`Essai ${setup.pid}`);
        await page.getByRole('button', {name: 'Rechercher'}).click();
        const card = page.locator('[data-users] .card').first();

        await card.getByRole('button', {name: 'Désactiver'}).click();
        await page.locator('[data-users] .card', {hasText: 'désactivé'})
            .waitFor();
        await page.locator('[data-users] .card')
            .getByRole('button', {name: 'Réactiver'}).click();
        await page.locator('[data-users] .card')
            .getByRole('button', {name: 'Désactiver'}).waitFor();
    });

    await step('a contract uploaded and deleted', async () => {
        const card = page.locator('[data-users] .card').first();

        await card.getByRole('button', {name: 'Contrats'}).click();
        await card.getByLabel('Intitulé du contrat').fill('Devis signé');
        await card.getByLabel('Signé le').fill('2026-03-15');
        await card.getByLabel(/Fichier PDF/).setInputFiles({
            name: 'devis.pdf', mimeType: 'application/pdf',
            buffer: Buffer.from('%PDF-1.4\n%%EOF\n'),
        });
        await card.getByRole('button', {name: 'Ajouter le contrat'}).click();
        await card.locator('[data-contract]', {hasText: 'Devis signé'})
            .waitFor();
        await card.getByRole('button', {name: 'Supprimer « Devis signé »'})
            .click();
        await card.getByText('Aucun contrat.').waitFor();
    });

    await step('a chantier created for that client, then late', async () => {
        await page.getByRole('navigation', {name: 'Administration'})
            .getByRole('link', {name: 'Chantiers'}).click();
        await page.waitForURL(/admin-chantiers\.html/);
        const form = page.locator('#chantier-create');

        await form.getByLabel('Référence du chantier').fill(CODE);
        await form.getByLabel('Intitulé').fill('Essai de véranda');
        await form.getByLabel('Début').fill('2026-01-05');
        await form.getByLabel('Fin prévue').fill('2026-02-27');
        await form.getByLabel(/^Client/).fill(`Essai ${setup.pid}`);
        await form.getByRole('button', {name: 'Chercher le client'}).click();
        await form.getByRole('button', {name: /^Choisir Agathe/}).click();
        await form.getByRole('button', {name: 'Créer le chantier'}).click();
        const card = page.locator('[data-created] .card');

        await card.waitFor();
        assert((await card.innerText()).includes(CODE), 'the new chantier');

        await card.getByRole('button', {name: 'Modifier'}).click();
        await card.getByLabel(/Nouvelle fin prévue/).fill('2026-03-20');
        await card.getByRole('button', {name: 'Enregistrer'}).click();
        await page.locator('[data-created] .card', {hasText: '20/03/2026'})
            .or(page.locator('[data-created] .card',
                             {hasText: '20 mars 2026'})).waitFor();
    });

    await step('a dead notification sent again', async () => {
        await page.getByRole('navigation', {name: 'Administration'})
            .getByRole('link', {name: 'Journal et envois'}).click();
        const dead = page.locator('[data-dead] .card', {hasText: setup.code});

        await dead.waitFor();
        assert((await dead.innerText()).includes('535'), 'its error');
        await dead.getByRole('button', {name: 'Renvoyer'}).click();
        await page.locator('[data-dead]', {hasText: 'notification renvoyée'})
            .waitFor();
    });

    await step('the journal tells what was done', async () => {
        await page.reload();
        await page.locator('[data-audit] li').first().waitFor();
        const journal = await page.locator('[data-audit]').innerText();

        for (const want of ['Compte créé', 'Compte désactivé',
                            'Compte réactivé', 'Contrat ajouté',
                            'Contrat supprimé', 'Chantier créé',
                            'Chantier modifié']) {
            assert(journal.includes(want), `journal lacks ${want}`);
        }
        const problems = await cspViolations(page);

        assert(problems.length === 0, problems.join('\n'));
    });

    await step('the new client logs in with the generated password and'
               + ' sees the chantier made for them', async () => {
        const other = await newPage(browser, {width: 360, height: 740});

        await login(other, BASE, {login: LOGIN, password: generated});
        /* their only chantier: the home page goes straight to its fiche */
        await other.waitForURL(/fiche\.html\?id=\d+$/);
        const heading = other.getByRole('heading', {level: 1});

        await heading.waitFor();
        const title = await heading.innerText();
        const fiche = await other.locator('main').innerText();

        assert(/Essai de véranda/.test(title), `heading: ${title}`);
        assert(fiche.includes(CODE), 'the chantier code in the fiche');
        await other.close();
    });

    await step('an employee gets no admin page', async () => {
        const other = await newPage(browser, {width: 1024, height: 768});

        await login(other, BASE, setup.employee);
        await other.goto(`${BASE}admin.html`);
        await other.locator('[data-forbidden]').waitFor();
        assert(await other.locator('[data-admin]').isHidden(),
               'the page stays hidden');
        await other.close();
    });
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
