/**
 * Runs every pgTAP suite (test/pgtap/*.sql, or AIRLIFT_PGTAP_DIR) against a
 * fresh clone of the migrated template, as the superuser, with pgTAP's schema
 * on the search path. A file fails on any `not ok`, a plan mismatch, a
 * missing plan or an SQL error; pgTAP's own output is shown with the failure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/database.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';
import { summariseTap } from './support/pgtap.ts';

const suiteDir = path.resolve(process.env.AIRLIFT_PGTAP_DIR ?? path.join(import.meta.dirname, 'pgtap'));
const files = readdirSync(suiteDir).filter((file) => file.endsWith('.sql')).sort();

describe('pgTAP suites', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await cloneTestDatabase();
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
        const e = error as Error & { where?: string; detail?: string; code?: string };
        throw new Error(`${file} raised ${e.code ?? ''} ${e.message}${e.detail ? `\n${e.detail}` : ''}${e.where ? `\n${e.where}` : ''}`);
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
