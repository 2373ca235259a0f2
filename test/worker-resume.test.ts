/**
 * The worker is killed (SIGKILL) in the middle of a full pull; a new worker
 * process resumes the same run, and the data it ends with equals that of an
 * uninterrupted pull of the same base. Then SIGTERM stops the worker
 * gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/database.ts';
import { syncBed, type SyncBed } from './support/sync.ts';
import { waitFor as waitEvery } from './support/wait.ts';

/** Polls every 100 ms: the half-way point of a pull is a short window. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, logs: string[]) => waitEvery(what, probe, timeoutMs, logs, 100);

const root = path.resolve(import.meta.dirname, '..');

const FINGERPRINT = `
  select (select md5(coalesce(string_agg(concat_ws('|', airtable_id, name, client_code, status, email, annual_budget, client_since, deleted_at is null), ',' order by airtable_id), '')) from app.clients)
      || (select md5(coalesce(string_agg(concat_ws('|', airtable_id, agency_name, state, renewal_month, registration_fee, product_types_regulated::text), ',' order by airtable_id), '')) from app.state_regulators)
      || (select md5(coalesce(string_agg(concat_ws('|', p.airtable_id, p.name, c.airtable_id, p.product_type, p.discontinued), ',' order by p.airtable_id), '')) from app.products p left join app.clients c on c.id = p.client_id)
      || (select md5(coalesce(string_agg(concat_ws('|', r.airtable_id, r.status, r.fee_paid, r.expiration_date, r.tags::text, pr.airtable_id, s.airtable_id), ',' order by r.airtable_id), '')) from app.registrations r left join app.products pr on pr.id = r.product_id left join app.state_regulators s on s.id = r.state_regulator_id)
      || (select md5(coalesce(string_agg(concat_ws('|', source_key, field, reason), ',' order by source_key, field, reason), '')) from sync.record_errors where resolved_at is null)
      || (select count(*)::text from app.attachments where deleted_at is null) as fingerprint`;


describe('a worker killed mid-run', () => {
  let bed: SyncBed;
  let reference: SyncBed;
  const logs: string[] = [];
  let worker: ChildProcess | undefined;

  const startWorker = () => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'airlift.js'), 'worker'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: bed.db.url,
        AIRTABLE_TOKEN: bed.emulator.token,
        AIRTABLE_BASE_ID: bed.baseId,
        AIRTABLE_ENDPOINT_URL: bed.emulator.url,
        AIRTABLE_RPS: '200',
        AIRLIFT_CRON_INCREMENTAL: '0 0 1 1 *',
        AIRLIFT_CRON_FULL: '0 0 1 1 *',
        AIRLIFT_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => logs.push(String(d)));
    child.stderr!.on('data', (d) => logs.push(String(d)));
    return child;
  };
  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });

  beforeAll(async () => {
    // latency makes the pull last long enough to be killed in the middle
    bed = await syncBed({ seed: 61, registrations: 1500, messiness: 0.02, emulator: { latencyMs: 60 } });
    reference = await syncBed({ seed: 61, registrations: 1500, messiness: 0.02 });
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await bed?.close();
    await reference?.close();
  });

  it('resumes the same run in a new worker and ends with the data of an uninterrupted run', async () => {
    const admin = bed.admin;
    worker = startWorker();
    await waitFor('the worker to start', async () => logs.join('').includes('worker started'), 60_000, logs);
    await admin`select graphile_worker.add_job('airtable_pull', '{"mode":"full"}'::json,
                  queue_name := ${`airtable:${bed.baseId}`}, job_key := ${`airtable_pull:${bed.baseId}:full`})`;

    const runId = await waitFor('the pull to be half-way through registrations', async () => {
      const [row] = await admin<{ run_id: string; processed: number }[]>`
        select run_id::text, records_processed::int as processed from sync.checkpoints
        where entity_type = 'registrations' and status = 'in_progress' and records_processed >= 400`;
      return row?.run_id;
    }, 60_000, logs);
    worker.kill('SIGKILL');
    const killed = await exited(worker);
    expect(killed.signal).toBe('SIGKILL');

    const [interrupted] = await admin<{ status: string; processed: number }[]>`
      select r.status, c.records_processed::int as processed from sync.runs r
      join sync.checkpoints c on c.run_id = r.id and c.entity_type = 'registrations' where r.id = ${runId}`;
    expect(interrupted.status).toBe('running');
    expect(interrupted.processed).toBeGreaterThanOrEqual(400);
    expect(interrupted.processed).toBeLessThan(1500);

    worker = startWorker();
    const finished = await waitFor('the run to complete', async () => {
      const [run] = await admin<{ status: string; fetched: number; inserted: number; quarantined: number }[]>`
        select status, fetched::int, inserted::int, quarantined::int from sync.runs where id = ${runId}`;
      return run.status === 'completed' ? run : undefined;
    }, 90_000, logs);
    expect(logs.join('')).toContain('released the jobs and queues of crashed workers');
    expect(logs.join('')).toContain('queued the interrupted run to resume');

    // one run did it all, with every record counted exactly once
    const total = bed.base.tables.reduce((sum, t) => sum + t.records.length, 0);
    expect(finished.fetched).toBe(total);
    // ...and once the queue has drained, no job started a second pull (the
    // job queued to resume replaces the interrupted one; a leftover would
    // start a new run)
    await waitFor('the queue to drain', async () => {
      const [{ n }] = await admin<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'airtable_pull'`;
      return n === 0;
    }, 60_000, logs);
    await new Promise((r) => setTimeout(r, 500));
    const runs = await admin<{ id: string }[]>`select id::text from sync.runs where run_type = 'full'`;
    expect(runs.map((r) => r.id)).toEqual([runId]);

    // the same data as a pull that was never interrupted
    const clean = await reference.pull('full');
    expect(Number(clean.run.inserted)).toBe(finished.inserted);
    expect(Number(clean.run.quarantined)).toBe(finished.quarantined);
    const [a] = await admin.unsafe(FINGERPRINT);
    const [b] = await reference.admin.unsafe(FINGERPRINT);
    expect(a.fingerprint).toBe(b.fingerprint);
    const [{ dupes }] = await admin<{ dupes: number }[]>`
      select count(*)::int as dupes from (select airtable_id from app.registrations group by airtable_id having count(*) > 1) d`;
    expect(dupes).toBe(0);
  }, 180_000);

  it('stops gracefully on SIGTERM with exit code 0', async () => {
    expect(worker?.exitCode).toBeNull();
    worker!.kill('SIGTERM');
    const stopped = await exited(worker!);
    expect(stopped.code).toBe(0);
    expect(logs.join('')).toContain('worker stopped');
    const db = connect(bed.db.url, { max: 1 });
    try {
      const [{ n }] = await db<{ n: number }[]>`select count(*)::int as n from sync.worker_processes`;
      expect(n).toBe(0);
    } finally {
      await db.end();
    }
  }, 60_000);
});
