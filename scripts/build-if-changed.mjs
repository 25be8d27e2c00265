#!/usr/bin/env node
// `npm start` (prestart) and `npm install` (prepare): compile src/ to dist/ with `tsc -p tsconfig.build.json`
// unless dist/ was built from exactly these sources. Plain JavaScript, so it needs nothing compiled to run.
//
// What dist/ was built from is a hash of every input (src/**/*.ts, both tsconfig files, the TypeScript version),
// written to dist/.build-hash after a successful build. A hash rather than mtimes: `git checkout` touches files
// without changing them, and an incremental tsc that finds nothing to do rewrites nothing, so mtimes would call
// the build stale again and again. The hash is taken before tsc starts: a file saved during the build makes the
// next start build again. Type errors do not stop a start (tsc still writes the JavaScript, see below). When
// nothing changed this takes little more than starting node (the hash of src/ is about 10–25 ms).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const hashFile = join(root, 'dist', '.build-hash');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function inputsHash() {
  const hash = createHash('sha256');
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  walk(join(root, 'src'));
  files.push(join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json'));
  files.sort();
  for (const file of files) hash.update(`${relative(root, file)}\0`).update(readFileSync(file)).update('\0');
  hash.update(JSON.parse(readFileSync(join(dirname(tsc), '..', 'package.json'), 'utf8')).version);
  return hash.digest('hex');
}

const wanted = inputsHash();
const built = existsSync(hashFile) && existsSync(join(root, 'dist', 'main.js')) ? readFileSync(hashFile, 'utf8').trim() : null;
if (built === wanted) process.exit(0);

process.stderr.write(built === null ? 'auton: building dist/ (tsc)…\n' : 'auton: src/ changed since the last build; rebuilding dist/ (tsc)…\n');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status === 0) {
  writeFileSync(hashFile, `${wanted}\n`);
} else if (result.status === 2 && existsSync(join(root, 'dist', 'main.js'))) {
  // Type errors, but tsc wrote the JavaScript anyway (as tsx would run it). Go on, loudly, and leave the hash
  // unwritten so the next start checks again. `npm run build` and `npm run typecheck` still fail on them.
  process.stderr.write('auton: type errors (above); dist/ was written anyway and will be rebuilt at the next start\n');
} else {
  process.stderr.write(`auton: the build failed (tsc exit ${result.status ?? result.signal}); fix the errors above and start again\n`);
  process.exit(1);
}
