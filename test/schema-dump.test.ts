/**
 * db/schema.sql is what the committed migrations make: the dump is made
 * again (tools/db/dump-schema.ts, a throwaway PostgreSQL 15 cluster, so this
 * also proves the migrations apply on the oldest supported version) and
 * compared with the checked-in file. Without PostgreSQL 15's binaries this
 * fails, saying what to install: it never skips.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, firstDifference, generateSchemaDump, normalizeDump } from '../tools/db/dump-schema.ts';

describe('db/schema.sql', () => {
  it('matches a fresh dump of the committed migrations', async () => {
    expect(existsSync(SCHEMA_FILE), 'db/schema.sql is missing: run `npm run db:schema` and commit it').toBe(true);
    const checkedIn = await readFile(SCHEMA_FILE, 'utf8');
    const fresh = await generateSchemaDump();
    const difference = firstDifference(checkedIn, fresh);
    if (difference) {
      expect.fail(
        `db/schema.sql is stale: it is not what the committed migrations make. Run \`npm run db:schema\` and commit db/schema.sql.\n${difference}`,
      );
    }
  });

  it('normalizes away what changes from run to run', () => {
    const dump = [
      '--',
      '-- PostgreSQL database dump',
      '--',
      '',
      '\\restrict AbC123xyz',
      '',
      '-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)',
      '-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)',
      '',
      'SET statement_timeout = 0;',
      "SET client_encoding = 'UTF8';",
      "SELECT pg_catalog.set_config('search_path', '', false);",
      '',
      '',
      'CREATE SCHEMA app;',
      '',
      '\\unrestrict AbC123xyz',
      '',
    ].join('\r\n');
    expect(normalizeDump(dump)).toBe('--\n-- PostgreSQL database dump\n--\n\nCREATE SCHEMA app;\n');
  });

  it('names the first differing line', () => {
    expect(firstDifference('a\nb\nc\n', 'a\nb\nc\n')).toBeUndefined();
    const message = firstDifference('a\nb\nc\n', 'a\nB\nc\n')!;
    expect(message).toContain('first difference at line 2');
    expect(message).toMatch(/ {5}2 > b/);
    expect(message).toMatch(/ {5}2 > B/);
  });
});
