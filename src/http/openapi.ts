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
