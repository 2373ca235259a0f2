/**
 * One record per key in a listing, for sources that do not promise it (an
 * export may hold two records under one key): the first one read is
 * staged, every later one quarantined naming where it and the kept one
 * were read, so no version is overwritten silently.
 */
import type { Sql } from 'postgres';
import type { TableMapping } from '../mapping.ts';
import type { ListedPage } from '../sources/source.ts';
import type { RejectedRecord, StageRecord } from './records.ts';

/**
 * The records of a page whose key no earlier record of the listing had
 * (earlier on the page, or staged by this run from an earlier page); the
 * others are added to `rejects`, naming where each was read and where the
 * kept one was.
 */
export async function keepFirstOfEachKey(
  sql: Sql,
  runId: string,
  table: TableMapping,
  page: ListedPage,
  stage: StageRecord[],
  rejects: RejectedRecord[],
  /** Keys read earlier and not staged yet (the pages of a bulk chunk): kept across calls. */
  seen: Set<string> = new Set(),
): Promise<StageRecord[]> {
  // where each occurrence of a key was read, in order
  const positions = new Map<string, Array<string | undefined>>();
  for (const record of page.records) positions.set(record.id, [...(positions.get(record.id) ?? []), record.position]);
  const stagedBefore = new Set(
    (await sql<{ key: string }[]>`
      select s.source_key as key from unnest(${stage.map((r) => r.id)}::text[]) as k (key)
      join staging.source_records s on s.source_table = ${table.tableId} and s.source_key = k.key and s.run_id = ${runId}`).map((r) => r.key),
  );
  const occurrences = new Map<string, number>();
  const kept: StageRecord[] = [];
  for (const record of stage) {
    const n = occurrences.get(record.id) ?? 0;
    occurrences.set(record.id, n + 1);
    if (!stagedBefore.has(record.id) && n === 0 && !seen.has(record.id)) {
      seen.add(record.id);
      kept.push(record);
      continue;
    }
    const at = positions.get(record.id)?.[n];
    const first = stagedBefore.has(record.id) || (n === 0 && seen.has(record.id)) ? 'an earlier page of the listing' : (positions.get(record.id)?.[0] ?? 'earlier on the page');
    rejects.push({
      source_key: record.id,
      field: null,
      value: null,
      reason: `duplicate key ${record.id}${at ? ` at ${at}` : ''}: the record read first (${first}) has the same key and is the one kept`,
    });
  }
  return kept;
}
