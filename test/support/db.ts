/**
 * Per-file test databases cloned from the migrated template (see
 * global-setup.ts).
 */
import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { urlWithDatabase } from '../../src/db/embedded.ts';
import { bootstrapRoles, connect, quoteIdent } from '../../src/db/database.ts';

export interface TestDatabase {
  name: string;
  /** Superuser URL of the clone. */
  url: string;
  drop(): Promise<void>;
}

/** A fresh database with the full schema, roles' grants and pgTAP. */
export async function cloneTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('serverUrl');
  const name = `${inject('clonePrefix')}${randomBytes(4).toString('hex')}`;
  const admin = connect(serverUrl, { max: 1 });
  try {
    await admin.unsafe(`create database ${quoteIdent(name)} template ${quoteIdent(inject('templateDatabase'))}`);
  } finally {
    await admin.end();
  }
  const url = urlWithDatabase(serverUrl, name);
  // A clone does not inherit the template's database-level grants.
  await bootstrapRoles(url);
  return {
    name,
    url,
    drop: async () => {
      const sql = connect(serverUrl, { max: 1 });
      try {
        await sql.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}
