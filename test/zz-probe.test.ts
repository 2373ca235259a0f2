import { it } from 'vitest';
import { runVerify } from '../src/integrity/verify.ts';
import { syncBed } from './support/sync.ts';
it('probe', async () => {
  const bed = await syncBed({ seed: 83, registrations: 300, messiness: 0.04 });
  await bed.pull('full');
  const r = await runVerify(bed.sql, { actor: 'test' });
  for (const e of r.entities) for (const c of (e as any).checks) if (c.discrepancies_found > 0) console.log(e.entity, c.validation_type, JSON.stringify(c.discrepancy_details).slice(0, 2000));
  const p = await bed.admin`select entity, airtable_id, field, rule, landed, value, source_canonical from sync.field_problems where resolved_at is null and origin = 'merge'`;
  console.log(JSON.stringify(p).slice(0, 3000));
  await bed.close();
}, 120000);
