/*
 * The page drawn from the fiche JSON (state.fiche): the header
 * (header.js), then the posts, newest first unless the reader chose
 * otherwise, a screenful at a time (reading.js), each with its comments
 * (thread.js) behind a "Commenter" button.  render() is called after
 * every fetch and every local change; it changes only what differs
 * (reconcile.js) and puts the focus and the scroll position back
 * (keep.js).  User data goes in only through textContent and DOM calls
 * (el(), renderDelta()).
 */

import {renderDelta} from '../delta.js';
import {el, formatDateTime} from '../ui.js';
import {commentForm, commentOpener} from './comments.js';
import {postChangedWhileEdited, postDeletedWhileEdited} from './edit.js';
import {photoGrid} from './gallery.js';
import {focusState, restoreFocus, restoreScroll, scrollAnchor} from './keep.js';
import {postActions} from './posts.js';
import {renderHeader} from './header.js';
import {isNewPost, newTag, showNews} from './news.js';
import {afterDraw, noticeChanges, visiblePosts} from './reading.js';
import {drawingDone, highlight, placeChildren, swap} from './reconcile.js';
import {
    countComments, editing, openComments, postErrors, state,
} from './state.js';
import {forgetComments, syncComments} from './thread.js';

const postNodes = new Map();     /* post id -> its elements, see createPost */

export function render() {
    const fiche = state.fiche;
    const anchor = scrollAnchor();
    const focus = focusState();
    const posts = fiche.posts || [];
    const postsList = document.querySelector('[data-posts]');
    const empty = document.querySelector('[data-posts-empty]');
    const shown = new Set(posts.map((post) => post.id));
    const items = [...posts];

    noticeChanges(fiche);
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

    const wanted = visiblePosts(items).map((post) => {
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

    /* before the scroll is put back: its line may come or go above */
    showNews();
    drawingDone();

    restoreFocus(focus);
    restoreScroll(anchor);
    afterDraw(wanted.filter((li) => shown.has(Number(li.dataset.postId)))
        .length);
}

/* the elements of a post that live as long as it does */
function createPost(post) {
    const id = `post-${post.id}`;
    const label = el('span', {className: 'visually-hidden',
                              id: `${id}-label`});
    const title = el('h3', {className: 'comments-block__title',
                            id: `${id}-comments`, tabindex: '-1'});
    const list = el('ol', {className: 'comments'});
    const opener = commentOpener(post);
    const block = el('section', {className: 'comments-block'},
                     title, list, opener);
    const article = el('article', {className: 'post__article',
                                   'aria-labelledby': `${id}-label`},
                       label, block);
    const li = el('li', {id, 'data-post-id': post.id}, article);

    return {
        li, article, label, block, title, list, opener,
        form: null,
        head: null, headSig: null,
        body: null, bodySig: null,
        actions: null, actionsSig: null,
        error: null, errorText: null,
        comments: new Set(),
    };
}

/* the post's state in words, for its label and its heading's hidden text */
function stateWords(post, deleted) {
    return (post.cancelled ? ' (annulée)' : '')
        + (deleted ? ' (supprimée)' : '');
}

function updatePost(entry, post, deleted) {
    const id = `post-${post.id}`;
    const session = editing.get(post.id);
    const comments = deleted ? [] : post.comments || [];
    const count = countComments(comments);
    const when = formatDateTime(post.created_at);
    const fresh = !deleted && isNewPost(post);

    entry.li.className = 'post' + (post.cancelled ? ' post--cancelled' : '')
        + (post.finishing ? ' post--finishing' : '')
        + (deleted ? ' post--deleted' : '')
        + (entry.li.classList.contains('is-new') ? ' is-new' : '');
    entry.label.textContent = `Publication du ${when}`
        + (fresh ? ', nouvelle' : '')
        + stateWords(post, deleted);

    /* its head: date, tags, author, "modifiée le" */
    const headSig = JSON.stringify([post.created_at, post.cancelled,
                                    post.finishing, post.edited_at,
                                    post.author && post.author.name,
                                    deleted, fresh]);

    if (headSig !== entry.headSig) {
        entry.head = swap(entry.article, entry.head,
                          postHead(post, deleted, fresh),
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
        const bodySig = JSON.stringify([post.body, post.photos || null]);

        if (bodySig !== entry.bodySig) {
            const body = el('div', {className: 'post__body delta',
                                    'data-anchor': `${id}-body`});

            const grid = photoGrid(post);

            /* the text, then its photos as a grid (gallery.js) */
            body.append(renderDelta(post.body, {photos: false}));
            if (grid) {
                body.append(grid);
            }
            entry.body = swap(entry.article, entry.body, body,
                              entry.head.nextSibling);
            entry.bodySig = bodySig;
        }
    }

    /* employees' buttons */
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

    /* its comment box, behind "Commenter" */
    const open = openComments.has(post.id) && !deleted;

    entry.opener.setAttribute('aria-expanded', String(open));
    entry.opener.hidden = open;
    if (open && !entry.form) {
        entry.form = commentForm(post, null);
        entry.block.append(entry.form);
    } else if (!open && entry.form) {
        entry.form.remove();
        entry.form = null;
    }
}

/* fresh: new for this reader (news.js), "Nouveau" in its heading */
function postHead(post, deleted, fresh) {
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
        el('h2', {className: 'post__date', id: `post-${post.id}-title`,
                  tabindex: '-1'},
           el('time', {datetime: post.created_at},
              formatDateTime(post.created_at)),
           fresh ? ' ' : null,
           fresh ? newTag() : null,
           el('span', {className: 'visually-hidden'},
              `, par ${post.author ? post.author.name : 'CLO'}`
              + stateWords(post, deleted))),
        tags.length ? el('p', {className: 'post__tags'}, ...tags) : null,
        el('p', {className: 'post__author'},
           `Par ${post.author ? post.author.name : 'CLO'}`,
           post.edited_at
               ? el('span', {className: 'post__edited'},
                    ` · modifiée le ${formatDateTime(post.edited_at)}`)
               : null));
}
