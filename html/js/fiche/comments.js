/*
 * Comments, for anyone with access to the fiche: the comment box of a
 * post, reply boxes (opened and closed from a comment), deleting one's own
 * comment.  The text of a box is a draft kept across redraws and when
 * sending fails; the error is shown above the box.
 */

import {ApiError, request, sessionEnded} from '../api.js';
import {showErrors} from '../layout.js';
import {
    announce, codePoints, confirmDialog, el, errorMessage, plural,
    setFieldError,
} from '../ui.js';
import {
    boxErrors, countComments, drafts, openReplies, redraw, refreshQuietly,
    state,
} from './state.js';

const MAX_COMMENT = 5000;

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
    });

    if (parent) {
        const close = el('button', {type: 'button',
                                    className: 'button button--secondary '
                                        + 'button--small'}, 'Fermer');

        close.addEventListener('click', () => {
            openReplies.delete(parent.id);
            boxErrors.delete(key);
            redraw();
            const opener = document.querySelector(
                `#comment-${parent.id} > .comment__box .button-link`);

            if (opener) {
                opener.focus();
            }
        });
        buttons.append(close);
    }

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

    try {
        const body = {body: text};

        if (parent) {
            body.parent_id = parent.id;
        }

        await request('POST', `posts/${post.id}/comments`, {body});
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
    boxErrors.delete(key);
    if (parent) {
        openReplies.delete(parent.id);
    }
    field.value = '';
    setFieldError(field, null);
    announce(parent ? 'Réponse envoyée.' : 'Commentaire envoyé.');
    await refreshQuietly();
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
}
