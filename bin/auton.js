#!/usr/bin/env node
// The `auton` command (package.json "bin"): runs the compiled CLI, dist/cli/main.js, which `npm install` builds
// (the prepare script). Plain JavaScript, so it runs before anything is compiled and can say what is missing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write(`auton: ${main} is missing; run \`npm install\` (or \`npm run build\`) in ${fileURLToPath(new URL('..', import.meta.url))}\n`);
  process.exit(2);
}
await import(main);
