/*
 * The fiche d'avancement of one chantier (fiche.html?id=N): its header,
 * its posts oldest first with their comment trees; employees also write,
 * edit, cancel / restore and delete posts.
 *
 * The page is live: it listens to the fiche's event stream and, after
 * every change (its own or someone else's), asks for the fiche again
 * (If-None-Match) and updates what changed, post by post and comment by
 * comment (render()).  What the user is doing is never touched: the
 * comment boxes keep their text, focus and selection, reply boxes stay
 * open, an open editor stays as it is (even when its post is deleted
 * meanwhile), and the block at the top of the window stays where it was.
 * A small indicator in the header says whether the page is live.
 *
 * User data reaches the page only through textContent and DOM calls
 * (el(), renderDelta()).
 */

import {
    ApiError, apiUrl, getFresh, me, request, sessionEnded,
} from './api.js';
import {showErrors, showNav} from './layout.js';
import {
    addressLines, announce, codePoints, confirmDialog, el, errorMessage,
    formatDate, formatDateTime, formatDay, isStaff, plural,
} from './ui.js';
import {renderDelta} from './delta.js';
import {MAX_TEXT, createEditor} from './editor.js';

const loading = document.querySelector('[data-loading]');
const postsList = document.querySelector('[data-posts]');

const MAX_COMMENT = 5000;

const state = {
    id: null,
    user: null,
    staff: false,
    fiche: null,
    etag: null,
};

/* what survives a redraw */
const drafts = new Map();        /* box id -> text typed */
const openReplies = new Set();   /* comment ids with an open reply box */
const boxErrors = new Map();     /* box id -> message shown next to it */
const postErrors = new Map();    /* post id -> message under its actions */
const editing = new Map();       /* post id -> edit session, see editPost */

let newPostEditor = null;


/* ---- small helpers ---- */

function countComments(comments) {
    return comments.reduce((n, c) => n + 1 + countComments(c.replies || []),
                           0);
}

function findPost(id) {
    return state.fiche
        ? state.fiche.posts.find((post) => post.id === id) : null;
}


/* ---- loading the fiche ---- */

let fetching = null;
let fetchAgain = false;

/*
 * Fetches the fiche (a 304 keeps what we have) and redraws.  Calls while
 * one is under way are folded into one more fetch after it.
 */
async function refresh() {
    if (fetching) {
        fetchAgain = true;
        return fetching;
    }

    fetching = (async () => {
        do {
            fetchAgain = false;

            const answer = await getFresh(`fiches/${state.id}`, state.etag);

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
            render();
        } while (fetchAgain);
    })();

    try {
        await fetching;
    } finally {
        fetching = null;
    }
}

/* a refresh after a change: its failure is reported, not thrown */
async function refreshQuietly() {
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


/* ---- drawing ---- */

function renderHeader(fiche) {
    const header = fiche.header || {};
    const client = header.client || {};
    const section = document.querySelector('[data-fiche-header]');
    const status = section.querySelector('[data-status]');
    const address = section.querySelector('[data-address]');

    section.querySelector('[data-code]').textContent = header.chantier_id
        || '';
    section.querySelector('[data-title]').textContent = header.title || '';
    section.querySelector('[data-client]').textContent = client.name || '';

    address.replaceChildren();
    addressLines(client.address).forEach((line, i) => {
        if (i > 0) {
            address.append(el('br'));
        }
        address.append(line);
    });
    address.closest('.fiche-header__item').hidden =
        address.childNodes.length === 0;

    section.querySelector('[data-start]').textContent =
        formatDate(header.start_date) || '–';
    section.querySelector('[data-end]').textContent =
        formatDate(header.planned_end_date) || '–';

    if (fiche.status === 'finished') {
        status.className = 'status-banner status-banner--done';
        status.replaceChildren(el('p', null,
            fiche.finished_at
                ? `Chantier terminé le ${formatDay(fiche.finished_at)}`
                : 'Chantier terminé'));
    } else {
        status.className = 'status-banner';
        status.replaceChildren(el('p', null, 'Chantier en cours'));
    }

    document.title = `${header.title || 'Fiche d’avancement'} – `
        + 'Espace client CLO';
    section.hidden = false;
}

/*
 * The element at the top of the window (a post's head or body, a
 * comment, the new post form) and its distance to the top, to put it
 * back there after a redraw.
 */
function scrollAnchor() {
    for (const node of document.querySelectorAll('[data-anchor]')) {
        const rect = node.getBoundingClientRect();

        if (rect.bottom > 0 && rect.height > 0) {
            return {key: node.dataset.anchor, top: rect.top};
        }
    }

    return null;
}

function restoreScroll(anchor) {
    if (!anchor) {
        return;
    }

    const node = document.querySelector(
        `[data-anchor="${CSS.escape(anchor.key)}"]`);

    if (node) {
        window.scrollBy(0, node.getBoundingClientRect().top - anchor.top);
    }
}

/* the focused field, to focus it again once redrawn */
function focusState() {
    const active = document.activeElement;

    if (!active || active === document.body) {
        return null;
    }

    const saved = {id: active.id || null, editorOf: null};

    if (active.tagName === 'TEXTAREA') {
        saved.start = active.selectionStart;
        saved.end = active.selectionEnd;
    }

    for (const [postId, session] of editing) {
        if (session.form.contains(active)) {
            saved.editorOf = postId;
            saved.range = session.editor
                ? session.editor.quill.getSelection() : null;
        }
    }

    return saved;
}

function restoreFocus(saved) {
    if (!saved) {
        return;
    }

    if (saved.editorOf !== null) {
        const session = editing.get(saved.editorOf);

        if (session && session.editor && session.form.isConnected
            && !session.form.contains(document.activeElement))
        {
            session.editor.quill.focus();
            if (saved.range) {
                session.editor.quill.setSelection(saved.range, 'silent');
            }
        }
        return;
    }

    const node = saved.id ? document.getElementById(saved.id) : null;

    if (node && node !== document.activeElement) {
        node.focus({preventScroll: true});
        if (saved.start !== undefined && node.setSelectionRange) {
            node.setSelectionRange(saved.start, saved.end);
        }
    }
}

/*
 * The page is drawn by keyed reconciliation: every post and every comment
 * keeps its element from one fiche to the next (postNodes, commentNodes,
 * by id); only what changed is replaced, new items are inserted and gone
 * ones removed.  A node that stays is never moved, so a comment box being
 * typed in keeps its text, its focus and its selection, and an open
 * editor is never touched, whatever arrives from the others.
 */
const postNodes = new Map();     /* post id -> its elements, see createPost */
const commentNodes = new Map();  /* comment id -> its elements */
let drawn = false;               /* the first drawing highlights nothing */

const HIGHLIGHT_MS = 4000;

/* a new item, briefly marked (CSS animation, or a plain tint) */
function highlight(node) {
    if (!drawn) {
        return;
    }

    node.classList.add('is-new');
    window.setTimeout(() => node.classList.remove('is-new'), HIGHLIGHT_MS);
}

/*
 * Puts the wanted nodes, in order, into parent: the nodes already there
 * stay where they are (gone ones are removed first), new ones are inserted
 * at their place.
 */
function placeChildren(parent, wanted) {
    const keep = new Set(wanted);

    for (const child of [...parent.children]) {
        if (!keep.has(child)) {
            child.remove();
        }
    }

    wanted.forEach((node, i) => {
        const there = parent.children[i] || null;

        if (there !== node) {
            parent.insertBefore(node, there);
        }
    });
}

function render() {
    const fiche = state.fiche;
    const anchor = scrollAnchor();
    const focus = focusState();
    const posts = fiche.posts || [];
    const empty = document.querySelector('[data-posts-empty]');
    const shown = new Set(posts.map((post) => post.id));
    const items = [...posts];

    renderHeader(fiche);

    /*
     * A post deleted by someone else while it is being edited stays on
     * the page, with the draft, until the employee closes it.
     */
    for (const [postId, session] of editing) {
        if (!shown.has(postId)) {
            items.push(session.deleted || session.original);
            session.deleted = session.deleted || session.original;
        }
    }

    items.sort((a, b) => (a.created_at < b.created_at ? -1
                          : a.created_at > b.created_at ? 1 : a.id - b.id));

    const wanted = items.map((post) => {
        let entry = postNodes.get(post.id);

        if (!entry) {
            entry = createPost(post);
            postNodes.set(post.id, entry);
            highlight(entry.li);
        }

        updatePost(entry, post, !shown.has(post.id));

        return entry.li;
    });

    for (const [postId, entry] of postNodes) {
        if (!wanted.includes(entry.li)) {
            postNodes.delete(postId);
            forgetComments(entry.comments);
        }
    }

    placeChildren(postsList, wanted);

    document.querySelector('[data-posts-title]').textContent =
        posts.length ? `Publications (${posts.length})` : 'Publications';
    empty.textContent = state.staff
        ? 'Aucune publication pour le moment. Écrivez la première '
            + 'ci-dessous.'
        : 'Aucune publication pour le moment. Vous serez averti dès que '
            + 'CLO publiera l’avancement de votre chantier.';
    empty.hidden = posts.length !== 0;
    document.querySelector('[data-posts-section]').hidden = false;

    drawn = true;

    restoreFocus(focus);
    restoreScroll(anchor);
}

/* the elements of a post that live as long as it does */
function createPost(post) {
    const id = `post-${post.id}`;
    const label = el('span', {className: 'visually-hidden',
                              id: `${id}-label`});
    const title = el('h4', {className: 'comments-block__title'});
    const list = el('ol', {className: 'comments'});
    const block = el('section', {className: 'comments-block'},
                     title, list, commentForm(post, null));
    const article = el('article', {className: 'post__article',
                                   'aria-labelledby': `${id}-label`},
                       label, block);
    const li = el('li', {id, 'data-post-id': post.id}, article);

    return {
        li, article, label, block, title, list,
        head: null, headSig: null,
        body: null, bodySig: null,
        actions: null, actionsSig: null,
        error: null, errorText: null,
        comments: new Set(),
    };
}

/* puts node in place of old (or before next when there was none) */
function swap(parent, old, node, next) {
    if (old === node) {
        return node;
    }
    if (old && node) {
        old.replaceWith(node);
    } else if (old) {
        old.remove();
    } else if (node) {
        parent.insertBefore(node, next);
    }
    return node;
}

function updatePost(entry, post, deleted) {
    const id = `post-${post.id}`;
    const session = editing.get(post.id);
    const comments = deleted ? [] : post.comments || [];
    const count = countComments(comments);
    const when = formatDateTime(post.created_at);

    entry.li.className = 'post' + (post.cancelled ? ' post--cancelled' : '')
        + (post.finishing ? ' post--finishing' : '')
        + (deleted ? ' post--deleted' : '')
        + (entry.li.classList.contains('is-new') ? ' is-new' : '');
    entry.label.textContent = `Publication du ${when}`
        + (post.cancelled ? ' (annulée)' : '')
        + (deleted ? ' (supprimée)' : '');

    /* its head: date, tags, author, "modifiée le" */
    const headSig = JSON.stringify([post.created_at, post.cancelled,
                                    post.finishing, post.edited_at,
                                    post.author && post.author.name,
                                    deleted]);

    if (headSig !== entry.headSig) {
        entry.head = swap(entry.article, entry.head, postHead(post, deleted),
                          entry.label.nextSibling);
        entry.headSig = headSig;
    }

    /* its text, or the editor that replaces it */
    if (session) {
        entry.body = swap(entry.article, entry.body, session.form,
                          entry.head.nextSibling);
        entry.bodySig = null;
        if (deleted) {
            postDeletedWhileEdited(session);
        } else {
            postChangedWhileEdited(session, post);
        }
    } else {
        const bodySig = JSON.stringify(post.body);

        if (bodySig !== entry.bodySig) {
            const body = el('div', {className: 'post__body delta',
                                    'data-anchor': `${id}-body`});

            body.append(renderDelta(post.body));
            entry.body = swap(entry.article, entry.body, body,
                              entry.head.nextSibling);
            entry.bodySig = bodySig;
        }
    }

    /* employees' buttons; they read the post as it is when clicked */
    const actionsSig = state.staff && !session && !deleted
        ? String(post.cancelled) : null;

    if (actionsSig !== entry.actionsSig) {
        entry.actions = swap(entry.article, entry.actions,
                             actionsSig === null ? null : postActions(post),
                             entry.body.nextSibling);
        entry.actionsSig = actionsSig;
    }

    const error = deleted ? null : postErrors.get(post.id) || null;

    if (error !== entry.errorText) {
        entry.error = swap(entry.article, entry.error,
                           error ? el('p', {className: 'post__error',
                                            role: 'alert'}, error) : null,
                           entry.block);
        entry.errorText = error;
    }

    entry.block.hidden = deleted;
    entry.block.setAttribute('aria-label',
                             `Commentaires, publication du ${when}`);
    entry.title.textContent = count ? `Commentaires (${count})`
        : 'Commentaires';
    syncComments(entry, entry.list, post, comments, 0, null);
    entry.list.hidden = comments.length === 0;
}

function postHead(post, deleted) {
    const tags = [];

    if (deleted) {
        tags.push(el('span', {className: 'tag tag--deleted'}, 'Supprimée'));
    }
    if (post.cancelled) {
        tags.push(el('span', {className: 'tag tag--cancelled'}, 'Annulée'));
    }
    if (post.finishing) {
        tags.push(el('span', {className: 'tag tag--done'},
                     'Fin de chantier'));
    }

    return el('div', {className: 'post__head',
                      'data-anchor': `post-${post.id}`},
        el('h3', {className: 'post__date'},
           el('time', {datetime: post.created_at},
              formatDateTime(post.created_at))),
        tags.length ? el('p', {className: 'post__tags'}, ...tags) : null,
        el('p', {className: 'post__author'},
           `Par ${post.author ? post.author.name : 'CLO'}`,
           post.edited_at
               ? el('span', {className: 'post__edited'},
                    ` · modifiée le ${formatDateTime(post.edited_at)}`)
               : null));
}

/* the post as the page knows it now (it may have changed since drawn) */
function currentPost(post) {
    return findPost(post.id) || post;
}

function postActions(post) {
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


/* ---- comments ---- */

/*
 * The comments of a list (the post's own, depth 0, or the replies of a
 * comment), reconciled by id.  Replies are indented up to a few levels
 * (3 on a phone, 5 on a wider screen, in CSS); deeper ones stay at that
 * indentation and say whom they answer.  Comments never change once
 * written: a node that stays only has its reply box opened or closed.
 */
function syncComments(owner, list, post, comments, depth, parent) {
    const wanted = comments.map((comment) => {
        let entry = commentNodes.get(comment.id);

        if (!entry) {
            entry = createComment(post, comment, depth, parent);
            commentNodes.set(comment.id, entry);
            owner.comments.add(comment.id);
            highlight(entry.box);
        }

        updateComment(entry, post, comment, depth);

        return entry.li;
    });

    for (const child of list.children) {
        if (!wanted.includes(child)) {
            const id = Number(child.dataset.commentId);
            const entry = commentNodes.get(id);

            if (entry) {
                commentNodes.delete(id);
                owner.comments.delete(id);
                forgetComments(entry.comments);
            }
        }
    }

    placeChildren(list, wanted);
}

/* the comments under a removed node */
function forgetComments(ids) {
    for (const id of ids) {
        const entry = commentNodes.get(id);

        commentNodes.delete(id);
        if (entry) {
            forgetComments(entry.comments);
        }
    }
}

function createComment(post, comment, depth, parent) {
    const id = `comment-${comment.id}`;
    const author = comment.author || {};
    const mine = state.user && author.id === state.user.id;
    const actions = el('div', {className: 'comment__actions'});
    const reply = el('button', {type: 'button',
                                id: `comment-${comment.id}-reply`,
                                className: 'button-link'},
                     'Répondre');

    reply.addEventListener('click', () => {
        if (openReplies.has(comment.id)) {
            openReplies.delete(comment.id);
        } else {
            openReplies.add(comment.id);
        }
        render();
        if (openReplies.has(comment.id)) {
            const box = document.getElementById(`reply-${comment.id}`);

            if (box) {
                box.focus();
            }
        }
    });
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

    const box = el('div', {className: 'comment__box', 'data-anchor': id},
        el('p', {className: 'comment__meta'},
           el('span', {className: 'comment__author'}, author.name || ''),
           isStaff(author.role)
               ? el('span', {className: 'tag tag--staff'}, 'CLO') : null,
           el('span', {className: 'comment__date'},
              el('time', {datetime: comment.created_at},
                 formatDateTime(comment.created_at)))),
        depth > 3 && parent
            ? el('p', {className: 'comment__reply-to'},
                 `En réponse à ${parent.author ? parent.author.name : ''}`)
            : null,
        el('p', {className: 'comment__body'}, comment.body),
        actions);

    const classes = ['comments', 'comments--replies'];

    if (depth + 1 > 3) {
        classes.push('comments--flat-narrow');
    }
    if (depth + 1 > 5) {
        classes.push('comments--flat');
    }

    const replies = el('ol', {className: classes.join(' ')});

    return {
        li: el('li', {className: 'comment', id,
                      'data-comment-id': comment.id}, box, replies),
        box,
        reply,
        form: null,
        replies,
        comments: new Set(),
    };
}

function updateComment(entry, post, comment, depth) {
    const open = openReplies.has(comment.id);
    const replies = comment.replies || [];

    entry.reply.setAttribute('aria-expanded', String(open));
    if (open) {
        entry.reply.setAttribute('aria-controls', `reply-${comment.id}-form`);
    } else {
        entry.reply.removeAttribute('aria-controls');
    }

    if (open && !entry.form) {
        entry.form = commentForm(post, comment);
        entry.box.append(entry.form);
    } else if (!open && entry.form) {
        entry.form.remove();
        entry.form = null;
    }

    syncComments(entry, entry.replies, post, replies, depth + 1, comment);
    entry.replies.hidden = replies.length === 0;
}

/*
 * A comment box: the post's own (parent null) or a reply to a comment.
 * Its text is a draft kept across redraws and kept when sending fails;
 * the error is shown above the box.
 */
function commentForm(post, parent) {
    const key = parent ? `reply-${parent.id}` : `new-comment-${post.id}`;
    const errorId = `${key}-error`;
    const error = boxErrors.get(key);
    const field = el('textarea', {
        className: 'input textarea' + (error ? ' input--error' : ''),
        id: key,
        name: 'body',
        rows: parent ? '3' : '2',
        maxlength: String(MAX_COMMENT * 2),
        'aria-invalid': error ? 'true' : null,
        'aria-describedby': error ? errorId : null,
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
            render();
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
        el('div', {className: 'form-group'
                       + (error ? ' form-group--error' : '')},
           el('label', {className: 'label label--small', for: key},
              parent
                  ? `Votre réponse à ${parent.author ? parent.author.name
                                                      : ''}`
                  : 'Ajouter un commentaire'),
           el('p', {className: 'field-error', id: errorId, role: 'alert',
                    hidden: !error},
              error ? el('span', {className: 'visually-hidden'},
                         'Erreur : ') : null,
              error || null),
           field),
        buttons);

    form.addEventListener('submit', (event) => {
        event.preventDefault();
        sendComment(post, parent, key, field, send);
    });

    return form;
}

async function sendComment(post, parent, key, field, button) {
    const text = field.value;
    const trimmed = text.trim();

    if (button.disabled) {
        return;
    }

    if (trimmed === '') {
        boxErrors.set(key, 'Écrivez votre commentaire avant de l’envoyer.');
        showBoxError(field, key);
        return;
    }

    if (codePoints(trimmed) > MAX_COMMENT) {
        boxErrors.set(key, `Votre commentaire fait ${codePoints(trimmed)} `
                      + `caractères : la limite est de ${MAX_COMMENT}.`);
        showBoxError(field, key);
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
        boxErrors.set(key, commentError(e));
        showBoxError(field, key);
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
    clearBoxError(field, key);
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

/* the error of a comment box, without redrawing (the text stays) */
function showBoxError(field, key) {
    const message = boxErrors.get(key);
    const error = document.getElementById(`${key}-error`);

    error.replaceChildren(el('span', {className: 'visually-hidden'},
                             'Erreur : '), message);
    error.hidden = false;
    field.classList.add('input--error');
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', error.id);
    field.closest('.form-group').classList.add('form-group--error');
    field.focus();
}

/* the error of a comment box gone, once its text is sent */
function clearBoxError(field, key) {
    const error = document.getElementById(`${key}-error`);

    if (error) {
        error.replaceChildren();
        error.hidden = true;
    }
    field.classList.remove('input--error');
    field.removeAttribute('aria-invalid');
    field.removeAttribute('aria-describedby');
    field.closest('.form-group').classList.remove('form-group--error');
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


/* ---- posts (employees) ---- */

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
    render();
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

/*
 * Editing a post in place.  The session keeps the form (with its Quill
 * editor) across redraws, the version the edit started from (If-Match),
 * and, after a 412, the current post sent by the server so the user can
 * take its text or keep theirs.
 */
async function editPost(post) {
    if (editing.has(post.id)) {
        return;
    }

    const key = `edit-${post.id}`;
    const editorBox = el('div', {className: 'editor'},
                         el('p', {className: 'loading'},
                            'Chargement de l’éditeur…'));
    const finishing = el('input', {type: 'checkbox',
                                   className: 'checkbox__input',
                                   id: `${key}-finishing`});
    const error = el('p', {className: 'field-error', id: `${key}-error`,
                           role: 'alert', hidden: true});
    const conflict = el('div', {className: 'conflict', hidden: true});
    const note = el('p', {className: 'post-edit__note', role: 'status',
                          hidden: true});
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
        error,
        note,
        conflict,
        editorBox,
        el('div', {className: 'checkbox'},
           finishing,
           el('label', {className: 'checkbox__label',
                        for: `${key}-finishing`},
              'Ce message clôture le chantier')),
        el('div', {className: 'post-edit__buttons'}, save, abandon));
    const session = {
        form,
        editor: null,
        version: post.version,
        original: post,
        finishing,
        error,
        note,
        conflict,
        save,
        abandon,
        deleted: null,
    };

    finishing.checked = !!post.finishing;

    abandon.addEventListener('click', () => {
        editing.delete(post.id);
        render();
        const again = document.querySelector(
            `#post-${post.id} .post__actions button`);

        if (again) {
            again.focus();
        }
    });

    form.addEventListener('submit', (event) => {
        event.preventDefault();
        saveEdit(post.id, session, save, error, conflict);
    });

    editing.set(post.id, session);
    postErrors.delete(post.id);
    render();

    try {
        session.editor = await createEditor(editorBox, {
            label: 'Texte de la publication',
            delta: post.body,
        });
    } catch (e) {
        editing.delete(post.id);
        postErrors.set(post.id, 'L’éditeur n’a pas pu être chargé. '
                       + 'Rechargez la page.');
        render();
        return;
    }

    if (editing.get(post.id) === session) {
        session.editor.focus();
    }
}

/*
 * A post that someone else changed or deleted while this employee edits
 * it: the draft stays as it is; a line says what happened.
 */
function postChangedWhileEdited(session, post) {
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

function postDeletedWhileEdited(session) {
    if (session.save.hidden) {
        return;
    }

    session.note.hidden = true;
    showEditError(session.error, 'Cette publication a été supprimée '
                  + 'entre-temps : votre texte ne peut plus être enregistré. '
                  + 'Copiez-le si vous voulez le publier à nouveau, puis '
                  + 'fermez.');
    session.save.hidden = true;
    session.abandon.textContent = 'Fermer';
}

function showEditError(error, message) {
    if (message) {
        error.replaceChildren(el('span', {className: 'visually-hidden'},
                                 'Erreur : '), message);
        error.hidden = false;
    } else {
        error.replaceChildren();
        error.hidden = true;
    }
}

async function saveEdit(postId, session, button, error, conflict) {
    const editor = session.editor;
    const patch = {};

    if (button.disabled || !editor) {
        return;
    }

    showEditError(error, null);

    if (editor.isEmpty()) {
        showEditError(error, 'Le texte de la publication est vide. Pour la '
                      + 'retirer, utilisez « Supprimer » ou « Annuler la '
                      + 'publication ».');
        editor.focus();
        return;
    }

    if (codePoints(editor.text()) - 1 > MAX_TEXT) {
        showEditError(error, 'Le texte est trop long : la limite est de '
                      + `${MAX_TEXT} caractères.`);
        return;
    }

    const delta = editor.delta();

    if (JSON.stringify(delta) !== JSON.stringify(session.original.body)) {
        patch.body = delta;
    }
    if (session.finishing.checked !== !!session.original.finishing) {
        patch.finishing = session.finishing.checked;
    }

    if (Object.keys(patch).length === 0) {
        editing.delete(postId);
        render();
        return;
    }

    button.disabled = true;

    try {
        await request('PATCH', `posts/${postId}`, {
            body: patch,
            headers: {'If-Match': `"${session.version}"`},
        });
    } catch (e) {
        button.disabled = false;

        if (sessionEnded(e)) {
            return;
        }

        if (e instanceof ApiError && e.status === 412) {
            showConflict(postId, session, e, conflict);
            refreshQuietly();
            return;
        }

        if (e instanceof ApiError && e.status === 404) {
            showEditError(error, 'Cette publication a été supprimée '
                          + 'entre-temps : vos modifications n’ont pas pu '
                          + 'être enregistrées. Copiez votre texte si vous '
                          + 'voulez le publier à nouveau.');
            return;
        }

        showEditError(error, 'Vos modifications n’ont pas été '
                      + `enregistrées. ${errorMessage(e)}`);
        return;
    }

    editing.delete(postId);
    announce('Publication modifiée.');
    await refreshQuietly();
}

/*
 * 412: someone changed the post since the edit began.  The draft stays in
 * the editor; the current text is shown with the two ways out.
 */
function showConflict(postId, session, e, conflict) {
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
            session.editor.setDelta(current.body);
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
        session.editor.focus();
    }

    session.note.hidden = true;
    conflict.replaceChildren(...parts);
    conflict.hidden = false;
    conflict.scrollIntoView({block: 'nearest'});
}


/* ---- the new post form (employees) ---- */

async function setUpNewPost() {
    const section = document.querySelector('[data-new-post]');
    const form = document.getElementById('post-form');
    const group = form.querySelector('[data-new-post-group]');
    const box = form.querySelector('[data-new-post-editor]');
    const error = document.getElementById('new-post-error');
    const notify = document.getElementById('notify-client');
    const finishing = document.getElementById('finishing');
    const submit = form.querySelector('button[type="submit"]');

    function fail(message) {
        showEditError(error, message);
        group.classList.toggle('form-group--error', !!message);
    }

    section.hidden = false;
    for (const node of document.querySelectorAll('[data-staff-only]')) {
        node.hidden = false;
    }

    try {
        newPostEditor = await createEditor(box, {
            label: 'Texte de la publication',
            placeholder: 'Ce qui a été fait, ce qui vient…',
        });
    } catch {
        fail('L’éditeur n’a pas pu être chargé. Rechargez la page.');
        submit.disabled = true;
        return;
    }

    newPostEditor.quill.root.setAttribute('aria-describedby',
                                          'new-post-error');

    form.addEventListener('submit', async (event) => {
        event.preventDefault();

        if (submit.disabled) {
            return;
        }

        fail(null);

        if (newPostEditor.isEmpty()) {
            fail('Écrivez le texte de la publication.');
            newPostEditor.focus();
            return;
        }

        if (codePoints(newPostEditor.text()) - 1 > MAX_TEXT) {
            fail(`Le texte est trop long : la limite est de ${MAX_TEXT} `
                 + 'caractères.');
            return;
        }

        submit.disabled = true;

        try {
            await request('POST', `fiches/${state.id}/posts`, {body: {
                body: newPostEditor.delta(),
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
        newPostEditor.quill.setContents([], 'silent');
        finishing.checked = false;
        notify.checked = true;
        announce('Publication publiée.');
        await refreshQuietly();
    });
}


/* ---- live: the others' changes as they happen ---- */

/*
 * An EventSource on api/fiches/{id}/events.  The first connection says
 * which version the page has (?since=N); on a reconnection the browser
 * sends Last-Event-ID itself, and the server answers at once if the page
 * is behind.  Each "fiche" event names the new version: the page asks for
 * the fiche with If-None-Match and redraws what changed (render()).
 *
 * EventSource does not tell why a connection failed: on an error we ask
 * GET api/me, which says whether the session has ended (401: back to the
 * login page).  The browser reconnects by itself after a stream ended
 * (retry: 2000); after a refused connection (404, 429, 503) the source is
 * closed and we open a new one, a little later each time.
 */

const LIVE_TEXT = {
    connecting: 'Connexion…',
    live: 'En direct',
    retrying: 'Reconnexion…',
    offline: 'Hors ligne',
};
const LIVE_TITLE = {
    connecting: 'Connexion au serveur pour afficher les modifications des '
        + 'autres au fur et à mesure.',
    live: 'Les modifications des autres s’affichent dès qu’elles sont '
        + 'faites, sans recharger la page.',
    retrying: 'La connexion au serveur a été interrompue ; la page se '
        + 'reconnecte et se mettra à jour.',
    offline: 'La page ne reçoit plus les modifications des autres. Elle '
        + 'réessaie régulièrement ; vous pouvez aussi la recharger.',
};
const LIVE_OFFLINE_AFTER = 3;        /* failures in a row */
const LIVE_DELAY_MAX = 30000;

const live = {
    source: null,
    failures: 0,
    timer: null,
    checking: false,
    lastCheck: 0,
    state: null,
};

function setLive(name) {
    const box = document.querySelector('[data-live]');

    if (!box || live.state === name) {
        return;
    }

    live.state = name;
    box.dataset.state = name;
    box.className = `live-status live-status--${name}`;
    box.title = LIVE_TITLE[name];
    box.querySelector('[data-live-text]').textContent = LIVE_TEXT[name];
    box.hidden = false;
}

function startLive() {
    if (typeof window.EventSource !== 'function') {
        return;
    }

    window.clearTimeout(live.timer);
    live.timer = null;

    if (live.source) {
        live.source.close();
    }

    const source = new EventSource(apiUrl(`fiches/${state.id}/events`, {
        since: state.fiche.version,
    }));

    live.source = source;
    if (!live.state) {
        setLive('connecting');
    }

    source.addEventListener('open', () => {
        const again = live.failures > 0;

        live.failures = 0;
        setLive('live');

        /* back after a cut: whatever was missed, cheaply (304) */
        if (again) {
            liveRefresh();
        }
    });

    source.addEventListener('fiche', (event) => {
        let version = null;

        try {
            version = JSON.parse(event.data).version;
        } catch {
            /* a malformed event still means "something changed" */
        }

        if (typeof version !== 'number' || !state.fiche
            || version > state.fiche.version)
        {
            liveRefresh();
        }
    });

    source.addEventListener('error', () => liveFailed(source));
}

function liveFailed(source) {
    if (source !== live.source) {
        return;
    }

    live.failures++;
    setLive(live.failures >= LIVE_OFFLINE_AFTER ? 'offline' : 'retrying');
    checkSession();

    /* refused (not a cut): the browser gives up, we try again later */
    if (source.readyState === EventSource.CLOSED) {
        const delay = Math.min(LIVE_DELAY_MAX,
                               2000 * 2 ** Math.min(live.failures - 1, 4));

        live.source = null;
        window.clearTimeout(live.timer);
        live.timer = window.setTimeout(startLive, delay);
    }
}

/* is the session still there?  401: me() goes to the login page */
async function checkSession() {
    const now = Date.now();

    if (live.checking || now - live.lastCheck < 1500) {
        return;
    }

    live.checking = true;
    live.lastCheck = now;

    try {
        await me();
    } catch {
        /* the server cannot be reached: the indicator says so already */
    } finally {
        live.checking = false;
    }
}

/*
 * A refresh because of the others: it never takes the focus (no error
 * summary); a failure only leaves the page as it is until the next event
 * or reconnection.
 */
async function liveRefresh() {
    try {
        await refresh();
    } catch (e) {
        if (!sessionEnded(e)) {
            console.warn('live refresh failed:', e);
        }
    }
}

function wireLive() {
    startLive();

    /* the network is back: no need to wait for the next attempt */
    window.addEventListener('online', () => {
        if (!live.source) {
            startLive();
        }
    });

    /* leaving the page: let the server drop the stream at once */
    window.addEventListener('pagehide', () => {
        if (live.source) {
            live.source.close();
            live.source = null;
        }
        window.clearTimeout(live.timer);
    });

    /* back from the bfcache: the stream was closed above */
    window.addEventListener('pageshow', (event) => {
        if (event.persisted && !live.source) {
            startLive();
            liveRefresh();
        }
    });
}


/* ---- start ---- */

function fatal(message) {
    loading.hidden = true;
    showErrors([{message}]);
}

async function main() {
    const id = new URLSearchParams(window.location.search).get('id');

    showNav();

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
