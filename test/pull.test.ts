/**
 * The one-way pull end to end: the real airtable client against the
 * emulator, a real PostgreSQL, the shipped mapping and merge functions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirtableClient, RateLimiter } from '../src/sources/airtable/client.ts';
import { freePort } from '../src/db/embedded.ts';
import { PullFailed } from '../src/pipeline/pull.ts';
import { checkDrift } from '../src/sources/airtable/drift.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

// problems the merge lands with the column emptied (or the first link kept), each an open field problem
const LANDED_FLAGGED: Record<string, string[]> = {
  'empty-primary': ['required_value'],
  'renewal-month-out-of-range': ['check_range'],
  'currency-huge': ['cell_conversion'],
  'dangling-link': ['dangling_link', 'extra_links'],
  'two-linked-records': ['extra_links'],
};
const MAPPED_TABLES: Record<string, string> = {
  Clients: 'app.clients',
  'State Regulators': 'app.state_regulators',
  Products: 'app.products',
  Registrations: 'app.registrations',
};

describe('a full pull of a messy base', () => {
  let bed: SyncBed;
  beforeAll(async () => {
    bed = await syncBed({ seed: 21, registrations: 400, messiness: 0.03 });
  });
  afterAll(async () => bed?.close());

  it('lands every record, flagging each problem on its field, and keeps raw fields in staging', async () => {
    const summary = await bed.pull('full');
    const run = summary.run;
    const total = bed.base.tables.reduce((sum, t) => sum + t.records.length, 0);
    expect(run.status).toBe('completed');
    expect(Number(run.fetched)).toBe(total);
    expect(Number(run.fetched)).toBe(Number(run.inserted) + Number(run.updated) + Number(run.unchanged) + Number(run.quarantined));
    expect(Number(run.updated) + Number(run.unchanged) + Number(run.deleted)).toBe(0);

    // every source record is in staging, its fields verbatim (by field id), unmapped fields included
    const [{ staged }] = await bed.admin<{ staged: number }[]>`select count(*)::int as staged from staging.source_records where run_id = ${run.id}`;
    expect(staged).toBe(total);
    const registrations = bed.base.tables.find((t) => t.name === 'Registrations')!;
    const formulaField = registrations.fields.find((f) => f.name === 'Registration')!;
    const sample = registrations.records.find((r) => r.fields['Registration'] !== undefined)!;
    const [raw] = await bed.admin<{ value: unknown }[]>`
      select fields -> ${formulaField.id} as value from staging.source_records where source_key = ${sample.id}`;
    expect(raw.value).toEqual(sample.fields['Registration']);

    // every record of every table landed: the shipped mapping has no blocking rule
    for (const table of bed.base.tables) {
      const [{ n }] = await bed.admin<{ n: number }[]>`select count(*)::int as n from ${bed.admin(MAPPED_TABLES[table.name])} where deleted_at is null`;
      expect(n, `${table.name}: rows in app`).toBe(table.records.length);
    }
    expect(Number(run.quarantined)).toBe(0);
    const [{ open_errors }] = await bed.admin<{ open_errors: number }[]>`select count(*)::int as open_errors from sync.record_errors where resolved_at is null`;
    expect(open_errors).toBe(0);

    // each planted problem the merge cannot land as sent is an open problem on its field, the column emptied
    // (or the first link kept), the row counting its open problems
    const problems = await bed.admin<{ source_key: string; field: string; column_name: string | null; rule: string; landed: string; origin: string; reason: string; link_key: string | null }[]>`
      select source_key, field, column_name, rule, landed, origin, reason, link_key from sync.field_problems where resolved_at is null`;
    const planted = bed.base.planted.filter((p) => p.kind in LANDED_FLAGGED && bed.mapping.tables.some((t) => t.fields.some((f) => f.fieldId === p.fieldId)));
    expect(planted.length).toBeGreaterThan(0);
    const entityOf = (tableName: string) => MAPPED_TABLES[tableName];
    for (const p of planted) {
      const found = problems.filter((x) => x.source_key === p.recordId && x.field === p.field && LANDED_FLAGGED[p.kind].includes(x.rule));
      expect(found.length, `${p.kind} in ${p.table}.${p.field} of ${p.recordId}`).toBe(1);
      const problem = found[0];
      expect(problem.origin).toBe('merge');
      const column = problem.column_name!;
      const [row] = await bed.admin<{ value: unknown; open_problem_count: number }[]>`
        select to_jsonb(t) -> ${column} as value, t.open_problem_count from ${bed.admin(entityOf(p.table))} t where t.airtable_id = ${p.recordId}`;
      expect(row, `row of ${p.recordId}`).toBeDefined();
      if (problem.landed === 'empty') expect(row.value, `${p.kind}: ${p.table}.${column} emptied`).toBeNull();
      else expect(row.value, `${p.kind}: first link kept`).not.toBeNull();
      const [{ open }] = await bed.admin<{ open: number }[]>`
        select count(*)::int as open from sync.field_problems where source_key = ${p.recordId} and resolved_at is null`;
      expect(row.open_problem_count).toBe(open);
      if (problem.rule === 'dangling_link') expect(problem.link_key).toBe((p.value as string[])[0]);
      if (problem.rule === 'extra_links') expect(problem.reason).toContain((p.value as string[])[1]);
    }
    // and no record has a problem of the merge's that was not planted on it (no cascade from a parent)
    const plantedIds = new Set(bed.base.planted.map((p) => p.recordId));
    const strays = problems.filter((x) => x.origin === 'merge' && !plantedIds.has(x.source_key));
    expect(strays, strays.map((x) => `${x.source_key} ${x.field}: ${x.reason}`).join('; ')).toEqual([]);
    // warnings of the mapping's rules are field problems too, the value kept
    const naEmail = bed.base.planted.find((p) => p.kind === 'na-email' && bed.mapping.tables.some((t) => t.fields.some((f) => f.fieldId === p.fieldId)));
    if (naEmail) {
      const warning = problems.find((x) => x.source_key === naEmail.recordId && x.field === naEmail.field && x.origin === 'rule');
      expect(warning?.landed, `n/a email of ${naEmail.recordId}`).toBe('kept');
    }

    // the audit trail has every insert, tagged with the run and the actor
    const [{ audited, tagged }] = await bed.admin<{ audited: number; tagged: number }[]>`
      select count(*)::int as audited, count(*) filter (where run_id = ${run.id} and actor = 'test')::int as tagged
      from audit.changes where table_name in ('app.clients', 'app.state_regulators', 'app.products', 'app.registrations') and op = 'INSERT'`;
    expect(audited).toBe(Number(run.inserted));
    expect(tagged).toBe(audited);
  });

  it('converts values faithfully: text as entered, money rounded to cents, links resolved', async () => {
    const clients = bed.base.tables.find((t) => t.name === 'Clients')!;
    const client = clients.records.find((r) => typeof r.fields['Client Name'] === 'string' && typeof r.fields['Annual Budget'] === 'number' && Math.abs(r.fields['Annual Budget'] as number) < 1e9)!;
    const [row] = await bed.admin<{ name: string; annual_budget: string }[]>`select name, annual_budget::text from app.clients where airtable_id = ${client.id}`;
    expect(row.name).toBe(client.fields['Client Name']);
    expect(Number(row.annual_budget)).toBeCloseTo(Math.round((client.fields['Annual Budget'] as number) * 100) / 100, 2);

    const [link] = await bed.admin<{ ok: boolean }[]>`
      select count(*) filter (where c.airtable_id = s.fields -> ${bed.mapping.tables.find((t) => t.entity === 'products')!.fields.find((f) => f.column === 'client_id')!.fieldId} ->> 0) = count(*) as ok
      from app.products p join app.clients c on c.id = p.client_id join staging.source_records s on s.source_key = p.airtable_id`;
    expect(link.ok).toBe(true);
  });

  it('running the same full pull again writes no app row and no audit row', async () => {
    const before = await bed.admin<{ n: number }[]>`select count(*)::int as n from audit.changes where table_name like 'app.%'`;
    const summary = await bed.pull('full');
    expect(Number(summary.run.inserted) + Number(summary.run.updated) + Number(summary.run.deleted)).toBe(0);
    const after = await bed.admin<{ n: number }[]>`select count(*)::int as n from audit.changes where table_name like 'app.%'`;
    expect(after[0].n).toBe(before[0].n);
    // quarantined records were retried, and stay quarantined without duplicate entries
    const [{ dupes }] = await bed.admin<{ dupes: number }[]>`
      select count(*)::int as dupes from (select 1 from sync.record_errors where resolved_at is null group by source_table, source_key, field, reason having count(*) > 1) d`;
    expect(dupes).toBe(0);
  });

  it('an incremental pull with nothing changed writes zero rows', async () => {
    const snapshot = () => bed.admin<{ app: string; audit: number; errors: number; staged: Date }[]>`
      select (select coalesce(sum(xmin::text::bigint), 0) from app.registrations)::text as app,
             (select count(*) from audit.changes where table_name like 'app.%')::int as audit,
             (select count(*) from sync.record_errors)::int as errors,
             (select max(fetched_at) from staging.source_records) as staged`;
    const [before] = await snapshot();
    const summary = await bed.pull('incremental');
    const [after] = await snapshot();
    expect(after).toEqual(before);
    const [{ written }] = await bed.admin<{ written: number }[]>`
      select count(*)::int as written from staging.source_records where run_id = ${summary.run.id}`;
    expect(written).toBe(0);
    expect(Number(summary.run.inserted) + Number(summary.run.updated) + Number(summary.run.deleted)).toBe(0);
  });
});

describe('changes in Airtable', () => {
  let bed: SyncBed;
  beforeAll(async () => {
    bed = await syncBed({ seed: 31, registrations: 300, messiness: 0 });
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  it('an incremental pull picks up exactly the edited and created records', async () => {
    const regs = bed.emulator.base(bed.baseId).table('Registrations');
    const all = regs.list();
    const edited = all.slice(0, 7);
    for (const r of edited) regs.update(r.id, { 'Invoice Number': `INV-EDIT-${r.id.slice(-4)}` });
    const created = regs.create({
      Product: [all[10].fields['Product'] as string[]][0],
      'State Regulator': all[10].fields['State Regulator'],
      Client: all[10].fields['Client'],
      Status: 'Submitted',
      'Submitted Date': '2026-11-02',
    });
    const summary = await bed.pull('incremental');
    const regsSummary = summary.tables.find((t) => t.entity === 'registrations')!;
    expect(regsSummary.inserted).toBe(1);
    expect(regsSummary.updated).toBe(7);
    const rows = await bed.admin<{ airtable_id: string; invoice_number: string }[]>`
      select airtable_id, invoice_number from app.registrations where airtable_id in ${bed.admin(edited.map((r) => r.id))}`;
    expect(rows.every((r) => r.invoice_number === `INV-EDIT-${r.airtable_id.slice(-4)}`)).toBe(true);
    const [newRow] = await bed.admin<{ status: string }[]>`select status from app.registrations where airtable_id = ${created.id}`;
    expect(newRow.status).toBe('Submitted');
    const audited = await bed.admin<{ n: number }[]>`
      select count(*)::int as n from audit.changes where run_id = ${summary.run.id} and table_name = 'app.registrations'`;
    expect(audited[0].n).toBe(8);
  });

  it('a full pull soft-deletes exactly the deleted records, and restores one that reappears', async () => {
    const regs = bed.emulator.base(bed.baseId).table('Registrations');
    const gone = regs.list().slice(20, 25).map((r) => r.id);
    for (const id of gone) regs.delete(id);
    const incremental = await bed.pull('incremental');
    expect(Number(incremental.run.deleted)).toBe(0); // deletions are invisible to incremental reads
    const summary = await bed.pull('full');
    expect(Number(summary.run.deleted)).toBe(5);
    const deleted = await bed.admin<{ airtable_id: string }[]>`
      select airtable_id from app.registrations where deleted_at is not null order by airtable_id`;
    expect(deleted.map((d) => d.airtable_id)).toEqual([...gone].sort());

    // a row soft-deleted here whose record still exists in Airtable: the
    // pull leaves it deleted while its delete waits in the outbox; the push
    // reports it (deletes are not pushed for the table), and the next full
    // pull restores it from Airtable
    const keep = regs.list()[0].id;
    await bed.admin`update app.registrations set deleted_at = now() where airtable_id = ${keep}`;
    await bed.admin`update staging.source_records set content_hash = repeat('0', 64) where source_key = ${keep}`;
    const held = await bed.pull('full');
    expect(Number(held.run.deleted)).toBe(0);
    const [stillDeleted] = await bed.admin<{ deleted_at: Date | null }[]>`select deleted_at from app.registrations where airtable_id = ${keep}`;
    expect(stillDeleted.deleted_at).not.toBeNull();
    const pushed = await bed.push();
    expect(Number(pushed.run!.deleted)).toBe(0);
    expect(pushed.run!.metadata.deletes_not_pushed).toBe(1);
    expect(regs.get(keep)).toBeDefined();
    const [report] = await bed.admin<{ status: string; last_error: string }[]>`
      select status, last_error from sync.outbox where source_key = ${keep}`;
    expect(report).toEqual({ status: 'skipped', last_error: 'not deleted in Airtable: deletes are not pushed for registrations (sync.entity_mappings.push_deletes)' });
    await bed.admin`update staging.source_records set content_hash = repeat('0', 64) where source_key = ${keep}`;
    const again = await bed.pull('full');
    expect(Number(again.run.updated)).toBe(1);
    const [restored] = await bed.admin<{ deleted_at: Date | null }[]>`select deleted_at from app.registrations where airtable_id = ${keep}`;
    expect(restored.deleted_at).toBeNull();
    const trail = await bed.admin<{ changed_columns: string[] }[]>`
      select changed_columns from audit.changes where record_id = (select id::text from app.registrations where airtable_id = ${keep}) and op = 'UPDATE' order by id`;
    expect(trail.at(-1)!.changed_columns).toContain('deleted_at');
  });
});

describe('schema drift', () => {
  let bed: SyncBed;
  beforeAll(async () => {
    bed = await syncBed({ seed: 41, registrations: 120, messiness: 0 });
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  it('keeps working through a renamed field and warns about it and about a new field, whose values stay in staging', async () => {
    const base = bed.emulator.base(bed.baseId);
    const status = bed.mapping.tables.find((t) => t.entity === 'registrations')!.fields.find((f) => f.column === 'status')!;
    base.renameField('Registrations', status.fieldId, 'Registration Status');
    base.addField('Registrations', { id: 'fldNEWFIELD000001', name: 'Tonnage (t)', type: 'number', options: { precision: 1 } });
    const regs = base.table('Registrations');
    const target = regs.list()[3];
    regs.update(target.id, { 'Registration Status': 'Withdrawn', 'Tonnage (t)': 12.5 });
    const summary = await bed.pull('incremental');
    expect(summary.warnings.some((w) => w.includes(status.fieldId) && w.includes('"Registration Status"'))).toBe(true);
    expect(summary.warnings.some((w) => w.includes('fldNEWFIELD000001') && w.includes('kept in staging'))).toBe(true);
    const [row] = await bed.admin<{ status: string; tonnage: number }[]>`
      select r.status, (s.fields ->> 'fldNEWFIELD000001')::float8 as tonnage
      from app.registrations r join staging.source_records s on s.source_key = r.airtable_id where r.airtable_id = ${target.id}`;
    expect(row).toEqual({ status: 'Withdrawn', tonnage: 12.5 });
  });

  it('refuses a Last Modified field that watches only some of the mapped fields, naming the others', async () => {
    const metadata = await bed.client.metadata();
    const clients = bed.mapping.tables.find((t) => t.entity === 'clients')!;
    const live = metadata.find((t) => t.id === clients.tableId)!;
    expect(checkDrift(bed.mapping, metadata).errors).toEqual([]);
    const name = clients.fields.find((f) => f.column === 'name')!;
    const email = clients.fields.find((f) => f.column === 'email')!;
    const lm = live.fields.find((f) => f.id === clients.lastModifiedFieldId)!;
    // watching every mapped editable field is fine, watching two is not
    const editable = clients.fields.filter((f) => f.column && !['formula', 'rollup', 'count', 'multipleLookupValues', 'lastModifiedTime', 'createdTime'].includes(f.airtableType!));
    lm.options = { ...lm.options, referencedFieldIds: editable.map((f) => f.fieldId) };
    expect(checkDrift(bed.mapping, metadata).errors).toEqual([]);
    lm.options = { ...lm.options, referencedFieldIds: [name.fieldId, email.fieldId] };
    const errors = checkDrift(bed.mapping, metadata).errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`the Last Modified field ${clients.lastModifiedFieldId} ("Last Modified") of table "Clients" watches only some fields`);
    expect(errors[0]).toContain('"Status"');
    expect(errors[0]).not.toContain('"Client Name"');
  });

  it('fails the run naming a mapped field that changed type, and one that is gone', async () => {
    const base = bed.emulator.base(bed.baseId);
    const fee = bed.mapping.tables.find((t) => t.entity === 'registrations')!.fields.find((f) => f.column === 'fee_paid')!;
    base.changeFieldType('Registrations', fee.fieldId, 'singleLineText');
    const failure = await bed.pull('incremental').catch((e) => e);
    expect(failure).toBeInstanceOf(PullFailed);
    expect(failure.message).toContain(`field ${fee.fieldId} ("Fee Paid") of table "Registrations" changed type from currency to singleLineText`);
    const notes = bed.mapping.tables.find((t) => t.entity === 'clients')!.fields.find((f) => f.column === 'notes')!;
    base.removeField('Clients', notes.fieldId);
    const gone = await bed.pull('incremental').catch((e) => e);
    expect(gone.message).toContain(`field ${notes.fieldId} ("Notes") of table "Clients" is gone`);
    const [run] = await bed.admin<{ status: string; error_message: string }[]>`select status, error_message from sync.runs order by id desc limit 1`;
    expect(run.status).toBe('failed');
    expect(run.error_message).toContain('is gone');
  });
});

describe('Airtable failures', () => {
  it('a wrong token fails with one clear message, writes nothing, and leaves a failed run with its resume point', async () => {
    const bed = await syncBed({ seed: 51, registrations: 30, messiness: 0 });
    try {
      const broken = new AirtableClient({ ...bed.client.options, token: 'patWRONG.token' });
      const failure = await bed.pull('full', { client: broken }).catch((e) => e);
      expect(failure).toBeInstanceOf(PullFailed);
      expect(failure.message).toMatch(/^Airtable refused the token \(401\)/);
      expect(failure.message).not.toContain('patWRONG');
      expect(failure.resumePoint).toContain(`run ${failure.runId}`);
      const [{ staged }] = await bed.admin<{ staged: number }[]>`select count(*)::int as staged from staging.source_records`;
      expect(staged).toBe(0);
      const [run] = await bed.admin<{ status: string; error_message: string }[]>`select status, error_message from sync.runs where id = ${failure.runId}`;
      expect(run.status).toBe('failed');
      expect(run.error_message).toContain('401');
    } finally {
      await bed.close();
    }
  });

  it('a wrong base is named as such', async () => {
    const bed = await syncBed({ seed: 52, registrations: 30, messiness: 0 });
    try {
      const client = new AirtableClient({ token: bed.emulator.token, baseId: 'appNOSUCHBASE0001', endpointUrl: bed.emulator.url, requestsPerSecond: 100 });
      const failure = await bed.pull('full', { client }).catch((e) => e);
      expect(failure).toBeInstanceOf(PullFailed);
      expect(failure.message).toMatch(/Airtable found no base appNOSUCHBASE0001 \(metadata\) \((403|404)/);
    } finally {
      await bed.close();
    }
  });

  it('an unreachable endpoint fails after bounded retries with a clear message', async () => {
    const bed = await syncBed({ seed: 53, registrations: 30, messiness: 0 });
    try {
      const client = new AirtableClient({ token: 'x', baseId: bed.baseId, endpointUrl: `http://127.0.0.1:${await freePort()}`, requestsPerSecond: 100, maxAttempts: 3, backoffMs: 5 });
      const failure = await bed.pull('full', { client }).catch((e) => e);
      expect(failure).toBeInstanceOf(PullFailed);
      expect(failure.message).toMatch(/could not be reached.*gave up after 3 attempts/);
    } finally {
      await bed.close();
    }
  });

  it('retries 5xx and network errors, waits out 429s, and resumes an expired listing without duplicates, merging in batches meanwhile', async () => {
    const bed = await syncBed({
      seed: 54,
      registrations: 450,
      messiness: 0,
      // a client paced far above the base's limit: 429s, whatever the speed of the machine
      emulator: { rateLimit: { requestsPerSecond: 3, penaltyMs: 300 } },
      client: { requestsPerSecond: 20, rateLimitPenaltyMs: 300 },
    });
    try {
      bed.emulator.injectFailure({ path: /Registrations|tblmNqfo6lv6OCavM/, status: 503, count: 2 });
      bed.emulator.injectFailure({ path: /Products|tblTtyLvxr2Ta4SfO/, status: 'network', count: 1 });
      let pages = 0;
      const summary = await bed.pull('full', {
        // merge in batches of a page or more while listing, across the restart
        mergeBatchRecords: 100,
        progress: {
          tableStarted: () => undefined,
          pageStaged: (entity) => {
            if (entity === 'registrations' && ++pages === 2) bed.emulator.restart(); // the next offset is now unknown
          },
          tableFinished: () => undefined,
        },
      });
      expect(bed.emulator.stats.rateLimited).toBeGreaterThan(0);
      expect(bed.client.limiter.penalties).toBeGreaterThan(0);
      const total = bed.base.tables.reduce((sum, t) => sum + t.records.length, 0);
      expect(Number(summary.run.fetched)).toBe(total);
      const [{ rows, distinct }] = await bed.admin<{ rows: number; distinct: number }[]>`
        select count(*)::int as rows, count(distinct airtable_id)::int as distinct from app.registrations`;
      expect(rows).toBe(450);
      expect(distinct).toBe(450);
      // the expired listing resumed after the last record staged, not from the beginning
      const [checkpoint] = await bed.admin<{ attempt: number; resumes: number }[]>`
        select (metadata ->> 'listing_attempt')::int as attempt, (metadata ->> 'resumes')::int as resumes
        from sync.checkpoints where run_id = ${summary.run.id} and entity_type = 'registrations'`;
      expect(checkpoint).toEqual({ attempt: 1, resumes: 1 });
      // the registrations merged in several batches, which add up to the run's counts
      const [merged] = await bed.admin<{ batches: number; fetched: number; inserted: number; quarantined: number }[]>`
        select (metadata ->> 'merge_batches')::int as batches, (metadata -> 'merge' ->> 'fetched')::int as fetched,
               (metadata -> 'merge' ->> 'inserted')::int as inserted, (metadata -> 'merge' ->> 'quarantined')::int as quarantined
        from sync.checkpoints where run_id = ${summary.run.id} and entity_type = 'registrations'`;
      expect(merged.batches).toBeGreaterThan(1);
      expect(merged).toMatchObject({ fetched: 450, inserted: 450, quarantined: 0 });
    } finally {
      await bed.close();
    }
  });
});

describe('the rate limiter', () => {
  it('admits at most its rate per window, in order, with urgent requests ahead of those waiting', async () => {
    const limiter = new RateLimiter(2, 1_000, 150);
    const order: string[] = [];
    const startedAt: number[] = [];
    const t0 = Date.now();
    const take = (name: string, urgent = false) =>
      limiter.acquire(urgent).then(async (sent) => {
        const answered = sent();
        order.push(name);
        startedAt.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 40)); // the answer takes 40 ms
        answered();
      });
    const all = [take('w1'), take('w2'), take('w3'), take('w4'), take('w5')];
    await new Promise((r) => setTimeout(r, 20)); // w1 and w2 are out, w3..w5 wait
    all.push(take('read', true), take('read2', true));
    await Promise.all(all);
    // The reads go ahead of the writes still waiting (each in the last free
    // slot of its burst, nothing after a read until it is answered: which
    // write shares a burst with a read depends on how the slots free up);
    // the writes keep their order, and so do the reads.
    const at = (name: string) => order.indexOf(name);
    expect(order.filter((n) => n.startsWith('w'))).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
    expect(at('read')).toBeLessThan(at('read2'));
    expect(at('read')).toBeLessThan(at('w4'));
    expect(at('read2')).toBeLessThan(at('w5'));
    // never more than 2 starts within any 150 ms
    for (let i = 2; i < startedAt.length; i++) expect(startedAt[i]! - startedAt[i - 2]!).toBeGreaterThanOrEqual(145);
    // a slot freed while a read is out waits for its answer
    const alone = new RateLimiter(2, 1_000, 100);
    const events: string[] = [];
    const readSent = await alone.acquire(true);
    const readAnswered = readSent();
    const write = alone.acquire().then((sent) => (sent(), events.push('write started')));
    await new Promise((r) => setTimeout(r, 60));
    events.push('read answered');
    readAnswered();
    await write;
    expect(events).toEqual(['read answered', 'write started']);
  });
});
