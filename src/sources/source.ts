/**
 * The source seam: what every source of records (Airtable, a directory of
 * JSON and CSV exports, a SQLite file, and later a legacy PostgreSQL) gives the
 * pipeline. The pipeline (src/pipeline/) knows no source: it locks the
 * source, opens or resumes a run, stages the pages a source lists (with the
 * checkpoint, one transaction per page), merges, sweeps and validates in SQL.
 * A source knows its own client, its own vocabulary (field ids, types,
 * conversions) and how to list a table so that a listing can resume.
 *
 * Writing back is an optional capability of the seam: a two-way source
 * (Airtable) has a `writer` (SourceWriter), which the push
 * (src/pipeline/push.ts) uses to read records by key, read what changed
 * since the mirror's version, create, update and delete, and to classify
 * its errors in the push's terms. A one-way source (a directory of exports)
 * has none: the push refuses it (requireWriter) and the worker schedules
 * only its pulls.
 */
import { ConfigurationError } from '../config.ts';
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
  /** The plan's key ranges (ListingPlan.completeWithin): the listing reads these ranges only. */
  completeWithin?: KeyRanges | null;
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
  /**
   * The listing is not the whole table but holds every record within these
   * ranges of integer keys (a legacy PostgreSQL's ranges whose checksums
   * changed): records of these ranges that it does not hold are gone and
   * are swept, records outside them are not touched. Given back to
   * listTable as `completeWithin`. Only with `complete` false.
   */
  completeWithin?: KeyRanges | null;
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

/**
 * Ranges of integer keys, each `width` keys wide: range n holds the keys k
 * with floor(k / width) = n. A source key is the integer's decimal text.
 */
export interface KeyRanges {
  width: number;
  /** The range numbers, ascending. */
  ranges: number[];
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
  /** Names the source in messages ("Airtable"). */
  readonly label: string;
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
  /** Writing back (two-way sync): absent for a one-way source. */
  readonly writer?: SourceWriter;
  /** Attachment files (a source whose cells list files at expiring URLs: Airtable); absent where records hold no files. */
  readonly files?: SourceFiles;
  /** Lets go of what the source holds open (a SQLite file, a connection); absent where there is nothing to close. */
  close?(): void | Promise<void>;
}

/** An attachment cell's item as the source describes it. */
export interface SourceAttachment {
  id: string;
  url: string;
  filename: string;
  size: number | null;
  type: string | null;
}

/**
 * The attachment side of the seam: fresh URLs for the downloads
 * (src/files/download.ts) and sending files attached here (the push of
 * sync.attachment_outbox).
 */
export interface SourceFiles {
  /** Files at once that the source's content host serves well (the downloader's bound). */
  readonly downloadConcurrency: number;
  /** Files up to this size are uploaded directly (`upload`); larger ones need a URL the source can fetch. */
  readonly maxUploadBytes: number;
  /** Reads the records of these attachments again; returns each attachment's current URL by its id (absent: gone). */
  freshUrls(items: Array<{ key: string; sourceTable: string; recordKey: string; fieldId: string }>): Promise<Map<string, string>>;
  /** Uploads a file into a record's attachment field; returns the cell after the upload. */
  upload(recordKey: string, fieldId: string, file: { filename: string; contentType: string; content: Buffer }): Promise<SourceAttachment[]>;
  /** The record's current cell of an attachment field (empty when the record has none); undefined when the record is gone. */
  readCell(sourceTable: string, recordKey: string, fieldId: string): Promise<SourceAttachment[] | undefined>;
  /** Writes a record's attachment cell: existing files by id, new ones by a URL the source fetches; returns the cell after. */
  writeCell(sourceTable: string, recordKey: string, fieldId: string, cell: Array<{ id: string } | { url: string; filename: string }>): Promise<SourceAttachment[]>;
}

/**
 * What went wrong with a read or write of the push, in the push's terms.
 * Each source maps its own errors (Airtable's error types and statuses) to
 * this; an error that is not the source's (a database error) is none of
 * refused, gone or stopsThePush.
 */
export interface WriteFailure {
  /**
   * The source refused the request for what it holds (a bad value, a
   * record that does not exist): a request of several records is sent
   * again record by record, and a single record refused is failed for good
   * with the message.
   */
  refused: boolean;
  /** The record the request names is not in the source (any more). */
  gone: boolean;
  /** Nothing else can succeed either (a wrong token, the table or base gone): the push stops, what it claimed goes back to the outbox. */
  stopsThePush: boolean;
  /** The message recorded with the entry. */
  message: string;
  /** The source's own code for the error (Airtable's error type), if it has one. */
  code: string | null;
  /** The source's answer, recorded with a failed entry (Airtable: its error type and HTTP status). */
  response?: unknown;
}

/** A record to write: its key for an update (none for a create), its fields by the mapping's field ids. */
export interface RecordToWrite {
  id?: string;
  fields: Record<string, unknown>;
}

/**
 * The write side of the seam: what the push needs of a two-way source.
 * Writes are sent a request at a time, of at most `maxRecordsPerWrite`
 * records; the source paces and retries its own requests.
 */
export interface SourceWriter {
  /** Requests sent to the source so far (reads and writes), for the push's counts. */
  readonly requests: number;
  /** The pace the source's requests go at (requests a second): the push keeps about four seconds of writes queued. */
  readonly requestsPerSecond: number;
  /** Records in one create, update or delete request at most. */
  readonly maxRecordsPerWrite: number;
  /** The source's current version of records of a table, by key (the push's read before it writes); records it no longer has are absent. */
  readByKeys(table: TableMapping, keys: string[]): Promise<SourceRecord[]>;
  /**
   * Of up to 250 records of a table, those modified since a given time
   * each (`since` null: always returned), by the table's last-modified
   * field (`lastModifiedField`, its name in the source). Records absent
   * were not modified since their time, or are gone. Undefined when the
   * source cannot tell (it refused the filter, or did not understand it as
   * meant): the caller reads the records by key instead.
   */
  readChangedSince(
    table: TableMapping,
    marks: Array<{ id: string; since: string | null }>,
    options: { lastModifiedField: string; log: Logger },
  ): Promise<SourceRecord[] | undefined>;
  /** Creates records (upserts them where the table has an upsert key); returns them as written, with their keys, in order. */
  create(table: TableMapping, records: RecordToWrite[]): Promise<SourceRecord[]>;
  /** Updates the fields sent of records by key; returns them as written, in order. */
  update(table: TableMapping, records: Array<Required<RecordToWrite>>): Promise<SourceRecord[]>;
  /** Deletes records by key; returns the keys deleted. */
  delete(table: TableMapping, keys: string[]): Promise<string[]>;
  /** A create of this table may be sent again after its answer was lost (an upsert): it cannot make a second record. */
  createIsRepeatable(table: TableMapping): boolean;
  /** An error of a read or write in the push's terms. */
  classify(error: unknown): WriteFailure;
}

/** The source's writer, or a ConfigurationError (exit 2) for a one-way source: it is not pushed to. */
export function requireWriter(source: Source, mapping: Pick<Mapping, 'file'>): SourceWriter {
  if (!source.writer) {
    throw new ConfigurationError(`the mapping ${mapping.file} reads ${source.kind}, a one-way source: only an Airtable base is pushed to`);
  }
  return source.writer;
}
