/**
 * Runs the airlift CLI as a user would (node bin/airlift.js), with only the
 * database URLs the test gives: any others in the test's own environment
 * are removed, so the command cannot reach the test server by accident.
 * Attachment files are off (AIRLIFT_FILES_STORE=off) unless the test sets
 * the store: the emulated bases of most tests list files at URLs nothing
 * serves, and a store shared by test files would mix their catalogues.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const PROJECT_DIR = path.resolve(import.meta.dirname, '..', '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runAirlift(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, AIRLIFT_LOG_LEVEL: 'error', AIRLIFT_FILES_STORE: env.AIRLIFT_FILES_DIR ? 'local' : 'off', ...env };
  for (const key of ['DATABASE_URL', 'ROOT_DATABASE_URL', 'SHADOW_DATABASE_URL', 'TEST_DATABASE_URL']) {
    if (!(key in env)) delete childEnv[key];
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_DIR, 'bin', 'airlift.js'), ...args], { cwd: PROJECT_DIR, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
