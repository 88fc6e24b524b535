/*
 * Shared page helpers: error summary and field errors (GOV.UK pattern),
 * French date formats, the header's logout button.  User data only ever
 * goes into the page through textContent and DOM calls.
 */

import {ApiError, MESSAGES, goToLogin, logout} from './api.js';

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

const ERROR_PREFIX = 'Erreur : ';

/*
 * Fills and shows the summary ([data-error-summary]) with
 * [{message, field?}] and moves the focus to it; a field id makes the
 * entry a link to that field.  An empty list hides it.
 */
export function showErrors(summary, errors) {
    const list = summary.querySelector('ul');

    list.replaceChildren();

    for (const error of errors) {
        const item = document.createElement('li');

        if (error.field) {
            const link = el('a', {href: `#${error.field}`}, error.message);

            link.addEventListener('click', (event) => {
                const field = document.getElementById(error.field);

                if (field) {
                    event.preventDefault();
                    field.focus();
                    field.scrollIntoView({block: 'center'});
                }
            });

            item.append(link);
        } else {
            item.append(el('span', null, error.message));
        }

        list.append(item);
    }

    if (errors.length === 0) {
        summary.hidden = true;
        if (document.title.startsWith(ERROR_PREFIX)) {
            document.title = document.title.slice(ERROR_PREFIX.length);
        }
        return;
    }

    summary.hidden = false;
    if (!document.title.startsWith(ERROR_PREFIX)) {
        document.title = ERROR_PREFIX + document.title;
    }
    summary.focus();
}

/*
 * The message above a field (<p class="field-error" id="FIELD-error">),
 * tied to it by aria-describedby; message null clears it.
 */
export function setFieldError(field, message) {
    const group = field.closest('.form-group');
    const error = document.getElementById(`${field.id}-error`);
    const ids = (field.getAttribute('aria-describedby') || '')
        .split(/\s+/).filter((id) => id && id !== error.id);

    if (message) {
        error.replaceChildren(el('span', {className: 'visually-hidden'},
                                 ERROR_PREFIX), message);
        error.hidden = false;
        group.classList.add('form-group--error');
        field.classList.add('input--error');
        field.setAttribute('aria-invalid', 'true');
        ids.unshift(error.id);
    } else {
        error.replaceChildren();
        error.hidden = true;
        group.classList.remove('form-group--error');
        field.classList.remove('input--error');
        field.removeAttribute('aria-invalid');
    }

    if (ids.length) {
        field.setAttribute('aria-describedby', ids.join(' '));
    } else {
        field.removeAttribute('aria-describedby');
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

export const STATUS_LABELS = {
    in_progress: 'En cours',
    finished: 'Terminé',
};

/*
 * The header's "Se déconnecter" button ([data-logout]).  When the server
 * cannot be told, we stay: the session cookie would still be valid and the
 * login page would send the user straight back here.
 */
export function wireLogout(summary) {
    const button = document.querySelector('[data-logout]');

    if (!button) {
        return;
    }

    button.addEventListener('click', async () => {
        button.disabled = true;

        try {
            await logout();
        } catch (e) {
            if (!(e instanceof ApiError) || e.status !== 401) {
                button.disabled = false;
                showErrors(summary, [{
                    message: `La déconnexion a échoué. ${errorMessage(e)}`,
                }]);
                return;
            }
        }

        goToLogin();
    });
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
