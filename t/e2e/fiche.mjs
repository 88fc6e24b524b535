/*
 * The fiche page in a real browser (issue 3), at "/" and under
 * "/espace-client/": an employee publishes a post with bold text; the
 * client opens it from their list and comments; the employee replies; the
 * client deletes the comment and the reply goes with it; cancelling greys
 * the post; a finishing post shows the "terminé" banner; HTML typed in a
 * comment stays text; a phone-sized window never scrolls sideways.
 * Screenshots go to $CHANTIER_VAR/screenshots/.
 *
 * Run by t/e2e/fiche.t (make test), which creates the users and fiches.
 */

import {
    assert, cspViolations, done, launch, login, newPage, ok, scenario,
    screenshot, setup,
} from './lib.mjs';

const ROOT = `${setup.url}/`;
const PREFIX = `${setup.url}/espace-client/`;
const TITLE = /Rénovation de la cuisine/;
const DATE_TIME = /^\d\d\/\d\d\/\d{4} à \d\d:\d\d$/;
const FINISHED = /^Chantier terminé le \d\d\/\d\d\/\d{4}$/;
const GREY = 'rgb(107, 114, 128)';
const XSS = '<img src=x onerror="window.__xss = 1"> '
    + '<script>window.__xss = 2</script>';

/* the first post of a page: the newest (the default order) */
function firstPost(page) {
    return page.locator('.post').first();
}

/* opens the comment box of the first post (behind "Commenter") */
async function openCommentBox(page) {
    const post = firstPost(page);

    if (!await post.locator('.comment-form:not(.comment-form--reply)')
        .count())
    {
        await post.getByRole('button', {name: 'Commenter'}).click();
    }
    return post.getByLabel('Ajouter un commentaire');
}

async function typeInEditor(page, parts) {
    const editor = page.locator('[data-new-post-editor] .ql-editor');

    await editor.click();
    for (const part of parts) {
        if (typeof part !== 'string') {
            await page.keyboard.press('Control+b');
            await page.keyboard.type(part.bold);
            await page.keyboard.press('Control+b');
        } else {
            await page.keyboard.type(part);
        }
    }
}

/* reopen: the chantier is finished, the page asks first (confirmed) */
async function publish(page, {reopen = false} = {}) {
    const before = await page.locator('.post').count();

    await page.getByRole('button', {name: 'Publier'}).click();
    if (reopen) {
        await page.getByRole('dialog')
            .getByRole('button', {name: 'Publier et rouvrir le chantier'})
            .click();
    }
    await page.waitForFunction(
        (n) => document.querySelectorAll('.post').length === n + 1, before);
}

async function noSideScroll(page) {
    return page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
    }));
}

/* POST from inside the page, with its session and CSRF token */
async function apiPost(page, path, body) {
    return page.evaluate(async ([p, b]) => {
        const r = await fetch(`api/${p}`, {
            method: 'POST',
            headers: {
                'Content-Type': 'application/json',
                'X-CSRF-Token': sessionStorage.getItem('clo.csrf_token'),
            },
            body: JSON.stringify(b),
        });
        return {status: r.status, json: await r.json().catch(() => null)};
    }, [path, body]);
}

/*
 * The main scenario, at one mount point.  Returns the pages for the
 * checks that follow (root only).
 */
async function mainFlow(browser, mount, base) {
    const fiche = setup.fiches[mount];
    const employee = await newPage(browser);
    const client = await newPage(browser);
    const step = scenario(mount === 'root' ? 'at /' : 'under /espace-client/',
        {onFailure: async (name) => {
            await screenshot(employee, `${mount}-failed-employee`);
            await screenshot(client, `${mount}-failed-client`);
        }});

    await step('the employee logs in and finds the fiche: by the client\'s '
               + 'name (two chantiers: a list), or by part of its code, '
               + 'spaced and in lower case (one: opened at once)',
               async () => {
        const search = employee.getByLabel(
            'Référence du chantier ou nom du client');

        await login(employee, base, setup.employee);
        if (mount === 'root') {
            /* "M. Jean Dupont 1234" -> "dupont 1234" */
            await search.fill(setup.client.name.split(' ').slice(2).join(' ')
                .toLowerCase());
            await employee.getByRole('button', {name: 'Rechercher'}).click();
            await employee.getByText('2 chantiers trouvés').waitFor();
            await employee.getByRole('link', {name: `(${mount})`}).click();
        } else {
            /* "CH-E2E-1234-PREFIX" -> "e2e 1234 prefix" */
            await search.fill(fiche.code.split('-').slice(1).join(' ')
                .toLowerCase());
            await employee.getByRole('button', {name: 'Rechercher'}).click();
        }
        await employee.waitForURL(/\/fiche\.html\?id=\d+$/);
        assert(employee.url().startsWith(`${base}fiche.html`),
               `fiche opened at ${employee.url()}`);
        await employee.locator('[data-code]', {hasText: fiche.code})
            .waitFor();
    });

    await step('the header shows client, address, dates and status',
               async () => {
        const header = employee.locator('[data-fiche-header]');
        const text = await header.innerText();

        for (const want of [setup.client.name, 'rue des Tests', '75011 Paris',
                            '2 novembre 2026', '29 janvier 2036',
                            'Chantier en cours', fiche.code])
        {
            assert(text.includes(want), `header lacks "${want}": ${text}`);
        }
        assert(await employee.locator('h1', {hasText: TITLE}).isVisible(),
               'title as h1');
        assert(await employee.locator('.site-header__logo').isVisible(),
               'CLO logo');
    });

    await step('the CSP header is on the page', async () => {
        const response = await employee.request.get(employee.url());
        const csp = response.headers()['content-security-policy'] || '';

        assert(/script-src 'self'/.test(csp) && /default-src 'none'/.test(csp),
               `CSP: ${csp}`);
    });

    await step('the employee publishes a post with bold text', async () => {
        await typeInEditor(employee, ['Démolition terminée. ',
                                      {bold: 'Plomberie demain'}, '.']);
        await publish(employee);
        await firstPost(employee)
            .locator('.post__body strong', {hasText: 'Plomberie demain'})
            .waitFor();
        assert((await employee.locator('[data-new-post-editor] .ql-editor')
                .innerText()).trim() === '', 'editor emptied');
    });

    await step('the post shows its date, time and author', async () => {
        const when = (await firstPost(employee).locator('.post__date time')
                      .innerText()).trim();
        const author = await firstPost(employee).locator('.post__author')
            .innerText();

        assert(DATE_TIME.test(when), `date "${when}"`);
        assert(author.includes(setup.employee.name), `author "${author}"`);
    });

    await step('the client opens it from the list and sees the bold text',
               async () => {
        await login(client, base, setup.client);
        await client.getByRole('link', {name: TITLE}).first().waitFor();
        await client.locator('.card', {hasText: fiche.code})
            .getByRole('link', {name: TITLE}).click();
        await client.waitForURL(/\/fiche\.html\?id=\d+$/);
        await firstPost(client)
            .locator('.post__body strong', {hasText: 'Plomberie demain'})
            .waitFor();
        assert(await client.locator('[data-new-post]').isHidden(),
               'no editor for a client');
        assert(await client.getByRole('button', {name: 'Modifier'})
               .count() === 0, 'no post actions for a client');
    });

    await step('the client downloads the fiche as a PDF', async () => {
        const link = client.getByRole('link', {name: 'Télécharger le PDF'});
        const [download] = await Promise.all([
            client.waitForEvent('download'),
            link.click(),
        ]);
        assert(/^fiche-.+-\d{4}-\d\d-\d\d\.pdf$/
                   .test(download.suggestedFilename()),
               `PDF file name: ${download.suggestedFilename()}`);
        const {readFileSync} = await import('node:fs');
        const head = readFileSync(await download.path()).subarray(0, 5);
        assert(head.toString() === '%PDF-', 'a PDF');
    });

    await step('the client comments', async () => {
        await (await openCommentBox(client)).fill('Merci !\nÀ demain.');
        await client.getByRole('button', {name: 'Envoyer', exact: true})
            .click();
        await client.locator('.comment__body', {hasText: 'Merci !'})
            .waitFor();
        assert(await client.getByLabel('Ajouter un commentaire')
               .count() === 0, 'comment box closed once sent');
        assert(await (await openCommentBox(client)).inputValue() === '',
               'comment box emptied');
    });

    await step('the employee replies to the comment', async () => {
        await employee.reload();
        const comment = employee.locator('.comment', {hasText: 'Merci !'});

        await comment.getByRole('button', {name: 'Répondre'}).click();
        await employee.getByLabel(/Votre réponse à/)
            .fill('Avec plaisir, à demain 8 h.');
        await employee.getByRole('button', {name: 'Envoyer la réponse'})
            .click();
        await employee.locator(
            '.comment .comments--replies .comment__body',
            {hasText: 'Avec plaisir'}).waitFor();
    });

    await step('the client sees the reply nested under the comment',
               async () => {
        await client.reload();
        await client.locator('.comment .comments--replies .comment__body',
                             {hasText: 'Avec plaisir'}).waitFor();
        await screenshot(client, `${mount}-client-thread`);
    });

    await step('the client deletes the comment, the reply goes with it',
               async () => {
        const box = client.locator('.comment__box', {hasText: 'Merci !'});

        await box.getByRole('button', {name: 'Supprimer'}).click();
        const dialog = client.getByRole('dialog');

        await dialog.waitFor();
        const text = await dialog.innerText();

        assert(/1 réponse/.test(text), `dialog says: ${text}`);
        await dialog.getByRole('button', {name: 'Supprimer le commentaire'})
            .click();
        await client.waitForFunction(
            () => document.querySelectorAll('.comment').length === 0);
    });

    await step('a comment with HTML in it is shown as text', async () => {
        await (await openCommentBox(client)).fill(XSS);
        await client.getByRole('button', {name: 'Envoyer', exact: true})
            .click();
        const body = client.locator('.comment__body', {hasText: '<img src=x'});

        await body.waitFor();
        assert((await body.innerText()).trim() === XSS, 'text as typed');
        await client.reload();
        await client.locator('.comment__body', {hasText: '<img src=x'})
            .waitFor();
        await client.waitForTimeout(300);
        assert(await client.evaluate(() => window.__xss) === undefined,
               'nothing ran');
        assert(await client.locator('.comments-block img, '
                                    + '.comments-block script').count() === 0,
               'no element made of it');
    });

    await step('cancelling greys the post and its comments', async () => {
        await employee.reload();
        await firstPost(employee)
            .getByRole('button', {name: 'Retirer', exact: true}).click();
        await employee.locator('.post.post--cancelled').waitFor();
        const post = employee.locator('.post.post--cancelled');

        assert(await post.locator('.tag', {hasText: 'Annulée'}).isVisible(),
               '"Annulée" shown');
        for (const part of ['.post__body', '.comment__body']) {
            const colour = await post.locator(part).first().evaluate(
                (node) => getComputedStyle(node).color);

            assert(colour === GREY, `${part} colour ${colour}`);
        }
        await client.reload();
        await client.locator('.post.post--cancelled .tag',
                             {hasText: 'Annulée'}).waitFor();
        await screenshot(client, `${mount}-client-cancelled`);
    });

    await step('and it can be restored', async () => {
        await employee.getByRole('button', {name: 'Remettre en ligne'})
            .click();
        await employee.waitForFunction(
            () => !document.querySelector('.post--cancelled'));
    });

    await step('a finishing post shows the "terminé" banner', async () => {
        await typeInEditor(employee, ['Réception des travaux faite.']);
        await employee.getByLabel('Ce message clôture le chantier').check();
        assert(await employee.getByLabel('Avertir le client').isChecked(),
               '"Avertir le client" ticked by default');
        await publish(employee);
        await employee.locator('[data-status]', {hasText: FINISHED})
            .waitFor();
        await employee.locator('.post', {hasText: 'Réception des travaux'})
            .locator('.tag', {hasText: 'Fin de chantier'}).waitFor();
        assert(!await employee.getByLabel('Ce message clôture le chantier')
               .isChecked(), 'the box is unticked after publishing');
        await client.reload();
        await client.locator('[data-status]', {hasText: 'Chantier terminé le'})
            .waitFor();
        await screenshot(employee, `${mount}-employee-desktop`);
        await screenshot(client, `${mount}-client-desktop`);
    });

    await step('no CSP violation, no script error', async () => {
        const problems = [
            ...await cspViolations(employee), ...await cspViolations(client),
            ...employee.problems, ...client.problems,
        ];

        assert(problems.length === 0, problems.join('\n'));
    });

    return {employee, client, step, fiche};
}

/* the rest, at "/" only: phones, deep threads, failures, conflicts */
async function moreChecks(browser, {employee, client, fiche}) {
    const step = scenario('at /', {onFailure: async () => {
        await screenshot(employee, 'more-failed-employee');
        await screenshot(client, 'more-failed-client');
    }});

    await step('a failed comment keeps its text and says why', async () => {
        const route = '**/api/posts/*/comments';

        await client.route(route, (r) => r.abort());
        const box = await openCommentBox(client);

        await box.fill('Texte à ne pas perdre');
        await client.getByRole('button', {name: 'Envoyer', exact: true})
            .first().click();
        await client.locator('.comment-form .field-error',
                             {hasText: 'n’a pas été envoyé'}).waitFor();
        assert(await box.inputValue() === 'Texte à ne pas perdre',
               'text kept');
        await client.unroute(route);
        await client.getByRole('button', {name: 'Envoyer', exact: true})
            .first().click();
        await client.locator('.comment__body',
                             {hasText: 'Texte à ne pas perdre'}).waitFor();
    });

    await step('a deep thread stays readable at 360 px', async () => {
        const postId = await firstPost(client).getAttribute('data-post-id');
        let parent = null;

        for (let depth = 0; depth < 8; depth++) {
            const r = await apiPost(client, `posts/${postId}/comments`, {
                body: `Niveau ${depth} : https://www.exemple.fr/un/chemin/`
                    + 'tres/long/sans/espace/aucune-coupure-possible-ici',
                parent_id: parent,
            });

            assert(r.status === 201, `comment: ${r.status}`);
            parent = r.json.id;
        }
        await client.setViewportSize({width: 360, height: 740});
        await client.reload();
        await client.locator('.comment__body', {hasText: 'Niveau 7'})
            .waitFor();
        const size = await noSideScroll(client);

        await screenshot(client, 'phone-360-client');
        assert(size.scroll <= size.client,
               `scrollWidth ${size.scroll} > clientWidth ${size.client}`);
    });

    await step('the employee page fits 360 px too, the link box too',
               async () => {
        await employee.setViewportSize({width: 360, height: 740});
        await employee.reload();
        /* on a phone the new post form waits behind its button */
        await employee.getByRole('button', {name: 'Nouvelle publication'})
            .click();
        await employee.locator('[data-new-post-editor] .ql-editor').waitFor();
        const size = await noSideScroll(employee);

        await screenshot(employee, 'phone-360-employee');
        assert(size.scroll <= size.client,
               `scrollWidth ${size.scroll} > clientWidth ${size.client}`);

        await typeInEditor(employee, ['Un lien vers le devis du mois.']);
        await employee.keyboard.press('Shift+Home');
        await employee.getByRole('button', {name: 'Lien'}).click();
        await employee.getByLabel('Adresse du lien').waitFor();
        const box = await employee.locator('.ql-tooltip').evaluate((n) => {
            const r = n.getBoundingClientRect();

            return {left: r.left, right: r.right,
                    scroll: document.documentElement.scrollWidth};
        });

        await screenshot(employee, 'phone-360-link-box');
        assert(box.left >= 0 && box.right <= 360 && box.scroll <= 360,
               `link box ${JSON.stringify(box)}`);
        await employee.keyboard.press('Escape');
        await employee.locator('[data-new-post-editor] .ql-editor').click();
        await employee.keyboard.press('Control+a');
        await employee.keyboard.press('Delete');
        await employee.setViewportSize({width: 1280, height: 900});
    });

    await step('a stale edit is refused and says who changed it', async () => {
        const other = await newPage(browser);

        await login(other, ROOT, setup.employee);
        await employee.reload();
        await other.goto(employee.url());

        /* the employee starts editing; meanwhile the other tab edits */
        await firstPost(employee).getByRole('button', {name: 'Modifier'})
            .click();
        await firstPost(employee).locator('.post-edit .ql-editor').waitFor();
        await firstPost(other).getByRole('button', {name: 'Modifier'})
            .click();
        const otherEditor = firstPost(other).locator('.post-edit .ql-editor');

        await otherEditor.click();
        await other.keyboard.press('Control+End');
        await other.keyboard.type(' Ajout de l’autre onglet.');
        await firstPost(other).getByRole('button', {name: 'Enregistrer'})
            .click();
        await firstPost(other).locator('.post__edited').waitFor();

        const mine = firstPost(employee).locator('.post-edit .ql-editor');

        await mine.click();
        await employee.keyboard.press('Control+End');
        await employee.keyboard.type(' Mon ajout.');
        await firstPost(employee).getByRole('button', {name: 'Enregistrer'})
            .click();
        const conflict = firstPost(employee).locator('.conflict');

        await conflict.waitFor();
        const text = await conflict.innerText();

        assert(/modifiée par/.test(text), `conflict says: ${text}`);
        assert(text.includes('Ajout de l’autre onglet'),
               'the current text is shown');
        assert((await mine.innerText()).includes('Mon ajout'),
               'the draft is kept');
        await screenshot(employee, 'stale-edit');

        await conflict.getByRole('button', {name: 'Garder mon texte'})
            .click();
        await firstPost(employee).getByRole('button', {name: 'Enregistrer'})
            .click();
        await firstPost(employee).locator('.post__body',
                                          {hasText: 'Mon ajout'}).waitFor();
        const edited = await firstPost(employee).locator('.post__edited')
            .innerText();

        assert(/modifiée le \d\d\/\d\d\/\d{4} à \d\d:\d\d/.test(edited),
               `"${edited}"`);
        await other.context().close();
    });

    await step('a link typed in the editor opens safely in a new tab',
               async () => {
        await typeInEditor(employee, ['Le devis est en ligne.']);
        await employee.keyboard.press('Shift+Home');
        await employee.getByRole('button', {name: 'Lien'}).click();
        const box = employee.getByLabel('Adresse du lien');

        await box.fill('www.exemple.fr/devis');
        await box.press('Enter');
        await publish(employee, {reopen: true});
        const link = employee.locator('.post__body a', {hasText: 'devis'});

        await link.waitFor();
        assert(await link.getAttribute('href')
               === 'https://www.exemple.fr/devis', 'href');
        assert(await link.getAttribute('rel') === 'noopener noreferrer',
               'rel');
        assert(await link.getAttribute('target') === '_blank', 'target');
    });

    await step('the Delta renderer keeps to the allow-list', async () => {
        const html = await client.evaluate(async () => {
            const {renderDelta, cleanDelta} = await import('./js/delta.js');
            const box = document.createElement('div');

            box.append(renderDelta({ops: [
                {insert: 'a', attributes: {link: 'javascript:alert(1)'}},
                {insert: 'b', attributes: {link: 'https://clo.fr/x'}},
                {insert: 'c', attributes: {color: 'red', bold: true,
                                           size: '99px'}},
                {insert: {image: 'https://evil.example/x.png'}},
                {insert: {image: 'photo:42'}},
                {insert: '<img src=x onerror=alert(1)>'},
                {insert: '\n', attributes: {header: 2}},
                {insert: 'l1'},
                {insert: '\n', attributes: {list: 'bullet'}},
                {insert: 'l2'},
                {insert: '\n', attributes: {list: 'checked'}},
            ]}));
            return {
                html: box.innerHTML,
                clean: JSON.stringify(cleanDelta({ops: [
                    {insert: 'x', attributes: {link: 'javascript:x()',
                                               italic: true}},
                    {insert: 'y', attributes: {link: 'clo.fr'}},
                    {insert: {video: 'v'}},
                    {insert: '\n', attributes: {header: 4, align: 'right'}},
                ]})),
            };
        });
        const want = '<h3 class="delta-h2">a<a href="https://clo.fr/x" '
            + 'rel="noopener noreferrer" target="_blank">b</a><strong>c'
            + '</strong><img src="' + ROOT + 'api/photos/42" '
            + 'alt="Photo du chantier" class="delta-photo" loading="lazy">'
            + '&lt;img src=x onerror=alert(1)&gt;</h3><ul class="delta-list">'
            + '<li>l1</li></ul><p>l2</p>';

        assert(html.html === want, `rendered ${html.html}`);
        assert(html.clean === '{"ops":[{"insert":"x","attributes":'
               + '{"italic":true}},{"insert":"y","attributes":{"link":'
               + '"https://clo.fr/"}},{"insert":"\\n"}]}',
               `cleaned ${html.clean}`);
    });

    await step('links and underlined text do not look alike', async () => {
        const looks = await client.evaluate(async () => {
            const {renderDelta} = await import('./js/delta.js');
            const box = document.createElement('div');

            box.className = 'post__body delta';
            box.append(renderDelta({ops: [
                {insert: 'souligné', attributes: {underline: true}},
                {insert: ' '},
                {insert: 'lien', attributes: {link: 'https://clo.fr/'}},
                {insert: '\n'},
            ]}));
            document.querySelector('main').append(box);
            const look = (n) => {
                const c = getComputedStyle(n);

                return {color: c.color, style: c.textDecorationStyle,
                        line: c.textDecorationLine};
            };
            const result = {u: look(box.querySelector('u')),
                            a: look(box.querySelector('a')),
                            text: look(box)};

            box.remove();
            return result;
        });

        assert(looks.a.color !== looks.u.color, `colours ${JSON.stringify(
            looks)}`);
        assert(looks.u.color === looks.text.color,
               'underlined text keeps the text colour');
        assert(looks.a.style !== looks.u.style, `lines ${JSON.stringify(
            looks)}`);
    });

    await step('deleting a post asks first, naming its comments',
               async () => {
        const count = await employee.locator('.post').count();
        const commented = employee.locator('.post', {
            has: employee.locator('.comment'),
        }).first();

        await commented.getByRole('button', {name: 'Supprimer'})
            .first().click();
        const dialog = employee.getByRole('dialog');
        const text = await dialog.innerText();

        assert(/commentaires/.test(text) && /définitivement/.test(text),
               `dialog says: ${text}`);
        await dialog.getByRole('button', {name: 'Annuler'}).click();
        assert(await employee.locator('.post').count() === count,
               'nothing deleted on cancel');
        await commented.getByRole('button', {name: 'Supprimer'})
            .first().click();
        await employee.getByRole('dialog')
            .getByRole('button', {name: /^Supprimer la publication/}).click();
        await employee.waitForFunction(
            (n) => document.querySelectorAll('.post').length === n - 1,
            count);
    });

    await step('another client gets "not found", not the fiche', async () => {
        const stranger = await newPage(browser);

        await login(stranger, ROOT, setup.other);
        await stranger.goto(`${ROOT}fiche.html?id=${fiche.id}`);
        await stranger.locator('[data-error-summary]',
                               {hasText: 'n’existe pas'}).waitFor();
        assert(await stranger.locator('[data-fiche-header]').isHidden(),
               'no header shown');
        await stranger.context().close();
    });

    await step('still no CSP violation, no script error', async () => {
        const problems = [
            ...await cspViolations(employee), ...await cspViolations(client),
            ...employee.problems, ...client.problems,
        ];

        assert(problems.length === 0, problems.join('\n'));
    });
}

const browser = await launch();

try {
    const root = await mainFlow(browser, 'root', ROOT);

    if (root.step.failed()) {
        ok(true, 'at /: further checks # SKIP the main scenario failed');
    } else {
        await moreChecks(browser, root);
    }
    await mainFlow(browser, 'prefix', PREFIX);
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
