/**
 * `airlift demo`: the whole sync on a realistic Delta base, on this
 * machine, with nothing to set up. An embedded PostgreSQL (throwaway unless
 * --keep), the Airtable emulator seeded with ~50,000 registrations (rate
 * limit raised), a full pull in which every record lands (its planted
 * problems flagged on their fields, grouped and printed), a round of
 * edits, creates and deletes made "in Airtable", an incremental pull that
 * picks up exactly the edits and creates, a full pull that sweeps exactly
 * the deletes, the status, and a verification of PostgreSQL against the
 * source that finds only the planted client mismatches (the records with
 * problems verify as landed with problems), with a Markdown report; then a
 * differential, and two-way sync: a change made in PostgreSQL arriving in
 * Airtable, and one conflict decided by each policy; last, a verification
 * once more, which finds only the base's planted problems.
 */
import { mkdtemp, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadEnvironment } from '../../src/config.ts';
import { connect, describeUrl, ensureDatabaseExists, urlWithRole } from '../../src/db/database.ts';
import { startEmbedded, urlWithDatabase } from '../../src/db/embedded.ts';
import type { Logger } from '../../src/log.ts';
import { openSyncContext } from '../../src/pipeline/context.ts';
import { createProgress } from '../../src/pipeline/progress.ts';
import { runPull, type PullSummary } from '../../src/pipeline/pull.ts';
import { formatStatus, statusReport } from '../../src/pipeline/status.ts';
import { formatVerify, quarantineReasons, renderReport, runVerify, type VerifyResult } from '../../src/integrity/verify.ts';
import { formatProblemGroups, problemGroups } from '../../src/pipeline/problems.ts';
import { formatDiff, runDiff } from '../../src/integrity/diff.ts';
import { runPush } from '../../src/pipeline/push.ts';
import { resolveConflict } from '../../src/pipeline/conflicts.ts';
import type { SyncContext } from '../../src/pipeline/context.ts';
import type { Emulator } from '../emulator/emulator.ts';
import type { BaseData } from '../emulator/emulator.ts';
import { writeFile } from 'node:fs/promises';
import { startEmulator } from '../emulator/emulator.ts';
import { baseIdForSeed, generateDeltaBase, type GeneratedBase } from '../generator/generator.ts';

export interface DemoOptions {
  registrations: number;
  seed: number;
  requestsPerSecond: number;
  latencyMs: number;
  keep: boolean;
  log: Logger;
}

const say = (line = '') => process.stdout.write(`${line}\n`);

function summaryLine(summary: PullSummary): string {
  const r = summary.run;
  const staged = Number(r.staged) ? ` + ${r.staged} staged, not merged` : '';
  return `run #${r.id} ${r.run_type}: fetched ${r.fetched} = ${r.inserted} inserted + ${r.updated} updated + ${r.unchanged} unchanged + ${r.quarantined} quarantined${staged}; ${r.deleted} soft-deleted`;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const { log } = options;
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  say(`airlift demo: a Delta base of ${options.registrations.toLocaleString('en-US')} registrations, Airtable emulated on this machine`);
  // the files are served and downloaded: at 1/100 of their real sizes, so the demo's base holds
  // hundreds of megabytes of them, not tens of gigabytes (npm run bench:attachments uses real sizes)
  const base = generateDeltaBase({ seed: options.seed, registrations: options.registrations, messiness: 0.02, attachmentSizeScale: 0.01 });
  const baseId = baseIdForSeed(options.seed);
  const counts = base.tables.map((t) => `${t.records.length.toLocaleString('en-US')} ${t.name}`).join(', ');
  say(`  generated ${counts} (${base.planted.length} planted data problems) in ${seconds()}`);

  const emulator = await startEmulator({
    bases: { [baseId]: base },
    rateLimit: { requestsPerSecond: options.requestsPerSecond, penaltyMs: 30_000, tokenRequestsPerSecond: options.requestsPerSecond * 10 },
    latencyMs: options.latencyMs,
    // Labels and documents are served at expiring URLs, as Airtable's content host does.
    attachmentContent: true,
  });
  say(`  emulator at ${emulator.url}: ${options.requestsPerSecond} requests/s per base, ${options.latencyMs} ms latency`);

  const dir = options.keep ? path.resolve('.airlift-demo') : await mkdtemp(path.join(os.tmpdir(), 'airlift-demo-'));
  await chmod(path.dirname(dir), 0o755).catch(() => undefined);
  const server = await startEmbedded({ dataDir: dir, throwaway: !options.keep, onLog: (line) => log.debug({ component: 'postgres' }, line) });
  await ensureDatabaseExists(server.rootUrl, 'airlift_demo');
  const env = loadEnvironment({
    ...process.env,
    DATABASE_URL: urlWithDatabase(server.rootUrl, 'airlift_demo'),
    AIRTABLE_TOKEN: emulator.token,
    AIRTABLE_BASE_ID: baseId,
    AIRTABLE_ENDPOINT_URL: emulator.url,
    AIRTABLE_RPS: String(options.requestsPerSecond),
    // the attachment files go with the throwaway database, not into the working directory
    AIRLIFT_FILES_STORE: 'local',
    AIRLIFT_FILES_DIR: path.join(dir, 'files'),
  });
  say(`  embedded PostgreSQL at ${describeUrl(env.DATABASE_URL!)}${options.keep ? ` (kept in ${dir})` : ' (throwaway)'}`);

  const context = await openSyncContext({ actor: 'demo', log, env });
  const pull = async (mode: 'full' | 'incremental', stageOnly = false) => {
    const progress = createProgress(log);
    try {
      return await runPull({
        sql: context.sql, source: context.source, mapping: context.mapping, mode, stageOnly,
        actor: 'demo', overlapSeconds: env.AIRLIFT_INCREMENTAL_OVERLAP_SECONDS, log, progress,
        files: context.files ? { store: context.files, concurrency: env.AIRLIFT_DOWNLOAD_CONCURRENCY } : null,
      });
    } finally {
      progress.stop();
    }
  };

  try {
    say('\n1. Full pull');
    const first = await pull('full');
    say(`  ${summaryLine(first)}  [${seconds()}]`);
    const f = first.files;
    const filesKept = Boolean(f && f.failed === 0);
    if (f) {
      say(`  attachment files: ${f.downloaded} downloaded beside the listing (${(f.bytes / 1e6).toFixed(1)} MB), stored once per SHA-256 in ${context.files!.description}; ${f.failed} failed${f.failed ? ' - NOT ALL KEPT' : ''}`);
    }
    // every record lands, its problems flagged on the field, none hidden
    const landedAll = await everyRecordLanded(context.sql, context.mapping.tables.map((t) => t.entity), base, say);
    say('  data problems, by table, field and rule (sync.field_problems; the rows carry open_problem_count):');
    for (const line of formatProblemGroups(await problemGroups(context.sql, { examples: 1 }), '    ')) say(line);

    say('\n2. People edit the base in Airtable');
    const airtable = emulator.base(baseId);
    const regs = airtable.table('Registrations');
    const all = regs.list().sort((a, b) => (a.id < b.id ? -1 : 1));
    // only records that the full pull merged, so every change has a row to land on
    const merged = new Set((await context.sql<{ airtable_id: string }[]>`select airtable_id from app.registrations`).map((r) => r.airtable_id));
    const editable = all.filter((r) => merged.has(r.id));
    const approved = editable.filter((r) => r.fields['Status'] === 'Pending Review').slice(0, 120);
    for (const r of approved) regs.update(r.id, { Status: 'Approved', 'Approved Date': '2026-11-20' });
    const feeEdits = editable.filter((r) => !approved.includes(r)).slice(0, 30);
    for (const r of feeEdits) regs.update(r.id, { 'Fee Paid': 275.5, 'Invoice Number': `INV-${r.id.slice(-6)}` });
    const newOption = editable.filter((r) => !approved.includes(r) && !feeEdits.includes(r)).slice(0, 5);
    for (const r of newOption) regs.update(r.id, { Status: 'Awaiting Fee' });
    const template = editable[editable.length - 1];
    const created = Array.from({ length: 15 }, (_, i) =>
      regs.create({
        Client: template.fields['Client'],
        Product: template.fields['Product'],
        'State Regulator': template.fields['State Regulator'],
        Status: 'Not Started',
        'Registration Type': 'New',
        Notes: `Opened in the demo (${i + 1} of 15)`,
      }),
    );
    const doomed = editable.slice(-40, -30);
    for (const r of doomed) regs.delete(r.id);
    const notes = context.mapping.tables.find((t) => t.entity === 'registrations')!.fields.find((f) => f.column === 'notes')!;
    airtable.renameField('Registrations', notes.fieldId, 'Internal Notes');
    const edited = approved.length + feeEdits.length + newOption.length;
    say(`  edited ${edited} registrations (${approved.length} approved, ${feeEdits.length} fees, ${newOption.length} moved to a brand-new status option "Awaiting Fee"),`);
    say(`  created ${created.length}, deleted ${doomed.length}, and renamed the field "Notes" to "Internal Notes"`);

    say('\n3. Incremental pull (records modified since the last pull)');
    const incremental = await pull('incremental');
    say(`  ${summaryLine(incremental)}  [${seconds()}]`);
    for (const warning of incremental.warnings) say(`  warning: ${warning}`);
    const regSummary = incremental.tables.find((t) => t.entity === 'registrations')!;
    const exact = regSummary.updated === edited && regSummary.inserted === created.length;
    say(`  registrations: ${regSummary.updated} updated (expected ${edited}), ${regSummary.inserted} inserted (expected ${created.length}) ${exact ? '- exactly the changes' : '- MISMATCH'}`);
    const [{ kept }] = await context.sql<{ kept: number }[]>`select count(*)::int as kept from app.registrations where status = 'Awaiting Fee'`;
    say(`  the new select option was kept, not lost: ${kept} registrations have status "Awaiting Fee"`);

    say('\n4. Full pull (refreshes formulas and sweeps deletions, which no incremental read can see)');
    const full = await pull('full');
    say(`  ${summaryLine(full)}  [${seconds()}]`);
    const sweptExactly = Number(full.run.deleted) === doomed.length;
    say(`  soft-deleted ${full.run.deleted} registrations (expected ${doomed.length}) ${sweptExactly ? '- exactly the deleted ones' : '- MISMATCH'}`);

    say('\n5. Status');
    const report = await statusReport(context.sql, context.mapping.tables.map((t) => t.entity));
    process.stdout.write(indented(formatStatus(report)));

    say('\n6. Reports');
    const byState = await context.sql<{ state_code: string; status: string; registrations: number }[]>`
      select state_code, status, registrations::int from report.registration_status_by_state order by registrations desc limit 5`;
    for (const row of byState) say(`  ${row.state_code} ${row.status.padEnd(16)} ${row.registrations}`);
    const [expiring] = await context.sql<{ within_30_days: number; within_60_days: number; within_90_days: number }[]>`
      select within_30_days::int, within_60_days::int, within_90_days::int from report.expiring_registration_counts`;
    say(`  expiring: ${expiring.within_30_days} within 30 days, ${expiring.within_60_days} within 60, ${expiring.within_90_days} within 90`);

    // a verification, its summary printed and its full report (every
    // quarantined record with its reasons) written to the temp folder
    const verifyWithReport = async () => {
      const verification = await runVerify(context.sql, { actor: 'demo', files: context.files });
      process.stdout.write(indented(formatVerify(verification, 5)));
      const reportFile = path.join(os.tmpdir(), `airlift-demo-verification-${verification.runId}-${process.pid}.md`);
      await writeFile(reportFile, renderReport(verification, 'markdown', await quarantineReasons(context.sql)));
      say(`  the full report, with every quarantined record and its reasons: ${reportFile}`);
      return verification;
    };

    say('\n7. Verification (source snapshot against PostgreSQL, record by record)');
    const verification = await verifyWithReport();

    const planted = await plantedProblemsReported(context.sql, verification, base, say);
    const filesVerified = Boolean(verification.files && verification.files.discrepancies.length === 0 && verification.files.badFiles === 0);
    if (verification.files) {
      say(`  attachment files read back from the store and hashed: ${verification.files.checked} files, ${(verification.files.bytes / 1e6).toFixed(1)} MB intact, ${verification.files.discrepancies.length} attachments missing or corrupt${filesVerified ? '' : ' - MISMATCH'}`);
    }

    // The validation rules over the source: which planted problems they
    // reported (a record with any finding counts as reported).
    const reportedRecords = new Set(verification.entities.flatMap((e) => e.validation.flatMap((c) => c.discrepancy_details.map((d) => d.record))));
    const byKind = new Map<string, { planted: number; reported: number }>();
    for (const p of base.planted) {
      const k = byKind.get(p.kind) ?? { planted: 0, reported: 0 };
      k.planted += 1;
      if (reportedRecords.has(p.recordId)) k.reported += 1;
      byKind.set(p.kind, k);
    }
    say('  planted problems reported by the validation rules (record by record):');
    for (const [kind, k] of [...byKind].sort()) say(`    ${kind.padEnd(28)} ${String(k.reported).padStart(4)} of ${k.planted}`);
    // kinds the rules must catch every time (valid text, unmapped formulas and
    // well-formed phone numbers are not problems)
    const MUST_REPORT = ['whitespace', 'na-email', 'currency-3-decimals', 'currency-negative', 'approval-before-submission', 'new-select-option',
      'two-linked-records', 'currency-huge', 'renewal-month-out-of-range', 'empty-primary', 'dangling-link', 'case-duplicate'];
    const rulesCatchAll = MUST_REPORT.every((kind) => !byKind.has(kind) || byKind.get(kind)!.reported === byKind.get(kind)!.planted);
    say(`  every planted problem the rules cover was reported: ${rulesCatchAll ? 'yes' : 'NO'}`);

    say('\n8. Differential (a fresh source snapshot against PostgreSQL), then resolved with source_wins');
    const products = emulator.base(baseId).table(base.tables.find((t) => t.name === 'Products')!.id);
    const [editedThere, editedHere] = await context.sql<{ airtable_id: string }[]>`
      select airtable_id from app.products where deleted_at is null
        and not exists (select from sync.record_errors e where e.source_key = app.products.airtable_id and e.resolved_at is null)
      order by airtable_id limit 2`;
    products.update(editedThere!.airtable_id, { 'Active Ingredients': 'Changed in Airtable after the migration' });
    // an application edits PostgreSQL, as the app role
    const app = connect(urlWithRole(env.DATABASE_URL!, 'airlift_app'), { max: 1 });
    try {
      await app`update app.products set epa_registration_number = 'EDITED-IN-PG' where airtable_id = ${editedHere!.airtable_id}`;
    } finally {
      await app.end();
    }
    await pull('full', true);
    const differential = await runDiff(context.sql, { actor: 'demo' });
    process.stdout.write(indented(formatDiff(differential, 5)));
    const resolved = await runDiff(context.sql, { actor: 'demo', resolve: true, strategy: 'source_wins' });
    const after = await runDiff(context.sql, { actor: 'demo' });
    const diffExactly = differential.differences === 2 && resolved.unresolved === 0 && after.differences === 0;
    say(`  found ${differential.differences} (the two planted edits${differential.differences === 2 ? '' : ' - MISMATCH'}); resolved ${resolved.differences - resolved.unresolved}; a new differential finds ${after.differences}`);

    say('\n9. Two-way sync: an application changes PostgreSQL, people change Airtable, `airlift sync` (pull, then push)');
    const twoWay = await demoTwoWay({ context, emulator, baseId, base, databaseUrl: env.DATABASE_URL!, log, say });

    say('\n10. Verification at the end: an incremental pull takes in what the pushes wrote to Airtable, then PostgreSQL against the source once more');
    const last = await pull('incremental');
    say(`  ${summaryLine(last)}  [${seconds()}]`);
    const finalVerification = await verifyWithReport();
    const plantedAtTheEnd = await plantedProblemsReported(context.sql, finalVerification, base, say);
    say(`  after the differential and two-way sync, only the base's planted problems are left: ${plantedAtTheEnd ? 'yes' : 'NO'}`);

    const ok = landedAll && filesKept && filesVerified && exact && sweptExactly && planted && rulesCatchAll && diffExactly && twoWay && plantedAtTheEnd;
    say(`\nDone in ${seconds()}.${ok ? '' : ' Some checks did not pass; see above.'}`);
    if (!ok) process.exitCode = 1;
  } finally {
    await context.close();
    await emulator.stop();
    await server.stop();
  }
}

/** A block of output indented by two spaces (its lines, not the empty end). */
const indented = (text: string) => text.replace(/^(?=.)/gm, '  ');

/**
 * After the first full pull: every record of every table is live in app.*
 * (the shipped mapping has no blocking rule, so nothing is quarantined).
 * Says so per table, and whether it holds.
 */
async function everyRecordLanded(sql: SyncContext['sql'], entities: string[], base: GeneratedBase, say: (line?: string) => void): Promise<boolean> {
  // the status report's counts per table of the mapping: live rows, rows flagged, quarantine
  const { tables } = await statusReport(sql, entities);
  const quarantined = tables.reduce((sum, t) => sum + t.open_quarantine, 0);
  let all = quarantined === 0;
  for (const t of tables) {
    const name = t.table_name ?? t.entity;
    const source = base.tables.find((b) => b.name === name)!.records.length;
    all &&= t.rows_live === source;
    say(`  ${name.padEnd(17)} ${t.rows_live.toLocaleString('en-US')} of ${source.toLocaleString('en-US')} records live in app.* (${(t.rows_live / source * 100).toFixed(1)}%), ${t.rows_with_problems} flagged with problems`);
  }
  say(`  every record landed, none quarantined: ${all ? 'yes' : `NO (${quarantined} in quarantine)`}`);
  return all;
}

/**
 * The base's planted problems in a verification: the records with problems
 * landed flagged (not discrepancies); the planted client mismatches whose
 * links both landed must be exactly what the relationship check reports,
 * and nothing else may differ. Says so, and whether it holds.
 */
async function plantedProblemsReported(sql: SyncContext['sql'], verification: VerifyResult, base: GeneratedBase, say: (line?: string) => void): Promise<boolean> {
  const relationshipFindings = new Set(
    verification.entities.flatMap((e) => e.checks.filter((c) => c.validation_type === 'relationship_integrity').flatMap((c) => c.discrepancy_details.map((d) => d.record))),
  );
  const plantedIds = base.planted.filter((p) => p.kind === 'client-mismatch').map((p) => p.recordId);
  // a mismatch is seen where both the registration's client and its
  // product's client landed (a dangling link lands empty, flagged)
  const plantedMismatches = (
    await sql<{ airtable_id: string }[]>`
      select r.airtable_id from app.registrations r join app.products p on p.id = r.product_id
      where r.deleted_at is null and r.client_id is not null and p.client_id is not null
        and r.airtable_id = any(${plantedIds}::text[])`
  ).map((r) => r.airtable_id);
  const mismatchesExactly = plantedMismatches.length === relationshipFindings.size && plantedMismatches.every((id) => relationshipFindings.has(id));
  const otherDiscrepancies = verification.discrepancies - relationshipFindings.size;
  say(`  planted client mismatches on live registrations: ${plantedMismatches.length}; reported by the relationship check: ${relationshipFindings.size} ${mismatchesExactly ? '- exactly the planted ones' : '- MISMATCH'}`);
  say(`  other discrepancies (records lost or changed on the way): ${otherDiscrepancies}`);
  return mismatchesExactly && otherDiscrepancies === 0;
}

/**
 * Step 9: changes made in PostgreSQL by an application (as airlift_app)
 * reach the emulator, and four fields of four clients changed on both sides
 * are decided by the four policies: source_wins (notes), target_wins
 * (phone), newest_wins (email, changed last in PostgreSQL) and manual
 * (mailing address, resolved by a person for PostgreSQL).
 */
async function demoTwoWay(options: {
  context: SyncContext;
  emulator: Emulator;
  baseId: string;
  base: BaseData;
  databaseUrl: string;
  log: Logger;
  say: (line?: string) => void;
}): Promise<boolean> {
  const { context, emulator, baseId, log, say } = options;
  const clientsMapping = context.mapping.tables.find((t) => t.entity === 'clients')!;
  const policy = { notes: 'source_wins', phone: 'target_wins', email: 'newest_wins', mailing_address: 'manual' } as const;
  for (const [column, rule] of Object.entries(policy)) clientsMapping.fields.find((f) => f.column === column)!.conflictPolicy = rule;
  const fieldName = (column: string) => clientsMapping.fields.find((f) => f.column === column)!.name;
  const airtableClients = emulator.base(baseId).table('Clients');
  const airtableRegs = emulator.base(baseId).table('Registrations');

  const [registration] = await context.sql<{ id: string; airtable_id: string; client_id: string; product_id: string; state_regulator_id: string }[]>`
    select r.id, r.airtable_id, r.client_id, r.product_id, r.state_regulator_id from app.registrations r
    where r.deleted_at is null and r.client_id is not null and r.product_id is not null and r.state_regulator_id is not null
      and not exists (select from sync.record_errors e where e.source_key = r.airtable_id and e.resolved_at is null)
    order by r.airtable_id limit 1`;
  const clients = await context.sql<{ id: string; airtable_id: string }[]>`
    select c.id, c.airtable_id from app.clients c
    where c.deleted_at is null and not exists (select from sync.record_errors e where e.source_key = c.airtable_id and e.resolved_at is null)
    order by c.airtable_id limit 4`;
  const columns = Object.keys(policy) as Array<keyof typeof policy>;
  const localValue = { notes: 'Notes from the CRM', phone: '+1 402 555 0111', email: 'billing@client.example', mailing_address: '1 New Street, Omaha NE' };
  const remoteValue = { notes: 'Notes typed in Airtable', phone: '+1 402 555 0199', email: 'accounts@client.example', mailing_address: '9 Old Road, Lincoln NE' };

  const app = connect(urlWithRole(options.databaseUrl, 'airlift_app'), { max: 1 });
  let newRegistration: string;
  try {
    // Airtable first for three fields; PostgreSQL changes email last (newest_wins: PostgreSQL)
    columns.forEach((column, i) => {
      if (column !== 'email') airtableClients.update(clients[i]!.airtable_id, { [fieldName(column)]: remoteValue[column] });
    });
    await app`update app.registrations set status = 'Approved', approved_date = '2026-11-20', notes = 'Approved in the PostgreSQL app' where id = ${registration!.id}`;
    [{ id: newRegistration }] = await app<{ id: string }[]>`
      insert into app.registrations (client_id, product_id, state_regulator_id, status, registration_type, notes)
      values (${registration!.client_id}, ${registration!.product_id}, ${registration!.state_regulator_id}, 'In Preparation', 'New', 'Opened in the PostgreSQL app')
      returning id`;
    for (const [i, column] of columns.entries()) {
      await app`update app.clients set ${app({ [column]: localValue[column] })} where id = ${clients[i]!.id}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    airtableClients.update(clients[2]!.airtable_id, { [fieldName('email')]: remoteValue.email });
    // email: Airtable changed last after all; newest_wins then takes Airtable's
  } finally {
    await app.end();
  }
  say('  PostgreSQL: 1 registration approved, 1 registration created, 4 client fields changed; Airtable: the same 4 client fields changed differently');

  const push = () => runPush({ sql: context.sql, source: context.source, mapping: context.mapping, actor: 'demo', log });
  await runPull({ sql: context.sql, source: context.source, mapping: context.mapping, mode: 'incremental', actor: 'demo', overlapSeconds: 60, log });
  const pushed = await push();
  const run = pushed.run!;
  say(`  push run #${run.id}: ${run.inserted} created, ${run.updated} updated in Airtable; ${pushed.requests} requests`);

  const arrived = airtableRegs.get(registration!.airtable_id)!.fields;
  const [{ airtable_id: createdId }] = await context.sql<{ airtable_id: string }[]>`select airtable_id from app.registrations where id = ${newRegistration!}`;
  const created = createdId ? airtableRegs.get(createdId)?.fields : undefined;
  // the field's name today (step 2 renamed "Notes" in Airtable)
  const notesId = context.mapping.tables.find((t) => t.entity === 'registrations')!.fields.find((f) => f.column === 'notes')!.fieldId;
  const notesName = (emulator.base(baseId).schema().tables as Array<{ name: string; fields: Array<{ id: string; name: string }> }>)
    .find((t) => t.name === 'Registrations')!.fields.find((f) => f.id === notesId)!.name;
  const changeArrived = arrived.Status === 'Approved' && arrived['Approved Date'] === '2026-11-20' && created?.[notesName] === 'Opened in the PostgreSQL app';
  say(`  in Airtable now: ${registration!.airtable_id} Status "${String(arrived.Status)}", Approved Date ${String(arrived['Approved Date'])}; new record ${createdId ?? '-'} "${String(created?.[notesName])}" ${changeArrived ? '- arrived' : '- MISSING'}`);

  const conflicts = await context.sql<{ id: string; column_name: string; policy: string; status: string; resolution: string | null; local_value: unknown; remote_value: unknown }[]>`
    select id::text, column_name, policy, status, resolution, local_value, remote_value from sync.conflicts
    where run_id = ${run.id} and entity = 'clients' order by id`;
  for (const c of conflicts) {
    say(`  conflict #${c.id} clients.${c.column_name} (${c.policy}): PostgreSQL ${JSON.stringify(c.local_value)} vs Airtable ${JSON.stringify(c.remote_value)} -> ${c.status === 'open' ? 'parked for a person' : `${c.resolution} wins`}`);
  }
  const parked = conflicts.find((c) => c.status === 'open');
  if (parked) {
    const decided = await resolveConflict(context.sql, { id: parked.id, take: 'postgres', actor: 'demo:a person' });
    const second = await push();
    say(`  a person resolved #${decided.id} for PostgreSQL (rule ${decided.decided_by_rule}, by ${decided.decided_by}); push run #${second.run?.id}: ${second.run?.updated} updated`);
  }
  const expected = { notes: 'airtable', phone: 'postgres', email: 'airtable', mailing_address: 'postgres' } as const;
  const finalValues = await context.sql<Record<string, string>[]>`
    select airtable_id, notes, phone, email, mailing_address from app.clients where id in ${context.sql(clients.map((c) => c.id))}`;
  let decidedRight = conflicts.length === 4;
  for (const [i, column] of columns.entries()) {
    const winner = expected[column] === 'airtable' ? remoteValue[column] : localValue[column];
    const inAirtable = airtableClients.get(clients[i]!.airtable_id)!.fields[fieldName(column)];
    const inPostgres = finalValues.find((f) => f.airtable_id === clients[i]!.airtable_id)![column];
    const right = inAirtable === winner && inPostgres === winner;
    decidedRight &&= right;
    say(`  ${column.padEnd(16)} ${policy[column].padEnd(12)} both sides now "${winner}" ${right ? '' : `- MISMATCH (Airtable "${String(inAirtable)}", PostgreSQL "${inPostgres}")`}`);
  }
  const quiet = await push();
  say(`  a further push finds nothing to send: ${quiet.run === null ? 'yes' : 'NO'}`);
  return changeArrived && decidedRight && quiet.run === null;
}
