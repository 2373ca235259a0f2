/** Runs bench/files-read-probe.ts in a child process (with --expose-gc) and returns what it measured. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface ProbeResult {
  records: number;
  rejects: number;
  seconds: number;
  cpuSeconds: number;
  rssBefore: number;
  rssPeak: number;
  /** heapUsed right after a full collection (null without --expose-gc). */
  liveBefore: number | null;
  livePeak: number | null;
}

const probe = fileURLToPath(new URL('./files-read-probe.ts', import.meta.url));

export async function probeRead(file: string, key: string): Promise<ProbeResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', probe, file, key], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ProbeResult;
}
