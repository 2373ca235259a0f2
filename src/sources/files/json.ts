/**
 * A JSON document holding the records: an array of records, or an object
 * keyed by id, at the root or at `recordsPath` ("data.users"). Tokenized by
 * stream-json's parser; one record at a time is assembled (stream-json's
 * Assembler), so the document is never held whole. The tokens are consumed
 * by a function fused into the same stream-chain pipeline as the parser, so
 * only batches of records cross a stream boundary.
 *
 * Outside the records the parser's tokens only move a small path stack, to
 * find `recordsPath`; the rest of the document is still parsed to its end,
 * so a syntax error anywhere is found. A syntax error cannot be read past: the
 * file is then scanned again by stream-json's Verifier, which knows line,
 * column and offset, and the error thrown names all three. An empty (or
 * blank) file holds no records.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import path from 'node:path';
import chain from 'stream-chain';
import { none, flushable } from 'stream-chain/defs.js';
import { parser } from 'stream-json';
import Assembler from 'stream-json/assembler.js';
import { verifier } from 'stream-json/utils/verifier.js';
import type { Token } from 'stream-json/parser.js';
import { parsePath } from './path.ts';
import { utf8Chunks, type FileEncoding } from './text.ts';
import { FileReadError, type RawItem } from './types.ts';

const CHUNK = 512;

interface Frame {
  array: boolean;
  key: string | null; // object: the current property name
  index: number; // array: the current element's index
}

export interface JsonDocumentOptions {
  recordsPath?: string;
  /** Called once the records container is found: an array, or an object keyed by id. */
  onContainer?: (kind: 'array' | 'object') => void;
  signal?: AbortSignal;
  encoding?: FileEncoding;
}

export async function* readJsonDocument(file: string, options: JsonDocumentOptions = {}): AsyncGenerator<RawItem[]> {
  const name = path.basename(file);
  const target = parsePath(options.recordsPath ?? '');
  const where = options.recordsPath ? `recordsPath ${JSON.stringify(options.recordsPath)}` : 'the document root';

  // Navigation outside the records.
  const frames: Frame[] = [];
  let sawToken = false;
  let state: 'seeking' | 'records' | 'after' = 'seeking';
  // Inside the records container.
  let containerIsArray = false;
  let asm = new Assembler();
  let assembling = false;
  let propertyName: string | undefined;
  let ordinal = 0;
  let items: RawItem[] = [];

  const atTarget = (): boolean => {
    if (frames.length !== target.length) return false;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      if ((frame.array ? String(frame.index) : frame.key) !== target[i]) return false;
    }
    return true;
  };

  const flushItems = () => {
    if (items.length === 0) return none;
    const out = items;
    items = [];
    return out;
  };

  const consumeRecords = (token: Token): RawItem[] | typeof none => {
    if (!assembling) {
      if (token.name === 'endArray' || token.name === 'endObject') {
        state = 'after';
        return flushItems();
      }
      if (token.name === 'keyValue') {
        propertyName = token.value as string;
        return none;
      }
      assembling = true;
      ordinal++;
    }
    asm.consume(token);
    if (!asm.done) return none;
    assembling = false;
    const value = asm.current;
    asm = new Assembler();
    const position = `${name} record ${ordinal}`;
    items.push(containerIsArray ? { value, position } : { value, position, propertyName });
    return items.length >= CHUNK ? flushItems() : none;
  };

  const consume = (token: Token): RawItem[] | typeof none => {
    sawToken = true;
    if (state === 'records') return consumeRecords(token);
    const top = frames[frames.length - 1];
    switch (token.name) {
      case 'keyValue':
        top.key = token.value as string;
        return none;
      case 'endObject':
      case 'endArray':
        frames.pop();
        return none;
    }
    // A value starts here.
    if (top?.array) top.index++;
    if (state === 'seeking' && atTarget()) {
      if (token.name === 'startArray' || token.name === 'startObject') {
        state = 'records';
        containerIsArray = token.name === 'startArray';
        options.onContainer?.(containerIsArray ? 'array' : 'object');
        return none;
      }
      throw new FileReadError(`${name}: ${where} holds ${describeToken(token)}, not an array or an object of records`, file);
    }
    if (token.name === 'startArray') frames.push({ array: true, key: null, index: -1 });
    else if (token.name === 'startObject') frames.push({ array: false, key: null, index: -1 });
    return none;
  };

  const pipeline = chain([
    Readable.from(utf8Chunks(file, { encoding: options.encoding, signal: options.signal, highWaterMark: 256 * 1024 }), { objectMode: false }),
    parser({ streamValues: false }),
    flushable((token: Token) => consume(token), () => flushItems()),
  ], { readableHighWaterMark: 2 });

  try {
    for await (const batch of pipeline as AsyncIterable<RawItem[]>) yield batch;
  } catch (error) {
    if (error instanceof FileReadError || options.signal?.aborted) throw error;
    if (!sawToken && (await isBlank(file))) return; // an empty export: no records
    throw await syntaxError(file, error as Error, options.encoding);
  } finally {
    pipeline.destroy();
  }
  if (state === 'seeking' && sawToken) {
    throw new FileReadError(`${name}: ${where} is not in the document`, file);
  }
}

/** True when the file holds nothing but a BOM and whitespace. */
async function isBlank(file: string): Promise<boolean> {
  let first = true;
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    if (first && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    first = false;
    for (let i = start; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
    }
  }
  return true;
}

function describeToken(token: Token): string {
  switch (token.name) {
    case 'stringValue':
      return 'a string';
    case 'numberValue':
      return 'a number';
    case 'nullValue':
      return 'null';
    default:
      return 'a boolean';
  }
}

/** The parser's error, positioned by a second pass with the Verifier. */
async function syntaxError(file: string, error: Error, encoding?: FileEncoding): Promise<Error> {
  const name = path.basename(file);
  try {
    const check = chain([Readable.from(utf8Chunks(file, { encoding }), { objectMode: false }), verifier()]);
    for await (const _ of check as AsyncIterable<unknown>) void _;
  } catch (found) {
    const e = found as Error & { line?: number; pos?: number; offset?: number };
    if (typeof e.line === 'number') {
      const what = e.message.replace(/^ERROR at \d+ \(\d+, \d+\): /, '').replace(/^Verifier (cannot parse input: |has )/, '');
      return new FileReadError(
        `${name}: invalid JSON at line ${e.line}, column ${e.pos} (character offset ${e.offset}): ${what}`,
        file,
        e.line,
        e.pos,
        e.offset,
      );
    }
  }
  return new FileReadError(`${name}: invalid JSON: ${error.message}`, file);
}
