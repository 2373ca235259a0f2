/**
 * s3rver (a fake S3 server keeping its buckets in a directory) in a child
 * process on a free port of 127.0.0.1, for the S3 file store's tests.
 *
 * A child process, run with --openssl-legacy-provider: s3rver 3.7.1 makes
 * ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 refuses
 * without the legacy provider (any listing of more than 1,000 keys then fails
 * with InternalError). The child also ends when its standard input closes,
 * so it never outlives the test run. s3rver checks the access key id of a
 * V4-signed request but not the signature.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';

/** The credentials s3rver knows. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const child = `
const S3rver = require(process.argv[1]);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2] });
server.run().then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'));
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop).resume();
`;

/** Starts s3rver over `directory`; resolves once it listens. */
export async function startS3rver(directory: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const proc = spawn(process.execPath, ['--openssl-legacy-provider', '-e', child, s3rverPath, directory], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout.setEncoding('utf8').on('data', (data: string) => {
      output += data;
      const line = output.split('\n')[0];
      if (output.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port);
    });
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
