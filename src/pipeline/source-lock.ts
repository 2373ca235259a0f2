/**
 * One sync of a base at a time: pulls and pushes of the same base take the
 * same session advisory lock, whoever starts them (worker, CLI), so a push
 * never plans against rows a pull is merging, and the in-flight outbox
 * entries and `running` push runs found by a pull or push that holds the
 * lock are known to be abandoned (closeDeadPush).
 */
import type { ReservedSql, Sql } from 'postgres';

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

const DEAD_PUSH_MESSAGE =
  "interrupted: the push stopped before it finished (its process died: no process held the base's lock); " +
  'closed by the next pull or push of the base, which put the entries it left in flight back in the outbox';

/**
 * What a dead push of the base left, cleaned up by whoever holds the base's
 * lock (a push or a pull): no push of the base can be running then, so its
 * push runs still `running` belong to a process that died (killed, crashed,
 * lost its connection), and its outbox entries still in flight were
 * abandoned. The entries are released (updates and deletes back to pending
 * after a retry delay, creates failed for a check: sync.release_stale_outbox)
 * and the runs closed as failed, "interrupted" (sync.fail_run). Call it only
 * while holding the lock. Returns the ids of the runs closed and how many
 * entries were released.
 */
export async function closeDeadPush(sql: Sql, baseId: string): Promise<{ runs: string[]; released: number }> {
  const [{ released }] = await sql<{ released: number }[]>`select sync.release_stale_outbox(interval '0 seconds') as released`;
  const closed = await sql<{ id: string }[]>`
    select f.id::text as id
    from sync.runs r
    cross join lateral sync.fail_run(r.id, ${DEAD_PUSH_MESSAGE}) f
    where r.run_type = 'push' and r.status = 'running' and r.metadata ->> 'base_id' = ${baseId}
    order by r.id`;
  return { runs: closed.map((r) => r.id), released };
}
