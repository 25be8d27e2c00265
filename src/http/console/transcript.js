// An agent's conversation as turns: what the agent wrote, what it was told (guidance and messages marked), the
// tool calls it made (folded: name and gist, input and result a click away) and compaction summaries. Takes the
// turns of GET /agents/{path}/conversation; knows nothing of HTTP (conversation.js fetches), so it can be driven
// with any list of Messages API turns.

import { clip, h } from './dom.js';

const GUIDANCE = /^\[operator guidance\]\s*/;
const MESSAGE = /^\[message from ([^\]]*)\]\s*/;
/** Characters of a tool's input shown on its folded line. */
const GIST_CHARS = 90;

/**
 * A turn of GET /agents/{path}/conversation (`{seq, kind: 'turn' | 'summary', role, content}`) as the view shows it:
 * {seq, role, blocks, summary}.
 */
export function normalizeItem(turn) {
  const content = typeof turn.content === 'string' ? [{ type: 'text', text: turn.content }] : Array.isArray(turn.content) ? turn.content : [];
  return { seq: turn.seq, role: turn.role === 'assistant' ? 'assistant' : 'user', blocks: content, summary: turn.kind === 'summary' };
}

/** A tool result's content (a string or text/image blocks) as text. */
function resultText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined ? '' : JSON.stringify(content, null, 2);
  return content.map((b) => (b?.type === 'text' ? b.text : `[${b?.type ?? 'block'}]`)).join('\n');
}

const pretty = (value) => (typeof value === 'string' ? value : JSON.stringify(value ?? {}, null, 2));

function textBlock(text, role) {
  if (role === 'user') {
    if (GUIDANCE.test(text)) {
      return h('div', { class: 't-block t-guidance' }, h('span', { class: 't-tag' }, 'Operator guidance'), h('p', { class: 't-text' }, text.replace(GUIDANCE, '')));
    }
    const m = MESSAGE.exec(text);
    if (m) return h('div', { class: 't-block t-message' }, h('span', { class: 't-tag' }, `Message from ${m[1]}`), h('p', { class: 't-text' }, text.slice(m[0].length)));
  }
  return h('p', { class: 't-text' }, text);
}

/**
 * The transcript list. `add(items)` appends turns newer than the last shown (sorted by sequence number, each
 * once); `prepend(items)` puts earlier ones on top; `appendTokens({text})` grows a live reply at the end, which
 * the next stored reply replaces.
 */
export function createTranscript(list) {
  const shown = new Set();
  /** tool_use id → the call's result slot, and results that came before their call (an earlier page loaded later). */
  const calls = new Map();
  const results = new Map();
  let live = null;

  function fillResult(slot, block) {
    const error = block.is_error === true;
    slot.details.classList.toggle('is-error', error);
    slot.status.textContent = error ? '✗ error' : '✓';
    slot.status.title = error ? 'The tool answered with an error' : 'The tool answered';
    slot.result.replaceChildren(h('h4', {}, error ? 'Error' : 'Result'), h('pre', {}, resultText(block.content)));
  }

  function toolUse(block) {
    const slot = { status: h('span', { class: 't-status' }, '…'), result: h('div', { class: 't-result' }, h('p', { class: 'muted small' }, 'No result yet.')) };
    slot.details = h('details', { class: 't-tool', 'data-tool': block.name ?? '' },
      h('summary', {}, h('span', { class: 't-tool-name' }, block.name ?? 'tool'), h('span', { class: 't-gist' }, clip(block.input ?? {}, GIST_CHARS)), slot.status),
      h('div', { class: 't-io' }, h('h4', {}, 'Input'), h('pre', {}, pretty(block.input)), slot.result));
    if (block.id) {
      calls.set(block.id, slot);
      const early = results.get(block.id);
      if (early) fillResult(slot, early.block);
      early?.el.remove();
    }
    return slot.details;
  }

  function toolResult(block) {
    const slot = calls.get(block.tool_use_id);
    if (slot) {
      fillResult(slot, block);
      return null;
    }
    // Its call is not on the page (yet): shown on its own, folded.
    const el = h('details', { class: `t-tool t-orphan${block.is_error ? ' is-error' : ''}` },
      h('summary', {}, h('span', { class: 't-tool-name' }, 'result'), h('span', { class: 't-gist' }, clip(resultText(block.content), GIST_CHARS)),
        h('span', { class: 't-status' }, block.is_error ? '✗ error' : '✓')),
      h('div', { class: 't-io' }, h('pre', {}, resultText(block.content))));
    if (block.tool_use_id) results.set(block.tool_use_id, { block, el });
    return el;
  }

  function blockEl(block, role) {
    switch (block?.type) {
      case 'text': return textBlock(String(block.text ?? ''), role);
      case 'tool_use': return toolUse(block);
      case 'tool_result': return toolResult(block);
      case 'thinking': return h('details', { class: 't-thinking' }, h('summary', {}, 'Thinking'), h('p', { class: 't-text' }, block.thinking ?? ''));
      case 'redacted_thinking': return h('p', { class: 't-thinking muted small' }, 'Thinking (redacted)');
      default: return h('pre', { class: 't-other' }, JSON.stringify(block, null, 2));
    }
  }

  function turnEl(item) {
    const onlyResults = item.blocks.length > 0 && item.blocks.every((b) => b?.type === 'tool_result');
    const label = item.summary ? 'Summary of earlier turns' : item.role === 'assistant' ? 'Agent' : onlyResults ? 'Tool results' : 'To the agent';
    const body = item.blocks.map((b) => blockEl(b, item.role)).filter(Boolean);
    const li = h('li', { class: `turn turn-${item.role}${item.summary ? ' turn-summary' : ''}${onlyResults ? ' turn-results' : ''}`, 'data-seq': item.seq },
      h('div', { class: 'turn-head' }, h('span', { class: 'turn-role' }, label),
        h('span', { class: 'turn-seq muted' }, `#${item.seq}`)),
      body.length > 0 ? body : h('p', { class: 'muted small' }, onlyResults ? 'Results shown with their calls above.' : '(empty)'));
    if (item.summary) li.setAttribute('title', 'A compaction summary: it stands for the turns before it, which are stored but no longer sent to the model');
    return li;
  }

  function fresh(items) {
    return items.map(normalizeItem).filter((item) => !shown.has(item.seq)).sort((a, b) => a.seq - b.seq);
  }

  const seqs = () => [...shown];

  return {
    add(items) {
      const list_ = fresh(items);
      // A stored reply replaces the live one; a turn before it (the message it answers) goes above it.
      if (list_.some((item) => item.role === 'assistant')) this.endLive();
      for (const item of list_) {
        shown.add(item.seq);
        list.insertBefore(turnEl(item), live?.li ?? null);
      }
      return list_.length;
    },
    prepend(items) {
      const list_ = fresh(items);
      const first = list.firstElementChild;
      for (const item of list_) {
        shown.add(item.seq);
        list.insertBefore(turnEl(item), first);
      }
      return list_.length;
    },
    /**
     * Live text of the reply being written (`token` events: {text, index, start}): `start` begins a new reply (an
     * earlier one that was cut off or dropped goes), a new `index` a new paragraph (another text block).
     */
    appendTokens(data) {
      const text = typeof data === 'string' ? data : data?.text;
      if (typeof text !== 'string' || text === '') return;
      if (data?.start === true) this.endLive();
      if (!live) {
        live = { li: h('li', { class: 'turn turn-assistant turn-live', 'aria-live': 'polite' },
          h('div', { class: 'turn-head' }, h('span', { class: 'turn-role' }, 'Agent'), h('span', { class: 'muted' }, 'writing…'))), text: null, index: null };
        list.append(live.li);
      }
      const index = data?.index ?? 0;
      if (!live.text || index !== live.index) {
        live.text = h('p', { class: 't-text' });
        live.index = index;
        live.li.append(live.text);
      }
      live.text.append(text);
    },
    endLive() {
      live?.li.remove();
      live = null;
    },
    clear() {
      list.replaceChildren();
      shown.clear();
      calls.clear();
      results.clear();
      live = null;
    },
    get firstSeq() {
      return shown.size ? Math.min(...seqs()) : null;
    },
    get lastSeq() {
      return shown.size ? Math.max(...seqs()) : null;
    },
    get size() {
      return shown.size;
    },
  };
}
