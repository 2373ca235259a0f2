/**
 * A push: PostgreSQL to a two-way source (an Airtable base) for one source.
 * It knows no source: it reads and writes through the source's writer
 * (src/sources/source.ts, SourceWriter), and a one-way source is refused
 * (requireWriter). The outbox (sync.outbox, filled by the capture
 * triggers) is drained table by table in merge order, so a new row's links
 * find their targets already created:
 *
 *   lock the source -> free entries a dead push left in flight and close
 *   its run (failed, interrupted) -> per table,
 *   in windows: claim up to 250 due entries -> read the source's current
 *   version of the updated records -> sync.plan_push decides field by field
 *   (conflicts by policy, logged) -> create / update / delete in requests
 *   of at most the writer's maxRecordsPerWrite records (Airtable: 10, through
 *   the base's rate limiter) -> mark each request's entries pushed (a
 *   created row gets its source key in the same statement) or failed ->
 *   finish the run.
 *
 * The read before pushing asks only for what changed: one request
 * (Airtable: a formula) returns those of the window's records whose Last
 * Modified is later than the staging mirror's version of them
 * (sync.push_remote_marks); for the rest the source has just confirmed the
 * mirror, which plan_push takes as the remote side. Records the mirror does
 * not hold (created since the last pull) are read by key. So a window of 250
 * updates costs one read request, not three, when nothing changed in the
 * source meanwhile.
 *
 * Windows overlap: the next window is claimed and read while the current
 * one's last writes (about four seconds of the source's pace) are still
 * queued, so the limiter never idles between windows. A window is planned
 * only after every window before it that created records has settled (a
 * new row's links must find their target's id): tables go in merge order.
 *
 * Failures, as the writer classifies them: a request the source refuses
 * (Airtable: 422) is split into single records, so only the records it
 * refuses fail, with its message, and the rest go on. Transient errors are
 * retried by the source's client; what still fails goes back to pending with
 * backoff (sync.mark_outbox_failed). A create whose answer was lost is not
 * sent again unless the table has an upsert key (mapping `upsertOn`): it may
 * exist in the source already, so it is failed for a person to check.
 * Nothing is dropped.
 */
import type { Sql } from 'postgres';
import { checkMappingAgainstCatalogue, selectTables, writePushSettings, type Mapping, type TableMapping } from '../mapping.ts';
import type { Logger } from '../log.ts';
import { requireWriter, type Source, type SourceWriter, type WriteFailure } from '../sources/source.ts';
import { closeDeadPush, lockBase, unlockBase } from './source-lock.ts';
import { chunks } from '../chunks.ts';
import { attachmentPushDue, pushAttachments, type AttachmentPushSummary } from './push-attachments.ts';
import type { FileStore } from '../files/store.ts';

export interface PushOptions {
  /** Pool connected as airlift_sync, with airlift.actor set for the session. */
  sql: Sql;
  /** A two-way source (with a writer); its id is the lock key and the runs' `base_id`. */
  source: Source;
  mapping: Mapping;
  actor: string;
  log: Logger;
  /** Entities (or the source's table names or ids) to push; all mapped tables when absent. */
  tables?: string[];
  jobId?: string;
  /** Stops the push between batches; what is claimed is settled first. */
  signal?: AbortSignal;
  /** Wait for another pull or push of the base to finish instead of failing. */
  waitForLock?: boolean;
  /** Entries claimed per window (1 to 250; default 250: one read request per window when nothing changed in the source). */
  batchSize?: number;
  /** Attempts before a transiently failing entry is failed for good. */
  maxAttempts?: number;
  /** Make failed entries pending again first (after their cause was fixed). */
  retryFailed?: boolean;
  progress?: (event: { entity: string; done: number }) => void;
  /**
   * The file store, for files attached here (sync.attachment_outbox): they
   * are uploaded after the cells. Without it, uploads wait (removals are
   * still pushed).
   */
  files?: { store: FileStore | null; publicUrl?: string | null } | null;
}

export interface PushRunRow {
  id: string;
  status: string;
  fetched: string;
  inserted: string;
  updated: string;
  unchanged: string;
  deleted: string;
  quarantined: string;
  started_at: Date;
  finished_at: Date | null;
  metadata: Record<string, unknown>;
}

export interface PushTableSummary {
  entity: string;
  created: number;
  updated: number;
  deleted: number;
  skipped: number;
  failed: number;
  retrying: number;
  deferred: number;
  conflicts: number;
}

export interface PushConflict {
  id: string;
  entity: string;
  airtable_id: string | null;
  column_name: string;
  policy: string;
  status: string;
  resolution: string | null;
}

/** Pending entries that a push does not send yet: they wait out a retry delay (sync.outbox.next_attempt_at). */
export interface PushWaiting {
  /** How many (of the tables pushed). */
  entries: number;
  /** When the first of them is due; null when none waits. */
  next_due_at: Date | null;
  /** Seconds from the end of the push until then (rounded up); null when none waits. */
  next_due_in_seconds: number | null;
}

export interface PushSummary {
  /** The push run; null when nothing was due (no run is recorded, no request sent). */
  run: PushRunRow | null;
  /** What waits out a retry delay after this push (a push with nothing due may still have these). */
  waiting: PushWaiting;
  tables: PushTableSummary[];
  conflicts: PushConflict[];
  /** Requests sent to the source by this push (reads and writes). */
  requests: number;
  /** Write requests (creates, updates, deletes; Airtable's POST, PATCH, DELETE) among them. */
  writeRequests: number;
  /** Files attached or removed here and pushed (sync.attachment_outbox). */
  attachments?: AttachmentPushSummary;
}

/** A push that stopped; entries it had claimed are back in the outbox. */
export class PushFailed extends Error {
  constructor(
    message: string,
    readonly runId: string | null,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PushFailed';
  }
}

interface ClaimedEntry {
  id: string;
  entity: string;
  row_id: string;
  source_key: string | null;
  operation: 'create' | 'update' | 'delete';
}

interface PlannedEntry {
  outbox_id: string;
  entity: string;
  row_id: string;
  source_key: string | null;
  action: 'create' | 'update' | 'delete' | 'skip' | 'fail' | 'defer';
  fields: Record<string, unknown> | null;
  conflict_ids: string[];
}

interface Failure {
  id: string;
  error: string;
  response?: unknown;
  permanent: boolean;
}

/** The push's options with the source's writer (requireWriter). */
interface Pushing extends PushOptions {
  writer: SourceWriter;
}

/**
 * Waits for every request of a batch, then throws the first error: a request
 * still in flight when another fails must still settle its entries (a
 * created record must get its id), so nothing is abandoned half-way.
 */
async function allSettledOrThrow(work: Array<Promise<void>>): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function emptySummary(entity: string): PushTableSummary {
  return { entity, created: 0, updated: 0, deleted: 0, skipped: 0, failed: 0, retrying: 0, deferred: 0, conflicts: 0 };
}

export async function runPush(pushOptions: PushOptions): Promise<PushSummary> {
  // a one-way source is bad configuration (exit 2), refused before anything is locked or recorded
  const options: Pushing = { ...pushOptions, writer: requireWriter(pushOptions.source, pushOptions.mapping) };
  const { sql, log } = options;
  const baseId = options.source.id;
  const batchSize = options.batchSize ?? WINDOW_MAX;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > WINDOW_MAX) throw new PushFailed(`the push batch size must be 1 to ${WINDOW_MAX}, got ${batchSize}`, null);
  const tables = selectTables(options.mapping, options.tables, (message) => new PushFailed(message, null));

  const lock = await sql.reserve();
  let runId: string | null = null;
  try {
    if (!(await lockBase(lock, baseId, false))) {
      if (!options.waitForLock) throw new PushFailed(`another pull or push of base ${baseId} is running; try again when it ends`, null);
      log.info({ baseId }, 'waiting for another pull or push of this base to finish');
      await lockBase(lock, baseId, true);
    }
    try {
      await checkMappingAgainstCatalogue(sql, options.mapping);
      await writePushSettings(sql, options.mapping);
      // Holding the base's lock, nothing else pushes it: entries still in
      // flight and push runs still running belong to a push that died.
      const dead = await closeDeadPush(sql, baseId);
      if (dead.released) log.warn({ released: dead.released }, 'released outbox entries a stopped push left in flight (creates among them are failed for a check)');
      if (dead.runs.length) log.warn({ runs: dead.runs }, 'closed the runs of pushes that died (failed, interrupted)');
      if (options.retryFailed) {
        const [{ retried }] = await sql<{ retried: number }[]>`
          select sync.retry_outbox(array(select id from sync.outbox where status = 'failed' and entity in ${sql(tables.map((t) => t.entity))})) as retried`;
        const files = await sql`
          update sync.attachment_outbox set status = 'pending', updated_at = now()
          where status = 'failed' and entity in ${sql(tables.map((t) => t.entity))} returning id`;
        log.info({ retried, attachments: files.length }, 'failed outbox entries made pending again');
      }
      // Nothing due: no run, no request (a sync round with nothing changed
      // writes nothing), but what waits out a retry delay is told.
      const [{ due, ...waiting }] = await sql<Array<{ due: boolean } & PushWaiting>>`
        select bool_or(o.next_attempt_at is null or o.next_attempt_at <= now()) is true as due,
               count(*) filter (where o.next_attempt_at > now())::int as entries,
               min(o.next_attempt_at) filter (where o.next_attempt_at > now()) as next_due_at,
               ceil(extract(epoch from min(o.next_attempt_at) filter (where o.next_attempt_at > now()) - now()))::int as next_due_in_seconds
        from sync.outbox o
        where o.entity in ${sql(tables.map((t) => t.entity))} and o.status = 'pending'`;
      const filesDue = options.source.files ? await attachmentPushDue(sql, tables.map((t) => t.entity)) : false;
      if (!due && !filesDue) return { run: null, waiting, tables: tables.map((t) => emptySummary(t.entity)), conflicts: [], requests: 0, writeRequests: 0 };
      const [run] = await sql<PushRunRow[]>`
        select * from sync.open_run('push', ${options.actor},
                                    ${sql.json({ base_id: baseId, entities: tables.map((t) => t.entity) })}, ${options.jobId ?? null})`;
      runId = run.id;
      const summary = await executeRun(options, run, tables, batchSize);
      return { ...summary, waiting: await waitingEntries(sql, tables) };
    } catch (error) {
      // Recorded while the lock is held: whoever takes it next finds the
      // run closed with its own error, not as a dead push.
      const message = error instanceof Error ? error.message : String(error);
      if (runId) await sql`select sync.fail_run(${runId}, ${message})`.catch((e) => log.error({ err: e }, 'could not record the failed run'));
      throw error;
    } finally {
      await unlockBase(lock, baseId);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof PushFailed && error.runId === runId) throw error;
    throw new PushFailed(message, runId, error);
  } finally {
    lock.release();
  }
}

/** The pending entries of the tables that wait out a retry delay. */
async function waitingEntries(sql: Sql, tables: TableMapping[]): Promise<PushWaiting> {
  const [waiting] = await sql<PushWaiting[]>`
    select count(*)::int as entries, min(o.next_attempt_at) as next_due_at,
           ceil(extract(epoch from min(o.next_attempt_at) - now()))::int as next_due_in_seconds
    from sync.outbox o
    where o.entity in ${sql(tables.map((t) => t.entity))} and o.status = 'pending' and o.next_attempt_at > now()`;
  return waiting!;
}

/** Entries claimed per window: at most what one modified-since read covers. */
const WINDOW_MAX = 250;

/** Claimed entries of one table with the source's current version of the records they update. */
interface Window {
  table: TableMapping;
  claimed: ClaimedEntry[];
  /** Records read from the source: {record key: fields}. */
  remote: Record<string, Record<string, unknown>>;
  /** Records the source confirmed unchanged since the staging mirror's version. */
  fromMirror: string[];
}

/** Counts a window's write requests not finished yet, and wakes who waits for it to fall low. */
class Outstanding {
  private count = 0;
  private waiters: Array<{ atMost: number; resolve: () => void }> = [];
  add(): void {
    this.count++;
  }
  done(): void {
    this.count--;
    this.waiters = this.waiters.filter((w) => (this.count <= w.atMost ? (w.resolve(), false) : true));
  }
  /** Resolves once at most `n` requests are unfinished (or at once). */
  atMost(n: number): Promise<void> {
    if (this.count <= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ atMost: n, resolve }));
  }
  /** Releases every waiter (the window is over, whatever its count). */
  end(): void {
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}

async function executeRun(options: Pushing, run: PushRunRow, tables: TableMapping[], batchSize: number): Promise<Omit<PushSummary, 'waiting'>> {
  const { sql, writer, log } = options;
  const requestsBefore = writer.requests;
  let writeRequests = 0;
  const summaries = new Map(tables.map((t) => [t.entity, emptySummary(t.entity)]));
  const done = (s: PushTableSummary) => s.created + s.updated + s.deleted + s.skipped + s.failed + s.retrying + s.deferred;
  // Queued writes worth about four seconds of the limiter: the next window
  // is claimed and read once the current one is down to these.
  const prefetchAt = Math.max(1, Math.ceil(writer.requestsPerSecond * 4));

  // The next window, table by table in merge order; none once everything
  // due is claimed (or the push was asked to stop).
  let tableIndex = 0;
  const fetchNext = async (): Promise<Window | null> => {
    while (tableIndex < tables.length) {
      if (options.signal?.aborted) return null;
      const window = await fetchWindow(options, run.id, tables[tableIndex]!, batchSize);
      if (window) return window;
      tableIndex++;
    }
    return null;
  };

  // Windows whose writes may still be in flight, and whether they create.
  const settling: Array<{ creates: boolean; settled: Promise<void> }> = [];
  let next: Promise<Window | null> = fetchNext();
  let failure: unknown;
  let stopped = false;
  try {
    for (;;) {
      const window = await next;
      if (!window) break;
      // A window before this one failed in a way that stops the push.
      if (stopped) break;
      // A new row's links need their targets' ids: wait for the windows
      // that create (of this table or one before it in merge order).
      await Promise.all(settling.filter((w) => w.creates).map((w) => w.settled));
      const summary = summaries.get(window.table.entity)!;
      const sending = await planAndSend(options, run.id, window);
      const settled = sending.settled.then((outcome) => {
        writeRequests += outcome.writeRequests;
        for (const key of ['created', 'updated', 'deleted', 'skipped', 'failed', 'retrying', 'deferred', 'conflicts'] as const) summary[key] += outcome[key];
        options.progress?.({ entity: window.table.entity, done: done(summary) });
      });
      settling.push({ creates: sending.creates, settled });
      // An error stops the windows to come; the next one is only fetched
      // once this one is down to its last requests (or has failed).
      next = Promise.race([sending.outstanding.atMost(prefetchAt), settled]).then(fetchNext);
      settled.catch(() => {
        stopped = true;
      });
    }
  } catch (error) {
    failure = error;
  }
  // Every window settles its own entries, also when another failed.
  const results = await Promise.allSettled(settling.map((w) => w.settled));
  failure ??= results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  if (failure) {
    // A window claimed but not sent goes back to the outbox.
    const orphan = await next.catch(() => null);
    if (orphan) await releaseWindow(options, run.id, orphan, failure);
    throw failure;
  }
  if (options.signal?.aborted) throw new PushFailed('the push was asked to stop; what it claimed was settled, the rest waits in the outbox', run.id);
  for (const summary of summaries.values()) if (done(summary)) log.info({ runId: run.id, ...summary }, 'table pushed');

  // the files attached or removed here, once the records they belong to exist there
  const attachments = options.source.files
    ? await pushAttachments({ sql, source: options.source, store: options.files?.store ?? null, publicUrl: options.files?.publicUrl, runId: run.id, log, signal: options.signal })
    : undefined;
  if (attachments && attachments.uploaded + attachments.removed + attachments.failed) log.info({ runId: run.id, ...attachments }, 'attachments pushed');

  const [finished] = await sql<PushRunRow[]>`select * from sync.finish_push_run(${run.id})`;
  await sql`select sync.annotate_run(${run.id}, ${sql.json({ requests: writer.requests - requestsBefore, write_requests: writeRequests, ...(attachments ? { attachments } : {}) } as never)})`;
  const conflicts = await sql<PushConflict[]>`
    select id, entity, source_key as airtable_id, column_name, policy, status, resolution from sync.conflicts where run_id = ${run.id} order by id`;
  return { run: finished, tables: [...summaries.values()], conflicts, requests: writer.requests - requestsBefore, writeRequests, attachments };
}

/** Puts a window's claimed entries back in the outbox (pending, retried later). */
async function releaseWindow(options: Pushing, runId: string, window: Window, cause: unknown): Promise<void> {
  const message = `push interrupted: ${options.writer.classify(cause).message}`;
  await options.sql`
    select count(*) from sync.mark_outbox_failed(${runId}, ${options.sql.json(window.claimed.map((c) => ({ id: c.id, error: message, permanent: false })) as never)}, ${options.maxAttempts ?? 10})`.catch(
    (e) => options.log.error({ err: e }, 'could not put claimed outbox entries back'),
  );
}

/**
 * Claims the next window of a table and reads the source's current version
 * of the records it updates: by Last Modified against the mirror where the
 * mirror holds a version, by key where it does not (or where the source
 * cannot tell, e.g. Airtable refuses the formula because the Last Modified
 * field was renamed since the last pull).
 */
async function fetchWindow(options: Pushing, runId: string, table: TableMapping, size: number): Promise<Window | null> {
  const { sql, writer, log } = options;
  const claimed = await sql<ClaimedEntry[]>`
    select id, entity, row_id, source_key, operation from sync.claim_outbox(${runId}, ${table.entity}, null, ${size})`;
  if (!claimed.length) return null;
  const window: Window = { table, claimed, remote: {}, fromMirror: [] };
  try {
    const marks = await sql<{ source_key: string; mirror_last_modified: string | null; last_modified_field_name: string | null }[]>`
      select source_key, mirror_last_modified, last_modified_field_name from sync.push_remote_marks(${sql.array(claimed.map((c) => c.id))}::bigint[])`;
    let byId = marks.filter((m) => !m.mirror_last_modified || !m.last_modified_field_name).map((m) => m.source_key);
    const bySince = marks.filter((m) => m.mirror_last_modified && m.last_modified_field_name);
    if (bySince.length) {
      const changed = await writer.readChangedSince(
        table,
        bySince.map((m) => ({ id: m.source_key, since: m.mirror_last_modified })),
        { lastModifiedField: bySince[0]!.last_modified_field_name!, log },
      );
      if (changed) {
        for (const record of changed) window.remote[record.id] = record.fields;
        window.fromMirror = bySince.map((m) => m.source_key).filter((id) => !(id in window.remote));
      } else {
        // the source cannot tell (the filter refused, its check record gone or not understood): read by key
        byId = marks.map((m) => m.source_key);
      }
    }
    for (const record of await writer.readByKeys(table, byId)) window.remote[record.id] = record.fields;
    return window;
  } catch (error) {
    await releaseWindow(options, runId, window, error);
    throw error;
  }
}

interface BatchOutcome extends Omit<PushTableSummary, 'entity'> {
  writeRequests: number;
}

/**
 * One claimed window: plan, then send every request (the limiter paces
 * them). Resolves once the requests are queued; `settled` resolves when
 * every entry is settled (pushed, skipped, failed or pending again), also
 * when a request failed in a way that stops the push (it then rejects).
 */
async function planAndSend(
  options: Pushing,
  runId: string,
  window: Window,
): Promise<{ settled: Promise<BatchOutcome>; outstanding: Outstanding; creates: boolean }> {
  const { sql, writer } = options;
  const label = options.source.label;
  const { table, claimed, remote } = window;
  const outcome: BatchOutcome = { created: 0, updated: 0, deleted: 0, skipped: 0, failed: 0, retrying: 0, deferred: 0, conflicts: 0, writeRequests: 0 };
  const outstanding = new Outstanding();
  const unsettled = new Set(claimed.map((c) => c.id));
  const fail = async (failures: Failure[]) => {
    if (!failures.length) return;
    const marked = await sql<{ id: string; status: string }[]>`
      select id, status from sync.mark_outbox_failed(${runId}, ${sql.json(failures as never)}, ${options.maxAttempts ?? 10})`;
    for (const m of marked) {
      if (m.status === 'failed') outcome.failed++;
      else outcome.retrying++;
    }
    for (const f of failures) unsettled.delete(f.id);
  };
  const pushed = async (results: Array<{ id: string; source_key: string; response: unknown }>) => {
    if (!results.length) return;
    await sql`select count(*) from sync.mark_outbox_pushed(${runId}, ${sql.json(results as never)})`;
    for (const r of results) unsettled.delete(r.id);
  };
  // Whatever is still claimed goes back to the outbox, retried later.
  const putBack = async (error: unknown) => {
    const message = `push interrupted: ${writer.classify(error).message}`;
    await fail([...unsettled].map((id) => ({ id, error: message, permanent: false }))).catch((e) =>
      options.log.error({ err: e }, 'could not put claimed outbox entries back'),
    );
    outstanding.end();
  };

  let plan: PlannedEntry[];
  try {
    plan = await sql<PlannedEntry[]>`
      select outbox_id, entity, row_id, source_key, action, fields, conflict_ids
      from sync.plan_push(${runId}, ${sql.array(claimed.map((c) => c.id))}::bigint[], ${sql.json(remote as never)}, '{}'::jsonb,
                          ${sql.array(window.fromMirror)}::text[])`;
  } catch (error) {
    await putBack(error);
    throw error;
  }
  for (const entry of plan) {
    outcome.conflicts += entry.conflict_ids.length;
    if (entry.action === 'skip') outcome.skipped++;
    if (entry.action === 'fail') outcome.failed++;
    if (entry.action === 'defer') outcome.deferred++;
    if (['skip', 'fail', 'defer'].includes(entry.action)) unsettled.delete(entry.outbox_id);
  }

  const creates = plan.filter((p) => p.action === 'create');
  const updates = plan.filter((p) => p.action === 'update');
  const deletes = plan.filter((p) => p.action === 'delete');

  // Every request of the window at once: the source's limiter paces them.
  // Creates (Airtable: POST, or PATCH with performUpsert when the table has
  // an upsert key), updates of the fields to send (PATCH).
  const sendWrites = (operation: 'create' | 'update') => {
    const send = async (entries: PlannedEntry[]): Promise<void> => {
      outcome.writeRequests++;
      outstanding.add();
      try {
        const records =
          operation === 'update'
            ? await writer.update(table, entries.map((e) => ({ id: e.source_key!, fields: e.fields ?? {} })))
            : await writer.create(table, entries.map((e) => ({ fields: e.fields ?? {} })));
        await pushed(entries.map((e, i) => ({ id: e.outbox_id, source_key: records[i]!.id, response: records[i] })));
        if (operation === 'create') outcome.created += entries.length;
        else outcome.updated += entries.length;
      } catch (error) {
        const failure = writer.classify(error);
        if (failure.stopsThePush) throw error;
        await settleWriteFailure(failure, entries, send, operation === 'update' || writer.createIsRepeatable(table));
      } finally {
        outstanding.done();
      }
    };
    return send;
  };
  const sendCreates = sendWrites('create');
  const sendUpdates = sendWrites('update');
  const sendDeletes = async (entries: PlannedEntry[]): Promise<void> => {
    outcome.writeRequests++;
    outstanding.add();
    try {
      const deleted = await writer.delete(table, entries.map((e) => e.source_key!));
      await pushed(entries.map((e) => ({ id: e.outbox_id, source_key: e.source_key!, response: { id: e.source_key, deleted: deleted.includes(e.source_key!) } })));
      outcome.deleted += entries.length;
    } catch (error) {
      const failure = writer.classify(error);
      if (failure.stopsThePush) throw error;
      // Already gone from the source (deleted there too): what was asked is done.
      if (entries.length === 1 && failure.gone) {
        await pushed([{ id: entries[0]!.outbox_id, source_key: entries[0]!.source_key!, response: { id: entries[0]!.source_key, deleted: true, already_gone: failure.code } }]);
        outcome.deleted++;
        return;
      }
      await settleWriteFailure(failure, entries, sendDeletes, true);
    } finally {
      outstanding.done();
    }
  };
  /**
   * A request that failed: the source (Airtable) refuses a whole request for
   * one bad record, so a refused request of several records is sent again
   * record by record; a refused single record is failed with the source's
   * message. What failed transiently goes back to pending with backoff,
   * except a create that may have reached the source without an upsert key
   * to make sending it again safe.
   */
  const settleWriteFailure = async (
    failure: WriteFailure,
    entries: PlannedEntry[],
    again: (entries: PlannedEntry[]) => Promise<void>,
    safeToRepeat: boolean,
  ): Promise<void> => {
    const { refused, message } = failure;
    if (refused && entries.length > 1) {
      await allSettledOrThrow(entries.map((e) => again([e])));
      return;
    }
    // An update of a record deleted in the source since the mirror's version
    // (the modified-since read does not see deletions): failed as plan_push
    // fails one it knows is gone.
    const gone = failure.gone && entries.length === 1 && entries[0]!.action === 'update';
    await fail(
      entries.map((e) => ({
        id: e.outbox_id,
        error: gone
          ? `record ${e.source_key} is not in ${label} any more (deleted there?): ${message}`
          : refused || safeToRepeat
            ? message
            : `${message}; the record may have been created in ${label}: check it there, then retry (airlift push --retry-failed)`,
        response: failure.response,
        permanent: refused || !safeToRepeat,
      })),
    );
  };

  const settled = allSettledOrThrow([
    ...chunks(creates, writer.maxRecordsPerWrite).map((c) => sendCreates(c)),
    ...chunks(updates, writer.maxRecordsPerWrite).map((c) => sendUpdates(c)),
    ...chunks(deletes, writer.maxRecordsPerWrite).map((c) => sendDeletes(c)),
  ]).then(
    () => {
      outstanding.end();
      return outcome;
    },
    async (error: unknown) => {
      await putBack(error);
      throw error;
    },
  );
  return { settled, outstanding, creates: creates.length > 0 };
}

/** What `airlift status` and the CLI show about the outbox and the conflicts. */
export interface PushStatusRow {
  entity: string;
  pending: number;
  in_flight: number;
  failed: number;
  oldest_pending_at: Date | null;
  oldest_pending_seconds: number | null;
  open_conflicts: number;
  /** Pending entries waiting out a retry delay (counted in pending too). */
  retry_waiting: number;
  /** When the first of those is due. */
  next_attempt_at: Date | null;
}

export async function pushStatus(sql: Sql): Promise<PushStatusRow[]> {
  return sql<PushStatusRow[]>`
    select entity, pending::int, in_flight::int, failed::int, oldest_pending_at,
           extract(epoch from oldest_pending_age)::int as oldest_pending_seconds, open_conflicts::int,
           retry_waiting::int, next_attempt_at
    from sync.push_status`;
}
