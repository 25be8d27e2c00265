import type { FakeReply } from '../test/support/fake-messages-api.js';
import { startFakeMessagesApi } from '../test/support/fake-messages-api.js';
import { serveIpc } from './processes.js';

/**
 * The tests' fake Messages API in its own process (started by fake.ts), so its CPU is not the load generator's.
 * Modes: `text` answers every call with a short text turn (the agent then rests); `tool-loop` answers with a
 * `list_children` tool call, so an agent keeps calling until AUTON_MAX_TURN_STEPS; `prose` answers with a paragraph of
 * about 1,200 characters (streamed in 24-character deltas when asked to stream).
 */
export type FakeMode = 'text' | 'tool-loop' | 'prose';

const TEXT: FakeReply = { kind: 'text', text: 'ok' };
const TOOL: FakeReply = { kind: 'tool_use', name: 'list_children', input: {} };
const PROSE: FakeReply = { kind: 'text', text: 'The tide turns twice a day, and the survey follows it along the shore. '.repeat(17).trim() };

const fake = await startFakeMessagesApi();
let mode: FakeMode = 'text';
let count = 0;
let lastBody: unknown = null;
fake.setHandler((req) => {
  count++;
  lastBody = req.body;
  fake.requests.length = 0; // the fake records every request; a long run would hold them all
  return mode === 'text' ? TEXT : mode === 'prose' ? PROSE : TOOL;
});

serveIpc({ url: fake.url }, (message) => {
  switch (message.cmd) {
    case 'configure':
      mode = message.mode as FakeMode;
      fake.setLatency(Number(message.latencyMs ?? 0));
      return true;
    case 'count':
      return count;
    case 'lastBody':
      return JSON.stringify(lastBody);
    default:
      throw new Error(`unknown command ${String(message.cmd)}`);
  }
});
