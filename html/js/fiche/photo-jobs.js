/*
 * One photo on its way to the server: made smaller (images.js), then sent
 * on its own (POST api/fiches/{id}/photos), a few at a time, and sent
 * again by itself after a network failure.  A job is a small model that
 * views (the editor's photo list, a post waiting to be published) listen
 * to; it knows nothing of the page.
 *
 *   preparing -> queued -> uploading -> done
 *                              |  ^
 *                              v  |  (network, 503: waits, then again)
 *                            waiting
 *   uploading -> failed      (refused: retrying would not help)
 *   any -> removed           (the user took it out)
 *
 * job.done() resolves with {id, width, height} once sent, and rejects
 * when the photo was refused or removed.
 */

import {ApiError, uploadPhoto} from '../api.js';
import {sessionEnded} from './session.js';
import {prepareImage} from '../images.js';
import {backoff, isTransient, offline, wait} from './retry.js';

const AT_ONCE = 2;               /* uploads in flight together */

const queue = [];
let running = 0;

function pump() {
    while (running < AT_ONCE && queue.length) {
        const job = queue.shift();

        running++;
        job.upload().finally(() => {
            running--;
            pump();
        });
    }
}

/* a local id, unique enough to name a photo across reloads */
function localId() {
    if (window.crypto && window.crypto.randomUUID) {
        return window.crypto.randomUUID();
    }

    return `${Date.now().toString(36)}-${Math.random().toString(36)
        .slice(2)}`;
}

/* the words for a refusal of the server, by code (SPEC §5) */
export function refusalMessage(error) {
    switch (error.code) {
    case 'too_large':
        return 'Cette photo est trop lourde : elle dépasse 25 Mo. '
            + 'Choisissez-en une autre, ou reprenez-la.';
    case 'image_too_large':
        return 'Cette image est trop grande : elle dépasse 50 millions de '
            + 'pixels. Choisissez une photo plus petite.';
    case 'unsupported_media_type':
        return 'Ce fichier n’est pas une photo JPEG ou PNG. Choisissez une '
            + 'photo prise avec l’appareil, ou enregistrée en JPEG ou PNG.';
    case 'invalid_image':
        return 'Ce fichier est abîmé ou incomplet : il ne peut pas être lu '
            + 'comme une photo. Choisissez-en une autre, ou reprenez-la.';
    case 'empty_body':
        return 'Ce fichier est vide. Choisissez-en un autre.';
    default:
        break;
    }

    if (error.status === 413) {
        return 'Cette photo est trop lourde pour être envoyée. '
            + 'Choisissez-en une autre.';
    }
    if (error.status === 415) {
        return 'Ce fichier n’est pas une photo JPEG ou PNG.';
    }
    if (error.status === 403) {
        return 'Vous n’avez pas le droit d’ajouter des photos à cette fiche. '
            + 'Rechargez la page ; si le problème persiste, contactez CLO.';
    }
    if (error.status === 404) {
        return 'Cette fiche n’existe plus, ou vous n’y avez plus accès : la '
            + 'photo n’a pas été envoyée.';
    }

    return `La photo n’a pas été envoyée. ${error.message || ''}`.trim();
}

export class PhotoJob {
    /*
     * new PhotoJob(ficheId, {file} | {blob, type, width, height} |
     *              {id, width, height}, {alt, localId, name})
     */
    constructor(ficheId, source, extra = {}) {
        this.ficheId = ficheId;
        this.localId = extra.localId || localId();
        this.name = extra.name || (source.file && source.file.name) || '';
        this.alt = extra.alt || '';
        this.file = source.file || null;
        this.blob = source.blob || null;
        this.type = source.type || null;
        this.id = source.id || null;
        this.width = source.width || null;
        this.height = source.height || null;
        this.progress = this.id ? 1 : 0;
        this.state = this.id ? 'done' : this.blob ? 'queued'
            : this.file ? 'preparing' : 'failed';
        this.message = this.state === 'failed'
            ? 'Cette photo n’a pas pu être gardée dans ce navigateur : '
                + 'retirez-la, puis ajoutez-la à nouveau.'
            : null;                 /* what went wrong, or why it waits */
        this.failures = 0;
        this.listeners = new Set();
        this.controller = null;
        this.waiting = null;
        this.preview = null;        /* an object URL of the small version */

        this.result = new Promise((resolve, reject) => {
            this.resolve = resolve;
            this.reject = reject;
        });
        this.result.catch(() => {});

        this.preparedPromise = this.file ? this.prepare()
            : Promise.resolve();

        if (this.id) {
            this.resolve({id: this.id, width: this.width,
                          height: this.height});
        } else if (this.state === 'failed') {
            this.reject(new Error(this.message));
        } else {
            this.preparedPromise.then(() => this.enqueue());
        }
    }

    /* fn(job) after every change; returns the way to stop listening */
    onChange(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }

    changed() {
        for (const fn of [...this.listeners]) {
            fn(this);
        }
    }

    set(state, message = null) {
        this.state = state;
        this.message = message;
        this.changed();
    }

    /* resolves once the version to send is ready (never rejects) */
    prepared() {
        return this.preparedPromise;
    }

    done() {
        return this.result;
    }

    get finished() {
        return this.state === 'done' || this.state === 'failed'
            || this.state === 'removed';
    }

    async prepare() {
        let prepared;

        try {
            prepared = await prepareImage(this.file);
        } catch {
            prepared = {blob: this.file, type: this.file.type, width: null,
                        height: null};
        }

        this.blob = prepared.blob;
        this.type = prepared.type;
        this.width = prepared.width;
        this.height = prepared.height;
        this.file = null;
        if (this.state === 'preparing') {
            this.set('queued');
        }
    }

    /* the small version as an object URL, for a preview (null: none) */
    previewUrl() {
        if (!this.preview && this.blob && this.width) {
            this.preview = URL.createObjectURL(this.blob);
        }
        return this.preview;
    }

    enqueue() {
        if (this.state !== 'queued' && this.state !== 'waiting') {
            return;
        }
        this.set('queued');
        queue.push(this);
        pump();
    }

    async upload() {
        if (this.state !== 'queued') {
            return;
        }

        this.controller = new AbortController();
        this.progress = 0;
        this.set('uploading');

        try {
            const answer = await uploadPhoto(this.ficheId, this.blob, {
                type: this.type,
                signal: this.controller.signal,
                onProgress: (fraction) => {
                    this.progress = fraction;
                    this.changed();
                },
            });

            this.id = answer.id;
            this.width = answer.width || this.width;
            this.height = answer.height || this.height;
            this.progress = 1;
            this.failures = 0;
            this.set('done');
            this.resolve({id: this.id, width: this.width,
                          height: this.height});
        } catch (e) {
            if (this.state === 'removed') {
                return;
            }

            if (!(e instanceof ApiError)) {
                console.error(e);
            }

            if (e instanceof ApiError && isTransient(e)) {
                this.failures++;
                this.retryLater(e);
                return;
            }

            if (sessionEnded(e)) {
                return;
            }

            this.fail(e instanceof ApiError ? refusalMessage(e)
                : 'La photo n’a pas été envoyée. Réessayez.');
        } finally {
            this.controller = null;
        }
    }

    fail(message) {
        this.set('failed', message);
        this.reject(new Error(message));
    }

    retryLater(error) {
        const unavailable = error.status !== 0;

        this.progress = 0;
        this.set('waiting', offline() ? 'offline'
            : unavailable ? 'unavailable' : 'network');
        this.waiting = wait(backoff(this.failures, error.retryAfter));
        this.waiting.promise.then(() => {
            this.waiting = null;
            this.enqueue();
        });
    }

    /* "Réessayer": at once */
    retryNow() {
        if (this.waiting) {
            this.waiting.wake();
        }
    }

    /* a photo of a draft that is no longer on the server (24 h) */
    lost() {
        if (this.state === 'done') {
            this.set('failed', 'Cette photo n’est plus sur le serveur : '
                     + 'envoyée il y a plus de 24 heures sans être publiée, '
                     + 'elle a été effacée. Retirez-la, puis ajoutez-la à '
                     + 'nouveau.');
            this.id = null;
        }
    }

    remove() {
        const was = this.state;

        this.state = 'removed';
        if (this.controller) {
            this.controller.abort();
        }
        if (this.waiting) {
            this.waiting.wake();
        }
        const i = queue.indexOf(this);

        if (i >= 0) {
            queue.splice(i, 1);
        }
        if (this.preview) {
            URL.revokeObjectURL(this.preview);
            this.preview = null;
        }
        if (was !== 'done') {
            this.reject(new Error('removed'));
        }
        this.changed();
    }
}

/* the words of a job's state, for its status line */
export function jobStatus(job) {
    switch (job.state) {
    case 'preparing':
        return 'Préparation de la photo…';
    case 'queued':
        return 'En attente d’envoi…';
    case 'uploading':
        return 'Envoi en cours…';
    case 'waiting':
        if (job.message === 'offline') {
            return 'En attente de réseau : la photo partira dès le retour '
                + 'de la connexion.';
        }
        if (job.message === 'unavailable') {
            return 'Serveur momentanément indisponible : nouvel essai '
                + 'automatique dans un instant.';
        }
        return 'Connexion perdue : nouvel essai automatique dans un '
            + 'instant.';
    case 'done':
        return 'Photo envoyée.';
    case 'failed':
        return job.message;
    default:
        return '';
    }
}
