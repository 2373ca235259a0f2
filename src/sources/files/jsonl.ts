/**
 * JSON Lines: one JSON value per line. Read chunk by chunk (one chunk and the
 * unfinished line are all that is held); "\n" ends a line and a "\r" before
 * it is dropped, so CRLF files read the same; a leading UTF-8 BOM is dropped;
 * blank lines are skipped; the last line needs no newline. A line that does
 * not parse is a reject carrying the line's text, and reading goes on.
 */
import path from 'node:path';
import { utf8Chunks, type FileEncoding } from './text.ts';
import type { RawItem } from './types.ts';

export async function* readJsonLines(file: string, options: { signal?: AbortSignal; encoding?: FileEncoding } = {}): AsyncGenerator<RawItem[]> {
  const name = path.basename(file);
  // whole characters in every chunk (text.ts), so each decodes on its own
  const chunks = utf8Chunks(file, { encoding: options.encoding, signal: options.signal, highWaterMark: 256 * 1024 });
  let pending = '';
  let lineNumber = 0;
  let first = true;

  const take = (line: string, items: RawItem[]) => {
    lineNumber++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (first) {
      first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    if (line.trim() === '') return;
    const position = `${name} line ${lineNumber}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      items.push({ reject: { key: null, position, value: line, reason: `line is not valid JSON: ${(error as Error).message}` } });
      return;
    }
    items.push({ value, position });
  };

  try {
    for await (const bytes of chunks) {
      const chunk = bytes.toString('utf8');
      const items: RawItem[] = [];
      let start = 0;
      let newline = chunk.indexOf('\n');
      if (newline !== -1) {
        take(pending + chunk.slice(0, newline), items);
        pending = '';
        start = newline + 1;
        while ((newline = chunk.indexOf('\n', start)) !== -1) {
          take(chunk.slice(start, newline), items);
          start = newline + 1;
        }
      }
      pending += chunk.slice(start);
      if (items.length) yield items;
    }
    if (pending !== '') {
      const items: RawItem[] = [];
      take(pending, items);
      if (items.length) yield items;
    }
  } finally {
    await chunks.return(undefined);
  }
}
