/**
 * What a push leaves behind when it does not end normally:
 *
 * - a push killed (SIGKILL) in the middle leaves its run `running` and its
 *   entries in flight; the next push of the base, which holds the base's
 *   lock, releases the entries and closes the run as failed ("interrupted"),
 *   and `airlift status` stops listing it as running;
 * - right after, the released entries wait behind their retry delay:
 *   `airlift push` says how many wait and when the first is due, instead
 *   of "nothing to send", and `airlift status` shows them too;
 * - a pull of the base closes a dead push run as well (whoever holds the
 *   lock knows no push of the base is running).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/database.ts';
import { lockBase, unlockBase } from '../src/pipeline/source-lock.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, output: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a push killed mid-way', () => {
  let bed: SyncBed;
  let env: NodeJS.ProcessEnv;
  let latency = 0;

  beforeAll(async () => {
    bed = await syncBed({ seed: 71, registrations: 200, messiness: 0, emulator: { latencyMs: () => latency } });
    env = { DATABASE_URL: bed.db.url, AIRTABLE_TOKEN: bed.emulator.token, AIRTABLE_BASE_ID: bed.baseId, AIRTABLE_ENDPOINT_URL: bed.emulator.url, AIRTABLE_RPS: '100' };
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  it('is closed as interrupted by the next push, which says how many changes wait behind their retry delay and when they are due', async () => {
    // 120 changes made by an application
    const app = connect(urlWithSession(bed.db.url, 'airlift_app', { 'airlift.actor': 'app' }), { max: 1 });
    try {
      await app`
        update app.registrations set notes = 'Reviewed ' || airtable_id
        where id in (select id from app.registrations where deleted_at is null order by airtable_id limit 120)`;
    } finally {
      await app.end();
    }

    // A push that is killed while its window is claimed and its read is on the way.
    latency = 3000;
    let output = '';
    const childEnv: NodeJS.ProcessEnv = { ...process.env, AIRLIFT_LOG_LEVEL: 'error', ...env };
    for (const key of ['ROOT_DATABASE_URL', 'SHADOW_DATABASE_URL', 'TEST_DATABASE_URL']) delete childEnv[key];
    const child = spawn(process.execPath, [path.join(PROJECT_DIR, 'bin', 'airlift.js'), 'push'], { cwd: PROJECT_DIR, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const runId = await waitFor('the push to claim its window', async () => {
      const [row] = await bed.admin<{ run_id: string }[]>`
        select r.id::text as run_id from sync.runs r where r.run_type = 'push' and r.status = 'running'
          and exists (select from sync.outbox o where o.run_id = r.id and o.status = 'in_flight')`;
      return row?.run_id;
    }, 60_000, () => output);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    latency = 0;

    const [dead] = await bed.admin<{ status: string; in_flight: number }[]>`
      select r.status, (select count(*)::int from sync.outbox o where o.run_id = r.id and o.status = 'in_flight') as in_flight
      from sync.runs r where r.id = ${runId}`;
    expect(dead).toEqual({ status: 'running', in_flight: 120 });
    // status tells the run is dead already: no process holds the base's lock
    const before = JSON.parse((await runAirlift(['status', '--json'], env)).stdout);
    expect(before.recentRuns.find((r: { id: string }) => r.id === runId)).toMatchObject({ status: 'running', interrupted: true });
    expect((await runAirlift(['status'], env)).stdout).toMatch(new RegExp(`#${runId} push running \\(interrupted: no process holds the base's lock`));

    // The next push closes the dead run and releases its entries, which now
    // wait behind their retry delay: it says so, and when they are due.
    const next = await runAirlift(['push', '--json'], env);
    expect(next.code, next.stderr).toBe(0);
    const summary = JSON.parse(next.stdout);
    expect(summary.run).toBeNull();
    expect(summary.waiting.entries).toBe(120);
    const dueAt = new Date(summary.waiting.next_due_at).getTime();
    expect(dueAt).toBeGreaterThan(Date.now());
    expect(dueAt).toBeLessThanOrEqual(Date.now() + 31_000);
    expect(summary.waiting.next_due_in_seconds).toBeGreaterThan(0);
    expect(summary.waiting.next_due_in_seconds).toBeLessThanOrEqual(31);
    const [closed] = await bed.admin<{ status: string; error_message: string; finished_at: Date | null }[]>`
      select status, error_message, finished_at from sync.runs where id = ${runId}`;
    expect(closed!.status).toBe('failed');
    expect(closed!.finished_at).not.toBeNull();
    expect(closed!.error_message).toMatch(/^interrupted: /);
    expect(closed!.error_message).toMatch(/no process held the base's lock/);

    const text = await runAirlift(['push'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Push: nothing due now; 120 changes wait \(next due at \d{4}-\d\d-\d\dT[0-9:.]+Z, in \d+ s\); no request made\.\n$/);

    // status: the run is failed with why, the waiting changes are shown
    const status = await runAirlift(['status', '--json'], env);
    const report = JSON.parse(status.stdout);
    expect(report.recentRuns.find((r: { id: string }) => r.id === runId)).toMatchObject({ status: 'failed', interrupted: false });
    expect(report.recentRuns.filter((r: { status: string }) => r.status === 'running')).toEqual([]);
    const registrations = report.outbox.find((o: { entity: string }) => o.entity === 'registrations');
    expect(registrations).toMatchObject({ pending: 120, in_flight: 0, retry_waiting: 120 });
    expect(new Date(registrations.next_attempt_at).getTime()).toBe(dueAt);
    const statusText = (await runAirlift(['status'], env)).stdout;
    expect(statusText).not.toMatch(/push running/);
    expect(statusText).toMatch(new RegExp(`#${runId} push failed .* — interrupted: `));
    expect(statusText).toMatch(/Push to Airtable: 120 pending \(120 waiting for a retry, next due at \d{4}-\d\d-\d\dT[0-9:.]+Z\), 0 failed/);

    // once due, every change goes out: nothing was lost
    await bed.admin`update sync.outbox set next_attempt_at = now() where status = 'pending'`;
    const pushed = await bed.push();
    expect(Number(pushed.run!.updated)).toBe(120);
    expect(pushed.waiting).toEqual({ entries: 0, next_due_at: null, next_due_in_seconds: null });
    const table = bed.emulator.base(bed.baseId).table('Registrations');
    const rows = await bed.admin<{ airtable_id: string }[]>`select airtable_id from app.registrations where notes like 'Reviewed %'`;
    expect(rows).toHaveLength(120);
    for (const r of rows) expect(table.get(r.airtable_id)!.fields.Notes).toBe(`Reviewed ${r.airtable_id}`);
  }, 120_000);

  it('is closed by a pull of the same base too, and a push run of another base is left alone', async () => {
    const [mine] = await bed.admin<{ id: string }[]>`
      insert into sync.runs (run_type, status, actor, metadata)
      values ('push', 'running', 'test', ${bed.admin.json({ base_id: bed.baseId, entities: ['clients'] })}) returning id::text`;
    const [other] = await bed.admin<{ id: string }[]>`
      insert into sync.runs (run_type, status, actor, metadata)
      values ('push', 'running', 'test', ${bed.admin.json({ base_id: 'appOTHERBASE00001', entities: ['clients'] })}) returning id::text`;
    // the dead push had claimed an update
    const [row] = await bed.admin<{ id: string }[]>`select id from app.clients where deleted_at is null and airtable_id is not null order by airtable_id limit 1`;
    await bed.admin`update app.clients set notes = 'claimed by a push that died' where id = ${row!.id}`;
    await bed.admin`select count(*) from sync.claim_outbox(${mine!.id}, 'clients', null, 10)`;

    // while a process holds the base's lock, status does not call its running push run interrupted
    const lock = await bed.admin.reserve();
    try {
      expect(await lockBase(lock, bed.baseId, false)).toBe(true);
      const held = JSON.parse((await runAirlift(['status', '--json'], env)).stdout);
      expect(held.recentRuns.find((r: { id: string }) => r.id === mine!.id)).toMatchObject({ status: 'running', interrupted: false });
      expect(held.recentRuns.find((r: { id: string }) => r.id === other!.id)).toMatchObject({ status: 'running', interrupted: true });
    } finally {
      await unlockBase(lock, bed.baseId);
      lock.release();
    }

    await bed.pull('incremental');
    const runs = await bed.admin<{ id: string; status: string; error_message: string | null }[]>`
      select id::text, status, error_message from sync.runs where id in (${mine!.id}, ${other!.id}) order by id`;
    expect(runs[0]).toMatchObject({ id: mine!.id, status: 'failed' });
    expect(runs[0]!.error_message).toMatch(/^interrupted: /);
    expect(runs[1]).toEqual({ id: other!.id, status: 'running', error_message: null });
    const [entry] = await bed.admin<{ status: string; last_error: string }[]>`
      select status, last_error from sync.outbox where row_id = ${row!.id} order by id desc limit 1`;
    expect(entry).toMatchObject({ status: 'pending' });
    expect(entry!.last_error).toMatch(/interrupted/);
    await bed.admin`select sync.fail_run(${other!.id}, 'test over')`;
  });
});
