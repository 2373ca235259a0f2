/**
 * The `airlift` command line.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad configuration.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Command } from 'commander';
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
import { createLogger } from './log.ts';
import { describeDatabase, formatDescription } from './db/describe.ts';
import os from 'node:os';
import { openSyncContext } from './sync/context.ts';
import { createProgress } from './sync/progress.ts';
import { PullFailed, runPull, type PullSummary } from './sync/pull.ts';
import { formatStatus, statusReport } from './sync/status.ts';
import { runWorker } from './sync/worker.ts';
import { formatVerify, quarantineReasons, renderReport, runVerify } from './integrity/verify.ts';
import { formatRollback, RollbackRefused, runRollback } from './integrity/rollback.ts';
import { writeFile } from 'node:fs/promises';

const log = createLogger();

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

const program = new Command()
  .name('airlift')
  .description('Move a business off Airtable and onto PostgreSQL, keep both in sync, and prove nothing was lost.')
  .showHelpAfterError();

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
  .action(async (options: { full?: boolean; table?: string[] }) => {
    const context = await openSyncContext({ actor: `cli:${os.userInfo().username}`, log });
    const abort = new AbortController();
    const interrupt = () => abort.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const progress = createProgress(log);
    try {
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
      progress.stop();
      process.stdout.write(formatPullSummary(summary));
    } catch (error) {
      progress.stop();
      if (error instanceof PullFailed) {
        process.stderr.write(`airlift: pull failed: ${error.message}\n  ${error.resumePoint}\n`);
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
  .description('Prove the migration: source snapshot against target, per table (completeness, checksums record by record, relationships). Exits 1 when there are discrepancies.')
  .option('--json', 'print the result as JSON')
  .option('--report <file>', 'also write the report to a file: HTML when it ends in .html, Markdown otherwise')
  .option('--table <entity...>', 'verify only these entities')
  .option('--strict', 'also fail (exit 1) on validation warnings about the source data, not only on discrepancies')
  .action(async (options: { json?: boolean; report?: string; table?: string[]; strict?: boolean }) => {
    await withDatabase(async (target) => {
      await prepareDatabase(target);
      const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: 1 });
      try {
        const result = await runVerify(sql, { actor: `cli:${os.userInfo().username}`, entities: options.table, strict: Boolean(options.strict) });
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
  .command('rollback')
  .description('Revert every change a run made, from the audit trail. Refuses, naming the rows, when they were changed since, unless --force.')
  .requiredOption('--run <id>', 'the run to roll back')
  .option('--force', 'roll back even rows changed since the run (those later changes are overwritten)')
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

program
  .command('worker')
  .description('Run the scheduled sync (graphile-worker): incremental pulls every 5 minutes, a full pull nightly. Stops gracefully on SIGTERM.')
  .action(async () => {
    await runWorker({ log });
  });

program
  .command('demo')
  .description('Run the whole one-way sync on an emulated Delta base of ~50,000 registrations, with nothing to set up.')
  .option('--registrations <n>', 'registrations in the generated base', (v) => Number(v), 50_000)
  .option('--seed <n>', 'generator seed', (v) => Number(v), 1)
  .option('--rps <n>', "the emulator's (raised) rate limit, requests per second", (v) => Number(v), 100)
  .option('--latency <ms>', 'emulated request latency', (v) => Number(v), 10)
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
      (t) => `  ${t.entity.padEnd(17)} fetched ${String(t.fetched).padStart(7)}  +${t.inserted} ~${t.updated} =${t.unchanged} -${t.deleted} !${t.quarantined}`,
    ),
  ];
  if (Number(run.quarantined) > 0) lines.push('Quarantined records are listed by `airlift status` (sync.record_errors); the next run retries them.');
  for (const warning of summary.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    // One clear line for people; the stack only at debug level.
    process.stderr.write(`airlift: ${(error as Error)?.message ?? String(error)}\n`);
    log.debug({ err: error }, 'failure details');
    process.exitCode = 1;
  }
}

await main(process.argv);
