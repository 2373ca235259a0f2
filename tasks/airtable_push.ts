/**
 * graphile-worker task `airtable_push`: one push of the worker's base (the
 * changes made in PostgreSQL, from sync.outbox, to Airtable). Payload:
 * {"tables"?: [names], "retry_failed"?: true}. Jobs come from the crontab
 * (every minute by default, queue airtable:<base>, so never beside a pull
 * of the base) or from `add_job`. An empty outbox costs one query and no
 * request. What a failed push did not send stays in the outbox; the job is
 * retried by graphile-worker with backoff.
 */
import type { Task } from 'graphile-worker';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { runPush } from '../src/sync/push.ts';
import { workerContext } from '../src/sync/worker-context.ts';

const payloadSchema = z
  .object({
    tables: z.array(z.string()).optional(),
    retry_failed: z.boolean().optional(),
  })
  .strict();

const airtablePush: Task = async (payload, helpers) => {
  const context = workerContext();
  const parsed = payloadSchema.safeParse(payload ?? {});
  if (!parsed.success) {
    throw new Error(`airtable_push: bad payload ${JSON.stringify(payload)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { tables, retry_failed: retryFailed } = parsed.data;
  const jobId = tables?.length ? undefined : context.jobIds.push;
  const log = context.log.child({ task: 'airtable_push', job: helpers.job.id, attempt: helpers.job.attempts });
  const summary = await runPush({
    sql: context.sql,
    client: context.client,
    mapping: context.mapping,
    baseId: context.baseId,
    actor: context.actor,
    tables,
    jobId,
    retryFailed,
    log,
    signal: context.signal,
    waitForLock: true,
  });
  if (jobId) {
    const next = CronExpressionParser.parse(context.env.AIRLIFT_CRON_PUSH, { tz: 'UTC' }).next().toISOString();
    await context.sql`update sync.jobs set next_run_at = ${next} where id = ${jobId}`;
  }
  if (summary.run) {
    log.info({ runId: summary.run.id, created: Number(summary.run.inserted), updated: Number(summary.run.updated), deleted: Number(summary.run.deleted), conflicts: summary.conflicts.length }, 'push done');
  }
};

export default airtablePush;
