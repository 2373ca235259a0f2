-- The counts of a stage-only run (a source snapshot that merges nothing):
-- each table counts the records its listing staged, the run adds them to
-- what it read, so fetched = inserted + updated + unchanged + quarantined +
-- staged holds with true numbers; only a stage-only run may stage without
-- merging.
--
-- Runs: 9801 a stage-only full run (three records, one rejected), 9802 a
-- full run that merges (not stage-only).
BEGIN;
select plan(8);

select tests.seed_delta_mapping(entities => array['clients'], columns => array['name', 'airtable_modified_at'],
  source_id => 'appStageOnlyTest1', source_tables => '{"clients": "tblStageOnlyClnts"}');
select tests.open_run('full', 9801, '{"base_id": "appStageOnlyTest1", "stage_only": true}');
select tests.open_run('full', 9802, '{"base_id": "appStageOnlyTest1"}');
select tests.open_checkpoints(9801, 'clients');
select tests.open_checkpoints(9802, 'clients');

create function pg_temp.client(p_id text, p_name text) returns jsonb
language sql as $$
  select tests.airtable_record(p_id, jsonb_build_object('fldcRQ5EWmHA7hkmK', p_name, 'fld62rLIbyozCjTuf', '2026-11-01T00:00:00.000Z'))
$$;

-- two pages: two records, then one record and a reject
select sync.stage_page(9801, 'clients', jsonb_build_array(pg_temp.client('recSTAGEONLYCLI01', 'Alpha Labs'),
                                                          pg_temp.client('recSTAGEONLYCLI02', 'Beta Chemicals')), '[]', true, 'page2');
select sync.stage_page(9801, 'clients', jsonb_build_array(pg_temp.client('recSTAGEONLYCLI03', 'Gamma Growers')),
  '[{"source_key": "recSTAGEONLYCLI04", "field": "Client Name", "value": null, "reason": "Client Name contains a NUL character"}]', true, null);

select is(sync.count_staged_records(9801, 'clients'), 3::bigint, 'the table counts the three records its listing staged (the reject is not one of them)');
update sync.checkpoints set status = 'completed', completed_at = now() where run_id = 9801;
select results_eq(
  $$select status, fetched, staged, inserted + updated + unchanged, quarantined from sync.finish_stage_only_run(9801)$$,
  $$values ('completed', 4::bigint, 3::bigint, 0::bigint, 1::bigint)$$,
  'the run read four records: three staged and not merged, one quarantined');
select is((select count(*)::int from app.clients), 0, 'nothing was merged');
select is((select count(*)::int from staging.source_records where run_id = 9801), 3, 'the staged count is what staging holds from the run');
select results_eq(
  $$select status, fetched, staged, quarantined from sync.finish_stage_only_run(9801)$$,
  $$values ('completed', 4::bigint, 3::bigint, 1::bigint)$$,
  'finishing again counts the same');

select throws_ok($$select sync.finish_stage_only_run(9802)$$, '22023', 'run 9802 merges what it lists, not a stage-only run: sync.finish_run completes it',
  'a run that merges is finished by sync.finish_run');
select throws_ok($$update sync.runs set staged = 1, fetched = 1 where id = 9802$$, '23514', null,
  'only a stage-only run may count records staged and not merged');
select throws_ok($$update sync.runs set staged = 2 where id = 9801$$, '23514', null,
  'a completed run still accounts for every record it read');

select * from finish();
ROLLBACK;
