/**
 * `airlift snapshot create|list|restore|drop`: the safety snapshot taken
 * before a migration run, made inside the database because the embedded
 * server ships no pg_dump. The work is in SQL (sync.take_snapshot,
 * sync.restore_snapshot, sync.drop_snapshot); a restore is recorded as a
 * rollback run, like `airlift rollback`, so that the audit trail carries it.
 */
import type { Sql } from 'postgres';

export interface SnapshotTable {
  copy: string;
  rows: number;
  checksum: string;
}

export interface Snapshot {
  id: string;
  label: string;
  schema_name: string;
  taken_at: Date;
  taken_by: string;
  run_id: string | null;
  last_run_before_snapshot: string | null;
  tables: Record<string, SnapshotTable>;
  restored_at: Date | null;
  restored_by_run_id: string | null;
  dropped_at: Date | null;
  /** Rows over every copied table. */
  rows: number;
}

export interface ListedSnapshot extends Snapshot {
  /** Disk used by the snapshot's copies (0 once dropped). */
  size_bytes: number;
}

export type RestoredTable = {
  table_name: string;
  removed: number;
  inserted: number;
  restored: number;
};

export interface RestoreResult {
  snapshotId: string;
  /** The rollback run the restore is recorded (and audited) under. */
  runId: string;
  tables: RestoredTable[];
  /** The data runs made after the snapshot, now rolled back or cancelled. */
  undoneRuns: Array<{ id: string; run_type: string; status: string }>;
}

/** A refusal the database explains (unknown or dropped snapshot, a pull running): one line for the user, exit code 1. */
export class SnapshotRefused extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'SnapshotRefused';
  }
}

/** SQLSTATEs the snapshot functions raise on purpose, each with a message naming what is wrong. */
const REFUSALS = new Set(['P0002', '55000', '55P03', '42P01', 'XX001']);

async function explained<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const e = error as Error & { code?: string; detail?: string; hint?: string };
    if (e.code && REFUSALS.has(e.code)) {
      throw new SnapshotRefused(e.detail ? `${e.message}\n  ${e.detail.split('\n').join('\n  ')}` : e.message, e.hint);
    }
    throw error;
  }
}

export function parseSnapshotId(text: string): string {
  if (!/^[1-9][0-9]{0,17}$/.test(text)) throw new SnapshotRefused(`a snapshot id is a number (see \`airlift snapshot list\`), got "${text}"`);
  return text;
}

type SnapshotRow = Omit<Snapshot, 'rows'>;

function withRows<T extends SnapshotRow>(row: T): T & { rows: number } {
  return { ...row, rows: Object.values(row.tables).reduce((n, t) => n + Number(t.rows), 0) };
}

/** Takes a snapshot in one transaction; `runId` names the run it protects, when that run exists already. */
export async function takeSnapshot(sql: Sql, options: { label: string; actor: string; runId?: string }): Promise<Snapshot> {
  if (!options.label.trim()) throw new SnapshotRefused('a snapshot label must not be blank');
  return explained(() =>
    sql.begin(async (tx) => {
      await tx`select set_config('airlift.actor', ${options.actor}, true)`;
      const [row] = await tx<SnapshotRow[]>`select * from sync.take_snapshot(${options.label}, ${options.actor}, ${options.runId ?? null})`;
      return withRows(row);
    }),
  );
}

/** Records which run a snapshot taken just before it protects (`airlift pull --snapshot`). */
export async function attachSnapshotToRun(sql: Sql, snapshotId: string, runId: string): Promise<void> {
  await sql`update sync.snapshots set run_id = ${runId} where id = ${snapshotId} and run_id is null`;
}

export async function listSnapshots(sql: Sql): Promise<ListedSnapshot[]> {
  const rows = await sql<Array<SnapshotRow & { size_bytes: string }>>`
    select s.*,
           (select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = s.schema_name and c.relkind = 'r') as size_bytes
    from sync.snapshots s
    order by s.id`;
  return rows.map((row) => ({ ...withRows(row), size_bytes: Number(row.size_bytes) }));
}

/**
 * Restores a snapshot in one transaction: a rollback run is opened, the
 * database brings every copied table back (and proves it with the
 * snapshot's checksums), the run is completed with the app rows it wrote.
 */
export async function restoreSnapshot(sql: Sql, options: { snapshotId: string; actor: string }): Promise<RestoreResult> {
  const snapshotId = parseSnapshotId(options.snapshotId);
  const result = await explained(() =>
    sql.begin(async (tx) => {
      await tx`select set_config('airlift.actor', ${options.actor}, true)`;
      const [run] = await tx<{ id: string }[]>`
        select id from sync.open_run('rollback', ${options.actor}, ${tx.json({ restore_snapshot: Number(snapshotId) })})`;
      const tables = await tx<RestoredTable[]>`
        select table_name, removed::int, inserted::int, restored::int from sync.restore_snapshot(${snapshotId}, ${run.id})`;
      const undoneRuns = await tx<RestoreResult['undoneRuns']>`
        select id, run_type, status from sync.runs where metadata ->> 'rolled_back_by_run' = ${run.id} order by id`;
      // The run's counts are the app rows written (fetched = inserted +
      // updated, nothing unchanged or quarantined); every table is in metadata.
      const app = tables.filter((t) => t.table_name.startsWith('app.'));
      const inserted = app.reduce((n, t) => n + t.inserted, 0);
      const restored = app.reduce((n, t) => n + t.restored, 0);
      const removed = app.reduce((n, t) => n + t.removed, 0);
      await tx`
        select sync.complete_run(${run.id}, ${inserted}, ${restored}, ${removed},
                                 ${tx.json({ tables: [...tables], undone_runs: undoneRuns.map((r) => Number(r.id)) })})`;
      return { snapshotId, runId: run.id, tables, undoneRuns };
    }),
  );
  if (result.tables.some((t) => t.table_name.startsWith('app.') && t.removed + t.inserted + t.restored > 0)) {
    await sql`select report.refresh_materialized_views()`;
  }
  return result;
}

export async function dropSnapshot(sql: Sql, options: { snapshotId: string }): Promise<Snapshot> {
  const snapshotId = parseSnapshotId(options.snapshotId);
  return explained(async () => {
    const [row] = await sql<SnapshotRow[]>`select * from sync.drop_snapshot(${snapshotId})`;
    return withRows(row);
  });
}

function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatSnapshot(snapshot: Snapshot): string {
  const width = Math.max(...Object.keys(snapshot.tables).map((name) => name.length));
  const lines = [
    `Snapshot #${snapshot.id} "${snapshot.label}" taken ${snapshot.taken_at.toISOString()} by ${snapshot.taken_by} in schema ${snapshot.schema_name}: ${snapshot.rows} rows in ${Object.keys(snapshot.tables).length} tables`,
    ...Object.entries(snapshot.tables)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, table]) => `  ${name.padEnd(width)} ${String(table.rows).padStart(9)} rows  checksum ${table.checksum}`),
    `Restore it with \`airlift snapshot restore ${snapshot.id}\`; drop it with \`airlift snapshot drop ${snapshot.id}\` when it is no longer needed.`,
  ];
  return `${lines.join('\n')}\n`;
}

export function formatSnapshotList(snapshots: ListedSnapshot[]): string {
  if (!snapshots.length) return 'No snapshots. Take one with `airlift snapshot create` (or `airlift pull --snapshot`).\n';
  const lines = snapshots.map((s) => {
    const state = s.dropped_at
      ? `dropped ${s.dropped_at.toISOString()}`
      : s.restored_at
        ? `restored ${s.restored_at.toISOString()} by run #${s.restored_by_run_id ?? '?'}; ${formatBytes(s.size_bytes)}`
        : formatBytes(s.size_bytes);
    return `  #${s.id}  ${s.taken_at.toISOString()}  "${s.label}" by ${s.taken_by}${s.run_id ? ` (before run #${s.run_id})` : ''}: ${s.rows} rows; ${state}`;
  });
  return `Snapshots:\n${lines.join('\n')}\n`;
}

export function formatRestore(result: RestoreResult): string {
  const lines = [`Snapshot #${result.snapshotId} restored by run #${result.runId}:`];
  for (const t of result.tables) lines.push(`  ${t.table_name}: ${t.removed} removed, ${t.inserted} inserted, ${t.restored} restored`);
  lines.push('Every table\'s content checksum equals the snapshot\'s.');
  if (result.undoneRuns.length) {
    lines.push(`Runs since the snapshot, now undone: ${result.undoneRuns.map((r) => `#${r.id} (${r.run_type}, ${r.status})`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatDrop(snapshot: Snapshot): string {
  return `Snapshot #${snapshot.id} "${snapshot.label}" dropped: schema ${snapshot.schema_name} and its copies are gone.\n`;
}
