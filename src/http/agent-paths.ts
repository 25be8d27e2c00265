import { ACTION_WORDS } from '../domain/limits.js';

const ACTIONS = new Set<string>(ACTION_WORDS);

/**
 * Agent paths are nested (`researcher/summarizer`) but each route has one `:path` parameter. Before routing,
 * `/agents/a/b/suspend` is rewritten to `/agents/a%2Fb/suspend`, so every operation is one documented route and
 * `%2F` works in place of `/`. A trailing slash is dropped (`POST /agents/a/` spawns under `a`).
 */
export function rewriteAgentUrl(url: string): string {
  if (!url.startsWith('/agents/')) return url;
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const segments = pathname.slice('/agents/'.length).split('/');
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  if (segments.length <= 1) return `/agents/${segments[0] ?? ''}${query}`;
  const last = segments.at(-1)!;
  const action = ACTIONS.has(last) ? segments.pop()! : null;
  return `/agents/${segments.join('%2F')}${action ? `/${action}` : ''}${query}`;
}

/** Normalises a decoded `:path` parameter: `%2F`-joined or slash-joined, without stray slashes. */
export function agentPath(param: string): string {
  return param.split('/').filter((s) => s.length > 0).join('/');
}
