/**
 * graphile-worker task `airtable_pull`: one pull of the worker's base.
 * Payload: {"mode": "incremental" | "full", "tables"?: [names]}. Jobs come
 * from the crontab (queue airtable:<base>, so one pull per base at a time)
 * or from `add_job`. A failed or interrupted pull leaves a resumable run;
 * graphile-worker retries the job with backoff, and the retry resumes it.
 */
import type { Task } from 'graphile-worker';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { runPull } from '../src/sync/pull.ts';
import { workerContext } from '../src/sync/worker-context.ts';

const payloadSchema = z
  .object({
    mode: z.enum(['incremental', 'full']).default('incremental'),
    tables: z.array(z.string()).optional(),
    /** Set when the job was queued to resume an interrupted run: it does nothing if that run has finished meanwhile. */
    resume_run: z.string().regex(/^[0-9]+$/).optional(),
  })
  .strict();

const airtablePull: Task = async (payload, helpers) => {
  const context = workerContext();
  const parsed = payloadSchema.safeParse(payload ?? {});
  if (!parsed.success) {
    throw new Error(`airtable_pull: bad payload ${JSON.stringify(payload)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
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
  const log = context.log.child({ task: 'airtable_pull', job: helpers.job.id, attempt: helpers.job.attempts, mode });
  const summary = await runPull({
    sql: context.sql,
    client: context.client,
    mapping: context.mapping,
    baseId: context.baseId,
    mode,
    tables,
    jobId,
    actor: context.actor,
    overlapSeconds: context.env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS,
    log,
    signal: context.signal,
    waitForLock: true,
  });
  if (jobId) {
    const cron = mode === 'full' ? context.env.AIRLIFT_CRON_FULL : context.env.AIRLIFT_CRON_INCREMENTAL;
    const next = CronExpressionParser.parse(cron, { tz: 'UTC' }).next().toISOString();
    await context.sql`update sync.jobs set next_run_at = ${next} where id = ${jobId}`;
  }
  log.info({ runId: summary.run.id, fetched: Number(summary.run.fetched), quarantined: Number(summary.run.quarantined) }, 'pull done');
};

export default airtablePull;
