import type { AgentRecord } from '../domain/agent.js';

/** The columns of an agent that live in its row (everything but children and the conversation). */
type StoredAgent = Omit<AgentRecord, 'children' | 'conversation'>;

export function encodeAgent(agent: AgentRecord): string {
  const { children: _children, conversation: _conversation, ...row } = agent;
  return JSON.stringify(row);
}

export function decodeAgent(json: string): AgentRecord {
  // Fields set on the parsed row rather than spread into a copy: start-up decodes every agent (~200 ms on 10,000).
  const agent = JSON.parse(json) as StoredAgent as AgentRecord;
  agent.restartAtMs ??= null; // rows written before the field existed
  agent.conversation = [];
  agent.children = new Map();
  return agent;
}
