import { createHash, timingSafeEqual } from 'node:crypto';
import { agentIdSchema } from '../../domain/schemas.js';
import { ROLES, type Principal, type Role } from './access.js';

/** One configured key: its name, scope and role, and the SHA-256 of the secret (the secret itself is not kept). */
export interface ApiKey extends Principal {
  hash: Buffer;
  /** The most agents its scope may hold, dead ones included (`quota=N`); only a scoped key has one. */
  quota?: number;
}

/** Secrets shorter than this are refused at start: `openssl rand -hex 32` gives 64 characters. */
export const API_KEY_MIN_CHARS = 16;
const API_KEY_MAX_CHARS = 256;
/** A bearer token longer than any configured key can be is refused without hashing. */
const TOKEN_MAX_CHARS = API_KEY_MAX_CHARS;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Printable ASCII but space, `,` (separates entries) and `:` (separates the role). */
const SECRET = new RegExp(`^[!-+\\--9;-~]{${API_KEY_MIN_CHARS},${API_KEY_MAX_CHARS}}$`);

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The largest `quota=N` a key may carry: AUTON_MAX_AGENTS's own ceiling. */
const QUOTA_MAX = 10_000_000;

/**
 * Parses `AUTON_API_KEYS`: comma-separated entries `name[:scope]=key[:role][:quota=N]` (README, "Security").
 * Errors name the entry by position and name, never by its secret.
 */
export function parseApiKeys(text: string): { keys: ApiKey[] } | { error: string } {
  const keys: ApiKey[] = [];
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  for (const [i, entry] of entries.entries()) {
    const where = `entry ${i + 1}`;
    const eq = entry.indexOf('=');
    if (eq === -1) return { error: `${where} is not name[:scope]=key[:role][:quota=N]` };
    const [name = '', ...scopeParts] = entry.slice(0, eq).split(':');
    const scope = scopeParts.length === 0 ? null : scopeParts.join(':');
    // The secret has no `:`, so what follows it are options: a role and a quota, each at most once, in any order.
    const [secret = '', ...options] = entry.slice(eq + 1).split(':');
    let role: Role | undefined;
    let quota: number | undefined;
    for (const option of options) {
      const q = /^quota=(\d{1,8})$/.exec(option);
      if (q && quota === undefined && Number(q[1]) >= 1 && Number(q[1]) <= QUOTA_MAX) quota = Number(q[1]);
      else if (option.startsWith('quota=')) return { error: `${where} (${name}): quota must be given once, as quota=N with N from 1 to ${QUOTA_MAX}` };
      else if ((ROLES as readonly string[]).includes(option) && role === undefined) role = option as Role;
      else return { error: `${where} (${name}): role must be one of ${ROLES.join(', ')}, given once` };
    }
    if (!NAME.test(name)) return { error: `${where}: the name must be 1-64 of [A-Za-z0-9_.-]` };
    if (scope !== null && !validScope(scope)) return { error: `${where} (${name}): the scope must be an agent path like researcher/summarizer` };
    if (quota !== undefined && scope === null) return { error: `${where} (${name}): a quota bounds a scope; give the key one (name:scope=key:quota=N), or use AUTON_MAX_AGENTS for the whole tree` };
    if (!SECRET.test(secret)) {
      return { error: `${where} (${name}): the key must be ${API_KEY_MIN_CHARS}-${API_KEY_MAX_CHARS} printable characters without spaces, commas or colons (try: openssl rand -hex 32)` };
    }
    if (keys.some((k) => k.name === name)) return { error: `${where}: the name ${name} is used twice` };
    const hash = sha256(secret);
    if (keys.some((k) => timingSafeEqual(k.hash, hash))) return { error: `${where} (${name}): the same key is given twice` };
    keys.push({ name, scope, role: role ?? 'operator', hash, ...(quota !== undefined ? { quota } : {}) });
  }
  return { keys };
}

function validScope(scope: string): boolean {
  return scope.split('/').every((segment) => agentIdSchema.safeParse(segment).success);
}

/** The configured keys; `identify` turns an Authorization header into the principal it names. */
export class KeyRing {
  private readonly entries: ReadonlyArray<{ hash: Buffer; principal: Principal }>;

  constructor(keys: readonly ApiKey[]) {
    this.entries = keys.map(({ hash, name, scope, role }) => ({ hash, principal: { name, scope, role } }));
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * `Bearer <key>` → its principal, or null. The token's hash is compared with every key's in constant time and
   * without stopping at a match, so the answer's timing says nothing about which key, or how much of one, matched.
   */
  identify(authorization: string | undefined): Principal | null {
    if (authorization === undefined) return null;
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    const token = match?.[1];
    if (token === undefined || token.length > TOKEN_MAX_CHARS) return null;
    const hash = sha256(token);
    let found: Principal | null = null;
    for (const entry of this.entries) if (timingSafeEqual(entry.hash, hash)) found = entry.principal;
    return found;
  }
}
