/**
 * `airlift scaffold --source airtable:BASE_ID`: an Airtable base's tables
 * and fields, read with the Metadata API (src/sources/airtable/client.ts
 * `metadata()`), into a draft (draft.ts). The token and the endpoint come
 * from the environment as for a pull (AIRTABLE_TOKEN, AIRTABLE_ENDPOINT_URL,
 * AIRTABLE_RPS ...); the base is the one named after `airtable:`.
 *
 * The mapping is written in the Airtable mapping vocabulary
 * (src/sources/airtable/mapping.ts, as mappings/delta.json): tables and
 * fields by id, each field's Airtable type, the table's Last Modified field.
 * Each row keeps its Airtable record id in `airtable_id`.
 *
 * | Airtable field type                                  | conversion   | target column                     |
 * |------------------------------------------------------|--------------|-----------------------------------|
 * | singleLineText, multilineText, richText, email, url, phoneNumber, barcode | text | text          |
 * | singleSelect / multipleSelects                       | select / multi_select (allowed_values warning from its choices) | text / text[] |
 * | date                                                 | date         | date                              |
 * | dateTime, createdTime, lastModifiedTime              | timestamp    | timestamptz                       |
 * | currency                                             | money        | numeric(12,2)                     |
 * | number, precision 0; rating, count, autoNumber       | integer (REVIEW for a number: its range) | integer |
 * | number, precision 1 or 2; percent                    | money (REVIEW) | numeric(12,2)                   |
 * | number, more decimals                                | not mapped (REVIEW): money would round it, text cannot read a number |
 * | checkbox                                             | checkbox     | boolean                           |
 * | singleCollaborator                                   | collaborator | uuid references app.collaborators |
 * | multipleRecordLinks to a drafted table               | link (the first link is kept; a field allowing many: REVIEW) | uuid references the linked table |
 * | multipleRecordLinks, the reverse side of a single link | not mapped: the other table's foreign key keeps the relation |
 * | multipleLookupValues, lookup                         | lookup_text  | text                              |
 * | formula, rollup                                      | not mapped (REVIEW), as delta.json: derived from other fields |
 * | multipleAttachments                                  | not mapped (REVIEW): app.attachments has an owner column per owning table |
 * | anything else                                        | not mapped (REVIEW)                              |
 *
 * A field not mapped is listed in the table's `unmappedFields` with why (the
 * drift check then does not warn about it), and, unless it is a reverse
 * link or a formula, in a REVIEW note: nothing is dropped silently. A table
 * without a Last Modified field (lastModifiedTime over all fields) is not
 * drafted: the mapping needs one for incremental pulls.
 */
import { ConfigurationError, loadEnvironment, requireAirtable } from '../config.ts';
import { AirtableClient, AirtableRequestError, type MetadataField, type MetadataTable } from '../sources/airtable/client.ts';
import type { Conversion } from '../sources/mapping-parts.ts';
import { entityNameFor, NameSet, rankTables, tableName, targetColumnName, type Draft, type DraftColumn, type DraftIndex, type DraftTable } from './draft.ts';

export interface AirtableScaffoldOptions {
  baseId: string;
  schema: string;
  env?: NodeJS.ProcessEnv;
}

const TEXT_TYPES = new Set(['singleLineText', 'multilineText', 'richText', 'email', 'url', 'phoneNumber', 'barcode']);
const TIMESTAMP_TYPES = new Set(['dateTime', 'createdTime', 'lastModifiedTime']);
/** Fields Airtable computes, which refuse writes: never pushed back (nor are collaborators and lookups: sync.entity_columns.pushable). */
const NOT_PUSHABLE = new Set(['createdTime', 'lastModifiedTime', 'autoNumber', 'count', 'multipleLookupValues', 'lookup', 'formula', 'rollup']);

type Decision =
  | { conversion: Conversion; how: string; reviews: string[]; validate?: unknown[] }
  | { unmapped: string; review?: string };

/** A field's conversion from its Airtable type and options, or why it is not mapped. */
function decide(field: MetadataField): Decision {
  const t = field.type;
  const options = field.options ?? {};
  const choices = Array.isArray(options.choices) ? (options.choices as Array<{ name?: unknown }>).map((c) => c.name).filter((n): n is string => typeof n === 'string') : [];
  const allowed = choices.length ? [{ rule: 'allowed_values', values: choices, severity: 'warning' }] : undefined;
  if (TEXT_TYPES.has(t)) return { conversion: 'text', how: `text (${t} in Airtable)`, reviews: [] };
  if (t === 'singleSelect') return { conversion: 'select', how: `one of the field's choices (${choices.length} in Airtable)`, reviews: [], validate: allowed };
  if (t === 'multipleSelects') return { conversion: 'multi_select', how: `a list of the field's choices (${choices.length} in Airtable)`, reviews: [], validate: allowed };
  if (t === 'date') return { conversion: 'date', how: 'a date', reviews: [] };
  if (TIMESTAMP_TYPES.has(t)) return { conversion: 'timestamp', how: `a date-time (${t} in Airtable)`, reviews: [] };
  if (t === 'currency') return { conversion: 'money', how: `an amount to the cent (currency${typeof options.symbol === 'string' ? ` in ${options.symbol}` : ''} in Airtable)`, reviews: [] };
  if (t === 'checkbox') return { conversion: 'checkbox', how: 'a checkbox; false when unchecked', reviews: [] };
  if (t === 'singleCollaborator') return { conversion: 'collaborator', how: 'the Airtable user named (app.collaborators)', reviews: [] };
  if (t === 'rating' || t === 'count' || t === 'autoNumber') return { conversion: 'integer', how: `a whole number (${t} in Airtable)`, reviews: [] };
  if (t === 'multipleLookupValues' || t === 'lookup') return { conversion: 'lookup_text', how: 'the values looked up through a link, as text', reviews: [] };
  if (t === 'number') {
    const precision = typeof options.precision === 'number' ? options.precision : undefined;
    if (precision === 0) {
      return {
        conversion: 'integer', how: 'a whole number (number with precision 0 in Airtable)',
        reviews: ['a number with precision 0: drafted as integer, but Airtable does not bound it; the merge\'s whole numbers stop at 32,767, so a larger value lands as a field problem: map it as money if the values may grow'],
      };
    }
    if (precision !== undefined && precision <= 2) {
      return { conversion: 'money', how: `a number with ${precision} decimal(s) (numeric(12,2))`, reviews: [`a number with precision ${precision}: drafted as money (numeric(12,2), to the cent, below 10^10); check that it is an amount and stays in range`] };
    }
    return { unmapped: `a number with ${precision ?? 'unknown'} decimals: money would round it to the cent and text cannot read an Airtable number`, review: `a number with ${precision ?? 'unknown'} decimals: not mapped (money rounds to the cent, text cannot read an Airtable number); decide how to keep it` };
  }
  if (t === 'percent') {
    return { conversion: 'money', how: 'a percentage as a fraction (numeric(12,2))', reviews: ['a percent: Airtable sends it as a fraction (0.25 for 25%); money keeps two decimals only, so 12.5% would be rounded: decide the type'] };
  }
  if (t === 'formula' || t === 'rollup') {
    const result = (options.result as { type?: string } | undefined)?.type;
    return {
      unmapped: `${t}, derived from other fields in Airtable`,
      review: `a ${t}${result ? ` (its result: ${result})` : ''}: derived in Airtable from other fields, not mapped (as mappings/delta.json leaves formulas); map it as lookup_text if the derived value is wanted here`,
    };
  }
  if (t === 'multipleAttachments') {
    return {
      unmapped: 'attachments: app.attachments has one owner column per owning table, and this draft adds none',
      review: 'attachments: not mapped; app.attachments keeps files with one owner column per owning table (product_id, registration_id): add one for this table (and widen its attachments_exactly_one_owner check), set sync.entities.attachment_owner_column, and map the field with convert attachments and an attachmentField, as mappings/delta.json does',
    };
  }
  return { unmapped: `an Airtable ${t} field: no conversion reads it`, review: `an Airtable ${t} field: no conversion of the merge reads it, so it is not mapped; decide how to keep it` };
}

/**
 * The link field on the other side of a link, as Airtable keeps them in
 * step: the one `inverseLinkFieldId` names, else (an answer naming none, as
 * the emulator's) the only link back when the two tables have one link each
 * way. Undefined when there is none or it cannot be told (several links
 * between the two tables): `unsure` says which.
 */
function inverseOf(table: MetadataTable, field: MetadataField, tables: MetadataTable[]): { inverse?: MetadataField; unsure: boolean } {
  const linked = tables.find((t) => t.id === field.options?.linkedTableId);
  if (!linked) return { unsure: false };
  const explicit = field.options?.inverseLinkFieldId;
  if (typeof explicit === 'string') return { inverse: linked.fields.find((f) => f.id === explicit), unsure: false };
  if (linked === table) return { unsure: false };
  const linksBetween = (from: MetadataTable, to: MetadataTable) =>
    from.fields.filter((f) => f.type === 'multipleRecordLinks' && f.options?.linkedTableId === to.id && typeof f.options?.inverseLinkFieldId !== 'string');
  const back = linksBetween(linked, table);
  const forth = linksBetween(table, linked);
  if (back.length === 1 && forth.length === 1) return { inverse: back[0], unsure: false };
  return { unsure: back.length > 0 };
}

export async function scaffoldAirtable(options: AirtableScaffoldOptions): Promise<Draft> {
  if (!/^app[A-Za-z0-9]{14}$/.test(options.baseId)) {
    throw new ConfigurationError(`--source airtable:${options.baseId}: expected an Airtable base id like appXXXXXXXXXXXXXX`);
  }
  const env = loadEnvironment({ ...(options.env ?? process.env), AIRTABLE_BASE_ID: options.baseId });
  const settings = requireAirtable(env);
  const client = new AirtableClient({ ...settings, maxAttempts: Math.min(settings.maxAttempts, 3) });
  let tables: MetadataTable[];
  try {
    tables = await client.metadata();
  } catch (error) {
    if (error instanceof AirtableRequestError && (error.kind === 'authentication' || error.kind === 'not_found' || error.kind === 'rejected' || error.kind === 'transient')) {
      throw new ConfigurationError(`--source airtable:${options.baseId}: the base's metadata cannot be read: ${error.message}`);
    }
    throw error;
  }
  return draftFromMetadata(tables, options);
}

/** The draft for a base's metadata (exported for tests of the decisions). */
export function draftFromMetadata(base: MetadataTable[], options: { baseId: string; schema: string }): Draft {
  const refused: Draft['refused'] = [];
  const drafted: MetadataTable[] = [];
  for (const table of base) {
    const lastModified = table.fields.filter((f) => f.type === 'lastModifiedTime' && !(f.options?.referencedFieldIds as unknown[] | undefined)?.length);
    if (lastModified.length === 0) {
      refused.push({ sourceName: `${table.name} (${table.id})`, why: 'no Last Modified field over all fields (a lastModifiedTime field): the mapping needs one for incremental pulls; add one in Airtable and scaffold again' });
      continue;
    }
    drafted.push(table);
  }

  const tableNames = new NameSet();
  const entities = new NameSet();
  const nameOf = new Map<string, string>();
  const entityOf = new Map<string, string>();
  for (const table of drafted) {
    nameOf.set(table.id, tableNames.take(tableName(table.name)));
    entityOf.set(table.id, entities.take(entityNameFor(options.schema, nameOf.get(table.id)!)).replace(/[0-9]/g, 'x'));
  }

  const tables: DraftTable[] = [];
  const unmappedOf = new Map<DraftTable, Array<{ fieldId: string; name: string; why: string }>>();
  for (const table of drafted) {
    const name = nameOf.get(table.id)!;
    const lastModified = table.fields.find((f) => f.type === 'lastModifiedTime' && !(f.options?.referencedFieldIds as unknown[] | undefined)?.length)!;
    const columnNames = new NameSet(['id', 'airtable_id', 'open_problem_count', 'created_at', 'updated_at', 'deleted_at']);
    const columns: DraftColumn[] = [];
    const reviews: string[] = [];
    const unmapped: Array<{ fieldId: string; name: string; why: string }> = [];
    for (const field of table.fields) {
      const sourceRef = `${table.name}.${field.name} (${field.id})`;
      const ref = { fieldId: field.id, name: field.name, airtableType: field.type };
      if (field.type === 'multipleRecordLinks') {
        const linkedId = field.options?.linkedTableId as string | undefined;
        const many = field.options?.prefersSingleRecordLink !== true;
        const { inverse, unsure } = inverseOf(table, field, base);
        // the side that allows many links, when the other side prefers one, is the reverse of that one's foreign key
        if (many && inverse && inverse.id !== field.id && inverse.options?.prefersSingleRecordLink === true) {
          unmapped.push({ fieldId: field.id, name: field.name, why: 'reverse link; the relation is kept by the other tables foreign key' });
          continue;
        }
        if (!linkedId || !nameOf.has(linkedId)) {
          const why = `a link to ${linkedId ?? 'an unnamed table'}, which is not drafted`;
          unmapped.push({ fieldId: field.id, name: field.name, why });
          reviews.push(`${field.name} (${field.id}): ${why}: not mapped; draft that table or keep the link by hand`);
          continue;
        }
        const { name: column, renamed } = targetColumnName(field.name.endsWith(' id') ? field.name : `${field.name} id`, columnNames, 'airtable_id');
        const linked = nameOf.get(linkedId)!;
        const linkReviews: string[] = [];
        if (many) {
          linkReviews.push(`${field.name} allows many links in Airtable (prefersSingleRecordLink false): drafted as one link, the first kept and the others reported as extra_links problems, as mappings/delta.json does; a many-to-many relation needs a join table written by hand`);
        }
        if (unsure) linkReviews.push(`${field.name}: Airtable names no inverse field and ${linked} has several links back, so whether this is the reverse side of one of them cannot be told; if it is, drop it from the mapping (unmappedFields) and this column`);
        columns.push({
          name: column, sourceName: field.name, conversion: 'link',
          link: { table: linked, onDelete: 'set null', why: 'Airtable clears a link to a deleted record' },
          comment: `The ${linked} row it links to (${sourceRef}, a link; the first one when it names several)${renamed ? ` (${renamed})` : ''}.`,
          reviews: linkReviews,
          field: { ...ref, convert: 'link', linkedEntity: entityOf.get(linkedId)! },
        });
        continue;
      }
      const decision = decide(field);
      if ('unmapped' in decision) {
        unmapped.push({ fieldId: field.id, name: field.name, why: decision.unmapped });
        if (decision.review) reviews.push(`${field.name} (${field.id}): ${decision.review}`);
        continue;
      }
      const { name: column, renamed } = targetColumnName(decision.conversion === 'collaborator' ? `${field.name} id` : field.name, columnNames, 'airtable_id');
      columns.push({
        name: column, sourceName: field.name, conversion: decision.conversion,
        comment: `From ${sourceRef}: ${decision.how}${renamed ? ` (${renamed})` : ''}.${field.id === lastModified.id ? ' The table\'s Last Modified field: incremental pulls list what changed after it.' : ''}`,
        reviews: decision.reviews,
        pushable: !(NOT_PUSHABLE.has(field.type) || decision.conversion === 'collaborator' || decision.conversion === 'lookup_text'),
        field: { ...ref, convert: decision.conversion, ...(decision.validate ? { validate: decision.validate } : {}) },
      });
    }
    const indexNames = new NameSet();
    const indexes: DraftIndex[] = columns
      .filter((c) => c.link || c.conversion === 'collaborator')
      .map((c) => ({ name: indexNames.take(`${name}_${c.name}`), columns: [c.name], comment: c.link ? `Foreign key ${c.name}: the rows linking to a ${c.link.table} row.` : `Foreign key ${c.name}: the rows naming an app.collaborators row.` }));
    const draftTable: DraftTable = {
      sourceName: table.name, name, entity: entityOf.get(table.id)!,
      comment: `Drafted from the Airtable table ${table.name} (${table.id}) of base ${options.baseId}. Say what it holds.`,
      key: 'record id',
      keyComment: `The Airtable record id (rec...) of the row in ${table.name}`,
      columns, indexes, reviews, rank: 1,
      mappingTable: { entity: entityOf.get(table.id)!, tableId: table.id, tableName: table.name, target: `${options.schema}.${name}`, lastModifiedFieldId: lastModified.id },
    };
    unmappedOf.set(draftTable, unmapped);
    tables.push(draftTable);
  }
  rankTables(tables);
  for (const table of tables) {
    const unmapped = unmappedOf.get(table)!;
    // a link that closes a cycle has no plain form an Airtable conversion reads: it is left unmapped (rankTables' REVIEW note says why)
    for (const column of [...table.columns]) {
      if (column.conversion !== 'link' && column.field.convert === 'link') {
        table.columns.splice(table.columns.indexOf(column), 1);
        unmapped.push({ fieldId: column.field.fieldId as string, name: column.sourceName, why: 'a link that closes a cycle of links' });
        table.reviews.push(`${column.sourceName} (${column.field.fieldId}): ${column.reviews.join('; ')}; an Airtable link has no plain text form, so it is not mapped`);
        table.indexes = table.indexes.filter((i) => !i.columns.includes(column.name));
      }
    }
    if (unmapped.length) table.mappingTable.unmappedFields = unmapped;
  }
  return {
    schema: options.schema,
    sourceLabel: `the Airtable base ${options.baseId}`,
    sourceKeyColumn: 'airtable_id',
    goneFrom: 'the Airtable base',
    tables,
    refused,
    mappingHead: {
      version: 1,
      description: `DRAFT written by airlift scaffold from the Airtable base ${options.baseId} to schema ${options.schema} (migration.sql next to it); review its REVIEW notes before use. Fields are mapped by id.`,
      source: { kind: 'airtable', baseId: options.baseId },
    },
  };
}
