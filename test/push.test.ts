/**
 * Two-way sync end to end against the emulator, through the real airtable
 * client: changes made in PostgreSQL reach Airtable (updates as PATCH of the
 * changed fields only, creates as POST with their links, deletes where the
 * mapping allows), each conflict policy decides a field changed on both
 * sides and logs it, refused records fail with Airtable's message while the
 * rest go on, an ambiguous create is never sent twice, and a round with
 * nothing changed sends no write and writes no row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirlift } from './support/cli.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

describe('push to Airtable', () => {
  let bed: SyncBed;
  let env: NodeJS.ProcessEnv;
  const table = (name: string) => bed.emulator.base(bed.baseId).table(name);
  const tableMapping = (entity: string) => bed.mapping.tables.find((t) => t.entity === entity)!;
  /** Live rows the pull merged cleanly (not quarantined), by Airtable id. */
  const clean = async (target: string, n: number) =>
    (
      await bed.admin<{ id: string; airtable_id: string }[]>`
        select t.id, t.airtable_id from ${bed.admin(target)} t
        where t.deleted_at is null and t.airtable_id is not null
          and not exists (select from sync.record_errors e where e.source_key = t.airtable_id and e.resolved_at is null)
        order by t.airtable_id limit ${n}`
    ).map((r) => r);
  const appWrites = async (sinceAudit: string) => {
    const [{ n }] = await bed.admin<{ n: number }[]>`
      select count(*)::int as n from audit.changes where id > ${sinceAudit} and table_name like 'app.%'`;
    return n;
  };
  const lastAudit = async () => (await bed.admin<{ id: string }[]>`select coalesce(max(id), 0)::text as id from audit.changes`)[0]!.id;

  beforeAll(async () => {
    bed = await syncBed({ seed: 53, registrations: 200, messiness: 0.02 });
    env = { DATABASE_URL: bed.db.url, AIRTABLE_TOKEN: bed.emulator.token, AIRTABLE_BASE_ID: bed.baseId, AIRTABLE_ENDPOINT_URL: bed.emulator.url, AIRTABLE_RPS: '100' };
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  it('sends only the changed fields of updated rows, and the next pull brings them back as a no-op', async () => {
    const [c1, c2] = await clean('app.clients', 2);
    const [r1] = await clean('app.registrations', 1);
    const untouched = table('Clients').get(c1!.airtable_id)!.fields;
    await bed.admin`update app.clients set notes = 'Called on Monday', annual_budget = 1234.5 where id = ${c1!.id}`;
    await bed.admin`update app.clients set phone = '+1 555 201 0199' where id = ${c2!.id}`;
    await bed.admin`update app.registrations set fee_paid = 99.95, tags = '{Rush,Label Change}' where id = ${r1!.id}`;

    bed.emulator.resetStats();
    const summary = await bed.push();
    expect(summary.run).not.toBeNull();
    expect(Number(summary.run!.updated)).toBe(3);
    expect(Number(summary.run!.inserted)).toBe(0);
    expect(summary.conflicts).toEqual([]);
    // one read and one PATCH per table with changes
    expect(bed.emulator.stats.byRoute.update).toBe(2);
    expect(bed.emulator.stats.writes).toBe(3);

    const after = table('Clients').get(c1!.airtable_id)!.fields;
    expect(after.Notes).toBe('Called on Monday');
    expect(after['Annual Budget']).toBe(1234.5);
    // fields not changed here are as they were
    for (const name of ['Client Name', 'Status', 'Email', 'Client Since']) expect(after[name]).toEqual(untouched[name]);
    expect(table('Clients').get(c2!.airtable_id)!.fields.Phone).toBe('+1 555 201 0199');
    const reg = table('Registrations').get(r1!.airtable_id)!.fields;
    expect(reg['Fee Paid']).toBe(99.95);
    expect(reg.Tags).toEqual(['Rush', 'Label Change']);

    const [{ pending }] = await bed.admin<{ pending: number }[]>`select count(*)::int as pending from sync.outbox where status in ('pending', 'in_flight', 'failed')`;
    expect(pending).toBe(0);

    // No ping-pong: the pushed records come back from the next pull unchanged.
    const mark = await lastAudit();
    const pulled = await bed.pull('incremental');
    expect(Number(pulled.run.fetched)).toBeGreaterThanOrEqual(3);
    expect(Number(pulled.run.inserted) + Number(pulled.run.updated)).toBe(0);
    expect(await appWrites(mark)).toBe(0);
    const again = await bed.push();
    expect(again.run).toBeNull();
  });

  it('creates new rows with their links, storing the new record ids in the rows and the id map', async () => {
    const [client] = await clean('app.clients', 1);
    const [regulator] = await clean('app.state_regulators', 1);
    const [product] = await bed.admin<{ id: string }[]>`
      insert into app.products (name, client_id, product_type, discontinued) values ('Made In PostgreSQL', ${client!.id}, 'Pesticide', false) returning id`;
    const [registration] = await bed.admin<{ id: string }[]>`
      insert into app.registrations (client_id, product_id, state_regulator_id, status, submitted_date, fee_paid, priority)
      values (${client!.id}, ${product!.id}, ${regulator!.id}, 'Submitted', '2026-03-01', 150, 2) returning id`;

    const summary = await bed.push();
    expect(Number(summary.run!.inserted)).toBe(2);
    const [p] = await bed.admin<{ airtable_id: string; legacy_id: string }[]>`
      select p.airtable_id, m.legacy_id from app.products p join sync.id_map m on m.uuid_id = p.id where p.id = ${product!.id}`;
    expect(p!.airtable_id).toMatch(/^rec[A-Za-z0-9]{14}$/);
    expect(p!.legacy_id).toBe(p!.airtable_id);
    const created = table('Products').get(p!.airtable_id)!.fields;
    expect(created['Product Name']).toBe('Made In PostgreSQL');
    expect(created.Client).toEqual([client!.airtable_id]);
    expect(created['Product Type']).toBe('Pesticide');

    const [r] = await bed.admin<{ airtable_id: string }[]>`select airtable_id from app.registrations where id = ${registration!.id}`;
    const reg = table('Registrations').get(r!.airtable_id)!.fields;
    expect(reg.Product).toEqual([p!.airtable_id]);
    expect(reg['State Regulator']).toEqual([regulator!.airtable_id]);
    expect(reg['Submitted Date']).toBe('2026-03-01');
    expect(reg['Fee Paid']).toBe(150);

    // storing the ids was a sync write: nothing new to push
    expect((await bed.push()).run).toBeNull();
    // The next pull brings the created records back as they are. Airtable
    // did change the linked records (their reverse links, so their Last
    // Modified): the pull takes those times and nothing else.
    const mark = await lastAudit();
    await bed.pull('incremental');
    const written = await bed.admin<{ table_name: string; record_id: string; changed_columns: string[] }[]>`
      select table_name, record_id, changed_columns from audit.changes where id > ${mark} and table_name like 'app.%' order by id`;
    expect(written.filter((w) => w.record_id === registration!.id)).toEqual([]);
    expect(new Set(written.flatMap((w) => w.changed_columns))).toEqual(new Set(['airtable_modified_at', 'updated_at']));
    expect((await bed.push()).run).toBeNull();
  });

  it('deletes in Airtable only where the mapping says so, and reports the rest', async () => {
    const [client] = await clean('app.clients', 1);
    await bed.admin`insert into app.products (name, client_id, discontinued) values ('To Delete One', ${client!.id}, false), ('To Delete Two', ${client!.id}, true)`;
    expect(Number((await bed.push()).run!.inserted)).toBe(2);
    const [p1, p2] = await bed.admin<{ id: string; airtable_id: string }[]>`
      select id, airtable_id from app.products where name like 'To Delete %' order by name`;
    expect(table('Products').get(p2!.airtable_id)!.fields.Discontinued).toBe(true);
    await bed.admin`update app.products set deleted_at = now() where id = ${p1!.id}`;
    const reported = await bed.push();
    expect(Number(reported.run!.deleted)).toBe(0);
    expect(reported.run!.metadata.deletes_not_pushed).toBe(1);
    expect(table('Products').get(p1!.airtable_id)).toBeDefined();

    tableMapping('products').pushDeletes = true;
    try {
      await bed.admin`delete from app.attachments where product_id = ${p2!.id}`;
      await bed.admin`delete from app.products where id = ${p2!.id}`;
      const deleted = await bed.push();
      expect(Number(deleted.run!.deleted)).toBe(1);
      expect(table('Products').get(p2!.airtable_id)).toBeUndefined();
    } finally {
      tableMapping('products').pushDeletes = false;
    }
  });

  it('decides a field changed on both sides by each policy, logs every conflict, and parks manual ones for a person', async () => {
    const rows = await clean('app.clients', 8);
    const set = async (i: number, local: string, remote: string, remoteFirst = true) => {
      const { id, airtable_id } = rows[i + 2]!;
      if (remoteFirst) table('Clients').update(airtable_id, { Notes: remote });
      await new Promise((r) => setTimeout(r, 20));
      await bed.admin`update app.clients set notes = ${local} where id = ${id}`;
      if (!remoteFirst) {
        await new Promise((r) => setTimeout(r, 20));
        table('Clients').update(airtable_id, { Notes: remote });
      }
    };
    const clients = tableMapping('clients');
    const notes = clients.fields.find((f) => f.column === 'notes')!;
    // source_wins for the table, overridden per column below
    await set(0, 'local A', 'remote A'); // source_wins
    await set(1, 'same value', 'same value'); // both sides agree: no conflict
    await bed.push({ tables: ['clients'] });
    notes.conflictPolicy = 'target_wins';
    await set(2, 'local C', 'remote C');
    await bed.push({ tables: ['clients'] });
    notes.conflictPolicy = 'newest_wins';
    await set(3, 'local D newer', 'remote D', true); // PostgreSQL changed last
    await set(4, 'local E', 'remote E newer', false); // Airtable changed last
    // a pull in between writes the rows' other columns (Last Modified): the
    // time of the local change still decides, not the row's updated_at
    await bed.pull('incremental');
    await bed.push({ tables: ['clients'] });
    notes.conflictPolicy = 'manual';
    await set(5, 'local F', 'remote F');
    const parked = await bed.push({ tables: ['clients'] });
    notes.conflictPolicy = undefined;

    const value = (i: number) => table('Clients').get(rows[i + 2]!.airtable_id)!.fields.Notes;
    const local = async (i: number) => (await bed.admin<{ notes: string }[]>`select notes from app.clients where id = ${rows[i + 2]!.id}`)[0]!.notes;
    expect([value(0), await local(0)]).toEqual(['remote A', 'remote A']);
    expect([value(1), await local(1)]).toEqual(['same value', 'same value']);
    expect([value(2), await local(2)]).toEqual(['local C', 'local C']);
    expect([value(3), await local(3)]).toEqual(['local D newer', 'local D newer']);
    expect([value(4), await local(4)]).toEqual(['remote E newer', 'remote E newer']);
    expect([value(5), await local(5)]).toEqual(['remote F', 'local F']); // parked: neither side touched

    const log = await bed.admin<{ source_key: string; policy: string; status: string; resolution: string | null; decided_by_rule: string | null; base_value: unknown; local_value: unknown; remote_value: unknown }[]>`
      select source_key, policy, status, resolution, decided_by_rule, base_value, local_value, remote_value from sync.conflicts where column_name = 'notes' order by id`;
    const byRow = (i: number) => log.filter((c) => c.source_key === rows[i + 2]!.airtable_id);
    expect(byRow(0)).toMatchObject([{ policy: 'source_wins', status: 'resolved', resolution: 'airtable', decided_by_rule: 'source_wins', local_value: 'local A', remote_value: 'remote A' }]);
    expect(byRow(1)).toEqual([]);
    expect(byRow(2)).toMatchObject([{ policy: 'target_wins', resolution: 'postgres', decided_by_rule: 'target_wins' }]);
    expect(byRow(3)).toMatchObject([{ policy: 'newest_wins', resolution: 'postgres' }]);
    expect(byRow(4)).toMatchObject([{ policy: 'newest_wins', resolution: 'airtable' }]);
    expect(byRow(5)).toMatchObject([{ policy: 'manual', status: 'open', resolution: null }]);
    expect(parked.conflicts.filter((c) => c.status === 'open')).toHaveLength(1);

    // a pull while the conflict is open leaves the parked field alone
    await bed.pull('incremental');
    expect(await local(5)).toBe('local F');

    // the person decides, through the CLI; the next push sends it
    const id = log.length ? (await bed.admin<{ id: string }[]>`select id::text from sync.conflicts where status = 'open'`)[0]!.id : '';
    const shown = await runAirlift(['conflicts', 'show', id], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('PostgreSQL:                     "local F"');
    expect(shown.stdout).toContain('Airtable:                       "remote F"');
    const resolved = await runAirlift(['conflicts', 'resolve', id, '--take', 'postgres'], env);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.stdout).toMatch(new RegExp(`^Conflict #${id} resolved: clients.notes = "local F" \\(postgres\\)`));
    const again = await runAirlift(['conflicts', 'resolve', id, '--take', 'airtable'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already resolved/);
    const pushed = await runAirlift(['push'], env);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(value(5)).toBe('local F');
    const [decided] = await bed.admin<{ decided_by_rule: string; decided_by: string; resolution: string }[]>`
      select decided_by_rule, decided_by, resolution from sync.conflicts where id = ${id}`;
    expect(decided).toMatchObject({ decided_by_rule: 'manual', resolution: 'postgres' });
    expect(decided!.decided_by).toMatch(/^cli:/);
    const [{ audited }] = await bed.admin<{ audited: number }[]>`
      select count(*)::int as audited from audit.changes where table_name = 'sync.conflicts' and record_id = ${id} and op = 'UPDATE'`;
    expect(audited).toBe(1);

    const listed = await runAirlift(['conflicts', 'list'], env);
    expect(listed.stdout).toBe('No open conflicts.\n');
  });

  it('fails only the record Airtable refuses, with its message, and pushes the rest', async () => {
    const regs = await clean('app.registrations', 3);
    await bed.admin`update app.registrations set status = 'Not An Option' where id = ${regs[0]!.id}`;
    await bed.admin`update app.registrations set invoice_number = 'INV-1' where id = ${regs[1]!.id}`;
    await bed.admin`update app.registrations set invoice_number = 'INV-2' where id = ${regs[2]!.id}`;
    const summary = await bed.push({ tables: ['registrations'] });
    expect(Number(summary.run!.updated)).toBe(2);
    expect(summary.tables.find((t) => t.entity === 'registrations')!.failed).toBe(1);
    expect(table('Registrations').get(regs[1]!.airtable_id)!.fields['Invoice Number']).toBe('INV-1');
    const [failed] = await bed.admin<{ status: string; last_error: string }[]>`
      select status, last_error from sync.outbox where row_id = ${regs[0]!.id} order by id desc limit 1`;
    expect(failed!.status).toBe('failed');
    expect(failed!.last_error).toMatch(/INVALID_MULTIPLE_CHOICE_OPTIONS/);

    const status = await runAirlift(['status', '--json'], env);
    const report = JSON.parse(status.stdout);
    expect(report.outbox.find((o: { entity: string }) => o.entity === 'registrations').failed).toBe(1);
    expect(report.failedPushes[0].last_error).toMatch(/INVALID_MULTIPLE_CHOICE_OPTIONS/);
    const text = await runAirlift(['status'], env);
    expect(text.stdout).toMatch(/Push to Airtable: 0 pending, 1 failed, 0 open conflicts/);

    // fixed here: the new change reopens the entry and it goes through
    await bed.admin`update app.registrations set status = 'Approved' where id = ${regs[0]!.id}`;
    const retried = await bed.push({ tables: ['registrations'] });
    expect(Number(retried.run!.updated)).toBe(1);
    expect(table('Registrations').get(regs[0]!.airtable_id)!.fields.Status).toBe('Approved');
  });

  it('retries transient errors, and never sends a create twice when its answer was lost', async () => {
    const [c] = await clean('app.clients', 1);
    await bed.admin`update app.clients set notes = 'after a 503' where id = ${c!.id}`;
    bed.emulator.injectFailure({ method: 'PATCH', status: 503, count: 1 });
    const retried = await bed.push({ tables: ['clients'] });
    expect(Number(retried.run!.updated)).toBe(1);
    expect(table('Clients').get(c!.airtable_id)!.fields.Notes).toBe('after a 503');

    // a create whose connection drops: it may exist in Airtable, so it is
    // failed for a person to check rather than sent again
    const before = table('Clients').list().length;
    const [row] = await bed.admin<{ id: string }[]>`insert into app.clients (name, status) values ('Lost Answer Ltd', 'Prospect') returning id`;
    bed.emulator.injectFailure({ method: 'POST', status: 'network', count: 1 });
    const lost = await bed.push({ tables: ['clients'] });
    expect(Number(lost.run!.inserted)).toBe(0);
    const [entry] = await bed.admin<{ status: string; last_error: string }[]>`select status, last_error from sync.outbox where row_id = ${row!.id}`;
    expect(entry!.status).toBe('failed');
    expect(entry!.last_error).toMatch(/may have been created in Airtable/);
    expect(table('Clients').list().length).toBe(before); // the emulator dropped it before creating
    expect((await bed.push({ tables: ['clients'] })).run).toBeNull(); // not sent again on its own

    // with an upsert key the same create is safe to send again
    tableMapping('clients').upsertOn = ['name'];
    try {
      bed.emulator.injectFailure({ method: 'PATCH', status: 503, count: 1 });
      const upserted = await bed.push({ tables: ['clients'], retryFailed: true });
      expect(Number(upserted.run!.inserted)).toBe(1);
      expect(table('Clients').list().filter((r) => r.fields['Client Name'] === 'Lost Answer Ltd')).toHaveLength(1);
    } finally {
      tableMapping('clients').upsertOn = undefined;
    }
  });

  it('a sync round with nothing changed on either side sends no write and writes no row', async () => {
    await runAirlift(['sync'], env); // settle what earlier tests left
    const mark = await lastAudit();
    bed.emulator.resetStats();
    const round = await runAirlift(['sync', '--json'], env);
    expect(round.code, round.stderr).toBe(0);
    const result = JSON.parse(round.stdout);
    expect(result.push.run).toBeNull();
    expect(Number(result.pull.run.inserted) + Number(result.pull.run.updated) + Number(result.pull.run.deleted)).toBe(0);
    expect(bed.emulator.stats.writeRequests).toBe(0);
    expect(await appWrites(mark)).toBe(0);
  });
});

describe('the read before pushing', () => {
  let bed: SyncBed;
  const table = (name: string) => bed.emulator.base(bed.baseId).table(name);
  const reads = () => (bed.emulator.stats.byRoute.list ?? 0) + (bed.emulator.stats.byRoute.listRecords ?? 0);

  beforeAll(async () => {
    bed = await syncBed({ seed: 57, registrations: 300, messiness: 0 });
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  it('asks Airtable only for the records modified since the mirror, and takes the rest from the mirror', async () => {
    const rows = await bed.admin<{ id: string; airtable_id: string }[]>`
      select id, airtable_id from app.registrations where deleted_at is null order by airtable_id limit 250`;
    expect(rows).toHaveLength(250);
    await bed.admin`update app.registrations set notes = 'Reviewed ' || airtable_id where id in ${bed.admin(rows.map((r) => r.id))}`;
    // Meanwhile in Airtable: the same field changed on one record (a
    // conflict), another field on a second, a third record deleted (not the
    // first claimed: the read asks for that one unconditionally, as its check).
    const [same, other, gone] = await bed.admin<{ source_key: string }[]>`select source_key from sync.outbox order by id desc limit 3`;
    table('Registrations').update(same!.source_key, { Notes: 'Edited in Airtable' });
    table('Registrations').update(other!.source_key, { 'Invoice Number': 'INV-AIRTABLE' });
    table('Registrations').delete(gone!.source_key);

    bed.emulator.resetStats();
    const summary = await bed.push({ tables: ['registrations'] });
    // one formula request for the 250 (too long for a URL: POST
    // .../listRecords), not one per record or per page of 100
    expect(reads()).toBe(1);
    expect(bed.emulator.stats.byRoute.listRecords).toBe(1);
    expect(Number(summary.run!.updated)).toBe(248);
    // the conflict saw Airtable's new value: it was read, not taken from the mirror
    expect(summary.conflicts).toHaveLength(1);
    const [conflict] = await bed.admin<{ source_key: string; remote_value: unknown; policy: string; resolution: string }[]>`
      select source_key, remote_value, policy, resolution from sync.conflicts where run_id = ${summary.run!.id}`;
    expect(conflict).toMatchObject({ source_key: same!.source_key, remote_value: 'Edited in Airtable', policy: 'source_wins', resolution: 'airtable' });
    expect(table('Registrations').get(same!.source_key)!.fields.Notes).toBe('Edited in Airtable');
    // the record changed in another field: ours sent, theirs kept
    const both = table('Registrations').get(other!.source_key)!.fields;
    expect(both.Notes).toBe(`Reviewed ${other!.source_key}`);
    expect(both['Invoice Number']).toBe('INV-AIRTABLE');
    // the rest, taken from the mirror, arrived
    const special = new Set([same!.source_key, other!.source_key, gone!.source_key]);
    for (const r of rows.filter((r) => !special.has(r.airtable_id))) expect(table('Registrations').get(r.airtable_id)!.fields.Notes).toBe(`Reviewed ${r.airtable_id}`);
    // the deleted record fails with the reason, nothing else does
    const failed = await bed.admin<{ source_key: string; last_error: string }[]>`select source_key, last_error from sync.outbox where status = 'failed'`;
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ source_key: gone!.source_key });
    expect(failed[0]!.last_error).toMatch(/is not in Airtable any more \(deleted there\?\).*ROW_DOES_NOT_EXIST|is not in Airtable any more \(deleted there\?\).*does not exist/);
  });

  it('reads by record id when the check record of the formula does not come back', async () => {
    await bed.admin`update sync.outbox set status = 'superseded' where status = 'failed'`;
    const rows = await bed.admin<{ id: string; airtable_id: string }[]>`
      select id, airtable_id from app.registrations where deleted_at is null and notes is null order by airtable_id limit 2`;
    await bed.admin`update app.registrations set notes = 'checked' where id = ${rows[0]!.id}`;
    await bed.admin`update app.registrations set notes = 'checked' where id = ${rows[1]!.id}`;
    table('Registrations').delete(rows[0]!.airtable_id); // the first claimed: the check
    bed.emulator.resetStats();
    const summary = await bed.push({ tables: ['registrations'] });
    expect(reads()).toBe(2); // the formula, then the ids
    expect(Number(summary.run!.updated)).toBe(1);
    expect(table('Registrations').get(rows[1]!.airtable_id)!.fields.Notes).toBe('checked');
    const [failed] = await bed.admin<{ last_error: string }[]>`select last_error from sync.outbox where row_id = ${rows[0]!.id} order by id desc limit 1`;
    expect(failed!.last_error).toMatch(/is not in Airtable any more/);
  });

  it('reads by record id when Airtable refuses the formula (the Last Modified field renamed since the last pull)', async () => {
    const lm = bed.mapping.tables.find((t) => t.entity === 'registrations')!.lastModifiedFieldId!;
    bed.emulator.base(bed.baseId).renameField('Registrations', lm, 'Changed At');
    const rows = await bed.admin<{ id: string; airtable_id: string }[]>`
      select id, airtable_id from app.registrations where deleted_at is null order by airtable_id desc limit 3`;
    await bed.admin`update app.registrations set invoice_number = 'INV-BY-ID-' || right(airtable_id, 4) where id in ${bed.admin(rows.map((r) => r.id))}`;
    table('Registrations').update(rows[0]!.airtable_id, { 'Invoice Number': 'INV-THEIRS' });
    bed.emulator.resetStats();
    const summary = await bed.push({ tables: ['registrations'] });
    expect(reads()).toBe(2); // the refused formula, then the ids
    expect(Number(summary.run!.updated)).toBe(2);
    expect(summary.conflicts).toHaveLength(1);
    expect(table('Registrations').get(rows[0]!.airtable_id)!.fields['Invoice Number']).toBe('INV-THEIRS');
    expect(table('Registrations').get(rows[1]!.airtable_id)!.fields['Invoice Number']).toBe(`INV-BY-ID-${rows[1]!.airtable_id.slice(-4)}`);
  });
});
