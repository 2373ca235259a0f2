/**
 * vitest global set-up: one PostgreSQL server for the whole run (a throwaway
 * embedded cluster, or TEST_DATABASE_URL's server), and one template database
 * migrated with the real migrations, roles and pgTAP. Each test file clones
 * the template (create database ... template), which takes milliseconds, so
 * files are isolated from each other without migrating again.
 */
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { startThrowawayCluster, urlWithDatabase, type EmbeddedServer } from '../../src/db/embedded.ts';
import { watch as applyCurrentMigration } from 'graphile-migrate';
import { bootstrapRoles, connect, ensureDatabaseExists, migrationSettings, prepareDatabase, quoteIdent, releaseMigrationPools } from '../../src/db/database.ts';
import { locatePgtap, pgtapSql } from './pgtap.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test server (maintenance database). */
    serverUrl: string;
    /** Name of the migrated template database to clone. */
    templateDatabase: string;
    /** Prefix of the databases cloned for this run, dropped at teardown. */
    clonePrefix: string;
  }
}

const log = (line: string) => process.stderr.write(`[test set-up] ${line}\n`);

export default async function setup(project: TestProject) {
  const started = Date.now();
  const pgtapScript = locatePgtap(log);
  let server: EmbeddedServer | undefined;
  let serverUrl: string;
  if (process.env.TEST_DATABASE_URL) {
    serverUrl = urlWithDatabase(process.env.TEST_DATABASE_URL, 'postgres');
  } else {
    server = await startThrowawayCluster();
    serverUrl = server.rootUrl;
  }
  const runId = randomBytes(4).toString('hex');
  const templateDatabase = `airlift_template_${runId}`;
  const clonePrefix = `airlift_test_${runId}_`;

  try {
    await ensureDatabaseExists(serverUrl, templateDatabase);
    const templateUrl = urlWithDatabase(serverUrl, templateDatabase);
    await bootstrapRoles(templateUrl);
    await prepareDatabase({ databaseUrl: templateUrl, rootUrl: templateUrl });
    if (process.env.AIRLIFT_TEST_WITH_CURRENT === '1') {
      // Development only: the uncommitted migrations/current.sql on top of
      // the committed ones, so that work in progress can be tested before
      // `airlift gm commit`. CI never sets it: tests prove committed migrations.
      try {
        await applyCurrentMigration(await migrationSettings({ databaseUrl: templateUrl, rootUrl: templateUrl }), true);
      } finally {
        await releaseMigrationPools();
      }
      log('AIRLIFT_TEST_WITH_CURRENT=1: migrations/current.sql applied to the template');
    }
    const sql = connect(templateUrl, { max: 1 });
    try {
      await sql.unsafe(`create schema tap; set search_path = tap; ${pgtapSql(pgtapScript)}`);
      await sql.unsafe(`
        comment on schema tap is 'pgTAP, loaded for tests only';
        grant usage on schema tap to public;
        grant execute on all functions in schema tap to public;`);
    } finally {
      await sql.end();
    }
  } catch (error) {
    await server?.stop();
    throw error;
  }
  log(`server ready, template ${templateDatabase} migrated with pgTAP from ${pgtapScript} in ${Date.now() - started} ms`);

  project.provide('serverUrl', serverUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('clonePrefix', clonePrefix);

  return async () => {
    if (server) {
      await server.stop();
      return;
    }
    // On a shared server, drop what this run created.
    const sql = connect(serverUrl, { max: 1 });
    try {
      const leftovers = await sql<{ datname: string }[]>`
        select datname from pg_database where datname = ${templateDatabase} or starts_with(datname, ${clonePrefix})`;
      for (const { datname } of leftovers) await sql.unsafe(`drop database if exists ${quoteIdent(datname)} with (force)`);
    } finally {
      await sql.end();
    }
  };
}
