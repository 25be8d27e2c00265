import type { FastifyReply } from 'fastify';
import type { AgentRecord } from '../domain/agent.js';
import { toNodeJson } from '../domain/node-json.js';
import type { Runtime } from '../runtime/runtime.js';

/**
 * Answers once every change the handler made is durable (group commit), then sends the JSON. Bodies are
 * serialised here with JSON.stringify rather than by the schema serialiser: nodes are recursive and large, and
 * their schema is already enforced where they are built.
 */
export async function sendJson(reply: FastifyReply, runtime: Runtime, status: number, body: unknown): Promise<FastifyReply> {
  await runtime.store.flush();
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

export function sendNode(reply: FastifyReply, runtime: Runtime, status: number, agent: AgentRecord, depth = Infinity): Promise<FastifyReply> {
  return sendJson(reply, runtime, status, toNodeJson(agent, runtime.clock(), { depth }));
}
