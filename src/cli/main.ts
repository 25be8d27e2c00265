#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { actionCommands } from './actions.js';
import { approvalCommands } from './approvals.js';
import { clusterCommand } from './cluster.js';
import { AutonClient } from './client.js';
import { colours, EXIT, report, type CliContext } from './output.js';
import { streamCommands } from './streams.js';
import { treeCommands } from './tree.js';
import { watchCommand } from './watch.js';

/** Where the daemon listens unless AUTON_URL or --url says otherwise (its default AUTON_HOST and AUTON_PORT). */
export const DEFAULT_URL = 'http://127.0.0.1:8420';

interface GlobalOptions { url: string; apiKey?: string; json?: boolean; color: boolean }

const program = new Command('auton')
  .description('Operate an Auton daemon: the tree, lifecycle actions, logs, chat and transcripts')
  .version('0.1.0')
  .option('--url <url>', 'the daemon (env AUTON_URL)', process.env.AUTON_URL || DEFAULT_URL)
  .option('--api-key <key>', 'a key of AUTON_API_KEYS (env AUTON_API_KEY)')
  .option('--json', 'print JSON (the API\'s own answers; one event a line for streams)')
  .option('--no-color', 'no colours (also NO_COLOR, or when stdout is not a terminal)')
  .exitOverride()
  .showHelpAfterError('(auton --help lists the commands)');

function context(cmd: Command): CliContext {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const colour = opts.color && process.stdout.isTTY === true && !process.env.NO_COLOR && !opts.json;
  return {
    client: new AutonClient(opts.url.replace(/\/+$/, ''), opts.apiKey ?? (process.env.AUTON_API_KEY || undefined)),
    json: opts.json === true,
    colour: colours(colour),
    out: (text) => void process.stdout.write(`${text}\n`),
  };
}

treeCommands(program, context);
actionCommands(program, context);
approvalCommands(program, context);
streamCommands(program, context);
watchCommand(program, context);
clusterCommand(program, context);

// A closed pipe (`auton logs -f r | head`) ends the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT.usage;
  } else {
    process.exitCode = report(error, (line) => process.stderr.write(`${line}\n`));
  }
}
