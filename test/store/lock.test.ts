import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDatabase, StoreLockedError } from '../../src/store/lock.js';

describe('one daemon per database file', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'auton-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('creates the database folder of a fresh checkout (AUTON_DB=./data/auton.db with no data/ yet)', () => {
    const file = join(freshDir(), 'data', 'nested', 'auton.db');
    const unlock = lockDatabase(file);
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(String(process.pid));
    unlock();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('refuses a file whose lock names another live process, with one line naming it', () => {
    const file = join(freshDir(), 'auton.db');
    writeFileSync(`${file}.lock`, String(process.ppid));
    expect(() => lockDatabase(file)).toThrow(StoreLockedError);
    expect(() => lockDatabase(file)).toThrow(`is in use by another auton daemon (pid ${process.ppid})`);
  });

  it('takes over a lock left by a killed daemon, or by an earlier life of its own pid', () => {
    const file = join(freshDir(), 'auton.db');
    writeFileSync(`${file}.lock`, String(process.pid));
    lockDatabase(file)();
    writeFileSync(`${file}.lock`, '2147483646'); // no such process
    expect(() => lockDatabase(file)()).not.toThrow();
  });
});
