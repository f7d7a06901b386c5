// The API key: asked for once per browser session when the gateway answers 401 or 403, kept in
// sessionStorage, sent as `Authorization: Bearer`. It is never put in a URL: the form submits to
// nothing (method=dialog, and the page's CSP has form-action 'none').
import { h } from './dom.js';

const STORAGE_KEY = 'sluice.apiKey';

/** Why the gateway refused a request, as its JSON error says. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export class KeyDeclinedError extends Error {
  override readonly name = 'KeyDeclinedError';
  constructor(readonly refusal: Refusal) {
    super(`${refusal.message} (${refusal.status} ${refusal.code})`);
  }
}

export const currentKey = (): string | null => sessionStorage.getItem(STORAGE_KEY);

/** Forgets the key of this session; the next refusal asks again. */
export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  declined = false;
  dispatchEvent(new Event('sluice:key'));
}

let pending: Promise<void> | undefined;
let declined = false;

/**
 * Shows the key form after a refusal; resolves once a key is entered, rejects with
 * KeyDeclinedError when the form is cancelled (and, until `allowPrompt()`, at once after that,
 * so pages that refresh every few seconds do not bring the form back each time).
 */
export function askForKey(refusal: Refusal, triedKey: string | null): Promise<void> {
  // A refused key is of no use (one lacking a scope may still read streams: it stays until replaced).
  if (refusal.status === 401 && triedKey !== null && currentKey() === triedKey) {
    sessionStorage.removeItem(STORAGE_KEY);
    dispatchEvent(new Event('sluice:key'));
  }
  if (declined) return Promise.reject(new KeyDeclinedError(refusal));
  pending ??= showPrompt(refusal, triedKey).finally(() => (pending = undefined));
  return pending;
}

/** After a cancel: lets the next refusal show the form again. */
export function allowPrompt(): void {
  declined = false;
}

/** What the form says about a refusal. */
export function refusalText(r: Refusal, triedKey: string | null): string {
  if (r.status === 401) return triedKey ? `The gateway refused this key: ${r.message}.` : 'This gateway needs an API key.';
  return `This key may not do that: ${r.message}. Metrics and pipelines need the scope '$metrics': ['read'] or admin on '*'.`;
}

function showPrompt(refusal: Refusal, triedKey: string | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'sluice.<id>.<secret>', 'aria-label': 'API key' });
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const form = h('form', { method: 'dialog', class: 'key-form' },
      h('h2', {}, 'API key'),
      h('p', { class: triedKey ? 'key-message error' : 'key-message', role: 'alert' }, refusalText(refusal, triedKey)),
      h('label', { class: 'field' }, h('span', {}, 'Key'), input),
      h('p', { class: 'hint' }, 'Kept for this browser session only and sent as an Authorization header, never in a URL.'),
      h('div', { class: 'actions' }, cancel, h('button', { type: 'submit', class: 'btn primary' }, 'Use key')),
    );
    const dialog = h('dialog', { class: 'key-dialog' }, form);
    const close = (ok: boolean) => {
      dialog.close();
      dialog.remove();
      if (ok) return resolve();
      declined = true;
      reject(new KeyDeclinedError(refusal));
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      sessionStorage.setItem(STORAGE_KEY, key);
      dispatchEvent(new Event('sluice:key'));
      close(true);
    });
    cancel.addEventListener('click', () => close(false));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
