/**
 * Preparing a page of Airtable records for staging: a content hash per
 * record, and the records PostgreSQL could not store, set aside with a
 * reason (they are quarantined, never dropped).
 */
import { createHash } from 'node:crypto';
import type { SourceRecord } from '../sources/source.ts';

/** JSON with object keys sorted at every level, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const EPHEMERAL_ATTACHMENT_KEYS = new Set(['url', 'thumbnails']);

/**
 * Attachment download URLs (and thumbnail URLs) change on every read and
 * expire; they are left out of the hash so that an unchanged record hashes
 * the same on every read and is not rewritten.
 */
function withoutEphemeral(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEphemeral);
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const isAttachment = typeof object.id === 'string' && object.id.startsWith('att') && 'filename' in object;
    return Object.fromEntries(
      Object.entries(object)
        .filter(([k]) => !(isAttachment && EPHEMERAL_ATTACHMENT_KEYS.has(k)))
        .map(([k, v]) => [k, withoutEphemeral(v)]),
    );
  }
  return value;
}

export function contentHash(fields: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(withoutEphemeral(fields))).digest('hex');
}

/** Why PostgreSQL's jsonb cannot hold a value (a NUL character, an unpaired surrogate, in any string or key within it), if it cannot. */
function unstorable(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which PostgreSQL cannot store';
    if (!value.isWellFormed()) return 'contains an unpaired UTF-16 surrogate, which is not valid Unicode';
    return undefined;
  }
  if (Array.isArray(value)) return value.map(unstorable).find(Boolean);
  if (value && typeof value === 'object') return Object.entries(value).flat().map(unstorable).find(Boolean);
  return undefined;
}

/** The first field whose text PostgreSQL's jsonb cannot hold (NUL, unpaired surrogate). */
function unstorableField(fields: Record<string, unknown>): { field: string; reason: string } | undefined {
  for (const [field, value] of Object.entries(fields)) {
    const reason = unstorable(value);
    if (reason) return { field, reason };
  }
  return undefined;
}

export interface StageRecord {
  id: string;
  created_time: string | null;
  fields: Record<string, unknown>;
  hash: string;
}
export interface RejectedRecord {
  source_key: string;
  field: string | null;
  value: unknown;
  reason: string;
}

export function prepareRecords(
  records: SourceRecord[],
  invalid: Array<{ item: unknown; reason: string; id?: string | null }>,
  fieldNames: Map<string, string> | undefined,
): { stage: StageRecord[]; rejects: RejectedRecord[] } {
  const stage: StageRecord[] = [];
  // an item that is not a record is kept as the value, so that the
  // quarantine names it (unless PostgreSQL cannot store it either)
  const rejects: RejectedRecord[] = invalid.map(({ item, reason, id: key }) => {
    const id = key ?? (item as { id?: unknown })?.id;
    return { source_key: typeof id === 'string' && id ? id : '(no record id)', field: null, value: unstorable(item) || item === undefined ? null : item, reason };
  });
  for (const record of records) {
    const problem = unstorableField(record.fields);
    if (problem) {
      rejects.push({
        source_key: record.id,
        field: fieldNames?.get(problem.field) ?? problem.field,
        value: null,
        reason: `${fieldNames?.get(problem.field) ?? problem.field} ${problem.reason}`,
      });
      continue;
    }
    stage.push({ id: record.id, created_time: record.createdTime ?? null, fields: record.fields, hash: contentHash(record.fields) });
  }
  return { stage, rejects };
}
