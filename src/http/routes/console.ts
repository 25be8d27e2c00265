import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The committed console bundle: plain ES modules and CSS, no build step, nothing fetched at run time. Resolved
 * from the package root, so the compiled daemon (dist/http/routes/console.js, which `npm start` runs) and the
 * source under tsx (src/http/routes/console.ts) serve the very same files: tsc neither copies nor compiles them.
 */
const CONSOLE_ROOT = fileURLToPath(new URL('../../../src/http/console/', import.meta.url));

/**
 * The page may talk to this daemon only: no inline script, no CDN, no external font. The chart is SVG built
 * through the DOM, which `default-src 'self'` allows.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "connect-src 'self'", "img-src 'self' data:", "style-src 'self'", "script-src 'self'",
  "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

/**
 * The operator console at `/` (issue 8). Each file gets its own route (`wildcard: false`), so there is no
 * catch-all GET and unknown URLs still answer with the API's JSON 404. The routes are hidden from the OpenAPI
 * document (the plugin's `schemaHide`, on by default, stated here on purpose). Files are revalidated on every
 * load (ETag), so a new bundle shows after a daemon upgrade without a stale cache. The files need no key: they
 * hold no data, and the page asks for a key when the API answers 401.
 */
export const consoleRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'public' };
  });
  await app.register(fastifyStatic, {
    root: CONSOLE_ROOT,
    prefix: '/',
    decorateReply: false,
    wildcard: false,
    schemaHide: true,
    index: 'index.html',
    maxAge: 0,
    setHeaders: (res) => {
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
    },
  });
};
