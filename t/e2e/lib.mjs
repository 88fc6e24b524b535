/*
 * Shared pieces of the browser tests: TAP output for prove, Debian's
 * Chromium through playwright-core, logging in, screenshots, axe-core.
 *
 * The .t wrapper of each test sets E2E_SETUP (JSON: url, var, logins,
 * fiches) and execs node on the .mjs, so prove reads this TAP directly.
 */

import {mkdirSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

export const setup = JSON.parse(process.env.E2E_SETUP || 'null');

if (!setup) {
    console.log('1..0 # SKIP E2E_SETUP is not set: run through make test');
    process.exit(0);
}

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/* ---- TAP ---- */

let count = 0;
let failures = 0;

/*
 * As Test::More does, the reason of a failure goes to stderr: prove shows
 * it even when not verbose (a CI log says why, not only which).
 */
function diag(text, toStderr) {
    for (const line of String(text).split('\n')) {
        if (toStderr) {
            console.error(`# ${line}`);
        } else {
            console.log(`# ${line}`);
        }
    }
}

export function ok(condition, name, details) {
    count++;
    console.log(`${condition ? 'ok' : 'not ok'} ${count} - ${name}`);
    if (!condition) {
        failures++;
        if (details !== undefined) {
            diag(`Failed test '${name}'\n${details}`, true);
        }
    }
    return !!condition;
}

export function is(got, want, name) {
    return ok(got === want, name,
              `got:      ${JSON.stringify(got)}\n`
              + `expected: ${JSON.stringify(want)}`);
}

export function skip(name, why) {
    count++;
    console.log(`ok ${count} - ${name} # SKIP ${why}`);
}

/*
 * A scenario: steps that depend on each other.  Each step is one test;
 * once one fails (throws), the rest are skipped rather than failing in
 * cascade.  step(name, async fn) -> whatever fn returned.
 * E2E_KEEP_GOING=1 runs them all anyway: to see which steps fail against
 * an older version of the pages, not only the first.
 */
const KEEP_GOING = process.env.E2E_KEEP_GOING === '1';

export function scenario(title, hooks = {}) {
    let broken = null;

    async function step(name, fn) {
        const full = `${title}: ${name}`;

        if (broken && !KEEP_GOING) {
            skip(full, `an earlier step failed (${broken})`);
            return undefined;
        }

        try {
            const value = await fn();

            ok(true, full);
            return value;
        } catch (e) {
            broken = name;
            ok(false, full, e && e.stack ? e.stack.split('\n').slice(0, 6)
                .join('\n') : String(e));
            if (hooks.onFailure) {
                await hooks.onFailure(name).catch(() => {});
            }
            return undefined;
        }
    }

    step.failed = () => broken !== null;

    return step;
}

export function done() {
    console.log(`1..${count}`);
    if (failures) {
        diag(`${failures} of ${count} failed`);
    }
    return failures === 0;
}

export function assert(condition, message) {
    if (!condition) {
        throw new Error(message);
    }
}

/* ---- browser ---- */

/*
 * Chromium headless.  playwright starts it with a fresh, temporary
 * profile (its own --user-data-dir, removed on close) and a pipe instead
 * of a debugging port; the flags keep it from calling home.
 */
export async function launch() {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
            '--no-sandbox', '--disable-gpu', '--disable-quic',
            '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync',
        ],
        timeout: 60000,
    });
}

/*
 * A browser context (its own cookies) with a page that records what the
 * tests look at: CSP violations, uncaught errors, console errors.
 */
export async function newPage(browser, viewport) {
    const context = await browser.newContext({
        viewport: viewport || {width: 1280, height: 900},
        locale: 'fr-FR',
        timezoneId: 'Europe/Paris',
    });
    const page = await context.newPage();

    page.problems = [];
    page.setDefaultTimeout(10000);

    /* before any script of the page: CSP violations end up in a list */
    await context.addInitScript(() => {
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__cspViolations.push(
                `${e.violatedDirective} ${e.blockedURI} `
                + `${e.sourceFile}:${e.lineNumber}`);
        });
    });

    page.on('pageerror', (e) => page.problems.push(`page error: ${e}`));

    return page;
}

export async function cspViolations(page) {
    return page.evaluate(() => window.__cspViolations || []);
}

export function screenshotDir() {
    const dir = join(setup.var || '.', 'screenshots');

    mkdirSync(dir, {recursive: true});
    return dir;
}

export async function screenshot(page, name) {
    const path = join(screenshotDir(), `${name}.png`);

    await page.screenshot({path, fullPage: true});
    return path;
}

/* the login page of a mount point, then the home page */
export async function login(page, base, user) {
    await page.goto(`${base}index.html`);
    await page.getByLabel('Identifiant').fill(user.login);
    await page.getByLabel('Mot de passe', {exact: true}).fill(user.password);
    await page.getByRole('button', {name: 'Se connecter'}).click();
    await page.waitForURL(/accueil\.html$/);
}

/* ---- accessibility ---- */

const AXE = readFileSync(createRequire(import.meta.url)
    .resolve('axe-core/axe.min.js'), 'utf8');

/*
 * axe-core's serious and critical violations on the page as it is.  Its
 * source is evaluated rather than added as a <script> (addScriptTag): the
 * pages' Content-Security-Policy forbids inline scripts.
 */
export async function axeViolations(page) {
    await page.evaluate(AXE);
    const found = await page.evaluate(async () => {
        const result = await window.axe.run(document, {
            resultTypes: ['violations'],
        });

        return result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.length,
                targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
            }));
    });

    return found;
}

/* axeViolations' findings, one a line, for a failed test's diagnostics */
export function describeViolations(violations) {
    return violations.map((v) => `${v.impact} ${v.id} (${v.nodes}): `
                          + `${v.help} — ${v.targets.join(' | ')}`)
        .join('\n');
}

/*
 * A request to the API from inside the page, with its session and CSRF
 * token: apiCall(page, 'POST', 'posts/3/comments', {body: '…'}) ->
 * {status, json}.
 */
export async function apiCall(page, method, path, body = null, headers = {}) {
    return page.evaluate(async ([m, p, b, h]) => {
        const r = await fetch(`api/${p}`, {
            method: m,
            headers: {
                'Content-Type': 'application/json',
                'X-CSRF-Token': sessionStorage.getItem('clo.csrf_token'),
                ...h,
            },
            body: b === null ? undefined : JSON.stringify(b),
        });
        return {status: r.status, json: await r.json().catch(() => null)};
    }, [method, path, body, headers]);
}
