import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The daemon as a real process (`node --import tsx src/main.ts`), for faults a test process cannot take itself. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Starting the daemon under tsx takes a few seconds on a busy machine. */
const START_TIMEOUT_MS = 30_000;

export interface DaemonProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** Starts the daemon; resolves once it logs that it is listening, or with its exit when `expectExit`. */
export async function startDaemonProcess(env: Record<string, string>, options: { expectExit?: boolean } = {}): Promise<DaemonProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', AUTON_HOST: '127.0.0.1', AUTON_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const daemon: DaemonProcess = { url: `http://127.0.0.1:${port}`, child, exited, stderr: () => stderr };
  if (options.expectExit) {
    child.stdout!.resume();
    await exited;
    return daemon;
  }
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`the daemon did not listen within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      if (!buffered.includes('"msg":"auton is listening"')) return;
      clearTimeout(timer);
      resolve();
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  child.stdout!.resume(); // keep draining the log
  return daemon;
}

/** Sets the process's file-size limit (RLIMIT_FSIZE): 0 makes every write that extends a file fail, as a full disk. */
export function setFileSizeLimit(pid: number, bytes: number | 'unlimited'): void {
  // The soft limit only: raising a hard limit again would need CAP_SYS_RESOURCE.
  execFileSync('prlimit', [`--pid=${pid}`, `--fsize=${bytes}:unlimited`]);
}

export async function killHard(daemon: DaemonProcess): Promise<void> {
  daemon.child.kill('SIGKILL');
  await daemon.exited;
}
