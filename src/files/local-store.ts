/**
 * The default file store: a local directory (AIRLIFT_FILES_DIR, by default
 * `files/` in the data directory), files under `sha256/<ab>/<cd>/<sha256>`
 * so that no directory grows past a few thousand entries. Directories are
 * 0700 and files 0600: the store is never world-readable. Files go in by
 * rename from `tmp/` inside the store (same file system), so a file under
 * its key is always complete.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isSha256Hex, type FileStore, type StoredFile } from './store.ts';

export class LocalFileStore implements FileStore {
  readonly kind = 'local' as const;
  readonly description: string;
  readonly tempDir: string;

  /** Directories made already (a put makes its two levels once, not for every file). */
  private readonly made = new Set<string>();

  private constructor(readonly root: string) {
    this.description = root;
    this.tempDir = path.join(root, 'tmp');
  }

  /** Opens (creating) the store's directory, owner-only. */
  static async open(root: string): Promise<LocalFileStore> {
    const store = new LocalFileStore(path.resolve(root));
    await fsp.mkdir(store.tempDir, { recursive: true, mode: 0o700 });
    // an existing directory keeps its mode from mkdir: made owner-only here
    await fsp.chmod(store.root, 0o700);
    await fsp.chmod(store.tempDir, 0o700);
    return store;
  }

  keyFor(sha256: string): string {
    if (!isSha256Hex(sha256)) throw new Error(`not a SHA-256 in hex: ${JSON.stringify(sha256)}`);
    return `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  /** The path of a key inside the store; refuses a key that would leave it. */
  private pathOf(key: string): string {
    if (!/^sha256\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(key)) throw new Error(`not a key of this store: ${JSON.stringify(key)}`);
    return path.join(this.root, key);
  }

  async put(sha256: string, tempFile: string, _size: number, _contentType: string | null): Promise<string> {
    const key = this.keyFor(sha256);
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    if (!this.made.has(dir)) {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      this.made.add(dir);
    }
    // temporary files are made 0600 (download.ts, manage.ts): renamed as they are
    // rename replaces atomically: the same content under the same key
    await fsp.rename(tempFile, target);
    return key;
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const s = await fsp.stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size } : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async open(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    // open first, so a missing file fails here and not on the first read
    const handle = await fsp.open(file, 'r');
    return handle.createReadStream();
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }

  async *list(): AsyncIterable<StoredFile> {
    const top = path.join(this.root, 'sha256');
    if (!fs.existsSync(top)) return;
    for (const a of (await fsp.readdir(top)).sort()) {
      for (const b of (await fsp.readdir(path.join(top, a))).sort()) {
        for (const name of (await fsp.readdir(path.join(top, a, b))).sort()) {
          const key = `sha256/${a}/${b}/${name}`;
          const s = await fsp.stat(path.join(top, a, b, name));
          if (s.isFile()) yield { key, size: s.size };
        }
      }
    }
  }
}
