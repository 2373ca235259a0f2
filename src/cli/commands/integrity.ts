/**
 * `airlift verify`, `diff`, `validate`, `rollback` and `snapshot`: proving a
 * migration, previewing one, and undoing one.
 */

import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { Command } from 'commander';
import { ConfigurationError, loadEnvironment } from '../../config.ts';
import { connect, prepareDatabase, urlWithRole } from '../../db/database.ts';
import { formatDiff, runDiff, STRATEGIES, type Strategy } from '../../integrity/diff.ts';
import { formatRollback, RollbackRefused, runRollback } from '../../integrity/rollback.ts';
import {
  dropSnapshot,
  formatDrop,
  formatRestore,
  formatSnapshot,
  formatSnapshotList,
  listSnapshots,
  restoreSnapshot,
  takeSnapshot,
} from '../../integrity/snapshot.ts';
import { formatVerify, quarantineReasons, renderReport, runVerify } from '../../integrity/verify.ts';
import { openSyncContext } from '../../pipeline/context.ts';
import { formatPreview, latestSnapshotRun, previewMigration } from '../../pipeline/preview.ts';
import { createProgress } from '../../pipeline/progress.ts';
import { runPull } from '../../pipeline/pull.ts';
import { openFileStore } from '../../files/open.ts';
import { log, wholeNumber, withDatabase, withSyncSql } from '../shared.ts';

/** verify, diff, validate, rollback, snapshot create|list|restore|drop. */
export function registerIntegrityCommands(program: Command): void {
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
    .option('--no-files', 'do not read the attachment files back from the file store')
    .action(async (options: { json?: boolean; report?: string; table?: string[]; strict?: boolean; deep?: boolean; batchSize: number; jobs: number; files: boolean }) => {
      await withDatabase(async (target) => {
        await prepareDatabase(target);
        const store = options.files ? await openFileStore(loadEnvironment()) : null;
        // one connection holds the verification's lock, the others work side by side
        const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: options.jobs + 1 });
        try {
          const result = await runVerify(sql, {
            actor: `cli:${os.userInfo().username}`, entities: options.table, strict: Boolean(options.strict), deep: Boolean(options.deep), batchSize: options.batchSize,
            concurrency: options.jobs, files: store,
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
            sql: context.sql, source: context.source, mapping: context.mapping, mode: 'full', stageOnly: true,
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
            sql: context.sql, source: context.source, mapping: context.mapping, mode: 'full', stageOnly: true,
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
}
