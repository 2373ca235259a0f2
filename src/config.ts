/**
 * Environment configuration, validated with zod at start-up. A bad value
 * fails with a message naming the variable and what was expected.
 */
import path from 'node:path';
import { z } from 'zod';

const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'expected a postgres:// or postgresql:// URL');

/**
 * An absolute http(s) URL with a host, and no user or password (the token
 * is what authenticates; fetch refuses URLs with credentials). The value is
 * not repeated in the message, in case it holds a secret.
 */
const httpUrl = z.string().refine((value) => {
  if (!/^https?:\/\/[^/?#]/i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && !url.username && !url.password;
  } catch {
    return false;
  }
}, 'expected an absolute http:// or https:// URL without user or password, such as https://api.airtable.com')
  // airtable.js appends "/v0/...": a trailing slash would make "//v0"
  .transform((value) => value.replace(/\/+$/, ''));

/** The levels AIRLIFT_LOG_LEVEL takes (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const environmentSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  ROOT_DATABASE_URL: postgresUrl.optional(),
  SHADOW_DATABASE_URL: postgresUrl.optional(),
  AIRLIFT_DATA_DIR: z.string().min(1).default('.airlift'),
  AIRLIFT_DATABASE_NAME: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case SQL identifier')
    .default('airlift'),
  AIRLIFT_LOG_LEVEL: z.enum(LOG_LEVELS, { error: (issue) => `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(issue.input)}` }).default('info'),
  AIRTABLE_TOKEN: z.string().min(1).optional(),
  AIRTABLE_BASE_ID: z.string().regex(/^app[A-Za-z0-9]{14}$/, 'expected an Airtable base id like appXXXXXXXXXXXXXX').optional(),
  AIRTABLE_ENDPOINT_URL: httpUrl.default('https://api.airtable.com'),
  AIRTABLE_RPS: z.coerce.number().positive('expected requests per second above 0').default(5),
  AIRTABLE_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  AIRTABLE_RETRY_BACKOFF_MS: z.coerce.number().int().min(0).default(1000),
  AIRLIFT_MAPPING: z.string().min(1).optional(),
  AIRLIFT_INCREMENTAL_OVERLAP_SECONDS: z.coerce.number().int().min(0).default(60),
  AIRLIFT_CRON_INCREMENTAL: z.string().min(9).default('*/5 * * * *'),
  AIRLIFT_CRON_FULL: z.string().min(9).default('0 3 * * *'),
  AIRLIFT_CRON_PUSH: z.string().min(9).default('* * * * *'),
  AIRLIFT_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  /** Airtable's content host (uploads); by default content.airtable.com, or the endpoint itself when AIRTABLE_ENDPOINT_URL is not Airtable's. */
  AIRTABLE_CONTENT_URL: httpUrl.optional(),
  /** Where attachment files are kept: a local directory (default), an S3-compatible bucket, or off (metadata only). */
  AIRLIFT_FILES_STORE: z.enum(['local', 's3', 'off'], { error: (issue) => `expected local, s3 or off, got ${JSON.stringify(issue.input)}` }).default('local'),
  /** The local store's directory (default: files/ in AIRLIFT_DATA_DIR). */
  AIRLIFT_FILES_DIR: z.string().min(1).optional(),
  /** Attachment downloads at once. */
  AIRLIFT_DOWNLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** A URL under which Airtable can fetch stored files by key (files over 5 MB are pushed that way); unset: such files are not pushed, and the push says why. */
  AIRLIFT_FILES_PUBLIC_URL: httpUrl.optional(),
});

export type Environment = z.infer<typeof environmentSchema>;

export class ConfigurationError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** The Airtable settings a pull needs, or a ConfigurationError naming what is missing. */
export function requireAirtable(env: Environment): {
  token: string;
  baseId: string;
  endpointUrl: string;
  requestsPerSecond: number;
  maxAttempts: number;
  backoffMs: number;
  contentUrl?: string;
} {
  const missing = (['AIRTABLE_TOKEN', 'AIRTABLE_BASE_ID'] as const).filter((key) => !env[key]);
  if (missing.length) throw new ConfigurationError(`Bad configuration: ${missing.join(' and ')} must be set to reach Airtable`);
  return {
    token: env.AIRTABLE_TOKEN!,
    baseId: env.AIRTABLE_BASE_ID!,
    endpointUrl: env.AIRTABLE_ENDPOINT_URL,
    requestsPerSecond: env.AIRTABLE_RPS,
    maxAttempts: env.AIRTABLE_RETRY_ATTEMPTS,
    backoffMs: env.AIRTABLE_RETRY_BACKOFF_MS,
    contentUrl: env.AIRTABLE_CONTENT_URL,
  };
}

/** The variables that are set: one set to the empty string counts as unset (its default applies). */
function setVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

/** One line for one bad variable, one line each under a heading for several. */
function badConfiguration(error: z.ZodError): ConfigurationError {
  const problems = error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  return new ConfigurationError(problems.length === 1 ? `Bad configuration: ${problems[0]}` : `Bad configuration:\n  ${problems.join('\n  ')}`);
}

/** Reads and validates the environment; throws ConfigurationError naming each bad variable. */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const parsed = environmentSchema.safeParse(setVariables(env));
  if (!parsed.success) throw badConfiguration(parsed.error);
  const dataDir = path.resolve(parsed.data.AIRLIFT_DATA_DIR);
  return { ...parsed.data, AIRLIFT_DATA_DIR: dataDir, AIRLIFT_FILES_DIR: path.resolve(parsed.data.AIRLIFT_FILES_DIR ?? path.join(dataDir, 'files')) };
}

/**
 * AIRLIFT_LOG_LEVEL alone, checked as loadEnvironment checks it: the logger
 * is made before a command reads the rest of its configuration.
 */
export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const parsed = environmentSchema.pick({ AIRLIFT_LOG_LEVEL: true }).safeParse(setVariables(env));
  if (!parsed.success) throw badConfiguration(parsed.error);
  return parsed.data.AIRLIFT_LOG_LEVEL;
}
