/**
 * The mapping from a source to the target schema: where the records come
 * from (`source`: an Airtable base, a directory of exports, a SQLite database, a legacy
 * PostgreSQL), which source
 * table feeds which entity, which field feeds which column and how its
 * values convert, which fields are links and attachments, and the rules
 * that check them. Each source reads its own vocabulary (Airtable's table
 * and field ids and types; a file's name, key and JSON paths) with its own
 * schema in src/sources/<kind>/mapping.ts into the pipeline's shape here.
 * Validated with zod at start-up; a bad mapping fails with a message naming
 * the key and what was expected (exit code 2).
 *
 * Field ids live here, not in the database schema. The runner writes them to
 * sync.entity_mappings before each run, and the SQL merge functions read
 * them from there, so renaming a field in Airtable changes nothing.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from 'postgres';
import { z } from 'zod';
import { ConfigurationError } from './config.ts';
import { PROJECT_ROOT } from './db/database.ts';

export const DEFAULT_MAPPING_FILE = path.join(PROJECT_ROOT, 'mappings', 'delta.json');

import { CONVERSION_NAMES, type Conversion, type ConflictPolicy, type FieldRule } from './sources/mapping-parts.ts';
import { readAirtableMapping } from './sources/airtable/mapping.ts';
import { readFilesMapping } from './sources/files/mapping.ts';
import { readSqliteMapping } from './sources/sqlite/mapping.ts';
import { readPostgresMapping } from './sources/postgres/mapping.ts';
import type { SqliteCast } from './sources/sqlite/casts.ts';

export { CONFLICT_POLICIES, CONVERSION_NAMES, type Conversion, type ConflictPolicy, type FieldRule } from './sources/mapping-parts.ts';

/**
 * A mapped field, in the pipeline's terms. Each source's mapping schema
 * (src/sources/<kind>/mapping.ts) reads its own vocabulary into this shape:
 * `fieldId` is how the source addresses the value in a staged record
 * (Airtable's field id; a JSON path for a file), `name` is for humans.
 */
export interface FieldMapping {
  fieldId: string;
  name: string;
  column?: string;
  convert: Conversion;
  linkedEntity?: string;
  attachmentField?: string;
  validate: FieldRule[];
  /** Who wins when this field changed differently in the source and here; overrides the table's policy. */
  conflictPolicy?: ConflictPolicy;
  /** Airtable: the field's type, checked against the base (drift). */
  airtableType?: string;
  /** Files: a text cell holding a list, split on this separator (a multi_select from CSV). */
  split?: string;
  /** Files: a link's keys lowercased. */
  keyCase?: 'lower' | 'as-is';
  /** SQLite: how the column's values are read (src/sources/sqlite/casts.ts). */
  cast?: SqliteCast;
  /** SQLite, a blob cast: the bytes as base64 or hex text. */
  blobEncoding?: 'base64' | 'hex';
}

/** A mapped table, in the pipeline's terms (see FieldMapping). */
export interface TableMapping {
  entity: string;
  /** The table's id in the source: an Airtable table id, an export file's name. */
  tableId: string;
  tableName: string;
  target: string;
  fields: FieldMapping[];
  /** Airtable: the table's Last Modified field (incremental listings). */
  lastModifiedFieldId?: string;
  unmappedFields: Array<{ fieldId: string; name: string; why: string }>;
  conflictPolicy: ConflictPolicy;
  pushDeletes: boolean;
  typecast: boolean;
  upsertOn?: string[];
  /** Files: how the export is read (format, key path, where the records are in a JSON document). */
  file?: {
    name: string;
    format?: 'json' | 'jsonl' | 'csv';
    key: string;
    recordsPath?: string;
    keyCase?: 'lower' | 'as-is';
    /** The files source: what the export is written in (default UTF-8, checked). */
    encoding?: 'utf8' | 'latin1' | 'windows-1252' | 'utf16le';
    /** The files source, CSV: the character between cells. */
    delimiter?: ',' | ';' | '\t' | '|';
  };
  /** SQLite: the table in the database file and its key column. */
  sqlite?: { table: string; key: string };
  /** PostgreSQL: the table (schema and name), its key column, and keys per checksum range (integer keys). */
  postgres?: { schema: string; name: string; key: string; rangeKeys: number };
}

/** Where the records come from: the mapping's `source`. */
export type SourceSpec =
  | { kind: 'airtable'; baseId?: string }
  | { kind: 'files'; path: string }
  | { kind: 'sqlite'; path: string }
  /** A legacy PostgreSQL database: its connection string is in the environment variable named here. */
  | { kind: 'postgres'; urlEnv: string };

export interface Mapping {
  version: 1;
  description?: string;
  source: SourceSpec;
  tables: TableMapping[];
  /** Tables in merge order: every table after the tables its links point to. */
  mergeOrder: TableMapping[];
  /** Where it was read from (the file's path), to name in errors. */
  file: string;
}

/** Checks what zod's shapes cannot: columns exist, conversions fit, links resolve. */
function semanticProblems(mapping: { tables: TableMapping[] }, sourceProblems: (table: TableMapping, field: FieldMapping, at: string) => string[]): string[] {
  const problems: string[] = [];
  const entities = new Set<string>();
  const tableIds = new Set<string>();
  mapping.tables.forEach((table, t) => {
    const at = `tables.${t}`;
    if (entities.has(table.entity)) problems.push(`${at}.entity: ${table.entity} is mapped twice`);
    entities.add(table.entity);
    if (tableIds.has(table.tableId)) problems.push(`${at}.tableId: ${table.tableId} is mapped twice`);
    tableIds.add(table.tableId);
    const seenFields = new Set<string>();
    const seenColumns = new Set<string>();
    table.fields.forEach((field, f) => {
      const key = `${at}.fields.${f}`;
      if (seenFields.has(field.fieldId)) problems.push(`${key}.fieldId: ${field.fieldId} is mapped twice`);
      seenFields.add(field.fieldId);
      problems.push(...sourceProblems(table, field, key));
      if (field.convert === 'attachments') {
        if (!field.attachmentField) problems.push(`${key}.attachmentField: required for attachments (the app.attachments field_name)`);
        if (field.column) problems.push(`${key}.column: attachments go to app.attachments, not a column`);
        return;
      }
      if (!field.column) {
        problems.push(`${key}.column: required for convert ${field.convert}`);
        return;
      }
      if (seenColumns.has(field.column)) problems.push(`${key}.column: ${field.column} is mapped twice`);
      seenColumns.add(field.column);
      if (field.convert === 'link' && !field.linkedEntity) problems.push(`${key}.linkedEntity: required for a link`);
      const seenRules = new Set<string>();
      field.validate.forEach((rule, r) => {
        const at = `${key}.validate.${r}`;
        if (seenRules.has(rule.rule)) problems.push(`${at}.rule: ${rule.rule} is given twice for ${field.column}`);
        seenRules.add(rule.rule);
        const fits = RULE_CONVERSIONS[rule.rule];
        if (!fits.includes(field.convert)) problems.push(`${at}.rule: ${rule.rule} cannot check a ${field.convert} column (it checks ${fits.join(', ')})`);
        if (rule.rule === 'duplicate' && rule.scope && !table.fields.some((f) => f.column === rule.scope && f.convert === 'link')) {
          problems.push(`${at}.scope: ${rule.scope} is not a mapped link column of ${table.entity}`);
        }
      });
    });
    table.upsertOn?.forEach((column, c) => {
      const field = table.fields.find((f) => f.column === column);
      if (!field) problems.push(`${at}.upsertOn.${c}: ${column} is not a mapped column of ${table.entity}`);
      else if (!['text', 'select', 'integer', 'money', 'date'].includes(field.convert)) {
        problems.push(`${at}.upsertOn.${c}: ${column} is a ${field.convert} column; Airtable merges upserts on text, number, date or select fields`);
      }
    });
    table.unmappedFields.forEach((field, f) => {
      if (seenFields.has(field.fieldId)) problems.push(`${at}.unmappedFields.${f}.fieldId: ${field.fieldId} is also mapped`);
    });
  });
  mapping.tables.forEach((table, t) =>
    table.fields.forEach((field, f) => {
      if (field.linkedEntity && !entities.has(field.linkedEntity)) {
        problems.push(`tables.${t}.fields.${f}.linkedEntity: ${field.linkedEntity} is not a mapped table`);
      }
    }),
  );
  return problems;
}

/** The conversions each rule can check. */
const RULE_CONVERSIONS: Record<FieldRule['rule'], Conversion[]> = {
  required: ['text', 'select', 'multi_select', 'date', 'timestamp', 'money', 'integer', 'checkbox', 'collaborator', 'link', 'lookup_text'],
  format: ['text', 'select', 'lookup_text'],
  allowed_values: ['select', 'multi_select', 'text', 'lookup_text'],
  range: ['date', 'timestamp', 'money', 'integer'],
  max_decimals: ['money'],
  trimmed: ['text', 'select'],
  single_link: ['link'],
  duplicate: ['text'],
};

function mergeOrder(tables: TableMapping[], file: string): TableMapping[] {
  const byEntity = new Map(tables.map((t) => [t.entity, t]));
  const ordered: TableMapping[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (table: TableMapping, trail: string[]) => {
    if (state.get(table.entity) === 'done') return;
    if (state.get(table.entity) === 'visiting') {
      throw new ConfigurationError(`Bad mapping ${file}: links form a cycle (${[...trail, table.entity].join(' -> ')}); the merge order cannot be decided`);
    }
    state.set(table.entity, 'visiting');
    for (const field of table.fields) {
      const target = field.linkedEntity && byEntity.get(field.linkedEntity);
      if (target && target !== table) visit(target, [...trail, table.entity]);
    }
    state.set(table.entity, 'done');
    ordered.push(table);
  };
  for (const table of tables) visit(table, []);
  return ordered;
}

/**
 * The tables a command asked for (entity, Airtable table name or id), in
 * merge order; every mapped table when none is named. An unknown name is
 * thrown as `fail(message)`, the message listing what is mapped.
 */
export function selectTables(mapping: Mapping, wanted: string[] | undefined, fail: (message: string) => Error): TableMapping[] {
  if (!wanted?.length) return mapping.mergeOrder;
  const chosen = new Set<TableMapping>();
  for (const name of wanted) {
    const table = mapping.tables.find((t) => t.entity === name || t.tableId === name || t.tableName.toLowerCase() === name.toLowerCase());
    if (!table) throw fail(`no mapped table called ${name} (mapped: ${mapping.tables.map((t) => `${t.entity} / "${t.tableName}"`).join(', ')})`);
    chosen.add(table);
  }
  return mapping.mergeOrder.filter((t) => chosen.has(t));
}

/** Validates a parsed mapping; throws ConfigurationError naming each bad key. */
export function parseMapping(raw: unknown, file = 'mapping'): Mapping {
  const fail = (lines: string[]) => new ConfigurationError(`Bad mapping ${file}:\n  ${lines.join('\n  ')}`);
  const kind = (raw as { source?: { kind?: unknown } } | null)?.source?.kind ?? 'airtable';
  // a mapping without a source is an Airtable base's (the mappings written before there were others)
  const mappingDir = path.dirname(path.resolve(file));
  const read =
    kind === 'airtable'
      ? readAirtableMapping(raw)
      : kind === 'files'
        ? readFilesMapping(raw, mappingDir)
        : kind === 'sqlite'
          ? readSqliteMapping(raw, mappingDir)
          : kind === 'postgres'
            ? readPostgresMapping(raw)
            : { issues: [`source.kind: expected airtable, files, sqlite or postgres, got ${JSON.stringify(kind)}`] };
  if ('issues' in read) throw fail(read.issues);
  const problems = semanticProblems(read.mapping, read.fieldProblems);
  if (problems.length) throw fail(problems);
  return { ...read.mapping, mergeOrder: mergeOrder(read.mapping.tables, file), file };
}

export async function loadMapping(file = DEFAULT_MAPPING_FILE): Promise<Mapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`Cannot read the mapping file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`The mapping file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseMapping(raw, file);
}

/** What sync.entity_mappings stores for an entity: column -> field id, link targets, attachments. */
export function entityMappingRow(table: TableMapping) {
  const fieldIds: Record<string, string> = {};
  const attachmentFields: Record<string, string> = {};
  for (const field of table.fields) {
    if (field.convert === 'attachments') attachmentFields[field.attachmentField!] = field.fieldId;
    else fieldIds[field.column!] = field.fieldId;
  }
  return {
    entity: table.entity,
    source_table: table.tableId,
    table_name: table.tableName,
    field_ids: fieldIds,
    attachment_field_ids: attachmentFields,
    last_modified_field_id: table.lastModifiedFieldId,
  };
}

/** What a rule demands, in words: the reason each finding gives after the field name. */
function describeRule(rule: FieldRule): string {
  switch (rule.rule) {
    case 'required':
      return 'must not be empty';
    case 'format':
      return { email: 'must be a valid email address', phone: 'must be a dialable phone number', url: 'must be an http(s) URL', state_code: 'must be a US state, DC or territory code' }[rule.format];
    case 'allowed_values':
      return `must be one of: ${rule.values.join(', ')}`;
    case 'range':
      return rule.min !== undefined && rule.max !== undefined ? `must be between ${rule.min} and ${rule.max}` : rule.min !== undefined ? `must be at least ${rule.min}` : `must be at most ${rule.max}`;
    case 'max_decimals':
      return `must have at most ${rule.decimals} decimals (the merge rounds it)`;
    case 'trimmed':
      return 'must not start or end with white space';
    case 'single_link':
      return 'must link one record (only the first is kept)';
    case 'duplicate':
      return rule.scope ? `must not repeat another record's (same ${rule.scope}; case and spacing ignored)` : "must not repeat another record's (case and spacing ignored)";
  }
}

/** The mapping's validation rules, as sync.validation_rules rows (origin mapping). */
export function validationRuleRows(mapping: Mapping) {
  return mapping.tables.flatMap((table) =>
    table.fields.flatMap((field) =>
      field.validate.map((rule) => {
        const { rule: kind, severity, ...parameters } = rule;
        return {
          rule_id: `${table.entity}.${field.column}.${kind}`,
          entity: table.entity,
          column_name: field.column!,
          rule_kind: kind,
          parameters,
          severity,
          validation_type: kind === 'single_link' ? 'relationship_integrity' : 'data_integrity',
          description: describeRule(rule),
        };
      }),
    ),
  );
}

/** Rewrites the mapping's rules in sync.validation_rules: only changed rules are written (the table is audited). */
export async function writeValidationRules(sql: Sql, mapping: Mapping): Promise<void> {
  const rows = validationRuleRows(mapping);
  await sql.begin(async (tx) => {
    await tx`
      delete from sync.validation_rules r
      where r.origin = 'mapping' and r.rule_id <> all (${tx.array(rows.map((row) => row.rule_id))}::text[])`;
    await tx`
      insert into sync.validation_rules as r (rule_id, entity, column_name, rule_kind, parameters, severity, validation_type, origin, description)
      select rule_id, entity, column_name, rule_kind, parameters, severity, validation_type, 'mapping', description
      from jsonb_to_recordset(${tx.json(rows)}) as x (rule_id text, entity text, column_name text, rule_kind text, parameters jsonb,
                                                      severity text, validation_type text, description text)
      on conflict (rule_id) do update set entity = excluded.entity, column_name = excluded.column_name, rule_kind = excluded.rule_kind,
        parameters = excluded.parameters, severity = excluded.severity, validation_type = excluded.validation_type,
        origin = excluded.origin, description = excluded.description
      where row(r.entity, r.column_name, r.rule_kind, r.parameters, r.severity, r.validation_type, r.origin, r.description)
        is distinct from row(excluded.entity, excluded.column_name, excluded.rule_kind, excluded.parameters, excluded.severity,
                             excluded.validation_type, excluded.origin, excluded.description)`;
  });
}

interface CatalogueColumn {
  entity: string;
  column_name: string;
  conversion: string;
  linked_entity: string | null;
}

/**
 * Checks a mapping against the entity catalogue in the database
 * (sync.entities, sync.entity_columns): every entity has a merge, every
 * column exists with the conversion the merge expects, links point where
 * the foreign key does, attachments have an owner. Throws ConfigurationError
 * naming the mapping's file.
 */
export async function checkMappingAgainstCatalogue(sql: Sql, mapping: Mapping, source = mapping.file): Promise<void> {
  const entities = await sql<{ entity: string; attachment_owner_column: string | null }[]>`
    select entity, attachment_owner_column from sync.entities order by merge_rank, entity`;
  const columns = await sql<CatalogueColumn[]>`select entity, column_name, conversion, linked_entity from sync.entity_columns`;
  const known = new Map(entities.map((e) => [e.entity, e]));
  const problems: string[] = [];
  mapping.tables.forEach((table, t) => {
    const entity = known.get(table.entity);
    if (!entity) {
      problems.push(`tables.${t}.entity: no merge for entity ${table.entity} (known: ${[...known.keys()].join(', ')})`);
      return;
    }
    const entityColumns = new Map(columns.filter((c) => c.entity === table.entity).map((c) => [c.column_name, c]));
    table.fields.forEach((field, f) => {
      const key = `tables.${t}.fields.${f}`;
      if (field.convert === 'attachments') {
        if (!entity.attachment_owner_column) problems.push(`${key}.convert: ${table.entity} holds no attachments`);
        return;
      }
      const column = entityColumns.get(field.column!);
      if (!column) {
        problems.push(`${key}.column: ${table.target} has no mapped column ${field.column} (it has ${[...entityColumns.keys()].sort().join(', ')})`);
      } else if (column.conversion !== field.convert) {
        problems.push(`${key}.convert: column ${field.column} takes convert ${column.conversion}, got ${field.convert}`);
      } else if (column.linked_entity && column.linked_entity !== field.linkedEntity) {
        problems.push(`${key}.linkedEntity: ${field.column} links to ${column.linked_entity}, got ${field.linkedEntity}`);
      }
    });
  });
  if (problems.length) throw new ConfigurationError(`Bad mapping ${source}:\n  ${problems.join('\n  ')}`);
}

/** The table and column conflict policies of a mapping, as sync.conflict_policies rows. */
export function conflictPolicyRows(mapping: Mapping) {
  return mapping.tables.flatMap((table) => [
    { entity: table.entity, column_name: null as string | null, policy: table.conflictPolicy, reason: 'mapping: table policy' },
    ...table.fields
      .filter((field) => field.conflictPolicy && field.column)
      .map((field) => ({ entity: table.entity, column_name: field.column!, policy: field.conflictPolicy!, reason: `mapping: ${field.name}` })),
  ]);
}

/**
 * Writes the mapping's two-way settings: push_deletes per table, and the
 * conflict policies, which the mapping owns (sync.conflict_policies is
 * rewritten to match it; only changed rows are written, the table is
 * audited). Run before every pull and push.
 */
export async function writePushSettings(sql: Sql, mapping: Mapping): Promise<void> {
  const policies = conflictPolicyRows(mapping);
  const deletes = mapping.tables.map((t) => ({ entity: t.entity, push_deletes: t.pushDeletes }));
  await sql.begin(async (tx) => {
    await tx`
      update sync.entity_mappings m set push_deletes = d.push_deletes
      from jsonb_to_recordset(${tx.json(deletes)}) as d (entity text, push_deletes boolean)
      where m.entity = d.entity and m.push_deletes is distinct from d.push_deletes`;
    await tx`
      delete from sync.conflict_policies p
      where not exists (select from jsonb_to_recordset(${tx.json(policies)}) as x (entity text, column_name text)
                        where x.entity = p.entity and x.column_name is not distinct from p.column_name)`;
    await tx`
      insert into sync.conflict_policies as p (entity, column_name, policy, reason)
      select entity, column_name, policy, reason
      from jsonb_to_recordset(${tx.json(policies)}) as x (entity text, column_name text, policy text, reason text)
      where exists (select from sync.entities e where e.entity = x.entity)
      on conflict (entity, column_name) do update set policy = excluded.policy, reason = excluded.reason
      where row(p.policy, p.reason) is distinct from row(excluded.policy, excluded.reason)`;
  });
}
