/**
 * Every error the domain can raise, each with a code. The HTTP layer maps codes to status codes in one table
 * (src/http/errors.ts); nothing else knows about status codes.
 */
export type DomainErrorCode =
  | 'NOT_FOUND'         // no such agent / checkpoint
  | 'CONFLICT'          // illegal state transition, duplicate id
  | 'POLICY_VIOLATION'  // a limit of a policy (children, depth, restarts, no checkpoint to fork)
  | 'BAD_REQUEST'       // a well-formed request that makes no sense (unknown tool, bad cron)
  | 'QUEUE_FULL'        // an agent's inbox is full: try again later
  | 'STORE_UNAVAILABLE'; // the store cannot write now (full or failing disk): try again later

export class DomainError extends Error {
  /** `limit`: which policy limit refused it (e.g. 'max_depth'), for callers that count refusals. */
  constructor(readonly code: DomainErrorCode, message: string, readonly limit?: string) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new DomainError('CONFLICT', message);
export const policyViolation = (message: string, limit?: string) => new DomainError('POLICY_VIOLATION', message, limit);
export const badRequest = (message: string) => new DomainError('BAD_REQUEST', message);
export const queueFull = (message: string) => new DomainError('QUEUE_FULL', message);
export const storeUnavailable = (message: string) => new DomainError('STORE_UNAVAILABLE', message);
