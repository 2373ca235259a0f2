/*
 * ===========================================================================
 * Proof of integrity, verification at a million records (issue 4): the
 * full report (verification and the validation rules over the snapshot)
 * within 4x a sequential-scan count of the tables it reads.
 *
 * - sync.verify_entity cuts its key range at staging's key histogram
 *   (sync.staging_key_splits) and merge-joins the parts side by side in
 *   parallel workers (a merge join alone runs in one process); its
 *   completeness report names the runs that last read the range's source
 *   records (source_runs), which sync.summarize_verification unites.
 * - sync.validate_entity over the whole snapshot, in a verify run that has
 *   verified the entity, takes the scope's count and those runs from that
 *   report instead of reading staging twice; otherwise one pass does both.
 *   Its report also names the records the runner could not stage (rule
 *   staging, rejected_before_staging), as verify's completeness does.
 * - sync.source_canonical builds each record's canonical form in one
 *   expression instead of a row per cell aggregated again.
 *
 * Idempotent while current: what is re-created is dropped first, in
 * reverse dependency order; integrity_functions.sql and
 * validation_functions.sql are included again whole (the pattern of
 * migrations 000005 and 000006), so each function has one definition, in
 * its fixture.
 * ===========================================================================
 */
drop function if exists sync.validate_entity(bigint, text, boolean);
drop function if exists sync.rule_checks_sql(text, text);
drop function if exists sync.rule_check_sql(sync.validation_rules, text, text);
drop function if exists sync.matches_format(text, text);

drop trigger if exists _150_keep_rejections_open on sync.record_errors;
drop function if exists sync.rollback_run(bigint, bigint, boolean);
drop function if exists sync.rollback_conflicts(bigint);
drop function if exists sync.tg_record_errors__keep_rejections_open();
drop function if exists sync.mark_rejected_before_staging(bigint, text, jsonb);
drop function if exists sync.finish_stage_only_run(bigint);
drop function if exists sync.count_staged_records(bigint, text);
drop function if exists sync.summarize_verification(bigint, text);
drop function if exists sync.verify_relationships(bigint, text, text, text);
drop function if exists sync.verify_entity(bigint, text, text, text, boolean, boolean);
drop function if exists sync.verify_entity(bigint, text, text, text, boolean);
drop function if exists sync.staging_key_splits(text, text, integer);
drop function if exists sync.entity_checksums(text);
drop function if exists sync.table_checksum(text[]);
drop function if exists sync.table_checksum_text(numeric, numeric, numeric);
drop function if exists sync.checksum_term(text, bigint);
drop function if exists sync.source_canonical(text, text[]);
drop function if exists sync.compare_records(text);
drop function if exists sync.source_snapshot_run(text);
drop function if exists sync.target_canonical_sql(text, text);
drop function if exists sync.checksum(jsonb);
drop function if exists sync.mapped_columns(text);
drop function if exists sync.cell_canonical(jsonb, text);

--!include integrity_functions.sql

create trigger _150_keep_rejections_open before update on sync.record_errors
  for each row when (old.rejected_before_staging and old.resolved_at is null and new.resolved_at is not null)
  execute function sync.tg_record_errors__keep_rejections_open();

--!include validation_functions.sql

--!include grants.sql
