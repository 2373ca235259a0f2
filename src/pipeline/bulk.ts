/**
 * Staging a large listing in bulk (a source's plan says `bulk`: a large
 * export file). The pages come from the source exactly as for the page by
 * page staging of pull.ts, but instead of one sync.stage_page call per page
 * with the records as a jsonb parameter, the records of many pages (a
 * chunk) are streamed with COPY ... FROM STDIN into the session's
 * pg_temp.copied_records, with backpressure, and one sync.stage_copied call
 * stages the chunk set-based (checksums, upsert, rejects quarantined, the
 * checkpoint moved), in the transaction of the COPY, with the source's
 * resume state. A killed load leaves whole chunks staged and the
 * checkpoint at the last one; the next run resumes after it (the source
 * skips the records the cursor counts). Nothing is held but a page.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from 'postgres';
import type { TableMapping } from '../mapping.ts';
import type { Logger } from '../log.ts';
import type { KeyRanges, ListedPage, Source } from '../sources/source.ts';
import { prepareRecords } from './records.ts';
import { keepFirstOfEachKey } from './duplicates.ts';

/** Records (and rejects) per chunk: one COPY, one sync.stage_copied call, one transaction with the checkpoint. */
export const BULK_CHUNK_RECORDS = 250_000;

export interface BulkStaging {
  sql: Sql;
  source: Source;
  log: Logger;
  signal?: AbortSignal;
  runId: string;
  mode: 'full' | 'incremental';
  table: TableMapping;
  checkpoint: { id: string; records_processed: string; metadata: { offset?: string | null; since?: string | null; listing_attempt?: number } };
  /** The source's resume state kept in the checkpoint. */
  sourceState: Record<string, unknown>;
  fieldNames?: Map<string, string>;
  complete: boolean;
  /** The plan's key ranges, when the listing reads those only (ListingPlan.completeWithin). */
  completeWithin?: KeyRanges | null;
  chunkRecords?: number;
  /** After each chunk is committed, with its records. */
  onChunkStaged(records: number): void;
  /** After each page is written to the COPY stream, with the records read so far. */
  onProgress?(fetched: number): void;
}

/** COPY's text format: backslash, and the characters that end a field or a row, escaped. */
function copyText(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return /[\\\n\r\t]/.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t')) : value;
}

/** Stages the listing in chunks; returns the time spent in the database's transactions (COPY and staging). */
export async function stageInBulk(options: BulkStaging): Promise<number> {
  const { sql, table, log, runId } = options;
  const chunkRecords = Math.max(1, options.chunkRecords ?? BULK_CHUNK_RECORDS);
  let fetched = Number(options.checkpoint.records_processed);
  let position = 0;
  const meta = options.checkpoint.metadata;
  const pages = options.source.listTable({
    runId,
    table,
    fieldNames: options.fieldNames,
    since: meta.since ?? null,
    resume: { cursor: meta.offset ?? null, state: options.sourceState, attempt: meta.listing_attempt ?? 1 },
    previous: null,
    mode: options.mode,
    completeWithin: options.completeWithin ?? null,
    log,
    signal: options.signal,
    restart: async () => {
      await sql`select sync.restart_listing(${runId}, ${table.entity})`;
      fetched = 0;
    },
  });
  const iterator = pages[Symbol.asyncIterator]();
  let stagingMs = 0;
  let done = false;
  try {
    while (!done) {
      if (options.signal?.aborted) throw new Error('the pull was asked to stop');
      let last: ListedPage | null = null;
      let inChunk = 0;
      let mayRepeat = false;
      // keys read in this chunk (not staged until it commits): a second record under one is quarantined
      const seenInChunk = new Set<string>();
      // The chunk's lines, page by page, as the COPY stream pulls them.
      const lines = async function* () {
        while (inChunk < chunkRecords) {
          // a stop between pages rolls the chunk back: the run resumes after the last chunk committed
          if (options.signal?.aborted) throw new Error('the pull was asked to stop');
          const next = await iterator.next();
          if (next.done) {
            done = true;
            return;
          }
          const page = next.value;
          last = page;
          mayRepeat ||= Boolean(page.mayRepeat);
          const prepared = prepareRecords(page.records, page.invalid, options.fieldNames);
          const { rejects } = prepared;
          let { stage } = prepared;
          if (!options.source.uniqueKeys && !page.mayRepeat && stage.length) {
            stage = await keepFirstOfEachKey(sql, runId, table, page, stage, rejects, seenInChunk);
          }
          for (const reject of rejects) log.warn({ runId, entity: table.entity, record: reject.source_key, field: reject.field }, `record quarantined: ${reject.reason}`);
          let text = '';
          for (const r of stage) {
            text += `${++position}\tf\t${copyText(r.id)}\t${copyText(r.created_time)}\t${copyText(JSON.stringify(r.fields))}\t${r.hash}\t\\N\t\\N\t\\N\t\\N\n`;
          }
          for (const r of rejects) {
            const value = r.value === null || r.value === undefined ? null : JSON.stringify(r.value);
            text += `${++position}\tt\t\\N\t\\N\t\\N\t\\N\t${copyText(r.source_key)}\t${copyText(r.field)}\t${copyText(value)}\t${copyText(r.reason)}\n`;
          }
          inChunk += page.records.length + page.invalid.length;
          fetched += page.records.length + page.invalid.length;
          options.onProgress?.(fetched);
          if (text) yield text;
          if (!page.cursor) {
            done = true;
            return;
          }
        }
      };
      const started = Date.now();
      await sql.begin(async (tx) => {
        await tx`select sync.open_copied_records()`;
        const writable = await tx`
          copy pg_temp.copied_records (position, is_reject, id, created_time, fields, hash, reject_key, reject_field, reject_value, reject_reason) from stdin`.writable();
        await pipeline(Readable.from(lines()), writable);
        const page = last as ListedPage | null;
        // the listing's end: a source that yields nothing more without a
        // last page still ends the table
        const cursor = done ? null : (page?.cursor ?? null);
        await tx`select * from sync.stage_copied(${runId}, ${table.entity}, ${options.complete}, ${cursor}, ${mayRepeat})`;
        if (page) await tx`select sync.annotate_checkpoint(${options.checkpoint.id}, ${tx.json(page.state as never)})`;
      });
      stagingMs += Date.now() - started;
      if (!done) options.onChunkStaged(inChunk);
    }
  } finally {
    await iterator.return?.(undefined);
  }
  return stagingMs;
}
