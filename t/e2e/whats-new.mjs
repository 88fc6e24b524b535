/*
 * What is new for me on the fiche page (issue 14), and two leftovers of
 * issue 10, in a real browser:
 *
 *   - the client's first visit marks nothing; after it, the client
 *     comments, an employee comments on the oldest post (not in the first
 *     screenful) and publishes; back on the fiche the client sees
 *     "Nouveau" on exactly those two, not on older ones nor on their own
 *     comment; "Aller à la première nouveauté" draws the older posts down
 *     to the new comment and focuses it; the markers stay when the page
 *     records a visit again (hidden), and a post arriving live is marked
 *     too;
 *   - presence: the client's page says "… (CLO) consulte cette fiche"
 *     when the employee opens it, and no more once the employee's page
 *     is closed; the employee's page names the client;
 *   - an employee's edit in progress survives the end of the session: the
 *     post's editor opens again with the text after the next login;
 *   - at 360 × 740 an employee's first screen shows the newest post: the
 *     new post form waits behind "Nouvelle publication", opened and
 *     closed with the keyboard, the focus kept where the action was;
 *   - axe-core finds no serious or critical violation; no CSP violation,
 *     no script error.
 *
 * Run by t/e2e/whats-new.t (make test), which creates the users and the
 * fiches.  Screenshots go to $CHANTIER_VAR/screenshots/whats-new-*.png.
 */

import {
    apiCall, assert, axeViolations, cspViolations, describeViolations, done,
    launch, login, newPage, ok, scenario, screenshot, setup,
} from './lib.mjs';

const ROOT = `${setup.url}/`;
const PHONE = {width: 360, height: 740};
/* a stream that ends leaves the others' presence within its heartbeat */
const PRESENCE_GONE_MS = 40000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* ---- helpers ---- */

function ficheUrl(id) {
    return `${ROOT}fiche.html?id=${id}`;
}

function delta(text) {
    return {ops: [{insert: `${text}\n`}]};
}

async function fillLogin(page, user) {
    await page.getByLabel('Identifiant').fill(user.login);
    await page.getByLabel('Mot de passe', {exact: true}).fill(user.password);
    await page.getByRole('button', {name: 'Se connecter'}).click();
}

/* a fiche opened through the login page, as from a notification link */
async function openThroughLogin(page, user, id) {
    await page.goto(ficheUrl(id));
    await page.waitForURL(/\/index\.html\?next=/);
    await fillLogin(page, user);
    await page.waitForURL(new RegExp(`/fiche\\.html\\?id=${id}$`));
    await page.locator('[data-posts] > .post').first().waitFor();
}

/* the answer of the page's next PUT fiches/{id}/seen */
function nextSeen(page) {
    return page.waitForResponse((r) => r.request().method() === 'PUT'
                                && /\/api\/fiches\/\d+\/seen$/.test(r.url()));
}

async function focused(page) {
    return page.evaluate(() => {
        const a = document.activeElement;

        return {
            tag: a ? a.tagName : null,
            id: a ? a.id : '',
            className: a ? String(a.className) : '',
            comment: a && a.closest('.comment')
                ? a.closest('.comment').id : null,
            post: a && a.closest('.post') ? a.closest('.post').id : null,
            text: a ? (a.innerText || '').slice(0, 80) : '',
        };
    });
}

/* wholly in the window */
async function inView(locator) {
    return locator.evaluate((node) => {
        const r = node.getBoundingClientRect();

        return r.height > 0 && r.top >= -1 && r.bottom <= window.innerHeight;
    });
}

async function markers(page) {
    return page.evaluate(() => ({
        posts: [...document.querySelectorAll('.post__date .tag--marker')]
            .map((tag) => tag.closest('.post').id),
        comments: [...document.querySelectorAll('.comment__meta .tag--marker')]
            .map((tag) => tag.closest('.comment').id),
    }));
}

async function sideScroll(page) {
    return page.evaluate(() => document.documentElement.scrollWidth
                         - document.documentElement.clientWidth);
}

async function noProblems(...pages) {
    const list = [];

    for (const page of pages) {
        list.push(...await cspViolations(page), ...page.problems);
    }
    assert(list.length === 0, list.join('\n'));
}


/* ---- "Nouveau" since the last visit ---- */

async function whatsNew(browser) {
    const fiche = setup.fiches.news;
    const client = await newPage(browser);
    const employee = await newPage(browser);
    const step = scenario('what is new', {onFailure: async () => {
        await screenshot(client, 'whats-new-failed-client');
    }});
    const ids = {};

    await step('first visit: nothing is marked "Nouveau"', async () => {
        const seen = nextSeen(client);

        await openThroughLogin(client, setup.client, fiche);
        const answer = await (await seen).json();

        assert(answer.previous_seen_at === null,
               `previous_seen_at ${answer.previous_seen_at}`);
        await client.waitForTimeout(300);
        const found = await markers(client);

        assert(found.posts.length === 0 && found.comments.length === 0,
               JSON.stringify(found));
        assert(await client.locator('[data-whats-new]').isHidden(),
               'no "Aller à la première nouveauté"');
    });

    await step('the client leaves and comments; the employee comments on '
               + 'the oldest post, then publishes', async () => {
        await client.goto(`${ROOT}accueil.html`);
        await client.locator('main h1').waitFor();
        /* times are to the second: the news in the seconds after */
        await sleep(1100);

        const mine = await apiCall(client, 'POST',
                                   `posts/${setup.posts.newest}/comments`,
                                   {body: 'Merci, c’est noté.'});

        assert(mine.status === 201, `client's comment: ${mine.status}`);
        ids.mine = mine.json.id;

        await login(employee, ROOT, setup.employee);
        const comment = await apiCall(employee, 'POST',
                                      `posts/${setup.posts.oldest}/comments`,
                                      {body: 'Reprise des enduits lundi.'});

        assert(comment.status === 201, `comment: ${comment.status}`);
        ids.comment = comment.json.id;
        /* the comment strictly older than the post: the first news */
        await sleep(1100);

        const post = await apiCall(employee, 'POST', `fiches/${fiche}/posts`,
                                   {body: delta('Pose des fenêtres.'),
                                    notify_client: false});

        assert(post.status === 201, `post: ${post.status}`);
        ids.post = post.json.id;
    });

    await step('the list of chantiers says what is new on that fiche, not '
               + 'the client\'s own comment', async () => {
        await client.goto(`${ROOT}accueil.html`);
        const card = client.locator('.card').filter({
            has: client.locator(`a[href$="fiche.html?id=${fiche}"]`),
        });

        await card.waitFor();
        const badge = (await card.locator('.tag--new').innerText()).trim();

        assert(badge === '1 nouvelle publication, 1 nouveau commentaire',
               `badge "${badge}"`);
    });

    await step('back on the fiche: "Nouveau" on the new post only, not on '
               + 'older ones nor on the client\'s own comment', async () => {
        const seen = nextSeen(client);

        await client.goto(ficheUrl(fiche));
        const answer = await (await seen).json();

        assert(typeof answer.previous_seen_at === 'string',
               `previous_seen_at ${answer.previous_seen_at}`);
        const heading = client.locator(`#post-${ids.post}-title`);

        await heading.locator('.tag--marker').waitFor();
        assert(/Nouveau/.test(await heading.innerText()),
               `the heading says it: ${await heading.innerText()}`);
        const found = await markers(client);

        assert(JSON.stringify(found.posts) === JSON.stringify(
            [`post-${ids.post}`]), `posts marked ${found.posts}`);
        assert(found.comments.length === 0,
               `comments marked ${found.comments}`);
        assert(await client.locator(`#comment-${ids.mine}`).isVisible(),
               'the client\'s own comment is drawn');
        assert(await client.locator(`#comment-${ids.comment}`).count() === 0,
               'the new comment is on a post not drawn yet');

        const summary = await client.locator('[data-whats-new]').innerText();

        assert(/^Depuis votre dernière visite, le \d\d\/\d\d\/\d{4} à \d\d:\d\d : 1 nouvelle publication et 1 nouveau commentaire\./
            .test(summary), `summary "${summary}"`);
        await screenshot(client, 'whats-new-markers');
    });

    await step('"Aller à la première nouveauté" (keyboard) draws the older '
               + 'posts down to the new comment and focuses it', async () => {
        const link = client.getByRole('link',
                                      {name: 'Aller à la première nouveauté'});

        await link.focus();
        await client.keyboard.press('Enter');
        await client.waitForFunction((id) => document.activeElement
            && document.activeElement.matches(`#comment-${id} > .comment__box`),
        ids.comment).catch(async () => {
            throw new Error(`focus ${JSON.stringify(await focused(client))}`);
        });
        const box = client.locator(`#comment-${ids.comment} > .comment__box`);

        assert(await inView(box.locator('.comment__meta')), 'in view');
        const found = await markers(client);

        assert(JSON.stringify(found) === JSON.stringify({
            posts: [`post-${ids.post}`],
            comments: [`comment-${ids.comment}`],
        }), `marked ${JSON.stringify(found)}`);
        assert(await client.locator(`#post-${setup.posts.oldest} .comment`)
               .count() === 2, 'the older comment is there, not marked');
        await screenshot(client, 'whats-new-first');
    });

    await step('the markers stay while the page is open: a visit recorded '
               + 'when it is hidden, a post arriving live (marked too)',
               async () => {
        const seen = nextSeen(client);

        /* the page hidden a moment (another tab): it records a visit */
        await client.evaluate(() => {
            Object.defineProperty(document, 'visibilityState',
                                  {configurable: true, get: () => 'hidden'});
            document.dispatchEvent(new Event('visibilitychange'));
            delete document.visibilityState;
            document.dispatchEvent(new Event('visibilitychange'));
        });
        const answer = await (await seen).json();

        assert(typeof answer.previous_seen_at === 'string', 'recorded');

        await client.locator('[data-live]', {hasText: 'En direct'}).waitFor();
        const post = await apiCall(employee, 'POST', `fiches/${fiche}/posts`,
                                   {body: delta('Livraison des volets.'),
                                    notify_client: false});

        assert(post.status === 201, `post: ${post.status}`);
        ids.live = post.json.id;
        await client.locator(`#post-${ids.live}-title .tag--marker`)
            .waitFor({timeout: 5000});
        const found = await markers(client);

        assert(JSON.stringify(found) === JSON.stringify({
            posts: [`post-${ids.live}`, `post-${ids.post}`],
            comments: [`comment-${ids.comment}`],
        }), `marked ${JSON.stringify(found)}`);
        const summary = await client.locator('[data-whats-new]').innerText();

        assert(/2 nouvelles publications et 1 nouveau commentaire/
            .test(summary), `summary "${summary}"`);
    });

    await step('axe-core: no serious or critical violation, markers shown',
               async () => {
        const found = await axeViolations(client);

        assert(found.length === 0, describeViolations(found));
        await client.setViewportSize(PHONE);
        const phone = await axeViolations(client);

        assert(phone.length === 0, describeViolations(phone));
        assert(await sideScroll(client) <= 0, 'no sideways scroll at 360 px');
        await screenshot(client, 'whats-new-phone');
    });

    await step('no CSP violation, no script error', async () => {
        await noProblems(client, employee);
    });

    await employee.context().close();
    await client.context().close();
}


/* ---- who else is looking ---- */

async function presence(browser) {
    const fiche = setup.fiches.news;
    const client = await newPage(browser);
    const employee = await newPage(browser);
    const step = scenario('presence', {onFailure: async () => {
        await screenshot(client, 'whats-new-presence-failed');
    }});
    const line = client.locator('[data-presence]');
    const staffName = new RegExp(`^(?:Mme )?Marie Rousseau ${setup.pid} `
                                 + '\\(CLO\\) consulte cette fiche$');
    const clientName = new RegExp(`^(?:M\\. )?Jean Dupont ${setup.pid} `
                                  + 'consulte cette fiche$');

    await step('alone on the fiche: nothing said', async () => {
        await openThroughLogin(client, setup.client, fiche);
        await client.locator('[data-live]', {hasText: 'En direct'})
            .waitFor({timeout: 10000});
        await client.waitForTimeout(500);
        assert(await line.isHidden(), 'no presence line');
        assert(await line.getAttribute('aria-live') === 'polite',
               'a polite live region');
    });

    await step('the employee opens the same fiche: "… (CLO) consulte '
               + 'cette fiche", and the employee\'s page names the client',
               async () => {
        await openThroughLogin(employee, setup.employee, fiche);
        await line.waitFor({timeout: 10000});
        await client.waitForFunction((source) => new RegExp(source).test(
            document.querySelector('[data-presence]').textContent),
        staffName.source, {timeout: 5000}).catch(async () => {
            throw new Error(`said "${await line.textContent()}"`);
        });
        const other = employee.locator('[data-presence]');

        await other.waitFor({timeout: 10000});
        await employee.waitForFunction((source) => new RegExp(source).test(
            document.querySelector('[data-presence]').textContent),
        clientName.source, {timeout: 5000}).catch(async () => {
            throw new Error(`said "${await other.textContent()}"`);
        });
        await screenshot(client, 'whats-new-presence');
    });

    await step('the employee\'s page closes: the line goes', async () => {
        const start = Date.now();

        await employee.close();
        await line.waitFor({state: 'hidden', timeout: PRESENCE_GONE_MS});
        console.log(`# the presence line went ${Date.now() - start} ms `
                    + 'after the page closed');
    });

    await step('no CSP violation, no script error', async () => {
        await noProblems(client);
    });

    await employee.context().close();
    await client.context().close();
}


/* ---- an edit kept through the end of the session ---- */

async function editKept(browser) {
    const fiche = setup.fiches.edit;
    const postId = setup.posts.edited;
    const employee = await newPage(browser);
    const step = scenario('edit kept', {onFailure: async () => {
        await screenshot(employee, 'whats-new-edit-failed');
    }});
    const ADDED = ' Et du lavabo, à refaire.';
    const post = employee.locator(`#post-${postId}`);

    await step('the employee edits a post; the session ends in another '
               + 'tab; the editor keeps the text', async () => {
        await openThroughLogin(employee, setup.employee, fiche);
        await employee.locator('[data-live]', {hasText: 'En direct'})
            .waitFor({timeout: 10000});
        await post.getByRole('button', {name: 'Modifier'}).click();
        const editor = post.locator('.post-edit .ql-editor');

        await editor.click();
        await employee.keyboard.press('Control+End');
        await employee.keyboard.type(ADDED);

        const other = await employee.context().newPage();

        await other.goto(`${ROOT}accueil.html`);
        await other.getByRole('button', {name: 'Se déconnecter'}).click();
        await other.waitForURL(/index\.html/);
        await other.close();

        await employee.locator('[data-signed-out]').waitFor({timeout: 10000});
        assert((await editor.innerText()).includes(ADDED.trim()),
               'the text still in the editor');
    });

    await step('after the next login the post\'s editor opens again with '
               + 'the text, focused, and says so', async () => {
        await employee.getByRole('link', {name: 'Se reconnecter'}).click();
        await employee.waitForURL(/\/index\.html\?next=/);
        await fillLogin(employee, setup.employee);
        await employee.waitForURL(new RegExp(`/fiche\\.html\\?id=${fiche}$`));
        const editor = post.locator('.post-edit .ql-editor');

        await editor.waitFor();
        const text = await editor.innerText();

        assert(text.includes('Dépose de la baignoire.')
               && text.includes(ADDED.trim()), `editor "${text}"`);
        const note = post.locator('.post-edit .draft-note');

        assert(/^Votre modification du \d\d\/\d\d\/\d{4} à \d\d:\d\d n’avait pas été enregistrée : elle a été remise dans l’éditeur\.$/
            .test((await note.innerText()).trim()), await note.innerText());
        await employee.waitForFunction(() => document.activeElement
            && document.activeElement.closest('.post-edit'));
        await screenshot(employee, 'whats-new-edit-restored');
    });

    await step('saved: the post has the text, the focus on the post, and '
               + 'nothing comes back after a reload', async () => {
        await post.getByRole('button', {name: 'Enregistrer'}).click();
        await post.locator('.post__body', {hasText: ADDED.trim()}).waitFor();
        await employee.waitForFunction(
            (id) => document.activeElement.id === `post-${id}-title`, postId);
        await employee.reload();
        await post.locator('.post__body').waitFor();
        await employee.waitForTimeout(500);
        assert(await post.locator('.post-edit').count() === 0,
               'no editor opened again');
        const kept = await employee.evaluate(() => Object.keys(localStorage)
            .filter((k) => k.startsWith('clo.edits.')));

        assert(kept.length === 0, `kept: ${kept}`);
    });

    await step('no CSP violation, no script error', async () => {
        await noProblems(employee);
    });

    await employee.context().close();
}


/* ---- an employee's first screen on a phone ---- */

async function phoneFirstScreen(browser) {
    const fiche = setup.fiches.phone;
    const employee = await newPage(browser, PHONE);
    const step = scenario('employee at 360 px', {onFailure: async () => {
        await screenshot(employee, 'whats-new-phone-failed');
    }});
    const opener = employee.getByRole('button', {name: 'Nouvelle publication'});
    const TYPED = 'Nacelle livrée, montage demain.';

    await step('the newest post is in the first screen, the new post form '
               + 'behind "Nouvelle publication"', async () => {
        await openThroughLogin(employee, setup.employee, fiche);
        await opener.waitFor();
        assert(await employee.locator('#post-form').isHidden(),
               'the form closed');
        assert(await opener.getAttribute('aria-expanded') === 'false',
               'aria-expanded false');
        const newest = employee.locator('[data-posts] > .post').first();

        assert(await inView(newest.locator('h2')),
               'the newest post\'s heading wholly in the first screen');
        assert(await sideScroll(employee) <= 0, 'no sideways scroll');
        await screenshot(employee, 'whats-new-phone-employee');
    });

    await step('opened with the keyboard: the editor has the focus; '
               + '"Fermer" gives it back to the button', async () => {
        await opener.focus();
        await employee.keyboard.press('Enter');
        await employee.waitForFunction(() => document.activeElement
            .classList.contains('ql-editor'));
        await employee.keyboard.type(TYPED);
        await employee.locator('#post-form')
            .getByRole('button', {name: 'Fermer'}).focus();
        await employee.keyboard.press('Enter');
        assert(await employee.locator('#post-form').isHidden(),
               'the form closed');
        assert((await focused(employee)).text === 'Nouvelle publication',
               `focus ${JSON.stringify(await focused(employee))}`);
    });

    await step('opened again, the text is there; "Publier": the focus on '
               + 'the new post', async () => {
        await opener.click();
        const editor = employee.locator('[data-new-post-editor] .ql-editor');

        assert((await editor.innerText()).includes(TYPED), 'the text kept');
        await employee.getByRole('button', {name: 'Publier'}).click();
        await employee.waitForFunction(() => /^post-\d+-title$/
            .test(document.activeElement.id), null, {timeout: 10000});
        const now = await focused(employee);

        assert((await employee.locator(`#${now.post} .post__body`)
                .innerText()).includes(TYPED), 'the new post');
    });

    await step('axe-core at 360 px, the form closed: no serious or '
               + 'critical violation', async () => {
        await employee.reload();
        await opener.waitFor();
        const found = await axeViolations(employee);

        assert(found.length === 0, describeViolations(found));
    });

    await step('no CSP violation, no script error', async () => {
        await noProblems(employee);
    });

    await employee.context().close();
}


const browser = await launch();

try {
    await whatsNew(browser);
    await editKept(browser);
    await phoneFirstScreen(browser);
    await presence(browser);
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
