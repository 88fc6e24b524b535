/*
 * Administration: chantiers.  Find one (GET fiches?chantier=, part of a
 * reference or a client's name), create one choosing its client by search
 * (GET admin/users?q=, POST admin/chantiers), edit it (PATCH
 * admin/chantiers/{id}: title, dates, a revised end, the client).
 */

import {pageUrl, request} from '../api.js';
import {showErrors} from '../layout.js';
import {
    STATUS_LABELS, announce, el, errorMessage, formatDate, fullName,
} from '../ui.js';
import {clearErrors, drawFields, showApiError, valuesOf} from './form.js';
import {adminPage} from './page.js';

const FIELDS = [
    {name: 'chantier_id', label: 'Référence du chantier',
     hint: 'Par exemple CH-2026-0042'},
    {name: 'title', label: 'Intitulé'},
    {name: 'start_date', label: 'Début', type: 'date'},
    {name: 'planned_end_date', label: 'Fin prévue', type: 'date'},
];

/*
 * The client of a chantier, chosen by search: a search field, its
 * results as a list of choices, the chosen client's id kept on the form.
 * Enter in the search field searches (it does not send the chantier's
 * form); the client chosen is read out with the field (aria-describedby)
 * and announced.
 */
function clientPicker(container, prefix, current) {
    const input = el('input', {className: 'input', id: `${prefix}-client_id`,
                               type: 'search', autocomplete: 'off',
                               'aria-describedby': `${prefix}-client_id-chosen`});
    const group = el('div', {className: 'form-group'},
        el('label', {className: 'label', for: input.id},
           'Client (nom, identifiant ou numéro client)'),
        el('p', {className: 'field-error', id: `${input.id}-error`,
                 hidden: true}),
        input);
    const choices = el('ul', {className: 'plain-list', 'aria-live': 'polite'});
    const chosen = el('p', {className: 'muted', id: `${input.id}-chosen`},
                      current ? `Client : ${current.name}` : 'Aucun client choisi.');
    const state = {id: current ? current.id : null, input};

    const find = el('button', {type: 'button',
                               className: 'button button--secondary button--small'},
                    'Chercher le client');

    input.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && !event.isComposing) {
            event.preventDefault();
            find.click();
        }
    });

    find.addEventListener('click', async () => {
        try {
            const users = (await request('GET', 'admin/users',
                                         {params: {q: input.value.trim()}}))
                .filter((u) => u.role === 'client' && u.active);

            choices.replaceChildren(...users.map((u) => {
                const pick = el('button', {type: 'button',
                    className: 'button button--secondary button--small'},
                    `Choisir ${fullName(u)} (${u.client_number || u.login})`);

                pick.addEventListener('click', () => {
                    state.id = u.id;
                    chosen.textContent = `Client : ${fullName(u)}`;
                    choices.replaceChildren();
                    announce(`Client choisi : ${fullName(u)}.`);
                    input.focus();
                });
                return el('li', null, pick);
            }));
            if (users.length === 0) {
                choices.append(el('li', {className: 'muted'},
                                  'Aucun client actif ne correspond.'));
            }
        } catch (e) {
            showErrors([{message: errorMessage(e)}]);
        }
    });

    container.append(group, find, choices, chosen);
    return state;
}

function chantierCard(fiche) {
    const card = el('li', {className: 'card', 'data-chantier': fiche.id});
    const panel = el('div', {className: 'card__panel'});
    const edit = el('button', {type: 'button',
                               className: 'button button--secondary button--small',
                               'aria-expanded': 'false'}, 'Modifier');

    card.append(
        el('h3', {className: 'card__title'},
           el('a', {href: pageUrl('fiche.html', {id: fiche.id})},
              `${fiche.chantier_id} — ${fiche.title}`)),
        el('p', {className: 'muted'},
           `${fiche.client ? fiche.client.name : ''} · du `
           + `${formatDate(fiche.start_date)} au `
           + `${formatDate(fiche.revised_end_date || fiche.planned_end_date)}`
           + ` · ${STATUS_LABELS[fiche.status] || ''}`),
        edit, panel);

    edit.addEventListener('click', () => {
        if (edit.getAttribute('aria-expanded') === 'true') {
            panel.replaceChildren();
            edit.setAttribute('aria-expanded', 'false');
            return;
        }

        const form = el('form', {novalidate: ''});
        const inputs = drawFields(form, `edit-${fiche.id}`, [
            ...FIELDS,
            {name: 'revised_end_date', label: 'Nouvelle fin prévue (retard)',
             type: 'date', hint: 'Laissez vide si la fin prévue tient.'},
        ]);
        const client = clientPicker(form, `edit-${fiche.id}`, fiche.client);
        const save = el('button', {className: 'button', type: 'submit'},
                        'Enregistrer');

        for (const [name, input] of Object.entries(inputs)) {
            input.value = fiche[name] || '';
        }
        form.append(save);
        panel.replaceChildren(form);
        edit.setAttribute('aria-expanded', 'true');
        inputs.title.focus();

        form.addEventListener('submit', async (event) => {
            event.preventDefault();
            save.disabled = true;
            try {
                const changed = await request('PATCH',
                    `admin/chantiers/${fiche.id}`,
                    {body: {...valuesOf(inputs), client_id: client.id}});

                clearErrors({...inputs, client_id: client.input});
                announce('Chantier enregistré.');
                const fresh = chantierCard(changed);

                card.replaceWith(fresh);
                fresh.querySelector('button').focus();
            } catch (e) {
                showApiError(e, {...inputs, client_id: client.input});
            } finally {
                save.disabled = false;
            }
        });
    });

    return card;
}

async function main() {
    if (!await adminPage()) {
        return;
    }

    const results = document.querySelector('[data-chantiers]');
    const search = document.getElementById('chantier-search');

    search.addEventListener('submit', async (event) => {
        event.preventDefault();
        try {
            const fiches = await request('GET', 'fiches', {params: {
                chantier: document.getElementById('chantier-q').value.trim(),
            }});

            results.replaceChildren(el('ul', {className: 'card-list'},
                                       ...fiches.map(chantierCard)));
        } catch (e) {
            if (e.status === 404) {
                results.replaceChildren(el('p', null,
                    'Aucun chantier ne correspond à cette recherche.'));
            } else {
                showErrors([{message: errorMessage(e)}]);
            }
        }
    });

    const create = document.getElementById('chantier-create');
    const box = create.querySelector('[data-create-fields]');
    const inputs = drawFields(box, 'new', FIELDS);
    const client = clientPicker(box, 'new', null);
    const created = document.querySelector('[data-created]');

    /* the fields whose errors the form shows, the client's search too */
    const fields = {...inputs, client_id: client.input};

    create.addEventListener('submit', async (event) => {
        event.preventDefault();

        if (client.id === null) {
            showErrors([{field: client.input.id,
                         message: 'Choisissez le client du chantier : tapez'
                             + ' son nom, « Chercher le client », puis'
                             + ' « Choisir ».'}],
                       Object.values(fields));
            return;
        }

        try {
            const fiche = await request('POST', 'admin/chantiers', {
                body: {...valuesOf(inputs), client_id: client.id},
            });

            clearErrors(fields);
            create.reset();
            created.replaceChildren(el('ul', {className: 'card-list'},
                                       chantierCard(fiche)));
            created.querySelector('a').focus();
            announce(`Chantier ${fiche.chantier_id} créé.`);
        } catch (e) {
            showApiError(e, fields);
        }
    });
}

main();
