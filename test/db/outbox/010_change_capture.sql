-- Two-way sync in SQL: change capture into sync.outbox by the
-- _950_capture_changes_* triggers (insert, update, soft and hard delete by
-- the app role; nothing for the sync's own writes, for unmapped or
-- non-pushable columns, for no-op updates), coalescing of open entries, the
-- conversion of app rows back to Airtable cell shapes (every conversion,
-- and the round trip through sync.cell_canonical), the three-way push plan
-- under each conflict policy with a per-column override, the outbox
-- bookkeeping (claim, pushed, failed, retry, stale) and manual resolution.
--
-- Runs: 9600 full (the rows as the sync last wrote them), 9601 incremental
-- (a sync write that must not echo), 9602 push (clients, products,
-- regulators), 9603 push (conflicts resolved by hand), 9604 the next push.
-- Record ids are rec + exactly 14 letters or digits.
BEGIN;
select plan(64);

-- ---------------------------------------------------------------------------
-- Fixtures: mappings (field ids from mappings/delta.json; the clients
-- mapping leaves federal_tax_id unmapped), and rows as the sync wrote them.
-- ---------------------------------------------------------------------------
select tests.seed_delta_mapping(omit_columns => array['federal_tax_id'], field_names => false, attachments => false);

select tests.open_run('full', 9600);
select tests.open_run('incremental', 9601);
select tests.open_run('push', 9602);
select tests.open_run('push', 9603);
select tests.open_run('push', 9604);

-- The sync's own writes (run 9600): none of them is captured.
select set_config('airlift.run_id', '9600', true);
insert into app.collaborators (id, airtable_user_id, name) values ('00000000-0000-4000-8000-0000000000f1', 'usrCAPTURE0000001', 'Ann');
insert into app.clients (id, airtable_id, name, status, client_since, annual_budget, account_manager_id) values
  ('00000000-0000-4000-8000-0000000000a1', 'recCAPCLIENT00001', 'Acme', 'Active', '2020-05-01', 1000, '00000000-0000-4000-8000-0000000000f1'),
  ('00000000-0000-4000-8000-0000000000a2', 'recCAPCLIENT00002', 'Beta', 'Active', null, null, null),
  ('00000000-0000-4000-8000-0000000000a3', 'recCAPCLIENT00003', 'Gamma', null, null, null, null),
  ('00000000-0000-4000-8000-0000000000a4', 'recCAPCLIENT00004', 'Delta', null, null, null, null),
  ('00000000-0000-4000-8000-0000000000a5', 'recCAPCLIENT00005', 'Echo', null, null, null, null);
insert into app.clients (id, airtable_id, name, client_code, status, primary_contact, email, phone, mailing_address, notes, client_since, annual_budget) values
  ('00000000-0000-4000-8000-00000000cc01', 'recCAPCONFLICT001', 'Kilo', 'K', 'Active', 'Ann', 'a@k.example', '111', 'Street 1', 'n', '2020-01-01', 10),
  ('00000000-0000-4000-8000-00000000cc02', 'recCAPCONFLICT002', 'Kilo Two', null, null, 'Ann', null, null, null, null, null, null),
  ('00000000-0000-4000-8000-00000000cc03', 'recCAPCONFLICT003', 'Kilo Three', null, null, null, null, null, null, null, null, null);
insert into app.state_regulators (id, airtable_id, agency_name, state, renewal_month, registration_fee, requires_wet_signature, product_types_regulated, contact_name, notes, website) values
  ('00000000-0000-4000-8000-0000000000d1', 'recCAPREGULATOR01', 'CDPR', 'CA', 6, 125.5, true, '{Insecticide,Rodenticide}', null, null, null),
  ('00000000-0000-4000-8000-0000000000d2', 'recCAPREGULATOR02', 'TDA', 'TX', null, null, false, '{}', 'Bob', 'base', 'https://tda.example'),
  ('00000000-0000-4000-8000-0000000000d3', 'recCAPREGULATOR03', 'FDACS', 'FL', null, null, false, '{}', null, null, null);
insert into app.products (id, airtable_id, name, client_id, product_type, discontinued) values
  ('00000000-0000-4000-8000-0000000000b1', 'recCAPPRODUCT0001', 'Bug Off', '00000000-0000-4000-8000-0000000000a1', 'Insecticide', false),
  ('00000000-0000-4000-8000-0000000000b2', 'recCAPPRODUCT0002', 'Orphan', null, null, true);
insert into app.registrations (id, airtable_id, client_id, product_id, state_regulator_id, state, status, submitted_date, fee_paid, priority, tags, assigned_to_id) values
  ('00000000-0000-4000-8000-0000000000e1', 'recCAPREGISTRAT01', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1',
   '00000000-0000-4000-8000-0000000000d1', 'CA', 'Submitted', '2026-02-03', 99.9, 4, '{Rush,Renewal}', '00000000-0000-4000-8000-0000000000f1');
select set_config('airlift.run_id', '', true);

-- An entry of a row, as the assertions read it.
create function pg_temp.entries(p_row uuid) returns table (operation text, source_key text, changed_columns text[], before_values jsonb, status text)
language sql as $$
  select o.operation, o.source_key, o.changed_columns, o.before_values, o.status from sync.outbox o where o.row_id = p_row order by o.id
$$;

-- ---------------------------------------------------------------------------
-- Structure
-- ---------------------------------------------------------------------------
select results_eq(
  $$select t.tgrelid::regclass::text, count(*)::int, bool_and(t.tgenabled = 'A'), bool_and(t.tgtype & 1 = 0),
           bool_and(t.tgfoid = 'sync.tg__capture_changes()'::regprocedure), bool_and(t.tgtype & 2 = 0)
    from pg_trigger t where t.tgname like '\_950\_capture\_changes\_%' group by 1 order by 1$$,
  $$values ('app.clients', 3, true, true, true, true), ('app.products', 3, true, true, true, true),
           ('app.registrations', 3, true, true, true, true), ('app.state_regulators', 3, true, true, true, true)$$,
  'each synced app table has the three capture triggers (insert, update, delete): AFTER, statement-level, enabled always');
select set_eq(
  $$select entity || '.' || column_name from sync.entity_columns where not pushable$$,
  $$values ('clients.account_manager_id'), ('clients.airtable_created_at'), ('clients.airtable_modified_at'),
           ('state_regulators.airtable_modified_at'), ('products.airtable_modified_at'),
           ('registrations.state'), ('registrations.assigned_to_id'), ('registrations.airtable_modified_at')$$,
  'collaborators, the lookup and the created / last-modified times are never pushed; every other column is');
select is_empty($$select from sync.outbox$$, 'the sync''s own writes (run 9600) captured nothing');

-- ---------------------------------------------------------------------------
-- Capture of the app role's writes
-- ---------------------------------------------------------------------------
set local role airlift_app;
insert into app.clients (id, name, status, annual_budget) values ('00000000-0000-4000-8000-0000000000c1', 'Newco', 'Prospect', 50);
update app.clients set status = 'On Hold', annual_budget = 1200.5, client_since = '2021-01-02' where id = '00000000-0000-4000-8000-0000000000a1';
update app.products set client_id = '00000000-0000-4000-8000-0000000000a2' where id = '00000000-0000-4000-8000-0000000000b1';
update app.clients set federal_tax_id = '12-3456789', airtable_modified_at = '2026-01-01' where id = '00000000-0000-4000-8000-0000000000a2';
update app.clients set name = name, status = status where id = '00000000-0000-4000-8000-0000000000a3';
update app.clients set deleted_at = now() where id = '00000000-0000-4000-8000-0000000000a3';
delete from app.clients where id = '00000000-0000-4000-8000-0000000000a4';
reset role;

select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000c1')$$,
  $$values ('create', null::text, '{annual_budget,name,status}'::text[], '{}'::jsonb, 'pending')$$,
  'an insert by the app role is captured as a create of its columns with values, not yet in Airtable');
select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000a1')$$,
  $$values ('update', 'recCAPCLIENT00001', '{annual_budget,client_since,status}'::text[],
            '{"status": "Active", "annual_budget": 1000.00, "client_since": "2020-05-01"}'::jsonb, 'pending')$$,
  'an update is captured with its changed columns and their canonical values before the change (ISO date, money)');
select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000b1')$$,
  $$values ('update', 'recCAPPRODUCT0001', '{client_id}'::text[], '{"client_id": "recCAPCLIENT00001"}'::jsonb, 'pending')$$,
  'a changed foreign key is captured with the linked record''s Airtable id as its before value');
select is_empty($$select from sync.outbox where row_id = '00000000-0000-4000-8000-0000000000a2'$$,
  'a write of an unmapped column (federal_tax_id) and a non-pushable one (the last-modified time) captures nothing');
select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000a3')$$,
  $$values ('delete', 'recCAPCLIENT00003', '{}'::text[], '{}'::jsonb, 'pending')$$,
  'a no-op update captures nothing; a soft delete is captured as a delete');
select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000a4')$$,
  $$values ('delete', 'recCAPCLIENT00004', '{}'::text[], '{}'::jsonb, 'pending')$$,
  'a hard delete is captured as a delete (the row id kept without a foreign key)');

-- Echo suppression: the same kinds of writes with airlift.run_id set.
select set_config('airlift.run_id', '9601', true);
set local role airlift_app;
update app.clients set name = 'Beta Renamed' where id = '00000000-0000-4000-8000-0000000000a2';
insert into app.clients (id, name) values ('00000000-0000-4000-8000-0000000000c9', 'Pulled');
update app.clients set deleted_at = now() where id = '00000000-0000-4000-8000-0000000000c9';
reset role;
select set_config('airlift.run_id', '', true);
select is_empty($$select from sync.outbox where row_id in ('00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000c9')$$,
  'writes made with airlift.run_id set (a sync run) are never captured: no echo');

-- ---------------------------------------------------------------------------
-- Coalescing
-- ---------------------------------------------------------------------------
set local role airlift_app;
update app.clients set status = 'Inactive', notes = 'n1' where id = '00000000-0000-4000-8000-0000000000a1';
update app.clients set client_code = 'NC' where id = '00000000-0000-4000-8000-0000000000c1';
insert into app.clients (id, name) values ('00000000-0000-4000-8000-0000000000c2', 'Short Lived'), ('00000000-0000-4000-8000-0000000000c3', 'Shorter Lived');
update app.clients set deleted_at = now() where id = '00000000-0000-4000-8000-0000000000c2';
delete from app.clients where id = '00000000-0000-4000-8000-0000000000c3';
update app.clients set name = 'Bravo' where id = '00000000-0000-4000-8000-0000000000a2';
update app.clients set deleted_at = now() where id = '00000000-0000-4000-8000-0000000000a2';
update app.clients set deleted_at = now() where id = '00000000-0000-4000-8000-0000000000a5';
update app.clients set deleted_at = null where id = '00000000-0000-4000-8000-0000000000a5';
reset role;

select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000a1')$$,
  $$values ('update', 'recCAPCLIENT00001', '{annual_budget,client_since,notes,status}'::text[],
            '{"status": "Active", "annual_budget": 1000.00, "client_since": "2020-05-01", "notes": null}'::jsonb, 'pending')$$,
  'update then update: one entry, the union of the columns, each column''s ORIGINAL before value kept');
select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000c1')$$,
  $$values ('create', null::text, '{annual_budget,client_code,name,status}'::text[], '{}'::jsonb, 'pending')$$,
  'create then update stays one create');
select results_eq($$select operation, status from pg_temp.entries('00000000-0000-4000-8000-0000000000c2')
                    union all select operation, status from pg_temp.entries('00000000-0000-4000-8000-0000000000c3')$$,
  $$values ('create', 'superseded'), ('create', 'superseded')$$,
  'create then soft delete, and create then hard delete, of a never-pushed row: superseded, nothing to push');
select results_eq($$select * from pg_temp.entries('00000000-0000-4000-8000-0000000000a2')$$,
  $$values ('delete', 'recCAPCLIENT00002', '{name}'::text[], '{"name": "Beta Renamed"}'::jsonb, 'pending')$$,
  'update then soft delete becomes a delete (the base is the value the sync last wrote)');
select results_eq($$select operation, status from pg_temp.entries('00000000-0000-4000-8000-0000000000a5')$$,
  $$values ('update', 'superseded')$$,
  'delete then restore with nothing else changed: an update of no column, superseded');
set local role airlift_app;
update app.clients set deleted_at = null where id = '00000000-0000-4000-8000-0000000000a2';
reset role;
select results_eq($$select operation, changed_columns, status from pg_temp.entries('00000000-0000-4000-8000-0000000000a2')$$,
  $$values ('update', '{name}'::text[], 'pending')$$,
  'update, delete, then restore: back to an update of the changed columns');

-- ---------------------------------------------------------------------------
-- App rows as Airtable cells
-- ---------------------------------------------------------------------------
select results_eq(
  $$select jsonb_strip_nulls(f.fields), (select count(*)::int from jsonb_object_keys(f.fields)), f.unresolved_links
    from sync.airtable_fields('state_regulators', array['00000000-0000-4000-8000-0000000000d1'::uuid]) f$$,
  $$values ('{"fldtmASk12fGsd6OS": "CDPR", "fldvJBbLeJT9yad38": "CA", "fldoQh2Z9dzm14DkC": 6, "fldFvLh05ueJLjrcd": 125.50,
              "fld3zYxcXGGSE8h2S": true, "fldb0z4gETllchxoI": ["Insecticide", "Rodenticide"]}'::jsonb, 15, '{}'::text[])$$,
  'a regulator as Airtable fields: text, select option name, integer, money as a number, checkbox, multiple select as a list; every pushable field present (null clears)');
select results_eq(
  $$select f.row_id::text, jsonb_strip_nulls(f.fields) from sync.airtable_fields('products',
      array['00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000b2']::uuid[]) f order by 1$$,
  $$values ('00000000-0000-4000-8000-0000000000b1', '{"flditdl13jzXqvGJG": "Bug Off", "fldeHngYQ2AQ2a41D": ["recCAPCLIENT00002"], "fld7R2F44pjr4HOTx": "Insecticide", "flddjxYm3lLnbsGPN": false}'::jsonb),
           ('00000000-0000-4000-8000-0000000000b2', '{"flditdl13jzXqvGJG": "Orphan", "fldeHngYQ2AQ2a41D": [], "flddjxYm3lLnbsGPN": true}'::jsonb)$$,
  'a link as the list of the linked record''s Airtable id (empty list for no link), an unchecked box as false');
select results_eq(
  $$select f.fields -> 'fldOKlvaggwBuA1DW', f.fields -> 'fldAaSynzxQzeTNAI', f.fields ? 'fldIcvtGQXI6ZQK25',
           f.fields ? 'fld62rLIbyozCjTuf', f.fields ? 'fldCEwXPTULg5Yy0O'
    from sync.airtable_fields('clients', array['00000000-0000-4000-8000-0000000000a1'::uuid]) f$$,
  $$values ('"2021-01-02"'::jsonb, '1200.50'::jsonb, false, false, false)$$,
  'a date as YYYY-MM-DD and money as a number; the collaborator and the created / last-modified times are never sent');
select results_eq(
  $$select jsonb_strip_nulls(f.fields) from sync.airtable_fields('registrations', array['00000000-0000-4000-8000-0000000000e1'::uuid]) f$$,
  $$values ('{"flddw2j5Mu2TJtX7Q": ["recCAPCLIENT00001"], "fldZawXe2RiH9oSci": ["recCAPPRODUCT0001"], "fldUF86Yp8B0Aea5U": ["recCAPREGULATOR01"],
              "fldaeH9V1UBJK7tSW": "Submitted", "fldlwKx8C5WVAJ2Nt": "2026-02-03", "fldYhg9rHaOArcpNI": 99.90, "fldZu0JXcyOOEs3H1": 4,
              "fldQLBPSEUDUZuZxO": ["Rush", "Renewal"]}'::jsonb)$$,
  'a registration: three links, select, date, money, rating, tags in order; neither the lookup state nor the assignee is sent');
update sync.entity_columns set pushable = true where entity = 'clients' and column_name = 'airtable_modified_at';
select set_config('airlift.run_id', '9601', true);
update app.clients set airtable_modified_at = '2026-11-20 11:00:00.123+01' where id = '00000000-0000-4000-8000-0000000000a1';
select set_config('airlift.run_id', '', true);
select is((select f.fields -> 'fld62rLIbyozCjTuf' from sync.airtable_fields('clients', array['00000000-0000-4000-8000-0000000000a1'::uuid]) f),
  '"2026-11-20T10:00:00.123Z"'::jsonb, 'a timestamp as ISO 8601 in UTC with milliseconds and Z');
update sync.entity_columns set pushable = false where entity = 'clients' and column_name = 'airtable_modified_at';

-- No ping-pong: every cell, read back as the pull reads it, gives the row's canonical value.
create function pg_temp.round_trip_mismatches(p_entity text) returns table (source_key text, column_name text, sent jsonb, canonical jsonb)
language plpgsql as $$
begin
  return query execute format($sql$
    select t.source_key, pc.column_name, f.fields -> pc.field_id, coalesce(t.canonical -> pc.column_name, 'null')
    from (%s) t
    join sync.airtable_fields(%L, array(select x.id from (%s) x)) f on f.row_id = t.id
    cross join sync.push_columns(%L) pc
    where coalesce(sync.cell_canonical(f.fields -> pc.field_id, pc.conversion), 'null') is distinct from coalesce(t.canonical -> pc.column_name, 'null')
  $sql$, sync.target_canonical_sql(p_entity), p_entity, sync.target_canonical_sql(p_entity), p_entity);
end;
$$;
select is_empty(
  $$select * from pg_temp.round_trip_mismatches('clients') union all select * from pg_temp.round_trip_mismatches('state_regulators')
    union all select * from pg_temp.round_trip_mismatches('products') union all select * from pg_temp.round_trip_mismatches('registrations')$$,
  'for every synced row, sync.cell_canonical of each cell sent equals the row''s canonical value: a pushed value comes back with the same checksum');
insert into app.products (id, name, client_id) values ('00000000-0000-4000-8000-0000000000b3', 'New Product', '00000000-0000-4000-8000-0000000000c1');
select results_eq(
  $$select f.fields -> 'fldeHngYQ2AQ2a41D', f.unresolved_links from sync.airtable_fields('products', array['00000000-0000-4000-8000-0000000000b3'::uuid]) f$$,
  $$values ('[null]'::jsonb, '{client_id}'::text[])$$,
  'a link to a row not yet in Airtable cannot be sent yet, and is named');

-- ---------------------------------------------------------------------------
-- The three-way plan
-- ---------------------------------------------------------------------------
insert into sync.conflict_policies (entity, column_name, policy, reason) values
  ('clients', 'email', 'target_wins', 'the app owns addresses'),
  ('clients', 'primary_contact', 'newest_wins', null),
  ('clients', 'mailing_address', 'manual', null),
  ('state_regulators', null, 'manual', 'regulator data is checked by a person'),
  ('state_regulators', 'contact_name', 'target_wins', 'overrides the table');
update sync.entity_mappings set push_deletes = true where entity = 'clients';

set local role airlift_app;
update app.clients set name = 'Kilo Local', client_code = 'K2', status = 'Inactive', phone = '222', email = 'local@k.example',
                       primary_contact = 'Local Ann', mailing_address = 'Local Street', annual_budget = 20
 where id = '00000000-0000-4000-8000-00000000cc01';
update app.clients set client_code = 'K' where id = '00000000-0000-4000-8000-00000000cc01';
update app.clients set primary_contact = 'Local' where id = '00000000-0000-4000-8000-00000000cc02';
update app.clients set notes = 'gone?' where id = '00000000-0000-4000-8000-00000000cc03';
update app.state_regulators set contact_name = 'Local', notes = 'local', website = 'https://local.example' where id = '00000000-0000-4000-8000-0000000000d2';
update app.state_regulators set deleted_at = now() where id = '00000000-0000-4000-8000-0000000000d3';
reset role;

select is((select count(*)::int from sync.claim_outbox(9602, 'clients', null, 100)), 8,
  'claim takes every due entry of the entity: creates, and updates and deletes of rows Airtable has');
create temp table plan_clients as
select * from sync.plan_push(9602, array(select id from sync.outbox where status = 'in_flight' and entity = 'clients'),
  '{"recCAPCLIENT00001": {"fldcRQ5EWmHA7hkmK": "Acme", "fldAxUQDrygYjpbpO": "Active", "fldOKlvaggwBuA1DW": "2020-05-01", "fldAaSynzxQzeTNAI": 1000},
    "recCAPCLIENT00002": {"fldcRQ5EWmHA7hkmK": "Beta Renamed", "fldAxUQDrygYjpbpO": "Active"},
    "recCAPCONFLICT001": {"fldcRQ5EWmHA7hkmK": "Kilo", "fldPlUSdlUpal2YU2": "K-remote", "fldAxUQDrygYjpbpO": "Inactive", "fld4TzQXVp4I3JsJY": "Remote Ann",
                          "fldwvK9BoMpuwDLuw": "remote@k.example", "fldqa4xrGdS4F1c8m": "333", "fldLCmTDVbhK0iSy8": "Remote Street",
                          "fld4nncVN1i1Qbxro": "n", "fldOKlvaggwBuA1DW": "2020-01-01", "fldAaSynzxQzeTNAI": 10},
    "recCAPCONFLICT002": {"fldcRQ5EWmHA7hkmK": "Kilo Two", "fld4TzQXVp4I3JsJY": "Remote", "fld62rLIbyozCjTuf": "2100-01-01T00:00:00.000Z"}}',
  '{"recCAPCONFLICT001": "2000-01-01T00:00:00Z"}');
select set_config('airlift.run_id', '', true); -- the plan is a sync run's transaction; the test goes on as the app

select results_eq($$select row_id::text, action from plan_clients order by 1$$,
  $$values ('00000000-0000-4000-8000-0000000000a1', 'update'), ('00000000-0000-4000-8000-0000000000a2', 'update'),
           ('00000000-0000-4000-8000-0000000000a3', 'delete'), ('00000000-0000-4000-8000-0000000000a4', 'delete'),
           ('00000000-0000-4000-8000-0000000000c1', 'create'), ('00000000-0000-4000-8000-00000000cc01', 'update'),
           ('00000000-0000-4000-8000-00000000cc02', 'skip'), ('00000000-0000-4000-8000-00000000cc03', 'fail')$$,
  'one action per entry: updates, deletes (allowed for clients), the create, nothing left to send (skip), record gone from Airtable (fail)');
select results_eq($$select fields from plan_clients where row_id = '00000000-0000-4000-8000-0000000000a1'$$,
  $$values ('{"fldAxUQDrygYjpbpO": "Inactive", "fldOKlvaggwBuA1DW": "2021-01-02", "fldAaSynzxQzeTNAI": 1200.50, "fld4nncVN1i1Qbxro": "n1"}'::jsonb)$$,
  'changed here only: every changed field is sent, in Airtable shapes by field id');
select results_eq($$select fields from plan_clients where row_id = '00000000-0000-4000-8000-0000000000c1'$$,
  $$values ('{"fldcRQ5EWmHA7hkmK": "Newco", "fldPlUSdlUpal2YU2": "NC", "fldAxUQDrygYjpbpO": "Prospect", "fldAaSynzxQzeTNAI": 50.00, "flddjxYm3lLnbsGPN": null}'::jsonb - 'flddjxYm3lLnbsGPN')$$,
  'a create sends every field that has a value');
select results_eq($$select fields, airtable_wins from plan_clients where row_id = '00000000-0000-4000-8000-00000000cc01'$$,
  $$values ('{"fldcRQ5EWmHA7hkmK": "Kilo Local", "fldwvK9BoMpuwDLuw": "local@k.example", "fld4TzQXVp4I3JsJY": "Local Ann", "fldAaSynzxQzeTNAI": 20.00}'::jsonb,
            '{"phone": "333"}'::jsonb)$$,
  'both changed: target_wins and newest_wins (here newer) send PostgreSQL''s value, source_wins gives Airtable''s; manual and the same value send nothing');
select results_eq($$select push_plan -> 'decisions' from sync.outbox where row_id = '00000000-0000-4000-8000-00000000cc01'$$,
  $$values ('{"name": "push", "client_code": "unchanged", "status": "same", "phone": "airtable", "email": "postgres",
              "primary_contact": "postgres", "mailing_address": "manual", "annual_budget": "push"}'::jsonb)$$,
  'the decision per field is kept with the entry: changed back here (unchanged: Airtable''s own edit comes with the next pull), same value, each policy');
select set_eq(
  $$select column_name, base_value, local_value, remote_value, policy, status, resolution, decided_by_rule, resolved_value
      from sync.conflicts where row_id = '00000000-0000-4000-8000-00000000cc01'$$,
  $$values ('phone', '"111"'::jsonb, '"222"'::jsonb, '"333"'::jsonb, 'source_wins', 'resolved', 'airtable', 'source_wins', '"333"'::jsonb),
           ('email', '"a@k.example"', '"local@k.example"', '"remote@k.example"', 'target_wins', 'resolved', 'postgres', 'target_wins', '"local@k.example"'),
           ('primary_contact', '"Ann"', '"Local Ann"', '"Remote Ann"', 'newest_wins', 'resolved', 'postgres', 'newest_wins', '"Local Ann"'),
           ('mailing_address', '"Street 1"', '"Local Street"', '"Remote Street"', 'manual', 'open', null, null, null)$$,
  'each field changed differently on both sides is logged with base, local and remote; decided ones resolved with their rule, manual parked open');
select results_eq(
  $$select phone, email, mailing_address from app.clients where id = '00000000-0000-4000-8000-00000000cc01'$$,
  $$values ('333', 'local@k.example', 'Local Street')$$,
  'Airtable''s winning value is written to the row; the parked one is left alone');
select results_eq(
  $$select count(*)::int, bool_and(status = 'in_flight') from sync.outbox where row_id = '00000000-0000-4000-8000-00000000cc01'$$,
  $$values (1, true)$$,
  'writing Airtable''s value is a sync write: no new outbox entry (no echo)');
select results_eq(
  $$select a.primary_contact, k.decided_by_rule, k.resolution, o.status, o.push_plan ->> 'action'
      from app.clients a join sync.conflicts k on k.row_id = a.id join sync.outbox o on o.id = k.outbox_id
     where a.id = '00000000-0000-4000-8000-00000000cc02'$$,
  $$values ('Remote', 'newest_wins', 'airtable', 'skipped', 'skip')$$,
  'newest_wins with Airtable''s edit newer (its Last Modified field): Airtable''s value kept, nothing left to send, entry skipped');
select results_eq($$select status, last_error from sync.outbox where row_id = '00000000-0000-4000-8000-00000000cc03'$$,
  $$values ('failed', 'record recCAPCONFLICT003 is not in Airtable any more (deleted there?)')$$,
  'an update of a record missing from Airtable fails with the reason; nothing is dropped');

select is((select count(*)::int from sync.claim_outbox(9602, 'state_regulators')), 2, 'the regulators'' update and delete are claimed');
create temp table plan_regulators as
select * from sync.plan_push(9602, array(select id from sync.outbox where status = 'in_flight' and entity = 'state_regulators'),
  '{"recCAPREGULATOR02": {"fldtmASk12fGsd6OS": "TDA", "fldvJBbLeJT9yad38": "TX", "fldxwDWfezJn3hIQ7": "Remote", "fldZinc4iyZgiBpYa": "remote", "fldeSJue0fwJAwMVF": "https://remote.example"},
    "recCAPREGULATOR03": {"fldtmASk12fGsd6OS": "FDACS"}}');
select set_config('airlift.run_id', '', true); -- the plan is a sync run's transaction; the test goes on as the app
select results_eq($$select row_id::text, action, fields from plan_regulators order by 1$$,
  $$values ('00000000-0000-4000-8000-0000000000d2', 'update', '{"fldxwDWfezJn3hIQ7": "Local"}'::jsonb),
           ('00000000-0000-4000-8000-0000000000d3', 'skip', '{}'::jsonb)$$,
  'table policy manual with a target_wins override for one column: only that column is sent; deletes not allowed for the table are skipped');
select set_eq($$select column_name, policy, status, resolution from sync.conflicts where row_id = '00000000-0000-4000-8000-0000000000d2'$$,
  $$values ('contact_name', 'target_wins', 'resolved', 'postgres'), ('notes', 'manual', 'open', null), ('website', 'manual', 'open', null)$$,
  'the per-column policy overrides the table''s; the other columns follow the table (manual)');
select results_eq($$select status, last_error from sync.outbox where row_id = '00000000-0000-4000-8000-0000000000d3'$$,
  $$values ('skipped', 'not deleted in Airtable: deletes are not pushed for state_regulators (sync.entity_mappings.push_deletes)')$$,
  'a delete the mapping does not push is skipped and says why');

-- A create of a product linked to a client still on its way: deferred.
select is((select count(*)::int from sync.claim_outbox(9602, 'products')), 2, 'the products'' update and create are claimed');
create temp table plan_products as
select * from sync.plan_push(9602, array(select id from sync.outbox where status = 'in_flight' and entity = 'products'),
  '{"recCAPPRODUCT0001": {"flditdl13jzXqvGJG": "Bug Off", "fldeHngYQ2AQ2a41D": ["recCAPCLIENT00001"]}}');
select set_config('airlift.run_id', '', true); -- the plan is a sync run's transaction; the test goes on as the app
select results_eq($$select p.action, o.status, o.next_attempt_at is null, o.attempts from plan_products p join sync.outbox o on o.id = p.outbox_id
                    where p.row_id = '00000000-0000-4000-8000-0000000000b3'$$,
  $$values ('defer', 'pending', true, 0)$$,
  'a create whose link target is not in Airtable yet is deferred: pending again, due at once, not counted as an attempt');
select results_eq($$select action, fields from plan_products where row_id = '00000000-0000-4000-8000-0000000000b1'$$,
  $$values ('update', '{"fldeHngYQ2AQ2a41D": ["recCAPCLIENT00002"]}'::jsonb)$$,
  'a changed link is sent as the new target''s record id');

-- ---------------------------------------------------------------------------
-- Changes while in flight; marking pushed and failed
-- ---------------------------------------------------------------------------
set local role airlift_app;
update app.clients set notes = 'while creating' where id = '00000000-0000-4000-8000-0000000000c1';
update app.clients set notes = 'while updating' where id = '00000000-0000-4000-8000-0000000000a1';
reset role;
select results_eq(
  $$select row_id::text, operation, source_key, before_values, status from sync.outbox
     where row_id in ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a1') and status = 'pending' order by 1$$,
  $$values ('00000000-0000-4000-8000-0000000000a1', 'update', 'recCAPCLIENT00001', '{"notes": "n1"}'::jsonb, 'pending'),
           ('00000000-0000-4000-8000-0000000000c1', 'update', null, '{"notes": null}'::jsonb, 'pending')$$,
  'a change while an entry is in flight opens a new entry based on the value being pushed; during a create it is an update waiting for the id');
select is((select count(*)::int from sync.claim_outbox(9602, 'clients')), 0,
  'nothing is claimed for a row with an entry in flight, nor an update still waiting for its record id');

select results_eq(
  $$select row_id::text, status, source_key from sync.mark_outbox_pushed(9602,
      (select jsonb_agg(jsonb_build_object('id', o.id, 'source_key', case when o.row_id = '00000000-0000-4000-8000-0000000000c1' then 'recCAPCLIENT00009' end,
                                           'response', jsonb_build_object('id', coalesce(o.source_key, 'recCAPCLIENT00009'))))
         from sync.outbox o where o.status = 'in_flight' and o.entity = 'clients')) order by 1$$,
  $$values ('00000000-0000-4000-8000-0000000000a1', 'pushed', 'recCAPCLIENT00001'), ('00000000-0000-4000-8000-0000000000a2', 'pushed', 'recCAPCLIENT00002'),
           ('00000000-0000-4000-8000-0000000000a3', 'pushed', 'recCAPCLIENT00003'), ('00000000-0000-4000-8000-0000000000a4', 'pushed', 'recCAPCLIENT00004'),
           ('00000000-0000-4000-8000-0000000000c1', 'pushed', 'recCAPCLIENT00009'), ('00000000-0000-4000-8000-00000000cc01', 'pushed', 'recCAPCONFLICT001')$$,
  'the accepted entries are pushed; the create carries its new record id');
select results_eq(
  $$select c.airtable_id, m.legacy_id, m.migration_batch from app.clients c join sync.id_map m on m.entity_type = 'clients' and m.uuid_id = c.id
     where c.id = '00000000-0000-4000-8000-0000000000c1'$$,
  $$values ('recCAPCLIENT00009', 'recCAPCLIENT00009', 9602::bigint)$$,
  'the new record id is stored in the row and in the id map');
select results_eq(
  $$select operation, source_key, status from sync.outbox where row_id = '00000000-0000-4000-8000-0000000000c1' order by id$$,
  $$values ('create', 'recCAPCLIENT00009', 'pushed'), ('update', 'recCAPCLIENT00009', 'pending')$$,
  'storing the record id makes no new outbox entry (a sync write), and the waiting update now has the id');
select is((select count(*)::int from sync.claim_outbox(9602, 'clients')), 2, 'the two updates made while in flight are claimed now');

select results_eq(
  $$select row_id::text, status, last_error, next_attempt_at > now(), attempts from sync.mark_outbox_failed(9602, (
      select jsonb_agg(jsonb_build_object('id', o.id, 'permanent', o.entity = 'state_regulators',
                                          'error', case when o.entity = 'state_regulators' then 'INVALID_VALUE_FOR_COLUMN: Field "Contact Name" cannot accept the provided value' else 'HTTP 503' end))
        from sync.outbox o where o.status = 'in_flight' and o.row_id in ('00000000-0000-4000-8000-0000000000d2', '00000000-0000-4000-8000-0000000000b1'))) order by 1$$,
  $$values ('00000000-0000-4000-8000-0000000000b1', 'pending', 'HTTP 503', true, 1),
           ('00000000-0000-4000-8000-0000000000d2', 'failed', 'INVALID_VALUE_FOR_COLUMN: Field "Contact Name" cannot accept the provided value', null, 1)$$,
  'a refused record is failed with Airtable''s message; a transient error goes back to pending with a backoff');
select set_config('airlift.run_id', '', true);
set local role airlift_app;
update app.state_regulators set phone = '555' where id = '00000000-0000-4000-8000-0000000000d2';
reset role;
select results_eq($$select changed_columns, status, attempts from sync.outbox where row_id = '00000000-0000-4000-8000-0000000000d2' and status <> 'skipped'$$,
  $$values ('{contact_name,notes,phone,website}'::text[], 'pending', 0)$$,
  'a new change of a row with a failed entry reopens it: pending, attempts reset, columns merged');
create temp table retried as select sync.retry_outbox(array(select id from sync.outbox where row_id = '00000000-0000-4000-8000-00000000cc03')) as n;
select results_eq($$select (select n from retried), (select status from sync.outbox where row_id = '00000000-0000-4000-8000-00000000cc03')$$,
  $$values (1, 'pending')$$,
  'retry_outbox makes a failed entry pending again');
-- the deferred product create is due again (its client now has a record id),
-- but not to the run that deferred it: a run claims an entry once
select is((select count(*)::int from sync.claim_outbox(9602, 'products')), 0, 'a run does not claim again an entry it deferred');
select is((select count(*)::int from sync.claim_outbox(9604, 'products')), 1, 'the next push run claims the deferred create');
update sync.outbox set claimed_at = now() - interval '1 hour' where status = 'in_flight';
create temp table released as select sync.release_stale_outbox(interval '15 minutes') as n;
select results_eq($$select (select n from released),
                           (select string_agg(status, ',' order by id) from sync.outbox where row_id = '00000000-0000-4000-8000-0000000000a1' and status in ('pending', 'in_flight'))$$,
  $$values (3, 'pending')$$,
  'entries left in flight by a dead push are released (an update back to pending)');
select results_eq($$select status, last_error like 'interrupted while creating%' from sync.outbox where row_id = '00000000-0000-4000-8000-0000000000b3' order by id desc limit 1$$,
  $$values ('failed', true)$$,
  'a create left in flight is failed for a person to check, never sent twice');

-- ---------------------------------------------------------------------------
-- Manual resolution
-- ---------------------------------------------------------------------------
select set_config('airlift.actor', 'carol', true);
select results_eq(
  $$select status, resolution, resolved_value, decided_by_rule, decided_by, resolved_by_run_id from sync.resolve_conflict(9603,
      (select id from sync.conflicts where row_id = '00000000-0000-4000-8000-00000000cc01' and column_name = 'mailing_address'), 'airtable')$$,
  $$values ('resolved', 'airtable', '"Remote Street"'::jsonb, 'manual', 'carol', 9603::bigint)$$,
  'take airtable: resolved by the manual rule, with who decided');
select results_eq(
  $$select c.mailing_address, (select count(*)::int from sync.outbox o where o.row_id = c.id and o.status = 'pending')
      from app.clients c where c.id = '00000000-0000-4000-8000-00000000cc01'$$,
  $$values ('Remote Street', 0)$$,
  'Airtable''s value is written to the row as a sync write: nothing to push');
create temp table resolved_notes as
select * from sync.resolve_conflict(9603, (select id from sync.conflicts where row_id = '00000000-0000-4000-8000-0000000000d2' and column_name = 'notes'), 'postgres', null, 'dave');
select results_eq(
  $$select k.resolution, o.changed_columns, o.before_values -> 'notes', o.status, k.decided_by
      from resolved_notes k join sync.outbox o on o.row_id = k.row_id and o.status = 'pending'$$,
  $$values ('postgres', '{contact_name,notes,phone,website}'::text[], '"remote"'::jsonb, 'pending', 'dave')$$,
  'take postgres: the row''s value is queued for Airtable with Airtable''s value as base (merged into the row''s open entry)');
select throws_ok(
  $$select sync.resolve_conflict(9603, (select id from sync.conflicts where row_id = '00000000-0000-4000-8000-0000000000d2' and column_name = 'website'), 'both')$$,
  '22023', null, 'only airtable, postgres or value can be taken');
create temp table resolved_website as
select * from sync.resolve_conflict(9603, (select id from sync.conflicts where row_id = '00000000-0000-4000-8000-0000000000d2' and column_name = 'website'),
                                    'value', '"https://agreed.example"');
select results_eq(
  $$select k.resolution, k.resolved_value, r.website, k.decided_by,
           (select o.changed_columns @> '{website}' and o.before_values -> 'website' = '"https://remote.example"' from sync.outbox o where o.row_id = k.row_id and o.status = 'pending')
      from resolved_website k join app.state_regulators r on r.id = k.row_id$$,
  $$values ('value', '"https://agreed.example"'::jsonb, 'https://agreed.example', 'carol', true)$$,
  'take a value: written to the row and queued, recorded as resolved by that value');
select throws_ok(
  $$select sync.resolve_conflict(9603, (select id from sync.conflicts where row_id = '00000000-0000-4000-8000-00000000cc01' and column_name = 'mailing_address'), 'postgres')$$,
  '55000', null, 'a resolved conflict cannot be resolved again');
select ok((select count(*) = count(*) filter (where c.decided_by_rule is not null and c.decided_by is not null) from sync.conflicts c where c.status = 'resolved'),
  'every resolved conflict names the rule that decided it and who');

-- ---------------------------------------------------------------------------
-- Status and privileges
-- ---------------------------------------------------------------------------
select results_eq(
  $$select entity, pending, in_flight, failed, oldest_pending_at is not null, open_conflicts from sync.push_status where entity in ('clients', 'products', 'registrations', 'state_regulators') order by entity$$,
  $$values ('clients', 3::bigint, 0::bigint, 0::bigint, true, 0::bigint), ('products', 1::bigint, 0::bigint, 1::bigint, true, 0::bigint),
           ('registrations', 0::bigint, 0::bigint, 0::bigint, false, 0::bigint), ('state_regulators', 1::bigint, 0::bigint, 0::bigint, true, 0::bigint)$$,
  'push_status gives per entity the pending, in-flight and failed entries, the oldest pending one and the open conflicts');
set local role airlift_app;
select throws_ok($$insert into sync.outbox (entity, row_id, operation) values ('clients', gen_random_uuid(), 'update')$$,
  '42501', null, 'airlift_app cannot write sync.outbox itself (only the capture trigger does)');
reset role;
set local role airlift_sync;
select lives_ok($$select * from sync.push_status$$, 'the sync role reads the push status');
reset role;

select * from finish();
ROLLBACK;
