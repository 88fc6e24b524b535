/*
 * Who else is looking at the fiche right now, under its header:
 * "Marie Rousseau (CLO) consulte cette fiche", "Marie Rousseau (CLO) et
 * Paul Martin consultent cette fiche"; nothing when nobody else is there.
 *
 * The event stream (live.js) sends `event: presence` with
 * {"viewers":[{id, name, role}]}, the other users with a stream open on
 * this fiche, at once when it opens and whenever that set changes: each
 * one replaces the set shown.  While the stream is down the line is
 * hidden (it would be stale) and comes back with the next event.
 *
 * The line is a polite live region: a change is read out without moving
 * the focus; the same set again (a reconnection, a repeated event) is not
 * read again.
 */

import {isStaff} from '../ui.js';
import {state} from './state.js';

const MAX_NAMES = 3;

let shownKey = '[]';           /* the set on the line ('[]': nobody) */

function line() {
    return document.querySelector('[data-presence]');
}

/* "Marie Rousseau (CLO)": employees and admins are CLO's */
function label(viewer) {
    const name = typeof viewer.name === 'string' && viewer.name.trim()
        ? viewer.name.trim() : 'Quelqu’un';

    return isStaff(viewer.role) ? `${name} (CLO)` : name;
}

/* the words for a set of viewers, '' for none */
export function presenceText(viewers) {
    const names = viewers.map(label);

    if (names.length === 0) {
        return '';
    }
    if (names.length === 1) {
        return `${names[0]} consulte cette fiche`;
    }

    let who;

    if (names.length <= MAX_NAMES) {
        who = `${names.slice(0, -1).join(', ')} et ${names.at(-1)}`;
    } else {
        const others = names.length - (MAX_NAMES - 1);

        who = `${names.slice(0, MAX_NAMES - 1).join(', ')} et ${others} `
            + 'autres personnes';
    }
    return `${who} consultent cette fiche`;
}

/* the data of a presence event; a malformed one changes nothing */
export function showPresence(data) {
    let viewers;

    try {
        viewers = JSON.parse(data).viewers;
    } catch {
        return;
    }
    if (!Array.isArray(viewers)) {
        return;
    }

    /* each person once, never oneself (another tab of one's own) */
    const seen = new Set();
    const others = viewers.filter((v) => v && typeof v === 'object'
        && !(state.user && v.id === state.user.id)
        && !seen.has(v.id) && seen.add(v.id));

    others.sort((a, b) => label(a).localeCompare(label(b), 'fr'));

    const key = JSON.stringify(others.map((v) => [v.id, label(v)]));
    const node = line();

    if (!node) {
        return;
    }

    const text = presenceText(others);

    node.hidden = text === '';
    if (key === shownKey) {
        /* the same set: shown again after a cut, not read again */
        return;
    }
    shownKey = key;

    /*
     * Emptied, then filled a moment later: a region that has just been
     * shown is read out when its text changes after it appeared.
     */
    node.textContent = '';
    if (text) {
        window.setTimeout(() => {
            if (shownKey === key) {
                node.textContent = text;
            }
        }, 50);
    }
}

/* the stream is down or closed: the set would be stale */
export function hidePresence() {
    const node = line();

    if (node) {
        node.hidden = true;
    }
}
