/*
 * Shared page helpers: el(), field errors (GOV.UK pattern; the summary at
 * the top of the page is layout.js's), French dates and words, the
 * confirmation dialog.  User data only ever goes into the page through
 * textContent and DOM calls.
 */

import {ApiError, MESSAGES} from './api.js';

/* el('p', {className: 'x'}, 'text', child, ...) */
export function el(tag, props, ...children) {
    const node = document.createElement(tag);

    if (props) {
        for (const [name, value] of Object.entries(props)) {
            if (value === undefined || value === null) {
                continue;
            }

            if (name === 'className' || name === 'href' || name === 'id'
                || name === 'hidden' || name === 'type')
            {
                node[name] = value;
            } else {
                node.setAttribute(name, value);
            }
        }
    }

    for (const child of children) {
        if (child === null || child === undefined || child === false) {
            continue;
        }

        node.append(child instanceof Node ? child : String(child));
    }

    return node;
}

/* "Erreur : " before a message, for screen readers and in the title */
export const ERROR_PREFIX = 'Erreur : ';

/*
 * The text of an error paragraph (GOV.UK: "Erreur : " read out before the
 * message, not shown); message null empties and hides it.
 */
export function setErrorText(node, message) {
    if (message) {
        node.replaceChildren(el('span', {className: 'visually-hidden'},
                                ERROR_PREFIX), message);
        node.hidden = false;
    } else {
        node.replaceChildren();
        node.hidden = true;
    }
}

/*
 * The message above a field (<p class="field-error" id="FIELD-error"> in
 * its .form-group), tied to it by aria-describedby; message null clears
 * it.  The field may be out of the page (a form being redrawn).
 */
export function setFieldError(field, message) {
    const group = field.closest('.form-group');
    const error = group.querySelector(`#${CSS.escape(`${field.id}-error`)}`);
    const ids = (field.getAttribute('aria-describedby') || '')
        .split(/\s+/).filter((id) => id && id !== error.id);

    setErrorText(error, message);
    group.classList.toggle('form-group--error', !!message);
    field.classList.toggle('input--error', !!message);
    if (message) {
        field.setAttribute('aria-invalid', 'true');
        ids.unshift(error.id);
    } else {
        field.removeAttribute('aria-invalid');
    }

    if (ids.length) {
        field.setAttribute('aria-describedby', ids.join(' '));
    } else {
        field.removeAttribute('aria-describedby');
    }
}

/* each field gets the message of errors ([{field: id, message}]) for it */
export function setFieldErrors(fields, errors) {
    for (const field of fields) {
        setFieldError(field, errors.find((e) => e.field === field.id)
                             ?.message);
    }
}

/* a message fit for the user, whatever was thrown */
export function errorMessage(error) {
    if (error instanceof ApiError) {
        if (error.status === 0) {
            return MESSAGES.network;
        }

        if (error.status === 503) {
            return MESSAGES.unavailable;
        }

        return error.message;
    }

    console.error(error);

    return MESSAGES.unexpected;
}

/* '2026-03-01' -> '01/03/2026' (dates carry no time zone) */
export function formatDate(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');

    return m ? `${m[3]}/${m[2]}/${m[1]}` : '';
}

const LONG_DATE = new Intl.DateTimeFormat('fr-FR', {
    timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric',
});
const PARIS_DAY = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit',
    day: '2-digit',
});

/* '2027-03-01' -> '1 mars 2027' */
export function longDate(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');

    return m ? LONG_DATE.format(new Date(Date.UTC(+m[1], m[2] - 1, +m[3])))
        : '';
}

/* today in Paris, 'YYYY-MM-DD' */
export function parisToday(now = new Date()) {
    return PARIS_DAY.format(now);
}

/*
 * The end a chantier aims at now: the revised one, or else the planned
 * one (of a fiche's header or a fiche summary).
 */
export function currentEnd(header) {
    return header.revised_end_date || header.planned_end_date || null;
}

/*
 * "En retard": not finished, and today (in Paris) after its current end.
 * fiche: a fiche (its dates in header) or a summary (its dates in it).
 */
export function isLate(fiche, today = parisToday()) {
    const end = currentEnd(fiche.header || fiche);

    return fiche.status !== 'finished' && !!end && today > end;
}

const PARIS = new Intl.DateTimeFormat('fr-FR', {
    timeZone: 'Europe/Paris',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
});

/* '2026-11-23T13:05:00Z' -> '23/11/2026 à 14:05' (Paris time) */
export function formatDateTime(iso) {
    const when = new Date(iso);

    if (!iso || Number.isNaN(when.getTime())) {
        return '';
    }

    const parts = {};

    for (const part of PARIS.formatToParts(when)) {
        parts[part.type] = part.value;
    }

    return `${parts.day}/${parts.month}/${parts.year} à `
        + `${parts.hour}:${parts.minute}`;
}

/* '2026-11-23T22:30:00Z' -> '23/11/2026' (the day in Paris) */
export function formatDay(iso) {
    const text = formatDateTime(iso);

    return text ? text.slice(0, 10) : '';
}

export function fullName(user) {
    return [user.first_name, user.last_name].filter(Boolean).join(' ');
}

/* one name per state, the same on every page */
export const STATUS_LABELS = {
    in_progress: 'Chantier en cours',
    finished: 'Chantier terminé',
    late: 'En retard',
};

/* an employee or an admin: CLO's side */
export function isStaff(role) {
    return role === 'employee' || role === 'admin';
}

/* a postal address as its lines: street, complement, "75011 Paris" */
export function addressLines(address) {
    if (!address) {
        return [];
    }

    return [
        address.line1,
        address.line2,
        [address.postal_code, address.city].filter(Boolean).join(' '),
    ].filter(Boolean);
}

/* plural(2, 'réponse', 'réponses') -> '2 réponses' */
export function plural(n, one, many) {
    return n === 1 ? `1 ${one}` : `${n} ${many}`;
}

/* the length of a text as the API counts it (characters, not UTF-16) */
export function codePoints(text) {
    return [...text].length;
}

/*
 * Says message to screen readers through the page's polite live region
 * ([data-announce]); emptied first so that the same words are read again.
 */
export function announce(message) {
    const region = document.querySelector('[data-announce]');

    region.textContent = '';
    window.setTimeout(() => {
        region.textContent = message;
    }, 50);
}

/*
 * A modal confirmation (<dialog>): resolves true when the user confirms,
 * false when they cancel, press Escape or close it.  The cancel button has
 * the focus first, so that Enter does not destroy anything by accident.
 *
 *   if (await confirmDialog({title, text, confirm: 'Supprimer'})) ...
 */
export function confirmDialog({title, text, confirm, cancel = 'Annuler'}) {
    const titleId = `dialog-title-${Date.now()}`;
    const cancelButton = el('button', {
        type: 'button',
        className: 'button button--secondary',
    }, cancel);
    const confirmButton = el('button', {
        type: 'button',
        className: 'button button--danger',
    }, confirm);
    const paragraphs = (Array.isArray(text) ? text : [text])
        .map((line) => el('p', null, line));
    const dialog = el('dialog', {
        className: 'dialog',
        'aria-labelledby': titleId,
    },
        el('h2', {className: 'dialog__title', id: titleId}, title),
        ...paragraphs,
        el('div', {className: 'dialog__actions'}, confirmButton,
           cancelButton));
    const opener = document.activeElement;

    document.body.append(dialog);

    return new Promise((resolve) => {
        let answer = false;

        confirmButton.addEventListener('click', () => {
            answer = true;
            dialog.close();
        });
        cancelButton.addEventListener('click', () => dialog.close());
        dialog.addEventListener('close', () => {
            dialog.remove();
            if (opener && opener.isConnected && !answer) {
                opener.focus();
            }
            resolve(answer);
        });

        dialog.showModal();
        cancelButton.focus();
    });
}
