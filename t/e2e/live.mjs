/*
 * The live fiche in a real browser (issue 4): an employee and the client,
 * each in their own browser context, on the same fiche.  Each sees the
 * other's posts and comments appear without reloading, within a few
 * seconds, while what they are typing stays as it is: a half-typed comment
 * keeps its text, focus and selection; an open editor (a post being
 * edited, a new post) keeps its draft.  A stale edit still gets its 412
 * message; a post deleted while being edited keeps the draft on screen.
 * The indicator says "En direct", "Reconnexion…", "Hors ligne"; a reload
 * of nginx and the end of the session are handled.  At "/" (everything)
 * and under "/espace-client/" (the essentials).
 *
 * Run by t/e2e/live.t (make test), which creates the users and fiches.
 * Screenshots go to $CHANTIER_VAR/screenshots/live-*.png.
 */

import {execFileSync} from 'node:child_process';

import {
    apiCall, assert, cspViolations, done, launch, login, newPage, ok,
    scenario, screenshot, setup,
} from './lib.mjs';

const ROOT = `${setup.url}/`;
const PREFIX = `${setup.url}/espace-client/`;
const LIVE_MS = 5000;            /* "within a few seconds" */

/* ---- helpers ---- */

async function openFiche(page, base, user, fiche) {
    await login(page, base, user);
    await page.goto(`${base}fiche.html?id=${fiche.id}`);
    await page.locator('[data-code]', {hasText: fiche.code}).waitFor();

    /* gone if the page is ever reloaded; plus a log of the indicator */
    await page.evaluate(() => {
        const box = document.querySelector('[data-live]');

        window.__sameDocument = true;
        window.__liveStates = [];
        new MutationObserver(() => {
            window.__liveStates.push(box.dataset.state);
        }).observe(box, {attributes: true, attributeFilter: ['data-state']});
    });
}

async function sameDocument(page) {
    return page.evaluate(() => window.__sameDocument === true);
}

async function waitLive(page, timeout = LIVE_MS * 2) {
    await page.locator('[data-live]', {hasText: 'En direct'})
        .waitFor({timeout});
}

function post(page, id) {
    return page.locator(`#post-${id}`);
}

/* the comment box of a post, opened ("Commenter") if it is closed */
async function commentBox(page, id) {
    const p = post(page, id);

    if (!await p.locator('.comment-form:not(.comment-form--reply)').count()) {
        await p.getByRole('button', {name: 'Commenter'}).click();
    }
    return p.getByLabel('Ajouter un commentaire');
}

async function postIds(page) {
    return page.locator('.post').evaluateAll(
        (nodes) => nodes.map((n) => n.dataset.postId));
}

async function typeNewPost(page, text) {
    await page.locator('[data-new-post-editor] .ql-editor').click();
    await page.keyboard.type(text);
}

async function publish(page) {
    const before = await page.locator('.post').count();

    await page.getByRole('button', {name: 'Publier'}).click();
    await page.waitForFunction(
        (n) => document.querySelectorAll('.post').length === n + 1, before);
}

/* the focused element and its selection */
async function focused(page) {
    return page.evaluate(() => {
        const a = document.activeElement;

        return {
            id: a ? a.id : null,
            editor: !!(a && a.closest && a.closest('.ql-editor')),
            inEditOf: a && a.closest && a.closest('.post')
                ? a.closest('.post').dataset.postId : null,
            start: a ? a.selectionStart : null,
            end: a ? a.selectionEnd : null,
        };
    });
}

/* the element at the top of the window and its distance to the top */
async function topAnchor(page) {
    return page.evaluate(() => {
        for (const node of document.querySelectorAll('[data-anchor]')) {
            const rect = node.getBoundingClientRect();

            if (rect.bottom > 0 && rect.height > 0) {
                return {key: node.dataset.anchor, top: rect.top};
            }
        }
        return null;
    });
}

async function anchorTop(page, key) {
    return page.evaluate((k) => document.querySelector(
        `[data-anchor="${CSS.escape(k)}"]`).getBoundingClientRect().top, key);
}

async function problems(...pages) {
    const list = [];

    for (const page of pages) {
        list.push(...await cspViolations(page), ...page.problems);
    }
    return list;
}


/* ---- at "/": everything ---- */

async function rootFlow(browser) {
    const fiche = setup.fiches.root;
    const employee = await newPage(browser);
    const client = await newPage(browser);
    const step = scenario('live at /', {onFailure: async () => {
        await screenshot(employee, 'live-failed-employee');
        await screenshot(client, 'live-failed-client');
    }});
    let first;
    let second;

    await step('the employee and the client open the same fiche',
               async () => {
        await openFiche(employee, ROOT, setup.employee, fiche);
        await openFiche(client, ROOT, setup.client, fiche);
    });

    await step('both pages say "En direct", as an accessible status',
               async () => {
        await waitLive(employee);
        await waitLive(client);
        const box = client.locator('[data-live]');

        assert(await box.getAttribute('role') === 'status', 'role=status');
        assert(await box.getAttribute('aria-live') === 'polite',
               'aria-live=polite');
        assert((await box.innerText()).trim() === 'En direct',
               `text "${await box.innerText()}"`);
    });

    await step('a post by the employee appears on the client\'s page, '
               + 'highlighted, without reloading', async () => {
        await typeNewPost(employee, 'Fondations coulées ce matin.');
        const start = Date.now();

        await publish(employee);
        await client.locator('.post', {hasText: 'Fondations coulées'})
            .waitFor({timeout: LIVE_MS});
        console.log(`# the post reached the client's page after `
                    + `${Date.now() - start} ms`);
        assert(await client.locator('.post.is-new').count() === 1,
               'the new post is highlighted');
        assert(await sameDocument(client), 'the client page was reloaded');
        [first] = await postIds(client);
    });

    await step('the client\'s half-typed comment survives the employee\'s '
               + 'comment arriving', async () => {
        const box = await commentBox(client, first);

        await client.setViewportSize({width: 1280, height: 600});
        await box.click();
        await client.keyboard.type('Je passerai voir demain, si');
        await box.evaluate((node) => node.setSelectionRange(3, 10));
        const before = await topAnchor(client);

        await (await commentBox(employee, first))
            .fill('Le béton doit sécher 28 jours.');
        await post(employee, first)
            .getByRole('button', {name: 'Envoyer', exact: true}).click();
        await client.locator('.comment__body', {hasText: 'Le béton'})
            .waitFor({timeout: LIVE_MS});

        const now = await focused(client);

        assert(await box.inputValue() === 'Je passerai voir demain, si',
               `text "${await box.inputValue()}"`);
        assert(now.id === `new-comment-${first}`,
               `focus on "${now.id}"`);
        assert(now.start === 3 && now.end === 10,
               `selection ${now.start}-${now.end}`);
        assert(await client.locator('.comment__box.is-new').count() === 1,
               'the new comment is highlighted');
        if (before) {
            const top = await anchorTop(client, before.key);

            assert(Math.abs(top - before.top) < 2,
                   `${before.key} moved from ${before.top} to ${top}`);
        }
        assert(await sameDocument(client), 'the client page was reloaded');
        await screenshot(client, 'live-client-typing');
    });

    await step('the employee\'s open editors survive the client\'s comment '
               + 'arriving', async () => {
        await typeNewPost(employee, 'Brouillon : la charpente arrive.');
        await post(employee, first).getByRole('button', {name: 'Modifier'})
            .click();
        const editor = post(employee, first).locator('.post-edit .ql-editor');

        await editor.click();
        await employee.keyboard.press('Control+End');
        await employee.keyboard.type(' Suite en cours de frappe');

        await post(client, first)
            .getByRole('button', {name: 'Envoyer', exact: true}).click();
        await employee.locator('.comment__body',
                               {hasText: 'Je passerai voir demain'})
            .waitFor({timeout: LIVE_MS});

        const now = await focused(employee);

        assert((await editor.innerText()).includes('Suite en cours de frappe'),
               'the post being edited keeps its draft');
        assert(now.editor && now.inEditOf === first,
               `focus: ${JSON.stringify(now)}`);
        assert((await employee.locator('[data-new-post-editor] .ql-editor')
                .innerText()).includes('la charpente arrive'),
               'the new post keeps its draft');
        assert(await sameDocument(employee), 'the employee page reloaded');
        await screenshot(employee, 'live-employee-editing');
    });

    await step('an open reply box survives an edit and a new post',
               async () => {
        const comment = client.locator('.comment', {hasText: 'Le béton'});

        await comment.getByRole('button', {name: 'Répondre'}).click();
        const reply = client.getByLabel(/Votre réponse à/);

        await reply.fill('Parfait, merci');

        await post(employee, first).getByRole('button', {name: 'Enregistrer'})
            .click();
        await post(client, first).locator('.post__edited')
            .waitFor({timeout: LIVE_MS});
        await post(client, first).locator('.post__body',
                                          {hasText: 'Suite en cours'})
            .waitFor({timeout: LIVE_MS});

        await publish(employee);
        await client.locator('.post', {hasText: 'la charpente arrive'})
            .waitFor({timeout: LIVE_MS});
        second = (await postIds(client)).find((id) => id !== first);

        const now = await focused(client);

        assert(await reply.inputValue() === 'Parfait, merci',
               `reply "${await reply.inputValue()}"`);
        assert(now.id && now.id.startsWith('reply-'),
               `focus on "${now.id}"`);

        await client.getByRole('button', {name: 'Envoyer la réponse'})
            .click();
        await employee.locator('.comments--replies .comment__body',
                               {hasText: 'Parfait, merci'})
            .waitFor({timeout: LIVE_MS});
    });

    await step('a comment deleted by the client goes from the employee\'s '
               + 'page', async () => {
        const box = client.locator('.comment__box',
                                   {hasText: 'Parfait, merci'});

        await box.getByRole('button', {name: 'Supprimer'}).click();
        await client.getByRole('dialog')
            .getByRole('button', {name: 'Supprimer le commentaire'}).click();
        await employee.waitForFunction(() => ![...document.querySelectorAll(
            '.comment__body')].some((n) => n.textContent.includes('Parfait')),
            null, {timeout: LIVE_MS});
    });

    await step('a cancelled post turns grey on the client\'s page',
               async () => {
        await post(employee, second)
            .getByRole('button', {name: 'Retirer', exact: true}).click();
        await client.locator(`#post-${second}.post--cancelled`)
            .waitFor({timeout: LIVE_MS});
    });

    await step('a stale edit still gets its 412 message, the draft kept, '
               + 'with live updates meanwhile', async () => {
        await post(employee, first).getByRole('button', {name: 'Modifier'})
            .click();
        const editor = post(employee, first).locator('.post-edit .ql-editor');

        await editor.click();
        await employee.keyboard.press('Control+End');
        await employee.keyboard.type(' Mon ajout.');

        /* someone else (another tab of the employee) edits the post */
        const fresh = await apiCall(employee, 'GET', `fiches/${fiche.id}`,
                                    null);
        const current = fresh.json.posts.find((p) => String(p.id) === first);
        const r = await apiCall(employee, 'PATCH', `posts/${first}`,
            {body: {ops: [{insert: 'Texte changé ailleurs.\n'}]}},
            {'If-Match': `"${current.version}"`});

        assert(r.status === 200, `PATCH: ${r.status}`);
        await post(employee, first)
            .locator('.post-edit__note', {hasText: 'vient d’être modifiée'})
            .waitFor({timeout: LIVE_MS});
        await post(client, first).locator('.post__body',
                                          {hasText: 'Texte changé ailleurs'})
            .waitFor({timeout: LIVE_MS});
        assert((await editor.innerText()).includes('Mon ajout.'),
               'the draft is kept when the news arrives');

        await post(employee, first).getByRole('button', {name: 'Enregistrer'})
            .click();
        const conflict = post(employee, first).locator('.conflict');

        await conflict.waitFor();
        const text = await conflict.innerText();

        assert(/modifiée par/.test(text), `conflict says: ${text}`);
        assert(text.includes('Texte changé ailleurs'), 'current text shown');
        assert((await editor.innerText()).includes('Mon ajout.'),
               'the draft is kept after the 412');
        await screenshot(employee, 'live-stale-edit');

        await conflict.getByRole('button', {name: 'Garder mon texte'})
            .click();
        await post(employee, first).getByRole('button', {name: 'Enregistrer'})
            .click();
        await post(client, first).locator('.post__body',
                                          {hasText: 'Mon ajout.'})
            .waitFor({timeout: LIVE_MS});
    });

    await step('a post deleted while being edited keeps the draft on '
               + 'screen and says so', async () => {
        await post(employee, second).getByRole('button', {name: 'Modifier'})
            .click();
        const editor = post(employee, second).locator('.post-edit .ql-editor');

        await editor.click();
        await employee.keyboard.press('Control+End');
        await employee.keyboard.type(' Texte à ne pas perdre');

        const r = await apiCall(employee, 'DELETE', `posts/${second}`, null);

        assert(r.status === 204, `DELETE: ${r.status}`);
        await client.locator(`#post-${second}`)
            .waitFor({state: 'detached', timeout: LIVE_MS});
        await post(employee, second).locator('.field-error',
            {hasText: 'Cette publication a été supprimée entre-temps'})
            .waitFor({timeout: LIVE_MS});
        assert((await editor.innerText()).includes('Texte à ne pas perdre'),
               'the draft is still there');
        assert(await post(employee, second)
               .getByRole('button', {name: 'Enregistrer'}).isHidden(),
               'no "Enregistrer" for a deleted post');
        await screenshot(employee, 'live-deleted-while-editing');

        await post(employee, second).getByRole('button', {name: 'Fermer'})
            .click();
        await post(employee, second).waitFor({state: 'detached'});
    });

    await step('after an nginx reload both pages reconnect and stay live',
               async () => {
        await employee.evaluate(() => { window.__liveStates = []; });
        await client.evaluate(() => { window.__liveStates = []; });
        execFileSync(`${setup.repo}/scripts/stack`, ['reload-nginx'], {
            env: {...process.env, VAR: setup.var},
            stdio: ['ignore', 2, 2],
        });
        for (const page of [employee, client]) {
            await page.waitForFunction(
                () => window.__liveStates.includes('retrying')
                    && window.__liveStates.at(-1) === 'live',
                null, {timeout: 15000});
        }
        await (await commentBox(employee, first))
            .fill('Après le rechargement.');
        await post(employee, first)
            .getByRole('button', {name: 'Envoyer', exact: true}).click();
        await client.locator('.comment__body',
                             {hasText: 'Après le rechargement'})
            .waitFor({timeout: LIVE_MS});
        assert(await sameDocument(client) && await sameDocument(employee),
               'no page was reloaded');
    });

    await step('a page that cannot reach the stream says "Reconnexion…", '
               + 'then "Hors ligne", then comes back', async () => {
        const page = await newPage(browser);
        const route = '**/events?*';

        await page.route(route, (r) => r.abort());
        await openFiche(page, ROOT, setup.client, fiche);
        await page.locator('[data-live]', {hasText: 'Reconnexion…'})
            .waitFor({timeout: LIVE_MS});
        await page.locator('[data-live]', {hasText: 'Hors ligne'})
            .waitFor({timeout: 15000});
        await screenshot(page, 'live-offline');
        await page.unroute(route);
        await waitLive(page, 20000);
        await page.context().close();
    });

    await step('PostgreSQL away: the fiche stays readable, "Lecture seule"',
               async () => {
        const stack = (command) => execFileSync(
            `${setup.repo}/scripts/stack`, [command],
            {env: {...process.env, VAR: setup.var}, stdio: ['ignore', 2, 2]});
        const refresh = () => client.evaluate(async (root) => {
            const state = await import(`${root}js/fiche/state.js`);
            await state.refresh();
        }, ROOT);
        const note = client.locator('[data-read-only]');

        await refresh();
        assert(await note.isHidden(), 'no note while all is well');
        stack('stop-postgres');
        try {
            // what the worker knew is 5 s old: the answer says so
            await client.waitForTimeout(5500);
            await refresh();
            await note.waitFor({state: 'visible', timeout: LIVE_MS});
            assert((await note.innerText()).includes('Lecture seule'),
                   'the note says "Lecture seule"');
            assert(await client.locator(`#post-${first}`).isVisible(),
                   'the posts are still shown');
            await screenshot(client, 'live-read-only');
        } finally {
            stack('start-postgres');
        }
        // the page looks again by itself
        await note.waitFor({state: 'hidden', timeout: 25000});
    });

    await step('when the session ends, the page says so and offers to '
               + 'log in again, back here', async () => {
        const r = await apiCall(client, 'DELETE', 'session', null);

        assert(r.status === 204, `DELETE session: ${r.status}`);
        await client.locator('[data-signed-out]',
                             {hasText: 'Vous avez été déconnecté'})
            .waitFor({timeout: LIVE_MS * 2});
        await client.locator('[data-live]', {hasText: 'Déconnecté'})
            .waitFor();
        const href = await client.getByRole('link', {name: 'Se reconnecter'})
            .getAttribute('href');

        assert(href === `${ROOT}index.html?next=`
               + encodeURIComponent(`fiche.html?id=${fiche.id}`),
               `link ${href}`);
        assert(await sameDocument(client), 'the page stays');
    });

    await step('no CSP violation, no script error', async () => {
        const list = await problems(employee);

        assert(list.length === 0, list.join('\n'));
        assert(client.problems.length === 0, client.problems.join('\n'));
    });

    await employee.context().close();
    await client.context().close();
}


/* ---- under "/espace-client/": the essentials ---- */

async function prefixFlow(browser) {
    const fiche = setup.fiches.prefix;
    const employee = await newPage(browser);
    const client = await newPage(browser);
    const streams = [];
    const step = scenario('live under /espace-client/', {onFailure:
        async () => {
            await screenshot(employee, 'live-prefix-failed-employee');
            await screenshot(client, 'live-prefix-failed-client');
        }});

    client.on('request', (r) => {
        if (/\/events\?/.test(r.url())) {
            streams.push(r.url());
        }
    });

    await step('both open the fiche; the client\'s stream is under the '
               + 'prefix', async () => {
        await openFiche(employee, PREFIX, setup.employee, fiche);
        await openFiche(client, PREFIX, setup.client, fiche);
        await waitLive(employee);
        await waitLive(client);
        assert(streams.length > 0 && streams[0].startsWith(
            `${PREFIX}api/fiches/${fiche.id}/events?since=`),
               `stream URL ${streams[0]}`);
    });

    await step('a post and a comment cross over, the typed text stays',
               async () => {
        /* the highlight without motion: a tint, no animation */
        await client.emulateMedia({reducedMotion: 'reduce'});
        await typeNewPost(employee, 'Terrassement terminé.');
        await publish(employee);
        await client.locator('.post', {hasText: 'Terrassement'})
            .waitFor({timeout: LIVE_MS});
        const style = await client.locator('.post.is-new > .post__article')
            .evaluate((node) => {
                const css = getComputedStyle(node);

                return `${css.animationName} ${css.backgroundColor}`;
            });

        assert(style === 'none rgb(255, 243, 191)',
               `reduced motion highlight: ${style}`);
        const [id] = await postIds(client);
        const box = await commentBox(employee, id);

        await box.click();
        await employee.keyboard.type('Réponse en cours');
        await (await commentBox(client, id)).fill('Bien reçu.');
        await post(client, id)
            .getByRole('button', {name: 'Envoyer', exact: true}).click();
        await employee.locator('.comment__body', {hasText: 'Bien reçu.'})
            .waitFor({timeout: LIVE_MS});
        assert(await box.inputValue() === 'Réponse en cours', 'text kept');
        assert((await focused(employee)).id === `new-comment-${id}`,
               'focus kept');
        assert(await sameDocument(employee) && await sameDocument(client),
               'no page was reloaded');
        await screenshot(employee, 'live-prefix-employee');
    });

    await step('no CSP violation, no script error', async () => {
        const list = await problems(employee, client);

        assert(list.length === 0, list.join('\n'));
    });

    await employee.context().close();
    await client.context().close();
}


const browser = await launch();

try {
    await rootFlow(browser);
    await prefixFlow(browser);
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
