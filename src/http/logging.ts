import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/**
 * Headers that carry secrets never reach the log, whatever a serializer or a future log line includes. (Request
 * lines carry method, URL, status and time only; bodies are never logged.)
 */
const REDACTED_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization'];

export interface LoggerOptions {
  /** Where lines go; standard output when left out. */
  destination?: DestinationStream;
  /** Human lines (pino-pretty: local time, level, message) instead of JSON. */
  pretty?: boolean;
  /** Colours in pretty lines. */
  colour?: boolean;
}

/**
 * The daemon's logger. On a terminal, human lines in local time; anywhere else (a file, a pipe, a log collector)
 * pino JSON, one object a line, as before. Each request's lines carry its `reqId` (and `key`).
 */
export function createLogger(level: Level | 'silent', destination?: DestinationStream | LoggerOptions): Logger {
  const opts: LoggerOptions = destination && !('write' in destination) ? destination : { destination };
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (opts.pretty) {
    const stream = pinoPretty({
      destination: opts.destination ?? 1, sync: true, colorize: opts.colour ?? false,
      translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true,
    });
    return pino(options, stream);
  }
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** LOG_FORMAT=auto is pretty on a terminal and JSON elsewhere; colours only on a terminal, and never with NO_COLOR. */
export function terminalLoggerOptions(format: 'auto' | 'pretty' | 'json', isTty: boolean, noColour: boolean): LoggerOptions {
  const pretty = format === 'pretty' || (format === 'auto' && isTty);
  return { pretty, colour: pretty && isTty && !noColour };
}

/** The message of each error answer, for its request line (set by sendError). */
export const errorMessages = new WeakMap<FastifyReply, string>();

/**
 * One line per request, written when the answer is sent: at `debug` for a success (a busy daemon's terminal is
 * about agents, not requests), at `info` for a refused request with the message it was given, and at `error` for a
 * 5xx. Replaces Fastify's two lines a request ("incoming request", "request completed") at `info`.
 */
export const requestLines = fp(async (app) => {
  app.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (pino.levels.values[level]! >= (pino.levels.values[req.log.level] ?? Infinity)) {
      const message = errorMessages.get(reply);
      const ms = Math.round(reply.elapsedTime);
      req.log[level]({ req: { method: req.method, url: req.url }, res: { statusCode: status }, responseTimeMs: ms },
        `${req.method} ${req.url} ${status} ${ms} ms${message ? `: ${message}` : ''}`);
    }
    done();
  });
}, { name: 'auton-request-lines' });
