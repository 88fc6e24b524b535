/*
 * Posts waiting to be published (employees), for weak networks.
 *
 * "Publier" hands the post over to this outbox: its text, its check boxes
 * and its photos (those sent by their id, the others with the bytes of
 * their small version) become a record in IndexedDB, and the editor is
 * free again.  The outbox then sends what is missing of the photos, and
 * the post, and removes the record once the server has answered 201.
 * Meanwhile a card above the form says where it is: "Envoi des
 * photos…", "Publication…", or "En attente de réseau" when the network
 * fails (or the browser knows itself offline); it is tried again by
 * itself (backoff, then every 15 s, and at once when the "online" event
 * comes), and after a reload: the records of this fiche are resumed when
 * the page opens.
 *
 * Sent once.  A record is sent by one tab at a time (a Web Lock per user
 * and fiche; the other tabs wait for it, and find the record gone).
 * A POST whose answer never came (the network dropped, the page was
 * closed) may have been published: every attempt carries the record's key
 * as its Idempotency-Key, and the server answers an attempt again with the
 * post the first one published (201), never a second post.  The record
 * goes only after that 201, or when the server has said no.
 */

import {ApiError, request} from '../api.js';
import {sessionEnded} from './session.js';
import {deltaText, renderDelta, withPhotos} from '../delta.js';
import {announce, confirmDialog, el, errorMessage, plural} from '../ui.js';
import {PhotoJob} from './photo-jobs.js';
import {jobView} from './photo-tray.js';
import {focusAfterDraw} from './reading.js';
import {backoff, isTransient, offline, wait} from './retry.js';
import {refreshQuietly, state} from './state.js';


/* ---- the records: IndexedDB, or the page's memory without it ---- */

const DB_NAME = 'clo-espace-client';
const STORE = 'outbox';
const memory = new Map();
let dbPromise = null;

function openDb() {
    if (!dbPromise) {
        dbPromise = new Promise((resolve) => {
            let open;

            try {
                open = window.indexedDB.open(DB_NAME, 1);
            } catch {
                resolve(null);
                return;
            }

            open.addEventListener('upgradeneeded', () => {
                open.result.createObjectStore(STORE, {keyPath: 'key'});
            });
            open.addEventListener('success', () => resolve(open.result));
            open.addEventListener('error', () => resolve(null));
            open.addEventListener('blocked', () => resolve(null));
        });
    }

    return dbPromise;
}

/* fn(store) -> an IDBRequest; its result, or the memory's answer */
async function withStore(mode, fn, fallback) {
    const db = await openDb();

    if (!db) {
        return fallback();
    }

    return new Promise((resolve, reject) => {
        let tx;

        try {
            tx = db.transaction(STORE, mode);
        } catch (e) {
            reject(e);
            return;
        }

        const req = fn(tx.objectStore(STORE));

        tx.addEventListener('complete', () => resolve(req.result));
        tx.addEventListener('error', () => reject(tx.error));
        tx.addEventListener('abort', () => reject(tx.error));
    });
}

const store = {
    async put(record) {
        try {
            await withStore('readwrite', (s) => s.put(record),
                            () => memory.set(record.key, record));
            return true;
        } catch {
            /* quota, private mode: kept while the page is open */
            memory.set(record.key, record);
            return false;
        }
    },

    async remove(key) {
        memory.delete(key);
        try {
            await withStore('readwrite', (s) => s.delete(key), () => null);
        } catch {
            /* gone with the page, at worst */
        }
    },

    /* the records of a user on a fiche, oldest first */
    async list(userId, ficheId) {
        let all = [...memory.values()];

        try {
            const stored = await withStore('readonly', (s) => s.getAll(),
                                           () => []);

            all = [...stored, ...all.filter((r) => !stored.some(
                (s) => s.key === r.key))];
        } catch {
            /* the memory's */
        }

        return all.filter((r) => r.userId === userId
                          && r.ficheId === ficheId)
            .sort((a, b) => (a.createdAt < b.createdAt ? -1
                             : a.createdAt > b.createdAt ? 1 : 0));
    },
};


/* ---- the cards ---- */

const entries = new Map();   /* record key -> entry (see newEntry) */
let section = null;
let list = null;
let takeBack = null;         /* (record, jobs) -> whether it was taken */

const WAITING_HINT = 'Elle partira d’elle-même dès que la connexion '
    + 'reviendra. Vous pouvez garder cette page ouverte ou y revenir plus '
    + 'tard : rien n’est perdu.';

function newEntry(record) {
    const key = `outbox-${record.key}`;
    const stateLine = el('p', {className: 'outbox-item__state',
                               role: 'status', id: `${key}-state`});
    const hint = el('p', {className: 'hint outbox-item__hint', hidden: true});
    const error = el('p', {className: 'field-error outbox-item__error',
                           role: 'alert', hidden: true});
    const text = el('div', {className: 'outbox-item__text delta'});
    const photos = el('ul', {className: 'photo-tray__list '
                                 + 'outbox-item__photos'});
    const retry = el('button', {type: 'button',
                                className: 'button button--secondary '
                                    + 'button--small'},
                     'Réessayer maintenant');
    const back = el('button', {type: 'button',
                               className: 'button button--secondary '
                                   + 'button--small'},
                    'Remettre dans l’éditeur');
    const drop = el('button', {type: 'button',
                               className: 'button button--warning '
                                   + 'button--small'},
                    'Abandonner');
    const node = el('li', {className: 'outbox-item',
                           'data-outbox-key': record.key},
        stateLine, hint, error, text, photos,
        el('div', {className: 'outbox-item__buttons'}, retry, back, drop));
    const entry = {
        record, node, stateLine, hint, error, photos, retry, back, drop,
        phase: record.error ? 'failed' : 'queued',
        jobs: new Map(),         /* localId -> PhotoJob */
        views: new Map(),        /* localId -> jobView */
        waiting: null,
        removed: false,
        userAction: null,        /* a refused photo: resolved by the user */
    };

    text.append(renderDelta(record.text));
    text.hidden = deltaText(record.text).trim() === '';

    retry.addEventListener('click', () => {
        if (entry.waiting) {
            entry.waiting.wake();
        }
        for (const job of entry.jobs.values()) {
            job.retryNow();
        }
        kick();
    });
    back.addEventListener('click', () => giveBack(entry));
    drop.addEventListener('click', () => abandon(entry));

    return entry;
}

/* the words of a card, from its phase and its photos */
function render(entry) {
    const {record} = entry;
    const total = record.photos.length;
    const sent = record.photos.filter((p) => p.id).length;
    const jobs = [...entry.jobs.values()];
    const photoWaits = jobs.some((job) => job.state === 'waiting');
    let words;
    let waiting = false;

    switch (entry.phase) {
    case 'queued':
    case 'photos':
        waiting = photoWaits || offline();
        words = waiting ? 'En attente de réseau'
            : sent < total ? `Envoi des photos… (${sent} sur ${total})`
                : entry.phase === 'queued'
                    ? 'En attente de la publication précédente…'
                    : 'Publication…';
        break;
    case 'refused':
        words = 'Une photo a été refusée : retirez-la pour publier le '
            + 'reste, ou abandonnez la publication.';
        break;
    case 'sending':
        words = 'Publication…';
        break;
    case 'waiting':
        waiting = true;
        words = 'En attente de réseau';
        break;
    case 'elsewhere':
        words = 'Envoi en cours depuis un autre onglet de ce navigateur…';
        break;
    case 'failed':
        words = 'Publication refusée';
        break;
    default:
        words = '';
    }

    if (entry.stateLine.textContent !== words) {
        entry.stateLine.textContent = words;
    }
    entry.node.dataset.phase = waiting ? 'waiting' : entry.phase;
    entry.node.classList.toggle('outbox-item--waiting', waiting);
    entry.node.classList.toggle('outbox-item--failed',
                                entry.phase === 'failed');
    entry.hint.textContent = WAITING_HINT;
    entry.hint.hidden = !waiting;

    if (record.error && entry.phase === 'failed') {
        entry.error.replaceChildren(
            el('span', {className: 'visually-hidden'}, 'Erreur : '),
            record.error);
        entry.error.hidden = false;
    } else {
        entry.error.hidden = true;
    }

    entry.retry.hidden = !waiting;
    entry.back.hidden = entry.phase !== 'failed';
    entry.drop.hidden = entry.phase === 'sending'
        || entry.phase === 'elsewhere';
}

function showSection() {
    section.hidden = entries.size === 0;
    section.querySelector('[data-outbox-title]').textContent =
        entries.size === 1 ? 'Publication en attente d’envoi'
            : `Publications en attente d’envoi (${entries.size})`;
}

function addCard(record, liveJobs = []) {
    const entry = newEntry(record);

    entries.set(record.key, entry);
    for (const job of liveJobs) {
        attachJob(entry, job);
    }
    /* after a reload: the photos to send again from their bytes (a
       record kept in memory only has none: those are lost) */
    for (const photo of record.photos) {
        if (!photo.id && !entry.jobs.has(photo.localId)) {
            attachJob(entry, new PhotoJob(record.ficheId, {
                blob: photo.blob, type: photo.type, width: photo.width,
                height: photo.height,
            }, {localId: photo.localId, alt: photo.alt, name: photo.name}));
        }
    }
    list.append(entry.node);
    render(entry);
    showSection();
    return entry;
}

/* a photo still to send, shown in the card; its id kept once sent */
function attachJob(entry, job) {
    const {record} = entry;
    const view = jobView(job, {
        key: `outbox-${record.key}`,
        editable: false,
        removeIfFailed: true,
        onRemove: () => removePhoto(entry, job),
    });
    const photo = record.photos.find((p) => p.localId === job.localId);

    entry.jobs.set(job.localId, job);
    entry.views.set(job.localId, view);
    entry.photos.append(view.node);
    renumber(entry);

    job.onChange(() => render(entry));
    job.done().then(async (answer) => {
        if (photo && !photo.id && !entry.removed) {
            photo.id = answer.id;
            photo.width = answer.width;
            photo.height = answer.height;
            photo.blob = null;
            await store.put(record);
            render(entry);
        }
    }, () => {});
}

function renumber(entry) {
    const total = entry.record.photos.length;

    entry.record.photos.forEach((photo, i) => {
        const view = entry.views.get(photo.localId);

        if (view) {
            view.update(i + 1, total);
        }
    });
}

function removeCard(entry) {
    const hadFocus = entry.node.contains(document.activeElement);

    entry.removed = true;
    if (entry.waiting) {
        entry.waiting.wake();
    }
    for (const view of entry.views.values()) {
        view.destroy();
    }
    entries.delete(entry.record.key);
    entry.node.remove();
    showSection();

    if (hadFocus) {
        document.querySelector('[data-new-post]').focus();
    }
}

async function removePhoto(entry, job) {
    const {record} = entry;

    record.photos = record.photos.filter((p) => p.localId !== job.localId);
    job.remove();
    entry.views.get(job.localId).destroy();
    entry.views.delete(job.localId);
    entry.jobs.delete(job.localId);
    renumber(entry);
    await store.put(record);
    announce('Photo retirée de la publication.');

    if (record.photos.length === 0
        && deltaText(record.text).trim() === '')
    {
        await store.remove(record.key);
        removeCard(entry);
        announce('La publication, vide, a été abandonnée.');
    } else {
        entry.retry.focus();
    }

    if (entry.userAction) {
        entry.userAction();
    }
}

async function abandon(entry) {
    const photos = entry.record.photos.length;

    if (!await confirmDialog({
        title: 'Abandonner cette publication ?',
        text: 'Elle ne sera pas publiée'
            + (photos ? `, ni ses ${plural(photos, 'photo', 'photos')}.`
                : '.'),
        confirm: 'Abandonner la publication',
    })) {
        return;
    }

    if (entry.phase === 'sending') {
        return;
    }

    await store.remove(entry.record.key);
    for (const job of entry.jobs.values()) {
        job.remove();
    }
    removeCard(entry);
    if (entry.userAction) {
        entry.userAction();
    }
    announce('Publication abandonnée.');
}

/* a refused post back into the editor, to be corrected */
async function giveBack(entry) {
    const jobs = entry.record.photos.map((photo) => {
        const job = entry.jobs.get(photo.localId);

        if (job) {
            return job;
        }

        return new PhotoJob(entry.record.ficheId, {
            id: photo.id, width: photo.width, height: photo.height,
        }, {localId: photo.localId, alt: photo.alt});
    });

    for (const view of entry.views.values()) {
        view.destroy();
    }
    entry.views.clear();

    if (!takeBack(entry.record, jobs)) {
        entry.error.textContent = 'L’éditeur contient déjà un texte : '
            + 'publiez-le ou videz-le, puis recommencez.';
        entry.error.hidden = false;
        for (const job of jobs) {
            attachJob(entry, job);
        }
        return;
    }

    await store.remove(entry.record.key);
    entry.jobs.clear();
    removeCard(entry);
}


/* ---- sending ---- */

let running = false;
let again = false;

function bodyOf(record) {
    return withPhotos(record.text, record.photos.map(
        (photo) => ({id: photo.id, alt: photo.alt})));
}

function postError(e) {
    if (e instanceof ApiError && e.status === 404) {
        return 'Cette fiche n’existe plus, ou vous n’y avez plus accès.';
    }
    if (e instanceof ApiError && e.status === 403) {
        return 'Vous n’avez pas le droit de publier sur cette fiche. '
            + 'Rechargez la page ; si le problème persiste, contactez CLO.';
    }
    return `La publication n’a pas été publiée. ${errorMessage(e)}`;
}

function setPhase(entry, phase) {
    entry.phase = phase;
    render(entry);
}

async function pause(entry, failures, retryAfter) {
    entry.waiting = wait(backoff(failures, retryAfter));
    await entry.waiting.promise;
    entry.waiting = null;
}

async function published(entry, post) {
    const active = document.activeElement;
    /* the focus was on nothing, or on "Publier", or on this card */
    const idle = !active || active === document.body
        || active.closest('#post-form button[type="submit"]')
        || entry.node && entry.node.contains(active);

    await store.remove(entry.record.key);
    announce('Publication publiée.');
    if (post && post.id && idle) {
        focusAfterDraw(post.id);
    }
    await refreshQuietly();
    for (const job of entry.jobs.values()) {
        job.remove();
    }
    removeCard(entry);
}

/*
 * Sends one record: its photos, then the post.  Returns 'next' (sent,
 * refused or abandoned: on to the next record) or 'stop' (the session
 * has ended: the page is leaving).
 */
async function sendOne(entry) {
    const {record} = entry;
    let failures = 0;

    for (;;) {
        if (entry.removed) {
            return 'next';
        }

        /* 1. the photos */
        const missing = record.photos.filter((p) => !p.id);

        if (missing.length) {
            setPhase(entry, 'photos');
            try {
                await Promise.all(missing.map(
                    (photo) => entry.jobs.get(photo.localId).done()));
            } catch {
                if (entry.removed) {
                    return 'next';
                }
                if ([...entry.jobs.values()].some(
                    (job) => job.state === 'failed'))
                {
                    setPhase(entry, 'refused');
                    await new Promise((resolve) => {
                        entry.userAction = resolve;
                    });
                    entry.userAction = null;
                } else {
                    /* not expected; never a busy loop */
                    await pause(entry, ++failures);
                }
            }
            continue;
        }

        if (offline()) {
            setPhase(entry, 'waiting');
            await pause(entry, Math.max(failures, 1));
            continue;
        }

        /* 2. the post, under the record's key: sent again, published once */
        record.attemptedAt = new Date().toISOString();
        record.firstAttemptAt = record.firstAttemptAt || record.attemptedAt;
        await store.put(record);
        setPhase(entry, 'sending');

        let post;

        try {
            post = await request('POST', `fiches/${record.ficheId}/posts`, {
                headers: {'Idempotency-Key': record.key},
                body: {
                    body: bodyOf(record),
                    finishing: record.finishing,
                    notify_client: record.notify,
                },
            });
        } catch (e) {
            if (sessionEnded(e)) {
                return 'stop';
            }

            if (e instanceof ApiError && isTransient(e)) {
                /* the server answered "later": certainly not published */
                if (e.status !== 0) {
                    record.attemptedAt = null;
                    await store.put(record);
                }
                failures++;
                setPhase(entry, 'waiting');
                await pause(entry, failures, e.retryAfter);
                continue;
            }

            record.attemptedAt = null;
            record.error = postError(e);
            await store.put(record);
            setPhase(entry, 'failed');
            announce(`La publication a été refusée. ${record.error}`);
            return 'next';
        }

        await published(entry, post);
        return 'next';
    }
}

/* fn while holding this user's lock on this fiche's outbox */
async function withLock(fn) {
    if (!navigator.locks) {
        return fn();
    }

    const name = `clo-outbox-${state.user.id}-${state.id}`;
    let held = false;

    await navigator.locks.request(name, {ifAvailable: true}, async (lock) => {
        if (lock) {
            held = true;
            await fn();
        }
    });

    if (!held) {
        for (const entry of entries.values()) {
            if (entry.phase !== 'failed') {
                setPhase(entry, 'elsewhere');
            }
        }
        await navigator.locks.request(name, fn);
    }

    return undefined;
}

/* the cards as the records are (another tab may have sent some) */
async function syncCards() {
    const records = await store.list(state.user.id, state.id);
    const keys = new Set(records.map((r) => r.key));

    for (const entry of [...entries.values()]) {
        if (!keys.has(entry.record.key) && !entry.removed) {
            removeCard(entry);
        }
    }

    for (const record of records) {
        if (!entries.has(record.key)) {
            addCard(record);
        }
    }

    return records;
}

async function drain() {
    const records = await syncCards();

    for (const record of records) {
        const entry = entries.get(record.key);

        if (!entry || entry.removed || entry.phase === 'failed') {
            continue;
        }

        if (await sendOne(entry) === 'stop') {
            return;
        }
    }
}

/* sends whatever waits; calls meanwhile make it look again after */
export async function kick() {
    if (running) {
        again = true;
        return;
    }

    running = true;
    try {
        /* the cards at once, even while another tab holds the lock */
        await syncCards();
        do {
            again = false;
            await withLock(drain);
        } while (again);
    } catch (e) {
        console.error('outbox:', e);
    } finally {
        running = false;
    }
}

/*
 * Publishes a post through the outbox: {text (the Delta of the editor),
 * finishing, notify, jobs (the photos of the editor, photo-jobs.js)}.
 * Resolves once it is recorded (not published).
 */
export async function enqueue({text, finishing, notify, jobs}) {
    const now = new Date().toISOString();
    const record = {
        key: `${Date.now().toString(36)}-${Math.random().toString(36)
            .slice(2, 10)}`,
        ficheId: state.id,
        userId: state.user.id,
        createdAt: now,
        text,
        finishing: !!finishing,
        notify: !!notify,
        photos: jobs.map((job) => ({
            localId: job.localId,
            id: job.id,
            width: job.width,
            height: job.height,
            alt: job.alt,
            name: job.name,
            type: job.type,
            blob: job.id ? null : job.blob,
        })),
        attemptedAt: null,
        firstAttemptAt: null,
        error: null,
    };

    const kept = await store.put(record);

    addCard(record, jobs.filter((job) => !job.id));
    if (!kept) {
        console.warn('outbox: IndexedDB unavailable, kept in memory');
    }
    kick();
}

/*
 * The outbox of this fiche, once the user is known: the section of the
 * page (with its [data-outbox-title] and [data-outbox-list]), and
 * giveBack(record, jobs) -> whether the editor took the post back.
 */
export function setUpOutbox(node, giveBackToEditor) {
    section = node;
    list = node.querySelector('[data-outbox-list]');
    takeBack = giveBackToEditor;

    window.addEventListener('online', () => kick());
    document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') {
            for (const entry of entries.values()) {
                if (entry.waiting) {
                    entry.waiting.wake();
                }
            }
        }
    });

    return kick();
}
