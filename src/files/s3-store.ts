/**
 * The second file store: an S3-compatible bucket (AWS S3, MinIO, and other
 * servers that speak the S3 API), objects under
 * `<prefix>sha256/<ab>/<cd>/<sha256>` as in the local store. Downloads are
 * still written to a local temporary directory first (`tempDir`, 0700);
 * `put` streams the finished file up with a multipart upload
 * (@aws-sdk/lib-storage), a few parts at a time, so a large file is never
 * held in memory, then removes the temporary file. Every object carries its
 * SHA-256 as `x-amz-meta-sha256`.
 *
 * Settings come from AIRLIFT_S3_* (s3StoreOptionsFromEnv); credentials from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the SDK's default chain.
 * Credentials are never put in a message.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { z } from 'zod';
import { ConfigurationError } from '../config.ts';
import { isSha256Hex, type FileStore, type StoredFile } from './store.ts';

/** Where an S3 file store is and how to reach it (see S3FileStore.open). */
export interface S3FileStoreOptions {
  bucket: string;
  /** Put before `sha256/` in every key; '' (the default) or a path ending in '/' (one is added when missing). */
  prefix?: string;
  /** An http(s) URL for an S3-compatible server (MinIO...); absent for AWS S3. */
  endpoint?: string;
  /** Defaults to 'us-east-1'. */
  region?: string;
  /** Buckets in the path (http://host/bucket/key) rather than the host name; what most S3-compatible servers want. */
  forcePathStyle?: boolean;
  /** Both, or neither for the SDK's default chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** With temporary (STS) credentials. */
  sessionToken?: string;
  /** A local directory where downloads are written before `put` (created, owner-only). */
  tempDir: string;
}

/** Parts of a multipart upload: 8 MiB each, at most 4 in flight (so about 32 MiB of a file in memory at once). */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

/** A file store in an S3-compatible bucket; made by S3FileStore.open, which checks the bucket is reachable. */
export class S3FileStore implements FileStore {
  readonly kind = 's3' as const;
  readonly description: string;
  readonly tempDir: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly keyPattern: RegExp;

  private constructor(
    private readonly client: S3Client,
    options: S3FileStoreOptions,
  ) {
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix ?? '');
    this.tempDir = options.tempDir;
    this.description = `s3://${this.bucket}/${this.prefix}${options.endpoint ? ` at ${safeEndpoint(options.endpoint)}` : ''}`;
    const escaped = this.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.keyPattern = new RegExp(`^${escaped}sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}$`);
  }

  /**
   * Opens the store: makes the temporary directory (0700) and checks that the
   * bucket is reachable (HeadBucket), or throws naming the bucket, the
   * endpoint and what S3 answered.
   */
  static async open(options: S3FileStoreOptions): Promise<S3FileStore> {
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new Error('S3 file store: give both accessKeyId and secretAccessKey, or neither (for the SDK default chain)');
    }
    normalizePrefix(options.prefix ?? ''); // a bad prefix fails before a client is made
    const config: S3ClientConfig = {
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      // checksums only where S3 requires them: S3-compatible servers do not all take the SDK's default CRC32 headers
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
      config.credentials = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, sessionToken: options.sessionToken };
    }
    const client = new S3Client(config);
    const store = new S3FileStore(client, options);
    try {
      await fsp.mkdir(store.tempDir, { recursive: true, mode: 0o700 });
      // an existing directory keeps its mode from mkdir: made owner-only here
      await fsp.chmod(store.tempDir, 0o700);
    } catch (error) {
      client.destroy();
      throw error;
    }
    try {
      await client.send(new HeadBucketCommand({ Bucket: store.bucket }));
    } catch (error) {
      client.destroy();
      const where = options.endpoint ? safeEndpoint(options.endpoint) : `AWS S3 (region ${config.region as string})`;
      const status = isS3Error(error) ? error.$metadata.httpStatusCode : undefined;
      const hint = status !== undefined ? HEAD_BUCKET_HINTS[status] : undefined;
      const said = scrub(describeError(error), options);
      throw new Error(`S3 file store: cannot reach bucket "${store.bucket}" at ${where}: ${said}${hint ? ` (${hint})` : ''}`, { cause: error });
    }
    return store;
  }

  keyFor(sha256: string): string {
    if (!isSha256Hex(sha256)) throw new Error(`not a SHA-256 in hex: ${JSON.stringify(sha256)}`);
    return `${this.prefix}sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  /** Refuses a key that is not one of this store's. */
  private checkKey(key: string): string {
    if (!this.keyPattern.test(key)) throw new Error(`not a key of this store (${this.description}): ${JSON.stringify(key)}`);
    return key;
  }

  /**
   * Uploads the temporary file (multipart for a large one, streamed from
   * disk) unless an object of the same key and size is already there, then
   * removes the temporary file. On a failed upload the temporary file is left
   * for the caller.
   */
  async put(sha256: string, tempFile: string, size: number, contentType: string | null): Promise<string> {
    const key = this.keyFor(sha256);
    const existing = await this.stat(key);
    if (existing?.size !== size) {
      const body = fs.createReadStream(tempFile);
      try {
        const upload = new Upload({
          client: this.client,
          params: {
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentType: contentType ?? 'application/octet-stream',
            Metadata: { sha256 },
          },
          partSize: PART_SIZE,
          queueSize: PARTS_IN_FLIGHT,
          leavePartsOnError: false,
        });
        await upload.done();
      } finally {
        body.destroy();
      }
    }
    await fsp.rm(tempFile, { force: true });
    return key;
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.checkKey(key) }));
      return { key, size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async open(key: string): Promise<Readable> {
    let object;
    try {
      object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.checkKey(key) }));
    } catch (error) {
      if (isNotFound(error)) throw new Error(`no file under key ${key} in ${this.description}`, { cause: error });
      throw error;
    }
    // in Node the SDK's body is an http.IncomingMessage, a Readable
    if (!(object.Body instanceof Readable)) throw new Error(`S3 returned no readable body for key ${key} in ${this.description}`);
    return object.Body;
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for a key that is not there too
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.checkKey(key) }));
  }

  /** Every object under `<prefix>sha256/` that has the shape of a key, in key order, a page (up to 1,000) at a time. */
  async *list(): AsyncIterable<StoredFile> {
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: `${this.prefix}sha256/` });
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        if (object.Key && this.keyPattern.test(object.Key)) yield { key: object.Key, size: object.Size ?? 0 };
      }
    }
  }

  /** Closes the client's connections; the store is not used after. */
  close(): void {
    this.client.destroy();
  }
}

/** '' stays ''; otherwise a prefix ends in '/'; a leading '/' is refused (an empty first path segment). */
function normalizePrefix(prefix: string): string {
  if (prefix.startsWith('/')) throw new Error(`S3 file store: the key prefix must not start with "/": ${JSON.stringify(prefix)}`);
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** The endpoint for messages, without any user or password it might carry. */
function safeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(an endpoint that is not a URL)';
  }
}

/** What a HeadBucket status usually means (the answer has no body to say it). */
const HEAD_BUCKET_HINTS: Record<number, string> = {
  301: 'the bucket is in another region: set AIRLIFT_S3_REGION',
  400: 'a bad request: check the region and the endpoint',
  403: 'access denied: check the credentials and the bucket policy',
  404: 'no such bucket',
};

interface S3ErrorShape {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number };
}

function isS3Error(error: unknown): error is S3ErrorShape {
  return error instanceof Error && '$metadata' in error;
}

function isNotFound(error: unknown): boolean {
  if (!isS3Error(error)) return false;
  return error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata?.httpStatusCode === 404;
}

/** Error names that say nothing: the SDK's for an answer it could not read (a HEAD answer has no body). */
const UNINFORMATIVE = new Set(['Error', 'Unknown', 'UnknownError']);

/** What S3 said: the error's name (or a network error's code), the HTTP status and the message, each when it says something. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = isS3Error(error) ? error.$metadata.httpStatusCode : undefined;
  const parts: string[] = [];
  const name = UNINFORMATIVE.has(error.name) ? (error as NodeJS.ErrnoException).code : error.name;
  if (name) parts.push(name);
  if (status) parts.push(`HTTP ${status}`);
  const head = parts.join(', ');
  const message = error.message && error.message !== error.name && !UNINFORMATIVE.has(error.message) ? error.message : '';
  return head && message ? `${head}: ${message}` : head || message || 'no answer';
}

/** Takes the access key id and the secret out of a message, should S3 or the SDK ever repeat them. */
function scrub(message: string, options: S3FileStoreOptions): string {
  let result = message;
  for (const secret of [options.secretAccessKey, options.sessionToken, options.accessKeyId]) {
    if (secret) result = result.split(secret).join('***');
  }
  return result;
}

/** An absolute http(s) URL with a host and no user or password; the value is not repeated in a message. */
const endpointUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && !url.username && !url.password;
    } catch {
      return false;
    }
  }, 'expected an absolute http:// or https:// URL without user or password, such as http://localhost:9000')
  .transform((value) => value.replace(/\/+$/, ''));

const s3EnvironmentSchema = z.object({
  AIRLIFT_S3_BUCKET: z
    .string({ error: 'must be set when the file store is s3 (the name of the bucket)' })
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens'),
  AIRLIFT_S3_PREFIX: z.string().refine((value) => !value.startsWith('/'), 'must not start with "/"').default(''),
  AIRLIFT_S3_ENDPOINT: endpointUrl.optional(),
  AIRLIFT_S3_REGION: z.string().regex(/^[a-z0-9-]+$/, 'expected a region name such as us-east-1').default('us-east-1'),
  AIRLIFT_S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], { error: 'expected true or false' }).optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
});

/**
 * The S3 store's options from the environment: AIRLIFT_S3_BUCKET (required),
 * AIRLIFT_S3_PREFIX (default ''), AIRLIFT_S3_ENDPOINT (an http(s) URL, for
 * MinIO and other S3-compatible servers), AIRLIFT_S3_REGION (default
 * us-east-1), AIRLIFT_S3_FORCE_PATH_STYLE (true/false; by default true when
 * an endpoint is set), and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (with
 * AWS_SESSION_TOKEN) or, when they are absent, the SDK's default chain.
 * A variable set to '' counts as unset. Throws ConfigurationError naming
 * each bad variable (never repeating a value).
 */
export function s3StoreOptionsFromEnv(env: NodeJS.ProcessEnv, tempDir: string): S3FileStoreOptions {
  const set = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  const parsed = s3EnvironmentSchema.safeParse(set);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  // checked here rather than in the schema, so that it is reported along with the other problems
  if (set.AWS_ACCESS_KEY_ID !== undefined && set.AWS_SECRET_ACCESS_KEY === undefined) problems.push('AWS_SECRET_ACCESS_KEY: must be set with AWS_ACCESS_KEY_ID');
  if (set.AWS_SECRET_ACCESS_KEY !== undefined && set.AWS_ACCESS_KEY_ID === undefined) problems.push('AWS_ACCESS_KEY_ID: must be set with AWS_SECRET_ACCESS_KEY');
  if (!parsed.success || problems.length) {
    throw new ConfigurationError(problems.length === 1 ? `Bad configuration: ${problems[0]}` : `Bad configuration:\n  ${problems.join('\n  ')}`);
  }
  const value = parsed.data;
  const options: S3FileStoreOptions = {
    bucket: value.AIRLIFT_S3_BUCKET,
    prefix: normalizePrefix(value.AIRLIFT_S3_PREFIX),
    region: value.AIRLIFT_S3_REGION,
    forcePathStyle: value.AIRLIFT_S3_FORCE_PATH_STYLE === undefined ? value.AIRLIFT_S3_ENDPOINT !== undefined : value.AIRLIFT_S3_FORCE_PATH_STYLE === 'true',
    tempDir,
  };
  if (value.AIRLIFT_S3_ENDPOINT !== undefined) options.endpoint = value.AIRLIFT_S3_ENDPOINT;
  if (value.AWS_ACCESS_KEY_ID !== undefined && value.AWS_SECRET_ACCESS_KEY !== undefined) {
    options.accessKeyId = value.AWS_ACCESS_KEY_ID;
    options.secretAccessKey = value.AWS_SECRET_ACCESS_KEY;
    if (value.AWS_SESSION_TOKEN !== undefined) options.sessionToken = value.AWS_SESSION_TOKEN;
  }
  return options;
}
