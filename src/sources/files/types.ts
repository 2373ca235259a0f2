/**
 * Shapes shared by the file readers (the public ones are re-exported by
 * read.ts) and the error a reader throws when a file cannot be read on.
 */

import type { FileEncoding } from './text.ts';

export type FileFormat = 'json' | 'jsonl' | 'csv';

export interface FileTableSpec {
  /** Absolute path of the export. */
  file: string;
  /** Default from the extension: .json, .jsonl/.ndjson, .csv. */
  format?: FileFormat;
  /**
   * Dot path of the key field in each record ("walletAddress", "meta.id";
   * see path.ts for indexes and escapes), or "$key": the property name, when
   * the JSON document is an object keyed by id. For CSV: a column name.
   */
  key: string;
  /** JSON only: dot path to the array or object holding the records; default the document root. */
  recordsPath?: string;
  /** What the file is written in (default UTF-8, checked): see text.ts. */
  encoding?: FileEncoding;
  /** CSV only: the character between cells (default ",", tab for .tsv). */
  delimiter?: string;
}

export interface FileRecord {
  key: string;
  /** The record verbatim (CSV: header -> cell text, an empty cell absent). */
  fields: Record<string, unknown>;
  /** "users.csv line 17", "users.json record 3". */
  position: string;
}

export interface FileReject {
  key: string | null;
  position: string;
  /** What the file held: the record, the CSV cells, or the JSON Lines text. */
  value: unknown;
  reason: string;
}

/** What a format reader hands on: a value still to be keyed, or a reject already. */
export type RawItem =
  | { value: unknown; position: string; propertyName?: string; reject?: undefined }
  | { reject: FileReject };

/**
 * A file that cannot be read on (syntax error in a JSON document, a bad CSV
 * header, a missing recordsPath). The message names the file and, where there
 * is one, the position.
 */
export class FileReadError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: number,
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'FileReadError';
  }
}
