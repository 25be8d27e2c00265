import { pino, type DestinationStream, type Level, type Logger } from 'pino';

/**
 * Headers that carry secrets never reach the log, whatever a serializer or a future log line includes. (Fastify's
 * request serializer logs method, URL and addresses only; bodies are never logged.)
 */
const REDACTED_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization'];

/** The daemon's logger: pino JSON, one object a line; each request's lines carry its `reqId` (and `key`). */
export function createLogger(level: Level | 'silent', destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
