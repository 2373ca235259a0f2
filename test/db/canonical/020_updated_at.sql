-- updated_at: every table with the _100_set_updated_at trigger stamps it on a
-- real change and leaves it alone on a no-op update (so no-op updates stay
-- invisible to the audit trail). Rows start with updated_at in 2020.
BEGIN;
select plan(21);

insert into app.collaborators (id, airtable_user_id, email, name, updated_at)
values ('00000000-0000-0000-0000-0000000000c1', 'usrAAAAAAAAAAAAAA', 'a@example.com', 'Ann', '2020-01-01');
insert into app.clients (id, name, updated_at) values ('00000000-0000-0000-0000-000000000c11', 'Acme', '2020-01-01');
insert into app.state_regulators (id, agency_name, state, updated_at) values ('00000000-0000-0000-0000-000000000511', 'CDPR', 'CA', '2020-01-01');
insert into app.products (id, name, client_id, updated_at) values ('00000000-0000-0000-0000-000000000b11', 'Bug-B-Gone', '00000000-0000-0000-0000-000000000c11', '2020-01-01');
insert into app.registrations (id, product_id, status, updated_at) values ('00000000-0000-0000-0000-000000000e11', '00000000-0000-0000-0000-000000000b11', 'Submitted', '2020-01-01');
insert into app.attachments (id, airtable_attachment_id, product_id, field_name, filename, updated_at)
values ('00000000-0000-0000-0000-000000000a11', 'attAAAAAAAAAAAAAA', '00000000-0000-0000-0000-000000000b11', 'label', 'label.pdf', '2020-01-01');
insert into sync.jobs (id, job_name, job_type, updated_at) values ('00000000-0000-0000-0000-000000000f11', 'nightly', 'scheduled_sync', '2020-01-01');
insert into sync.runs (run_type, updated_at, metadata) values ('full', '2020-01-01', '{"fixture": "updated_at"}');
insert into sync.checkpoints (id, operation_type, entity_type, updated_at) values ('00000000-0000-0000-0000-000000000d11', 'sync_operation', 'clients', '2020-01-01');
insert into sync.record_errors (id, source_table, source_key, reason, updated_at) values ('00000000-0000-0000-0000-000000000711', 'tblX', 'recAAAAAAAAAAAAAA', 'dangling link', '2020-01-01');

-- no-op updates first: nothing changes, so nothing is stamped
update app.collaborators set name = name;
update app.clients set name = name;
update app.registrations set status = status;
update app.attachments set filename = filename;
update sync.jobs set job_name = job_name;

select is((select updated_at from app.collaborators where airtable_user_id = 'usrAAAAAAAAAAAAAA'), '2020-01-01'::timestamptz, 'no-op update keeps collaborators.updated_at');
select is((select updated_at from app.clients where name = 'Acme'), '2020-01-01'::timestamptz, 'no-op update keeps clients.updated_at');
select is((select updated_at from app.registrations where status = 'Submitted'), '2020-01-01'::timestamptz, 'no-op update keeps registrations.updated_at (generated columns ignored)');
select is((select updated_at from app.attachments where filename = 'label.pdf'), '2020-01-01'::timestamptz, 'no-op update keeps attachments.updated_at');
select is((select updated_at from sync.jobs where job_name = 'nightly'), '2020-01-01'::timestamptz, 'no-op update keeps sync.jobs.updated_at');

-- real changes: each table stamps now()
update app.collaborators set name = 'Ann B.';
update app.clients set client_code = 'AC';
update app.state_regulators set renewal_month = 6;
update app.products set discontinued = true;
update app.registrations set status = 'Approved';
update app.attachments set size_bytes = 1024;
update sync.jobs set next_run_at = '2030-01-01';
update sync.runs set fetched = 3, inserted = 3 where metadata ->> 'fixture' = 'updated_at';
update sync.checkpoints set records_processed = 5;
update sync.record_errors set field = 'Client';

select is((select updated_at from app.collaborators), now(), 'a real change stamps app.collaborators.updated_at');
select is((select updated_at from app.clients), now(), 'a real change stamps app.clients.updated_at');
select is((select updated_at from app.state_regulators), now(), 'a real change stamps app.state_regulators.updated_at');
select is((select updated_at from app.products), now(), 'a real change stamps app.products.updated_at');
select is((select updated_at from app.registrations), now(), 'a real change stamps app.registrations.updated_at');
select is((select updated_at from app.attachments), now(), 'a real change stamps app.attachments.updated_at');
select is((select updated_at from sync.jobs), now(), 'a real change stamps sync.jobs.updated_at');
select is((select updated_at from sync.runs where metadata ->> 'fixture' = 'updated_at'), now(), 'a real change stamps sync.runs.updated_at');
select is((select updated_at from sync.checkpoints), now(), 'a real change stamps sync.checkpoints.updated_at');
select is((select updated_at from sync.record_errors), now(), 'a real change stamps sync.record_errors.updated_at');

-- created_at is never touched by an update
select is((select created_at from app.clients), now(), 'created_at keeps its insert time (same transaction here)');
select isnt((select created_at from app.clients), '2020-01-01'::timestamptz, 'created_at is not copied from updated_at');

-- the trigger ignores only the generated columns it is told about
select is(
  (select count(*)::int from pg_trigger t join pg_class c on c.oid = t.tgrelid
   where t.tgname = '_100_set_updated_at' and not t.tgisinternal),
  17 + (select count(*)::int from tests.example_target_tables()),
  'seventeen app and sync tables carry the updated_at trigger, and every example target table');
select is(
  (select tgnargs::int from pg_trigger where tgname = '_100_set_updated_at' and tgrelid = 'app.registrations'::regclass),
  4, 'registrations passes its four generated columns to the trigger');
select is(
  (select tgnargs::int from pg_trigger where tgname = '_100_set_updated_at' and tgrelid = 'app.state_regulators'::regclass),
  2, 'state_regulators passes its two generated columns to the trigger');

-- an explicitly written updated_at on a real change is overridden by the stamp
update app.clients set updated_at = '1999-01-01', notes = 'changed';
select is((select updated_at from app.clients), now(), 'a real change stamps updated_at even when the statement sets it');

select * from finish();
ROLLBACK;
