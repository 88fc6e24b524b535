/*
 * The end of the session, as the fiche page lives it.  A session can end
 * elsewhere (a logout in another tab, an expiry, a password changed): the
 * API then answers 401 to every call and the event stream ends.  The page
 * does not leave: it says so at the top ("Vous avez été déconnecté…")
 * with a link to log in again that comes back here, and keeps what was
 * being typed: the new post's draft (draft.js, in localStorage) and the
 * comment boxes (commentDrafts below, in localStorage too), which come
 * back after the next login.
 *
 * sessionEnded(e) replaces api.js's for the fiche's modules: true when e
 * is a 401 (the caller has nothing more to say), false otherwise.
 */

import {ApiError, goToLogin, loginUrl} from '../api.js';
import {el} from '../ui.js';

let ended = false;
const onEnd = [];

export {loginUrl};

/* a page that finds no session: the login page, back here afterwards */
export function goToLoginHere() {
    goToLogin();
}

export function isSessionEnded() {
    return ended;
}

/* fn() when the session ends (live.js closes its stream) */
export function whenSessionEnds(fn) {
    onEnd.push(fn);
}

export function sessionEnded(e) {
    if (!(e instanceof ApiError && e.status === 401)) {
        return false;
    }

    showSignedOut();
    return true;
}

function showSignedOut() {
    if (ended) {
        return;
    }
    ended = true;

    for (const fn of onEnd) {
        try {
            fn();
        } catch (e) {
            console.warn(e);
        }
    }

    /* the drafts are written now, not a little later */
    window.dispatchEvent(new Event('clo:flush-drafts'));

    const notice = el('div', {className: 'notice notice--error signed-out',
                              role: 'alert', 'data-signed-out': ''},
        el('p', null, 'Vous avez été déconnecté. Reconnectez-vous pour '
           + 'continuer : votre texte est gardé.'),
        el('p', null, el('a', {href: loginUrl()}, 'Se reconnecter')));

    const main = document.getElementById('main');

    main.prepend(notice);
}


/* ---- the comment boxes' texts, kept in localStorage ---- */

const VERSION = 1;

function storageKey(userId, ficheId) {
    return `clo.comments.${userId}.${ficheId}`;
}

/*
 * The texts of the comment boxes of one user on one fiche, by box id
 * (new-comment-<post>, reply-<comment>): load() -> Map, save(map).
 */
export function commentDrafts(userId, ficheId) {
    const key = storageKey(userId, ficheId);

    return {
        load() {
            try {
                const value = JSON.parse(window.localStorage.getItem(key));

                if (value && value.version === VERSION
                    && value.boxes && typeof value.boxes === 'object')
                {
                    return new Map(Object.entries(value.boxes).filter(
                        ([box, text]) => /^(new-comment|reply)-\d+$/
                            .test(box) && typeof text === 'string'
                            && text !== ''));
                }
            } catch {
                /* nothing, or not ours */
            }
            return new Map();
        },

        save(map) {
            try {
                if (map.size) {
                    window.localStorage.setItem(key, JSON.stringify({
                        version: VERSION,
                        boxes: Object.fromEntries(map),
                    }));
                } else {
                    window.localStorage.removeItem(key);
                }
            } catch {
                /* storage full or disabled: kept while the page is open */
            }
        },
    };
}
