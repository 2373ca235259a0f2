-- Differentials in SQL, with planted records: the target-checksum trigger
-- (sync.tg__maintain_target_checksums on the synced app tables) and
-- sync.target_checksums, sync.refresh_target_checksums,
-- sync.compute_differentials (missing, conflicted, deleted; quarantine left
-- out; key ranges) and sync.resolve_differentials (source_wins, target_wins,
-- skip, manual_review), and what the sync role may call.
--
-- Runs: 9450 full (first pull of the clients), 9451 full (the latest source
-- snapshot: two records quarantined, one record gone), 9452 incremental (a
-- record staged, never merged), 9453 differential (computed and resolved
-- source_wins, then finished), 9454 differential (finds nothing), 9455 /
-- 9456 / 9457 differential (target_wins / skip / manual_review), 9458
-- differential (by the sync role), 9459 differential (finds nothing), 9460
-- differential (key ranges only, never resolved).
-- Record ids are rec + exactly 14 letters or digits.
BEGIN;
select plan(71);

-- ---------------------------------------------------------------------------
-- Fixtures: the clients and state regulators mappings (field ids from
-- mappings/delta.json), and helpers that read the stored checksums and
-- rebuild them from the app rows (sync.target_canonical_sql).
-- ---------------------------------------------------------------------------
select tests.seed_delta_mapping(entities => array['clients', 'state_regulators']);

-- The entries sync.target_checksums holds for an entity ...
create function pg_temp.stored(p_entity text) returns table (source_key text, row_id uuid, checksum text, deleted boolean)
language sql as $$
  select c.source_key, c.row_id, c.checksum, c.deleted from sync.target_checksums c where c.entity = p_entity
$$;
-- ... and the ones rebuilt now from its app rows.
create function pg_temp.rebuilt(p_entity text) returns table (source_key text, row_id uuid, checksum text, deleted boolean)
language plpgsql as $$
begin
  return query execute format('select t.source_key, t.id, sync.checksum(t.canonical), t.deleted_at is not null from (%s) t',
                              sync.target_canonical_sql(p_entity));
end;
$$;

-- ---------------------------------------------------------------------------
-- The trigger: every write to a synced app table keeps sync.target_checksums
-- equal to the checksums rebuilt from the rows
-- ---------------------------------------------------------------------------
select results_eq(
  $$select t.tgrelid::regclass::text, count(*)::int, bool_and(t.tgenabled = 'A'), bool_and(t.tgtype & 1 = 0),
           bool_and(t.tgfoid = 'sync.tg__maintain_target_checksums()'::regprocedure)
    from pg_trigger t where t.tgname like '\_800\_target\_checksums\_%' group by 1 order by 1$$,
  $$select * from (values ('app.clients', 4, true, true, true), ('app.products', 4, true, true, true),
           ('app.registrations', 4, true, true, true), ('app.state_regulators', 4, true, true, true)) v
    union all select t, 4, true, true, true from tests.example_target_tables() t order by 1$$,
  'each synced table (app''s and the examples'') has the four statement-level checksum triggers (insert, update, delete, truncate), enabled always');

insert into app.clients (airtable_id, name, annual_budget) values
  ('recTRIGGERROW0001', 'Trigger One', 100),
  ('recTRIGGERROW0002', 'Trigger Two', null),
  ('recTRIGGERROW0003', 'Trigger Three', 3.5),
  (null, 'Local Only', 7);
select results_eq(
  $$select source_key from sync.target_checksums where entity = 'clients' order by 1$$,
  $$values ('recTRIGGERROW0001'), ('recTRIGGERROW0002'), ('recTRIGGERROW0003')$$,
  'a multi-row insert stores one entry per row that has an Airtable id');
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'after the insert each entry holds the row id, the deleted flag and sync.checksum of the row''s canonical form');
select is_empty(
  $$select from sync.target_checksums c join app.clients t on t.id = c.row_id where t.name = 'Local Only'$$,
  'a row without airtable_id is not tracked');

create temp table checksums_before as select source_key, checksum from sync.target_checksums where entity = 'clients';
update app.clients set notes = 'called' where airtable_id in ('recTRIGGERROW0001', 'recTRIGGERROW0002');
update app.clients set name = 'Trigger One Renamed' where airtable_id = 'recTRIGGERROW0001';
update app.clients set notes = 'not tracked' where airtable_id is null;
select results_eq(
  $$select c.source_key, c.checksum <> b.checksum from sync.target_checksums c join checksums_before b using (source_key)
    where c.entity = 'clients' order by 1$$,
  $$values ('recTRIGGERROW0001', true), ('recTRIGGERROW0002', true), ('recTRIGGERROW0003', false)$$,
  'updates change the checksums of exactly the rows they changed');
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'after the updates every entry equals the checksum rebuilt from its row');

update app.clients set deleted_at = now() where airtable_id = 'recTRIGGERROW0002';
select results_eq(
  $$select c.deleted, c.checksum = r.checksum from sync.target_checksums c join pg_temp.rebuilt('clients') r using (source_key)
    where c.entity = 'clients' and c.source_key = 'recTRIGGERROW0002'$$,
  $$values (true, true)$$,
  'a soft delete keeps the entry, marked deleted, with the row''s checksum');

update app.clients set airtable_id = 'recTRIGGERROW0004' where airtable_id = 'recTRIGGERROW0003';
select results_eq(
  $$select c.source_key, c.row_id = t.id from sync.target_checksums c join app.clients t on t.name = 'Trigger Three'
    where c.entity = 'clients' and c.source_key in ('recTRIGGERROW0003', 'recTRIGGERROW0004')$$,
  $$values ('recTRIGGERROW0003', true)$$,
  'identity is the id map''s: a rewritten airtable_id does not move the entry, still filed under the key the row was mapped with');
update app.clients set airtable_id = null where airtable_id = 'recTRIGGERROW0004';
select results_eq(
  $$select c.source_key from sync.target_checksums c join app.clients t on t.id = c.row_id where t.name = 'Trigger Three'$$,
  $$values ('recTRIGGERROW0003')$$,
  'nor does clearing airtable_id: the row keeps its entry under its mapped key');
update app.clients set airtable_id = 'recTRIGGERROW0005' where name = 'Trigger Three';
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'a row given an airtable_id is tracked again; every entry still equals its rebuilt checksum');

-- a plain application role: writes app rows, has no privilege on sync tables
set local role airlift_app;
insert into app.clients (airtable_id, name) values ('recTRIGGERROW0006', 'Written By The App');
update app.clients set phone = '+1 555 0106', annual_budget = 60 where airtable_id = 'recTRIGGERROW0006';
select throws_ok($$insert into sync.target_checksums (entity, source_key, row_id, checksum, deleted)
                   values ('clients', 'recTRIGGERROW0009', gen_random_uuid(), repeat('0', 64), false)$$,
  '42501', null, 'airlift_app cannot write sync.target_checksums itself');
reset role;
select results_eq(
  $$select c.checksum = r.checksum, c.row_id = r.row_id from sync.target_checksums c join pg_temp.rebuilt('clients') r using (source_key)
    where c.entity = 'clients' and c.source_key = 'recTRIGGERROW0006'$$,
  $$values (true, true)$$,
  'a row inserted and updated by airlift_app is tracked with its current checksum (the security definer trigger writes the entry)');

-- replica mode (as a logical replication apply or a bulk load runs) does not bypass the trigger
set local session_replication_role = replica;
update app.clients set notes = 'replicated' where airtable_id = 'recTRIGGERROW0006';
reset session_replication_role;
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'a write in session_replication_role replica still rebuilds the entry (enable always)');

delete from app.clients where name like 'Trigger%' or name = 'Written By The App';
select is_empty($$select from sync.target_checksums where entity = 'clients'$$,
  'a hard delete removes the entries of the deleted rows');

-- an entity without a mapping yet (products): its rows are written as usual and not tracked
select lives_ok($$insert into app.products (airtable_id, name) values ('recDIFFPRODUCT001', 'Unmapped Spray')$$,
  'a write to a synced table whose entity has no mapping yet is not refused by the trigger');
select is_empty($$select from sync.target_checksums where entity = 'products'$$,
  '... and stores no entry for it');
delete from app.products where airtable_id = 'recDIFFPRODUCT001';

-- truncate forgets the truncated entity's entries, and only those
insert into app.clients (airtable_id, name) values ('recTRIGGERROW0007', 'Survives The Truncate');
insert into app.state_regulators (airtable_id, agency_name) values
  ('recDIFFREGULATOR8', 'Regulator Eight'), ('recDIFFREGULATOR9', 'Regulator Nine');
select results_eq(
  $$select entity, count(*)::int from sync.target_checksums group by entity order by entity$$,
  $$values ('clients', 1), ('state_regulators', 2)$$,
  'the state regulators inserted are tracked under their own entity');
truncate app.state_regulators cascade;
select results_eq(
  $$select entity, count(*)::int from sync.target_checksums group by entity order by entity$$,
  $$values ('clients', 1)$$,
  'truncate removes every entry of the truncated entity and leaves the other entities'' entries');

-- refresh: nothing to do when the trigger kept the table right; repairs
select is(sync.refresh_target_checksums('clients'), 0::bigint, 'refresh_target_checksums finds nothing to repair');
update sync.target_checksums set checksum = repeat('0', 64) where entity = 'clients' and source_key = 'recTRIGGERROW0007';
select is(sync.refresh_target_checksums('clients'), 1::bigint, 'refresh_target_checksums repairs a tampered checksum and says so');
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'after the refresh the tampered entry equals the checksum rebuilt from its row');
delete from sync.target_checksums where entity = 'clients' and source_key = 'recTRIGGERROW0007';
insert into sync.target_checksums (entity, source_key, row_id, checksum, deleted)
values ('clients', 'recBOGUSENTRY0001', gen_random_uuid(), repeat('a', 64), false);
select is(sync.refresh_target_checksums('clients'), 2::bigint,
  'refresh_target_checksums adds a missing entry and removes the entry of a row that does not exist: 2');
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'after that refresh the entries equal the rebuilt checksums again');
delete from app.clients where airtable_id = 'recTRIGGERROW0007';

-- ---------------------------------------------------------------------------
-- Fixtures for differentials: runs 9450 and 9451 (full), 9452 (incremental)
-- ---------------------------------------------------------------------------
select tests.open_run('full', 9450, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('full', 9451, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('incremental', 9452, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('differential', 9453);
select tests.open_run('differential', 9454);
select tests.open_run('differential', 9455);
select tests.open_run('differential', 9456);
select tests.open_run('differential', 9457);
select tests.open_run('differential', 9458);
select tests.open_run('differential', 9459);
select tests.open_run('differential', 9460);
select tests.open_checkpoints(9450, 'clients');
select tests.open_checkpoints(9451, 'clients', 'state_regulators');
select tests.open_checkpoints(9452, 'clients');

create function pg_temp.client(p_id text, p_name text, p_budget numeric, p_since text) returns jsonb
language sql as $$
  select tests.airtable_record(p_id, jsonb_strip_nulls(jsonb_build_object('fldcRQ5EWmHA7hkmK', p_name, 'fldAaSynzxQzeTNAI', p_budget, 'fldOKlvaggwBuA1DW', p_since,
                                                                         'fld62rLIbyozCjTuf', '2026-11-01T00:00:00.000Z')))
$$;

-- a blocking rule keeps a client without a name out (quarantined); other
-- problems land the record, flagged
insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, severity, validation_type, origin, description) values
  ('clients.name.present', 'clients', 'name', 'required', '{}', 'blocking', 'data_integrity', 'sql', 'is required');

-- 9450: the first pull
select sync.stage_page(9450, 'clients', jsonb_build_array(
  pg_temp.client('recDIFFCLIENT0001', 'Alpha Labs', 1000, '2020-02-01'),
  pg_temp.client('recDIFFCLIENT0002', 'Beta Chemicals', 2500.5, '2021-03-04'),
  pg_temp.client('recDIFFCLIENT0003', 'Gamma Growers', null, null),
  pg_temp.client('recDIFFCLIENT0004', 'Delta Farms', 10, '2022-01-01'),
  pg_temp.client('recDIFFCLIENT0006', 'Zeta Supply', 60, '2020-06-06'),
  pg_temp.client('recDIFFCLIENT0008', 'Theta Gone', null, null)), '[]', true, null);
select sync.merge_clients(9450);
update sync.checkpoints set status = 'completed', completed_at = now() where run_id = 9450;
select sync.finish_run(9450);

-- 9451: the latest snapshot. 0005 (no name, a blocking rule) is
-- quarantined; 0006 (an impossible date) lands with the date empty and the
-- problem recorded; 0008 is gone from the source (no sweep ran, so its
-- target row is still live).
select sync.stage_page(9451, 'clients', jsonb_build_array(
  pg_temp.client('recDIFFCLIENT0001', 'Alpha Labs', 1000, '2020-02-01'),
  pg_temp.client('recDIFFCLIENT0002', 'Beta Chemicals', 2500.5, '2021-03-04'),
  pg_temp.client('recDIFFCLIENT0003', 'Gamma Growers', null, null),
  pg_temp.client('recDIFFCLIENT0004', 'Delta Farms', 10, '2022-01-01'),
  pg_temp.client('recDIFFCLIENT0005', null, 50, null),
  pg_temp.client('recDIFFCLIENT0006', 'Zeta Supply', 60, '2026-02-30')), '[]', true, null);
select sync.stage_page(9451, 'state_regulators',
  '[{"id": "recDIFFREGULATOR1", "created_time": "2026-01-01T00:00:00.000Z", "hash": "1111111111111111111111111111111111111111111111111111111111111111",
     "fields": {"fldtmASk12fGsd6OS": "Kansas Department of Agriculture", "fldvJBbLeJT9yad38": "KS"}},
    {"id": "recDIFFREGULATOR2", "created_time": "2026-01-01T00:00:00.000Z", "hash": "2222222222222222222222222222222222222222222222222222222222222222",
     "fields": {"fldtmASk12fGsd6OS": "Ohio Department of Agriculture", "fldvJBbLeJT9yad38": "OH", "fldoQh2Z9dzm14DkC": 6}}]', '[]', true, null);
select sync.merge_clients(9451);
select sync.merge_state_regulators(9451);
update sync.checkpoints set status = 'completed', completed_at = now() where run_id = 9451;
select sync.finish_run(9451);

-- 9452: an incremental run stages a new record and is never merged
select sync.stage_page(9452, 'clients', jsonb_build_array(
  pg_temp.client('recDIFFCLIENT0007', 'Eta Chemicals', 70, '2023-07-07')), '[]', false, null);

-- Edits in PostgreSQL, outside any run
select set_config('airlift.run_id', '', true);
update app.clients set name = 'Beta Edited', annual_budget = 1 where airtable_id = 'recDIFFCLIENT0002';
update app.clients set deleted_at = now() where airtable_id = 'recDIFFCLIENT0003';
delete from app.clients where airtable_id = 'recDIFFCLIENT0004';
insert into app.clients (airtable_id, name) values ('recDIFFCLIENT0009', 'Iota Stray');
insert into app.clients (airtable_id, name, deleted_at) values ('recDIFFCLIENT0010', 'Kappa Deleted Stray', now());

select is(sync.source_snapshot_run('clients'), 9451::bigint, 'the latest source snapshot of the clients is run 9451');
select results_eq(
  $$select source_key, 'quarantined' from sync.record_errors where resolved_at is null and source_table = 'tblZaclZULDATjmXm'
    union all select source_key, rule from sync.field_problems where resolved_at is null and entity = 'clients' order by 1$$,
  $$values ('recDIFFCLIENT0005', 'quarantined'), ('recDIFFCLIENT0006', 'cell_conversion')$$,
  'fixture: record 0005 is quarantined, 0006 landed with its impossible date flagged');
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'the merges (insert ... on conflict) and the edits kept every clients entry equal to its rebuilt checksum');
select results_eq(
  $$select sync.refresh_target_checksums('clients'), sync.refresh_target_checksums('state_regulators')$$,
  $$values (0::bigint, 0::bigint)$$,
  'refresh_target_checksums has nothing to repair after the merges, for either entity');

-- ---------------------------------------------------------------------------
-- compute_differentials
-- ---------------------------------------------------------------------------
create temp table computed_9453 as select * from sync.compute_differentials(9453, 'clients');
select results_eq(
  $$select comparison_type, legacy_ids, record_count from computed_9453 order by comparison_type$$,
  $$values ('conflicted_records', '["recDIFFCLIENT0002"]'::jsonb, 1),
           ('deleted_records', '["recDIFFCLIENT0008", "recDIFFCLIENT0009"]'::jsonb, 2),
           ('missing_records', '["recDIFFCLIENT0003", "recDIFFCLIENT0004", "recDIFFCLIENT0007"]'::jsonb, 3)$$,
  'one row per comparison type: conflicted (edited here), deleted (gone from the snapshot / never in it), missing (soft-deleted, hard-deleted, never merged), ids sorted, counts matching');
select results_eq(
  $$select comparison_type, source_table, target_table, resolution_strategy, resolved, resolved_at, record_count
    from sync.data_differentials where run_id = 9453 order by comparison_type$$,
  $$select comparison_type, 'tblZaclZULDATjmXm', 'app.clients', 'source_wins', false, null::timestamptz, record_count
    from computed_9453 order by comparison_type$$,
  'the rows returned are stored in sync.data_differentials under the run: source and target table, unresolved, default strategy source_wins');
select is_empty(
  $$select from sync.data_differentials d, jsonb_array_elements_text(d.legacy_ids) as x (legacy_id)
    where d.run_id = 9453 and x.legacy_id in ('recDIFFCLIENT0001', 'recDIFFCLIENT0005', 'recDIFFCLIENT0006', 'recDIFFCLIENT0010')$$,
  'left out: the unchanged record, the quarantined record, the record that landed with a problem (its emptied date counts as the source value), a row soft-deleted here and absent from the source');
select is(
  (select metadata from computed_9453 where comparison_type = 'conflicted_records'),
  '{"fields": {"recDIFFCLIENT0002": {"name": {"source": "Beta Chemicals", "target": "Beta Edited"},
                                      "annual_budget": {"source": 2500.50, "target": 1.00}}}}'::jsonb,
  'the conflicted row names each differing field of each record with the source and the target value');
select results_eq(
  $$select comparison_type, metadata from computed_9453 where comparison_type <> 'conflicted_records' order by 1$$,
  $$values ('deleted_records', '{}'::jsonb), ('missing_records', '{}'::jsonb)$$,
  'the other rows carry no field details');
select results_eq(
  $$select distinct comparison_criteria ->> 'entity', comparison_criteria ->> 'key', (comparison_criteria ->> 'source_snapshot_run')::bigint,
                    comparison_criteria -> 'after_key', comparison_criteria -> 'upto_key'
    from computed_9453$$,
  $$values ('clients', 'source_key', 9451::bigint, 'null'::jsonb, 'null'::jsonb)$$,
  'the criteria name the entity, the key, the snapshot run and open key bounds');

-- key ranges (after_key, upto_key]: both sides restricted
select results_eq(
  $$select comparison_type, legacy_ids, record_count
    from sync.compute_differentials(9460, 'clients', 'recDIFFCLIENT0002', 'recDIFFCLIENT0008') order by 1$$,
  $$values ('deleted_records', '["recDIFFCLIENT0008"]'::jsonb, 1),
           ('missing_records', '["recDIFFCLIENT0003", "recDIFFCLIENT0004", "recDIFFCLIENT0007"]'::jsonb, 3)$$,
  'range (0002, 0008]: the lower bound is exclusive (no conflict on 0002), the upper inclusive (0008 deleted, 0009 not)');
select results_eq(
  $$select comparison_type, legacy_ids from sync.compute_differentials(9460, 'clients', null, 'recDIFFCLIENT0003') order by 1$$,
  $$values ('conflicted_records', '["recDIFFCLIENT0002"]'::jsonb), ('missing_records', '["recDIFFCLIENT0003"]'::jsonb)$$,
  'range (-, 0003]: an open lower bound');
select results_eq(
  $$select comparison_type, legacy_ids from sync.compute_differentials(9460, 'clients', 'recDIFFCLIENT0008', null) order by 1$$,
  $$values ('deleted_records', '["recDIFFCLIENT0009"]'::jsonb)$$,
  'range (0008, -): an open upper bound, the target side restricted too');
select is_empty($$select * from sync.compute_differentials(9460, 'clients', 'recDIFFCLIENT0004', 'recDIFFCLIENT0006')$$,
  'a range holding only unchanged, quarantined and flagged records finds nothing');
select results_eq(
  $$select comparison_criteria ->> 'after_key', comparison_criteria ->> 'upto_key', record_count from sync.data_differentials
    where run_id = 9460 order by 1 nulls first, 2 nulls last, 3$$,
  $$values (null, 'recDIFFCLIENT0003', 1), (null, 'recDIFFCLIENT0003', 1),
           ('recDIFFCLIENT0002', 'recDIFFCLIENT0008', 1), ('recDIFFCLIENT0002', 'recDIFFCLIENT0008', 3),
           ('recDIFFCLIENT0008', null, 1)$$,
  'each range''s rows are stored with its bounds; the empty range stored nothing');
select is_empty($$select * from sync.compute_differentials(9460, 'state_regulators')$$,
  'an entity whose target matches its snapshot has no differential');
select is_empty($$select from sync.data_differentials where run_id = 9460 and source_table = 'tbljwculB4C3VOXW3'$$,
  '... and stores nothing');
select throws_ok($$select * from sync.compute_differentials(9460, 'invoices')$$, '42704', 'no mapping for entity invoices',
  'compute_differentials for an unknown entity raises undefined_object');
select throws_ok($$select * from sync.compute_differentials(9460, 'products')$$, '42704', 'no mapping for entity products',
  'compute_differentials for an entity without a mapping raises undefined_object');

-- ---------------------------------------------------------------------------
-- resolve_differentials: source_wins (run 9453)
-- ---------------------------------------------------------------------------
create temp table audit_9453_before as select count(*) as n from audit.changes where run_id = 9453;
select results_eq(
  $$select * from sync.resolve_differentials(9453, 'clients', 'source_wins')$$,
  $$values ('conflicted_records', 1::bigint, 'the source''s values merged over the target''s'),
           ('deleted_records', 2::bigint, 'soft-deleted in the target'),
           ('missing_records', 3::bigint, 'merged from the source')$$,
  'source_wins returns what it did per comparison type, with the record counts');
select results_eq(
  $$select airtable_id, name, annual_budget, deleted_at is null from app.clients where airtable_id like 'recDIFFCLIENT%' order by 1$$,
  $$values ('recDIFFCLIENT0001', 'Alpha Labs', 1000.00::numeric(12,2), true),
           ('recDIFFCLIENT0002', 'Beta Chemicals', 2500.50::numeric(12,2), true),
           ('recDIFFCLIENT0003', 'Gamma Growers', null::numeric(12,2), true),
           ('recDIFFCLIENT0004', 'Delta Farms', 10.00::numeric(12,2), true),
           ('recDIFFCLIENT0006', 'Zeta Supply', 60.00::numeric(12,2), true),
           ('recDIFFCLIENT0007', 'Eta Chemicals', 70.00::numeric(12,2), true),
           ('recDIFFCLIENT0008', 'Theta Gone', null::numeric(12,2), false),
           ('recDIFFCLIENT0009', 'Iota Stray', null::numeric(12,2), false),
           ('recDIFFCLIENT0010', 'Kappa Deleted Stray', null::numeric(12,2), false)$$,
  'source_wins: the conflicted values restored, the soft-deleted row restored, the hard-deleted and never-merged rows inserted, the deleted ones soft-deleted; the flagged record 0006 and the rest untouched, the quarantined 0005 still out');
select is((select client_since from app.clients where airtable_id = 'recDIFFCLIENT0004'), '2022-01-01'::date,
  'the re-inserted row has the source''s values');
select results_eq(
  $$select coalesce(new_values ->> 'airtable_id', old_values ->> 'airtable_id'), op from audit.changes
    where run_id = 9453 and table_name = 'app.clients' order by 1, 2$$,
  $$values ('recDIFFCLIENT0002', 'UPDATE'), ('recDIFFCLIENT0003', 'UPDATE'), ('recDIFFCLIENT0004', 'INSERT'),
           ('recDIFFCLIENT0007', 'INSERT'), ('recDIFFCLIENT0008', 'UPDATE'), ('recDIFFCLIENT0009', 'UPDATE')$$,
  'every change of the resolution is audited with the run id, one per record, nothing else');
select results_eq(
  $$select comparison_type, resolution_strategy, resolved, resolved_at is not null, metadata ->> 'action', (metadata ->> 'resolved_by_run')::bigint
    from sync.data_differentials where run_id = 9453 order by 1$$,
  $$values ('conflicted_records', 'source_wins', true, true, 'the source''s values merged over the target''s', 9453::bigint),
           ('deleted_records', 'source_wins', true, true, 'soft-deleted in the target', 9453::bigint),
           ('missing_records', 'source_wins', true, true, 'merged from the source', 9453::bigint)$$,
  'each differential is marked resolved, with the strategy, the action and the run');
select ok((select metadata ? 'fields' from sync.data_differentials where run_id = 9453 and comparison_type = 'conflicted_records'),
  'resolution keeps the conflicted fields in the metadata');
select results_eq(
  $$select status, records_processed, (metadata -> 'merge' ->> 'inserted')::int, (metadata -> 'merge' ->> 'updated')::int,
           (metadata ->> 'deleted')::int, metadata ->> 'resolution'
    from sync.checkpoints where run_id = 9453 and operation_type = 'sync_operation' and entity_type = 'clients'$$,
  $$values ('completed', 4::bigint, 2, 2, 2, 'source_wins')$$,
  'the resolution''s merge and soft deletes are recorded in a completed checkpoint of the run');
select set_eq($$select * from pg_temp.stored('clients')$$, $$select * from pg_temp.rebuilt('clients')$$,
  'after the resolution every clients entry equals its rebuilt checksum');
select results_eq(
  $$select status, fetched, inserted, updated, deleted from sync.finish_run(9453)$$,
  $$values ('completed', 4::bigint, 2::bigint, 2::bigint, 2::bigint)$$,
  'the differential run finishes with the resolution''s counts');
select is_empty($$select * from sync.compute_differentials(9454, 'clients')$$,
  'after source_wins (and the differential run finished) a new differential finds nothing, the records it did not touch included');
select is_empty($$select from sync.data_differentials where run_id = 9454$$, 'and stores nothing');

-- ---------------------------------------------------------------------------
-- target_wins, skip, manual_review (runs 9455 to 9457): nothing changes
-- ---------------------------------------------------------------------------
select set_config('airlift.run_id', '', true);
update app.clients set name = 'Alpha Local' where airtable_id = 'recDIFFCLIENT0001';
update app.clients set deleted_at = now() where airtable_id = 'recDIFFCLIENT0003';
insert into app.clients (airtable_id, name) values ('recDIFFCLIENT0011', 'Lambda Local');
create temp table app_before as select * from app.clients;
create temp table audit_before as select count(*) as n from audit.changes where table_name like 'app.%';

select results_eq(
  $$select comparison_type, legacy_ids from sync.compute_differentials(9455, 'clients') order by 1$$,
  $$values ('conflicted_records', '["recDIFFCLIENT0001"]'::jsonb), ('deleted_records', '["recDIFFCLIENT0011"]'::jsonb),
           ('missing_records', '["recDIFFCLIENT0003"]'::jsonb)$$,
  'new edits here: one conflicted, one deleted, one missing');
select results_eq(
  $$select * from sync.resolve_differentials(9455, 'clients', 'target_wins')$$,
  $$values ('conflicted_records', 1::bigint, 'kept as the target has it (the next full pull restores the source unless the change is pushed)'),
           ('deleted_records', 1::bigint, 'kept as the target has it (the next full pull restores the source unless the change is pushed)'),
           ('missing_records', 1::bigint, 'kept as the target has it (the next full pull restores the source unless the change is pushed)')$$,
  'target_wins returns each type with its action');
select count(*) from sync.compute_differentials(9456, 'clients');
select results_eq(
  $$select * from sync.resolve_differentials(9456, 'clients', 'skip')$$,
  $$values ('conflicted_records', 1::bigint, 'skipped'), ('deleted_records', 1::bigint, 'skipped'), ('missing_records', 1::bigint, 'skipped')$$,
  'skip returns each type as skipped');
select count(*) from sync.compute_differentials(9457, 'clients');
select results_eq(
  $$select * from sync.resolve_differentials(9457, 'clients', 'manual_review')$$,
  $$values ('conflicted_records', 1::bigint, 'left for a person to review'), ('deleted_records', 1::bigint, 'left for a person to review'),
           ('missing_records', 1::bigint, 'left for a person to review')$$,
  'manual_review returns each type as left for review');
select results_eq(
  $$select run_id, resolution_strategy, count(*)::int, bool_and(resolved), bool_and(resolved_at is not null), min(metadata ->> 'action'), max(metadata ->> 'action')
    from sync.data_differentials where run_id in (9455, 9456, 9457) group by 1, 2 order by 1$$,
  $$values (9455::bigint, 'target_wins', 3, true, true,
            'kept as the target has it (the next full pull restores the source unless the change is pushed)',
            'kept as the target has it (the next full pull restores the source unless the change is pushed)'),
           (9456::bigint, 'skip', 3, true, true, 'skipped', 'skipped'),
           (9457::bigint, 'manual_review', 3, false, false, 'left for a person to review', 'left for a person to review')$$,
  'target_wins and skip mark their differentials resolved with the action; manual_review leaves them unresolved, without a resolution time');
select set_eq($$select * from app.clients$$, $$select * from app_before$$,
  'target_wins, skip and manual_review change no app row');
select is((select count(*) from audit.changes where table_name like 'app.%'), (select n from audit_before),
  '... and write nothing to the audit trail');
select throws_ok($$select * from sync.resolve_differentials(9457, 'clients', 'coin_flip')$$, '22023', 'unknown resolution strategy coin_flip',
  'an unknown strategy raises invalid_parameter_value');
select throws_ok($$select * from sync.resolve_differentials(9457, 'invoices')$$, '42704', 'no mapping for entity invoices',
  'resolve_differentials for an unknown entity raises undefined_object');
select is((select count(*)::int from sync.data_differentials where run_id = 9457 and not resolved and resolution_strategy = 'manual_review'), 3,
  'the refused calls left the differentials under review as they were');

-- ---------------------------------------------------------------------------
-- Privileges: the sync role computes and resolves (run 9458); the app role
-- cannot
-- ---------------------------------------------------------------------------
set local role airlift_app;
select throws_ok($$select * from sync.compute_differentials(9458, 'clients')$$, '42501', null,
  'airlift_app cannot compute differentials');
select throws_ok($$select * from sync.resolve_differentials(9458, 'clients', 'target_wins')$$, '42501', null,
  'airlift_app cannot resolve differentials');
reset role;
set local role airlift_sync;
select lives_ok($$select * from sync.compute_differentials(9458, 'clients')$$, 'airlift_sync can compute differentials (security definer)');
select lives_ok($$select * from sync.resolve_differentials(9458, 'clients', 'source_wins')$$, 'airlift_sync can resolve differentials (security definer)');
select lives_ok($$select sync.finish_run(9458)$$, 'airlift_sync can finish the differential run');
reset role;
select results_eq(
  $$select airtable_id, name, deleted_at is null from app.clients where airtable_id in ('recDIFFCLIENT0001', 'recDIFFCLIENT0003', 'recDIFFCLIENT0011') order by 1$$,
  $$values ('recDIFFCLIENT0001', 'Alpha Labs', true), ('recDIFFCLIENT0003', 'Gamma Growers', true), ('recDIFFCLIENT0011', 'Lambda Local', false)$$,
  'the sync role''s source_wins restored the value and the row, and soft-deleted the row the source does not have');
select results_eq(
  $$select coalesce(new_values ->> 'airtable_id', old_values ->> 'airtable_id'), op from audit.changes
    where run_id = 9458 and table_name = 'app.clients' order by 1$$,
  $$values ('recDIFFCLIENT0001', 'UPDATE'), ('recDIFFCLIENT0003', 'UPDATE'), ('recDIFFCLIENT0011', 'UPDATE')$$,
  'audited under run 9458');
select is_empty($$select * from sync.compute_differentials(9459, 'clients')$$,
  'afterwards a new differential finds nothing');

select * from finish();
ROLLBACK;
