/*
 * The account page (compte.html) in a real browser, under
 * "/espace-client/" (relative URLs) and at "/": a client sees their
 * account, changes their phone (kept after a reload), gets a field error
 * for a wrong current password, then changes it and logs in again with the
 * new one; a phone-sized window never scrolls sideways; without a session
 * the page sends to the login page.  Screenshots go to
 * $CHANTIER_VAR/screenshots/.
 *
 * Run by t/e2e/compte.t (make test), which creates the client.
 */

import {
    assert, cspViolations, done, launch, login, newPage, ok, scenario,
    screenshot, setup,
} from './lib.mjs';

const ROOT = `${setup.url}/`;
const PREFIX = `${setup.url}/espace-client/`;
const NEW_PHONE = '07 98 76 54 32';
const NEW_PASSWORD = 'une phrase de passe toute neuve';

/* console errors but the failed requests the scenario asks for */
function watchConsole(page) {
    page.on('console', (message) => {
        if (message.type() === 'error'
            && !/^Failed to load resource: .* status of (400|401|403)\b/
                .test(message.text()))
        {
            page.problems.push(`console: ${message.text()}`);
        }
    });
}

async function text(page, selector) {
    return (await page.locator(selector).innerText()).replace(/\s+/g, ' ');
}

async function sideScroll(page) {
    return page.evaluate(() => document.documentElement.scrollWidth
                         - document.documentElement.clientWidth);
}

const browser = await launch();

try {
    const page = await newPage(browser, {width: 360, height: 740});
    const client = setup.client;
    const step = scenario('under /espace-client/', {
        onFailure: async (name) => {
            await screenshot(page, 'compte-failed');
        },
    });

    watchConsole(page);

    await step('without a session the page sends to the login page',
               async () => {
        await page.goto(`${PREFIX}compte.html`);
        await page.waitForURL(`${PREFIX}index.html?next=compte.html`);
    });

    await step('the client logs in and follows "Mon compte"', async () => {
        await login(page, PREFIX, client);
        await page.getByRole('link', {name: 'Mon compte'}).click();
        await page.waitForURL(`${PREFIX}compte.html`);
        await page.locator('[data-identity]').waitFor();
        assert(await page.locator('[data-loading]').isHidden(),
               'loading message hidden');
    });

    await step('the account is shown', async () => {
        const identity = await text(page, '[data-identity]');
        const contact = await text(page, '[data-contact]');

        for (const want of [
            'Civilité Mme', `Nom ${client.last_name}`, 'Prénom Hélène',
            `Société ${client.company}`, '12 rue des Lilas', 'Bâtiment B',
            '69003 Lyon', `Numéro client ${client.client_number}`,
            'Pour modifier votre nom, votre adresse ou votre numéro client,'
            + ' contactez CLO.',
        ]) {
            assert(identity.includes(want), `lacks "${want}": ${identity}`);
        }
        for (const want of [
            client.email, '06 11 22 33 44',
            'Nouvelles publications : par e-mail', 'Commentaires : par SMS',
        ]) {
            assert(contact.includes(want), `lacks "${want}": ${contact}`);
        }
        assert(!/bientôt/.test(await page.locator('main').innerText()),
               'no "coming soon" note');
    });

    await step('an invalid phone: error next to the field and in the summary',
               async () => {
        await page.getByRole('button', {name: /^Modifier mes coordonnées/})
            .click();
        await page.getByLabel('Téléphone mobile').fill('abc');
        await page.getByRole('button', {name: 'Enregistrer'}).click();

        const summary = page.locator('[data-error-summary]');

        await summary.waitFor();
        await page.locator('#phone-error').waitFor();
        const said = await summary.innerText();
        assert(/téléphone/i.test(said) && !/\([a-z_.]+\)/.test(said),
               `summary names the field in French only: ${said}`);
        assert(await page.getByLabel('Téléphone mobile')
               .getAttribute('aria-invalid') === 'true', 'aria-invalid');
        assert((await page.title()).startsWith('Erreur : '), 'title');
        await summary.getByRole('link').click();
        assert(await page.evaluate(() => document.activeElement.id)
               === 'phone', 'the summary link focuses the field');
    });

    await step('the client changes the phone and the comment notifications',
               async () => {
        await page.getByLabel('Téléphone mobile').fill(NEW_PHONE);
        await page.getByLabel('Commentaires').selectOption('none');
        await page.getByRole('button', {name: 'Enregistrer'}).click();
        await page.getByRole('status')
            .getByText('Vos coordonnées et vos notifications ont été '
                       + 'enregistrées.').waitFor();
        assert(await page.locator('[data-error-summary]').isHidden(),
               'summary hidden');
        assert(await page.locator('#contact-form').isHidden(),
               'form closed');

        const contact = await text(page, '[data-contact]');

        assert(contact.includes(NEW_PHONE)
               && contact.includes('Commentaires : aucune'), contact);
    });

    await step('the change is still there after a reload', async () => {
        await page.reload();
        await page.locator('[data-contact]').waitFor();

        const contact = await text(page, '[data-contact]');

        assert(contact.includes(NEW_PHONE)
               && contact.includes('Commentaires : aucune')
               && contact.includes('Nouvelles publications : par e-mail'),
               contact);
    });

    await step('no horizontal scroll at 360×740, form open or not',
               async () => {
        assert(await sideScroll(page) <= 0, 'page scrolls sideways');
        await page.getByRole('button', {name: /^Modifier mes coordonnées/})
            .click();
        assert(await sideScroll(page) <= 0, 'scrolls with the form open');
        await screenshot(page, 'compte-360');
        await page.getByRole('button', {name: 'Annuler'}).click();
    });

    await step('a wrong current password is refused next to the field',
               async () => {
        await page.getByLabel('Mot de passe actuel').fill('pas le bon mot');
        await page.getByLabel('Nouveau mot de passe', {exact: true})
            .fill(NEW_PASSWORD);
        await page.getByLabel('Confirmez le nouveau mot de passe')
            .fill(NEW_PASSWORD);
        await page.getByRole('button', {name: 'Changer mon mot de passe'})
            .click();
        await page.locator('#current-password-error',
                           {hasText: 'Le mot de passe actuel est incorrect.'})
            .waitFor();
        assert((await page.locator('[data-error-summary]').innerText())
               .includes('Le mot de passe actuel est incorrect.'),
               'in the summary');
        assert(await page.getByRole('status').innerText() === '',
               'no success message');
    });

    await step('a mismatching confirmation is caught', async () => {
        await page.getByLabel('Mot de passe actuel').fill(client.password);
        await page.getByLabel('Confirmez le nouveau mot de passe')
            .fill(`${NEW_PASSWORD}!`);
        await page.getByRole('button', {name: 'Changer mon mot de passe'})
            .click();
        await page.locator('#confirm-password-error',
                           {hasText: 'ne correspondent pas'}).waitFor();
        assert(await page.locator('#current-password-error').isHidden(),
               'the old error is gone');
    });

    await step('the right current password changes it', async () => {
        await page.getByLabel('Confirmez le nouveau mot de passe')
            .fill(NEW_PASSWORD);
        await page.getByRole('button', {name: 'Changer mon mot de passe'})
            .click();
        await page.getByRole('status')
            .getByText('Votre mot de passe a été changé.', {exact: false})
            .waitFor();
        assert(await page.locator('[data-error-summary]').isHidden(),
               'summary hidden');
        assert(await page.getByLabel('Mot de passe actuel').inputValue()
               === '', 'fields emptied');
        assert(!(await page.title()).startsWith('Erreur'), 'title cleared');
    });

    await step('the new password logs in', async () => {
        await page.getByRole('button', {name: 'Se déconnecter'}).click();
        await page.waitForURL(`${PREFIX}index.html`);
        await login(page, PREFIX, {login: client.login,
                                   password: NEW_PASSWORD});
    });

    await step('at / too the page shows the account', async () => {
        await login(page, ROOT, {login: client.login,
                                 password: NEW_PASSWORD});
        await page.goto(`${ROOT}compte.html`);
        await page.locator('[data-contact]', {hasText: NEW_PHONE}).waitFor();
    });

    await step('no CSP violation, no script error', async () => {
        const problems = [...await cspViolations(page), ...page.problems];

        assert(problems.length === 0, problems.join('\n'));
    });
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
