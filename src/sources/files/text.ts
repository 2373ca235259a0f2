/**
 * The bytes of an export as UTF-8, whatever the file is written in: every
 * reader (CSV, JSON Lines, JSON) takes its chunks from here.
 *
 * Exports are UTF-8 unless the mapping says otherwise ("encoding":
 * "latin1", "windows-1252" or "utf16le" on the table). UTF-8 is checked,
 * not assumed: decoding bytes that are not UTF-8 (a Latin-1 "é" is the
 * single byte 0xE9) silently turns them into U+FFFD, so "René" would land
 * as "Ren�" with nothing flagged. A byte sequence that is not UTF-8 stops
 * the read instead, naming the file, the line and the byte, and what to
 * set. The other encodings are decoded here and handed on as UTF-8, so
 * the readers see one encoding.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { FileReadError } from './types.ts';

export const FILE_ENCODINGS = ['utf8', 'latin1', 'windows-1252', 'utf16le'] as const;
export type FileEncoding = (typeof FILE_ENCODINGS)[number];

/** Bytes at the end of `bytes` that begin a UTF-8 sequence the chunk does not finish (0 to 3). */
function unfinishedTail(bytes: Buffer): number {
  // look back over at most three continuation bytes for the lead byte
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/** Offset of the first byte that does not belong to valid UTF-8 (called only once a chunk failed the check). */
function firstInvalidByte(bytes: Buffer): number {
  let at = 0;
  while (at < bytes.length) {
    const lead = bytes[at]!;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || at + length > bytes.length) return at;
    if (!isUtf8(bytes.subarray(at, at + length))) return at;
    at += length;
  }
  return bytes.length;
}

function countNewlines(bytes: Buffer, end = bytes.length): number {
  let count = 0;
  for (let at = bytes.indexOf(10); at !== -1 && at < end; at = bytes.indexOf(10, at + 1)) count++;
  return count;
}

export interface TextOptions {
  encoding?: FileEncoding;
  signal?: AbortSignal;
  highWaterMark?: number;
}

/** The file's content as UTF-8 bytes, chunk by chunk (never the whole file). */
export async function* utf8Chunks(file: string, options: TextOptions = {}): AsyncGenerator<Buffer> {
  const name = path.basename(file);
  const encoding = options.encoding ?? 'utf8';
  const stream = createReadStream(file, { highWaterMark: options.highWaterMark ?? 64 * 1024, signal: options.signal });
  try {
    if (encoding === 'utf8') {
      let carry: Buffer | null = null;
      let newlines = 0;
      let offset = 0; // bytes of the file before `data`
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
        const whole = data.subarray(0, data.length - unfinishedTail(data));
        if (!isUtf8(whole)) {
          const bad = firstInvalidByte(whole);
          const line = newlines + countNewlines(whole, bad) + 1;
          throw new FileReadError(
            `${name} line ${line}: not valid UTF-8 (byte 0x${whole[bad]!.toString(16).padStart(2, '0')} at byte ${offset + bad} of the file); ` +
              `if the export is written in another encoding, name it with "encoding" on the table (${FILE_ENCODINGS.filter((e) => e !== 'utf8').join(', ')})`,
            file,
            line,
          );
        }
        newlines += countNewlines(whole);
        offset += whole.length;
        carry = data.length > whole.length ? Buffer.from(data.subarray(whole.length)) : null;
        if (whole.length) yield whole;
      }
      if (carry) {
        throw new FileReadError(`${name} line ${newlines + 1}: not valid UTF-8: the file ends inside a character (byte ${offset} of the file)`, file, newlines + 1);
      }
      return;
    }
    if (encoding === 'latin1') {
      // ISO-8859-1: every byte is the code point of the same number
      for await (const chunk of stream as AsyncIterable<Buffer>) yield Buffer.from(chunk.toString('latin1'), 'utf8');
      return;
    }
    const decoder = new TextDecoder(encoding === 'utf16le' ? 'utf-16le' : 'windows-1252', { fatal: true });
    const decode = (chunk?: Buffer) => {
      try {
        return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
      } catch {
        throw new FileReadError(`${name}: not valid ${encoding}: the file does not decode as the mapping's "encoding" says`, file);
      }
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = decode(chunk);
      if (text) yield Buffer.from(text, 'utf8');
    }
    const rest = decode();
    if (rest) yield Buffer.from(rest, 'utf8');
  } finally {
    stream.destroy();
  }
}
