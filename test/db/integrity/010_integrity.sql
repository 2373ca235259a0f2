-- Proof of integrity in SQL, with planted records: canonical cell values,
-- record and table checksums (source in staging, target rebuilt from app),
-- verification (completeness, integrity with the differing fields,
-- relationships), and rollback of a run from the audit trail (refused when
-- rows changed since, forced, checksums back to those before the run).
--
-- Runs: 9201 full (three clients), 9202 incremental (one edited, one new),
-- 9203 the rollback of 9202, 9204 a verify run.
BEGIN;
select plan(33);

-- ---------------------------------------------------------------------------
-- Canonical cells and checksums
-- ---------------------------------------------------------------------------
select is(sync.cell_canonical('"2026-01-05"', 'date'), '"2026-01-05"'::jsonb, 'a date cell is canonical as an ISO date');
select is(sync.cell_canonical('"2026-11-20T10:00:00.000Z"', 'timestamp'), '"2026-11-20T10:00:00"'::jsonb,
  'a timestamp cell is canonical in UTC without zone, whatever the session time zone');
set local timezone = 'America/New_York';
select is(sync.cell_canonical('"2026-11-20T10:00:00.000Z"', 'timestamp'), '"2026-11-20T10:00:00"'::jsonb,
  'the same in another session time zone');
reset timezone;
select is(sync.cell_canonical('1500', 'money'), '1500.00'::jsonb, 'money is canonical rounded to cents');
select is(sync.cell_canonical('["recPRODUCT0000001", "recPRODUCT0000002"]', 'link'), '"recPRODUCT0000001"'::jsonb,
  'a link is canonical as its first record id, as the merge stores it');
select is(sync.cell_canonical(null, 'checkbox'), 'false'::jsonb, 'an absent checkbox is canonical false, as the merge stores it');
select is(sync.cell_canonical('{"id": "usrX", "email": "x@example.com"}', 'collaborator'), '"usrX"'::jsonb,
  'a collaborator is canonical as the Airtable user id');
select is(sync.cell_canonical('"not a date"', 'date'), null, 'a cell that does not convert is null');
select is(sync.table_checksum(array['a' || repeat('0', 63), 'b' || repeat('1', 63)]),
          sync.table_checksum(array['b' || repeat('1', 63), 'a' || repeat('0', 63)]),
  'the table checksum does not depend on order');
select isnt(sync.table_checksum(array['a' || repeat('0', 63)]), sync.table_checksum(array['a' || repeat('0', 62) || '1']),
  'the table checksum changes with any record checksum');

-- ---------------------------------------------------------------------------
-- Fixtures: the clients mapping, run 9201 (full) staged and merged
-- ---------------------------------------------------------------------------
select tests.seed_delta_mapping(entities => array['clients']);

select tests.open_run('full', 9201, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('incremental', 9202, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('rollback', 9203, '{"rolls_back": 9202}');
select tests.open_run('verify', 9204);
select tests.open_checkpoints(9201, 'clients');
select tests.open_checkpoints(9202, 'clients');

create function pg_temp.client(p_id text, p_name text, p_budget numeric, p_since text) returns jsonb
language sql as $$
  select tests.airtable_record(p_id, jsonb_strip_nulls(jsonb_build_object('fldcRQ5EWmHA7hkmK', p_name, 'fldAaSynzxQzeTNAI', p_budget, 'fldOKlvaggwBuA1DW', p_since,
                                                                         'fld62rLIbyozCjTuf', '2026-11-01T00:00:00.000Z')))
$$;

select sync.stage_page(9201, 'clients', jsonb_build_array(
  pg_temp.client('recINTEGRITY00001', 'Alpha Labs', 1000, '2020-02-01'),
  pg_temp.client('recINTEGRITY00002', 'Beta Chemicals', 2500.5, '2021-03-04'),
  pg_temp.client('recINTEGRITY00003', 'Gamma Growers', null, null)), '[]', true, null);
select sync.merge_clients(9201);
select sync.sweep_deleted(9201, 'clients');
update sync.checkpoints set status = 'completed', completed_at = now() where run_id = 9201;
select sync.finish_run(9201);

select is(
  (select count(*)::int from staging.source_records where run_id = 9201 and checksum ~ '^[0-9a-f]{64}$'), 3,
  'stage_page stores a SHA-256 checksum with every record');
select is(sync.source_snapshot_run('clients'), 9201::bigint, 'the latest source snapshot is run 9201, the last completed full run');
select set_eq(
  $$select column_name, field_id, conversion, linked_table::text from sync.mapped_columns('clients') where column_name in ('name', 'annual_budget', 'client_since', 'account_manager_id')$$,
  $$values ('name', 'fldcRQ5EWmHA7hkmK', 'text', null::text), ('annual_budget', 'fldAaSynzxQzeTNAI', 'money', null),
           ('client_since', 'fldOKlvaggwBuA1DW', 'date', null), ('account_manager_id', 'fldIcvtGQXI6ZQK25', 'collaborator', null)$$,
  'the mapped columns of clients: each with its Airtable field id and its conversion');
select is((select count(*)::int from sync.mapped_columns('clients')), 14, 'every column the mapping fills, and no other');
select results_eq(
  $$select sc.canonical ->> 'name', sc.canonical -> 'annual_budget', sc.canonical ->> 'client_since', sync.checksum(sc.canonical) = s.checksum
    from sync.source_canonical('clients', array['recINTEGRITY00002']) sc
    join staging.source_records s on s.source_table = 'tblZaclZULDATjmXm' and s.source_key = sc.source_key$$,
  $$values ('Beta Chemicals', '2500.50'::jsonb, '2021-03-04', true)$$,
  'a staged record''s canonical form rebuilt from its fields: values converted as the merge converts them, and its SHA-256 is the checksum stored when it was staged');
select set_eq(
  $$select source_key, source_checksum = target_checksum from sync.compare_records('clients')$$,
  $$values ('recINTEGRITY00001', true), ('recINTEGRITY00002', true), ('recINTEGRITY00003', true)$$,
  'record by record, the checksum rebuilt from each app row equals the one staged for its record');
select is((select source_checksum = target_checksum and source_records = 3 and target_records = 3 from sync.entity_checksums('clients')), true,
  'the whole-table checksums of source and target are equal');
select results_eq(
  $$select validation_type, validation_passed, discrepancies_found from sync.verify_entity(9204, 'clients') order by validation_type$$,
  $$values ('completeness_check', true, 0), ('data_integrity', true, 0), ('relationship_integrity', true, 0)$$,
  'a faithful migration verifies clean: three passed reports');

-- ---------------------------------------------------------------------------
-- Planted discrepancies in the target
-- ---------------------------------------------------------------------------
update app.clients set name = 'Alpha Labs Inc', annual_budget = 999 where airtable_id = 'recINTEGRITY00001';
update app.clients set deleted_at = now() where airtable_id = 'recINTEGRITY00003';
insert into app.clients (airtable_id, name) values ('recINTEGRITYSTRAY', 'Stray Row');
delete from sync.validation_reports where run_id = 9204;
select results_eq(
  $$select validation_type, validation_passed, discrepancies_found from sync.verify_entity(9204, 'clients') order by validation_type$$,
  $$values ('completeness_check', false, 2), ('data_integrity', false, 2), ('relationship_integrity', true, 0)$$,
  'verification finds the planted problems: two completeness and two integrity discrepancies');
select results_eq(
  $$select d ->> 'record', d ->> 'rule' from sync.validation_reports, jsonb_array_elements(discrepancy_details) d
    where run_id = 9204 and validation_type = 'completeness_check' order by 1$$,
  $$values ('recINTEGRITY00003', 'in the source but deleted in the target'),
           ('recINTEGRITYSTRAY', 'in the target but not in the source snapshot')$$,
  'completeness names the record deleted in the target and the row the source does not have');
select results_eq(
  $$select d ->> 'record', d ->> 'field', d -> 'source_value', d -> 'value' from sync.validation_reports, jsonb_array_elements(discrepancy_details) d
    where run_id = 9204 and validation_type = 'data_integrity' order by 2$$,
  $$values ('recINTEGRITY00001', 'annual_budget', '1000.00'::jsonb, '999.00'::jsonb),
           ('recINTEGRITY00001', 'name', '"Alpha Labs"'::jsonb, '"Alpha Labs Inc"'::jsonb)$$,
  'integrity names the record, each differing field, and both values');
select is((select source_checksum <> target_checksum from sync.entity_checksums('clients')), true,
  'the whole-table checksums now differ');
-- put the target back for the rollback part
update app.clients set name = 'Alpha Labs', annual_budget = 1000 where airtable_id = 'recINTEGRITY00001';
update app.clients set deleted_at = null where airtable_id = 'recINTEGRITY00003';
delete from app.clients where airtable_id = 'recINTEGRITYSTRAY';

-- ---------------------------------------------------------------------------
-- Rollback of run 9202 (an edit and a new record)
-- ---------------------------------------------------------------------------
create temp table before_9202 as select target_checksum from sync.entity_checksums('clients');
select sync.stage_page(9202, 'clients', jsonb_build_array(
  pg_temp.client('recINTEGRITY00002', 'Beta Chemicals Worldwide', 2500.5, '2021-03-04'),
  pg_temp.client('recINTEGRITY00004', 'Delta Farms', 10, '2022-01-01')), '[]', false, null);
select sync.merge_clients(9202);
update sync.checkpoints set status = 'completed', completed_at = now() where run_id = 9202;
select sync.finish_run(9202);
select isnt((select target_checksum from sync.entity_checksums('clients')), (select target_checksum from before_9202),
  'run 9202 changed the target');

-- a user edits the row run 9202 updated (outside any run: the merges'
-- transaction-local run id is cleared, as it is in a new transaction)
select set_config('airlift.run_id', '', true);
set local airlift.actor = 'dba@delta';
update app.clients set notes = 'called them' where airtable_id = 'recINTEGRITY00002';
reset airlift.actor;
select results_eq(
  $$select table_name, changed_by, change_run_id from sync.rollback_conflicts(9202)$$,
  $$values ('app.clients', 'dba@delta', null::bigint)$$,
  'rollback_conflicts names the row changed since, and who changed it');
select throws_like($$select * from sync.rollback_run(9203, 9202)$$,
  'run 9202 cannot be rolled back: 1 row(s) it changed were changed again since',
  'rollback refuses when a row the run changed was changed since');
select is((select status from sync.runs where id = 9202), 'completed', 'the refused rollback left the run as it was');

select results_eq(
  $$select table_name, removed, restored from sync.rollback_run(9203, 9202, true) order by table_name$$,
  $$values ('app.clients', 1::bigint, 1::bigint), ('sync.id_map', 1::bigint, 1::bigint)$$,
  'a forced rollback removes the inserted client and its id map entry, and restores the updated ones');
select is((select target_checksum from sync.entity_checksums('clients')), (select target_checksum from before_9202),
  'after the rollback the target table checksum equals the one from before run 9202');
select results_eq(
  $$select name, notes from app.clients where airtable_id = 'recINTEGRITY00002'$$,
  $$values ('Beta Chemicals', null::text)$$,
  'the updated row has its values from before the run (the later user edit is overwritten, as forced)');
select is((select count(*)::int from app.clients where airtable_id = 'recINTEGRITY00004'), 0, 'the inserted row is gone');
select results_eq(
  $$select status, (metadata ->> 'rolled_back_by_run')::bigint, (metadata ->> 'forced')::boolean from sync.runs where id = 9202$$,
  $$values ('rolled_back', 9203::bigint, true)$$,
  'the run is marked rolled back, by which run, and that it was forced');
select results_eq(
  $$select op, count(*)::int from audit.changes where run_id = 9203 and table_name = 'app.clients' group by op order by op$$,
  $$values ('DELETE', 1), ('UPDATE', 1)$$,
  'the rollback is audited as its own run');
select throws_ok($$select * from sync.rollback_run(9203, 9204)$$, '55000', null,
  'a run still running cannot be rolled back');

select * from finish();
ROLLBACK;
