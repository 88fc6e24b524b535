/*
 * Where the user is, kept across a redraw: the block at the top of the
 * window stays where it was, and the focused field (a comment box with its
 * selection, or the editor of a post being edited) keeps the focus.
 *
 *   const anchor = scrollAnchor(), focus = focusState();
 *   ... redraw ...
 *   restoreFocus(focus); restoreScroll(anchor);
 */

import {editing} from './state.js';

/*
 * The element at the top of the window (a post's head or body, a
 * comment, the new post form: [data-anchor]) and its distance to the top.
 */
export function scrollAnchor() {
    for (const node of document.querySelectorAll('[data-anchor]')) {
        const rect = node.getBoundingClientRect();

        if (rect.bottom > 0 && rect.height > 0) {
            return {key: node.dataset.anchor, top: rect.top};
        }
    }

    return null;
}

export function restoreScroll(anchor) {
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
export function focusState() {
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

export function restoreFocus(saved) {
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
