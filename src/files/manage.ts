/**
 * What `airlift files` does besides the pull's downloads: a local file put
 * in the store (attach), a stored file written out (get), the catch-up of
 * missing downloads as a run of its own (download), and the collection of
 * files nothing references any more (gc).
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from 'postgres';
import type { Logger } from '../log.ts';
import type { Source } from '../sources/source.ts';
import { lockBase, unlockBase } from '../pipeline/source-lock.ts';
import { downloadMissing, Downloader, type DownloadSummary } from './download.ts';
import type { FileStore } from './store.ts';

/** A content type from a file name, for files attached by hand without one. */
export function contentTypeOf(filename: string): string {
  const ext = path.extname(filename).toLowerCase();
  const types: Record<string, string> = {
    '.pdf': 'application/pdf', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
    '.txt': 'text/plain', '.csv': 'text/csv', '.json': 'application/json', '.xml': 'application/xml', '.zip': 'application/zip',
    '.doc': 'application/msword', '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    '.xls': 'application/vnd.ms-excel', '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  };
  return types[ext] ?? 'application/octet-stream';
}

/** Copies a local file into the store (hashed while copied) and enters it in the catalogue; returns its SHA-256 and size. */
export async function storeLocalFile(sql: Sql, store: FileStore, file: string, contentType: string, runId: string | null = null): Promise<{ sha256: string; size: number; key: string }> {
  await fsp.mkdir(store.tempDir, { recursive: true, mode: 0o700 });
  const temp = path.join(store.tempDir, `attach-${process.pid}-${randomUUID()}`);
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      fs.createReadStream(file),
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      }),
      fs.createWriteStream(temp, { mode: 0o600 }),
    );
    const sha256 = hash.digest('hex');
    const key = await store.put(sha256, temp, size, contentType);
    await sql`select sync.register_stored_file(${sha256}, ${size}, ${contentType}, ${store.kind}, ${key}, ${runId})`;
    return { sha256, size, key };
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

/** A stored attachment: its row (by app.attachments id or Airtable attachment id) and its file. */
export interface AttachmentFile {
  id: string;
  airtable_attachment_id: string | null;
  filename: string;
  sha256: string | null;
  store_key: string | null;
  stored_size_bytes: string | null;
}

export async function findAttachment(sql: Sql, idOrKey: string): Promise<AttachmentFile | undefined> {
  const byUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrKey);
  const [row] = await sql<AttachmentFile[]>`
    select id, airtable_attachment_id, filename, sha256, store_key, stored_size_bytes from app.attachments
    where ${byUuid ? sql`id = ${idOrKey}::uuid` : sql`airtable_attachment_id = ${idOrKey}`}
    order by deleted_at nulls first limit 1`;
  return row;
}

/**
 * Writes an attachment's file out (to a file, or a stream), checking its
 * SHA-256 on the way: a corrupt file is an error, and a file written to
 * disk is removed rather than left wrong.
 */
export async function writeAttachmentFile(store: FileStore, attachment: AttachmentFile, out: string | NodeJS.WritableStream): Promise<{ bytes: number }> {
  if (!attachment.sha256 || !attachment.store_key) {
    throw new Error(`the file of attachment ${attachment.airtable_attachment_id ?? attachment.id} (${attachment.filename}) is not stored yet: run \`airlift files download\` (or a pull)`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const target = typeof out === 'string' ? fs.createWriteStream(out, { mode: 0o600 }) : (out as Writable);
  try {
    await pipeline(await store.open(attachment.store_key), meter, target, { end: typeof out === 'string' });
  } catch (error) {
    if (typeof out === 'string') await fsp.rm(out, { force: true });
    throw new Error(`could not read ${attachment.filename} (key ${attachment.store_key}) from the store ${store.description}: ${(error as Error).message}`);
  }
  const actual = hash.digest('hex');
  if (actual !== attachment.sha256) {
    if (typeof out === 'string') await fsp.rm(out, { force: true });
    throw new Error(`the stored file of ${attachment.filename} is corrupt: its SHA-256 is ${actual}, ${attachment.sha256} was stored (airlift verify names every such file)`);
  }
  return { bytes };
}

/** What files gc found and did. */
export interface CollectionResult {
  dryRun: boolean;
  files: Array<{ sha256: string; size: number; key: string }>;
  bytes: number;
  /** Files whose removal from the store failed (their catalogue rows are gone: they are orphans of the store). */
  failed: Array<{ key: string; error: string }>;
}

/** Removes stored files nothing references any more (sync.unreferenced_files), or lists them (dry run). */
export async function collectFiles(sql: Sql, store: FileStore, options: { dryRun: boolean; minAgeSeconds: number }): Promise<CollectionResult> {
  const candidates = await sql<{ sha256: string; size_bytes: string; store_kind: string; store_key: string }[]>`
    select sha256, size_bytes, store_kind, store_key from sync.unreferenced_files(make_interval(secs => ${options.minAgeSeconds}))
    where store_kind = ${store.kind}`;
  const result: CollectionResult = { dryRun: options.dryRun, files: [], bytes: 0, failed: [] };
  if (options.dryRun) {
    result.files = candidates.map((c) => ({ sha256: c.sha256, size: Number(c.size_bytes), key: c.store_key }));
    result.bytes = result.files.reduce((n, f) => n + f.size, 0);
    return result;
  }
  const sizes = new Map(candidates.map((c) => [c.sha256, Number(c.size_bytes)]));
  for (let i = 0; i < candidates.length; i += 500) {
    // the catalogue first (still unreferenced, checked again in the same statement), then the store
    const forgotten = await sql<{ sha256: string; store_key: string }[]>`
      select sha256, store_key from sync.forget_stored_files(${candidates.slice(i, i + 500).map((c) => c.sha256)})`;
    for (const f of forgotten) {
      try {
        await store.delete(f.store_key);
        result.files.push({ sha256: f.sha256, size: sizes.get(f.sha256) ?? 0, key: f.store_key });
        result.bytes += sizes.get(f.sha256) ?? 0;
      } catch (error) {
        result.failed.push({ key: f.store_key, error: (error as Error).message });
      }
    }
  }
  return result;
}

/**
 * `airlift files download`: the attachments rows list whose file is not
 * stored, downloaded as a run of their own (run_type 'files'), holding the
 * base's lock as a pull does; the rows are linked before the run ends.
 */
export async function runFileDownloads(options: { sql: Sql; source: Source; store: FileStore; actor: string; log: Logger; concurrency?: number; signal?: AbortSignal }): Promise<{ runId: string; summary: DownloadSummary; linked: number }> {
  const { sql, source, store, log } = options;
  if (!source.files) throw new Error(`the mapping's source (${source.label}) holds no attachment files`);
  const files = source.files;
  const lock = await sql.reserve();
  try {
    if (!(await lockBase(lock, source.id, false))) throw new Error(`a pull or push of ${source.id} is running; try again when it ends`);
    try {
      const [run] = await sql<{ id: string }[]>`select id from sync.open_run('files', ${options.actor}, ${sql.json({ base_id: source.id, source_kind: source.kind, operation: 'download' })})`;
      try {
        const downloader = new Downloader({
          sql, store, runId: run.id, sourceId: source.id, log, signal: options.signal,
          concurrency: options.concurrency ?? files.downloadConcurrency, freshUrls: (items) => files.freshUrls(items),
        });
        await downloadMissing(sql, downloader, source.id);
        const summary = await downloader.drain();
        const [{ linked }] = await sql<{ linked: string }[]>`select sync.link_attachment_files(${run.id}, ${source.id}) as linked`;
        await sql`select sync.annotate_run(${run.id}, ${sql.json({ files: { ...summary, linked: Number(linked) } })})`;
        await sql`select sync.finish_run(${run.id})`;
        return { runId: run.id, summary, linked: Number(linked) };
      } catch (error) {
        await sql`select sync.fail_run(${run.id}, ${(error as Error).message})`.catch(() => undefined);
        throw error;
      }
    } finally {
      await unlockBase(lock, source.id);
    }
  } finally {
    lock.release();
  }
}
