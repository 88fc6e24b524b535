/*
 * Login page: POST api/session, then the home page of the area.
 */

import {ApiError, goTo, login, request} from './api.js';
import {showErrors} from './layout.js';
import {errorMessage, setFieldErrors} from './ui.js';

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

    goTo('accueil.html');
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

/*
 * Already logged in (cookie still valid): go straight to the home page.
 * Any failure here just leaves the form in place.
 */
request('GET', 'me').then(() => goTo('accueil.html'), () => {});
