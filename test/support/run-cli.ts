import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The package's bin, as `npx auton` and a global install run it: a launcher for the compiled dist/cli/main.js. */
const BIN = fileURLToPath(new URL('../../bin/auton.js', import.meta.url));

/**
 * Brings dist/ up to date with src/ the way `npm install` and `npm start` do (scripts/build-if-changed.mjs: nothing
 * to do when it already is, as in CI after `npm ci`). The compiled CLI starts in a fraction of the time tsx takes.
 */
export async function buildCli(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build-if-changed.mjs'], { cwd: ROOT });
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/**
 * Runs `auton …` as a user would: a separate node process running the bin, its stdout and stderr read as text, its
 * exit code returned. Never a TTY, so never colours.
 */
export function runCli(args: string[], options: { url?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The same, left running (for `logs -f` and `watch`): read `output()` and `stop()` it. */
export function startCli(args: string[], options: { url?: string; env?: Record<string, string> } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '', FORCE_COLOR: '0', ...options.env };
  delete env.AUTON_API_KEY;
  if (options.url) env.AUTON_URL = options.url;
  Object.assign(env, options.env);
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
}
