/**
 * Streaming readers for the "files" source: a directory of exports from a
 * JSON-file application (JSON arrays, JSON objects keyed by id, JSON Lines,
 * CSV with a header row). Each reader holds one chunk of the file and one
 * batch of records at a time, whatever the file's size.
 *
 * Nothing is dropped: every record read comes out as a FileRecord or as a
 * FileReject naming file, line or record, and the reason (no key, empty key,
 * a key that is neither string nor number, a record that is not an object, a
 * JSON Lines line that does not parse, a CSV row with the wrong number of
 * cells or that cannot be parsed). What cannot be read past (a JSON document
 * with a syntax error, a CSV header naming a column twice) throws a
 * FileReadError whose message names the file and the position. Duplicate keys
 * are left to the database.
 *
 * The format readers (json.ts, jsonl.ts, csv.ts) hand on raw values; keys.ts
 * keys them; this module batches.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { readCsv } from './csv.ts';
import { readJsonDocument } from './json.ts';
import { readJsonLines } from './jsonl.ts';
import { Keyer, PROPERTY_KEY } from './keys.ts';
import { FileReadError, type FileFormat, type FileRecord, type FileReject, type FileTableSpec, type RawItem } from './types.ts';

export { valueAtPath } from './path.ts';
export { FileReadError } from './types.ts';
export type { FileFormat, FileRecord, FileReject, FileTableSpec } from './types.ts';

const EXTENSIONS: Record<string, FileFormat> = { '.json': 'json', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.csv': 'csv', '.tsv': 'csv' };

/** The spec's format, or the one its extension names. */
export function fileFormat(spec: Pick<FileTableSpec, 'file' | 'format'>): FileFormat {
  if (spec.format) return spec.format;
  const format = EXTENSIONS[path.extname(spec.file).toLowerCase()];
  if (!format) {
    throw new FileReadError(`${path.basename(spec.file)}: cannot tell the format from the extension; name it (json, jsonl or csv)`, spec.file);
  }
  return format;
}

export interface ReadOptions {
  /** Records and rejects per batch (default 1000). */
  batchSize?: number;
  signal?: AbortSignal;
}

export async function* readFileRecords(spec: FileTableSpec, options: ReadOptions = {}): AsyncGenerator<{ records: FileRecord[]; rejects: FileReject[] }> {
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const signal = options.signal;
  const format = fileFormat(spec);
  const name = path.basename(spec.file);
  const keyer = new Keyer(spec.key);
  if (spec.recordsPath !== undefined && format !== 'json') {
    throw new FileReadError(`${name}: recordsPath applies to JSON documents only, not ${format}`, spec.file);
  }
  if (spec.delimiter !== undefined && format !== 'csv') {
    throw new FileReadError(`${name}: delimiter applies to CSV only, not ${format}`, spec.file);
  }
  // a .tsv export is CSV with tabs unless the mapping names the delimiter
  const delimiter = spec.delimiter ?? (path.extname(spec.file).toLowerCase() === '.tsv' ? '\t' : ',');
  if (keyer.byProperty && format !== 'json') {
    throw new FileReadError(`${name}: the key "${PROPERTY_KEY}" (the property name) needs a JSON object keyed by id, not ${format}`, spec.file);
  }

  let source: AsyncGenerator<RawItem[]>;
  if (format === 'csv') source = readCsv(spec.file, spec.key, { signal, encoding: spec.encoding, delimiter });
  else if (format === 'jsonl') source = readJsonLines(spec.file, { signal, encoding: spec.encoding });
  else {
    source = readJsonDocument(spec.file, {
      recordsPath: spec.recordsPath,
      signal,
      encoding: spec.encoding,
      onContainer: (kind) => {
        if (kind === 'array' && keyer.byProperty) {
          const where = spec.recordsPath ? `recordsPath ${JSON.stringify(spec.recordsPath)}` : 'the document root';
          throw new FileReadError(`${name}: the key "${PROPERTY_KEY}" needs an object keyed by id, but ${where} holds an array`, spec.file);
        }
      },
    });
  }

  let records: FileRecord[] = [];
  let rejects: FileReject[] = [];
  try {
    for await (const items of source) {
      signal?.throwIfAborted();
      for (const item of items) {
        if (item.reject) rejects.push(item.reject);
        else {
          const result = keyer.toRecord(item.value, item.position, item.propertyName);
          if ('record' in result) records.push(result.record);
          else rejects.push(result.reject);
        }
        if (records.length + rejects.length >= batchSize) {
          const batch = { records, rejects };
          records = [];
          rejects = [];
          yield batch;
          signal?.throwIfAborted();
        }
      }
    }
    signal?.throwIfAborted();
  } finally {
    await source.return(undefined);
  }
  if (records.length || rejects.length) yield { records, rejects };
}

/** SHA-256 of a file's bytes, hex, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
