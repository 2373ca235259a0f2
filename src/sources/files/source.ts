/**
 * A directory of exports behind the source seam. Each mapped table is one
 * file, read as a stream (never whole), in pages of records keyed by the
 * table's key field. A file is listed whole, so its listing is complete
 * (records gone from it are swept); an incremental run skips a file whose
 * SHA-256 is the one the last completed run read.
 *
 * What is staged for a record: the record as the file holds it, plus, for
 * each mapped path, the value at that path typed as the mapping says (a CSV
 * cell "12.50" mapped as money is staged as 12.5, "yes" as a checkbox true,
 * "a;b" split into a list, a scalar link into a list of one key). A value
 * that does not read as its type is staged as it is, and the merge flags it
 * on its field.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FieldMapping, Mapping, TableMapping } from '../../mapping.ts';
import type { ListedPage, ListingPlan, ListingRequest, Source, SourceCheck, SourceRecord } from '../source.ts';
import { fileSha256, readFileRecords, valueAtPath, type FileTableSpec } from './read.ts';

/** Records per staged page: big enough that a page's round trip is cheap, small enough to keep memory flat. */
const PAGE_RECORDS = 2_000;

/** Exports at least this large are staged in bulk, with COPY (ListingPlan.bulk). */
export const BULK_MIN_BYTES = 8 * 1024 * 1024;

export interface FilesSourceOptions {
  /** Exports of at least this many bytes are staged with COPY (default BULK_MIN_BYTES; 0 always, Infinity never). */
  bulkMinBytes?: number;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'yes', 'y', '1', 'on', 'x']);
const FALSE = new Set(['false', 'no', 'n', '0', 'off', '']);

/** A value typed as its field's conversion expects it, where it reads as that type; otherwise as it is. */
export function typedValue(value: unknown, field: Pick<FieldMapping, 'convert' | 'split' | 'keyCase'>): unknown {
  if (value === undefined || value === null) return value;
  switch (field.convert) {
    case 'text':
    case 'select':
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
    case 'money':
    case 'integer':
      return typeof value === 'string' && NUMBER.test(value.trim()) ? Number(value.trim()) : value;
    case 'checkbox':
      if (typeof value === 'string' && TRUE.has(value.trim().toLowerCase())) return true;
      if (typeof value === 'string' && FALSE.has(value.trim().toLowerCase())) return false;
      return value;
    case 'multi_select':
      if (typeof value === 'string' && field.split) return value.split(field.split).map((v) => v.trim()).filter(Boolean);
      return value;
    case 'link': {
      const key = (v: unknown) => (typeof v === 'number' ? String(v) : typeof v === 'string' && field.keyCase === 'lower' ? v.toLowerCase() : v);
      if (typeof value === 'string') return value.trim() === '' ? [] : [key(value)];
      if (typeof value === 'number') return [String(value)];
      if (Array.isArray(value)) return value.map(key);
      return value;
    }
    default:
      return value;
  }
}

/** The staged form of a record: the record, with each mapped path's typed value under the path. */
export function stagedFields(record: Record<string, unknown>, fields: FieldMapping[]): Record<string, unknown> {
  const staged: Record<string, unknown> = { ...record };
  for (const field of fields) {
    const value = typedValue(valueAtPath(record, field.fieldId), field);
    if (value === undefined) delete staged[field.fieldId];
    else staged[field.fieldId] = value;
  }
  return staged;
}

/** The state a files listing keeps with each page: which file content it reads, and how far. */
interface FilesListingState {
  file_sha256?: string;
}

/** One-way: no writer, so the push refuses it and the worker schedules only its pulls. */
export class FilesSource implements Source {
  readonly kind = 'files';
  readonly label = 'the files source';
  readonly id: string;
  readonly recordKeyPattern = null;
  /** An export may hold two records with one key: the pipeline keeps the first. */
  readonly uniqueKeys = false;

  private readonly bulkMinBytes: number;

  constructor(readonly directory: string, options: FilesSourceOptions = {}) {
    this.id = `files:${path.resolve(directory)}`;
    this.bulkMinBytes = options.bulkMinBytes ?? BULK_MIN_BYTES;
  }

  private spec(table: TableMapping): FileTableSpec {
    if (!table.file) throw new Error(`table ${table.entity} has no file in the mapping`);
    return {
      file: path.join(this.directory, table.file.name),
      format: table.file.format,
      key: table.file.key,
      recordsPath: table.file.recordsPath,
      encoding: table.file.encoding,
      delimiter: table.file.delimiter,
    };
  }

  async check(mapping: Mapping): Promise<SourceCheck> {
    const errors: string[] = [];
    try {
      if (!(await stat(this.directory)).isDirectory()) errors.push(`the source path ${this.directory} is not a directory`);
    } catch (error) {
      errors.push(`the source directory ${this.directory} cannot be read: ${(error as Error).message}`);
    }
    if (!errors.length) {
      for (const table of mapping.tables) {
        const file = this.spec(table).file;
        try {
          if (!(await stat(file)).isFile()) errors.push(`${file} (table ${table.entity}) is not a file`);
        } catch (error) {
          errors.push(`the export ${file} (table ${table.entity}) cannot be read: ${(error as Error).message}`);
        }
      }
    }
    return { errors, warnings: [], currentNames: new Map() };
  }

  async plan(request: ListingRequest): Promise<ListingPlan> {
    const file = this.spec(request.table).file;
    const [sha, info] = await Promise.all([fileSha256(file), stat(file)]);
    const unchanged = request.mode === 'incremental' && request.previous?.file_sha256 === sha;
    return { unchanged, complete: true, state: { file_sha256: sha, file_bytes: info.size }, bulk: info.size >= this.bulkMinBytes };
  }

  /**
   * Streams the file in pages. The cursor is the number of records (and
   * rejects) read so far: a resumed listing of the same content skips them;
   * a file that changed since is listed again from the start.
   */
  async *listTable(request: ListingRequest): AsyncGenerator<ListedPage> {
    const { table } = request;
    const spec = this.spec(table);
    const sha = await fileSha256(spec.file);
    const resumed = request.resume.state as FilesListingState;
    let skip = request.resume.cursor ? Number(request.resume.cursor) : 0;
    if (skip && resumed.file_sha256 !== sha) {
      request.log.warn({ runId: request.runId, entity: table.entity, file: spec.file }, 'the export changed since the listing was interrupted; listing it again from the start');
      await request.restart();
      skip = 0;
    }
    const state: FilesListingState = { file_sha256: sha };
    let read = 0;
    let records: SourceRecord[] = [];
    let invalid: ListedPage['invalid'] = [];
    const page = (last: boolean): ListedPage => ({
      records,
      invalid,
      cursor: last ? null : String(read),
      highWaterMark: null,
      state: state as Record<string, unknown>,
      mayRepeat: request.resume.attempt > 1,
    });
    // an item counts towards the cursor whether it is read now or skipped (read before the stop)
    const fresh = () => read++ >= skip;
    for await (const batch of readFileRecords(spec, { batchSize: PAGE_RECORDS, signal: request.signal })) {
      for (const record of batch.records) {
        if (!fresh()) continue;
        const id = table.file?.keyCase === 'lower' ? record.key.toLowerCase() : record.key;
        records.push({ id, createdTime: null, fields: stagedFields(record.fields, table.fields), position: record.position });
      }
      for (const reject of batch.rejects) {
        if (!fresh()) continue;
        invalid.push({ id: reject.key ?? `(${reject.position})`, item: reject.value ?? null, reason: `${reject.position}: ${reject.reason}` });
      }
      if (records.length + invalid.length >= PAGE_RECORDS) {
        yield page(false);
        records = [];
        invalid = [];
      }
    }
    yield page(true);
  }
}
