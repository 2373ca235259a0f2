-- A listing complete within ranges of integer keys (a legacy PostgreSQL's
-- ranges whose checksums changed) sweeps those ranges only:
-- sync.sweep_deleted_in_key_ranges soft-deletes the rows whose key (the id
-- map's, compared as a number) falls in one of the ranges and that the run
-- did not stage, closes their problems, removes their records from staging,
-- and leaves every other row alone.
-- On the example target legacy_app (keys in the id map only).
--
-- Runs: 9750 (a full pull of offices 1 to 40), 9751 (an incremental pull
-- reading ranges 0 and 2 of 16 keys: keys 0-15 and 32-47).
BEGIN;
select plan(9);

insert into sync.entity_mappings (entity, source_id, source_kind, source_table, table_name, field_ids)
values ('legacy_offices', 'postgres:test:5432/clinic', 'postgres', 'public.offices', 'public.offices',
        '{"name": "name", "city": "city", "phone": "phone", "opened_on": "opened_on"}');
select tests.open_run('full', 9750, '{"base_id": "postgres:test:5432/clinic"}');
select tests.open_run('incremental', 9751, '{"base_id": "postgres:test:5432/clinic"}');
select tests.open_checkpoints(9750, 'legacy_offices');
select tests.open_checkpoints(9751, 'legacy_offices');

create function pg_temp.offices(p_from int, p_to int) returns jsonb
language sql as $$
  select jsonb_agg(tests.airtable_record(i::text, jsonb_build_object('name', 'Office ' || i, 'city', 'Springfield', 'phone', null, 'opened_on', '2001-02-03')) order by i)
  from generate_series(p_from, p_to) i
$$;
select lives_ok(
  $$select sync.stage_page(9750, 'legacy_offices', pg_temp.offices(1, 40), '[]', true, null); select sync.merge_entity(9750, 'legacy_offices')$$,
  'a full pull lands offices 1 to 40');
-- a problem on office 12, which will be gone
insert into sync.field_problems (entity, source_table, source_key, field, column_name, rule, origin, value, landed, reason, run_id)
values ('legacy_offices', 'public.offices', '12', 'phone', 'phone', 'trimmed', 'rule', '" 555 "', 'kept', 'must not start or end with white space', 9750);

-- The incremental pull read ranges 0 and 2 again: offices 1 to 10 and 32 to 35 are there (marked seen), the rest of those ranges is gone.
select lives_ok(
  $$select sync.stage_page(9751, 'legacy_offices', pg_temp.offices(1, 10) || pg_temp.offices(32, 35), '[]', true, null)$$,
  'the pull stages what the two ranges still hold');
select is(sync.sweep_deleted_in_key_ranges(9751, 'legacy_offices', 16, '[0, 2]'), 10::bigint,
  'the sweep of the two ranges soft-deletes the 10 rows they no longer hold (11 to 15, 36 to 40)');
select results_eq(
  $$select k.legacy_id::int from legacy_app.offices t join sync.id_map k on k.entity_type = 'legacy_offices' and k.uuid_id = t.id
    where t.deleted_at is not null order by 1$$,
  $$values (11), (12), (13), (14), (15), (36), (37), (38), (39), (40)$$,
  'exactly those rows, found through the id map');
select is((select count(*)::int from legacy_app.offices where deleted_at is null), 30,
  'offices 16 to 31, outside the ranges and not read, are not touched');
select is((select resolved_by_run_id from sync.field_problems where entity = 'legacy_offices' and source_key = '12'), 9751::bigint,
  'the open problem of a swept row is closed by the run');
select is((select metadata ->> 'deleted' from sync.checkpoints where run_id = 9751 and entity_type = 'legacy_offices'), '10',
  'the checkpoint counts the rows swept');
select results_eq(
  $$select source_key::int from staging.source_records where source_table = 'public.offices' order by 1$$,
  $$select i from generate_series(1, 40) i where i not between 11 and 15 and i not between 36 and 40$$,
  'the swept rows'' records leave staging (gone from the source); every other record stays');
select throws_ok($$select sync.sweep_deleted_in_key_ranges(9751, 'legacy_offices', 0, '[0]')$$, '22023', null,
  'a range of no keys is refused');

select * from finish();
ROLLBACK;
