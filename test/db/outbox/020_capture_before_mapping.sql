-- Change capture before any mapping is loaded (sync.entity_mappings empty:
-- a fresh database before its first pull or push). An application's writes
-- are captured over the catalogue's pushable columns (the capture needs
-- columns, conversions and links, not field ids), so nothing it writes
-- then is lost; once the mapping is loaded, the push plans each entry over
-- the mapped columns only, and an entity the mapping leaves out is not
-- captured any more.
--
-- Runs: 9620 full (a row as the sync wrote it), 9621 push.
-- Record ids are rec + exactly 14 letters or digits.
BEGIN;
select plan(14);

select tests.open_run('full', 9620);
select tests.open_run('push', 9621);

select is_empty($$select from sync.entity_mappings$$, 'no mapping is loaded yet');

-- A row the sync wrote (say, restored before the mappings were written): not captured.
select set_config('airlift.run_id', '9620', true);
insert into app.clients (id, airtable_id, name, status) values ('00000000-0000-4000-8000-0000000001a1', 'recBEFOREMAPPING1', 'Acme', 'Active');
select set_config('airlift.run_id', '', true);

-- ---------------------------------------------------------------------------
-- Before the mapping: the catalogue's pushable columns, no field ids
-- ---------------------------------------------------------------------------
select results_eq(
  $$select column_name, field_id, conversion, linked_table::text from sync.push_columns('products') order by column_name$$,
  $$values ('active_ingredients', null::text, 'text', null::text), ('client_id', null, 'link', 'app.clients'), ('discontinued', null, 'checkbox', null),
           ('epa_registration_number', null, 'text', null), ('name', null, 'text', null), ('product_type', null, 'select', null),
           ('signal_word', null, 'select', null)$$,
  'with no mapping loaded, push_columns gives the catalogue''s pushable columns (never Airtable''s computed times) with their conversions and link targets, without field ids');

set local role airlift_app;
insert into app.clients (id, name, status, federal_tax_id) values ('00000000-0000-4000-8000-0000000001c1', 'Early Bird', 'Prospect', '12-3456789');
insert into app.products (id, name, client_id, discontinued) values ('00000000-0000-4000-8000-0000000001b1', 'Early Spray', '00000000-0000-4000-8000-0000000001c1', false);
update app.clients set notes = 'called', federal_tax_id = '98-7654321' where id = '00000000-0000-4000-8000-0000000001a1';
insert into app.clients (id, name) values ('00000000-0000-4000-8000-0000000001c2', 'Never Mind');
delete from app.clients where id = '00000000-0000-4000-8000-0000000001c2';
reset role;

select results_eq(
  $$select operation, source_key, changed_columns, before_values, status from sync.outbox where row_id = '00000000-0000-4000-8000-0000000001c1'$$,
  $$values ('create', null::text, '{federal_tax_id,name,status}'::text[], '{}'::jsonb, 'pending')$$,
  'an insert by the app role before any mapping is captured as a create, with the columns that have a value');
select results_eq(
  $$select operation, changed_columns, status from sync.outbox where row_id = '00000000-0000-4000-8000-0000000001b1'$$,
  $$values ('create', '{client_id,name}'::text[], 'pending')$$,
  '... a row linking to it too (a false checkbox is no value)');
select results_eq(
  $$select operation, source_key, changed_columns, before_values, status from sync.outbox where row_id = '00000000-0000-4000-8000-0000000001a1'$$,
  $$values ('update', 'recBEFOREMAPPING1', '{federal_tax_id,notes}'::text[], '{"federal_tax_id": null, "notes": null}'::jsonb, 'pending')$$,
  'an update of a row Airtable has is captured with its changed columns and their values before');
select results_eq(
  $$select operation, status from sync.outbox where row_id = '00000000-0000-4000-8000-0000000001c2'$$,
  $$values ('create', 'superseded')$$,
  'a row created and deleted before any mapping: its entry is superseded, nothing to push');
select is((select f.fields from sync.airtable_fields('clients', array['00000000-0000-4000-8000-0000000001c1'::uuid]) f), '{}'::jsonb,
  'without field ids there are no Airtable fields to send yet');

-- ---------------------------------------------------------------------------
-- The mapping is loaded (clients leaves federal_tax_id unmapped; no state
-- regulators mapped): the push plans the entries over the mapped columns
-- ---------------------------------------------------------------------------
select tests.seed_delta_mapping(entities => array['clients', 'products'], omit_columns => array['federal_tax_id'], field_names => false, attachments => false);

select is((select count(*)::int from sync.push_columns('clients') where field_id is null or column_name = 'federal_tax_id'), 0,
  'with the mapping loaded, push_columns gives the mapped pushable columns only, each with its field id');
select is_empty($$select from sync.push_columns('state_regulators')$$,
  '... and none for an entity the mapping leaves out');

select is((select count(*)::int from sync.claim_outbox(9621, 'clients', null, 10)), 2, 'the push claims both client entries captured before the mapping');
create temp table plan on commit drop as
select p.* from sync.plan_push(9621, array(select o.id from sync.outbox o where o.run_id = 9621),
  '{"recBEFOREMAPPING1": {"fldcRQ5EWmHA7hkmK": "Acme", "fldAxUQDrygYjpbpO": "Active"}}'::jsonb) p;
select set_config('airlift.run_id', '', true);
select results_eq(
  $$select action, fields from plan where row_id = '00000000-0000-4000-8000-0000000001c1'$$,
  $$values ('create', '{"fldcRQ5EWmHA7hkmK": "Early Bird", "fldAxUQDrygYjpbpO": "Prospect"}'::jsonb)$$,
  'the create sends the row''s mapped fields as they are when planned (the unmapped column is not sent)');
select results_eq(
  $$select action, fields from plan where row_id = '00000000-0000-4000-8000-0000000001a1'$$,
  $$values ('update', '{"fld4nncVN1i1Qbxro": "called"}'::jsonb)$$,
  'the update is planned over the mapped columns: the change of the unmapped column is left out');

-- Once a mapping is loaded, an entity it leaves out is not synced: not captured.
set local role airlift_app;
insert into app.state_regulators (id, agency_name, state) values ('00000000-0000-4000-8000-0000000001d1', 'Early Agency', 'OR');
update app.clients set federal_tax_id = '11-1111111' where id = '00000000-0000-4000-8000-0000000001c1';
reset role;
select is_empty($$select from sync.outbox where row_id = '00000000-0000-4000-8000-0000000001d1'$$,
  'a row of an entity the loaded mapping leaves out is not captured');
select is_empty($$select from sync.outbox where row_id = '00000000-0000-4000-8000-0000000001c1' and status = 'pending'$$,
  '... nor a change of a column the mapping leaves out (as before any capture without a mapping)');

select * from finish();
ROLLBACK;
