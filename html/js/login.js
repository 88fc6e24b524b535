/*
 * Login page: POST api/session, then the page asked for
 * (index.html?next=fiche.html%3Fid%3D3, set by a page that found no
 * session), or else the home page of the area.  next is followed only
 * when it is a relative address on this site: a page name or a path
 * starting with a single "/", no scheme, no "//", no backslash, no
 * control character, and once resolved the same origin.  Anything else
 * (https://evil.example/, //evil.example, /\evil.example, javascript:)
 * goes to the home page: never an open redirect.
 */

import {ApiError, goTo, login, request} from './api.js';
import {
    contactLinks, showContact, showErrors, siteContact,
} from './layout.js';
import {errorMessage, setFieldErrors} from './ui.js';

/* the address to go to after the login, or null for the home page */
export function safeNext(next, here = window.location.href) {
    if (typeof next !== 'string' || next === '' || next.length > 2000) {
        return null;
    }
    /* control characters (tabs and newlines are dropped by URL()), spaces */
    if (/[\u0000-\u0020\u007f-\u009f\\]/.test(next)) {
        return null;
    }
    if (next.startsWith('//')) {
        return null;
    }
    /* a scheme: "javascript:", "https:", "data:"... */
    if (/^[a-z][a-z0-9+.-]*:/i.test(next)) {
        return null;
    }

    let url;

    try {
        url = new URL(next, here);
    } catch {
        return null;
    }

    const base = new URL(here);

    if (url.origin !== base.origin
        || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    {
        return null;
    }
    /* back to the login page itself would loop */
    if (/\/index\.html$|\/$/.test(url.pathname)
        && url.pathname === base.pathname)
    {
        return null;
    }

    return url.href;
}

const nextPage = safeNext(new URLSearchParams(window.location.search)
    .get('next'));

function goOn() {
    if (nextPage) {
        window.location.assign(nextPage);
    } else {
        goTo('accueil.html');
    }
}

const form = document.getElementById('login-form');
const loginField = document.getElementById('login');
const passwordField = document.getElementById('password');
const fields = [loginField, passwordField];
const submit = form.querySelector('button[type="submit"]');

function minutesText(seconds) {
    const minutes = Math.max(1, Math.ceil(seconds / 60));

    return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/* the sentence for a failed login; the server's words when we have none */
function loginError(e) {
    if (!(e instanceof ApiError)) {
        return errorMessage(e);
    }

    switch (e.status) {
    case 401:
        return 'Identifiant ou mot de passe incorrect.';

    case 403:
        if (e.code === 'account_disabled') {
            return 'Ce compte est désactivé. Contactez CLO pour le '
                + 'réactiver.';
        }
        break;

    case 429:
        if (e.retryAfter !== null && e.retryAfter > 0) {
            return 'Trop de tentatives. Réessayez dans '
                + `${minutesText(e.retryAfter)}.`;
        }
        return 'Trop de tentatives. Réessayez dans quelques minutes.';

    default:
        break;
    }

    return errorMessage(e);
}

function validate() {
    const errors = [];

    if (loginField.value.trim() === '') {
        errors.push({field: 'login', message: 'Saisissez votre identifiant.'});
    }

    if (passwordField.value === '') {
        errors.push({field: 'password',
                     message: 'Saisissez votre mot de passe.'});
    }

    return errors;
}

form.addEventListener('submit', async (event) => {
    event.preventDefault();

    if (submit.disabled) {
        return;
    }

    const errors = validate();

    if (errors.length) {
        showErrors(errors, fields);
        return;
    }

    setFieldErrors(fields, []);

    showPassword(false);
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');

    try {
        await login(loginField.value.trim(), passwordField.value);
    } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
            passwordField.value = '';
        }

        submit.disabled = false;
        form.removeAttribute('aria-busy');
        showErrors([{message: loginError(e)}]);
        return;
    }

    goOn();
});

/* show / hide the password, announced to screen readers */

const toggle = document.querySelector('[data-password-toggle]');
const toggleStatus = document.querySelector('[data-password-status]');

function showPassword(show) {
    if ((passwordField.type === 'text') === show) {
        return;
    }

    passwordField.type = show ? 'text' : 'password';
    toggle.textContent = show ? 'Masquer le mot de passe'
        : 'Afficher le mot de passe';
    toggleStatus.textContent = show ? 'Votre mot de passe est visible.'
        : 'Votre mot de passe est masqué.';
}

toggle.hidden = false;
toggle.addEventListener('click', () => {
    showPassword(passwordField.type === 'password');
});

/* "Mot de passe oublié ?" and the footer: CLO's phone and e-mail */
showContact();
siteContact().then((c) => {
    const links = contactLinks(c);
    const box = document.querySelector('[data-forgot-contact]');

    if (box && links.length) {
        box.replaceChildren(' Appelez-nous ou écrivez-nous : ', ...links,
                            '.');
        box.hidden = false;
    }
});

/*
 * Already logged in (cookie still valid): go straight on, to the page
 * asked for or the home page.  Any failure here just leaves the form in
 * place.
 */
request('GET', 'me').then(goOn, () => {});
