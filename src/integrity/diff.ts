/**
 * `airlift diff`: differentials between the latest source snapshot and the
 * target, computed in SQL (sync.compute_differentials) over key ranges of
 * each table, one transaction per range with its checkpoint, so that a
 * killed differential resumes where it stopped; and, with --resolve, the
 * resolution strategy applied (sync.resolve_differentials), audited.
 */
import type { Sql } from 'postgres';
import { walkRanges } from './ranges.ts';
import { mappedEntities } from './verify.ts';

export const STRATEGIES = ['source_wins', 'target_wins', 'manual_review', 'skip'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const COMPARISON_TYPES = ['missing_records', 'conflicted_records', 'deleted_records'] as const;
export type ComparisonType = (typeof COMPARISON_TYPES)[number];

export interface EntityDiff {
  entity: string;
  records_compared: number;
  batches: number;
  /** Ids per comparison type (sorted). */
  differences: Record<ComparisonType, string[]>;
  /** Conflicted records: field -> {source, target}. */
  fields: Record<string, Record<string, { source: unknown; target: unknown }>>;
  resolution?: Array<{ comparison_type: ComparisonType; records: number; action: string }>;
  /**
   * Files added or removed in the source's attachment cells of records
   * both sides hold (sync.attachment_differentials): a record's checksum
   * leaves attachments out, so they are reported apart. The next pull (or
   * --resolve source_wins, which merges the snapshot) applies them.
   */
  attachments: Array<{ record_key: string; field_name: string; attachment_key: string; filename: string; change: 'added' | 'removed' }>;
}

export interface DiffResult {
  runId: string;
  resumed: boolean;
  strategy: Strategy | null;
  entities: EntityDiff[];
  differences: number;
  /** Differences left unresolved (all of them without --resolve; manual_review keeps them). */
  unresolved: number;
  durationMs: number;
}

export interface DiffOptions {
  actor: string;
  entities?: string[];
  /** Source keys per range (default 50,000). */
  batchSize?: number;
  resolve?: boolean;
  strategy?: Strategy;
  /** Stop after this many ranges (tests use it to simulate a kill). */
  stopAfterBatches?: number;
  onBatch?: (entity: string, processed: number, total: number) => void;
}

/** The lock that keeps two differentials from running at once. */
const LOCK_KEY = 'airlift differential';

export class DiffInterrupted extends Error {
  constructor(readonly runId: string) {
    super(`the differential run #${runId} stopped before it finished; run \`airlift diff\` again to resume it`);
    this.name = 'DiffInterrupted';
  }
}

export async function runDiff(sql: Sql, options: DiffOptions): Promise<DiffResult> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 50_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`the batch size must be a positive whole number, got ${batchSize}`);
  const strategy = options.resolve ? (options.strategy ?? 'source_wins') : null;
  if (strategy && !STRATEGIES.includes(strategy)) throw new Error(`unknown strategy "${strategy}" (use ${STRATEGIES.join(', ')})`);

  // A session lock on a reserved connection (the pool's other connections do the work).
  const lock = await sql.reserve();
  const [{ locked }] = await lock<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext(${LOCK_KEY})) as locked`;
  if (!locked) {
    lock.release();
    throw new Error('another differential is running on this database; wait for it to finish');
  }
  try {
    // An interrupted differential run is resumed, with its own settings.
    const [unfinished] = await sql<{ id: string; status: string; metadata: { entities: string[]; batch_size: number; strategy: Strategy | null } }[]>`
      select id, status, metadata from sync.runs
      where run_type = 'differential' and status in ('running', 'failed') order by id desc limit 1`;
    let runId: string;
    let entities: string[];
    let resumed = false;
    let size = batchSize;
    let chosen = strategy;
    if (unfinished) {
      runId = unfinished.id;
      entities = unfinished.metadata.entities;
      size = unfinished.metadata.batch_size;
      chosen = unfinished.metadata.strategy;
      resumed = true;
      if (unfinished.status === 'failed') await sql`select sync.reopen_run(${runId})`;
    } else {
      entities = await mappedEntities(sql, options.entities, 'compare');
      const [run] = await sql<{ id: string }[]>`
        select id from sync.open_run('differential', ${options.actor}, ${sql.json({ entities, batch_size: batchSize, strategy })})`;
      runId = run.id;
    }

    try {
      const budget = { remaining: options.stopAfterBatches ?? Number.POSITIVE_INFINITY };
      const results: EntityDiff[] = [];
      for (const entity of entities) {
        const walk = { runId, operation: 'differential_migration' as const, entity, batchSize: size, budget, interrupted: () => new DiffInterrupted(runId), onBatch: options.onBatch };
        const batches = await walkRanges(sql, walk, async (tx, after, upto) => {
          const found = await tx<{ comparison_type: string; record_count: number }[]>`
            select comparison_type, record_count from sync.compute_differentials(${runId}, ${entity}, ${after}, ${upto})`;
          return { metadata: { found: Object.fromEntries(found.map((f) => [f.comparison_type, f.record_count])) } };
        });
        results.push(await entityDiff(sql, runId, entity, batches));
      }

      if (chosen) {
        for (const result of results) {
          result.resolution = await sql.begin((tx) => tx<{ comparison_type: ComparisonType; records: number; action: string }[]>`
            select comparison_type, records::int, action from sync.resolve_differentials(${runId}, ${result.entity}, ${chosen})`);
        }
      }
      await sql`select sync.finish_run(${runId})`;
      const differences = results.reduce((n, e) => n + COMPARISON_TYPES.reduce((m, t) => m + e.differences[t].length, 0) + e.attachments.length, 0);
      const [{ unresolved }] = await sql<{ unresolved: number }[]>`
        select coalesce(sum(record_count), 0)::int as unresolved from sync.data_differentials where run_id = ${runId} and not resolved`;
      // attachment differences stay open until a pull merges the source's cells
      const attachmentDifferences = results.reduce((n, e) => n + e.attachments.length, 0);
      return { runId, resumed, strategy: chosen, entities: results, differences, unresolved: unresolved + attachmentDifferences, durationMs: Date.now() - started };
    } catch (error) {
      if (!(error instanceof DiffInterrupted)) {
        await sql`select sync.fail_run(${runId}, ${String((error as Error).message ?? error)})`.catch(() => undefined);
      }
      throw error;
    }
  } finally {
    await lock`select pg_advisory_unlock(hashtext(${LOCK_KEY}))`.catch(() => undefined);
    lock.release();
  }
}

async function entityDiff(sql: Sql, runId: string, entity: string, batches: number): Promise<EntityDiff> {
  const rows = await sql<{ comparison_type: ComparisonType; ids: string[]; fields: EntityDiff['fields'] | null }[]>`
    select d.comparison_type, array_agg(i.id order by i.id) as ids,
           jsonb_object_agg(i.id, d.metadata -> 'fields' -> i.id) filter (where d.metadata -> 'fields' ? i.id) as fields
    from sync.data_differentials d
    join sync.entity_mappings m on m.source_table = d.source_table and m.entity = ${entity}
    cross join lateral jsonb_array_elements_text(d.legacy_ids) as i (id)
    where d.run_id = ${runId}
    group by d.comparison_type`;
  const [checkpoint] = await sql<{ records_processed: string }[]>`
    select records_processed from sync.checkpoints where run_id = ${runId} and operation_type = 'differential_migration' and entity_type = ${entity}`;
  const differences = Object.fromEntries(COMPARISON_TYPES.map((t) => [t, rows.find((r) => r.comparison_type === t)?.ids ?? []])) as EntityDiff['differences'];
  const attachments = await sql<EntityDiff['attachments']>`select * from sync.attachment_differentials(${entity})`;
  return {
    entity,
    records_compared: Number(checkpoint?.records_processed ?? 0),
    batches,
    differences,
    fields: rows.find((r) => r.comparison_type === 'conflicted_records')?.fields ?? {},
    attachments: [...attachments],
  };
}

const TITLES: Record<ComparisonType, string> = {
  missing_records: 'missing from the target',
  conflicted_records: 'in conflict (checksums differ)',
  deleted_records: 'deleted at the source, live in the target',
};

/** The readable summary printed by `airlift diff`. */
export function formatDiff(result: DiffResult, limit = 20): string {
  const lines = [
    `Differential run #${result.runId}${result.resumed ? ' (resumed)' : ''}: ${result.differences} differences, ${result.unresolved} unresolved` +
      `${result.strategy ? `, resolved with ${result.strategy}` : ''} (${(result.durationMs / 1000).toFixed(1)} s)`,
  ];
  for (const e of result.entities) {
    lines.push('', `${e.entity}: ${e.records_compared} source records compared in ${e.batches} key range(s)`);
    for (const type of COMPARISON_TYPES) {
      const ids = e.differences[type];
      if (!ids.length) continue;
      lines.push(`  ${ids.length} ${TITLES[type]}`);
      for (const id of ids.slice(0, limit)) {
        const fields = type === 'conflicted_records' ? e.fields[id] : undefined;
        const detail = fields ? `: ${Object.entries(fields).map(([f, v]) => `${f} source ${JSON.stringify(v.source)} target ${JSON.stringify(v.target)}`).join('; ')}` : '';
        lines.push(`    ${id}${detail}`);
      }
      if (ids.length > limit) lines.push(`    ... and ${ids.length - limit} more (--json for all)`);
    }
    for (const change of ['added', 'removed'] as const) {
      const files = e.attachments.filter((a) => a.change === change);
      if (!files.length) continue;
      lines.push(`  ${files.length} attachment${files.length === 1 ? '' : 's'} ${change} in the source`);
      for (const a of files.slice(0, limit)) lines.push(`    ${a.record_key} ${a.field_name}: ${a.filename} (${a.attachment_key})`);
      if (files.length > limit) lines.push(`    ... and ${files.length - limit} more (--json for all)`);
    }
    for (const r of e.resolution ?? []) lines.push(`  resolved ${r.records} ${r.comparison_type}: ${r.action}`);
    if (!COMPARISON_TYPES.some((t) => e.differences[t].length) && !e.attachments.length) lines.push('  no differences');
  }
  return `${lines.join('\n')}\n`;
}
