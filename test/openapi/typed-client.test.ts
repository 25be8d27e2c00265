import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { expect, it } from 'vitest';
import { useTestDaemon } from '../support/daemon.js';

const ctx = useTestDaemon({ shared: true });
const PROGRAM_DIR = fileURLToPath(new URL('./program/', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

// What a user does (README, "A typed client"): `npx openapi-typescript http://localhost:8420/docs/json -o auton.d.ts`,
// then a program against it, type-checked with tsc. The generation and the type check take a few seconds each.
it('generates a typed client from /docs/json that a strict program type-checks against', async () => {
  const doc = (await (await fetch(`${ctx.d.url}/docs/json`)).json()) as Parameters<typeof openapiTS>[0];
  const types = astToString(await openapiTS(doc));
  expect(types).toContain('spawnRootAgent');
  await writeFile(`${PROGRAM_DIR}auton.d.ts`, types);

  const tsc = await promisify(execFile)(process.execPath, [
    TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--skipLibCheck', '--types', 'node', `${PROGRAM_DIR}use-client.ts`,
  ], { cwd: fileURLToPath(new URL('../..', import.meta.url)) }).catch((error: { stdout?: string; code?: number }) => ({ stdout: error.stdout ?? '', code: error.code }));
  expect(tsc.stdout).toBe('');
}, 120_000);
