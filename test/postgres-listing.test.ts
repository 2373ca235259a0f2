/**
 * How the PostgreSQL source lists the key ranges whose checksums changed,
 * in-process against real databases (the generator's legacy database in a
 * second database on the test server): a pull stopped after the first page
 * of ranges resumes after the ranges already read and takes in every edit
 * once; a listing of ranges staged in bulk (COPY, several chunks) takes in
 * the same as page by page, and verification agrees right after it, rows
 * swept within the ranges included.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect, quoteIdent } from '../src/db/database.ts';
import { urlWithDatabase } from '../src/db/embedded.ts';
import { loadMapping, type Mapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { runPull, type PullOptions } from '../src/pipeline/pull.ts';
import { PostgresSource } from '../src/sources/postgres/source.ts';
import { generateLegacyDatabase } from '../tools/generator/legacy-pg.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';
import { silentLog } from './support/sync.ts';

const ROWS = 8_000;
const WIDTH = 16;

describe('PostgreSQL source: listing changed key ranges, resumed and in bulk', () => {
  const serverUrl = inject('serverUrl');
  let legacyName: string;
  let legacy: Sql;
  let db: TestDatabase;
  let admin: Sql;
  let sql: Sql;
  let mapping: Mapping;
  const sources: PostgresSource[] = [];
  const open = async (bulk: boolean) => {
    const source = await PostgresSource.open('LEGACY_DATABASE_URL', { env: { LEGACY_DATABASE_URL: urlWithDatabase(serverUrl, legacyName) }, bulkMinRows: bulk ? 0 : Infinity });
    sources.push(source);
    return source;
  };
  const pull = async (mode: 'full' | 'incremental', extra: Partial<PullOptions> = {}) =>
    runPull({ sql, source: await open(false), mapping, mode, actor: 'test', overlapSeconds: 60, log: silentLog, ...extra });
  /** Orders whose total in the target differs from the source's: none once a pull took the edits in. */
  const totalsDiffering = async () => {
    const source = await legacy<{ id: string; total: string }[]>`select id::text, total::text from orders`;
    const target = new Map(
      (await admin<{ id: string; total: string }[]>`
        select k.legacy_id as id, t.total::text from legacy_app.orders t join sync.id_map k on k.entity_type = 'legacy_orders' and k.uuid_id = t.id
        where t.deleted_at is null`).map((r) => [r.id, r.total]),
    );
    return source.filter((r) => target.get(r.id) !== r.total).length;
  };
  const ordersInEditedRanges = async (modulo: number) =>
    (await legacy<{ n: number }[]>`select count(*)::int as n from orders where id / ${WIDTH} in (select id / ${WIDTH} from orders where id % ${modulo} = 0)`)[0]!.n;

  beforeAll(async () => {
    legacyName = `airlift_legacy_${randomBytes(4).toString('hex')}`;
    const root = connect(serverUrl, { max: 1 });
    try {
      await root.unsafe(`create database ${quoteIdent(legacyName)}`);
    } finally {
      await root.end();
    }
    legacy = connect(urlWithDatabase(serverUrl, legacyName), { max: 1 });
    await generateLegacyDatabase(legacy, { rows: ROWS });
    db = await cloneTestDatabase();
    admin = connect(db.url, { max: 2 });
    sql = connect(urlWithSession(db.url, 'airlift_sync', { 'airlift.actor': 'test' }), { max: 4 });
    mapping = await loadMapping(path.join(PROJECT_DIR, 'examples', 'legacy-pg', 'mapping.json'));
    await pull('full');
  });
  afterAll(async () => {
    for (const source of sources) await source.close();
    await sql?.end();
    await admin?.end();
    await legacy?.end();
    await db?.drop();
    if (legacyName) {
      const root = connect(serverUrl, { max: 1 });
      await root.unsafe(`drop database if exists ${quoteIdent(legacyName)} with (force)`).finally(() => root.end());
    }
  });

  it('a pull stopped after its first page of ranges resumes after the ranges read and takes every edit in once', async () => {
    // an order in every range of orders: more ranges than a page holds (125 ranges of 16 keys)
    const edited = (await legacy<{ id: number }[]>`update orders set total = total + 1 where id % ${WIDTH} = 0 returning id`).length;
    const expected = await ordersInEditedRanges(WIDTH);
    expect(expected / WIDTH).toBeGreaterThan(250);
    const stop = new AbortController();
    let pages = 0;
    const progress = {
      tableStarted: () => undefined,
      tableFinished: () => undefined,
      pageStaged: (entity: string) => {
        if (entity === 'legacy_orders' && ++pages === 1) stop.abort();
      },
    };
    await expect(pull('incremental', { progress, signal: stop.signal })).rejects.toThrow(/asked to stop/);
    const [checkpoint] = await admin<{ cursor: string; ranges: number }[]>`
      select c.metadata ->> 'offset' as cursor, jsonb_array_length(c.metadata -> 'complete_within' -> 'ranges') as ranges
      from sync.checkpoints c where c.entity_type = 'legacy_orders' and c.operation_type = 'sync_operation' order by c.run_id desc limit 1`;
    expect(checkpoint).toEqual({ cursor: JSON.stringify({ ranges_read: 125 }), ranges: Math.ceil(expected / WIDTH) });

    const resumed = await pull('incremental');
    expect(resumed.resumed).toBe(true);
    expect(resumed.tables.find((t) => t.entity === 'legacy_orders')).toMatchObject({ fetched: expected, inserted: 0, updated: edited, deleted: 0 });
    expect(await totalsDiffering()).toBe(0);
  });

  it('changed ranges staged in bulk (COPY, several chunks) are taken in as page by page', async () => {
    const edited = (await legacy<{ id: number }[]>`update orders set total = total + 1 where id % 32 = 5 returning id`).length;
    const [{ deleted }] = await legacy<{ deleted: number }[]>`with d as (delete from orders where id % 64 = 9 returning 1) select count(*)::int as deleted from d`;
    const bulk = await runPull({ sql, source: await open(true), mapping, mode: 'incremental', actor: 'test', overlapSeconds: 60, log: silentLog, bulkChunkRecords: 1_000 });
    const [checkpoint] = await admin<{ bulk: boolean }[]>`
      select (metadata ->> 'bulk')::boolean as bulk from sync.checkpoints where entity_type = 'legacy_orders' and run_id = ${bulk.run.id}`;
    expect(checkpoint!.bulk).toBe(true);
    expect(bulk.tables.find((t) => t.entity === 'legacy_orders')).toMatchObject({ inserted: 0, updated: edited, deleted });
    expect(await totalsDiffering()).toBe(0);
    const [{ live }] = await admin<{ live: number }[]>`select count(*)::int as live from legacy_app.orders where deleted_at is null`;
    const [{ rows }] = await legacy<{ rows: number }[]>`select count(*)::int as rows from orders`;
    expect(live).toBe(rows);
    // no full listing since the first pull: the swept rows' records left staging, so verification agrees
    const verify = await runAirlift(['verify', '--json'], { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(PROJECT_DIR, 'examples', 'legacy-pg', 'mapping.json') });
    expect(verify.code, verify.stdout.slice(0, 2000)).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ passed: true, discrepancies: 0 });
  });
});
