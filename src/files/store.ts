/**
 * Where attachment files are kept: one file per SHA-256 of its content, so
 * two records pointing at the same label share one file. A store has a small
 * interface, implemented by a local directory (the default,
 * AIRLIFT_FILES_DIR) and by an S3-compatible bucket (src/files/s3-store.ts).
 *
 * Files arrive as finished temporary files on local disk (a download is
 * streamed to disk while it is hashed, never held in memory); `put` moves
 * one in under its content's key. Keys are the store's own: the database
 * keeps them (app.attachments.store_key, sync.stored_files) so a file can be
 * found again, verified and collected.
 */
import type { Readable } from 'node:stream';

/** A file as the store holds it. */
export interface StoredFile {
  key: string;
  size: number;
}

export interface FileStore {
  /** 'local' or 's3': kept with every stored file. */
  readonly kind: 'local' | 's3';
  /** Names the store in messages (a directory, s3://bucket/prefix). */
  readonly description: string;
  /** A directory on local disk where downloads are written before `put` (same file system as a local store, so `put` is a rename). */
  readonly tempDir: string;
  /** The key a file with this SHA-256 is kept under. */
  keyFor(sha256: string): string;
  /** Takes a finished temporary file in under its content's key (the file is moved or removed); a file already held under that key is kept and the temporary one removed. */
  put(sha256: string, tempFile: string, size: number, contentType: string | null): Promise<string>;
  /** The file under a key, or null when the store does not hold it. */
  stat(key: string): Promise<StoredFile | null>;
  /** The file's bytes as a stream; throws when the store does not hold it. */
  open(key: string): Promise<Readable>;
  /** Removes the file under a key (nothing when it is not there). */
  delete(key: string): Promise<void>;
  /** Every file the store holds. */
  list(): AsyncIterable<StoredFile>;
  /** Lets go of what the store holds open (a bucket client's connections); absent where there is nothing to close. */
  close?(): void;
}

/** A SHA-256 in lower-case hex, as every store keys its files. */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}
