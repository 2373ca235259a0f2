/**
 * Key ranges over an entity's source snapshot, with a checkpoint per
 * entity in sync.checkpoints: how `airlift diff` and `airlift verify` work
 * through a million records in steps that a killed process resumes.
 */
import type { Sql } from 'postgres';

/** Where an entity's source snapshot is: its Airtable table and the run that listed it last. */
interface SnapshotSource {
  source_table: string;
  snapshot: string;
}

interface RangeCheckpoint {
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
async function snapshotSource(sql: Sql, entity: string): Promise<SnapshotSource> {
  const [source] = await sql<SnapshotSource[]>`
    select m.source_table, coalesce(sync.source_snapshot_run(${entity}), 0) as snapshot from sync.entity_mappings m where m.entity = ${entity}`;
  if (!source) throw new Error(`no mapped entity called ${entity}`);
  return source;
}

/**
 * Ranges planned in the checkpoint's metadata at most (their upper bounds
 * are rewritten, and audited, with every range's advance); beyond, each
 * range is found when it comes.
 */
const MAX_PLANNED_RANGES = 100;

/**
 * Tables at least this large (by the planner's estimate) are cut into
 * ranges at the histogram of staged keys instead of by a pass over their
 * keys, when the work counts each range's keys itself.
 */
export const PLAN_FROM_STATISTICS_FROM = 200_000;

/**
 * The entity's checkpoint in this run, as it was left, or opened with the
 * number of source keys to go through and the ranges' upper bounds
 * (range_bounds), planned by sync.plan_key_ranges: exactly, or, for a large
 * table whose work counts its keys, from the planner's statistics (the
 * total an estimate until the last range, estimated_total).
 */
async function openRangeCheckpoint(
  sql: Sql,
  runId: string,
  operation: 'differential_migration' | 'validation',
  entity: string,
  source: SnapshotSource,
  batchSize: number,
  estimateFrom: number | null,
): Promise<RangeCheckpoint> {
  const [existing] = await sql<RangeCheckpoint[]>`
    select id, status, last_processed_id, records_processed, records_total, metadata
    from sync.touch_checkpoint(${runId}, ${operation}, ${entity})`;
  if (existing) return existing;
  const [plan] = await sql<{ records_total: string; estimated: boolean; range_bounds: string[] }[]>`
    select records_total, estimated, range_bounds
    from sync.plan_key_ranges(${source.source_table}, ${source.snapshot}::bigint, ${batchSize}, ${estimateFrom}::bigint)`;
  const planned = plan.range_bounds.length <= MAX_PLANNED_RANGES;
  const metadata = { ...(planned ? { range_bounds: plan.range_bounds } : {}), ...(plan.estimated ? { estimated_total: true } : {}) };
  const [checkpoint] = await sql<RangeCheckpoint[]>`
    select id, status, last_processed_id, records_processed, records_total, metadata
    from sync.open_checkpoint(${runId}, ${operation}, ${entity}, ${batchSize}, ${plan.records_total}, ${sql.json(metadata)})`;
  return checkpoint;
}

/**
 * The next range from the checkpoint's plan: the bound of range number
 * `done` (the ranges done so far), or the open-ended last range with the
 * keys left; null without a plan.
 */
function plannedRange(checkpoint: RangeCheckpoint, done: number, size: number): { upto: string | null; keys: number } | null {
  const bounds = checkpoint.metadata.range_bounds as string[] | undefined;
  if (!bounds) return null;
  if (done < bounds.length) return { upto: bounds[done]!, keys: size };
  return { upto: null, keys: Math.max(0, Number(checkpoint.records_total ?? 0) - size * bounds.length) };
}

/**
 * The next range after `after`: up to `size` source keys; null as its upper
 * bound when it is the last (open-ended, so target keys past the last source
 * key are covered too).
 */
async function nextRange(sql: Sql, source: SnapshotSource, after: string | null, size: number): Promise<{ upto: string | null; keys: number }> {
  const [range] = await sql<{ upto: string | null; keys: number }[]>`
    select case when count(*) = ${size} then max(k.source_key) end as upto, count(*)::int as keys
    from (select s.source_key from staging.source_records s
          where s.source_table = ${source.source_table} and s.run_id >= ${source.snapshot}::bigint
            and s.source_key > coalesce(${after}::text, '')
          order by s.source_table, s.source_key limit ${size}) k`;
  return range;
}

export interface RangeWalk {
  runId: string;
  operation: 'differential_migration' | 'validation';
  entity: string;
  batchSize: number;
  /**
   * The work counts the source keys of each range (returns `keys`): a large
   * table's ranges may then be planned from statistics, without a pass
   * over its keys.
   */
  workCountsKeys?: boolean;
  /** With workCountsKeys: plan from statistics for tables estimated at this many keys or more (default PLAN_FROM_STATISTICS_FROM). */
  planFromStatisticsFrom?: number;
  /** Ranges this process may still run (shared across entities); the walk throws `interrupted()` when it is spent. */
  budget: { remaining: number };
  interrupted: () => Error;
  onBatch?: (entity: string, processed: number, total: number) => void;
}

/** What a range's work gives back: what to merge into the checkpoint's metadata, and the source keys it found in the range. */
export interface RangeWork {
  metadata?: Record<string, unknown>;
  keys?: number;
}

/**
 * Works through an entity's source snapshot range by range from where its
 * checkpoint stands: each range's work and the checkpoint's advance in one
 * transaction, so a killed process resumes at the next range. `work` gets
 * the bounds and whether the range is the last. The checkpoint counts the
 * keys the work found (or those of the plan); the last range sets the total
 * to the keys processed, so an estimated total ends exact. Returns the
 * number of ranges in all.
 */
export async function walkRanges(
  sql: Sql,
  walk: RangeWalk,
  work: (tx: Sql, after: string | null, upto: string | null, last: boolean) => Promise<RangeWork>,
): Promise<number> {
  const source = await snapshotSource(sql, walk.entity);
  const checkpoint = await openRangeCheckpoint(sql, walk.runId, walk.operation, walk.entity, source, walk.batchSize,
    walk.workCountsKeys ? walk.planFromStatisticsFrom ?? PLAN_FROM_STATISTICS_FROM : null);
  let after = checkpoint.last_processed_id;
  let processed = Number(checkpoint.records_processed);
  let batches = checkpoint.metadata.batches ?? 0;
  let total = Number(checkpoint.records_total ?? 0);
  let last = checkpoint.status === 'completed';
  const done = checkpoint.metadata.done_ranges as number[] | undefined;
  if (!last && done && done.some((index, i) => index !== i)) {
    throw new Error(`the ${walk.operation} checkpoint of ${walk.entity} in run #${walk.runId} has ranges done out of order (${done.join(', ')}); ` +
      'only a walk of planned ranges (planRanges) takes it up');
  }
  while (!last) {
    if (walk.budget.remaining <= 0) throw walk.interrupted();
    const range = plannedRange(checkpoint, batches, walk.batchSize) ?? await nextRange(sql, source, after, walk.batchSize);
    last = range.upto === null;
    let keys = range.keys;
    await sql.begin(async (tx) => {
      const done = await work(tx as unknown as Sql, after, range.upto, last);
      if (done.keys !== undefined) keys = done.keys;
      else if (checkpoint.metadata.estimated_total) throw new Error(`the key ranges of ${walk.entity} were planned from statistics, but the work did not count the keys of a range`);
      // the total follows the keys found: at least those processed, and
      // exactly those once the last range is done
      total = last ? processed + keys : Math.max(total, processed + keys);
      await tx`
        select sync.advance_checkpoint(${checkpoint.id}, ${range.upto}, ${keys}, ${total},
                                       ${tx.json({ ...done.metadata, batches: batches + 1 } as never)}, ${last})`;
    });
    batches += 1;
    walk.budget.remaining -= 1;
    processed += keys;
    walk.onBatch?.(walk.entity, processed, total);
    after = range.upto;
  }
  return batches;
}

/** A planned range of a walk: its number in the plan and its bounds (null bounds are open). */
export interface PlannedRange {
  index: number;
  after: string | null;
  upto: string | null;
}

/**
 * An entity's ranges as its checkpoint plans them, for working on several
 * at once: those still to do, or null when the ranges are not planned
 * (more than MAX_PLANNED_RANGES: walkRanges finds them one by one).
 */
export interface RangePlan {
  /** The number of keys the plan expects (an estimate until the walk is folded, when planned from statistics). */
  recordsTotal: number;
  pending: PlannedRange[] | null;
  /** Every range done and folded: nothing left to do. */
  completed: boolean;
}

/** Range numbers done, from a checkpoint: its set, or (written by a walk one range at a time) the first `batches` ranges. */
function doneRanges(metadata: RangeCheckpoint['metadata']): number[] {
  const done = metadata.done_ranges as number[] | undefined;
  return done ?? Array.from({ length: metadata.batches ?? 0 }, (_, i) => i);
}

/**
 * Opens (or takes up again) an entity's range checkpoint in a run and says
 * which planned ranges are left: the ranges may then be worked on side by
 * side (runPlannedRange), and folded once all are done (foldPlannedRanges).
 */
export async function planRanges(sql: Sql, walk: RangeWalk): Promise<RangePlan> {
  const source = await snapshotSource(sql, walk.entity);
  const checkpoint = await openRangeCheckpoint(sql, walk.runId, walk.operation, walk.entity, source, walk.batchSize,
    walk.workCountsKeys ? walk.planFromStatisticsFrom ?? PLAN_FROM_STATISTICS_FROM : null);
  const bounds = checkpoint.metadata.range_bounds as string[] | undefined;
  const completed = checkpoint.status === 'completed';
  const done = new Set(doneRanges(checkpoint.metadata));
  const pending = !bounds ? null : completed ? [] : Array.from({ length: bounds.length + 1 }, (_, index) => ({
    index,
    after: index === 0 ? null : bounds[index - 1]!,
    upto: plannedRange(checkpoint, index, walk.batchSize)!.upto,
  })).filter((range) => !done.has(range.index));
  return { recordsTotal: Number(checkpoint.records_total ?? 0), pending, completed };
}

/** The walk's checkpoint, its row locked until the transaction ends (ranges side by side advance it one at a time). */
async function lockedCheckpoint(tx: Sql, walk: RangeWalk): Promise<RangeCheckpoint> {
  const [checkpoint] = await tx<RangeCheckpoint[]>`
    select id, status, last_processed_id, records_processed, records_total, metadata
    from sync.checkpoints where run_id = ${walk.runId} and operation_type = ${walk.operation} and entity_type = ${walk.entity}
    for update`;
  if (!checkpoint) throw new Error(`no ${walk.operation} checkpoint of ${walk.entity} in run #${walk.runId}`);
  return checkpoint;
}

/**
 * One planned range: its work and the checkpoint's advance in one
 * transaction. Ranges of the same checkpoint may run at once: each adds
 * its number to the set of done ranges (the checkpoint row locked, so
 * none is lost), its keys to the count, and the checkpoint's
 * last_processed_id is where the unbroken run of done ranges from the
 * first one ends. The range is taken from the shared budget before it
 * starts (a spent budget throws `interrupted()`).
 */
export async function runPlannedRange(
  sql: Sql,
  walk: RangeWalk,
  range: PlannedRange,
  work: (tx: Sql, after: string | null, upto: string | null) => Promise<RangeWork>,
): Promise<void> {
  if (walk.budget.remaining <= 0) throw walk.interrupted();
  walk.budget.remaining -= 1;
  const progress = await sql.begin(async (tx) => {
    const done = await work(tx as unknown as Sql, range.after, range.upto);
    const checkpoint = await lockedCheckpoint(tx as unknown as Sql, walk);
    const bounds = checkpoint.metadata.range_bounds as string[];
    const before = doneRanges(checkpoint.metadata);
    if (before.includes(range.index)) throw new Error(`range ${range.index} of ${walk.entity} in run #${walk.runId} is already done`);
    const finished = [...before, range.index].sort((a, b) => a - b);
    // a range's keys: as the work counted them, or as the exact plan has them
    let keys = done.keys;
    if (keys === undefined) {
      if (checkpoint.metadata.estimated_total) throw new Error(`the key ranges of ${walk.entity} were planned from statistics, but the work did not count the keys of a range`);
      keys = plannedRange(checkpoint, range.index, walk.batchSize)!.keys;
    }
    let unbroken = 0;
    while (unbroken < finished.length && finished[unbroken] === unbroken) unbroken++;
    const processed = Number(checkpoint.records_processed) + keys;
    const total = Math.max(Number(checkpoint.records_total ?? 0), processed);
    // the row is locked: adding the range's keys makes records_processed `processed`
    await tx`
      select sync.advance_checkpoint(${checkpoint.id}, ${unbroken === 0 || unbroken > bounds.length ? null : bounds[unbroken - 1]!},
                                     ${keys}, ${total},
                                     ${tx.json({ ...done.metadata, done_ranges: finished, batches: finished.length } as never)})`;
    return { processed, total };
  });
  walk.onBatch?.(walk.entity, progress.processed, progress.total);
}

/**
 * Once every planned range is done: `fold` (the ranges' results made one)
 * and the checkpoint completed, in one transaction, its total made the
 * keys processed (exact, where it was an estimate). Nothing to do when
 * the checkpoint is completed already.
 */
export async function foldPlannedRanges(sql: Sql, walk: RangeWalk, fold: (tx: Sql) => Promise<void>): Promise<void> {
  await sql.begin(async (tx) => {
    const checkpoint = await lockedCheckpoint(tx as unknown as Sql, walk);
    if (checkpoint.status === 'completed') return;
    const ranges = (checkpoint.metadata.range_bounds as string[]).length + 1;
    const done = doneRanges(checkpoint.metadata).length;
    if (done < ranges) throw new Error(`${walk.entity} in run #${walk.runId}: ${done} of ${ranges} key ranges done, cannot fold them yet`);
    await fold(tx as unknown as Sql);
    await tx`select sync.complete_checkpoint(${checkpoint.id}, '{}', ${checkpoint.records_processed})`;
  });
}
