/**
 * Large exports staged with COPY (src/pipeline/bulk.ts, sync.stage_copied):
 * the wallet app's exports, its opportunities grown by a few thousand
 * generated rows (their owners exist nowhere: dangling links, flagged on the
 * field) and a CSV row with a cell too many, loaded once page by page
 * (sync.stage_page) and once in bulk, in small chunks, into two fresh
 * databases. Both hold the same staging rows (content hashes and
 * checksums), the same target rows, problems and quarantine, the same run
 * counts; verify passes after the bulk load; a second bulk pull writes
 * nothing; a bulk load stopped in its second chunk resumes after the first
 * and ends where one clean load ends.
 */
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect } from '../src/db/database.ts';
import { runVerify } from '../src/integrity/verify.ts';
import { loadMapping, type Mapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { runPull, type PullOptions } from '../src/pipeline/pull.ts';
import { FilesSource } from '../src/sources/files/source.ts';
import { generateOpportunitiesFile } from '../tools/generator/files.ts';
import { PROJECT_DIR } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';
import { silentLog } from './support/sync.ts';

const GENERATED = 6_000;
/** The files source reads pages of 2,000 records; a chunk takes whole pages until it holds this many. */
const PAGE = 2_000;
const CHUNK = 2_500;

interface Bed {
  db: TestDatabase;
  sql: Sql;
  admin: Sql;
  pull(bulk: boolean, extra?: Partial<PullOptions>): ReturnType<typeof runPull>;
}

describe('files source: large exports staged with COPY', () => {
  let dir: string;
  let mapping: Mapping;
  const beds: Bed[] = [];
  const bed = async (): Promise<Bed> => {
    const db = await cloneTestDatabase();
    const sql = connect(urlWithSession(db.url, 'airlift_sync', { 'airlift.actor': 'test' }), { max: 4 });
    const admin = connect(db.url, { max: 2 });
    const made: Bed = {
      db, sql, admin,
      pull: (bulk, extra = {}) =>
        runPull({
          sql, source: new FilesSource(path.join(dir, 'data'), { bulkMinBytes: bulk ? 0 : Infinity }), mapping, mode: 'full',
          actor: 'test', overlapSeconds: 60, log: silentLog, bulkChunkRecords: CHUNK, ...extra,
        }),
    };
    beds.push(made);
    return made;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-bulk-'));
    await cp(path.join(PROJECT_DIR, 'examples', 'wallet-app'), dir, { recursive: true });
    const generated = path.join(dir, 'generated.csv');
    await generateOpportunitiesFile({ rows: GENERATED, out: generated, seed: 3 });
    const rows = (await readFile(generated, 'utf8')).split('\n').slice(1).join('\n');
    await appendFile(path.join(dir, 'data', 'opportunities.csv'), rows + 'opp-broken,one,two,3,USD,open,2024-01-01,2024-02-01,a,extra\n');
    await rm(generated);
    mapping = await loadMapping(path.join(dir, 'mapping.json'));
  });
  afterAll(async () => {
    for (const b of beds) {
      await b.sql.end();
      await b.admin.end();
      await b.db.drop();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Everything a load leaves that does not depend on generated uuids or times. */
  const state = async (admin: Sql) => {
    const [staging, opportunities, users, others, problems, quarantine, idMap] = await Promise.all([
      admin`select source_table, source_key, fields, content_hash, checksum from staging.source_records order by source_table, source_key`,
      admin`select o.source_id, o.title, u.wallet_address as owner, o.amount::text, o.currency, o.status, o.opens_on::text, o.closes_on::text, o.tags,
                   o.open_problem_count, o.deleted_at is null as live
            from wallet_app.opportunities o left join wallet_app.users u on u.id = o.owner_id order by o.source_id`,
      admin`select u.wallet_address, u.name, u.email, u.phone, u.phone_verified, u.role, r.wallet_address as referrer, u.joined_at, u.open_problem_count
            from wallet_app.users u left join wallet_app.users r on r.id = u.referrer_id order by u.wallet_address`,
      admin`select (select count(*)::int from wallet_app.admin_actions) as actions, (select count(*)::int from wallet_app.kyc_documents) as documents`,
      admin`select entity, source_key, field, rule, landed, value, reason from sync.field_problems where resolved_at is null order by entity, source_key, field, rule`,
      admin`select source_table, source_key, field, value, reason, rejected_before_staging from sync.record_errors where resolved_at is null order by source_table, source_key, reason`,
      admin`select entity_type, legacy_id, checksum from sync.id_map order by entity_type, legacy_id`,
    ]);
    return { staging, opportunities, users, others, problems, quarantine, idMap };
  };
  const runCounts = (run: { fetched: string; inserted: string; updated: string; unchanged: string; deleted: string; quarantined: string }) => ({
    fetched: Number(run.fetched), inserted: Number(run.inserted), updated: Number(run.updated), unchanged: Number(run.unchanged),
    deleted: Number(run.deleted), quarantined: Number(run.quarantined),
  });

  let paged: Bed;
  let bulk: Bed;
  let pagedState: Awaited<ReturnType<typeof state>>;

  it('loads exactly what the page by page staging loads: staging checksums, target rows, problems, quarantine, counts', async () => {
    paged = await bed();
    bulk = await bed();
    const byPage = await paged.pull(false);
    const inBulk = await bulk.pull(true);
    expect(runCounts(inBulk.run)).toEqual(runCounts(byPage.run));
    // counts in = merged + quarantined: every record read is accounted for
    const total = Number(byPage.run.fetched);
    expect(total).toBeGreaterThan(GENERATED);
    expect(Number(inBulk.run.inserted) + Number(inBulk.run.quarantined)).toBe(total);

    // the bulk path was taken, in chunks (the opportunities' 6,031 records in two: 4,000 and 2,031)
    const checkpoints = await bulk.admin<{ entity_type: string; bulk: boolean; pages: number }[]>`
      select entity_type, (metadata ->> 'bulk')::boolean as bulk, (metadata ->> 'pages')::int as pages
      from sync.checkpoints where run_id = ${inBulk.run.id} and operation_type = 'sync_operation' order by entity_type`;
    expect(checkpoints.find((c) => c.entity_type === 'wallet_opportunities')).toEqual({ entity_type: 'wallet_opportunities', bulk: true, pages: 2 });
    expect(checkpoints.every((c) => c.bulk)).toBe(true);
    const [pagedCheckpoint] = await paged.admin`
      select (metadata ->> 'bulk')::boolean as bulk from sync.checkpoints where run_id = ${byPage.run.id} and entity_type = 'wallet_opportunities'`;
    expect(pagedCheckpoint!.bulk).toBe(false);

    pagedState = await state(paged.admin);
    const bulkState = await state(bulk.admin);
    expect(bulkState.staging.length).toBe(total - 2); // the broken JSON Lines line and the CSV row are not records
    expect(bulkState.staging).toEqual(pagedState.staging);
    expect(bulkState.opportunities).toEqual(pagedState.opportunities);
    expect(bulkState.users).toEqual(pagedState.users);
    expect(bulkState.others).toEqual(pagedState.others);
    expect(bulkState.problems).toEqual(pagedState.problems);
    expect(bulkState.idMap).toEqual(pagedState.idMap);
    expect(bulkState.quarantine).toEqual(pagedState.quarantine);
    // the rejects, named with file, line and reason, and marked as rejected before staging
    expect(bulkState.quarantine.map((q) => [q.source_key, q.reason, q.rejected_before_staging])).toEqual([
      ['(admin_logs.jsonl line 18)', expect.stringMatching(/^admin_logs\.jsonl line 18: line is not valid JSON/), true],
      ['opp-broken', `opportunities.csv line ${30 + GENERATED + 2}: CSV row has 10 cells, the header has 9`, true],
    ]);
    // the generated owners exist nowhere: each lands as a dangling link on its field
    expect(bulkState.problems.filter((p) => p.rule === 'dangling_link' && p.entity === 'wallet_opportunities').length).toBeGreaterThanOrEqual(GENERATED);
  });

  it('verify passes after a bulk load, and a second bulk pull writes nothing', async () => {
    const verified = await runVerify(bulk.sql, { actor: 'test' });
    expect(verified.discrepancies).toBe(0);
    expect(verified.passed).toBe(true);

    const audit = async () => Number((await bulk.admin<{ n: string }[]>`select count(*) as n from audit.changes where table_name like 'wallet_app.%'`)[0]!.n);
    const before = await audit();
    const again = await bulk.pull(true);
    expect(runCounts(again.run)).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
    expect(await audit()).toBe(before);
    expect((await state(bulk.admin)).opportunities).toEqual(pagedState.opportunities);
  });

  it('a bulk load stopped in its second chunk resumes after the first and ends as one clean load', async () => {
    const resumed = await bed();
    const only = { ...mapping, tables: mapping.tables };
    const abort = new AbortController();
    let sawSecondChunk = false;
    await expect(
      resumed.pull(true, {
        mapping: only,
        tables: ['wallet_users', 'wallet_opportunities'],
        signal: abort.signal,
        progress: {
          tableStarted: () => undefined,
          tableFinished: () => undefined,
          pageStaged: (entity, fetched) => {
            if (entity === 'wallet_opportunities' && fetched > 2 * PAGE) {
              sawSecondChunk = true;
              abort.abort();
            }
          },
        },
      }),
    ).rejects.toThrow();
    expect(sawSecondChunk).toBe(true);
    const [stopped] = await resumed.admin<{ status: string; records: number; offset: string; pages: number; staged: number }[]>`
      select r.status, c.records_processed::int as records, c.metadata ->> 'offset' as offset, (c.metadata ->> 'pages')::int as pages,
             (select count(*)::int from staging.source_records s where s.source_table = 'opportunities.csv') as staged
      from sync.runs r join sync.checkpoints c on c.run_id = r.id and c.entity_type = 'wallet_opportunities'
      order by r.id desc limit 1`;
    // the first chunk is staged with the checkpoint; the second rolled back
    expect(stopped).toEqual({ status: 'failed', records: 2 * PAGE, offset: String(2 * PAGE), pages: 1, staged: 2 * PAGE });

    const finished = await resumed.pull(true, { tables: ['wallet_users', 'wallet_opportunities'] });
    expect(finished.resumed).toBe(true);
    const opportunities = finished.tables.find((t) => t.entity === 'wallet_opportunities')!;
    expect(opportunities.fetched).toBe(30 + GENERATED + 1);
    expect(opportunities.inserted + opportunities.quarantined).toBe(30 + GENERATED + 1);
    const after = await state(resumed.admin);
    expect(after.opportunities).toEqual(pagedState.opportunities);
    expect(after.staging.filter((s) => s.source_table === 'opportunities.csv')).toEqual(pagedState.staging.filter((s) => s.source_table === 'opportunities.csv'));
  });

  it('a key read twice is quarantined the same way in bulk as page by page: within a chunk and across chunks, the first record read is kept', async () => {
    // an export of 2,200 generated opportunities where opp-00000011 comes
    // again on line 22 (the same page and chunk) and opp-00000003 again on
    // line 2,102 (the second chunk: a chunk of one page here), each time
    // with another title
    const dupDir = path.join(dir, 'dup');
    await cp(path.join(dir, 'data'), dupDir, { recursive: true });
    const generated = path.join(dir, 'dup-generated.csv');
    await generateOpportunitiesFile({ rows: 2_200, out: generated, seed: 5 });
    const [header, ...rows] = (await readFile(generated, 'utf8')).trimEnd().split('\n');
    const retitled = (line: string) => line.replace(/^([^,]*),([^,]*),/, '$1,Second copy of $2,');
    rows.splice(20, 0, retitled(rows[10]!));
    rows.splice(2_100, 0, retitled(rows[2]!));
    await writeFile(path.join(dupDir, 'opportunities.csv'), [header, ...rows].join('\n') + '\n');
    await rm(generated);

    const load = async (inBulk: boolean) => {
      const b = await bed();
      const pulled = await runPull({
        sql: b.sql, source: new FilesSource(dupDir, { bulkMinBytes: inBulk ? 0 : Infinity }), mapping, mode: 'full', tables: ['wallet_opportunities'],
        actor: 'test', overlapSeconds: 60, log: silentLog, bulkChunkRecords: 1,
      });
      const quarantine = await b.admin<{ source_key: string; reason: string; rejected_before_staging: boolean }[]>`
        select source_key, reason, rejected_before_staging from sync.record_errors where resolved_at is null order by source_key`;
      const kept = await b.admin<{ source_id: string; title: string }[]>`
        select source_id, title from wallet_app.opportunities where source_id in ('opp-00000003', 'opp-00000011') order by source_id`;
      const [pages] = await b.admin<{ pages: number; bulk: boolean }[]>`
        select (metadata ->> 'pages')::int as pages, (metadata ->> 'bulk')::boolean as bulk from sync.checkpoints
        where run_id = ${pulled.run.id} and entity_type = 'wallet_opportunities'`;
      return { run: runCounts(pulled.run), quarantine, kept, pages };
    };
    const byPage = await load(false);
    const inBulk = await load(true);
    // the bulk load took two chunks (2,000 records, then 202), so the second duplicate crossed one
    expect(inBulk.pages).toEqual({ pages: 2, bulk: true });
    expect(byPage.pages.bulk).toBe(false);
    expect(inBulk.run).toEqual(byPage.run);
    expect(inBulk.run).toMatchObject({ fetched: 2_202, inserted: 2_200, quarantined: 2 });
    expect(inBulk.kept).toEqual([
      { source_id: 'opp-00000003', title: expect.not.stringMatching(/^Second copy/) },
      { source_id: 'opp-00000011', title: expect.not.stringMatching(/^Second copy/) },
    ]);
    expect(inBulk.kept).toEqual(byPage.kept);
    expect(inBulk.quarantine.map((q) => [q.source_key, q.rejected_before_staging])).toEqual([['opp-00000003', true], ['opp-00000011', true]]);
    // named where the second copy was read; the page by page path names the
    // same line (the kept record's place may be told differently: "an
    // earlier page of the listing" when it was staged by an earlier page)
    expect(inBulk.quarantine[0]!.reason).toMatch(/^duplicate key opp-00000003 at opportunities\.csv line 2102: the record read first \(.+\) has the same key and is the one kept$/);
    expect(inBulk.quarantine[1]!.reason).toBe('duplicate key opp-00000011 at opportunities.csv line 22: the record read first (opportunities.csv line 12) has the same key and is the one kept');
    expect(byPage.quarantine.map((q) => q.reason.split(':')[0])).toEqual(inBulk.quarantine.map((q) => q.reason.split(':')[0]));
  });
});
