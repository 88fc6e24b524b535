/*
 * Live: the others' changes as they happen, and a small indicator in the
 * header saying whether the page is live ("En direct", "Reconnexion…",
 * "Hors ligne": text, not only colour).
 *
 * An EventSource on api/fiches/{id}/events.  The first connection says
 * which version the page has (?since=N); on a reconnection the browser
 * sends Last-Event-ID itself, and the server answers at once if the page
 * is behind.  Each "fiche" event names the new version: the page asks for
 * the fiche with If-None-Match and redraws what changed (refresh()).
 *
 * EventSource does not tell why a connection failed: on an error we ask
 * GET api/me, which says whether the session has ended (401: the page
 * says so and stops, session.js; the drafts are kept).  The browser
 * reconnects by itself after a stream ended (retry: 2000); after a
 * refused connection (404, 429, 503) the source is closed and we open a
 * new one, a little later each time.
 *
 * The stream also says who else is looking ("presence" events,
 * presence.js): shown while it is up, hidden as soon as it fails.
 */

import {apiUrl, request} from '../api.js';
import {hidePresence, showPresence} from './presence.js';
import {isSessionEnded, sessionEnded, whenSessionEnds} from './session.js';
import {refresh, state} from './state.js';

const LIVE_TEXT = {
    connecting: 'Connexion…',
    live: 'En direct',
    retrying: 'Reconnexion…',
    offline: 'Hors ligne',
    ended: 'Déconnecté',
};
const LIVE_TITLE = {
    connecting: 'Connexion au serveur pour afficher les modifications des '
        + 'autres au fur et à mesure.',
    live: 'Les modifications des autres s’affichent dès qu’elles sont '
        + 'faites, sans recharger la page.',
    retrying: 'La connexion au serveur a été interrompue ; la page se '
        + 'reconnecte et se mettra à jour.',
    offline: 'La page ne reçoit plus les modifications des autres. Elle '
        + 'réessaie régulièrement ; vous pouvez aussi la recharger.',
    ended: 'Votre session a pris fin : reconnectez-vous pour voir les '
        + 'modifications des autres.',
};
const LIVE_OFFLINE_AFTER = 3;        /* failures in a row */
const LIVE_DELAY_MAX = 30000;

const live = {
    source: null,
    failures: 0,
    timer: null,
    checking: false,
    lastCheck: 0,
    state: null,
};

function setLive(name) {
    const box = document.querySelector('[data-live]');

    if (!box || live.state === name) {
        return;
    }

    live.state = name;
    box.dataset.state = name;
    box.className = `live-status live-status--${name}`;
    box.title = LIVE_TITLE[name];
    box.querySelector('[data-live-text]').textContent = LIVE_TEXT[name];
    box.hidden = false;
}

function startLive() {
    if (typeof window.EventSource !== 'function' || isSessionEnded()) {
        return;
    }

    window.clearTimeout(live.timer);
    live.timer = null;

    if (live.source) {
        live.source.close();
    }

    const source = new EventSource(apiUrl(`fiches/${state.id}/events`, {
        since: state.fiche.version,
    }));

    live.source = source;
    if (!live.state) {
        setLive('connecting');
    }

    source.addEventListener('open', () => {
        const again = live.failures > 0;

        live.failures = 0;
        setLive('live');

        /* back after a cut: whatever was missed, cheaply (304) */
        if (again) {
            liveRefresh();
        }
    });

    source.addEventListener('fiche', (event) => {
        let version = null;

        try {
            version = JSON.parse(event.data).version;
        } catch {
            /* a malformed event still means "something changed" */
        }

        if (typeof version !== 'number' || !state.fiche
            || version > state.fiche.version)
        {
            liveRefresh();
        }
    });

    /* the others looking at the fiche, at once and on every change */
    source.addEventListener('presence', (event) => {
        if (source === live.source) {
            showPresence(event.data);
        }
    });

    source.addEventListener('error', () => liveFailed(source));
}

function liveFailed(source) {
    if (source !== live.source) {
        return;
    }

    live.failures++;
    hidePresence();
    setLive(live.failures >= LIVE_OFFLINE_AFTER ? 'offline' : 'retrying');
    checkSession();

    /* refused (not a cut): the browser gives up, we try again later */
    if (source.readyState === EventSource.CLOSED) {
        const delay = Math.min(LIVE_DELAY_MAX,
                               2000 * 2 ** Math.min(live.failures - 1, 4));

        live.source = null;
        window.clearTimeout(live.timer);
        live.timer = window.setTimeout(startLive, delay);
    }
}

/* is the session still there?  401: the page says it has ended */
async function checkSession() {
    const now = Date.now();

    if (live.checking || now - live.lastCheck < 1500) {
        return;
    }

    live.checking = true;
    live.lastCheck = now;

    try {
        await request('GET', 'me');
    } catch (e) {
        /* else the server cannot be reached: the indicator says so */
        sessionEnded(e);
    } finally {
        live.checking = false;
    }
}

/*
 * A refresh because of the others: it never takes the focus (no error
 * summary); a failure only leaves the page as it is until the next event
 * or reconnection.
 */
async function liveRefresh() {
    try {
        await refresh();
    } catch (e) {
        if (!sessionEnded(e)) {
            console.warn('live refresh failed:', e);
        }
    }
}

function stopLive() {
    hidePresence();
    if (live.source) {
        live.source.close();
        live.source = null;
    }
    window.clearTimeout(live.timer);
    live.timer = null;
    setLive('ended');
}

export function wireLive() {
    whenSessionEnds(stopLive);
    startLive();

    /* the network is back: no need to wait for the next attempt */
    window.addEventListener('online', () => {
        if (!live.source) {
            startLive();
        }
    });

    /* leaving the page: let the server drop the stream at once */
    window.addEventListener('pagehide', () => {
        hidePresence();
        if (live.source) {
            live.source.close();
            live.source = null;
        }
        window.clearTimeout(live.timer);
    });

    /* back from the bfcache: the stream was closed above */
    window.addEventListener('pageshow', (event) => {
        if (event.persisted && !live.source) {
            startLive();
            liveRefresh();
        }
    });
}
