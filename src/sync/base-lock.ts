/**
 * One sync of a base at a time: pulls and pushes of the same base take the
 * same session advisory lock, whoever starts them (worker, CLI), so a push
 * never plans against rows a pull is merging, and the in-flight outbox
 * entries found by a push that holds the lock are known to be abandoned.
 */
import type { ReservedSql } from 'postgres';

export function baseLockKey(baseId: string): string {
  // The key keeps the name it had when only pulls took it: sync.lock_out_pulls
  // (snapshots, rollbacks) tries the same key in SQL.
  return `airlift:pull:${baseId}`;
}

/** Takes the base's lock on a reserved connection: true when taken, false when busy (and not waiting). */
export async function lockBase(lock: ReservedSql, baseId: string, wait: boolean): Promise<boolean> {
  const key = baseLockKey(baseId);
  const [{ locked }] = await lock<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as locked`;
  if (locked || !wait) return locked;
  await lock`select pg_advisory_lock(hashtextextended(${key}, 0))`;
  return true;
}

export async function unlockBase(lock: ReservedSql, baseId: string): Promise<void> {
  await lock`select pg_advisory_unlock(hashtextextended(${baseLockKey(baseId)}, 0))`;
}
