-- Identity is read from sync.id_map only. A row written outside the sync
-- with a key in its table's source-key column (Delta's airtable_id) is
-- entered in the id map under that key: by the target-checksum trigger as
-- it is written (before any mapping too, the source table filled in when
-- the mapping arrives), or by sync.adopt_source_keys for rows written with
-- triggers off. A mapped row keeps its entry whatever its column says, and
-- a key already mapped to another row is not taken over.
BEGIN;
select plan(12);

-- Before any mapping: a keyed row and an unkeyed one.
insert into app.clients (id, airtable_id, name) values
  ('17000000-0000-4000-8000-000000000001', 'recADOPTCLIENT001', 'Acme'),
  ('17000000-0000-4000-8000-000000000002', null, 'Local Only');
select results_eq(
  $$select legacy_id, uuid_id, source_table, target_table, migration_batch from sync.id_map where entity_type = 'clients'$$,
  $$values ('recADOPTCLIENT001', '17000000-0000-4000-8000-000000000001'::uuid, null::text, 'app.clients', null::bigint)$$,
  'before any mapping, a row written with a key is entered under it, its source table not known yet; a row without a key is not');

select tests.seed_delta_mapping(entities => array['clients']);
select results_eq(
  $$select legacy_id, source_table from sync.id_map where entity_type = 'clients'$$,
  $$values ('recADOPTCLIENT001', 'tblZaclZULDATjmXm')$$,
  'loading the mapping fills in the source table');

-- After the mapping: a key given to a row later enters it then.
update app.clients set airtable_id = 'recADOPTCLIENT002' where id = '17000000-0000-4000-8000-000000000002';
select results_eq(
  $$select uuid_id from sync.id_map where entity_type = 'clients' and legacy_id = 'recADOPTCLIENT002'$$,
  $$values ('17000000-0000-4000-8000-000000000002'::uuid)$$,
  'a key written into a row that had none enters the row under it');
select results_eq(
  $$select source_key from sync.target_checksums where entity = 'clients' and row_id = '17000000-0000-4000-8000-000000000002'$$,
  $$values ('recADOPTCLIENT002')$$,
  'and its target checksum is filed under that key in the same statement');

-- A mapped row keeps its entry: the column is not identity.
update app.clients set airtable_id = 'recADOPTRENAMED01' where id = '17000000-0000-4000-8000-000000000001';
select results_eq(
  $$select legacy_id from sync.id_map where entity_type = 'clients' and uuid_id = '17000000-0000-4000-8000-000000000001'$$,
  $$values ('recADOPTCLIENT001')$$,
  'rewriting the key column of a mapped row does not rekey it');
select is_empty(
  $$select from sync.id_map where legacy_id = 'recADOPTRENAMED01'$$,
  'and enters nothing under the new value');

-- A key already mapped to another row (the first row's, which its column
-- no longer shows) is not taken over.
insert into app.clients (id, airtable_id, name) values ('17000000-0000-4000-8000-000000000003', 'recADOPTCLIENT001', 'Copy Of Acme');
select results_eq(
  $$select uuid_id from sync.id_map where entity_type = 'clients' and legacy_id = 'recADOPTCLIENT001'$$,
  $$values ('17000000-0000-4000-8000-000000000001'::uuid)$$,
  'a second row with a key already mapped leaves the map as it was');
select is_empty(
  $$select from sync.id_map where uuid_id = '17000000-0000-4000-8000-000000000003'$$,
  'and the second row has no entry');

-- Rows written with triggers off (a bulk load, a restore by hand) are
-- entered by sync.adopt_source_keys.
alter table app.clients disable trigger _800_target_checksums_insert;
insert into app.clients (id, airtable_id, name) values
  ('17000000-0000-4000-8000-000000000004', 'recADOPTCLIENT004', 'Loaded One'),
  ('17000000-0000-4000-8000-000000000005', 'recADOPTCLIENT005', 'Loaded Two');
alter table app.clients enable trigger _800_target_checksums_insert;
set local role airlift_sync;
select results_eq(
  $$select entity, adopted from sync.adopt_source_keys('clients')$$,
  $$values ('clients', 2::bigint)$$,
  'adopt_source_keys enters the two rows loaded with triggers off, as the sync role');
select results_eq(
  $$select entity, adopted from sync.adopt_source_keys() where entity = 'clients'$$,
  $$values ('clients', 0::bigint)$$,
  'a second call enters nothing');
reset role;
select results_eq(
  $$select legacy_id, uuid_id from sync.id_map where legacy_id in ('recADOPTCLIENT004', 'recADOPTCLIENT005') order by 1$$,
  $$values ('recADOPTCLIENT004', '17000000-0000-4000-8000-000000000004'::uuid), ('recADOPTCLIENT005', '17000000-0000-4000-8000-000000000005'::uuid)$$,
  'each under its own key');
select throws_ok($$select * from sync.adopt_source_keys('no_such_entity')$$, 'P0002', 'unknown entity no_such_entity',
  'an unknown entity is refused, naming it');

select * from finish();
ROLLBACK;
