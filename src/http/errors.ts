import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError, type DomainErrorCode } from '../domain/errors.js';
import { errorMessages } from './logging.js';
import { describeIssue } from './validation-message.js';

/** Domain error codes → HTTP status: the one place that knows. */
const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  POLICY_VIOLATION: 422,
  QUEUE_FULL: 429,
  STORE_UNAVAILABLE: 503,
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 413: 'Payload Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type',
  422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** An error only the HTTP layer raises (authentication, rate limits): the status is the error. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

export function errorBody(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: STATUS_TEXT[statusCode] ?? 'Error', message };
}

/** Seconds a client should wait after a 429 for a full inbox. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  errorMessages.set(reply, message);
  if (statusCode === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(QUEUE_FULL_RETRY_AFTER_SECONDS));
  return reply.code(statusCode).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(statusCode, message)));
}

/** Errors Fastify raises before routing (a malformed URL, an over-long path): the same JSON format. */
export function handleFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void sendError(reply, status, error.message);
}

/** Fastify's error handler: typed domain errors, validation and framework errors all become `{statusCode, error, message}`. */
export function handleError(error: FastifyError | DomainError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DomainError) return sendError(reply, STATUS_BY_CODE[error.code], error.message);
  if (error instanceof HttpError) return sendError(reply, error.statusCode, error.message);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request';
    return sendError(reply, 400, error.validation.map((v) => describeIssue(v, where)).join('; '));
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = request.headers['content-type']?.split(';')[0]?.trim();
    return sendError(reply, 415, `send the body as JSON, with Content-Type: application/json${type ? ` (this request said ${type.slice(0, 100)})` : ''}`);
  }
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status === 500) {
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, 'internal error; see the daemon log');
  }
  return sendError(reply, status, error.message);
}
