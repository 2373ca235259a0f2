/**
 * pgTAP comes from the operating system's package, never from this repo.
 * Finds its SQL script (Debian: postgresql-NN-pgtap puts pgtap--X.Y.Z.sql in
 * /usr/share/postgresql/NN/extension), installs the package on Debian when it
 * is missing and we run as root, and otherwise fails saying how to install it.
 *
 * The script is plain SQL, so it is loaded into a schema of the test database
 * directly; that works on any server version, including the embedded one,
 * whose extension folder we do not control.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SEARCH_ROOTS = ['/usr/share/postgresql', '/usr/local/share/postgresql', '/usr/pgsql/share'];
const BASE_SCRIPT = /^pgtap--(\d+)\.(\d+)\.(\d+)\.sql$/;

function versionKey(name: string): number[] {
  const match = BASE_SCRIPT.exec(path.basename(name));
  return match ? match.slice(1).map(Number) : [];
}

/** Every pgtap--X.Y.Z.sql install script under the usual share folders, newest first. */
export function findPgtapScripts(roots = SEARCH_ROOTS): string[] {
  const found: string[] = [];
  const explicit = process.env.PGTAP_SQL;
  if (explicit && existsSync(explicit)) found.push(explicit);
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const candidates = [root, ...readdirSync(root).map((entry) => path.join(root, entry))];
    for (const dir of candidates) {
      const extensionDir = path.join(dir, 'extension');
      if (!existsSync(extensionDir)) continue;
      for (const file of readdirSync(extensionDir)) {
        if (BASE_SCRIPT.test(file)) found.push(path.join(extensionDir, file));
      }
    }
  }
  return found.sort((a, b) => {
    const [x, y] = [versionKey(a), versionKey(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (y[i] ?? 0) - (x[i] ?? 0);
    return 0;
  });
}

const HOW_TO_INSTALL =
  'pgTAP is needed for the database tests. Install it from your operating system: ' +
  'on Debian or Ubuntu `apt-get install postgresql-15-pgtap` (any postgresql-NN-pgtap will do), ' +
  'on Fedora `dnf install pgtap`, on macOS `brew install pgtap`; ' +
  'or point PGTAP_SQL at a pgtap--X.Y.Z.sql install script.';

function installOnDebian(log: (line: string) => void): void {
  const apt = (args: string[]) => execFileSync('apt-get', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const candidatePackage = (): string | undefined => {
    const out = execFileSync('apt-cache', ['search', '--names-only', '^postgresql-[0-9]+-pgtap$'], { encoding: 'utf8' });
    const names = out.split('\n').map((line) => line.split(' ')[0]).filter(Boolean);
    return names.sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]))[0];
  };
  let pkg = candidatePackage();
  if (!pkg) {
    log('pgTAP: package lists hold no postgresql-NN-pgtap; running apt-get update');
    apt(['update']);
    pkg = candidatePackage();
  }
  if (!pkg) throw new Error(`No postgresql-NN-pgtap package is available from apt. ${HOW_TO_INSTALL}`);
  log(`pgTAP: installing ${pkg} with apt-get`);
  apt(['install', '-y', '--no-install-recommends', pkg]);
}

/** The pgTAP install script, installing the OS package first where that is possible. */
export function locatePgtap(log: (line: string) => void = () => undefined): string {
  let scripts = findPgtapScripts();
  if (scripts.length === 0) {
    const isDebian = existsSync('/etc/debian_version');
    const isRoot = process.getuid?.() === 0;
    if (!isDebian || !isRoot) throw new Error(`pgTAP was not found. ${HOW_TO_INSTALL}`);
    try {
      installOnDebian(log);
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`Installing pgTAP with apt-get failed: ${(error as Error).message}\n${stderr}\n${HOW_TO_INSTALL}`);
    }
    scripts = findPgtapScripts();
    if (scripts.length === 0) throw new Error(`pgTAP was installed but its SQL script was not found. ${HOW_TO_INSTALL}`);
  }
  return scripts[0];
}

/** The install script as plain SQL: psql meta-commands (\echo, \quit) removed. */
export function pgtapSql(scriptPath: string): string {
  return readFileSync(scriptPath, 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('\\'))
    .join('\n');
}

export interface TapSummary {
  planned: number | null;
  ran: number;
  failed: string[];
  problems: string[];
}

/**
 * Reads pgTAP's output lines. A file fails on any `not ok`, a missing plan,
 * a plan that does not match the assertions run, or finish()'s complaints.
 */
export function summariseTap(lines: string[]): TapSummary {
  let planned: number | null = null;
  let ran = 0;
  const failed: string[] = [];
  const problems: string[] = [];
  for (const line of lines) {
    const plan = /^1\.\.(\d+)/.exec(line);
    if (plan) planned = Number(plan[1]);
    else if (/^not ok\b/.test(line)) {
      ran++;
      failed.push(line);
    } else if (/^ok\b/.test(line)) ran++;
    else if (/^# Looks like|^Bail out!/.test(line)) problems.push(line);
  }
  if (planned === null) problems.push('no plan: the file must call plan(n)');
  else if (planned !== ran) problems.push(`planned ${planned} assertions but ran ${ran}`);
  return { planned, ran, failed, problems };
}
