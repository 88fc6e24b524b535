/*
 * The admin pages for someone who uses a keyboard or a screen reader, in
 * a real browser:
 *
 *   - a keyboard-only walk (Tab, Shift+Tab, Enter, Space, arrow keys,
 *     typing; never a click, never fill()): an administrator logs in,
 *     goes to the administration, creates a client account, first with a
 *     missing name (the French message next to the field and in the error
 *     summary, which has the focus; its link leads to the field), finds
 *     the account and opens its forms, then creates a chantier for that
 *     client, choosing the client by search (Enter searches), first with
 *     no client, then with an end before the start.  On each page a full round of Tab reaches every control and
 *     comes back to the first (no trap); every stop shows its focus;
 *     after each action the focus is on what was created or on its
 *     confirmation, never on <body>;
 *   - axe-core finds no serious or critical violation on admin.html (an
 *     error shown, an account being edited, a client's contracts),
 *     admin-chantiers.html (an error shown, a chantier being edited with
 *     its client search), admin-journal.html (a dead notification and
 *     journal entries) and contrats.html (a client's contracts), each at
 *     1280×800 and at 360×740.
 *
 * Run by t/e2e/admin-a11y.t, which creates the accounts.
 */

import {
    assert, axeViolations, describeViolations, done, launch, login,
    newPage, ok, scenario, screenshot, setup,
} from './lib.mjs';

const BASE = `${setup.url}/espace-client/`;
const LOGIN = `e2e-kbd-${setup.pid}`;
const LAST_NAME = `Clavier ${setup.pid}`;
const CODE = `CH-KBD-${setup.pid}`;
const DESKTOP = {width: 1280, height: 800};
const PHONE = {width: 360, height: 740};

/* ---- the keyboard ---- */

/*
 * What has the focus: tag, id, type, href, its name (label or text),
 * whether its focus is visible (an outline or a box-shadow), and the form
 * it is in.  body: nothing has it.
 */
async function focusInfo(page) {
    return page.evaluate(() => {
        const a = document.activeElement;

        if (!a || a === document.body || a === document.documentElement) {
            return {body: true, tag: a ? a.tagName : null};
        }

        const style = window.getComputedStyle(a);
        const outline = style.outlineStyle !== 'none'
            && parseFloat(style.outlineWidth) > 0;
        const shadow = style.boxShadow !== 'none';
        /*
         * A date field's calendar button (after its day, month and year):
         * Chromium draws its own ring there, inside the field, which a
         * page's CSS cannot reach, and the field itself is not :focus.
         */
        const picker = a.type === 'date' && !a.matches(':focus');
        const label = a.labels && a.labels.length
            ? a.labels[0].innerText : a.innerText || a.value || '';

        return {
            body: false,
            tag: a.tagName,
            id: a.id,
            type: a.type || '',
            checked: !!a.checked,
            href: a.getAttribute('href') || '',
            name: label.trim().replace(/\s+/g, ' ').slice(0, 80),
            shown: outline || shadow || picker,
        };
    });
}

function describeFocus(f) {
    return f.body ? `<${f.tag || 'nothing'}>`
        : `<${f.tag}${f.id ? ` id=${f.id}` : ''}${f.href ? ` href=${f.href}` : ''}> `
          + `"${f.name}"`;
}

/* the stops where the focus did not show, for the step to report */
const unseenFocus = [];

function noteFocus(f, where) {
    if (!f.body && !f.shown) {
        unseenFocus.push(`${where}: ${describeFocus(f)}`);
    }
}

function assertFocusShown() {
    const list = unseenFocus.splice(0);

    assert(list.length === 0, `focus not visible on:\n${list.join('\n')}`);
}

/*
 * Tab (Shift+Tab when back) until want(focusInfo) holds; every stop must
 * show its focus.  Throws when what is not reached in max presses.
 */
async function tabTo(page, want, what, {back = false, max = 80} = {}) {
    const seen = [];

    for (let i = 0; i < max; i++) {
        await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
        const f = await focusInfo(page);

        noteFocus(f, what);
        seen.push(describeFocus(f));
        if (!f.body && want(f)) {
            return f;
        }
    }

    throw new Error(`${what}: not reached with ${back ? 'Shift+Tab' : 'Tab'}`
                    + ` (went through ${seen.slice(-12).join(', ')})`);
}

const byId = (id) => (f) => f.id === id;
const byHref = (re) => (f) => f.tag === 'A' && re.test(f.href);
const byName = (re, tag = 'BUTTON') => (f) => f.tag === tag
    && re.test(f.name);

/* the focused element's matches(selector) */
async function focusIn(page, selector) {
    return page.evaluate((s) => !!document.activeElement
                         && !!document.activeElement.closest(s), selector);
}

async function assertFocus(page, selector, what) {
    const f = await focusInfo(page);

    assert(!f.body, `${what}: the focus was lost to <body>`);
    assert(await focusIn(page, selector),
           `${what}: the focus is on ${describeFocus(f)}, not ${selector}`);
    noteFocus(f, what);
    return f;
}

/*
 * One round of Tab from wherever the focus is: it must come back to where
 * it started (no trap), having reached every visible control (a radio
 * group counts once, by its checked button) and shown its focus each
 * time.  Returns how many stops the round had.
 */
async function tabRound(page, what) {
    let closed = false;

    await page.evaluate(() => {
        window.__kbOrder = [];
    });

    for (let i = 0; i < 250 && !closed; i++) {
        await page.keyboard.press('Tab');
        const state = await page.evaluate(() => {
            const a = document.activeElement;

            if (!a || a === document.body) {
                return 'body';
            }
            if (a === window.__kbOrder[window.__kbOrder.length - 1]) {
                return 'same';      /* the next part of a date */
            }
            if (window.__kbOrder.includes(a)) {
                return a === window.__kbOrder[0] ? 'round' : 'trap';
            }
            window.__kbOrder.push(a);
            return 'new';
        });

        if (state === 'trap') {
            throw new Error(`${what}: the focus went back before the end of`
                            + ` the page: ${describeFocus(await focusInfo(page))}`);
        }
        if (state === 'round') {
            closed = true;
            break;
        }
        if (state === 'same') {
            continue;
        }
        noteFocus(await focusInfo(page), what);
    }

    assert(closed, `${what}: 250 presses of Tab never came back to the start`);

    const missed = await page.evaluate(() => {
        const seen = new Set(window.__kbOrder);

        return [...document.querySelectorAll(
            'a[href], button, input, select, textarea, [tabindex]')]
            .filter((n) => !n.disabled && n.tabIndex >= 0
                    && n.getClientRects().length > 0
                    && window.getComputedStyle(n).visibility !== 'hidden')
            .filter((n) => !(n.type === 'radio' && !n.checked))
            .filter((n) => !seen.has(n))
            .map((n) => `<${n.tagName} ${n.id || n.className}> `
                 + `"${(n.innerText || n.value || '').slice(0, 40)}"`);
    });

    assert(missed.length === 0,
           `${what}: never reached with Tab: ${missed.join(', ')}`);
    return page.evaluate(() => window.__kbOrder.length);
}

/* the value of an element */
async function valueOf(page, id) {
    return page.locator(`#${id}`).inputValue();
}

/*
 * Types the day iso ('2026-03-10') into the date field id, which has the
 * focus on its first part.  The order of the parts is the browser's (its
 * language, not the page's): found the first time by typing a probe,
 * then going back to the first part with the left arrow.
 */
let dateLayout = null;

async function typeDate(page, id, iso) {
    const [y, m, d] = iso.split('-');

    if (!dateLayout) {
        await page.keyboard.type('01022003');
        const probe = await valueOf(page, id);

        dateLayout = {'2003-02-01': 'dmy', '2003-01-02': 'mdy'}[probe];
        assert(dateLayout, `01022003 typed into a date gave "${probe}"`);
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.press('ArrowLeft');
    }

    await page.keyboard.type(dateLayout === 'dmy' ? `${d}${m}${y}`
                             : `${m}${d}${y}`);
    const got = await valueOf(page, id);

    assert(got === iso, `#${id}: ${got}, not ${iso}`);
}

/*
 * The error of field id: shown above it, in its form group, tied to it by
 * aria-describedby and aria-invalid, and the same words in the error
 * summary, which is shown.  Returns the message.
 */
async function assertFieldError(page, id) {
    const state = await page.evaluate((fieldId) => {
        const field = document.getElementById(fieldId);
        const error = document.getElementById(`${fieldId}-error`);
        const summary = document.querySelector('.error-summary');

        return {
            message: error && !error.hidden ? error.innerText.trim() : null,
            sameGroup: !!error && error.closest('.form-group')
                === field.closest('.form-group'),
            describedBy: (field.getAttribute('aria-describedby') || '')
                .split(/\s+/).includes(`${fieldId}-error`),
            invalid: field.getAttribute('aria-invalid') === 'true',
            summaryShown: !!summary && !summary.hidden,
            summaryLinks: summary ? [...summary.querySelectorAll('a')]
                .map((a) => [a.getAttribute('href'), a.innerText.trim()])
                : [],
        };
    }, id);

    assert(state.message, `no error shown next to #${id}`);
    assert(state.sameGroup && state.describedBy && state.invalid,
           `#${id}'s error not tied to it: ${JSON.stringify(state)}`);
    assert(state.summaryShown, 'no error summary');

    const words = state.message.replace(/^Erreur\s*:\s*/, '');
    const link = state.summaryLinks.find(([href]) => href === `#${id}`);

    assert(link && link[1] === words,
           `the summary lacks "${words}": ${JSON.stringify(state.summaryLinks)}`);
    return words;
}

async function keyboardWalk(browser) {
    const page = await newPage(browser, DESKTOP);
    const step = scenario('keyboard only', {
        onFailure: async () => screenshot(page, 'admin-keyboard-failed'),
    });

    await step('logging in and reaching the administration', async () => {
        await page.goto(`${BASE}index.html`);
        await page.locator('#login').waitFor();
        await tabTo(page, byId('login'), 'the login field');
        await page.keyboard.type(setup.admin.login);
        await tabTo(page, byId('password'), 'the password field');
        await page.keyboard.type(setup.admin.password);
        await page.keyboard.press('Enter');
        await page.waitForURL(/accueil\.html$/);
        await page.locator('main h1').waitFor();

        await tabTo(page, byHref(/(^|\/)admin\.html$/), 'Administration');
        await page.keyboard.press('Enter');
        await page.waitForURL(/admin\.html$/);
        await page.locator('#new-role').waitFor();
        assertFocusShown();
    });

    await step('admin.html: one round of Tab reaches everything, no trap',
               async () => {
        const stops = await tabRound(page, 'admin.html');

        assert(stops > 20, `only ${stops} stops`);
        assertFocusShown();
    });

    await step('a client account with a name missing: the error next to the'
               + ' field and in the summary, which has the focus',
               async () => {
        await tabTo(page, byId('new-role'), 'Rôle');
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowUp');
        assert(await valueOf(page, 'new-role') === 'client',
               `role ${await valueOf(page, 'new-role')}`);

        await tabTo(page, byId('new-login'), 'Identifiant');
        await page.keyboard.type(LOGIN);
        await tabTo(page, byId('new-civility'), 'Civilité');
        await page.keyboard.press('ArrowDown');
        assert(await valueOf(page, 'new-civility') === 'Mme',
               `civility ${await valueOf(page, 'new-civility')}`);
        await tabTo(page, byId('new-first_name'), 'Prénom');
        await page.keyboard.type('Agathe');
        /* no name */
        await tabTo(page, byId('new-client_number'), 'Numéro client');
        await page.keyboard.type(`KBD-${setup.pid}`);
        await tabTo(page, byId('new-address-line1'), 'Adresse');
        await page.keyboard.type('3 rue Haute');
        await tabTo(page, byId('new-address-postal_code'), 'Code postal');
        await page.keyboard.type('69001');
        await tabTo(page, byId('new-address-city'), 'Ville');
        await page.keyboard.type('Lyon');
        await tabTo(page, byId('new-email'), 'Adresse e-mail');
        await page.keyboard.type('agathe.clavier@example.test');

        /* the password: typed, chosen with the arrow keys */
        const radio = await tabTo(page, (f) => f.type === 'radio',
                                  'Mot de passe initial');

        assert(radio.checked && /générer/.test(radio.name),
               `the first radio: ${describeFocus(radio)}`);
        await page.keyboard.press('ArrowDown');
        const typed = await focusInfo(page);

        assert(typed.type === 'radio' && typed.checked
               && /saisir/.test(typed.name), `then ${describeFocus(typed)}`);
        await tabTo(page, byId('new-password'), 'Mot de passe');
        await page.keyboard.type('clavier-seulement-2026');
        await page.keyboard.press('Enter');

        await page.locator('#new-last_name-error:not([hidden])').waitFor();
        const message = await assertFieldError(page, 'new-last_name');

        assert(/^Le nom .*obligatoire/i.test(message), `message: ${message}`);
        await assertFocus(page, '.error-summary', 'after the refusal');
        assertFocusShown();
    });

    await step('the summary\'s link leads to the field; the account created,'
               + ' the focus on its confirmation', async () => {
        await tabTo(page, byHref(/^#new-last_name$/), 'the summary\'s link',
                    {max: 3});
        await page.keyboard.press('Enter');
        await assertFocus(page, '#new-last_name', 'the link followed');
        await page.keyboard.type(LAST_NAME);
        await page.keyboard.press('Enter');

        await page.locator('[data-created] .notice').waitFor();
        const notice = await page.locator('[data-created]').innerText();

        assert(notice.includes(LOGIN), `notice: ${notice}`);
        await assertFocus(page, '[data-created]', 'after the creation');
        assert(await page.locator('.error-summary').isHidden(),
               'the summary is gone');
        assert(await page.locator('#new-last_name-error').isHidden(),
               'the field\'s error is gone');

        /* back into the form */
        const back = await tabTo(page, () => true, 'Shift+Tab',
                                 {back: true, max: 1});

        assert(/Créer le compte/.test(back.name), describeFocus(back));
        assertFocusShown();
    });

    await step('the account found, its forms opened and closed', async () => {
        await tabTo(page, byId('user-q'), 'the search', {back: true});
        await page.keyboard.type(LAST_NAME);
        await page.keyboard.press('Enter');
        await page.locator('[data-users] .card').first().waitFor();

        await tabTo(page, byName(/^Modifier$/), 'Modifier');
        await page.keyboard.press('Enter');
        await assertFocus(page, '[data-users] .card__panel form',
                          'the edit form opened');
        const first = await focusInfo(page);

        assert(/^edit-\d+-first_name$/.test(first.id), describeFocus(first));
        await tabTo(page, byName(/^Contrats$/), 'Contrats', {back: true});
        await page.keyboard.press('Space');
        await page.locator('[data-users] .card__panel h4').waitFor();
        await assertFocus(page, '[data-users] .card', 'the contracts opened');

        const expanded = await page.locator('[data-users] .card')
            .first().evaluate((card) => [...card.querySelectorAll(
                '[aria-expanded]')].map((b) => [b.textContent,
                                                b.getAttribute('aria-expanded')]));

        assert(JSON.stringify(expanded)
               === '[["Modifier","false"],["Contrats","true"]]',
               `aria-expanded: ${JSON.stringify(expanded)}`);
        await tabTo(page, (f) => /^contract-\d+-title$/.test(f.id),
                    'the contract\'s title', {max: 3});
        await tabRound(page, 'admin.html with the contracts');
        assertFocusShown();
    });

    await step('admin-chantiers.html: one round of Tab reaches everything',
               async () => {
        await tabTo(page, byHref(/(^|\/)admin-chantiers\.html$/),
                    'the Chantiers page', {back: true, max: 120});
        await page.keyboard.press('Enter');
        await page.waitForURL(/admin-chantiers\.html$/);
        await page.locator('#new-chantier_id').waitFor();
        await tabRound(page, 'admin-chantiers.html');
        assertFocusShown();
    });

    await step('a chantier without a client, then ending before it'
               + ' starts: each error next to its field and in the summary;'
               + ' the client found with Enter', async () => {
        await tabTo(page, byId('new-chantier_id'), 'Référence');
        await page.keyboard.type(CODE);
        await tabTo(page, byId('new-title'), 'Intitulé');
        await page.keyboard.type('Véranda au clavier');
        await tabTo(page, byId('new-start_date'), 'Début');
        await typeDate(page, 'new-start_date', '2026-03-10');
        await tabTo(page, byId('new-planned_end_date'), 'Fin prévue');
        await typeDate(page, 'new-planned_end_date', '2026-02-01');

        /* no client chosen yet */
        await tabTo(page, byName(/^Créer le chantier$/), 'Créer le chantier');
        await page.keyboard.press('Enter');
        await page.locator('#new-client_id-error:not([hidden])').waitFor();
        const missing = await assertFieldError(page, 'new-client_id');

        assert(/^Choisissez le client/.test(missing), `message: ${missing}`);
        await assertFocus(page, '.error-summary', 'after the refusal');
        await tabTo(page, byHref(/^#new-client_id$/), 'the summary\'s link',
                    {max: 3});
        await page.keyboard.press('Enter');
        await assertFocus(page, '#new-client_id', 'the link followed');

        /* Enter searches */
        await page.keyboard.type(LAST_NAME);
        await page.keyboard.press('Enter');
        const choice = page.locator('#chantier-create')
            .getByRole('button', {name: /^Choisir Agathe/});

        await choice.waitFor();
        /* a submitted form would have sent the focus to the summary */
        await assertFocus(page, '#new-client_id',
                          'Enter in the client\'s search');
        await tabTo(page, byName(/^Choisir Agathe/), 'the client found');
        await page.keyboard.press('Enter');
        const chosen = await page.locator('#chantier-create').innerText();

        assert(chosen.includes(`Client : Agathe ${LAST_NAME}`),
               `chosen: ${chosen}`);
        const after = await focusInfo(page);

        assert(!after.body, 'the focus was lost to <body> on choosing');

        await tabTo(page, byName(/^Créer le chantier$/), 'Créer le chantier');
        await page.keyboard.press('Space');
        await page.locator('#new-planned_end_date-error:not([hidden])')
            .waitFor();
        const message = await assertFieldError(page, 'new-planned_end_date');

        assert(/fin prévue précède la date de début/.test(message),
               `message: ${message}`);
        await assertFocus(page, '.error-summary', 'after the refusal');
        assertFocusShown();
    });

    await step('the date corrected through the summary; the chantier'
               + ' created, the focus on it', async () => {
        await tabTo(page, byHref(/^#new-planned_end_date$/),
                    'the summary\'s link', {max: 3});
        await page.keyboard.press('Enter');
        await assertFocus(page, '#new-planned_end_date', 'the link followed');
        await typeDate(page, 'new-planned_end_date', '2026-04-30');
        await tabTo(page, byName(/^Créer le chantier$/), 'Créer le chantier');
        await page.keyboard.press('Enter');

        await page.locator('[data-created] .card').waitFor();
        const f = await assertFocus(page, '[data-created] .card',
                                    'after the creation');

        assert(f.tag === 'A' && f.name.includes(CODE), describeFocus(f));
        const card = await page.locator('[data-created] .card').innerText();

        assert(card.includes(`Agathe ${LAST_NAME}`), `card: ${card}`);
        assert(await page.locator('.error-summary').isHidden(),
               'the summary is gone');
        assert(await page.locator('#chantier-create .field-error:visible')
            .count() === 0, 'the fields\' errors are gone');

        await tabTo(page, byName(/^Modifier$/), 'Modifier', {max: 3});
        await page.keyboard.press('Space');
        await assertFocus(page, '[data-created] .card form',
                          'the edit form opened');
        await tabRound(page, 'admin-chantiers.html with a chantier open');
        assertFocusShown();
    });

    await page.context().close();
}

/* ---- axe-core ---- */

async function accessibility(browser) {
    async function check(name, page) {
        for (const [size, viewport] of [['1280×800', DESKTOP],
                                        ['360×740', PHONE]]) {
            await page.setViewportSize(viewport);
            const found = await axeViolations(page);

            ok(found.length === 0, `axe-core: ${name}, ${size}`,
               describeViolations(found));
        }
        await page.setViewportSize(DESKTOP);
    }

    const admin = await newPage(browser, DESKTOP);

    await login(admin, BASE, setup.admin);

    /* accounts */
    await admin.goto(`${BASE}admin.html`);
    await admin.locator('[data-admin]').waitFor();
    await admin.getByRole('button', {name: 'Créer le compte'}).click();
    await admin.locator('.error-summary li').waitFor();
    await check('admin.html, an error shown', admin);

    await admin.getByLabel('Nom, identifiant, e-mail ou numéro client')
        .fill(setup.client.name);
    await admin.getByRole('button', {name: 'Rechercher'}).click();
    const card = admin.locator('[data-users] .card').first();

    await card.getByRole('button', {name: 'Modifier'}).click();
    await card.locator('form').waitFor();
    await check('admin.html, an account being edited', admin);

    await card.getByRole('button', {name: 'Contrats'}).click();
    await card.locator('[data-contract]').waitFor();
    await check('admin.html, a client\'s contracts', admin);

    /* chantiers */
    await admin.goto(`${BASE}admin-chantiers.html`);
    await admin.locator('[data-admin]').waitFor();
    await admin.getByRole('button', {name: 'Créer le chantier'}).click();
    await admin.locator('.error-summary li').waitFor();
    await check('admin-chantiers.html, an error shown', admin);

    await admin.getByLabel('Référence du chantier ou nom du client')
        .fill(setup.code);
    await admin.getByRole('button', {name: 'Rechercher'}).click();
    const chantier = admin.locator('[data-chantiers] .card').first();

    await chantier.getByRole('button', {name: 'Modifier'}).click();
    await chantier.getByLabel(/^Client/).fill(setup.client.name);
    await chantier.getByRole('button', {name: 'Chercher le client'}).click();
    await chantier.getByRole('button', {name: /^Choisir/}).first().waitFor();
    await check('admin-chantiers.html, a chantier being edited', admin);

    /* journal */
    await admin.goto(`${BASE}admin-journal.html`);
    await admin.locator('[data-dead] .card').first().waitFor();
    await admin.locator('[data-audit] li').first().waitFor();
    await check('admin-journal.html, entries shown', admin);
    await admin.context().close();

    /* the client's contracts */
    const client = await newPage(browser, DESKTOP);

    await login(client, BASE, setup.client);
    await client.goto(`${BASE}contrats.html`);
    await client.locator('[data-contracts] .card').first().waitFor();
    await check('contrats.html, a client\'s contracts', client);
    await client.context().close();
}


const browser = await launch();

try {
    await keyboardWalk(browser);
    await accessibility(browser);
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
