/**
 * `airlift worker`: graphile-worker running the tasks of ./tasks.ts
 * (a task list built in code over the worker's context) on a
 * crontab (incremental pulls every 5 minutes, a full pull nightly, a push of
 * the outbox every minute; all configurable), as airlift_sync. Work for one base is serialized by its
 * queue (airtable:<base>) and a job key per mode, so a table is never pulled
 * by two jobs at once, even with several worker processes on one database.
 * SIGTERM/SIGINT stop it gracefully: a pull in progress stops at the next
 * page boundary and resumes at the next start.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { makeWorkerUtils, run, type Runner, type WorkerEvents } from 'graphile-worker';
import { CronExpressionParser } from 'cron-parser';
import { quietWorkerLogger } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { openSyncContext, urlWithSession } from '../pipeline/context.ts';
import { findUnfinishedRun } from '../pipeline/pull.ts';
import { taskListFor } from './tasks.ts';

export function crontabFor(baseId: string, incremental: string, full: string, push = '* * * * *'): string {
  const queue = `airtable:${baseId}`;
  // jobKey per mode: a schedule that fires while its previous job still
  // waits replaces it instead of piling up; the queue runs one at a time,
  // so a push never runs beside a pull of the same base.
  return [
    `${incremental} airtable_pull ?id=airtable_incremental&queue=${queue}&jobKey=airtable_pull:${baseId}:incremental&max=10 {"mode":"incremental"}`,
    `${full} airtable_pull ?id=airtable_full&queue=${queue}&jobKey=airtable_pull:${baseId}:full&max=10 {"mode":"full"}`,
    `${push} airtable_push ?id=airtable_push&queue=${queue}&jobKey=airtable_push:${baseId}&max=10`,
  ].join('\n');
}

export async function runWorker(options: { log: Logger; once?: boolean }): Promise<void> {
  const { log } = options;
  const context = await openSyncContext({ actor: 'worker', log });
  const { env, sql } = context;
  // the scheduled worker serves an Airtable base (pull and push); a files source is run from the command line
  const { baseId } = context.airtable();
  const abort = new AbortController();

  // The scheduled jobs on record in sync.jobs, one per mode.
  await sql`
    insert into sync.jobs as j (job_name, job_type, schedule_config, entities_to_sync, sync_direction, conflict_resolution, max_records_per_batch, status, next_run_at)
    select r.job_name, 'scheduled_sync', r.schedule_config, r.entities, r.direction, 'source_wins', 100, 'scheduled', r.next_run_at
    from jsonb_to_recordset(${sql.json(
      (['incremental', 'full', 'push'] as const).map((mode) => {
        const cron = { full: env.AIRLIFT_CRON_FULL, incremental: env.AIRLIFT_CRON_INCREMENTAL, push: env.AIRLIFT_CRON_PUSH }[mode];
        return {
          job_name: `airtable:${baseId}:${mode}`,
          schedule_config: { cron, mode, base_id: baseId },
          entities: context.mapping.mergeOrder.map((t) => t.entity),
          direction: mode === 'push' ? 'bidirectional' : 'source_to_target',
          next_run_at: CronExpressionParser.parse(cron, { tz: 'UTC' }).next().toISOString(),
        };
      }),
    )}) as r (job_name text, schedule_config jsonb, entities text[], direction text, next_run_at timestamptz)
    on conflict (job_name) do update
      set schedule_config = excluded.schedule_config, entities_to_sync = excluded.entities_to_sync, next_run_at = excluded.next_run_at
      where row(j.schedule_config, j.entities_to_sync, j.next_run_at) is distinct from row(excluded.schedule_config, excluded.entities_to_sync, excluded.next_run_at)`;
  const jobs = await sql<{ id: string; mode: 'incremental' | 'full' | 'push' }[]>`
    select id, schedule_config ->> 'mode' as mode
    from sync.jobs where job_name in (${`airtable:${baseId}:incremental`}, ${`airtable:${baseId}:full`}, ${`airtable:${baseId}:push`})`;
  const jobIds = Object.fromEntries(jobs.map((j) => [j.mode, j.id])) as Record<'incremental' | 'full' | 'push', string>;
  const taskList = taskListFor({ ...context, signal: abort.signal, jobIds });

  // graphile-worker's own queue tables are owned by airlift_owner and guarded
  // by row-level security, so its runner acts as their owner; everything the
  // tasks do goes through context.sql, which acts as airlift_sync.
  const workerUrl = urlWithSession(context.target.databaseUrl, 'airlift_owner', { 'airlift.actor': 'worker' });

  // Free what crashed workers hold: graphile-worker keeps a dead worker's
  // job and queue locked for four hours, which would stop every pull of
  // the base. A worker is gone when its process on this host is gone, or
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
        await utils.addJob('airtable_pull', { mode: interrupted.run_type, resume_run: String(interrupted.id) }, {
          queueName: `airtable:${baseId}`,
          jobKey: `airtable_pull:${baseId}:${interrupted.run_type}`,
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

  const runner: Runner = await run({
    connectionString: workerUrl,
    events,
    concurrency: env.AIRLIFT_WORKER_CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 2_000,
    taskList,
    crontab: crontabFor(baseId, env.AIRLIFT_CRON_INCREMENTAL, env.AIRLIFT_CRON_FULL, env.AIRLIFT_CRON_PUSH),
    logger: quietWorkerLogger,
  });
  log.info({ baseId, tasks: Object.keys(taskList), incremental: env.AIRLIFT_CRON_INCREMENTAL, full: env.AIRLIFT_CRON_FULL, push: env.AIRLIFT_CRON_PUSH }, 'worker started');

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
