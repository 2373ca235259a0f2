-- A pull never overwrites a change made here that is not pushed yet:
-- sync.merge_entity leaves the columns of open sync.outbox entries (pending,
-- failed, in flight) at their local value and keeps a row deleted here
-- deleted, while every other column takes Airtable's value. Once the entry
-- is pushed, the next merge writes Airtable's values again.
--
-- Runs: 9650 (the sync wrote the rows), 9651 and 9652 (full pulls).
BEGIN;
select plan(9);

select tests.seed_delta_mapping(entities => array['clients'], columns => array['name', 'client_code', 'status', 'email', 'notes', 'airtable_modified_at']);
select tests.open_run('full', 9650, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('full', 9651, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('full', 9652, '{"base_id": "appDeltaTest00001"}');
select tests.open_checkpoints(9651, 'clients');
select tests.open_checkpoints(9652, 'clients');

-- The rows as the sync wrote them (not captured).
select set_config('airlift.run_id', '9650', true);
insert into app.clients (id, airtable_id, name, client_code, status, email, notes) values
  ('00000000-0000-4000-8000-00000000e001', 'recHOLDCLIENT0001', 'Acme', 'AC', 'Active', 'ops@acme.example', 'base note'),
  ('00000000-0000-4000-8000-00000000e002', 'recHOLDCLIENT0002', 'Beta', 'BE', 'Active', null, null),
  ('00000000-0000-4000-8000-00000000e003', 'recHOLDCLIENT0003', 'Gamma', 'GA', 'Active', null, null);
select set_config('airlift.run_id', '', true);

-- Local edits (captured): Acme's notes, Beta deleted here.
update app.clients set notes = 'local note' where id = '00000000-0000-4000-8000-00000000e001';
update app.clients set deleted_at = now() where id = '00000000-0000-4000-8000-00000000e002';

-- A page as the runner sends it: Airtable changed Acme's notes and status,
-- Beta's status, and Gamma's notes.
create function pg_temp.page(p_records jsonb) returns jsonb
language sql as $$
  select jsonb_agg(tests.airtable_record(r.key, r.value, '2019-03-15T09:30:00.000Z') order by r.key)
  from jsonb_each(p_records) r
$$;
select lives_ok(
  $$select sync.stage_page(9651, 'clients', pg_temp.page('{
      "recHOLDCLIENT0001": {"fldcRQ5EWmHA7hkmK": "Acme", "fldPlUSdlUpal2YU2": "AC", "fldAxUQDrygYjpbpO": "Inactive", "fldwvK9BoMpuwDLuw": "ops@acme.example", "fld4nncVN1i1Qbxro": "remote note"},
      "recHOLDCLIENT0002": {"fldcRQ5EWmHA7hkmK": "Beta", "fldPlUSdlUpal2YU2": "BE", "fldAxUQDrygYjpbpO": "Prospect"},
      "recHOLDCLIENT0003": {"fldcRQ5EWmHA7hkmK": "Gamma", "fldPlUSdlUpal2YU2": "GA", "fldAxUQDrygYjpbpO": "Active", "fld4nncVN1i1Qbxro": "remote gamma"}}'), '[]', true, null)$$,
  'a full pull stages the three records');
select lives_ok($$select sync.merge_entity(9651, 'clients')$$, 'and merges them');

select results_eq(
  $$select name, status, notes, deleted_at is not null from app.clients where airtable_id like 'recHOLDCLIENT%' order by airtable_id$$,
  $$values ('Acme', 'Inactive', 'local note', false), ('Beta', 'Active', null, true), ('Gamma', 'Active', 'remote gamma', false)$$,
  'the merge keeps the unpushed local note, leaves the row deleted here alone, and takes every other Airtable change');
select results_eq(
  $$select row_id, operation, changed_columns, before_values, status from sync.outbox order by id$$,
  $$values ('00000000-0000-4000-8000-00000000e001'::uuid, 'update', '{notes}'::text[], '{"notes": "base note"}'::jsonb, 'pending'),
           ('00000000-0000-4000-8000-00000000e002'::uuid, 'delete', '{}'::text[], '{}'::jsonb, 'pending')$$,
  'the merge captures nothing: the outbox still holds the two local changes, their base values untouched');
select is(
  (select count(*)::int from audit.changes where table_name = 'app.clients' and run_id = 9651),
  2, 'the merge wrote two rows (Acme''s status, Gamma''s notes), audited under the pull');

-- An entry in flight is held too.
update sync.outbox set status = 'in_flight', claimed_at = now() where row_id = '00000000-0000-4000-8000-00000000e001';
select lives_ok(
  $$select sync.stage_page(9652, 'clients', pg_temp.page('{
      "recHOLDCLIENT0001": {"fldcRQ5EWmHA7hkmK": "Acme", "fldPlUSdlUpal2YU2": "AC", "fldAxUQDrygYjpbpO": "Inactive", "fldwvK9BoMpuwDLuw": "ops@acme.example", "fld4nncVN1i1Qbxro": "remote note 2"}}'), '[]', true, null);
    select sync.merge_entity(9652, 'clients')$$,
  'a second pull stages and merges Acme while its entry is in flight');
select is((select notes from app.clients where airtable_id = 'recHOLDCLIENT0001'), 'local note',
  'an entry in flight still holds its column');

-- Pushed: the hold ends, Airtable's value arrives with the next merge.
update sync.outbox set status = 'pushed', pushed_at = now() where row_id = '00000000-0000-4000-8000-00000000e001';
update sync.checkpoints set metadata = metadata - 'merged_through' where run_id = 9652;
select lives_ok($$select sync.merge_entity(9652, 'clients')$$, 'the same pull merged again after the push');
select is((select notes from app.clients where airtable_id = 'recHOLDCLIENT0001'), 'remote note 2',
  'once pushed, the column takes Airtable''s value again');

select * from finish();
ROLLBACK;
