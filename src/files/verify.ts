/**
 * Verification of attachment files, part of `airlift verify`: every file
 * the store's catalogue lists is read back from the store and hashed (a
 * bounded number at a time, streamed), what was found is kept with the
 * file (sync.record_file_verification), and every live attachment whose
 * file is missing, corrupt, not downloaded or not of the size Airtable
 * declares is a discrepancy, by name (sync.attachment_file_problems).
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Sql } from 'postgres';
import type { FileStore } from './store.ts';

/** A live attachment whose file is not as it should be. */
export interface FileDiscrepancy {
  attachment: string;
  airtableAttachmentId: string | null;
  field: string;
  filename: string;
  sha256: string | null;
  problem: string;
}

export interface FileVerification {
  /** Stored files read back and hashed. */
  checked: number;
  bytes: number;
  /** Stored files found missing or corrupt. */
  badFiles: number;
  discrepancies: FileDiscrepancy[];
  durationMs: number;
}

/** Reads one stored file back: null when intact, else what is wrong. */
export async function checkStoredFile(store: FileStore, file: { sha256: string; size_bytes: string | number; store_key: string }): Promise<string | null> {
  const stat = await store.stat(file.store_key);
  if (!stat) return `missing from the store (${store.description}, key ${file.store_key})`;
  if (stat.size !== Number(file.size_bytes)) return `the stored file has ${stat.size} bytes, ${file.size_bytes} were stored`;
  const hash = createHash('sha256');
  await pipeline(await store.open(file.store_key), new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  }));
  const actual = hash.digest('hex');
  return actual === file.sha256 ? null : `corrupt: the stored file's SHA-256 is ${actual}, ${file.sha256} was stored`;
}

/** Checks every stored file of the store's kind and every live attachment; records what it found. */
export async function verifyFiles(sql: Sql, store: FileStore, options: { concurrency?: number } = {}): Promise<FileVerification> {
  const started = Date.now();
  const result: FileVerification = { checked: 0, bytes: 0, badFiles: 0, discrepancies: [], durationMs: 0 };
  const lanes = Math.max(1, options.concurrency ?? 4);
  let after = '';
  for (;;) {
    const files = await sql<{ sha256: string; size_bytes: string; store_key: string }[]>`
      select sha256, size_bytes, store_key from sync.stored_files
      where store_kind = ${store.kind} and sha256 > ${after} order by sha256 limit 500`;
    if (!files.length) break;
    after = files[files.length - 1]!.sha256;
    const found: Array<{ sha256: string; problem: string | null }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(lanes, files.length) }, async () => {
        while (next < files.length) {
          const file = files[next++]!;
          let problem: string | null;
          try {
            problem = await checkStoredFile(store, file);
          } catch (error) {
            problem = `could not be read from the store: ${(error as Error).message}`;
          }
          found.push({ sha256: file.sha256, problem });
          result.checked++;
          if (!problem) result.bytes += Number(file.size_bytes);
          else result.badFiles++;
        }
      }),
    );
    await sql`select sync.record_file_verification(${sql.json(found as never)})`;
  }
  const problems = await sql<{ attachment_id: string; airtable_attachment_id: string | null; field_name: string; filename: string; sha256: string | null; problem: string }[]>`
    select * from sync.attachment_file_problems()`;
  result.discrepancies = problems.map((p) => ({
    attachment: p.attachment_id, airtableAttachmentId: p.airtable_attachment_id, field: p.field_name, filename: p.filename, sha256: p.sha256, problem: p.problem,
  }));
  result.durationMs = Date.now() - started;
  return result;
}

/** The files part of the verification's text. */
export function formatFileVerification(files: FileVerification, limit = 20): string[] {
  const lines = [
    `attachments: ${files.checked} stored files read back (${(files.bytes / 1e6).toFixed(1)} MB intact), ${files.badFiles} missing or corrupt; ` +
      `${files.discrepancies.length} attachments not as they should be (${(files.durationMs / 1000).toFixed(1)} s)`,
  ];
  for (const d of files.discrepancies.slice(0, limit)) {
    lines.push(`    ${d.field}: ${d.filename} (${d.airtableAttachmentId ?? `attachment ${d.attachment}`}): ${d.problem}`);
  }
  if (files.discrepancies.length > limit) lines.push(`    ... and ${files.discrepancies.length - limit} more (--json for all)`);
  return lines;
}
