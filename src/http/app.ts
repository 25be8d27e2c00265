import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import {
  jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { LIMITS } from '../domain/limits.js';
import { rewriteAgentUrl } from './agent-paths.js';
import type { AppContext } from './context.js';
import { handleError, sendError } from './errors.js';
import { openApiInfo } from './openapi.js';
import { agentRoutes } from './routes/agents.js';
import { checkpointRoutes } from './routes/checkpoints.js';
import { consoleRoutes } from './routes/console.js';
import { oversightRoutes } from './routes/oversight.js';
import { streamRoutes } from './routes/streams.js';

export interface AppOptions {
  logger: Logger | false;
}

/** Builds the Fastify instance: routes, OpenAPI + Swagger UI at /docs, one error format everywhere. */
export async function buildApp(ctx: AppContext, options: AppOptions) {
  const app = Fastify({
    loggerInstance: options.logger || undefined,
    bodyLimit: LIMITS.bodyMaxBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: LIMITS.pathMaxLength * 3 },
    rewriteUrl: (req) => rewriteAgentUrl(req.url ?? '/'),
    requestIdHeader: 'x-request-id',
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, `no route ${req.method} ${req.url}`));

  // Bodies are optional on most actions: an empty JSON body reads as no body rather than an error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });

  await app.register(fastifySwagger, {
    openapi: { info: openApiInfo, tags: [{ name: 'agents' }, { name: 'checkpoints' }, { name: 'observation' }, { name: 'oversight' }, { name: 'operations' }] },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(agentRoutes(ctx));
  await app.register(checkpointRoutes(ctx));
  await app.register(streamRoutes(ctx));
  await app.register(oversightRoutes(ctx));
  await app.register(consoleRoutes);
  return app;
}

export type AutonApp = Awaited<ReturnType<typeof buildApp>>;
