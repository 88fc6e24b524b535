/*
 * The admin pages' forms: fields drawn from a short description, their
 * values read back, and the API's errors put next to the field they name
 * (the error's "field" member) as well as in the page's error summary.
 */

import {ApiError} from '../api.js';
import {showErrors} from '../layout.js';
import {el, errorMessage} from '../ui.js';

/*
 * def: {name, label, type ('text', 'email', 'tel', 'date', 'password',
 * 'search', 'select'), options: [[value, label]], hint, autocomplete}.
 * The input's id is prefix + name with dots as dashes.
 */
export function fieldGroup(prefix, def) {
    const id = `${prefix}-${def.name.replace(/\./g, '-')}`;
    let input;

    if (def.type === 'select') {
        input = el('select', {className: 'input', id, name: def.name},
                   ...def.options.map(([value, label]) =>
                       el('option', {value}, label)));
    } else {
        input = el('input', {className: 'input', id, name: def.name,
                             type: def.type || 'text',
                             autocomplete: def.autocomplete || 'off',
                             spellcheck: 'false'});
    }

    if (def.hint) {
        input.setAttribute('aria-describedby', `${id}-hint`);
    }

    const group = el('div', {className: 'form-group'},
        el('label', {className: 'label', for: id}, def.label),
        def.hint ? el('span', {className: 'hint', id: `${id}-hint`}, def.hint)
                 : null,
        el('p', {className: 'field-error', id: `${id}-error`, hidden: true}),
        input);

    input.dataset.field = def.name;
    return {group, input};
}

/* draws defs into container; returns {name: input} */
export function drawFields(container, prefix, defs) {
    const inputs = {};

    for (const def of defs) {
        const {group, input} = fieldGroup(prefix, def);

        container.append(group);
        inputs[def.name] = input;
    }

    return inputs;
}

/* the trimmed value of each input; '' becomes null */
export function valuesOf(inputs) {
    const values = {};

    for (const [name, input] of Object.entries(inputs)) {
        const value = input.value.trim();

        values[name] = value === '' ? null : value;
    }

    return values;
}

/*
 * Shows e: next to its field when the API names one of inputs (an address
 * line "address.city" is the input "address.city"), always in the summary.
 */
export function showApiError(e, inputs) {
    const named = e instanceof ApiError && e.body && e.body.error
        ? e.body.error.field : null;
    const input = named ? inputs[named] : null;
    const fields = Object.values(inputs);

    showErrors([{field: input ? input.id : null, message: errorMessage(e)}],
               fields);
}

export function clearErrors(inputs) {
    showErrors([], Object.values(inputs));
}

/* a password of 16 letters and digits, for "generate one" */
export function generatedPassword() {
    const letters = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    const bytes = new Uint8Array(16);

    crypto.getRandomValues(bytes);
    return [...bytes].map((b) => letters[b % letters.length]).join('');
}
