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
