-- The read before pushing asks Airtable only for records modified since the
-- staging mirror's version: sync.push_remote_marks gives, per claimed
-- update, the mirror's Last Modified (Airtable's clock) and the field's
-- name; sync.plan_push takes the mirror as the remote side of the records
-- Airtable confirmed unchanged (p_remote_from_mirror), so a newer Airtable
-- edit a pull staged (held back from the row by the open entry) is still
-- seen as a conflict, and the mirror's equal value as no change there.
--
-- Runs: 9760 (the sync wrote the rows), 9761 (a pull), 9762 (a push).
BEGIN;
select plan(6);

select tests.seed_delta_mapping(entities => array['clients'], columns => array['name', 'notes', 'airtable_modified_at']);
select tests.open_run('full', 9760);
select tests.open_run('incremental', 9761);
select tests.open_run('push', 9762);

select set_config('airlift.run_id', '9760', true);
insert into app.clients (id, airtable_id, name, status, notes) values
  ('00000000-0000-4000-8000-00000000f101', 'recMIRRORCLIENT01', 'Same', 'Active', 'base'),
  ('00000000-0000-4000-8000-00000000f102', 'recMIRRORCLIENT02', 'Newer', 'Active', 'base'),
  ('00000000-0000-4000-8000-00000000f103', 'recMIRRORCLIENT03', 'Unstaged', 'Active', 'base');
select set_config('airlift.run_id', '', true);
-- The mirror: the first as the rows have it; the second as a later pull
-- staged it, with an Airtable edit of the notes; no version of the third.
insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash, run_id, fetched_at) values
  ('appDeltaTest00001', 'tblZaclZULDATjmXm', 'recMIRRORCLIENT01',
   '{"fldcRQ5EWmHA7hkmK": "Same", "fld4nncVN1i1Qbxro": "base", "fld62rLIbyozCjTuf": "2026-11-01T08:00:00.000Z"}', '2026-01-01T00:00:00Z', repeat('a', 64), 9761, now()),
  ('appDeltaTest00001', 'tblZaclZULDATjmXm', 'recMIRRORCLIENT02',
   '{"fldcRQ5EWmHA7hkmK": "Newer", "fld4nncVN1i1Qbxro": "edited in Airtable", "fld62rLIbyozCjTuf": "2026-11-15T09:30:00.000Z"}', '2026-01-01T00:00:00Z', repeat('b', 64), 9761, now());

update app.clients set notes = 'local' where id in ('00000000-0000-4000-8000-00000000f101', '00000000-0000-4000-8000-00000000f102', '00000000-0000-4000-8000-00000000f103');
select is((select count(*)::int from sync.claim_outbox(9762, 'clients', null, 250)), 3, 'the three updates are claimed');

select results_eq(
  $$select source_key, mirror_last_modified, last_modified_field_name
    from sync.push_remote_marks(array(select id from sync.outbox where status = 'in_flight')) order by source_key$$,
  $$values ('recMIRRORCLIENT01', '2026-11-01T08:00:00.000Z', 'Last Modified'),
           ('recMIRRORCLIENT02', '2026-11-15T09:30:00.000Z', 'Last Modified'),
           ('recMIRRORCLIENT03', null, 'Last Modified')$$,
  'each claimed update with the Last Modified the mirror holds (none for a record it does not hold) and the field''s name');
select is((select count(*)::int from sync.push_remote_marks(array(select id from sync.outbox where status = 'pending'))), 0,
  'entries not in flight are not asked for');

-- Airtable confirmed the first two unchanged since; the third was read by id.
create temp table planned as
select * from sync.plan_push(9762, array(select id from sync.outbox where status = 'in_flight'),
  '{"recMIRRORCLIENT03": {"fldcRQ5EWmHA7hkmK": "Unstaged", "fld4nncVN1i1Qbxro": "base"}}', '{}',
  array['recMIRRORCLIENT01', 'recMIRRORCLIENT02']);
select set_config('airlift.run_id', '', true);
select results_eq(
  $$select source_key, action, fields from planned order by source_key$$,
  $$values ('recMIRRORCLIENT01', 'update', '{"fld4nncVN1i1Qbxro": "local"}'::jsonb),
           ('recMIRRORCLIENT02', 'skip', '{}'::jsonb),
           ('recMIRRORCLIENT03', 'update', '{"fld4nncVN1i1Qbxro": "local"}'::jsonb)$$,
  'unchanged in Airtable per the mirror: the local change is sent; changed there per the mirror: source_wins keeps Airtable''s');
select results_eq(
  $$select source_key, column_name, base_value, local_value, remote_value, resolution, remote_modified_at from sync.conflicts where run_id = 9762$$,
  $$values ('recMIRRORCLIENT02', 'notes', '"base"'::jsonb, '"local"'::jsonb, '"edited in Airtable"'::jsonb, 'airtable', '2026-11-15T09:30:00Z'::timestamptz)$$,
  'the conflict is logged with the mirror''s value and last-modified time as the remote side');
select is((select notes from app.clients where id = '00000000-0000-4000-8000-00000000f102'), 'edited in Airtable',
  'Airtable''s value, from the mirror, is written to the row');

select * from finish();
ROLLBACK;
