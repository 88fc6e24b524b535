/*
 * What is around the content of every page, written once: the header's
 * navigation (pages with a session), CLO's phone and e-mail in the footer
 * (GET site), and the error summary at the top of the page (GOV.UK
 * pattern: a box listing the errors, each a link to its field, focused
 * when shown).
 *
 * A page's HTML holds only what must be there before any script runs: the
 * header with the logo and the name of the area, and the place of the
 * summary (<div data-error-summary hidden></div>).  No ssi: installing the
 * area needs nothing more of CLO's nginx.
 */

import {ApiError, logout, pageUrl, request} from './api.js';
import {
    ERROR_PREFIX, el, errorMessage, isStaff, setFieldErrors,
} from './ui.js';


/* ---- navigation ---- */

/*
 * The header's navigation, the same on every page, one entry each: a link
 * to a page of the area (page), a button (action) or a text.  label is a
 * string or user => string; show(user) says who sees the entry (absent:
 * everybody).  user is null until api/me has answered: the entries that
 * depend on it are completed then (showNav(user)).  The link to the page
 * being shown is marked aria-current="page".
 */
const NAV = [
    {page: 'accueil.html',
     label: (user) => (user && isStaff(user.role) ? 'Chantiers'
                       : 'Mes chantiers')},
    {page: 'compte.html', label: 'Mon compte'},
    {page: 'contrats.html', label: 'Mes contrats',
     show: (user) => !!user && user.role === 'client'},
    {page: 'admin.html', label: 'Administration', section: 'admin',
     show: (user) => !!user && user.role === 'admin'},
    {action: signOut, label: 'Se déconnecter'},
];

let navItems = null;    /* [{entry, node}], once drawn */

/* 'fiche.html' for .../fiche.html?id=3, 'index.html' for .../ */
function currentPage() {
    return window.location.pathname.split('/').pop() || 'index.html';
}

function navNode(entry) {
    if (entry.page) {
        return el('a', {
            href: pageUrl(entry.page),
            'aria-current': entry.page === currentPage()
                            || (entry.section
                                && currentPage().startsWith(entry.section))
                ? 'page' : null,
        });
    }

    if (entry.action) {
        const button = el('button', {
            type: 'button',
            className: 'button button--secondary button--small',
        });

        button.addEventListener('click', () => entry.action(button));
        return button;
    }

    return el('span');
}

/*
 * Draws the navigation into the header (first call), then shows each entry
 * as it is for user (null: not known yet).  A page calls showNav() as it
 * starts, so that the header does not wait for the network, and
 * showNav(user) once it knows who is logged in.
 */
export function showNav(user = null) {
    if (!navItems) {
        const nav = el('nav', {className: 'site-nav',
                               'aria-label': 'Menu du compte'});

        navItems = NAV.map((entry) => ({entry, node: navNode(entry)}));
        nav.append(...navItems.map((item) => item.node));
        document.querySelector('.site-header__inner').append(nav);
        showContact();
    }

    for (const {entry, node} of navItems) {
        node.textContent = typeof entry.label === 'function'
            ? entry.label(user) : entry.label;
        node.hidden = entry.show ? !entry.show(user) : false;
    }
}

/*
 * "Se déconnecter".  When the server cannot be told, we stay: the session
 * cookie would still be valid and the login page would send the user
 * straight back here.  The login page it goes to comes back to nothing
 * (no ?next=): whoever logs in next starts from their home page.
 */
async function signOut(button) {
    button.disabled = true;

    try {
        await logout();
    } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 401) {
            button.disabled = false;
            showErrors([{
                message: `La déconnexion a échoué. ${errorMessage(e)}`,
            }]);
            return;
        }
    }

    window.location.replace(pageUrl('index.html'));
}


/* ---- CLO's contact ---- */

let contact = null;

/* GET site (anonymous): {contact: {phone, email}}, asked once */
export function siteContact() {
    if (!contact) {
        contact = request('GET', 'site').then(
            (site) => (site && site.contact) || {},
            () => ({}));
    }
    return contact;
}

/* "01 23 45 67 89 · contact@clo.fr" as links; nothing for a null */
export function contactLinks(c) {
    const parts = [];

    if (typeof c.phone === 'string' && c.phone.trim()) {
        const number = c.phone.replace(/[^+\d]/g, '');

        parts.push(el('a', {href: `tel:${number}`}, c.phone.trim()));
    }
    if (typeof c.email === 'string' && c.email.includes('@')) {
        parts.push(el('a', {href: `mailto:${c.email.trim()}`},
                      c.email.trim()));
    }

    return parts.flatMap((node, i) => (i ? [' · ', node] : [node]));
}

/*
 * The footer's [data-site-contact] (added if the page has none) gets
 * "Contacter CLO : phone · e-mail"; hidden when CLO gave neither.
 */
export async function showContact() {
    const footer = document.querySelector('.site-footer .container');

    if (!footer) {
        return;
    }

    let box = footer.querySelector('[data-site-contact]');

    if (!box) {
        box = el('p', {className: 'site-footer__contact', hidden: true});
        box.setAttribute('data-site-contact', '');
        footer.append(box);
    }

    const links = contactLinks(await siteContact());

    box.replaceChildren(...(links.length
        ? ['Contacter CLO : ', ...links] : []));
    box.hidden = links.length === 0;
}


/* ---- error summary ---- */

let summary = null;

/* the page's summary, built in its place on first use */
function errorSummary() {
    if (!summary) {
        summary = document.querySelector('[data-error-summary]');
        summary.className = 'error-summary';
        summary.tabIndex = -1;
        summary.setAttribute('aria-labelledby', 'error-summary-title');
        summary.replaceChildren(
            el('h2', {className: 'error-summary__title',
                      id: 'error-summary-title'}, 'Il y a un problème'),
            el('ul', {className: 'error-summary__list'}));
    }

    return summary;
}

function summaryItem(error) {
    if (!error.field) {
        return el('li', null, el('span', null, error.message));
    }

    const link = el('a', {href: `#${error.field}`}, error.message);

    link.addEventListener('click', (event) => {
        const field = document.getElementById(error.field);

        if (field) {
            event.preventDefault();
            field.focus();
            field.scrollIntoView({block: 'center'});
        }
    });

    return el('li', null, link);
}

/*
 * The errors of a form or of the page, [{message, field?}] (field: the id
 * of a field): each of fields gets its message above it, or loses the one
 * it had; the summary lists them all, a field's entry being a link to it,
 * "Erreur : " starts the page's title and the summary takes the focus.
 * An empty list hides the summary.
 */
export function showErrors(errors, fields = []) {
    const box = errorSummary();

    setFieldErrors(fields, errors);
    box.querySelector('ul').replaceChildren(...errors.map(summaryItem));

    if (errors.length === 0) {
        box.hidden = true;
        if (document.title.startsWith(ERROR_PREFIX)) {
            document.title = document.title.slice(ERROR_PREFIX.length);
        }
        return;
    }

    box.hidden = false;
    if (!document.title.startsWith(ERROR_PREFIX)) {
        document.title = ERROR_PREFIX + document.title;
    }
    box.focus();
}
