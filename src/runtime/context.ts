import { ContextTurns } from '../domain/context-turns.js';
import type { AgentRecord, ContextRef, HistoryKind, InboxItem, TurnJson } from '../domain/agent.js';
import type { HistoryRow, Store } from '../store/store.js';

/**
 * An agent's context and inbox, kept in memory and in the store together: every change in memory is queued as
 * the row it changes, in the same group commit as the rest of the operation.
 */
export class ContextKeeper {
  constructor(private readonly store: Store) {}

  append(agent: AgentRecord, kind: HistoryKind, turns: readonly TurnJson[]): void {
    for (const json of turns) {
      const seq = agent.historyLength++;
      agent.conversation.push(json, kind === 'summary');
      agent.contextSeqs.push(seq);
      this.store.appendTurn(agent.path, seq, kind, json);
      if (kind === 'summary') agent.contextSummarySeq = seq;
    }
    this.markStart(agent);
  }

  replaceLast(agent: AgentRecord, json: TurnJson): void {
    const seq = agent.contextSeqs.at(-1);
    if (seq === undefined) return this.append(agent, 'turn', [json]);
    agent.conversation.replaceLast(json);
    agent.conversationEpoch += 1;
    this.store.replaceTurn(agent.path, seq, json);
  }

  /** The context becomes `[summary, ...conversation.slice(keepFrom)]`; the history keeps every turn. */
  compact(agent: AgentRecord, summary: TurnJson, keepFrom: number): void {
    // A summary kept in the context (keepFrom 0) is superseded by the new one, which covers it.
    const from = keepFrom === 0 && agent.contextSummarySeq !== null && agent.contextSeqs[0] === agent.contextSummarySeq ? 1 : keepFrom;
    const keptSeqs = agent.contextSeqs.slice(from);
    const seq = agent.historyLength++;
    this.store.appendTurn(agent.path, seq, 'summary', summary);
    agent.conversation.keep(from, summary);
    agent.contextSeqs = [seq, ...keptSeqs];
    agent.contextSummarySeq = seq;
    agent.contextFromSeq = keptSeqs[0] ?? agent.historyLength;
    agent.conversationEpoch += 1;
  }

  /** Puts a context read back from the store into memory (rows already stored). */
  load(agent: AgentRecord, rows: readonly HistoryRow[]): void {
    const turns = new ContextTurns();
    for (const row of rows) turns.push(row.json, row.kind === 'summary');
    agent.conversation = turns;
    agent.contextSeqs = rows.map((r) => r.seq);
    agent.contextLoaded = true;
    agent.conversationEpoch += 1;
  }

  /** Starts the context afresh from rows of a checkpoint (restart, fork): appended as new rows, nothing deleted. */
  replaceWith(agent: AgentRecord, rows: readonly HistoryRow[]): void {
    agent.contextLoaded = true;
    agent.conversationEpoch += 1;
    agent.conversation = new ContextTurns();
    agent.contextSeqs = [];
    agent.contextSummarySeq = null;
    agent.contextFromSeq = agent.historyLength;
    for (const row of rows) this.append(agent, row.kind, [row.json]);
    this.markStart(agent);
  }

  /** Where the agent's context sits in its history now (for a checkpoint). */
  ref(agent: AgentRecord): ContextRef {
    return { summarySeq: agent.contextSummarySeq, fromSeq: agent.contextFromSeq, toSeq: agent.historyLength };
  }

  enqueue(agent: AgentRecord, item: InboxItem): void {
    const seq = agent.inboxNextSeq++;
    agent.inbox.push(item);
    this.store.addInboxItem(agent.path, seq, item);
  }

  takeInbox(agent: AgentRecord): InboxItem[] {
    const items = agent.inbox.splice(0);
    if (items.length > 0) this.store.takeInbox(agent.path, agent.inboxNextSeq);
    return items;
  }

  private markStart(agent: AgentRecord): void {
    const first = agent.contextSummarySeq === null ? 0 : 1;
    agent.contextFromSeq = agent.contextSeqs[first] ?? agent.historyLength;
  }
}
