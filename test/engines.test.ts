/**
 * The Node version package.json declares is one every installed package
 * supports: the oldest Node it allows satisfies the `engines.node` of each
 * package in package-lock.json (so `npm ci` warns EBADENGINE on no Node the
 * project claims to run on).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_DIR } from './support/cli.ts';

const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

describe('engines', () => {
  it('every package in package-lock.json supports the oldest Node that package.json declares', async () => {
    const pkg = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package.json'), 'utf8'));
    const lock = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package-lock.json'), 'utf8'));
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const unsupported = Object.entries(lock.packages as Record<string, { version?: string; engines?: { node?: string } }>)
      .filter(([name, entry]) => name && entry.engines?.node && !semver.satisfies(oldest, entry.engines.node))
      .map(([name, entry]) => `${name.replace(/^.*node_modules\//, '')}@${entry.version} needs node ${entry.engines!.node}`);
    expect(unsupported, `package.json declares node ${pkg.engines.node}`).toEqual([]);
  });
});
