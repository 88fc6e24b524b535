/*
 * The fiche d'avancement of one chantier (fiche.html?id=N): its header,
 * its posts newest first (or oldest first, the reader's choice) with their
 * comment trees; employees also write, edit, withdraw / put back online
 * and delete posts.  This module starts the page; each concern is a
 * module of fiche/:
 *
 *   state.js      what the page knows and keeps across redraws; refresh()
 *   render.js     the page drawn from the fiche JSON (header.js: the
 *                 header and its state; thread.js: the comment trees;
 *                 reconcile.js: keyed updates; keep.js: focus and scroll
 *                 kept across a redraw)
 *   reading.js    order, a screenful at a time, the others' news
 *   news.js       what is new since the reader's last visit ("Nouveau")
 *   posts.js      the new post form, withdraw / put back, delete
 *   edit.js       editing a post in place, stale edits (412)
 *   comments.js   comment and reply boxes, deleting a comment
 *   live.js       the event stream and the "En direct" indicator
 *                 (presence.js: who else is looking at the fiche)
 *   session.js    the session ended elsewhere: said, the drafts kept
 *
 * Without a session the page sends to the login page, which comes back
 * here after the login (index.html?next=fiche.html?id=N).
 *
 * The page is live: after every change (its own or someone else's) it
 * asks for the fiche again (If-None-Match) and updates what changed, post
 * by post and comment by comment.  What the user is doing is never
 * touched: the comment boxes keep their text, focus and selection, reply
 * boxes stay open, an open editor stays as it is (even when its post is
 * deleted meanwhile), and the block at the top of the window stays where
 * it was.
 */

import {ApiError, me, request} from './api.js';
import {showErrors, showNav} from './layout.js';
import {errorMessage, isStaff} from './ui.js';
import {loadCommentDrafts} from './fiche/comments.js';
import {restoreEdits} from './fiche/edit.js';
import {setUpEndEditor} from './fiche/header.js';
import {wireLive} from './fiche/live.js';
import {setUpNewPost} from './fiche/posts.js';
import {setPreviousVisit, setUpNews} from './fiche/news.js';
import {setUpReading} from './fiche/reading.js';
import {render} from './fiche/render.js';
import {sessionEnded} from './fiche/session.js';
import {rememberFiche} from './recent.js';
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

    /*
     * Who is there, with the CSRF token kept.  No session: me() goes to
     * the login page, which comes back here afterwards.
     */
    try {
        state.user = await me();
    } catch (e) {
        fatal(errorMessage(e));
        return;
    }

    showNav(state.user);
    state.staff = isStaff(state.user.role);
    loadCommentDrafts();
    setUpReading();
    setUpNews();

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
    setUpEndEditor();
    recordVisits(id);

    if (state.staff) {
        rememberFiche({id: Number(id), ...state.fiche.header});

        await setUpNewPost();
        /* the edits left unsaved (a reload, the end of the session) */
        await restoreEdits();
    }

    /* a link to one post or comment (#post-12): drawn (reading.js), shown */
    if (window.location.hash) {
        const target = document.getElementById(
            window.location.hash.slice(1));

        if (target) {
            target.scrollIntoView();
        }
    }
}

/*
 * "What's new" counts from the last visit (PUT fiches/{id}/seen): now
 * that the fiche is shown, and again when the page is hidden or left,
 * so that what was read while it was open counts as seen.  The first
 * answer names the previous visit: what is new since then is marked
 * (news.js, which keeps it for as long as the page is open).
 */
function recordVisits(id) {
    const seen = () => request('PUT', `fiches/${id}/seen`, {keepalive: true})
        .catch(() => null);

    seen().then((answer) => {
        if (answer) {
            setPreviousVisit(answer.previous_seen_at);
        }
    });
    document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'hidden') {
            seen();
        }
    });
    window.addEventListener('pagehide', seen);
}

main();
