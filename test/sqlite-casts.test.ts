/**
 * The SQLite source's cast rules, one by one: the values each accepts (as
 * SQLite holds them: bigint INTEGER, number REAL, string TEXT, Buffer BLOB)
 * and what it stages, the values it refuses with the reason, and what a
 * refused value is staged as, so that the merge's own conversion refuses it
 * too and the record lands with the problem on its field. Values are read
 * from a real SQLite database written here, so the storage classes are
 * SQLite's own (affinity applied on insert).
 */
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { castValue, refusedCell, stagedCell, type CastRule, type SqliteCast, type SqliteValue } from '../src/sources/sqlite/casts.ts';
import type { Conversion } from '../src/mapping.ts';

const rule = (cast: SqliteCast, convert?: Conversion, encoding?: 'base64' | 'hex'): CastRule => ({
  cast,
  convert: convert ?? ({ integer: 'integer', real: 'money', text: 'text', blob: 'text', date: 'date', timestamp: 'timestamp', epoch_seconds: 'timestamp', epoch_milliseconds: 'timestamp', boolean: 'checkbox', json: 'text', key: 'link' } as const)[cast],
  encoding,
});
const accepted = (value: SqliteValue, r: CastRule) => {
  const result = castValue(value, r);
  expect(result, `${String(value)} as ${r.cast}`).toMatchObject({ ok: true });
  return (result as { value: unknown }).value;
};
const refused = (value: SqliteValue, r: CastRule) => {
  const result = castValue(value, r);
  expect(result, `${String(value)} as ${r.cast}`).toMatchObject({ ok: false });
  return (result as { why: string }).why;
};

/** Values as SQLite stores them in a column of the given declared type (its affinity). */
function stored(declared: string, values: unknown[]): SqliteValue[] {
  const db = new Database(':memory:');
  try {
    db.exec(`create table t (v ${declared})`);
    const insert = db.prepare('insert into t (v) values (?)');
    for (const value of values) insert.run(value as never);
    return db.prepare('select v from t order by rowid').pluck().safeIntegers(true).all() as SqliteValue[];
  } finally {
    db.close();
  }
}

describe('SQLite casts', () => {
  it('NULL is empty under every cast', () => {
    for (const cast of ['integer', 'real', 'text', 'blob', 'date', 'timestamp', 'epoch_seconds', 'epoch_milliseconds', 'boolean', 'json', 'key'] as const) {
      expect(castValue(null, rule(cast))).toEqual({ ok: true, value: null });
    }
  });

  it('integer: INTEGER, a whole REAL, whole-number text; refuses fractions, other text, blobs; as text keeps every digit', () => {
    const [n, numericText, text, real] = stored('integer', [42, '17', 'abc', 2.5]);
    expect(n).toBe(42n);
    expect(numericText).toBe(17n); // INTEGER affinity converted it on insert
    expect(text).toBe('abc'); // ...and kept what it could not
    expect(accepted(n!, rule('integer'))).toBe(42);
    expect(accepted(3.0, rule('integer'))).toBe(3);
    expect(accepted(' -12 ', rule('integer'))).toBe(-12);
    expect(refused(text!, rule('integer'))).toBe('text "abc" is not a whole number');
    expect(refused(real!, rule('integer'))).toBe('2.5 is not a whole number');
    expect(refused(Buffer.from([1]), rule('integer'))).toBe('a BLOB is not a whole number');
    expect(accepted(9007199254740993n, rule('integer', 'text'))).toBe('9007199254740993');
    expect(refused(9007199254740993n, rule('integer'))).toMatch(/too large to be kept exactly/);
    expect(accepted(7n, rule('integer', 'money'))).toBe(7);
  });

  it('real: INTEGER, REAL and numeric text as numbers; refuses other text and blobs', () => {
    const [r, t] = stored('real', [12.5, '3.25']);
    expect(accepted(r!, rule('real'))).toBe(12.5);
    expect(accepted(t!, rule('real'))).toBe(3.25);
    expect(accepted(5n, rule('real'))).toBe(5);
    expect(accepted('1e3', rule('real'))).toBe(1000);
    expect(accepted(0.1, rule('real', 'text'))).toBe('0.1');
    expect(refused('12,50', rule('real'))).toBe('text "12,50" is not a number');
    expect(refused(Infinity, rule('real'))).toBe('Infinity is not a finite number');
  });

  it('text: TEXT, and numbers as their decimal text; refuses blobs', () => {
    expect(accepted('Ada', rule('text'))).toBe('Ada');
    expect(accepted(12n, rule('text'))).toBe('12');
    expect(accepted(1.5, rule('text', 'select'))).toBe('1.5');
    expect(refused(Buffer.from('hi'), rule('text'))).toBe('a BLOB of 2 bytes, not text');
  });

  it('blob: bytes as base64 or hex; refuses text and numbers', () => {
    const [bytes] = stored('blob', [Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
    expect(accepted(bytes!, rule('blob'))).toBe('3q2+7w==');
    expect(accepted(bytes!, rule('blob', 'text', 'hex'))).toBe('deadbeef');
    expect(refused('deadbeef', rule('blob'))).toBe('a TEXT, not a BLOB');
    expect(refused(3n, rule('blob'))).toBe('an INTEGER, not a BLOB');
  });

  it('date and timestamp: text (SQLite\'s "YYYY-MM-DD HH:MM:SS" as UTC); numbers refused', () => {
    expect(accepted('2024-03-15', rule('date'))).toBe('2024-03-15');
    // the merge checks the calendar: a text that is no date passes the cast and is flagged there
    expect(accepted('15/03/2024', rule('date'))).toBe('15/03/2024');
    expect(refused(20240315n, rule('date'))).toBe('an INTEGER, not a date written as text');
    expect(accepted('2024-03-15 10:20:30', rule('timestamp'))).toBe('2024-03-15T10:20:30Z');
    expect(accepted('2024-03-15 10:20:30.125', rule('timestamp'))).toBe('2024-03-15T10:20:30.125Z');
    expect(accepted('2024-03-15T10:20:30+02:00', rule('timestamp'))).toBe('2024-03-15T10:20:30+02:00');
    expect(refused(1710498030n, rule('timestamp'))).toMatch(/^an INTEGER, not a date-time written as text/);
  });

  it('epoch seconds and milliseconds: INTEGER, REAL or numeric text, to an ISO timestamp or date; refuses other text and absurd times', () => {
    expect(accepted(1710498030n, rule('epoch_seconds'))).toBe('2024-03-15T10:20:30.000Z');
    expect(accepted(1710498030.5, rule('epoch_seconds'))).toBe('2024-03-15T10:20:30.500Z');
    expect(accepted(1710498030125n, rule('epoch_milliseconds'))).toBe('2024-03-15T10:20:30.125Z');
    expect(accepted('1710498030125', rule('epoch_milliseconds'))).toBe('2024-03-15T10:20:30.125Z');
    expect(accepted(1710498030125n, rule('epoch_milliseconds', 'date'))).toBe('2024-03-15');
    expect(accepted(-86400n, rule('epoch_seconds'))).toBe('1969-12-31T00:00:00.000Z');
    expect(refused('yesterday', rule('epoch_milliseconds'))).toBe('text "yesterday" is not a number, not a time since 1970');
    expect(refused(10n ** 17n, rule('epoch_milliseconds'))).toBe('100000000000000000 is out of range for a time since 1970');
  });

  it('boolean: 0 and 1, "true"/"false" and "1"/"0" text; refuses 2 and other text', () => {
    const [zero, one, two] = stored('boolean', [0, 1, 2]);
    expect(accepted(zero!, rule('boolean'))).toBe(false);
    expect(accepted(one!, rule('boolean'))).toBe(true);
    expect(accepted(1.0, rule('boolean'))).toBe(true);
    expect(accepted('TRUE', rule('boolean'))).toBe(true);
    expect(accepted('false', rule('boolean'))).toBe(false);
    expect(accepted('0', rule('boolean'))).toBe(false);
    expect(refused(two!, rule('boolean'))).toBe('2 is neither 0 nor 1');
    expect(refused('yes', rule('boolean'))).toBe('text "yes" is neither true nor false');
  });

  it('json: text that parses, kept as written (multi_select: a list of strings); refuses text that does not parse', () => {
    expect(accepted('{"a": [1, 2]}', rule('json'))).toBe('{"a": [1, 2]}');
    expect(accepted('["x","y"]', rule('json', 'multi_select'))).toEqual(['x', 'y']);
    expect(refused('[1, 2]', rule('json', 'multi_select'))).toBe('JSON that is not a list of strings');
    expect(refused('{"a": ', rule('json'))).toMatch(/^not valid JSON: /);
    expect(refused(5n, rule('json'))).toBe('an INTEGER, not JSON text');
  });

  it('key: INTEGER or TEXT as a one-key link list; refuses blank text, REAL and blobs', () => {
    expect(accepted(17n, rule('key'))).toEqual(['17']);
    expect(accepted('ckx1abc', rule('key'))).toEqual(['ckx1abc']);
    expect(refused('  ', rule('key'))).toBe('a blank key');
    expect(refused(1.5, rule('key'))).toBe('a REAL, not a key');
  });

  it('a refused value is staged as it is where the merge refuses it too, else wrapped with the reason', () => {
    // the merge refuses these as they are: the problem names the value as SQLite holds it
    expect(stagedCell('abc', rule('integer'))).toBe('abc');
    expect(stagedCell(2n, rule('boolean'))).toBe(2);
    expect(stagedCell(1.5, rule('key'))).toBe(1.5);
    expect(stagedCell(20240315n, rule('date'))).toBe(20240315);
    expect(stagedCell(Buffer.from('hi'), rule('text'))).toEqual({ blob_base64: 'aGk=' });
    expect(stagedCell(2.5, rule('integer'))).toBe(2.5);
    // these would pass the merge's text, timestamp or money conversion: wrapped, so that they cannot
    expect(stagedCell('{"a": ', rule('json'))).toEqual({ refused: expect.stringMatching(/^not valid JSON/), value: '{"a": ' });
    expect(stagedCell('2024-03-15T10:00:00Z', rule('epoch_milliseconds'))).toEqual({
      refused: 'text "2024-03-15T10:00:00Z" is not a number, not a time since 1970',
      value: '2024-03-15T10:00:00Z',
    });
    expect(stagedCell('abc', rule('integer', 'text'))).toEqual({ refused: 'text "abc" is not a whole number', value: 'abc' });
    expect(refusedCell(9007199254740993n, 'too large', 'integer')).toBe('9007199254740993');
  });
});
