/**
 * The open data problems grouped by table, field and rule, with counts and
 * a few examples: what `airlift status`, `airlift verify` and the demo show.
 * One query over sync.open_data_problems (field problems of records that
 * landed, and the quarantine of records kept out).
 */
import type { Sql } from 'postgres';

export interface ProblemExample {
  record: string;
  value: unknown;
  reason: string;
}

export interface ProblemGroup {
  entity: string;
  field: string | null;
  rule: string;
  /** empty (landed with the column empty), first_link, kept (value kept, flagged) or quarantined (kept out). */
  disposition: string;
  count: number;
  examples: ProblemExample[];
}

export async function problemGroups(sql: Sql, options: { entities?: string[]; examples?: number } = {}): Promise<ProblemGroup[]> {
  const examples = options.examples ?? 3;
  const entities = options.entities?.length ? options.entities : null;
  return sql<ProblemGroup[]>`
    select coalesce(p.entity, p.source_table) as entity, p.field, p.rule, p.disposition, count(*)::int as count,
           to_jsonb((array_agg(jsonb_build_object('record', p.source_key, 'value', p.value, 'reason', p.reason)
                               order by p.since, p.source_key))[1:${examples}]) as examples
    from sync.open_data_problems p
    where ${entities}::text[] is null or p.entity = any (${entities}::text[])
    group by 1, 2, 3, 4
    order by 1, count(*) desc, 2, 3`;
}

const shown = (value: unknown) => {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value ?? null);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const DISPOSITION: Record<string, string> = {
  empty: 'landed empty',
  first_link: 'first link kept',
  kept: 'value kept',
  quarantined: 'kept out (quarantined)',
};

/** Lines of text, indented by `indent`: one per group, then its examples. */
export function formatProblemGroups(groups: ProblemGroup[], indent = '  '): string[] {
  if (!groups.length) return [`${indent}none`];
  const lines: string[] = [];
  for (const g of groups) {
    lines.push(`${indent}${g.entity}.${g.field ?? '(record)'} ${g.rule}: ${g.count} ${g.count === 1 ? 'record' : 'records'}, ${DISPOSITION[g.disposition] ?? g.disposition}`);
    for (const e of g.examples) lines.push(`${indent}  ${e.record} ${shown(e.value)}: ${e.reason}`);
  }
  return lines;
}
