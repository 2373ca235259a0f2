/**
 * `airlift scaffold`'s source-neutral draft: the target tables a source's
 * own schema suggests (src/scaffold/<kind>.ts reads a source into it), and
 * how the draft is written as a migration a DBA reviews and commits with
 * graphile-migrate (the shape of migrations/fixtures/examples/pfa_app.sql):
 * a schema of uuid-keyed tables with typed columns, foreign keys as uuid
 * links with an explicit on delete and an index each, the standard columns
 * (open_problem_count, created_at, updated_at, deleted_at), a comment on
 * every object, the registration in sync.entities and sync.entity_columns,
 * sync.attach_target_triggers (target checksums and audit) and grants.
 *
 * What the reader could not decide is a REVIEW note: written as a
 * `-- REVIEW:` comment next to the object it is about, and listed again at
 * the top of the file, never decided silently.
 */
import type { Conversion } from '../sources/mapping-parts.ts';

export type OnDelete = 'cascade' | 'set null' | 'restrict';

export interface DraftColumn {
  /** The target column. */
  name: string;
  /** The source's column or field, for comments. */
  sourceName: string;
  conversion: Conversion;
  /** A link: the linked draft table and what happens to this row when the linked row is deleted. */
  link?: { table: string; onDelete: OnDelete; why: string };
  /** What the column holds, in words (its comment). */
  comment: string;
  /** What a reviewer must decide about it. */
  reviews: string[];
  /** The mapping's field for it, in the source's vocabulary (the target column is added by the writer). */
  field: Record<string, unknown>;
  /** A link's field when it is kept as the plain key text instead (a link that would close a cycle). */
  plainField?: Record<string, unknown>;
  /** false: a local change is never pushed back to the source (a field the source computes, a collaborator); sync.entity_columns.pushable. */
  pushable?: boolean;
}

export interface DraftIndex {
  name: string;
  columns: string[];
  comment: string;
}

export interface DraftTable {
  /** The table's name in the source. */
  sourceName: string;
  /** The target table (in the draft's schema). */
  name: string;
  entity: string;
  comment: string;
  /** The source's key column or path (the mapping's key). */
  key: string;
  /** What the key column holds, for the source key column's comment. */
  keyComment: string;
  columns: DraftColumn[];
  indexes: DraftIndex[];
  reviews: string[];
  /** The mapping's table entry without its fields (entity, target, table or file, key ...). */
  mappingTable: Record<string, unknown>;
  /** Merge rank: after every table it links to. */
  rank: number;
}

export interface Draft {
  schema: string;
  /** Names the source in comments: `the SQLite file /srv/app.db`. */
  sourceLabel: string;
  /** The target column that keeps each row's source key (sync.entities.source_key_column). */
  sourceKeyColumn: string;
  /** What "deleted" means for a row of this source, for the deleted_at comment. */
  goneFrom: string;
  tables: DraftTable[];
  /** Tables not drafted, with why: each one a REVIEW note. */
  refused: Array<{ sourceName: string; why: string }>;
  /** The mapping's top level without its tables (version, description, source). */
  mappingHead: Record<string, unknown>;
}

/** Columns every drafted table has, and the names the merge keeps for its own working columns (a CHECK on sync.entity_columns refuses them). */
export const STANDARD_COLUMNS = ['id', 'open_problem_count', 'created_at', 'updated_at', 'deleted_at'];
export const MERGE_RESERVED = [
  'position', 'source_key', 'row_id', 'row_is_new', 'fetched_this_run', 'checksum', 'held_deleted',
  'problems', 'blocking_problems', 'problem_count', 'canonical', 'raw_values',
];

const MAX_IDENTIFIER = 63;

/** A source name as a PostgreSQL identifier: snake_case (camelCase split), lower case, [a-z0-9_], at most 63 bytes, not starting with a digit. */
export function snakeName(name: string): string {
  let out = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (out === '') out = 'unnamed';
  if (/^[0-9]/.test(out)) out = `c_${out}`;
  return out.slice(0, MAX_IDENTIFIER);
}

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** A table name: snake_case, and a PostgreSQL keyword (user, order, group) made plural so that it needs no quotes anywhere (mappings name tables unquoted). */
export function tableName(name: string): string {
  const snake = snakeName(name);
  return SQL_KEYWORDS.has(snake) ? `${snake}s` : snake;
}

/** An entity name ([a-z_]+, sync.entities' CHECK): digits spelled out. */
export function entityNameFor(prefix: string, table: string): string {
  const spell = (s: string) => s.replace(/[0-9]/g, (d) => `${DIGITS[Number(d)]}`);
  return `${spell(prefix)}_${spell(table)}`.replace(/_+/g, '_').slice(0, 50).replace(/_+$/, '');
}

/** Gives out unique names: a name taken gets a suffix _2, _3, ... (within 63 bytes). */
export class NameSet {
  private readonly taken = new Set<string>();
  constructor(taken: Iterable<string> = []) {
    for (const name of taken) this.taken.add(name);
  }
  has(name: string): boolean {
    return this.taken.has(name);
  }
  take(wanted: string): string {
    let name = wanted.slice(0, MAX_IDENTIFIER);
    for (let n = 2; this.taken.has(name); n++) name = `${wanted.slice(0, MAX_IDENTIFIER - String(n).length - 1)}_${n}`;
    this.taken.add(name);
    return name;
  }
}

/**
 * The target column for a source column: snake_case, and renamed where the
 * name is one of the draft's standard columns or its source key column
 * (app_created_at, as the examples do) or one the merge keeps for its own
 * working columns (position_value); a rename is said in the column's
 * comment. A name already given (two source names with one snake_case)
 * gets a suffix _2.
 */
export function targetColumnName(sourceName: string, taken: NameSet, sourceKeyColumn: string): { name: string; renamed?: string } {
  const wanted = snakeName(sourceName);
  let name = wanted;
  let renamed: string | undefined;
  if (STANDARD_COLUMNS.includes(wanted) || wanted === sourceKeyColumn) {
    name = `app_${wanted}`;
    renamed = `renamed from ${wanted}: the draft keeps a column of that name of its own`;
  } else if (MERGE_RESERVED.includes(wanted)) {
    name = `${wanted}_value`;
    renamed = `renamed from ${wanted}: a merged column may not be named ${MERGE_RESERVED.join(', ')} (a CHECK on sync.entity_columns refuses them: the merge's working columns carry those names)`;
  }
  const given = taken.take(name);
  if (given !== name) renamed = `${renamed ? `${renamed}; ` : ''}named ${given}: ${name} is another column's`;
  return { name: given, renamed };
}

/** The PostgreSQL type a conversion lands as (the merge's: sync.cell_* in migrations/fixtures/canonical/cell_conversions.sql). */
export function columnType(column: DraftColumn, schema: string): string {
  switch (column.conversion) {
    case 'text':
    case 'select':
    case 'lookup_text':
      return 'text';
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamptz';
    case 'money':
      return 'numeric(12,2)';
    case 'integer':
      return 'integer';
    case 'checkbox':
      // the merge's checkbox is never empty: a missing or refused value lands false, with its problem
      return 'boolean not null default false';
    case 'multi_select':
      return "text[] not null default '{}'";
    case 'link':
      return `uuid constraint ${ident(fkName(column))} references ${ident(schema)}.${ident(column.link!.table)} (id) on delete ${column.link!.onDelete}`;
    case 'collaborator':
      // the merge resolves an Airtable user id to app.collaborators (it inserts the user it has not seen)
      return `uuid constraint ${ident(fkName(column))} references app.collaborators (id) on delete set null`;
    default:
      throw new Error(`the scaffold drafts no column for a ${column.conversion} conversion`);
  }
}

/** The name of a link's foreign key constraint (named, so that it is commented). Set by the writer per table. */
function fkName(column: DraftColumn): string {
  return (column as DraftColumn & { constraintName: string }).constraintName;
}

/** A quoted identifier where it needs quotes; the draft's names are [a-z0-9_] and need none but keywords. */
export function ident(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !SQL_KEYWORDS.has(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

// PostgreSQL's reserved keywords (and a few non-reserved ones that cannot be column names): quoted when a name is one
const SQL_KEYWORDS = new Set(
  ('all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column concurrently constraint create ' +
    'cross current_catalog current_date current_role current_schema current_time current_timestamp current_user default deferrable desc distinct do else end ' +
    'except false fetch for foreign freeze from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit ' +
    'localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references returning right select session_user ' +
    'similar some symmetric system_user table tablesample then to trailing true union unique user using variadic verbose when where window with').split(' '),
);

/** A string as an E'' literal. */
export function literal(text: string): string {
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''").replaceAll('\n', '\\n')}'`;
}

/** A REVIEW note as SQL comment lines (the note on one line, wrapped in the file only by the reader's editor). */
function reviewLines(notes: string[], indent = ''): string[] {
  return notes.map((note) => `${indent}-- REVIEW: ${note.replaceAll('\n', ' ')}`);
}

/** Tables in merge order: by rank, then by name. */
function ordered(draft: Draft): DraftTable[] {
  return [...draft.tables].sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name));
}

/**
 * Sets each table's merge rank: one more than the highest rank of the
 * tables it links to (a self link does not count). A cycle of links is
 * broken where it closes, with a REVIEW note on the link that closes it
 * (the merge resolves such a link once its row lands: a dangling link
 * until then).
 */
export function rankTables(tables: DraftTable[]): void {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (table: DraftTable): number => {
    if (state.get(table.name) === 'done') return table.rank;
    state.set(table.name, 'visiting');
    let rank = 1;
    for (const column of table.columns) {
      if (!column.link || column.link.table === table.name) continue;
      const linked = byName.get(column.link.table);
      if (!linked) continue;
      if (state.get(linked.name) === 'visiting') {
        // the mapping refuses a cycle of links (no merge order): this one is kept as the linked row's plain key
        column.reviews.push(`a foreign key to ${linked.name} that closes a cycle of links (${linked.name} -> ... -> ${table.name} -> ${linked.name}): a mapping's links may not form a cycle, so it is kept as the linked row's key, as text, not a link; decide which side of the cycle links`);
        column.comment = column.comment.replace(/^The \S+ row it links to/, `The key of the ${linked.name} row it names`);
        column.link = undefined;
        column.conversion = 'text';
        column.field = column.plainField ?? column.field;
        continue;
      }
      rank = Math.max(rank, visit(linked) + 1);
    }
    table.rank = rank;
    state.set(table.name, 'done');
    return rank;
  };
  for (const table of [...tables].sort((a, b) => a.name.localeCompare(b.name))) visit(table);
}

/** Every REVIEW note of the draft, each naming its object. */
export function allReviews(draft: Draft): string[] {
  const notes: string[] = [];
  for (const refused of draft.refused) notes.push(`${refused.sourceName}: not drafted: ${refused.why}`);
  for (const table of ordered(draft)) {
    for (const note of table.reviews) notes.push(`${draft.schema}.${table.name}: ${note}`);
    for (const column of table.columns) for (const note of column.reviews) notes.push(`${draft.schema}.${table.name}.${column.name}: ${note}`);
  }
  return notes;
}

/** The draft as a migration: idempotent (drops its schema and entities first), every object commented. */
export function renderMigration(draft: Draft, generatedAt: Date): string {
  const s = draft.schema;
  const S = ident(s);
  const tables = ordered(draft);
  const notes = allReviews(draft);
  const lines: string[] = [];
  const q = (table: string) => `${S}.${ident(table)}`;

  lines.push(
    '/*',
    ` * DRAFT written by \`airlift scaffold\` from ${draft.sourceLabel.replaceAll('*/', '* /')} on ${generatedAt.toISOString()}.`,
    ` * Schema ${s}: ${tables.length} table(s) keyed by uuid, their source's foreign keys as uuid links`,
    ' * with an explicit on delete and an index each, every row keeping its source key in',
    ` * ${draft.sourceKeyColumn} (identity is sync.id_map's), registered in the entity catalogue with the`,
    ' * conversions the merge applies, and wired for target checksums and the audit trail.',
    ' *',
    ' * Nothing here has been applied. Read every REVIEW note (listed below and next to its',
    ' * object), decide, delete the note, then copy the file into migrations/current.sql and',
    ' * commit it with `airlift gm commit` (README: "Scaffolding a target schema").',
    ' *',
    ` * Idempotent while it is a draft: it drops schema ${s} (and its data) and its entities`,
    ' * first, so that graphile-migrate can run it again on every save.',
    ' */',
  );
  if (notes.length > 0) {
    lines.push('', `-- ${notes.length} REVIEW note(s), each repeated next to its object:`);
    lines.push(...reviewLines(notes));
  } else {
    lines.push('', '-- No REVIEW notes: every type was decided from the source\'s declared types and values (the comments say how).');
  }

  lines.push(
    '',
    `drop schema if exists ${S} cascade;`,
    ...(tables.length > 0
      ? [
          // the columns first: a link between two of these entities restricts deleting the entity it names
          `delete from sync.entity_columns where entity in (${tables.map((t) => `'${t.entity}'`).join(', ')});`,
          `delete from sync.entities where entity in (${tables.map((t) => `'${t.entity}'`).join(', ')});`,
        ]
      : ['-- (no entity to register)']),
    '',
    `create schema ${S};`,
    `comment on schema ${S} is ${literal(`Drafted by airlift scaffold from ${draft.sourceLabel}: ${tables.map((t) => t.name).join(', ') || 'no table'}.`)};`,
  );

  for (const refused of draft.refused) lines.push('', ...reviewLines([`${refused.sourceName}: not drafted: ${refused.why}`]));

  for (const table of tables) {
    const T = q(table.name);
    const constraintNames = new NameSet();
    for (const column of table.columns) {
      if (column.link || column.conversion === 'collaborator') (column as DraftColumn & { constraintName: string }).constraintName = constraintNames.take(`${table.name}_${column.name}_fkey`);
    }
    lines.push('', `-- ${table.sourceName} (merge rank ${table.rank}) ${'-'.repeat(Math.max(3, 70 - table.sourceName.length))}`);
    lines.push(...reviewLines(table.reviews));
    lines.push(`create table ${T} (`);
    const body: string[] = [];
    body.push('  id uuid primary key default gen_random_uuid(),');
    body.push(`  ${ident(draft.sourceKeyColumn)} text not null unique,`);
    for (const column of table.columns) {
      body.push(...reviewLines(column.reviews, '  '));
      body.push(`  ${ident(column.name)} ${columnType(column, s)},`);
    }
    body.push(
      '  open_problem_count integer not null default 0,',
      '  created_at timestamptz not null default now(),',
      '  updated_at timestamptz not null default now(),',
      '  deleted_at timestamptz',
    );
    lines.push(...body, ');');
    lines.push(`comment on table ${T} is ${literal(table.comment)};`);
    lines.push(`comment on column ${T}.id is ${literal('Primary key, stable across syncs (the id map keeps which source row it is).')};`);
    lines.push(`comment on column ${T}.${ident(draft.sourceKeyColumn)} is ${literal(`${table.keyComment}, kept where users look for it (sync.entities.source_key_column); identity is the id map's.`)};`);
    for (const column of table.columns) lines.push(`comment on column ${T}.${ident(column.name)} is ${literal(column.comment)};`);
    lines.push(
      `comment on column ${T}.open_problem_count is ${literal('Open field problems of the row (sync.field_problems): what landed empty or was flagged.')};`,
      `comment on column ${T}.created_at is ${literal('When the row was created here.')};`,
      `comment on column ${T}.updated_at is ${literal('When the row last changed here.')};`,
      `comment on column ${T}.deleted_at is ${literal(`When the row disappeared from ${draft.goneFrom} (soft delete); null while present.`)};`,
    );
    for (const column of table.columns) {
      if (column.conversion === 'collaborator') {
        const name = (column as DraftColumn & { constraintName: string }).constraintName;
        lines.push(`comment on constraint ${ident(name)} on ${T} is ${literal(`Links ${column.name} to app.collaborators (the Airtable user); on delete set null (the user is gone, the row stays).`)};`);
      }
      if (!column.link) continue;
      const name = (column as DraftColumn & { constraintName: string }).constraintName;
      lines.push(`comment on constraint ${ident(name)} on ${T} is ${literal(`Links ${column.name} to ${s}.${column.link.table}; on delete ${column.link.onDelete} (${column.link.why}).`)};`);
    }
    for (const index of table.indexes) {
      lines.push(`create index ${ident(index.name)} on ${T} (${index.columns.map(ident).join(', ')});`);
      lines.push(`comment on index ${S}.${ident(index.name)} is ${literal(index.comment)};`);
    }
    lines.push(`create trigger _100_set_updated_at before update on ${T} for each row execute function app.tg__set_updated_at();`);
    lines.push(`comment on trigger _100_set_updated_at on ${T} is ${literal('Stamps updated_at when the row really changes (app.tg__set_updated_at).')};`);
  }

  if (tables.length > 0) {
    lines.push(
      '',
      '/*',
      ' * The catalogue: what each table takes, how, and where its source key lives.',
      ' * Ranks put every table after the tables it links to.',
      ' */',
      'insert into sync.entities (entity, target_table, merge_rank, attachment_owner_column, source_key_column) values',
      tables.map((t) => `  ('${t.entity}', '${s}.${t.name}', ${t.rank}, null, '${draft.sourceKeyColumn}')`).join(',\n') + ';',
    );
    // pushable is named only when a column is not (the two-way sync's: sources that push have computed fields)
    const withPushable = tables.some((t) => t.columns.some((c) => c.pushable === false));
    const columns = tables.flatMap((t) =>
      t.columns.map(
        (c) =>
          `  ('${t.entity}', '${c.name}', '${c.conversion}', false, null, null, ${c.link ? `'${draft.tables.find((x) => x.name === c.link!.table)!.entity}'` : 'null'}${withPushable ? `, ${c.pushable !== false}` : ''})`,
      ),
    );
    if (columns.length > 0) {
      lines.push(`insert into sync.entity_columns (entity, column_name, conversion, required, min_value, max_value, linked_entity${withPushable ? ', pushable' : ''}) values`, columns.join(',\n') + ';');
    }
    lines.push(
      '',
      '-- target checksums and the audit trail, as every target table has them',
      `select sync.attach_target_triggers(e.entity) from sync.entities e where e.entity in (${tables.map((t) => `'${t.entity}'`).join(', ')}) order by e.entity;`,
    );
  }
  lines.push(
    '',
    '-- least privilege, as for app: applications read and write, the sync and readers read',
    `grant usage on schema ${S} to airlift_app, airlift_readonly, airlift_sync;`,
    `grant select, insert, update, delete on all tables in schema ${S} to airlift_app;`,
    `grant select on all tables in schema ${S} to airlift_readonly, airlift_sync;`,
    '',
  );
  return lines.join('\n');
}

/** The draft's mapping: the source's head, and per table its entry with the fields in order. */
export function renderMapping(draft: Draft): string {
  const mapping = {
    ...draft.mappingHead,
    tables: ordered(draft).map((table) => ({
      ...table.mappingTable,
      fields: table.columns.map((column) => {
        const { column: _ignored, ...field } = column.field;
        // the source's name first, then the target column, then the rest
        const [first, ...rest] = Object.entries(field);
        return Object.fromEntries([first!, ['column', column.name], ...rest]);
      }),
    })),
  };
  return `${JSON.stringify(mapping, null, 2)}\n`;
}
