/*
 * The page is drawn by keyed reconciliation: every post and every comment
 * keeps its element from one fiche to the next (by id); only what changed
 * is replaced, new items are inserted and gone ones removed.  A node that
 * stays is never moved, so a comment box being typed in keeps its text,
 * its focus and its selection, and an open editor is never touched,
 * whatever arrives from the others.  These are the moves it is made of.
 */

const HIGHLIGHT_MS = 4000;

let drawn = false;               /* the first drawing highlights nothing */

/* called once the page has been drawn: new items are marked from now on */
export function drawingDone() {
    drawn = true;
}

/* a new item, briefly marked (CSS animation, or a plain tint) */
export function highlight(node) {
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
export function placeChildren(parent, wanted) {
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

/* puts node in place of old (or before next when there was none) */
export function swap(parent, old, node, next) {
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
