import type { AgentRecord } from '../domain/agent.js';

/** The columns of an agent that live in its row (everything but children and the conversation). */
type StoredAgent = Omit<AgentRecord, 'children' | 'conversation'>;

export function encodeAgent(agent: AgentRecord): string {
  const { children: _children, conversation: _conversation, ...row } = agent;
  return JSON.stringify(row);
}

export function decodeAgent(json: string): AgentRecord {
  const row = JSON.parse(json) as StoredAgent;
  return { ...row, conversation: [], children: new Map() };
}
