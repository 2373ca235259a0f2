/**
 * An Airtable base's mapping, in Airtable's vocabulary: tables and fields by
 * id (`tbl...`, `fld...`), each field's Airtable type (checked against the
 * base by the drift check), and the table's Last Modified field (incremental
 * listings). Read into the pipeline's shape (src/mapping.ts).
 */
import { z } from 'zod';
import type { Mapping, TableMapping, FieldMapping } from '../../mapping.ts';
import { CONVERSION_NAMES, columnName, conflictPolicy, entityName, issueLines, ruleSchema, targetTable, type Conversion, type MappingRead } from '../mapping-parts.ts';

/** How a cell converts to a column: the Airtable field types each conversion accepts. */
export const CONVERSIONS: Record<Conversion, readonly string[]> = {
  text: ['singleLineText', 'multilineText', 'richText', 'email', 'phoneNumber', 'url', 'autoNumber', 'barcode', 'formula', 'rollup'],
  select: ['singleSelect'],
  multi_select: ['multipleSelects'],
  date: ['date'],
  timestamp: ['dateTime', 'createdTime', 'lastModifiedTime'],
  money: ['currency', 'number', 'percent'],
  integer: ['number', 'rating', 'count', 'autoNumber'],
  checkbox: ['checkbox'],
  collaborator: ['singleCollaborator'],
  link: ['multipleRecordLinks'],
  attachments: ['multipleAttachments'],
  lookup_text: ['multipleLookupValues', 'lookup', 'rollup', 'formula'],
};

const airtableId = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[A-Za-z0-9]{14}$`), `expected an Airtable id like ${prefix}XXXXXXXXXXXXXX`);

const fieldSchema = z
  .object({
    fieldId: airtableId('fld'),
    name: z.string().min(1).describe('the field name, for humans; the mapping works by id'),
    airtableType: z.string().min(1),
    column: columnName.optional(),
    convert: z.enum(CONVERSION_NAMES),
    linkedEntity: z.string().regex(/^[a-z_]+$/).optional(),
    attachmentField: columnName.optional(),
    validate: z.array(ruleSchema).default([]),
    /** Who wins when this field changed differently in Airtable and here; overrides the table's policy. */
    conflictPolicy: conflictPolicy.optional(),
  })
  .strict();

const tableSchema = z
  .object({
    entity: entityName,
    tableId: airtableId('tbl'),
    tableName: z.string().min(1),
    target: targetTable,
    lastModifiedFieldId: airtableId('fld'),
    fields: z.array(fieldSchema).min(1),
    /** Fields deliberately left unmapped (formulas, reverse links): their values stay in staging, and the drift check does not warn about them. */
    unmappedFields: z.array(z.object({ fieldId: airtableId('fld'), name: z.string().min(1), why: z.string().min(1) }).strict()).default([]),
    /** Two-way sync: who wins a field changed differently on both sides (default source_wins: Airtable). */
    conflictPolicy: conflictPolicy.default('source_wins'),
    /** Two-way sync: rows deleted here are deleted in Airtable too. Default: not deleted there, reported as skipped. */
    pushDeletes: z.boolean().default(false),
    /** Two-way sync: send creates and updates with typecast (Airtable converts strings, creates select options). */
    typecast: z.boolean().default(false),
    /**
     * Two-way sync: 1 to 3 columns whose Airtable fields identify a record.
     * Creates are then sent as upserts on those fields (performUpsert), so a
     * create whose answer was lost can be sent again without making a second
     * record. Without it such a create is failed for a person to check.
     */
    upsertOn: z.array(columnName).min(1).max(3).optional(),
  })
  .strict();

const mappingSchema = z
  .object({
    version: z.literal(1),
    description: z.string().optional(),
    source: z.object({ kind: z.literal('airtable'), baseId: airtableId('app').optional() }).strict().optional(),
    baseId: airtableId('app').optional(),
    tables: z.array(tableSchema).min(1),
  })
  .strict();

/** Airtable's own check of a mapped field: the conversion must read the field's type. */
function fieldProblems(_table: TableMapping, field: FieldMapping, at: string): string[] {
  const accepted = CONVERSIONS[field.convert];
  return accepted.includes(field.airtableType ?? '') ? [] : [`${at}.convert: ${field.convert} cannot read an Airtable ${field.airtableType} field (it reads ${accepted.join(', ')})`];
}

export function readAirtableMapping(raw: unknown): MappingRead<Omit<Mapping, 'mergeOrder' | 'file'>> {
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) return { issues: issueLines(parsed.error) };
  const { source, baseId, ...rest } = parsed.data;
  return { mapping: { ...rest, source: { kind: 'airtable', baseId: source?.baseId ?? baseId } }, fieldProblems };
}
