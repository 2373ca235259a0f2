/**
 * Attachment downloads: every file a listed page names is fetched while its
 * URL is fresh (Airtable's expire about two hours after they are read),
 * streamed to disk while it is hashed (a 100 MB file is never held in
 * memory), and moved into the file store under its SHA-256. Downloads run
 * beside the listing, a bounded number at a time; they go to the source's
 * content host, not its API, so they spend none of the API's request
 * budget.
 *
 * A download that fails with a 5xx, a 429, a network error or a body cut
 * short is retried with exponential backoff. One refused with another 4xx
 * (an expired or revoked URL) is retried once with a fresh URL, read again
 * from the source with its record. Every outcome, file or error, is
 * recorded in the database (sync.record_attachment_downloads) in batches:
 * a killed run leaves only files not yet recorded, which the next run
 * finds missing (sync.attachments_missing_files) and downloads; a file
 * stored twice is the same file under the same key.
 */
import { createHash, randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from 'postgres';
import type { Logger } from '../log.ts';
import type { TableMapping } from '../mapping.ts';
import type { SourceRecord } from '../sources/source.ts';
import type { FileStore } from './store.ts';

/** An attachment to download: the file, what its source declared, and where to read it again for a fresh URL. */
export interface AttachmentRef {
  /** The source's attachment id (att...). */
  key: string;
  url: string;
  filename: string;
  declaredSize: number | null;
  declaredType: string | null;
  /** The table, record and field that list it (for a fresh URL). */
  sourceTable: string;
  recordKey: string;
  fieldId: string;
  /** When the URL was read; null when not known (then it is trusted until it fails). */
  urlReadAt?: Date | null;
}

/** Reads records again and returns the current URL of each attachment asked for (absent: the attachment or its record is gone). */
export type FreshUrls = (items: AttachmentRef[]) => Promise<Map<string, string>>;

/** The attachments the records of a page list in the table's attachment fields (cells of `{id, url, filename, size, type}`); malformed cells are the merge's to report. */
export function attachmentsOnPage(table: TableMapping, records: SourceRecord[], readAt = new Date()): AttachmentRef[] {
  const fields = table.fields.filter((f) => f.convert === 'attachments');
  if (!fields.length) return [];
  const found: AttachmentRef[] = [];
  for (const record of records) {
    for (const field of fields) {
      const cell = record.fields[field.fieldId];
      if (!Array.isArray(cell)) continue;
      for (const item of cell) {
        if (!item || typeof item !== 'object') continue;
        const a = item as Record<string, unknown>;
        if (typeof a.id !== 'string' || typeof a.url !== 'string' || !a.id) continue;
        found.push({
          key: a.id,
          url: a.url,
          filename: typeof a.filename === 'string' ? a.filename : a.id,
          declaredSize: typeof a.size === 'number' && Number.isFinite(a.size) ? a.size : null,
          declaredType: typeof a.type === 'string' ? a.type : null,
          sourceTable: table.tableId,
          recordKey: record.id,
          fieldId: field.fieldId,
          urlReadAt: readAt,
        });
      }
    }
  }
  return found;
}

/** Why one attempt at a download failed, and what to do about it. */
export class DownloadError extends Error {
  constructor(
    message: string,
    /** Worth trying again as it is (5xx, 429, network, a body cut short). */
    readonly retryable: boolean,
    /** Refused in a way a fresh URL may cure (an expired or revoked link). */
    readonly refreshable: boolean,
    readonly retryAfterMs?: number,
    /** No answer from the host at all (a network error): counts towards giving up on the host for the run. */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** A file stored: its content and where the store keeps it. */
export interface StoredDownload {
  sha256: string;
  size: number;
  contentType: string | null;
  key: string;
}

/** The URL without its query string and signature path segments, for messages (signed URLs are bearer secrets for two hours). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return 'a malformed URL';
  }
}

/** Temporary directories made already by this process. */
const madeTempDirs = new Set<string>();

/**
 * One attempt: fetches the URL and streams the body to a temporary file of
 * the store while hashing it, then puts the file in the store under its
 * SHA-256. A body shorter or longer than its Content-Length is an error
 * (retryable): nothing half-downloaded is ever stored.
 */
export async function downloadOnce(url: string, store: FileStore, signal?: AbortSignal): Promise<StoredDownload> {
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (error) {
    if (signal?.aborted) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    // a host name that does not resolve will not resolve in a second either
    const retryable = cause?.code !== 'ENOTFOUND';
    throw new DownloadError(`network error fetching ${describeUrl(url)}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, retryable, false, undefined, true);
  }
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).slice(0, 200).trim();
    const status = response.status;
    const retryAfter = Number(response.headers.get('retry-after'));
    const detail = `HTTP ${status}${text ? ` ${JSON.stringify(text)}` : ''} from ${describeUrl(url)}`;
    if (status === 429 || status >= 500) throw new DownloadError(detail, true, false, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
    throw new DownloadError(detail, false, true);
  }
  if (!response.body) throw new DownloadError(`no body from ${describeUrl(url)}`, true, false);
  const declaredLength = response.headers.get('content-length');
  const expected = declaredLength !== null && /^\d+$/.test(declaredLength) ? Number(declaredLength) : null;
  if (!madeTempDirs.has(store.tempDir)) {
    await fsp.mkdir(store.tempDir, { recursive: true, mode: 0o700 });
    madeTempDirs.add(store.tempDir);
  }
  const temp = path.join(store.tempDir, `download-${process.pid}-${randomUUID()}`);
  const hash = createHash('sha256');
  let size = 0;
  let stored = false;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    try {
      await pipeline(Readable.fromWeb(response.body as never), meter, fs.createWriteStream(temp, { mode: 0o600 }), { signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new DownloadError(`the download from ${describeUrl(url)} broke off after ${size} bytes: ${(error as Error).message}`, true, false);
    }
    if (expected !== null && size !== expected) {
      throw new DownloadError(`the download from ${describeUrl(url)} was cut short: ${size} of ${expected} bytes`, true, false);
    }
    const sha256 = hash.digest('hex');
    const contentType = response.headers.get('content-type');
    const key = await store.put(sha256, temp, size, contentType);
    stored = true;
    return { sha256, size, contentType, key };
  } finally {
    // put moved (or removed) the file; anything short of it leaves it here
    if (!stored) await fsp.rm(temp, { force: true });
  }
}

/** What a downloader did, for the run's metadata and the command's summary. */
export interface DownloadSummary {
  /** Files downloaded and stored. */
  downloaded: number;
  bytes: number;
  /** Attachments skipped because their file is stored already. */
  alreadyStored: number;
  /** Attachments that could not be downloaded (recorded with their error, retried next run). */
  failed: number;
  /** URLs read again from the source after they were refused or had aged. */
  refreshed: number;
  /** Attempts retried after a transient failure. */
  retries: number;
}

export interface DownloaderOptions {
  sql: Sql;
  store: FileStore;
  runId: string;
  /** The source (an Airtable base id) the attachments belong to. */
  sourceId: string;
  freshUrls: FreshUrls;
  log: Logger;
  /** Downloads at once (default 8). */
  concurrency?: number;
  /** Attempts per file for transient failures (default 5). */
  maxAttempts?: number;
  /** First backoff delay (default 500 ms), doubled each attempt, with jitter. */
  backoffMs?: number;
  /** URLs read longer ago than this are read again before their download (default 100 minutes: Airtable's last two hours). */
  urlMaxAgeMs?: number;
  signal?: AbortSignal;
}

/** Outcomes recorded in one call at most. */
const RECORD_BATCH = 200;

/**
 * Downloaders at work in this process. While one works, V8's
 * --optimize-for-size (bin/small-heap.js, which keeps a streaming load's
 * heap small) is off: under it a download's short-lived chunk buffers cost
 * about three times the CPU (bench:attachments). Peak memory stays within
 * bounds without it (bench:attachments: 183 to 226 MB with 100 MB files).
 */
let downloadersAtWork = 0;
function downloaderStarts(): void {
  if (downloadersAtWork++ === 0) v8.setFlagsFromString('--no-optimize-for-size');
}
function downloaderStops(): void {
  // back on only where bin/small-heap.js had put it on
  if (--downloadersAtWork === 0 && (globalThis as { airliftSmallHeap?: boolean }).airliftSmallHeap) v8.setFlagsFromString('--optimize-for-size');
}

/** Files in a row whose host did not answer at all before the run stops trying the rest (recorded as failed, tried again next run). */
const UNREACHABLE_IN_A_ROW = 3;

/**
 * Downloads attachments offered to it, a bounded number at a time, and
 * records what happened in batches. `offer` never waits for downloads;
 * `drain` waits for all of them and the last records.
 */
export class Downloader {
  readonly summary: DownloadSummary = { downloaded: 0, bytes: 0, alreadyStored: 0, failed: 0, refreshed: 0, retries: 0 };
  private readonly queue: AttachmentRef[] = [];
  private readonly seen = new Set<string>();
  private readonly outcomes: Array<Record<string, unknown>> = [];
  private active = 0;
  private idle: Array<() => void> = [];
  private flushing: Promise<void> = Promise.resolve();
  private checks: Promise<void> = Promise.resolve();
  /** Files in a row that failed because their host did not answer; at UNREACHABLE_IN_A_ROW the rest are not tried this run. */
  private unreachableInARow = 0;
  private hostDown: string | null = null;
  failure: unknown;

  constructor(private readonly options: DownloaderOptions) {}

  /** Whether an attachment was offered to this downloader already. */
  hasSeen(key: string): boolean {
    return this.seen.has(key);
  }

  /** Queues the attachments of a page (those not stored already, each key once). */
  offer(items: AttachmentRef[]): void {
    const fresh = items.filter((i) => !this.seen.has(i.key));
    for (const i of fresh) this.seen.add(i.key);
    if (!fresh.length) return;
    // which of them are stored already: one query per page, in order
    this.checks = this.checks.then(async () => {
      try {
        const stored = await this.options.sql<{ attachment_key: string }[]>`
          select attachment_key from sync.attachment_downloads
          where source_id = ${this.options.sourceId} and attachment_key = any(${fresh.map((i) => i.key)}) and sha256 is not null`;
        const done = new Set(stored.map((r) => r.attachment_key));
        this.summary.alreadyStored += done.size;
        for (const item of fresh) if (!done.has(item.key)) this.queue.push(item);
        this.pump();
      } catch (error) {
        this.failure ??= error;
      }
    });
  }

  /** Waits until every offered attachment is downloaded or failed, and recorded. */
  async drain(): Promise<DownloadSummary> {
    await this.checks;
    while (this.active > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
    await this.flush();
    if (this.failure) throw this.failure;
    return this.summary;
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 8;
    while (this.active < limit && this.queue.length > 0 && !this.options.signal?.aborted) {
      const item = this.queue.shift()!;
      if (this.active++ === 0) downloaderStarts();
      void this.download(item).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0) downloaderStops();
        if (this.active === 0 && (this.queue.length === 0 || this.options.signal?.aborted)) {
          this.queue.length = 0;
          for (const wake of this.idle.splice(0)) wake();
        }
      });
    }
  }

  private async download(item: AttachmentRef): Promise<void> {
    const { store, signal, log } = this.options;
    const maxAttempts = this.options.maxAttempts ?? 5;
    const backoffMs = this.options.backoffMs ?? 500;
    let url = item.url;
    let refreshed = false;
    const maxAge = this.options.urlMaxAgeMs ?? 100 * 60_000;
    if (this.hostDown) {
      return this.record(item, null, `not tried: ${this.hostDown}; the next run tries again`);
    }
    try {
      if (item.urlReadAt && Date.now() - item.urlReadAt.getTime() > maxAge) {
        const fresh = await this.refresh(item);
        refreshed = true;
        if (!fresh) return this.record(item, null, 'the attachment is no longer in its record in the source');
        url = fresh;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const stored = await downloadOnce(url, store, signal);
          this.unreachableInARow = 0;
          this.summary.downloaded++;
          this.summary.bytes += stored.size;
          return this.record(item, stored, null);
        } catch (error) {
          if (signal?.aborted) return;
          if (!(error instanceof DownloadError)) throw error;
          if (error.refreshable && !refreshed) {
            refreshed = true;
            const fresh = await this.refresh(item);
            if (!fresh) return this.record(item, null, `${error.message}, and the attachment is no longer in its record in the source`);
            url = fresh;
            attempt--;
            continue;
          }
          if (error.retryable && attempt < maxAttempts) {
            this.summary.retries++;
            const delay = error.retryAfterMs ?? backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
            log.debug({ attachment: item.key, attempt, delayMs: Math.round(delay), reason: error.message }, 'download retried');
            await sleep(delay, signal);
            continue;
          }
          const why = error.refreshable ? `${error.message} (also with a fresh URL)` : attempt > 1 ? `${error.message} (gave up after ${attempt} attempts)` : error.message;
          if (error.unreachable && ++this.unreachableInARow >= UNREACHABLE_IN_A_ROW && !this.hostDown) {
            this.hostDown = `${UNREACHABLE_IN_A_ROW} files in a row could not be fetched (last: ${error.message})`;
            log.warn({ reason: this.hostDown }, 'the attachments\' host does not answer: the files left are not tried this run, and are tried again by the next one');
          } else if (!error.unreachable) this.unreachableInARow = 0;
          return this.record(item, null, why);
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      // not the download's fault (the store, the source's API): recorded against the file, the run goes on
      return this.record(item, null, `could not store the file: ${(error as Error).message}`);
    }
  }

  private async refresh(item: AttachmentRef): Promise<string | undefined> {
    this.summary.refreshed++;
    const urls = await this.options.freshUrls([item]);
    return urls.get(item.key);
  }

  private record(item: AttachmentRef, stored: StoredDownload | null, error: string | null): Promise<void> {
    if (error) {
      this.summary.failed++;
      // one warning says the host is down; the files not tried because of it are not each a warning
      const level = this.hostDown && error.startsWith('not tried') ? 'debug' : 'warn';
      this.options.log[level]({ attachment: item.key, record: item.recordKey, filename: item.filename, reason: error }, 'attachment not downloaded; retried next run');
    }
    this.outcomes.push({
      attachment_key: item.key,
      declared_size: item.declaredSize,
      declared_type: item.declaredType,
      ...(stored
        ? { sha256: stored.sha256, size_bytes: stored.size, content_type: stored.contentType, store_kind: this.options.store.kind, store_key: stored.key }
        : { error }),
    });
    if (this.outcomes.length >= RECORD_BATCH) return this.flush();
    return Promise.resolve();
  }

  /** Records the outcomes gathered so far, one call at a time. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = this.outcomes.splice(0);
      if (!batch.length) return;
      try {
        await this.options.sql`select sync.record_attachment_downloads(${this.options.runId}, ${this.options.sourceId}, ${this.options.sql.json(batch as never)})`;
      } catch (error) {
        this.failure ??= error;
      }
    });
    return this.flushing;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * The catch-up after a listing: what rows here list and the store does not
 * hold (a run killed mid-download, failures of earlier runs, attachments of
 * pages staged before a resume), offered again with the URLs rows keep;
 * those older than the downloader's limit are read again first. Each
 * attachment is offered once per downloader, so failures do not loop.
 */
export async function downloadMissing(sql: Sql, downloader: Downloader, sourceId: string): Promise<number> {
  let offered = 0;
  for (;;) {
    const rows = await sql<
      { attachment_key: string; source_table: string; record_key: string; field_id: string; filename: string; url: string | null; url_fetched_at: Date | null; declared_size: string | null; declared_type: string | null }[]
    >`select * from sync.attachments_missing_files(${sourceId}, 1000)`;
    const items = rows
      .map((r) => ({
        key: r.attachment_key,
        // a row without a URL is read again for one
        url: r.url ?? '',
        filename: r.filename,
        declaredSize: r.declared_size === null ? null : Number(r.declared_size),
        declaredType: r.declared_type,
        sourceTable: r.source_table,
        recordKey: r.record_key,
        fieldId: r.field_id,
        urlReadAt: r.url ? r.url_fetched_at : new Date(0),
      }))
      .filter((i) => !downloader.hasSeen(i.key));
    if (!items.length) return offered;
    offered += items.length;
    downloader.offer(items);
    await downloader.drain();
  }
}
