/*
 * Quill Deltas ({"ops": [...]}) to DOM, and back to what the API accepts.
 *
 * renderDelta() builds the nodes with createElement and text nodes only:
 * a Delta is user data, so nothing of it ever goes through innerHTML.  It
 * knows the allow-list of the API (SPEC §4) and drops anything else
 * instead of trusting the server to have refused it: bold, italic,
 * underline, strike, size (small, large, huge), header 1-3, list (bullet,
 * ordered), link (http, https, mailto only), and {"image": "photo:<id>"}
 * embeds (with an optional "alt", at most 200 characters) shown as
 * <img src="api/photos/<id>">.  A post's photos are usually drawn apart,
 * as a grid (fiche/gallery.js): renderDelta(delta, {photos: false}) then
 * leaves them out, and deltaPhotos() lists them.
 *
 * A Delta document is a list of inserts; a "\n" ends a line and carries
 * the line's block attributes (header, list), the other inserts carry the
 * inline ones.
 */

import {apiUrl} from './api.js';

const SIZES = new Set(['small', 'large', 'huge']);
const LISTS = new Set(['bullet', 'ordered']);
const PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
const PHOTO = /^photo:([1-9][0-9]{0,17})$/;

/* the longest description of a photo (SPEC §3), in characters */
export const MAX_ALT = 200;

/* the URL when it is an absolute http, https or mailto one, else null */
export function safeHref(value) {
    let url;

    if (typeof value !== 'string') {
        return null;
    }

    try {
        url = new URL(value.trim());
    } catch {
        return null;
    }

    return PROTOCOLS.has(url.protocol) ? url.href : null;
}

function photoId(insert) {
    const m = insert && typeof insert.image === 'string'
        ? PHOTO.exec(insert.image) : null;

    return m ? m[1] : null;
}

/* the description of a photo op: a trimmed string, or '' */
function photoAlt(attributes) {
    const alt = attributes && typeof attributes.alt === 'string'
        ? attributes.alt.trim() : '';

    return [...alt].length <= MAX_ALT ? alt : [...alt].slice(0, MAX_ALT)
        .join('');
}

/* the allowed inline attributes of an op, normalised */
function inlineAttributes(attributes) {
    const a = {};

    if (!attributes || typeof attributes !== 'object') {
        return a;
    }

    for (const name of ['bold', 'italic', 'underline', 'strike']) {
        if (attributes[name] === true) {
            a[name] = true;
        }
    }

    if (SIZES.has(attributes.size)) {
        a.size = attributes.size;
    }

    const href = safeHref(attributes.link);

    if (href) {
        a.link = href;
    }

    return a;
}

function blockAttributes(attributes) {
    const a = {};

    if (!attributes || typeof attributes !== 'object') {
        return a;
    }

    if ([1, 2, 3].includes(attributes.header)) {
        a.header = attributes.header;
    } else if (LISTS.has(attributes.list)) {
        a.list = attributes.list;
    }

    return a;
}

/*
 * [{runs: [{text | photo, attributes}], block: {header?, list?}}]: the
 * lines of a Delta.  Text after the last "\n" (Quill always ends with one)
 * is a line of its own.
 */
function lines(delta) {
    const ops = delta && Array.isArray(delta.ops) ? delta.ops : [];
    const result = [];
    let runs = [];

    for (const op of ops) {
        if (!op || typeof op !== 'object') {
            continue;
        }

        if (typeof op.insert === 'string') {
            const parts = op.insert.split('\n');

            parts.forEach((text, i) => {
                if (i > 0) {
                    result.push({runs, block: blockAttributes(op.attributes)});
                    runs = [];
                }

                if (text !== '') {
                    runs.push({text,
                               attributes: inlineAttributes(op.attributes)});
                }
            });
        } else if (op.insert && typeof op.insert === 'object') {
            const id = photoId(op.insert);

            if (id) {
                runs.push({photo: id, alt: photoAlt(op.attributes),
                           attributes: {}});
            }
        }
    }

    if (runs.length) {
        result.push({runs, block: {}});
    }

    return result;
}

/* one run: the text (or photo) wrapped in its formats, link outermost */
function renderRun(run) {
    const a = run.attributes;
    let node;

    if (run.photo) {
        node = document.createElement('img');
        node.src = apiUrl(`photos/${run.photo}`);
        node.alt = run.alt || 'Photo du chantier';
        node.className = 'delta-photo';
        node.loading = 'lazy';
        return node;
    }

    node = document.createTextNode(run.text);

    const wrap = (tag, className) => {
        const outer = document.createElement(tag);

        if (className) {
            outer.className = className;
        }

        outer.append(node);
        node = outer;
    };

    if (a.size) {
        wrap('span', `delta-size-${a.size}`);
    }
    if (a.strike) {
        wrap('s');
    }
    if (a.underline) {
        wrap('u');
    }
    if (a.italic) {
        wrap('em');
    }
    if (a.bold) {
        wrap('strong');
    }
    if (a.link) {
        const link = document.createElement('a');

        link.href = a.link;
        link.rel = 'noopener noreferrer';
        link.target = '_blank';
        link.append(node);
        node = link;
    }

    return node;
}

function fillLine(element, line, photos) {
    const runs = photos ? line.runs : line.runs.filter((run) => !run.photo);

    if (runs.length === 0) {
        /* an empty line keeps its height, as in the editor */
        element.append(document.createElement('br'));
        return element;
    }

    for (const run of runs) {
        element.append(renderRun(run));
    }

    return element;
}

/* a line made of photos only: nothing left of it without them */
function onlyPhotos(line) {
    return line.runs.length > 0 && line.runs.every((run) => run.photo);
}

/*
 * A DocumentFragment for a Delta.  Quill's headers 1-3 become h3-h5 with a
 * class (delta-h1..3, their look), so that a post's headings sit below
 * the page's own in the outline (h1 the fiche, h2 a post): the highest
 * level the post uses is h3, the others follow (a post of "header 2"
 * titles has h3s, never a gap).  options.photos false: the photos are
 * left out (and the lines that held only photos).
 */
export function renderDelta(delta, options = {}) {
    const photos = options.photos !== false;
    const fragment = document.createDocumentFragment();
    const all = lines(delta);
    const top = Math.min(4, ...all.map((line) => line.block.header || 4));
    let list = null;

    for (const line of all) {
        if (!photos && onlyPhotos(line)) {
            continue;
        }

        if (line.block.list) {
            const tag = line.block.list === 'ordered' ? 'ol' : 'ul';

            if (!list || list.tagName.toLowerCase() !== tag) {
                list = document.createElement(tag);
                list.className = 'delta-list';
                fragment.append(list);
            }

            list.append(fillLine(document.createElement('li'), line,
                                 photos));
            continue;
        }

        list = null;

        if (line.block.header) {
            const level = line.block.header - top + 3;
            const heading = document.createElement(`h${level}`);

            heading.className = `delta-h${line.block.header}`;
            fragment.append(fillLine(heading, line, photos));
        } else {
            fragment.append(fillLine(document.createElement('p'), line,
                                     photos));
        }
    }

    return fragment;
}

/* the plain text of a Delta (length checks, empty posts) */
export function deltaText(delta) {
    const ops = delta && Array.isArray(delta.ops) ? delta.ops : [];

    return ops.map((op) => (typeof op.insert === 'string' ? op.insert : ''))
        .join('');
}

export function deltaHasPhoto(delta) {
    const ops = delta && Array.isArray(delta.ops) ? delta.ops : [];

    return ops.some((op) => op && photoId(op.insert) !== null);
}

/* the photos of a Delta in their order: [{id (a number), alt}] */
export function deltaPhotos(delta) {
    const ops = delta && Array.isArray(delta.ops) ? delta.ops : [];
    const photos = [];

    for (const op of ops) {
        const id = op ? photoId(op.insert) : null;

        if (id) {
            photos.push({id: Number(id), alt: photoAlt(op.attributes)});
        }
    }

    return photos;
}

/*
 * A post's body as the editor holds it: {text: the Delta without its
 * photos, photos: deltaPhotos()}.  The line that held only photos (as
 * withPhotos() writes them) goes with them, so that text and photos put
 * back together give the same Delta.
 */
export function splitPhotos(delta) {
    const ops = delta && Array.isArray(delta.ops) ? delta.ops : [];
    const text = [];
    let atLineStart = true;     /* nothing on the current line yet */
    let photoLine = false;      /* the current line holds photos only */

    for (const op of ops) {
        if (!op || op.insert === undefined) {
            continue;
        }

        if (typeof op.insert !== 'string') {
            if (photoId(op.insert)) {
                photoLine = atLineStart || photoLine;
                atLineStart = false;
            }
            continue;
        }

        let insert = op.insert;

        /* the end of a line of photos only: its newline goes too */
        if (photoLine && insert.startsWith('\n') && !op.attributes) {
            insert = insert.slice(1);
            atLineStart = true;
        }
        photoLine = false;

        if (insert !== '') {
            text.push(op.attributes ? {insert, attributes: op.attributes}
                : {insert});
            atLineStart = insert.endsWith('\n');
        }
    }

    return {text: {ops: text}, photos: deltaPhotos(delta)};
}

/*
 * The body of a post: the text of the editor, then its photos
 * ([{id, alt}]) on a line of their own; photos only when the text is
 * empty.  The reverse of splitPhotos().
 */
export function withPhotos(text, photos) {
    if (!photos.length) {
        return text;
    }

    const ops = deltaText(text).trim() === '' ? []
        : [...(text.ops || [])];
    const last = ops[ops.length - 1];

    if (last && !(typeof last.insert === 'string'
                  && last.insert.endsWith('\n')))
    {
        ops.push({insert: '\n'});
    }

    for (const photo of photos) {
        const op = {insert: {image: `photo:${photo.id}`}};
        const alt = photoAlt({alt: photo.alt});

        if (alt) {
            op.attributes = {alt};
        }
        ops.push(op);
    }
    ops.push({insert: '\n'});

    return {ops};
}

/*
 * A link as typed in the editor's box: "www.clo.fr" or "clo.fr/devis"
 * means https; anything that is not http, https or mailto is no link.
 */
function typedHref(value) {
    if (typeof value !== 'string') {
        return null;
    }

    const text = value.trim();

    if (/^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}([/?#:].*)?$/i.test(text)) {
        return safeHref(`https://${text}`);
    }

    if (/^[^\s@:/]+@[^\s@:/]+\.[a-z]{2,}$/i.test(text)) {
        return safeHref(`mailto:${text}`);
    }

    return safeHref(text);
}

/*
 * The Delta from the editor reduced to the allow-list, so that a paste
 * from elsewhere (a colour, a check list, a javascript: link) does not
 * make the server refuse the whole post.  Text is never dropped.
 */
export function cleanDelta(delta) {
    const ops = [];
    const source = delta && Array.isArray(delta.ops) ? delta.ops : [];

    for (const op of source) {
        if (!op || op.insert === undefined) {
            continue;
        }

        if (typeof op.insert === 'string') {
            const typed = op.attributes
                ? {...op.attributes, link: typedHref(op.attributes.link)}
                : null;
            const attributes = op.insert.includes('\n')
                ? {...inlineAttributes(typed), ...blockAttributes(typed)}
                : inlineAttributes(typed);
            const clean = {insert: op.insert};

            if (Object.keys(attributes).length) {
                clean.attributes = attributes;
            }

            ops.push(clean);
        } else if (photoId(op.insert)) {
            /* exactly {"image": "photo:<id>"}, with its alt if any */
            const clean = {insert: {image: op.insert.image}};
            const alt = photoAlt(op.attributes);

            if (alt) {
                clean.attributes = {alt};
            }

            ops.push(clean);
        }
    }

    return {ops};
}
