/**
 * `airlift conflicts`: the conflict log (sync.conflicts) read and resolved
 * by a person. Automatic policies log their decisions resolved; the manual
 * policy parks a field here, held back from both sides, until someone takes
 * Airtable's value, PostgreSQL's, or a value of their own. A resolution is
 * a run of its own: the row it writes is audited under that run, and a
 * value for Airtable waits in the outbox for the next push.
 */
import type { Sql, TransactionSql } from 'postgres';

export interface ConflictRow {
  id: string;
  entity: string;
  row_id: string;
  airtable_id: string | null;
  column_name: string;
  base_value: unknown;
  local_value: unknown;
  remote_value: unknown;
  local_modified_at: Date | null;
  remote_modified_at: Date | null;
  policy: string;
  status: 'open' | 'resolved';
  resolution: string | null;
  resolved_value: unknown;
  decided_by_rule: string | null;
  decided_by: string | null;
  run_id: string | null;
  resolved_by_run_id: string | null;
  created_at: Date;
  resolved_at: Date | null;
}

export class ConflictRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictRefused';
  }
}

/**
 * The columns of sync.conflicts as `airlift conflicts` prints them: the
 * record's id in the source keeps its printed name airtable_id (the column
 * is source_key since the tables took source-neutral names).
 */
const conflictColumns = (sql: Sql | TransactionSql) => sql`
  id, entity, row_id, source_key as airtable_id, column_name, base_value, local_value, remote_value, local_modified_at, remote_modified_at,
  policy, status, resolution, resolved_value, decided_by_rule, decided_by, outbox_id, run_id, resolved_by_run_id, created_at, updated_at, resolved_at`;

export async function listConflicts(sql: Sql, options: { all?: boolean; limit?: number } = {}): Promise<ConflictRow[]> {
  return sql<ConflictRow[]>`
    select ${conflictColumns(sql)} from sync.conflicts
    where ${options.all ? sql`true` : sql`status = 'open'`}
    order by id desc limit ${options.limit ?? 100}`;
}

export async function showConflict(sql: Sql, id: string): Promise<ConflictRow> {
  if (!/^[0-9]+$/.test(id)) throw new ConflictRefused(`a conflict id is a number, not "${id}"`);
  const [row] = await sql<ConflictRow[]>`select ${conflictColumns(sql)} from sync.conflicts where id = ${id}`;
  if (!row) throw new ConflictRefused(`no conflict ${id} (see \`airlift conflicts list --all\`)`);
  return row;
}

export type Take = 'airtable' | 'postgres' | 'value';

/** Resolves a parked conflict by hand, as its own audited run. */
export async function resolveConflict(sql: Sql, options: { id: string; take: Take; value?: unknown; actor: string }): Promise<ConflictRow> {
  await showConflict(sql, options.id);
  return sql.begin(async (tx) => {
    const [run] = await tx<{ id: string }[]>`
      select id from sync.open_run('push', ${options.actor}, ${tx.json({ resolve_conflict: options.id, take: options.take })})`;
    let resolved: ConflictRow;
    try {
      [resolved] = await tx<ConflictRow[]>`
        select ${conflictColumns(tx)} from sync.resolve_conflict(${run.id}, ${options.id}, ${options.take},
                                            ${options.take === 'value' ? tx.json(options.value as never) : null}::jsonb, ${options.actor})`;
    } catch (error) {
      const e = error as { code?: string; message?: string };
      if (e.code === 'P0002' || e.code === '55000' || e.code === '22023') throw new ConflictRefused(e.message ?? String(error));
      throw error;
    }
    await tx`select sync.finish_push_run(${run.id})`;
    return resolved;
  });
}

const show = (value: unknown) => (value === undefined || value === null ? 'null' : JSON.stringify(value));

export function formatConflictList(rows: ConflictRow[], all: boolean): string {
  if (!rows.length) return all ? 'No conflicts on record.\n' : 'No open conflicts.\n';
  const lines = [all ? `Conflicts (newest first, ${rows.length})` : `Open conflicts (${rows.length}): \`airlift conflicts resolve ID --take airtable|postgres\` or \`--value JSON\``];
  for (const c of rows) {
    const decided = c.status === 'open' ? 'open' : `${c.resolution} won by ${c.decided_by_rule}`;
    lines.push(`  #${c.id} ${c.entity}.${c.column_name} ${c.airtable_id ?? c.row_id}: base ${show(c.base_value)}, PostgreSQL ${show(c.local_value)}, Airtable ${show(c.remote_value)} (${c.policy}; ${decided})`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatConflict(c: ConflictRow): string {
  const lines = [
    `Conflict #${c.id}: ${c.entity}.${c.column_name} of row ${c.row_id} (Airtable ${c.airtable_id ?? 'not created yet'})`,
    `  base (last value the sync saw): ${show(c.base_value)}`,
    `  PostgreSQL:                     ${show(c.local_value)}${c.local_modified_at ? ` (row updated ${c.local_modified_at.toISOString()})` : ''}`,
    `  Airtable:                       ${show(c.remote_value)}${c.remote_modified_at ? ` (record modified ${c.remote_modified_at.toISOString()})` : ''}`,
    `  policy: ${c.policy}; found by push run #${c.run_id ?? '-'} at ${c.created_at.toISOString()}`,
    c.status === 'open'
      ? `  open: \`airlift conflicts resolve ${c.id} --take airtable\`, \`--take postgres\` or \`--value '<json>'\``
      : `  resolved ${c.resolved_at?.toISOString()}: ${c.resolution} (${show(c.resolved_value)}) by rule ${c.decided_by_rule}, decided by ${c.decided_by}, run #${c.resolved_by_run_id ?? '-'}`,
  ];
  return `${lines.join('\n')}\n`;
}
