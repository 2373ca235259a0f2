/**
 * Key ranges over an entity's source snapshot, with a checkpoint per
 * entity in sync.checkpoints: how `airlift diff` and `airlift verify` work
 * through a million records in steps that a killed process resumes.
 */
import type { Sql } from 'postgres';

/** Where an entity's source snapshot is: its Airtable table and the run that listed it last. */
export interface SnapshotSource {
  table_id: string;
  snapshot: string;
}

export interface RangeCheckpoint {
  id: string;
  status: string;
  last_processed_id: string | null;
  records_processed: string;
  records_total: string | null;
  metadata: { batches?: number; [key: string]: unknown };
}

/**
 * Looked up once and passed on as values: inside a WHERE clause the snapshot
 * function would run for every row, and a joined table id hides the primary
 * key's order (each range would sort every remaining key).
 */
export async function snapshotSource(sql: Sql, entity: string): Promise<SnapshotSource> {
  const [source] = await sql<SnapshotSource[]>`
    select m.table_id, coalesce(sync.source_snapshot_run(${entity}), 0) as snapshot from sync.entity_mappings m where m.entity = ${entity}`;
  if (!source) throw new Error(`no mapped entity called ${entity}`);
  return source;
}

/** The entity's checkpoint in this run, opened with the number of source keys to go through, or as it was left. */
export async function openRangeCheckpoint(
  sql: Sql,
  runId: string,
  operation: 'differential_migration' | 'validation',
  entity: string,
  source: SnapshotSource,
  batchSize: number,
): Promise<RangeCheckpoint> {
  const [checkpoint] = await sql<RangeCheckpoint[]>`
    insert into sync.checkpoints (run_id, operation_type, entity_type, status, started_at, batch_size, records_total)
    values (${runId}, ${operation}, ${entity}, 'in_progress', clock_timestamp(), ${batchSize},
            (select count(*) from staging.airtable_records s where s.table_id = ${source.table_id} and s.run_id >= ${source.snapshot}::bigint))
    on conflict (run_id, operation_type, entity_type) do update set updated_at = now()
    returning id, status, last_processed_id, records_processed, records_total, metadata`;
  return checkpoint;
}

/**
 * The next range after `after`: up to `size` source keys; null as its upper
 * bound when it is the last (open-ended, so target keys past the last source
 * key are covered too).
 */
export async function nextRange(sql: Sql, source: SnapshotSource, after: string | null, size: number): Promise<{ upto: string | null; keys: number }> {
  const [range] = await sql<{ upto: string | null; keys: number }[]>`
    select case when count(*) = ${size} then max(k.airtable_id) end as upto, count(*)::int as keys
    from (select s.airtable_id from staging.airtable_records s
          where s.table_id = ${source.table_id} and s.run_id >= ${source.snapshot}::bigint
            and s.airtable_id > coalesce(${after}::text, '')
          order by s.table_id, s.airtable_id limit ${size}) k`;
  return range;
}
