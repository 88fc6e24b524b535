/*
 * The fiche's header: chantier, client, address, dates and its state, one
 * name each: "Chantier en cours", "En retard" (not finished and today, in
 * Paris, after the revised end date, or else the planned one), "Chantier
 * terminé le …".  The end date shows the revised one when there is one
 * ("12 mars 2027 (initialement 1 mars 2027)").
 *
 * Admins get "Modifier la fin prévue": a date field that sends
 * PATCH admin/chantiers/{id} {"revised_end_date": "YYYY-MM-DD" or null}
 * (the fiche's id is its chantier's); the fiche then has a new version
 * and the live update draws it again.
 */

import {ApiError, apiUrl, request} from '../api.js';
import {
    addressLines, currentEnd, el, errorMessage, formatDay, isLate, longDate,
    setFieldError,
} from '../ui.js';
import {sessionEnded} from './session.js';
import {refreshQuietly, state} from './state.js';

export function renderHeader(fiche) {
    const header = fiche.header || {};
    const client = header.client || {};
    const section = document.querySelector('[data-fiche-header]');
    const status = section.querySelector('[data-status]');
    const address = section.querySelector('[data-address]');
    const revised = header.revised_end_date || null;

    section.querySelector('[data-code]').textContent = header.chantier_id
        || '';
    section.querySelector('[data-title]').textContent = header.title || '';
    section.querySelector('[data-client]').textContent = client.name || '';

    address.replaceChildren();
    addressLines(client.address).forEach((line, i) => {
        if (i > 0) {
            address.append(el('br'));
        }
        address.append(line);
    });
    address.closest('.fiche-header__item').hidden =
        address.childNodes.length === 0;

    section.querySelector('[data-start]').textContent =
        longDate(header.start_date) || '–';

    const end = section.querySelector('[data-end]');

    if (revised && revised !== header.planned_end_date) {
        end.textContent = `${longDate(revised)} (initialement `
            + `${longDate(header.planned_end_date) || '–'})`;
    } else {
        end.textContent = longDate(currentEnd(header)) || '–';
    }

    if (fiche.status === 'finished') {
        status.className = 'status-banner status-banner--done';
        status.dataset.state = 'finished';
        status.replaceChildren(el('p', null,
            fiche.finished_at
                ? `Chantier terminé le ${formatDay(fiche.finished_at)}`
                : 'Chantier terminé'));
    } else if (isLate(fiche)) {
        status.className = 'status-banner status-banner--late';
        status.dataset.state = 'late';
        status.replaceChildren(
            el('p', null, 'En retard'),
            el('p', {className: 'status-banner__detail'},
               `Fin prévue le ${longDate(currentEnd(header))}.`));
    } else {
        status.className = 'status-banner';
        status.dataset.state = 'in_progress';
        status.replaceChildren(el('p', null, 'Chantier en cours'));
    }

    /* the PDF of the version shown, rendered by the server (libharu) */
    section.querySelector('[data-pdf]').href = apiUrl(`fiches/${fiche.id}/pdf`);

    syncEndEditor(header);

    document.title = `${header.title || 'Fiche d’avancement'} – `
        + 'Espace client CLO';
    section.hidden = false;
}


/* ---- admins: the revised end date ---- */

let editor = null;     /* {box, open, field, ...} once set up */

function syncEndEditor(header) {
    if (!editor) {
        return;
    }
    editor.toggle.hidden = editor.open;
    editor.form.hidden = !editor.open;
    editor.reset.hidden = !header.revised_end_date;
}

export function setUpEndEditor() {
    if (!state.user || state.user.role !== 'admin') {
        return;
    }

    const box = document.querySelector('[data-end-edit]');
    const toggle = el('button', {type: 'button',
                                 className: 'button-link',
                                 id: 'end-edit-toggle',
                                 'aria-expanded': 'false',
                                 'aria-controls': 'end-edit-form'},
                      'Modifier la fin prévue');
    const field = el('input', {type: 'date', className: 'input input--date',
                               id: 'revised-end', name: 'revised_end_date'});
    const save = el('button', {type: 'submit',
                               className: 'button button--small'},
                    'Enregistrer la date');
    const reset = el('button', {type: 'button',
                                className: 'button button--secondary '
                                    + 'button--small'},
                     'Revenir à la date initiale');
    const cancel = el('button', {type: 'button',
                                 className: 'button button--secondary '
                                     + 'button--small'}, 'Annuler');
    const form = el('form', {className: 'end-edit', id: 'end-edit-form',
                             method: 'post', action: '#', novalidate: '',
                             hidden: true},
        el('div', {className: 'form-group'},
           el('label', {className: 'label label--small', for: 'revised-end'},
              'Nouvelle fin prévue'),
           el('p', {className: 'field-error', id: 'revised-end-error',
                    role: 'alert', hidden: true}),
           field),
        el('div', {className: 'end-edit__buttons'}, save, reset, cancel));

    editor = {box, toggle, form, field, reset, open: false};
    box.replaceChildren(toggle, form);
    box.hidden = false;

    function close(focus) {
        editor.open = false;
        toggle.setAttribute('aria-expanded', 'false');
        setFieldError(field, null);
        syncEndEditor(state.fiche.header || {});
        if (focus) {
            focus.focus();
        }
    }

    toggle.addEventListener('click', () => {
        const header = state.fiche.header || {};

        editor.open = true;
        toggle.setAttribute('aria-expanded', 'true');
        field.value = currentEnd(header) || '';
        syncEndEditor(header);
        field.focus();
    });
    cancel.addEventListener('click', () => close(toggle));
    form.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') {
            event.preventDefault();
            close(toggle);
        }
    });

    async function send(value) {
        setFieldError(field, null);
        save.disabled = true;
        reset.disabled = true;
        try {
            await request('PATCH', `admin/chantiers/${state.id}`,
                          {body: {revised_end_date: value}});
        } catch (e) {
            if (sessionEnded(e)) {
                return;
            }
            setFieldError(field, e instanceof ApiError && e.status === 400
                ? `La date n’a pas été enregistrée : ${e.message}`
                : `La date n’a pas été enregistrée. ${errorMessage(e)}`);
            field.focus();
            return;
        } finally {
            save.disabled = false;
            reset.disabled = false;
        }

        await refreshQuietly();
        /* the thing changed: the end date */
        close(document.querySelector('[data-end]'));
    }

    form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!/^\d{4}-\d{2}-\d{2}$/.test(field.value)) {
            setFieldError(field, 'Saisissez la nouvelle date de fin, par '
                          + 'exemple 12/03/2027.');
            field.focus();
            return;
        }
        send(field.value);
    });
    reset.addEventListener('click', () => send(null));
}
