-- audit.changes is append-only for every role: UPDATE, DELETE and TRUNCATE
-- are refused by statement triggers enabled ALWAYS (so for the superuser and
-- the owner too, even under session_replication_role = replica), and by
-- missing privileges for every other role. Only the audit triggers write it;
-- only the auditor reads it. That holds against DML, not DDL: the last
-- assertions show the owner disabling the guard and deleting a row (the
-- limit the README states; a tamper-evident trail is a later issue).
BEGIN;
select plan(39);

-- One audit row to protect: the insert of a client, by the superuser.
select set_config('airlift.actor', 'alice', true);
insert into app.clients (id, airtable_id, name, client_code, status)
  values ('c7000000-0000-4000-8000-000000000001', 'recClientAcme0001', 'Acme Agrochemicals', 'ACME', 'Active');

select results_eq(
  $$select op, actor from audit.changes where table_name = 'app.clients' and record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  $$values ('INSERT'::text, 'alice'::text)$$,
  'inserting a client left one audit row to protect'
);

-- The guard triggers fire ALWAYS ------------------------------------------------

select is(
  (select tgenabled::text from pg_trigger where tgrelid = 'audit.changes'::regclass and tgname = '_100_forbid_update_delete'),
  'A',
  'the update/delete guard trigger is enabled ALWAYS'
);
select is(
  (select tgenabled::text from pg_trigger where tgrelid = 'audit.changes'::regclass and tgname = '_100_forbid_truncate'),
  'A',
  'the truncate guard trigger is enabled ALWAYS'
);

-- The superuser (the runner's own role) --------------------------------------

select throws_ok(
  $$update audit.changes set actor = 'mallory' where record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  '42501', 'audit.changes is append-only: UPDATE is not allowed',
  'the superuser cannot UPDATE audit.changes'
);
select throws_ok(
  $$delete from audit.changes where record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  '42501', 'audit.changes is append-only: DELETE is not allowed',
  'the superuser cannot DELETE from audit.changes'
);
select throws_ok(
  $$truncate audit.changes$$,
  '42501', 'audit.changes is append-only: TRUNCATE is not allowed',
  'the superuser cannot TRUNCATE audit.changes'
);
select throws_ok(
  $$delete from audit.changes where id = -1$$,
  '42501', 'audit.changes is append-only: DELETE is not allowed',
  'a DELETE matching no row is refused too (statement trigger)'
);
select throws_ok(
  $$update audit.changes set actor = 'mallory' where false$$,
  '42501', 'audit.changes is append-only: UPDATE is not allowed',
  'an UPDATE matching no row is refused too (statement trigger)'
);

set local session_replication_role = replica;
select throws_ok(
  $$delete from audit.changes where record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  '42501', 'audit.changes is append-only: DELETE is not allowed',
  'under session_replication_role = replica the superuser still cannot DELETE'
);
select throws_ok(
  $$truncate audit.changes$$,
  '42501', 'audit.changes is append-only: TRUNCATE is not allowed',
  'under session_replication_role = replica the superuser still cannot TRUNCATE'
);
reset session_replication_role;

-- airlift_owner, which owns the table ------------------------------------------

set local role airlift_owner;
select throws_ok(
  $$update audit.changes set actor = 'mallory' where record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  '42501', 'audit.changes is append-only: UPDATE is not allowed',
  'airlift_owner cannot UPDATE audit.changes'
);
select throws_ok(
  $$delete from audit.changes where record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  '42501', 'audit.changes is append-only: DELETE is not allowed',
  'airlift_owner cannot DELETE from audit.changes'
);
select throws_ok(
  $$truncate audit.changes$$,
  '42501', 'audit.changes is append-only: TRUNCATE is not allowed',
  'airlift_owner cannot TRUNCATE audit.changes'
);
reset role;

-- airlift_sync, airlift_app, airlift_readonly: no access to schema audit --------

set local role airlift_sync;
select throws_ok(
  $$update audit.changes set actor = 'mallory'$$,
  '42501', 'permission denied for schema audit',
  'airlift_sync cannot UPDATE audit.changes'
);
select throws_ok(
  $$delete from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_sync cannot DELETE from audit.changes'
);
select throws_ok(
  $$truncate audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_sync cannot TRUNCATE audit.changes'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role)
    values ('app.clients', 'c7000000-0000-4000-8000-000000000002', 'INSERT', '{"name": "Forged Inc"}', 'airlift_app')$$,
  '42501', 'permission denied for schema audit',
  'airlift_sync cannot insert a forged audit row'
);
select throws_ok(
  $$select count(*) from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_sync cannot read audit.changes'
);
reset role;

set local role airlift_app;
select throws_ok(
  $$update audit.changes set actor = 'mallory'$$,
  '42501', 'permission denied for schema audit',
  'airlift_app cannot UPDATE audit.changes'
);
select throws_ok(
  $$delete from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_app cannot DELETE from audit.changes'
);
select throws_ok(
  $$truncate audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_app cannot TRUNCATE audit.changes'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role)
    values ('app.clients', 'c7000000-0000-4000-8000-000000000002', 'INSERT', '{"name": "Forged Inc"}', 'airlift_app')$$,
  '42501', 'permission denied for schema audit',
  'airlift_app cannot insert a forged audit row'
);
select throws_ok(
  $$select count(*) from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_app cannot read audit.changes'
);
reset role;

set local role airlift_readonly;
select throws_ok(
  $$update audit.changes set actor = 'mallory'$$,
  '42501', 'permission denied for schema audit',
  'airlift_readonly cannot UPDATE audit.changes'
);
select throws_ok(
  $$delete from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_readonly cannot DELETE from audit.changes'
);
select throws_ok(
  $$truncate audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_readonly cannot TRUNCATE audit.changes'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role)
    values ('app.clients', 'c7000000-0000-4000-8000-000000000002', 'INSERT', '{"name": "Forged Inc"}', 'airlift_readonly')$$,
  '42501', 'permission denied for schema audit',
  'airlift_readonly cannot insert a forged audit row'
);
select throws_ok(
  $$select count(*) from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_readonly cannot read audit.changes'
);
reset role;

-- airlift_auditor: reads, and nothing more ---------------------------------------

set local role airlift_auditor;
select results_eq(
  $$select op, actor from audit.changes where table_name = 'app.clients' and record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  $$values ('INSERT'::text, 'alice'::text)$$,
  'airlift_auditor can read audit.changes'
);
select throws_ok(
  $$update audit.changes set actor = 'mallory'$$,
  '42501', 'permission denied for table changes',
  'airlift_auditor cannot UPDATE audit.changes'
);
select throws_ok(
  $$delete from audit.changes$$,
  '42501', 'permission denied for table changes',
  'airlift_auditor cannot DELETE from audit.changes'
);
select throws_ok(
  $$truncate audit.changes$$,
  '42501', 'permission denied for table changes',
  'airlift_auditor cannot TRUNCATE audit.changes'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role)
    values ('app.clients', 'c7000000-0000-4000-8000-000000000002', 'INSERT', '{"name": "Forged Inc"}', 'airlift_auditor')$$,
  '42501', 'permission denied for table changes',
  'airlift_auditor cannot insert a forged audit row'
);
reset role;

-- After all of that ----------------------------------------------------------

select results_eq(
  $$select count(*)::int, min(op), min(actor) from audit.changes
     where table_name = 'app.clients' and record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  $$values (1, 'INSERT'::text, 'alice'::text)$$,
  'the audit row is still there, unchanged'
);
select is(
  (select count(*)::int from audit.changes where actor = 'mallory' or new_values ->> 'name' = 'Forged Inc'),
  0,
  'no forged or altered audit row exists'
);

-- What append-only does not cover: DDL by the owner ---------------------------
-- (a superuser can do the same; the whole file is rolled back)

set local role airlift_owner;
select lives_ok(
  $$alter table audit.changes disable trigger user$$,
  'airlift_owner CAN disable the guard triggers: ALTER TABLE is DDL, which they do not see'
);
select is(
  (select count(*)::int from pg_trigger where tgrelid = 'audit.changes'::regclass and tgname like '\_100\_forbid\_%' and tgenabled = 'D'),
  2,
  'both guard triggers are then disabled'
);
select lives_ok(
  $$delete from audit.changes where record_id = 'c7000000-0000-4000-8000-000000000001'$$,
  'and airlift_owner CAN then DELETE an audit row'
);
reset role;
select is(
  (select count(*)::int from audit.changes where record_id = 'c7000000-0000-4000-8000-000000000001'),
  0,
  'the audit row is gone: append-only, not tamper-evident'
);

select * from finish();
ROLLBACK;
