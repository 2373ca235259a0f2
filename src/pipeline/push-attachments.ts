/**
 * The push of attachment files: files attached or removed here (queued in
 * sync.attachment_outbox by the capture trigger of app.attachments) are
 * sent to the source's attachment cells, after the push's cell changes (a
 * new record must exist there before a file can be attached to it).
 *
 *   upload, up to the source's upload limit (Airtable: 5 MB): the file is
 *     read from the store and sent to the upload endpoint;
 *   upload, larger: the cell is written with the files it has (by id) and a
 *     URL under AIRLIFT_FILES_PUBLIC_URL that the source fetches itself;
 *     without one the entry fails, naming the file and why;
 *   remove: the record's cell is read and written back without the file.
 *
 * The file the source made of an upload takes its id on the row (as the
 * run's change: not captured again) and enters the download ledger as
 * stored, so the next pull neither downloads it again nor sees a new file.
 */
import type { Sql } from 'postgres';
import { buffer } from 'node:stream/consumers';
import type { Logger } from '../log.ts';
import type { FileStore } from '../files/store.ts';
import type { Source, SourceAttachment } from '../sources/source.ts';

export interface AttachmentPushSummary {
  uploaded: number;
  removed: number;
  failed: number;
  /** Entries whose owner is not in the source yet: pending again, sent by a later push. */
  deferred: number;
}

interface ClaimedAttachment {
  outbox_id: string;
  operation: 'upload' | 'remove';
  attachment_id: string;
  entity: string;
  source_table: string | null;
  record_key: string | null;
  field_id: string | null;
  field_name: string;
  airtable_attachment_id: string | null;
  filename: string | null;
  sha256: string | null;
  store_kind: string | null;
  store_key: string | null;
  size_bytes: string | null;
  content_type: string | null;
}

interface Outcome {
  outbox_id: string;
  outcome: 'pushed' | 'failed' | 'deferred';
  airtable_attachment_id?: string;
  url?: string;
  size_bytes?: number | null;
  content_type?: string | null;
  error?: string;
}

export interface AttachmentPushOptions {
  sql: Sql;
  source: Source;
  store: FileStore | null;
  runId: string;
  log: Logger;
  /** A URL under which the source can fetch stored files by key (larger files than it takes by upload). */
  publicUrl?: string | null;
  signal?: AbortSignal;
}

/** Whether attachment changes wait to be pushed for these entities. */
export async function attachmentPushDue(sql: Sql, entities: string[]): Promise<boolean> {
  const [{ due }] = await sql<{ due: boolean }[]>`
    select exists (select from sync.attachment_outbox where entity = any (${entities}) and status in ('pending', 'in_flight')) as due`;
  return due;
}

/** The item of a cell after an upload that is the new file: not among the ids before, the last of its name. */
function newItem(cell: SourceAttachment[], before: Set<string>, filename: string): SourceAttachment | undefined {
  const fresh = cell.filter((a) => !before.has(a.id));
  return fresh.filter((a) => a.filename === filename).pop() ?? fresh.pop();
}

export async function pushAttachments(options: AttachmentPushOptions): Promise<AttachmentPushSummary> {
  const { sql, source, store, runId, log } = options;
  const summary: AttachmentPushSummary = { uploaded: 0, removed: 0, failed: 0, deferred: 0 };
  const files = source.files;
  if (!files) return summary;
  const writer = source.writer!;
  for (;;) {
    if (options.signal?.aborted) break;
    const claimed = await sql<ClaimedAttachment[]>`select * from sync.claim_attachment_outbox(${runId}, 20)`;
    if (!claimed.length) break;
    const outcomes: Outcome[] = [];
    let stop: unknown;
    for (const entry of claimed) {
      if (stop || options.signal?.aborted) {
        outcomes.push({ outbox_id: entry.outbox_id, outcome: 'deferred' });
        continue;
      }
      try {
        outcomes.push(await pushOne(entry));
      } catch (error) {
        const failure = writer.classify(error);
        if (failure.stopsThePush) {
          stop = error;
          outcomes.push({ outbox_id: entry.outbox_id, outcome: 'deferred' });
        } else {
          outcomes.push({ outbox_id: entry.outbox_id, outcome: 'failed', error: failure.message });
        }
      }
    }
    await sql`select sync.finish_attachment_push(${runId}, ${sql.json(outcomes as never)})`;
    for (const o of outcomes) {
      const entry = claimed.find((c) => c.outbox_id === o.outbox_id)!;
      if (o.outcome === 'failed') {
        summary.failed++;
        log.warn({ runId, attachment: entry.attachment_id, filename: entry.filename, reason: o.error }, 'attachment change not pushed');
      } else if (o.outcome === 'deferred') summary.deferred++;
      else if (entry.operation === 'upload') summary.uploaded++;
      else summary.removed++;
    }
    if (stop) throw stop;
    // entries deferred because their owner is not in the source yet wait for a later push
    if (outcomes.every((o) => o.outcome === 'deferred')) break;
  }
  return summary;

  async function pushOne(entry: ClaimedAttachment): Promise<Outcome> {
    const id = entry.outbox_id;
    if (!entry.record_key || !entry.source_table || !entry.field_id) {
      if (!entry.field_id && entry.source_table) return { outbox_id: id, outcome: 'failed', error: `the mapping has no attachment field ${entry.field_name} for ${entry.entity}` };
      return { outbox_id: id, outcome: 'deferred' };
    }
    if (entry.operation === 'remove') {
      const cell = await files!.readCell(entry.source_table, entry.record_key, entry.field_id);
      // the record, or the file, is gone there already
      if (!cell || !cell.some((a) => a.id === entry.airtable_attachment_id)) return { outbox_id: id, outcome: 'pushed' };
      await files!.writeCell(entry.source_table, entry.record_key, entry.field_id, cell.filter((a) => a.id !== entry.airtable_attachment_id).map((a) => ({ id: a.id })));
      return { outbox_id: id, outcome: 'pushed' };
    }
    if (!entry.filename) return { outbox_id: id, outcome: 'failed', error: 'the attachment row is gone: nothing to upload' };
    if (!entry.sha256 || !entry.store_key) return { outbox_id: id, outcome: 'failed', error: `${entry.filename} has no stored file to upload` };
    if (!store || store.kind !== entry.store_kind) {
      return { outbox_id: id, outcome: 'failed', error: `${entry.filename} is kept in the ${entry.store_kind} file store, which this push has not opened (AIRLIFT_FILES_STORE)` };
    }
    const size = Number(entry.size_bytes);
    const contentType = entry.content_type ?? 'application/octet-stream';
    if (size <= files!.maxUploadBytes) {
      const before = new Set(((await files!.readCell(entry.source_table, entry.record_key, entry.field_id)) ?? []).map((a) => a.id));
      const content = await buffer(await store.open(entry.store_key));
      const cell = await files!.upload(entry.record_key, entry.field_id, { filename: entry.filename, contentType, content });
      const made = newItem(cell, before, entry.filename);
      if (!made) return { outbox_id: id, outcome: 'failed', error: `the source's answer to the upload of ${entry.filename} does not list the new file` };
      return { outbox_id: id, outcome: 'pushed', airtable_attachment_id: made.id, url: made.url || undefined, size_bytes: made.size, content_type: made.type };
    }
    if (!options.publicUrl) {
      return {
        outbox_id: id, outcome: 'failed',
        error: `${entry.filename} is ${size} bytes, over the ${files!.maxUploadBytes} bytes ${source.label} takes by upload, and AIRLIFT_FILES_PUBLIC_URL is not set: ${source.label} needs a URL it can fetch the file from`,
      };
    }
    const current = (await files!.readCell(entry.source_table, entry.record_key, entry.field_id)) ?? [];
    const url = `${options.publicUrl.replace(/\/+$/, '')}/${entry.store_key}`;
    const cell = await files!.writeCell(entry.source_table, entry.record_key, entry.field_id, [...current.map((a) => ({ id: a.id })), { url, filename: entry.filename }]);
    const made = newItem(cell, new Set(current.map((a) => a.id)), entry.filename);
    if (!made) return { outbox_id: id, outcome: 'failed', error: `the source's answer to the write of ${entry.filename} by URL does not list the new file` };
    return { outbox_id: id, outcome: 'pushed', airtable_attachment_id: made.id, url: made.url || undefined, size_bytes: made.size, content_type: made.type };
  }
}
