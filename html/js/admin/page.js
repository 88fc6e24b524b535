/*
 * What every admin page does first: the navigation, the user, and for
 * anybody but an administrator a plain refusal instead of the page (the
 * API refuses them anyway: 403): the heading says so, the admin pages'
 * links stay hidden, and a link leads back home.
 */

import {me, sessionEnded} from '../api.js';
import {showErrors, showNav} from '../layout.js';
import {errorMessage} from '../ui.js';

export async function adminPage() {
    let user;

    showNav();

    const here = window.location.pathname.split('/').pop();

    for (const link of document.querySelectorAll('.admin-nav a')) {
        if (link.getAttribute('href') === here) {
            link.setAttribute('aria-current', 'page');
        }
    }

    try {
        user = await me();
    } catch (e) {
        if (!sessionEnded(e)) {
            showErrors([{message: errorMessage(e)}]);
        }
        return null;
    }

    showNav(user);

    if (user.role !== 'admin') {
        document.querySelector('main h1').textContent =
            'Accès réservé aux administrateurs';
        document.title = 'Accès réservé – Espace client CLO';
        document.querySelector('[data-forbidden]').hidden = false;
        return null;
    }

    document.querySelector('.admin-nav').hidden = false;
    document.querySelector('[data-admin]').hidden = false;
    return user;
}

/* a button that runs action(button), disabled while it runs */
export function busy(button, action) {
    button.addEventListener('click', async () => {
        button.disabled = true;
        try {
            await action(button);
        } finally {
            button.disabled = false;
        }
    });
    return button;
}
