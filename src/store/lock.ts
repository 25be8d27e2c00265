import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** A database another live daemon holds: start-up stops with this one line. */
export class StoreLockedError extends Error {
  constructor(file: string, pid: number) {
    super(`${file} is in use by another auton daemon (pid ${pid}); stop it or set AUTON_DB to another file`);
    this.name = 'StoreLockedError';
  }
}

/**
 * One writer per SQLite file: a lock file next to the database holds the owner's pid, created exclusively.
 * A lock whose pid no longer runs (a killed daemon) is stale and taken over. Returns the release function.
 */
export function lockDatabase(file: string): () => void {
  if (file === ':memory:') return () => {};
  const lockFile = `${file}.lock`;
  mkdirSync(dirname(file), { recursive: true }); // a fresh checkout has no data/ yet
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(lockFile, 'utf8').trim());
      // Our own pid in the file is a lock left by an earlier life of this process's pid (a container restarted).
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) throw new StoreLockedError(file, pid);
      rmSync(lockFile, { force: true }); // stale: its daemon was killed
    }
  }
  throw new Error(`could not take the lock ${lockFile}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
