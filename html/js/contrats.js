/*
 * "Mes contrats": the client's signed contracts, each a PDF to download
 * (GET contracts, GET contracts/{id}/file).  Employees and administrators
 * have none of their own: the page says where contracts are managed.
 */

import {apiUrl, me, request, sessionEnded} from './api.js';
import {showErrors, showNav} from './layout.js';
import {el, errorMessage, formatDate, formatDateTime} from './ui.js';

const loading = document.querySelector('[data-loading]');

function sizeText(bytes) {
    if (bytes >= 1024 * 1024) {
        return `${(bytes / (1024 * 1024)).toFixed(1).replace('.', ',')} Mo`;
    }
    return `${Math.max(1, Math.round(bytes / 1024))} Ko`;
}

function contractCard(contract) {
    return el('li', {className: 'card'},
        el('h3', {className: 'card__title'}, contract.title),
        el('dl', {className: 'card__meta'},
           el('dt', null, 'Signé le'),
           el('dd', null, formatDate(contract.signed_on)),
           el('dt', null, 'Ajouté le'),
           el('dd', null, formatDateTime(contract.uploaded_at))),
        el('a', {className: 'button button--secondary',
                 href: apiUrl(`contracts/${contract.id}/file`),
                 download: ''},
           `Télécharger le PDF (${sizeText(contract.size)})`));
}

async function main() {
    let user;
    let contracts;

    showNav();

    try {
        user = await me();
        showNav(user);

        if (user.role !== 'client') {
            document.querySelector('[data-staff-note]').hidden = false;
            return;
        }

        contracts = await request('GET', 'contracts');
    } catch (e) {
        if (!sessionEnded(e)) {
            showErrors([{message: errorMessage(e)}]);
        }
        return;
    } finally {
        loading.hidden = true;
    }

    const view = document.querySelector('[data-contracts-view]');

    view.querySelector('[data-contracts]').replaceChildren(
        ...contracts.map(contractCard));
    view.querySelector('[data-contracts-empty]').hidden = contracts.length > 0;
    view.hidden = false;
}

main();
