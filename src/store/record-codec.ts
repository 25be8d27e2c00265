import type { AgentRecord } from '../domain/agent.js';
import { ContextTurns } from '../domain/context-turns.js';

/** The fields of an agent that live in its row: not its children, inbox or context (rows of their own). */
type StoredAgent = Omit<AgentRecord, 'children' | 'conversation' | 'contextSeqs' | 'contextLoaded' | 'inbox' | 'conversationEpoch'>;

export function encodeAgent(agent: AgentRecord): string {
  const { children: _children, conversation: _conversation, contextSeqs: _seqs, contextLoaded: _loaded, inbox: _inbox, conversationEpoch: _epoch, ...row } = agent;
  return JSON.stringify(row);
}

export function decodeAgent(json: string): AgentRecord {
  // Fields set on the parsed row rather than spread into a copy: start-up decodes every agent (~200 ms on 10,000).
  const agent = JSON.parse(json) as StoredAgent as AgentRecord;
  agent.restartAtMs ??= null; // rows written before the field existed
  agent.inbox = [];
  agent.conversation = new ContextTurns();
  agent.contextSeqs = [];
  agent.contextLoaded = false;
  agent.conversationEpoch = 0;
  agent.children = new Map();
  return agent;
}
