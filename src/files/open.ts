/**
 * The file store the configuration names: the local directory by default
 * (AIRLIFT_FILES_DIR), an S3-compatible bucket (AIRLIFT_FILES_STORE=s3 and
 * the AIRLIFT_S3_* variables), or none (AIRLIFT_FILES_STORE=off: only the
 * attachments' metadata lands).
 */
import path from 'node:path';
import type { Environment } from '../config.ts';
import { LocalFileStore } from './local-store.ts';
import type { FileStore } from './store.ts';

export async function openFileStore(env: Environment, variables: NodeJS.ProcessEnv = process.env): Promise<FileStore | null> {
  if (env.AIRLIFT_FILES_STORE === 'off') return null;
  if (env.AIRLIFT_FILES_STORE === 's3') {
    const { S3FileStore, s3StoreOptionsFromEnv } = await import('./s3-store.ts');
    return S3FileStore.open(s3StoreOptionsFromEnv(variables, path.join(env.AIRLIFT_DATA_DIR, 'files-tmp')));
  }
  return LocalFileStore.open(env.AIRLIFT_FILES_DIR!);
}
