import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parseApiKeys } from '../../src/http/auth/api-keys.js';

/** AUTON_API_KEYS and where the daemon agrees to listen, checked once at start. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('AUTON_API_KEYS grammar: name[:scope]=key[:role][:quota=N], comma-separated', () => {
  it.each([
    ['ops=0123456789abcdef', { name: 'ops', scope: null, role: 'operator' }],
    ['research:researcher=0123456789abcdef', { name: 'research', scope: 'researcher', role: 'operator' }],
    ['watch:researcher/summarizer=0123456789abcdef:read', { name: 'watch', scope: 'researcher/summarizer', role: 'read' }],
    ['root=0123456789abcdef:admin', { name: 'root', scope: null, role: 'admin' }],
    ['b64=abcdefghijklmnopqrstuv==', { name: 'b64', scope: null, role: 'operator' }],
  ])('reads %s', (text, principal) => {
    const parsed = parseApiKeys(text);
    expect('keys' in parsed && parsed.keys.map(({ name, scope, role }) => ({ name, scope, role }))).toEqual([principal]);
  });

  it.each([
    ['team:team-a=0123456789abcdef:quota=50', { name: 'team', scope: 'team-a', role: 'operator', quota: 50 }],
    ['team:team-a=0123456789abcdef:quota=5:read', { name: 'team', scope: 'team-a', role: 'read', quota: 5 }],
    ['team:team-a=0123456789abcdef:admin:quota=1', { name: 'team', scope: 'team-a', role: 'admin', quota: 1 }],
  ])('17.7: reads the quota in %s', (text, expected) => {
    const parsed = parseApiKeys(text);
    expect('keys' in parsed && parsed.keys.map(({ name, scope, role, quota }) => ({ name, scope, role, quota }))).toEqual([expected]);
  });

  it.each([
    ['a quota without a scope', 'ops=0123456789abcdef:quota=5', 'a quota bounds a scope'],
    ['a zero quota', 't:s=0123456789abcdef:quota=0', 'quota must be given once, as quota=N with N from 1'],
    ['a quota that is not a number', 't:s=0123456789abcdef:quota=lots', 'quota must be given once'],
    ['two quotas', 't:s=0123456789abcdef:quota=1:quota=2', 'quota must be given once'],
    ['two roles', 't:s=0123456789abcdef:read:admin', 'role must be one of admin, operator, read, given once'],
  ])('17.7: refuses %s, naming the entry but never its key', (_what, text, message) => {
    const parsed = parseApiKeys(text);
    expect('error' in parsed && parsed.error).toContain(message);
    expect(JSON.stringify(parsed)).not.toContain('0123456789');
  });

  it('reads several entries, with spaces and newlines around them, and keeps only hashes', () => {
    const parsed = parseApiKeys(` a=0123456789abcdef ,\n b:x=fedcba9876543210:read, `);
    if (!('keys' in parsed)) throw new Error(parsed.error);
    expect(parsed.keys.map((k) => k.name)).toEqual(['a', 'b']);
    expect(parsed.keys[0]!.hash).toHaveLength(32);
    expect(JSON.stringify(parsed.keys)).not.toContain('0123456789abcdef');
  });

  it.each([
    ['no =', 'ops0123456789abcdef', 'is not name[:scope]=key[:role]'],
    ['an unknown role', 'ops=0123456789abcdef:root', 'role must be one of admin, operator, read'],
    ['a short key', 'ops=short-secret', 'the key must be 16-256'],
    ['a key with a space', 'ops=0123456789 abcdef', 'the key must be'],
    ['a bad name', 'o p=0123456789abcdef', 'the name must be'],
    ['a scope with ..', 'ops:a/../b=0123456789abcdef', 'the scope must be an agent path'],
    ['an empty scope', 'ops:=0123456789abcdef', 'the scope must be an agent path'],
    ['a name twice', 'a=0123456789abcdef,a=fedcba9876543210', 'the name a is used twice'],
    ['a key twice', 'a=0123456789abcdef,b=0123456789abcdef', 'the same key is given twice'],
  ])('refuses %s, naming the entry but never its key', (_what, text, message) => {
    const parsed = parseApiKeys(text);
    expect('error' in parsed && parsed.error).toContain(message);
    expect(JSON.stringify(parsed)).not.toMatch(/0123456789|fedcba|short-secret/);
  });
});

describe('binding beyond loopback', () => {
  const env = (extra: Record<string, string>) => ({ AUTON_DB: ':memory:', ...extra });

  it.each(['0.0.0.0', '::', '192.168.1.10', 'auton.example.com'])('refuses AUTON_HOST=%s without keys', (host) => {
    expect(() => loadConfig(env({ AUTON_HOST: host }))).toThrow(/refusing to listen on .*AUTON_API_KEYS.*AUTON_INSECURE=1/);
  });

  it.each(['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost'])('allows the loopback address %s without keys', (host) => {
    expect(loadConfig(env({ AUTON_HOST: host })).AUTON_HOST).toBe(host);
  });

  it('allows any address with keys, or with AUTON_INSECURE=1', () => {
    expect(loadConfig(env({ AUTON_HOST: '0.0.0.0', AUTON_API_KEYS: 'ops=0123456789abcdef' })).AUTON_API_KEYS).toHaveLength(1);
    expect(loadConfig(env({ AUTON_HOST: '0.0.0.0', AUTON_INSECURE: '1' })).AUTON_INSECURE).toBe(true);
  });

  it('names AUTON_API_KEYS in a config error without echoing its value', () => {
    expect(() => loadConfig(env({ AUTON_API_KEYS: 'ops=topsecret-value-1234:boss' }))).toThrow(ConfigError);
    try {
      loadConfig(env({ AUTON_API_KEYS: 'ops=topsecret-value-1234:boss' }));
    } catch (error) {
      expect((error as Error).message).toMatch(/^invalid AUTON_API_KEYS: entry 1 \(ops\): role must be/);
      expect((error as Error).message).not.toContain('topsecret');
    }
  });

  it('the daemon exits with code 2 and one line when told to listen on 0.0.0.0 without keys', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT, env: { ...process.env, AUTON_HOST: '0.0.0.0', AUTON_PORT: '0', AUTON_API_KEYS: '', AUTON_INSECURE: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^auton: refusing to listen on AUTON_HOST=0\.0\.0\.0 without AUTON_API_KEYS/);
  }, 30_000);
});
