/*
 * Editing a post in place (employees).  The session (in editing, by post
 * id) keeps the form with its Quill editor across redraws, the version the
 * edit started from (If-Match), and, after a 412, the current post sent by
 * the server so that the user can take its text or keep theirs.  A post
 * that someone else changes or deletes meanwhile keeps the draft on screen
 * with a line saying what happened.
 *
 * The photos of the post are not in the editor (Quill keeps no image
 * here) but in a photo list under it (photo-tray.js), where they can be
 * described, removed and added to; saving waits for the photos being sent
 * and puts them back after the text.
 *
 * What is typed is a draft in localStorage (draft.js) until it is saved
 * or given up: after a reload, or the next login once the session has
 * ended (session.js), the editor of that post opens again with it
 * (restoreEdits), still based on the version it began from, so that a
 * change made meanwhile by someone else gets the usual 412 choice.
 */

import {ApiError, request} from '../api.js';
import {sessionEnded} from './session.js';
import {renderDelta, splitPhotos, withPhotos} from '../delta.js';
import {TOO_LONG, createEditor} from '../editor.js';
import {
    announce, el, errorMessage, formatDateTime, setErrorText,
} from '../ui.js';
import {postPhotos} from './gallery.js';
import {createEditDrafts} from './draft.js';
import {createPhotoTray} from './photo-tray.js';
import {focusAfterDraw, focusPost} from './reading.js';
import {
    editing, postErrors, redraw, refreshQuietly, state,
} from './state.js';

let drafts = null;

function editDrafts() {
    if (!drafts) {
        drafts = createEditDrafts(state.user.id, state.id);
    }
    return drafts;
}

/* the post as kept with its draft: what the page needs, not its comments */
function keptPost(post) {
    return {...post, comments: []};
}

/*
 * The edits of an earlier visit, or of before the session ended, opened
 * again (once the fiche is drawn); the first one gets the focus, unless
 * the address names a post or a comment to go to.
 */
export async function restoreEdits() {
    const kept = editDrafts().load();
    let first = !window.location.hash;

    for (const [postId, draft] of kept) {
        const post = (state.fiche.posts || []).find((p) => p.id === postId)
            || draft.original;

        await editPost(post, {restored: draft, focus: first});
        first = false;
    }
}

/* the text of a post for the editor, and its photos with their sizes */
function editable(post) {
    const {text} = splitPhotos(post.body);

    return {text, photos: postPhotos(post)};
}

/*
 * options: {restored (a draft kept, draft.js), focus (false: the editor
 * opens without taking the focus)}.
 */
export async function editPost(post, {restored = null, focus = true} = {}) {
    if (editing.has(post.id)) {
        return;
    }

    const key = `edit-${post.id}`;
    let session = null;
    const parts = restored
        ? {text: restored.text, photos: restored.photos} : editable(post);
    const editorBox = el('div', {className: 'editor'},
                         el('p', {className: 'loading'},
                            'Chargement de l’éditeur…'));
    const tray = createPhotoTray({ficheId: state.id, key,
                                  initial: parts.photos,
                                  onChange: () => keepDraft()});
    const finishing = el('input', {type: 'checkbox',
                                   className: 'checkbox__input',
                                   id: `${key}-finishing`});
    /* an edit is quiet unless the employee asks to tell the client */
    const notify = el('input', {type: 'checkbox',
                                className: 'checkbox__input',
                                id: `${key}-notify`,
                                'aria-describedby': `${key}-notify-hint`});
    const error = el('p', {className: 'field-error', id: `${key}-error`,
                           role: 'alert', hidden: true});
    const conflict = el('div', {className: 'conflict', hidden: true});
    const note = el('p', {className: 'post-edit__note', role: 'status',
                          hidden: true});
    const restoredNote = restored
        ? el('p', {className: 'notice draft-note', role: 'status'},
             'Votre modification du '
             + `${formatDateTime(restored.savedAt)} n’avait pas été `
             + 'enregistrée : elle a été remise dans l’éditeur.')
        : null;
    const save = el('button', {type: 'submit', className: 'button'},
                    'Enregistrer');
    const abandon = el('button', {type: 'button',
                                  className: 'button button--secondary'},
                       'Abandonner la modification');
    const form = el('form', {className: 'post-edit', method: 'post',
                             action: '#', novalidate: '',
                             'data-anchor': `post-${post.id}-body`},
        el('p', {className: 'label', id: `${key}-label`},
           'Texte de la publication'),
        restoredNote,
        error,
        note,
        conflict,
        editorBox,
        tray.node,
        el('div', {className: 'checkboxes'},
           el('div', {className: 'checkbox'},
              notify,
              el('label', {className: 'checkbox__label',
                           for: `${key}-notify`},
                 'Avertir le client'),
              el('p', {className: 'hint checkbox__hint',
                       id: `${key}-notify-hint`},
                 'Le client recevra la publication modifiée.')),
           el('div', {className: 'checkbox'},
              finishing,
              el('label', {className: 'checkbox__label',
                           for: `${key}-finishing`},
                 'Ce message clôture le chantier'))),
        el('div', {className: 'post-edit__buttons'}, save, abandon));
    session = {
        form,
        editor: null,
        tray,
        version: restored ? restored.version : post.version,
        original: restored ? restored.original : post,
        finishing,
        notify,
        error,
        note,
        conflict,
        save,
        abandon,
        deleted: null,
    };

    /*
     * The draft, a little after each change, while this edit is open;
     * an edit saved or given up removes it.
     */
    function keepDraft() {
        if (!session || editing.get(post.id) !== session
            || !session.editor)
        {
            return;
        }
        editDrafts().save(post.id, () => (editing.get(post.id) !== session
            ? null : {
                text: session.editor.delta(),
                photos: tray.photos(),
                finishing: finishing.checked,
                notify: notify.checked,
                version: session.version,
                original: keptPost(session.original),
            }));
    }

    session.keepDraft = keepDraft;
    finishing.checked = restored ? !!restored.finishing : !!post.finishing;
    notify.checked = restored ? !!restored.notify : false;
    finishing.addEventListener('change', keepDraft);
    notify.addEventListener('change', keepDraft);

    abandon.addEventListener('click', () => {
        editing.delete(post.id);
        editDrafts().remove(post.id);
        tray.clear();
        redraw();
        const again = document.querySelector(
            `#post-${post.id} .post__actions button`);

        if (again) {
            again.focus();
        }
    });

    form.addEventListener('submit', (event) => {
        event.preventDefault();
        saveEdit(post.id, session);
    });

    editing.set(post.id, session);
    postErrors.delete(post.id);
    redraw();

    try {
        session.editor = await createEditor(editorBox, {
            label: 'Texte de la publication',
            delta: parts.text,
            onFiles: (files) => tray.addFiles(files),
        });
    } catch (e) {
        editing.delete(post.id);
        postErrors.set(post.id, 'L’éditeur n’a pas pu être chargé. '
                       + 'Rechargez la page.');
        redraw();
        return;
    }

    session.editor.quill.on('text-change', keepDraft);

    if (editing.get(post.id) === session && focus) {
        session.editor.focus();
    }
}

/* someone else changed the post being edited (render.js) */
export function postChangedWhileEdited(session, post) {
    /* already said, or the 412 box says more */
    if (post.version === session.version || !session.note.hidden
        || !session.conflict.hidden)
    {
        return;
    }

    session.note.textContent = 'Cette publication vient d’être modifiée '
        + 'par quelqu’un d’autre. Votre texte est conservé ; en '
        + 'l’enregistrant, vous verrez le texte actuel pour choisir.';
    session.note.hidden = false;
}

/* someone else deleted the post being edited (render.js) */
export function postDeletedWhileEdited(session) {
    if (session.save.hidden) {
        return;
    }

    session.note.hidden = true;
    setErrorText(session.error, 'Cette publication a été supprimée '
                 + 'entre-temps : votre texte ne peut plus être enregistré. '
                 + 'Copiez-le si vous voulez le publier à nouveau, puis '
                 + 'fermez.');
    session.save.hidden = true;
    session.abandon.textContent = 'Fermer';
}

async function saveEdit(postId, session) {
    const {editor, error, save, tray} = session;
    const patch = {};

    if (save.disabled || !editor) {
        return;
    }

    setErrorText(error, null);
    tray.setError(null);

    if (editor.isEmpty() && tray.isEmpty()) {
        setErrorText(error, 'La publication est vide. Pour la retirer, '
                     + 'utilisez « Supprimer » ou « Annuler la '
                     + 'publication ».');
        editor.focus();
        return;
    }

    if (editor.tooLong()) {
        setErrorText(error, TOO_LONG);
        return;
    }

    /* the photos being sent first */
    if (tray.jobs().some((job) => !job.finished)) {
        save.disabled = true;
        session.note.textContent = 'Envoi des photos…';
        session.note.hidden = false;
        await tray.settled();
        session.note.hidden = true;
        save.disabled = false;
        if (editing.get(postId) !== session) {
            return;
        }
    }

    const problems = tray.problems();

    if (problems.length) {
        tray.setError(problems[0].message);
        problems[0].focus();
        return;
    }

    const delta = withPhotos(editor.isEmpty() ? {ops: []} : editor.delta(),
                             tray.photos());

    if (JSON.stringify(delta) !== JSON.stringify(session.original.body)) {
        patch.body = delta;
    }
    if (session.finishing.checked !== !!session.original.finishing) {
        patch.finishing = session.finishing.checked;
    }

    if (Object.keys(patch).length === 0) {
        editing.delete(postId);
        editDrafts().remove(postId);
        redraw();
        focusPost(postId);
        return;
    }

    patch.notify_client = session.notify.checked;

    save.disabled = true;

    try {
        await request('PATCH', `posts/${postId}`, {
            body: patch,
            headers: {'If-Match': `"${session.version}"`},
        });
    } catch (e) {
        save.disabled = false;

        if (sessionEnded(e)) {
            return;
        }

        if (e instanceof ApiError && e.status === 412) {
            showConflict(session, e);
            refreshQuietly();
            return;
        }

        if (e instanceof ApiError && e.status === 404) {
            setErrorText(error, 'Cette publication a été supprimée '
                         + 'entre-temps : vos modifications n’ont pas pu '
                         + 'être enregistrées. Copiez votre texte si vous '
                         + 'voulez le publier à nouveau.');
            return;
        }

        setErrorText(error, 'Vos modifications n’ont pas été '
                     + `enregistrées. ${errorMessage(e)}`);
        return;
    }

    editing.delete(postId);
    editDrafts().remove(postId);
    tray.clear();
    announce('Publication modifiée.');
    focusAfterDraw(postId);
    await refreshQuietly();
}

/*
 * 412: someone changed the post since the edit began.  The draft stays in
 * the editor; the current text is shown with the two ways out.
 */
function showConflict(session, e) {
    const {conflict} = session;
    const current = e.body && e.body.current;
    const take = el('button', {type: 'button',
                               className: 'button button--secondary '
                                   + 'button--small'},
                    'Reprendre le texte actuel');
    const keep = el('button', {type: 'button',
                               className: 'button button--secondary '
                                   + 'button--small'},
                    'Garder mon texte');
    const parts = [
        el('p', {className: 'conflict__message'},
           e.message || 'Cette publication a été modifiée entre-temps.'),
    ];

    if (current) {
        const text = el('div', {className: 'conflict__current delta'});

        text.append(renderDelta(current.body));
        parts.push(
            el('p', null, 'Votre texte n’a pas été enregistré. Le texte '
               + 'actuel est :'),
            text,
            el('p', null, 'Reprenez le texte actuel (votre brouillon est '
               + 'remplacé), ou gardez votre texte puis enregistrez-le : il '
               + 'remplacera le texte actuel.'),
            el('div', {className: 'conflict__buttons'}, take, keep));

        take.addEventListener('click', () => {
            const parts = editable(current);

            session.editor.setDelta(parts.text);
            session.tray.reset(parts.photos);
            session.finishing.checked = !!current.finishing;
            adopt();
        });
        keep.addEventListener('click', adopt);
    } else {
        parts.push(el('p', null, 'Votre texte n’a pas été enregistré. '
                      + 'Copiez-le, puis rechargez la page.'));
    }

    /* from now on the edit is based on the current version */
    function adopt() {
        session.version = current.version;
        session.original = current;
        session.note.hidden = true;
        conflict.hidden = true;
        conflict.replaceChildren();
        session.keepDraft();
        session.editor.focus();
    }

    session.note.hidden = true;
    conflict.replaceChildren(...parts);
    conflict.hidden = false;
    conflict.scrollIntoView({block: 'nearest'});
}
