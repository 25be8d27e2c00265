import { ACTION_WORDS } from '../domain/limits.js';

const ACTIONS = new Set<string>(ACTION_WORDS);

/**
 * Agent paths are nested (`researcher/summarizer`) but each route has one `:path` parameter. Before routing,
 * `/agents/a/b/suspend` is rewritten to `/agents/a%2Fb/suspend`, so every operation is one documented route and
 * `%2F` works in place of `/`. A trailing slash is dropped (`POST /agents/a/` spawns under `a`).
 */
export function rewriteAgentUrl(url: string): string {
  if (!url.startsWith('/agents/')) return url;
  // String scans rather than split/join: this runs on every request (figure 1 of BENCHMARKS.md).
  const q = url.indexOf('?');
  const query = q === -1 ? '' : url.slice(q);
  let rest = url.slice('/agents/'.length, q === -1 ? url.length : q);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const slash = rest.lastIndexOf('/');
  if (slash === -1) return q === -1 && rest.length === url.length - 8 ? url : `/agents/${rest}${query}`;
  const last = rest.slice(slash + 1);
  // A decision on an approval: /agents/a/b/approvals/ap-1 ('approvals' is no agent id).
  const approvals = rest.lastIndexOf('/approvals/');
  if (approvals !== -1 && approvals === rest.lastIndexOf('/', slash - 1)) {
    return `/agents/${rest.slice(0, approvals).replaceAll('/', '%2F')}/approvals/${last}${query}`;
  }
  const isAction = ACTIONS.has(last);
  const agent = isAction ? rest.slice(0, slash) : rest;
  if (last === 'conversation') {
    // A checkpoint's transcript: /agents/a/b/checkpoints/cp-1/conversation ('checkpoints' is no agent id).
    const at = agent.lastIndexOf('/checkpoints/');
    if (at !== -1 && !agent.includes('/', at + 13)) {
      return `/agents/${agent.slice(0, at).replaceAll('/', '%2F')}/checkpoints/${agent.slice(at + 13)}/conversation${query}`;
    }
  }
  return `/agents/${agent.replaceAll('/', '%2F')}${isAction ? `/${last}` : ''}${query}`;
}

/** Normalises a decoded `:path` parameter: `%2F`-joined or slash-joined, without stray slashes. */
export function agentPath(param: string): string {
  if (param.length > 0 && param[0] !== '/' && !param.endsWith('/') && !param.includes('//')) return param;
  return param.split('/').filter((s) => s.length > 0).join('/');
}

/** The actions a POST may name after an agent's path, and the ones a GET may. */
const POST_ACTIONS = ['checkpoint', 'fork', 'message', 'restart', 'resume', 'suspend'] as const;
const GET_ACTIONS = ['checkpoints', 'log', 'observe'] as const;

/**
 * The 404 for `POST /agents/r/resum` when `r` exists and `r/resum` does not: a mistyped action reads as a spawn
 * under a child that is not there, and "agent r/resum not found" alone would not say why. Names the known actions
 * and the nearest one; null when there is nothing to add (a GET of a missing child that looks like no action).
 */
export function unknownActionMessage(method: string, path: string): string | null {
  const slash = path.lastIndexOf('/');
  const word = path.slice(slash + 1);
  const known: readonly string[] = method === 'GET' ? GET_ACTIONS : POST_ACTIONS;
  const near = nearest(word, ACTION_WORDS);
  // A GET of a missing child is a plain read; only a word close to an action is worth a hint there.
  if (method !== 'POST' && near === undefined) return null;
  const hint = near ? ` (did you mean ${method === 'GET' && !(GET_ACTIONS as readonly string[]).includes(near) ? 'POST ' : ''}${near}?)` : '';
  return `agent ${path} not found, and "${word}" is not an action${hint}; ${method} /agents/${path.slice(0, slash)}/… takes ${known.join(', ')}`;
}

/** The action word within two edits of `word`, if any: enough for a slip of the keyboard, not for a different word. */
function nearest(word: string, words: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of words) {
    const d = editDistance(word.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
