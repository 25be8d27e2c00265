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
