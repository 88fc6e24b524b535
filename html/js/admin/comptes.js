/*
 * Administration: accounts.  Search (GET admin/users?q=), create (POST
 * admin/users, with a generated initial password shown once or a typed
 * one), edit, deactivate and reactivate, reset a password (PATCH
 * admin/users/{id}), and a client's contracts (GET/POST
 * admin/users/{id}/contracts, DELETE admin/contracts/{id}).
 */

import {request, uploadFile} from '../api.js';
import {showErrors} from '../layout.js';
import {announce, el, errorMessage, formatDate, fullName} from '../ui.js';
import {
    clearErrors, drawFields, generatedPassword, showApiError, valuesOf,
} from './form.js';
import {adminPage, busy} from './page.js';

const ROLES = [['client', 'Client'], ['employee', 'Employé de CLO'],
               ['admin', 'Administrateur']];
const ROLE_LABELS = Object.fromEntries(ROLES);

const IDENTITY = [
    {name: 'civility', label: 'Civilité', type: 'select',
     options: [['', '—'], ['Mme', 'Mme'], ['M.', 'M.']]},
    {name: 'first_name', label: 'Prénom', autocomplete: 'off'},
    {name: 'last_name', label: 'Nom'},
    {name: 'company', label: 'Société (facultatif)'},
    {name: 'client_number', label: 'Numéro client (clients)',
     hint: 'Par exemple C-0042'},
    {name: 'address.line1', label: 'Adresse (clients)'},
    {name: 'address.line2', label: 'Complément d’adresse (facultatif)'},
    {name: 'address.postal_code', label: 'Code postal'},
    {name: 'address.city', label: 'Ville'},
    {name: 'email', label: 'Adresse e-mail', type: 'email'},
    {name: 'phone', label: 'Téléphone mobile', type: 'tel',
     hint: 'Par exemple 06 12 34 56 78'},
];

/* the body of POST/PATCH admin/users from the form's values */
function userBody(values) {
    const body = {};
    const address = {};

    for (const [name, value] of Object.entries(values)) {
        if (name.startsWith('address.')) {
            address[name.slice(8)] = value;
        } else {
            body[name] = value;
        }
    }

    if (Object.values(address).some((v) => v !== null)) {
        body.address = address;
    } else if ('address.line1' in values) {
        body.address = null;
    }

    return body;
}

function fillForm(inputs, user) {
    for (const [name, input] of Object.entries(inputs)) {
        const value = name.startsWith('address.')
            ? (user.address || {})[name.slice(8)] : user[name];

        input.value = value === null || value === undefined ? '' : value;
    }
}

function passwordNotice(container, login, password) {
    container.replaceChildren(el('div', {className: 'notice', tabindex: '-1'},
        el('p', null, `Mot de passe de ${login}, à transmettre tel quel : `,
           el('strong', {className: 'code'}, password)),
        el('p', null, 'Il ne sera plus affiché.')));
    container.firstChild.focus();
}

/* ---- search and each account ---- */

/*
 * A card's panel shows one thing at a time (the edit form, the contracts,
 * a new password): button (or null) is the one it belongs to now, and the
 * only one of the card said to be expanded.
 */
function panelOwner(panel, button) {
    for (const other of panel.closest('.card')
        .querySelectorAll('[aria-expanded]'))
    {
        other.setAttribute('aria-expanded', String(other === button));
    }
}

function userCard(user, onChange) {
    const status = user.active ? '' : ' (désactivé)';
    const card = el('li', {className: 'card', 'data-user': user.id});
    const panel = el('div', {className: 'card__panel',
                             id: `user-${user.id}-panel`});
    const edit = el('button', {type: 'button', className: 'button button--secondary button--small',
                               'aria-expanded': 'false',
                               'aria-controls': panel.id}, 'Modifier');
    const toggle = el('button', {type: 'button', className: 'button button--secondary button--small'},
                      user.active ? 'Désactiver' : 'Réactiver');
    const reset = el('button', {type: 'button', className: 'button button--secondary button--small'},
                     'Nouveau mot de passe');
    const actions = el('div', {className: 'card__actions'}, edit, toggle, reset);

    if (user.role === 'client') {
        const contracts = el('button', {type: 'button', className: 'button button--secondary button--small',
                                        'aria-expanded': 'false',
                                        'aria-controls': panel.id}, 'Contrats');

        contracts.addEventListener('click', () =>
            showContracts(user, panel, contracts));
        actions.append(contracts);
    }

    card.append(
        el('h3', {className: 'card__title'}, `${fullName(user)}${status}`),
        el('p', {className: 'muted'},
           `${ROLE_LABELS[user.role]} · identifiant ${user.login}`
           + (user.client_number ? ` · ${user.client_number}` : '')),
        actions, panel);

    edit.addEventListener('click', () => editUser(user, panel, edit, onChange));

    busy(toggle, async () => {
        try {
            const changed = await request('PATCH', `admin/users/${user.id}`,
                                          {body: {active: !user.active}});

            announce(changed.active ? 'Compte réactivé.' : 'Compte désactivé.');
            onChange(changed);
        } catch (e) {
            showErrors([{message: errorMessage(e)}]);
        }
    });

    busy(reset, async () => {
        const password = generatedPassword();

        try {
            await request('PATCH', `admin/users/${user.id}`,
                          {body: {password}});
            panelOwner(panel, null);
            passwordNotice(panel, user.login, password);
        } catch (e) {
            showErrors([{message: errorMessage(e)}]);
        }
    });

    return card;
}

function editUser(user, panel, button, onChange) {
    if (button.getAttribute('aria-expanded') === 'true') {
        panel.replaceChildren();
        panelOwner(panel, null);
        return;
    }

    const form = el('form', {novalidate: ''});
    const inputs = drawFields(form, `edit-${user.id}`, IDENTITY);
    const save = el('button', {className: 'button', type: 'submit'},
                    'Enregistrer');

    fillForm(inputs, user);
    form.append(save);
    panel.replaceChildren(form);
    panelOwner(panel, button);
    inputs.first_name.focus();

    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        save.disabled = true;

        try {
            const body = userBody(valuesOf(inputs));

            if (user.role !== 'client') {
                delete body.address;
                delete body.client_number;
            }

            const changed = await request('PATCH', `admin/users/${user.id}`,
                                          {body});

            clearErrors(inputs);
            announce('Compte enregistré.');
            onChange(changed);
        } catch (e) {
            showApiError(e, inputs);
        } finally {
            save.disabled = false;
        }
    });
}

async function showContracts(user, panel, button) {
    if (button.getAttribute('aria-expanded') === 'true') {
        panel.replaceChildren();
        panelOwner(panel, null);
        return;
    }

    panelOwner(panel, button);

    const list = el('ul', {className: 'plain-list'});
    const form = el('form', {novalidate: ''});
    const inputs = drawFields(form, `contract-${user.id}`, [
        {name: 'title', label: 'Intitulé du contrat'},
        {name: 'signed_on', label: 'Signé le', type: 'date'},
    ]);
    const file = el('input', {type: 'file', accept: 'application/pdf',
                              id: `contract-${user.id}-file`});
    const progress = el('progress', {max: '100', value: '0', hidden: true,
                                     'aria-label': 'Envoi du contrat'});

    form.append(el('div', {className: 'form-group'},
                   el('label', {className: 'label', for: file.id},
                      'Fichier PDF (20 Mo au plus)'),
                   el('p', {className: 'field-error',
                            id: `${file.id}-error`, hidden: true}),
                   file),
                progress,
                el('button', {className: 'button', type: 'submit'},
                   'Ajouter le contrat'));
    panel.replaceChildren(el('h4', null, 'Contrats'), list, form);

    /* the fields whose errors the form shows, the file's included */
    const fields = {...inputs, file};

    /* the list again; the contract of id focus (if any) takes the focus */
    async function refresh(focus = null) {
        const contracts = await request('GET',
                                        `admin/users/${user.id}/contracts`);

        list.replaceChildren(...contracts.map((c) => {
            const remove = el('button', {type: 'button',
                className: 'button button--secondary button--small'},
                `Supprimer « ${c.title} »`);

            busy(remove, async () => {
                try {
                    await request('DELETE', `admin/contracts/${c.id}`);
                    announce('Contrat supprimé.');
                    await refresh();
                    form.querySelector('input').focus();
                } catch (e) {
                    showErrors([{message: errorMessage(e)}]);
                }
            });
            return el('li', {'data-contract': c.id, tabindex: '-1'},
                      `${c.title}, signé le ${formatDate(c.signed_on)} `,
                      remove);
        }));
        if (contracts.length === 0) {
            list.append(el('li', {className: 'muted'}, 'Aucun contrat.'));
        }

        const added = focus === null ? null
            : list.querySelector(`[data-contract="${focus}"]`);

        if (added) {
            added.focus();
        }
    }

    form.addEventListener('submit', async (event) => {
        event.preventDefault();

        const values = valuesOf(inputs);

        if (!file.files.length) {
            showErrors([{field: file.id,
                         message: 'Choisissez le fichier PDF du contrat.'}],
                       Object.values(fields));
            return;
        }

        progress.hidden = false;
        try {
            const contract = await upload(user.id, values, file.files[0],
                                          progress);

            clearErrors(fields);
            form.reset();
            announce(`Contrat « ${contract.title} » ajouté.`);
            await refresh(contract.id);
        } catch (e) {
            showApiError(e, fields);
        } finally {
            progress.hidden = true;
        }
    });

    try {
        await refresh();
    } catch (e) {
        showErrors([{message: errorMessage(e)}]);
    }
}

/* the file as the raw body, with a progress bar */
function upload(userId, values, file, progress) {
    return uploadFile(`admin/users/${userId}/contracts`, file, {
        type: 'application/pdf',
        params: {title: values.title || '', signed_on: values.signed_on || ''},
        onProgress: (fraction) => { progress.value = 100 * fraction; },
    });
}

/* ---- page ---- */

async function main() {
    if (!await adminPage()) {
        return;
    }

    const results = document.querySelector('[data-users]');
    const search = document.getElementById('user-search');
    const q = document.getElementById('user-q');

    async function find() {
        const users = await request('GET', 'admin/users',
                                    {params: {q: q.value.trim()}});
        const list = el('ul', {className: 'card-list'});

        function replace(card, changed) {
            const fresh = userCard(changed, (again) => replace(fresh, again));

            card.replaceWith(fresh);
            fresh.querySelector('button').focus();
        }

        for (const user of users) {
            const card = userCard(user, (changed) => replace(card, changed));

            list.append(card);
        }

        results.replaceChildren(
            el('p', null, users.length === 0 ? 'Aucun compte trouvé.'
               : `${users.length} compte${users.length > 1 ? 's' : ''}`),
            list);
    }

    search.addEventListener('submit', async (event) => {
        event.preventDefault();
        try {
            await find();
        } catch (e) {
            showErrors([{message: errorMessage(e)}]);
        }
    });

    /* creation */
    const create = document.getElementById('user-create');
    const inputs = drawFields(create.querySelector('[data-create-fields]'),
        'new', [{name: 'role', label: 'Rôle', type: 'select', options: ROLES},
                {name: 'login', label: 'Identifiant de connexion',
                 hint: '3 à 64 lettres, chiffres, points ou tirets'},
                ...IDENTITY]);
    const typed = drawFields(create.querySelector('[data-create-password]'),
        'new', [{name: 'password', label: 'Mot de passe', type: 'password',
                 autocomplete: 'new-password',
                 hint: '12 caractères au moins'}]);
    const created = document.querySelector('[data-created]');

    for (const radio of create.querySelectorAll('[name="password-mode"]')) {
        radio.addEventListener('change', () => {
            create.querySelector('[data-create-password]').hidden =
                create.querySelector('[name="password-mode"]:checked')
                    .value !== 'type';
        });
    }

    create.addEventListener('submit', async (event) => {
        event.preventDefault();

        const all = {...inputs, ...typed};
        const body = userBody(valuesOf(inputs));
        const generate = create.querySelector(
            '[name="password-mode"]:checked').value === 'generate';

        body.password = generate ? generatedPassword() : typed.password.value;
        if (body.role !== 'client') {
            delete body.address;
        }

        try {
            const user = await request('POST', 'admin/users', {body});

            clearErrors(all);
            create.reset();
            if (generate) {
                passwordNotice(created, user.login, body.password);
            } else {
                created.replaceChildren(el('p', {className: 'notice',
                    tabindex: '-1'}, `Compte ${user.login} créé.`));
                created.firstChild.focus();
            }
        } catch (e) {
            showApiError(e, all);
        }
    });
}

main();
