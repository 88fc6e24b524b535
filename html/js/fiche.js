/*
 * The fiche d'avancement of one chantier (fiche.html?id=N): its header,
 * its posts oldest first with their comment trees; employees also write,
 * edit, cancel / restore and delete posts.  This module starts the page;
 * each concern is a module of fiche/:
 *
 *   state.js      what the page knows and keeps across redraws; refresh()
 *   render.js     the page drawn from the fiche JSON (thread.js: the
 *                 comment trees; reconcile.js: keyed updates; keep.js:
 *                 focus and scroll kept across a redraw)
 *   posts.js      the new post form, cancel / restore, delete
 *   edit.js       editing a post in place, stale edits (412)
 *   comments.js   comment and reply boxes, deleting a comment
 *   live.js       the event stream and the "En direct" indicator
 *
 * The page is live: after every change (its own or someone else's) it
 * asks for the fiche again (If-None-Match) and updates what changed, post
 * by post and comment by comment.  What the user is doing is never
 * touched: the comment boxes keep their text, focus and selection, reply
 * boxes stay open, an open editor stays as it is (even when its post is
 * deleted meanwhile), and the block at the top of the window stays where
 * it was.
 */

import {ApiError, me, sessionEnded} from './api.js';
import {showErrors, showNav} from './layout.js';
import {errorMessage, isStaff} from './ui.js';
import {wireLive} from './fiche/live.js';
import {setUpNewPost} from './fiche/posts.js';
import {render} from './fiche/render.js';
import {refresh, setDraw, state} from './fiche/state.js';

const loading = document.querySelector('[data-loading]');

function fatal(message) {
    loading.hidden = true;
    showErrors([{message}]);
}

async function main() {
    const id = new URLSearchParams(window.location.search).get('id');

    showNav();
    setDraw(render);

    if (!id || !/^[1-9][0-9]{0,17}$/.test(id)) {
        fatal('Cette adresse ne désigne aucune fiche d’avancement. '
              + 'Revenez à l’accueil pour choisir un chantier.');
        return;
    }

    state.id = id;

    try {
        state.user = await me();
    } catch (e) {
        fatal(errorMessage(e));
        return;
    }

    showNav(state.user);
    state.staff = isStaff(state.user.role);

    try {
        await refresh();
    } catch (e) {
        if (sessionEnded(e)) {
            return;
        }
        fatal(e instanceof ApiError && e.status === 404
            ? 'Cette fiche d’avancement n’existe pas, ou vous n’y avez '
                + 'pas accès. Revenez à l’accueil pour choisir un chantier.'
            : `La fiche n’a pas pu être chargée. ${errorMessage(e)}`);
        return;
    }

    loading.hidden = true;
    wireLive();

    if (state.staff) {
        await setUpNewPost();
    }

    /* a link to one post or comment (#post-12) once the page is drawn */
    if (window.location.hash) {
        const target = document.getElementById(
            window.location.hash.slice(1));

        if (target) {
            target.scrollIntoView();
        }
    }
}

main();
