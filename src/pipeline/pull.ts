/**
 * A pull: Airtable to PostgreSQL for one base. TypeScript only moves pages;
 * the SQL functions of migrations/fixtures/staging/ and merge/ do the work.
 *
 *   lock the base -> close what a dead push of the base left -> resume an
 *   interrupted run or start one -> write the mapping -> check drift ->
 *   for each table in merge order: list pages
 *   (staged and checkpointed one round trip per page) -> merge -> sweep
 *   deletes (full runs) -> finish the run.
 *
 * Killing the process anywhere leaves the run and its checkpoints behind;
 * the next pull of the base resumes it from the last staged page (or lists
 * again when Airtable expired the iterator), and since staging and merge are
 * idempotent the result equals that of one clean run.
 */
import type { Sql } from 'postgres';
import type { KeyRanges, Source } from '../sources/source.ts';
import { checkMappingAgainstCatalogue, entityMappingRow, selectTables, writePushSettings, writeValidationRules, type Mapping, type TableMapping } from '../mapping.ts';
import type { Logger } from '../log.ts';
import { ConfigurationError } from '../config.ts';
import { closeDeadPush, lockBase, unlockBase } from './source-lock.ts';
import { prepareRecords } from './records.ts';
import { stageInBulk } from './bulk.ts';
import { keepFirstOfEachKey } from './duplicates.ts';
import { attachmentsOnPage, downloadMissing, Downloader, type DownloadSummary } from '../files/download.ts';
import type { FileStore } from '../files/store.ts';

export type PullMode = 'full' | 'incremental';

export interface PullProgress {
  tableStarted(entity: string, tableName: string, expected: number | null): void;
  pageStaged(entity: string, fetched: number): void;
  tableFinished(entity: string, summary: TableSummary): void;
}

export interface PullOptions {
  /** Pool connected as airlift_sync, with airlift.actor set for the session. */
  sql: Sql;
  /** Where the records come from (src/sources/): Airtable, a directory of exports. */
  source: Source;
  mapping: Mapping;
  mode: PullMode;
  /** Entities (or Airtable table names or ids) to pull; all mapped tables when absent. */
  tables?: string[];
  jobId?: string;
  actor: string;
  overlapSeconds: number;
  log: Logger;
  progress?: PullProgress;
  /** Stops the pull at the next page boundary; the run stays resumable. */
  signal?: AbortSignal;
  /** Wait for another pull of the same base to finish instead of failing. */
  waitForLock?: boolean;
  /** Staged records that make a batch worth merging while the listing goes on (default 1,000). */
  mergeBatchRecords?: number;
  /** Records per COPY chunk when a source's plan says bulk (default BULK_CHUNK_RECORDS, src/pipeline/bulk.ts). */
  bulkChunkRecords?: number;
  /**
   * A full listing into staging only, nothing merged or swept: a fresh source
   * snapshot for `airlift diff`. Its records merge with the next full pull,
   * or with `airlift diff --resolve`; incremental pulls ignore its high-water
   * mark, so they list its changes again and merge them.
   */
  stageOnly?: boolean;
  /**
   * Where attachment files are kept (src/files/): with a store, every file
   * a listed page names is downloaded beside the listing while its URL is
   * fresh, what earlier runs missed is downloaded after it, and the rows
   * are linked to their files before the run finishes. Without one, only
   * the attachments' metadata lands.
   */
  files?: { store: FileStore; concurrency?: number; backoffMs?: number } | null;
}

export interface TableSummary {
  entity: string;
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  /** Records fetched by the run that landed with open field problems (sync.field_problems). */
  withProblems: number;
  deleted: number;
  /** Records staged and not merged (a stage-only run). */
  staged: number;
}

export interface RunRow {
  id: string;
  run_type: PullMode;
  status: string;
  fetched: string;
  inserted: string;
  updated: string;
  unchanged: string;
  deleted: string;
  quarantined: string;
  /** Records staged and not merged: a stage-only run's records. */
  staged: string;
  started_at: Date;
  finished_at: Date | null;
  metadata: Record<string, unknown>;
}

export interface PullSummary {
  run: RunRow;
  resumed: boolean;
  tables: TableSummary[];
  warnings: string[];
  /** The attachment downloads of the run, when files are kept. */
  files?: DownloadSummary;
}

/** A pull that stopped: the run is on record as failed, with where it would resume. */
export class PullFailed extends Error {
  constructor(
    message: string,
    readonly runId: string | null,
    readonly resumePoint: string,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PullFailed';
  }
}

/** Checkpoint metadata keys the pipeline owns; the other keys are the source's resume state. */
const PIPELINE_CHECKPOINT_KEYS = new Set([
  'phase', 'offset', 'since', 'high_water_mark', 'merge', 'listing_attempt', 'untouched', 'rejected', 'deleted', 'staged', 'flagged',
  'complete', 'complete_within', 'unchanged', 'source_state', 'table_id', 'pages', 'last_page_seq', 'merged_through', 'merge_batches', 'bulk',
]);

/** What a source keeps in a checkpoint's metadata: every key but the pipeline's. */
function sourceStateOf(metadata: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).filter(([key]) => !PIPELINE_CHECKPOINT_KEYS.has(key)));
}

interface CheckpointRow {
  id: string;
  status: string;
  records_processed: string;
  last_processed_id: string | null;
  metadata: {
    phase?: 'listing' | 'listed' | 'merged' | 'swept';
    offset?: string | null;
    since?: string | null;
    high_water_mark?: string | null;
    merge?: Record<string, number>;
    /** The listing holds every record of the table (what it does not hold is swept); the source decides. */
    complete?: boolean;
    /** The listing holds every record within these integer key ranges (and only them): what it does not hold in them is swept. */
    complete_within?: KeyRanges | null;
    /** The source found the table unchanged since the last run: nothing was listed or swept. */
    unchanged?: boolean;
    /** The source's plan: the listing is staged in bulk, with COPY (src/pipeline/bulk.ts). */
    bulk?: boolean;
    /** What the source keeps with the table's completed listing (given back to it next run). */
    source_state?: Record<string, unknown>;
    listing_attempt?: number;
    untouched?: number;
    rejected?: number;
    deleted?: number;
    staged?: number;
    /** Records the run read that have open field problems once the table is merged and validated. */
    flagged?: number;
  };
}

async function resumePoint(sql: Sql, runId: string): Promise<string> {
  const rows = await sql<{ entity_type: string; status: string; records_processed: string; last_processed_id: string | null; phase: string | null }[]>`
    select entity_type, status, records_processed, last_processed_id, metadata ->> 'phase' as phase
    from sync.checkpoints where run_id = ${runId} and operation_type = 'sync_operation' order by created_at`;
  if (!rows.length) return `run ${runId} had not started a table; running again starts from the beginning`;
  const open = rows.filter((r) => r.status !== 'completed');
  const done = rows.filter((r) => r.status === 'completed').map((r) => r.entity_type);
  const where = open
    .map((r) => `${r.entity_type} after ${r.records_processed} records${r.last_processed_id ? ` (last ${r.last_processed_id})` : ''}${r.phase && r.phase !== 'listing' ? `, ${r.phase}` : ''}`)
    .join('; ');
  return `run ${runId} resumes at ${where || 'its end'}${done.length ? ` (done: ${done.join(', ')})` : ''}`;
}

export async function runPull(options: PullOptions): Promise<PullSummary> {
  const { sql, log } = options;
  const baseId = options.source.id;
  if (options.stageOnly && options.mode !== 'full') throw new ConfigurationError('a stage-only pull (a source snapshot) lists every record: it must be a full pull');
  const tables = selectTables(options.mapping, options.tables, (message) => new PullFailed(message, null, 'nothing was started'));
  const entities = tables.map((t) => t.entity);

  // One pull per base at a time, whoever starts it (worker, CLI): a session
  // advisory lock on a reserved connection, released when the pull ends.
  const lock = await sql.reserve();
  let runId: string | null = null;
  try {
    if (!(await lockBase(lock, baseId, false))) {
      if (!options.waitForLock) throw new PullFailed(`another pull or push of base ${baseId} is running; try again when it ends`, null, 'nothing was started');
      log.info({ baseId }, 'waiting for another pull or push of this base to finish');
      await lockBase(lock, baseId, true);
    }
    try {
      await checkMappingAgainstCatalogue(sql, options.mapping);
      // Holding the base's lock, no push of the base is running: what a
      // dead push left (entries in flight, a run still running) is closed.
      const dead = await closeDeadPush(sql, baseId);
      if (dead.released || dead.runs.length) log.warn({ released: dead.released, runs: dead.runs }, 'closed what a push that died left: its runs (failed, interrupted) and its entries in flight (back in the outbox)');
      const { run, resumed } = await openRun(options, entities);
      runId = run.id;
      log.info({ runId, mode: run.run_type, resumed, tables: entities }, resumed ? 'resuming run' : 'run started');
      return await executeRun(options, run, resumed, tables);
    } finally {
      await unlockBase(lock, baseId);
    }
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    if (error instanceof PullFailed && !error.runId && !runId) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (!runId) throw new PullFailed(message, null, 'nothing was started', error);
    const interrupted = options.signal?.aborted;
    const recorded = interrupted ? `interrupted (${message}); run again to resume` : message;
    await sql`select sync.fail_run(${runId}, ${recorded})`.catch((e) => log.error({ err: e }, 'could not record the failed run'));
    throw new PullFailed(message, runId, await resumePoint(sql, runId).catch(() => `run ${runId}`), error);
  } finally {
    lock.release();
  }
}

/** The base's latest pull that did not finish (killed, stopped or failed): the one a new pull resumes. */
export async function findUnfinishedRun(sql: Sql, baseId: string): Promise<RunRow | undefined> {
  const [unfinished] = await sql<RunRow[]>`
    select * from sync.runs
    where status in ('running', 'failed') and run_type in ('full', 'incremental') and metadata ->> 'base_id' = ${baseId}
    order by id desc limit 1`;
  return unfinished;
}

/** Resumes the base's interrupted run when it covers this request, else starts a new run. */
async function openRun(options: PullOptions, entities: string[]): Promise<{ run: RunRow; resumed: boolean }> {
  const { sql, mode } = options;
  const baseId = options.source.id;
  const unfinished = await findUnfinishedRun(sql, baseId);
  if (unfinished) {
    const covered = entities.every((e) => ((unfinished.metadata.entities as string[]) ?? []).includes(e));
    const strongEnough = unfinished.run_type === mode || unfinished.run_type === 'full';
    const sameKind = Boolean(unfinished.metadata.stage_only) === Boolean(options.stageOnly);
    if (covered && strongEnough && sameKind) {
      const [run] = await sql<RunRow[]>`select * from sync.reopen_run(${unfinished.id})`;
      return { run, resumed: true };
    }
    await sql`select sync.cancel_run(${unfinished.id}, ${`superseded by a ${mode} pull of ${entities.join(', ')}`})`;
  }
  if (options.jobId) {
    await sql`select sync.start_job(${options.jobId})`;
  }
  const [run] = await sql<RunRow[]>`
    select * from sync.open_run(${mode}, ${options.actor},
                                ${sql.json({ base_id: baseId, source_kind: options.source.kind, entities, ...(options.stageOnly ? { stage_only: true } : {}) })}, ${options.jobId ?? null})`;
  return { run, resumed: false };
}

async function executeRun(options: PullOptions, run: RunRow, resumed: boolean, tables: TableMapping[]): Promise<PullSummary> {
  const { sql, mapping, log } = options;
  const mode = run.run_type;
  const baseId = options.source.id;

  // The source's metadata against the mapping first (drift): a wrong token
  // or base, a missing file, fails here, before anything is staged.
  const drift = await options.source.check(mapping);
  for (const warning of drift.warnings) log.warn({ runId: run.id }, warning);
  if (drift.errors.length) {
    throw new Error(`the base no longer matches the mapping:\n  ${drift.errors.join('\n  ')}`);
  }
  await sql`select sync.annotate_run(${run.id}, ${sql.json({ drift_warnings: drift.warnings })})`;

  // The mapping in force, with Airtable's current names for messages.
  const rows = mapping.tables.map((table) => {
    const row = entityMappingRow(table);
    const names = drift.currentNames.get(table.tableId);
    return {
      ...row,
      source_id: baseId,
      source_kind: options.source.kind,
      record_key_pattern: options.source.recordKeyPattern,
      table_name: names?.name ?? row.table_name,
      field_names: Object.fromEntries(table.fields.filter((f) => f.column).map((f) => [f.column!, names?.fields.get(f.fieldId) ?? f.name])),
    };
  });
  const remapped = await sql<{ entity: string }[]>`
    insert into sync.entity_mappings as m (entity, source_id, source_kind, record_key_pattern, source_table, table_name, field_ids, field_names, attachment_field_ids, last_modified_field_id)
    select entity, source_id, source_kind, record_key_pattern, source_table, table_name, field_ids, field_names, attachment_field_ids, last_modified_field_id
    from jsonb_to_recordset(${sql.json(rows as never)}) as r (entity text, source_id text, source_kind text, record_key_pattern text, source_table text, table_name text,
                                                     field_ids jsonb, field_names jsonb, attachment_field_ids jsonb, last_modified_field_id text)
    on conflict (entity) do update set source_id = excluded.source_id, source_kind = excluded.source_kind, record_key_pattern = excluded.record_key_pattern,
      source_table = excluded.source_table, table_name = excluded.table_name,
      field_ids = excluded.field_ids, field_names = excluded.field_names, attachment_field_ids = excluded.attachment_field_ids,
      last_modified_field_id = excluded.last_modified_field_id, updated_at = now()
    where row(m.source_id, m.source_kind, m.record_key_pattern, m.source_table, m.table_name, m.field_ids, m.field_names, m.attachment_field_ids, m.last_modified_field_id)
      is distinct from row(excluded.source_id, excluded.source_kind, excluded.record_key_pattern, excluded.source_table, excluded.table_name, excluded.field_ids, excluded.field_names,
                           excluded.attachment_field_ids, excluded.last_modified_field_id)
    returning m.entity`;
  // A new or changed mapping changes what a canonical form holds: the target
  // checksums of rows already there are rebuilt (rows written before any
  // mapping existed are taken in too).
  for (const { entity } of remapped) {
    const [{ changed }] = await sql<{ changed: string }[]>`select sync.refresh_target_checksums(${entity}) as changed`;
    if (Number(changed)) log.info({ runId: run.id, entity, changed: Number(changed) }, 'target checksums rebuilt for the new mapping');
  }

  await writeValidationRules(sql, mapping);
  await writePushSettings(sql, mapping);

  // Tables are listed one after another while their merges run behind on
  // another connection, in merge order (a table's records merge only after
  // the tables it links to): the database works while Airtable answers.
  const merges = new MergeQueue();
  const settled: Array<Promise<TableSummary>> = [];
  // Attachment files, downloaded beside the listing while their URLs are fresh.
  const files = options.source.files;
  const downloader =
    options.files && files && !options.stageOnly && tables.some((t) => t.fields.some((f) => f.convert === 'attachments'))
      ? new Downloader({
          sql, store: options.files.store, runId: run.id, sourceId: baseId, log, signal: options.signal,
          concurrency: options.files.concurrency ?? files.downloadConcurrency, backoffMs: options.files.backoffMs,
          freshUrls: (items) => files.freshUrls(items),
        })
      : null;
  try {
    for (const table of tables) {
      if (options.signal?.aborted) throw new Error('the pull was asked to stop');
      if (merges.failure) break;
      const names = drift.currentNames.get(table.tableId);
      const listed = await listPhase(options, run, mode, table, names?.name ?? table.tableName, names?.fields, merges, downloader);
      settled.push(merges.enqueue(() => settlePhase(options, run, mode, table, listed)));
    }
  } finally {
    // never leave a merge running behind a failure: the run is failed only
    // once the database work in flight has ended
    await merges.drain();
    // nor a download: what was stored is recorded before the run ends
    if (downloader && (merges.failure || options.signal?.aborted)) await downloader.drain().catch(() => undefined);
  }
  if (merges.failure) throw merges.failure;
  const summaries = await Promise.all(settled);
  let downloads: DownloadSummary | undefined;
  if (downloader) {
    await downloader.drain();
    // what earlier runs (or pages staged before a resume) left missing
    await downloadMissing(sql, downloader, baseId);
    if (options.signal?.aborted) throw new Error('the pull was asked to stop');
    const [{ linked }] = await sql<{ linked: string }[]>`select sync.link_attachment_files(${run.id}, ${baseId}) as linked`;
    downloads = downloader.summary;
    await sql`select sync.annotate_run(${run.id}, ${sql.json({ files: { ...downloads, linked: Number(linked) } })})`;
    const level = downloads.failed ? 'warn' : 'info';
    log[level]({ runId: run.id, ...downloads, linked: Number(linked), store: options.files!.store.description }, downloads.failed ? 'attachment files downloaded, some not (retried next run)' : 'attachment files downloaded');
  }

  const [finished] = options.stageOnly
    ? await sql<RunRow[]>`select * from sync.finish_stage_only_run(${run.id})`
    : await sql<RunRow[]>`select * from sync.finish_run(${run.id})`;
  if (Number(finished.inserted) + Number(finished.updated) + Number(finished.deleted) > 0) {
    await sql`select report.refresh_materialized_views()`;
  }
  log.info(
    { runId: run.id, fetched: Number(finished.fetched), inserted: Number(finished.inserted), updated: Number(finished.updated), unchanged: Number(finished.unchanged), deleted: Number(finished.deleted), quarantined: Number(finished.quarantined), staged: Number(finished.staged) },
    'run completed',
  );
  return { run: finished, resumed, tables: summaries, warnings: drift.warnings, files: downloads };
}

/** Runs database work one step at a time, in the order it was queued, behind the listing. */
class MergeQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  failure: unknown;

  get idle(): boolean {
    return this.pending === 0;
  }

  enqueue<T>(step: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(() => {
      if (this.failure) throw this.failure;
      return step();
    });
    this.tail = result.then(
      () => {
        this.pending -= 1;
      },
      (error) => {
        this.pending -= 1;
        this.failure ??= error;
      },
    );
    result.catch(() => undefined); // reported through `failure`
    return result;
  }

  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}

/** A table's state once its listing is done (or found done on resume). */
interface ListedTable {
  checkpoint: CheckpointRow;
  tableName: string;
  timings: Record<string, number>;
}

/** Records staged since the last merge that make a batch worth merging while the listing goes on. */
const MERGE_BATCH_RECORDS = 1_000;

/**
 * Opens (or resumes) a table's checkpoint and lists the table into staging.
 * While it lists, batches of staged records merge behind it whenever the
 * merge queue is idle.
 */
async function listPhase(
  options: PullOptions,
  run: RunRow,
  mode: PullMode,
  table: TableMapping,
  tableName: string,
  fieldNames: Map<string, string> | undefined,
  merges: MergeQueue,
  downloader: Downloader | null,
): Promise<ListedTable> {
  const { sql } = options;
  const entity = table.entity;

  // Where the previous successful run of this table stopped: incremental
  // runs list what was modified since, less an overlap for clock skew.
  const [previous] = await sql<{ high_water_mark: string | null }[]>`
    select c.metadata ->> 'high_water_mark' as high_water_mark
    from sync.checkpoints c join sync.runs r on r.id = c.run_id
    where r.status = 'completed' and r.metadata ->> 'base_id' = ${options.source.id} and r.metadata ->> 'stage_only' is null
      and c.operation_type = 'sync_operation' and c.entity_type = ${entity} and c.status = 'completed'
      and c.metadata ->> 'high_water_mark' is not null
    order by r.id desc limit 1`;
  const since =
    mode === 'incremental' && previous?.high_water_mark
      ? new Date(new Date(previous.high_water_mark).getTime() - options.overlapSeconds * 1000).toISOString()
      : null;

  let [checkpoint] = await sql<CheckpointRow[]>`
    select id, status, records_processed, last_processed_id, metadata
    from sync.open_checkpoint(${run.id}, 'sync_operation', ${entity}, 100, null,
                              ${sql.json({ phase: 'listing', since, high_water_mark: previous?.high_water_mark ?? null, listing_attempt: 1, table_id: table.tableId, sorted: true })})`;
  if (checkpoint.status !== 'in_progress' && checkpoint.status !== 'completed') {
    [checkpoint] = await sql<CheckpointRow[]>`
      select id, status, records_processed, last_processed_id, metadata from sync.resume_checkpoint(${checkpoint.id})`;
  }
  const timings: Record<string, number> = {};
  if (checkpoint.status === 'completed' || (checkpoint.metadata.phase ?? 'listing') !== 'listing') {
    return { checkpoint, tableName, timings };
  }

  // The source decides whether the table needs listing at all (an export
  // file whose checksum did not change does not) and whether its listing
  // holds every record (then what it does not hold is swept).
  let complete = checkpoint.metadata.complete ?? mode === 'full';
  if (checkpoint.metadata.complete === undefined) {
    const [{ previous_state }] = await sql<{ previous_state: Record<string, unknown> | null }[]>`
      select (select c.metadata -> 'source_state' from sync.checkpoints c join sync.runs r on r.id = c.run_id
              where r.status = 'completed' and r.metadata ->> 'base_id' = ${options.source.id} and r.metadata ->> 'stage_only' is null
                and c.operation_type = 'sync_operation' and c.entity_type = ${entity} and c.status = 'completed'
                and c.metadata ? 'source_state'
              order by r.id desc limit 1) as previous_state`;
    const planStarted = Date.now();
    const plan = await options.source.plan({
      runId: run.id, table, fieldNames, since: checkpoint.metadata.since ?? null, resume: { cursor: null, state: {}, attempt: 1 },
      previous: options.stageOnly ? null : previous_state, mode, log: options.log, signal: options.signal, restart: async () => undefined,
    });
    complete = plan.complete;
    timings.plan_ms = Date.now() - planStarted;
    [checkpoint] = await sql<CheckpointRow[]>`
      select id, status, records_processed, last_processed_id, metadata
      from sync.annotate_checkpoint(${checkpoint.id}, ${sql.json({
        complete: plan.complete, complete_within: plan.complete ? null : (plan.completeWithin ?? null), unchanged: plan.unchanged, source_state: plan.state, bulk: plan.bulk ?? false,
      } as never)})`;
    if (plan.unchanged) {
      options.log.info({ runId: run.id, entity }, 'unchanged since the last run: not listed');
      [checkpoint] = await sql<CheckpointRow[]>`
        select id, status, records_processed, last_processed_id, metadata from sync.annotate_checkpoint(${checkpoint.id}, ${sql.json({ phase: 'listed' })})`;
      return { checkpoint, tableName, timings };
    }
  }
  const [{ expected }] = await sql<{ expected: number | null }[]>`
    select case when ${checkpoint.metadata.since ?? null}::text is null then count(*)::int end as expected
    from staging.source_records where source_table = ${table.tableId}`;
  options.progress?.tableStarted(entity, tableName, expected || null);
  const started = Date.now();
  timings.merge_ms = 0;
  let sinceBatch = 0;
  const onPageStaged = (records: number) => {
    sinceBatch += records;
    if (options.stageOnly) return;
    if (sinceBatch < (options.mergeBatchRecords ?? MERGE_BATCH_RECORDS) || !merges.idle) return;
    sinceBatch = 0;
    void merges.enqueue(async () => {
      const batchStarted = Date.now();
      await sql`select * from sync.merge_entity(${run.id}, ${entity}, false)`;
      timings.merge_ms += Date.now() - batchStarted;
    });
  };
  timings.stage_ms = checkpoint.metadata.bulk
    ? await stageInBulk({
        sql, source: options.source, log: options.log, signal: options.signal, runId: run.id, mode, table, checkpoint, fieldNames,
        // a listing complete within key ranges marks what it reads as seen, as a complete one does: the ranges' sweep reads it
        complete: complete || Boolean(checkpoint.metadata.complete_within),
        completeWithin: checkpoint.metadata.complete_within ?? null,
        sourceState: sourceStateOf(checkpoint.metadata),
        chunkRecords: options.bulkChunkRecords, onChunkStaged: onPageStaged, onProgress: (fetched) => options.progress?.pageStaged(entity, fetched),
      })
    : await listTable(options, run, mode, table, checkpoint, fieldNames, complete, onPageStaged, downloader);
  timings.list_ms = Date.now() - started;
  return { checkpoint, tableName, timings };
}

/**
 * After the listing: the last merge of the table (what the batches have not
 * merged yet, and earlier-quarantined records retried), the delete sweep of
 * a full run, and the table's checkpoint completed. Each step moves the
 * checkpoint's phase, so a resumed run does only what is left.
 */
async function settlePhase(options: PullOptions, run: RunRow, mode: PullMode, table: TableMapping, listed: ListedTable): Promise<TableSummary> {
  const { sql, log } = options;
  const entity = table.entity;
  const { checkpoint, timings } = listed;
  if (checkpoint.status === 'completed') return summarise(entity, checkpoint);
  const phase = checkpoint.metadata.phase ?? 'listing';
  if (!timings.stage_ms) options.progress?.tableStarted(entity, listed.tableName, null);

  let mark = Date.now();
  if ((phase === 'listing' || phase === 'listed') && !options.stageOnly) {
    const [merged] = await sql`select * from sync.merge_entity(${run.id}, ${entity}, true)`;
    timings.merge_ms = (timings.merge_ms ?? 0) + Date.now() - mark;
    log.debug({ runId: run.id, entity, merged }, 'merged');
  }
  // a stage-only run merges nothing: its table counts the records it staged
  if (options.stageOnly) await sql`select sync.count_staged_records(${run.id}, ${entity})`;
  const complete = checkpoint.metadata.complete ?? mode === 'full';
  const within = checkpoint.metadata.complete_within;
  if ((complete || within) && !checkpoint.metadata.unchanged && phase !== 'swept' && !options.stageOnly) {
    mark = Date.now();
    // a listing complete within key ranges sweeps those ranges only
    const [{ swept }] = complete
      ? await sql<{ swept: string }[]>`select sync.sweep_deleted(${run.id}, ${entity}) as swept`
      : await sql<{ swept: string }[]>`select sync.sweep_deleted_in_key_ranges(${run.id}, ${entity}, ${within!.width}, ${sql.json(within!.ranges)}) as swept`;
    timings.sweep_ms = Date.now() - mark;
    if (Number(swept)) log.info({ runId: run.id, entity, deleted: Number(swept) }, 'records gone from Airtable soft-deleted');
  }
  // The table's validation report: every rule over the records the run
  // read, warnings and the quarantine (blocking rules applied in the merge).
  mark = Date.now();
  const findings = await sql<{ validation_type: string; discrepancies_found: number; validation_criteria: { blocking: number; warnings: number } }[]>`
    select validation_type, discrepancies_found, validation_criteria from sync.validate_entity(${run.id}, ${entity})`;
  timings.validate_ms = Date.now() - mark;
  const warnings = findings.reduce((n, f) => n + Number(f.validation_criteria.warnings), 0);
  if (warnings) log.info({ runId: run.id, entity, warnings }, 'validation warnings reported (sync.validation_reports)');
  // The records the run read that now have open problems (the merge's own
  // and the rules' warnings): what the summary says landed flagged.
  const [done] = await sql<CheckpointRow[]>`
    select d.id, d.status, d.records_processed, d.last_processed_id, d.metadata
    from sync.checkpoints c
    cross join lateral sync.complete_checkpoint(c.id, jsonb_build_object('flagged', (
        select count(distinct p.source_key) from sync.field_problems p
        join staging.source_records s on s.source_key = p.source_key and s.run_id = c.run_id
        join sync.entity_mappings m on m.source_table = s.source_table and m.entity = p.entity
        where p.entity = c.entity_type and p.resolved_at is null))) d
    where c.id = ${checkpoint.id}`;
  const summary = summarise(entity, done);
  log.debug({ runId: run.id, entity, ...timings }, 'table timings');
  options.progress?.tableFinished(entity, summary);
  return summary;
}

function summarise(entity: string, checkpoint: CheckpointRow): TableSummary {
  const merge = checkpoint.metadata.merge ?? {};
  const untouched = checkpoint.metadata.untouched ?? 0;
  const rejected = checkpoint.metadata.rejected ?? 0;
  const staged = Number(checkpoint.metadata.staged ?? 0);
  return {
    entity,
    fetched: (merge.fetched ?? 0) + untouched + rejected + staged,
    inserted: merge.inserted ?? 0,
    updated: merge.updated ?? 0,
    unchanged: (merge.unchanged ?? 0) + untouched,
    quarantined: (merge.quarantined ?? 0) + rejected,
    withProblems: Number(checkpoint.metadata.flagged ?? merge.landed_with_problems ?? 0),
    deleted: checkpoint.metadata.deleted ?? 0,
    staged,
  };
}

/**
 * Lists a table through its source page by page from the checkpoint's
 * cursor, each page staged with the checkpoint (cursor and the source's
 * resume state) in one transaction; returns the time spent staging (the
 * database's share). Pages that may repeat records this run staged already
 * (a listing the source started again) leave out those staged with the same
 * content, so no record is merged, or counted, twice.
 */
async function listTable(
  options: PullOptions,
  run: RunRow,
  mode: PullMode,
  table: TableMapping,
  checkpoint: CheckpointRow,
  fieldNames: Map<string, string> | undefined,
  complete: boolean,
  onPageStaged: (records: number) => void,
  downloader: Downloader | null,
): Promise<number> {
  const { sql, source, log } = options;
  const meta = checkpoint.metadata;
  let fetched = Number(checkpoint.records_processed);
  let stagingMs = 0;
  const { offset, since, listing_attempt } = meta;
  // what the source keeps with each page; the rest of the metadata is the pipeline's
  const sourceState = sourceStateOf(meta);
  // every record read is marked seen by the run when the listing is
  // complete, or complete within key ranges: the sweep reads the marks
  const marksSeen = complete || Boolean(meta.complete_within);
  const pages = source.listTable({
    runId: run.id,
    table,
    fieldNames,
    since: since ?? null,
    resume: { cursor: offset ?? null, state: sourceState, attempt: listing_attempt ?? 1 },
    previous: null,
    mode,
    completeWithin: meta.complete_within ?? null,
    log,
    signal: options.signal,
    restart: async () => {
      await sql`select sync.restart_listing(${run.id}, ${table.entity})`;
      fetched = 0;
    },
  });
  for await (const page of pages) {
    const prepared = prepareRecords(page.records, page.invalid, fieldNames);
    const { rejects } = prepared;
    let { stage } = prepared;
    if (!source.uniqueKeys && !page.mayRepeat && stage.length) {
      // A source that may hold two records with one key (an export): the
      // first one read stays, the others are quarantined naming both places.
      stage = await keepFirstOfEachKey(sql, run.id, table, page, stage, rejects);
    }
    for (const reject of rejects) log.warn({ runId: run.id, entity: table.entity, record: reject.source_key, field: reject.field }, `record quarantined: ${reject.reason}`);
    const stagingStarted = Date.now();
    if (page.mayRepeat && stage.length) {
      // staged by this run already, unchanged: staging it again would merge
      // (and count) it again (a quarantined record is always staged again)
      const seen = await sql<{ source_key: string }[]>`
        select s.source_key
        from jsonb_to_recordset(${sql.json(stage.map((r) => ({ id: r.id, hash: r.hash })))}) as p (id text, hash text)
        join staging.source_records s on s.source_table = ${table.tableId} and s.source_key = p.id and s.run_id = ${run.id} and s.content_hash = p.hash`;
      if (seen.length) {
        const skip = new Set(seen.map((r) => r.source_key));
        stage = stage.filter((r) => !skip.has(r.id));
      }
    }
    // staging, checkpoint and resume point move together, in one transaction
    await sql.begin((tx) => {
      const steps = [
        tx`select * from sync.stage_page(${run.id}, ${table.entity}, ${tx.json(stage as never)}, ${tx.json(rejects as never)}, ${marksSeen}, ${page.cursor}, ${page.highWaterMark})`,
        tx`select sync.annotate_checkpoint(${checkpoint.id}, ${tx.json(page.state as never)})`,
      ];
      // the rejects' quarantine entries are marked in the same transaction:
      // only a run that stages those records again releases them
      if (rejects.length) steps.push(tx`select sync.mark_rejected_before_staging(${run.id}, ${table.entity}, ${tx.json(rejects as never)})`);
      return steps;
    });
    stagingMs += Date.now() - stagingStarted;
    // the page's files, while their URLs are fresh (after the page is
    // staged: a killed run finds them missing from rows and downloads them)
    downloader?.offer(attachmentsOnPage(table, page.records));
    fetched += page.records.length + page.invalid.length;
    options.progress?.pageStaged(table.entity, fetched);
    if (!page.cursor) return stagingMs;
    onPageStaged(page.records.length);
    if (options.signal?.aborted) throw new Error('the pull was asked to stop');
  }
  return stagingMs;
}
