/*
 * The photos of a post being written (employees): the new post form's and
 * that of a post being edited.  "Ajouter des photos" opens the file
 * picker (several at once), "Prendre une photo" the phone's camera (shown
 * on touch screens); photos can also be dropped on it from a computer.
 * Each photo is made smaller and sent at once (photo-jobs.js), with its
 * own progress bar, its state in words (read politely), a description
 * field (alt) and "Retirer la photo".  The post's body gets the photos
 * when it is published (posts.js, edit.js).
 *
 *   const tray = createPhotoTray({ficheId, key: 'new-post', onChange});
 *   form.append(tray.node);
 *   tray.photos()  -> [{id, alt, width, height}] of the photos sent
 *   await tray.settled()  -> every photo sent, refused or removed
 */

import {photoUrl} from '../api.js';
import {MAX_ALT} from '../delta.js';
import {announce, codePoints, el, setFieldError} from '../ui.js';
import {PhotoJob, jobStatus} from './photo-jobs.js';

export const ACCEPT = 'image/jpeg,image/png';

/* a touch screen: the camera button makes sense there */
function touchScreen() {
    return window.matchMedia
        && window.matchMedia('(pointer: coarse)').matches;
}

/*
 * The view of one job in a list: preview, name, progress bar, status,
 * "Réessayer" while it waits for the network, and for the editor the
 * description field.  options: {key (unique in the page), editable (the
 * description field), onRemove(job) (a "Retirer la photo" button),
 * removeIfFailed (that button only for a photo refused), onAlt(job)}.
 * Returns {node, update(number, total), focusRemove(), alt (the field,
 * or null), destroy()}.
 */
export function jobView(job, options) {
    const base = `${options.key}-${job.localId}`;
    const preview = el('img', {className: 'photo-item__img', alt: '',
                               width: '96', height: '72',
                               decoding: 'async'});
    const title = el('p', {className: 'photo-item__title',
                           id: `${base}-title`});
    /* named by aria-labelledby: <label for> does not name a <progress>
       for every screen reader */
    const progressLabel = el('span', {className: 'photo-item__progress-label',
                                      id: `${base}-progress-label`});
    const progress = el('progress', {
        className: 'photo-item__progress',
        id: `${base}-progress`,
        max: '100',
        'aria-labelledby': `${base}-progress-label`,
    });
    const percent = el('span', {className: 'photo-item__percent',
                                'aria-hidden': 'true'});
    const status = el('p', {className: 'photo-item__status',
                            role: 'status'});
    const retry = el('button', {type: 'button',
                                className: 'button button--secondary '
                                    + 'button--small'}, 'Réessayer');
    const buttons = el('div', {className: 'photo-item__buttons'}, retry);
    const main = el('div', {className: 'photo-item__main'},
        title,
        el('div', {className: 'photo-item__bar'},
           progressLabel, progress, percent),
        status);
    const node = el('li', {className: 'photo-item', id: base,
                           'data-photo-job': job.localId},
                    el('div', {className: 'photo-item__preview'}, preview),
                    main);
    let remove = null;
    let alt = null;
    let number = 1;
    let lastStatus = null;

    retry.addEventListener('click', () => job.retryNow());

    if (options.editable) {
        const altId = `${base}-alt`;

        alt = el('input', {className: 'input', type: 'text', id: altId,
                           name: 'alt', autocomplete: 'off',
                           maxlength: String(MAX_ALT),
                           'aria-describedby': `${altId}-hint`});
        alt.value = job.alt;
        alt.addEventListener('input', () => {
            job.alt = alt.value;
            if (codePoints(alt.value.trim()) <= MAX_ALT) {
                setFieldError(alt, null);
            }
            if (options.onAlt) {
                options.onAlt(job);
            }
        });
        main.append(el('div', {className: 'form-group photo-item__alt'},
            el('label', {className: 'label label--small', for: altId,
                         id: `${altId}-label`}),
            el('p', {className: 'hint photo-item__hint', id: `${altId}-hint`},
               `Ce qu’on y voit, en quelques mots (${MAX_ALT} caractères `
               + 'au plus).'),
            el('p', {className: 'field-error', id: `${altId}-error`,
                     role: 'alert', hidden: true}),
            alt));
    } else if (job.alt) {
        main.append(el('p', {className: 'photo-item__alt-text'},
                       `Description : ${job.alt}`));
    }

    if (options.onRemove) {
        remove = el('button', {type: 'button',
                               className: 'button button--warning '
                                   + 'button--small'}, 'Retirer la photo');
        remove.addEventListener('click', () => options.onRemove(job));
        buttons.append(remove);
    }

    main.append(buttons);

    /* the photo itself once it can be shown: the small version or the
       server's thumbnail */
    function showPreview() {
        const url = job.previewUrl() || (job.id ? photoUrl(job.id) : null);

        if (url && preview.getAttribute('src') !== url) {
            preview.src = url;
        }
        if (job.width && job.height) {
            preview.width = 96;
            preview.height = Math.max(1, Math.round(96 * job.height
                                                    / job.width));
        }
    }

    /* a restored photo the server no longer has (24 h) */
    preview.addEventListener('error', () => {
        if (job.state === 'done' && !job.previewUrl()) {
            job.lost();
        }
    });

    function render() {
        const words = jobStatus(job);
        const sending = job.state === 'uploading' || job.state === 'done';
        const value = Math.round((job.progress || 0) * 100);

        node.className = `photo-item photo-item--${job.state}`;
        node.dataset.state = job.state;
        showPreview();

        if (job.state === 'preparing' || job.state === 'queued') {
            progress.removeAttribute('value');
            percent.textContent = '';
        } else {
            progress.value = sending ? value : 0;
            percent.textContent = `${sending ? value : 0} %`;
        }

        progressLabel.textContent = job.state === 'done'
            ? `Photo ${number} envoyée`
            : job.state === 'preparing' ? `Préparation de la photo ${number}`
                : `Envoi de la photo ${number}`;
        progressLabel.parentNode.hidden = job.state === 'failed';

        /* the status line is read out: only when its words change */
        if (words !== lastStatus) {
            status.textContent = words;
            lastStatus = words;
        }
        status.classList.toggle('photo-item__status--error',
                                job.state === 'failed');
        retry.hidden = job.state !== 'waiting';
        if (remove && options.removeIfFailed) {
            remove.hidden = job.state !== 'failed';
        }
    }

    const stop = job.onChange(render);

    return {
        node,
        alt,
        update(n, total) {
            number = n;
            title.textContent = `Photo ${n} sur ${total}`
                + (job.name ? ` · ${job.name}` : '');
            if (alt) {
                node.querySelector('label.label').textContent =
                    `Description de la photo ${n} (facultatif)`;
            }
            if (remove) {
                remove.setAttribute('aria-label', `Retirer la photo ${n}`);
            }
            retry.setAttribute('aria-label',
                               `Réessayer d’envoyer la photo ${n}`);
            render();
        },
        focusRemove() {
            (remove || retry).focus();
        },
        destroy() {
            stop();
            node.remove();
        },
    };
}

export function createPhotoTray({ficheId, key, onChange, initial = []}) {
    /* the buttons below open them (a file input cannot be styled) */
    const pick = el('input', {type: 'file', accept: ACCEPT, multiple: '',
                              className: 'visually-hidden',
                              id: `${key}-photos-pick`, tabindex: '-1',
                              'aria-hidden': 'true'});
    const camera = el('input', {type: 'file', accept: ACCEPT,
                                capture: 'environment',
                                className: 'visually-hidden',
                                id: `${key}-photos-camera`, tabindex: '-1',
                                'aria-hidden': 'true'});
    const add = el('button', {type: 'button', id: `${key}-photos-add`,
                              className: 'button button--secondary'},
                   'Ajouter des photos');
    const shoot = el('button', {type: 'button', id: `${key}-photos-shoot`,
                                className: 'button button--secondary',
                                hidden: !touchScreen()},
                     'Prendre une photo');
    const list = el('ul', {className: 'photo-tray__list',
                           'aria-labelledby': `${key}-photos-label`});
    const error = el('p', {className: 'field-error',
                           id: `${key}-photos-error`, role: 'alert',
                           hidden: true});
    const node = el('div', {className: 'form-group photo-tray',
                            'data-photo-tray': key},
        el('p', {className: 'label', id: `${key}-photos-label`},
           'Photos (facultatif)'),
        el('p', {className: 'hint', id: `${key}-photos-hint`},
           'JPEG ou PNG. Elles sont réduites avant l’envoi, pour aller '
           + 'plus vite sur un réseau faible.'),
        error,
        list,
        el('div', {className: 'photo-tray__buttons'}, add, shoot, pick,
           camera));
    const items = [];       /* {job, view, stop}, in order */

    function changed() {
        items.forEach((item, i) => item.view.update(i + 1, items.length));
        list.hidden = items.length === 0;
        if (onChange) {
            onChange();
        }
    }

    function append(job) {
        const view = jobView(job, {
            key,
            editable: true,
            onRemove: removeJob,
            onAlt: () => onChange && onChange(),
        });

        /* a photo sent: the draft keeps it; one refused: said */
        const stop = job.onChange((j) => {
            if (j.state === 'done' || j.state === 'failed') {
                changed();
            }
            if (j.state === 'failed') {
                const n = items.findIndex((item) => item.job === j) + 1;

                announce(`Photo ${n} refusée : ${j.message}`);
            }
        });

        items.push({job, view, stop});
        list.append(view.node);
    }

    function forget(item) {
        item.stop();
        item.view.destroy();
    }

    function removeJob(job) {
        const i = items.findIndex((item) => item.job === job);

        if (i < 0) {
            return;
        }

        const [item] = items.splice(i, 1);

        forget(item);
        item.job.remove();
        changed();
        announce(`Photo ${i + 1} retirée.`);
        if (!items.some((it) => it.job.state === 'failed')) {
            setError(null);
        }

        /* the focus where the action was: the next photo, or the button */
        const next = items[i] || items[i - 1];

        if (next) {
            next.view.focusRemove();
        } else {
            add.focus();
        }
    }

    function addFiles(files) {
        const list = [...files];

        if (!list.length) {
            return;
        }

        setError(null);
        for (const file of list) {
            append(new PhotoJob(ficheId, {file}));
        }
        changed();
        announce(list.length === 1 ? 'Photo ajoutée : envoi en cours.'
            : `${list.length} photos ajoutées : envoi en cours.`);
    }

    function setError(message) {
        error.replaceChildren();
        if (message) {
            error.append(el('span', {className: 'visually-hidden'},
                            'Erreur : '), message);
        }
        error.hidden = !message;
        node.classList.toggle('form-group--error', !!message);
    }

    add.addEventListener('click', () => pick.click());
    shoot.addEventListener('click', () => camera.click());
    for (const input of [pick, camera]) {
        input.addEventListener('change', () => {
            addFiles(input.files);
            input.value = '';
        });
    }

    /* photos dropped on the list, from a computer */
    node.addEventListener('dragover', (event) => {
        if (event.dataTransfer && [...event.dataTransfer.types]
            .includes('Files'))
        {
            event.preventDefault();
        }
    });
    node.addEventListener('drop', (event) => {
        if (event.dataTransfer && event.dataTransfer.files.length) {
            event.preventDefault();
            addFiles(event.dataTransfer.files);
        }
    });

    function appendSent(photos) {
        for (const photo of photos) {
            append(new PhotoJob(ficheId, {id: photo.id, width: photo.width,
                                          height: photo.height},
                                {alt: photo.alt}));
        }
    }

    appendSent(initial);
    items.forEach((item, i) => item.view.update(i + 1, items.length));
    list.hidden = items.length === 0;

    return {
        node,
        addFiles,
        setError,
        focus: () => add.focus(),

        /* the photos sent, in order: [{id, alt, width, height}] */
        photos() {
            return items.filter((item) => item.job.state === 'done')
                .map(({job}) => ({id: job.id, alt: job.alt.trim(),
                                  width: job.width, height: job.height}));
        },

        jobs() {
            return items.map((item) => item.job);
        },

        isEmpty() {
            return items.length === 0;
        },

        /*
         * What stops publishing: [{message, focus()}] for descriptions
         * too long and photos refused.
         */
        problems() {
            const list = [];

            items.forEach(({job, view}, i) => {
                if (job.state === 'failed') {
                    list.push({
                        message: `La photo ${i + 1} n’a pas pu être envoyée : `
                            + 'retirez-la avant de publier.',
                        focus: () => view.focusRemove(),
                    });
                }
                if (view.alt && codePoints(view.alt.value.trim()) > MAX_ALT) {
                    const message = `La description de la photo ${i + 1} `
                        + `fait ${codePoints(view.alt.value.trim())} `
                        + `caractères : la limite est de ${MAX_ALT}.`;

                    setFieldError(view.alt, message);
                    list.push({message, focus: () => view.alt.focus()});
                }
            });

            return list;
        },

        /* every photo sent or refused (the edit form waits for them) */
        async settled() {
            await Promise.all(items.map((item) => item.job.done()
                .catch(() => {})));
        },

        /*
         * The photos handed over to a post waiting to be published
         * (outbox.js): their uploads go on, the list is emptied.
         */
        takeJobs() {
            const jobs = items.map((item) => {
                forget(item);
                item.job.alt = item.job.alt.trim();
                return item.job;
            });

            items.length = 0;
            changed();
            return jobs;
        },

        /* the photos given back (a post taken back into the editor) */
        putJobs(jobs) {
            for (const job of jobs) {
                append(job);
            }
            changed();
        },

        /* all removed (an edit abandoned) */
        clear() {
            for (const item of items.splice(0)) {
                forget(item);
                item.job.remove();
            }
            changed();
        },

        /* these photos sent instead ({id, alt, width, height}) */
        reset(photos) {
            for (const item of items.splice(0)) {
                forget(item);
                item.job.remove();
            }
            appendSent(photos);
            changed();
        },
    };
}
