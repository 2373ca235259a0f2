-- Verification in key ranges (sync.verify_entity with bounds, folded by
-- sync.summarize_verification) against one pass over all keys; --deep
-- (canonical forms rebuilt from the rows) against the stored target
-- checksums; and the target checksums of rows linking to a row whose
-- Airtable id changes.
--
-- Also: a range cut into parts at staging's key histogram
-- (sync.staging_key_splits) verifies as it does whole; the key ranges are
-- planned exactly, or from the statistics (sync.plan_key_ranges); and the
-- relationships checked once over all keys (sync.verify_relationships)
-- fold with ranges verified without them.
--
-- Runs: 9501 full (six clients, two products), 9502..9507 verify runs.
BEGIN;
select plan(28);

select tests.seed_delta_mapping(entities => array['clients', 'products']);

select tests.open_run('full', 9501, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('verify', 9502);
select tests.open_run('verify', 9503);
select tests.open_run('verify', 9504);
select tests.open_run('verify', 9505);
select tests.open_run('verify', 9506);
select tests.open_run('verify', 9507);
select tests.open_checkpoints(9501, 'clients', 'products');

-- a blocking rule keeps one client out (a record with a problem of its own lands, flagged)
insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, severity, validation_type, origin, description) values
  ('clients.client_code.known', 'clients', 'client_code', 'allowed_values', '{"values": ["OK"]}', 'blocking', 'data_integrity', 'sql', 'must be a known code');

create function pg_temp.record(p_id text, p_fields jsonb) returns jsonb
language sql as $$
  select tests.airtable_record(p_id, p_fields)
$$;

select sync.stage_page(9501, 'clients', jsonb_build_array(
  pg_temp.record('recRANGES00000001', '{"fldcRQ5EWmHA7hkmK": "Alpha Labs", "fldAaSynzxQzeTNAI": 1000}'),
  pg_temp.record('recRANGES00000002', '{"fldcRQ5EWmHA7hkmK": "Beta Chemicals", "fldAaSynzxQzeTNAI": 2500.5}'),
  pg_temp.record('recRANGES00000003', '{"fldcRQ5EWmHA7hkmK": "Gamma Growers"}'),
  pg_temp.record('recRANGES00000004', '{"fldcRQ5EWmHA7hkmK": "Delta Feeds", "fldOKlvaggwBuA1DW": "2021-03-04"}'),
  pg_temp.record('recRANGES00000005', '{"fldcRQ5EWmHA7hkmK": "Epsilon Agro"}'),
  pg_temp.record('recRANGES00000006', '{"fldcRQ5EWmHA7hkmK": "Zeta Soils", "fldPlUSdlUpal2YU2": "BAD"}')), '[]', true, null);
select sync.merge_clients(9501);
select sync.stage_page(9501, 'products', jsonb_build_array(
  pg_temp.record('recRANGESPRODUCT1', '{"flditdl13jzXqvGJG": "Weed Away", "fldeHngYQ2AQ2a41D": ["recRANGES00000001"]}'),
  pg_temp.record('recRANGESPRODUCT2', '{"flditdl13jzXqvGJG": "Grow Fast", "fldeHngYQ2AQ2a41D": ["recRANGES00000002"]}')), '[]', true, null);
select sync.merge_products(9501);
select sync.sweep_deleted(9501, 'clients');
select sync.sweep_deleted(9501, 'products');
update sync.checkpoints set status = 'completed', completed_at = now() where run_id = 9501;
select sync.finish_run(9501);

select is((select count(*)::int from sync.record_errors where resolved_at is null and source_key = 'recRANGES00000006'), 1,
  'fixture: one client is quarantined (a blocking rule)');

-- Planted: an edited row, a soft-deleted row, a stray row, all by a user.
update app.clients set name = 'Beta Chemicals Inc' where airtable_id = 'recRANGES00000002';
update app.clients set deleted_at = now() where airtable_id = 'recRANGES00000005';
insert into app.clients (airtable_id, name) values ('recRANGES0000004X', 'Stray Row');

-- One pass over all keys, folded (a single range), against three ranges.
select count(*) from sync.verify_entity(9502, 'clients');
select count(*) from sync.summarize_verification(9502, 'clients');
select count(*) from sync.verify_entity(9503, 'clients', null, 'recRANGES00000002');
select count(*) from sync.verify_entity(9503, 'clients', 'recRANGES00000002', 'recRANGES00000004');
select count(*) from sync.verify_entity(9503, 'clients', 'recRANGES00000004', null);
select is((select count(*)::int from sync.validation_reports where run_id = 9503), 9, 'three key ranges write three reports per check');
select count(*) from sync.summarize_verification(9503, 'clients');

select results_eq(
  $$select validation_type, records_validated, discrepancies_found, discrepancy_details from sync.validation_reports where run_id = 9503 order by validation_type$$,
  $$select validation_type, records_validated, discrepancies_found, discrepancy_details from sync.validation_reports where run_id = 9502 order by validation_type$$,
  'folded, the three ranges report exactly what one pass over all keys reports');
select results_eq(
  $$select validation_type, discrepancies_found from sync.validation_reports where run_id = 9503 order by validation_type$$,
  $$values ('completeness_check', 2), ('data_integrity', 1), ('relationship_integrity', 0)$$,
  'the planted problems: a deleted and a stray row (completeness), an edited name (integrity)');
select results_eq(
  $$select d ->> 'record', d ->> 'rule' from sync.validation_reports, jsonb_array_elements(discrepancy_details) d
    where run_id = 9503 and validation_type in ('completeness_check', 'data_integrity') order by 1$$,
  $$values ('recRANGES00000002', 'target differs from source'),
           ('recRANGES00000005', 'in the source but deleted in the target'),
           ('recRANGES0000004X', 'in the target but not in the source snapshot')$$,
  'each discrepancy is named, in key order across ranges');
select is((select validation_criteria -> 'key_ranges' from sync.validation_reports where run_id = 9503 and validation_type = 'completeness_check'), '3'::jsonb,
  'the folded report says how many ranges it was verified in');
select ok((select not validation_criteria ? 'after_key' from sync.validation_reports where run_id = 9502 and validation_type = 'completeness_check'),
  'a report verified in one range is folded too (no range bounds left)');
select is((select validation_criteria -> 'quarantined_records' from sync.validation_reports where run_id = 9503 and validation_type = 'completeness_check'),
  '["recRANGES00000006"]'::jsonb, 'the quarantined record is listed, not counted as missing');
select results_eq(
  $$select validation_criteria ->> 'source_table_checksum', validation_criteria ->> 'target_table_checksum', (validation_criteria ->> 'source_records_verified')::int
    from sync.validation_reports where run_id = 9503 and validation_type = 'completeness_check'$$,
  $$select source_checksum, target_checksum, source_records::int from sync.entity_checksums('clients')$$,
  'the table checksums added up over the ranges equal those of sync.entity_checksums (canonical forms rebuilt in one pass)');

select is((select validation_criteria -> 'source_runs' from sync.validation_reports where run_id = 9503 and validation_type = 'completeness_check'),
  '[9501]'::jsonb, 'the folded report names the runs that last read the source records');

-- Parts: without statistics a range is not cut; with them, it is cut at
-- keys inside it, and verifies as it does whole.
select is(sync.staging_key_splits(null, null, 3), '{}'::text[], 'without statistics, no range is cut');
-- The key ranges of airlift verify and airlift diff (sync.plan_key_ranges).
select results_eq($$select records_total, estimated, range_bounds from sync.plan_key_ranges('tblZaclZULDATjmXm', 9501, 2, 1)$$,
  $$values (6::bigint, false, '{recRANGES00000002,recRANGES00000004,recRANGES00000006}'::text[])$$,
  'without statistics the key ranges are planned exactly: the number of keys, and every second key ends a range');
select throws_ok($$select * from sync.plan_key_ranges('tblZaclZULDATjmXm', 9501, 0)$$, '22023', null, 'a batch size below 1 is refused');
analyze staging.source_records;
select results_eq($$select records_total, estimated, range_bounds from sync.plan_key_ranges('tblZaclZULDATjmXm', 9501, 2, 1)$$,
  $$select 6::bigint, true, sync.staging_key_splits(null, null, 3)$$,
  'with statistics, a table estimated at the threshold or more is cut at the key histogram into ranges of about the batch size, its total estimated');
select ok(cardinality((select range_bounds from sync.plan_key_ranges('tblZaclZULDATjmXm', 9501, 2, 1))) = 2,
  'six keys in ranges of about two: three ranges, two bounds');
select is((select estimated from sync.plan_key_ranges('tblZaclZULDATjmXm', 9501, 2, 7)), false, 'a table estimated below the threshold is planned exactly');
select is(cardinality(sync.staging_key_splits(null, null, 3)), 2, 'with statistics, three parts are cut at two keys');
select ok((select bool_and(k > 'recRANGES00000002' and k < 'recRANGES00000006') and count(*) between 1 and 3
           from unnest(sync.staging_key_splits('recRANGES00000002', 'recRANGES00000006', 6)) k),
  'the keys cutting a bounded range lie strictly inside it');
select count(*) from sync.verify_entity(9506, 'clients');
select count(*) from sync.summarize_verification(9506, 'clients');
select results_eq(
  $$select validation_type, records_validated, discrepancies_found, discrepancy_details, validation_criteria -> 'source_table_checksum',
           validation_criteria -> 'target_table_checksum', validation_criteria -> 'quarantined_records'
    from sync.validation_reports where run_id = 9506 order by validation_type$$,
  $$select validation_type, records_validated, discrepancies_found, discrepancy_details, validation_criteria -> 'source_table_checksum',
           validation_criteria -> 'target_table_checksum', validation_criteria -> 'quarantined_records'
    from sync.validation_reports where run_id = 9502 order by validation_type$$,
  'verified in parts side by side, one pass over all keys reports exactly what it reported whole');

-- Relationships once over all keys, the ranges without them (airlift verify).
select count(*) from sync.verify_entity(9507, 'clients', null, 'recRANGES00000003', false, false);
select count(*) from sync.verify_entity(9507, 'clients', 'recRANGES00000003', null, false, false);
select results_eq(
  $$select validation_type, count(*)::int from sync.validation_reports where run_id = 9507 group by 1 order by 1$$,
  $$values ('completeness_check', 2), ('data_integrity', 2)$$,
  'ranges verified without relationships write completeness and integrity reports only');
select count(*) from sync.verify_relationships(9507, 'clients');
select count(*) from sync.summarize_verification(9507, 'clients');
select results_eq(
  $$select validation_type, records_validated, discrepancies_found, discrepancy_details from sync.validation_reports where run_id = 9507 order by validation_type$$,
  $$select validation_type, records_validated, discrepancies_found, discrepancy_details from sync.validation_reports where run_id = 9502 order by validation_type$$,
  'with the relationships checked once over all keys, the folded reports equal one pass over all keys');

-- A stored target checksum written around the trigger: only --deep sees it.
update sync.target_checksums set checksum = repeat('0', 64) where entity = 'clients' and source_key = 'recRANGES00000003';
select count(*) from sync.verify_entity(9504, 'clients');
select is((select discrepancies_found from sync.validation_reports where run_id = 9504 and validation_type = 'data_integrity'), 2,
  'trusting the stored checksums, the corrupted entry shows as a differing record (2 integrity discrepancies)');
select is((select d ->> 'rule' from sync.validation_reports, jsonb_array_elements(discrepancy_details) d
           where run_id = 9504 and validation_type = 'data_integrity' and d ->> 'record' = 'recRANGES00000003'),
  'the checksums differ but no field does: the stored target checksum is stale (airlift verify --deep rebuilds it)',
  'no field of it differs (rebuilt, source and target agree), so it is named as a stale stored checksum');
select count(*) from sync.verify_entity(9505, 'clients', null, null, true);
select results_eq(
  $$select d ->> 'record', d ->> 'rule' from sync.validation_reports, jsonb_array_elements(discrepancy_details) d
    where run_id = 9505 and validation_type = 'data_integrity' order by 1, 2$$,
  $$values ('recRANGES00000002', 'target differs from source'),
           ('recRANGES00000003', 'the stored target checksum (sync.target_checksums) is stale: the row was written without its trigger')$$,
  '--deep rebuilds every canonical form: the edited row, and the stale stored checksum named');
select is((select validation_criteria ->> 'target' from sync.validation_reports where run_id = 9505 and validation_type = 'data_integrity'),
  'canonical forms rebuilt from the app rows', 'a deep report says what it compared');
select is(sync.refresh_target_checksums('clients'), 1::bigint, 'refresh_target_checksums corrects the one stale entry');

-- A client gets a new Airtable id (as a row created in PostgreSQL does when
-- pushed): the product linking to it has a new canonical form.
update app.clients set airtable_id = 'recRANGES0000001N' where airtable_id = 'recRANGES00000001';
select is(
  (select c.checksum from sync.target_checksums c where c.entity = 'products' and c.source_key = 'recRANGESPRODUCT1'),
  (select sync.checksum(x.canonical) from sync.compare_records('products') r
   cross join lateral (select r.target_canonical as canonical) x where r.source_key = 'recRANGESPRODUCT1'),
  'the linking product''s stored checksum is rebuilt with the client''s new id');
select is(
  (select c.checksum from sync.target_checksums c where c.entity = 'products' and c.source_key = 'recRANGESPRODUCT2'),
  (select s.checksum from staging.source_records s where s.source_key = 'recRANGESPRODUCT2'),
  'a product linking to an unchanged client keeps the checksum of its source');

select * from finish();
ROLLBACK;
