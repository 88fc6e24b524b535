// Event streams client of scripts/bench: holds BENCH_STREAMS open
// text/event-stream connections of one fiche and measures, for
// BENCH_COMMENTS comments posted through the API, the time from the 201
// of the comment to its event at every stream.
//
// Plain TCP sockets (node:net), not node:http: 2,000 streams in one event
// loop, and the less work per received event, the less the client itself
// adds to the latencies it measures.  The comments go through node:http
// (one keep-alive connection).  A subscriber of its own on the fiche's
// Redis channel tells when the PUBLISH went through Redis, so that the
// latency splits into "201 -> PUBLISH" and "PUBLISH -> streams".
//
// Settings (environment): BENCH_HOST, BENCH_PORT, BENCH_REDIS_PORT,
// BENCH_FICHE (id), BENCH_POST (a post of that fiche, for the comments),
// BENCH_STREAM_COOKIE (session of the streams), BENCH_COOKIE and
// BENCH_CSRF (session and token of the commenter), BENCH_STREAMS,
// BENCH_COMMENTS, BENCH_RAW (file for the raw latencies, ms),
// BENCH_PRESENCE_ROUNDS (arrivals and departures of another viewer).
//
// Presence (issue 14): another user (the commenter's session) opens a
// stream of the fiche and closes it again, BENCH_PRESENCE_ROUNDS times;
// measured is the time from its request sent (or its socket closed) to the
// presence event at every one of the streams, which all belong to the
// fiche's client.
//
// Driven by scripts/bench through stdin, one command a line, answering
// one line on stdout each (lines starting with an upper case word are for
// the script, the others are for the log):
//
//   (start)     -> READY streams=N connect_ms=T
//   comments    -> LATENCY n=... p50_ms=... p99_ms=... missing=...
//   presence    -> PRESENCE n=... arrive_p50_ms=... arrive_p99_ms=...
//                  leave_p50_ms=... leave_p99_ms=... missing=...
//   check       -> ALIVE open=N lost=N
//   close       -> CLOSED, then exits
//
// Every failure prints "FAILED <why>" and exits with status 1.

import net from 'node:net';
import http from 'node:http';
import fs from 'node:fs';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';

const env = process.env;
const host = env.BENCH_HOST || '127.0.0.1';
const port = Number(env.BENCH_PORT);
const redisPort = Number(env.BENCH_REDIS_PORT);
const fiche = env.BENCH_FICHE;
const post = env.BENCH_POST;
const nstreams = Number(env.BENCH_STREAMS || 2000);
const ncomments = Number(env.BENCH_COMMENTS || 20);
const rawFile = env.BENCH_RAW;
const presenceRounds = Number(env.BENCH_PRESENCE_ROUNDS || 10);

const BATCH = 250;              // connections opened at once
const CONNECT_TIMEOUT = 60000;  // ms, all streams
const EVENT_TIMEOUT = 2000;     // ms after the 201, per comment
const PRESENCE_TIMEOUT = 5000;  // ms after an arrival or a departure
const GAP = 20;                 // ms between a comment's last event and
                                // the next comment

const now = () => performance.now();

const streams = [];
let closing = false;
let lost = 0;                   // streams closed before "close"
let lostWhy = '';

function fail(why) {
    console.log(`FAILED ${why}`);
    process.exit(1);
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// waits until cond() or timeout ms; true if cond() became true
async function until(cond, timeout, step = 2) {
    const end = now() + timeout;

    while (!cond()) {
        if (now() > end) {
            return false;
        }
        await sleep(step);
    }
    return true;
}


// ---- the streams ----

const request = `GET /api/fiches/${fiche}/events HTTP/1.1\r\n`
    + `Host: ${host}:${port}\r\n`
    + `Cookie: chantier_session=${env.BENCH_STREAM_COOKIE}\r\n`
    + 'Accept: text/event-stream\r\n'
    + 'Cache-Control: no-cache\r\n\r\n';

let ready = 0;

function openStream() {
    const s = {
        sock: null,
        head: true,             // still in the response headers
        hello: false,
        tail: '',               // an incomplete line
        versions: new Map(),    // version -> arrival (ms)
        presence: null,         // the last presence event: { t, viewers }
        inPresence: false,      // between "event: presence" and its data
        open: true,
    };

    s.sock = net.connect({ host, port, noDelay: true }, () => {
        s.sock.write(request);
    });
    s.sock.setEncoding('latin1');

    s.sock.on('data', (data) => {
        const t = now();
        let text = s.tail + data;
        let nl;

        if (s.head) {
            const end = text.indexOf('\r\n\r\n');

            if (end < 0) {
                s.tail = text;
                return;
            }
            if (!text.startsWith('HTTP/1.1 200')) {
                fail(`stream: ${text.split('\r\n')[0]}`);
            }
            s.head = false;
            text = text.slice(end + 4);
        }

        // lines of the events and of the chunked encoding (sizes, CRLFs):
        // only "id: N" and the hello's "retry:" matter
        while ((nl = text.indexOf('\n')) >= 0) {
            const line = text.slice(0, nl);

            text = text.slice(nl + 1);
            if (line.startsWith('id: ')) {
                const v = Number(line.slice(4));

                if (!s.versions.has(v)) {
                    s.versions.set(v, t);
                }
            } else if (line === 'event: presence') {
                s.inPresence = true;
            } else if (s.inPresence && line.startsWith('data: ')) {
                s.inPresence = false;
                s.presence = { t, viewers: (line.match(/"id"/g) || []).length };
            } else if (!s.hello && line.startsWith('retry:')) {
                s.hello = true;
                ready++;
            }
        }
        s.tail = text;
    });

    s.sock.on('error', (err) => {
        if (!closing) {
            lostWhy = err.message;
        }
    });

    s.sock.on('close', () => {
        if (s.open && !closing) {
            lost++;
            lostWhy = lostWhy || 'closed by the server';
        }
        s.open = false;
    });

    streams.push(s);
}

async function connectAll() {
    const t0 = now();
    const end = t0 + CONNECT_TIMEOUT;

    // in batches: the listen queue of nginx (backlog 511) would drop SYNs
    // of 2,000 connections at once, and their retry takes a second
    while (streams.length < nstreams) {
        const n = Math.min(BATCH, nstreams - streams.length);

        for (let i = 0; i < n; i++) {
            openStream();
        }
        if (!await until(() => ready === streams.length || lost > 0,
                         end - now())) {
            fail(`${ready} of ${streams.length} streams answered within`
                 + ` ${CONNECT_TIMEOUT} ms`);
        }
        if (lost > 0) {
            fail(`${lost} streams closed while connecting (${lostWhy})`);
        }
    }
    return now() - t0;
}


// ---- Redis: when did the PUBLISH go through ----

const published = new Map();    // version -> arrival of the message (ms)
let presencePublished = null;   // arrival of the last presence message

// one RESP value at buf[pos]: [value, next position], or null when buf
// does not hold all of it yet (bulk strings may hold any byte, newlines
// too: a presence message lists its viewers one a line)
function resp(buf, pos) {
    const eol = buf.indexOf('\r\n', pos);

    if (eol < 0) {
        return null;
    }

    const kind = buf[pos];
    const head = buf.slice(pos + 1, eol);

    if (kind === '$') {
        const len = Number(head);
        const end = eol + 2 + len;

        return (len < 0) ? [null, eol + 2]
             : (buf.length < end + 2) ? null
             : [buf.slice(eol + 2, end), end + 2];
    }
    if (kind === '*') {
        const items = [];
        let next = eol + 2;

        for (let i = 0; i < Number(head); i++) {
            const item = resp(buf, next);

            if (item === null) {
                return null;
            }
            items.push(item[0]);
            next = item[1];
        }
        return [items, next];
    }
    return [head, eol + 2];     // + : -
}

function subscribe() {
    const channel = `chantier:fiche:${fiche}`;

    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port: redisPort,
                                   noDelay: true });
        let buf = '';

        sock.setEncoding('latin1');
        sock.on('connect', () => {
            sock.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${channel.length}\r\n`
                       + `${channel}\r\n`);
        });
        sock.on('error', reject);
        sock.on('data', (data) => {
            const t = now();
            let m;

            buf += data;
            while ((m = resp(buf, 0)) !== null) {
                const [kind, , payload] = m[0];

                buf = buf.slice(m[1]);
                if (kind === 'subscribe') {
                    resolve(sock);
                } else if (kind === 'message'
                           && payload.startsWith('presence')) {
                    presencePublished = presencePublished ?? t;
                } else if (kind === 'message' && /^\d+$/.test(payload)) {
                    const v = Number(payload);

                    if (!published.has(v)) {
                        published.set(v, t);
                    }
                }
            }
        });
    });
}


// ---- the comments ----

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function api(method, path, body) {
    return new Promise((resolve, reject) => {
        const headers = {
            Cookie: `chantier_session=${env.BENCH_COOKIE}`,
        };
        let data;

        if (body !== undefined) {
            data = Buffer.from(JSON.stringify(body));
            headers['Content-Type'] = 'application/json';
            headers['Content-Length'] = data.length;
            headers['X-CSRF-Token'] = env.BENCH_CSRF;
        }

        const req = http.request({ host, port, method, path, headers, agent },
                                 (res) => {
            const t = now();

            res.resume();
            res.on('end', () => resolve({ t, res }));
        });

        req.on('error', reject);
        req.end(data);
    });
}

async function fiche_version() {
    const { res } = await api('GET', `/api/fiches/${fiche}`);
    const m = /(\d+)/.exec(res.headers.etag || '');

    if (res.statusCode !== 200 || !m) {
        fail(`GET /api/fiches/${fiche}: ${res.statusCode}`
             + ` ETag ${res.headers.etag}`);
    }
    return Number(m[1]);
}

function pct(sorted, p) {
    if (sorted.length === 0) {
        return NaN;
    }
    return sorted[Math.min(sorted.length - 1,
                           Math.ceil(p / 100 * sorted.length) - 1)];
}

const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'nan');

async function comments() {
    const all = [];
    const toPub = [];
    const pubToFirst = [];
    const pubToLast = [];
    let missing = 0;
    let version = await fiche_version();

    console.log('comment version  201->PUBLISH  PUBLISH->first'
                + '  PUBLISH->last  201->last  missing  (ms)');

    for (let k = 1; k <= ncomments; k++) {
        const sent = now();
        const { t: t201, res } = await api('POST',
            `/api/posts/${post}/comments`,
            { body: `Commentaire ${k} du banc d'essai des flux.` });

        if (res.statusCode !== 201) {
            fail(`POST /api/posts/${post}/comments: ${res.statusCode}`);
        }
        version++;

        const open = streams.filter((s) => s.open);

        await until(() => published.has(version)
                          && open.every((s) => s.versions.has(version)),
                    t201 + EVENT_TIMEOUT - now());

        // one more version than expected: something else changed the fiche
        if (!published.has(version) && published.has(version + 1)) {
            fail(`version ${version + 1} published, ${version} expected`);
        }

        let first = Infinity;
        let last = -Infinity;
        let miss = nstreams - open.length;

        for (const s of open) {
            const t = s.versions.get(version);

            if (t === undefined) {
                miss++;
                continue;
            }
            if (t < sent) {
                fail(`event ${version} before its comment was sent`);
            }
            all.push(t - t201);
            first = Math.min(first, t);
            last = Math.max(last, t);
        }
        missing += miss;

        const pub = published.get(version);

        if (pub !== undefined) {
            toPub.push(pub - t201);
            pubToFirst.push(first - pub);
            pubToLast.push(last - pub);
        }
        console.log(`${String(k).padStart(7)} ${String(version).padStart(7)}`
                    + `  ${f(pub - t201).padStart(12)}`
                    + `  ${f(first - pub).padStart(14)}`
                    + `  ${f(last - pub).padStart(13)}`
                    + `  ${f(last - t201).padStart(9)}`
                    + `  ${String(miss).padStart(7)}`);

        await sleep(GAP);
    }

    const num = (a, b) => a - b;

    all.sort(num);
    toPub.sort(num);
    pubToFirst.sort(num);
    pubToLast.sort(num);

    if (rawFile) {
        fs.writeFileSync(rawFile,
                         all.map((x) => x.toFixed(3)).join('\n') + '\n');
    }

    console.log(`LATENCY n=${all.length} missing=${missing}`
                + ` p50_ms=${f(pct(all, 50))} p99_ms=${f(pct(all, 99))}`
                + ` min_ms=${f(all[0])} max_ms=${f(all[all.length - 1])}`
                + ` pub_p50_ms=${f(pct(toPub, 50))}`
                + ` pub_max_ms=${f(toPub[toPub.length - 1])}`
                + ` first_p50_ms=${f(pct(pubToFirst, 50))}`
                + ` last_p50_ms=${f(pct(pubToLast, 50))}`
                + ` last_max_ms=${f(pubToLast[pubToLast.length - 1])}`);
}


// ---- presence: another viewer arrives and leaves ----

function openViewer() {
    const sock = net.connect({ host, port, noDelay: true }, () => {
        sock.write(`GET /api/fiches/${fiche}/events HTTP/1.1\r\n`
                   + `Host: ${host}:${port}\r\n`
                   + `Cookie: chantier_session=${env.BENCH_COOKIE}\r\n`
                   + 'Accept: text/event-stream\r\n\r\n');
    });

    sock.on('error', () => {});
    sock.resume();
    return sock;
}

async function presence() {
    const arrive = [];
    const leave = [];
    const fromPub = [];
    let missing = 0;
    let viewer = null;

    console.log('round  change  first  last  PUBLISH->last  missing  (ms)');

    for (let k = 1; k <= presenceRounds; k++) {
        for (const [viewers, samples] of [[1, arrive], [0, leave]]) {
            const open = streams.filter((s) => s.open);

            for (const s of open) {
                s.presence = null;
            }
            presencePublished = null;

            const t0 = now();

            if (viewers === 1) {
                viewer = openViewer();
            } else {
                viewer.destroy();
            }

            const told = (s) => s.presence !== null
                                && s.presence.viewers === viewers;

            await until(() => open.every(told), PRESENCE_TIMEOUT);

            let first = Infinity;
            let last = -Infinity;

            for (const s of open) {
                if (!told(s)) {
                    missing++;
                    continue;
                }
                samples.push(s.presence.t - t0);
                first = Math.min(first, s.presence.t - t0);
                last = Math.max(last, s.presence.t - t0);
            }
            if (presencePublished !== null) {
                fromPub.push(last - (presencePublished - t0));
            }
            console.log(`${String(k).padStart(5)}  ${viewers ? 'arrive' : 'leave '}`
                        + `  ${f(first)}  ${f(last)}`
                        + `  ${f(last - (presencePublished - t0))}`
                        + `  ${open.length - open.filter(told).length}`);
            await sleep(100);
        }
    }

    const num = (a, b) => a - b;

    arrive.sort(num);
    leave.sort(num);
    fromPub.sort(num);

    console.log(`PRESENCE n=${arrive.length + leave.length} missing=${missing}`
                + ` arrive_p50_ms=${f(pct(arrive, 50))}`
                + ` arrive_p99_ms=${f(pct(arrive, 99))}`
                + ` leave_p50_ms=${f(pct(leave, 50))}`
                + ` leave_p99_ms=${f(pct(leave, 99))}`
                + ` pub_last_max_ms=${f(fromPub[fromPub.length - 1])}`);
}


// ---- the commands of scripts/bench ----

async function main() {
    const redis = await subscribe();
    const connectMs = await connectAll();

    console.log(`READY streams=${ready} connect_ms=${connectMs.toFixed(0)}`);

    const rl = readline.createInterface({ input: process.stdin });

    for await (const line of rl) {
        const cmd = line.trim();

        if (cmd === 'comments') {
            await comments();

        } else if (cmd === 'presence') {
            await presence();

        } else if (cmd === 'check') {
            const open = streams.filter((s) => s.open).length;

            console.log(`ALIVE open=${open} lost=${lost}`
                        + (lost ? ` (${lostWhy})` : ''));

        } else if (cmd === 'close') {
            closing = true;
            for (const s of streams) {
                s.sock.destroy();
            }
            redis.destroy();
            agent.destroy();
            console.log('CLOSED');
            process.exit(0);

        } else if (cmd !== '') {
            fail(`unknown command ${cmd}`);
        }
    }

    // stdin closed: scripts/bench is gone
    process.exit(0);
}

main().catch((err) => fail(err.stack || String(err)));
