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

  it('exits 0 after a full pull with quarantined records and prints the summary', async () => {
    const result = await airlift(['pull', '--full'], env);
    expect(result.code, result.stderr).toBe(0);
    const total = bed.base.tables.reduce((sum, t) => sum + t.records.length, 0);
    expect(result.stdout).toMatch(new RegExp(`^Run #\\d+ \\(full\\) completed: fetched ${total} = \\d+ inserted \\+ 0 updated \\+ 0 unchanged \\+ [1-9]\\d* quarantined; 0 soft-deleted`));
    expect(result.stdout).toContain('Quarantined records are listed by `airlift status`');
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
    for (const heading of ['Tables', 'Recent runs', 'Quarantine (', 'Schedule']) expect(text.stdout).toContain(heading);
    const json = await airlift(['status', '--json'], env);
    const report = JSON.parse(json.stdout);
    expect(report.tables.map((t: { entity: string }) => t.entity)).toEqual(['clients', 'state_regulators', 'products', 'registrations']);
    const regs = report.tables.find((t: { entity: string }) => t.entity === 'registrations');
    expect(regs.rows_live + regs.open_quarantine).toBe(bed.base.tables.find((t) => t.name === 'Registrations')!.records.length);
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
