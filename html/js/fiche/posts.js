/*
 * Posts, for employees: the new post form, and the buttons of each post
 * (edit: edit.js; cancel / restore; delete, after a confirmation).  Every
 * change is followed by a refresh of the fiche; a failure is said under
 * the post's buttons.
 */

import {ApiError, request, sessionEnded} from '../api.js';
import {TOO_LONG, createEditor} from '../editor.js';
import {
    announce, confirmDialog, el, errorMessage, formatDateTime, plural,
    setErrorText,
} from '../ui.js';
import {editPost} from './edit.js';
import {
    countComments, currentPost, editing, postErrors, redraw, refreshQuietly,
    state,
} from './state.js';

/* the buttons of a post; they read the post as it is when clicked */
export function postActions(post) {
    const edit = el('button', {type: 'button', id: `post-${post.id}-edit`,
                               className: 'button button--secondary '
                                   + 'button--small'}, 'Modifier');
    const cancel = el('button', {type: 'button',
                                 id: `post-${post.id}-cancel`,
                                 className: 'button button--secondary '
                                     + 'button--small'},
                      post.cancelled ? 'Rétablir la publication'
                          : 'Annuler la publication');
    const remove = el('button', {type: 'button',
                                 id: `post-${post.id}-delete`,
                                 className: 'button button--warning '
                                     + 'button--small'}, 'Supprimer');

    edit.addEventListener('click', () => editPost(currentPost(post)));
    cancel.addEventListener('click',
                            () => toggleCancelled(currentPost(post), cancel));
    remove.addEventListener('click',
                            () => deletePost(currentPost(post), remove));

    return el('div', {className: 'post__actions'}, edit, cancel, remove);
}

function postFailed(post, e, what) {
    if (sessionEnded(e)) {
        return;
    }

    let message;

    if (e instanceof ApiError && e.status === 404) {
        message = 'Cette publication a été supprimée entre-temps.';
    } else if (e instanceof ApiError && e.status === 412) {
        message = `${e.message} La fiche a été mise à jour : vérifiez puis `
            + 'recommencez si besoin.';
    } else {
        message = `${what} ${errorMessage(e)}`;
    }

    postErrors.set(post.id, message);
    redraw();
    refreshQuietly();
}

async function toggleCancelled(post, button) {
    const cancelled = !post.cancelled;

    button.disabled = true;
    postErrors.delete(post.id);

    try {
        await request('PATCH', `posts/${post.id}`, {
            body: {cancelled},
            headers: {'If-Match': `"${post.version}"`},
        });
    } catch (e) {
        button.disabled = false;
        postFailed(post, e, cancelled
            ? 'La publication n’a pas été annulée.'
            : 'La publication n’a pas été rétablie.');
        return;
    }

    announce(cancelled ? 'Publication annulée.' : 'Publication rétablie.');
    await refreshQuietly();
}

async function deletePost(post, button) {
    const count = countComments(post.comments || []);
    const text = [
        count
            ? `La publication du ${formatDateTime(post.created_at)} et `
                + `${plural(count, 'commentaire', 'commentaires')} `
                + `seront supprimés définitivement, pour tout le monde.`
            : `La publication du ${formatDateTime(post.created_at)} sera `
                + 'supprimée définitivement, pour tout le monde.',
        'Pour la laisser visible, grisée, choisissez plutôt « Annuler la '
            + 'publication ».',
    ];

    if (!await confirmDialog({
        title: 'Supprimer cette publication ?',
        text,
        confirm: count ? 'Supprimer la publication et ses commentaires'
            : 'Supprimer la publication',
    })) {
        return;
    }

    button.disabled = true;
    postErrors.delete(post.id);

    try {
        await request('DELETE', `posts/${post.id}`);
    } catch (e) {
        button.disabled = false;
        if (!(e instanceof ApiError && e.status === 404)) {
            postFailed(post, e, 'La publication n’a pas été supprimée.');
            return;
        }
    }

    editing.delete(post.id);
    announce('Publication supprimée.');
    await refreshQuietly();
}

/* the new post form at the bottom of the page */
export async function setUpNewPost() {
    const section = document.querySelector('[data-new-post]');
    const form = document.getElementById('post-form');
    const group = form.querySelector('[data-new-post-group]');
    const box = form.querySelector('[data-new-post-editor]');
    const error = document.getElementById('new-post-error');
    const notify = document.getElementById('notify-client');
    const finishing = document.getElementById('finishing');
    const submit = form.querySelector('button[type="submit"]');
    let editor;

    function fail(message) {
        setErrorText(error, message);
        group.classList.toggle('form-group--error', !!message);
    }

    section.hidden = false;
    for (const node of document.querySelectorAll('[data-staff-only]')) {
        node.hidden = false;
    }

    try {
        editor = await createEditor(box, {
            label: 'Texte de la publication',
            placeholder: 'Ce qui a été fait, ce qui vient…',
        });
    } catch {
        fail('L’éditeur n’a pas pu être chargé. Rechargez la page.');
        submit.disabled = true;
        return;
    }

    editor.quill.root.setAttribute('aria-describedby', 'new-post-error');

    form.addEventListener('submit', async (event) => {
        event.preventDefault();

        if (submit.disabled) {
            return;
        }

        fail(null);

        if (editor.isEmpty()) {
            fail('Écrivez le texte de la publication.');
            editor.focus();
            return;
        }

        if (editor.tooLong()) {
            fail(TOO_LONG);
            return;
        }

        submit.disabled = true;

        try {
            await request('POST', `fiches/${state.id}/posts`, {body: {
                body: editor.delta(),
                finishing: finishing.checked,
                notify_client: notify.checked,
            }});
        } catch (e) {
            submit.disabled = false;
            if (!sessionEnded(e)) {
                fail('La publication n’a pas été publiée. '
                     + errorMessage(e));
            }
            return;
        }

        submit.disabled = false;
        editor.quill.setContents([], 'silent');
        finishing.checked = false;
        notify.checked = true;
        announce('Publication publiée.');
        await refreshQuietly();
    });
}
