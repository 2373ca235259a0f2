/**
 * The files source end to end, through the CLI as the README shows it,
 * against the wallet app's example exports (examples/wallet-app): a full
 * pull lands every record with its problems flagged on the field (the
 * planted messes: an amount "TBD", a 30 February, a dangling referrer, a
 * JSON Lines line cut short, an uppercase wallet), verify passes, an
 * incremental pull of unchanged files reads nothing and writes nothing, an
 * edited export is a differential (conflicted, missing, deleted), the next
 * pull takes it in, and a rollback of that pull puts every row back.
 * Bad configuration (a missing export, a conversion the source does not
 * have) fails naming the file or key.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect } from '../src/db/database.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';

interface DiffJson {
  runId: string;
  differences: number;
  entities: Array<{ entity: string; differences: Record<string, string[]>; fields: Record<string, Record<string, { source: unknown; target: unknown }>> }>;
}

const SOFIA = '0x5258365fb17281e9cc6344ecaca41ff826737010';
const RAVI = '0x82e891dad532c63de88ade9a2c502b0a8261dc2d';

describe('files source: the wallet app example', () => {
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const airlift = async (...args: string[]) => {
    const result = await runAirlift(args, env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const auditRows = async () =>
    Number((await sql<{ n: string }[]>`select count(*) as n from audit.changes where table_name like 'wallet_app.%'`)[0]!.n);

  beforeAll(async () => {
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-'));
    await cp(path.join(PROJECT_DIR, 'examples', 'wallet-app'), dir, { recursive: true });
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(dir, 'mapping.json') };
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a full pull lands every record, problems flagged on their fields, the broken line quarantined', async () => {
    const out = await airlift('pull', '--full');
    expect(out).toContain('fetched 133 = 132 inserted + 0 updated + 0 unchanged + 1 quarantined; 0 soft-deleted');
    const counts = await sql<{ users: number; opportunities: number; actions: number; documents: number }[]>`
      select (select count(*)::int from wallet_app.users) as users, (select count(*)::int from wallet_app.opportunities) as opportunities,
             (select count(*)::int from wallet_app.admin_actions) as actions, (select count(*)::int from wallet_app.kyc_documents) as documents`;
    expect(counts[0]).toEqual({ users: 40, opportunities: 30, actions: 28, documents: 34 });

    // status: the export files as tables, the unreadable line in the quarantine, and no push for a one-way source
    const status = await airlift('status');
    expect(status).toMatch(/^  opportunities\.csv +30 +2 +0 #\d+ full completed/m);
    expect(status).toContain('Quarantine (1 record kept out: unreadable, refused by a blocking rule or by the database; newest entries first)');
    expect(status).toContain('admin_logs.jsonl line 18: line is not valid JSON');
    expect(status).toContain('Push: none (the files source is one-way)');
    expect(status).not.toContain('Push to Airtable');

    // nested paths, CSV typing, lists split, links resolved to uuids
    const [opp] = await sql`
      select o.title, o.amount::text, o.opens_on::text, o.tags, u.wallet_address as owner
      from wallet_app.opportunities o left join wallet_app.users u on u.id = o.owner_id where o.source_id = 'opp-1001'`;
    expect(opp).toEqual({ title: 'Solar microgrid for Kisumu clinics', amount: '1140.00', opens_on: '2024-08-27', tags: ['dao', 'mobile'], owner: '0x3b981936fcbde949b15f813a6eca688c8079db39' });
    const [doc] = await sql`select provider, face_match, document_authentic from wallet_app.kyc_documents where source_id = 'kyc-701'`;
    expect(doc).toEqual({ provider: 'idv-sandbox', face_match: true, document_authentic: true });

    // the uppercase wallet landed lowercase (keyCase), and the records that name it in lowercase link to it
    const [ravi] = await sql`
      select count(*)::int as documents from wallet_app.kyc_documents d join wallet_app.users u on u.id = d.user_id where u.wallet_address = ${RAVI}`;
    expect(ravi!.documents).toBeGreaterThan(0);

    // the planted problems, each on its field, the record landed
    const problems = await sql<{ entity: string; source_key: string; field: string; rule: string; landed: string; value: unknown }[]>`
      select entity, source_key, field, rule, landed, value from sync.field_problems
      where resolved_at is null and origin = 'merge' order by entity, source_key, field`;
    expect(problems).toEqual(
      expect.arrayContaining([
        { entity: 'wallet_opportunities', source_key: 'opp-1008', field: 'amount', rule: 'cell_conversion', landed: 'empty', value: 'TBD' },
        { entity: 'wallet_opportunities', source_key: 'opp-1013', field: 'closes_on', rule: 'cell_conversion', landed: 'empty', value: '2025-02-30' },
        { entity: 'wallet_users', source_key: '0x27f067f635f5950a5fc5498709c4be92aa72cc60', field: 'referrer', rule: 'dangling_link', landed: 'empty', value: ['0x9f3c5a7e21d04b6c8e13f7a90d5b2c4e6a8f1d03'] },
      ]),
    );
    const [tbd] = await sql`select amount, open_problem_count from wallet_app.opportunities where source_id = 'opp-1008'`;
    expect(tbd).toEqual({ amount: null, open_problem_count: 1 });
    const quarantined = await sql`select source_key, reason from sync.record_errors where resolved_at is null`;
    expect(quarantined).toEqual([{ source_key: '(admin_logs.jsonl line 18)', reason: expect.stringMatching(/^admin_logs\.jsonl line 18: line is not valid JSON/) }]);
  });

  it('verify passes: source and target agree record by record', async () => {
    const result = JSON.parse(await airlift('verify', '--json')) as { passed: boolean; discrepancies: number };
    expect(result.passed).toBe(true);
    expect(result.discrepancies).toBe(0);
  });

  it('an incremental pull of unchanged exports reads no file and writes nothing', async () => {
    const before = await auditRows();
    const out = await airlift('pull');
    expect(out).toContain('fetched 0 = 0 inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted');
    const [run] = await sql<{ unchanged: boolean[] }[]>`
      select array_agg((c.metadata ->> 'unchanged')::boolean order by c.entity_type) as unchanged
      from sync.checkpoints c where c.run_id = (select max(id) from sync.runs where run_type = 'incremental')`;
    expect(run!.unchanged).toEqual([true, true, true, true]);
    expect(await auditRows()).toBe(before);
  });

  let editRun: string;
  it('an edited export is a differential, the next pull takes it in, and verify passes again', async () => {
    await cp(path.join(dir, 'data-edited'), path.join(dir, 'data'), { recursive: true });
    const differing = await runAirlift(['diff', '--json'], env);
    expect(differing.code, differing.stderr).toBe(1); // differences found, as for verify
    const diff = JSON.parse(differing.stdout) as DiffJson;
    expect(diff.differences).toBe(3);
    const of = (entity: string) => diff.entities.find((e) => e.entity === entity)!;
    expect(of('wallet_users').differences.conflicted_records).toEqual([SOFIA]);
    expect(of('wallet_users').fields[SOFIA]!.email).toEqual({ source: 'sofia.m@example.org', target: 'sofia.marchetti@mail.example.org' });
    expect(of('wallet_opportunities').differences.missing_records).toEqual(['opp-1031']);
    expect(of('wallet_opportunities').differences.deleted_records).toEqual(['opp-1006']);

    const out = await airlift('pull');
    expect(out).toMatch(/fetched 70 = 1 inserted \+ 1 updated \+ 68 unchanged \+ 0 quarantined; 1 soft-deleted/);
    editRun = out.match(/^Run #(\d+)/)![1]!;
    const [rows] = await sql`
      select (select email from wallet_app.users where wallet_address = ${SOFIA}) as email,
             (select deleted_at is not null from wallet_app.opportunities where source_id = 'opp-1006') as deleted,
             (select title from wallet_app.opportunities where source_id = 'opp-1031') as added`;
    expect(rows).toEqual({ email: 'sofia.m@example.org', deleted: true, added: 'School garden irrigation' });
    expect((JSON.parse(await airlift('verify', '--json')) as { passed: boolean }).passed).toBe(true);
  });

  it('a rollback of that pull puts every row back as it was', async () => {
    const out = await airlift('rollback', '--run', editRun);
    expect(out).toContain(`Run #${editRun} rolled back`);
    const [rows] = await sql`
      select (select email from wallet_app.users where wallet_address = ${SOFIA}) as email,
             (select deleted_at is null from wallet_app.opportunities where source_id = 'opp-1006') as live,
             (select count(*)::int from wallet_app.opportunities where source_id = 'opp-1031') as added`;
    expect(rows).toEqual({ email: 'sofia.marchetti@mail.example.org', live: true, added: 0 });
  });

  it('a missing export fails the pull naming the file; a conversion the files source lacks fails the mapping naming the key', async () => {
    const mapping = JSON.parse(await readFile(path.join(dir, 'mapping.json'), 'utf8'));
    mapping.tables[1].file = 'no-such-export.csv';
    await writeFile(path.join(dir, 'missing.json'), JSON.stringify(mapping));
    const missing = await runAirlift(['pull', '--full'], { ...env, AIRLIFT_MAPPING: path.join(dir, 'missing.json') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`the export ${path.join(dir, 'data', 'no-such-export.csv')} (table wallet_opportunities) cannot be read`);

    mapping.tables[1].file = 'opportunities.csv';
    mapping.tables[1].fields[0].convert = 'collaborator';
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify(mapping));
    const bad = await runAirlift(['pull', '--full'], { ...env, AIRLIFT_MAPPING: path.join(dir, 'bad.json') });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('tables.1.fields.0.convert');
  });

  it('an export in Latin-1 stops the pull naming the line and the byte, and lands intact once the mapping names its encoding; a bad encoding is a mapping error', async () => {
    const latinDir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-latin1-'));
    try {
      await cp(path.join(PROJECT_DIR, 'examples', 'wallet-app'), latinDir, { recursive: true });
      // the users export as a Latin-1 system writes it: "Tomás" holds the single byte 0xE1
      const users = path.join(latinDir, 'data', 'users.json');
      await writeFile(users, Buffer.from(await readFile(users, 'utf8'), 'latin1'));
      const latinDb = await cloneTestDatabase();
      const latinSql = connect(latinDb.url, { max: 1 });
      try {
        const latinEnv = { DATABASE_URL: latinDb.url, AIRLIFT_MAPPING: path.join(latinDir, 'mapping.json') };
        const refused = await runAirlift(['pull', '--full', '--table', 'wallet_users'], latinEnv);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(/users\.json line \d+: not valid UTF-8 \(byte 0xe1 at byte \d+ of the file\); if the export is written in another encoding, name it with "encoding" on the table/);
        expect((await latinSql<{ n: number }[]>`select count(*)::int as n from wallet_app.users`)[0]!.n).toBe(0);

        const mapping = JSON.parse(await readFile(path.join(latinDir, 'mapping.json'), 'utf8'));
        mapping.tables[0].encoding = 'ebcdic';
        await writeFile(path.join(latinDir, 'mapping.json'), JSON.stringify(mapping));
        const badMapping = await runAirlift(['pull', '--full', '--table', 'wallet_users'], latinEnv);
        expect(badMapping.code).toBe(2);
        expect(badMapping.stderr).toContain('tables.0.encoding');

        mapping.tables[0].encoding = 'latin1';
        await writeFile(path.join(latinDir, 'mapping.json'), JSON.stringify(mapping));
        const pulled = await runAirlift(['pull', '--full', '--table', 'wallet_users'], latinEnv);
        expect(pulled.code, pulled.stderr).toBe(0);
        const names = await latinSql<{ name: string }[]>`select name from wallet_app.users where name like 'Tom%s Novak'`;
        expect(names).toEqual([{ name: 'Tomás Novak' }]);
      } finally {
        await latinSql.end();
        await latinDb.drop();
      }
    } finally {
      await rm(latinDir, { recursive: true, force: true });
    }
  });

  it('an export holding two records with one key keeps the first read and quarantines the other, naming both lines', async () => {
    const dupDir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-dup-'));
    try {
      await cp(path.join(PROJECT_DIR, 'examples', 'wallet-app'), dupDir, { recursive: true });
      const csv = path.join(dupDir, 'data', 'opportunities.csv');
      const lines = (await readFile(csv, 'utf8')).trimEnd().split('\n');
      const second = lines.find((l) => l.startsWith('opp-1003,'))!;
      await writeFile(csv, `${lines.join('\n')}\n${second.replace('opp-1003,', 'opp-1003,A second opportunity under the same id ').replace(/^opp-1003,A second opportunity under the same id [^,]*,/, 'opp-1003,A second opportunity under the same id,')}\n`);
      const dupDb = await cloneTestDatabase();
      const dupSql = connect(dupDb.url, { max: 1 });
      try {
        const out = await runAirlift(['pull', '--full', '--table', 'wallet_users', 'wallet_opportunities'], { DATABASE_URL: dupDb.url, AIRLIFT_MAPPING: path.join(dupDir, 'mapping.json') });
        expect(out.code, out.stderr).toBe(0);
        expect(out.stdout).toMatch(/wallet_opportunities fetched +31 +\+30 ~0 =0 -0 !1/);
        const [row] = await dupSql`select title from wallet_app.opportunities where source_id = 'opp-1003'`;
        expect(row!.title).toBe('Open-source tutoring app');
        const quarantine = await dupSql`select source_key, reason from sync.record_errors where resolved_at is null and source_table = 'opportunities.csv'`;
        expect(quarantine).toEqual([{ source_key: 'opp-1003', reason: `duplicate key opp-1003 at opportunities.csv line ${lines.length + 1}: the record read first (opportunities.csv line 4) has the same key and is the one kept` }]);
        const verified = await runAirlift(['verify', '--json', '--table', 'wallet_users', 'wallet_opportunities'], { DATABASE_URL: dupDb.url, AIRLIFT_MAPPING: path.join(dupDir, 'mapping.json') });
        expect((JSON.parse(verified.stdout) as { discrepancies: number }).discrepancies).toBe(0);
      } finally {
        await dupSql.end();
        await dupDb.drop();
      }
    } finally {
      await rm(dupDir, { recursive: true, force: true });
    }
  });
});
