/*
 * What the fiche page knows: the fiche as last fetched, who is looking,
 * and what the user is doing that must survive a redraw (drafts, open
 * reply boxes, errors, posts being edited).  refresh() fetches the fiche
 * again and redraws; the other modules only read and change this state,
 * then ask for a redraw.
 */

import {getFresh} from '../api.js';
import {sessionEnded} from './session.js';
import {showErrors} from '../layout.js';
import {errorMessage} from '../ui.js';

export const state = {
    id: null,
    user: null,
    staff: false,
    fiche: null,
    etag: null,
};

/* what survives a redraw */
export const drafts = new Map();        /* box id -> text typed */
export const openComments = new Set();  /* post ids with an open comment box */
export const openReplies = new Set();   /* comment ids with an open reply box */
export const boxErrors = new Map();     /* box id -> message shown next to it */
export const postErrors = new Map();    /* post id -> message under its actions */
export const editing = new Map();       /* post id -> edit session (edit.js) */

function findPost(id) {
    return state.fiche
        ? state.fiche.posts.find((post) => post.id === id) : null;
}

/* the post as the page knows it now (it may have changed since drawn) */
export function currentPost(post) {
    return findPost(post.id) || post;
}

export function countComments(comments) {
    return comments.reduce((n, c) => n + 1 + countComments(c.replies || []),
                           0);
}


/* ---- drawing and fetching ---- */

let draw = null;

/* the drawing of the page (render.js), set once by fiche.js */
export function setDraw(fn) {
    draw = fn;
}

/* the page drawn again from the state, after a local change */
export function redraw() {
    draw();
}

/*
 * While the database is away, the server still answers the fiche it knew,
 * marked "Warning: 110" (it may be stale): the page says it can only be
 * read for now.  Changes would get 503 and stay in the outbox.
 */
function showReadOnly(response) {
    const note = document.querySelector('[data-read-only]');
    const stale = /^110\b/.test(response.headers.get('Warning') || '');

    if (note && note.hidden === stale) {
        note.hidden = !stale;
    }

    /* no event tells when the service is back: look again now and then */
    if (stale && !recheck) {
        recheck = setTimeout(() => {
            recheck = null;
            refresh().catch(() => {});
        }, 10000);
    }
}

let recheck = null;

let fetching = null;
let fetchAgain = false;

/*
 * Fetches the fiche (a 304 keeps what we have) and redraws.  Calls while
 * one is under way are folded into one more fetch after it.
 */
export async function refresh() {
    if (fetching) {
        fetchAgain = true;
        return fetching;
    }

    fetching = (async () => {
        do {
            fetchAgain = false;

            const answer = await getFresh(`fiches/${state.id}`, state.etag,
                                          showReadOnly);

            if (answer) {
                state.fiche = answer.data;
                state.etag = answer.etag;
            }

            /*
             * Drawn even on a 304: a live refresh may have fetched this
             * version first, before a local change (a reply box to close)
             * was recorded.  Drawing is cheap and changes only what
             * differs.
             */
            redraw();
        } while (fetchAgain);
    })();

    try {
        await fetching;
    } finally {
        fetching = null;
    }
}

/* a refresh after a change: its failure is reported, not thrown */
export async function refreshQuietly() {
    try {
        await refresh();
    } catch (e) {
        if (!sessionEnded(e)) {
            showErrors([{
                message: 'La fiche n’a pas pu être mise à jour. '
                    + `${errorMessage(e)} Rechargez la page.`,
            }]);
        }
    }
}
