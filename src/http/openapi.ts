import { LIMITS } from '../domain/limits.js';
import { z } from 'zod';

/** The `:path` of every agent route (the URL rewrite turns nested paths into one `%2F`-joined segment). */
export const pathParams = z.object({
  path: z.string().min(1).meta({ description: 'Agent path, e.g. `researcher/summarizer` (or `researcher%2Fsummarizer`)' }),
});

export const errorSchema = z
  .object({ statusCode: z.number(), error: z.string(), message: z.string() })
  .meta({ id: 'Error', description: 'Every error: the status, its name and what went wrong' });

/** The error answers every operation may give, for the OpenAPI document. */
export const errorResponses = {
  400: errorSchema.describe('Malformed request: bad JSON, a wrong type or enum, an unknown field'),
  401: errorSchema.describe('API keys are configured and the request carries none of them (Authorization: Bearer <key>)'),
  403: errorSchema.describe("The key's role or scope does not allow this (a read-only key changing an agent, a scoped key spawning a root)"),
  404: errorSchema.describe('No such agent, or one outside the key\'s scope'),
  409: errorSchema.describe('The agent is in a state that does not allow this, or the id is taken'),
  422: errorSchema.describe('A policy limit: max_children, max_depth, max_restarts, no checkpoint'),
  429: errorSchema.describe("The agent's inbox is full, or the key's request rate is used up; retry after the retry-after header"),
  503: errorSchema.describe('The store cannot write now (a full or failing disk); the message says whether the change was made'),
};

export const openApiInfo = {
  title: 'Auton',
  description:
    'A runtime for long-running autonomous LLM agents: a tree of agents addressed by path, with oversight and ' +
    'supervision. Paths may be written with `/` or `%2F` between segments.',
  version: '0.1.0',
};

/** What the success answer of each operation is (the document would otherwise say "Default Response"). */
const SUCCESS: Record<string, string> = {
  listAgents: 'The roots (a scoped key: its agent), each with its children nested to ?depth, and how many roots there are',
  spawnRootAgent: 'The new agent, already running',
  getAgent: 'The agent with its subtree (to ?depth)',
  spawnChildAgent: 'The new child, already running',
  terminateAgent: 'The agent, now dead (with ?purge=true also gone from the tree)',
  guideAgent: 'The agent, with its new policy; guidance is queued for its next model call',
  suspendAgent: 'The agent, now suspended (?subtree=true: every agent suspended, children first)',
  resumeAgent: 'The agent, running again (?subtree=true: every agent resumed, parents first)',
  messageAgent: 'The message is in the agent\'s inbox',
  restartAgent: 'The agent, restarting from its latest checkpoint (?subtree=true: every agent restarted, parents first)',
  checkpointAgent: 'The new checkpoint (?subtree=true: every checkpoint of the cut)',
  listCheckpoints: "The agent's checkpoints, oldest first",
  forkAgent: 'The new sibling, running from the checkpoint (?subtree=true: every agent of the copy, parents first)',
  observeAgent: 'An event stream (see the operation description for the event types)',
  agentLog: 'An event stream (see the operation description for the event types)',
  runOversight: 'The findings of this pass (suspensions already applied); with ?dry_run=true what a pass would do to each agent, nothing applied',
  listApprovals: 'The pending approvals, oldest first',
  decideApproval: 'The approval, decided; the held call runs (allow) or the model reads the refusal (deny)',
  agentConversation: 'A page of the conversation: `{path, turns: [{seq, kind, role, content}], next}`',
  checkpointConversation: 'A page of the conversation up to the checkpoint: `{path, turns, next}`',
  listMcpServers: "The operator's MCP servers with their state and tools",
  liveness: 'The process is up',
  readiness: 'The daemon takes requests',
  metrics: 'Prometheus text exposition format',
};

/** The events the two streams send: `event:` names with what their JSON `data:` holds. */
const STREAM_EVENTS =
  'Server-sent events: each frame has `id:` (a number; send it back as `Last-Event-ID` to resume), `event:` (the type) ' +
  'and `data:` (JSON: `{type, path, timestamp, id, ...}`). Types: `health` (first frame of /observe: the health ' +
  'fields, path and state; no id), `heartbeat` (every AUTON_HEARTBEAT_MS: path, state, health, events; no id), ' +
  '`reset` (a Last-Event-ID that cannot be resumed: re-read the tree), `spawned`, `state_change` (from, to), ' +
  '`suspended` (reason, detail), `resumed`, `restarted`, `terminated`, `purged`, `forked`, `checkpoint`, ' +
  '`correction`, `correction_delivered`, `message`, `model_call` (model, stop_reason, tokens, text), `tool_call`, ' +
  '`tool_result`, `oversight`, `assessment`, `judge_error`, `supervision`, `step_limit`, `schedule_tick`, ' +
  '`schedule_skipped`, `approval_requested` (approval, tool, input, expires_at), `approval_decided` (approval, decision, ' +
  'by, note, remember, timed_out), `approval_cancelled`, `policy_changed` (changed, from, to, by). With `?tokens=true` also `token` (path, text, index: the content block; `start: true` on the ' +
  "first of a reply): a model reply's text as it streams in, with no id, never stored or replayed, dropped for a " +
  'client that is not keeping up; the `model_call` event that follows has the whole text.';

/** A spawn that works on a fresh daemon (and does not take the README's `researcher`). */
const SPAWN_EXAMPLE = { id: 'hello-agent', spec: { goal: 'Summarise the three most recent posts on the Node.js blog' } };
const CHILD_EXAMPLE = { id: 'hello-child', spec: { goal: 'Check the summary for mistakes' } };

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorAnswer = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_REF } } });
const EXTRA_ERRORS = {
  413: errorAnswer(`The body is larger than ${LIMITS.bodyMaxBytes} bytes`),
  414: errorAnswer(`The URL (the agent path) is longer than ${LIMITS.pathMaxLength} characters`),
  415: errorAnswer('The body is not JSON: send it with Content-Type: application/json'),
  429: errorAnswer('The key\'s request rate is used up (AUTON_RATE_LIMIT_PER_MINUTE), or the inbox is full; retry after the retry-after header'),
};
/** Operations anyone may call: no key, no rate limit. */
const PUBLIC = new Set(['liveness', 'readiness']);
const STREAMS = new Set(['observeAgent', 'agentLog']);

interface Answer { description?: string; content?: Record<string, unknown> }
interface Operation { operationId?: string; description?: string; requestBody?: { content?: Record<string, { schema?: unknown; example?: unknown }> }; responses?: Record<string, Answer>; security?: unknown }

/**
 * Finishes the generated document for client generators: a described answer for every status, the statuses every
 * request may get (413/414/415/429) where they apply, the streams as `text/event-stream`, the bearer scheme on every
 * operation that takes a key (optional when the daemon runs without keys), and examples that work on a fresh daemon.
 */
export function finishDocument<T>(doc: T, keysRequired: boolean): T {
  const paths = (doc as { paths?: Record<string, Record<string, Operation>> }).paths ?? {};
  for (const [url, operations] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const id = op.operationId ?? '';
      const responses = (op.responses ??= {});
      for (const [status, answer] of Object.entries(responses)) {
        if (answer.description === 'Default Response' || answer.description === undefined) {
          answer.description = status.startsWith('2') ? (SUCCESS[id] ?? 'Success') : 'Error';
        }
      }
      if (STREAMS.has(id)) {
        op.description = STREAM_EVENTS;
        responses['200'] = { description: SUCCESS[id]!, content: { 'text/event-stream': { schema: { type: 'string' } } } };
      }
      if (id === 'metrics') responses['200'] = { description: SUCCESS.metrics!, content: { 'text/plain': { schema: { type: 'string' } } } };
      if (PUBLIC.has(id)) {
        op.security = [];
        continue;
      }
      op.security = keysRequired ? [{ apiKey: [] }] : [{ apiKey: [] }, {}];
      responses['401'] ??= errorAnswer('API keys are configured and the request carries none of them (Authorization: Bearer <key>)');
      responses['429'] = EXTRA_ERRORS[429];
      if (url.includes('{path}')) responses['414'] = EXTRA_ERRORS[414];
      if (op.requestBody) {
        responses['413'] = EXTRA_ERRORS[413];
        responses['415'] = EXTRA_ERRORS[415];
      }
      const json = op.requestBody?.content?.['application/json'];
      if (json && method === 'post' && (id === 'spawnRootAgent' || id === 'spawnChildAgent')) {
        json.example = id === 'spawnRootAgent' ? SPAWN_EXAMPLE : CHILD_EXAMPLE;
        const idProperty = (json.schema as { properties?: { id?: { example?: unknown } } } | undefined)?.properties?.id;
        if (idProperty) idProperty.example = json.example === SPAWN_EXAMPLE ? SPAWN_EXAMPLE.id : CHILD_EXAMPLE.id;
      }
    }
  }
  return doc;
}
