/**
 * `airlift pull`, `airlift push` and `airlift sync`: one run of the sync from
 * the command line, with its summary.
 */

import os from 'node:os';
import type { Command } from 'commander';
import { attachSnapshotToRun, takeSnapshot, type Snapshot } from '../../integrity/snapshot.ts';
import { openSyncContext } from '../../pipeline/context.ts';
import { createProgress } from '../../pipeline/progress.ts';
import { PullFailed, runPull, type PullSummary } from '../../pipeline/pull.ts';
import { PushFailed, runPush, type PushSummary } from '../../pipeline/push.ts';
import { log } from '../shared.ts';

/** pull, push, sync. */
export function registerSyncCommands(program: Command): void {
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
          source: context.source,
          mapping: context.mapping,
          mode: options.full ? 'full' : 'incremental',
          tables: options.table,
          actor: context.actor,
          overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS,
          log,
          progress,
          signal: abort.signal,
          files: context.files ? { store: context.files, concurrency: context.env.AIRLIFT_DOWNLOAD_CONCURRENCY } : null,
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
          sql: context.sql, source: context.source, mapping: context.mapping, actor: context.actor, log,
          tables: options.table, retryFailed: Boolean(options.retryFailed), signal: abort.signal,
          files: { store: context.files, publicUrl: context.env.AIRLIFT_FILES_PUBLIC_URL },
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
          sql: context.sql, source: context.source, mapping: context.mapping,
          mode: options.full ? 'full' : 'incremental', tables: options.table, actor: context.actor,
          overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS, log, progress, signal: abort.signal,
          files: context.files ? { store: context.files, concurrency: context.env.AIRLIFT_DOWNLOAD_CONCURRENCY } : null,
        });
        progress.stop();
        const pushed = await runPush({
          sql: context.sql, source: context.source, mapping: context.mapping, actor: context.actor, log,
          tables: options.table, signal: abort.signal,
          files: { store: context.files, publicUrl: context.env.AIRLIFT_FILES_PUBLIC_URL },
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
}

function formatPullSummary(summary: PullSummary): string {
  const run = summary.run;
  // entity names longer than Delta's (wallet_opportunities) keep the columns aligned
  const width = Math.max(17, ...summary.tables.map((t) => t.entity.length));
  const lines = [
    `Run #${run.id} (${run.run_type}${summary.resumed ? ', resumed' : ''}) ${run.status}: fetched ${run.fetched} = ${run.inserted} inserted + ${run.updated} updated + ${run.unchanged} unchanged + ${run.quarantined} quarantined; ${run.deleted} soft-deleted`,
    ...summary.tables.map(
      (t) => `  ${t.entity.padEnd(width)} fetched ${String(t.fetched).padStart(7)}  +${t.inserted} ~${t.updated} =${t.unchanged} -${t.deleted} !${t.quarantined}${t.withProblems ? `  (${t.withProblems} landed with problems)` : ''}`,
    ),
  ];
  const withProblems = summary.tables.reduce((sum, t) => sum + t.withProblems, 0);
  if (withProblems > 0) lines.push(`${withProblems} records landed with problems flagged on their fields: \`airlift status\` groups them (sync.field_problems).`);
  if (Number(run.quarantined) > 0) lines.push('Quarantined records (unreadable, or kept out by a blocking rule or by the database) are listed by `airlift status` (sync.record_errors); the next run retries them.');
  const f = summary.files;
  if (f) {
    lines.push(`Attachment files: ${f.downloaded} downloaded (${(f.bytes / 1e6).toFixed(1)} MB), ${f.alreadyStored} already stored, ${f.failed} failed${f.failed ? ' (retried next run; `airlift verify` names them)' : ''}, ${f.refreshed} URLs read again`);
  }
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
  const a = summary.attachments;
  if (a && a.uploaded + a.removed + a.failed + a.deferred > 0) {
    lines.push(`  attachments       uploaded ${a.uploaded} removed ${a.removed} failed ${a.failed} waiting ${a.deferred}`);
  }
  if (summary.tables.some((t) => t.failed > 0)) lines.push('Failed entries and Airtable\'s messages: `airlift status`; after fixing the cause, `airlift push --retry-failed`.');
  if (waiting) lines.push(`Retrying later: ${waiting}.`);
  return `${lines.join('\n')}\n`;
}
