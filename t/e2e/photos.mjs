/*
 * The photos of a post in a real browser (SPEC §3), at a desktop's width
 * and on a 360 px touch screen, each on its own fiche:
 *
 *   - an employee adds three photos (drawn by the test in the page: a
 *     3000 x 2000 JPEG, a portrait JPEG, a PNG with transparency), sees a
 *     progress bar per photo, describes one and publishes while they are
 *     still being sent ("Envoi des photos…"); the photos went out made
 *     smaller (long edge 2,048), as JPEG but the transparent PNG;
 *   - the client, already on the fiche, sees the grid appear without
 *     reloading (2 columns on the phone, 3 on the desktop, lazy
 *     thumbnails with their size reserved, the description under its
 *     photo), opens the lightbox (Enter, or a tap), goes to the next photo
 *     (arrow key, or a swipe), closes it with Escape and the focus is back
 *     on the thumbnail;
 *   - offline (context.setOffline), a post with a photo waits ("En attente
 *     de réseau") and is published once when the network is back; a POST
 *     whose answer is lost is not published twice; a post waiting when
 *     the page is reloaded is sent after the reload, once;
 *   - a reload keeps the draft (text, photo, description);
 *   - desktop: a photo with an EXIF orientation goes out upright and
 *     without its metadata; files the server refuses (not an image, a
 *     truncated JPEG) say why in French; a failed upload is sent again
 *     with "Réessayer"; a post the server refuses comes back into the
 *     editor; editing a post keeps its photos; no CSP violation, no
 *     script error.
 *
 * Run by t/e2e/photos.t (make test), which creates the users and fiches.
 * Screenshots go to $CHANTIER_VAR/screenshots/photos-*.png.
 */

import {readFileSync} from 'node:fs';

import {
    assert, cspViolations, done, launch, login, ok, scenario, screenshot,
    setup,
} from './lib.mjs';

const ROOT = `${setup.url}/`;
const LIVE_MS = 5000;
const RETRY_MS = 25000;          /* the periodic retry is every 15 s */
const PHOTO_POST = /\/api\/fiches\/\d+\/photos$/;
const POSTS = '**/api/fiches/*/posts';

const WIDTHS = {
    desktop: {viewport: {width: 1280, height: 900}},
    phone: {viewport: {width: 360, height: 740}, isMobile: true,
            hasTouch: true, deviceScaleFactor: 2},
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* lib.mjs's newPage, with the options of a phone */
async function newPage(browser, options) {
    const context = await browser.newContext({
        ...options,
        locale: 'fr-FR',
        timezoneId: 'Europe/Paris',
    });
    const page = await context.newPage();

    page.problems = [];
    page.setDefaultTimeout(10000);
    await context.addInitScript(() => {
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__cspViolations.push(
                `${e.violatedDirective} ${e.blockedURI} `
                + `${e.sourceFile}:${e.lineNumber}`);
        });
    });
    page.on('pageerror', (e) => page.problems.push(`page error: ${e}`));

    return page;
}

async function openFiche(page, user, fiche) {
    await login(page, ROOT, user);
    await page.goto(`${ROOT}fiche.html?id=${fiche.id}`);
    await page.locator('[data-code]', {hasText: fiche.code}).waitFor();
    await page.evaluate(() => {
        window.__sameDocument = true;
    });
}

/* the test's photos, drawn on canvases in the page: [{name, mimeType,
   buffer}] */
async function drawPhotos(page) {
    const drawn = await page.evaluate(async () => {
        function draw(width, height, label, hue, transparent) {
            const canvas = document.createElement('canvas');
            const g = canvas.getContext('2d');

            canvas.width = width;
            canvas.height = height;
            if (transparent) {
                g.clearRect(0, 0, width, height);
                g.fillStyle = `hsl(${hue} 70% 40%)`;
                g.beginPath();
                g.arc(width / 2, height / 2, height / 2.5, 0, 2 * Math.PI);
                g.fill();
            } else {
                const fill = g.createLinearGradient(0, 0, width, height);

                fill.addColorStop(0, `hsl(${hue} 60% 35%)`);
                fill.addColorStop(1, `hsl(${hue + 60} 60% 65%)`);
                g.fillStyle = fill;
                g.fillRect(0, 0, width, height);
            }
            g.fillStyle = '#ffffff';
            g.font = `bold ${Math.round(height / 6)}px sans-serif`;
            g.fillText(label, width * 0.1, height * 0.55);
            return canvas;
        }

        async function base64(canvas, type) {
            const blob = await new Promise(
                (resolve) => canvas.toBlob(resolve, type, 0.92));
            const bytes = new Uint8Array(await blob.arrayBuffer());
            let text = '';

            for (let i = 0; i < bytes.length; i += 0x8000) {
                text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            }
            return btoa(text);
        }

        return [
            {name: 'facade.jpg', mimeType: 'image/jpeg',
             data: await base64(draw(3000, 2000, 'Photo 1', 20),
                                'image/jpeg')},
            {name: 'carrelage.jpg', mimeType: 'image/jpeg',
             data: await base64(draw(1200, 1600, 'Photo 2', 200),
                                'image/jpeg')},
            {name: 'plan.png', mimeType: 'image/png',
             data: await base64(draw(800, 600, 'Plan', 120, true),
                                'image/png')},
        ];
    });

    return drawn.map((f) => ({name: f.name, mimeType: f.mimeType,
                              buffer: Buffer.from(f.data, 'base64')}));
}

/* files through a button of the tray and the file chooser it opens */
async function chooseFiles(page, button, files) {
    const [chooser] = await Promise.all([
        page.waitForEvent('filechooser'),
        page.locator('[data-photo-tray="new-post"]')
            .getByRole('button', {name: button, exact: true}).click(),
    ]);

    await chooser.setFiles(files);
    return chooser;
}

async function typeInEditor(page, text) {
    await page.locator('[data-new-post-editor] .ql-editor').click();
    await page.keyboard.type(text);
}

/* a request from inside the page, with its session and CSRF token */
async function apiGet(page, path) {
    return page.evaluate(async (p) => {
        const r = await fetch(`api/${p}`, {cache: 'no-store'});

        return {status: r.status, json: await r.json().catch(() => null)};
    }, path);
}

function textOf(body) {
    return (body.ops || []).map(
        (op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
}

/* the posts of the fiche whose text has words in it */
async function postsWith(page, fiche, words) {
    const r = await apiGet(page, `fiches/${fiche.id}`);

    assert(r.status === 200, `GET fiche: ${r.status}`);
    return r.json.posts.filter((p) => textOf(p.body).includes(words));
}

async function noSideScroll(page, what) {
    const size = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
    }));

    assert(size.scroll <= size.client,
           `${what}: scrollWidth ${size.scroll} > clientWidth ${size.client}`);
}

/* a horizontal swipe of one finger over an element (real touch events) */
async function swipe(page, locator, direction) {
    const box = await locator.boundingBox();
    const y = box.y + box.height / 2;
    const from = box.x + box.width * (direction === 'left' ? 0.8 : 0.2);
    const to = box.x + box.width * (direction === 'left' ? 0.2 : 0.8);
    const cdp = await page.context().newCDPSession(page);
    const point = (x) => [{x: Math.round(x), y: Math.round(y)}];

    await cdp.send('Input.dispatchTouchEvent',
                   {type: 'touchStart', touchPoints: point(from)});
    for (let i = 1; i <= 5; i++) {
        await cdp.send('Input.dispatchTouchEvent', {
            type: 'touchMove', touchPoints: point(from + (to - from) * i / 5),
        });
    }
    await cdp.send('Input.dispatchTouchEvent',
                   {type: 'touchEnd', touchPoints: []});
    await cdp.detach();
}

async function waitTitle(page, want) {
    await page.locator('dialog.lightbox[open] .lightbox__title',
                       {hasText: want}).waitFor();
}

async function problems(...pages) {
    const list = [];

    for (const page of pages) {
        list.push(...await cspViolations(page), ...page.problems);
    }
    return list;
}


async function flow(browser, width) {
    const fiche = setup.fiches[width];
    const phone = width === 'phone';
    const employee = await newPage(browser, WIDTHS[width]);
    const client = await newPage(browser, WIDTHS[width]);
    const step = scenario(`photos, ${width}`, {onFailure: async () => {
        await screenshot(employee, `photos-${width}-failed-employee`);
        await screenshot(client, `photos-${width}-failed-client`);
    }});
    const TEXT = `Pose du carrelage terminée (${width}).`;
    const ALT = 'Le carrelage de la douche, joints faits';
    const uploads = [];
    let photos;
    let postId;

    employee.on('request', (r) => {
        if (r.method() === 'POST' && PHOTO_POST.test(r.url())) {
            uploads.push({type: r.headers()['content-type'],
                          size: (r.postDataBuffer() || []).length});
        }
    });

    await step('the employee and the client open the fiche', async () => {
        await openFiche(employee, setup.employee, fiche);
        await openFiche(client, setup.client, fiche);
        if (phone) {
            /* on a phone the new post form waits behind its button */
            await employee.getByRole('button', {name: 'Nouvelle publication'})
                .click();
        }
        await employee.locator('[data-new-post-editor] .ql-editor')
            .waitFor();
        photos = await drawPhotos(employee);
    });

    await step('three photos added, a progress bar each', async () => {
        /* slowed down, so that the bars can be seen at work */
        await employee.route('**/api/fiches/*/photos', async (route) => {
            await sleep(1200);
            await route.continue();
        });

        if (phone) {
            const camera = employee.getByRole('button',
                                              {name: 'Prendre une photo'});

            assert(await camera.isVisible(),
                   '"Prendre une photo" on a touch screen');
            assert(await employee.locator('#new-post-photos-camera')
                   .getAttribute('capture') === 'environment',
                   'the camera input has capture="environment"');
            const shot = await chooseFiles(employee, 'Prendre une photo',
                                           [photos[0]]);

            assert(!shot.isMultiple(), 'the camera takes one photo');
            const chooser = await chooseFiles(employee, 'Ajouter des photos',
                                              photos.slice(1));

            assert(chooser.isMultiple(), 'the picker takes several');
        } else {
            assert(await employee.getByRole('button',
                                            {name: 'Prendre une photo'})
                   .isHidden(), 'no camera button with a mouse');
            const chooser = await chooseFiles(employee, 'Ajouter des photos',
                                              photos);

            assert(chooser.isMultiple(), 'the picker takes several');
        }
        assert(await employee.locator('#new-post-photos-pick')
               .getAttribute('accept') === 'image/jpeg,image/png', 'accept');

        const tray = employee.locator('[data-photo-tray="new-post"]');

        for (const n of [1, 2, 3]) {
            await tray.getByRole('progressbar', {name: new RegExp(
                `photo ${n}\\b`, 'i')}).waitFor();
        }
        assert(await tray.getByRole('progressbar').count() === 3,
               'one bar per photo');
        await tray.locator('.photo-item[data-state="uploading"]').first()
            .waitFor();
        const status = tray.locator('.photo-item').first()
            .locator('.photo-item__status');

        assert(await status.getAttribute('role') === 'status',
               'the state of a photo is a polite status');
        await screenshot(employee, `photos-${width}-uploading`);
    });

    await step('the employee describes one, writes, publishes at once: '
               + '"Envoi des photos…"', async () => {
        await employee.getByLabel('Description de la photo 2 (facultatif)')
            .fill(ALT);
        await typeInEditor(employee, TEXT);
        await employee.getByRole('button', {name: 'Publier'}).click();
        await employee.locator('.outbox-item',
                               {hasText: 'Envoi des photos…'}).waitFor();
        await employee.locator('.post', {hasText: TEXT})
            .locator('.photo-grid img').nth(2).waitFor({timeout: 20000});
        await employee.locator('.outbox-item').waitFor({state: 'detached'});
        assert((await employee.locator('[data-new-post-editor] .ql-editor')
                .innerText()).trim() === '', 'editor emptied');
        assert(await employee.locator('[data-photo-tray="new-post"] '
                                      + '.photo-item').count() === 0,
               'photo list emptied');
        await employee.unroute('**/api/fiches/*/photos');
    });

    await step('the photos went out smaller, as JPEG but the transparent '
               + 'PNG', async () => {
        const types = uploads.map((u) => u.type).sort();

        assert(JSON.stringify(types) === JSON.stringify(
            ['image/jpeg', 'image/jpeg', 'image/png']),
               `types sent: ${JSON.stringify(uploads)}`);
        const [post] = await postsWith(employee, fiche, TEXT);

        assert(post, 'the post is on the fiche');
        postId = post.id;
        const embeds = post.body.ops.filter(
            (op) => op.insert && typeof op.insert === 'object');

        assert(embeds.length === 3 && embeds.every(
            (op) => /^photo:\d+$/.test(op.insert.image)),
               `embeds: ${JSON.stringify(embeds)}`);
        assert(embeds[1].attributes && embeds[1].attributes.alt === ALT,
               `alt of photo 2: ${JSON.stringify(embeds[1])}`);
        assert(!embeds[0].attributes, 'no alt on photo 1');
        assert(Array.isArray(post.photos) && post.photos.length === 3,
               `post.photos: ${JSON.stringify(post.photos)}`);
        const [first] = post.photos;

        assert(Math.max(first.width, first.height) === 2048
               && Math.min(first.width, first.height) === 1365,
               `the 3000 x 2000 photo is ${first.width} x ${first.height}`);
    });

    await step('the client sees the grid appear, without reloading',
               async () => {
        const post = client.locator('.post', {hasText: TEXT});
        const imgs = post.locator('.photo-grid img');

        await imgs.nth(2).waitFor({timeout: LIVE_MS});
        assert(await client.evaluate(() => window.__sameDocument === true),
               'the client page was not reloaded');
        assert(await imgs.count() === 3, 'three thumbnails');
        for (let i = 0; i < 3; i++) {
            const img = imgs.nth(i);

            assert(await img.getAttribute('loading') === 'lazy', 'lazy');
            assert(/size=thumb/.test(await img.getAttribute('src')),
                   'a thumbnail');
            assert(Number(await img.getAttribute('width')) > 0
                   && Number(await img.getAttribute('height')) > 0,
                   'its size reserved');
        }
        assert((await post.locator('figcaption').allInnerTexts())
            .map((t) => t.trim()).join('|') === ALT,
               'the description under photo 2');
        const columns = await post.locator('.photo-grid').evaluate(
            (grid) => getComputedStyle(grid).gridTemplateColumns
                .split(' ').length);

        assert(columns === (phone ? 2 : 3), `${columns} columns`);
        await post.locator('.photo-grid').scrollIntoViewIfNeeded();
        await client.waitForFunction((id) => [...document.querySelectorAll(
            `#post-${id} .photo-grid img`)].every(
            (img) => img.complete && img.naturalWidth > 0), postId);
        await noSideScroll(client, 'the client page');
        await screenshot(client, `photos-${width}-client-grid`);
    });

    await step('the client opens the lightbox on photo 1', async () => {
        const opener = client.locator(`#post-${postId}-photo-1`);

        if (phone) {
            await opener.tap();
        } else {
            await opener.focus();
            await client.keyboard.press('Enter');
        }
        const dialog = client.getByRole('dialog', {name: /Photo 1 sur 3/});

        await dialog.waitFor();
        assert(await dialog.evaluate((d) => d.open && d.matches(':modal')),
               'a modal dialog');
        await client.waitForFunction(() => {
            const img = document.querySelector('dialog.lightbox img');

            return /size=display/.test(img.src) && img.complete
                && img.naturalWidth > 0;
        });
        const natural = await client.locator('dialog.lightbox img')
            .evaluate((img) => img.naturalWidth);

        assert(natural === 2048, `display version ${natural} px wide`);
        await noSideScroll(client, 'the lightbox');
        await screenshot(client, `photos-${width}-lightbox`);
    });

    await step(phone ? 'a swipe goes to the next photo and back'
        : 'the arrow keys go to the next photo and back', async () => {
        const frame = client.locator('dialog.lightbox .lightbox__frame');

        if (phone) {
            await swipe(client, frame, 'left');
        } else {
            await client.keyboard.press('ArrowRight');
        }
        await waitTitle(client, 'Photo 2 sur 3');
        assert((await client.locator('dialog.lightbox figcaption')
                .innerText()).trim() === ALT, 'its description');
        assert(await client.locator('dialog.lightbox img')
               .getAttribute('alt') === ALT, 'as its alt');

        if (phone) {
            await swipe(client, frame, 'left');
            await waitTitle(client, 'Photo 3 sur 3');
            await swipe(client, frame, 'right');
        } else {
            await client.keyboard.press('ArrowRight');
            await waitTitle(client, 'Photo 3 sur 3');
            await client.keyboard.press('ArrowLeft');
        }
        await waitTitle(client, 'Photo 2 sur 3');
        await client.getByRole('button', {name: 'Photo précédente'})
            .click();
        await waitTitle(client, 'Photo 1 sur 3');
        await client.getByRole('button', {name: 'Photo précédente'})
            .click();
        await waitTitle(client, 'Photo 3 sur 3');
    });

    await step('the focus stays in the lightbox', async () => {
        for (let i = 0; i < 6; i++) {
            await client.keyboard.press('Tab');
            assert(await client.evaluate(() => !!document.activeElement
                .closest('dialog.lightbox')), `Tab ${i + 1} left the dialog`);
        }
    });

    await step('Escape closes it, the focus is back on the thumbnail',
               async () => {
        await client.keyboard.press('Escape');
        await client.locator('dialog.lightbox[open]')
            .waitFor({state: 'detached'});
        const focused = await client.evaluate(
            () => document.activeElement.id);

        assert(focused === `post-${postId}-photo-1`, `focus on ${focused}`);
    });

    const OFFLINE = `Travail sans réseau, au sous-sol (${width}).`;

    await step('offline, the post with its photo waits: '
               + '"En attente de réseau"', async () => {
        await employee.context().setOffline(true);
        await typeInEditor(employee, OFFLINE);
        await chooseFiles(employee, 'Ajouter des photos', [photos[2]]);
        await employee.getByRole('button', {name: 'Publier'}).click();
        const card = employee.locator('.outbox-item', {hasText: OFFLINE});

        await card.locator('.outbox-item__state',
                           {hasText: 'En attente de réseau'}).waitFor();
        await sleep(2500);
        assert(await card.isVisible(), 'still waiting');
        assert((await postsWith(client, fiche, OFFLINE)).length === 0,
               'not published');
        await noSideScroll(employee, 'the employee page, a post waiting');
        await screenshot(employee, `photos-${width}-offline`);
    });

    await step('the network back, it is published once', async () => {
        await employee.context().setOffline(false);
        await employee.locator('.post', {hasText: OFFLINE})
            .locator('.photo-grid img').waitFor({timeout: RETRY_MS});
        await employee.locator('.outbox-item').waitFor({state: 'detached'});
        await client.locator('.post', {hasText: OFFLINE})
            .locator('.photo-grid img').waitFor({timeout: LIVE_MS * 2});
        await sleep(3000);
        const found = await postsWith(client, fiche, OFFLINE);

        assert(found.length === 1, `${found.length} such posts`);
    });

    const LOST = `Réponse perdue en route (${width}).`;

    await step('a POST whose answer is lost is not published twice',
               async () => {
        let sent = 0;

        await employee.route(POSTS, async (route) => {
            if (route.request().method() !== 'POST') {
                await route.continue();
                return;
            }
            sent++;
            await route.fetch();                 /* the server publishes */
            await route.abort('connectionreset');  /* the answer is lost */
        }, {times: 1});
        await typeInEditor(employee, LOST);
        await employee.getByRole('button', {name: 'Publier'}).click();
        await employee.locator('.post', {hasText: LOST})
            .waitFor({timeout: RETRY_MS});
        await employee.locator('.outbox-item')
            .waitFor({state: 'detached', timeout: RETRY_MS});
        await sleep(3000);
        const found = await postsWith(client, fiche, LOST);

        assert(sent === 1, `${sent} POST intercepted`);
        assert(found.length === 1, `${found.length} such posts`);
    });

    const RELOADED = `Envoyée après un rechargement (${width}).`;

    await step('a post waiting when the page is reloaded is sent after it, '
               + 'once', async () => {
        const abort = async (route) => {
            if (route.request().method() === 'POST') {
                await route.abort('internetdisconnected');
            } else {
                await route.continue();
            }
        };

        await employee.context().setOffline(true);
        await typeInEditor(employee, RELOADED);
        await employee.getByRole('button', {name: 'Publier'}).click();
        await employee.locator('.outbox-item', {hasText: 'En attente de '
                                                + 'réseau'}).waitFor();
        await employee.route(POSTS, abort);
        await employee.context().setOffline(false);
        await employee.reload();
        await employee.locator('.outbox-item', {hasText: RELOADED})
            .locator('.outbox-item__state', {hasText: 'En attente de réseau'})
            .waitFor();
        await employee.unroute(POSTS, abort);
        await employee.locator('.post', {hasText: RELOADED})
            .waitFor({timeout: RETRY_MS});
        await employee.locator('.outbox-item').waitFor({state: 'detached'});
        await sleep(3000);
        const found = await postsWith(client, fiche, RELOADED);

        assert(found.length === 1, `${found.length} such posts`);
    });

    const DRAFT = `Brouillon à garder (${width}).`;
    const DRAFT_ALT = 'Plan du rez-de-chaussée';

    await step('a reload keeps the draft: text, photo, description',
               async () => {
        if (phone) {
            /* reloaded without a draft: the form behind its button */
            await employee.getByRole('button', {name: 'Nouvelle publication'})
                .click();
        }
        await typeInEditor(employee, DRAFT);
        await chooseFiles(employee, 'Ajouter des photos', [photos[2]]);
        await employee.locator('[data-photo-tray="new-post"] '
                               + '.photo-item[data-state="done"]').waitFor();
        await employee.getByLabel('Description de la photo 1 (facultatif)')
            .fill(DRAFT_ALT);
        await sleep(1000);
        await employee.reload();
        await employee.locator('[data-new-post-editor] .ql-editor',
                               {hasText: DRAFT}).waitFor();
        await employee.locator('[data-draft-note]',
                               {hasText: 'brouillon'}).waitFor();
        const item = employee.locator('[data-photo-tray="new-post"] '
                                      + '.photo-item');

        assert(await item.count() === 1, 'the photo is back');
        assert(await item.getAttribute('data-state') === 'done',
               'as sent');
        assert(await employee.getByLabel(
            'Description de la photo 1 (facultatif)').inputValue()
               === DRAFT_ALT, 'with its description');
        await noSideScroll(employee, 'the employee page, a draft');
        await screenshot(employee, `photos-${width}-draft`);

        /* emptied again for what follows */
        await item.getByRole('button', {name: /^Retirer la photo/}).click();
        await employee.locator('[data-new-post-editor] .ql-editor').click();
        await employee.keyboard.press('Control+a');
        await employee.keyboard.press('Delete');
        assert(await employee.evaluate(() => document.activeElement
            .closest('.ql-editor') !== null), 'focus in the editor');
    });

    return {employee, client, step, fiche, postId, photos, ALT};
}

/* desktop only: orientation, refusals, editing, nothing went wrong */
async function more({employee, client, step, fiche, postId, photos, ALT}) {
    if (setup.images && setup.images.rotated) {
        await step('a photo with an EXIF orientation goes out upright, '
                   + 'without its metadata', async () => {
            const file = readFileSync(setup.images.rotated);

            /* what the page hands to XMLHttpRequest, kept to be read */
            await employee.evaluate(() => {
                const send = XMLHttpRequest.prototype.send;

                window.__sent = [];
                XMLHttpRequest.prototype.send = function keep(body) {
                    window.__sent.push(body);
                    return send.call(this, body);
                };
            });
            const [request] = await Promise.all([
                employee.waitForRequest((r) => r.method() === 'POST'
                                        && PHOTO_POST.test(r.url())),
                chooseFiles(employee, 'Ajouter des photos', [
                    {name: 'tournee.jpg', mimeType: 'image/jpeg',
                     buffer: file}]),
            ]);
            const response = await request.response();
            const answer = await response.json();
            const sent = await employee.evaluate(async () => {
                const bytes = new Uint8Array(
                    await window.__sent[0].arrayBuffer());

                return {exif: new TextDecoder('latin1').decode(bytes)
                    .includes('Exif'), jpeg: bytes[0] === 0xff
                    && bytes[1] === 0xd8};
            });

            assert(file.includes('Exif'), 'the file has EXIF');
            assert(sent.jpeg && !sent.exif, 'no EXIF left in what was sent');
            assert(answer.width === 400 && answer.height === 600,
                   `stored ${answer.width} x ${answer.height}, `
                   + 'not 400 x 600 upright');
            const item = employee.locator('[data-photo-tray="new-post"] '
                                          + '.photo-item');

            await item.locator('.photo-item__status',
                               {hasText: 'Photo envoyée'}).waitFor();
            await item.getByRole('button', {name: /^Retirer la photo/})
                .click();
        });
    } else {
        ok(true, 'photos, desktop: EXIF orientation # SKIP no '
           + 'build/chantier-test-image');
    }

    await step('files the server refuses say why, in French', async () => {
        /* a JPEG cut in the middle (an <img> would show half of it) */
        const broken = setup.images && setup.images.truncated
            ? readFileSync(setup.images.truncated)
            : Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
                             Buffer.alloc(600, 0x41)]);

        await chooseFiles(employee, 'Ajouter des photos', [
            {name: 'notes.png', mimeType: 'image/png',
             buffer: Buffer.from('Ceci n’est pas une photo.\n')},
            {name: 'coupee.jpg', mimeType: 'image/jpeg', buffer: broken},
        ]);
        const tray = employee.locator('[data-photo-tray="new-post"]');

        await tray.locator('.photo-item', {hasText: 'n’est pas une photo '
                                           + 'JPEG ou PNG'}).waitFor();
        await tray.locator('.photo-item', {hasText: 'abîmé ou incomplet'})
            .waitFor();
        assert(await tray.getByRole('button', {name: /^Réessayer/})
               .count() === 0, 'no "Réessayer" for a refusal');
        await screenshot(employee, 'photos-desktop-refused');

        await typeInEditor(employee, 'Avec des fichiers refusés.');
        await employee.getByRole('button', {name: 'Publier'}).click();
        await tray.locator('.field-error', {hasText: 'retirez-la avant de '
                                            + 'publier'}).waitFor();
        const focused = await employee.evaluate(
            () => document.activeElement.getAttribute('aria-label'));

        assert(focused === 'Retirer la photo 1', `focus on "${focused}"`);
        await employee.keyboard.press('Enter');
        await employee.keyboard.press('Enter');
        assert(await tray.locator('.photo-item').count() === 0,
               'both removed');
        assert(await employee.evaluate(() => document.activeElement.id)
               === 'new-post-photos-add', 'focus on "Ajouter des photos"');
        await employee.locator('[data-new-post-editor] .ql-editor').click();
        await employee.keyboard.press('Control+a');
        await employee.keyboard.press('Delete');
    });

    await step('a photo whose upload failed says so, and "Réessayer" sends '
               + 'it', async () => {
        const tray = employee.locator('[data-photo-tray="new-post"]');

        await employee.route('**/api/fiches/*/photos',
                             (route) => route.abort('connectionreset'),
                             {times: 1});
        await chooseFiles(employee, 'Ajouter des photos', [photos[1]]);
        const item = tray.locator('.photo-item');

        await item.locator('.photo-item__status',
                           {hasText: 'Connexion perdue'}).waitFor();
        const retry = item.getByRole('button',
                                     {name: /^Réessayer/});

        await retry.click();
        await item.locator('.photo-item__status',
                           {hasText: 'Photo envoyée'}).waitFor();
        assert(await retry.isHidden(), '"Réessayer" gone once sent');
    });

    await step('a post the server refuses comes back into the editor',
               async () => {
        const REFUSED = 'Une publication refusée.';

        await employee.route(POSTS, (route) => route.fulfill({
            status: 400,
            contentType: 'application/json; charset=utf-8',
            body: JSON.stringify({error: {
                code: 'invalid_delta',
                message: 'Opération 1 : attribut non autorisé.',
            }}),
        }), {times: 1});
        await typeInEditor(employee, REFUSED);
        await employee.getByRole('button', {name: 'Publier'}).click();
        const card = employee.locator('.outbox-item', {hasText: REFUSED});

        await card.locator('.outbox-item__error',
                           {hasText: 'attribut non autorisé'}).waitFor();
        assert((await card.locator('.outbox-item__state').innerText())
            .trim() === 'Publication refusée', 'the card says refused');
        await card.getByRole('button', {name: 'Remettre dans l’éditeur'})
            .click();
        await card.waitFor({state: 'detached'});
        await employee.locator('[data-new-post-editor] .ql-editor',
                               {hasText: REFUSED}).waitFor();
        assert(await employee.locator('[data-photo-tray="new-post"] '
                                      + '.photo-item[data-state="done"]')
            .count() === 1, 'its photo back in the list');
        assert(await employee.evaluate(() => !!document.activeElement
            .closest('.ql-editor')), 'the focus in the editor');

        /* published after all, once */
        await employee.getByRole('button', {name: 'Publier'}).click();
        await employee.locator('.post', {hasText: REFUSED})
            .locator('.photo-grid img').waitFor({timeout: RETRY_MS});
        assert((await postsWith(client, fiche, REFUSED)).length === 1,
               'one such post');
    });

    await step('editing the post keeps its photos and their descriptions',
               async () => {
        const post = employee.locator(`#post-${postId}`);

        await post.getByRole('button', {name: 'Modifier'}).click();
        const items = post.locator('.post-edit .photo-item');

        await post.locator('.post-edit .ql-editor').waitFor();
        assert(await items.count() === 3, 'three photos in the edit form');
        assert(await post.getByLabel('Description de la photo 2 '
                                     + '(facultatif)').inputValue() === ALT,
               'the description of photo 2');
        await post.locator('.post-edit .ql-editor').click();
        await employee.keyboard.press('Control+End');
        await employee.keyboard.type(' Joints faits.');
        await post.getByRole('button', {name: 'Enregistrer'}).click();
        await post.locator('.post__body', {hasText: 'Joints faits.'})
            .waitFor();
        assert(await post.locator('.photo-grid img').count() === 3,
               'still three photos');
        const [current] = await postsWith(client, fiche, 'Joints faits.');

        assert(current && current.body.ops.filter(
            (op) => op.insert && op.insert.image).length === 3,
               'three photos in the body');
    });

    await step('no CSP violation, no script error', async () => {
        const list = await problems(employee, client);

        assert(list.length === 0, list.join('\n'));
    });
}

const browser = await launch();

try {
    const desktop = await flow(browser, 'desktop');

    if (desktop.step.failed()) {
        ok(true, 'photos, desktop: more checks # SKIP an earlier step '
           + 'failed');
    } else {
        await more(desktop);
    }

    const phone = await flow(browser, 'phone');

    await phone.step('no CSP violation, no script error', async () => {
        const list = await problems(phone.employee, phone.client);

        assert(list.length === 0, list.join('\n'));
    });
} catch (e) {
    ok(false, 'the browser test ran to its end', e.stack);
} finally {
    await browser.close();
}

process.exitCode = done() ? 0 : 1;
