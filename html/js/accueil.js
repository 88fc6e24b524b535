/*
 * Home page of the area.  A client sees the list of their chantiers; an
 * employee or admin types a chantier identifier to open its fiche.
 */

import {ApiError, me, pageUrl, request, sessionEnded} from './api.js';
import {showErrors, showNav} from './layout.js';
import {
    STATUS_LABELS, el, errorMessage, formatDate, formatDateTime, fullName,
} from './ui.js';

const greeting = document.querySelector('[data-greeting]');
const loading = document.querySelector('[data-loading]');

function failed(e) {
    if (!sessionEnded(e)) {
        showErrors([{message: errorMessage(e)}]);
    }
}

function meta(rows) {
    const list = el('dl', {className: 'card__meta'});

    for (const [term, value] of rows) {
        if (value) {
            list.append(el('dt', null, term), el('dd', null, value));
        }
    }

    return list;
}

/* one fiche summary as a card; the client's name for employees */
function ficheCard(fiche, withClient) {
    const finished = fiche.status === 'finished';
    const status = el('span', {className: finished ? 'tag tag--done' : 'tag'},
                      STATUS_LABELS[fiche.status] || STATUS_LABELS.in_progress);

    return el('li', {className: 'card'},
        el('h3', {className: 'card__title'},
           el('a', {href: pageUrl('fiche.html', {id: fiche.id})},
              fiche.title)),
        meta([
            ['Identifiant', fiche.chantier_id],
            ['Client', withClient && fiche.client ? fiche.client.name : null],
            ['Début', formatDate(fiche.start_date)],
            ['Fin prévue', formatDate(fiche.planned_end_date)],
            ['État', status],
            ['Dernière publication', fiche.last_post_at
                ? formatDateTime(fiche.last_post_at) : null],
        ]));
}

async function showClientView() {
    const view = document.querySelector('[data-client-view]');
    const list = view.querySelector('[data-fiches]');
    const empty = view.querySelector('[data-fiches-empty]');
    let fiches;

    try {
        fiches = await request('GET', 'fiches');
    } catch (e) {
        failed(e);
        return;
    }

    list.replaceChildren(...fiches.map((fiche) => ficheCard(fiche, false)));
    empty.hidden = fiches.length !== 0;
    view.hidden = false;
}

function showStaffView() {
    const view = document.querySelector('[data-staff-view]');
    const form = document.getElementById('chantier-form');
    const field = document.getElementById('chantier');
    const submit = form.querySelector('button[type="submit"]');
    const result = view.querySelector('[data-search-result]');

    function fieldError(message) {
        showErrors([{field: 'chantier', message}], [field]);
    }

    form.addEventListener('submit', async (event) => {
        event.preventDefault();

        const code = field.value.trim();

        result.replaceChildren();

        if (code === '') {
            fieldError('Saisissez l’identifiant du chantier.');
            return;
        }

        submit.disabled = true;

        try {
            const fiches = await request('GET', 'fiches',
                                         {params: {chantier: code}});

            showErrors([], [field]);

            if (fiches.length === 0) {
                fieldError('Aucun chantier ne porte cet identifiant.');
                return;
            }

            result.append(
                el('h3', {className: 'visually-hidden'}, 'Résultat'),
                el('ul', {className: 'card-list'},
                   ...fiches.map((fiche) => ficheCard(fiche, true))));
        } catch (e) {
            if (e instanceof ApiError && e.status === 404) {
                fieldError('Aucun chantier ne porte cet identifiant.');
            } else {
                failed(e);
            }
        } finally {
            submit.disabled = false;
        }
    });

    view.hidden = false;
}

async function main() {
    let user;

    showNav();

    try {
        user = await me();
    } catch (e) {
        loading.hidden = true;
        failed(e);
        return;
    }

    showNav(user);
    greeting.textContent = `Bonjour ${fullName(user)}`;

    if (user.role === 'client') {
        await showClientView();
    } else {
        showStaffView();
    }

    loading.hidden = true;
}

main();
