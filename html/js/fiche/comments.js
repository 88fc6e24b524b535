/*
 * Comments, for anyone with access to the fiche: the comment box of a
 * post (behind "Commenter"), reply boxes (behind "Répondre"), deleting
 * one's own comment.  A box closes with "Fermer" or Escape, the focus
 * back on its button.  The text of a box is a draft kept across redraws,
 * when sending fails and in localStorage (session.js: it survives a
 * reload and the end of the session); the error is shown above the box.
 * After sending, the focus goes to the new comment; after deleting, to
 * the comment that takes its place, or the post's "Commentaires".
 */

import {ApiError, request} from '../api.js';
import {commentDrafts, sessionEnded} from './session.js';
import {showErrors} from '../layout.js';
import {
    announce, codePoints, confirmDialog, el, errorMessage, plural,
    setFieldError,
} from '../ui.js';
import {
    boxErrors, countComments, drafts, openComments, openReplies, redraw,
    refreshQuietly, state,
} from './state.js';

const MAX_COMMENT = 5000;

let store = null;

/*
 * The drafts of an earlier visit (or of before the session ended), put
 * back in their boxes, opened.  Once state.user and state.id are known.
 */
export function loadCommentDrafts() {
    store = commentDrafts(state.user.id, state.id);
    for (const [key, text] of store.load()) {
        drafts.set(key, text);
        const m = /^(new-comment|reply)-(\d+)$/.exec(key);

        (m[1] === 'reply' ? openReplies : openComments).add(Number(m[2]));
    }
}

function keepDrafts() {
    if (store) {
        store.save(drafts);
    }
}

/* "Commenter": opens the comment box of a post */
export function commentOpener(post) {
    const button = el('button', {type: 'button',
                                 id: `post-${post.id}-comment`,
                                 className: 'button button--secondary '
                                     + 'button--small comment-opener',
                                 'aria-expanded': 'false'},
                      'Commenter');

    button.addEventListener('click', () => {
        openComments.add(post.id);
        redraw();
        const box = document.getElementById(`new-comment-${post.id}`);

        if (box) {
            box.focus();
        }
    });

    return button;
}

/* the button that opens a box, given the focus back when it closes */
function openerOf(post, parent) {
    return document.getElementById(parent ? `comment-${parent.id}-reply`
                                   : `post-${post.id}-comment`);
}

function closeBox(post, parent, key) {
    if (parent) {
        openReplies.delete(parent.id);
    } else {
        openComments.delete(post.id);
    }
    boxErrors.delete(key);
    redraw();
    const opener = openerOf(post, parent);

    if (opener) {
        opener.focus();
    }
}

/*
 * The buttons under a comment: "Répondre" (opens or closes its reply
 * box) and, for its author, "Supprimer".  Returns {actions, reply}.
 */
export function commentActions(comment) {
    const mine = state.user && comment.author
        && comment.author.id === state.user.id;
    const actions = el('div', {className: 'comment__actions'});
    const reply = el('button', {type: 'button',
                                id: `comment-${comment.id}-reply`,
                                className: 'button-link'},
                     'Répondre');

    reply.addEventListener('click', () => toggleReply(comment));
    actions.append(reply);

    if (mine) {
        const remove = el('button', {type: 'button',
                                     className: 'button-link '
                                         + 'button-link--warning'},
                          'Supprimer');

        remove.addEventListener('click',
                                () => deleteComment(comment, remove));
        actions.append(remove);
    }

    return {actions, reply};
}

function toggleReply(comment) {
    if (openReplies.has(comment.id)) {
        openReplies.delete(comment.id);
    } else {
        openReplies.add(comment.id);
    }
    redraw();
    if (openReplies.has(comment.id)) {
        const box = document.getElementById(`reply-${comment.id}`);

        if (box) {
            box.focus();
        }
    }
}

/* a comment box: the post's own (parent null) or a reply to a comment */
export function commentForm(post, parent) {
    const key = parent ? `reply-${parent.id}` : `new-comment-${post.id}`;
    const field = el('textarea', {
        className: 'input textarea',
        id: key,
        name: 'body',
        rows: parent ? '3' : '2',
        maxlength: String(MAX_COMMENT * 2),
    });
    const send = el('button', {type: 'submit',
                               className: 'button button--small'},
                    parent ? 'Envoyer la réponse' : 'Envoyer');
    const buttons = el('div', {className: 'comment-form__buttons'}, send);

    field.value = drafts.get(key) || '';
    field.addEventListener('input', () => {
        if (field.value === '') {
            drafts.delete(key);
        } else {
            drafts.set(key, field.value);
        }
        keepDrafts();
    });

    const close = el('button', {type: 'button',
                                className: 'button button--secondary '
                                    + 'button--small'}, 'Fermer');

    close.addEventListener('click', () => closeBox(post, parent, key));
    buttons.append(close);

    const form = el('form', {
        className: 'comment-form' + (parent ? ' comment-form--reply' : ''),
        id: `${key}-form`,
        method: 'post',
        action: '#',
        novalidate: '',
    },
        el('div', {className: 'form-group'},
           el('label', {className: 'label label--small', for: key},
              parent
                  ? `Votre réponse à ${parent.author ? parent.author.name
                                                      : ''}`
                  : 'Ajouter un commentaire'),
           el('p', {className: 'field-error', id: `${key}-error`,
                    role: 'alert', hidden: true}),
           field),
        buttons);

    setFieldError(field, boxErrors.get(key));

    form.addEventListener('submit', (event) => {
        event.preventDefault();
        sendComment(post, parent, key, field, send);
    });

    /* Escape closes the box (its text is kept for the next time) */
    form.addEventListener('keydown', (event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
            event.preventDefault();
            closeBox(post, parent, key);
        }
    });

    return form;
}

/* the error of a comment box, without redrawing (the text stays) */
function boxFailed(field, key, message) {
    boxErrors.set(key, message);
    setFieldError(field, message);
    field.focus();
}

async function sendComment(post, parent, key, field, button) {
    const text = field.value;
    const trimmed = text.trim();

    if (button.disabled) {
        return;
    }

    if (trimmed === '') {
        boxFailed(field, key, 'Écrivez votre commentaire avant de '
                  + 'l’envoyer.');
        return;
    }

    if (codePoints(trimmed) > MAX_COMMENT) {
        boxFailed(field, key, `Votre commentaire fait ${codePoints(trimmed)} `
                  + `caractères : la limite est de ${MAX_COMMENT}.`);
        return;
    }

    button.disabled = true;

    let created;

    try {
        const body = {body: text};

        if (parent) {
            body.parent_id = parent.id;
        }

        created = await request('POST', `posts/${post.id}/comments`, {body});
    } catch (e) {
        button.disabled = false;
        if (sessionEnded(e)) {
            return;
        }
        boxFailed(field, key, commentError(e));
        if (e instanceof ApiError && (e.status === 404 || e.code
                                      === 'invalid_parent')) {
            refreshQuietly();
        }
        return;
    }

    /* the form stays on the page (render() keeps it): ready again */
    button.disabled = false;
    drafts.delete(key);
    keepDrafts();
    boxErrors.delete(key);
    if (parent) {
        openReplies.delete(parent.id);
    } else {
        openComments.delete(post.id);
    }
    field.value = '';
    setFieldError(field, null);
    announce(parent ? 'Réponse envoyée.' : 'Commentaire envoyé.');
    await refreshQuietly();
    focusComment(created && created.id, [`post-${post.id}-comments`]);
}

/* the focus on a comment (its box), or else on the first of fallbacks */
function focusComment(id, fallbacks) {
    const box = id ? document.querySelector(`#comment-${id} > .comment__box`)
        : null;
    const node = box || fallbacks.map((f) => document.getElementById(f))
        .find((n) => n);

    if (node) {
        node.focus();
    }
}

function commentError(e) {
    if (e instanceof ApiError) {
        if (e.status === 404) {
            return 'Cette publication a été supprimée entre-temps : votre '
                + 'texte n’a pas été envoyé.';
        }
        if (e.code === 'invalid_parent') {
            return 'Le commentaire auquel vous répondez a été supprimé '
                + 'entre-temps : votre texte n’a pas été envoyé.';
        }
    }

    return `Votre commentaire n’a pas été envoyé. ${errorMessage(e)}`;
}

async function deleteComment(comment, button) {
    const replies = countComments(comment.replies || []);
    const text = replies
        ? `Votre commentaire et ${plural(replies, 'réponse', 'réponses')} `
            + 'seront supprimés définitivement.'
        : 'Votre commentaire sera supprimé définitivement.';

    if (!await confirmDialog({
        title: 'Supprimer votre commentaire ?',
        text,
        confirm: 'Supprimer le commentaire',
    })) {
        return;
    }

    button.disabled = true;

    /* its place: the next comment, the one it answered, or the post's */
    const li = document.getElementById(`comment-${comment.id}`);
    const next = li && li.nextElementSibling;
    const above = li && li.parentElement.closest('.comment');
    const postNode = li && li.closest('.post');

    try {
        await request('DELETE', `comments/${comment.id}`);
    } catch (e) {
        button.disabled = false;
        if (sessionEnded(e)) {
            return;
        }
        if (!(e instanceof ApiError && e.status === 404)) {
            showErrors([{
                message: `Le commentaire n’a pas été supprimé. `
                    + errorMessage(e),
            }]);
            return;
        }
        /* already gone: the refresh shows it */
    }

    openReplies.delete(comment.id);
    announce('Commentaire supprimé.');
    await refreshQuietly();
    focusComment(next ? Number(next.dataset.commentId)
                 : above ? Number(above.dataset.commentId) : null,
                 [postNode ? `${postNode.id}-comments` : null,
                  'posts-title'].filter(Boolean));
}
