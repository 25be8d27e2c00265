// The selected agent's transcript, read from GET /agents/{path}/conversation (`{path, turns, next}`): the latest
// page first, earlier pages on demand, newer turns after each log event that may have added some, and the reply
// being written as its tokens arrive. A 404 (the agent is gone) makes the card say so in one line and ask no more.

import { agentUrl, api } from './api.js';
import { h } from './dom.js';
import { createTranscript } from './transcript.js';

/** Turns per request. */
export const CONVERSATION_PAGE = 50;
/** Pages read in one catch-up before waiting for the next event (a long burst is read over several). */
const MAX_PAGES_PER_REFRESH = 4;

/** Builds the card's body for `path`: {el, refresh(), appendTokens(data), close()}. */
export function createConversation(path) {
  const list = h('ol', { class: 'transcript', 'aria-label': `Transcript of ${path}` });
  const status = h('p', { class: 'transcript-status muted small', role: 'status' }, 'loading…');
  const earlier = h('button', { type: 'button', class: 'small-btn', hidden: true }, 'Show earlier turns');
  const view = createTranscript(list);
  let closed = false;
  let available = true;
  let busy = null;
  let again = false;

  /** One page: {turns, next} (`next`: the cursor of the page after, null at the end). */
  const read = (params) => api('GET', `${agentUrl(path, 'conversation')}?${new URLSearchParams(params)}`);

  function failed(err) {
    if (closed) return;
    available = err.status !== 404;
    status.textContent = err.status === 404 ? 'transcript not available (404)' : `transcript not available (${err.display ?? err.message})`;
    status.hidden = false;
  }

  function pinnedToBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  }

  async function loadLatest() {
    const page = await read({ order: 'desc', limit: CONVERSATION_PAGE });
    if (closed) return;
    view.add(page.turns);
    status.textContent = view.size === 0 ? 'No turns yet.' : '';
    status.hidden = view.size > 0;
    earlier.hidden = page.next === null;
    list.scrollTop = list.scrollHeight;
  }

  async function loadNewer() {
    for (let page = 0; page < MAX_PAGES_PER_REFRESH && !closed; page++) {
      const after = view.lastSeq;
      const page = await read(after === null ? { order: 'asc', limit: CONVERSATION_PAGE } : { order: 'asc', after, limit: CONVERSATION_PAGE });
      if (closed) return;
      const pinned = pinnedToBottom();
      const added = view.add(page.turns);
      if (added > 0) status.hidden = true;
      if (pinned) list.scrollTop = list.scrollHeight;
      if (page.next === null || added === 0) return;
    }
  }

  async function loadEarlier() {
    const before = view.firstSeq;
    if (before === null) return;
    earlier.disabled = true;
    try {
      const page = await read({ order: 'desc', after: before, limit: CONVERSATION_PAGE });
      const height = list.scrollHeight;
      view.prepend(page.turns);
      list.scrollTop += list.scrollHeight - height; // the turn that was on top stays in view
      earlier.hidden = page.next === null;
    } catch (err) {
      failed(err);
    } finally {
      earlier.disabled = false;
    }
  }
  earlier.addEventListener('click', loadEarlier);

  /** One read at a time; a refresh asked for meanwhile runs once after it. */
  function run(task) {
    if (busy) {
      again = true;
      return busy;
    }
    busy = task().catch(failed).finally(() => {
      busy = null;
      if (again && available && !closed) {
        again = false;
        run(loadNewer);
      }
    });
    return busy;
  }

  run(loadLatest);

  return {
    el: h('div', { class: 'transcript-wrap' }, earlier, list, status),
    view,
    /** Reads turns stored since the last one shown (after a model call, a tool result, a message…). */
    refresh() {
      if (!available || closed) return;
      run(view.lastSeq === null ? loadLatest : loadNewer);
    },
    /** Reads the latest page afresh: after a restart the stored conversation may begin again. */
    reload() {
      if (!available || closed) return;
      view.clear();
      run(loadLatest);
    },
    appendTokens(data) {
      if (closed) return;
      const pinned = pinnedToBottom();
      view.appendTokens(data);
      if (pinned) list.scrollTop = list.scrollHeight;
    },
    close() {
      closed = true;
    },
  };
}
