/*
 * The draft of the new post, kept in localStorage per user and fiche so
 * that it survives a reload, a closed tab or a phone that drops the page:
 * the text (a Delta), the photos already sent ({id, alt, width, height}:
 * the server keeps them 24 h unpublished) and the two check boxes.  It is
 * written as the employee types (a little after, not on every key) and
 * removed once the post has left the editor (outbox.js keeps it from
 * then on, until it is published).
 */

const VERSION = 1;
const DELAY_MS = 400;

function storageKey(userId, ficheId) {
    return `clo.draft.${userId}.${ficheId}`;
}

export function createDraft(userId, ficheId) {
    const key = storageKey(userId, ficheId);
    let timer = null;
    let pending = null;

    function write(value) {
        try {
            if (value) {
                window.localStorage.setItem(key, JSON.stringify(value));
            } else {
                window.localStorage.removeItem(key);
            }
        } catch {
            /* storage full or disabled: the draft lives in the page only */
        }
    }

    function flush() {
        window.clearTimeout(timer);
        timer = null;
        if (pending) {
            write(pending());
            pending = null;
        }
    }

    /* the page may go at any time on a phone: what is pending is written */
    window.addEventListener('pagehide', flush);
    /* the session has ended (session.js): written at once */
    window.addEventListener('clo:flush-drafts', flush);
    document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'hidden') {
            flush();
        }
    });

    return {
        /* {text, photos, finishing, notify, savedAt}, or null */
        load() {
            try {
                const value = JSON.parse(window.localStorage.getItem(key));

                if (value && value.version === VERSION && value.text
                    && Array.isArray(value.text.ops)
                    && Array.isArray(value.photos))
                {
                    return value;
                }
            } catch {
                /* nothing, or not ours */
            }

            return null;
        },

        /*
         * get() -> {text, photos, finishing, notify, empty}: asked a little
         * later, once typing pauses; empty removes the draft.
         */
        save(get) {
            pending = () => {
                const value = get();

                return value.empty ? null : {
                    version: VERSION,
                    savedAt: new Date().toISOString(),
                    text: value.text,
                    photos: value.photos,
                    finishing: !!value.finishing,
                    notify: value.notify !== false,
                };
            };
            window.clearTimeout(timer);
            timer = window.setTimeout(flush, DELAY_MS);
        },

        clear() {
            window.clearTimeout(timer);
            timer = null;
            pending = null;
            write(null);
        },
    };
}
