import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useTestDaemon } from '../support/daemon.js';
import { buildCli } from './run-cli.js';

const ctx = useTestDaemon({ shared: true });
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
let dir: string;
beforeAll(buildCli, 180_000); // dist/ as `npm start` runs it (a no-op when it is up to date)
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'auton-second-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('a second daemon on a busy port says so in one line and exits non-zero, without a stack trace', async () => {
  const port = new URL(ctx.d.url).port;
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [MAIN], {
      env: { ...process.env, AUTON_PORT: port, AUTON_HOST: '127.0.0.1', AUTON_DB: join(dir, 'auton.db'), AUTON_API_KEYS: '', ANTHROPIC_API_KEY: '' },
    }, (error, stdout, stderr) => resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stdout, stderr }));
  });
  expect(result.stderr).toBe(`auton: port ${port} is already in use (another daemon?); set AUTON_PORT\n`);
  expect(result.code).toBe(3);
  expect(result.stdout).toBe('');
});
