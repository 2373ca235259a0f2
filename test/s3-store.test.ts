/**
 * The S3 file store against a real S3-compatible server: s3rver, started
 * here on a free port of 127.0.0.1 with its buckets in a temporary
 * directory. A small file and a 20 MB one (written to disk in 1 MiB chunks,
 * uploaded in parts) go in and come back with the same SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../src/config.ts';
import { S3FileStore, s3StoreOptionsFromEnv, type S3FileStoreOptions } from '../src/files/s3-store.ts';
import { S3RVER_CREDENTIALS as credentials, startS3rver } from './support/s3rver.ts';

const bucket = 'airlift-files';

let root: string;
let server: Awaited<ReturnType<typeof startS3rver>>;
let endpoint: string;
let admin: S3Client;
let store: S3FileStore;

function options(extra: Partial<S3FileStoreOptions> = {}): S3FileStoreOptions {
  return { bucket, endpoint, ...credentials, tempDir: path.join(root, 'tmp'), ...extra };
}

/** A temporary file of `content`, and its SHA-256. */
async function tempFileOf(content: string | Buffer): Promise<{ file: string; sha256: string; size: number }> {
  const file = path.join(store.tempDir, `t-${randomBytes(6).toString('hex')}`);
  await fsp.writeFile(file, content);
  return { file, sha256: createHash('sha256').update(content).digest('hex'), size: Buffer.byteLength(content) };
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function listAll(s: S3FileStore) {
  const files = [];
  for await (const file of s.list()) files.push(file);
  return files;
}

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'airlift-s3-'));
  server = await startS3rver(path.join(root, 's3rver'));
  endpoint = server.endpoint;
  admin = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  store = await S3FileStore.open(options());
});

afterAll(async () => {
  store?.close();
  admin?.destroy();
  await server?.stop();
  if (root) await fsp.rm(root, { recursive: true, force: true });
});

describe('S3FileStore', () => {
  it('makes its temporary directory owner-only', async () => {
    expect((await fsp.stat(store.tempDir)).mode & 0o777).toBe(0o700);
    expect(store.kind).toBe('s3');
    expect(store.description).toBe(`s3://${bucket}/ at ${endpoint}`);
  });

  it('puts a small file, then stats, opens, lists and deletes it', async () => {
    const { file, sha256, size } = await tempFileOf('hello, bucket\n');
    const key = await store.put(sha256, file, size, 'text/plain');
    expect(key).toBe(`sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);
    expect(fs.existsSync(file)).toBe(false);

    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ sha256 });

    expect(await store.stat(key)).toEqual({ key, size });
    expect(await sha256Of(await store.open(key))).toEqual({ sha256, size });
    expect(await listAll(store)).toEqual([{ key, size }]);

    await store.delete(key);
    expect(await store.stat(key)).toBeNull();
    expect(await listAll(store)).toEqual([]);
    await store.delete(key); // nothing there: no error
  });

  it('puts a 20 MB file in parts, streamed from disk, and reads it back with the same SHA-256', async () => {
    const file = path.join(store.tempDir, 'big');
    const hash = createHash('sha256');
    const handle = await fsp.open(file, 'w');
    for (let i = 0; i < 20; i++) {
      const chunk = randomBytes(1024 * 1024);
      hash.update(chunk);
      await handle.write(chunk);
    }
    await handle.close();
    const sha256 = hash.digest('hex');
    const size = 20 * 1024 * 1024;

    const send = vi.spyOn(S3Client.prototype, 'send');
    let key: string;
    try {
      key = await store.put(sha256, file, size, null);
      const sent = send.mock.calls.map(([command]) => command.constructor.name);
      // 8 MiB parts: 8 + 8 + 4
      expect(sent.filter((name) => name === 'UploadPartCommand')).toHaveLength(3);
      expect(sent).toContain('CompleteMultipartUploadCommand');
    } finally {
      send.mockRestore();
    }
    expect(fs.existsSync(file)).toBe(false);

    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentType).toBe('application/octet-stream');
    expect(head.Metadata).toEqual({ sha256 });

    expect(await store.stat(key)).toEqual({ key, size });
    expect(await sha256Of(await store.open(key))).toEqual({ sha256, size });
    expect(await listAll(store)).toEqual([{ key, size }]);
    await store.delete(key);
    expect(await store.stat(key)).toBeNull();
  });

  it('puts an empty file', async () => {
    const { file, sha256 } = await tempFileOf('');
    const key = await store.put(sha256, file, 0, null);
    expect(await store.stat(key)).toEqual({ key, size: 0 });
    expect(await sha256Of(await store.open(key))).toEqual({ sha256, size: 0 });
    await store.delete(key);
  });

  it('keeps one object for the same content put twice, and does not upload it again', async () => {
    const first = await tempFileOf('same content');
    const second = await tempFileOf('same content');
    const send = vi.spyOn(S3Client.prototype, 'send');
    try {
      const key = await store.put(first.sha256, first.file, first.size, 'text/plain');
      expect(await store.put(second.sha256, second.file, second.size, 'text/plain')).toBe(key);
      const puts = send.mock.calls.map(([command]) => command.constructor.name).filter((name) => name === 'PutObjectCommand');
      expect(puts).toHaveLength(1);
      expect(fs.existsSync(second.file)).toBe(false);
      expect(await listAll(store)).toEqual([{ key, size: first.size }]);
      await store.delete(key);
    } finally {
      send.mockRestore();
    }
  });

  it('keeps a prefixed store to its own keys', async () => {
    const prefixed = await S3FileStore.open(options({ prefix: 'tenant-a' }));
    try {
      const { file, sha256, size } = await tempFileOf('under a prefix');
      const key = await prefixed.put(sha256, file, size, null);
      expect(key).toBe(`tenant-a/sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);
      expect(await listAll(prefixed)).toEqual([{ key, size }]);
      expect(await listAll(store)).toEqual([]);
      // another prefix's key is not one of this store's
      await expect(store.stat(key)).rejects.toThrow(/not a key of this store/);
      await prefixed.delete(key);
    } finally {
      prefixed.close();
    }
  });

  it('stats a missing key as null, and fails to open it naming the key', async () => {
    const key = store.keyFor('0'.repeat(64));
    expect(await store.stat(key)).toBeNull();
    await expect(store.open(key)).rejects.toThrow(`no file under key ${key} in s3://${bucket}/`);
  });

  it('lists past one page of 1,000 objects', async () => {
    // put straight into the bucket: 1,005 one-byte objects under keys of the store's shape
    const keys: string[] = [];
    for (let i = 0; i < 1005; i++) keys.push(store.keyFor(createHash('sha256').update(String(i)).digest('hex')));
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((Key) => admin.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }))));
    }
    // and one object under sha256/ that is not a key
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'sha256/stray', Body: 'x' }));
    const listed = await listAll(store);
    expect(listed).toEqual([...keys].sort().map((key) => ({ key, size: 1 })));
    for (const key of keys) await store.delete(key);
  }, 60_000);

  it('refuses a prefix that starts with "/" and a key that is not one of its own', async () => {
    await expect(S3FileStore.open(options({ prefix: '/abs' }))).rejects.toThrow('S3 file store: the key prefix must not start with "/": "/abs"');
    await expect(store.stat('sha256/../../etc')).rejects.toThrow(/not a key of this store/);
    expect(() => store.keyFor('ABC')).toThrow('not a SHA-256 in hex: "ABC"');
  });

  it('fails to open a bucket that is not there, naming the bucket and the endpoint', async () => {
    await expect(S3FileStore.open(options({ bucket: 'no-such-bucket' }))).rejects.toThrow(
      `S3 file store: cannot reach bucket "no-such-bucket" at ${endpoint}: NotFound, HTTP 404 (no such bucket)`,
    );
  });

  it('fails to open with unknown credentials without repeating them', async () => {
    const error = await S3FileStore.open(options({ accessKeyId: 'AKIAUNKNOWN0123', secretAccessKey: 'wrong-secret-0123456789' })).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `S3 file store: cannot reach bucket "${bucket}" at ${endpoint}: HTTP 403 (access denied: check the credentials and the bucket policy)`,
    );
  });

  it('fails to open when nothing listens at the endpoint', async () => {
    await expect(S3FileStore.open(options({ endpoint: 'http://127.0.0.1:1' }))).rejects.toThrow(
      `S3 file store: cannot reach bucket "${bucket}" at http://127.0.0.1:1: ECONNREFUSED`,
    );
  });
});

describe('s3StoreOptionsFromEnv', () => {
  it('reads the bucket, prefix, endpoint, region, path style and credentials', () => {
    expect(
      s3StoreOptionsFromEnv(
        {
          AIRLIFT_S3_BUCKET: 'files',
          AIRLIFT_S3_PREFIX: 'airlift',
          AIRLIFT_S3_ENDPOINT: 'http://localhost:9000/',
          AWS_ACCESS_KEY_ID: 'id',
          AWS_SECRET_ACCESS_KEY: 'secret',
        },
        '/tmp/t',
      ),
    ).toEqual({
      bucket: 'files',
      prefix: 'airlift/',
      endpoint: 'http://localhost:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      tempDir: '/tmp/t',
    });
  });

  it('leaves the credentials to the SDK default chain when absent, and path style off without an endpoint', () => {
    expect(s3StoreOptionsFromEnv({ AIRLIFT_S3_BUCKET: 'files', AIRLIFT_S3_REGION: 'eu-west-3', AIRLIFT_S3_PREFIX: '' }, '/tmp/t')).toEqual({
      bucket: 'files',
      prefix: '',
      region: 'eu-west-3',
      forcePathStyle: false,
      tempDir: '/tmp/t',
    });
    expect(s3StoreOptionsFromEnv({ AIRLIFT_S3_BUCKET: 'files', AIRLIFT_S3_ENDPOINT: 'http://minio:9000', AIRLIFT_S3_FORCE_PATH_STYLE: 'false' }, '/t').forcePathStyle).toBe(false);
  });

  it('requires the bucket', () => {
    expect(() => s3StoreOptionsFromEnv({}, '/tmp/t')).toThrow(
      new ConfigurationError('Bad configuration: AIRLIFT_S3_BUCKET: must be set when the file store is s3 (the name of the bucket)'),
    );
    expect(() => s3StoreOptionsFromEnv({ AIRLIFT_S3_BUCKET: '' }, '/tmp/t')).toThrow(ConfigurationError);
  });

  it('names a bad endpoint without repeating it', () => {
    for (const value of ['localhost:9000', 'ftp://host/', 'http://user:hunter2@localhost:9000']) {
      let error: unknown;
      try {
        s3StoreOptionsFromEnv({ AIRLIFT_S3_BUCKET: 'files', AIRLIFT_S3_ENDPOINT: value }, '/tmp/t');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/^Bad configuration: AIRLIFT_S3_ENDPOINT: expected an absolute http:\/\/ or https:\/\/ URL/);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('names each other bad variable', () => {
    let error: unknown;
    try {
      s3StoreOptionsFromEnv({ AIRLIFT_S3_BUCKET: 'Bad_Bucket', AIRLIFT_S3_FORCE_PATH_STYLE: 'yes', AIRLIFT_S3_PREFIX: '/abs', AWS_ACCESS_KEY_ID: 'id' }, '/tmp/t');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('AIRLIFT_S3_BUCKET: expected a bucket name');
    expect(message).toContain('AIRLIFT_S3_FORCE_PATH_STYLE: expected true or false');
    expect(message).toContain('AIRLIFT_S3_PREFIX: must not start with "/"');
    expect(message).toContain('AWS_SECRET_ACCESS_KEY: must be set with AWS_ACCESS_KEY_ID');
  });
});
