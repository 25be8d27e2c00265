import type { AgentRecord } from '../domain/agent.js';
import type { Approval } from '../domain/approval.js';
import { AgentTree } from '../domain/tree.js';
import { decodeAgent } from '../store/record-codec.js';
import type { Sql } from './pg/db.js';

/**
 * The subtrees other daemons own, as stored (each daemon commits its changes within milliseconds), so `GET /agents`
 * shows the whole tree whichever daemon answers: those subtrees' roots with their descendants nested, in their own
 * tree (never this daemon's: it does not drive them).
 */
export async function readRemoteTree(sql: Sql, localRoots: readonly string[]): Promise<AgentTree> {
  const { rows } = await sql.query<{ json: string }>(
    "SELECT json FROM agents WHERE NOT (split_part(path, '/', 1) = ANY($1::text[]))", [localRoots],
  );
  const agents = rows.map((r) => decodeAgent(r.json)).sort((a, b) => a.depth - b.depth || a.createdAtMs - b.createdAtMs);
  const tree = new AgentTree();
  for (const agent of agents) if (agent.parentPath === null || tree.find(agent.parentPath)) tree.insert(agent);
  return tree;
}

/** The pending approvals of the subtrees other daemons own, as stored. */
export async function readRemotePendingApprovals(sql: Sql, localRoots: readonly string[]): Promise<Approval[]> {
  const { rows } = await sql.query<{ json: string }>(
    "SELECT json FROM approvals WHERE state = 'pending' AND NOT (split_part(path, '/', 1) = ANY($1::text[]))", [localRoots],
  );
  return rows.map((r) => JSON.parse(r.json) as Approval);
}

/** Local and remote roots in one map, oldest first (spawn order across daemons). */
export function mergeRoots(local: ReadonlyMap<string, AgentRecord>, remote: ReadonlyMap<string, AgentRecord>): Map<string, AgentRecord> {
  if (remote.size === 0) return new Map(local);
  return new Map([...local, ...remote].sort(([, a], [, b]) => a.createdAtMs - b.createdAtMs));
}
