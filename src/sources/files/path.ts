/**
 * Dot paths into a record: "walletAddress", "meta.id", "documents.0.type".
 *
 * A path is split on "." into segments. A segment made only of decimal digits
 * ("0", "17") indexes an array when the value at that point is an array, and
 * is an ordinary property name on an object. A property whose name contains a
 * dot or a backslash is addressed with a backslash escape: "\." is a literal
 * dot and "\\" a literal backslash, so the key "a.b" inside "meta" is
 * `meta.a\.b` (in a TypeScript string literal: 'meta.a\\.b'). Any other use of
 * the backslash is an error, so that a typo never silently addresses a
 * different field. The empty path "" addresses the record itself.
 *
 * Only own properties are followed (never "toString" or "__proto__" from the
 * prototype) and an array answers only to its indexes (never "length").
 */

const cache = new Map<string, readonly string[]>();

/** Splits a dot path into its segments (cached); throws on a bad escape. */
export function parsePath(path: string): readonly string[] {
  const cached = cache.get(path);
  if (cached) return cached;
  const segments: string[] = [];
  if (path !== '') {
    let current = '';
    for (let i = 0; i < path.length; i++) {
      const ch = path[i];
      if (ch === '\\') {
        const next = path[i + 1];
        if (next !== '.' && next !== '\\') {
          throw new Error(`invalid path ${JSON.stringify(path)}: a backslash must be followed by "." or "\\" (at character ${i + 1})`);
        }
        current += next;
        i++;
      } else if (ch === '.') {
        segments.push(current);
        current = '';
      } else {
        current += ch;
      }
    }
    segments.push(current);
  }
  if (cache.size > 1000) cache.clear();
  cache.set(path, segments);
  return segments;
}

const INDEX = /^(0|[1-9][0-9]*)$/;

/** Follows already split segments; undefined when any step is missing. */
export function valueAtSegments(record: unknown, segments: readonly string[]): unknown {
  let value = record;
  for (const segment of segments) {
    if (value === null || typeof value !== 'object') return undefined;
    if (Array.isArray(value)) {
      if (!INDEX.test(segment)) return undefined;
      value = value[Number(segment)];
    } else {
      if (!Object.hasOwn(value, segment)) return undefined;
      value = (value as Record<string, unknown>)[segment];
    }
  }
  return value;
}

/** The value at a dot path (see the module comment for the syntax), or undefined. */
export function valueAtPath(record: unknown, path: string): unknown {
  return valueAtSegments(record, parsePath(path));
}
