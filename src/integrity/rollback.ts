/**
 * `airlift rollback --run ID`: one transaction that records a rollback run
 * and calls sync.rollback_run, which reverts the run's changes from the
 * audit trail (or refuses, naming the rows changed since and the rows that
 * link to rows the run inserted).
 */
import type { Sql } from 'postgres';

export interface RollbackResult {
  rollbackRunId: string;
  runId: string;
  tables: Array<{ table_name: string; removed: number; restored: number; unlinked: number }>;
  forced: boolean;
}

/** A refused rollback: the rows changed since the run and the rows linking to rows it inserted, as the database named them. */
export class RollbackRefused extends Error {
  constructor(
    message: string,
    readonly rows: string[],
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'RollbackRefused';
  }
}

export async function runRollback(sql: Sql, options: { runId: string; force: boolean; actor: string }): Promise<RollbackResult> {
  if (!/^[0-9]+$/.test(options.runId)) throw new Error(`--run expects a run id (a number), got "${options.runId}"`);
  try {
    return await sql.begin(async (tx) => {
      const [rollback] = await tx<{ id: string }[]>`
        select id from sync.open_run('rollback', ${options.actor}, ${tx.json({ rolls_back: Number(options.runId), force: options.force })})`;
      const tables = await tx<RollbackResult['tables']>`
        select table_name, removed::int, restored::int, unlinked::int from sync.rollback_run(${rollback.id}, ${options.runId}, ${options.force})`;
      const removed = tables.reduce((n, t) => n + t.removed, 0);
      // rows restored and rows whose link to a removed row was emptied are both updates
      const restored = tables.reduce((n, t) => n + t.restored + t.unlinked, 0);
      await tx`select sync.complete_run(${rollback.id}, 0, ${restored}, ${removed}, ${tx.json({ tables })})`;
      return { rollbackRunId: rollback.id, runId: options.runId, tables, forced: options.force };
    });
  } catch (error) {
    const e = error as Error & { code?: string; detail?: string; hint?: string };
    if (e.code === '40001') throw new RollbackRefused(e.message, (e.detail ?? '').split('\n').filter(Boolean), e.hint);
    throw error;
  }
}

export function formatRollback(result: RollbackResult): string {
  const lines = [`Run #${result.runId} rolled back by run #${result.rollbackRunId}${result.forced ? ' (forced)' : ''}:`];
  if (!result.tables.length) lines.push('  the run changed no row');
  for (const t of result.tables) {
    lines.push(`  ${t.table_name}: ${t.removed} rows removed, ${t.restored} rows restored${t.unlinked ? `, ${t.unlinked} links to removed rows emptied` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
