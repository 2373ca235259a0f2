/**
 * `airlift verify`: compares the target (app) with the latest source
 * snapshot (staging), entity by entity, in SQL (sync.verify_entity), as one
 * verify run whose reports land in sync.validation_reports; and renders the
 * result as text, JSON, Markdown or HTML.
 */
import type { Sql } from 'postgres';
import { foldPlannedRanges, planRanges, runPlannedRange, walkRanges, type RangeWalk } from './ranges.ts';
import { formatProblemGroups, problemGroups, type ProblemGroup } from '../pipeline/problems.ts';
import { formatFileVerification, verifyFiles, type FileVerification } from '../files/verify.ts';
import type { FileStore } from '../files/store.ts';

export interface Discrepancy {
  record: string;
  field: string | null;
  value: unknown;
  source_value?: unknown;
  rule: string;
  /** Validation findings: blocking (quarantined) or warning, and the reason in words. */
  severity?: 'blocking' | 'warning';
  reason?: string;
}

export interface CheckReport {
  validation_type: 'completeness_check' | 'data_integrity' | 'relationship_integrity';
  source_entity: string;
  target_entity: string;
  records_validated: number;
  validation_passed: boolean;
  discrepancies_found: number;
  discrepancy_details: Discrepancy[];
  validation_criteria: Record<string, unknown> & {
    quarantined_records?: string[];
    /** Quarantined records the runner could not stage (broken envelope, text PostgreSQL cannot store), with the reason. */
    rejected_before_staging?: Array<{ record: string; field: string | null; value: unknown; reason: string }>;
    source_records?: number;
    source_records_verified?: number;
    target_records?: number;
    quarantined?: number;
    source_table_checksum?: string;
    target_table_checksum?: string;
  };
  execution_time_ms: number;
}

export interface EntityVerification {
  entity: string;
  checks: CheckReport[];
  /** The validation rules over the source snapshot (sync.validate_entity): data and relationship findings. */
  validation: CheckReport[];
  source_records: number;
  target_records: number;
  source_checksum: string;
  target_checksum: string;
}

export interface VerifyResult {
  runId: string;
  /** An interrupted verification was taken up again. */
  resumed: boolean;
  /** Canonical forms rebuilt from every app row (--deep). */
  deep: boolean;
  /** No discrepancy between source and target (and, with strict, no validation warning either). */
  passed: boolean;
  discrepancies: number;
  quarantined: number;
  /** Validation findings over the source snapshot: blocking ones are the quarantine's rule findings. */
  validation: { blocking: number; warnings: number };
  strict: boolean;
  entities: EntityVerification[];
  /**
   * Records that landed with problems, grouped by table, field and rule
   * (sync.open_data_problems): not discrepancies of the migration (an
   * emptied column counts as the source value its problem keeps), but what
   * the data holds flagged.
   */
  landedWithProblems: { records: number; groups: ProblemGroup[] };
  /** The attachment files, read back from the store (when a store is given): each attachment whose file is missing, corrupt, not downloaded or not as declared is a discrepancy. */
  files?: FileVerification;
  durationMs: number;
}

/** The mapped entities to work on (all, or those asked for), in merge order; an error naming what is missing. */
export async function mappedEntities(sql: Sql, wanted: string[] | undefined, purpose: string): Promise<string[]> {
  const rows = await sql<{ entity: string }[]>`
    select m.entity from sync.entity_mappings m join sync.entities e using (entity)
    where ${wanted?.length ? sql`m.entity in ${sql(wanted)}` : sql`true`}
    order by e.merge_rank, m.entity`;
  if (!rows.length) {
    throw new Error(wanted?.length ? `no mapped entity called ${wanted.join(', ')}` : `nothing to ${purpose}: no table has been pulled yet (run \`airlift pull --full\` first)`);
  }
  return rows.map((r) => r.entity);
}

export interface VerifyOptions {
  actor: string;
  entities?: string[];
  /** Warnings of the validation rules fail the verification too. */
  strict?: boolean;
  /** Rebuild every target row's canonical form instead of trusting sync.target_checksums (and report stale ones). */
  deep?: boolean;
  /** Source keys per range (default 250,000). */
  batchSize?: number;
  /**
   * Tables the planner estimates at this many source records or more are
   * cut into ranges at its statistics, without a pass over their keys
   * (default 200,000).
   */
  planFromStatisticsFrom?: number;
  /**
   * Checks run side by side, each on its own connection (default 2): the
   * entities' relationship passes and key ranges (several ranges of one
   * table at once), the folds of the ranges, then the validation rules.
   * Side by side, each check runs in one server process (no parallel
   * workers); one at a time (1), it may use the server's parallel workers.
   * The pool needs one connection more, for the run's lock.
   */
  concurrency?: number;
  /** Stop after this many ranges (tests use it to simulate a kill). */
  stopAfterBatches?: number;
  onBatch?: (entity: string, processed: number, total: number) => void;
  /** The file store: every stored attachment file is read back and hashed, every live attachment checked. */
  files?: FileStore | null;
}

/** The lock that keeps two verifications from running at once (the second would resume the first's run). */
const LOCK_KEY = 'airlift verify';

export class VerifyInterrupted extends Error {
  constructor(readonly runId: string) {
    super(`the verification run #${runId} stopped before it finished; run \`airlift verify\` again to resume it`);
    this.name = 'VerifyInterrupted';
  }
}

const REPORT_COLUMNS = ['validation_type', 'source_entity', 'target_entity', 'records_validated', 'validation_passed', 'discrepancies_found',
  'discrepancy_details', 'validation_criteria', 'execution_time_ms'] as const;

/** A job of a verify run, which may start once the jobs named in `after` are done. */
interface Job {
  name: string;
  after: string[];
  run: () => Promise<void>;
}

/**
 * Runs the jobs on at most `lanes` at once, each lane taking the first job
 * in the list whose predecessors are done. After a job fails no other one
 * starts; those under way finish (a transaction is never left half done
 * when the run's lock is released), then the first error is thrown.
 */
async function inLanes(jobs: Job[], lanes: number): Promise<void> {
  const pending = [...jobs];
  const done = new Set<string>();
  let running = 0;
  let failure: { error: unknown } | null = null;
  let wake: () => void = () => undefined;
  let changed = new Promise<void>((resolve) => { wake = resolve; });
  const finished = () => {
    const resolve = wake;
    changed = new Promise<void>((r) => { wake = r; });
    resolve();
  };
  const lane = async (): Promise<void> => {
    while (!failure && pending.length > 0) {
      const index = pending.findIndex((job) => job.after.every((name) => done.has(name)));
      if (index < 0) {
        if (running === 0) throw new Error(`verify jobs wait on each other: ${pending.map((job) => job.name).join(', ')}`);
        await changed;
        continue;
      }
      const [job] = pending.splice(index, 1);
      running++;
      try {
        await job!.run();
        done.add(job!.name);
      } catch (error) {
        failure ??= { error };
      } finally {
        running--;
        finished();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, jobs.length)) }, lane));
  if (failure) throw (failure as { error: unknown }).error;
}

/**
 * One verify run: each entity in key ranges of the source snapshot, one
 * transaction per range with the checkpoint's advance (operation
 * `validation`; a large table's ranges side by side, the checkpoint
 * keeping the set of ranges done), then one transaction folding the
 * ranges into one report per check; each entity's relationships in one
 * pass over all its keys; then, once the entity and the entities it links
 * to are verified, its validation rules over the whole snapshot (they use
 * those reports). Independent checks run side by side (`concurrency`). A
 * killed or failed verification is resumed by the next one, with its own
 * settings: the ranges not done, from their checkpoints, a relationship
 * pass unless it was written, the validation again.
 */
export async function runVerify(sql: Sql, options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 250_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`the batch size must be a positive whole number, got ${batchSize}`);
  const lock = await sql.reserve();
  const [{ locked }] = await lock<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext(${LOCK_KEY})) as locked`;
  if (!locked) {
    lock.release();
    throw new Error('another verification is running on this database; wait for it to finish');
  }
  try {
    const [unfinished] = await sql<{ id: string; status: string; metadata: { entities: string[]; batch_size?: number; strict?: boolean; deep?: boolean } }[]>`
      select id, status, metadata from sync.runs where run_type = 'verify' and status in ('running', 'failed') order by id desc limit 1`;
    let runId: string;
    let entities: string[];
    let settings: { batch_size: number; strict: boolean; deep: boolean };
    const resumed = Boolean(unfinished);
    if (unfinished) {
      runId = unfinished.id;
      entities = unfinished.metadata.entities;
      settings = { batch_size: unfinished.metadata.batch_size ?? batchSize, strict: Boolean(unfinished.metadata.strict), deep: Boolean(unfinished.metadata.deep) };
      if (unfinished.status === 'failed') await sql`select sync.reopen_run(${runId})`;
    } else {
      entities = await mappedEntities(sql, options.entities, 'verify');
      settings = { batch_size: batchSize, strict: Boolean(options.strict), deep: Boolean(options.deep) };
      const [run] = await sql<{ id: string }[]>`
        select id from sync.open_run('verify', ${options.actor}, ${sql.json({ entities, ...settings })})`;
      runId = run.id;
    }
    try {
      const budget = { remaining: options.stopAfterBatches ?? Number.POSITIVE_INFINITY };
      const lanes = Math.max(1, Math.floor(options.concurrency ?? 2));
      // Checks side by side keep the cores busy themselves: each runs in one
      // process (PostgreSQL's parallel workers on top only add work: a
      // parallel hash join builds its table together, workers start for
      // every statement). One check at a time may use them.
      const inOneProcess = async (tx: Sql) => {
        if (lanes > 1) await tx`set local max_parallel_workers_per_gather = 0`;
      };
      const walkOf = (entity: string): RangeWalk => ({
        runId, operation: 'validation', entity, batchSize: settings.batch_size, workCountsKeys: true,
        planFromStatisticsFrom: options.planFromStatisticsFrom, budget,
        interrupted: () => new VerifyInterrupted(runId), onBatch: options.onBatch,
      });
      // completeness and integrity per range (the completeness report counts
      // the range's source keys); the relationships have their own pass, over
      // all keys
      const verifyRange = (entity: string) => async (tx: Sql, after: string | null, upto: string | null) => {
        await inOneProcess(tx);
        const [range] = await tx<{ keys: string }[]>`
          select validation_criteria ->> 'source_records' as keys
          from sync.verify_entity(${runId}, ${entity}, ${after}, ${upto}, ${settings.deep}, false)
          where validation_type = 'completeness_check'`;
        return { keys: Number(range!.keys) };
      };
      // the ranges folded into one report per check (a run begun by a version
      // that checked relationships per range: those go)
      const fold = (entity: string) => async (tx: Sql) => {
        await tx`
          delete from sync.validation_reports where run_id = ${runId} and source_entity = ${entity}
            and validation_type = 'relationship_integrity' and validation_criteria ? 'after_key'`;
        await tx`select count(*) from sync.summarize_verification(${runId}, ${entity})`;
      };
      // Each entity's key ranges: planned ones each a job of its own (several
      // of a large table side by side), then a job folding them, `ranges:E`;
      // a table of more ranges than are planned is walked in one job, its last
      // range folding them.
      // The longest jobs first (the largest tables' relationship passes, then
      // their ranges), so that the lanes end together; the rules last.
      const plans = (await Promise.all(entities.map(async (entity) => ({ entity, plan: await planRanges(sql, walkOf(entity)) }))))
        .sort((a, b) => b.plan.recordsTotal - a.plan.recordsTotal);
      const rangeJobs: Job[] = [];
      const foldJobs: Job[] = [];
      for (const { entity, plan } of plans) {
        if (plan.pending === null) {
          rangeJobs.push({
            name: `ranges:${entity}`,
            after: [],
            run: async () => {
              await walkRanges(sql, walkOf(entity), async (tx, after, upto, last) => {
                const range = await verifyRange(entity)(tx, after, upto);
                if (last) await fold(entity)(tx);
                return range;
              });
            },
          });
          continue;
        }
        const names = plan.pending.map((range) => `range:${entity}:${range.index}`);
        plan.pending.forEach((range, i) => rangeJobs.push({
          name: names[i]!, after: [], run: () => runPlannedRange(sql, walkOf(entity), range, verifyRange(entity)),
        }));
        foldJobs.push({ name: `ranges:${entity}`, after: names, run: () => foldPlannedRanges(sql, walkOf(entity), fold(entity)) });
      }
      // Relationships once per entity, over all keys (a pass over the app
      // rows costs as much for one range as for all of them), in one
      // transaction: written whole or not at all, so a resumed run skips it.
      const relationships = (entity: string) => async () => {
        await sql.begin(async (tx) => {
          const [done] = await tx`
            select from sync.validation_reports where run_id = ${runId} and source_entity = ${entity}
              and validation_type = 'relationship_integrity' and not validation_criteria ? 'after_key'
              and coalesce(validation_criteria ->> 'check', '') <> 'validation_rules'`;
          if (done) return;
          await inOneProcess(tx as unknown as Sql);
          await tx`select count(*) from sync.verify_relationships(${runId}, ${entity})`;
        });
      };
      // The rules over the whole snapshot, after the checks they read (a
      // rule about linked records reads the linked entity's reports, see
      // the jobs below). Idempotent: a resumed run writes them again.
      const rules = (entity: string) => async () => {
        await sql.begin(async (tx) => {
          await inOneProcess(tx as unknown as Sql);
          await tx`select count(*) from sync.validate_entity(${runId}, ${entity}, true)`;
        });
      };
      // An entity's rules wait for its own checks and for those of the
      // entities it links to that this run verifies.
      const links = await sql<{ entity: string; linked: string }[]>`
        select distinct ec.entity, ec.linked_entity as linked from sync.entity_columns ec
        where ec.entity = any (${entities}) and ec.linked_entity = any (${entities}) and ec.linked_entity <> ec.entity`;
      await inLanes([
        ...plans.map(({ entity }) => ({ name: `relationships:${entity}`, after: [], run: relationships(entity) })),
        ...rangeJobs,
        ...foldJobs,
        ...entities.map((entity) => ({
          name: `rules:${entity}`,
          after: [entity, ...links.filter((l) => l.entity === entity).map((l) => l.linked)].flatMap((e) => [`ranges:${e}`, `relationships:${e}`]),
          run: rules(entity),
        })),
      ], lanes);
      const results: EntityVerification[] = [];
      for (const entity of entities) results.push(await entityVerification(sql, runId, entity));
      const files = options.files ? await verifyFiles(sql, options.files) : undefined;
      const discrepancies = results.reduce((n, e) => n + e.checks.reduce((m, c) => m + c.discrepancies_found, 0), 0) + (files?.discrepancies.length ?? 0);
      const quarantined = results.reduce((n, e) => n + Number(e.checks.find((c) => c.validation_type === 'completeness_check')?.validation_criteria.quarantined ?? 0), 0);
      const findings = results.flatMap((e) => e.validation.flatMap((c) => c.discrepancy_details));
      const validation = { blocking: findings.filter((d) => d.severity === 'blocking').length, warnings: findings.filter((d) => d.severity === 'warning').length };
      const passed = discrepancies === 0 && (!settings.strict || validation.warnings === 0);
      await sql`select sync.finish_run(${runId})`;
      await sql`select sync.annotate_run(${runId}, ${sql.json({
        discrepancies, quarantined, validation, passed,
        ...(files ? { files: { checked: files.checked, bytes: files.bytes, bad_files: files.badFiles, discrepancies: files.discrepancies.length } } : {}),
      })})`;
      const groups = (await problemGroups(sql, { entities })).filter((g) => g.disposition !== 'quarantined');
      const [{ records }] = await sql<{ records: number }[]>`
        select count(distinct (entity, source_key))::int as records from sync.field_problems
        where resolved_at is null and entity = any (${entities}::text[])`;
      const landedWithProblems = { records, groups };
      return { runId, resumed, passed, discrepancies, quarantined, validation, strict: settings.strict, deep: settings.deep, entities: results, landedWithProblems, files, durationMs: Date.now() - started };
    } catch (error) {
      if (!(error instanceof VerifyInterrupted)) {
        await sql`select sync.fail_run(${runId}, ${String((error as Error).message ?? error)})`.catch(() => undefined);
      }
      throw error;
    }
  } finally {
    await lock`select pg_advisory_unlock(hashtext(${LOCK_KEY}))`.catch(() => undefined);
    lock.release();
  }
}

/** An entity's reports in a run: the three verification checks and the two validation-rule reports. */
async function entityVerification(sql: Sql, runId: string, entity: string): Promise<EntityVerification> {
  const reports = await sql<(CheckReport & { rules: boolean })[]>`
    select ${sql(REPORT_COLUMNS as unknown as string[])}, coalesce(validation_criteria ->> 'check', '') = 'validation_rules' as rules
    from sync.validation_reports
    where run_id = ${runId} and source_entity = ${entity} and not validation_criteria ? 'after_key'
    order by validation_type`;
  const checks = reports.filter((r) => !r.rules).map(({ rules: _, ...r }) => r);
  const validation = reports.filter((r) => r.rules).map(({ rules: _, ...r }) => r);
  const criteria = checks.find((c) => c.validation_type === 'completeness_check')?.validation_criteria;
  if (!criteria) throw new Error(`verification run #${runId} has no completeness report for ${entity}`);
  return {
    entity,
    checks,
    validation,
    source_records: Number(criteria.source_records_verified),
    target_records: Number(criteria.target_records),
    source_checksum: String(criteria.source_table_checksum),
    target_checksum: String(criteria.target_table_checksum),
  };
}

const CHECK_TITLES: Record<CheckReport['validation_type'], string> = {
  completeness_check: 'completeness',
  data_integrity: 'integrity',
  relationship_integrity: 'relationships',
};

function describe(d: Discrepancy): string {
  const field = d.field ? ` [${d.field}]` : '';
  if (d.severity) return `${d.record}${field} ${d.severity}: ${d.reason ?? d.rule}${d.value != null ? `: ${JSON.stringify(d.value).slice(0, 80)}` : ''}`;
  const values = d.source_value !== undefined ? `: source ${JSON.stringify(d.source_value)}, target ${JSON.stringify(d.value)}` : d.value != null ? `: ${JSON.stringify(d.value)}` : '';
  return `${d.record}${field} ${d.rule}${values}`;
}

/** The readable summary printed by `airlift verify`. */
export function formatVerify(result: VerifyResult, limit = 20): string {
  const lines = [
    `Verification run #${result.runId}${result.resumed ? ' (resumed)' : ''}: ${result.passed ? 'PASSED' : 'FAILED'}, ${result.discrepancies} discrepancies, ${result.quarantined} records in quarantine (${(result.durationMs / 1000).toFixed(1)} s)` +
      `${result.deep ? '; deep: every target canonical form rebuilt' : ''}`,
    `Validation rules over the source: ${result.validation.warnings} warnings, ${result.validation.blocking} blocking findings (quarantined)${result.strict ? '; strict: warnings fail the verification' : ''}`,
    `Landed with problems (not discrepancies: each flagged on its field, the source value kept in sync.field_problems): ${result.landedWithProblems.records} records`,
    ...formatProblemGroups(result.landedWithProblems.groups, '  '),
  ];
  for (const e of result.entities) {
    const same = e.source_checksum === e.target_checksum;
    lines.push('', `${e.entity}: source ${e.source_records} records (quarantine left out), target ${e.target_records}; table checksums ${same ? 'equal' : 'differ'}`);
    for (const c of e.checks) {
      lines.push(`  ${CHECK_TITLES[c.validation_type].padEnd(13)} ${c.validation_passed ? 'ok' : 'FAILED'}: ${c.records_validated} checked, ${c.discrepancies_found} discrepancies`);
      for (const d of c.discrepancy_details.slice(0, limit)) lines.push(`    ${describe(d)}`);
      if (c.discrepancy_details.length > limit) lines.push(`    ... and ${c.discrepancy_details.length - limit} more (--json or --report for all)`);
    }
    for (const c of e.validation) {
      const title = c.validation_type === 'data_integrity' ? 'rules: data' : 'rules: links';
      lines.push(`  ${title.padEnd(13)} ${c.discrepancies_found} findings over ${c.records_validated} source records`);
      for (const d of c.discrepancy_details.slice(0, limit)) lines.push(`    ${describe(d)}`);
      if (c.discrepancy_details.length > limit) lines.push(`    ... and ${c.discrepancy_details.length - limit} more (--json or --report for all)`);
    }
    const criteria = e.checks.find((c) => c.validation_type === 'completeness_check')?.validation_criteria;
    const quarantined = criteria?.quarantined_records ?? [];
    if (quarantined.length) {
      lines.push(`  quarantined   ${quarantined.length}: ${quarantined.slice(0, 8).join(', ')}${quarantined.length > 8 ? ', ...' : ''} (reasons: airlift status)`);
    }
    const rejected = criteria?.rejected_before_staging ?? [];
    for (const r of rejected.slice(0, limit)) lines.push(`  rejected before staging: ${r.record}${r.field ? ` [${r.field}]` : ''}: ${r.reason}`);
    if (rejected.length > limit) lines.push(`  ... and ${rejected.length - limit} more rejected before staging (--json or --report for all)`);
  }
  if (result.files) lines.push('', ...formatFileVerification(result.files, limit));
  return `${lines.join('\n')}\n`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const escapeCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A report for an auditor: Markdown, or HTML when the file name ends in .html. */
export function renderReport(result: VerifyResult, format: 'markdown' | 'html', quarantineReasons: Map<string, string[]>): string {
  const md: string[] = [
    `# airlift verification report, run #${result.runId}`,
    '',
    `**Result: ${result.passed ? 'passed' : 'failed'}**: ${result.discrepancies} discrepancies; ${result.quarantined} source records in quarantine.`,
    '',
    `Validation rules over the source snapshot: ${result.validation.warnings} warnings, ${result.validation.blocking} blocking findings (those records are in quarantine).`,
    '',
    `Landed with problems (not discrepancies: flagged on the field, the source value kept): ${result.landedWithProblems.records} records.`,
    '',
    ...(result.landedWithProblems.groups.length
      ? ['| entity | field | rule | landed | records | example |', '|---|---|---|---|---|---|',
         ...result.landedWithProblems.groups.map((g) => `| ${g.entity} | ${escapeCell(g.field ?? '')} | ${g.rule} | ${g.disposition} | ${g.count} | ${escapeCell(g.examples[0] ? `${g.examples[0].record}: ${g.examples[0].reason}` : '')} |`), '']
      : []),
    '| entity | source records | target records | source table checksum | target table checksum |',
    '|---|---|---|---|---|',
    ...result.entities.map((e) => `| ${e.entity} | ${e.source_records} | ${e.target_records} | \`${e.source_checksum}\` | \`${e.target_checksum}\` |`),
  ];
  for (const e of result.entities) {
    md.push('', `## ${e.entity}`, '', '| check | records checked | passed | discrepancies |', '|---|---|---|---|');
    for (const c of e.checks) md.push(`| ${CHECK_TITLES[c.validation_type]} | ${c.records_validated} | ${c.validation_passed ? 'yes' : 'no'} | ${c.discrepancies_found} |`);
    const all = e.checks.flatMap((c) => c.discrepancy_details.map((d) => ({ check: CHECK_TITLES[c.validation_type], ...d })));
    if (all.length) {
      md.push('', '| check | record | field | source value | target value | rule |', '|---|---|---|---|---|---|');
      for (const d of all) {
        md.push(`| ${d.check} | ${d.record} | ${d.field ?? ''} | ${escapeCell(d.source_value === undefined ? '' : JSON.stringify(d.source_value))} | ${escapeCell(d.value == null ? '' : JSON.stringify(d.value))} | ${escapeCell(d.rule)} |`);
      }
    }
    const findings = e.validation.flatMap((c) => c.discrepancy_details);
    if (findings.length) {
      md.push('', `### Validation findings (${findings.length})`, '', '| record | field | value | severity | rule | reason |', '|---|---|---|---|---|---|');
      for (const d of findings) {
        md.push(`| ${d.record} | ${escapeCell(d.field ?? '')} | ${escapeCell(d.value == null ? '' : JSON.stringify(d.value).slice(0, 200))} | ${d.severity ?? ''} | ${d.rule} | ${escapeCell(d.reason ?? '')} |`);
      }
    }
    const quarantined = e.checks.find((c) => c.validation_type === 'completeness_check')?.validation_criteria.quarantined_records ?? [];
    if (quarantined.length) {
      md.push('', `### In quarantine (${quarantined.length})`, '', '| record | reasons |', '|---|---|');
      for (const id of quarantined) md.push(`| ${id} | ${escapeCell((quarantineReasons.get(id) ?? []).join('; '))} |`);
    }
  }
  const text = `${md.join('\n')}\n`;
  if (format === 'markdown') return text;
  // HTML: the same content, tables and headings, self-contained.
  const html: string[] = ['<!doctype html>', '<meta charset="utf-8">', `<title>airlift verification, run ${result.runId}</title>`,
    '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}code{font-size:90%}</style>'];
  let inTable = false;
  for (const line of md) {
    if (line.startsWith('|')) {
      if (/^\|---/.test(line)) continue;
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => escapeHtml(c.trim().replace(/\\\|/g, '|')).replace(/`([^`]*)`/g, '<code>$1</code>'));
      html.push(`${inTable ? '' : '<table>'}<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`);
      inTable = true;
      continue;
    }
    if (inTable) html.push('</table>');
    inTable = false;
    const heading = /^(#+) (.*)$/.exec(line);
    if (heading) html.push(`<h${heading[1].length}>${escapeHtml(heading[2])}</h${heading[1].length}>`);
    else if (line.trim()) html.push(`<p>${escapeHtml(line).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')}</p>`);
  }
  if (inTable) html.push('</table>');
  return `${html.join('\n')}\n`;
}

/** Open quarantine reasons per record, for the report. */
export async function quarantineReasons(sql: Sql): Promise<Map<string, string[]>> {
  const rows = await sql<{ source_key: string; reasons: string[] }[]>`
    select source_key, array_agg(coalesce(field || ': ', '') || reason order by field, reason) as reasons
    from sync.record_errors where resolved_at is null group by source_key`;
  return new Map(rows.map((r) => [r.source_key, r.reasons]));
}
