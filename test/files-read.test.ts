/**
 * The files source's streaming readers, on real files in a temporary
 * directory: every format (JSON array, JSON object keyed by id, JSON Lines,
 * CSV), nested key paths and "$key", recordsPath, every reject reason with
 * its position, the syntax error's message, BOM and CRLF, empty files,
 * batching, abort, the SHA-256, the generator, and memory that stays bounded
 * on a large generated file of each format.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSha256, readFileRecords, valueAtPath, type FileRecord, type FileReject, type FileTableSpec } from '../src/sources/files/read.ts';
import { generateOpportunitiesFile, generateOpportunitiesFileOfSize } from '../tools/generator/files.ts';
import { probeRead } from '../bench/files-read-run.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-read-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const full = path.join(dir, name);
  await writeFile(full, content);
  return full;
}

async function readAll(spec: FileTableSpec, options?: Parameters<typeof readFileRecords>[1]) {
  const records: FileRecord[] = [];
  const rejects: FileReject[] = [];
  let batches = 0;
  for await (const batch of readFileRecords(spec, options)) {
    batches++;
    records.push(...batch.records);
    rejects.push(...batch.rejects);
  }
  return { records, rejects, batches };
}

const BOM = '\ufeff';

describe('valueAtPath', () => {
  const record = { a: { b: 1, 'x.y': { z: 'dotted' }, 'back\\slash': 2 }, documents: [{ type: 'passport' }, { type: 'id' }], '0': 'zero' };

  it('follows dot paths, array indexes and escaped dots', () => {
    expect(valueAtPath(record, 'a.b')).toBe(1);
    expect(valueAtPath(record, 'documents.1.type')).toBe('id');
    expect(valueAtPath(record, 'a.x\\.y.z')).toBe('dotted');
    expect(valueAtPath(record, 'a.back\\\\slash')).toBe(2);
    expect(valueAtPath(record, '0')).toBe('zero');
    expect(valueAtPath(record, '')).toBe(record);
  });

  it('answers undefined for what is not there, and never from a prototype or an array length', () => {
    expect(valueAtPath(record, 'a.c')).toBeUndefined();
    expect(valueAtPath(record, 'a.b.c')).toBeUndefined();
    expect(valueAtPath(record, 'documents.2.type')).toBeUndefined();
    expect(valueAtPath(record, 'documents.length')).toBeUndefined();
    expect(valueAtPath(record, 'documents.01.type')).toBeUndefined();
    expect(valueAtPath(record, 'toString')).toBeUndefined();
    expect(valueAtPath(record, '__proto__')).toBeUndefined();
    expect(valueAtPath(null, 'a')).toBeUndefined();
  });

  it('rejects a backslash that escapes nothing', () => {
    expect(() => valueAtPath(record, 'a\\b')).toThrow('invalid path "a\\\\b": a backslash must be followed by "." or "\\" (at character 2)');
    expect(() => valueAtPath(record, 'a\\')).toThrow(/invalid path/);
  });
});

describe('JSON documents', () => {
  it('reads an array of records with a nested key; numbers become decimal strings; fields verbatim', async () => {
    const users = [
      { meta: { id: 'u1' }, name: 'Ada', tags: ['a'], score: 1.5, active: true, note: null },
      { meta: { id: 42 }, name: 'Grace' },
      { meta: { id: 2.5 }, name: 'Half' },
    ];
    const f = await file('users.json', JSON.stringify(users, null, 2));
    const { records, rejects } = await readAll({ file: f, key: 'meta.id' });
    expect(rejects).toEqual([]);
    expect(records).toEqual([
      { key: 'u1', fields: users[0], position: 'users.json record 1' },
      { key: '42', fields: users[1], position: 'users.json record 2' },
      { key: '2.5', fields: users[2], position: 'users.json record 3' },
    ]);
  });

  it('reads an object keyed by id with "$key", at a recordsPath', async () => {
    const doc = { exportedAt: '2025-01-01', data: { count: 2, users: { '0xabc': { name: 'Ada' }, '0xdef': { name: 'Grace', nested: { deep: [1, { x: 2 }] } } }, after: [1, 2] } };
    const f = await file('keyed.json', JSON.stringify(doc));
    const { records, rejects } = await readAll({ file: f, key: '$key', recordsPath: 'data.users' });
    expect(rejects).toEqual([]);
    expect(records).toEqual([
      { key: '0xabc', fields: { name: 'Ada' }, position: 'keyed.json record 1' },
      { key: '0xdef', fields: doc.data.users['0xdef'], position: 'keyed.json record 2' },
    ]);
  });

  it('reads an object keyed by id with a key field inside each record, and an array under a numeric recordsPath', async () => {
    const keyed = await file('by-field.json', JSON.stringify({ a: { id: 'x1', v: 1 }, b: { id: 'x2', v: 2 } }));
    expect((await readAll({ file: keyed, key: 'id' })).records.map((r) => r.key)).toEqual(['x1', 'x2']);
    const nested = await file('pages.json', JSON.stringify({ pages: [{ rows: [{ id: 'skip' }] }, { rows: [{ id: 'p2a' }, { id: 'p2b' }] }] }));
    const { records } = await readAll({ file: nested, key: 'id', recordsPath: 'pages.1.rows' });
    expect(records.map((r) => [r.key, r.position])).toEqual([
      ['p2a', 'pages.json record 1'],
      ['p2b', 'pages.json record 2'],
    ]);
  });

  it('reads a key field whose name holds a dot through the escape', async () => {
    const f = await file('dotted.json', JSON.stringify([{ 'user.id': 'd1' }]));
    expect((await readAll({ file: f, key: 'user\\.id' })).records.map((r) => r.key)).toEqual(['d1']);
  });

  it('rejects every record it cannot key, names position and reason, and reads on', async () => {
    const rows = [
      { id: 'ok1' },
      { name: 'no id' },
      { id: null },
      { id: '' },
      { id: '   ' },
      { id: true },
      { id: { nested: 1 } },
      { id: ['a'] },
      { id: 12345678901234567890 },
      5,
      'text',
      null,
      ['an', 'array'],
      { id: 'ok2' },
    ];
    const f = await file('messy.json', JSON.stringify(rows));
    const { records, rejects } = await readAll({ file: f, key: 'id' });
    expect(records.map((r) => [r.key, r.position])).toEqual([
      ['ok1', 'messy.json record 1'],
      ['ok2', 'messy.json record 14'],
    ]);
    expect(rejects.map((r) => [r.position, r.reason, r.key])).toEqual([
      ['messy.json record 2', 'missing key field "id"', null],
      ['messy.json record 3', 'key field "id" is null', null],
      ['messy.json record 4', 'key field "id" is empty', null],
      ['messy.json record 5', 'key field "id" is blank ("   ")', null],
      ['messy.json record 6', 'key field "id" is a boolean, not a string or number', null],
      ['messy.json record 7', 'key field "id" is an object, not a string or number', null],
      ['messy.json record 8', 'key field "id" is an array, not a string or number', null],
      ['messy.json record 9', 'key field "id" is the number 12345678901234567000, too large to be kept exactly (write it as a string in the export)', null],
      ['messy.json record 10', 'record is a number, not an object', null],
      ['messy.json record 11', 'record is a string, not an object', null],
      ['messy.json record 12', 'record is null, not an object', null],
      ['messy.json record 13', 'record is an array, not an object', null],
    ]);
    expect(rejects[0].value).toEqual({ name: 'no id' });
    expect(rejects[8].value).toBe(5);
    expect(rejects[11].value).toEqual(['an', 'array']);
  });

  it('rejects an empty property name under "$key", and a non-object value in a keyed document', async () => {
    const f = await file('keyed-messy.json', JSON.stringify({ '': { name: 'nameless' }, '0x1': 'not an object', '0x2': { name: 'ok' } }));
    const { records, rejects } = await readAll({ file: f, key: '$key' });
    expect(records.map((r) => r.key)).toEqual(['0x2']);
    expect(rejects).toEqual([
      { key: null, position: 'keyed-messy.json record 1', value: { name: 'nameless' }, reason: 'key field "$key" is empty' },
      { key: '0x1', position: 'keyed-messy.json record 2', value: 'not an object', reason: 'record is a string, not an object' },
    ]);
  });

  it('throws on a syntax error, naming file, line, column and what was wrong', async () => {
    const f = await file('broken.json', '[\n  {"id": "a"},\n  {"id": "b",}\n]\n');
    await expect(readAll({ file: f, key: 'id' })).rejects.toThrow("broken.json: invalid JSON at line 3, column 14 (character offset 30): unexpected token '}'");
    const truncated = await file('truncated.json', '[{"id": "a"}, {"id": "b"');
    await expect(readAll({ file: truncated, key: 'id' })).rejects.toThrow(/^truncated\.json: invalid JSON at line 1, column \d+ \(character offset \d+\): /);
    const trailing = await file('trailing.json', '[{"id": "a"}] x');
    await expect(readAll({ file: trailing, key: 'id' })).rejects.toThrow(/^trailing\.json: invalid JSON at line 1, column 15/);
  });

  it('gives the records read before a syntax error, then throws', async () => {
    // Large enough to be read in several chunks, so batches come out before the error is reached.
    const rows = Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ id: `r${i}`, pad: 'p'.repeat(20) })).join(',\n');
    const f = await file('late-error.json', `[\n${rows},\n{"id": oops}]`);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const batch of readFileRecords({ file: f, key: 'id' }, { batchSize: 10 })) seen.push(...batch.records.map((r) => r.key));
      })(),
    ).rejects.toThrow(/late-error\.json: invalid JSON at line 40002, column 8/);
    expect(seen.length).toBeGreaterThan(10_000);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => `r${i}`));
  });

  it('throws when recordsPath is missing or is not a container, and when "$key" meets an array', async () => {
    const f = await file('doc.json', JSON.stringify({ data: { users: [{ id: 1 }], title: 'x' } }));
    await expect(readAll({ file: f, key: 'id', recordsPath: 'data.people' })).rejects.toThrow('doc.json: recordsPath "data.people" is not in the document');
    await expect(readAll({ file: f, key: 'id', recordsPath: 'data.title' })).rejects.toThrow('doc.json: recordsPath "data.title" holds a string, not an array or an object of records');
    await expect(readAll({ file: f, key: '$key', recordsPath: 'data.users' })).rejects.toThrow('doc.json: the key "$key" needs an object keyed by id, but recordsPath "data.users" holds an array');
    const scalar = await file('scalar.json', '42');
    await expect(readAll({ file: scalar, key: 'id' })).rejects.toThrow('scalar.json: the document root holds a number, not an array or an object of records');
  });

  it('handles a BOM and CRLF line ends', async () => {
    const f = await file('bom.json', BOM + '[\r\n  {"id": "b1", "text": "line\\r\\nbreak"},\r\n  {"id": "b2"}\r\n]');
    const { records } = await readAll({ file: f, key: 'id' });
    expect(records.map((r) => r.fields)).toEqual([{ id: 'b1', text: 'line\r\nbreak' }, { id: 'b2' }]);
  });

  it('reads empty files, empty arrays and empty objects as zero records', async () => {
    for (const [name, content] of [
      ['empty.json', ''],
      ['blank.json', BOM + '  \r\n'],
      ['empty-array.json', '[]'],
      ['empty-object.json', '{}'],
    ]) {
      const f = await file(name, content);
      expect(await readAll({ file: f, key: name === 'empty-object.json' ? '$key' : 'id' })).toEqual({ records: [], rejects: [], batches: 0 });
    }
  });
});

describe('JSON Lines', () => {
  it('reads records, skips blank lines, rejects lines that do not parse, and reads on', async () => {
    const f = await file(
      'logs.jsonl',
      [
        '{"id": "l1", "details": {"a": [1, 2]}}',
        '',
        '   ',
        '{"id": "l2"',
        '{"id": 7}',
        'not json at all',
        '[1, 2]',
        '{"other": 1}',
        '{"id": "l3"}',
      ].join('\n'),
    );
    const { records, rejects } = await readAll({ file: f, key: 'id' });
    expect(records).toEqual([
      { key: 'l1', fields: { id: 'l1', details: { a: [1, 2] } }, position: 'logs.jsonl line 1' },
      { key: '7', fields: { id: 7 }, position: 'logs.jsonl line 5' },
      { key: 'l3', fields: { id: 'l3' }, position: 'logs.jsonl line 9' },
    ]);
    expect(rejects.map((r) => [r.position, r.value, r.reason.replace(/: .*/, '')])).toEqual([
      ['logs.jsonl line 4', '{"id": "l2"', 'line is not valid JSON'],
      ['logs.jsonl line 6', 'not json at all', 'line is not valid JSON'],
      ['logs.jsonl line 7', [1, 2], 'record is an array, not an object'],
      ['logs.jsonl line 8', { other: 1 }, 'missing key field "id"'],
    ]);
    expect(rejects[0].reason).toMatch(/^line is not valid JSON: .+/);
  });

  it('handles a BOM, CRLF, a trailing newline or none, and .ndjson', async () => {
    const crlf = await file('crlf.jsonl', BOM + '{"id": "c1"}\r\n\r\n{"id": "c2", "s": "a\\r\\nb"}\r\n');
    const { records } = await readAll({ file: crlf, key: 'id' });
    expect(records.map((r) => [r.key, r.position, r.fields])).toEqual([
      ['c1', 'crlf.jsonl line 1', { id: 'c1' }],
      ['c2', 'crlf.jsonl line 3', { id: 'c2', s: 'a\r\nb' }],
    ]);
    const bare = await file('bare.ndjson', '{"id": "n1"}\n{"id": "n2"}');
    expect((await readAll({ file: bare, key: 'id' })).records.map((r) => r.key)).toEqual(['n1', 'n2']);
  });

  it('reads an empty file as zero records', async () => {
    expect(await readAll({ file: await file('empty.jsonl', ''), key: 'id' })).toEqual({ records: [], rejects: [], batches: 0 });
    expect(await readAll({ file: await file('newlines.jsonl', '\n\r\n\n'), key: 'id' })).toEqual({ records: [], rejects: [], batches: 0 });
  });

  it('keeps line numbers right across read chunks', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ id: `k${i}`, pad: 'x'.repeat(i % 50) }));
    lines[12_345] = '{broken';
    const f = await file('many.jsonl', lines.join('\n') + '\n');
    const { records, rejects } = await readAll({ file: f, key: 'id' });
    expect(records).toHaveLength(19_999);
    expect(records[15_000]).toMatchObject({ key: 'k15001', position: 'many.jsonl line 15002' });
    expect(rejects.map((r) => r.position)).toEqual(['many.jsonl line 12346']);
  });
});

describe('CSV', () => {
  it('reads cells as text by header, drops empty cells, and handles quoted commas, quotes and line breaks', async () => {
    const f = await file(
      'opportunities.csv',
      'id,title,owner,amount,tags\n' +
        'o1,"Seed grant, phase 1",0xabc,100.50,a;b\n' +
        'o2,"He said ""go""",0xdef,,\n' +
        'o3,"two\nlines",0xabc,7,x\n' +
        'o4,plain,0xdef,8,y\n',
    );
    const { records, rejects } = await readAll({ file: f, key: 'id' });
    expect(rejects).toEqual([]);
    expect(records).toEqual([
      { key: 'o1', fields: { id: 'o1', title: 'Seed grant, phase 1', owner: '0xabc', amount: '100.50', tags: 'a;b' }, position: 'opportunities.csv line 2' },
      { key: 'o2', fields: { id: 'o2', title: 'He said "go"', owner: '0xdef' }, position: 'opportunities.csv line 3' },
      { key: 'o3', fields: { id: 'o3', title: 'two\nlines', owner: '0xabc', amount: '7', tags: 'x' }, position: 'opportunities.csv line 4' },
      { key: 'o4', fields: { id: 'o4', title: 'plain', owner: '0xdef', amount: '8', tags: 'y' }, position: 'opportunities.csv line 6' },
    ]);
  });

  it('handles a BOM, CRLF (also inside quoted cells), blank lines and no trailing newline, with the right line numbers', async () => {
    const f = await file('crlf.csv', BOM + 'id,note\r\n' + 'c1,"a\r\nb\r\nc"\r\n' + '\r\n' + 'c2,plain\r\n' + 'c3,last');
    const { records, rejects } = await readAll({ file: f, key: 'id' });
    expect(rejects).toEqual([]);
    expect(records).toEqual([
      { key: 'c1', fields: { id: 'c1', note: 'a\r\nb\r\nc' }, position: 'crlf.csv line 2' },
      { key: 'c2', fields: { id: 'c2', note: 'plain' }, position: 'crlf.csv line 6' },
      { key: 'c3', fields: { id: 'c3', note: 'last' }, position: 'crlf.csv line 7' },
    ]);
  });

  it('rejects rows with the wrong number of cells, rows the parser cannot read, and rows without a key, and reads on', async () => {
    const f = await file(
      'messy.csv',
      'id,name,amount\r\n' +
        'm1,Ada,1\r\n' +
        'm2,Bob\r\n' +
        'm3,Cy,3,extra\r\n' +
        'm4,D"e,4\r\n' +
        ',Nokey,5\r\n' +
        ' ,Blank,6\r\n' +
        'm7,"ok\r\nstill",7\r\n' +
        'm8,"never closed,8\r\n',
    );
    const { records, rejects } = await readAll({ file: f, key: 'id' });
    expect(records.map((r) => [r.key, r.position])).toEqual([
      ['m1', 'messy.csv line 2'],
      ['m7', 'messy.csv line 8'],
    ]);
    expect(rejects).toEqual([
      { key: 'm2', position: 'messy.csv line 3', value: ['m2', 'Bob'], reason: 'CSV row has 2 cells, the header has 3' },
      { key: 'm3', position: 'messy.csv line 4', value: ['m3', 'Cy', '3', 'extra'], reason: 'CSV row has 4 cells, the header has 3' },
      {
        key: null,
        position: 'messy.csv line 5',
        value: 'm4,D"e,4',
        reason: 'CSV row cannot be read: a quote inside a cell that does not start with one (quote the whole cell and double the inner quotes)',
      },
      { key: null, position: 'messy.csv line 6', value: { name: 'Nokey', amount: '5' }, reason: 'missing key field "id"' },
      { key: null, position: 'messy.csv line 7', value: { id: ' ', name: 'Blank', amount: '6' }, reason: 'key field "id" is blank (" ")' },
      { key: null, position: 'messy.csv line 10', value: 'm8,"never closed,8', reason: 'CSV row cannot be read: a quoted cell is never closed before the end of the file' },
    ]);
  });

  it('stops with a clear error on a duplicate or empty column name, or a key column not in the header', async () => {
    const dup = await file('dup.csv', 'id,name,email,name\n1,a,b,c\n');
    await expect(readAll({ file: dup, key: 'id' })).rejects.toThrow('dup.csv line 1: the CSV header names column "name" twice (columns 2 and 4)');
    const empty = await file('empty-col.csv', 'id,,email\n1,a,b\n');
    await expect(readAll({ file: empty, key: 'id' })).rejects.toThrow('empty-col.csv line 1: the CSV header has an empty column name (column 2)');
    const nokey = await file('nokey.csv', 'name,email\na,b\n');
    await expect(readAll({ file: nokey, key: 'id' })).rejects.toThrow('nokey.csv line 1: the key column "id" is not in the CSV header ("name", "email")');
  });

  it('reads an empty file, or a header alone, as zero records', async () => {
    expect(await readAll({ file: await file('empty.csv', ''), key: 'id' })).toEqual({ records: [], rejects: [], batches: 0 });
    expect(await readAll({ file: await file('header.csv', BOM + 'id,name\r\n'), key: 'id' })).toEqual({ records: [], rejects: [], batches: 0 });
  });

  it('keeps line numbers right across read chunks and multi-line cells', async () => {
    let text = 'id,note\n';
    let line = 2;
    const expected: [string, string][] = [];
    for (let i = 0; i < 30_000; i++) {
      const multi = i % 7 === 0;
      text += multi ? `r${i},"first\nsecond ${'y'.repeat(i % 40)}"\n` : `r${i},single ${'z'.repeat(i % 60)}\n`;
      expected.push([`r${i}`, `big.csv line ${line}`]);
      line += multi ? 2 : 1;
    }
    const f = await file('big.csv', text);
    const { records, rejects } = await readAll({ file: f, key: 'id' });
    expect(rejects).toEqual([]);
    expect(records.map((r) => [r.key, r.position])).toEqual(expected);
  });
});

describe('encodings and delimiters', () => {
  const latin1 = (text: string) => Buffer.from(text, 'latin1');

  it('stops on bytes that are not UTF-8, naming the file, line and byte, in every format, instead of landing U+FFFD', async () => {
    // "René" written in Latin-1: the single byte 0xE9
    const csv = await file('latin.csv', Buffer.concat([Buffer.from('id,name\nu1,Ann\nu2,Ren'), latin1('é'), Buffer.from('\n')]));
    await expect(readAll({ file: csv, key: 'id' })).rejects.toThrow(
      'latin.csv line 3: not valid UTF-8 (byte 0xe9 at byte 21 of the file); if the export is written in another encoding, name it with "encoding" on the table (latin1, windows-1252, utf16le)',
    );
    const jsonl = await file('latin.jsonl', Buffer.concat([Buffer.from('{"id":"a"}\n{"id":"b","n":"Ren'), latin1('é'), Buffer.from('"}\n')]));
    await expect(readAll({ file: jsonl, key: 'id' })).rejects.toThrow(/^latin\.jsonl line 2: not valid UTF-8 \(byte 0xe9 at byte 29 of the file\)/);
    const json = await file('latin.json', Buffer.concat([Buffer.from('[{"id":"a","n":"Ren'), latin1('é'), Buffer.from('"}]')]));
    await expect(readAll({ file: json, key: 'id' })).rejects.toThrow(/^latin\.json line 1: not valid UTF-8 \(byte 0xe9 at byte 19 of the file\)/);
    // a file cut inside a character
    const cut = await file('cut.jsonl', Buffer.concat([Buffer.from('{"id":"a"}\n'), Buffer.from('é', 'utf8').subarray(0, 1)]));
    await expect(readAll({ file: cut, key: 'id' })).rejects.toThrow('cut.jsonl line 2: not valid UTF-8: the file ends inside a character (byte 11 of the file)');
  });

  it('reads UTF-8 whose characters straddle the read chunks, and finds a bad byte far into a file', async () => {
    // the CSV reader reads 64 KiB chunks: the first byte of "é" is the file's
    // last byte of the first chunk (offset 65,535), its second the first of the next
    const head = 'id,name\n' + 'x'.repeat(65_535 - 8 - 3 - 5) + ',a\n';
    const f = await file('straddle.csv', head + 'y,Renée €\n');
    expect(Buffer.from(head + 'y,Ren').length).toBe(65_535);
    const { records } = await readAll({ file: f, key: 'id' });
    expect(records.at(-1)).toMatchObject({ key: 'y', fields: { id: 'y', name: 'Renée €' } });
    const far = await file('far.jsonl', Buffer.concat([Buffer.from('{"id":"a"}\n'.repeat(30_000)), Buffer.from('{"id":"b","n":"'), Buffer.from([0xff]), Buffer.from('"}\n')]));
    await expect(readAll({ file: far, key: 'id' })).rejects.toThrow(/^far\.jsonl line 30001: not valid UTF-8 \(byte 0xff at byte 330015 of the file\)/);
  });

  it('decodes Latin-1, Windows-1252 and UTF-16LE exports when the table names the encoding', async () => {
    const l1 = await file('l1.csv', Buffer.concat([Buffer.from('id,name\nu1,'), latin1('René Müller'), Buffer.from('\n')]));
    expect((await readAll({ file: l1, key: 'id', encoding: 'latin1' })).records[0]!.fields).toEqual({ id: 'u1', name: 'René Müller' });
    // Windows-1252: 0x93 and 0x94 are curly quotes, 0x80 the euro sign (control characters in Latin-1)
    const w = await file('w.jsonl', Buffer.concat([Buffer.from('{"id":"a","n":"'), Buffer.from([0x93, 0x48, 0x69, 0x94, 0x20, 0x80]), Buffer.from('"}\n')]));
    expect((await readAll({ file: w, key: 'id', encoding: 'windows-1252' })).records[0]!.fields).toEqual({ id: 'a', n: '\u201cHi\u201d \u20ac' });
    const u16 = await file('u16.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[{"id":"z","n":"Zoë"}]', 'utf16le')]));
    expect((await readAll({ file: u16, key: 'id', encoding: 'utf16le' })).records[0]!.fields).toEqual({ id: 'z', n: 'Zoë' });
    // UTF-16 read as UTF-8 is refused, not misread
    await expect(readAll({ file: u16, key: 'id' })).rejects.toThrow(/^u16\.json line 1: not valid UTF-8 \(byte 0xff at byte 0 of the file\)/);
  });

  it('reads CSV with semicolons, tabs (.tsv by default) and pipes, and refuses a delimiter on JSON', async () => {
    const semi = await file('semi.csv', 'id;name;amount\nu1;"Smith; John";1,50\n');
    expect((await readAll({ file: semi, key: 'id', delimiter: ';' })).records[0]!.fields).toEqual({ id: 'u1', name: 'Smith; John', amount: '1,50' });
    const tsv = await file('users.tsv', 'id\tname\nu1\tAnn, B.\n');
    expect((await readAll({ file: tsv, key: 'id' })).records[0]!.fields).toEqual({ id: 'u1', name: 'Ann, B.' });
    const pipes = await file('pipes.csv', 'id|name\nu1|Ann\n');
    expect((await readAll({ file: pipes, key: 'id', delimiter: '|' })).records[0]!.fields).toEqual({ id: 'u1', name: 'Ann' });
    // read with the wrong delimiter, the header has no key column: a clear stop
    await expect(readAll({ file: semi, key: 'id' })).rejects.toThrow('semi.csv line 1: the key column "id" is not in the CSV header ("id;name;amount")');
    const json = await file('d.json', '[]');
    await expect(readAll({ file: json, key: 'id', delimiter: ';' })).rejects.toThrow('d.json: delimiter applies to CSV only, not json');
  });
});

describe('the reader', () => {
  it('tells the format from the extension, or as told, and refuses what it cannot tell or apply', async () => {
    const txt = await file('users.txt', '{"id": "t1"}\n');
    await expect(readAll({ file: txt, key: 'id' })).rejects.toThrow('users.txt: cannot tell the format from the extension; name it (json, jsonl or csv)');
    expect((await readAll({ file: txt, key: 'id', format: 'jsonl' })).records.map((r) => r.key)).toEqual(['t1']);
    await expect(readAll({ file: txt, key: '$key', format: 'jsonl' })).rejects.toThrow('users.txt: the key "$key" (the property name) needs a JSON object keyed by id, not jsonl');
    await expect(readAll({ file: txt, key: 'id', format: 'jsonl', recordsPath: 'data' })).rejects.toThrow('users.txt: recordsPath applies to JSON documents only, not jsonl');
  });

  it('batches records and rejects together, batchSize at most', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => (i % 5 === 4 ? { nokey: i } : { id: `b${i}` }));
    const f = await file('batches.json', JSON.stringify(rows));
    const sizes: number[] = [];
    for await (const batch of readFileRecords({ file: f, key: 'id' }, { batchSize: 7 })) sizes.push(batch.records.length + batch.rejects.length);
    expect(sizes).toEqual([7, 7, 7, 4]);
    const { records, rejects } = await readAll({ file: f, key: 'id' }, { batchSize: 7 });
    expect(records).toHaveLength(20);
    expect(rejects).toHaveLength(5);
  });

  it('stops when its signal is aborted', async () => {
    const f = path.join(dir, 'abort.jsonl');
    await generateOpportunitiesFile({ rows: 20_000, out: f });
    const controller = new AbortController();
    let read = 0;
    await expect(
      (async () => {
        for await (const batch of readFileRecords({ file: f, key: 'id' }, { batchSize: 100, signal: controller.signal })) {
          read += batch.records.length;
          if (read >= 300) controller.abort();
        }
      })(),
    ).rejects.toThrow(/abort/i);
    expect(read).toBe(300);
  });

  it('hashes a file with SHA-256, streamed', async () => {
    const content = Buffer.from('id,name\n1,a\n'.repeat(100_000));
    const f = await file('hash.csv', content);
    expect(await fileSha256(f)).toBe(createHash('sha256').update(content).digest('hex'));
  });
});

describe('the opportunities generator', () => {
  it('is deterministic for a seed and reads back without a reject in every format', async () => {
    for (const format of ['csv', 'jsonl', 'json'] as const) {
      const a = await generateOpportunitiesFile({ rows: 3000, out: path.join(dir, `gen-a.${format}`), seed: 5 });
      const b = await generateOpportunitiesFile({ rows: 3000, out: path.join(dir, `gen-b.${format}`), seed: 5 });
      expect(await readFile(a.path)).toEqual(await readFile(b.path));
      const { records, rejects } = await readAll({ file: a.path, key: 'id' });
      expect(rejects).toEqual([]);
      expect(records).toHaveLength(3000);
      expect(records[2999].key).toBe('opp-00003000');
      expect(Object.keys(records[0].fields)).toEqual(expect.arrayContaining(['id', 'title', 'owner', 'amount', 'currency', 'status', 'opens_on', 'closes_on']));
      expect(records[0].fields.owner).toMatch(/^0x[0-9a-f]{40}$/);
      expect(records[0].fields.amount).toMatch(/^\d+\.\d{2}$/);
    }
    const other = await generateOpportunitiesFile({ rows: 3000, out: path.join(dir, 'gen-c.csv'), seed: 6 });
    expect(await readFile(other.path)).not.toEqual(await readFile(path.join(dir, 'gen-a.csv')));
  });
});

describe('the wallet app example', () => {
  const data = fileURLToPath(new URL('../examples/wallet-app/data', import.meta.url));
  const edited = fileURLToPath(new URL('../examples/wallet-app/data-edited', import.meta.url));
  const WALLET = /^0x[0-9a-fA-F]{40}$/;

  it('reads every export, rejecting only the broken JSON Lines line, and links up as the README says', async () => {
    const users = await readAll({ file: path.join(data, 'users.json'), key: '$key' });
    const opportunities = await readAll({ file: path.join(data, 'opportunities.csv'), key: 'id' });
    const logs = await readAll({ file: path.join(data, 'admin_logs.jsonl'), key: 'id' });
    const kyc = await readAll({ file: path.join(data, 'kyc_documents.json'), key: 'id', recordsPath: 'documents' });
    expect([users.records.length, opportunities.records.length, logs.records.length, kyc.records.length]).toEqual([40, 30, 28, 34]);
    expect([...users.rejects, ...opportunities.rejects, ...kyc.rejects]).toEqual([]);
    expect(logs.rejects).toHaveLength(1);
    expect(logs.rejects[0]).toMatchObject({ key: null, position: 'admin_logs.jsonl line 18' });
    expect(logs.rejects[0].reason).toMatch(/^line is not valid JSON: /);

    const wallets = new Set(users.records.map((r) => r.key.toLowerCase()));
    expect(users.records.every((r) => WALLET.test(r.key))).toBe(true);
    expect(users.records.filter((r) => r.key !== r.key.toLowerCase()).map((r) => r.fields.name)).toEqual(['Ravi Shankar']);
    expect(users.records.find((r) => String((r.fields.phone as { mobile: string }).mobile).includes(' '))?.fields.name).toBe('Noah Williams');
    const dangling = users.records.filter((r) => r.fields.referrer !== null && !wallets.has(String(r.fields.referrer)));
    expect(dangling.map((r) => r.fields.name)).toEqual(['Grace Mwangi']);
    expect(opportunities.records.filter((r) => !/^\d+\.\d{2}$/.test(String(r.fields.amount))).map((r) => [r.key, r.fields.amount, r.position])).toEqual([
      ['opp-1008', 'TBD', 'opportunities.csv line 9'],
    ]);
    expect(opportunities.records.find((r) => r.fields.closes_on === '2025-02-30')?.key).toBe('opp-1013');
    expect(opportunities.records.every((r) => wallets.has(String(r.fields.owner)))).toBe(true);
    expect(logs.records.every((r) => wallets.has(String(r.fields.admin)) && wallets.has(String(r.fields.target)))).toBe(true);
    expect(kyc.records.every((r) => wallets.has(String(r.fields.user)))).toBe(true);
    expect(kyc.records[0].fields.checks).toMatchObject({ provider: 'idv-sandbox' });
  });

  it('has an edited copy with one user changed, one opportunity deleted and one added', async () => {
    const byKey = async (dir: string, name: string, key: string) => new Map((await readAll({ file: path.join(dir, name), key })).records.map((r) => [r.key, JSON.stringify(r.fields)]));
    const [u0, u1] = [await byKey(data, 'users.json', '$key'), await byKey(edited, 'users.json', '$key')];
    expect([...u0.keys()]).toEqual([...u1.keys()]);
    expect([...u0.keys()].filter((k) => u0.get(k) !== u1.get(k))).toEqual(['0x5258365fb17281e9cc6344ecaca41ff826737010']);
    const [o0, o1] = [await byKey(data, 'opportunities.csv', 'id'), await byKey(edited, 'opportunities.csv', 'id')];
    expect([...o0.keys()].filter((k) => !o1.has(k))).toEqual(['opp-1006']);
    expect([...o1.keys()].filter((k) => !o0.has(k))).toEqual(['opp-1031']);
    expect([...o0.keys()].filter((k) => o1.has(k) && o0.get(k) !== o1.get(k))).toEqual([]);
  });
});

/**
 * Bounded memory: a generated file of FILES_TEST_MB (default 128 MB) per
 * format is read in a fresh child process (bench/files-read-probe.ts) that
 * samples its resident set on every batch, and its live heap (heapUsed right
 * after a forced full collection) every 50 batches. The live heap, what the
 * reader really holds, must grow by less than 16 MB; the resident set, which
 * also counts how far V8 lets the heap grow before collecting (50 to 80 MB
 * in a fresh process, whatever it reads), by less than 100 MB. Holding the
 * file would take several times its size. The 200 MB and 1 GB runs are
 * `npm run bench:files:read` (FILES_MB=1024).
 */
describe('memory', () => {
  const megabytes = Number(process.env.FILES_TEST_MB ?? '128');
  for (const format of ['csv', 'jsonl', 'json'] as const) {
    it(`stays bounded reading a ${megabytes} MB ${format} file`, async () => {
      const generated = await generateOpportunitiesFileOfSize({ out: path.join(dir, `memory.${format}`), bytes: megabytes * 1024 * 1024, seed: 3 });
      const probe = await probeRead(generated.path, 'id');
      await rm(generated.path);
      const rss = (probe.rssPeak - probe.rssBefore) / 1048576;
      const live = (probe.livePeak! - probe.liveBefore!) / 1048576;
      console.log(`memory: ${format} ${(generated.bytes / 1048576).toFixed(0)} MB, ${probe.records} records: rss growth ${rss.toFixed(1)} MB, live heap growth ${live.toFixed(1)} MB`);
      expect(probe.rejects).toBe(0);
      expect(probe.records).toBe(generated.rows);
      expect(live).toBeLessThan(16);
      expect(rss).toBeLessThan(100);
    });
  }
});
