/*
 * Quill Deltas ({"ops": [...]}) to DOM, and back to what the API accepts.
 *
 * renderDelta() builds the nodes with createElement and text nodes only:
 * a Delta is user data, so nothing of it ever goes through innerHTML.  It
 * knows the allow-list of the API (SPEC §4) and drops anything else
 * instead of trusting the server to have refused it: bold, italic,
 * underline, strike, size (small, large, huge), header 1-3, list (bullet,
 * ordered), link (http, https, mailto only), and {"image": "photo:<id>"}
 * embeds shown as <img src="api/photos/<id>">.
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
                runs.push({photo: id, attributes: {}});
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
        node.alt = 'Photo du chantier';
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

function fillLine(element, line) {
    if (line.runs.length === 0) {
        /* an empty line keeps its height, as in the editor */
        element.append(document.createElement('br'));
        return element;
    }

    for (const run of line.runs) {
        element.append(renderRun(run));
    }

    return element;
}

/*
 * A DocumentFragment for a Delta.  Quill's header 1-3 become h4-h6 with a
 * class, so that a post's headings sit below the page's own in the
 * outline (h1 title, h2 sections, h3 one post).
 */
export function renderDelta(delta) {
    const fragment = document.createDocumentFragment();
    let list = null;

    for (const line of lines(delta)) {
        if (line.block.list) {
            const tag = line.block.list === 'ordered' ? 'ol' : 'ul';

            if (!list || list.tagName.toLowerCase() !== tag) {
                list = document.createElement(tag);
                list.className = 'delta-list';
                fragment.append(list);
            }

            list.append(fillLine(document.createElement('li'), line));
            continue;
        }

        list = null;

        if (line.block.header) {
            const level = line.block.header + 3;
            const heading = document.createElement(`h${level}`);

            heading.className = `delta-h${line.block.header}`;
            fragment.append(fillLine(heading, line));
        } else {
            fragment.append(fillLine(document.createElement('p'), line));
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

    return ops.some((op) => photoId(op.insert) !== null);
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
            ops.push({insert: {image: op.insert.image}});
        }
    }

    return {ops};
}
