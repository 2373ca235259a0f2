/** The filterByFormula subset used by the emulator. */
import { describe, expect, it } from 'vitest';
import { compileFormula, FormulaEvalError, FormulaSyntaxError, parseDate, type FormulaFieldSchema } from '../tools/emulator/formula.ts';

const fields: FormulaFieldSchema[] = [
  { id: 'fldNAME0000000001', name: 'Name', type: 'singleLineText' },
  { id: 'fldNUM00000000001', name: 'Fee', type: 'currency' },
  { id: 'fldLM000000000001', name: 'Last Modified', type: 'lastModifiedTime' },
  { id: 'fldDATE0000000001', name: 'Due', type: 'date' },
  { id: 'fldTAGS0000000001', name: 'Tags', type: 'multipleSelects' },
  { id: 'fldOK000000000001', name: 'Done', type: 'checkbox' },
  { id: 'fldLINK0000000001', name: 'Product', type: 'multipleRecordLinks', options: { linkedTableId: 'tblX' } },
  { id: 'fldFORM0000000001', name: 'Days', type: 'formula' },
];

const rec = {
  id: 'recAAAAAAAAAAAAAA',
  createdTime: '2026-01-01T00:00:00.000Z',
  fields: {
    Name: 'Acme Agri',
    Fee: 150,
    'Last Modified': '2026-11-20T10:00:00.500Z',
    Due: '2026-12-31',
    Tags: ['Rush', 'Label Change'],
    Product: ['recPPPPPPPPPPPPPP'],
    Days: { error: '#ERROR!' },
  } as Record<string, unknown>,
};

const test = (f: string, r = rec) => compileFormula(f, fields)(r);
const value = (f: string, r = rec) => compileFormula(f, fields, { now: () => new Date('2026-11-21T15:00:00Z') }).evaluate(r);

describe('compileFormula', () => {
  it('compares Last Modified with IS_AFTER / IS_BEFORE / IS_SAME and DATETIME_PARSE', () => {
    expect(test(`IS_AFTER({Last Modified}, '2026-11-20T10:00:00.000Z')`)).toBe(true);
    expect(test(`IS_AFTER({Last Modified}, DATETIME_PARSE('2026-11-20T10:00:00.000Z'))`)).toBe(true);
    expect(test(`IS_AFTER({Last Modified}, "2026-11-20T10:00:01.000Z")`)).toBe(false);
    expect(test(`IS_BEFORE({Due}, '2027-01-01')`)).toBe(true);
    expect(test(`IS_SAME({Last Modified}, '2026-11-20', 'day')`)).toBe(true);
    expect(test(`{Last Modified} > '2026-11-20T09:00:00Z'`)).toBe(true);
    expect(test(`IS_AFTER({Last Modified}, '2026-11-20T10:00:00.000Z')`, { ...rec, fields: {} })).toBe(false);
    expect(test(`LAST_MODIFIED_TIME() > '2026-11-20'`)).toBe(true);
    expect(test(`IS_BEFORE(CREATED_TIME(), '2026-02-01')`)).toBe(true);
  });

  it('supports the logical, comparison, text and concatenation operators', () => {
    expect(test(`OR(IS_AFTER({Last Modified}, '2027-01-01'), RECORD_ID() = 'recAAAAAAAAAAAAAA')`)).toBe(true);
    expect(test(`AND({Fee} >= 150, {Fee} <= 150, {Fee} != 151, NOT({Fee} < 150))`)).toBe(true);
    expect(test(`{Name} & ' / ' & {Fee} = 'Acme Agri / 150'`)).toBe(true);
    expect(test(`IF({Done}, FALSE(), TRUE())`)).toBe(true);
    expect(test(`{Done} = BLANK()`)).toBe(true);
    expect(test(`{Missing Text} = ''`.replace('Missing Text', 'Name'), { ...rec, fields: {} })).toBe(true);
    expect(value(`LEN({Name})`)).toBe(9);
    expect(value(`LOWER({Name}) & UPPER('x')`)).toBe('acme agriX');
    expect(value(`FIND('Agri', {Name})`)).toBe(6);
    expect(value(`FIND('zzz', {Name})`)).toBe(0);
    expect(value(`SEARCH('agri', {Name})`)).toBe(6);
    expect(value(`{Tags}`)).toEqual(['Rush', 'Label Change']);
    expect(test(`FIND('Rush', {Tags})`)).toBe(true);
    expect(value(`CONCATENATE({Product}, ' - ', 'TX')`)).toBe('recPPPPPPPPPPPPPP - TX');
    expect(value(`({Fee} + 50) * 2 / 4 - -1`)).toBe(101);
    expect(value(`DATETIME_DIFF({Due}, TODAY(), 'days')`)).toBe(40);
    expect(value(`DATETIME_DIFF(BLANK(), TODAY(), 'days')`)).toBe(null);
  });

  it('resolves fields by id and links through resolveLinks', () => {
    const byId = { ...rec, fields: { fldNAME0000000001: 'Acme', fldLINK0000000001: ['recP'] } };
    const f = compileFormula(`AND({fldNAME0000000001} = 'Acme', {Product} = 'Widget')`, fields, {
      fieldsKeyedBy: 'id',
      resolveLinks: () => ['Widget'],
    });
    expect(f(byId)).toBe(true);
    expect(f.referencedFieldIds.sort()).toEqual(['fldLINK0000000001', 'fldNAME0000000001']);
  });

  it('treats error cells as #ERROR! (false when filtering)', () => {
    expect(test(`{Days} > 0`)).toBe(false);
    expect(() => value(`{Days} > 0`)).toThrow(FormulaEvalError);
    expect(value(`ISERROR({Days})`)).toBe(true);
  });

  it('rejects what Airtable would reject', () => {
    for (const bad of [`IS_AFTER({Last Modified}, `, `{Nope} = 1`, `NOSUCH(1)`, `'unterminated`, `1 +`, ``, `AND(1, 2`, `{Fee} === 1`, `NOT()`]) {
      expect(() => compileFormula(bad, fields), bad).toThrow(FormulaSyntaxError);
    }
  });

  it('parses ISO dates', () => {
    expect(parseDate('2026-11-20')!.toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(parseDate('2026-11-20T10:00:00+02:00')!.toISOString()).toBe('2026-11-20T08:00:00.000Z');
    expect(parseDate('2026-11-20 10:00')!.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(parseDate('nonsense')).toBeNull();
  });
});
