/*
 * The comments of a post as a tree of nodes, reconciled by id
 * (reconcile.js).  Replies are indented up to 3 levels, on a phone as on
 * a wide screen; deeper ones stay at that indentation and say whom they
 * answer.  Comments never change once written: a node that
 * stays only has its reply box opened or closed, and its "Nouveau"
 * marker (news.js) added once the previous visit is known.
 */

import {el, formatDateTime, isStaff} from '../ui.js';
import {commentActions, commentForm} from './comments.js';
import {isNewComment, newTag} from './news.js';
import {highlight, placeChildren} from './reconcile.js';
import {openReplies} from './state.js';

const commentNodes = new Map();  /* comment id -> its elements */

/*
 * The comments of one list into it: owner is the post's entry (depth 0)
 * or the comment's whose replies these are (parent).
 */
export function syncComments(owner, list, post, comments, depth, parent) {
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
export function forgetComments(ids) {
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
    const {actions, reply} = commentActions(comment);
    const meta = el('p', {className: 'comment__meta'},
        el('span', {className: 'comment__author'}, author.name || ''),
        isStaff(author.role)
            ? el('span', {className: 'tag tag--staff'}, 'CLO') : null,
        el('span', {className: 'comment__date'},
           el('time', {datetime: comment.created_at},
              formatDateTime(comment.created_at))));
    const box = el('div', {className: 'comment__box', 'data-anchor': id,
                           tabindex: '-1'},
        meta,
        depth > 3 && parent
            ? el('p', {className: 'comment__reply-to'},
                 `En réponse à ${parent.author ? parent.author.name : ''}`)
            : null,
        el('p', {className: 'comment__body'}, comment.body),
        actions);

    const classes = ['comments', 'comments--replies'];

    if (depth + 1 > 3) {
        classes.push('comments--flat');
    }

    const replies = el('ol', {className: classes.join(' ')});

    return {
        li: el('li', {className: 'comment', id,
                      'data-comment-id': comment.id}, box, replies),
        box,
        meta,
        marker: null,            /* "Nouveau" (news.js), once known */
        reply,
        form: null,
        replies,
        comments: new Set(),
    };
}

function updateComment(entry, post, comment, depth) {
    const open = openReplies.has(comment.id);
    const replies = comment.replies || [];
    const fresh = isNewComment(comment);

    /* new for this reader: known after the first draw (PUT seen) */
    if (fresh && !entry.marker) {
        entry.marker = newTag();
        entry.meta.append(entry.marker);
    } else if (!fresh && entry.marker) {
        entry.marker.remove();
        entry.marker = null;
    }

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
