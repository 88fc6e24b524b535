/*
 * The draft of the new post, kept in localStorage per user and fiche so
 * that it survives a reload, a closed tab or a phone that drops the page:
 * the text (a Delta), the photos already sent ({id, alt, width, height}:
 * the server keeps them 24 h unpublished) and the two check boxes.  It is
 * written as the employee types (a little after, not on every key) and
 * removed once the post has left the editor (outbox.js keeps it from
 * then on, until it is published).  The texts of the posts being edited
 * are kept the same way (createEditDrafts, below).
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


/* ---- the posts being edited ---- */

function editsKey(userId, ficheId) {
    return `clo.edits.${userId}.${ficheId}`;
}

function validEdit(value) {
    return !!(value && value.text && Array.isArray(value.text.ops)
              && Array.isArray(value.photos)
              && Number.isInteger(value.version)
              && value.original && typeof value.original === 'object'
              && Number.isInteger(value.original.id));
}

/*
 * The drafts of the posts an employee is editing on one fiche, by post
 * id, in localStorage as the new post's: an edit survives a reload, a
 * closed tab and the end of the session (session.js) as well.  Each one:
 * {text (Delta), photos ({id, alt, width, height}: those sent), finishing,
 * notify, version (the post's when the edit began: the If-Match, so that
 * an edit taken up again never silently overwrites a change made since),
 * original (the post then, without its comments), savedAt}.
 *
 *   const edits = createEditDrafts(userId, ficheId);
 *   edits.load() -> Map(post id -> draft)
 *   edits.save(postId, get)   get() -> the draft, a little later
 *   edits.remove(postId)      saved or given up
 */
export function createEditDrafts(userId, ficheId) {
    const key = editsKey(userId, ficheId);
    const pending = new Map();   /* post id -> get() */
    let timer = null;

    /* every draft of the fiche, as stored (another tab may add its own) */
    function read() {
        try {
            const value = JSON.parse(window.localStorage.getItem(key));

            if (value && value.version === VERSION && value.posts
                && typeof value.posts === 'object')
            {
                return value.posts;
            }
        } catch {
            /* nothing, or not ours */
        }
        return {};
    }

    function write(posts) {
        try {
            if (Object.keys(posts).length) {
                window.localStorage.setItem(key, JSON.stringify({
                    version: VERSION, posts,
                }));
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
        if (!pending.size) {
            return;
        }

        const posts = read();

        for (const [postId, get] of pending) {
            const value = get();

            if (value) {
                posts[postId] = {...value, savedAt: new Date().toISOString()};
            } else {
                delete posts[postId];
            }
        }
        pending.clear();
        write(posts);
    }

    window.addEventListener('pagehide', flush);
    window.addEventListener('clo:flush-drafts', flush);
    document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'hidden') {
            flush();
        }
    });

    return {
        load() {
            const drafts = new Map();

            for (const [postId, value] of Object.entries(read())) {
                if (/^\d+$/.test(postId) && validEdit(value)
                    && value.original.id === Number(postId))
                {
                    drafts.set(Number(postId), value);
                }
            }
            return drafts;
        },

        save(postId, get) {
            pending.set(postId, get);
            window.clearTimeout(timer);
            timer = window.setTimeout(flush, DELAY_MS);
        },

        remove(postId) {
            const posts = read();

            pending.delete(postId);
            if (postId in posts) {
                delete posts[postId];
                write(posts);
            }
        },
    };
}
