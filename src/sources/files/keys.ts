/**
 * Turning what a reader found into a FileRecord or a FileReject: the record
 * must be an object, and its key (at a dot path, or the property name of a
 * document keyed by id) a non-blank string or a number written out in
 * decimal. Every way of failing has its own reason naming the key field.
 */
import { parsePath, valueAtSegments } from './path.ts';
import type { FileRecord, FileReject } from './types.ts';

export const PROPERTY_KEY = '$key';

export type Keyed = { key: string; error?: undefined } | { key: null; error: string };

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** A key value as text, or why it cannot be one. */
export function keyText(value: unknown, field: string): Keyed {
  const name = JSON.stringify(field);
  if (value === undefined) return { key: null, error: `missing key field ${name}` };
  if (value === null) return { key: null, error: `key field ${name} is null` };
  if (typeof value === 'string') {
    if (value.trim() === '') return { key: null, error: value === '' ? `key field ${name} is empty` : `key field ${name} is blank (${JSON.stringify(value)})` };
    return { key: value };
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { key: null, error: `key field ${name} is not a finite number` };
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      return { key: null, error: `key field ${name} is the number ${value}, too large to be kept exactly (write it as a string in the export)` };
    }
    return { key: String(value) };
  }
  return { key: null, error: `key field ${name} is ${describeType(value)}, not a string or number` };
}

export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Keys records found by a reader, for one key spec. */
export class Keyer {
  private readonly segments: readonly string[];
  readonly byProperty: boolean;

  constructor(readonly keyPath: string) {
    this.byProperty = keyPath === PROPERTY_KEY;
    this.segments = this.byProperty ? [] : parsePath(keyPath);
  }

  toRecord(value: unknown, position: string, propertyName?: string): { record: FileRecord } | { reject: FileReject } {
    let keyed: Keyed;
    if (this.byProperty) {
      keyed = propertyName === undefined ? { key: null, error: 'no property name to use as key ("$key" needs an object keyed by id)' } : keyText(propertyName, PROPERTY_KEY);
    } else {
      keyed = isPlainRecord(value) ? keyText(valueAtSegments(value, this.segments), this.keyPath) : { key: null, error: '' };
    }
    if (!isPlainRecord(value)) {
      return { reject: { key: keyed.key, position, value, reason: `record is ${describeType(value)}, not an object` } };
    }
    if (keyed.key === null) return { reject: { key: null, position, value, reason: keyed.error } };
    return { record: { key: keyed.key, fields: value, position } };
  }
}
