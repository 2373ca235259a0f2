/*
 * The SQLite source's example target, schema pfa_app (a Prisma-style
 * application's nine tables and twelve foreign keys), registered in the
 * entity catalogue and wired for target checksums and the audit trail.
 * The file is idempotent (it drops the schema and the pfa_ entities
 * first); its header says what each table keeps.
 */
--!include examples/pfa_app.sql
--!include grants/_all.sql

-- The merge and the canonical form name their own working columns next to
-- the target's (merge_candidates.position, .checksum, ...): a target column
-- of the same name would be taken for the working one. Refused by name
-- when the column is registered, not found later as a wrong result.
alter table sync.entity_columns drop constraint if exists entity_columns_name_not_reserved;
alter table sync.entity_columns add constraint entity_columns_name_not_reserved check (
  column_name <> all (array['position', 'source_key', 'row_id', 'row_is_new', 'fetched_this_run', 'checksum', 'held_deleted',
                            'problems', 'blocking_problems', 'problem_count', 'canonical', 'raw_values']));
comment on constraint entity_columns_name_not_reserved on sync.entity_columns is 'A merged column may not take a name the merge or the canonical form uses for its own working columns (position, source_key, row_id, checksum, problems, canonical, ...): it would be read as the working column. Rename the target column.';

/*
 * The legacy PostgreSQL source: a listing complete within the key ranges
 * whose checksums changed sweeps those ranges only
 * (sync.sweep_deleted_in_key_ranges); and its example target, schema
 * legacy_app (uuid keys, no legacy id columns: identity is the id map's),
 * registered in the entity catalogue and wired for target checksums and
 * the audit trail.
 */
--!include merge/sweep_deleted_in_key_ranges.sql
--!include examples/legacy_app.sql
--!include grants/_all.sql
