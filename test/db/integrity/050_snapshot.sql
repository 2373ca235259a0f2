-- The pre-migration safety snapshot in SQL: taking one (a private schema of
-- copies, row counts and checksums), restoring it after inserts, updates
-- and deletes in parent and child tables, the id map and staging (rows come
-- back with their ids, updated_at and generated columns, the audit trail
-- carries the restore run, the checksums equal the snapshot's, the runs
-- since are undone), dropping it, the errors, and who may read it.
--
-- Runs: 9501 full (before the snapshot), 9502 incremental and 9504 a
-- failed incremental (after it), 9503 the rollback run of the restore,
-- 9505 a verify run (not a rollback run).
BEGIN;
select plan(45);

-- ---------------------------------------------------------------------------
-- Structure
-- ---------------------------------------------------------------------------
select has_table('sync', 'snapshots', 'table sync.snapshots exists');
select col_is_pk('sync', 'snapshots', 'id', 'sync.snapshots.id is the primary key');
select col_is_unique('sync', 'snapshots', 'schema_name', 'sync.snapshots.schema_name is unique');
select fk_ok('sync', 'snapshots', 'run_id', 'sync', 'runs', 'id', 'sync.snapshots.run_id references sync.runs(id)');
select fk_ok('sync', 'snapshots', 'restored_by_run_id', 'sync', 'runs', 'id', 'sync.snapshots.restored_by_run_id references sync.runs(id)');
select results_eq(
  $$select p.proname::text collate "default", p.prosecdef, p.provolatile::text, p.proconfig collate "default"
    from pg_proc p where p.pronamespace = 'sync'::regnamespace and p.proname in ('take_snapshot', 'restore_snapshot', 'drop_snapshot')
    order by p.proname$$,
  $$values ('drop_snapshot', true, 'v', array['search_path=pg_catalog, pg_temp']),
           ('restore_snapshot', true, 'v', array['search_path=pg_catalog, pg_temp', 'work_mem=128MB']),
           ('take_snapshot', true, 'v', array['search_path=pg_catalog, pg_temp'])$$,
  'take, restore and drop are volatile security definer functions with a fixed search_path');
select throws_ok($$insert into sync.snapshots (label, taken_by) values ('  ', 'me')$$, '23514', null,
  'a snapshot needs a label that is not blank');

-- ---------------------------------------------------------------------------
-- Fixtures: a run before the snapshot, and data in every kind of table
-- ---------------------------------------------------------------------------
-- This suite states the id map itself: the target-checksum trigger does not
-- enter the keyed rows it writes (no entity keeps a source-key column here).
update sync.entities set source_key_column = null;
select tests.open_run('full', 9501, '{"base_id": "appSnapshotTest01"}');
update sync.runs set started_at = '2024-01-01', status = 'completed', finished_at = '2024-01-01 00:10' where id = 9501;

insert into app.collaborators (id, airtable_user_id, name, updated_at) values
  ('15000000-0000-4000-8000-000000000001', 'usrSNAPSHOTUSER01', 'Casey', '2024-01-01');
insert into app.clients (id, airtable_id, name, account_manager_id, annual_budget, updated_at) values
  ('15000000-0000-4000-8000-000000000101', 'recSNAPCLIENT0001', 'Alpha Labs', '15000000-0000-4000-8000-000000000001', 1000, '2024-01-01'),
  ('15000000-0000-4000-8000-000000000102', 'recSNAPCLIENT0002', 'Beta Chemicals', null, null, '2024-01-01'),
  ('15000000-0000-4000-8000-000000000103', 'recSNAPCLIENT0003', 'Gamma Growers', null, null, '2024-01-01');
insert into app.state_regulators (id, airtable_id, agency_name, state, updated_at) values
  ('15000000-0000-4000-8000-000000000201', 'recSNAPREGULATOR1', 'California DPR', 'CA', '2024-01-01');
insert into app.products (id, airtable_id, name, client_id, updated_at) values
  ('15000000-0000-4000-8000-000000000301', 'recSNAPPRODUCT001', 'Weed Away', '15000000-0000-4000-8000-000000000101', '2024-01-01'),
  ('15000000-0000-4000-8000-000000000302', 'recSNAPPRODUCT002', 'Bug Be Gone', '15000000-0000-4000-8000-000000000102', '2024-01-01');
insert into app.registrations (id, airtable_id, client_id, product_id, state_regulator_id, state, status, fee_paid, tags, updated_at) values
  ('15000000-0000-4000-8000-000000000401', 'recSNAPREGISTRA01', '15000000-0000-4000-8000-000000000101', '15000000-0000-4000-8000-000000000301',
   '15000000-0000-4000-8000-000000000201', 'CA', 'Approved', 150.00, '{rush}', '2024-01-01'),
  ('15000000-0000-4000-8000-000000000402', 'recSNAPREGISTRA02', '15000000-0000-4000-8000-000000000102', '15000000-0000-4000-8000-000000000302',
   null, 'or', 'Submitted', null, '{}', '2024-01-01');
insert into app.attachments (id, airtable_attachment_id, product_id, registration_id, field_name, filename, updated_at) values
  ('15000000-0000-4000-8000-000000000501', 'attSNAPATTACHME01', '15000000-0000-4000-8000-000000000301', null, 'label', 'label.pdf', '2024-01-01'),
  ('15000000-0000-4000-8000-000000000502', 'attSNAPATTACHME02', null, '15000000-0000-4000-8000-000000000401', 'documents', 'approval.pdf', '2024-01-01');
insert into sync.id_map (id, entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum, updated_at) values
  ('15000000-0000-4000-8000-000000000601', 'clients', 'recSNAPCLIENT0001', '15000000-0000-4000-8000-000000000101', 9501, 'tblSnapClients001', 'app.clients', repeat('a', 64), '2024-01-01'),
  ('15000000-0000-4000-8000-000000000602', 'clients', 'recSNAPCLIENT0002', '15000000-0000-4000-8000-000000000102', 9501, 'tblSnapClients001', 'app.clients', repeat('b', 64), '2024-01-01');
insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash, run_id) values
  ('appSnapshotTest01', 'tblSnapClients001', 'recSNAPCLIENT0001', '{"Client Name": "Alpha Labs"}', '2020-01-01', repeat('1', 64), 9501),
  ('appSnapshotTest01', 'tblSnapClients001', 'recSNAPCLIENT0002', '{"Client Name": "Beta Chemicals"}', '2020-01-01', repeat('2', 64), 9501);

-- ---------------------------------------------------------------------------
-- Taking a snapshot (as the sync role, through the function)
-- ---------------------------------------------------------------------------
set local role airlift_sync;
create temp table snapshot_taken as select * from sync.take_snapshot('before the test pull', 'tester');
reset role;

select results_eq(
  $$select label, taken_by, schema_name = 'airlift_snapshot_' || id, last_run_before_snapshot, run_id, restored_at, dropped_at from snapshot_taken$$,
  $$values ('before the test pull', 'tester', true, 9501::bigint, null::bigint, null::timestamptz, null::timestamptz)$$,
  'the snapshot is recorded: label, who, its schema airlift_snapshot_<id>, the last run before it, not restored nor dropped');
select set_eq(
  $$select jsonb_object_keys(tables) from snapshot_taken$$,
  $$select c.oid::regclass::text from pg_class c where c.relnamespace = 'app'::regnamespace and c.relkind in ('r', 'p')
    union all select e.target_table::text from sync.entities e where e.target_table::text not like 'app.%'
    union all values ('sync.id_map'), ('staging.source_records')$$,
  'it copies every app table, every other entity''s target table (the examples''), sync.id_map and staging.source_records');
select set_eq(
  $$select t.key, (t.value ->> 'rows')::int from snapshot_taken s, jsonb_each(s.tables) t$$,
  $$values ('app.collaborators', 1), ('app.clients', 3), ('app.state_regulators', 1), ('app.products', 2),
           ('app.registrations', 2), ('app.attachments', 2), ('sync.id_map', 2), ('staging.source_records', 2)
    union all select t, 0 from tests.example_target_tables() t$$,
  'it records the row count of each table');
select is_empty(
  $$select t.key from snapshot_taken s, jsonb_each(s.tables) t
    where sync.table_content_checksum(format('%I.%I', s.schema_name, t.value ->> 'copy')::regclass, sync.stored_columns(t.key::regclass))
          is distinct from t.value - 'copy'
       or sync.table_content_checksum(t.key::regclass, sync.stored_columns(t.key::regclass)) is distinct from t.value - 'copy'$$,
  'each copy and each live table have the content checksum recorded with the snapshot');
select is(
  (select count(*)::int from pg_attribute a, snapshot_taken s
   where a.attrelid = format('%I.app__registrations', s.schema_name)::regclass and a.attname in ('state_code', 'lifecycle_stage', 'is_open', 'is_approved')),
  0, 'generated columns are not copied');
set local timezone = 'America/New_York';
select is(
  (select sync.table_content_checksum('app.registrations', sync.stored_columns('app.registrations'))),
  (select (tables -> 'app.registrations') - 'copy' from snapshot_taken),
  'the content checksum does not depend on the session time zone');
reset timezone;

-- Who may read it
select is((select n.nspowner::regrole::text from pg_namespace n join snapshot_taken s on s.schema_name = n.nspname), 'airlift_owner',
  'the snapshot schema is owned by airlift_owner');
select is((select has_schema_privilege('public', s.schema_name, 'USAGE') from snapshot_taken s), false,
  'PUBLIC may not use the snapshot schema');
select is_empty(
  $$select c.relname, pg_get_userbyid(a.grantee), a.privilege_type
    from pg_class c join snapshot_taken s on c.relnamespace = to_regnamespace(s.schema_name),
         aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
    where a.grantee <> c.relowner$$,
  'no role but the owner holds a privilege on any copy');
create temp table snapshot_copy_query as select format('select count(*) from %I.app__clients', schema_name) as statement from snapshot_taken;
grant select on snapshot_copy_query to airlift_readonly, airlift_sync;
set local role airlift_readonly;
select throws_ok((select statement from snapshot_copy_query), '42501', null, 'airlift_readonly cannot read the snapshot');
select throws_ok($$select sync.take_snapshot('x', 'y')$$, '42501', null, 'airlift_readonly cannot take a snapshot');
reset role;
set local role airlift_sync;
select throws_ok((select statement from snapshot_copy_query), '42501', null, 'airlift_sync cannot read the snapshot either, only restore it');
reset role;

-- ---------------------------------------------------------------------------
-- Changes after the snapshot, in run 9502 and by hand
-- ---------------------------------------------------------------------------
select tests.open_run('incremental', 9502, '{"base_id": "appSnapshotTest01"}');
select tests.open_run('rollback', 9503, '{"restore_snapshot": true}');
select tests.open_run('incremental', 9504, '{"base_id": "appSnapshotTest01"}');
select tests.open_run('verify', 9505);
select set_config('airlift.run_id', '9502', true);
-- parents: a client renamed, a product and a client made, a regulator soft-deleted
update app.clients set name = 'Alpha Labs Inc', annual_budget = 999 where id = '15000000-0000-4000-8000-000000000101';
insert into app.products (id, airtable_id, name, client_id) values
  ('15000000-0000-4000-8000-000000000303', 'recSNAPPRODUCT003', 'Mold Stop', '15000000-0000-4000-8000-000000000102');
update app.state_regulators set deleted_at = now() where id = '15000000-0000-4000-8000-000000000201';
-- children: a registration moved to the new product and approved again, one made, one attachment made
update app.registrations set product_id = '15000000-0000-4000-8000-000000000303', status = 'Denied', tags = '{late}'
where id = '15000000-0000-4000-8000-000000000401';
insert into app.registrations (id, airtable_id, client_id, product_id, state, status) values
  ('15000000-0000-4000-8000-000000000403', 'recSNAPREGISTRA03', '15000000-0000-4000-8000-000000000102', '15000000-0000-4000-8000-000000000303', 'TX', 'Submitted');
insert into app.attachments (id, airtable_attachment_id, product_id, field_name, filename) values
  ('15000000-0000-4000-8000-000000000503', 'attSNAPATTACHME03', '15000000-0000-4000-8000-000000000301', 'label', 'label-v2.pdf');
-- deletes, children before parents: an attachment, a registration, its product
delete from app.attachments where id = '15000000-0000-4000-8000-000000000502';
delete from app.registrations where id = '15000000-0000-4000-8000-000000000402';
delete from app.products where id = '15000000-0000-4000-8000-000000000302';
-- a client deleted and made again under the same Airtable id with a new uuid
delete from app.clients where id = '15000000-0000-4000-8000-000000000103';
insert into app.clients (id, airtable_id, name) values ('15000000-0000-4000-8000-000000000199', 'recSNAPCLIENT0003', 'Gamma Growers (again)');
-- the id map and staging
update sync.id_map set checksum = repeat('c', 64) where id = '15000000-0000-4000-8000-000000000601';
delete from sync.id_map where id = '15000000-0000-4000-8000-000000000602';
insert into sync.id_map (id, entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table) values
  ('15000000-0000-4000-8000-000000000699', 'clients', 'recSNAPCLIENT0003', '15000000-0000-4000-8000-000000000199', 9502, 'tblSnapClients001', 'app.clients');
update staging.source_records set fields = '{"Client Name": "Alpha Labs Inc"}', content_hash = repeat('3', 64), run_id = 9502
where source_key = 'recSNAPCLIENT0001';
delete from staging.source_records where source_key = 'recSNAPCLIENT0002';
insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash, run_id) values
  ('appSnapshotTest01', 'tblSnapClients001', 'recSNAPCLIENT0003', '{"Client Name": "Gamma Growers (again)"}', '2024-06-01', repeat('4', 64), 9502);
update sync.runs set status = 'completed', finished_at = now() where id = 9502;
update sync.runs set status = 'failed', finished_at = now(), error_message = 'killed' where id = 9504;
select set_config('airlift.run_id', '', true);

select set_eq(
  $$select t.key from snapshot_taken s, jsonb_each(s.tables) t
    where sync.table_content_checksum(t.key::regclass, sync.stored_columns(t.key::regclass)) is distinct from t.value - 'copy'$$,
  $$values ('app.clients'), ('app.state_regulators'), ('app.products'), ('app.registrations'), ('app.attachments'),
           ('sync.id_map'), ('staging.source_records')$$,
  'after the changes, every table but collaborators differs from the snapshot');

-- ---------------------------------------------------------------------------
-- Restoring (as the sync role)
-- ---------------------------------------------------------------------------
select set_config('airlift.actor', 'restorer', true);
set local role airlift_sync;
create temp table restore_result as select * from sync.restore_snapshot((select id from snapshot_taken), 9503);
reset role;
select set_config('airlift.run_id', '', true);

select results_eq(
  $$select table_name, removed, inserted, restored from restore_result where table_name not in (select tests.example_target_tables())$$,
  $$values ('app.collaborators', 0::bigint, 0::bigint, 0::bigint),
           ('app.state_regulators', 0, 0, 1),
           ('staging.source_records', 1, 1, 1),
           ('sync.id_map', 1, 1, 1),
           ('app.clients', 1, 1, 1),
           ('app.products', 1, 1, 0),
           ('app.registrations', 1, 1, 1),
           ('app.attachments', 1, 1, 0)$$,
  'the restore reports per table, parents first, the rows it removed, inserted and restored');
select is_empty(
  $$select t.key from snapshot_taken s, jsonb_each(s.tables) t
    where sync.table_content_checksum(t.key::regclass, sync.stored_columns(t.key::regclass)) is distinct from t.value - 'copy'$$,
  'after the restore every table''s content checksum equals the snapshot''s');
select results_eq(
  $$select id, product_id, status, tags, lifecycle_stage, is_approved from app.registrations order by id$$,
  $$values ('15000000-0000-4000-8000-000000000401'::uuid, '15000000-0000-4000-8000-000000000301'::uuid, 'Approved', '{rush}'::text[], 'active', true),
           ('15000000-0000-4000-8000-000000000402'::uuid, '15000000-0000-4000-8000-000000000302'::uuid, 'Submitted', '{}'::text[], 'review', false)$$,
  'registrations: the updated one has its values back (generated columns follow), the deleted one is back with its id, the new one is gone');
select results_eq(
  $$select id, name, client_id from app.products order by id$$,
  $$values ('15000000-0000-4000-8000-000000000301'::uuid, 'Weed Away', '15000000-0000-4000-8000-000000000101'::uuid),
           ('15000000-0000-4000-8000-000000000302'::uuid, 'Bug Be Gone', '15000000-0000-4000-8000-000000000102'::uuid)$$,
  'products: the deleted parent is back, the new one (that a kept registration pointed at) is gone');
select results_eq(
  $$select id, name, annual_budget from app.clients order by id$$,
  $$values ('15000000-0000-4000-8000-000000000101'::uuid, 'Alpha Labs', 1000.00),
           ('15000000-0000-4000-8000-000000000102'::uuid, 'Beta Chemicals', null),
           ('15000000-0000-4000-8000-000000000103'::uuid, 'Gamma Growers', null)$$,
  'clients: the renamed one has its name back, and the one made again under the same Airtable id is back with its old uuid');
select results_eq(
  $$select id from app.attachments order by id$$,
  $$values ('15000000-0000-4000-8000-000000000501'::uuid), ('15000000-0000-4000-8000-000000000502'::uuid)$$,
  'attachments: the deleted one is back, the new one is gone');
select is((select deleted_at from app.state_regulators), null, 'the soft-deleted regulator is live again');
select results_eq(
  $$select id, checksum from sync.id_map order by id$$,
  $$values ('15000000-0000-4000-8000-000000000601'::uuid, repeat('a', 64)), ('15000000-0000-4000-8000-000000000602'::uuid, repeat('b', 64))$$,
  'the id map is restored');
select results_eq(
  $$select source_key, fields ->> 'Client Name', run_id from staging.source_records order by source_key$$,
  $$values ('recSNAPCLIENT0001', 'Alpha Labs', 9501::bigint), ('recSNAPCLIENT0002', 'Beta Chemicals', 9501::bigint)$$,
  'staging is restored by (source_table, source_key)');
select is(
  (select count(*)::int from (select updated_at from app.clients union all select updated_at from app.registrations
                              union all select updated_at from app.state_regulators union all select updated_at from sync.id_map) u
   where u.updated_at <> '2024-01-01'),
  0, 'restored rows keep the updated_at of the snapshot');
select is(
  (select count(*)::int from pg_trigger where tgname = '_100_set_updated_at' and tgenabled = 'O'
     and tgrelid in (select c.oid from pg_class c where c.relnamespace = 'app'::regnamespace union all select 'sync.id_map'::regclass)),
  7, 'the updated_at triggers are enabled again after the restore');
select results_eq(
  $$select table_name, op, count(*)::int, bool_and(actor = 'restorer') from audit.changes
    where run_id = 9503 and (table_name like 'app.%' or table_name = 'sync.id_map')
    group by table_name, op order by table_name, op$$,
  $$values ('app.attachments', 'DELETE', 1, true), ('app.attachments', 'INSERT', 1, true),
           ('app.clients', 'DELETE', 1, true), ('app.clients', 'INSERT', 1, true), ('app.clients', 'UPDATE', 1, true),
           ('app.products', 'DELETE', 1, true), ('app.products', 'INSERT', 1, true),
           ('app.registrations', 'DELETE', 1, true), ('app.registrations', 'INSERT', 1, true), ('app.registrations', 'UPDATE', 1, true),
           ('app.state_regulators', 'UPDATE', 1, true),
           ('sync.id_map', 'DELETE', 1, true), ('sync.id_map', 'INSERT', 1, true), ('sync.id_map', 'UPDATE', 1, true)$$,
  'every restored row is in the audit trail under the restore run, with the actor');
select results_eq(
  $$select id, status, (metadata ->> 'rolled_back_by_run')::bigint, (metadata ->> 'restored_snapshot')::bigint = (select id from snapshot_taken)
    from sync.runs where id in (9501, 9502, 9504, 9505) order by id$$,
  $$values (9501::bigint, 'completed', null::bigint, null::boolean), (9502, 'rolled_back', 9503, true), (9504, 'cancelled', 9503, true),
           (9505, 'running', null, null)$$,
  'the data runs since the snapshot are undone (completed: rolled back; failed: cancelled); earlier runs and other kinds are left alone');
select results_eq(
  $$select restored_at = now(), restored_by_run_id from sync.snapshots where id = (select id from snapshot_taken)$$,
  $$values (true, 9503::bigint)$$,
  'the snapshot is marked restored, by run 9503');

select results_eq(
  $$select sum(removed + inserted + restored)::int from sync.restore_snapshot((select id from snapshot_taken), 9503)$$,
  $$values (0)$$,
  'restoring again changes nothing');
select set_config('airlift.run_id', '', true);
select is((select count(*)::int from audit.changes where run_id = 9503 and (table_name like 'app.%' or table_name = 'sync.id_map')), 14,
  'and leaves no audit noise');

-- ---------------------------------------------------------------------------
-- Errors, dropping
-- ---------------------------------------------------------------------------
select throws_ok($$select * from sync.restore_snapshot(-1, 9503)$$, 'P0002', 'no snapshot -1', 'restoring an unknown snapshot is refused, naming it');
select throws_ok(format('select * from sync.restore_snapshot(%s, 9505)', (select id from snapshot_taken)), '55000', null,
  'a restore must be recorded under a running rollback run');
select throws_ok($$select * from sync.drop_snapshot(-1)$$, 'P0002', 'no snapshot -1', 'dropping an unknown snapshot is refused, naming it');

set local role airlift_sync;
select is((select dropped_at from sync.drop_snapshot((select id from snapshot_taken))), now(), 'drop_snapshot marks the snapshot dropped');
reset role;
select is((select to_regnamespace(schema_name) from snapshot_taken), null, 'the snapshot schema is gone');
select throws_ok(format('select * from sync.restore_snapshot(%s, 9503)', (select id from snapshot_taken)), '55000',
  format('snapshot %s was dropped at %s; it cannot be restored', (select id from snapshot_taken), now()),
  'a dropped snapshot cannot be restored');
select throws_ok(format('select * from sync.drop_snapshot(%s)', (select id from snapshot_taken)), '55000',
  format('snapshot %s was already dropped at %s', (select id from snapshot_taken), now()),
  'a snapshot cannot be dropped twice');

-- A snapshot of tables whose columns have changed since cannot be restored.
create temp table second_snapshot as select * from sync.take_snapshot('before a column change', 'tester', 9505);
select is((select last_run_before_snapshot from second_snapshot), 9504::bigint,
  'with a run to protect, the snapshot''s watermark is the run before it');
alter table app.collaborators add column nickname text;
select throws_ok(format('select * from sync.restore_snapshot(%s, 9503)', (select id from second_snapshot)), '55000',
  format('snapshot %s was taken before the columns of some tables changed; it cannot be restored', (select id from second_snapshot)),
  'a snapshot taken before a column change is refused');

select * from finish();
ROLLBACK;
