-- Records rejected before staging (the runner could not stage them): their
-- quarantine entries, marked by sync.mark_rejected_before_staging, stay
-- open through merges that retry the older version staging holds and
-- through later runs that read them broken again; verification lists them
-- with their reason (in or out of the source snapshot), and so does the
-- validation report (sync.validate_entity); a rejection for
-- another reason replaces the earlier one; a run that stages the record
-- cleanly releases it.
--
-- Runs: 9701 full (two clients), 9702 incremental (client 2 rejected, an
-- item without a record id), 9703 full (client 2 rejected again, for
-- another reason), 9704 a verify run, 9705 incremental (client 2 staged
-- cleanly).
BEGIN;
select plan(12);

select tests.seed_delta_mapping(entities => array['clients'], columns => array['name', 'notes', 'airtable_modified_at'],
  source_id => 'appRejectedTest01', source_tables => '{"clients": "tblRejectClients1"}');
select tests.open_run('full', 9701, '{"base_id": "appRejectedTest01"}');
select tests.open_run('incremental', 9702, '{"base_id": "appRejectedTest01"}');
select tests.open_run('full', 9703, '{"base_id": "appRejectedTest01"}');
select tests.open_run('verify', 9704);
select tests.open_run('incremental', 9705, '{"base_id": "appRejectedTest01"}');
select tests.open_checkpoints(run, 'clients') from unnest(array[9701, 9702, 9703, 9705]) as run;

create function pg_temp.client(p_id text, p_name text, p_notes text) returns jsonb
language sql as $$
  select tests.airtable_record(p_id, jsonb_strip_nulls(jsonb_build_object('fldcRQ5EWmHA7hkmK', p_name, 'fld4nncVN1i1Qbxro', p_notes,
                                                                         'fld62rLIbyozCjTuf', '2026-11-01T00:00:00.000Z')))
$$;
-- a page as the runner stages it: sync.stage_page, then the rejects marked, in one transaction
create function pg_temp.stage(p_run bigint, p_records jsonb, p_rejects jsonb, p_full boolean) returns void
language sql as $$
  select sync.stage_page(p_run, 'clients', p_records, p_rejects, p_full, null);
  select sync.mark_rejected_before_staging(p_run, 'clients', p_rejects);
$$;
create function pg_temp.finish(p_run bigint, p_full boolean) returns void
language plpgsql as $$
begin
  perform sync.merge_clients(p_run);
  if p_full then perform sync.sweep_deleted(p_run, 'clients'); end if;
  update sync.checkpoints set status = 'completed', completed_at = now() where run_id = p_run;
  perform sync.finish_run(p_run);
end;
$$;
-- Each run is its own transaction in life; here one transaction holds them
-- all, so what a run wrote is moved back in time once it is done (a record
-- is released when staged after its rejection).
create function pg_temp.age(p_run bigint, p_hours integer) returns void
language sql as $$
  update staging.source_records set fetched_at = fetched_at - make_interval(hours => p_hours) where run_id = p_run;
  update sync.record_errors set created_at = created_at - make_interval(hours => p_hours) where run_id = p_run;
$$;

select pg_temp.stage(9701, jsonb_build_array(
  pg_temp.client('recREJECTCLIENT01', 'Alpha Labs', null),
  pg_temp.client('recREJECTCLIENT02', 'Beta Chemicals', 'first notes')), '[]', true);
select pg_temp.finish(9701, true);
select pg_temp.age(9701, 3);

-- ---------------------------------------------------------------------------
-- Run 9702: client 2 cannot be stored, an item has no record id
-- ---------------------------------------------------------------------------
select pg_temp.stage(9702, '[]', jsonb_build_array(
  jsonb_build_object('source_key', 'recREJECTCLIENT02', 'field', 'Notes', 'value', null,
                     'reason', 'Notes contains a NUL character (\u0000), which PostgreSQL cannot store'),
  jsonb_build_object('source_key', '(no record id)', 'field', null, 'value', '{"fields": "oops"}'::jsonb,
                     'reason', 'not a valid record envelope: id Required')), false);
select results_eq(
  $$select source_key, rejected_before_staging from sync.record_errors where run_id = 9702 order by source_key$$,
  $$values ('(no record id)', true), ('recREJECTCLIENT02', true)$$,
  'the page''s rejects are quarantined and marked as rejected before staging');
select pg_temp.age(9702, 2);
select pg_temp.finish(9702, false);
select results_eq(
  $$select source_key, resolved_at is null from sync.record_errors where run_id = 9702 order by source_key$$,
  $$values ('(no record id)', true), ('recREJECTCLIENT02', true)$$,
  'the final merge does not release the rejection');
select is((select (metadata -> 'merge' ->> 'retried')::int from sync.checkpoints where run_id = 9702), 0,
  'the version staged before the rejection is not retried over it (only staging the record again can release it)');

-- an entry the merge found (not a rejection) is released by the merge as before
insert into sync.record_errors (run_id, source_table, source_key, field, value, reason)
values (9702, 'tblRejectClients1', 'recREJECTCLIENT01', 'Client Name', '"Alpha Labs"', 'planted merge problem');

-- ---------------------------------------------------------------------------
-- Run 9703, full: client 2 read again, broken in another field
-- ---------------------------------------------------------------------------
select pg_temp.stage(9703, jsonb_build_array(pg_temp.client('recREJECTCLIENT01', 'Alpha Labs', null)), jsonb_build_array(
  jsonb_build_object('source_key', 'recREJECTCLIENT02', 'field', 'Client Name', 'value', null,
                     'reason', 'Client Name contains an unpaired UTF-16 surrogate, which is not valid Unicode')), true);
select results_eq(
  $$select field, run_id, resolved_by_run_id from sync.record_errors where source_key = 'recREJECTCLIENT02' order by created_at, field$$,
  $$values ('Notes', 9702::bigint, 9703::bigint), ('Client Name', 9703, null)$$,
  'a rejection for another reason replaces the earlier one');
select pg_temp.age(9703, 1);
select pg_temp.finish(9703, true);
select results_eq(
  $$select source_key, field, resolved_by_run_id from sync.record_errors where run_id in (9702, 9703) order by source_key, field$$,
  $$values ('(no record id)', null::text, null::bigint), ('recREJECTCLIENT01', 'Client Name', 9703), ('recREJECTCLIENT02', 'Client Name', null),
           ('recREJECTCLIENT02', 'Notes', 9703)$$,
  'the full run''s merge releases the merge''s own entry but keeps the open rejections open');
update sync.record_errors set resolved_at = now(), resolved_by_run_id = 9703 where source_key = 'recREJECTCLIENT02' and resolved_at is null;
select is((select count(*)::int from sync.record_errors where source_key = 'recREJECTCLIENT02' and resolved_at is null), 1,
  'resolving the rejection by an update naming a run that did not stage the record changes nothing');

-- ---------------------------------------------------------------------------
-- Verification: the rejections named, in and out of the source snapshot
-- ---------------------------------------------------------------------------
select results_eq(
  $$select validation_passed, discrepancies_found,
           validation_criteria -> 'rejected_before_staging', validation_criteria -> 'quarantined_records',
           (validation_criteria ->> 'quarantined')::int, (validation_criteria ->> 'source_records_verified')::int
    from sync.verify_entity(9704, 'clients') where validation_type = 'completeness_check'$$,
  $$values (true, 0,
            '[{"record": "(no record id)", "field": null, "value": {"fields": "oops"}, "reason": "not a valid record envelope: id Required"},
              {"record": "recREJECTCLIENT02", "field": "Client Name", "value": null, "reason": "Client Name contains an unpaired UTF-16 surrogate, which is not valid Unicode"}]'::jsonb,
            '["(no record id)", "recREJECTCLIENT02"]'::jsonb, 2, 1)$$,
  'completeness lists both rejections with their reasons as quarantined, not as discrepancies; the source counts only the record it holds');
delete from sync.validation_reports where run_id = 9704;
select count(*) from sync.verify_entity(9704, 'clients', null, 'recREJECTCLIENT01');
select count(*) from sync.verify_entity(9704, 'clients', 'recREJECTCLIENT01', null);
select count(*) from sync.summarize_verification(9704, 'clients');
select results_eq(
  $$select validation_criteria -> 'rejected_before_staging' -> 1 ->> 'record', validation_criteria -> 'quarantined_records',
           (validation_criteria ->> 'quarantined')::int, (validation_criteria ->> 'key_ranges')::int
    from sync.validation_reports where run_id = 9704 and validation_type = 'completeness_check'$$,
  $$values ('recREJECTCLIENT02', '["(no record id)", "recREJECTCLIENT02"]'::jsonb, 2, 2)$$,
  'verified in two key ranges, the folded report lists the same rejections');

-- The validation report names them too: over the snapshot every open
-- rejection (neither record's current version is in it), for a run those
-- it rejected.
select results_eq(
  $$select d ->> 'record', d ->> 'field', d ->> 'rule', d ->> 'severity', (d ->> 'rejected_before_staging')::boolean,
           (vr.validation_criteria ->> 'rejected_before_staging')::int
    from sync.validate_entity(9704, 'clients', true) vr, jsonb_array_elements(vr.discrepancy_details) d
    where vr.validation_type = 'data_integrity' and d ? 'rejected_before_staging' order by 1$$,
  $$values ('(no record id)', null::text, 'staging', 'blocking', true, 2), ('recREJECTCLIENT02', 'Client Name', 'staging', 'blocking', true, 2)$$,
  'the validation report over the snapshot names both rejections as blocking findings (rule staging), though staging holds neither');
select results_eq(
  $$select d ->> 'record', d ->> 'field', d ->> 'reason'
    from sync.validate_entity(9703, 'clients') vr, jsonb_array_elements(vr.discrepancy_details) d
    where vr.validation_type = 'data_integrity' and d ? 'rejected_before_staging'$$,
  $$values ('recREJECTCLIENT02', 'Client Name', 'Client Name contains an unpaired UTF-16 surrogate, which is not valid Unicode')$$,
  'a run''s validation report names the record it rejected');

-- ---------------------------------------------------------------------------
-- Run 9705: client 2 fixed in Airtable, staged cleanly
-- ---------------------------------------------------------------------------
select pg_temp.stage(9705, jsonb_build_array(pg_temp.client('recREJECTCLIENT02', 'Beta Chemicals', 'fixed notes')), '[]', false);
select pg_temp.finish(9705, false);
select results_eq(
  $$select source_key, field, resolved_by_run_id from sync.record_errors where rejected_before_staging order by source_key, created_at$$,
  $$values ('(no record id)', null::text, null::bigint), ('recREJECTCLIENT02', 'Notes', 9703), ('recREJECTCLIENT02', 'Client Name', 9705)$$,
  'the run that stages the record cleanly releases its rejection; the item without a record id stays quarantined');
select results_eq(
  $$select notes, deleted_at is null from app.clients where airtable_id = 'recREJECTCLIENT02'$$,
  $$values ('fixed notes', true)$$,
  'the fixed record is merged (and restored after the full run swept it)');

select * from finish();
ROLLBACK;
