/**
 * Validation rules end to end: a messy generated base pulled from the
 * emulator. The run's validation report names exactly the planted problems
 * the rules are meant to catch, each by record, field, value and rule, with
 * the quarantine of the same run; the expected findings are computed here
 * from the generated data itself (duplicates, a registration's client against
 * its product's), not from the database. Warnings never change the data; a
 * rule a DBA makes blocking quarantines on the next run, and a fix in
 * Airtable releases the record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirtableRecord } from '../tools/emulator/emulator.ts';
import { runAirlift } from './support/cli.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

interface Finding {
  record: string;
  field: string | null;
  value: unknown;
  rule: string;
  severity: 'blocking' | 'warning';
  reason: string;
  duplicates?: string[];
}

/** Planted kinds -> the rule (by its column-independent suffix) that must report them. */
const MERGE_RULES = new Set(['extra_links', 'cell_conversion', 'check_range', 'required_value', 'dangling_link']);
const KIND_RULE: Record<string, string | null> = {
  whitespace: 'trimmed',
  'na-email': 'format',
  'currency-3-decimals': 'max_decimals',
  'currency-negative': 'range',
  'approval-before-submission': 'not_before_submission',
  'new-select-option': 'allowed_values',
  // the merge's own checks: the record lands with the problem flagged on the field
  'two-linked-records': 'extra_links',
  'currency-huge': 'cell_conversion',
  'renewal-month-out-of-range': 'check_range',
  'empty-primary': 'required_value',
  'dangling-link': 'dangling_link',
  // computed from the data below
  'case-duplicate': null,
  'client-mismatch': null,
  // valid data, or unmapped fields: nothing to report
  accents: null,
  cjk: null,
  emoji: null,
  'huge-text': null,
  'formula-error': null,
  'formula-nan': null,
  'phone-format': null,
};
/** The generator's phone numbers that no one can dial (the others are valid formats). */
const UNDIALABLE = new Set(['555-0134', '1-800-FERTILE', 'call front desk', '515 555 0134 / 515 555 0199']);

describe('validation rules', () => {
  let bed: SyncBed;
  let runId: string;
  let findings: Finding[];
  const records = new Map<string, { table: string; record: AirtableRecord }>();
  const firstLink = (value: unknown) => (Array.isArray(value) ? (value[0] as string | undefined) : undefined);

  beforeAll(async () => {
    bed = await syncBed({ seed: 83, registrations: 600, messiness: 0.05 });
    for (const t of bed.base.tables) for (const r of t.records) records.set(r.id, { table: t.name, record: r });
    const summary = await bed.pull('full');
    runId = String(summary.run.id);
    const rows = await bed.admin<{ d: Finding }[]>`
      select d from sync.validation_reports, jsonb_array_elements(discrepancy_details) d
      where run_id = ${runId} and validation_criteria ->> 'check' = 'validation_rules'`;
    findings = rows.map((r) => r.d);
  });
  afterAll(async () => bed?.close());

  it('reports exactly the planted problems the rules cover, by record, field, value and rule', async () => {
    const entityOf = (table: string) => bed.mapping.tables.find((t) => t.tableName === table)!.entity;
    const columnOf = (table: string, fieldId: string) => bed.mapping.tables.find((t) => t.tableName === table)!.fields.find((f) => f.fieldId === fieldId)?.column;
    const expected = new Set<string>();
    for (const p of bed.base.planted) {
      let rule = KIND_RULE[p.kind];
      if (p.kind === 'phone-format' && UNDIALABLE.has(String(p.value))) rule = 'format';
      // a dead link beside a live one: the first (live) one lands, the dead one is named as an extra link
      if (p.kind === 'dangling-link' && Array.isArray(p.value) && p.value.length > 1) rule = 'extra_links';
      if (!rule) continue;
      if (MERGE_RULES.has(rule) && !columnOf(p.table, p.fieldId)) continue;
      expected.add(MERGE_RULES.has(rule) ? `${p.recordId} ${rule}` : rule === 'not_before_submission' ? `${p.recordId} registrations.approved_date.not_before_submission`
        : `${p.recordId} ${entityOf(p.table)}.${columnOf(p.table, p.fieldId)}.${rule}`);
    }
    // Duplicates by normalized name, from the generated data.
    for (const [table, field, entity] of [['Clients', 'Client Name', 'clients'], ['Products', 'Product Name', 'products']] as const) {
      const groups = new Map<string, string[]>();
      for (const r of bed.base.tables.find((t) => t.name === table)!.records) {
        const name = r.fields[field];
        if (typeof name !== 'string' || !name.trim()) continue;
        const key = name.trim().replace(/\s+/g, ' ').toLowerCase();
        groups.set(key, [...(groups.get(key) ?? []), r.id]);
      }
      for (const ids of groups.values()) if (ids.length > 1) for (const id of ids) expected.add(`${id} ${entity}.name.duplicate`);
    }
    // A registration's client against its product's client, from the data.
    for (const r of bed.base.tables.find((t) => t.name === 'Registrations')!.records) {
      const client = firstLink(r.fields.Client);
      const product = records.get(firstLink(r.fields.Product) ?? '')?.record;
      const productClient = firstLink(product?.fields.Client);
      if (client && productClient && client !== productClient) expected.add(`${r.id} registrations.client_id.matches_product_client`);
    }
    expect(bed.base.planted.some((p) => p.kind === 'case-duplicate')).toBe(true);
    expect(bed.base.planted.some((p) => p.kind === 'client-mismatch')).toBe(true);

    // No cascade: a record linking to a record with problems has none of its
    // own, and nothing is quarantined (the shipped mapping has no blocking rule).
    expect(findings.filter((f) => f.severity === 'blocking')).toEqual([]);
    const reported = new Set(findings.map((f) => `${f.record} ${f.rule}`));
    expect(expected.size).toBeGreaterThan(20);
    expect([...reported].sort()).toEqual([...expected].sort());
  });

  it('names the field, the value as Airtable sent it, the rule and its severity', () => {
    const email = bed.base.planted.find((p) => p.kind === 'na-email')!;
    const finding = findings.find((f) => f.record === email.recordId && f.rule.endsWith('.format'))!;
    expect(finding).toMatchObject({ field: email.field, value: email.value, severity: 'warning' });
    expect(finding.reason).toMatch(/must be a valid email address \(rule (clients\.email|state_regulators\.contact_email)\.format\)$/);

    const duplicate = findings.find((f) => f.rule === 'clients.name.duplicate' || f.rule === 'products.name.duplicate')!;
    expect(duplicate.duplicates!.length).toBeGreaterThan(0);
    for (const other of duplicate.duplicates!) {
      const name = (id: string) => String(records.get(id)!.record.fields[duplicate.field!]).trim().replace(/\s+/g, ' ').toLowerCase();
      expect(name(other)).toBe(name(duplicate.record));
    }

    const twoLinks = bed.base.planted.find((p) => p.kind === 'two-linked-records')!;
    expect(findings.find((f) => f.record === twoLinks.recordId && f.rule === 'extra_links')).toMatchObject({
      field: 'Product', value: twoLinks.value, severity: 'warning',
      reason: `Product links 2 records where one is kept: ${(twoLinks.value as string[])[0]} is linked, not ${(twoLinks.value as string[])[1]}`,
    });
  });

  it('lands a record with two products with the first, the second named in its problem, and keeps warnings merged exactly as the source says', async () => {
    const twoLinks = bed.base.planted.find((p) => p.kind === 'two-linked-records')!;
    expect(await bed.admin`select 1 from sync.record_errors where source_key = ${twoLinks.recordId} and resolved_at is null`).toHaveLength(0);
    const [row] = await bed.admin<{ product: string; open_problem_count: number }[]>`
      select p.airtable_id as product, r.open_problem_count from app.registrations r join app.products p on p.id = r.product_id
      where r.airtable_id = ${twoLinks.recordId}`;
    expect(row.product).toBe((twoLinks.value as string[])[0]);
    expect(row.open_problem_count).toBeGreaterThanOrEqual(1);
    const [problem] = await bed.admin<{ landed: string; value: unknown }[]>`
      select landed, value from sync.field_problems where source_key = ${twoLinks.recordId} and rule = 'extra_links' and resolved_at is null`;
    expect(problem).toEqual({ landed: 'first_link', value: twoLinks.value });

    const email = bed.base.planted.find((p) => p.kind === 'na-email' && p.table === 'Clients');
    if (email) {
      const [client] = await bed.admin<{ email: string }[]>`select email from app.clients where airtable_id = ${email.recordId}`;
      expect(client.email).toBe(email.value); // reported, not "fixed"
    }
    const decimals = bed.base.planted.find((p) => p.kind === 'currency-3-decimals' && p.table === 'Registrations');
    if (decimals) {
      const finding = findings.find((f) => f.record === decimals.recordId)!;
      expect(finding.value).toBe(decimals.value);
    }
  });

  it('the whole-snapshot validation of `airlift verify` finds the same, and --strict fails on warnings', async () => {
    const env = { DATABASE_URL: bed.db.url };
    const lenient = await runAirlift(['verify', '--json'], env);
    const report = JSON.parse(lenient.stdout);
    const verified = report.entities.flatMap((e: { validation: Array<{ discrepancy_details: Finding[] }> }) =>
      e.validation.flatMap((c) => c.discrepancy_details.map((d) => `${d.record} ${d.rule} ${d.reason}`)));
    expect(verified.sort()).toEqual(findings.map((f) => `${f.record} ${f.rule} ${f.reason}`).sort());
    expect(report.validation.warnings).toBe(findings.filter((f) => f.severity === 'warning').length);
    expect(lenient.code, lenient.stderr).toBe(report.discrepancies > 0 ? 1 : 0);
    const strict = await runAirlift(['verify', '--json', '--strict'], env);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout).passed).toBe(false);
  });

  it('a rule made blocking quarantines on the next run, naming it; a fix in Airtable releases the record', async () => {
    const planted = bed.base.planted.find((p) => p.kind === 'approval-before-submission')!;
    await bed.admin`update sync.validation_rules set severity = 'blocking' where rule_id = 'registrations.approved_date.not_before_submission'`;
    const [change] = await bed.admin<{ op: string; old: string; new: string }[]>`
      select op, old_values ->> 'severity' as old, new_values ->> 'severity' as new from audit.changes
      where table_name = 'sync.validation_rules' and record_id = 'registrations.approved_date.not_before_submission' order by id desc limit 1`;
    expect(change).toEqual({ op: 'UPDATE', old: 'warning', new: 'blocking' });

    await bed.pull('full');
    const open = await bed.admin<{ reason: string }[]>`select reason from sync.record_errors where source_key = ${planted.recordId} and resolved_at is null`;
    expect(open.map((o) => o.reason)).toContain(
      'Approved Date must not be before the submitted date (rule registrations.approved_date.not_before_submission)');
    // the row merged earlier stays as it was; the record waits in quarantine
    const table = bed.base.tables.find((t) => t.name === 'Registrations')!;
    const submitted = String(records.get(planted.recordId)!.record.fields['Submitted Date']);
    bed.emulator.base(bed.baseId).table(table.id).update(planted.recordId, { 'Approved Date': submitted });
    await bed.pull('incremental');
    const still = await bed.admin`select 1 from sync.record_errors where source_key = ${planted.recordId} and resolved_at is null`;
    expect(still).toHaveLength(0);
    const [row] = await bed.admin<{ approved: string }[]>`select approved_date::text as approved from app.registrations where airtable_id = ${planted.recordId}`;
    expect(row.approved).toBe(submitted);
  });
});
