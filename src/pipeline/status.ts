/**
 * `airlift status`: per table, the last run and what it did, what sits in
 * quarantine, how far PostgreSQL lags behind Airtable, and when the next
 * scheduled run is due. One query over sync.* and app.*.
 */
import type { Sql } from 'postgres';
import { baseLockKey } from './source-lock.ts';
import { pushStatus, type PushStatusRow } from './push.ts';
import { formatProblemGroups, problemGroups, type ProblemGroup } from './problems.ts';

export interface TableStatus {
  entity: string;
  table_name: string | null;
  last_run_id: string | null;
  last_run_type: string | null;
  last_run_status: string | null;
  last_run_finished_at: Date | null;
  fetched: number | null;
  inserted: number | null;
  updated: number | null;
  unchanged: number | null;
  deleted: number | null;
  quarantined: number | null;
  last_success_at: Date | null;
  lag_seconds: number | null;
  rows_live: number;
  rows_deleted: number;
  /** Live rows that landed with open field problems (app.*.open_problem_count > 0). */
  rows_with_problems: number;
  open_quarantine: number;
}

export interface StatusReport {
  tables: TableStatus[];
  /**
   * `interrupted`: a pull or push still marked running while no process
   * holds its base's lock, so it died (killed, crashed): the next pull of
   * the base resumes a pull run; the next pull or push closes a push run.
   */
  recentRuns: Array<{ id: string; run_type: string; status: string; started_at: Date; finished_at: Date | null; fetched: number; inserted: number; updated: number; unchanged: number; deleted: number; quarantined: number; staged: number; error_message: string | null; interrupted: boolean }>;
  quarantine: Array<{ source_table: string; airtable_id: string; field: string | null; reason: string; created_at: Date }>;
  /** Open data problems grouped by table, field and rule, with examples. */
  problems: ProblemGroup[];
  jobs: Array<{ job_name: string; status: string; last_run_at: Date | null; next_run_at: Date | null; success_rate: number | null }>;
  /** Two-way sync: what waits to go to Airtable, per table (sync.push_status). */
  outbox: PushStatusRow[];
  /** Outbox entries Airtable refused or that ran out of retries, newest first, with Airtable's message. */
  failedPushes: Array<{ id: string; entity: string; airtable_id: string | null; operation: string; attempts: number; last_error: string; updated_at: Date }>;
  /** Attachment files: what the store holds, what is still to download, and files attached or removed here waiting for the push. */
  files: {
    stored_files: number;
    stored_bytes: number;
    live_attachments: number;
    not_downloaded: number;
    download_failures: number;
    pushes_pending: number;
    pushes_failed: number;
    failed: Array<{ id: string; operation: string; entity: string; field_name: string; last_error: string }>;
  };
}

/** The report; `entities` limits the tables to those of the mapping in use (all registered entities when absent). */
export async function statusReport(sql: Sql, entities?: string[]): Promise<StatusReport> {
  const tables = await sql<TableStatus[]>`
    with last_checkpoint as (
      select distinct on (c.entity_type) c.entity_type, c.run_id, c.metadata, r.run_type, r.status, r.finished_at
      from sync.checkpoints c join sync.runs r on r.id = c.run_id
      where c.operation_type = 'sync_operation'
      order by c.entity_type, c.run_id desc
    ), last_success as (
      select c.entity_type, max(r.finished_at) as finished_at
      from sync.checkpoints c join sync.runs r on r.id = c.run_id
      where c.operation_type = 'sync_operation' and c.status = 'completed' and r.status = 'completed'
      group by c.entity_type
    ), rows as (
      select * from sync.entity_row_counts()
    )
    select e.entity, m.table_name, lc.run_id::text as last_run_id, lc.run_type as last_run_type, lc.status as last_run_status,
           lc.finished_at as last_run_finished_at,
           -- what the merge saw, or what a stage-only run staged
           coalesce((lc.metadata -> 'merge' ->> 'fetched')::int, (lc.metadata ->> 'staged')::int)
             + coalesce((lc.metadata ->> 'untouched')::int, 0) + coalesce((lc.metadata ->> 'rejected')::int, 0) as fetched,
           (lc.metadata -> 'merge' ->> 'inserted')::int as inserted,
           (lc.metadata -> 'merge' ->> 'updated')::int as updated,
           (lc.metadata -> 'merge' ->> 'unchanged')::int + coalesce((lc.metadata ->> 'untouched')::int, 0) as unchanged,
           coalesce((lc.metadata ->> 'deleted')::int, 0) as deleted,
           (lc.metadata -> 'merge' ->> 'quarantined')::int + coalesce((lc.metadata ->> 'rejected')::int, 0) as quarantined,
           ls.finished_at as last_success_at,
           extract(epoch from now() - ls.finished_at)::int as lag_seconds,
           coalesce(rw.live, 0)::int as rows_live, coalesce(rw.gone, 0)::int as rows_deleted, coalesce(rw.flagged, 0)::int as rows_with_problems,
           (select count(distinct q.source_key) from sync.record_errors q where q.resolved_at is null and q.source_table = m.source_table)::int as open_quarantine
    from sync.entities e
    left join sync.entity_mappings m on m.entity = e.entity
    left join last_checkpoint lc on lc.entity_type = e.entity
    left join last_success ls on ls.entity_type = e.entity
    left join rows rw on rw.entity = e.entity
    where ${entities ? sql`e.entity = any (${entities}::text[])` : sql`true`}
    order by e.merge_rank, e.entity`;
  const recentRuns = await sql<StatusReport['recentRuns']>`
    select r.id::text, r.run_type, r.status, r.started_at, r.finished_at, r.fetched::int, r.inserted::int, r.updated::int, r.unchanged::int,
           r.deleted::int, r.quarantined::int, r.staged::int, r.error_message,
           -- a pull or push runs only while its process holds the base's
           -- advisory lock (a bigint key: high half in classid, low in objid)
           r.status = 'running' and r.run_type in ('full', 'incremental', 'push') and r.metadata ? 'base_id'
             and not exists (
               select from pg_catalog.pg_locks l
               cross join lateral (select hashtextextended(${baseLockKey('')} || (r.metadata ->> 'base_id'), 0) as key) k
               where l.locktype = 'advisory' and l.granted and l.objsubid = 1
                 and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = current_database())
                 and l.classid = ((k.key >> 32) & 4294967295)::oid and l.objid = (k.key & 4294967295)::oid) as interrupted
    from sync.runs r order by r.id desc limit 5`;
  const quarantine = await sql<StatusReport['quarantine']>`
    -- printed (and in --json) as airtable_id, as before the source-neutral names
    select coalesce(m.table_name, q.source_table) as source_table, q.source_key as airtable_id, q.field, q.reason, q.created_at
    from sync.record_errors q left join sync.entity_mappings m on m.source_table = q.source_table
    where q.resolved_at is null order by q.created_at desc, q.source_key limit 20`;
  const jobs = await sql<StatusReport['jobs']>`
    select job_name, status, last_run_at, next_run_at, success_rate::float8 as success_rate from sync.jobs order by job_name`;
  const problems = await problemGroups(sql);
  const outbox = await pushStatus(sql);
  const failedPushes = await sql<StatusReport['failedPushes']>`
    select id::text, entity, source_key as airtable_id, operation, attempts, last_error, updated_at
    from sync.outbox where status = 'failed' order by updated_at desc, id desc limit 20`;
  const [files] = await sql<Array<Omit<StatusReport['files'], 'failed'>>>`
    select (select count(*)::int from sync.stored_files) as stored_files,
           (select coalesce(sum(size_bytes), 0)::float8 from sync.stored_files) as stored_bytes,
           (select count(*)::int from app.attachments where deleted_at is null) as live_attachments,
           (select count(*)::int from app.attachments where deleted_at is null and sha256 is null) as not_downloaded,
           (select count(*)::int from sync.attachment_downloads where sha256 is null) as download_failures,
           (select count(*)::int from sync.attachment_outbox where status in ('pending', 'in_flight')) as pushes_pending,
           (select count(*)::int from sync.attachment_outbox where status = 'failed') as pushes_failed`;
  const failedFiles = await sql<StatusReport['files']['failed']>`
    select id::text, operation, entity, field_name, last_error from sync.attachment_outbox where status = 'failed' order by updated_at desc limit 20`;
  return { tables, recentRuns, quarantine, problems, jobs, outbox, failedPushes, files: { ...files!, failed: [...failedFiles] } };
}

const ago = (seconds: number | null) =>
  seconds === null ? 'never synced' : seconds < 90 ? `${seconds}s ago` : seconds < 5400 ? `${Math.round(seconds / 60)}m ago` : `${(seconds / 3600).toFixed(1)}h ago`;

export function formatStatus(report: StatusReport, options: { oneWay?: { kind: string } } = {}): string {
  const lines: string[] = ['Tables'];
  const tableWidth = Math.max(18, ...report.tables.map((t) => (t.table_name ?? t.entity).length));
  lines.push(`  ${'table'.padEnd(tableWidth)} ${'rows'.padStart(8)} ${'flagged'.padStart(8)} ${'deleted'.padStart(8)} ${'last run'.padEnd(26)} ${'fetched'.padStart(8)} ${'+new'.padStart(7)} ${'~upd'.padStart(7)} ${'-del'.padStart(6)} ${'!quar'.padStart(6)}  synced`);
  for (const t of report.tables) {
    const run = t.last_run_id ? `#${t.last_run_id} ${t.last_run_type} ${t.last_run_status}` : '-';
    lines.push(
      `  ${(t.table_name ?? t.entity).padEnd(tableWidth)} ${String(t.rows_live).padStart(8)} ${String(t.rows_with_problems).padStart(8)} ${String(t.rows_deleted).padStart(8)} ${run.padEnd(26)} ${String(t.fetched ?? '-').padStart(8)} ${String(t.inserted ?? '-').padStart(7)} ${String(t.updated ?? '-').padStart(7)} ${String(t.deleted ?? '-').padStart(6)} ${String(t.open_quarantine).padStart(6)}  ${ago(t.lag_seconds)}`,
    );
  }
  lines.push('', 'Recent runs');
  for (const r of report.recentRuns) {
    const dead = r.interrupted
      ? ` (interrupted: no process holds the base's lock; the next ${r.run_type === 'push' ? 'pull or push of the base closes it' : 'pull of the base resumes it'})`
      : '';
    lines.push(`  #${r.id} ${r.run_type} ${r.status}${dead} ${r.started_at.toISOString()} fetched ${r.fetched} (+${r.inserted} ~${r.updated} =${r.unchanged} -${r.deleted} !${r.quarantined}${r.staged ? ` ^${r.staged} staged, not merged` : ''})${r.error_message ? ` — ${r.error_message.split('\n')[0]}` : ''}`);
  }
  if (!report.recentRuns.length) lines.push('  none yet');
  const flagged = report.tables.reduce((s, t) => s + t.rows_with_problems, 0);
  lines.push('', `Data problems (${flagged} rows landed with open problems; by table, field and rule, with examples)`);
  lines.push(...formatProblemGroups(report.problems, '  '));
  const quarantined = report.tables.reduce((s, t) => s + t.open_quarantine, 0);
  lines.push('', `Quarantine (${quarantined} record${quarantined === 1 ? '' : 's'} kept out: unreadable, refused by a blocking rule or by the database; newest entries first)`);
  for (const q of report.quarantine) lines.push(`  ${q.source_table} ${q.airtable_id}${q.field ? ` [${q.field}]` : ''}: ${q.reason}`);
  if (options.oneWay) {
    // a source with no writer (a directory of exports): nothing is pushed back
    lines.push('', `Push: none (the ${options.oneWay.kind} source is one-way)`);
  } else {
    const waiting = report.outbox.reduce((s, o) => s + o.pending + o.in_flight, 0);
    const failed = report.outbox.reduce((s, o) => s + o.failed, 0);
    const conflicts = report.outbox.reduce((s, o) => s + o.open_conflicts, 0);
    const oldest = Math.max(-1, ...report.outbox.map((o) => o.oldest_pending_seconds ?? -1));
    const retryWaiting = report.outbox.reduce((s, o) => s + o.retry_waiting, 0);
    const nextDue = report.outbox.map((o) => o.next_attempt_at).filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0];
    const delayed = retryWaiting ? ` (${retryWaiting} waiting for a retry, next due at ${nextDue!.toISOString()})` : '';
    lines.push('', `Push to Airtable: ${waiting} pending${delayed}, ${failed} failed, ${conflicts} open conflicts${oldest >= 0 ? `; oldest pending ${ago(oldest).replace(' ago', '')} old` : ''}`);
    for (const o of report.outbox.filter((o) => o.pending + o.in_flight + o.failed + o.open_conflicts > 0)) {
      lines.push(`  ${o.entity.padEnd(18)} pending ${o.pending} in flight ${o.in_flight} failed ${o.failed} conflicts ${o.open_conflicts}${o.oldest_pending_seconds !== null ? ` oldest ${ago(o.oldest_pending_seconds).replace(' ago', '')}` : ''}${o.retry_waiting ? ` (${o.retry_waiting} waiting for a retry, next due at ${o.next_attempt_at!.toISOString()})` : ''}`);
    }
    for (const f of report.failedPushes) lines.push(`  failed #${f.id} ${f.entity} ${f.operation} ${f.airtable_id ?? '(new row)'} after ${f.attempts} attempts: ${f.last_error}`);
    if (conflicts) lines.push('  open conflicts: `airlift conflicts list`');
  }
  const f = report.files;
  lines.push('', `Attachment files: ${f.stored_files} stored (${(f.stored_bytes / 1e6).toFixed(1)} MB) for ${f.live_attachments} attachments; ${f.not_downloaded} not downloaded yet (${f.download_failures} failed downloads, retried by every pull)` +
    (options.oneWay ? '' : `; ${f.pushes_pending} attached or removed here waiting for the push, ${f.pushes_failed} failed`));
  for (const x of f.failed) lines.push(`  failed #${x.id} ${x.operation} ${x.entity}.${x.field_name}: ${x.last_error}`);
  lines.push('', 'Schedule');
  for (const j of report.jobs) lines.push(`  ${j.job_name}: ${j.status}, next ${j.next_run_at?.toISOString() ?? '-'}, success ${j.success_rate ?? '-'}%`);
  if (!report.jobs.length) lines.push('  no scheduled jobs (start `airlift worker`)');
  return `${lines.join('\n')}\n`;
}
