/**
 * The sync context of the running worker, for its task files (tasks/*.ts),
 * which graphile-worker calls with a payload and helpers only. Set once by
 * runWorker(); a task that finds none was started outside the worker.
 */
import type { SyncContext } from './context.ts';

export interface WorkerContext extends SyncContext {
  /** Aborted on SIGTERM/SIGINT: pulls stop at the next page, resumable. */
  signal: AbortSignal;
  /** sync.jobs ids of the scheduled jobs, by mode. */
  jobIds: Record<'incremental' | 'full' | 'push', string>;
}

let current: WorkerContext | undefined;

export function setWorkerContext(context: WorkerContext | undefined): void {
  current = context;
}

export function workerContext(): WorkerContext {
  if (!current) throw new Error('this task runs inside `airlift worker` only');
  return current;
}
