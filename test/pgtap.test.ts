/**
 * Runs every pgTAP suite against a fresh clone of the migrated template, as
 * the superuser, with pgTAP's schema on the search path. The suites live in
 * test/db/<stage>/NNN_name.sql (or under AIRLIFT_PGTAP_DIR, walked the same
 * way): a directory's own files first, then its folders, the stages in the
 * order of STAGES and any other folder after them by name.
 *
 * Before any suite, test/db/helpers.sql creates the `tests` schema of shared
 * set-up functions (tests.seed_delta_mapping, tests.open_run, ...) in the
 * clone, and so does a helpers.sql at the top of AIRLIFT_PGTAP_DIR. They are
 * the harness's, never a migration's, and no suite counts them as one.
 *
 * A file fails on any `not ok`, a plan mismatch, a missing plan or an SQL
 * error; pgTAP's own output is shown with the failure, under the file's path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/database.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';
import { summariseTap } from './support/pgtap.ts';

/** The stage folders of test/db, in the order they run. */
const STAGES = ['structure', 'canonical', 'staging', 'merge', 'runs', 'outbox', 'integrity', 'files', 'audit', 'report', 'roles'];
const HELPERS = 'helpers.sql';

const defaultDir = path.join(import.meta.dirname, 'db');
const suiteDir = path.resolve(process.env.AIRLIFT_PGTAP_DIR ?? defaultDir);
const helperFiles = [...new Set([path.join(defaultDir, HELPERS), path.join(suiteDir, HELPERS)])].filter((file) => existsSync(file));

function folderRank(name: string): [number, string] {
  const stage = STAGES.indexOf(name);
  return [stage === -1 ? STAGES.length : stage, name];
}

/** The suites under dir, as paths relative to root: files (sorted) before folders (by stage). */
function walk(dir: string, root = dir): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.sql') && !(dir === root && entry.name === HELPERS))
    .map((entry) => entry.name)
    .sort();
  const folders = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => {
      const [x, y] = [folderRank(a), folderRank(b)];
      return x[0] - y[0] || x[1].localeCompare(y[1]);
    });
  return [
    ...files.map((file) => path.relative(root, path.join(dir, file))),
    ...folders.flatMap((folder) => walk(path.join(dir, folder), root)),
  ];
}

const files = walk(suiteDir);

function describeError(label: string, error: unknown): Error {
  const e = error as Error & { where?: string; detail?: string; code?: string };
  return new Error(`${label} raised ${e.code ?? ''} ${e.message}${e.detail ? `\n${e.detail}` : ''}${e.where ? `\n${e.where}` : ''}`);
}

describe('pgTAP suites', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await cloneTestDatabase();
    for (const file of helperFiles) {
      const sql = connect(db.url, { max: 1, connection: { search_path: 'public, tap', application_name: `pgtap ${HELPERS}` } });
      try {
        await sql.unsafe(readFileSync(file, 'utf8'));
      } catch (error) {
        throw describeError(path.relative(process.cwd(), file), error);
      } finally {
        await sql.end();
      }
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('finds suites to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(file, async () => {
      const script = readFileSync(path.join(suiteDir, file), 'utf8');
      // Each file has its own session and rolls itself back, so files share
      // one clone without seeing each other's data.
      const sql = connect(db.url, { max: 1, connection: { search_path: 'public, tap', application_name: `pgtap ${file}` } });
      let lines: string[] = [];
      try {
        const results = (await sql.unsafe(script)) as unknown as Array<Record<string, unknown>[] | Record<string, unknown>>;
        const rowSets = Array.isArray(results[0]) || results.length === 0 ? (results as Record<string, unknown>[][]) : [results as Record<string, unknown>[]];
        lines = rowSets.flatMap((rows) => rows.map((row) => String(Object.values(row)[0] ?? '')))
          .flatMap((text) => text.split('\n'));
      } catch (error) {
        throw describeError(file, error);
      } finally {
        await sql.end();
      }
      const summary = summariseTap(lines);
      const report = `${file}:\n${lines.join('\n')}`;
      expect(summary.failed, report).toEqual([]);
      expect(summary.problems, report).toEqual([]);
    });
  }
});
