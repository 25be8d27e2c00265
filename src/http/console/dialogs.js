// One modal form, built from a description of its fields. The native <dialog> traps focus and closes on
// Escape; an API error is shown inside the form (the API's message), which stays open to be corrected.

import { h } from './dom.js';

function control(field, id) {
  const common = { id, name: field.name, required: field.required ?? false };
  if (field.hint) common['aria-describedby'] = `${id}-hint`;
  switch (field.type) {
    case 'textarea':
      return h('textarea', { ...common, rows: field.rows ?? 3, placeholder: field.placeholder ?? '', maxlength: field.maxlength }, field.value ?? '');
    case 'select':
      return h('select', common, field.options.map(([value, label]) =>
        h('option', { value, selected: value === field.value }, label ?? value)));
    case 'checkbox':
      return h('input', { ...common, type: 'checkbox', checked: field.value === true });
    default:
      return h('input', {
        ...common, type: field.type ?? 'text', value: field.value ?? '', placeholder: field.placeholder ?? '',
        pattern: field.pattern, min: field.min, max: field.max, step: field.step,
        autocomplete: field.autocomplete ?? 'off', spellcheck: field.type === 'password' ? 'false' : undefined,
      });
  }
}

function fieldRow(field, n) {
  const id = `f-${n}-${field.name}`;
  const input = control(field, id);
  const label = h('label', { for: id }, field.label, field.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
  const hint = field.hint ? h('small', { id: `${id}-hint`, class: 'hint' }, field.hint) : null;
  if (field.type === 'checkbox') return h('div', { class: 'field field-checkbox' }, h('span', { class: 'check' }, input, label), hint);
  return h('div', { class: `field field-${field.type ?? 'text'}` }, label, input, hint);
}

let opened = 0;

/**
 * Shows a form and resolves true once `onSubmit(values)` succeeds, false when cancelled. Field values are
 * strings (checkboxes: booleans). `danger` marks a destructive action: the submit button is red and the
 * description says what will be lost. `dialogId` picks the <dialog> (the key prompt has its own, to open over a form).
 */
export function formDialog({ title, description, fields = [], groups = [], submitLabel, danger = false, onSubmit, dialogId = 'form-dialog' }) {
  const dialog = document.getElementById(dialogId);
  const n = ++opened;
  const opener = document.activeElement;
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, submitLabel);
  const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
  const groupEls = groups.map((g) => h('details', { class: 'group', open: g.open ?? false },
    h('summary', {}, g.title), h('div', { class: 'group-fields' }, g.fields.map((f) => fieldRow(f, n)))));
  const form = h('form', { class: 'form', novalidate: false },
    h('h2', { id: `dlg-title-${n}` }, title),
    description ? h('p', { class: danger ? 'warning' : 'description', id: `dlg-desc-${n}` }, description) : null,
    fields.map((f) => fieldRow(f, n)), groupEls, error,
    h('div', { class: 'form-actions' }, cancel, submit));
  dialog.replaceChildren(form);
  dialog.setAttribute('aria-labelledby', `dlg-title-${n}`);
  if (description) dialog.setAttribute('aria-describedby', `dlg-desc-${n}`);
  else dialog.removeAttribute('aria-describedby');
  dialog.classList.toggle('is-danger', danger);

  return new Promise((resolve) => {
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      if (dialog.open) dialog.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(ok);
    };
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('close', () => finish(false), { once: true });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const values = {};
      for (const el of form.elements) {
        if (!el.name) continue;
        values[el.name] = el.type === 'checkbox' ? el.checked : el.value.trim();
      }
      submit.disabled = true;
      error.hidden = true;
      try {
        await onSubmit(values);
        finish(true);
      } catch (err) {
        error.textContent = err.display ?? String(err.message ?? err);
        error.hidden = false;
        submit.disabled = false;
      }
    });
    dialog.showModal();
    const first = form.querySelector('input:not([type=hidden]), textarea, select');
    (first ?? submit).focus();
  });
}
