-- Every CHECK (and the natural keys) of the sync control tables and of
-- staging.source_records: a violating row is refused with 23514 naming the
-- constraint, and a row on the edge of validity is accepted.
--
-- sync.jobs, runs and checkpoints have a status-transition trigger: rows are
-- inserted in an allowed initial status and moved along allowed transitions
-- (sync.status_transitions). That trigger also refuses with 23514, so every
-- refusal here is matched on its exact message, which names the constraint.
BEGIN;
select plan(72);

-- Fixture ids: runs 4001..4004 (4001 the run most rows belong to, 4002 the run
-- that resolves quarantined records); jobs, id_map and differentials use
-- uuids with readable prefixes (a0.. jobs, b0.. app rows, c0.. checkpoints).
insert into sync.runs (id, run_type, status, started_at) overriding system value values
  (4001, 'full', 'running', '2024-05-01 10:00:00+00'),
  (4002, 'incremental', 'running', '2024-05-02 10:00:00+00');

/*
 * sync.status_transitions: the machine is one of the three governed tables.
 */
select throws_ok(
  $$insert into sync.status_transitions (machine, from_status, to_status) values ('sync.record_errors', null, 'open')$$,
  '23514', 'new row for relation "status_transitions" violates check constraint "status_transitions_machine_is_known"',
  'a transition rule for a table that has no state machine is rejected'
);
-- Rules admitting a status that the tables do not know, to show that the
-- tables' own status checks hold even when the transition table would allow it.
select lives_ok(
  $$insert into sync.status_transitions (machine, from_status, to_status) values
      ('sync.jobs', null, 'archived'), ('sync.runs', null, 'archived'), ('sync.checkpoints', null, 'archived')$$,
  'transition rules for the known machines sync.jobs, sync.runs and sync.checkpoints are accepted'
);

/*
 * sync.jobs
 */
select lives_ok(
  $$insert into sync.jobs (id, job_name, job_type, success_rate, max_records_per_batch) values
      ('a0000000-0000-0000-0000-000000000001', 'delta-incremental', 'scheduled_sync', 100, 1)$$,
  'a job with success_rate 100 and max_records_per_batch 1 is accepted'
);
select lives_ok(
  $$insert into sync.jobs (id, job_name, job_type, sync_direction, conflict_resolution, success_rate, max_records_per_batch) values
      ('a0000000-0000-0000-0000-000000000002', 'delta-manual', 'manual_sync', 'bidirectional', 'manual', 0, 100000)$$,
  'a bidirectional manual job with success_rate 0 and max_records_per_batch 100000 is accepted'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, success_rate) values ('rate-too-high', 'manual_sync', 100.01)$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_success_rate_is_percentage"',
  'success_rate 100.01 is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, success_rate) values ('rate-negative', 'manual_sync', -1)$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_success_rate_is_percentage"',
  'success_rate -1 is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type) values ('hourly', 'hourly_sync')$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_job_type_is_known"',
  'an unknown job_type is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, sync_direction) values ('push-only', 'manual_sync', 'target_to_source')$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_sync_direction_is_known"',
  'an unknown sync_direction is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, conflict_resolution) values ('newest', 'manual_sync', 'newest_wins')$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_conflict_resolution_is_known"',
  'an unknown conflict_resolution is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, status) values ('archived-job', 'manual_sync', 'archived')$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_status_is_known"',
  'an unknown job status is rejected by the table even when a transition rule admits it'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, max_records_per_batch) values ('batch-zero', 'manual_sync', 0)$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_batch_size_positive"',
  'max_records_per_batch 0 is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, max_records_per_batch) values ('batch-huge', 'manual_sync', 100001)$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_batch_size_positive"',
  'max_records_per_batch 100001 (above the 100000 ceiling) is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, total_records_synced) values ('negative-total', 'manual_sync', -1)$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_totals_not_negative"',
  'a negative total_records_synced is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, schedule_config) values ('array-schedule', 'scheduled_sync', '["*/5 * * * *"]')$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_schedule_config_is_object"',
  'a schedule_config that is not a JSON object is rejected'
);
select throws_ok(
  $$insert into sync.jobs (job_name, job_type, metadata) values ('string-metadata', 'manual_sync', '"notes"')$$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_metadata_is_object"',
  'job metadata that is not a JSON object is rejected'
);

/*
 * sync.runs
 */
select lives_ok(
  $$insert into sync.runs (id, run_type, status, started_at, fetched, inserted, updated, unchanged, deleted) overriding system value values
      (4003, 'full', 'running', '2024-05-03 10:00:00+00', 10, 3, 2, 4, 7),
      (4004, 'verify', 'running', '2024-05-04 10:00:00+00', 0, 0, 0, 0, 0)$$,
  'running runs without finished_at, with zero or positive counts, are accepted'
);
select throws_ok(
  $$insert into sync.runs (run_type) values ('nightly')$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_run_type_is_known"',
  'an unknown run_type is rejected'
);
select throws_ok(
  $$insert into sync.runs (run_type, status, finished_at) values ('full', 'archived', now())$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_status_is_known"',
  'an unknown run status is rejected by the table even when a transition rule admits it'
);
select throws_ok(
  $$insert into sync.runs (run_type, status, inserted) values ('full', 'running', -1)$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_counts_not_negative"',
  'a run with a negative count is rejected'
);
select throws_ok(
  $$insert into sync.runs (run_type, status, started_at, finished_at) values ('full', 'running', '2024-05-05 10:00+00', '2024-05-05 11:00+00')$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_finished_when_done"',
  'a running run with a finished_at is rejected'
);
select throws_ok(
  $$update sync.runs set status = 'completed', quarantined = 1 where id = 4003$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_finished_when_done"',
  'a run moved to completed without finished_at is rejected'
);
select throws_ok(
  $$update sync.runs set status = 'completed', quarantined = 1, finished_at = '2024-05-03 09:59:59+00' where id = 4003$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_finished_after_started"',
  'a run finished before it started is rejected'
);
select throws_ok(
  $$update sync.runs set status = 'completed', finished_at = '2024-05-03 10:30:00+00' where id = 4003$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_every_record_accounted"',
  'a completed run with fetched 10 <> inserted 3 + updated 2 + unchanged 4 + quarantined 0 is rejected'
);
select lives_ok(
  $$update sync.runs set status = 'completed', quarantined = 1, finished_at = '2024-05-03 10:00:00+00' where id = 4003$$,
  'a completed run finished at its start time with fetched = inserted + updated + unchanged + quarantined (deleted aside) is accepted'
);
select throws_ok(
  $$update sync.runs set status = 'failed', finished_at = '2024-05-04 10:05:00+00' where id = 4004$$,
  '23514', 'new row for relation "runs" violates check constraint "runs_failure_has_message"',
  'a failed run without error_message is rejected'
);
select lives_ok(
  $$update sync.runs set status = 'failed', finished_at = '2024-05-04 10:05:00+00', error_message = 'Airtable returned 503' where id = 4004$$,
  'a failed run with error_message and finished_at is accepted'
);

/*
 * sync.checkpoints
 */
select lives_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, records_processed, records_total, status, started_at) values
      ('c0000000-0000-0000-0000-000000000001', 4001, 'sync_operation', 'clients', 10, 10, 'in_progress', '2024-05-01 10:00:00+00')$$,
  'a checkpoint with records_processed = records_total is accepted'
);
select throws_ok(
  $$insert into sync.checkpoints (operation_type, entity_type, records_processed, records_total, status) values ('sync_operation', 'products', 11, 10, 'in_progress')$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_processed_within_total"',
  'a checkpoint with records_processed 11 > records_total 10 is rejected'
);
select throws_ok(
  $$insert into sync.checkpoints (operation_type, entity_type, records_processed, status) values ('sync_operation', 'products', -1, 'in_progress')$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_processed_within_total"',
  'a checkpoint with negative records_processed is rejected'
);
-- A negative total violates both checkpoints_total_not_negative and
-- checkpoints_processed_within_total (processed >= 0 cannot be <= a negative
-- total); either may be reported, so only the SQLSTATE is matched.
select throws_ok(
  $$insert into sync.checkpoints (operation_type, entity_type, records_total, status) values ('sync_operation', 'products', -1, 'in_progress')$$,
  '23514', null::text,
  'a checkpoint with a negative records_total is rejected'
);
select throws_ok(
  $$insert into sync.checkpoints (operation_type, entity_type, batch_size, status) values ('sync_operation', 'products', 0, 'in_progress')$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_batch_size_positive"',
  'a checkpoint with batch_size 0 is rejected'
);
select lives_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, batch_size, status) values
      ('c0000000-0000-0000-0000-000000000002', 4001, 'sync_operation', 'products', 1, 'pending')$$,
  'a checkpoint with batch_size 1 is accepted'
);
select throws_ok(
  $$insert into sync.checkpoints (operation_type, entity_type, status, started_at, completed_at)
    values ('validation', 'products', 'in_progress', '2024-05-01 10:00:00+00', '2024-05-01 10:00:00+00')$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_completed_after_started"',
  'a checkpoint completed at the instant it started is rejected (completed_at must be after started_at)'
);
select lives_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, status, started_at, completed_at) values
      ('c0000000-0000-0000-0000-000000000003', 4001, 'validation', 'products', 'in_progress', '2024-05-01 10:00:00+00', '2024-05-01 10:00:00.000001+00')$$,
  'a checkpoint completed one microsecond after it started is accepted'
);
select throws_ok(
  $$update sync.checkpoints set status = 'completed' where id = 'c0000000-0000-0000-0000-000000000001'$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_completed_has_time"',
  'a checkpoint moved to completed without completed_at is rejected'
);
select lives_ok(
  $$update sync.checkpoints set status = 'completed', completed_at = '2024-05-01 10:05:00+00' where id = 'c0000000-0000-0000-0000-000000000001'$$,
  'a checkpoint moved to completed with completed_at is accepted'
);
select throws_ok(
  $$update sync.checkpoints set status = 'failed' where id = 'c0000000-0000-0000-0000-000000000003'$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_failure_has_message"',
  'a checkpoint moved to failed without error_message is rejected'
);
select lives_ok(
  $$update sync.checkpoints set status = 'failed', error_message = 'page 7: timeout' where id = 'c0000000-0000-0000-0000-000000000003'$$,
  'a checkpoint moved to failed with error_message is accepted'
);
select throws_ok(
  $$insert into sync.checkpoints (operation_type, entity_type, status) values ('import', 'clients', 'pending')$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_operation_type_is_known"',
  'an unknown checkpoint operation_type is rejected'
);
select throws_ok(
  $$insert into sync.checkpoints (operation_type, entity_type, status) values ('validation', 'clients', 'archived')$$,
  '23514', 'new row for relation "checkpoints" violates check constraint "checkpoints_status_is_known"',
  'an unknown checkpoint status is rejected by the table even when a transition rule admits it'
);

/*
 * sync.data_differentials
 */
select lives_ok(
  $$insert into sync.data_differentials (id, run_id, source_table, target_table, comparison_type, legacy_ids, record_count) values
      ('d0000000-0000-0000-0000-000000000001', 4001, 'Registrations', 'app.registrations', 'missing_records',
       '["recRegistAcmeCA01", "recRegistAcmeTX02"]', 2)$$,
  'a differential whose record_count equals the number of legacy_ids is accepted'
);
select lives_ok(
  $$insert into sync.data_differentials (id, run_id, source_table, target_table, comparison_type, resolution_strategy) values
      ('d0000000-0000-0000-0000-000000000002', 4001, 'Clients', 'app.clients', 'deleted_records', 'skip')$$,
  'a differential with an empty legacy_ids array and record_count 0 is accepted'
);
select throws_ok(
  $$insert into sync.data_differentials (source_table, target_table, comparison_type, legacy_ids, record_count)
    values ('Registrations', 'app.registrations', 'missing_records', '["recRegistAcmeCA01", "recRegistAcmeTX02"]', 3)$$,
  '23514', 'new row for relation "data_differentials" violates check constraint "data_differentials_count_matches_ids"',
  'a differential with record_count 3 for 2 legacy_ids is rejected'
);
select throws_ok(
  $$insert into sync.data_differentials (source_table, target_table, comparison_type, legacy_ids, record_count)
    values ('Registrations', 'app.registrations', 'missing_records', '{"recRegistAcmeCA01": true}', 1)$$,
  '23514', 'new row for relation "data_differentials" violates check constraint "data_differentials_legacy_ids_is_array"',
  'a differential whose legacy_ids is a JSON object, not an array, is rejected by the array check'
);
select throws_ok(
  $$insert into sync.data_differentials (source_table, target_table, comparison_type, resolved)
    values ('Clients', 'app.clients', 'conflicted_records', true)$$,
  '23514', 'new row for relation "data_differentials" violates check constraint "data_differentials_resolved_has_time"',
  'a resolved differential without resolved_at is rejected'
);
select lives_ok(
  $$update sync.data_differentials set resolved = true, resolved_at = '2024-05-01 11:00:00+00' where id = 'd0000000-0000-0000-0000-000000000001'$$,
  'a differential marked resolved together with resolved_at is accepted'
);
select throws_ok(
  $$insert into sync.data_differentials (source_table, target_table, comparison_type) values ('Clients', 'app.clients', 'extra_records')$$,
  '23514', 'new row for relation "data_differentials" violates check constraint "data_differentials_comparison_type_is_known"',
  'an unknown comparison_type is rejected'
);
select throws_ok(
  $$insert into sync.data_differentials (source_table, target_table, comparison_type, resolution_strategy)
    values ('Clients', 'app.clients', 'conflicted_records', 'newest_wins')$$,
  '23514', 'new row for relation "data_differentials" violates check constraint "data_differentials_strategy_is_known"',
  'an unknown resolution_strategy is rejected'
);

/*
 * sync.validation_reports
 */
select lives_ok(
  $$insert into sync.validation_reports (run_id, validation_type, source_entity, records_validated, validation_passed, discrepancies_found, generated_at, expires_at)
    values (4001, 'data_integrity', 'clients', 120, true, 0, '2024-05-01 12:00:00+00', '2024-05-01 12:00:00.000001+00')$$,
  'a passed report with 0 discrepancies, expiring one microsecond after it was generated, is accepted'
);
select lives_ok(
  $$insert into sync.validation_reports (run_id, validation_type, source_entity, validation_passed, discrepancies_found, discrepancy_details)
    values (4001, 'relationship_integrity', 'registrations', false, 1, '[{"record": "recRegistAcmeCA01", "field": "Product", "rule": "dangling link"}]')$$,
  'a failed report with discrepancies is accepted'
);
select throws_ok(
  $$insert into sync.validation_reports (validation_type, source_entity, validation_passed, discrepancies_found) values ('data_integrity', 'clients', true, 1)$$,
  '23514', 'new row for relation "validation_reports" violates check constraint "validation_reports_passed_means_no_discrepancies"',
  'a passed report with 1 discrepancy is rejected'
);
select throws_ok(
  $$insert into sync.validation_reports (validation_type, source_entity, validation_passed, generated_at, expires_at)
    values ('data_integrity', 'clients', true, '2024-05-01 12:00:00+00', '2024-05-01 12:00:00+00')$$,
  '23514', 'new row for relation "validation_reports" violates check constraint "validation_reports_expires_after_generated"',
  'a report expiring at the instant it was generated is rejected'
);
select throws_ok(
  $$insert into sync.validation_reports (validation_type, source_entity, validation_passed) values ('schema_check', 'clients', true)$$,
  '23514', 'new row for relation "validation_reports" violates check constraint "validation_reports_type_is_known"',
  'an unknown validation_type is rejected'
);
select throws_ok(
  $$insert into sync.validation_reports (validation_type, source_entity, validation_passed, records_validated) values ('completeness_check', 'clients', true, -1)$$,
  '23514', 'new row for relation "validation_reports" violates check constraint "validation_reports_counts_not_negative"',
  'a report with a negative records_validated is rejected'
);
select throws_ok(
  $$insert into sync.validation_reports (validation_type, source_entity, validation_passed, discrepancy_details) values ('data_integrity', 'clients', true, '{}')$$,
  '23514', 'new row for relation "validation_reports" violates check constraint "validation_reports_details_is_array"',
  'discrepancy_details that is not a JSON array is rejected'
);

/*
 * sync.id_map
 */
select lives_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum) values
      ('registrations', 'recRegistAcmeCA01', 'b0000000-0000-0000-0000-000000000001', 4001, 'Registrations', 'app.registrations',
       repeat('0123456789abcdef', 4))$$,
  'a mapping with a 64-character lower-case hex checksum is accepted'
);
select throws_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table)
    values ('registrations', 'recRegistAcmeCA01', 'b0000000-0000-0000-0000-000000000002', 'Registrations', 'app.registrations')$$,
  '23505', 'duplicate key value violates unique constraint "id_map_legacy_key"',
  'a second mapping of the same legacy_id for the same entity_type is rejected'
);
select throws_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table)
    values ('registrations', 'recRegistAcmeTX02', 'b0000000-0000-0000-0000-000000000001', 'Registrations', 'app.registrations')$$,
  '23505', 'duplicate key value violates unique constraint "id_map_uuid_key"',
  'a second mapping to the same uuid_id for the same entity_type is rejected'
);
select lives_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table, validation_status)
    values ('registrations_archive', 'recRegistAcmeCA01', 'b0000000-0000-0000-0000-000000000001', 'Registrations Archive', 'app.registrations', 'validated')$$,
  'the same legacy_id and uuid_id under another entity_type, validated and without checksum, are accepted'
);
select throws_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table, checksum)
    values ('clients', 'recClientAcme0001', 'b0000000-0000-0000-0000-000000000011', 'Clients', 'app.clients', repeat('a', 63))$$,
  '23514', 'new row for relation "id_map" violates check constraint "id_map_checksum_is_sha256"',
  'a checksum of 63 hex characters is rejected'
);
select throws_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table, checksum)
    values ('clients', 'recClientAcme0001', 'b0000000-0000-0000-0000-000000000011', 'Clients', 'app.clients', repeat('0123456789ABCDEF', 4))$$,
  '23514', 'new row for relation "id_map" violates check constraint "id_map_checksum_is_sha256"',
  'a checksum in upper-case hex is rejected'
);
select throws_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table, validation_status)
    values ('clients', 'recClientAcme0001', 'b0000000-0000-0000-0000-000000000011', 'Clients', 'app.clients', 'ok')$$,
  '23514', 'new row for relation "id_map" violates check constraint "id_map_validation_status_is_known"',
  'an unknown validation_status is rejected'
);

/*
 * sync.record_errors
 */
select lives_ok(
  $$insert into sync.record_errors (id, run_id, source_table, source_key, field, value, reason) values
      ('e0000000-0000-0000-0000-000000000001', 4001, 'Registrations', 'recRegistAcmeTX02', 'Product', '["recProductGone01"]', 'dangling link to Products')$$,
  'an open quarantine entry (no resolved_at, no resolved_by_run_id) is accepted'
);
select throws_ok(
  $$insert into sync.record_errors (run_id, source_table, source_key, reason) values (4001, 'Registrations', 'recRegistAcmeTX03', '   ')$$,
  '23514', 'new row for relation "record_errors" violates check constraint "record_errors_reason_not_blank"',
  'a quarantine entry with a blank reason is rejected'
);
select throws_ok(
  $$update sync.record_errors set resolved_at = '2024-05-02 10:10:00+00' where id = 'e0000000-0000-0000-0000-000000000001'$$,
  '23514', 'new row for relation "record_errors" violates check constraint "record_errors_resolution_has_run"',
  'resolved_at without resolved_by_run_id is rejected'
);
select throws_ok(
  $$update sync.record_errors set resolved_by_run_id = 4002 where id = 'e0000000-0000-0000-0000-000000000001'$$,
  '23514', 'new row for relation "record_errors" violates check constraint "record_errors_resolution_has_run"',
  'resolved_by_run_id without resolved_at is rejected'
);
select lives_ok(
  $$update sync.record_errors set resolved_at = '2024-05-02 10:10:00+00', resolved_by_run_id = 4002 where id = 'e0000000-0000-0000-0000-000000000001'$$,
  'resolved_at together with resolved_by_run_id is accepted'
);

/*
 * staging.source_records
 */
select lives_ok(
  $$insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash, run_id) values
      ('appDeltaBase00001', 'tblClients0000001', 'recClientAcme0001', '{}', '2023-01-15 09:00:00+00', repeat('0123456789abcdef', 4), 4001)$$,
  'a staged record with an (empty) JSON object of fields and a 64-character hex hash is accepted'
);
select throws_ok(
  $$insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash)
    values ('appDeltaBase00001', 'tblClients0000001', 'recClientBeta0002', '["Beta Chemicals"]', '2023-01-15 09:00:00+00', repeat('0123456789abcdef', 4))$$,
  '23514', 'new row for relation "source_records" violates check constraint "source_records_fields_is_object"',
  'staged fields that are a JSON array, not an object, are rejected'
);
select throws_ok(
  $$insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash)
    values ('appDeltaBase00001', 'tblClients0000001', 'recClientBeta0002', '{"Client Name": "Beta Chemicals"}', '2023-01-15 09:00:00+00', 'sha256:' || repeat('0123456789abcdef', 4))$$,
  '23514', 'new row for relation "source_records" violates check constraint "source_records_hash_is_sha256"',
  'a content_hash that is not exactly 64 hex characters is rejected'
);

-- the catalogue refuses a merged column named like the merge's own working columns
select throws_ok(
  $$insert into sync.entity_columns (entity, column_name, conversion) values ('clients', 'position', 'integer')$$,
  '23514', 'new row for relation "entity_columns" violates check constraint "entity_columns_name_not_reserved"',
  'a target column named position (merge_candidates.position) is refused when registered');
select lives_ok(
  $$insert into sync.entity_columns (entity, column_name, conversion) values ('clients', 'sort_position', 'integer')$$,
  'the same column under its own name is accepted');

select * from finish();
ROLLBACK;
