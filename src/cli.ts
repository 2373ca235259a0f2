/**
 * The `airlift` command line.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad configuration or a
 * usage error (an unknown option or command, a missing argument or required
 * option, an option value that is not what it takes).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigurationError, loadEnvironment } from './config.ts';
import {
  PROJECT_ROOT,
  connect,
  describeUrl,
  migrationSettings,
  prepareDatabase,
  resolveDatabase,
  urlWithRole,
  bootstrapRoles,
  ensureDatabaseExists,
  databaseName,
  type DatabaseTarget,
} from './db/database.ts';
import { createLogger, type Logger } from './log.ts';
import { describeDatabase, formatDescription } from './db/describe.ts';
import os from 'node:os';
import { openSyncContext } from './sync/context.ts';
import { createProgress } from './sync/progress.ts';
import { PullFailed, runPull, type PullSummary } from './sync/pull.ts';
import { formatStatus, statusReport } from './sync/status.ts';
import { PushFailed, runPush, type PushSummary } from './sync/push.ts';
import { ConflictRefused, formatConflict, formatConflictList, listConflicts, resolveConflict, showConflict, type Take } from './sync/conflicts.ts';
import { runWorker } from './sync/worker.ts';
import { formatVerify, quarantineReasons, renderReport, runVerify } from './integrity/verify.ts';
import { formatRollback, RollbackRefused, runRollback } from './integrity/rollback.ts';
import { formatDiff, runDiff, STRATEGIES, type Strategy } from './integrity/diff.ts';
import { formatPreview, latestSnapshotRun, previewMigration } from './sync/preview.ts';
import {
  attachSnapshotToRun,
  dropSnapshot,
  formatDrop,
  formatRestore,
  formatSnapshot,
  formatSnapshotList,
  listSnapshots,
  restoreSnapshot,
  SnapshotRefused,
  takeSnapshot,
  type Snapshot,
} from './integrity/snapshot.ts';
import type { Sql } from 'postgres';
import { writeFile } from 'node:fs/promises';

/** Made by main() once AIRLIFT_LOG_LEVEL is checked, before any command runs. */
let log: Logger;

/** Stops an embedded server this process started, on any exit path. */
async function withDatabase<T>(fn: (target: DatabaseTarget) => Promise<T>): Promise<T> {
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
function wholeNumber(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}.`);
    return n;
  };
}

/** An option's value as a number above 0, or a usage error. */
function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0)) throw new InvalidArgumentError('expected a number above 0.');
  return n;
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

// Usage errors are thrown (exitOverride, inherited by every command defined
// below) so that main() can exit with 2, not commander's 1.
const program = new Command()
  .name('airlift')
  .description('Move a business off Airtable and onto PostgreSQL, keep both in sync, and prove nothing was lost.')
  .version(version, '-V, --version', 'print the version of airlift')
  .exitOverride()
  .showHelpAfterError('(add --help for usage)');

program
  .command('migrate')
  .description('Create the roles if needed and apply every committed migration.')
  .action(async () => {
    await withDatabase(async (target) => {
      const started = Date.now();
      await prepareDatabase(target);
      log.info({ database: describeUrl(target.databaseUrl), ms: Date.now() - started }, 'database migrated');
    });
  });

program
  .command('start')
  .description('Bring up the database (embedded unless DATABASE_URL is set), migrate it and print what it holds.')
  .option('--keep-running', 'keep the embedded server up until interrupted, for psql or a GUI')
  .option('--json', 'print the description as JSON')
  .action(async (options: { keepRunning?: boolean; json?: boolean }) => {
    await withDatabase(async (target) => {
      await prepareDatabase(target);
      const sql = connect(urlWithRole(target.databaseUrl, 'airlift_owner'), { max: 1 });
      try {
        const description = await describeDatabase(sql);
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ database: describeUrl(target.databaseUrl), ...description }, null, 2)}\n`
            : formatDescription(describeUrl(target.databaseUrl), description),
        );
      } finally {
        await sql.end();
      }
      if (options.keepRunning && target.server?.ownsProcess) {
        process.stdout.write(`Embedded PostgreSQL is running at ${describeUrl(target.databaseUrl)} (password in ${path.join(target.server.dataDir, 'credentials.json')}). Ctrl-C stops it.\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
      }
    });
  });

program
  .command('gm')
  .description('Run graphile-migrate (watch, commit, uncommit, status, ...) against this database, e.g. `airlift gm commit -m "add x"`.')
  .allowUnknownOption()
  .helpOption(false)
  .argument('[args...]', 'graphile-migrate arguments')
  .action(async (args: string[]) => {
    await withDatabase(async (target) => {
      await bootstrapRoles(target.rootUrl);
      const settings = await migrationSettings(target, false);
      if (target.shadowUrl && target.server) await ensureDatabaseExists(target.rootUrl, databaseName(target.shadowUrl));
      const cli = createRequire(import.meta.url).resolve('graphile-migrate/dist/cli.js');
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [cli, ...args], {
          cwd: PROJECT_ROOT,
          stdio: 'inherit',
          env: {
            ...process.env,
            DATABASE_URL: settings.connectionString,
            ROOT_DATABASE_URL: settings.rootConnectionString,
            ...(settings.shadowConnectionString ? { SHADOW_DATABASE_URL: settings.shadowConnectionString } : {}),
          },
        });
        child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
      });
      process.exitCode = code;
    });
  });

program
  .command('pull')
  .description('Pull the base from Airtable into PostgreSQL once: incremental (records modified since the last run) unless --full.')
  .option('--full', 'list every record, refresh formulas and lookups, and soft-delete rows whose record is gone')
  .option('--table <names...>', 'only these tables (entity, Airtable table name or id)')
  .option('--snapshot', 'take a safety snapshot (see `airlift snapshot`) right before the pull starts')
  .action(async (options: { full?: boolean; table?: string[]; snapshot?: boolean }) => {
    const context = await openSyncContext({ actor: `cli:${os.userInfo().username}`, log });
    const abort = new AbortController();
    const interrupt = () => abort.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const progress = createProgress(log);
    let snapshot: Snapshot | undefined;
    const snapshotNote = () => (snapshot ? `Safety snapshot #${snapshot.id} was taken before the pull: \`airlift snapshot restore ${snapshot.id}\` brings the database back to it.\n` : '');
    try {
      if (options.snapshot) {
        snapshot = await takeSnapshot(context.sql, { label: 'before pull', actor: context.actor });
        log.info({ snapshotId: snapshot.id, schema: snapshot.schema_name, rows: snapshot.rows }, 'safety snapshot taken before the pull');
      }
      const summary = await runPull({
        sql: context.sql,
        client: context.client,
        mapping: context.mapping,
        baseId: context.baseId,
        mode: options.full ? 'full' : 'incremental',
        tables: options.table,
        actor: context.actor,
        overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS,
        log,
        progress,
        signal: abort.signal,
      });
      if (snapshot) await attachSnapshotToRun(context.sql, snapshot.id, summary.run.id);
      progress.stop();
      process.stdout.write(formatPullSummary(summary) + snapshotNote());
    } catch (error) {
      progress.stop();
      if (error instanceof PullFailed) {
        if (snapshot && error.runId) await attachSnapshotToRun(context.sql, snapshot.id, error.runId).catch(() => undefined);
        process.stderr.write(`airlift: pull failed: ${error.message}\n  ${error.resumePoint}\n${snapshotNote()}`);
        process.exitCode = abort.signal.aborted ? 130 : 1;
        return;
      }
      throw error;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await context.close();
    }
  });

program
  .command('push')
  .description('Push the changes made in PostgreSQL (sync.outbox) to Airtable once: field by field against Airtable\'s current values, conflicts decided by policy and logged.')
  .option('--table <names...>', 'only these tables (entity, Airtable table name or id)')
  .option('--retry-failed', 'first make failed outbox entries pending again (after fixing their cause)')
  .option('--json', 'print the result as JSON')
  .action(async (options: { table?: string[]; retryFailed?: boolean; json?: boolean }) => {
    const context = await openSyncContext({ actor: `cli:${os.userInfo().username}`, log });
    const abort = new AbortController();
    const interrupt = () => abort.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      const summary = await runPush({
        sql: context.sql, client: context.client, mapping: context.mapping, baseId: context.baseId, actor: context.actor, log,
        tables: options.table, retryFailed: Boolean(options.retryFailed), signal: abort.signal,
      });
      process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatPushSummary(summary));
      if (summary.tables.some((t) => t.failed > 0)) process.exitCode = 1;
    } catch (error) {
      if (error instanceof PushFailed) {
        process.stderr.write(`airlift: push failed: ${error.message}\n  what was not pushed stays in the outbox (\`airlift status\`)\n`);
        process.exitCode = abort.signal.aborted ? 130 : 1;
        return;
      }
      throw error;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await context.close();
    }
  });

program
  .command('sync')
  .description('One round of two-way sync: pull (incremental unless --full), then push.')
  .option('--full', 'pull every record (see `airlift pull --full`)')
  .option('--table <names...>', 'only these tables (entity, Airtable table name or id)')
  .option('--json', 'print the result as JSON')
  .action(async (options: { full?: boolean; table?: string[]; json?: boolean }) => {
    const context = await openSyncContext({ actor: `cli:${os.userInfo().username}`, log });
    const abort = new AbortController();
    const interrupt = () => abort.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const progress = createProgress(log);
    try {
      const pulled = await runPull({
        sql: context.sql, client: context.client, mapping: context.mapping, baseId: context.baseId,
        mode: options.full ? 'full' : 'incremental', tables: options.table, actor: context.actor,
        overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS, log, progress, signal: abort.signal,
      });
      progress.stop();
      const pushed = await runPush({
        sql: context.sql, client: context.client, mapping: context.mapping, baseId: context.baseId, actor: context.actor, log,
        tables: options.table, signal: abort.signal,
      });
      process.stdout.write(options.json ? `${JSON.stringify({ pull: pulled, push: pushed }, null, 2)}\n` : formatPullSummary(pulled) + formatPushSummary(pushed));
      if (pushed.tables.some((t) => t.failed > 0)) process.exitCode = 1;
    } catch (error) {
      progress.stop();
      if (error instanceof PullFailed || error instanceof PushFailed) {
        const resume = error instanceof PullFailed ? `\n  ${error.resumePoint}` : '\n  what was not pushed stays in the outbox (`airlift status`)';
        process.stderr.write(`airlift: sync failed in the ${error instanceof PullFailed ? 'pull' : 'push'}: ${error.message}${resume}\n`);
        process.exitCode = abort.signal.aborted ? 130 : 1;
        return;
      }
      throw error;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await context.close();
    }
  });

/**
 * Runs a conflicts or snapshot subcommand as airlift_sync and prints what it
 * returns; a refusal the command explains (an unknown or resolved conflict,
 * a snapshot that cannot be taken or restored) is one line, its hint, and
 * exit code 1.
 */
async function withSyncSql(work: (sql: Sql) => Promise<string>): Promise<void> {
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

const conflictsCommand = program
  .command('conflicts')
  .description('The conflict log: fields changed differently in Airtable and PostgreSQL, how each was decided, and the ones parked for a person (manual policy).');

conflictsCommand
  .command('list', { isDefault: true })
  .description('Open conflicts (all with --all), newest first.')
  .option('--all', 'also the conflicts decided by a policy or a person')
  .option('--json', 'print the conflicts as JSON')
  .action(async (options: { all?: boolean; json?: boolean }) => {
    await withSyncSql(async (sql) => {
      const rows = await listConflicts(sql, { all: Boolean(options.all) });
      return options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatConflictList(rows, Boolean(options.all));
    });
  });

conflictsCommand
  .command('show')
  .description('One conflict: base, PostgreSQL and Airtable values, the policy, and how it was decided.')
  .argument('<id>', 'the conflict (see `airlift conflicts list`)')
  .option('--json', 'print the conflict as JSON')
  .action(async (id: string, options: { json?: boolean }) => {
    await withSyncSql(async (sql) => {
      const row = await showConflict(sql, id);
      return options.json ? `${JSON.stringify(row, null, 2)}\n` : formatConflict(row);
    });
  });

conflictsCommand
  .command('resolve')
  .description('Resolve a parked conflict: take Airtable\'s value (written to PostgreSQL), PostgreSQL\'s (sent to Airtable by the next push), or a value of your own (both). Audited.')
  .argument('<id>', 'the conflict (see `airlift conflicts list`)')
  .option('--take <side>', 'airtable or postgres')
  .option('--value <json>', 'the value to keep, as JSON in the column\'s canonical form (e.g. \'"Active"\', 12.5, \'"2026-01-31"\', null)')
  .option('--json', 'print the resolved conflict as JSON')
  .action(async (id: string, options: { take?: string; value?: string; json?: boolean }) => {
    if ((options.take === undefined) === (options.value === undefined)) throw new ConfigurationError('conflicts resolve needs exactly one of --take airtable|postgres and --value JSON');
    if (options.take !== undefined && !['airtable', 'postgres'].includes(options.take)) throw new ConfigurationError(`--take must be airtable or postgres, got "${options.take}"`);
    let value: unknown;
    if (options.value !== undefined) {
      try {
        value = JSON.parse(options.value);
      } catch (error) {
        throw new ConfigurationError(`--value must be JSON (a string needs quotes: '"text"'): ${(error as Error).message}`);
      }
    }
    await withSyncSql(async (sql) => {
      const take: Take = options.value !== undefined ? 'value' : (options.take as Take);
      const row = await resolveConflict(sql, { id, take, value, actor: `cli:${os.userInfo().username}` });
      if (options.json) return `${JSON.stringify(row, null, 2)}\n`;
      const next = take === 'airtable' ? 'PostgreSQL now holds it.' : 'The next push (`airlift push`) sends it to Airtable.';
      return `Conflict #${row.id} resolved: ${row.entity}.${row.column_name} = ${JSON.stringify(row.resolved_value)} (${take}). ${next}\n`;
    });
  });

program
  .command('status')
  .description('Last runs per table, counts, quarantine, lag and the next scheduled run.')
  .option('--json', 'print the report as JSON')
  .action(async (options: { json?: boolean }) => {
    await withDatabase(async (target) => {
      await prepareDatabase(target);
      const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: 1 });
      try {
        const report = await statusReport(sql);
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
      } finally {
        await sql.end();
      }
    });
  });

program
  .command('verify')
  .description('Prove the migration: source snapshot against target, per table (completeness, checksums record by record, relationships, validation rules), in key ranges (a killed verify resumes). Exits 1 when there are discrepancies.')
  .option('--json', 'print the result as JSON')
  .option('--report <file>', 'also write the report to a file: HTML when it ends in .html, Markdown otherwise')
  .option('--table <entity...>', 'verify only these entities')
  .option('--strict', 'also fail (exit 1) on validation warnings about the source data, not only on discrepancies')
  .option('--deep', 'rebuild every target row\'s canonical form instead of reading the stored target checksums, and report stored ones that are stale')
  .option('--batch-size <n>', 'source records per key range', wholeNumber(1), 250_000)
  .option('--jobs <n>', 'checks run side by side, each on its own connection in one server process (1: one at a time, each free to use the server\'s parallel workers)', wholeNumber(1), 2)
  .action(async (options: { json?: boolean; report?: string; table?: string[]; strict?: boolean; deep?: boolean; batchSize: number; jobs: number }) => {
    await withDatabase(async (target) => {
      await prepareDatabase(target);
      // one connection holds the verification's lock, the others work side by side
      const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: options.jobs + 1 });
      try {
        const result = await runVerify(sql, {
          actor: `cli:${os.userInfo().username}`, entities: options.table, strict: Boolean(options.strict), deep: Boolean(options.deep), batchSize: options.batchSize,
          concurrency: options.jobs,
        });
        process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatVerify(result));
        if (options.report) {
          const format = options.report.endsWith('.html') ? 'html' : 'markdown';
          await writeFile(options.report, renderReport(result, format, await quarantineReasons(sql)));
          if (!options.json) process.stdout.write(`report written to ${options.report}\n`);
        }
        if (!result.passed) process.exitCode = 1;
      } finally {
        await sql.end();
      }
    });
  });

program
  .command('diff')
  .description('Differentials between a fresh source snapshot (a full listing of Airtable into staging, nothing merged) and the target, per table: missing, conflicted and deleted records, computed in key ranges (a killed diff resumes). Exits 1 when differences remain unresolved.')
  .option('--json', 'print the result as JSON')
  .option('--table <entity...>', 'compare only these entities')
  .option('--offline', 'compare with the latest source snapshot already stored, without listing Airtable')
  .option('--resolve', 'apply a resolution strategy to what is found (audited)')
  .option('--strategy <strategy>', `with --resolve: ${STRATEGIES.join(', ')}`, 'source_wins')
  .option('--batch-size <n>', 'source records per key range', wholeNumber(1), 50_000)
  .action(async (options: { json?: boolean; table?: string[]; offline?: boolean; resolve?: boolean; strategy: string; batchSize: number }) => {
    if (!STRATEGIES.includes(options.strategy as Strategy)) {
      throw new ConfigurationError(`--strategy must be one of ${STRATEGIES.join(', ')}, got "${options.strategy}"`);
    }
    const actor = `cli:${os.userInfo().username}`;
    if (!options.offline) {
      // The source snapshot: every record listed into staging, nothing merged.
      const context = await openSyncContext({ actor, log });
      try {
        const snapshot = await runPull({
          sql: context.sql, client: context.client, mapping: context.mapping, baseId: context.baseId, mode: 'full', stageOnly: true,
          tables: options.table, actor, overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS, log, progress: createProgress(log),
        });
        log.info({ runId: snapshot.run.id, records: Number(snapshot.run.fetched) }, 'source snapshot taken (staged, not merged)');
      } finally {
        await context.close();
      }
    }
    await withDatabase(async (target) => {
      await prepareDatabase(target);
      const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: 2 });
      try {
        const result = await runDiff(sql, {
          actor, entities: options.table, resolve: Boolean(options.resolve), strategy: options.strategy as Strategy, batchSize: options.batchSize,
        });
        process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatDiff(result));
        if (result.unresolved > 0) process.exitCode = 1;
      } finally {
        await sql.end();
      }
    });
  });

program
  .command('validate')
  .description('Before migrating: a source snapshot (a full listing of Airtable into staging, nothing merged) run through the real merge and validation rules inside a transaction that is rolled back: per table what would land, flagged with problems or kept out by a blocking rule, and the problems grouped by table, field and rule. Exits 1 when a blocking rule would keep records out.')
  .option('--json', 'print the preview as JSON')
  .option('--table <entity...>', 'validate only these entities (and take the snapshot of only these)')
  .option('--offline', 'preview the latest source snapshot already stored, without listing Airtable')
  .action(async (options: { json?: boolean; table?: string[]; offline?: boolean }) => {
    const actor = `cli:${os.userInfo().username}`;
    const context = await openSyncContext({ actor, log });
    try {
      let runId: string | null;
      if (options.offline) {
        runId = await latestSnapshotRun(context.sql);
        if (!runId) throw new ConfigurationError('--offline: no source snapshot is stored yet; run `airlift validate` (or `airlift diff`) without --offline first');
      } else {
        const snapshot = await runPull({
          sql: context.sql, client: context.client, mapping: context.mapping, baseId: context.baseId, mode: 'full', stageOnly: true,
          tables: options.table, actor, overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS, log, progress: createProgress(log),
        });
        runId = String(snapshot.run.id);
      }
      const wanted = options.table?.map((t) => t.toLowerCase());
      const entities = context.mapping.mergeOrder
        .filter((t) => !wanted || wanted.includes(t.entity) || wanted.includes(t.tableName.toLowerCase()) || wanted.includes(t.tableId.toLowerCase()))
        .map((t) => t.entity);
      const preview = await previewMigration(context.sql, runId, entities);
      process.stdout.write(options.json ? `${JSON.stringify(preview, null, 2)}\n` : formatPreview(preview));
      if (preview.tables.some((t) => t.quarantined > 0)) process.exitCode = 1;
    } finally {
      await context.close();
    }
  });

program
  .command('rollback')
  .description('Revert every change a run made, from the audit trail. Refuses, naming the rows, when they were changed since or when later rows link to rows it inserted, unless --force.')
  .requiredOption('--run <id>', 'the run to roll back')
  .option('--force', 'roll back anyway: later changes to its rows are overwritten, links to rows it inserted are emptied (files owned by such a row are deleted), all audited')
  .action(async (options: { run: string; force?: boolean }) => {
    await withDatabase(async (target) => {
      await prepareDatabase(target);
      const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: 1 });
      try {
        const result = await runRollback(sql, { runId: options.run, force: Boolean(options.force), actor: `cli:${os.userInfo().username}` });
        process.stdout.write(formatRollback(result));
      } catch (error) {
        if (error instanceof RollbackRefused) {
          process.stderr.write(`${error.message}\n${error.rows.map((r) => `  ${r}`).join('\n')}\n${error.hint ?? ''}\n`);
          process.exitCode = 1;
          return;
        }
        throw error;
      } finally {
        await sql.end();
      }
    });
  });

const snapshotCommand = program
  .command('snapshot')
  .description('Safety snapshots inside the database (the embedded server has no pg_dump): copies of the app tables, the id map and staging, to restore after a migration run that went wrong.');

snapshotCommand
  .command('create')
  .description('Take a snapshot now: a private schema airlift_snapshot_<id> with a copy of every app table, sync.id_map and staging, with row counts and checksums.')
  .option('--label <text>', 'what the snapshot is for', 'manual')
  .option('--json', 'print the snapshot as JSON')
  .action(async (options: { label: string; json?: boolean }) => {
    await withSyncSql(async (sql) => {
      const snapshot = await takeSnapshot(sql, { label: options.label, actor: `cli:${os.userInfo().username}` });
      return options.json ? `${JSON.stringify(snapshot, null, 2)}\n` : formatSnapshot(snapshot);
    });
  });

snapshotCommand
  .command('list')
  .description('Every snapshot: when, by whom, rows, disk used, restored or dropped.')
  .option('--json', 'print the snapshots as JSON')
  .action(async (options: { json?: boolean }) => {
    await withSyncSql(async (sql) => {
      const snapshots = await listSnapshots(sql);
      return options.json ? `${JSON.stringify(snapshots, null, 2)}\n` : formatSnapshotList(snapshots);
    });
  });

snapshotCommand
  .command('restore')
  .description('Bring the app tables, the id map and staging back to a snapshot, as an audited rollback run; the pulls made since are marked undone.')
  .argument('<id>', 'the snapshot (see `airlift snapshot list`)')
  .option('--json', 'print the result as JSON')
  .action(async (id: string, options: { json?: boolean }) => {
    await withSyncSql(async (sql) => {
      const result = await restoreSnapshot(sql, { snapshotId: id, actor: `cli:${os.userInfo().username}` });
      return options.json ? `${JSON.stringify(result, null, 2)}\n` : formatRestore(result);
    });
  });

snapshotCommand
  .command('drop')
  .description('Drop a snapshot\'s copies to free the space; its record stays.')
  .argument('<id>', 'the snapshot (see `airlift snapshot list`)')
  .action(async (id: string) => {
    await withSyncSql(async (sql) => formatDrop(await dropSnapshot(sql, { snapshotId: id })));
  });

program
  .command('worker')
  .description(
    'Run the scheduled two-way sync (graphile-worker, times in UTC): incremental pulls (AIRLIFT_CRON_INCREMENTAL, every 5 minutes by default), ' +
      'a full pull (AIRLIFT_CRON_FULL, nightly at 03:00) and a push of the outbox to Airtable (AIRLIFT_CRON_PUSH, every minute). Stops gracefully on SIGTERM.',
  )
  .action(async () => {
    await runWorker({ log });
  });

program
  .command('demo')
  .description(
    'Run the whole two-way sync on an emulated Delta base of ~50,000 registrations, with nothing to set up: pulls, verification, a differential, ' +
      'changes made in PostgreSQL pushed to Airtable and conflicts decided by policy. Exits 1 when a check does not hold.',
  )
  .option('--registrations <n>', 'registrations in the generated base', wholeNumber(1), 50_000)
  .option('--seed <n>', 'generator seed', wholeNumber(0), 1)
  .option('--rps <n>', "the emulator's (raised) rate limit, requests per second", positiveNumber, 100)
  .option('--latency <ms>', 'emulated request latency', wholeNumber(0), 10)
  .option('--keep', 'keep the database in .airlift-demo instead of a throwaway folder')
  .action(async (options: { registrations: number; seed: number; rps: number; latency: number; keep?: boolean }) => {
    const { runDemo } = await import('./dev/demo.ts');
    await runDemo({ registrations: options.registrations, seed: options.seed, requestsPerSecond: options.rps, latencyMs: options.latency, keep: Boolean(options.keep), log });
  });

function formatPullSummary(summary: PullSummary): string {
  const run = summary.run;
  const lines = [
    `Run #${run.id} (${run.run_type}${summary.resumed ? ', resumed' : ''}) ${run.status}: fetched ${run.fetched} = ${run.inserted} inserted + ${run.updated} updated + ${run.unchanged} unchanged + ${run.quarantined} quarantined; ${run.deleted} soft-deleted`,
    ...summary.tables.map(
      (t) => `  ${t.entity.padEnd(17)} fetched ${String(t.fetched).padStart(7)}  +${t.inserted} ~${t.updated} =${t.unchanged} -${t.deleted} !${t.quarantined}${t.withProblems ? `  (${t.withProblems} landed with problems)` : ''}`,
    ),
  ];
  const withProblems = summary.tables.reduce((sum, t) => sum + t.withProblems, 0);
  if (withProblems > 0) lines.push(`${withProblems} records landed with problems flagged on their fields: \`airlift status\` groups them (sync.field_problems).`);
  if (Number(run.quarantined) > 0) lines.push('Quarantined records (kept out by a blocking rule) are listed by `airlift status` (sync.record_errors); the next run retries them.');
  for (const warning of summary.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

function formatPushSummary(summary: PushSummary): string {
  const run = summary.run;
  const waiting = summary.waiting.entries
    ? `${summary.waiting.entries} change${summary.waiting.entries === 1 ? '' : 's'} wait (next due at ${summary.waiting.next_due_at!.toISOString()}, in ${summary.waiting.next_due_in_seconds} s)`
    : '';
  if (!run) {
    return waiting
      ? `Push: nothing due now; ${waiting}; no request made.\n`
      : 'Push: nothing to send (the outbox has no due entries); no request made.\n';
  }
  const lines = [
    `Push run #${run.id} ${run.status}: ${run.inserted} created, ${run.updated} updated, ${run.deleted} deleted in Airtable, ${run.unchanged} with nothing to send, ${run.quarantined} not pushed yet; ${summary.conflicts.length} conflicts; ${summary.requests} requests (${summary.writeRequests} writes)`,
    ...summary.tables
      .filter((t) => t.created + t.updated + t.deleted + t.skipped + t.failed + t.retrying + t.deferred + t.conflicts > 0)
      .map((t) => `  ${t.entity.padEnd(17)} +${t.created} ~${t.updated} -${t.deleted} =${t.skipped} failed ${t.failed} retrying ${t.retrying} waiting ${t.deferred} conflicts ${t.conflicts}`),
  ];
  for (const c of summary.conflicts) {
    lines.push(`  conflict #${c.id} ${c.entity}.${c.column_name} ${c.airtable_id ?? ''}: ${c.status === 'open' ? 'parked for a person (`airlift conflicts show ' + c.id + '`)' : `${c.resolution} won (${c.policy})`}`);
  }
  if (summary.tables.some((t) => t.failed > 0)) lines.push('Failed entries and Airtable\'s messages: `airlift status`; after fixing the cause, `airlift push --retry-failed`.');
  if (waiting) lines.push(`Retrying later: ${waiting}.`);
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<void> {
  try {
    log = createLogger();
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
