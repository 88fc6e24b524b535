/*
 * Reading a long fiche: which posts are drawn, in which order, and what
 * the reader is told of the others' news.
 *
 *   - order: newest first by default; the switch "Du plus ancien au plus
 *     récent" gives the chronological reading, remembered (localStorage).
 *   - a first screenful (PAGE posts), then PAGE more each time the button
 *     "Publications précédentes" (or "suivantes") is pressed or comes into
 *     view (IntersectionObserver; the button also works without it, with
 *     the keyboard).  Posts that arrive live are drawn too, so that the
 *     window never loses a post from its end.
 *   - "Aller à la dernière publication" (oldest first: newest first it
 *     would name the post right below it): draws it if needed, scrolls to
 *     it and focuses its heading.
 *   - others' news: "Marie Rousseau a publié", "1 nouveau commentaire" in a
 *     polite live region; a new post out of view gives a banner
 *     "1 nouvelle publication" that scrolls to it.
 *
 * render.js asks visiblePosts() which posts to draw, noticeChanges()
 * before drawing and afterDraw() once drawn.
 */

import {plural} from '../ui.js';
import {noteArrivals} from './news.js';
import {editing, redraw, state} from './state.js';

export const PAGE = 10;
const ORDER_KEY = 'clo.fiche.order';

const reading = {
    order: 'newest',            /* or 'oldest' */
    limit: PAGE,                /* how many posts are drawn */
    known: null,                /* ids of the posts seen, after the first draw */
    knownComments: null,        /* and of the comments */
    total: 0,                   /* posts in the fiche at the last draw */
    pending: new Set(),         /* new posts by others not seen yet */
    focusAfter: null,           /* a post id whose heading gets the focus */
    observer: null,
    seen: null,                 /* IntersectionObserver of pending posts */
};

function loadOrder() {
    try {
        return window.localStorage.getItem(ORDER_KEY) === 'oldest'
            ? 'oldest' : 'newest';
    } catch {
        return 'newest';
    }
}

function saveOrder(order) {
    try {
        if (order === 'oldest') {
            window.localStorage.setItem(ORDER_KEY, 'oldest');
        } else {
            window.localStorage.removeItem(ORDER_KEY);
        }
    } catch {
        /* remembered for this page only */
    }
}

export function byOrder(a, b) {
    const sign = reading.order === 'oldest' ? 1 : -1;

    if (a.created_at !== b.created_at) {
        return a.created_at < b.created_at ? -sign : sign;
    }
    return (a.id - b.id) * sign;
}

/* the posts to draw, in order, among items (all of them) */
export function visiblePosts(items) {
    items.sort(byOrder);

    return items.filter((post, i) => i < reading.limit
                        || editing.has(post.id));
}

/*
 * The window drawn down to post id at least (a jump to it: the banner,
 * "Aller à la dernière publication", "Aller à la première nouveauté"),
 * then drawn: the posts before it in the reading order, not all of them.
 */
export function drawUpTo(id) {
    if (document.getElementById(`post-${id}`)) {
        return;
    }

    const sorted = [...(state.fiche.posts || [])].sort(byOrder);
    const index = sorted.findIndex((p) => p.id === id);

    /* the posts of an open editor are drawn whatever the window */
    reading.limit = Math.max(reading.limit, index < 0 ? reading.total + 1000
                             : index + 1 + editing.size);
    redraw();
}

/* the comment ids of a tree */
function hasComment(comments, id) {
    return (comments || []).some((c) => c.id === id
                                  || hasComment(c.replies, id));
}

/*
 * What changed since the last draw, said to screen readers; the limit
 * follows the posts that arrive.  fiche is the new one, before drawing.
 */
export function noticeChanges(fiche) {
    const posts = fiche.posts || [];

    const comments = [];

    for (const post of posts) {
        collect(post.comments, comments);
    }

    if (!reading.known) {
        reading.known = new Set(posts.map((p) => p.id));
        reading.knownComments = new Set(comments.map((c) => c.id));
        reading.total = posts.length;
        firstDraw(posts);
        return;
    }

    const fresh = posts.filter((p) => !reading.known.has(p.id));
    const newComments = comments.filter(
        (c) => !reading.knownComments.has(c.id));
    const mine = (who) => who && state.user && who.id === state.user.id;
    const theirs = fresh.filter((p) => !mine(p.author));
    const theirComments = newComments.filter((c) => !mine(c.author));

    /* the drawn window grows with the posts that arrive */
    if (reading.order === 'newest' || reading.limit >= reading.total) {
        reading.limit += fresh.length;
    }

    for (const post of fresh) {
        reading.known.add(post.id);
    }
    for (const comment of newComments) {
        reading.knownComments.add(comment.id);
    }
    for (const post of theirs) {
        reading.pending.add(post.id);
    }
    /* marked "Nouveau" too (news.js), as long as the page is open */
    noteArrivals(theirs, theirComments);
    reading.total = posts.length;

    const parts = [];
    const authors = new Map();

    for (const post of theirs) {
        const name = post.author ? post.author.name : 'CLO';

        authors.set(name, (authors.get(name) || 0) + 1);
    }
    for (const [name, n] of authors) {
        parts.push(n === 1 ? `${name} a publié`
                   : `${name} a publié ${n} publications`);
    }
    if (theirComments.length) {
        parts.push(theirComments.length === 1 ? '1 nouveau commentaire'
                   : `${theirComments.length} nouveaux commentaires`);
    }
    if (parts.length) {
        announceOthers(`${parts.join('. ')}.`);
    }
}

/* the comments of a tree, replies included, into a list */
function collect(comments, into) {
    for (const comment of comments || []) {
        into.push(comment);
        collect(comment.replies, into);
    }
}

/* a link to a post or a comment (#post-12, #comment-40): drawn at once */
function firstDraw(posts) {
    const m = /^#(post|comment)-(\d+)$/.exec(window.location.hash);

    if (!m) {
        return;
    }

    const id = Number(m[2]);
    const target = m[1] === 'post'
        ? posts.find((p) => p.id === id)
        : posts.find((p) => hasComment(p.comments, id));

    if (target) {
        const sorted = [...posts].sort(byOrder);

        reading.limit = Math.max(reading.limit,
                                 sorted.indexOf(target) + 1);
    }
}

/* the polite live region of the others' news */
function announceOthers(message) {
    const region = document.querySelector('[data-announce-others]');

    if (!region) {
        return;
    }
    region.textContent = '';
    window.setTimeout(() => {
        region.textContent = message;
    }, 50);
}

function inView(node) {
    const rect = node.getBoundingClientRect();

    return rect.bottom > 0 && rect.top < window.innerHeight
        && rect.height > 0;
}

/* a post's heading, focused (tabindex -1), and the post in view */
export function focusPost(id, {scroll = true} = {}) {
    const heading = document.getElementById(`post-${id}-title`);

    if (!heading) {
        return false;
    }
    heading.focus({preventScroll: !scroll});
    return true;
}

/* once drawn: the button, the jump link, the banner */
export function afterDraw(shownCount) {
    const more = document.querySelector('[data-more]');
    const moreHint = document.querySelector('[data-more-hint]');
    const rest = reading.total - shownCount;
    const tools = document.querySelector('[data-posts-tools]');

    tools.hidden = reading.total === 0;
    /* newest first, the newest post is the one right below the link */
    document.querySelector('[data-jump-latest-box]').hidden =
        reading.order === 'newest';
    more.textContent = reading.order === 'oldest' ? 'Publications suivantes'
        : 'Publications précédentes';
    moreHint.textContent = rest > 0
        ? (rest === 1 ? 'Encore 1 publication'
           : `Encore ${rest} publications`)
        : '';
    more.closest('[data-more-box]').hidden = rest <= 0;

    if (rest > 0 && reading.observer) {
        /* observed again: an answer even if it stayed in view */
        reading.observer.unobserve(more);
        reading.observer.observe(more);
    }

    /* the new posts by others: seen if they are in view */
    for (const id of [...reading.pending]) {
        const node = document.getElementById(`post-${id}`);

        if (!node || !reading.known.has(id)) {
            reading.pending.delete(id);
        } else if (inView(node)) {
            reading.pending.delete(id);
        } else if (reading.seen) {
            reading.seen.observe(node);
        }
    }
    showBanner();

    if (reading.focusAfter !== null) {
        const id = reading.focusAfter;

        reading.focusAfter = null;
        focusPost(id);
    }
}

function showBanner() {
    const banner = document.querySelector('[data-new-banner]');
    const n = reading.pending.size;

    banner.querySelector('button').textContent =
        plural(n, 'nouvelle publication', 'nouvelles publications');
    banner.hidden = n === 0;
}

function newestPost() {
    const posts = [...(state.fiche.posts || [])];

    posts.sort((a, b) => (a.created_at < b.created_at ? 1
                          : a.created_at > b.created_at ? -1 : b.id - a.id));
    return posts[0] || null;
}

/* draws post id if needed, then scrolls to its heading and focuses it */
export function goToPost(id) {
    drawUpTo(id);

    const heading = document.getElementById(`post-${id}-title`);

    if (heading) {
        heading.scrollIntoView({block: 'start'});
        focusPost(id, {scroll: false});
    }
}

function loadMore(byHand) {
    const before = document.querySelectorAll('[data-posts] > .post').length;

    reading.limit += PAGE;
    redraw();

    if (byHand) {
        const first = document.querySelectorAll('[data-posts] > .post')[before];

        if (first) {
            focusPost(Number(first.dataset.postId), {scroll: false});
        }
    }
}

/* the controls of the reading, once, before the first draw */
export function setUpReading() {
    const toggle = document.getElementById('order-oldest');
    const more = document.querySelector('[data-more]');
    const jump = document.querySelector('[data-jump-latest]');
    const banner = document.querySelector('[data-new-banner]');

    reading.order = loadOrder();
    toggle.checked = reading.order === 'oldest';

    toggle.addEventListener('change', () => {
        reading.order = toggle.checked ? 'oldest' : 'newest';
        reading.limit = PAGE;
        saveOrder(reading.order);
        redraw();
        toggle.scrollIntoView({block: 'nearest'});
    });

    more.addEventListener('click', () => loadMore(true));

    if (typeof window.IntersectionObserver === 'function') {
        /* a little before it shows: the reader does not wait */
        reading.observer = new IntersectionObserver((entries) => {
            if (entries.some((e) => e.isIntersecting)
                && !more.closest('[data-more-box]').hidden)
            {
                loadMore(false);
            }
        }, {rootMargin: '0px 0px 400px 0px'});
        reading.seen = new IntersectionObserver((entries) => {
            for (const entry of entries) {
                if (entry.isIntersecting) {
                    reading.pending.delete(
                        Number(entry.target.dataset.postId));
                    reading.seen.unobserve(entry.target);
                }
            }
            showBanner();
        });
    }

    jump.addEventListener('click', (event) => {
        const post = newestPost();

        event.preventDefault();
        if (post) {
            goToPost(post.id);
        }
    });

    banner.querySelector('button').addEventListener('click', () => {
        const ids = [...reading.pending];
        const posts = (state.fiche.posts || []).filter(
            (p) => ids.includes(p.id));

        posts.sort(byOrder);
        reading.pending.clear();
        showBanner();
        if (posts.length) {
            goToPost(posts[0].id);
        }
    });
}

/* the post that gets the focus once the next draw is done */
export function focusAfterDraw(id) {
    reading.focusAfter = id;
}


