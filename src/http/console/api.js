// The daemon's HTTP API, as the console uses it. Every request carries the operator's key when one is set
// (Authorization: Bearer); a 401 asks for a key once and retries. The key lives in sessionStorage: this tab only.

const KEY_STORAGE = 'auton.apiKey';

/** An error answer from the API, carrying the API's own {statusCode, error, message}. */
export class ApiError extends Error {
  constructor(status, error, message) {
    super(message);
    this.status = status;
    this.error = error;
  }
  /** What the console shows: the status and the API's message, verbatim. */
  get display() {
    return `${this.status} ${this.error}: ${this.message}`;
  }
}

let askForKey = async () => null;
let pendingAsk = null;
let declined = false;

/** Installs the prompt used after a 401 (a dialog); it resolves to a key, or null when the operator cancels. */
export function onKeyNeeded(prompt) {
  askForKey = prompt;
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/**
 * Asks for a key after a 401. Concurrent 401s share one prompt; once the operator cancels, 401s stay errors
 * (no prompt on every poll) until `allowKeyPrompt()`.
 */
export function requestKey(reason) {
  if (declined) return Promise.resolve(null);
  pendingAsk ??= Promise.resolve(askForKey(reason)).then((key) => {
    pendingAsk = null;
    if (key) setApiKey(key);
    else declined = true;
    return key;
  });
  return pendingAsk;
}

export function allowKeyPrompt() {
  declined = false;
}

export function keyDeclined() {
  return declined;
}

export function authHeaders(headers = {}) {
  const key = apiKey();
  return key ? { ...headers, authorization: `Bearer ${key}` } : headers;
}

/** `/agents/a/b` plus an optional action: ids are [A-Za-z0-9_.-], but encode anyway. */
export function agentUrl(path, action) {
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  return `/agents/${encoded}${action ? `/${action}` : ''}`;
}

export async function errorFrom(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: a proxy's page, say; fall back to the status line
  }
  if (body && typeof body.message === 'string') return new ApiError(res.status, body.error ?? res.statusText, body.message);
  return new ApiError(res.status, res.statusText || 'Error', `the daemon answered ${res.status}`);
}

/** One API call: JSON in, JSON out; a non-2xx answer throws ApiError with the API's message. */
export async function api(method, url, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = authHeaders(body === undefined ? {} : { 'content-type': 'application/json' });
    let res;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'Network error', 'the daemon cannot be reached');
    }
    if (res.status === 401 && attempt === 0 && (await requestKey('The daemon asks for an API key.'))) continue;
    if (!res.ok) throw await errorFrom(res);
    return res.status === 204 ? null : res.json();
  }
}
