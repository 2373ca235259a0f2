/**
 * The `airlift` command line: the program, one command group per file in
 * ./commands/, and the mapping of errors to exit codes.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad configuration or a
 * usage error (an unknown option or command, a missing argument or required
 * option, an option value that is not what it takes).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { ConfigurationError } from '../config.ts';
import { createLogger } from '../log.ts';
import { registerConflictsCommands } from './commands/conflicts.ts';
import { registerDatabaseCommands } from './commands/database.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerIntegrityCommands } from './commands/integrity.ts';
import { registerFilesCommands } from './commands/files.ts';
import { registerScaffoldCommand } from './commands/scaffold.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerSyncCommands } from './commands/sync.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { log, setLogger } from './shared.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

// Usage errors are thrown (exitOverride, inherited by every command defined
// below) so that main() can exit with 2, not commander's 1.
const program = new Command()
  .name('airlift')
  .description('Move a business off Airtable and onto PostgreSQL, keep both in sync, and prove nothing was lost.')
  .version(version, '-V, --version', 'print the version of airlift')
  .exitOverride()
  .showHelpAfterError('(add --help for usage)');

// The order here is the order of `airlift --help`.
registerDatabaseCommands(program); // migrate, start, gm
registerSyncCommands(program); // pull, push, sync
registerConflictsCommands(program); // conflicts list|show|resolve
registerStatusCommand(program); // status
registerIntegrityCommands(program); // verify, diff, validate, rollback, snapshot create|list|restore|drop
registerFilesCommands(program); // files download|get|attach|remove|gc
registerWorkerCommand(program); // worker
registerScaffoldCommand(program); // scaffold
registerDemoCommand(program); // demo

export async function main(argv: string[]): Promise<void> {
  try {
    setLogger(createLogger());
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the message (or the help, or the version)
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    // One clear line for people; the stack only at debug level.
    process.stderr.write(`airlift: ${(error as Error)?.message ?? String(error)}\n`);
    log?.debug({ err: error }, 'failure details');
    process.exitCode = 1;
  }
}

await main(process.argv);
