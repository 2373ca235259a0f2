/**
 * What the command groups of src/cli/commands/ share: the logger, the
 * database a command works on, and the parsers of numeric options.
 */
import { InvalidArgumentError } from 'commander';
import type { Sql } from 'postgres';
import { loadEnvironment } from '../config.ts';
import { connect, prepareDatabase, resolveDatabase, urlWithRole, type DatabaseTarget } from '../db/database.ts';
import { ConflictRefused } from '../pipeline/conflicts.ts';
import { SnapshotRefused } from '../integrity/snapshot.ts';
import type { Logger } from '../log.ts';

/** Made by main() once AIRLIFT_LOG_LEVEL is checked, before any command runs. */
export let log: Logger;

export function setLogger(logger: Logger): void {
  log = logger;
}

/** Stops an embedded server this process started, on any exit path. */
export async function withDatabase<T>(fn: (target: DatabaseTarget) => Promise<T>): Promise<T> {
  const env = loadEnvironment();
  const target = await resolveDatabase(env, (line) => log.debug({ component: 'postgres' }, line));
  const stopOnSignal = (signal: NodeJS.Signals) => {
    log.warn({ signal }, 'interrupted; stopping the embedded database');
    void (target.server?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    return await fn(target);
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await target.server?.stop();
  }
}

/** An option's value as a whole number of at least `min`, or a usage error naming what it takes. */
export function wholeNumber(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}.`);
    return n;
  };
}

/** An option's value as a number above 0, or a usage error. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0)) throw new InvalidArgumentError('expected a number above 0.');
  return n;
}

/**
 * Runs a conflicts or snapshot subcommand as airlift_sync and prints what it
 * returns; a refusal the command explains (an unknown or resolved conflict,
 * a snapshot that cannot be taken or restored) is one line, its hint, and
 * exit code 1.
 */
export async function withSyncSql(work: (sql: Sql) => Promise<string>): Promise<void> {
  await withDatabase(async (target) => {
    await prepareDatabase(target);
    const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: 1 });
    try {
      process.stdout.write(await work(sql));
    } catch (error) {
      if (error instanceof SnapshotRefused || error instanceof ConflictRefused) {
        const hint = error instanceof SnapshotRefused ? error.hint : undefined;
        process.stderr.write(`airlift: ${error.message}\n${hint ? `${hint}\n` : ''}`);
        process.exitCode = 1;
        return;
      }
      throw error;
    } finally {
      await sql.end();
    }
  });
}
