/**
 * `airlift validate`: what a migration would land, and with which problems,
 * before anything is merged. The source is a stage-only snapshot (a full
 * listing of Airtable into staging, as `airlift diff` takes it); its records
 * are merged with the real merge and validated with the real rules inside
 * one transaction that is rolled back, so the preview is exactly what a pull
 * would do, and nothing of it stays: app rows, problems, quarantine,
 * reports and checkpoints are as they were.
 */
import type { Sql } from 'postgres';
import { formatProblemGroups, problemGroups, type ProblemGroup } from './problems.ts';

export interface TablePreview {
  entity: string;
  /** Records of the snapshot. */
  records: number;
  /** Of those, how many would be live in app.* after the merge. */
  landing: number;
  /** Of those landing, how many with open problems. */
  flagged: number;
  /** Kept out by a blocking rule (quarantine). */
  quarantined: number;
  /** Items of the table's listing that are not records (an unreadable line, a row with a cell too many), open in the quarantine since a listing found them. */
  unreadable: number;
}

export interface ValidationPreview {
  runId: string;
  tables: TablePreview[];
  /** The open problems after the merge, by table, field and rule (those already open included). */
  groups: ProblemGroup[];
}

class PreviewDone extends Error {
  constructor(readonly preview: ValidationPreview) {
    super('preview done (rolled back)');
  }
}

/** The latest stage-only snapshot run: what `airlift validate --offline` previews. */
export async function latestSnapshotRun(sql: Sql): Promise<string | null> {
  const [run] = await sql<{ id: string }[]>`
    select id::text from sync.runs where run_type = 'full' and status = 'completed' and coalesce((metadata ->> 'stage_only')::boolean, false)
    order by id desc limit 1`;
  return run?.id ?? null;
}

export async function previewMigration(sql: Sql, runId: string, entities: string[]): Promise<ValidationPreview> {
  try {
    await sql.begin(async (tx) => {
      const tables: TablePreview[] = [];
      for (const entity of entities) {
        await tx`select sync.merge_entity(${runId}, ${entity}, true)`;
        await tx`select count(*) from sync.validate_entity(${runId}, ${entity})`;
        const [row] = await tx<TablePreview[]>`
          with snapshot as (
            select s.source_key from staging.source_records s
            join sync.entity_mappings m on m.source_table = s.source_table
            where m.entity = ${entity} and s.run_id = ${runId}
          )
          select ${entity}::text as entity, (select count(*)::int from snapshot) as records,
                 (select count(*)::int from sync.id_map i join snapshot s on s.source_key = i.legacy_id where i.entity_type = ${entity}) as landing,
                 (select count(distinct p.source_key)::int from sync.field_problems p join snapshot s on s.source_key = p.source_key
                   where p.entity = ${entity} and p.resolved_at is null) as flagged,
                 (select count(distinct e.source_key)::int from sync.record_errors e join snapshot s on s.source_key = e.source_key
                   where e.resolved_at is null) as quarantined,
                 (select count(*)::int from sync.record_errors e join sync.entity_mappings m on m.source_table = e.source_table
                   where m.entity = ${entity} and e.rejected_before_staging and e.resolved_at is null) as unreadable`;
        tables.push(row!);
      }
      const groups = await problemGroups(tx as unknown as Sql, { entities });
      throw new PreviewDone({ runId, tables, groups });
    });
  } catch (error) {
    if (error instanceof PreviewDone) return error.preview;
    throw error;
  }
  throw new Error('the preview transaction ended without a result');
}

export function formatPreview(preview: ValidationPreview): string {
  const lines = [`Validation of source snapshot run #${preview.runId}: what a migration would land (nothing was merged)`];
  const width = Math.max(17, ...preview.tables.map((t) => t.entity.length));
  for (const t of preview.tables) {
    const unreadable = t.unreadable ? `; ${t.unreadable} not read as records (quarantined)` : '';
    lines.push(`  ${t.entity.padEnd(width)} ${String(t.records).padStart(8)} records: ${t.landing} would land (${t.flagged} flagged with problems), ${t.quarantined} kept out by a blocking rule${unreadable}`);
  }
  lines.push('', 'Problems, by table, field and rule (what would land flagged, and what a blocking rule would keep out):');
  lines.push(...formatProblemGroups(preview.groups, '  '));
  return `${lines.join('\n')}\n`;
}
