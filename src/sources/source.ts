/**
 * The source seam: what every source of records (Airtable, a directory of
 * JSON and CSV exports, and later SQLite and a legacy PostgreSQL) gives the
 * pipeline. The pipeline (src/pipeline/) knows no source: it locks the
 * source, opens or resumes a run, stages the pages a source lists (with the
 * checkpoint, one transaction per page), merges, sweeps and validates in SQL.
 * A source knows its own client, its own vocabulary (field ids, types,
 * conversions) and how to list a table so that a listing can resume.
 *
 * Not behind the seam yet: writing back (the push is Airtable's own, in
 * src/pipeline/push.ts) and reading records by key (the push's read before
 * it writes).
 */
import type { Logger } from '../log.ts';
import type { Mapping, TableMapping } from '../mapping.ts';

/** A record as a source read it: its key in the source, and its fields by the mapping's field ids. */
export interface SourceRecord {
  id: string;
  /** When the source created it, where the source knows (Airtable's createdTime). */
  createdTime?: string | null;
  fields: Record<string, unknown>;
  /** Where the source holds it, for messages (a file and line). */
  position?: string;
}

/** One page of a table's listing, staged by the pipeline in one transaction with the checkpoint. */
export interface ListedPage {
  records: SourceRecord[];
  /** Items the source returned that are not records (no key, not an object, not parsable): quarantined with the reason. */
  invalid: Array<{ item: unknown; reason: string; id?: string | null }>;
  /** Where the listing goes on (kept in the checkpoint); null after the last page. */
  cursor: string | null;
  /** The latest modification time on the page, for the next incremental run (sources without one give null). */
  highWaterMark: string | null;
  /** The source's own resume state, kept in the checkpoint's metadata with the page. */
  state: Record<string, unknown>;
  /** Records on this page may have been staged by this run already (a listing started again): the pipeline skips those it holds with the same content. */
  mayRepeat?: boolean;
}

/** What a source is told when it lists a table, and what it may ask of the pipeline. */
export interface ListingRequest {
  runId: string;
  table: TableMapping;
  /** The table's name in the source now (it may have been renamed), for messages. */
  fieldNames?: Map<string, string>;
  /** Incremental runs: list what changed since this time (already less the overlap); null lists everything. */
  since: string | null;
  /** The checkpoint's saved listing: the cursor and the source's state after the last page staged. */
  resume: { cursor: string | null; state: Record<string, unknown>; attempt: number };
  /** The state the source kept with the table's last completed listing (e.g. the checksum of a file), null if none. */
  previous: Record<string, unknown> | null;
  /** A full run lists every record; an incremental one may list only changes. */
  mode: 'full' | 'incremental';
  log: Logger;
  signal?: AbortSignal;
  /** The listing starts again from the beginning: what this run staged stays, and is not counted twice. */
  restart(): Promise<void>;
}

/** What a source says about the whole table before its pages: whether it is listed at all, and whether the listing is complete. */
export interface ListingPlan {
  /** Nothing changed since the previous run (e.g. the file's checksum is the same): no page is listed, nothing is swept. */
  unchanged: boolean;
  /** The listing holds every record of the table, so records not in it are gone (swept). */
  complete: boolean;
  /** How many records the listing is expected to hold, if known (progress). */
  expected?: number | null;
  /** The source's state to keep with the table's checkpoint (given back as `previous` next run). */
  state: Record<string, unknown>;
  /**
   * The listing is large and may be staged in bulk: the pipeline streams its
   * pages into staging with COPY, in chunks of many pages, each chunk one
   * transaction with the checkpoint (src/pipeline/bulk.ts). The pages and
   * their cursors are the same; only how they are staged changes.
   */
  bulk?: boolean;
}

/** What a source's metadata says about the mapping: errors stop the run, warnings are recorded with it. */
export interface SourceCheck {
  errors: string[];
  warnings: string[];
  /** Current names of tables and fields where the source renames them (Airtable), by table id. */
  currentNames: Map<string, { name: string; fields: Map<string, string> }>;
}

export interface Source {
  /** The mapping's source kind. */
  readonly kind: string;
  /** Identifies this source among others (an Airtable base id, a directory): the lock key and the runs' `source`. */
  readonly id: string;
  /** A regular expression every record key of the source matches (Airtable's record ids); null when any non-empty key will do. */
  readonly recordKeyPattern: string | null;
  /** The source guarantees one record per key in a listing (Airtable); otherwise the pipeline keeps the first and quarantines the others. */
  readonly uniqueKeys: boolean;
  /** Reads the source's metadata and checks the mapping against it (drift). Throws on a wrong token or an unreachable source. */
  check(mapping: Mapping): Promise<SourceCheck>;
  /** Decides, before listing, whether a table needs listing and whether its listing is complete. */
  plan(request: ListingRequest): Promise<ListingPlan>;
  /** Lists a table page by page from the request's resume point. */
  listTable(request: ListingRequest): AsyncGenerator<ListedPage>;
}
