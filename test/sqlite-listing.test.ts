/**
 * How the SQLite source lists a table: in key order, a page at a time,
 * resumable after the last key staged. The example's pfa_records staged in
 * bulk (COPY, several chunks) is staged exactly as page by page; a pull
 * stopped after its first pages resumes after the last key staged and
 * lands every row once; rows a key cannot name (NULL, a REAL, a BLOB) are
 * quarantined naming the table, and an INTEGER 7 and a TEXT "7" in an
 * untyped key column, one key as text, keep the first and quarantine the
 * other. Against a real PostgreSQL and SQLite files written here.
 */
import { copyFile, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect } from '../src/db/database.ts';
import { loadMapping, parseMapping, type Mapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { runPull, type PullOptions } from '../src/pipeline/pull.ts';
import { SqliteSource } from '../src/sources/sqlite/source.ts';
import { applyEdits, generateSqliteApp } from '../tools/generator/sqlite.ts';
import { PROJECT_DIR } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';
import { silentLog } from './support/sync.ts';

const RECORDS = 7_000;
/** The source reads pages of 2,000 rows; a chunk takes whole pages until it holds this many. */
const CHUNK = 2_500;

interface Bed {
  db: TestDatabase;
  sql: Sql;
  admin: Sql;
  pull(source: SqliteSource, extra?: Partial<PullOptions>): ReturnType<typeof runPull>;
}

describe('SQLite source: listing in key order, in bulk, resumed, and keys it cannot use', () => {
  let dir: string;
  let file: string;
  let mapping: Mapping;
  const beds: Bed[] = [];
  const sources: SqliteSource[] = [];
  const open = (at: string, bulk: boolean) => {
    const source = new SqliteSource(at, { bulkMinRows: bulk ? 0 : Infinity });
    sources.push(source);
    return source;
  };
  const bed = async (): Promise<Bed> => {
    const db = await cloneTestDatabase();
    const admin = connect(db.url, { max: 2 });
    const sql = connect(urlWithSession(db.url, 'airlift_sync', { 'airlift.actor': 'test' }), { max: 4 });
    const made: Bed = {
      db, sql, admin,
      pull: (source, extra = {}) =>
        runPull({ sql, source, mapping, mode: 'full', actor: 'test', overlapSeconds: 60, log: silentLog, bulkChunkRecords: CHUNK, ...extra }),
    };
    beds.push(made);
    return made;
  };
  const staged = async (b: Bed) =>
    (await b.admin<{ source_key: string; content_hash: string }[]>`
      select source_key, content_hash from staging.source_records where source_table = 'pfa_records' order by source_key::int`).map((r) => `${r.source_key}:${r.content_hash}`);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-sqlite-listing-'));
    file = path.join(dir, 'pfa.db');
    await copyFile(path.join(PROJECT_DIR, 'examples', 'pfa-app', 'mapping.json'), path.join(dir, 'mapping.json'));
    generateSqliteApp({ file, records: RECORDS, seed: 3 });
    mapping = await loadMapping(path.join(dir, 'mapping.json'));
  });
  afterAll(async () => {
    for (const s of sources) s.close();
    for (const b of beds) {
      await b.sql.end();
      await b.admin.end();
      await b.db.drop();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stages a large table in bulk (COPY, in chunks) exactly as page by page', async () => {
    const [inBulk, byPage] = await Promise.all([bed(), bed()]);
    const bulkPull = await inBulk.pull(open(file, true));
    const pagePull = await byPage.pull(open(file, false));
    const records = (s: typeof bulkPull) => s.tables.find((t) => t.entity === 'pfa_records')!;
    expect(records(bulkPull)).toMatchObject({ fetched: RECORDS, inserted: RECORDS, quarantined: 0 });
    expect(records(pagePull)).toMatchObject({ fetched: RECORDS, inserted: RECORDS, quarantined: 0 });
    const [bulkCheckpoint] = await inBulk.admin<{ bulk: boolean }[]>`
      select (metadata ->> 'bulk')::boolean as bulk from sync.checkpoints where entity_type = 'pfa_records' and run_id = ${bulkPull.run.id}`;
    expect(bulkCheckpoint!.bulk).toBe(true);
    expect(await staged(inBulk)).toEqual(await staged(byPage));
    // and merged alike: the target rows' checksums, record by record
    const checksums = async (b: Bed) =>
      (await b.admin`select string_agg(source_key || ':' || checksum, ',' order by source_key) as c from sync.target_checksums where entity = 'pfa_records'`)[0]!.c;
    expect(await checksums(inBulk)).toEqual(await checksums(byPage));
  });

  it('a pull stopped after its first pages resumes after the last key staged and lands every row once', async () => {
    const b = await bed();
    const stop = new AbortController();
    let pages = 0;
    const progress = {
      tableStarted: () => undefined,
      tableFinished: () => undefined,
      pageStaged: (entity: string) => {
        if (entity === 'pfa_records' && ++pages === 2) stop.abort();
      },
    };
    await expect(b.pull(open(file, false), { progress, signal: stop.signal })).rejects.toThrow(/asked to stop/);
    const [checkpoint] = await b.admin<{ records_processed: string; cursor: string }[]>`
      select c.records_processed, c.metadata ->> 'offset' as cursor from sync.checkpoints c where c.entity_type = 'pfa_records' order by c.id desc limit 1`;
    expect(checkpoint).toEqual({ records_processed: '4000', cursor: JSON.stringify({ integer: '4000' }) });

    const resumed = await b.pull(open(file, false));
    expect(resumed.resumed).toBe(true);
    const records = resumed.tables.find((t) => t.entity === 'pfa_records')!;
    expect(records).toMatchObject({ fetched: RECORDS, inserted: RECORDS, quarantined: 0 });
    const [counts] = await b.admin<{ rows: number; keys: number }[]>`
      select count(*)::int as rows, count(distinct sqlite_id)::int as keys from pfa_app.pfa_records`;
    expect(counts).toEqual({ rows: RECORDS, keys: RECORDS });
  });

  it('a long-lived source (the worker\'s) reads a file replaced since it was opened: a new copy renamed over it', async () => {
    const small = path.join(dir, 'small.db');
    generateSqliteApp({ file: small, records: 40, seed: 5 });
    const raw = JSON.parse(await readFile(path.join(dir, 'mapping.json'), 'utf8'));
    const smallMapping = parseMapping({ ...raw, source: { kind: 'sqlite', path: small } }, path.join(dir, 'small.json'));
    const b = await bed();
    const source = open(small, false);
    const pull = (mode: 'full' | 'incremental') => runPull({ sql: b.sql, source, mapping: smallMapping, mode, actor: 'test', overlapSeconds: 60, log: silentLog });
    await pull('full');
    const copy = path.join(dir, 'small-next.db');
    await copyFile(small, copy);
    applyEdits(copy);
    await rename(copy, small);
    const next = await pull('incremental');
    expect(next.tables.find((t) => t.entity === 'pfa_records')).toMatchObject({ inserted: 1, updated: 1, deleted: 1 });
    expect(next.tables.find((t) => t.entity === 'pfa_users')).toMatchObject({ updated: 1 });
  });

  it('rows a key cannot name are quarantined naming the table; INTEGER 7 and TEXT "7" keep the first', async () => {
    const odd = path.join(dir, 'odd.db');
    const write = new Database(odd);
    write.exec(`create table providers (id unique, name text, provider text)`);
    const insert = write.prepare('insert into providers (id, name, provider) values (?, ?, ?)');
    insert.run('openai-1', 'OpenAI', 'openai');
    insert.run(7n, 'Seven as INTEGER', 'x'); // a bigint binds as INTEGER (a JavaScript 7 would bind as the REAL 7.0)
    insert.run('7', 'Seven as TEXT', 'y');
    insert.run(2.5, 'A REAL key', 'z');
    insert.run(null, 'No key', 'n');
    insert.run(Buffer.from([1, 2]), 'A BLOB key', 'b');
    write.close();
    const oddMapping = parseMapping(
      {
        version: 1,
        source: { kind: 'sqlite', path: odd },
        tables: [{ entity: 'pfa_ai_providers', table: 'providers', key: 'id', target: 'pfa_app.ai_providers', fields: [{ from: 'name', column: 'name', cast: 'text' }, { from: 'provider', column: 'provider', cast: 'text', convert: 'select' }] }],
      },
      path.join(dir, 'odd.json'),
    );
    const b = await bed();
    const summary = await runPull({ sql: b.sql, source: open(odd, false), mapping: oddMapping, mode: 'full', actor: 'test', overlapSeconds: 60, log: silentLog });
    expect(summary.tables[0]).toMatchObject({ fetched: 6, inserted: 2, quarantined: 4 });
    const landed = await b.admin`select sqlite_id, name from pfa_app.ai_providers order by sqlite_id`;
    expect(landed).toEqual([{ sqlite_id: '7', name: 'Seven as INTEGER' }, { sqlite_id: 'openai-1', name: 'OpenAI' }]);
    const quarantine = await b.admin<{ source_key: string; reason: string }[]>`
      select source_key, reason from sync.record_errors where resolved_at is null`;
    expect(quarantine.map((q) => ({ ...q })).sort((a, b) => (a.reason < b.reason ? -1 : 1))).toEqual([
      { source_key: '7', reason: 'duplicate key 7 at providers key 7 (a TEXT): the record read first (providers key 7 (an INTEGER)) has the same key and is the one kept' },
      { source_key: '(providers rowid 5)', reason: 'providers rowid 5: the key column id is NULL' },
      { source_key: "(providers key x'0102')", reason: 'providers: the key is a BLOB, not an INTEGER or TEXT' },
      { source_key: '(providers key 2.5)', reason: 'providers: the key is a REAL, not an INTEGER or TEXT' },
    ]);
  });
});
