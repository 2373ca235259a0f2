/**
 * Applies a target-schema fixture that no committed migration holds yet
 * (migrations/fixtures/examples/pfa_app.sql, the SQLite example's schema)
 * to a test database, as migrations run: as airlift_owner, in one
 * transaction, so that what it creates is owned as the committed schema's
 * objects are (the merge's security definer functions act as that owner).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from 'postgres';
import { PROJECT_DIR } from './cli.ts';

/** The SQLite example's target schema (pfa_app). */
export const PFA_APP_FIXTURE = path.join(PROJECT_DIR, 'migrations', 'fixtures', 'examples', 'pfa_app.sql');

/** Runs the SQL file as airlift_owner in one transaction, over a superuser connection. */
export async function applySqlFixture(sql: Sql, file: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  await sql.begin(async (tx) => {
    await tx.unsafe('set local role airlift_owner');
    await tx.unsafe(text);
  });
}
