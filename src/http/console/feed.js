// The feed: the latest events across the tree, newest first, from the page's /observe streams. Health and
// heartbeat frames (a steady pulse, not news) and token events (a flood) stay out; each event id shows once,
// so a stream that reconnects and replays what it missed adds nothing twice.

import { clockTime, h } from './dom.js';
import { summarize, toneOf } from './log.js';

/** Lines kept on the page: the oldest goes when one more arrives. */
export const FEED_MAX = 200;

const SKIP = new Set(['health', 'heartbeat', 'token', 'reset']);

/** `list` is an <ol>; `empty` the line shown while it has none; `onSelect(path)` when a line's path is clicked. */
export function createFeed(list, empty, onSelect) {
  const seenIds = new Set();
  const ids = [];
  return {
    /** Adds one event from a stream (type, its data, the frame's id); returns whether it was shown. */
    add(type, data, id) {
      if (SKIP.has(type) || typeof data !== 'object' || data === null || typeof data.path !== 'string') return false;
      if (id != null) {
        if (seenIds.has(id)) return false;
        seenIds.add(id);
        ids.push(id);
        if (ids.length > FEED_MAX * 2) seenIds.delete(ids.shift());
      }
      const tone = toneOf(type);
      const line = h('li', { class: `feed-entry${tone ? ` tone-${tone}` : ''}`, 'data-type': type, 'data-path': data.path },
        h('time', { datetime: data.timestamp ?? '' }, clockTime(data.timestamp ?? new Date().toISOString())),
        h('button', { type: 'button', class: 'feed-path', title: `Show ${data.path}`, onclick: () => onSelect(data.path) }, data.path),
        h('span', { class: 'log-type' }, type),
        h('span', { class: 'feed-text', title: summarize(type, data) }, summarize(type, data)));
      list.prepend(line);
      while (list.children.length > FEED_MAX) list.lastElementChild.remove();
      empty.hidden = true;
      return true;
    },
    clear() {
      list.replaceChildren();
      empty.hidden = false;
    },
  };
}
