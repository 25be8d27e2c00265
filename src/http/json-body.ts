import fp from 'fastify-plugin';
import { LIMITS } from '../domain/limits.js';
import { HttpError } from './errors.js';

/**
 * The only body the API reads is JSON. An empty body reads as no body (bodies are optional on most actions);
 * malformed JSON and JSON nested deeper than `LIMITS.jsonMaxDepth` are 400s. The depth limit matters: a body of
 * a few kilobytes of `[[[[…]]]]` parses fine but overflows the stack wherever it is later serialised (the store,
 * an SSE frame), long after the request was accepted. Every other content type, text/plain included, is a 415.
 */
export const jsonBodies = fp(async (app) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return done(new HttpError(400, 'body is not valid JSON'), undefined);
    }
    if (nestingDepth(value, LIMITS.jsonMaxDepth) > LIMITS.jsonMaxDepth) {
      return done(new HttpError(400, `body is nested deeper than ${LIMITS.jsonMaxDepth} levels`), undefined);
    }
    done(null, value);
  });
}, { name: 'auton-json-bodies' });

/** The depth of a JSON value (a scalar is 0, `[]` is 1), counting no further than `limit + 1`; no recursion. */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, level]);
    }
  }
  return deepest;
}
