/**
 * A legacy PostgreSQL database's mapping, in the PostgreSQL source's
 * vocabulary: where the connection string is (`"source": {"kind":
 * "postgres", "urlEnv": "LEGACY_DATABASE_URL"}`, the name of an environment
 * variable: a password never sits in the mapping file), each table by its
 * (optionally schema-qualified) name with its key column, and each mapped
 * column (`from`) with the target column it feeds and the conversion
 * (`convert`: `text` by default, `link` with `linkedEntity`). Read into the
 * pipeline's shape (src/mapping.ts): the table's name is the table id and
 * the column's name is the field id.
 */
import { z } from 'zod';
import type { FieldMapping, Mapping, TableMapping } from '../../mapping.ts';
import { columnName, entityName, issueLines, oneWayTable, ruleSchema, targetTable, type MappingRead } from '../mapping-parts.ts';

/** A table or column name as PostgreSQL holds it (quoted when read). */
const pgName = z.string().min(1).max(63);

/** The conversions a PostgreSQL column can feed (the merge's; no collaborator, attachments or lookups). */
export const POSTGRES_CONVERSIONS = ['text', 'select', 'multi_select', 'date', 'timestamp', 'money', 'integer', 'checkbox', 'link'] as const;

/** Keys per checksum range by default (integer keys): see source.ts. */
export const DEFAULT_RANGE_KEYS = 16;

const fieldSchema = z
  .object({
    /** The source column. */
    from: pgName,
    /** The target column. */
    column: columnName,
    /** The merge's conversion; default `link` with linkedEntity, else `text`. */
    convert: z.enum(POSTGRES_CONVERSIONS).optional(),
    linkedEntity: entityName.optional(),
    validate: z.array(ruleSchema).default([]),
  })
  .strict();

const tableSchema = z
  .object({
    entity: entityName,
    /** The table in the source: `name` (schema public) or `schema.name`. */
    table: z.string().regex(/^[^.]{1,63}(\.[^.]{1,63})?$/, 'expected a table name or schema.table'),
    /** Its key column: the primary key or a column with a unique index of its own (integer or text). */
    key: pgName,
    /** Integer keys: keys per checksum range (default 16, at most a page: 2,000); a changed range is read again whole. */
    rangeKeys: z.number().int().min(1).max(2_000).optional(),
    target: targetTable,
    fields: z.array(fieldSchema).min(1),
  })
  .strict();

const mappingSchema = z
  .object({
    version: z.literal(1),
    description: z.string().optional(),
    source: z
      .object({
        kind: z.literal('postgres'),
        /** The environment variable holding the connection string. */
        urlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the name of an environment variable, such as LEGACY_DATABASE_URL'),
      })
      .strict(),
    tables: z.array(tableSchema).min(1),
  })
  .strict();

function fieldProblems(_table: TableMapping, field: FieldMapping, at: string): string[] {
  const problems: string[] = [];
  if (field.linkedEntity && field.convert !== 'link') problems.push(`${at}.linkedEntity: only a link (convert "link") names a linked entity, not a ${field.convert}`);
  return problems;
}

/** A table name split into schema (default public) and name. */
export function splitTableName(name: string): { schema: string; name: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: 'public', name } : { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

/** Reads a PostgreSQL source's mapping. */
export function readPostgresMapping(raw: unknown): MappingRead<Omit<Mapping, 'mergeOrder' | 'file'>> {
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) return { issues: issueLines(parsed.error) };
  const { source, tables, ...rest } = parsed.data;
  return {
    mapping: {
      ...rest,
      source: { kind: 'postgres', urlEnv: source.urlEnv },
      tables: tables.map(
        (table): TableMapping => ({
          entity: table.entity,
          tableId: table.table,
          tableName: table.table,
          target: table.target,
          postgres: { ...splitTableName(table.table), key: table.key, rangeKeys: table.rangeKeys ?? DEFAULT_RANGE_KEYS },
          fields: table.fields.map((field): FieldMapping => ({
            fieldId: field.from,
            name: field.from,
            column: field.column,
            convert: field.convert ?? (field.linkedEntity ? 'link' : 'text'),
            linkedEntity: field.linkedEntity,
            validate: field.validate,
          })),
          ...oneWayTable(),
        }),
      ),
    },
    fieldProblems,
  };
}
