/**
 * The worker's graphile-worker tasks, built in code from functions that close
 * over the worker's context (no task directory, no module-level context):
 * runWorker() opens the context and hands taskListFor(context) to run().
 * Task names carry the source's kind (taskNamesFor): `airtable_pull` and
 * `airtable_push` for an Airtable base, `files_pull` for a directory of
 * exports, which is one-way and has no push task.
 *
 * - `<kind>_pull`: one pull of the worker's source. Payload:
 *   {"mode": "incremental" | "full", "tables"?: [names], "resume_run"?: id}.
 * - `<kind>_push` (two-way sources only): one push of the outbox to the
 *   source. Payload: {"tables"?: [names], "retry_failed"?: true}.
 *
 * Jobs come from the crontab (queue <kind>:<source>, e.g. airtable:<base>,
 * so one job per source at a time and a push never beside a pull) or from
 * `add_job`. A payload carries ids only (graphile-worker adds `_cron` to the
 * jobs its crontab queues); the task re-reads state from sync.* and does
 * nothing when the job is stale. A failed or interrupted pull leaves a
 * resumable run, and what a failed push did not send stays in the outbox;
 * graphile-worker retries the job with backoff.
 */
import type { Task, TaskList } from 'graphile-worker';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import type { SyncContext } from '../pipeline/context.ts';
import { runPull } from '../pipeline/pull.ts';
import { runPush } from '../pipeline/push.ts';

export interface WorkerContext extends SyncContext {
  /** Aborted on SIGTERM/SIGINT: pulls stop at the next page, resumable. */
  signal: AbortSignal;
  /** sync.jobs ids of the scheduled jobs, by mode (no push for a one-way source). */
  jobIds: { incremental: string; full: string; push?: string };
}

/** The worker's task names for a source kind: `airtable_pull` and `airtable_push` for Airtable. */
export function taskNamesFor(kind: string): { pull: string; push: string } {
  return { pull: `${kind}_pull`, push: `${kind}_push` };
}

/** What graphile-worker's crontab adds to the payload of each job it queues. */
const cronMarker = z.object({ ts: z.string(), backfilled: z.boolean() }).partial().optional();

const pullPayload = z
  .object({
    mode: z.enum(['incremental', 'full']).default('incremental'),
    tables: z.array(z.string()).optional(),
    /** Set when the job was queued to resume an interrupted run: it does nothing if that run has finished meanwhile. */
    resume_run: z.string().regex(/^[0-9]+$/).optional(),
    _cron: cronMarker,
  })
  .strict();

const pushPayload = z
  .object({
    tables: z.array(z.string()).optional(),
    retry_failed: z.boolean().optional(),
    _cron: cronMarker,
  })
  .strict();

/** `<kind>_pull` (`airtable_pull`): one pull of the worker's source. */
export function pullTask(context: WorkerContext, name = taskNamesFor(context.source.kind).pull): Task {
  return async (payload, helpers) => {
    const parsed = pullPayload.safeParse(payload ?? {});
    if (!parsed.success) {
      throw new Error(`${name}: bad payload ${JSON.stringify(payload)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const { mode, tables, resume_run: resumeRun } = parsed.data;
    if (resumeRun) {
      const [run] = await context.sql<{ status: string }[]>`select status from sync.runs where id = ${resumeRun}`;
      if (!run || !['running', 'failed'].includes(run.status)) {
        context.log.info({ runId: resumeRun, status: run?.status ?? 'gone' }, 'the interrupted run was already finished; nothing to resume');
        return;
      }
    }
    const jobId = tables?.length ? undefined : context.jobIds[mode];
    const log = context.log.child({ task: name, job: helpers.job.id, attempt: helpers.job.attempts, mode });
    const summary = await runPull({
      sql: context.sql,
      source: context.source,
      mapping: context.mapping,
      mode,
      tables,
      jobId,
      actor: context.actor,
      overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS,
      log,
      signal: context.signal,
      waitForLock: true,
      files: context.files ? { store: context.files, concurrency: context.env.AIRLIFT_DOWNLOAD_CONCURRENCY } : null,
    });
    if (jobId) {
      const cron = mode === 'full' ? context.env.AIRLIFT_CRON_FULL : context.env.AIRLIFT_CRON_INCREMENTAL;
      const next = CronExpressionParser.parse(cron, { tz: 'UTC' }).next().toISOString();
      await context.sql`select sync.schedule_job(${jobId}, ${next})`;
    }
    log.info({ runId: summary.run.id, fetched: Number(summary.run.fetched), quarantined: Number(summary.run.quarantined) }, 'pull done');
  };
}

/** `<kind>_push` (`airtable_push`): one push of the worker's source (sync.outbox to Airtable); an empty outbox costs one query and no request. */
export function pushTask(context: WorkerContext, name = taskNamesFor(context.source.kind).push): Task {
  return async (payload, helpers) => {
    const parsed = pushPayload.safeParse(payload ?? {});
    if (!parsed.success) {
      throw new Error(`${name}: bad payload ${JSON.stringify(payload)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const { tables, retry_failed: retryFailed } = parsed.data;
    const jobId = tables?.length ? undefined : context.jobIds.push;
    const log = context.log.child({ task: name, job: helpers.job.id, attempt: helpers.job.attempts });
    const summary = await runPush({
      sql: context.sql,
      source: context.source,
      mapping: context.mapping,
      actor: context.actor,
      tables,
      jobId,
      retryFailed,
      log,
      signal: context.signal,
      waitForLock: true,
      files: { store: context.files, publicUrl: context.env.AIRLIFT_FILES_PUBLIC_URL },
    });
    if (jobId) {
      const next = CronExpressionParser.parse(context.env.AIRLIFT_CRON_PUSH, { tz: 'UTC' }).next().toISOString();
      await context.sql`select sync.schedule_job(${jobId}, ${next})`;
    }
    if (summary.run) {
      log.info({ runId: summary.run.id, created: Number(summary.run.inserted), updated: Number(summary.run.updated), deleted: Number(summary.run.deleted), conflicts: summary.conflicts.length }, 'push done');
    }
  };
}

/**
 * graphile-worker's task list for run({ taskList }): the identifiers the
 * crontab (crontabFor) and add_job name. A one-way source (no writer) has
 * no push task.
 */
export function taskListFor(context: WorkerContext): TaskList {
  const names = taskNamesFor(context.source.kind);
  const tasks: TaskList = { [names.pull]: pullTask(context, names.pull) };
  if (context.source.writer) tasks[names.push] = pushTask(context, names.push);
  return tasks;
}
