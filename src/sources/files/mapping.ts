/**
 * A directory of exports' mapping, in the files source's vocabulary: each
 * table is an export file (JSON array, JSON object keyed by id, JSON Lines,
 * CSV with a header row), its records keyed by a key field, and each field
 * addressed by a dot path into the record (`phone.mobile`, `checks.0.kind`).
 * Read into the pipeline's shape (src/mapping.ts): the file's name is the
 * table id and the path is the field id.
 */
import { FILE_ENCODINGS } from './text.ts';
import path from 'node:path';
import { z } from 'zod';
import type { FieldMapping, Mapping, TableMapping } from '../../mapping.ts';
import { columnName, entityName, issueLines, oneWayTable, ruleSchema, targetTable, type MappingRead } from '../mapping-parts.ts';

/** The conversions an export's values can take (no Airtable-only shapes: collaborators, lookups, attachments). */
export const FILE_CONVERSIONS = ['text', 'select', 'multi_select', 'date', 'timestamp', 'money', 'integer', 'checkbox', 'link'] as const;

const fieldPath = z.string().min(1).max(200).regex(/^[^\s]/, 'expected a dot path such as phone.mobile');

const fieldSchema = z
  .object({
    path: fieldPath,
    column: columnName,
    convert: z.enum(FILE_CONVERSIONS),
    linkedEntity: entityName.optional(),
    /** A text value holding a list (a CSV cell "a;b"), split on this separator: for multi_select. */
    split: z.string().min(1).max(5).optional(),
    /** A link's keys lowercased, as the linked table's keyCase makes its keys (wallet addresses written in either case). */
    keyCase: z.enum(['lower', 'as-is']).default('as-is'),
    validate: z.array(ruleSchema).default([]),
  })
  .strict();

const tableSchema = z
  .object({
    entity: entityName,
    file: z.string().min(1).refine((f) => !f.includes('/') && !f.includes('\\') && f !== '..' && f !== '.', 'expected a file name inside the source directory'),
    format: z.enum(['json', 'jsonl', 'csv']).optional(),
    key: fieldPath.describe('the key field (dot path), or "$key" for a JSON object keyed by id'),
    /** Record keys lowercased (keys whose case means nothing, such as hex wallet addresses). */
    keyCase: z.enum(['lower', 'as-is']).default('as-is'),
    recordsPath: z.string().min(1).optional(),
    /** What the export is written in; UTF-8 (the default) is checked, never assumed. */
    encoding: z.enum(FILE_ENCODINGS).optional(),
    /** CSV: the character between cells (default ",", a tab for .tsv). */
    delimiter: z.enum([',', ';', '\t', '|']).optional(),
    target: targetTable,
    fields: z.array(fieldSchema).min(1),
  })
  .strict();

const mappingSchema = z
  .object({
    version: z.literal(1),
    description: z.string().optional(),
    source: z.object({ kind: z.literal('files'), path: z.string().min(1) }).strict(),
    tables: z.array(tableSchema).min(1),
  })
  .strict();

function fieldProblems(_table: TableMapping, field: FieldMapping, at: string): string[] {
  if (field.split && field.convert !== 'multi_select') return [`${at}.split: only a multi_select value is split, not a ${field.convert}`];
  if (field.keyCase === 'lower' && field.convert !== 'link') return [`${at}.keyCase: only a link's keys are lowercased, not a ${field.convert}`];
  return [];
}

/** Reads a files mapping; the source path is resolved against the mapping file's directory. */
export function readFilesMapping(raw: unknown, mappingDir: string): MappingRead<Omit<Mapping, 'mergeOrder' | 'file'>> {
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) return { issues: issueLines(parsed.error) };
  const { source, tables, ...rest } = parsed.data;
  return {
    mapping: {
      ...rest,
      source: { kind: 'files', path: path.resolve(mappingDir, source.path) },
      tables: tables.map(
        (table): TableMapping => ({
          entity: table.entity,
          tableId: table.file,
          tableName: table.file,
          target: table.target,
          file: {
            name: table.file, format: table.format, key: table.key, recordsPath: table.recordsPath, keyCase: table.keyCase,
            encoding: table.encoding, delimiter: table.delimiter,
          },
          fields: table.fields.map((field): FieldMapping => ({
            fieldId: field.path,
            name: field.path,
            column: field.column,
            convert: field.convert,
            linkedEntity: field.linkedEntity,
            split: field.split,
            keyCase: field.keyCase,
            validate: field.validate,
          })),
          ...oneWayTable(),
        }),
      ),
    },
    fieldProblems,
  };
}
