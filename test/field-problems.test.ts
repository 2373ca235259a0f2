/**
 * Records land with their problems flagged on the field (issue 15), end to
 * end against the emulator and a real PostgreSQL: a link to a record that
 * appears later is filled by a later merge without the linking record
 * changing; a problem fixed in Airtable is closed by the run that saw it;
 * a problem's value changing keeps the row's checksum equal to its source;
 * the push never sends a value airlift emptied; a rollback puts the
 * problems back with the rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirlift } from './support/cli.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

describe('field problems', () => {
  let bed: SyncBed;
  const table = (name: string) => bed.emulator.base(bed.baseId).table(name);
  const problems = (airtableId: string) =>
    bed.admin<{ field: string; rule: string; landed: string; value: unknown; link_key: string | null; resolved_by_run_id: string | null }[]>`
      select field, rule, landed, value, link_key, resolved_by_run_id::text from sync.field_problems where source_key = ${airtableId} order by created_at, rule`;
  const checksumsAgree = async (airtableId: string) => {
    const [row] = await bed.admin<{ same: boolean }[]>`
      select c.checksum = s.checksum as same from sync.target_checksums c join staging.source_records s on s.source_key = c.source_key
      where c.source_key = ${airtableId}`;
    return row?.same;
  };

  beforeAll(async () => {
    bed = await syncBed({ seed: 97, registrations: 120, messiness: 0 });
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  it('a link to a record not merged yet lands empty, and a later merge fills it without the record changing', async () => {
    const [client] = table('Clients').list();
    const [regulator] = table('State Regulators').list();
    const product = table('Products').create({ 'Product Name': 'Late Arrival Spray', Client: [client!.id] });
    const registration = table('Registrations').create({ Product: [product.id], Client: [client!.id], 'State Regulator': [regulator!.id], Status: 'Submitted' });

    // only the registrations are pulled: their product is not in app.products yet
    const first = await bed.pull('incremental', { tables: ['registrations'] });
    expect(Number(first.run.quarantined)).toBe(0);
    const [landed] = await bed.admin<{ product_id: string | null; client_id: string | null; open_problem_count: number }[]>`
      select product_id, client_id, open_problem_count from app.registrations where airtable_id = ${registration.id}`;
    expect(landed).toMatchObject({ product_id: null, open_problem_count: 1 });
    expect(landed!.client_id).not.toBeNull();
    expect(await problems(registration.id)).toEqual([
      { field: 'Product', rule: 'dangling_link', landed: 'empty', value: [product.id], link_key: product.id, resolved_by_run_id: null },
    ]);
    expect(await checksumsAgree(registration.id)).toBe(true);

    // the next pull lists the product; the registration is not listed again
    // (no overlap window), and the merge of registrations resolves the link
    const second = await bed.pull('incremental', { overlapSeconds: 0 });
    const [{ listed }] = await bed.admin<{ listed: number }[]>`
      select count(*)::int as listed from staging.source_records where source_key = ${registration.id} and run_id = ${second.run.id}`;
    expect(listed).toBe(0);
    const [linked] = await bed.admin<{ product: string; open_problem_count: number }[]>`
      select p.airtable_id as product, r.open_problem_count from app.registrations r join app.products p on p.id = r.product_id
      where r.airtable_id = ${registration.id}`;
    expect(linked).toEqual({ product: product.id, open_problem_count: 0 });
    expect((await problems(registration.id))[0]!.resolved_by_run_id).toBe(String(second.run.id));
    expect(await checksumsAgree(registration.id)).toBe(true);
    // the resolution is audited under the run, like any change the sync makes
    const [audited] = await bed.admin<{ n: number }[]>`
      select count(*)::int as n from audit.changes
      where run_id = ${second.run.id} and table_name = 'app.registrations' and 'product_id' = any (changed_columns)`;
    expect(audited!.n).toBe(1);
  });

  it('a value out of range lands empty; a change to another bad value keeps the checksums equal; the fix closes the problem', async () => {
    const [regulator] = table('State Regulators').list();
    table('State Regulators').update(regulator!.id, { 'Renewal Month': 13 });
    const bad = await bed.pull('incremental');
    const [row] = await bed.admin<{ renewal_month: number | null; open_problem_count: number }[]>`
      select renewal_month, open_problem_count from app.state_regulators where airtable_id = ${regulator!.id}`;
    expect(row).toEqual({ renewal_month: null, open_problem_count: 1 });
    expect(await checksumsAgree(regulator!.id)).toBe(true);

    table('State Regulators').update(regulator!.id, { 'Renewal Month': 14 });
    await bed.pull('incremental');
    const open = (await problems(regulator!.id)).filter((p) => p.resolved_by_run_id === null);
    expect(open).toEqual([{ field: 'Renewal Month', rule: 'check_range', landed: 'empty', value: 14, link_key: null, resolved_by_run_id: null }]);
    expect(await checksumsAgree(regulator!.id)).toBe(true);

    // verification reports it as landed with problems, not as a discrepancy
    const verify = JSON.parse((await runAirlift(['verify', '--json', '--table', 'state_regulators'], { DATABASE_URL: bed.db.url })).stdout);
    expect(verify.discrepancies).toBe(0);
    expect(verify.landedWithProblems.groups).toContainEqual(expect.objectContaining({
      entity: 'state_regulators', field: 'Renewal Month', rule: 'check_range', disposition: 'empty', count: 1,
    }));

    table('State Regulators').update(regulator!.id, { 'Renewal Month': 4 });
    const fixed = await bed.pull('incremental');
    const [after] = await bed.admin<{ renewal_month: number; open_problem_count: number }[]>`
      select renewal_month, open_problem_count from app.state_regulators where airtable_id = ${regulator!.id}`;
    expect(after).toEqual({ renewal_month: 4, open_problem_count: 0 });
    expect((await problems(regulator!.id)).every((p) => p.resolved_by_run_id === String(fixed.run.id))).toBe(true);
    expect(Number(bad.run.quarantined) + Number(fixed.run.quarantined)).toBe(0);
  });

  it('the push never sends a value airlift emptied: only the columns changed here go to Airtable', async () => {
    const [client] = table('Clients').list().filter((c) => typeof c.fields['Annual Budget'] === 'number');
    table('Clients').update(client!.id, { 'Annual Budget': 99999999999.99 }); // too large for money: lands empty
    await bed.pull('incremental');
    const [row] = await bed.admin<{ id: string; annual_budget: string | null }[]>`select id, annual_budget from app.clients where airtable_id = ${client!.id}`;
    expect(row!.annual_budget).toBeNull();

    await bed.admin`update app.clients set notes = 'Budget under review' where id = ${row!.id}`;
    const pushed = await bed.push();
    expect(Number(pushed.run!.updated)).toBe(1);
    const inAirtable = table('Clients').get(client!.id)!.fields;
    expect(inAirtable.Notes).toBe('Budget under review');
    expect(inAirtable['Annual Budget']).toBe(99999999999.99);
    const [entry] = await bed.admin<{ changed_columns: string[] }[]>`
      select changed_columns from sync.outbox where row_id = ${row!.id} order by id desc limit 1`;
    expect(entry!.changed_columns).toEqual(['notes']);
  });

  it('a value set here in a column the merge left empty is pushed as a change made here, and the next pull closes the problem', async () => {
    const regulator = table('State Regulators').list()[1]!;
    table('State Regulators').update(regulator.id, { 'Renewal Month': 13 });
    await bed.pull('incremental');
    const [row] = await bed.admin<{ id: string; renewal_month: number | null }[]>`select id, renewal_month from app.state_regulators where airtable_id = ${regulator.id}`;
    expect(row!.renewal_month).toBeNull();

    // the default policy is source_wins: with the empty value as base, Airtable's 13 would count as a change there
    await bed.admin`update app.state_regulators set renewal_month = 6 where id = ${row!.id}`;
    const pushed = await bed.push();
    expect(pushed.conflicts).toEqual([]);
    expect(Number(pushed.run!.updated)).toBe(1);
    expect(table('State Regulators').get(regulator.id)!.fields['Renewal Month']).toBe(6);
    const pulled = await bed.pull('incremental');
    const [after] = await bed.admin<{ renewal_month: number; open_problem_count: number }[]>`
      select renewal_month, open_problem_count from app.state_regulators where airtable_id = ${regulator.id}`;
    expect(after).toEqual({ renewal_month: 6, open_problem_count: 0 });
    expect((await problems(regulator.id)).filter((p) => p.rule === 'check_range').every((p) => p.resolved_by_run_id === String(pulled.run.id))).toBe(true);
  });

  it('a rollback of a run puts its problems back with its rows, and the table checksums as they were', async () => {
    const checksums = () => bed.admin<{ entity: string; target_checksum: string }[]>`
      select m.entity, c.target_checksum from sync.entity_mappings m cross join lateral sync.entity_checksums(m.entity) c order by m.entity`;
    const openProblems = () => bed.admin<{ source_key: string; rule: string }[]>`
      select source_key, rule from sync.field_problems where resolved_at is null order by 1, 2`;
    const before = await checksums();
    const problemsBefore = await openProblems();
    const [product] = table('Products').list();
    table('Products').update(product!.id, { 'Product Name': '   ' }); // blank primary field: lands empty
    const run = await bed.pull('incremental');
    expect((await openProblems()).some((p) => p.source_key === product!.id && p.rule === 'required_value')).toBe(true);

    const rolled = await runAirlift(['rollback', '--run', String(run.run.id)], { DATABASE_URL: bed.db.url });
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(await openProblems()).toEqual(problemsBefore);
    expect(await checksums()).toEqual(before);
  });
});
