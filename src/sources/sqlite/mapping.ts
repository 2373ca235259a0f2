/**
 * A SQLite database's mapping, in the SQLite source's vocabulary: the
 * database file (`"source": {"kind": "sqlite", "path": FILE}`, relative to
 * the mapping file), each table by its name in the file with its key column,
 * and each mapped column (`from`) with its cast rule (`cast`, see casts.ts)
 * and the target column it feeds. Read into the pipeline's shape
 * (src/mapping.ts): the table's name is the table id and the column's name
 * is the field id.
 */
import path from 'node:path';
import { z } from 'zod';
import type { FieldMapping, Mapping, TableMapping } from '../../mapping.ts';
import { columnName, entityName, issueLines, oneWayTable, ruleSchema, targetTable, type MappingRead } from '../mapping-parts.ts';
import { CAST_CONVERSIONS, SQLITE_CASTS } from './casts.ts';

/** A table or column name as SQLite holds it (any text; quoted when read). */
const sqliteName = z.string().min(1).max(200);

const fieldSchema = z
  .object({
    /** The SQLite column. */
    from: sqliteName,
    /** The target column. */
    column: columnName,
    cast: z.enum(SQLITE_CASTS),
    /** The pipeline's conversion, where the cast feeds more than one (casts.ts: CAST_CONVERSIONS); default the cast's first. */
    convert: z.enum(['text', 'select', 'multi_select', 'date', 'timestamp', 'money', 'integer', 'checkbox', 'link']).optional(),
    linkedEntity: entityName.optional(),
    /** blob: the bytes as base64 (default) or hex text. */
    encoding: z.enum(['base64', 'hex']).optional(),
    validate: z.array(ruleSchema).default([]),
  })
  .strict();

const tableSchema = z
  .object({
    entity: entityName,
    /** The table's name in the SQLite file. */
    table: sqliteName,
    /** Its key column: the primary key, or a column with a unique index (INTEGER or TEXT; staged as text). */
    key: sqliteName,
    target: targetTable,
    fields: z.array(fieldSchema).min(1),
  })
  .strict();

const mappingSchema = z
  .object({
    version: z.literal(1),
    description: z.string().optional(),
    source: z.object({ kind: z.literal('sqlite'), path: z.string().min(1) }).strict(),
    tables: z.array(tableSchema).min(1),
  })
  .strict();

function fieldProblems(_table: TableMapping, field: FieldMapping, at: string): string[] {
  const problems: string[] = [];
  const cast = field.cast!;
  const fits = CAST_CONVERSIONS[cast];
  if (!fits.includes(field.convert)) problems.push(`${at}.convert: a ${cast} cast feeds ${fits.join(' or ')}, not ${field.convert}`);
  if (field.linkedEntity && cast !== 'key') problems.push(`${at}.linkedEntity: only a key cast links (cast "key"), not a ${cast}`);
  if (field.blobEncoding && cast !== 'blob') problems.push(`${at}.encoding: only a blob is encoded, not a ${cast}`);
  return problems;
}

/** Reads a SQLite mapping; the database path is resolved against the mapping file's directory. */
export function readSqliteMapping(raw: unknown, mappingDir: string): MappingRead<Omit<Mapping, 'mergeOrder' | 'file'>> {
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) return { issues: issueLines(parsed.error) };
  const { source, tables, ...rest } = parsed.data;
  return {
    mapping: {
      ...rest,
      source: { kind: 'sqlite', path: path.resolve(mappingDir, source.path) },
      tables: tables.map(
        (table): TableMapping => ({
          entity: table.entity,
          tableId: table.table,
          tableName: table.table,
          target: table.target,
          sqlite: { table: table.table, key: table.key },
          fields: table.fields.map((field): FieldMapping => ({
            fieldId: field.from,
            name: field.from,
            column: field.column,
            convert: field.convert ?? CAST_CONVERSIONS[field.cast][0]!,
            linkedEntity: field.linkedEntity,
            cast: field.cast,
            blobEncoding: field.encoding,
            validate: field.validate,
          })),
          ...oneWayTable(),
        }),
      ),
    },
    fieldProblems,
  };
}
