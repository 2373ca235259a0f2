/**
 * Rows an application inserts into app.* before the first pull (no mapping
 * loaded yet: sync.entity_mappings is empty) are captured in the outbox, as
 * the airlift_app role writes them, and reach Airtable with the first push
 * after that pull: nothing written before the first pull is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/database.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

describe('rows an application inserts before the first pull', () => {
  let bed: SyncBed;

  beforeAll(async () => {
    bed = await syncBed({ seed: 73, registrations: 100, messiness: 0 });
  });
  afterAll(async () => bed?.close());

  it('are captured with no mapping loaded yet, and reach Airtable with the first push after the first pull', async () => {
    const [{ mappings }] = await bed.admin<{ mappings: number }[]>`select count(*)::int as mappings from sync.entity_mappings`;
    expect(mappings).toBe(0);
    const app = connect(urlWithSession(bed.db.url, 'airlift_app', { 'airlift.actor': 'app' }), { max: 1 });
    let client: { id: string };
    let product: { id: string };
    try {
      [client] = await app<{ id: string }[]>`insert into app.clients (name, status) values ('Early Bird Chemicals', 'Prospect') returning id`;
      [product] = await app<{ id: string }[]>`
        insert into app.products (name, client_id, product_type, discontinued) values ('Early Spray', ${client!.id}, 'Fertilizer', false) returning id`;
      await app`update app.clients set notes = 'entered before the first pull' where id = ${client!.id}`;
      // created and deleted before it ever reached Airtable: nothing to send
      await app`insert into app.clients (name) values ('Never Mind Ltd')`;
      await app`delete from app.clients where name = 'Never Mind Ltd'`;
    } finally {
      await app.end();
    }
    const entries = await bed.admin<{ entity: string; operation: string; status: string; changed_by: string }[]>`
      select entity, operation, status, changed_by from sync.outbox order by id`;
    expect(entries).toEqual([
      { entity: 'clients', operation: 'create', status: 'pending', changed_by: 'app' },
      { entity: 'products', operation: 'create', status: 'pending', changed_by: 'app' },
      { entity: 'clients', operation: 'create', status: 'superseded', changed_by: 'app' },
    ]);

    const before = bed.tableCounts();
    await bed.pull('full');
    const pushed = await bed.push();
    expect(Number(pushed.run!.inserted)).toBe(2);
    const [c] = await bed.admin<{ airtable_id: string }[]>`select airtable_id from app.clients where id = ${client!.id}`;
    const [p] = await bed.admin<{ airtable_id: string }[]>`select airtable_id from app.products where id = ${product!.id}`;
    const base = bed.emulator.base(bed.baseId);
    expect(base.table('Clients').get(c!.airtable_id)!.fields).toMatchObject({
      'Client Name': 'Early Bird Chemicals',
      Status: 'Prospect',
      Notes: 'entered before the first pull',
    });
    expect(base.table('Products').get(p!.airtable_id)!.fields).toMatchObject({ 'Product Name': 'Early Spray', Client: [c!.airtable_id], 'Product Type': 'Fertilizer' });
    expect(bed.tableCounts()).toEqual({ ...before, Clients: before.Clients! + 1, Products: before.Products! + 1 });
    expect(base.table('Clients').list().filter((r) => r.fields['Client Name'] === 'Never Mind Ltd')).toEqual([]);
    const [{ open }] = await bed.admin<{ open: number }[]>`select count(*)::int as open from sync.outbox where status in ('pending', 'in_flight', 'failed')`;
    expect(open).toBe(0);
  });
});
