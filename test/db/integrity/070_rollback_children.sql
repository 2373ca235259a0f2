-- Rollback of a run over rows that link to rows it inserted: a later run
-- and a user added or relinked rows pointing at a client, a product and a
-- collaborator the run created. sync.rollback_conflicts names each such
-- link (table, row, Airtable id, column, the row the rollback removes, who
-- linked it in which run); the rollback refuses without force; forced, it
-- deletes the rows a cascading link owns (an attachment), empties the
-- other links, keeps the linking rows, and audits all of it.
--
-- Runs: 9600 full (before), 9601 incremental (the one rolled back),
-- 9602 incremental (after it), 9603 the rollback run.
BEGIN;
select plan(12);

select tests.open_run('full', 9600, '{"base_id": "appRollbackKids1"}');
select tests.open_run('incremental', 9601, '{"base_id": "appRollbackKids1"}');
select tests.open_run('incremental', 9602, '{"base_id": "appRollbackKids1"}');
select tests.open_run('rollback', 9603, '{"rolls_back": 9601}');

-- before run 9601: a client, a regulator, a product
select set_config('airlift.run_id', '9600', true), set_config('airlift.actor', 'worker', true);
insert into app.clients (id, airtable_id, name) values
  ('16000000-0000-4000-8000-000000000100', 'recCHILDCLIENT000', 'Alpha Labs');
insert into app.state_regulators (id, airtable_id, agency_name, state) values
  ('16000000-0000-4000-8000-000000000200', 'recCHILDREGULAT00', 'California DPR', 'CA');
insert into app.products (id, airtable_id, name, client_id) values
  ('16000000-0000-4000-8000-000000000300', 'recCHILDPRODUCT00', 'Weed Away', '16000000-0000-4000-8000-000000000100');
update sync.runs set status = 'completed', finished_at = now() where id = 9600;

-- run 9601: a collaborator, a client managed by them, a product of that
-- client and a registration of it (all inserted), and a note on the old client
select set_config('airlift.run_id', '9601', true);
insert into app.collaborators (id, airtable_user_id, name) values
  ('16000000-0000-4000-8000-000000000001', 'usrCHILDUSER00001', 'Casey');
insert into app.clients (id, airtable_id, name, account_manager_id) values
  ('16000000-0000-4000-8000-000000000101', 'recCHILDCLIENT001', 'Beta Chemicals', '16000000-0000-4000-8000-000000000001');
insert into app.products (id, airtable_id, name, client_id) values
  ('16000000-0000-4000-8000-000000000301', 'recCHILDPRODUCT01', 'Bug Be Gone', '16000000-0000-4000-8000-000000000101');
insert into app.registrations (id, airtable_id, client_id, product_id, state_regulator_id, state) values
  ('16000000-0000-4000-8000-000000000400', 'recCHILDREGISTR00', '16000000-0000-4000-8000-000000000101',
   '16000000-0000-4000-8000-000000000301', '16000000-0000-4000-8000-000000000200', 'CA');
update app.clients set notes = 'renewal due' where id = '16000000-0000-4000-8000-000000000100';
update sync.runs set status = 'completed', finished_at = now() where id = 9601;

-- run 9602, later: a registration of the new product and client, a label
-- file on the new product, and a registration of the old product
select set_config('airlift.run_id', '9602', true);
insert into app.registrations (id, airtable_id, client_id, product_id, state_regulator_id, state) values
  ('16000000-0000-4000-8000-000000000401', 'recCHILDREGISTR01', '16000000-0000-4000-8000-000000000101',
   '16000000-0000-4000-8000-000000000301', '16000000-0000-4000-8000-000000000200', 'CA'),
  ('16000000-0000-4000-8000-000000000402', 'recCHILDREGISTR02', '16000000-0000-4000-8000-000000000100',
   '16000000-0000-4000-8000-000000000300', '16000000-0000-4000-8000-000000000200', 'CA');
insert into app.attachments (id, airtable_attachment_id, product_id, field_name, filename) values
  ('16000000-0000-4000-8000-000000000501', 'attCHILDATTACHM01', '16000000-0000-4000-8000-000000000301', 'label', 'label.pdf');
update sync.runs set status = 'completed', finished_at = now() where id = 9602;

-- a user, outside any run: the old product moves to the new client, and
-- the new collaborator is assigned the old product's registration
select set_config('airlift.run_id', '', true), set_config('airlift.actor', 'dba@delta', true);
update app.products set client_id = '16000000-0000-4000-8000-000000000101' where id = '16000000-0000-4000-8000-000000000300';
update app.registrations set assigned_to_id = '16000000-0000-4000-8000-000000000001' where id = '16000000-0000-4000-8000-000000000402';
select set_config('airlift.actor', '', true);

-- ---------------------------------------------------------------------------
-- The conflicts named
-- ---------------------------------------------------------------------------
select set_eq(
  $$select conflict, table_name, record_id, airtable_id, column_name, linked_table, linked_record_id, changed_by, change_run_id
    from sync.rollback_conflicts(9601)$$,
  $$values
    ('links to a row the rollback removes', 'app.attachments', '16000000-0000-4000-8000-000000000501', 'attCHILDATTACHM01', 'product_id',
     'app.products', '16000000-0000-4000-8000-000000000301', 'worker', 9602::bigint),
    ('links to a row the rollback removes', 'app.products', '16000000-0000-4000-8000-000000000300', 'recCHILDPRODUCT00', 'client_id',
     'app.clients', '16000000-0000-4000-8000-000000000101', 'dba@delta', null),
    ('links to a row the rollback removes', 'app.registrations', '16000000-0000-4000-8000-000000000401', 'recCHILDREGISTR01', 'client_id',
     'app.clients', '16000000-0000-4000-8000-000000000101', 'worker', 9602),
    ('links to a row the rollback removes', 'app.registrations', '16000000-0000-4000-8000-000000000401', 'recCHILDREGISTR01', 'product_id',
     'app.products', '16000000-0000-4000-8000-000000000301', 'worker', 9602),
    ('links to a row the rollback removes', 'app.registrations', '16000000-0000-4000-8000-000000000402', 'recCHILDREGISTR02', 'assigned_to_id',
     'app.collaborators', '16000000-0000-4000-8000-000000000001', 'dba@delta', null)$$,
  'rollback_conflicts names every row added or relinked since that links to a row run 9601 inserted: table, row, Airtable id, column, the row removed, who linked it in which run (not the rows the run itself made, nor links to rows it did not insert)');

select throws_ok($$select * from sync.rollback_run(9603, 9601)$$, '40001',
  'run 9601 cannot be rolled back: 5 link(s) from rows added or changed since point to rows it inserted',
  'the rollback refuses while rows link to rows the run inserted');

create temp table refusal (detail text, hint text);
do $$
declare
  refused_detail text;
  refused_hint text;
begin
  perform * from sync.rollback_run(9603, 9601);
exception when serialization_failure then
  get stacked diagnostics refused_detail = pg_exception_detail, refused_hint = pg_exception_hint;
  insert into refusal values (refused_detail, refused_hint);
end;
$$;
select matches((select detail from refusal),
  'app\.registrations 16000000-0000-4000-8000-000000000401 \(recCHILDREGISTR01\) links through product_id to app\.products 16000000-0000-4000-8000-000000000301, which the rollback removes \(linked by worker in run 9602 at ',
  'the refusal names the linking row, its Airtable id, the column, the row removed and who linked it in which run');
select matches((select detail from refusal),
  'app\.products 16000000-0000-4000-8000-000000000300 \(recCHILDPRODUCT00\) links through client_id to app\.clients 16000000-0000-4000-8000-000000000101, which the rollback removes \(linked by dba@delta at ',
  'a link a user made is named with the user');
select matches((select hint from refusal), 'links to the rows it inserted are emptied \(files attached to such a row are deleted with it\)',
  'the hint says what forcing does to the linking rows');
select results_eq(
  $$select (select status from sync.runs where id = 9601), (select count(*)::int from app.products where id = '16000000-0000-4000-8000-000000000301')$$,
  $$values ('completed', 1)$$,
  'the refused rollback changed nothing');

-- ---------------------------------------------------------------------------
-- Forced
-- ---------------------------------------------------------------------------
select results_eq(
  $$select table_name, removed, restored, unlinked from sync.rollback_run(9603, 9601, true) order by table_name$$,
  $$values ('app.attachments', 1::bigint, 0::bigint, 0::bigint),
           ('app.clients', 1, 1, 0),
           ('app.collaborators', 1, 0, 0),
           ('app.products', 1, 0, 1),
           ('app.registrations', 1, 0, 3),
           ('sync.id_map', 3, 0, 0)$$,
  'forced: the file owned by the new product is deleted, three links of registrations and one of a product emptied, the run''s own rows removed or restored, with the id map entries their keys gave them');
select set_eq(
  $$select airtable_id, client_id, product_id, state_regulator_id, assigned_to_id from app.registrations$$,
  $$values ('recCHILDREGISTR01', null::uuid, null::uuid, '16000000-0000-4000-8000-000000000200'::uuid, null::uuid),
           ('recCHILDREGISTR02', '16000000-0000-4000-8000-000000000100', '16000000-0000-4000-8000-000000000300', '16000000-0000-4000-8000-000000000200', null)$$,
  'the later registrations are kept, only their links to the removed rows emptied (the one the run made is gone)');
select results_eq(
  $$select airtable_id, client_id from app.products order by airtable_id$$,
  $$values ('recCHILDPRODUCT00', null::uuid)$$,
  'the product the user moved to the removed client is kept, unlinked; the product the run made is gone');
select results_eq(
  $$select (select count(*)::int from app.attachments), (select count(*)::int from app.collaborators),
           (select string_agg(airtable_id || ':' || coalesce(notes, '-'), ',') from app.clients)$$,
  $$values (0, 0, 'recCHILDCLIENT000:-')$$,
  'the file went with its product; the run''s collaborator and client are gone, the old client is as before the run');
select set_eq(
  $$select table_name, op, record_id from audit.changes where run_id = 9603 and table_name like 'app.%'$$,
  $$values ('app.attachments', 'DELETE', '16000000-0000-4000-8000-000000000501'),
           ('app.products', 'UPDATE', '16000000-0000-4000-8000-000000000300'),
           ('app.registrations', 'UPDATE', '16000000-0000-4000-8000-000000000401'),
           ('app.registrations', 'UPDATE', '16000000-0000-4000-8000-000000000402'),
           ('app.registrations', 'DELETE', '16000000-0000-4000-8000-000000000400'),
           ('app.products', 'DELETE', '16000000-0000-4000-8000-000000000301'),
           ('app.clients', 'DELETE', '16000000-0000-4000-8000-000000000101'),
           ('app.clients', 'UPDATE', '16000000-0000-4000-8000-000000000100'),
           ('app.collaborators', 'DELETE', '16000000-0000-4000-8000-000000000001')$$,
  'every row the forced rollback deleted or unlinked is in the audit trail under the rollback run');
select results_eq(
  $$select status, (metadata ->> 'forced')::boolean, (metadata ->> 'links_to_inserted_rows')::int from sync.runs where id = 9601$$,
  $$values ('rolled_back', true, 5)$$,
  'the run is marked rolled back, forced, with the number of links it found');

select * from finish();
ROLLBACK;
