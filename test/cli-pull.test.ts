/**
 * `airlift pull` and `airlift status` as a user runs them against the
 * emulator: exit codes (0 with quarantined records, 1 for a failed run, 2
 * for bad configuration), one clear line for each failure, the summary.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { freePort } from '../src/db/embedded.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

const airlift = runAirlift;

describe('airlift pull and status', () => {
  let bed: SyncBed;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    bed = await syncBed({ seed: 71, registrations: 200, messiness: 0.05 });
    env = {
      DATABASE_URL: bed.db.url,
      AIRTABLE_TOKEN: bed.emulator.token,
      AIRTABLE_BASE_ID: bed.baseId,
      AIRTABLE_ENDPOINT_URL: bed.emulator.url,
      AIRTABLE_RPS: '100',
    };
  });
  afterAll(async () => bed?.close());

  it('validate previews the migration before it: what would land, flagged or kept out, and writes nothing but the snapshot', async () => {
    const result = await airlift(['validate', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const preview = JSON.parse(result.stdout) as { runId: string; tables: Array<{ entity: string; records: number; landing: number; flagged: number; quarantined: number }>; groups: Array<{ entity: string; rule: string; count: number }> };
    for (const t of bed.base.tables) {
      const row = preview.tables.find((x) => x.entity === bed.mapping.tables.find((m) => m.tableId === t.id)!.entity)!;
      expect(row, t.name).toMatchObject({ records: t.records.length, landing: t.records.length, quarantined: 0 });
    }
    expect(preview.tables.reduce((sum, t) => sum + t.flagged, 0)).toBeGreaterThan(0);
    expect(preview.groups.some((g) => g.entity === 'registrations' && g.rule === 'extra_links')).toBe(true);
    // nothing merged, no problem kept, no report but the snapshot's own: only the snapshot is staged
    const [after] = await bed.admin<{ rows: number; problems: number; reports: number; staged: number }[]>`
      select (select count(*) from app.registrations)::int + (select count(*) from app.clients)::int as rows,
             (select count(*) from sync.field_problems)::int as problems,
             (select count(*) from sync.validation_reports where run_id <> ${preview.runId})::int as reports,
             (select count(*) from staging.source_records where run_id = ${preview.runId})::int as staged`;
    expect(after).toEqual({ rows: 0, problems: 0, reports: 0, staged: bed.base.tables.reduce((sum, t) => sum + t.records.length, 0) });
    const text = await airlift(['validate', '--offline'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Validation of source snapshot run #${preview.runId}: what a migration would land (nothing was merged)`);
    expect(text.stdout).toMatch(/^  registrations +\d+ records: \d+ would land \([1-9]\d* flagged with problems\), 0 kept out by a blocking rule$/m);
  });

  it('exits 0 after a full pull of a messy base, every record landed, and prints the summary with the records flagged', async () => {
    const result = await airlift(['pull', '--full'], env);
    expect(result.code, result.stderr).toBe(0);
    const total = bed.base.tables.reduce((sum, t) => sum + t.records.length, 0);
    expect(result.stdout).toMatch(new RegExp(`^Run #\\d+ \\(full\\) completed: fetched ${total} = ${total} inserted \\+ 0 updated \\+ 0 unchanged \\+ 0 quarantined; 0 soft-deleted`));
    expect(result.stdout).toMatch(/^[1-9]\d* records landed with problems flagged on their fields: `airlift status` groups them/m);
    expect(result.stdout).toMatch(/registrations +fetched +\d+ +\+\d+ ~0 =0 -0 !0 +\([1-9]\d* landed with problems\)/);
  });

  it('pulls only the tables asked for', async () => {
    const result = await airlift(['pull', '--table', 'State Regulators'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('state_regulators');
    expect(result.stdout).not.toContain('registrations ');
  });

  it('status shows each table, the runs and the quarantine, as text and as JSON', async () => {
    const text = await airlift(['status'], env);
    expect(text.code, text.stderr).toBe(0);
    for (const heading of ['Tables', 'Recent runs', 'Data problems (', 'Quarantine (', 'Schedule']) expect(text.stdout).toContain(heading);
    // the problems grouped by table, field and rule, with a count and examples
    expect(text.stdout).toMatch(/^  registrations\.Product extra_links: \d+ records?, first link kept$/m);
    expect(text.stdout).toMatch(/^    rec[A-Za-z0-9]{14} \["rec[A-Za-z0-9]{14}","rec[A-Za-z0-9]{14}"\]: Product links 2 records where one is kept: rec[A-Za-z0-9]{14} is linked, not rec[A-Za-z0-9]{14}$/m);
    const json = await airlift(['status', '--json'], env);
    const report = JSON.parse(json.stdout);
    expect(report.tables.map((t: { entity: string }) => t.entity)).toEqual(['clients', 'state_regulators', 'products', 'registrations']);
    const regs = report.tables.find((t: { entity: string }) => t.entity === 'registrations');
    expect(regs.rows_live + regs.open_quarantine).toBe(bed.base.tables.find((t) => t.name === 'Registrations')!.records.length);
    expect(regs.rows_with_problems).toBeGreaterThan(0);
    const groups = report.problems as Array<{ entity: string; field: string; rule: string; disposition: string; count: number; examples: Array<{ record: string; reason: string }> }>;
    const [{ n }] = await bed.admin<{ n: number }[]>`select count(*)::int as n from sync.open_data_problems`;
    expect(groups.reduce((sum, g) => sum + g.count, 0)).toBe(n);
    for (const g of groups) expect(g.examples.length).toBe(Math.min(3, g.count));
  });

  it('exits 1 with one clear line for a wrong token, and records the failed run', async () => {
    const result = await airlift(['pull'], { ...env, AIRTABLE_TOKEN: 'patWRONGtoken.secret' });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(`airlift: pull failed: Airtable refused the token (401) for base ${bed.baseId} (metadata): check AIRTABLE_TOKEN`);
    expect(lines[1]).toMatch(/^ {2}run \d+ (resumes|had not started)/);
    expect(result.stderr).not.toContain('patWRONGtoken');
  });

  it('exits 1 naming an unreachable endpoint and AIRTABLE_ENDPOINT_URL', async () => {
    const port = await freePort();
    const result = await airlift(['pull'], { ...env, AIRTABLE_ENDPOINT_URL: `http://127.0.0.1:${port}/`, AIRTABLE_RETRY_ATTEMPTS: '3', AIRTABLE_RETRY_BACKOFF_MS: '10' });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `airlift: pull failed: Airtable could not be reached at http://127.0.0.1:${port} (AIRTABLE_ENDPOINT_URL) for base ${bed.baseId} (metadata): connect ECONNREFUSED 127.0.0.1:${port} (gave up after 3 attempts)`,
    );
    expect(lines[1]).toMatch(/^ {2}run \d+ (resumes|had not started)/);
  }, 120_000);

  it('exits 2 at once for an endpoint that is not an http(s) URL, naming AIRTABLE_ENDPOINT_URL', async () => {
    const started = Date.now();
    const result = await airlift(['pull'], { ...env, AIRTABLE_ENDPOINT_URL: 'htp:/nope' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('Bad configuration: AIRTABLE_ENDPOINT_URL: expected an absolute http:// or https:// URL without user or password, such as https://api.airtable.com\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exits 2 for missing Airtable settings and for a bad mapping, naming what is wrong', async () => {
    const missing = await airlift(['pull'], { ...env, AIRTABLE_TOKEN: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('AIRTABLE_TOKEN must be set');

    const file = path.join(os.tmpdir(), `bad-mapping-${process.pid}.json`);
    await writeFile(file, JSON.stringify({ version: 1, tables: [{ entity: 'clients', tableId: 'tblZaclZULDATjmXm', tableName: 'Clients', target: 'app.clients', lastModifiedFieldId: 'fld62rLIbyozCjTuf', fields: [{ fieldId: 'fldcRQ5EWmHA7hkmK', name: 'Client Name', airtableType: 'singleLineText', column: 'name', convert: 'date' }] }] }));
    const bad = await airlift(['pull'], { ...env, AIRLIFT_MAPPING: file });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('tables.0.fields.0.convert: date cannot read an Airtable singleLineText field');
  });

  it('exits 2 naming the mapping file when the database check finds a column the schema does not have', async () => {
    const mapping = JSON.parse(await readFile(path.join(PROJECT_DIR, 'mappings', 'delta.json'), 'utf8'));
    const clients = mapping.tables.findIndex((t: { entity: string }) => t.entity === 'clients');
    const field = mapping.tables[clients].fields.findIndex((f: { column?: string }) => f.column === 'name');
    mapping.tables[clients].fields[field].column = 'no_such_column';
    const file = path.join(os.tmpdir(), `unknown-column-mapping-${process.pid}.json`);
    await writeFile(file, JSON.stringify(mapping));
    const result = await airlift(['pull'], { ...env, AIRLIFT_MAPPING: file });
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(`Bad mapping ${file}:`);
    expect(lines[1]).toMatch(new RegExp(`^ {2}tables\\.${clients}\\.fields\\.${field}\\.column: app\\.clients has no mapped column no_such_column \\(it has .*\\bname\\b.*\\)$`));
    expect(lines).toHaveLength(2);
  });
});
