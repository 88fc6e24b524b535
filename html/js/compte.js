/*
 * "Mon compte": the logged-in user's account (GET api/me).  Name, address
 * and client number are shown read-only (CLO changes them); e-mail,
 * phone and notification choices are changed with PATCH api/me, the
 * password with POST api/me/password.
 *
 * Errors follow the GOV.UK pattern: a summary at the top of the page and
 * the message above the field.  Success messages go into the page's
 * role=status region.  User data only goes in through textContent.
 */

import {ApiError, me, request, sessionEnded} from './api.js';
import {showErrors, showNav} from './layout.js';
import {addressLines, el, errorMessage, setFieldErrors} from './ui.js';

const statusRegion = document.querySelector('[data-status]');
const loading = document.querySelector('[data-loading]');

const NOTIFY_LABELS = {
    email: 'par e-mail',
    sms: 'par SMS',
    none: 'aucune',
};

const MIN_PASSWORD = 10;

let user = null;

function say(message) {
    statusRegion.replaceChildren(
        el('div', {className: 'notice'}, el('p', null, message)));
}

function unsay() {
    statusRegion.replaceChildren();
}

/* one <div><dt><dd></div> of a description list; nothing for no value */
function item(term, ...values) {
    const dd = el('dd');

    values.forEach((value, i) => {
        if (i > 0) {
            dd.append(el('br'));
        }
        dd.append(value);
    });

    return el('div', {className: 'fiche-header__item'},
              el('dt', null, term), dd);
}

function notifyLabel(value) {
    return NOTIFY_LABELS[value] || NOTIFY_LABELS.none;
}

function showIdentity() {
    const section = document.querySelector('[data-identity]');
    const list = section.querySelector('[data-identity-list]');
    const note = section.querySelector('[data-identity-note]');
    const items = [];
    const address = addressLines(user.address);

    if (user.civility) {
        items.push(item('Civilité', user.civility));
    }
    items.push(item('Nom', user.last_name || ''));
    items.push(item('Prénom', user.first_name || ''));
    if (user.company) {
        items.push(item('Société', user.company));
    }
    if (address.length) {
        items.push(item('Adresse postale', ...address));
    }
    if (user.role === 'client' && user.client_number) {
        items.push(item('Numéro client', user.client_number));
    }
    items.push(item('Identifiant de connexion', user.login));

    list.replaceChildren(...items);
    /* an administrator is the one others ask: they edit it themselves */
    if (user.role === 'admin') {
        note.replaceChildren('Votre nom se modifie dans ',
            el('a', {href: 'admin.html'}, 'l’administration des comptes'),
            '.');
    } else {
        note.textContent = user.role === 'client'
            ? 'Pour modifier votre nom, votre adresse ou votre numéro '
              + 'client, contactez CLO.'
            : 'Pour modifier votre nom, adressez-vous à un administrateur '
              + 'de l’espace client.';
    }
    section.hidden = false;
}

function showContact() {
    const list = document.querySelector('[data-contact-list]');
    const notify = user.notify || {};

    list.replaceChildren(
        item('Adresse e-mail', user.email || 'non renseignée'),
        item('Téléphone mobile', user.phone || 'non renseigné'),
        item('Notifications',
             `Nouvelles publications : ${notifyLabel(notify.posts)}`,
             `Commentaires : ${notifyLabel(notify.comments)}`));
}

/* ---- e-mail, phone, notifications ---- */

function wireContact() {
    const section = document.querySelector('[data-contact]');
    const view = section.querySelector('[data-contact-view]');
    const edit = section.querySelector('[data-contact-edit]');
    const cancel = section.querySelector('[data-contact-cancel]');
    const form = document.getElementById('contact-form');
    const submit = form.querySelector('button[type="submit"]');
    const fields = {
        email: document.getElementById('email'),
        phone: document.getElementById('phone'),
        posts: document.getElementById('notify-posts'),
        comments: document.getElementById('notify-comments'),
    };
    const all = Object.values(fields);

    function fill() {
        const notify = user.notify || {};

        fields.email.value = user.email || '';
        fields.phone.value = user.phone || '';
        fields.posts.value = NOTIFY_LABELS[notify.posts] ? notify.posts
            : 'none';
        fields.comments.value = NOTIFY_LABELS[notify.comments]
            ? notify.comments : 'none';
    }

    function open() {
        unsay();
        fill();
        setFieldErrors(all, []);
        form.hidden = false;
        view.hidden = true;
        edit.setAttribute('aria-expanded', 'true');
        fields.email.focus();
    }

    function close() {
        showErrors([], all);
        form.hidden = true;
        view.hidden = false;
        edit.setAttribute('aria-expanded', 'false');
        edit.focus();
    }

    /*
     * Which field of the form an API error is about: its "field" member,
     * as the API spells it.  A missing e-mail or phone for the chosen
     * notifications names that field, the one to fill in.
     */
    function fieldOf(error) {
        const field = error.body && error.body.error
            ? error.body.error.field : null;

        switch (field) {
        case 'email':
            return 'email';
        case 'phone':
            return 'phone';
        case 'notify.comments':
            return 'notify-comments';
        case 'notify':
        case 'notify.posts':
            return 'notify-posts';
        default:
            return null;
        }
    }

    function check(body) {
        const errors = [];
        const kinds = [body.notify.posts, body.notify.comments];

        if (body.email !== null && !/^[^\s@]+@[^\s@]+$/.test(body.email)) {
            errors.push({field: 'email', message: 'Saisissez une adresse '
                         + 'e-mail valide, par exemple nom@exemple.fr.'});
        } else if (body.email === null && kinds.includes('email')) {
            errors.push({field: 'email', message: 'Saisissez une adresse '
                         + 'e-mail pour recevoir les notifications par '
                         + 'e-mail.'});
        }

        if (body.phone === null && kinds.includes('sms')) {
            errors.push({field: 'phone', message: 'Saisissez un numéro de '
                         + 'téléphone mobile pour recevoir les '
                         + 'notifications par SMS.'});
        }

        return errors;
    }

    edit.addEventListener('click', open);
    cancel.addEventListener('click', close);

    form.addEventListener('submit', async (event) => {
        event.preventDefault();

        const email = fields.email.value.trim();
        const phone = fields.phone.value.trim();
        const body = {
            email: email === '' ? null : email,
            phone: phone === '' ? null : phone,
            notify: {posts: fields.posts.value,
                     comments: fields.comments.value},
        };
        const errors = check(body);

        unsay();

        if (errors.length) {
            showErrors(errors, all);
            return;
        }

        submit.disabled = true;

        try {
            const updated = await request('PATCH', 'me', {body});

            user = {...user, ...updated};
            showContact();
            close();
            say('Vos coordonnées et vos notifications ont été '
                + 'enregistrées.');
        } catch (e) {
            if (sessionEnded(e)) {
                return;
            }

            if (e instanceof ApiError && e.status === 400) {
                showErrors([{field: fieldOf(e), message: e.message}],
                           all);
            } else {
                showErrors([{message: errorMessage(e)}], all);
            }
        } finally {
            submit.disabled = false;
        }
    });

    showContact();
    section.hidden = false;
}

/* ---- password ---- */

function wirePassword() {
    const section = document.querySelector('[data-password]');
    const form = document.getElementById('password-form');
    const submit = form.querySelector('button[type="submit"]');
    const current = document.getElementById('current-password');
    const next = document.getElementById('new-password');
    const confirm = document.getElementById('confirm-password');

    form.querySelector('[data-username]').value = user.login;

    function report(errors) {
        showErrors(errors, [current, next, confirm]);
    }

    function check() {
        const errors = [];

        if (current.value === '') {
            errors.push({field: 'current-password',
                         message: 'Saisissez votre mot de passe actuel.'});
        }

        if (next.value === '') {
            errors.push({field: 'new-password',
                         message: 'Saisissez le nouveau mot de passe.'});
        } else if ([...next.value].length < MIN_PASSWORD) {
            errors.push({field: 'new-password',
                         message: 'Le nouveau mot de passe doit contenir au '
                         + `moins ${MIN_PASSWORD} caractères.`});
        } else if (confirm.value !== next.value) {
            errors.push({field: 'confirm-password',
                         message: 'Les deux mots de passe ne correspondent '
                         + 'pas.'});
        }

        return errors;
    }

    form.addEventListener('submit', async (event) => {
        event.preventDefault();

        const errors = check();

        unsay();

        if (errors.length) {
            report(errors);
            return;
        }

        submit.disabled = true;

        try {
            await request('POST', 'me/password', {body: {
                current_password: current.value,
                new_password: next.value,
            }});

            form.reset();
            form.querySelector('[data-username]').value = user.login;
            report([]);
            say('Votre mot de passe a été changé. Vos sessions ouvertes sur '
                + 'd’autres appareils ont été fermées.');
        } catch (e) {
            if (sessionEnded(e)) {
                return;
            }

            const code = e instanceof ApiError ? e.code : null;

            if (code === 'wrong_password') {
                current.value = '';
                report([{field: 'current-password',
                         message: 'Le mot de passe actuel est incorrect.'}]);
            } else if (code === 'password_too_short'
                       || code === 'password_too_long')
            {
                report([{field: 'new-password', message: e.message}]);
            } else if (code === 'invalid_field'
                       && /actuel/.test(e.message))
            {
                report([{field: 'current-password', message: e.message}]);
            } else {
                report([{message: errorMessage(e)}]);
            }
        } finally {
            submit.disabled = false;
        }
    });

    section.hidden = false;
}

async function main() {
    showNav();

    try {
        user = await me();
    } catch (e) {
        loading.hidden = true;
        showErrors([{message: errorMessage(e)}]);
        return;
    }

    showNav(user);
    showIdentity();
    wireContact();
    wirePassword();
    loading.hidden = true;
}

main();
