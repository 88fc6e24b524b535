/*
 * Administration: the notifications given up on ("Renvoyer": POST
 * admin/notifications/{id}/retry) and the journal of the administrators'
 * actions (GET admin/audit).
 */

import {request} from '../api.js';
import {showErrors} from '../layout.js';
import {announce, el, errorMessage, formatDateTime} from '../ui.js';
import {adminPage, busy} from './page.js';

const ACTIONS = {
    user_created: 'Compte créé',
    user_edited: 'Compte modifié',
    user_deactivated: 'Compte désactivé',
    user_reactivated: 'Compte réactivé',
    password_reset: 'Mot de passe réinitialisé',
    chantier_created: 'Chantier créé',
    chantier_edited: 'Chantier modifié',
    contract_uploaded: 'Contrat ajouté',
    contract_deleted: 'Contrat supprimé',
};
const OBJECTS = {user: 'compte', chantier: 'chantier', contract: 'contrat'};
const EVENTS = {
    post_created: 'nouvelle publication',
    post_reannounced: 'publication modifiée',
    comments: 'commentaires',
};
const CHANNELS = {email: 'e-mail', sms: 'SMS'};

function changesText(action, changes) {
    if (action.endsWith('_edited') || action === 'password_reset') {
        return Object.keys(changes).join(', ');
    }
    return changes.title || changes.login || changes.chantier_id || '';
}

async function showDead() {
    const list = document.querySelector('[data-dead]');
    const dead = await request('GET', 'admin/notifications',
                               {params: {state: 'dead'}});

    list.replaceChildren(...dead.map((n) => {
        const retry = el('button', {type: 'button', className: 'button'},
                         'Renvoyer');
        const item = el('li', {className: 'card', 'data-notification': n.id},
            el('h3', {className: 'card__title'},
               `${n.code} — ${EVENTS[n.event] || n.event}`),
            el('p', null, `Pour ${n.recipient.name}, par `
               + `${CHANNELS[n.channel] || n.channel}`
               + ` (${n.channel === 'sms' ? n.recipient.phone || '—'
                      : n.recipient.email || '—'})`),
            el('p', {className: 'muted'}, `${n.attempts} essai(s) ; `
               + `dernière erreur : ${n.last_error || 'inconnue'}`),
            retry);

        busy(retry, async () => {
            try {
                await request('POST', `admin/notifications/${n.id}/retry`);
                announce('Notification renvoyée.');
                item.replaceChildren(el('p', {tabindex: '-1'},
                    `${n.code} : notification renvoyée à ${n.recipient.name}.`));
                item.firstChild.focus();
            } catch (e) {
                showErrors([{message: errorMessage(e)}]);
            }
        });
        return item;
    }));
    document.querySelector('[data-dead-empty]').hidden = dead.length > 0;
}

async function showAudit() {
    const entries = await request('GET', 'admin/audit',
                                  {params: {limit: 100}});

    document.querySelector('[data-audit]').replaceChildren(
        ...entries.map((a) => el('li', {'data-audit-entry': a.id},
            el('strong', null, ACTIONS[a.action] || a.action),
            ` — ${OBJECTS[a.object_type] || a.object_type} n° ${a.object_id}`,
            a.changes ? ` ${changesText(a.action, a.changes)}` : '',
            el('br'),
            el('span', {className: 'muted'}, `${formatDateTime(a.at)} par `
               + `${a.actor ? a.actor.name : 'chantierctl (serveur)'}`))));
}

async function main() {
    if (!await adminPage()) {
        return;
    }

    try {
        await Promise.all([showDead(), showAudit()]);
    } catch (e) {
        showErrors([{message: errorMessage(e)}]);
    }
}

main();
