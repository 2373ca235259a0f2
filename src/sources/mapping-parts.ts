/**
 * The parts of a mapping every source shares: the conversions the SQL merge
 * knows, the validation rules, the conflict policies. Each source's mapping
 * schema (src/sources/<kind>/mapping.ts) builds on these.
 */
import { z } from 'zod';

/** How a source value converts to a column (the SQL conversions of sync.cell_canonical and the merge). */
export const CONVERSION_NAMES = ['text', 'select', 'multi_select', 'date', 'timestamp', 'money', 'integer', 'checkbox', 'collaborator', 'link', 'attachments', 'lookup_text'] as const;
export type Conversion = (typeof CONVERSION_NAMES)[number];

const severity = z.enum(['blocking', 'warning']).default('warning');
/**
 * A field's validation rules (see sync.validation_rules): checked on every
 * staged record before it is merged. A blocking rule quarantines the record;
 * a warning is reported. Rules about other records (duplicate) only warn.
 */
export const ruleSchema = z.discriminatedUnion('rule', [
  z.object({ rule: z.literal('required'), severity }).strict(),
  z.object({ rule: z.literal('format'), format: z.enum(['email', 'phone', 'url', 'state_code']), severity }).strict(),
  z.object({ rule: z.literal('allowed_values'), values: z.array(z.string()).min(1), severity }).strict(),
  z
    .object({ rule: z.literal('range'), min: z.union([z.number(), z.string()]).optional(), max: z.union([z.number(), z.string()]).optional(), severity })
    .strict()
    .refine((r) => r.min !== undefined || r.max !== undefined, 'a range needs min or max'),
  z.object({ rule: z.literal('max_decimals'), decimals: z.number().int().min(0).max(6), severity }).strict(),
  z.object({ rule: z.literal('trimmed'), severity }).strict(),
  z.object({ rule: z.literal('single_link'), severity }).strict(),
  z
    .object({ rule: z.literal('duplicate'), scope: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional(), severity: z.literal('warning').default('warning') })
    .strict(),
]);
export type FieldRule = z.infer<typeof ruleSchema>;

/**
 * What every table of a one-way source (files, SQLite, a legacy PostgreSQL)
 * says about writing back: nothing is pushed, so the source wins, deletes
 * are not pushed and no typecast is asked for, and no field is left out.
 */
export function oneWayTable() {
  return {
    unmappedFields: [] as Array<{ fieldId: string; name: string; why: string }>,
    conflictPolicy: 'source_wins' as const,
    pushDeletes: false,
    typecast: false,
  };
}

/** Who wins a field changed differently on both sides (sync.conflict_policies). */
export const CONFLICT_POLICIES = ['source_wins', 'target_wins', 'newest_wins', 'manual'] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];
export const conflictPolicy = z.enum(CONFLICT_POLICIES);


/** A column of the target table. */
export const columnName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a column name');
/** An entity name, as in sync.entities. */
export const entityName = z.string().regex(/^[a-z_]+$/, 'expected an entity name such as registrations');
/** A schema-qualified target table, as in sync.entities.target_table. */
export const targetTable = z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'expected <schema>.<table>');

/** What a source's mapping reader gives back: the mapping in the pipeline's terms, or the issues found (each naming its key). */
export type MappingRead<M> = { mapping: M; fieldProblems: (table: any, field: any, at: string) => string[] } | { issues: string[] };

/** zod's issues as lines naming the key. */
export function issueLines(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`);
}
