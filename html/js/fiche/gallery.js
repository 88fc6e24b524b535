/*
 * The photos of a post, for everyone: a grid of thumbnails (2 columns on
 * a phone, 3 or 4 on a wider screen; one photo alone is shown larger),
 * lazy-loaded, their place kept before they arrive (the sizes come with
 * the fiche: post.photos), each description shown under its photo.  A
 * thumbnail is a button: a click, Enter or Space opens the lightbox, a
 * modal <dialog> with the display version (long edge 2,048 px), its
 * description, "Photo 2 sur 5", the previous and next photos (buttons,
 * arrow keys, a swipe on a touch screen) and "Fermer" (or Escape); on
 * closing, the focus goes back to the thumbnail that opened it.
 */

import {photoUrl} from '../api.js';
import {deltaPhotos} from '../delta.js';
import {el} from '../ui.js';

const THUMB_EDGE = 480;
const SWIPE_PX = 50;

/* the photos of a post: [{id, alt, width, height}] (sizes: display) */
export function postPhotos(post) {
    const sizes = new Map((Array.isArray(post.photos) ? post.photos : [])
        .map((p) => [Number(p.id), p]));

    return deltaPhotos(post.body).map((photo) => {
        const size = sizes.get(photo.id) || {};

        return {
            id: photo.id,
            alt: photo.alt,
            width: Number(size.width) || null,
            height: Number(size.height) || null,
        };
    });
}

/* the size of the thumbnail, from that of the display version */
function thumbSize(photo) {
    if (!photo.width || !photo.height) {
        return null;
    }

    const scale = Math.min(1, THUMB_EDGE / Math.max(photo.width,
                                                    photo.height));

    return {
        width: Math.max(1, Math.round(photo.width * scale)),
        height: Math.max(1, Math.round(photo.height * scale)),
    };
}

function openerId(postId, index) {
    return `post-${postId}-photo-${index + 1}`;
}

/* the grid of a post's photos, or null when it has none */
export function photoGrid(post) {
    const photos = postPhotos(post);
    const n = photos.length;

    if (n === 0) {
        return null;
    }

    const grid = el('ul', {
        className: 'photo-grid'
            + (n === 1 ? ' photo-grid--single' : '')
            + (n === 2 ? ' photo-grid--two' : '')
            + (n >= 4 ? ' photo-grid--many' : ''),
        'aria-label': n === 1 ? 'Photo de la publication'
            : `Photos de la publication (${n})`,
    });

    photos.forEach((photo, i) => {
        const size = thumbSize(photo);
        const img = el('img', {
            className: 'photo-grid__img',
            loading: 'lazy',
            decoding: 'async',
            width: size ? String(size.width) : null,
            height: size ? String(size.height) : null,
            alt: '',
            src: photoUrl(photo.id, 'thumb'),
        });
        const button = el('button', {
            type: 'button',
            className: 'photo-grid__open',
            id: openerId(post.id, i),
            'aria-label': `Agrandir la photo ${i + 1} sur ${n}`
                + (photo.alt ? ` : ${photo.alt}` : ''),
            'aria-haspopup': 'dialog',
        }, img);

        /* one photo alone keeps its own shape */
        if (n === 1 && photo.width && photo.height) {
            button.style.aspectRatio = `${photo.width} / ${photo.height}`;
        }

        /* a wide screen: the display version when the thumbnail would be
           stretched (one photo alone) */
        if (n === 1 && size && photo.width > size.width) {
            img.srcset = `${photoUrl(photo.id, 'thumb')} ${size.width}w, `
                + `${photoUrl(photo.id, 'display')} ${photo.width}w`;
            img.sizes = '(min-width: 40rem) 36rem, calc(100vw - 2rem)';
        }

        button.addEventListener('click', () => {
            openLightbox(photos, i, post.id);
        });

        grid.append(el('li', {className: 'photo-grid__item'},
            el('figure', {className: 'photo-grid__figure'},
               button,
               photo.alt
                   ? el('figcaption', {className: 'photo-grid__caption',
                                       'aria-hidden': 'true'}, photo.alt)
                   : null)));
    });

    return grid;
}


/* ---- the lightbox ---- */

let box = null;

function lightbox() {
    if (box) {
        return box;
    }

    const title = el('h2', {className: 'lightbox__title',
                            id: 'lightbox-title', 'aria-live': 'polite'});
    const close = el('button', {type: 'button',
                                className: 'button lightbox__close'},
                     'Fermer');
    const img = el('img', {className: 'lightbox__img', alt: '',
                           draggable: 'false'});
    const frame = el('div', {className: 'lightbox__frame'}, img);
    const caption = el('figcaption', {className: 'lightbox__caption'});
    const previous = el('button', {type: 'button',
                                   className: 'button lightbox__previous',
                                   'aria-label': 'Photo précédente'},
                        el('span', {'aria-hidden': 'true'}, '‹'),
                        'Précédente');
    const next = el('button', {type: 'button',
                               className: 'button lightbox__next',
                               'aria-label': 'Photo suivante'},
                    'Suivante',
                    el('span', {'aria-hidden': 'true'}, '›'));
    const nav = el('div', {className: 'lightbox__nav'}, previous, next);
    const keys = el('p', {className: 'lightbox__keys'},
                    'Flèches gauche et droite : photo précédente ou '
                    + 'suivante. Échap : fermer.');
    const dialog = el('dialog', {className: 'lightbox',
                                 'aria-labelledby': 'lightbox-title'},
        el('div', {className: 'lightbox__bar'}, title, close),
        el('figure', {className: 'lightbox__figure'}, frame, caption),
        nav,
        keys);

    box = {dialog, title, close, img, frame, caption, previous, next, nav,
           photos: [], index: 0, opener: null, swipe: null};

    close.addEventListener('click', () => dialog.close());
    previous.addEventListener('click', () => show(box.index - 1));
    next.addEventListener('click', () => show(box.index + 1));

    dialog.addEventListener('keydown', (event) => {
        if (event.altKey || event.ctrlKey || event.metaKey) {
            return;
        }
        if (event.key === 'ArrowLeft') {
            event.preventDefault();
            show(box.index - 1);
        } else if (event.key === 'ArrowRight') {
            event.preventDefault();
            show(box.index + 1);
        } else if (event.key === 'Home') {
            event.preventDefault();
            show(0);
        } else if (event.key === 'End') {
            event.preventDefault();
            show(box.photos.length - 1);
        } else if (event.key === 'Tab') {
            trapFocus(event);
        }
    });

    /* a click on the dark backdrop closes, as Escape does */
    dialog.addEventListener('click', (event) => {
        if (event.target === dialog) {
            dialog.close();
        }
    });

    /* swipe: a horizontal move of a finger (or pen, or mouse) */
    frame.addEventListener('pointerdown', (event) => {
        if (event.button !== 0 && event.pointerType === 'mouse') {
            return;
        }
        box.swipe = {id: event.pointerId, x: event.clientX, y: event.clientY};
        try {
            frame.setPointerCapture(event.pointerId);
        } catch {
            /* a synthetic event: no capture, no matter */
        }
    });
    frame.addEventListener('pointerup', (event) => {
        const start = box.swipe;

        box.swipe = null;
        if (!start || start.id !== event.pointerId) {
            return;
        }

        const dx = event.clientX - start.x;
        const dy = event.clientY - start.y;

        if (Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > 1.5 * Math.abs(dy)) {
            show(box.index + (dx < 0 ? 1 : -1));
        }
    });
    frame.addEventListener('pointercancel', () => {
        box.swipe = null;
    });

    dialog.addEventListener('close', () => {
        const opener = document.getElementById(box.opener);

        document.documentElement.classList.remove('has-lightbox');
        img.removeAttribute('src');
        if (opener) {
            opener.focus();
        }
    });

    document.body.append(dialog);
    return box;
}

/*
 * Tab from the last button goes to the first, Shift+Tab from the first to
 * the last: the focus never leaves the lightbox (a modal dialog makes the
 * page inert, but the browser's own controls would come next).
 */
function trapFocus(event) {
    const buttons = [...box.dialog.querySelectorAll('button')]
        .filter((button) => !button.closest('[hidden]'));
    const first = buttons[0];
    const last = buttons[buttons.length - 1];

    if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
    }
}

/* photo i (wrapping round) in the open lightbox */
function show(i) {
    const n = box.photos.length;
    const index = ((i % n) + n) % n;
    const photo = box.photos[index];
    const display = photoUrl(photo.id, 'display');

    box.index = index;
    box.title.textContent = `Photo ${index + 1} sur ${n}`;
    box.caption.textContent = photo.alt || 'Photo sans description.';
    box.caption.classList.toggle('lightbox__caption--none', !photo.alt);
    box.img.alt = photo.alt || `Photo ${index + 1} sur ${n}`;
    box.img.dataset.photoId = String(photo.id);

    if (photo.width && photo.height) {
        box.img.width = photo.width;
        box.img.height = photo.height;
    } else {
        box.img.removeAttribute('width');
        box.img.removeAttribute('height');
    }

    /* the thumbnail (already there) until the display version has come */
    box.img.src = photoUrl(photo.id, 'thumb');
    const full = new Image();

    full.addEventListener('load', () => {
        if (box.index === index && box.dialog.open) {
            box.img.src = display;
        }
    });
    full.src = display;

    /* and the next one on its way */
    if (n > 1) {
        const ahead = new Image();

        ahead.src = photoUrl(box.photos[(index + 1) % n].id, 'display');
    }
}

export function openLightbox(photos, index, postId) {
    const b = lightbox();

    b.photos = photos;
    b.opener = openerId(postId, index);
    b.nav.hidden = photos.length < 2;
    show(index);
    if (!b.dialog.open) {
        document.documentElement.classList.add('has-lightbox');
        b.dialog.showModal();
        b.close.focus();
    }
}
