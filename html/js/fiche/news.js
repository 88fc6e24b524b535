/*
 * What is new for this reader: the posts and comments written by others
 * since their previous visit of the fiche, marked "Nouveau", and the link
 * "Aller à la première nouveauté".
 *
 * The fiche document is the same for everybody; the per-user part is the
 * answer of the first PUT fiches/{id}/seen of the page ({previous_seen_at},
 * fiche.js).  The page sends that PUT again when it is hidden or left,
 * whose answer is then this very visit: only the first answer counts, so
 * the markers stay as they are while the page is open.
 *
 *   - an item is new when someone else wrote it at or after the previous
 *     visit (the API gives times to the second: ">=" rather than miss a
 *     post written in the second of the visit), or when it arrived live
 *     while the page was open (reading.js says which);
 *   - a first visit (previous_seen_at null) marks nothing that was there
 *     when the page opened: everything would be new, which says nothing.
 *     What arrives while it is open is marked, as on any other visit;
 *   - "Aller à la première nouveauté" goes to the oldest new item (a post
 *     or a comment), drawing the older posts up to it if need be
 *     (reading.js's window), and focuses it.
 */

import {el, formatDateTime, plural} from '../ui.js';
import {drawUpTo} from './reading.js';
import {redraw, state} from './state.js';

const news = {
    since: null,               /* previous_seen_at, once known */
    arrived: new Set(),        /* 'post-N' / 'comment-N' arrived live */
};

function mine(item) {
    return !!(item.author && state.user && item.author.id === state.user.id);
}

function isNew(item, key) {
    if (mine(item)) {
        return false;
    }
    return news.arrived.has(key)
        || (news.since !== null && typeof item.created_at === 'string'
            && item.created_at >= news.since);
}

export function isNewPost(post) {
    return isNew(post, `post-${post.id}`);
}

export function isNewComment(comment) {
    return isNew(comment, `comment-${comment.id}`);
}

/*
 * The answer of the page's first PUT seen: the previous visit, or null.
 * Later answers are this visit's own and are ignored.
 */
let known = false;

export function setPreviousVisit(previous) {
    if (known) {
        return;
    }
    known = true;
    news.since = typeof previous === 'string' ? previous : null;
    redraw();
}

/* posts and comments that arrived live (reading.js, before drawing) */
export function noteArrivals(posts, comments) {
    for (const post of posts) {
        news.arrived.add(`post-${post.id}`);
    }
    for (const comment of comments) {
        news.arrived.add(`comment-${comment.id}`);
    }
}

/* the "Nouveau" marker of a post's heading or a comment's line */
export function newTag() {
    return el('span', {className: 'tag tag--new tag--marker'},
              'Nouveau');
}

/* the new items of the fiche, oldest first: [{kind, id, postId, at}] */
function newItems(fiche) {
    const items = [];

    function walk(post, comments) {
        for (const comment of comments || []) {
            if (isNewComment(comment)) {
                items.push({kind: 'comment', id: comment.id, postId: post.id,
                            at: comment.created_at});
            }
            walk(post, comment.replies);
        }
    }

    for (const post of fiche.posts || []) {
        if (isNewPost(post)) {
            items.push({kind: 'post', id: post.id, postId: post.id,
                        at: post.created_at});
        }
        walk(post, post.comments);
    }

    items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1
                          : a.kind === b.kind ? a.id - b.id
                              : a.kind === 'post' ? -1 : 1));
    return items;
}

/* draws the item's post if need be, scrolls to the item and focuses it */
function goToItem(item) {
    drawUpTo(item.postId);

    const target = item.kind === 'post'
        ? document.getElementById(`post-${item.id}-title`)
        : document.querySelector(`#comment-${item.id} > .comment__box`);

    if (target) {
        target.scrollIntoView({block: 'start'});
        target.focus({preventScroll: true});
    }
}

/* the summary above the posts and its link; after every draw (render.js) */
export function showNews() {
    const box = document.querySelector('[data-whats-new]');

    if (!box || !state.fiche) {
        return;
    }

    const items = newItems(state.fiche);
    const posts = items.filter((i) => i.kind === 'post').length;
    const comments = items.length - posts;
    const parts = [];

    if (posts) {
        parts.push(plural(posts, 'nouvelle publication',
                          'nouvelles publications'));
    }
    if (comments) {
        parts.push(plural(comments, 'nouveau commentaire',
                          'nouveaux commentaires'));
    }

    box.hidden = items.length === 0;
    if (!items.length) {
        return;
    }

    box.querySelector('[data-whats-new-text]').textContent = news.since
        ? `Depuis votre dernière visite, le ${formatDateTime(news.since)} : `
            + `${parts.join(' et ')}.`
        : `Depuis l’ouverture de la page : ${parts.join(' et ')}.`;
}

/* the link, once, before the first draw */
export function setUpNews() {
    const link = document.querySelector('[data-jump-new]');

    if (!link) {
        return;
    }

    link.addEventListener('click', (event) => {
        const items = state.fiche ? newItems(state.fiche) : [];

        event.preventDefault();
        if (items.length) {
            goToItem(items[0]);
        }
    });
}
