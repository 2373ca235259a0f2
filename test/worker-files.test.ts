/**
 * The worker serves a one-way source: the files example (examples/wallet-app)
 * through `airlift worker`, on the real graphile-worker and a fresh database.
 * `airlift worker --once` queues each scheduled job (an incremental and a
 * full pull, no push) and runs them: the example's records land and both
 * runs finish. Then a long-running worker registers only the two pull
 * schedules in graphile-worker's crontab, and the incremental pull its
 * crontab fires (at the next minute) takes in an edited export. No push
 * job is ever queued, and `airlift push` refuses the source (exit 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/database.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';
import { waitFor } from './support/wait.ts';

const SOFIA = '0x5258365fb17281e9cc6344ecaca41ff826737010';


interface RunRow {
  id: string;
  run_type: string;
  status: string;
  fetched: number;
  inserted: number;
  updated: number;
  deleted: number;
  quarantined: number;
  job_name: string | null;
  source_kind: string | null;
}

describe('the worker with a files source (one-way)', () => {
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess | undefined;
  const logs: string[] = [];

  const runs = () => sql<RunRow[]>`
    select r.id::text, r.run_type, r.status, r.fetched::int, r.inserted::int, r.updated::int, r.deleted::int, r.quarantined::int,
           j.job_name, r.metadata ->> 'source_kind' as source_kind
    from sync.runs r left join sync.jobs j on j.id = r.job_id order by r.id`;
  const pushJobs = async () =>
    (await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier like '%push%'`)[0]!.n;

  beforeAll(async () => {
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-worker-files-'));
    await cp(path.join(PROJECT_DIR, 'examples', 'wallet-app'), dir, { recursive: true });
    // no AIRTABLE_* at all: a files source needs none of them
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(dir, 'mapping.json'), AIRLIFT_LOG_LEVEL: 'info' };
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('airlift push refuses the one-way source as bad configuration (exit 2), before anything is recorded', async () => {
    const result = await runAirlift(['push'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`the mapping ${path.join(dir, 'mapping.json')} reads files, a one-way source: only an Airtable base is pushed to\n`);
    expect(await runs()).toEqual([]);
  });

  it('--once runs the scheduled pulls (incremental, then full) and lands the example; no push is scheduled', async () => {
    const result = await runAirlift(['worker', '--once'], env);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toContain('the files source is a one-way source: its pulls are scheduled, no push');
    expect(result.stderr).toContain('worker ran each scheduled job once');

    const [counts] = await sql<{ users: number; opportunities: number; actions: number; documents: number }[]>`
      select (select count(*)::int from wallet_app.users) as users, (select count(*)::int from wallet_app.opportunities) as opportunities,
             (select count(*)::int from wallet_app.admin_actions) as actions, (select count(*)::int from wallet_app.kyc_documents) as documents`;
    expect(counts).toEqual({ users: 40, opportunities: 30, actions: 28, documents: 34 });

    // the two scheduled pulls ran as the schedule's jobs, each a finished run of the files source
    const done = await runs();
    expect(done.map((r) => [r.run_type, r.status, r.source_kind])).toEqual([
      ['incremental', 'completed', 'files'],
      ['full', 'completed', 'files'],
    ]);
    expect(done[0]).toMatchObject({ fetched: 133, inserted: 132, quarantined: 1 });
    expect(done[1]).toMatchObject({ fetched: 133, inserted: 0, updated: 0, deleted: 0 });
    expect(done[0]!.job_name).toMatch(/^files:[-a-zA-Z0-9_:]+:incremental$/);
    expect(done[1]!.job_name).toBe(done[0]!.job_name!.replace(/:incremental$/, ':full'));

    // scheduled jobs on record: the two pulls, no push
    const jobs = await sql<{ job_name: string; direction: string }[]>`select job_name, sync_direction as direction from sync.jobs order by job_name`;
    expect(jobs.map((j) => j.job_name.replace(/^files:[-a-zA-Z0-9_:]+:/, ''))).toEqual(['full', 'incremental']);
    expect(jobs.every((j) => j.direction === 'source_to_target')).toBe(true);
    // graphile-worker ran every job it was given, and none was a push
    const [{ left }] = await sql<{ left: number }[]>`select count(*)::int as left from graphile_worker.jobs`;
    expect(left).toBe(0);
    expect(await pushJobs()).toBe(0);
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from sync.worker_processes`;
    expect(n).toBe(0);
  }, 120_000);

  it('a long-running worker registers only the pull schedules, and its crontab\'s incremental pull takes in an edited export', async () => {
    await cp(path.join(dir, 'data-edited'), path.join(dir, 'data'), { recursive: true });
    const before = (await runs()).length;
    worker = spawn(process.execPath, [path.join(PROJECT_DIR, 'bin', 'airlift.js'), 'worker'], {
      cwd: PROJECT_DIR,
      env: { ...process.env, ...env, AIRLIFT_CRON_INCREMENTAL: '* * * * *', AIRLIFT_CRON_FULL: '0 0 1 1 *' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d) => logs.push(String(d)));
    worker.stderr!.on('data', (d) => logs.push(String(d)));
    await waitFor('the worker to start', async () => logs.join('').includes('worker started'), 60_000, logs);
    expect(logs.join('')).toContain('one-way source: its pulls are scheduled, no push');

    // graphile-worker records its crontab's entries once its scheduler has started, which may be just after the start line
    const known = await waitFor('the crontab to be registered', async () => {
      const rows = await sql<{ identifier: string }[]>`select identifier from graphile_worker._private_known_crontabs order by identifier`;
      return rows.length >= 2 && rows.map((k) => k.identifier);
    }, 30_000, logs);
    expect(known).toEqual(['files_full', 'files_incremental']);

    // the crontab fires the incremental pull at the next minute (its job carries graphile-worker's _cron marker)
    const run = await waitFor('the scheduled incremental pull', async () => {
      const all = await runs();
      return all.slice(before).find((r) => r.status === 'completed');
    }, 100_000, logs);
    expect(run).toMatchObject({ run_type: 'incremental', inserted: 1, updated: 1, deleted: 1, quarantined: 0 });
    expect(run.job_name).toMatch(/:incremental$/);
    const [rows] = await sql`
      select (select email from wallet_app.users where wallet_address = ${SOFIA}) as email,
             (select deleted_at is not null from wallet_app.opportunities where source_id = 'opp-1006') as deleted,
             (select title from wallet_app.opportunities where source_id = 'opp-1031') as added`;
    expect(rows).toEqual({ email: 'sofia.m@example.org', deleted: true, added: 'School garden irrigation' });
    expect(await pushJobs()).toBe(0);

    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => {
      if (worker!.exitCode !== null) resolve(worker!.exitCode);
      else worker!.once('exit', (c) => resolve(c));
    });
    expect(code, logs.join('').slice(-3000)).toBe(0);
    expect(logs.join('')).toContain('worker stopped');
  }, 180_000);
});
