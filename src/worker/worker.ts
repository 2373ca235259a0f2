/**
 * `airlift worker`: graphile-worker running the tasks of ./tasks.ts
 * (a task list built in code over the worker's context) on a
 * crontab (incremental pulls every 5 minutes, a full pull nightly, a push of
 * the outbox every minute; all configurable), as airlift_sync. The worker
 * serves the mapping's source, whatever its kind: work for one source is
 * serialized by its queue (`airtable:<base>`, `files:<directory>`) and a job
 * key per mode, so a table is never pulled by two jobs at once, even with
 * several worker processes on one database. A one-way source (a directory
 * of exports: no writer) gets its pulls only, no push.
 * SIGTERM/SIGINT stop it gracefully: a pull in progress stops at the next
 * page boundary and resumes at the next start. `--once` (runWorker({ once:
 * true })) queues each scheduled job once, runs what is queued, and stops.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { makeWorkerUtils, run, runOnce, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import { CronExpressionParser } from 'cron-parser';
import { quietWorkerLogger } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { openSyncContext, urlWithSession } from '../pipeline/context.ts';
import { findUnfinishedRun } from '../pipeline/pull.ts';
import type { Source } from '../sources/source.ts';
import { taskListFor, taskNamesFor, type WorkerContext } from './tasks.ts';

/** What the worker needs to know of a source to schedule it. */
export type ScheduledSource = Pick<Source, 'kind' | 'id' | 'writer'>;

/** graphile-worker's queue names are at most 128 characters of [-a-zA-Z0-9_:] (its crontab's rule). */
const QUEUE_NAME_MAX = 128;

/**
 * The source's name in queues and job keys: its id (an Airtable base id,
 * kept exactly as it is) with what graphile-worker does not take in a queue
 * name replaced, and then a short hash of the id, so two ids never share a
 * queue (`files:/srv/exports/wallet` gives `srv_exports_wallet-1a2b3c4d`).
 */
export function sourceQueueKey(source: Pick<Source, 'kind' | 'id'>): string {
  const id = source.id.startsWith(`${source.kind}:`) ? source.id.slice(source.kind.length + 1) : source.id;
  const room = QUEUE_NAME_MAX - source.kind.length - 1;
  if (/^[-a-zA-Z0-9_:]+$/.test(id) && id.length <= room) return id;
  const hash = createHash('sha256').update(source.id).digest('hex').slice(0, 8);
  const safe = id.replace(/[^-a-zA-Z0-9_:]+/g, '_').replace(/^_+|_+$/g, '');
  // a long path keeps its end, the part that tells directories apart
  return `${safe.slice(-(room - hash.length - 1))}-${hash}`.replace(/^[_-]+/, '');
}

/** One schedule of the worker: a graphile-worker crontab item and its row in sync.jobs. */
export interface ScheduledJob {
  mode: 'incremental' | 'full' | 'push';
  cron: string;
  task: string;
  /** The crontab item's identifier (graphile-worker's known crontabs). */
  identifier: string;
  queue: string;
  jobKey: string;
  payload: { mode: 'incremental' | 'full' } | null;
  /** The scheduled job's name in sync.jobs. */
  jobName: string;
}

/**
 * The worker's schedules for a source (a string is an Airtable base id):
 * incremental and full pulls, and the push for a two-way source only. One
 * queue per source (`airtable:<base id>`), a job key per mode.
 */
export function scheduleFor(
  source: ScheduledSource | string,
  crons: { incremental: string; full: string; push?: string },
): ScheduledJob[] {
  // a base id alone is an Airtable base, which is two-way
  const { kind, id, twoWay } = typeof source === 'string' ? { kind: 'airtable', id: source, twoWay: true } : { ...source, twoWay: Boolean(source.writer) };
  const key = sourceQueueKey({ kind, id });
  const queue = `${kind}:${key}`;
  const tasks = taskNamesFor(kind);
  const jobs: ScheduledJob[] = (['incremental', 'full'] as const).map((mode) => ({
    mode,
    cron: crons[mode],
    task: tasks.pull,
    identifier: `${kind}_${mode}`,
    queue,
    jobKey: `${tasks.pull}:${key}:${mode}`,
    payload: { mode },
    jobName: `${queue}:${mode}`,
  }));
  if (twoWay) {
    jobs.push({ mode: 'push', cron: crons.push ?? '* * * * *', task: tasks.push, identifier: `${kind}_push`, queue, jobKey: `${tasks.push}:${key}`, payload: null, jobName: `${queue}:push` });
  }
  return jobs;
}

/** graphile-worker's crontab lines for a schedule. */
function crontabOf(schedule: ScheduledJob[]): string {
  // jobKey per mode: a schedule that fires while its previous job still
  // waits replaces it instead of piling up; the queue runs one at a time,
  // so a push never runs beside a pull of the same source.
  return schedule
    .map((j) => `${j.cron} ${j.task} ?id=${j.identifier}&queue=${j.queue}&jobKey=${j.jobKey}&max=10${j.payload ? ` ${JSON.stringify(j.payload)}` : ''}`)
    .join('\n');
}

/** The worker's crontab for a source (a string is an Airtable base id): see scheduleFor. */
export function crontabFor(source: ScheduledSource | string, incremental: string, full: string, push = '* * * * *'): string {
  return crontabOf(scheduleFor(source, { incremental, full, push }));
}

export async function runWorker(options: { log: Logger; once?: boolean }): Promise<void> {
  const { log } = options;
  const context = await openSyncContext({ actor: 'worker', log });
  const { env, sql, source } = context;
  const baseId = source.id;
  const schedule = scheduleFor(source, { incremental: env.AIRLIFT_CRON_INCREMENTAL, full: env.AIRLIFT_CRON_FULL, push: env.AIRLIFT_CRON_PUSH });
  const pullTaskName = taskNamesFor(source.kind).pull;
  const abort = new AbortController();
  if (!source.writer) log.info({ baseId, kind: source.kind }, `${source.label} is a one-way source: its pulls are scheduled, no push`);

  // The scheduled jobs on record in sync.jobs, one per mode.
  await sql`
    insert into sync.jobs as j (job_name, job_type, schedule_config, entities_to_sync, sync_direction, conflict_resolution, max_records_per_batch, status, next_run_at)
    select r.job_name, 'scheduled_sync', r.schedule_config, r.entities, r.direction, 'source_wins', 100, 'scheduled', r.next_run_at
    from jsonb_to_recordset(${sql.json(
      schedule.map(({ mode, cron, jobName }) => ({
        job_name: jobName,
        schedule_config: { cron, mode, base_id: baseId },
        entities: context.mapping.mergeOrder.map((t) => t.entity),
        direction: mode === 'push' ? 'bidirectional' : 'source_to_target',
        next_run_at: CronExpressionParser.parse(cron, { tz: 'UTC' }).next().toISOString(),
      })),
    )}) as r (job_name text, schedule_config jsonb, entities text[], direction text, next_run_at timestamptz)
    on conflict (job_name) do update
      set schedule_config = excluded.schedule_config, entities_to_sync = excluded.entities_to_sync, next_run_at = excluded.next_run_at
      where row(j.schedule_config, j.entities_to_sync, j.next_run_at) is distinct from row(excluded.schedule_config, excluded.entities_to_sync, excluded.next_run_at)`;
  const jobs = await sql<{ id: string; mode: 'incremental' | 'full' | 'push' }[]>`
    select id, schedule_config ->> 'mode' as mode
    from sync.jobs where job_name in ${sql(schedule.map((j) => j.jobName))}`;
  const jobIds = Object.fromEntries(jobs.map((j) => [j.mode, j.id])) as WorkerContext['jobIds'];
  const taskList = taskListFor({ ...context, signal: abort.signal, jobIds });

  // graphile-worker's own queue tables are owned by airlift_owner and guarded
  // by row-level security, so its runner acts as their owner; everything the
  // tasks do goes through context.sql, which acts as airlift_sync.
  const workerUrl = urlWithSession(context.target.databaseUrl, 'airlift_owner', { 'airlift.actor': 'worker' });

  // Free what crashed workers hold: graphile-worker keeps a dead worker's
  // job and queue locked for four hours, which would stop every pull of
  // the source. A worker is gone when its process on this host is gone, or
  // when it has sent no heartbeat for ten minutes.
  const hostname = os.hostname();
  const known = await sql<{ worker_id: string; hostname: string; pid: number; stale: boolean }[]>`
    select worker_id, hostname, pid, heartbeat_at < now() - interval '10 minutes' as stale from sync.worker_processes`;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const dead = known.filter((w) => w.stale || (w.hostname === hostname && !alive(w.pid))).map((w) => w.worker_id);

  // A run interrupted by a crash or a stop resumes now, not at the next
  // tick. It is queued before the runner starts, so its job key replaces the
  // interrupted job (unlocked just before) instead of adding a second one;
  // the payload names the run, so a job that finds it already finished by
  // another worker does nothing rather than start a new pull.
  const interrupted = await findUnfinishedRun(sql, baseId);
  if (dead.length || interrupted) {
    const utils = await makeWorkerUtils({ connectionString: workerUrl, logger: quietWorkerLogger });
    try {
      if (dead.length) {
        await utils.forceUnlockWorkers(dead);
        await sql`delete from sync.worker_processes where worker_id in ${sql(dead)}`;
        log.warn({ workers: dead }, 'released the jobs and queues of crashed workers');
      }
      if (interrupted) {
        const scheduled = schedule.find((j) => j.mode === interrupted.run_type)!;
        await utils.addJob(pullTaskName, { mode: interrupted.run_type, resume_run: String(interrupted.id) }, {
          queueName: scheduled.queue,
          jobKey: scheduled.jobKey,
          maxAttempts: 10,
        });
        log.info({ runId: interrupted.id, mode: interrupted.run_type }, 'queued the interrupted run to resume');
      }
    } finally {
      await utils.release();
    }
  }

  const events: WorkerEvents = new EventEmitter();
  const workerIds: string[] = [];
  // graphile-worker locks jobs and queues with the pool's id (its local
  // queue) or a worker's id; both are recorded.
  const record = (id: string) => {
    workerIds.push(id);
    void sql`insert into sync.worker_processes (worker_id, hostname, pid) values (${id}, ${hostname}, ${process.pid})
             on conflict (worker_id) do update set heartbeat_at = now()`.catch((e) => log.error({ err: e }, 'could not record the worker'));
  };
  events.on('pool:create', ({ workerPool }) => record(workerPool.id));
  events.on('worker:create', ({ worker }) => record(worker.workerId));
  const heartbeat = setInterval(() => {
    if (workerIds.length) {
      void sql`update sync.worker_processes set heartbeat_at = now() where worker_id in ${sql(workerIds)}`.catch((e) =>
        log.warn({ err: e }, 'heartbeat failed'),
      );
    }
  }, 60_000);

  // the start line's crons: those scheduled (no push for a one-way source)
  const crons = { push: null, ...Object.fromEntries(schedule.map((j) => [j.mode, j.cron])) };
  if (options.once) {
    // a pull in progress stops at the next page, resumable; the process then ends
    process.once('SIGTERM', () => abort.abort());
    process.once('SIGINT', () => abort.abort());
    await runScheduleOnce({ log, workerUrl, events, concurrency: env.AIRLIFT_WORKER_CONCURRENCY, taskList, schedule, baseId, kind: source.kind }).finally(async () => {
      clearInterval(heartbeat);
      if (workerIds.length) await sql`delete from sync.worker_processes where worker_id in ${sql(workerIds)}`.catch(() => undefined);
      await context.close();
    });
    return;
  }

  const runner: Runner = await run({
    connectionString: workerUrl,
    events,
    concurrency: env.AIRLIFT_WORKER_CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 2_000,
    taskList,
    crontab: crontabOf(schedule),
    logger: quietWorkerLogger,
  });
  log.info({ baseId, kind: source.kind, queue: schedule[0]!.queue, tasks: Object.keys(taskList), ...crons }, 'worker started');

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return stopping;
    log.info({ signal }, 'stopping: pulls in progress stop at the next page and resume at the next start');
    abort.abort();
    stopping = (async () => {
      clearInterval(heartbeat);
      await runner.stop();
      if (workerIds.length) await sql`delete from sync.worker_processes where worker_id in ${sql(workerIds)}`.catch(() => undefined);
      await context.close();
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  try {
    await runner.promise;
  } finally {
    await stop('exit');
    log.info('worker stopped');
  }
}

/**
 * `airlift worker --once`: each schedule's job queued now (the task,
 * queue, job key and payload its crontab entry queues at a tick) and run by
 * graphile-worker, one after the other (they share the source's queue),
 * then it stops. A job that fails stops it (exit 1), naming the job;
 * graphile-worker keeps the job, to be retried by the next worker.
 */
async function runScheduleOnce(options: {
  log: Logger;
  workerUrl: string;
  events: WorkerEvents;
  concurrency: number;
  taskList: TaskList;
  schedule: ScheduledJob[];
  baseId: string;
  kind: string;
}): Promise<void> {
  const { log, schedule } = options;
  const completed = new Map<string, unknown>();
  options.events.on('job:complete', ({ job, error }) => completed.set(String(job.id), error ?? null));
  log.info({ baseId: options.baseId, kind: options.kind, queue: schedule[0]!.queue, tasks: Object.keys(options.taskList), jobs: schedule.map((j) => j.jobKey) }, 'worker started once: running each scheduled job once');
  const utils = await makeWorkerUtils({ connectionString: options.workerUrl, logger: quietWorkerLogger });
  try {
    for (const scheduled of schedule) {
      const job = await utils.addJob(scheduled.task, scheduled.payload ?? {}, { queueName: scheduled.queue, jobKey: scheduled.jobKey, maxAttempts: 10 });
      await runOnce({
        connectionString: options.workerUrl,
        events: options.events,
        concurrency: options.concurrency,
        noHandleSignals: true,
        taskList: options.taskList,
        logger: quietWorkerLogger,
      });
      const id = String(job.id);
      if (!completed.has(id)) throw new Error(`the ${scheduled.mode} job (${scheduled.task}) did not run: another worker holds the queue ${scheduled.queue}; the job stays queued`);
      const error = completed.get(id);
      if (error) throw new Error(`the ${scheduled.mode} job (${scheduled.task}) failed (graphile-worker retries it): ${(error as Error)?.message ?? String(error)}`);
    }
  } finally {
    await utils.release();
  }
  log.info({ jobs: schedule.length }, 'worker ran each scheduled job once');
}
