/**
 * Audit overhead on bulk writes: the same 100k-row insert, update and delete
 * on app.registrations with the statement-level audit triggers on and off,
 * in one run on one server; and, for context, with a conventional row-level
 * audit trigger writing the same rows. Prints times and ratios.
 *
 *   npm run bench:audit            (100,000 rows, 3 repetitions)
 *   ROWS=200000 REPS=5 npm run bench:audit
 */
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { connect, ensureDatabaseExists, prepareDatabase } from '../src/db/database.ts';

const ROWS = Number(process.env.ROWS ?? 100_000);
const REPS = Number(process.env.REPS ?? 3);

const server = process.env.BENCH_DATABASE_URL ? undefined : await startThrowawayCluster();
const serverUrl = process.env.BENCH_DATABASE_URL ?? server!.rootUrl;
const dbName = `airlift_bench_${process.pid}`;
await ensureDatabaseExists(serverUrl, dbName);
const url = urlWithDatabase(serverUrl, dbName);
await prepareDatabase({ databaseUrl: url, rootUrl: url });
const sql = connect(url, { max: 1 });

const AUDIT_TRIGGERS = ['_900_audit_insert', '_900_audit_update', '_900_audit_delete'];
type Mode = 'no audit' | 'statement-level audit' | 'row-level audit';

async function setMode(mode: Mode) {
  for (const t of AUDIT_TRIGGERS) {
    await sql.unsafe(`alter table app.registrations ${mode === 'statement-level audit' ? 'enable' : 'disable'} trigger ${t}`);
  }
  await sql.unsafe(`drop trigger if exists _900_row_audit on app.registrations`);
  if (mode === 'row-level audit') {
    await sql.unsafe(`create trigger _900_row_audit after insert or update or delete on app.registrations
      for each row execute function bench.tg_row_audit()`);
  }
}

// A textbook row-level audit trigger writing the same audit rows, for comparison only.
await sql.unsafe(`
  create schema if not exists bench;
  create or replace function bench.tg_row_audit() returns trigger language plpgsql as $$
  declare o jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) - audit.generated_columns(tg_relid) end;
          n jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) - audit.generated_columns(tg_relid) end;
  begin
    if tg_op = 'UPDATE' and o = n then return null; end if;
    insert into audit.changes (table_name, record_id, op, old_values, new_values, changed_columns, db_role, actor, run_id)
    values (tg_table_schema || '.' || tg_table_name, coalesce(n, o) ->> 'id', tg_op, o, n,
            case when tg_op = 'UPDATE' then array(select k from jsonb_object_keys(n) k where n -> k is distinct from o -> k order by k) end,
            audit.acting_role(), audit.current_actor(), audit.current_run_id());
    return null;
  end $$;`);

async function timed(statement: string): Promise<number> {
  const start = process.hrtime.bigint();
  await sql.unsafe(statement);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const INSERT = `insert into app.registrations (airtable_id, status, state, registration_type, submitted_date, expiration_date, fee_paid, priority, tags, notes)
  select 'rec' || lpad(to_hex(g), 14, '0'), (array['Approved','Submitted','Pending Review','Denied'])[1 + g % 4],
         (array['CA','TX','NY','FL'])[1 + g % 4], 'Renewal', date '2025-01-01' + g % 365, date '2027-01-01' + g % 365,
         (g % 500)::numeric(12,2), 1 + g % 5, array['Rush'], 'note ' || g
  from generate_series(1, ${ROWS}) g`;
const UPDATE = `update app.registrations set fee_paid = fee_paid + 1, status = 'Approved'`;
const DELETE = `delete from app.registrations`;

const results: Record<Mode, { insert: number[]; update: number[]; delete: number[] }> = {
  'no audit': { insert: [], update: [], delete: [] },
  'statement-level audit': { insert: [], update: [], delete: [] },
  'row-level audit': { insert: [], update: [], delete: [] },
};
const modes: Mode[] = ['no audit', 'statement-level audit', 'row-level audit'];
for (let rep = 0; rep < REPS; rep++) {
  for (const mode of modes) {
    await setMode(mode);
    await sql.unsafe('vacuum analyze app.registrations');
    results[mode].insert.push(await timed(INSERT));
    results[mode].update.push(await timed(UPDATE));
    results[mode].delete.push(await timed(DELETE));
  }
}
const audited = await sql`select count(*)::int as n from audit.changes where table_name = 'app.registrations'`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`\nAudit overhead, ${ROWS.toLocaleString('en-US')} rows per statement, median of ${REPS} (PostgreSQL ${(await sql`select current_setting('server_version') v`)[0].v})`);
console.log(`audit rows written in all: ${audited[0].n.toLocaleString('en-US')}\n`);
console.log('operation   no audit (ms)   statement-level (ms)  ratio   row-level (ms)  ratio');
for (const op of ['insert', 'update', 'delete'] as const) {
  const base = median(results['no audit'][op]);
  const stmt = median(results['statement-level audit'][op]);
  const row = median(results['row-level audit'][op]);
  console.log(
    `${op.padEnd(10)}  ${base.toFixed(0).padStart(13)}   ${stmt.toFixed(0).padStart(20)}  ${(stmt / base).toFixed(2).padStart(5)}x  ${row.toFixed(0).padStart(14)}  ${(row / base).toFixed(2).padStart(5)}x`,
  );
}
const total = (m: Mode) => (['insert', 'update', 'delete'] as const).reduce((s, op) => s + median(results[m][op]), 0);
console.log(`all three   ${total('no audit').toFixed(0).padStart(13)}   ${total('statement-level audit').toFixed(0).padStart(20)}  ${(total('statement-level audit') / total('no audit')).toFixed(2).padStart(5)}x  ${total('row-level audit').toFixed(0).padStart(14)}  ${(total('row-level audit') / total('no audit')).toFixed(2).padStart(5)}x`);

await sql.end();
if (server) await server.stop();
else {
  const admin = connect(serverUrl, { max: 1 });
  await admin.unsafe(`drop database ${dbName} with (force)`);
  await admin.end();
}
