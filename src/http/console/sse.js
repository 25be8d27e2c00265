// Server-sent events over fetch(). EventSource cannot send an Authorization header, so the stream is read
// with a body reader and parsed here (https://html.spec.whatwg.org/multipage/server-sent-events.html).
// On a drop it reconnects with Last-Event-ID, and the daemon replays what was missed.

import { authHeaders, errorFrom, requestKey } from './api.js';

const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 15_000;

/**
 * Opens a stream and keeps it open until close(). `onEvent(type, data, id)` gets every event; `onStatus` gets
 * 'open' | 'retrying' | 'gone' (404: the agent no longer exists; the stream stops) | 'closed'.
 */
export function openStream(url, { onEvent, onStatus = () => {} }) {
  const abort = new AbortController();
  let lastEventId = null;
  let retryMs = RETRY_FIRST_MS;
  let closed = false;

  const dispatch = (type, dataLines, id) => {
    if (dataLines.length === 0) return;
    let data;
    try {
      data = JSON.parse(dataLines.join('\n'));
    } catch {
      data = dataLines.join('\n');
    }
    onEvent(type || 'message', data, id);
  };

  async function readOnce() {
    const headers = authHeaders({ accept: 'text/event-stream' });
    if (lastEventId !== null) headers['last-event-id'] = lastEventId;
    const res = await fetch(url, { headers, signal: abort.signal, cache: 'no-store' });
    if (res.status === 401) {
      if (await requestKey('The event stream asks for an API key.')) return 'again';
      throw await errorFrom(res);
    }
    if (res.status === 404) return 'gone';
    if (!res.ok || !res.body) throw await errorFrom(res);
    onStatus('open');
    retryMs = RETRY_FIRST_MS;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let type = '';
    let data = [];
    let id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // A trailing \r may be the first half of \r\n: keep it until the next chunk.
      const lines = buffer.split(/\r\n|\r(?!$)|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (id !== null) lastEventId = id;
          dispatch(type, data, id);
          type = '';
          data = [];
          id = null;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
      }
    }
  }

  (async () => {
    while (!closed) {
      try {
        const outcome = await readOnce();
        if (outcome === 'gone') {
          closed = true;
          onStatus('gone');
          return;
        }
        if (outcome === 'again') continue;
      } catch {
        if (closed) break;
      }
      if (closed) break;
      onStatus('retrying');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
    onStatus('closed');
  })();

  return {
    close() {
      closed = true;
      abort.abort();
    },
  };
}
