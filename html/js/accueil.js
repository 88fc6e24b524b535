/*
 * Home page of the area.  A client sees the list of their chantiers, or
 * goes straight to the fiche of their only one.  An employee or admin
 * searches a chantier by part of its reference or its client's name (one
 * match opens it), and sees the chantiers opened lately on this device
 * and the clients' questions still unanswered.
 */

import {ApiError, me, pageUrl, request, sessionEnded} from './api.js';
import {recentFiches} from './recent.js';
import {showErrors, showNav} from './layout.js';
import {
    STATUS_LABELS, currentEnd, el, errorMessage, formatDate, formatDateTime,
    fullName, isLate, plural,
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

/* "2 nouvelles publications, 1 nouveau commentaire" since the last visit */
function news(fiche) {
    const parts = [];

    if (fiche.unread_posts > 0) {
        parts.push(plural(fiche.unread_posts, 'nouvelle publication',
                          'nouvelles publications'));
    }
    if (fiche.unread_comments > 0) {
        parts.push(plural(fiche.unread_comments, 'nouveau commentaire',
                          'nouveaux commentaires'));
    }

    return parts.length
        ? el('p', {className: 'tag tag--new'}, parts.join(', ')) : null;
}

/* one fiche summary as a card; the client's name for employees */
function ficheCard(fiche, withClient) {
    const finished = fiche.status === 'finished';
    const late = isLate(fiche);
    const status = el('span', {className: finished ? 'tag tag--done'
                                          : late ? 'tag tag--late' : 'tag'},
                      late ? STATUS_LABELS.late
                      : STATUS_LABELS[fiche.status] || STATUS_LABELS.in_progress);

    return el('li', {className: 'card'},
        el('h3', {className: 'card__title'},
           el('a', {href: pageUrl('fiche.html', {id: fiche.id})},
              fiche.title)),
        news(fiche),
        meta([
            ['Référence', fiche.chantier_id],
            ['Client', withClient && fiche.client ? fiche.client.name : null],
            ['Début', formatDate(fiche.start_date)],
            ['Fin prévue', formatDate(currentEnd(fiche))],
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

    /* one chantier: nothing to choose */
    if (fiches.length === 1) {
        location.replace(pageUrl('fiche.html', {id: fiches[0].id}));
        return;
    }

    list.replaceChildren(...fiches.map((fiche) => ficheCard(fiche, false)));
    empty.hidden = fiches.length !== 0;
    view.hidden = false;
}

function showRecent() {
    const view = document.querySelector('[data-recent-view]');
    const recent = recentFiches();

    view.querySelector('[data-recent]').replaceChildren(...recent.map((f) =>
        el('li', null,
           el('a', {href: pageUrl('fiche.html', {id: f.id})},
              `${f.chantier_id} — ${f.title}`))));
    view.hidden = recent.length === 0;
}

async function showUnanswered() {
    const view = document.querySelector('[data-unanswered-view]');
    const list = view.querySelector('[data-unanswered]');
    let comments;

    try {
        comments = await request('GET', 'comments/unanswered');
    } catch (e) {
        failed(e);
        return;
    }

    list.replaceChildren(...comments.map((c) =>
        el('li', {className: 'card'},
           el('h3', {className: 'card__title'},
              el('a', {href: pageUrl('fiche.html', {id: c.fiche_id})},
                 `${c.chantier_id} — ${c.title}`)),
           el('p', null, `« ${c.excerpt} »`),
           meta([['De', c.author.name],
                 ['Le', formatDateTime(c.created_at)]]))));
    view.querySelector('[data-unanswered-empty]').hidden = comments.length > 0;
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
            fieldError('Saisissez la référence du chantier ou le nom du '
                       + 'client.');
            return;
        }

        submit.disabled = true;

        try {
            const fiches = await request('GET', 'fiches',
                                         {params: {chantier: code}});

            showErrors([], [field]);

            if (fiches.length === 0) {
                fieldError('Aucun chantier ne correspond à cette recherche.');
                return;
            }

            if (fiches.length === 1) {
                location.assign(pageUrl('fiche.html', {id: fiches[0].id}));
                return;
            }

            result.append(
                el('h3', null, `${fiches.length} chantiers trouvés`),
                el('ul', {className: 'card-list'},
                   ...fiches.map((fiche) => ficheCard(fiche, true))));
        } catch (e) {
            if (e instanceof ApiError && e.status === 404) {
                fieldError('Aucun chantier ne correspond à cette recherche.');
            } else {
                failed(e);
            }
        } finally {
            submit.disabled = false;
        }
    });

    view.hidden = false;
    showRecent();
    showUnanswered();
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
