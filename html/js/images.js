/*
 * Photos made smaller in the browser before they are sent: on a building
 * site's mobile network a phone's 12-megapixel photo (4-8 MB) would take
 * minutes, the 2,048-pixel version the page shows (a few hundred KB)
 * seconds.  The server would make that version anyway (SPEC §3): nothing
 * is lost but time.
 *
 * The photo is decoded upright (its EXIF orientation applied), drawn on a
 * canvas at most MAX_EDGE pixels on its long edge and encoded again: JPEG
 * at QUALITY, or PNG when the photo is a PNG with transparent pixels (a
 * plan, a logo).  Encoding again also leaves all the metadata behind, GPS
 * position included, before anything leaves the phone.
 *
 * A file the browser cannot decode is sent as it is: the server says
 * what is wrong with it (not an image, a truncated one) in words the page
 * shows.
 */

export const MAX_EDGE = 2048;
const QUALITY = 0.85;

/*
 * The image upright, as an ImageBitmap or an <img>, or null when the
 * browser cannot decode it.  createImageBitmap() refuses a truncated
 * file, where an <img> would show its first half over grey: the <img> is
 * only for a browser without it (or without its orientation option).
 */
async function decode(file) {
    if (typeof window.createImageBitmap === 'function') {
        try {
            return await window.createImageBitmap(file, {
                imageOrientation: 'from-image',
            });
        } catch (e) {
            if (!(e instanceof TypeError)) {
                return null;
            }
            /* an option this browser does not know: the <img> below */
        }
    }

    const url = URL.createObjectURL(file);

    try {
        const img = new Image();

        img.decoding = 'async';
        img.src = url;
        await img.decode();
        return img;
    } catch {
        return null;
    } finally {
        URL.revokeObjectURL(url);
    }
}

function sizeOf(image) {
    return {
        width: image.naturalWidth || image.width,
        height: image.naturalHeight || image.height,
    };
}

function canvasOf(width, height) {
    if (typeof window.OffscreenCanvas === 'function') {
        return new window.OffscreenCanvas(width, height);
    }

    const canvas = document.createElement('canvas');

    canvas.width = width;
    canvas.height = height;
    return canvas;
}

function toBlob(canvas, type, quality) {
    if (canvas.convertToBlob) {
        return canvas.convertToBlob({type, quality});
    }

    return new Promise((resolve, reject) => {
        canvas.toBlob((blob) => (blob ? resolve(blob)
            : reject(new Error('canvas.toBlob gave nothing'))),
        type, quality);
    });
}

/* does the drawing have a pixel that is not fully opaque? */
function hasTransparency(context, width, height) {
    const data = context.getImageData(0, 0, width, height).data;

    for (let i = 3; i < data.length; i += 4) {
        if (data[i] !== 255) {
            return true;
        }
    }

    return false;
}

/*
 * The version of file to send: {blob, type, width, height, resized}
 * (resized false: the file itself, which the browser could not decode;
 * width and height are then null).
 */
export async function prepareImage(file) {
    const image = await decode(file);

    if (!image) {
        return {
            blob: file,
            type: file.type || 'application/octet-stream',
            width: null,
            height: null,
            resized: false,
        };
    }

    const {width, height} = sizeOf(image);
    const scale = Math.min(1, MAX_EDGE / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const canvas = canvasOf(w, h);
    const context = canvas.getContext('2d', {willReadFrequently: false});

    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = 'high';
    context.drawImage(image, 0, 0, w, h);
    if (image.close) {
        image.close();
    }

    const png = file.type === 'image/png' && hasTransparency(context, w, h);
    const type = png ? 'image/png' : 'image/jpeg';
    const blob = await toBlob(canvas, type, png ? undefined : QUALITY);

    if (canvas.width) {
        /* the canvas's memory back at once (phones have little) */
        canvas.width = 0;
        canvas.height = 0;
    }

    return {blob, type, width: w, height: h, resized: true};
}
