/**
 * Schema drift: the base as the Metadata API describes it now, against the
 * mapping. A mapped table or field that is gone or changed type stops the
 * run (its data would be misread); a rename is fine (the mapping is by id)
 * and is reported; a new field nobody mapped is a warning, and its values
 * are kept in staging (the raw fields JSONB), not lost.
 */
import type { MetadataTable } from './client.ts';
import type { Mapping } from '../../mapping.ts';

export interface DriftReport {
  /** Problems that stop the run, each naming the table and field. */
  errors: string[];
  /** Worth knowing, not stopping: renames and new unmapped fields. */
  warnings: string[];
  /** Current names in Airtable: table id -> { name, fields: field id -> name }. */
  currentNames: Map<string, { name: string; fields: Map<string, string> }>;
}

/** Field types whose changes never move a Last Modified time (Airtable computes them). */
const WITHOUT_LAST_MODIFIED = new Set([
  'formula', 'rollup', 'count', 'lookup', 'multipleLookupValues', 'createdTime', 'lastModifiedTime', 'autoNumber', 'createdBy', 'lastModifiedBy', 'button',
]);

export function checkDrift(mapping: Mapping, metadata: MetadataTable[]): DriftReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  const currentNames: DriftReport['currentNames'] = new Map();
  const byId = new Map(metadata.map((t) => [t.id, t]));
  for (const table of mapping.tables) {
    const live = byId.get(table.tableId);
    if (!live) {
      errors.push(`table ${table.tableId} ("${table.tableName}", mapped to ${table.target}) is gone from the base`);
      continue;
    }
    const liveFields = new Map(live.fields.map((f) => [f.id, f]));
    currentNames.set(table.tableId, { name: live.name, fields: new Map(live.fields.map((f) => [f.id, f.name])) });
    if (live.name !== table.tableName) warnings.push(`table ${table.tableId} was renamed from "${table.tableName}" to "${live.name}"; the mapping is by id and keeps working`);
    for (const field of table.fields) {
      const current = liveFields.get(field.fieldId);
      if (!current) {
        errors.push(`field ${field.fieldId} ("${field.name}") of table "${live.name}" is gone (it fed ${table.target}.${field.column ?? field.attachmentField})`);
        continue;
      }
      if (current.type !== field.airtableType) {
        errors.push(`field ${field.fieldId} ("${current.name}") of table "${live.name}" changed type from ${field.airtableType} to ${current.type}; update the mapping before syncing`);
      }
      if (current.name !== field.name) {
        warnings.push(`field ${field.fieldId} of table "${live.name}" was renamed from "${field.name}" to "${current.name}"; the mapping is by id and keeps working`);
      }
    }
    const lastModified = liveFields.get(table.lastModifiedFieldId ?? "");
    if (!lastModified) errors.push(`the Last Modified field ${table.lastModifiedFieldId} of table "${live.name}" is gone; incremental runs need it`);
    else if (lastModified.type !== 'lastModifiedTime') {
      errors.push(`field ${table.lastModifiedFieldId} ("${lastModified.name}") of table "${live.name}" is a ${lastModified.type}, not a lastModifiedTime field`);
    } else {
      // Incremental pulls and the push's check for changes made in Airtable
      // both ask "modified since?": a Last Modified field that watches only
      // some fields would hide changes to the others.
      const watched = lastModified.options?.referencedFieldIds;
      if (Array.isArray(watched) && watched.length) {
        const unwatched = table.fields
          .filter((f) => f.column && !WITHOUT_LAST_MODIFIED.has(f.airtableType ?? "") && !watched.includes(f.fieldId))
          .map((f) => `"${liveFields.get(f.fieldId)?.name ?? f.name}"`);
        if (unwatched.length) {
          errors.push(
            `the Last Modified field ${table.lastModifiedFieldId} ("${lastModified.name}") of table "${live.name}" watches only some fields, not the mapped ${unwatched.join(', ')}: ` +
              'incremental pulls and the push would miss changes to them; set it to watch all editable fields',
          );
        }
      }
    }
    const known = new Set([...table.fields.map((f) => f.fieldId), ...table.unmappedFields.map((f) => f.fieldId), table.lastModifiedFieldId]);
    for (const field of live.fields) {
      if (!known.has(field.id)) {
        warnings.push(`new unmapped field ${field.id} ("${field.name}", ${field.type}) in table "${live.name}": its values are kept in staging.source_records.fields, not merged`);
      }
    }
  }
  return { errors, warnings, currentNames };
}
