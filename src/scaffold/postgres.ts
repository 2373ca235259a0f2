/**
 * `airlift scaffold --source postgres:ENVVAR`: a legacy PostgreSQL
 * database's catalog read into a draft (draft.ts). ENVVAR names an
 * environment variable holding the database's URL (the URL itself never
 * reaches the draft, the mapping or a message). Every table of the
 * database's own schemas (not pg_catalog, information_schema, pg_toast),
 * with its columns and their types, its primary key, its foreign keys and
 * its indexes (pg_catalog), and one query per table for what the types do
 * not say: the range of whole numbers (the merge's are -32,768 to 32,767)
 * and how many text values look like dates.
 *
 * The mapping is written in the shape
 * `{"source": {"kind": "postgres", "urlEnv": ENVVAR}, "tables": [{"entity",
 * "table": "schema.table", "key", "target", "fields": [{"from", "column",
 * "convert", "linkedEntity"}]}]}`. The postgres source kind is built
 * separately; this shape is to be aligned with its mapping vocabulary.
 */
import postgres from 'postgres';
import { ConfigurationError } from '../config.ts';
import type { Conversion } from '../sources/mapping-parts.ts';
import { entityNameFor, NameSet, rankTables, tableName, targetColumnName, type Draft, type DraftColumn, type DraftIndex, type DraftTable, type OnDelete } from './draft.ts';

interface TableRow {
  oid: number;
  schema: string;
  name: string;
  comment: string | null;
}

interface ColumnRow {
  table_oid: number;
  attnum: number;
  name: string;
  type: string;
  base: string;
  category: string;
  comment: string | null;
}

interface ConstraintRow {
  table_oid: number;
  kind: 'p' | 'f' | 'u';
  columns: number[];
  foreign_oid: number | null;
  foreign_columns: number[] | null;
  on_delete: string;
}

interface IndexRow {
  table_oid: number;
  name: string;
  columns: number[];
  is_unique: boolean;
  is_primary: boolean;
  partial_or_expression: boolean;
}

const SMALLINT = 32767;
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8']);

function onDeleteFor(code: string): { onDelete: OnDelete; why: string; review?: string } {
  switch (code) {
    case 'c':
      return { onDelete: 'cascade', why: 'the source: on delete cascade' };
    case 'n':
      return { onDelete: 'set null', why: 'the source: on delete set null' };
    case 'r':
      return { onDelete: 'restrict', why: 'the source: on delete restrict' };
    case 'd':
      return { onDelete: 'set null', why: 'the source: on delete set default, which has no uuid default here', review: 'on delete set default in the source: set null here (a uuid link has no default); decide' };
    default:
      return { onDelete: 'restrict', why: 'the source: on delete no action (the default): a linked row cannot be deleted while rows link to it' };
  }
}

interface ValueStats {
  [column: string]: { n: number; min: string | null; max: string | null; dates: number; datetimes: number; maxScale: number | null };
}

/** A column's conversion from its PostgreSQL type and, where the type does not say enough, its values. */
function decide(column: ColumnRow, s: ValueStats[string] | undefined): { conversion: Conversion; how: string; reviews: string[] } {
  const reviews: string[] = [];
  const t = column.base;
  if (t === 'bool') return { conversion: 'checkbox', how: 'a boolean; false when empty (a field problem says when it was not a boolean)', reviews };
  if (t === 'date') return { conversion: 'date', how: 'a date', reviews };
  if (t === 'timestamptz' || t === 'timestamp') {
    if (t === 'timestamp') reviews.push('timestamp without time zone in the source: read as UTC; say which zone it was written in if not');
    return { conversion: 'timestamp', how: `a date-time (${column.type} in the source)`, reviews };
  }
  if (INTEGER_TYPES.has(t)) {
    const lo = Number(s?.min ?? 0);
    const hi = Number(s?.max ?? 0);
    if (t === 'int2' || Math.max(Math.abs(lo), Math.abs(hi)) <= SMALLINT) {
      if (t !== 'int2') reviews.push(`${column.type} with values from ${lo} to ${hi}: the merge's whole numbers stop at 32,767, so a larger value later lands as a field problem; map it as text if the column grows`);
      return { conversion: 'integer', how: `a whole number (${column.type} in the source)`, reviews };
    }
    reviews.push(`${column.type} with values from ${s?.min} to ${s?.max}: beyond the merge's whole numbers (-32,768 to 32,767), so kept as the exact decimal text`);
    return { conversion: 'text', how: `a whole number (${column.type} in the source), as its decimal text`, reviews };
  }
  if (t === 'numeric' || t === 'float4' || t === 'float8' || t === 'money') {
    const scale = /numeric\(\d+,(\d+)\)/.exec(column.type)?.[1];
    const twoDecimals = scale !== undefined ? Number(scale) <= 2 : (s?.maxScale ?? 99) <= 2;
    const big = Math.max(Math.abs(Number(s?.min ?? 0)), Math.abs(Number(s?.max ?? 0))) >= 1e10;
    if (twoDecimals && !big) {
      if (scale === undefined) reviews.push(`${column.type} whose values have at most two decimals so far: read as money (numeric(12,2), to the cent); more decimals later would be rounded`);
      return { conversion: 'money', how: `a number to the cent (${column.type} in the source)`, reviews };
    }
    reviews.push(`${column.type}${big ? ' with values of 10^10 or more' : ' with more than two decimals'}: money (to the cent) would change them, so they are kept as text`);
    return { conversion: 'text', how: `a number (${column.type} in the source), as its text`, reviews };
  }
  if (column.category === 'E') return { conversion: 'select', how: `one of the enum ${column.type}'s values`, reviews };
  if (column.category === 'A' && (column.type === 'text[]' || column.type.startsWith('character varying') && column.type.endsWith('[]'))) {
    return { conversion: 'multi_select', how: `a list of text (${column.type} in the source)`, reviews };
  }
  if (column.category === 'S') {
    if (s && s.n > 0 && s.dates >= 0.9 * s.n) {
      reviews.push(`${column.type} holding ISO dates (${s.dates} of ${s.n}): kept as text here; make it a date (conversion date, column date) if every value is one`);
    } else if (s && s.n > 0 && s.datetimes >= 0.9 * s.n) {
      reviews.push(`${column.type} holding date-times (${s.datetimes} of ${s.n}): kept as text here; make it a timestamp if every value is one`);
    }
    return { conversion: 'text', how: `text (${column.type} in the source)`, reviews };
  }
  reviews.push(`${column.type} has no conversion of its own in the merge: drafted as its text form; decide the type`);
  return { conversion: 'text', how: `${column.type} in the source, as text`, reviews };
}

export interface PostgresScaffoldOptions {
  /** The environment variable holding the source's URL. */
  urlEnv: string;
  schema: string;
}

export async function scaffoldPostgres(options: PostgresScaffoldOptions): Promise<Draft> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.urlEnv)) throw new ConfigurationError(`--source postgres:${options.urlEnv}: name the environment variable that holds the database URL (postgres:LEGACY_DATABASE_URL)`);
  const url = process.env[options.urlEnv];
  if (!url) throw new ConfigurationError(`--source postgres:${options.urlEnv}: the environment variable ${options.urlEnv} is not set (it holds the source database's URL)`);
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10, connection: { application_name: 'airlift scaffold', default_transaction_read_only: true } });
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      throw new ConfigurationError(`the PostgreSQL source in ${options.urlEnv} cannot be read: ${(error as Error).message}`);
    }
    return await readCatalog(sql, options);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function readCatalog(sql: postgres.Sql, options: PostgresScaffoldOptions): Promise<Draft> {
  const tableRows = await sql<TableRow[]>`
    select c.oid::int as oid, n.nspname as schema, c.relname as name, obj_description(c.oid, 'pg_class') as comment
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
    order by n.nspname, c.relname`;
  const oids = tableRows.map((t) => t.oid);
  const columnRows = await sql<ColumnRow[]>`
    select a.attrelid::int as table_oid, a.attnum::int as attnum, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
           coalesce(e.typname, t.typname) as base, t.typcategory as category, col_description(a.attrelid, a.attnum) as comment
    from pg_attribute a join pg_type t on t.oid = a.atttypid left join pg_type e on t.typtype = 'd' and e.oid = t.typbasetype
    where a.attrelid = any(${oids}::oid[]) and a.attnum > 0 and not a.attisdropped
    order by a.attrelid, a.attnum`;
  const constraintRows = await sql<ConstraintRow[]>`
    select conrelid::int as table_oid, contype as kind, conkey::int[] as columns, nullif(confrelid, 0)::int as foreign_oid, confkey::int[] as foreign_columns, confdeltype as on_delete
    from pg_constraint where conrelid = any(${oids}::oid[]) and contype in ('p', 'f', 'u')`;
  const indexRows = await sql<IndexRow[]>`
    select i.indrelid::int as table_oid, c.relname as name, string_to_array(i.indkey::text, ' ')::int[] as columns, i.indisunique as is_unique, i.indisprimary as is_primary,
           (i.indexprs is not null or i.indpred is not null) as partial_or_expression
    from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = any(${oids}::oid[]) order by c.relname`;

  const single = tableRows.every((t) => t.schema === tableRows[0]!.schema);
  const label = (t: TableRow) => (single ? t.name : `${t.schema}.${t.name}`);
  const refused: Draft['refused'] = [];
  interface Facts { row: TableRow; columns: ColumnRow[]; key: ColumnRow; keyWhy: string; reviews: string[] }
  const facts: Facts[] = [];
  for (const row of tableRows) {
    const columns = columnRows.filter((c) => c.table_oid === row.oid);
    const pk = constraintRows.find((c) => c.table_oid === row.oid && c.kind === 'p');
    const reviews: string[] = [];
    let key: ColumnRow | undefined;
    let keyWhy = '';
    if (pk && pk.columns.length > 1) {
      refused.push({ sourceName: `${row.schema}.${row.name}`, why: `a composite primary key (${pk.columns.map((n) => columns.find((c) => c.attnum === n)!.name).join(', ')}): a source key is one column` });
      continue;
    }
    if (pk) {
      key = columns.find((c) => c.attnum === pk.columns[0]);
      keyWhy = `its primary key ${key!.name}`;
    } else {
      const unique = constraintRows.find((c) => c.table_oid === row.oid && c.kind === 'u' && c.columns.length === 1);
      if (unique) {
        key = columns.find((c) => c.attnum === unique.columns[0]);
        keyWhy = `its unique column ${key!.name} (no primary key)`;
        reviews.push(`no primary key: keyed by ${key!.name}, a unique column; check that it is never null and identifies a row for good`);
      }
    }
    if (!key) {
      refused.push({ sourceName: `${row.schema}.${row.name}`, why: 'no primary key and no single-column unique constraint: nothing identifies a row' });
      continue;
    }
    if (columns.length === 1) {
      refused.push({ sourceName: `${row.schema}.${row.name}`, why: `only its key column ${key.name}: a mapping needs a field to merge` });
      continue;
    }
    if (!['int2', 'int4', 'int8', 'text', 'varchar', 'bpchar', 'uuid'].includes(key.base)) {
      reviews.push(`the key ${key.name} is ${key.type}: keys are read as their text; check that its text form is stable`);
    }
    facts.push({ row, columns, key, keyWhy, reviews });
  }

  const tableNames = new NameSet();
  const entities = new NameSet();
  const nameOf = new Map<number, string>();
  const entityOf = new Map<number, string>();
  for (const f of facts) {
    const base = single ? f.row.name : `${f.row.schema}_${f.row.name}`;
    nameOf.set(f.row.oid, tableNames.take(tableName(base)));
    entityOf.set(f.row.oid, entities.take(entityNameFor(options.schema, nameOf.get(f.row.oid)!)).replace(/[0-9]/g, 'x'));
  }

  const tables: DraftTable[] = [];
  for (const f of facts) {
    const name = nameOf.get(f.row.oid)!;
    const fields = f.columns.filter((c) => c.attnum !== f.key.attnum);
    // one query per table: what the types do not say
    const probes = fields.flatMap((c, i) => {
      const col = `"${c.name.replaceAll('"', '""')}"`;
      if (INTEGER_TYPES.has(c.base) || ['numeric', 'float4', 'float8'].includes(c.base)) {
        return [`count(${col}) as "n${i}", min(${col})::text as "min${i}", max(${col})::text as "max${i}"${INTEGER_TYPES.has(c.base) ? '' : `, max(scale(${col}::numeric)) as "scale${i}"`}`];
      }
      if (c.category === 'S') {
        return [`count(${col}) as "n${i}", count(*) filter (where ${col}::text ~ '^\\d{4}-\\d{2}-\\d{2}$') as "dates${i}", count(*) filter (where ${col}::text ~ '^\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}') as "datetimes${i}"`];
      }
      return [];
    });
    const table = `"${f.row.schema.replaceAll('"', '""')}"."${f.row.name.replaceAll('"', '""')}"`;
    const [probe] = await sql.unsafe<Record<string, unknown>[]>(`select count(*) as rows${probes.length ? `, ${probes.join(', ')}` : ''} from ${table}`);
    const stats: ValueStats = {};
    fields.forEach((c, i) => {
      stats[c.name] = {
        n: Number(probe![`n${i}`] ?? 0), min: (probe![`min${i}`] as string | null) ?? null, max: (probe![`max${i}`] as string | null) ?? null,
        dates: Number(probe![`dates${i}`] ?? 0), datetimes: Number(probe![`datetimes${i}`] ?? 0),
        maxScale: probe![`scale${i}`] === undefined || probe![`scale${i}`] === null ? null : Number(probe![`scale${i}`]),
      };
    });

    const columnNames = new NameSet(['id', 'legacy_id', 'open_problem_count', 'created_at', 'updated_at', 'deleted_at']);
    const columns: DraftColumn[] = [];
    const reviews = [...f.reviews];
    for (const c of fields) {
      const { name: column, renamed } = targetColumnName(c.name, columnNames, 'legacy_id');
      const renamedNote = renamed ? ` (${renamed})` : '';
      const sourceRef = `${label(f.row)}.${c.name}`;
      const describedAs = c.comment ? ` The source says: ${c.comment}` : '';
      const fk = constraintRows.find((k) => k.table_oid === f.row.oid && k.kind === 'f' && k.columns.length === 1 && k.columns[0] === c.attnum);
      const linked = fk && facts.find((x) => x.row.oid === fk.foreign_oid);
      if (fk && linked && fk.foreign_columns?.[0] === linked.key.attnum) {
        const action = onDeleteFor(fk.on_delete);
        columns.push({
          name: column, sourceName: c.name, conversion: 'link', link: { table: nameOf.get(linked.row.oid)!, onDelete: action.onDelete, why: action.why },
          comment: `The ${nameOf.get(linked.row.oid)} row it links to (${sourceRef}, a foreign key)${renamedNote}.${describedAs}`,
          reviews: action.review ? [action.review] : [],
          field: { from: c.name, convert: 'link', linkedEntity: entityOf.get(linked.row.oid)! },
          plainField: { from: c.name, convert: 'text' },
        });
        continue;
      }
      const decision = decide(c, stats[c.name]);
      if (fk) decision.reviews.unshift(`a foreign key to ${linked ? `a column of ${label(linked.row)} that is not its key` : 'a table that is not drafted'}: kept as a plain value, not a link`);
      columns.push({
        name: column, sourceName: c.name, conversion: decision.conversion,
        comment: `From ${sourceRef}: ${decision.how}${renamedNote}.${describedAs}`, reviews: decision.reviews,
        field: { from: c.name, convert: decision.conversion },
      });
    }
    const indexNames = new NameSet();
    const indexes: DraftIndex[] = columns.filter((c) => c.link).map((c) => ({ name: indexNames.take(`${name}_${c.name}`), columns: [c.name], comment: `Foreign key ${c.name}: the rows linking to a ${c.link!.table} row.` }));
    const covered = new Set(indexes.map((i) => i.columns.join(',')));
    for (const index of indexRows.filter((i) => i.table_oid === f.row.oid && !i.is_primary)) {
      if (index.columns.length === 1 && index.columns[0] === f.key.attnum) continue;
      if (index.partial_or_expression) {
        reviews.push(`index ${index.name} is partial or indexes an expression: not drafted; write it by hand if queries need it`);
        continue;
      }
      const cols = index.columns.map((n) => columns.find((c) => c.sourceName === f.columns.find((x) => x.attnum === n)?.name)?.name);
      if (cols.some((c) => c === undefined)) continue;
      if (index.is_unique) reviews.push(`index ${index.name} over (${cols.join(', ')}) is unique in the source; drafted as a plain index, since a duplicate would stop the merge. Make it unique once the data is known to hold`);
      const keyText = cols.join(',');
      if (covered.has(keyText)) continue;
      covered.add(keyText);
      indexes.push({ name: indexNames.take(`${name}_${cols.join('_')}`.slice(0, 63)), columns: cols as string[], comment: `From the source's index ${index.name}${index.is_unique ? ', not unique here' : ''}.` });
    }
    tables.push({
      sourceName: `${f.row.schema}.${f.row.name}`, name, entity: entityOf.get(f.row.oid)!,
      comment: `Drafted from the PostgreSQL table ${f.row.schema}.${f.row.name} (keyed by ${f.keyWhy}).${f.row.comment ? ` The source says: ${f.row.comment}` : ' Say what it holds.'}`,
      key: f.key.name,
      keyComment: `The source row's key (${f.row.schema}.${f.row.name}.${f.key.name}, ${f.key.type}, as text)`,
      columns, indexes, reviews, rank: 1,
      mappingTable: { entity: entityOf.get(f.row.oid)!, table: `${f.row.schema}.${f.row.name}`, key: f.key.name, target: `${options.schema}.${name}` },
    });
  }
  rankTables(tables);
  return {
    schema: options.schema,
    sourceLabel: `the PostgreSQL database in ${options.urlEnv}`,
    sourceKeyColumn: 'legacy_id',
    goneFrom: 'the source database',
    tables,
    refused,
    mappingHead: {
      version: 1,
      description: `DRAFT written by airlift scaffold from the PostgreSQL database in ${options.urlEnv} to schema ${options.schema} (migration.sql next to it); review its REVIEW notes before use. The postgres source's mapping vocabulary may differ: align this file with it.`,
      source: { kind: 'postgres', urlEnv: options.urlEnv },
    },
  };
}
