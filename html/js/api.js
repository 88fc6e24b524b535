/*
 * Access to the espace client API.
 *
 * Every URL is computed from this module's own address (js/api.js), so the
 * area works wherever CLO mounts it: /espace-client/js/api.js gives
 * /espace-client/api/ and /espace-client/index.html, whatever page, base or
 * depth imported us.
 *
 * The CSRF token comes with the login answer and with GET api/me; it is
 * kept in sessionStorage (per tab, gone when the tab closes) and sent as
 * X-CSRF-Token on every state-changing request.
 *
 * Photos are sent with XMLHttpRequest rather than fetch: only it tells
 * how much of a request body has gone (upload progress).
 */

const ROOT = new URL('../', import.meta.url);
const API = new URL('api/', ROOT);
const CSRF_KEY = 'clo.csrf_token';
const UNSAFE = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export const MESSAGES = {
    network: 'Impossible de joindre le serveur. Vérifiez votre connexion '
        + 'internet puis réessayez.',
    unavailable: 'Service momentanément indisponible, réessayez dans un '
        + 'instant.',
    unexpected: 'Une erreur inattendue est survenue. Réessayez ; si le '
        + 'problème persiste, contactez CLO.',
};

/*
 * An API failure: status 0 means the server could not be reached.  body is
 * the whole JSON answer when there was one (a 412 stale_version carries
 * the current state of the object in it).
 */
export class ApiError extends Error {
    constructor(status, code, message, retryAfter, body) {
        super(message);
        this.name = 'ApiError';
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;   /* seconds, or null */
        this.body = body || null;
    }
}

/* path resolved against base, with params as its query string */
function address(path, base, params) {
    const url = new URL(path, base);

    for (const [name, value] of Object.entries(params || {})) {
        url.searchParams.set(name, String(value));
    }

    return url.href;
}

/* the address of a page of the area, e.g. pageUrl('fiche.html', {id: 3}) */
export function pageUrl(page, params) {
    return address(page, ROOT, params);
}

/* the address of an API resource, e.g. apiUrl('fiches', {chantier: c}) */
export function apiUrl(path, params) {
    return address(path, API, params);
}

export function goTo(page, params) {
    window.location.assign(pageUrl(page, params));
}

/*
 * The login page, coming back to this page after the login
 * (index.html?next=fiche.html%3Fid%3D3; login.js follows only a relative
 * address of this site).
 */
export function loginUrl() {
    const here = window.location.pathname.split('/').pop() || 'index.html';

    if (here === 'index.html') {
        return pageUrl('index.html');
    }

    return pageUrl('index.html', {next: here + window.location.search
                                      + window.location.hash});
}

/* leave for the login page without keeping this page in the history */
export function goToLogin() {
    window.location.replace(loginUrl());
}

/*
 * 401 anywhere: the session has ended, back to the login page.  Returns
 * whether it had (the caller then has nothing more to say).
 */
export function sessionEnded(e) {
    if (e instanceof ApiError && e.status === 401) {
        goToLogin();
        return true;
    }

    return false;
}

export function csrfToken() {
    try {
        return window.sessionStorage.getItem(CSRF_KEY);
    } catch {
        return null;
    }
}

function setCsrfToken(token) {
    try {
        if (token) {
            window.sessionStorage.setItem(CSRF_KEY, token);
        } else {
            window.sessionStorage.removeItem(CSRF_KEY);
        }
    } catch {
        /* storage disabled: state-changing requests will get 403 */
    }
}

/* Retry-After is either seconds or an HTTP date */
function parseRetryAfter(value) {
    if (!value) {
        return null;
    }

    if (/^\d+$/.test(value.trim())) {
        return Number(value.trim());
    }

    const when = Date.parse(value);

    if (Number.isNaN(when)) {
        return null;
    }

    return Math.max(0, Math.round((when - Date.now()) / 1000));
}

async function errorFrom(response) {
    const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
    let code = null;
    let message = null;
    let body = null;

    try {
        body = await response.json();

        if (body && body.error) {
            code = typeof body.error.code === 'string' ? body.error.code : null;
            message = typeof body.error.message === 'string'
                ? body.error.message : null;
        }
    } catch {
        /* not JSON: a proxy's page, or nginx's own error page */
    }

    if (!message) {
        message = (response.status === 502 || response.status === 503
                   || response.status === 504)
            ? MESSAGES.unavailable : MESSAGES.unexpected;
    }

    if (!code) {
        code = response.status >= 500
            ? 'unavailable' : `http_${response.status}`;
    }

    return new ApiError(response.status, code, message, retryAfter, body);
}

/* the address of a photo: size 'thumb' (long edge 480 px) or 'display' */
export function photoUrl(id, size = 'thumb') {
    return apiUrl(`photos/${id}`, {size});
}

/* the fetch of request() and getFresh(): a Response that is ok or 304 */
async function send(method, path, options) {
    const headers = new Headers(options.headers || {});
    const init = {
        method,
        headers,
        credentials: 'same-origin',
        cache: 'no-store',
        /* a request that must outlive the page (pagehide) */
        keepalive: !!options.keepalive,
    };

    headers.set('Accept', 'application/json');

    if (options.body !== undefined) {
        headers.set('Content-Type', 'application/json');
        init.body = JSON.stringify(options.body);
    }

    if (UNSAFE.has(method)) {
        const token = csrfToken();

        if (token) {
            headers.set('X-CSRF-Token', token);
        }
    }

    let response;

    try {
        response = await fetch(apiUrl(path, options.params), init);
    } catch {
        throw new ApiError(0, 'network', MESSAGES.network, null);
    }

    if (!response.ok && response.status !== 304) {
        throw await errorFrom(response);
    }

    return response;
}

async function json(response) {
    try {
        return await response.json();
    } catch {
        throw new ApiError(response.status, 'bad_response',
                           MESSAGES.unexpected, null);
    }
}

/*
 * request('GET', 'me') -> the parsed JSON (null for 204).
 * options: {params, body (sent as JSON), headers}.
 * Throws ApiError for HTTP errors and for network failures (status 0).
 */
export async function request(method, path, options = {}) {
    const response = await send(method, path, options);

    if (response.status === 204) {
        return null;
    }

    if (response.status === 304) {
        throw new ApiError(304, 'not_modified', MESSAGES.unexpected, null);
    }

    return json(response);
}

/*
 * A GET that may answer 304: getFresh('fiches/3', etag) -> {etag, data},
 * or null when the server says the copy of that ETag is still current.
 * onAnswer(response), if given, sees every answer's headers, a 304's too.
 */
export async function getFresh(path, etag, onAnswer = null) {
    const headers = etag ? {'If-None-Match': etag} : {};
    const response = await send('GET', path, {headers});

    if (onAnswer) {
        onAnswer(response);
    }

    if (response.status === 304) {
        return null;
    }

    return {etag: response.headers.get('ETag'), data: await json(response)};
}

/* no byte of a photo sent for this long: the connection is taken as lost */
const UPLOAD_STALL_MS = 45000;
/* the whole photo sent, no answer for this long: the same */
const UPLOAD_ANSWER_MS = 120000;

/*
 * POST api/fiches/{id}/photos with the bytes of blob as the body (type:
 * image/jpeg or image/png) -> {id, width, height}.  options:
 * {type, onProgress(fraction between 0 and 1), signal (an AbortSignal)}.
 * Throws ApiError like request(); a network failure, a stalled upload and
 * an abort have status 0 (code 'network', or 'aborted').
 */
export function uploadPhoto(ficheId, blob, options = {}) {
    return uploadFile(`fiches/${ficheId}/photos`, blob, options);
}

/*
 * POST api/<path> with the bytes of blob as the body, the same way: a
 * photo, a contract.  options also has params (the query).
 */
export function uploadFile(path, blob, options = {}) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        const token = csrfToken();
        let timer = null;
        let why = 'network';

        function watch(ms) {
            window.clearTimeout(timer);
            timer = window.setTimeout(() => {
                why = 'network';
                xhr.abort();
            }, ms);
        }

        function finish(fn, value) {
            window.clearTimeout(timer);
            if (options.signal) {
                options.signal.removeEventListener('abort', onAbort);
            }
            fn(value);
        }

        function onAbort() {
            why = 'aborted';
            xhr.abort();
        }

        xhr.open('POST', apiUrl(path, options.params));
        xhr.setRequestHeader('Content-Type', options.type || blob.type);
        xhr.setRequestHeader('Accept', 'application/json');
        if (token) {
            xhr.setRequestHeader('X-CSRF-Token', token);
        }

        xhr.upload.addEventListener('progress', (event) => {
            watch(UPLOAD_STALL_MS);
            if (options.onProgress && event.lengthComputable
                && event.total > 0)
            {
                options.onProgress(event.loaded / event.total);
            }
        });
        xhr.upload.addEventListener('load', () => {
            if (options.onProgress) {
                options.onProgress(1);
            }
            watch(UPLOAD_ANSWER_MS);
        });

        xhr.addEventListener('load', async () => {
            const response = new Response(xhr.status === 204 ? null
                                          : xhr.responseText, {
                status: xhr.status,
                headers: {
                    'Retry-After': xhr.getResponseHeader('Retry-After') || '',
                },
            });

            if (xhr.status === 201 || xhr.status === 200) {
                try {
                    finish(resolve, await json(response));
                } catch (e) {
                    finish(reject, e);
                }
            } else {
                finish(reject, await errorFrom(response));
            }
        });
        xhr.addEventListener('error', () => finish(reject, new ApiError(
            0, 'network', MESSAGES.network, null)));
        xhr.addEventListener('abort', () => finish(reject, new ApiError(
            0, why, MESSAGES.network, null)));

        if (options.signal) {
            if (options.signal.aborted) {
                reject(new ApiError(0, 'aborted', MESSAGES.network, null));
                return;
            }
            options.signal.addEventListener('abort', onAbort);
        }

        watch(UPLOAD_STALL_MS);
        xhr.send(blob);
    });
}

/* POST api/session: returns the user, keeps the CSRF token */
export async function login(identifier, password) {
    const answer = await request('POST', 'session', {
        body: {login: identifier, password},
    });

    setCsrfToken(answer.csrf_token);

    return answer.user;
}

/* DELETE api/session; the local token goes whatever the answer */
export async function logout() {
    try {
        await request('DELETE', 'session');
    } finally {
        setCsrfToken(null);
    }
}

/*
 * GET api/me: the user, with a fresh CSRF token kept.  On 401 the browser
 * goes to the login page and the promise never settles, so callers can
 * simply await it.
 */
export async function me() {
    try {
        const user = await request('GET', 'me');

        setCsrfToken(user.csrf_token);

        return user;
    } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
            setCsrfToken(null);
            goToLogin();
            return new Promise(() => {});
        }

        throw e;
    }
}
