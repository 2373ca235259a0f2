-- The audit trail: the statement-level triggers of audit.enable_for() record
-- every insert, update, delete and truncate of the app and sync control
-- tables in audit.changes, one row per changed row, with who (db_role,
-- actor), what (old and new values without generated columns, the changed
-- columns), when, in which transaction and in which sync run.
--
-- All of this file runs in one transaction, so now() does not move: rows
-- whose updated_at should visibly change are inserted with a past updated_at.
BEGIN;
select plan(43);

-- Fixtures -------------------------------------------------------------------

-- The sync run the changes below belong to (airlift.run_id).
insert into sync.runs (id, run_type, status, actor, started_at)
  overriding system value
  values (7001, 'incremental', 'running', 'worker', '2024-03-01 09:00+00');

-- Every app table and every sync control table carries the four triggers --

select set_eq(
  $$select tgrelid::regclass::text, tgname::text collate "default"
      from pg_trigger
     where tgname in ('_900_audit_insert', '_900_audit_update', '_900_audit_delete', '_900_audit_truncate')$$,
  $$select audited, trigger_name
      from unnest(array['app.collaborators', 'app.clients', 'app.state_regulators', 'app.products',
                        'app.registrations', 'app.attachments', 'sync.jobs', 'sync.runs', 'sync.checkpoints',
                        'sync.id_map', 'sync.record_errors', 'sync.field_problems', 'sync.data_differentials',
                        'sync.validation_reports', 'sync.entity_mappings', 'sync.validation_rules',
                        'sync.snapshots', 'sync.conflict_policies', 'sync.conflicts', 'sync.stored_files',
                        'sync.attachment_downloads']
                       || array(select tests.example_target_tables())) as audited
     cross join unnest(array['_900_audit_insert', '_900_audit_update', '_900_audit_delete',
                             '_900_audit_truncate']) as trigger_name$$,
  'every app table, every sync control table and every other entity''s target table (the examples'') has the insert, update, delete and truncate audit triggers'
);

-- INSERT ---------------------------------------------------------------------

select set_config('airlift.actor', 'alice', true);
select set_config('airlift.run_id', '7001', true);
set local role airlift_app;
insert into app.clients (id, airtable_id, name, client_code, status, email, annual_budget, created_at, updated_at)
  values ('c1000000-0000-4000-8000-000000000001', 'recClientAcme0001', 'Acme Agrochemicals', 'ACME', 'Active',
          'ops@acme.example', 250000.00, '2024-01-15 10:00+00', '2024-01-15 10:00+00');
reset role;

select results_eq(
  $$select table_name, record_id, op, old_values is null, changed_columns is null, db_role, actor, run_id
      from audit.changes
     where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001'$$,
  $$values ('app.clients'::text, 'c1000000-0000-4000-8000-000000000001'::text, 'INSERT'::text, true, true,
            'airlift_app'::text, 'alice'::text, 7001::bigint)$$,
  'an insert is recorded once, as INSERT of app.clients with the row id, the SET ROLE, the actor and the run'
);
select is(
  (select new_values from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'INSERT'),
  (select to_jsonb(c) - 'search_vector' from app.clients c where id = 'c1000000-0000-4000-8000-000000000001'),
  'INSERT new_values is the inserted row as jsonb'
);
select is(
  (select array(select jsonb_object_keys(new_values) order by 1) from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'INSERT'),
  array['account_manager_id', 'airtable_created_at', 'airtable_id', 'airtable_modified_at', 'annual_budget',
        'client_code', 'client_since', 'created_at', 'deleted_at', 'email', 'federal_tax_id', 'id',
        'mailing_address', 'name', 'notes', 'open_problem_count', 'phone', 'primary_contact', 'status', 'updated_at'],
  'INSERT new_values has every column of app.clients but the generated search_vector'
);
select is(
  (select transaction_id from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'INSERT'),
  pg_current_xact_id(),
  'transaction_id is the writing transaction''s pg_current_xact_id()'
);
select ok(
  (select changed_at is not null and changed_at between transaction_timestamp() and clock_timestamp()
     from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'INSERT'),
  'changed_at is set, within this transaction'
);
select is(
  (select application_name from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'INSERT'),
  current_setting('application_name'),
  'application_name is the writing session''s application_name'
);

-- UPDATE ---------------------------------------------------------------------

select set_config('airlift.actor', 'bob', true);
set local role airlift_app;
update app.clients set status = 'Inactive', email = 'accounts@acme.example'
 where id = 'c1000000-0000-4000-8000-000000000001';
reset role;

select results_eq(
  $$select op, db_role, actor, run_id, changed_columns
      from audit.changes
     where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'UPDATE'$$,
  $$values ('UPDATE'::text, 'airlift_app'::text, 'bob'::text, 7001::bigint, array['email', 'status', 'updated_at'])$$,
  'an update is recorded once, with exactly the changed columns, sorted (updated_at stamped by its trigger)'
);
select results_eq(
  $$select old_values ->> 'status', new_values ->> 'status', old_values ->> 'email', new_values ->> 'email'
      from audit.changes
     where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'UPDATE'$$,
  $$values ('Active', 'Inactive', 'ops@acme.example', 'accounts@acme.example')$$,
  'UPDATE old_values and new_values hold the values before and after'
);
select is(
  (select new_values from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'UPDATE'),
  (select to_jsonb(c) - 'search_vector' from app.clients c where id = 'c1000000-0000-4000-8000-000000000001'),
  'UPDATE new_values is the row after the update, without search_vector'
);
select is(
  (select old_values from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'UPDATE'),
  (select new_values from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'INSERT'),
  'UPDATE old_values is the row as the INSERT recorded it'
);
select is(
  (select old_values - changed_columns from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'UPDATE'),
  (select new_values - changed_columns from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'UPDATE'),
  'every column not listed in changed_columns is equal in old_values and new_values'
);

-- No-op updates --------------------------------------------------------------

set local role airlift_app;
update app.clients set name = name where id = 'c1000000-0000-4000-8000-000000000001';
reset role;

select is(
  (select count(*)::int from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001' and op = 'UPDATE'),
  1,
  'a no-op update (set name = name) records nothing'
);
select results_eq(
  $$select op, actor from audit.changes
     where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000001'
     order by id$$,
  $$values ('INSERT'::text, 'alice'::text), ('UPDATE'::text, 'bob'::text)$$,
  'the history of one client reads insert by alice, then update by bob'
);

-- An update of three rows of which two change ---------------------------------

insert into app.clients (id, name, client_code, status) values
  ('c1000000-0000-4000-8000-000000000002', 'Bayou Seed Co', 'BAYOU', 'Prospect'),
  ('c1000000-0000-4000-8000-000000000003', 'Cedar Pest Control', 'CEDAR', 'Prospect'),
  ('c1000000-0000-4000-8000-000000000004', 'Delta Fungicides', 'DELTA', 'Active');
set local role airlift_app;
update app.clients set status = 'Active'
 where id in ('c1000000-0000-4000-8000-000000000002', 'c1000000-0000-4000-8000-000000000003',
              'c1000000-0000-4000-8000-000000000004');
reset role;

select results_eq(
  $$select record_id, changed_columns, old_values ->> 'status', new_values ->> 'status'
      from audit.changes
     where table_name = 'app.clients' and op = 'UPDATE'
       and record_id in ('c1000000-0000-4000-8000-000000000002', 'c1000000-0000-4000-8000-000000000003',
                         'c1000000-0000-4000-8000-000000000004')
     order by record_id$$,
  $$values ('c1000000-0000-4000-8000-000000000002'::text, array['status'], 'Prospect', 'Active'),
           ('c1000000-0000-4000-8000-000000000003'::text, array['status'], 'Prospect', 'Active')$$,
  'an update of three rows of which two change records exactly those two'
);

-- Bulk statements ------------------------------------------------------------

set local role airlift_app;
insert into app.clients (name, client_code, status)
  select format('Bulk Client %s', n), format('BULK%s', lpad(n::text, 3, '0')), 'Prospect'
    from generate_series(1, 500) as n;
reset role;

select is(
  (select count(*)::int from audit.changes
    where table_name = 'app.clients' and op = 'INSERT' and new_values ->> 'client_code' like 'BULK%'),
  500,
  'an insert of 500 rows in one statement records 500 INSERT rows'
);
select set_eq(
  $$select record_id from audit.changes
     where table_name = 'app.clients' and op = 'INSERT' and new_values ->> 'client_code' like 'BULK%'$$,
  $$select id::text from app.clients where client_code like 'BULK%'$$,
  'the 500 INSERT rows name exactly the 500 inserted clients'
);
select results_eq(
  $$select max(id) - min(id), count(distinct changed_at)::int
      from audit.changes
     where table_name = 'app.clients' and op = 'INSERT' and new_values ->> 'client_code' like 'BULK%'$$,
  $$values (499::bigint, 1)$$,
  'the 500 rows were written together by one trigger call: consecutive ids, one statement timestamp'
);

set local role airlift_app;
update app.clients set status = status, email = email where client_code like 'BULK%';
reset role;
select is(
  (select count(*)::int from audit.changes
    where table_name = 'app.clients' and op = 'UPDATE' and new_values ->> 'client_code' like 'BULK%'),
  0,
  'a no-op update of 500 rows records nothing'
);

set local role airlift_app;
update app.clients set status = 'On Hold' where client_code like 'BULK0%';
reset role;
select results_eq(
  $$select count(*)::int, bool_and(changed_columns = array['status']),
           bool_and(old_values ->> 'status' = 'Prospect' and new_values ->> 'status' = 'On Hold'),
           bool_and(old_values ->> 'id' = record_id and new_values ->> 'id' = record_id)
      from audit.changes
     where table_name = 'app.clients' and op = 'UPDATE' and new_values ->> 'client_code' like 'BULK%'$$,
  $$values (99, true, true, true)$$,
  'an update of 99 rows records 99 UPDATE rows, each pairing the old and new row of one key'
);

set local role airlift_app;
delete from app.clients where client_code in ('BULK498', 'BULK499', 'BULK500');
reset role;
select results_eq(
  $$select old_values ->> 'client_code', new_values is null, changed_columns is null
      from audit.changes
     where table_name = 'app.clients' and op = 'DELETE' and old_values ->> 'client_code' like 'BULK%'
     order by 1$$,
  $$values ('BULK498', true, true), ('BULK499', true, true), ('BULK500', true, true)$$,
  'a delete of three rows records three DELETE rows'
);

-- DELETE ---------------------------------------------------------------------

select set_config('airlift.actor', 'dave', true);
set local role airlift_app;
delete from app.clients where id = 'c1000000-0000-4000-8000-000000000004';
reset role;

select results_eq(
  $$select table_name, op, new_values is null, changed_columns is null, db_role, actor, run_id
      from audit.changes
     where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000004' and op = 'DELETE'$$,
  $$values ('app.clients'::text, 'DELETE'::text, true, true, 'airlift_app'::text, 'dave'::text, 7001::bigint)$$,
  'a delete is recorded once, as DELETE with the row id, the role, the actor and the run'
);
select is(
  (select old_values from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000004' and op = 'DELETE'),
  (select new_values from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000004' and op = 'INSERT'),
  'DELETE old_values is the deleted row as it was last recorded'
);

-- A primary key change -------------------------------------------------------

insert into app.clients (id, name, client_code) values ('c1000000-0000-4000-8000-000000000005', 'Zenith Crop Care', 'ZENITH');
set local role airlift_app;
update app.clients set id = 'c1000000-0000-4000-8000-000000000006' where id = 'c1000000-0000-4000-8000-000000000005';
reset role;

select results_eq(
  $$select op, record_id, old_values ->> 'id', new_values ->> 'id', changed_columns
      from audit.changes
     where table_name = 'app.clients' and db_role = 'airlift_app'
       and record_id in ('c1000000-0000-4000-8000-000000000005', 'c1000000-0000-4000-8000-000000000006')
     order by op$$,
  $$values ('DELETE'::text, 'c1000000-0000-4000-8000-000000000005'::text, 'c1000000-0000-4000-8000-000000000005', null::text, null::text[]),
           ('INSERT'::text, 'c1000000-0000-4000-8000-000000000006'::text, null::text, 'c1000000-0000-4000-8000-000000000006', null::text[])$$,
  'a primary key change is recorded as the DELETE of the old key and the INSERT of the new one'
);
select is(
  (select old_values - array['id', 'updated_at'] from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000005' and op = 'DELETE'
      and db_role = 'airlift_app'),
  (select new_values - array['id', 'updated_at'] from audit.changes
    where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000006' and op = 'INSERT'),
  'the DELETE and INSERT of a key change carry the same row otherwise'
);

-- Generated columns are left out ----------------------------------------------

insert into app.state_regulators (id, agency_name, state, renewal_month)
  values ('f1000000-0000-4000-8000-000000000001', 'Texas Department of Agriculture', ' tx ', 12);
insert into app.products (id, name, client_id, epa_registration_number, created_at, updated_at)
  values ('d1000000-0000-4000-8000-000000000001', 'Bayou Weed Away', 'c1000000-0000-4000-8000-000000000002', '12345-1',
          '2024-02-01 08:00+00', '2024-02-01 08:00+00');
insert into app.registrations (id, client_id, product_id, state_regulator_id, state, status, submitted_date, created_at, updated_at)
  values ('ab000000-0000-4000-8000-000000000001', 'c1000000-0000-4000-8000-000000000002',
          'd1000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'TX', 'Submitted',
          '2024-02-01', '2024-02-01 08:00+00', '2024-02-01 08:00+00');

select results_eq(
  $$select new_values ? 'state_code', new_values ? 'search_vector', new_values ->> 'state'
      from audit.changes
     where table_name = 'app.state_regulators' and record_id = 'f1000000-0000-4000-8000-000000000001'$$,
  $$values (false, false, ' tx ')$$,
  'state_regulators: generated state_code and search_vector are not recorded; state is recorded as written'
);
select ok(
  (select not (new_values ?| array['state_code', 'lifecycle_stage', 'is_open', 'is_approved']) and new_values ? 'status'
     from audit.changes
    where table_name = 'app.registrations' and record_id = 'ab000000-0000-4000-8000-000000000001' and op = 'INSERT'),
  'registrations INSERT: generated state_code, lifecycle_stage, is_open and is_approved are not recorded'
);

set local role airlift_app;
update app.registrations set status = 'Approved', approved_date = '2024-02-20'
 where id = 'ab000000-0000-4000-8000-000000000001';
reset role;

select is(
  (select changed_columns from audit.changes
    where table_name = 'app.registrations' and record_id = 'ab000000-0000-4000-8000-000000000001' and op = 'UPDATE'),
  array['approved_date', 'status', 'updated_at'],
  'registrations UPDATE: changed_columns omits the generated columns the change recomputed'
);
select ok(
  (select not (old_values ?| array['state_code', 'lifecycle_stage', 'is_open', 'is_approved'])
      and not (new_values ?| array['state_code', 'lifecycle_stage', 'is_open', 'is_approved'])
     from audit.changes
    where table_name = 'app.registrations' and record_id = 'ab000000-0000-4000-8000-000000000001' and op = 'UPDATE'),
  'registrations UPDATE: neither old_values nor new_values holds a generated column'
);

-- TRUNCATE -------------------------------------------------------------------

insert into app.attachments (id, airtable_attachment_id, product_id, field_name, filename, size_bytes, mime_type)
  values ('e1000000-0000-4000-8000-000000000001', 'attLabelBayou0001', 'd1000000-0000-4000-8000-000000000001',
          'label', 'bayou-weed-away-label.pdf', 48213, 'application/pdf');
select set_config('airlift.actor', 'carol', true);
truncate app.attachments;

select results_eq(
  $$select table_name, record_id, op, old_values, new_values, changed_columns, actor, run_id
      from audit.changes
     where table_name = 'app.attachments' and op = 'TRUNCATE'$$,
  $$values ('app.attachments'::text, null::text, 'TRUNCATE'::text, null::jsonb, null::jsonb, null::text[],
            'carol'::text, 7001::bigint)$$,
  'a truncate is recorded once, as TRUNCATE with null record_id and no values'
);
select is(
  (select db_role from audit.changes where table_name = 'app.attachments' and op = 'TRUNCATE'),
  session_user::text,
  'without SET ROLE, db_role is the session user'
);

-- No actor, no run -----------------------------------------------------------

select set_config('airlift.actor', '', true);
select set_config('airlift.run_id', '', true);
insert into app.clients (id, name) values ('c1000000-0000-4000-8000-000000000007', 'Evergreen Turf');
select results_eq(
  $$select actor, run_id from audit.changes
     where table_name = 'app.clients' and record_id = 'c1000000-0000-4000-8000-000000000007'$$,
  $$values (null::text, null::bigint)$$,
  'with airlift.actor and airlift.run_id empty, actor and run_id are null'
);

-- Sync control tables --------------------------------------------------------
-- (Their rows keep the default updated_at, now(), so the changed columns below
-- do not depend on whether updated_at is stamped within the transaction.)

select results_eq(
  $$select op, db_role = session_user::text, actor, run_id, new_values ->> 'run_type'
      from audit.changes where table_name = 'sync.runs' and record_id = '7001'$$,
  $$values ('INSERT'::text, true, null::text, null::bigint, 'incremental')$$,
  'sync.runs: the insert of run 7001 is recorded under its numeric id, before any run was set'
);

select set_config('airlift.actor', 'worker', true);
select set_config('airlift.run_id', '7001', true);
set local role airlift_sync;
insert into sync.jobs (id, job_name, job_type, schedule_config)
  values ('a2000000-0000-4000-8000-000000000001', 'delta-incremental', 'scheduled_sync', '{"cron": "*/5 * * * *"}');
update sync.runs set job_id = 'a2000000-0000-4000-8000-000000000001' where id = 7001;
insert into sync.checkpoints (id, run_id, operation_type, entity_type, status)
  values ('c2000000-0000-4000-8000-000000000001', 7001, 'sync_operation', 'app.clients', 'pending');
-- The rows above hold keys, so the target-checksum trigger entered them in
-- the id map; this suite states the id map it wants itself.
delete from sync.id_map where migration_batch is null;
insert into sync.id_map (id, entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table)
  values ('b2000000-0000-4000-8000-000000000001', 'clients', 'recClientAcme0001', 'c1000000-0000-4000-8000-000000000001',
          7001, 'Clients', 'app.clients');
insert into sync.record_errors (id, run_id, source_table, source_key, field, value, reason)
  values ('e2000000-0000-4000-8000-000000000001', 7001, 'Clients', 'recClientBad00001', 'Account Manager',
          '"usrNobody0000001"', 'dangling link to Account Manager');
insert into sync.data_differentials (id, run_id, source_table, target_table, comparison_type, legacy_ids, record_count)
  values ('d2000000-0000-4000-8000-000000000001', 7001, 'Clients', 'app.clients', 'missing_records',
          '["recClientGone0001"]', 1);
insert into sync.validation_reports (id, run_id, validation_type, source_entity, target_entity, records_validated, validation_passed)
  values ('f2000000-0000-4000-8000-000000000001', 7001, 'completeness_check', 'Clients', 'app.clients', 505, true);
update sync.checkpoints set status = 'in_progress', started_at = '2024-03-01 09:01+00'
 where id = 'c2000000-0000-4000-8000-000000000001';
delete from sync.record_errors where id = 'e2000000-0000-4000-8000-000000000001';
reset role;

select set_eq(
  $$select table_name, record_id from audit.changes
     where op = 'INSERT' and db_role = 'airlift_sync' and actor = 'worker' and run_id = 7001$$,
  $$values ('sync.jobs', 'a2000000-0000-4000-8000-000000000001'),
           ('sync.checkpoints', 'c2000000-0000-4000-8000-000000000001'),
           ('sync.id_map', 'b2000000-0000-4000-8000-000000000001'),
           ('sync.record_errors', 'e2000000-0000-4000-8000-000000000001'),
           ('sync.data_differentials', 'd2000000-0000-4000-8000-000000000001'),
           ('sync.validation_reports', 'f2000000-0000-4000-8000-000000000001')$$,
  'inserts into sync.jobs, checkpoints, id_map, record_errors, data_differentials and validation_reports are recorded'
);
select results_eq(
  $$select changed_columns, old_values ->> 'job_id', new_values ->> 'job_id', db_role, run_id
      from audit.changes where table_name = 'sync.runs' and record_id = '7001' and op = 'UPDATE'$$,
  $$values (array['job_id'], null::text, 'a2000000-0000-4000-8000-000000000001',
            'airlift_sync'::text, 7001::bigint)$$,
  'sync.runs: an update by the worker is recorded with its changed columns'
);
select results_eq(
  $$select changed_columns, old_values ->> 'status', new_values ->> 'status'
      from audit.changes where table_name = 'sync.checkpoints' and op = 'UPDATE'
       and record_id = 'c2000000-0000-4000-8000-000000000001'$$,
  $$values (array['started_at', 'status'], 'pending', 'in_progress')$$,
  'sync.checkpoints: a status move is recorded as an UPDATE with its changed columns'
);
select results_eq(
  $$select op, old_values ->> 'reason', new_values is null
      from audit.changes where table_name = 'sync.record_errors' and op = 'DELETE'$$,
  $$values ('DELETE'::text, 'dangling link to Account Manager', true)$$,
  'sync.record_errors: a delete is recorded with the deleted row'
);

-- The audit row's own consistency check -----------------------------------------

select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, old_values, new_values, db_role)
    values ('app.clients', 'c1000000-0000-4000-8000-000000000001', 'INSERT', '{"name": "Old"}', '{"name": "New"}', 'postgres')$$,
  '23514',
  'new row for relation "changes" violates check constraint "changes_values_match_op"',
  'an INSERT audit row with old_values is refused'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role)
    values ('app.clients', 'c1000000-0000-4000-8000-000000000001', 'UPDATE', '{"name": "New"}', 'postgres')$$,
  '23514',
  'new row for relation "changes" violates check constraint "changes_values_match_op"',
  'an UPDATE audit row without old_values is refused'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, old_values, db_role)
    values ('app.clients', null, 'DELETE', '{"name": "Old"}', 'postgres')$$,
  '23514',
  'new row for relation "changes" violates check constraint "changes_values_match_op"',
  'a DELETE audit row without record_id is refused'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, db_role)
    values ('app.attachments', 'e1000000-0000-4000-8000-000000000001', 'TRUNCATE', 'postgres')$$,
  '23514',
  'new row for relation "changes" violates check constraint "changes_values_match_op"',
  'a TRUNCATE audit row with a record_id is refused'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role)
    values ('app.clients', 'c1000000-0000-4000-8000-000000000001', 'MERGE', '{"name": "New"}', 'postgres')$$,
  '23514',
  'new row for relation "changes" violates check constraint "changes_op_is_known"',
  'an audit row with an unknown op is refused'
);
select lives_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role)
    values ('app.clients', 'c1000000-0000-4000-8000-000000000001', 'INSERT', '{"name": "New"}', 'postgres')$$,
  'a consistent INSERT audit row passes the check (the refusals above are the check''s)'
);

select * from finish();
ROLLBACK;
