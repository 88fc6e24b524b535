/*
 * The rich-text editor of the employees: Quill 2 (npm, copied by make into
 * vendor/), loaded on demand so that clients never download it.  It loads
 * as a classic script added by this module: no inline script, which the
 * Content-Security-Policy forbids.
 *
 * Only the formats the API accepts are offered and kept (a paste from a
 * word processor loses its colours and fonts, not its text); the Delta is
 * reduced to the allow-list once more before it is sent (delta.js).
 */

import {pageUrl} from './api.js';
import {cleanDelta, deltaText} from './delta.js';
import {codePoints} from './ui.js';

const FORMATS = ['bold', 'italic', 'underline', 'strike', 'size', 'header',
                 'list', 'link'];

const TOOLBAR = [
    [{header: [1, 2, 3, false]}],
    [{size: ['small', false, 'large', 'huge']}],
    ['bold', 'italic', 'underline', 'strike'],
    [{list: 'ordered'}, {list: 'bullet'}],
    ['link', 'clean'],
];

/* French names of the toolbar's controls (Quill names them in English) */
const LABELS = {
    'ql-header': 'Style de paragraphe',
    'ql-size': 'Taille du texte',
    'ql-bold': 'Gras',
    'ql-italic': 'Italique',
    'ql-underline': 'Souligné',
    'ql-strike': 'Barré',
    'ql-list ordered': 'Liste numérotée',
    'ql-list bullet': 'Liste à puces',
    'ql-link': 'Lien',
    'ql-clean': 'Effacer la mise en forme',
};

/* the most text a post may have (SPEC §5), Quill's final newline aside */
export const MAX_TEXT = 20000;
export const TOO_LONG = 'Le texte est trop long : la limite est de '
    + `${MAX_TEXT} caractères.`;

let loading = null;

function addStylesheet(href) {
    const link = document.createElement('link');

    link.rel = 'stylesheet';
    link.href = href;
    document.head.append(link);
}

/* window.Quill, loaded once */
export function loadQuill() {
    if (!loading) {
        loading = new Promise((resolve, reject) => {
            const script = document.createElement('script');

            addStylesheet(pageUrl('vendor/quill.snow.css'));
            addStylesheet(pageUrl('css/editor.css'));

            script.src = pageUrl('vendor/quill.js');
            script.addEventListener('load', () => {
                if (window.Quill) {
                    resolve(window.Quill);
                } else {
                    reject(new Error('Quill did not load'));
                }
            });
            script.addEventListener('error', () => {
                loading = null;
                script.remove();
                reject(new Error('vendor/quill.js could not be loaded'));
            });
            document.head.append(script);
        });
    }

    return loading;
}

function nameControls(toolbar) {
    for (const [classes, label] of Object.entries(LABELS)) {
        const [format, value] = classes.split(' ');
        const selector = value ? `.${format}[value="${value}"]` : `.${format}`;

        for (const control of toolbar.querySelectorAll(selector)) {
            const target = control.classList.contains('ql-picker')
                ? control.querySelector('.ql-picker-label') : control;

            if (target) {
                target.setAttribute('aria-label', label);
                target.setAttribute('title', label);
            }
        }
    }
}

/*
 * An editor in container (emptied first).  options: {label (the accessible
 * name of the text area), delta (initial content), placeholder,
 * onFiles(files) (photos dropped or pasted into the text: the editor keeps
 * no image itself)}.
 * Returns {quill, delta(), text(), isEmpty(), tooLong() (over MAX_TEXT:
 * say TOO_LONG), setDelta(d), focus()}.
 */
export async function createEditor(container, options = {}) {
    const Quill = await loadQuill();
    const area = document.createElement('div');

    container.replaceChildren(area);
    container.classList.add('editor');

    const quill = new Quill(area, {
        theme: 'snow',
        formats: FORMATS,
        placeholder: options.placeholder || '',
        modules: {
            /* a photo dropped or pasted goes to the photo list */
            uploader: {
                mimetypes: ['image/jpeg', 'image/png'],
                handler: (range, files) => {
                    if (options.onFiles) {
                        options.onFiles(files);
                    }
                },
            },
            toolbar: TOOLBAR,
            /*
             * Tab leaves the editor, as everywhere else on the page: a
             * keyboard user must not be trapped in it.  (Quill would insert
             * a tab or indent a list; indentation is not allowed anyway.)
             */
            keyboard: {
                bindings: {
                    'tab': null,
                    'indent': null,
                    'outdent': null,
                    'indent code-block': null,
                    'outdent code-block': null,
                },
            },
        },
    });
    const toolbar = quill.getModule('toolbar').container;

    nameControls(toolbar);
    toolbar.setAttribute('role', 'toolbar');
    toolbar.setAttribute('aria-label', 'Mise en forme');

    quill.root.setAttribute('role', 'textbox');
    quill.root.setAttribute('aria-multiline', 'true');
    if (options.label) {
        quill.root.setAttribute('aria-label', options.label);
    }

    /* the link box of the snow theme: a French example */
    const tooltip = quill.theme && quill.theme.tooltip;

    if (tooltip && tooltip.textbox) {
        tooltip.textbox.setAttribute('data-link', 'https://www.exemple.fr');
        tooltip.textbox.setAttribute('aria-label', 'Adresse du lien');
    }

    if (options.delta) {
        quill.setContents(options.delta, 'silent');
    }

    return {
        quill,
        delta: () => cleanDelta(quill.getContents()),
        text: () => deltaText(quill.getContents()),
        isEmpty: () => quill.getText().trim() === '',
        tooLong: () => codePoints(deltaText(quill.getContents())) - 1
            > MAX_TEXT,
        setDelta: (delta) => quill.setContents(delta, 'user'),
        focus: () => quill.focus(),
    };
}
