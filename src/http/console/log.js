// The live log of one agent (`/log`): one line per entry, the whole entry a click away.

import { clip, clockTime, h, usd } from './dom.js';

/** Entries kept on the page; the daemon keeps its own (replayed on reconnect). */
const MAX_ENTRIES = 500;

const by = (d) => (d.by ? ` · by ${d.by}` : '');
const quote = (s, max) => (s ? `“${clip(s, max)}”` : '');

/** What each event type says in one line. Unknown types fall back to their data. */
const SUMMARY = {
  spawned: (d) => `${d.forked_from ? `forked from ${d.forked_from.path} @ ${d.forked_from.checkpoint} · ` : ''}goal ${quote(d.spec?.goal, 90)} · ${d.spec?.model ?? ''}${by(d)}`,
  state_change: (d) => `${d.from} → ${d.to}${d.reason ? ` (${d.reason})` : ''}${by(d)}`,
  suspended: (d) => `${d.reason}${d.detail ? ` — ${clip(d.detail, 100)}` : ''}${by(d)}`,
  resumed: (d) => `resumed${d.guidance ? ` with guidance ${quote(d.guidance, 90)}` : ''}${by(d)}`,
  correction: (d) => `guidance ${quote(d.guidance, 110)}${by(d)}`,
  correction_delivered: (d) => `guidance delivered ${quote(d.guidance, 100)}`,
  message: (d) => `${d.from ? `from ${d.from}: ` : ''}${quote(d.content, 110)}${d.channel ? ` · #${d.channel}` : ''}`,
  checkpoint: (d) => `${d.checkpoint} · ${d.turns} turns${d.label ? ` · ${d.label}` : ''}`,
  forked: (d) => `→ ${d.to} from ${d.checkpoint}`,
  restarted: (d) => `restart #${d.restart_count}${d.from_checkpoint ? ` from ${d.from_checkpoint}` : ' fresh'} · ${d.cause}${by(d)}`,
  terminated: (d) => (d.cascade_from ? `cascade from ${d.cascade_from}` : `terminated${d.reason ? ` — ${d.reason}` : ''}${by(d)}`),
  purged: () => 'removed from the tree',
  oversight: (d) => `${d.kind}: ${d.action} — ${clip(d.detail, 110)}`,
  tool_call: (d) => `${d.tool}(${clip(d.input ?? {}, 100)})`,
  tool_result: (d) => `${d.tool}${d.is_error ? ' ✗ error' : ' →'} ${clip(d.content, 100)}`,
  model_call: (d) => `${d.model ?? 'model'} · ${d.stop_reason ?? ''} · ${typeof d.tokens === 'number' ? d.tokens : clip(d.tokens ?? '', 40)} tokens${typeof d.cost_usd === 'number' ? ` · ${usd(d.cost_usd)}` : ''}${d.text ? ` · ${quote(d.text, 80)}` : ''}`,
  supervision: (d) => (d.kind === 'restart' ? `restart in ${Math.round(d.delayMs / 100) / 10}s · ${clip(d.cause, 100)}` : `${d.kind}: ${clip(d.message ?? d.detail, 110)}`),
  step_limit: (d) => `${d.steps} steps · ${clip(d.detail, 100)}`,
  reset: (d) => clip(d.reason, 120),
};

/** Types shown in a colour of their own (the rest are neutral). */
const TONE = {
  suspended: 'warn', oversight: 'warn', supervision: 'warn', step_limit: 'warn', terminated: 'bad', purged: 'bad', tool_call: 'tool', tool_result: 'tool',
  model_call: 'model', correction: 'info', correction_delivered: 'info', resumed: 'good', spawned: 'good', restarted: 'info',
};

export const toneOf = (type) => TONE[type] ?? '';

function dataOf(entry) {
  const { type: _t, path: _p, timestamp: _ts, id: _id, ...data } = entry;
  return data;
}

export function summarize(type, entry) {
  const data = dataOf(entry);
  try {
    const line = SUMMARY[type]?.(data);
    if (line) return line;
  } catch {
    // a field this console does not know yet: show the data instead
  }
  return clip(data, 140);
}

/**
 * The log list: `add(type, entry)` appends, keeping the view pinned to the bottom unless scrolled up. The list
 * is one tab stop (hundreds of entries would otherwise be hundreds); arrow keys move between entries and
 * Enter opens one.
 */
export function createLog(list) {
  let count = 0;
  list.addEventListener('keydown', (event) => {
    const items = [...list.querySelectorAll('summary')];
    if (items.length === 0) return;
    const at = items.indexOf(document.activeElement);
    const next = { ArrowDown: at + 1, ArrowUp: at === -1 ? items.length - 1 : at - 1, Home: 0, End: items.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    items[Math.max(0, Math.min(items.length - 1, next))].focus();
  });
  return {
    add(type, entry) {
      const pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
      const tone = toneOf(type) ? ` tone-${toneOf(type)}` : '';
      const item = h('li', { class: `log-entry${tone}`, 'data-type': type },
        h('details', {},
          h('summary', { tabindex: '-1' },
            h('time', { datetime: entry.timestamp ?? '' }, clockTime(entry.timestamp)),
            h('span', { class: 'log-type' }, type),
            h('span', { class: 'log-text' }, summarize(type, entry))),
          h('pre', {}, JSON.stringify(dataOf(entry), null, 2))));
      list.append(item);
      if (++count > MAX_ENTRIES) {
        list.firstElementChild?.remove();
        count--;
      }
      if (pinned) list.scrollTop = list.scrollHeight;
    },
    clear() {
      list.replaceChildren();
      count = 0;
    },
  };
}
