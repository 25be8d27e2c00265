import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HistoryRow } from '../../store/store.js';
import { agentPath } from '../agent-paths.js';
import type { AppContext } from '../context.js';
import { errorResponses, pathParams } from '../openapi.js';
import { sendRaw } from '../reply.js';

/** The most history rows one transcript page returns, and how many without `?limit=`. */
export const CONVERSATION_PAGE_MAX = 200;
export const CONVERSATION_PAGE_DEFAULT = 50;

const query = z.object({
  after: z.coerce.number().int().min(-1).optional()
    .meta({ description: 'A cursor: the `next` of the previous page (rows after it in `asc`, before it in `desc`)' }),
  limit: z.coerce.number().int().min(1).max(CONVERSATION_PAGE_MAX).default(CONVERSATION_PAGE_DEFAULT),
  order: z.enum(['asc', 'desc']).default('asc').meta({ description: '`asc`: oldest first; `desc`: newest first' }),
});

const transcriptTurn = z.object({
  seq: z.number().int().meta({ description: 'Position in the agent\'s history' }),
  kind: z.enum(['turn', 'summary']).meta({ description: '`summary`: a compaction summary that opened a new context' }),
  role: z.enum(['user', 'assistant']),
  content: z.unknown().meta({ description: 'The Messages API content, in full: text, tool_use with its input, tool_result, guidance and messages' }),
});
const transcript = z.object({
  path: z.string(),
  turns: z.array(transcriptTurn),
  next: z.number().int().nullable().meta({ description: 'Pass as `after` for the next page; null at the end' }),
}).meta({ id: 'Transcript' });
const tags = ['observation'];

/** A page as JSON, each row's stored turn text spliced in rather than parsed and encoded again. */
function pageJson(path: string, rows: HistoryRow[], limit: number): string {
  const turns = rows.map((r) => `{"seq":${r.seq},"kind":"${r.kind}",${r.json.slice(1)}`);
  const next = rows.length === limit ? rows.at(-1)!.seq : null;
  return `{"path":${JSON.stringify(path)},"turns":[${turns.join(',')}],"next":${next}}`;
}

/** Transcripts: the whole stored history of an agent (or up to one of its checkpoints), page by page. */
export const conversationRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  const { runtime } = ctx;

  app.get('/agents/:path/conversation', {
    config: { access: 'agent:read' },
    schema: { tags, operationId: 'agentConversation', summary: "The agent's whole conversation, every turn in full, page by page", params: pathParams, querystring: query, response: { 200: transcript, ...errorResponses } },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    const rows = await runtime.history(path, req.query);
    return sendRaw(reply, pageJson(path, rows, req.query.limit));
  });

  app.get('/agents/:path/checkpoints/:checkpoint/conversation', {
    config: { access: 'agent:read' },
    schema: {
      tags, operationId: 'checkpointConversation', summary: 'The conversation up to a checkpoint, page by page', params: pathParams.extend({ checkpoint: z.string().min(1) }),
      querystring: query, response: { 200: transcript, ...errorResponses },
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    const rows = await runtime.history(path, req.query, req.params.checkpoint);
    return sendRaw(reply, pageJson(path, rows, req.query.limit));
  });
};
