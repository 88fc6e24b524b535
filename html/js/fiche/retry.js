/*
 * Waiting for the network to come back, shared by the photos being sent
 * (photo-jobs.js) and the posts waiting to be published (outbox.js).
 *
 * A wait ends at the first of: its delay (when the browser does not know
 * itself offline), the browser's "online" event (every wait at once), or
 * wake() (a "Réessayer" button).  Delays grow after each failure and stay
 * at PERIOD_MS: the periodic retry of a page left open on a building site.
 */

export const PERIOD_MS = 15000;
const DELAYS_MS = [2000, 4000, 8000];

const waits = new Set();

window.addEventListener('online', () => {
    for (const wake of [...waits]) {
        wake();
    }
});

/* the delay before the next try after failures failures in a row */
export function backoff(failures, retryAfter) {
    const base = DELAYS_MS[Math.min(failures, DELAYS_MS.length) - 1]
        || PERIOD_MS;
    const jitter = Math.round(base * 0.2 * Math.random());

    if (retryAfter) {
        return Math.min(60000, Math.max(1000, retryAfter * 1000));
    }

    return Math.min(PERIOD_MS, base + jitter);
}

/* does the browser know itself offline? (true is not a promise) */
export function offline() {
    return navigator.onLine === false;
}

/*
 * wait(ms) -> {promise, wake}: the promise resolves (never rejects) when
 * the wait ends.  Offline, the delay only leads to another look at
 * PERIOD_MS; "online" is what ends it.
 */
export function wait(ms) {
    let wake;
    const promise = new Promise((resolve) => {
        let timer = null;

        wake = () => {
            window.clearTimeout(timer);
            waits.delete(wake);
            resolve();
        };

        const tick = () => {
            if (offline()) {
                timer = window.setTimeout(tick, PERIOD_MS);
            } else {
                wake();
            }
        };

        waits.add(wake);
        timer = window.setTimeout(tick, ms);
    });

    return {promise, wake};
}

/* a network failure, or a server saying "later" (502, 503, 504, 429) */
export function isTransient(error) {
    return !!error && (error.status === 0 || error.status === 502
                       || error.status === 503 || error.status === 504
                       || error.status === 429);
}
