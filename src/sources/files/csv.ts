/**
 * CSV with a header row, through csv-parse's streaming parser (RFC 4180
 * quoting: cells with commas, quotes doubled, line breaks inside quotes;
 * LF or CRLF line ends; a UTF-8 BOM dropped; blank lines skipped).
 *
 * The file is read chunk by chunk and each chunk written to the parser by
 * hand; the parser hands every record (and every record it had to skip) to
 * callbacks, in file order, and the queue is emptied after each chunk, so
 * one chunk's records are all that is held.
 *
 * Line numbers are ours, not csv-parse's (its count of lines goes wrong on a
 * CRLF inside a quoted cell): the parser reports the byte offset at which
 * each record ends; we count the newlines before it, then step back over the
 * line breaks inside the record's own cells, which gives the line where the
 * record starts.
 *
 * The header must name every column once: a duplicate or empty column name,
 * or a key column missing from the header, stops the file with an error. A
 * row with the wrong number of cells, or that the parser could not read (a
 * quote inside an unquoted cell, a quote never closed), is a reject.
 */
import path from 'node:path';
import { parse, type CsvError } from 'csv-parse';
import { keyText } from './keys.ts';
import { utf8Chunks, type FileEncoding } from './text.ts';
import { FileReadError, type RawItem } from './types.ts';

type Parsed = { kind: 'record'; cells: string[]; end: number } | { kind: 'skip'; error: CsvError };

/** Counts newlines up to a byte offset, over chunks it keeps only until they are passed. */
class LineCounter {
  private chunks: { start: number; bytes: Buffer }[] = [];
  private offset = 0; // newlines are counted in [0, offset)
  private newlines = 0;
  private total = 0;

  add(bytes: Buffer) {
    this.chunks.push({ start: this.total, bytes });
    this.total += bytes.length;
  }

  /** Newlines in [0, target); target must not go back. */
  newlinesBefore(target: number): number {
    target = Math.min(target, this.total);
    while (this.offset < target) {
      const chunk = this.chunks[0];
      const chunkEnd = chunk.start + chunk.bytes.length;
      const until = Math.min(target, chunkEnd);
      let at = this.offset - chunk.start;
      const stop = until - chunk.start;
      while ((at = chunk.bytes.indexOf(10, at)) !== -1 && at < stop) {
        this.newlines++;
        at++;
      }
      this.offset = until;
      if (until === chunkEnd) this.chunks.shift();
    }
    return this.newlines;
  }

  /** The first offset at or after `from` that is not a line break character. */
  skipBlank(from: number): number {
    let at = Math.max(from, this.offset);
    for (const chunk of this.chunks) {
      const end = chunk.start + chunk.bytes.length;
      for (; at < end; at++) {
        const byte = chunk.bytes[at - chunk.start];
        if (byte !== 10 && byte !== 13) return at;
      }
    }
    return at;
  }

  /** The text from `from` to the end of its line (as far as read), without the line break. */
  lineText(from: number): string {
    const parts: Buffer[] = [];
    for (const chunk of this.chunks) {
      const end = chunk.start + chunk.bytes.length;
      if (from >= end) continue;
      const begin = Math.max(0, from - chunk.start);
      const found = chunk.bytes.indexOf(10, begin);
      parts.push(chunk.bytes.subarray(begin, found === -1 ? undefined : found));
      if (found !== -1) break;
    }
    return Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
  }

  /** The offset just past the next newline at or after `from`, or `from` when there is none yet. */
  afterNewline(from: number): number {
    let at = Math.max(from, this.offset);
    for (const chunk of this.chunks) {
      const end = chunk.start + chunk.bytes.length;
      if (at >= end) continue;
      const found = chunk.bytes.indexOf(10, at - chunk.start);
      if (found !== -1) return chunk.start + found + 1;
      at = end;
    }
    return from;
  }
}

function skipReason(error: CsvError): string {
  switch (error.code) {
    case 'INVALID_OPENING_QUOTE':
      return 'CSV row cannot be read: a quote inside a cell that does not start with one (quote the whole cell and double the inner quotes)';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'CSV row cannot be read: characters after the closing quote of a cell';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'CSV row cannot be read: a quoted cell is never closed before the end of the file';
    default:
      return `CSV row cannot be read: ${error.message.replace(/ at line \d+/, '')} (${error.code})`;
  }
}

function countNewlines(cells: string[]): number {
  let count = 0;
  for (const cell of cells) {
    let at = cell.indexOf('\n');
    while (at !== -1) {
      count++;
      at = cell.indexOf('\n', at + 1);
    }
  }
  return count;
}

export async function* readCsv(
  file: string,
  keyColumn: string,
  options: { signal?: AbortSignal; encoding?: FileEncoding; delimiter?: string } = {},
): AsyncGenerator<RawItem[]> {
  const { signal } = options;
  const name = path.basename(file);
  const queue: Parsed[] = [];
  let failure: Error | null = null;
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? ',',
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_record: (record: string[], context) => {
      queue.push({ kind: 'record', cells: record, end: context.bytes });
      return null;
    },
  });
  parser.on('skip', (error: CsvError) => queue.push({ kind: 'skip', error }));
  parser.on('error', (error: Error) => (failure ??= error));

  const lines = new LineCounter();
  let header: string[] | null = null;
  let keyIndex = -1;
  let previousEnd = 0; // byte offset where the last record ended
  let afterSkip = false;

  const drain = (): RawItem[] => {
    if (failure) throw new FileReadError(`${name}: CSV cannot be read: ${failure.message}`, file);
    const items: RawItem[] = [];
    for (const parsed of queue) {
      if (parsed.kind === 'skip') {
        const start = lines.skipBlank(afterSkip ? lines.afterNewline(previousEnd) : previousEnd);
        const line = lines.newlinesBefore(start) + 1;
        const reported = (parsed.error as CsvError & { bytes?: number }).bytes;
        previousEnd = Math.max(start, typeof reported === 'number' ? reported : start);
        afterSkip = true;
        if (header === null) throw new FileReadError(`${name} line ${line}: the CSV header row cannot be read: ${skipReason(parsed.error)}`, file, line);
        items.push({ reject: { key: null, position: `${name} line ${line}`, value: lines.lineText(start), reason: skipReason(parsed.error) } });
        continue;
      }
      const { cells, end } = parsed;
      const endLine = lines.newlinesBefore(Math.max(end - 1, 0)) + 1;
      const line = endLine - countNewlines(cells);
      previousEnd = end;
      afterSkip = false;
      const position = `${name} line ${line}`;
      if (header === null) {
        header = cells;
        const seen = new Map<string, number>();
        cells.forEach((column, index) => {
          if (column === '') throw new FileReadError(`${position}: the CSV header has an empty column name (column ${index + 1})`, file, line);
          const earlier = seen.get(column);
          if (earlier !== undefined) {
            throw new FileReadError(`${position}: the CSV header names column ${JSON.stringify(column)} twice (columns ${earlier + 1} and ${index + 1})`, file, line);
          }
          seen.set(column, index);
        });
        keyIndex = cells.indexOf(keyColumn);
        if (keyIndex === -1) {
          throw new FileReadError(`${position}: the key column ${JSON.stringify(keyColumn)} is not in the CSV header (${cells.map((c) => JSON.stringify(c)).join(', ')})`, file, line);
        }
        continue;
      }
      if (cells.length !== header.length) {
        const keyed = keyIndex < cells.length ? keyText(cells[keyIndex] === '' ? undefined : cells[keyIndex], keyColumn) : null;
        items.push({
          reject: {
            key: keyed?.key ?? null,
            position,
            value: cells,
            reason: `CSV row has ${cells.length} cell${cells.length === 1 ? '' : 's'}, the header has ${header.length}`,
          },
        });
        continue;
      }
      const fields: Record<string, unknown> = {};
      for (let i = 0; i < cells.length; i++) if (cells[i] !== '') fields[header[i]] = cells[i];
      items.push({ value: fields, position });
    }
    queue.length = 0;
    return items;
  };

  const chunks = utf8Chunks(file, { encoding: options.encoding, signal, highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of chunks) {
      lines.add(chunk);
      await new Promise<void>((resolve) => parser.write(chunk, () => resolve()));
      const items = drain();
      if (items.length) yield items;
    }
    await new Promise<void>((resolve) => {
      parser.once('error', () => resolve());
      parser.end(() => resolve());
    });
    const items = drain();
    if (items.length) yield items;
  } finally {
    await chunks.return(undefined);
    parser.destroy();
  }
}
