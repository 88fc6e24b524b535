/*
 * Posts, for employees: the new post form, and the buttons of each post
 * (edit: edit.js; "Retirer" / "Remettre en ligne", the API's cancelled;
 * delete, after a confirmation).  Every change is followed by a refresh
 * of the fiche and the focus on the post changed (after a delete: the
 * post that takes its place, or the list's heading); a failure is said
 * under the post's buttons.  A new post is published through the outbox
 * (outbox.js), which waits for its photos and for the network; on a
 * finished chantier it asks first, as it reopens it.
 */

import {ApiError, request} from '../api.js';
import {sessionEnded} from './session.js';
import {TOO_LONG, createEditor} from '../editor.js';
import {
    announce, confirmDialog, el, errorMessage, formatDateTime, plural,
    setErrorText,
} from '../ui.js';
import {createDraft} from './draft.js';
import {editPost} from './edit.js';
import {enqueue, setUpOutbox} from './outbox.js';
import {createPhotoTray} from './photo-tray.js';
import {focusAfterDraw, focusPost} from './reading.js';
import {offline} from './retry.js';
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
                      post.cancelled ? 'Remettre en ligne' : 'Retirer');
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
            ? 'La publication n’a pas été retirée.'
            : 'La publication n’a pas été remise en ligne.');
        return;
    }

    /* the action is "Retirer", the state the letter's word, as in the PDF */
    announce(cancelled ? 'Publication retirée : elle reste sur la fiche, en '
                         + 'grisé, marquée « Annulée ».'
             : 'Publication remise en ligne.');
    focusAfterDraw(post.id);
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

    /* its place: the post after it, or before it, or the list */
    const li = document.getElementById(`post-${post.id}`);
    const place = li && (li.nextElementSibling || li.previousElementSibling);

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
    if (!(place && focusPost(Number(place.dataset.postId)))) {
        document.getElementById('posts-title').focus();
    }
}

/*
 * The form opens with its button, or with the header's "Écrire une
 * publication"; "Fermer" closes it, its draft kept, the focus back on
 * the button.  On a phone it starts closed: open, it fills the first
 * screen and the newest post, what an employee comes to check as often
 * as to write, would be out of sight.  It starts open on a wider screen,
 * or when a draft or a refused post comes back into it; it is then the
 * employee's to close, whatever the width becomes.
 */
const NARROW = '(max-width: 39.99rem)';

function newPostDisclosure(section, form, editorReady) {
    const title = section.querySelector('[data-new-post-title]');
    const opener = section.querySelector('[data-new-post-open]');
    const close = form.querySelector('[data-new-post-close]');
    const jump = document.querySelector('.fiche-header__jump a');

    function setOpen(open) {
        /* closed, its button is right there: the header's link is not */
        if (jump) {
            jump.closest('.fiche-header__jump').hidden = !open;
        }
        section.classList.toggle('new-post--closed', !open);
        form.hidden = !open;
        title.hidden = !open;
        opener.hidden = open;
        opener.setAttribute('aria-expanded', String(open));
    }

    function openAndFocus() {
        const editor = editorReady();

        setOpen(true);
        if (editor) {
            editor.focus();
        } else {
            section.focus();
        }
    }

    opener.addEventListener('click', openAndFocus);
    close.addEventListener('click', () => {
        setOpen(false);
        opener.focus();
    });
    if (jump) {
        jump.addEventListener('click', (event) => {
            event.preventDefault();
            section.scrollIntoView({block: 'start'});
            openAndFocus();
        });
    }

    setOpen(!(window.matchMedia && window.matchMedia(NARROW).matches));

    return {open: () => setOpen(true)};
}

/*
 * The new post form, above the posts: the editor, its photos
 * (photo-tray.js), the check boxes.  What is typed is a draft kept in
 * localStorage (draft.js) until "Publier" hands the post over to the
 * outbox (outbox.js), which sends its photos and the post, and keeps it
 * through network failures and reloads.
 */
export async function setUpNewPost() {
    const section = document.querySelector('[data-new-post]');
    const form = document.getElementById('post-form');
    const group = form.querySelector('[data-new-post-group]');
    const box = form.querySelector('[data-new-post-editor]');
    const error = document.getElementById('new-post-error');
    const notify = document.getElementById('notify-client');
    const finishing = document.getElementById('finishing');
    const submit = form.querySelector('button[type="submit"]');
    const note = form.querySelector('[data-draft-note]');
    const draft = createDraft(state.user.id, state.id);
    const saved = draft.load();
    let editor;

    function fail(message) {
        setErrorText(error, message);
        group.classList.toggle('form-group--error', !!message);
    }

    section.hidden = false;
    for (const node of document.querySelectorAll('[data-staff-only]')) {
        node.hidden = false;
    }

    const disclosure = newPostDisclosure(section, form, () => editor);

    /* something to go on with: the form open */
    if (saved) {
        disclosure.open();
    }

    const tray = createPhotoTray({
        ficheId: state.id,
        key: 'new-post',
        initial: saved ? saved.photos : [],
        onChange: () => saveDraft(),
    });

    form.querySelector('[data-new-post-photos]').replaceWith(tray.node);

    /*
     * The posts of an earlier visit still waiting are sent, editor or
     * not; one refused by the server can come back into the editor.
     */
    setUpOutbox(document.querySelector('[data-outbox]'), (record, jobs) => {
        if (!editor || !editor.isEmpty() || !tray.isEmpty()) {
            return false;
        }
        disclosure.open();
        editor.quill.setContents(record.text, 'silent');
        finishing.checked = record.finishing;
        notify.checked = record.notify;
        tray.putJobs(jobs);
        saveDraft();
        editor.focus();
        return true;
    });

    try {
        editor = await createEditor(box, {
            label: 'Texte de la publication',
            placeholder: 'Ce qui a été fait, ce qui vient…',
            delta: saved ? saved.text : null,
            onFiles: (files) => tray.addFiles(files),
        });
    } catch {
        fail('L’éditeur n’a pas pu être chargé. Rechargez la page.');
        submit.disabled = true;
        return;
    }

    function saveDraft() {
        if (!editor) {
            return;
        }
        if (editor.isEmpty() && tray.isEmpty()) {
            note.hidden = true;
        }
        draft.save(() => ({
            text: editor.delta(),
            photos: tray.photos(),
            finishing: finishing.checked,
            notify: notify.checked,
            empty: editor.isEmpty() && tray.isEmpty(),
        }));
    }

    if (saved) {
        finishing.checked = saved.finishing;
        notify.checked = saved.notify;
        note.textContent = 'Votre brouillon du '
            + `${formatDateTime(saved.savedAt)} a été remis dans l’éditeur.`;
        note.hidden = false;
    }

    editor.quill.root.setAttribute('aria-describedby', 'new-post-error');
    editor.quill.on('text-change', saveDraft);
    finishing.addEventListener('change', saveDraft);
    notify.addEventListener('change', saveDraft);

    form.addEventListener('submit', async (event) => {
        event.preventDefault();

        if (submit.disabled) {
            return;
        }

        fail(null);
        tray.setError(null);

        if (editor.isEmpty() && tray.isEmpty()) {
            fail('Écrivez le texte de la publication, ou ajoutez une photo.');
            editor.focus();
            return;
        }

        if (editor.tooLong()) {
            fail(TOO_LONG);
            return;
        }

        /* nothing typed meanwhile would be lost with the editor emptied */
        const focused = document.activeElement === submit;
        const ready = () => {
            submit.disabled = false;
            editor.quill.enable();
            /* a disabled button loses the focus: given back */
            if (focused && document.activeElement === document.body) {
                submit.focus();
            }
        };

        submit.disabled = true;
        editor.quill.disable();

        /* the small versions first (a moment): they are what is kept */
        await Promise.all(tray.jobs().map((job) => job.prepared()));

        const problems = tray.problems();

        if (problems.length) {
            ready();
            tray.setError(problems[0].message);
            problems[0].focus();
            return;
        }

        /* a post on a finished chantier reopens it: asked first */
        if (state.fiche && state.fiche.status === 'finished'
            && !finishing.checked && !await confirmDialog({
                title: 'Rouvrir le chantier ?',
                text: 'Ce chantier est terminé : cette publication le '
                    + 'rouvrira. Continuer ?',
                confirm: 'Publier et rouvrir le chantier',
            }))
        {
            ready();
            submit.focus();
            return;
        }

        const text = editor.isEmpty() ? {ops: []} : editor.delta();

        try {
            await enqueue({
                text,
                finishing: finishing.checked,
                notify: notify.checked,
                jobs: tray.takeJobs(),
            });
        } finally {
            ready();
        }

        editor.quill.setContents([], 'silent');
        finishing.checked = false;
        notify.checked = true;
        note.hidden = true;
        draft.clear();

        if (offline()) {
            announce('Pas de réseau : la publication partira dès le retour '
                     + 'de la connexion.');
        }
    });
}
