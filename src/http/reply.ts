import type { FastifyReply } from 'fastify';
import type { AgentRecord } from '../domain/agent.js';
import { renderNode } from '../domain/node-json.js';
import type { Runtime } from '../runtime/runtime.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Answers a change once it is durable (group commit), then sends the JSON. `path`: the agent the change is about (see
 * Store.flush). Bodies are serialised here rather than
 * by the schema serialiser: nodes are recursive and large, and their shape is already fixed where they are built.
 */
export async function sendJson(reply: FastifyReply, runtime: Runtime, status: number, body: unknown, path?: string): Promise<FastifyReply> {
  await runtime.store.flush(path);
  return reply.code(status).type(JSON_TYPE).send(JSON.stringify(body));
}

/** A node after a change: durable first. */
export async function sendNode(reply: FastifyReply, runtime: Runtime, status: number, agent: AgentRecord, depth = Infinity): Promise<FastifyReply> {
  await runtime.store.flush(agent.path);
  return reply.code(status).type(JSON_TYPE).send(renderNode(agent, runtime.clock(), depth));
}

/** A read: memory is the source of truth, so there is nothing to wait for. */
export function sendRaw(reply: FastifyReply, json: string): FastifyReply {
  // A large string (a whole tree) is encoded once here; sent as a string it would be walked twice, once to
  // count its bytes and once to write them.
  return reply.code(200).type(JSON_TYPE).send(json.length > LARGE_BODY_CHARS ? Buffer.from(json) : json);
}

const LARGE_BODY_CHARS = 64 * 1024;

/** A read already encoded (`ByteWriter`): sent as is, its length known without walking it. */
export function sendBytes(reply: FastifyReply, json: Buffer): FastifyReply {
  return reply.code(200).type(JSON_TYPE).send(json);
}
