-- Staging a chunk COPYed into pg_temp.copied_records (sync.stage_copied,
-- the bulk path of large listings) writes what sync.stage_page writes for
-- the same records: the same staging rows and checksums (canonical forms
-- of the mapped columns, a field that does not convert included), the
-- rejects quarantined with their reason and marked rejected before
-- staging, and the checkpoint moved (records, offset, pages, untouched,
-- rejected; no next offset marks the table listed). Unchanged records a
-- second full run stages are rewritten only to mark them seen; a listing
-- started again leaves out what the run staged already.
--
-- Runs: 9811 stages page by page (stage_page), 9812 the same records in
-- bulk (stage_copied) into another table id, 9813 a second full run in bulk.
BEGIN;
select plan(12);

select tests.seed_delta_mapping(entities => array['clients'], columns => array['name', 'annual_budget', 'client_since', 'airtable_modified_at'],
  source_id => 'appStageCopiedTst', source_tables => '{"clients": "tblStageCopiedPg"}');
select tests.open_run('full', 9811, '{"base_id": "appStageCopiedTst"}');
select tests.open_checkpoints(9811, 'clients');

create function pg_temp.client(p_id text, p_name text, p_budget jsonb) returns jsonb
language sql as $$
  select tests.airtable_record(p_id, jsonb_build_object('fldcRQ5EWmHA7hkmK', p_name, 'fldAaSynzxQzeTNAI', p_budget, 'fld62rLIbyozCjTuf', '2026-11-01T00:00:00.000Z'))
$$;
create temp table records_in as
select * from (values
  (1, pg_temp.client('recSTAGECOPIED001', 'Alpha Labs', '12000.5')),
  (2, pg_temp.client('recSTAGECOPIED002', 'Beta "Chemicals"', '"TBD"')),
  (3, pg_temp.client('recSTAGECOPIED003', E'Gamma\tGrowers\\n', 'null'))) as r (position, record);
create temp table rejects_in as
select '[{"source_key": "recSTAGECOPIED004", "field": "Client Name", "value": null, "reason": "Client Name contains a NUL character"}]'::jsonb as rejects;

-- page by page
select sync.stage_page(9811, 'clients', (select jsonb_agg(record order by position) from records_in), (select rejects from rejects_in), true, null);
create temp table paged as
select source_key, fields, content_hash, checksum from staging.source_records where run_id = 9811;
create temp table paged_checkpoint as
select records_processed, last_processed_id, metadata ->> 'phase' as phase, metadata -> 'untouched' as untouched, metadata -> 'rejected' as rejected
from sync.checkpoints where run_id = 9811;

-- the same records in bulk, as another table of the base (the mapping's table id changes)
update sync.entity_mappings set source_table = 'tblStageCopiedBk' where entity = 'clients';
select tests.open_run('full', 9812, '{"base_id": "appStageCopiedTst"}');
select tests.open_checkpoints(9812, 'clients');
create function pg_temp.copy_in() returns void
language plpgsql as $$
begin
  perform sync.open_copied_records();
  insert into pg_temp.copied_records (position, is_reject, id, created_time, fields, hash)
  select position, false, record ->> 'id', (record ->> 'created_time')::timestamptz, record -> 'fields', record ->> 'hash' from records_in;
  insert into pg_temp.copied_records (position, is_reject, reject_key, reject_field, reject_value, reject_reason)
  select 10 + n, true, r ->> 'source_key', r ->> 'field', r -> 'value', r ->> 'reason'
  from rejects_in cross join lateral jsonb_array_elements(rejects) with ordinality as x (r, n);
end;
$$;
select pg_temp.copy_in();
select results_eq(
  $$select written, already_in_run, untouched, rejected, skipped from sync.stage_copied(9812, 'clients', true, null)$$,
  $$values (3, 0, 0, 1, 0)$$,
  'the chunk is staged: three records written, one reject');

select set_eq(
  $$select source_key, fields, content_hash, checksum from staging.source_records where run_id = 9812$$,
  $$select source_key, fields, content_hash, checksum from paged$$,
  'the same staging rows as stage_page: fields, content hashes and checksums (a money field that does not convert, text with tabs and backslashes)');
select is((select count(distinct page_seq)::int from staging.source_records where run_id = 9812), 1, 'the chunk is one page of staging');
select results_eq(
  $$select records_processed, last_processed_id, metadata ->> 'phase', metadata -> 'untouched', metadata -> 'rejected' from sync.checkpoints where run_id = 9812$$,
  $$select records_processed, last_processed_id, phase, untouched, rejected from paged_checkpoint$$,
  'the checkpoint moves as stage_page moves it: four records, the last id, listed, one rejected');
select results_eq(
  $$select source_key, field, reason, rejected_before_staging from sync.record_errors where run_id = 9812$$,
  $$values ('recSTAGECOPIED004', 'Client Name', 'Client Name contains a NUL character', true)$$,
  'the reject is quarantined with its reason and marked rejected before staging');
select is((select count(*)::int from pg_temp.copied_records), 0, 'nothing of the chunk is left behind (the table itself is dropped at commit)');

-- the chunk again, in the same run (a listing started again): nothing is staged twice
select pg_temp.copy_in();
select results_eq(
  $$select written, already_in_run, skipped from sync.stage_copied(9812, 'clients', true, 'more', true)$$,
  $$values (0, 0, 3)$$,
  'a listing started again leaves out the records this run staged already with the same content');
select is((select metadata ->> 'phase' from sync.checkpoints where run_id = 9812), 'listing', 'a next offset keeps the table listing');

-- a second full run: unchanged records are rewritten only to mark them seen by it
select tests.open_run('full', 9813, '{"base_id": "appStageCopiedTst"}');
select tests.open_checkpoints(9813, 'clients');
select pg_temp.copy_in();
select results_eq(
  $$select written, untouched, rejected from sync.stage_copied(9813, 'clients', true, null)$$,
  $$values (3, 0, 1)$$,
  'a full run marks every record it lists as seen');
select is((select count(*)::int from sync.record_errors where source_key = 'recSTAGECOPIED004' and source_table = 'tblStageCopiedBk' and resolved_at is null), 1,
  'a reject read again is not quarantined twice');

drop table pg_temp.copied_records;
select throws_ok($$select sync.stage_copied(9813, 'clients', true, null)$$, '42P01', null,
  'staging without a COPYed chunk fails naming what is missing');
select throws_ok($$select sync.open_copied_records(); select sync.stage_copied(9899, 'clients', true, null)$$, 'P0002', null,
  'a run without a checkpoint for the table cannot stage');

select * from finish();
ROLLBACK;
