import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import {
  jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { LIMITS } from '../domain/limits.js';
import { rewriteAgentUrl } from './agent-paths.js';
import { KeyRing } from './auth/api-keys.js';
import { guard } from './auth/guard.js';
import type { AppContext } from './context.js';
import { handleError, handleFrameworkError, sendError } from './errors.js';
import { jsonBodies } from './json-body.js';
import { requestLines } from './logging.js';
import { finishDocument, openApiInfo } from './openapi.js';
import { agentRoutes } from './routes/agents.js';
import { approvalRoutes } from './routes/approvals.js';
import { checkpointRoutes } from './routes/checkpoints.js';
import { clusterRoutes } from './routes/cluster.js';
import { clusterRouting } from './cluster-routing.js';
import { conversationRoutes } from './routes/conversation.js';
import { consoleRoutes } from './routes/console.js';
import { healthRoutes } from './routes/health.js';
import { mcpRoutes } from './routes/mcp.js';
import { metricsRoutes } from './routes/metrics.js';
import { oversightRoutes } from './routes/oversight.js';
import { streamRoutes } from './routes/streams.js';

export interface AppOptions {
  logger: Logger | false;
}

/** A client's X-Request-ID when it is a sane one (it ends up in every log line), else a fresh one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Fastify's types expect Ajv-style factories here; a factory returning the zod compilers is what setValidatorCompiler installs. */
const ZOD_COMPILERS = {
  buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler,
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * Builds the Fastify instance: the guard (keys, scopes, rate limit), routes, OpenAPI + Swagger UI at /docs, one
 * error format everywhere, request metrics.
 */
export async function buildApp(ctx: AppContext, options: AppOptions) {
  const app = Fastify({
    loggerInstance: options.logger || undefined,
    logController: new LogController({ disableRequestLogging: true }), // one line a request instead (requestLines)
    bodyLimit: LIMITS.bodyMaxBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: LIMITS.pathMaxLength * 3 },
    rewriteUrl: (req) => rewriteAgentUrl(req.url ?? '/'),
    genReqId: requestId,
    frameworkErrors: handleFrameworkError,
    // Every route validates and serializes with zod (the two set*Compiler calls below). Naming the compilers
    // here as well keeps Fastify from loading its default Ajv and fast-json-stringify compilers at construction,
    // which would never be used: about 60–130 ms of start-up.
    schemaController: { compilersFactory: ZOD_COMPILERS },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, `no route ${req.method} ${req.url}`));
  await app.register(jsonBodies);
  await app.register(requestLines);

  const keys = ctx.config.AUTON_API_KEYS.length > 0 ? new KeyRing(ctx.config.AUTON_API_KEYS) : null;
  // Callback-style hooks: no promise per request on the hot path.
  await app.register(guard, { keys, ratePerMinute: ctx.config.AUTON_RATE_LIMIT_PER_MINUTE });
  app.addHook('onResponse', (req, reply, done) => {
    ctx.metrics.observeRequest(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: openApiInfo,
      tags: [{ name: 'agents' }, { name: 'checkpoints' }, { name: 'observation' }, { name: 'oversight' }, { name: 'approvals' }, { name: 'operations' }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'One of AUTON_API_KEYS (when set)' } } },
      security: keys ? [{ apiKey: [] }] : [],
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => finishDocument(markOptionalBodies(jsonSchemaTransformObject(doc)), keys !== null),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  // Several daemons: every route about one subtree runs where it is owned (before the MCP check: the owner does it).
  if (ctx.cluster) app.addHook('preHandler', clusterRouting(ctx.cluster, ctx.runtime));
  await app.register(mcpRoutes(ctx)); // before the agent routes: its spawn check hooks them
  await app.register(agentRoutes(ctx));
  await app.register(checkpointRoutes(ctx));
  await app.register(approvalRoutes(ctx));
  await app.register(conversationRoutes(ctx));
  await app.register(streamRoutes(ctx));
  await app.register(oversightRoutes(ctx));
  await app.register(healthRoutes(ctx));
  await app.register(metricsRoutes(ctx));
  await app.register(clusterRoutes(ctx));
  await app.register(consoleRoutes);
  return app;
}

export type AutonApp = Awaited<ReturnType<typeof buildApp>>;

/**
 * @fastify/swagger marks every request body required; the bodies declared nullish (suspend, resume, restart,
 * checkpoint, fork) may be left out, and the document says so.
 */
function markOptionalBodies<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, { requestBody?: OpenApiBody }>> }).paths ?? {};
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const body = operation.requestBody;
      if (body?.content?.['application/json']?.schema?.nullable === true) body.required = false;
    }
  }
  return doc;
}

interface OpenApiBody { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> }
