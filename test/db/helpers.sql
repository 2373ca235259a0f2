-- Shared set-up for the pgTAP suites (basejump's tests.* helpers): the
-- runner (test/pgtap.test.ts) runs this file once in the cloned database,
-- before any suite. It belongs to the harness, never to a migration, and is
-- never in a template or a real database.
--
-- Each helper seeds what a suite used to copy in by hand, and exactly that:
-- its arguments say which part of it a suite needs. Suites call them inside
-- their own transaction, so what they write is rolled back with the suite.
drop schema if exists tests cascade;
create schema tests;
comment on schema tests is 'pgTAP set-up helpers, created by the test runner in the cloned database (test/db/helpers.sql); not a migration.';

-- ---------------------------------------------------------------------------
-- The Delta base's mapping (mappings/delta.json, by field id): one row per
-- mapped column of the four entities, as the sync's loader writes them.
-- ---------------------------------------------------------------------------
create table tests.delta_tables (
  entity text primary key,
  table_id text not null,
  table_name text not null,
  attachment_field_ids jsonb not null,
  last_modified_field_id text not null,
  position integer not null
);
comment on table tests.delta_tables is 'The Delta base''s four tables as mappings/delta.json maps them: the seed of tests.seed_delta_mapping.';

insert into tests.delta_tables values
  ('clients', 'tblZaclZULDATjmXm', 'Clients', '{}', 'fld62rLIbyozCjTuf', 1),
  ('state_regulators', 'tbljwculB4C3VOXW3', 'State Regulators', '{}', 'fldw7PqcIkPbQuj95', 2),
  ('products', 'tblTtyLvxr2Ta4SfO', 'Products', '{"label": "fldm98vOtlVmdetoO"}', 'fldeqFJkIqQxjVyxf', 3),
  ('registrations', 'tblmNqfo6lv6OCavM', 'Registrations', '{"documents": "fldTHJoTD5wtFrQa2"}', 'fld425nv1ODHaAQNP', 4);

create table tests.delta_columns (
  entity text not null references tests.delta_tables (entity),
  column_name text not null,
  field_id text not null,
  field_name text not null,
  primary key (entity, column_name)
);
comment on table tests.delta_columns is 'The mapped columns of the Delta base''s tables, with their Airtable field ids and names: the seed of tests.seed_delta_mapping.';

insert into tests.delta_columns values
    ('clients', 'name', 'fldcRQ5EWmHA7hkmK', 'Client Name'),
    ('clients', 'client_code', 'fldPlUSdlUpal2YU2', 'Client Code'),
    ('clients', 'status', 'fldAxUQDrygYjpbpO', 'Status'),
    ('clients', 'primary_contact', 'fld4TzQXVp4I3JsJY', 'Primary Contact'),
    ('clients', 'email', 'fldwvK9BoMpuwDLuw', 'Email'),
    ('clients', 'phone', 'fldqa4xrGdS4F1c8m', 'Phone'),
    ('clients', 'mailing_address', 'fldLCmTDVbhK0iSy8', 'Mailing Address'),
    ('clients', 'federal_tax_id', 'fldxPp0psGj5j1gUm', 'Federal Tax ID'),
    ('clients', 'account_manager_id', 'fldIcvtGQXI6ZQK25', 'Account Manager'),
    ('clients', 'client_since', 'fldOKlvaggwBuA1DW', 'Client Since'),
    ('clients', 'annual_budget', 'fldAaSynzxQzeTNAI', 'Annual Budget'),
    ('clients', 'notes', 'fld4nncVN1i1Qbxro', 'Notes'),
    ('clients', 'airtable_created_at', 'fldCEwXPTULg5Yy0O', 'Created'),
    ('clients', 'airtable_modified_at', 'fld62rLIbyozCjTuf', 'Last Modified'),
    ('state_regulators', 'agency_name', 'fldtmASk12fGsd6OS', 'Agency Name'),
    ('state_regulators', 'state', 'fldvJBbLeJT9yad38', 'State'),
    ('state_regulators', 'agency_type', 'fld2IWNJn0u5vKUvN', 'Agency Type'),
    ('state_regulators', 'contact_name', 'fldxwDWfezJn3hIQ7', 'Contact Name'),
    ('state_regulators', 'contact_email', 'fldctgC938Csv6bJw', 'Contact Email'),
    ('state_regulators', 'phone', 'fldzWDJBhn6ZibaaK', 'Phone'),
    ('state_regulators', 'website', 'fldeSJue0fwJAwMVF', 'Website'),
    ('state_regulators', 'submission_portal', 'fldHoCpAgdWoXGc91', 'Submission Portal'),
    ('state_regulators', 'renewal_cycle', 'fldBSIVVhIf8psxUO', 'Renewal Cycle'),
    ('state_regulators', 'renewal_month', 'fldoQh2Z9dzm14DkC', 'Renewal Month'),
    ('state_regulators', 'registration_fee', 'fldFvLh05ueJLjrcd', 'Registration Fee'),
    ('state_regulators', 'late_fee', 'fld4V4sAYjz3SxR1b', 'Late Fee'),
    ('state_regulators', 'requires_wet_signature', 'fld3zYxcXGGSE8h2S', 'Requires Wet Signature'),
    ('state_regulators', 'product_types_regulated', 'fldb0z4gETllchxoI', 'Product Types Regulated'),
    ('state_regulators', 'notes', 'fldZinc4iyZgiBpYa', 'Notes'),
    ('state_regulators', 'airtable_modified_at', 'fldw7PqcIkPbQuj95', 'Last Modified'),
    ('products', 'name', 'flditdl13jzXqvGJG', 'Product Name'),
    ('products', 'client_id', 'fldeHngYQ2AQ2a41D', 'Client'),
    ('products', 'epa_registration_number', 'fldIDSraJoY8Q7bP4', 'EPA Registration Number'),
    ('products', 'product_type', 'fld7R2F44pjr4HOTx', 'Product Type'),
    ('products', 'active_ingredients', 'fldlfnfaf4aov6djj', 'Active Ingredients'),
    ('products', 'signal_word', 'fld2ryBoRxCP6rela', 'Signal Word'),
    ('products', 'discontinued', 'flddjxYm3lLnbsGPN', 'Discontinued'),
    ('products', 'airtable_modified_at', 'fldeqFJkIqQxjVyxf', 'Last Modified'),
    ('registrations', 'client_id', 'flddw2j5Mu2TJtX7Q', 'Client'),
    ('registrations', 'product_id', 'fldZawXe2RiH9oSci', 'Product'),
    ('registrations', 'state_regulator_id', 'fldUF86Yp8B0Aea5U', 'State Regulator'),
    ('registrations', 'state', 'fldmiaUjYsE4lzH9y', 'State'),
    ('registrations', 'status', 'fldaeH9V1UBJK7tSW', 'Status'),
    ('registrations', 'registration_type', 'fldHNUoPRoouBCa5N', 'Registration Type'),
    ('registrations', 'state_registration_number', 'fldoW6e4UMxIOza8A', 'State Registration Number'),
    ('registrations', 'submitted_date', 'fldlwKx8C5WVAJ2Nt', 'Submitted Date'),
    ('registrations', 'approved_date', 'fldUsOARR7hF2Iu6K', 'Approved Date'),
    ('registrations', 'expiration_date', 'fldFUnYOjlHNdzRKr', 'Expiration Date'),
    ('registrations', 'fee_paid', 'fldYhg9rHaOArcpNI', 'Fee Paid'),
    ('registrations', 'invoice_number', 'fldXLXCmjDVPxX7Ok', 'Invoice Number'),
    ('registrations', 'priority', 'fldZu0JXcyOOEs3H1', 'Priority'),
    ('registrations', 'tags', 'fldQLBPSEUDUZuZxO', 'Tags'),
    ('registrations', 'assigned_to_id', 'fldgMx8UeILqd0Uqf', 'Assigned To'),
    ('registrations', 'notes', 'fldAyIsjK0FfnseyZ', 'Notes'),
    ('registrations', 'airtable_modified_at', 'fld425nv1ODHaAQNP', 'Last Modified');

create function tests.seed_delta_mapping(
  entities text[] default null,
  columns text[] default null,
  omit_columns text[] default '{}',
  field_names boolean default true,
  attachments boolean default true,
  source_id text default 'appDeltaTest00001',
  source_tables jsonb default '{}'
) returns setof sync.entity_mappings
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  insert into sync.entity_mappings as m (entity, source_id, source_table, table_name, field_ids, field_names, attachment_field_ids, last_modified_field_id)
  select t.entity, seed_delta_mapping.source_id, coalesce(seed_delta_mapping.source_tables ->> t.entity, t.table_id), t.table_name,
         (select jsonb_object_agg(c.column_name, c.field_id) from tests.delta_columns c
           where c.entity = t.entity
             and (seed_delta_mapping.columns is null or c.column_name = any (seed_delta_mapping.columns))
             and not c.column_name = any (seed_delta_mapping.omit_columns)),
         case when seed_delta_mapping.field_names then
           (select jsonb_object_agg(c.column_name, c.field_name) from tests.delta_columns c
             where c.entity = t.entity
               and (seed_delta_mapping.columns is null or c.column_name = any (seed_delta_mapping.columns))
               and not c.column_name = any (seed_delta_mapping.omit_columns))
         else '{}' end,
         case when seed_delta_mapping.attachments then t.attachment_field_ids else '{}' end,
         t.last_modified_field_id
  from tests.delta_tables t
  where seed_delta_mapping.entities is null or t.entity = any (seed_delta_mapping.entities)
  order by t.position
  returning m.*;
$$;
comment on function tests.seed_delta_mapping(text[], text[], text[], boolean, boolean, text, jsonb) is
  E'Loads the Delta base''s mapping into sync.entity_mappings, as mappings/delta.json has it: every table (or only entities), every mapped column (or only columns, less omit_columns), with field names and attachment fields unless field_names or attachments is false, under source_id (the base id), with source_tables ({entity: table id}) overriding the Delta table ids. Returns the rows written.';

-- ---------------------------------------------------------------------------
-- Runs and checkpoints
-- ---------------------------------------------------------------------------
create function tests.open_run(kind text, run_id bigint default null, metadata jsonb default '{}') returns bigint
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  seq text := pg_get_serial_sequence('sync.runs', 'id');
  last bigint;
  called boolean;
  opened bigint;
begin
  if run_id is null then
    return (sync.open_run(kind, null, metadata)).id;
  end if;
  -- A fixed id keeps the fixtures readable: the id sequence is moved to it
  -- for this one call and put back, so runs opened later without an id
  -- number as they would have.
  execute format('select last_value, is_called from %s', seq) into last, called;
  perform setval(seq, run_id, false);
  opened := (sync.open_run(kind, null, metadata)).id;
  perform setval(seq, last, called);
  return opened;
end;
$$;
comment on function tests.open_run(text, bigint, jsonb) is
  E'Opens a run of the given kind through the run life cycle''s SQL API (sync.open_run: running since now, no actor) with the given metadata, under run_id when one is given (the id sequence is left as it was); returns the run''s id.';

create function tests.open_checkpoints(run_id bigint, variadic entities text[]) returns integer
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  -- As the suites planted them: no started_at and the default batch size
  -- (sync.open_checkpoint stamps clock_timestamp(), after the now() a
  -- completion in the same transaction stamps).
  with opened as (
    insert into sync.checkpoints (run_id, operation_type, entity_type, status)
    select open_checkpoints.run_id, 'sync_operation', e.entity, 'in_progress'
    from unnest(open_checkpoints.entities) with ordinality as e (entity, n)
    order by e.n
    returning 1
  )
  select count(*)::integer from opened;
$$;
comment on function tests.open_checkpoints(bigint, text[]) is
  E'Plants an in-progress sync_operation checkpoint of the run for each entity (no started_at, default batch size); returns how many.';

-- ---------------------------------------------------------------------------
-- Records as the runner hands them to sync.stage_page
-- ---------------------------------------------------------------------------
create function tests.airtable_record(id text, fields jsonb, created_time text default '2020-01-01T00:00:00.000Z') returns jsonb
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('id', id, 'created_time', created_time, 'fields', fields,
                            'hash', encode(sha256(convert_to(fields::text, 'UTF8')), 'hex'))
$$;
comment on function tests.airtable_record(text, jsonb, text) is
  E'An Airtable record as the runner stages it: {id, created_time, fields, hash}, hash = sha256 of the fields'' JSON text.';

-- ---------------------------------------------------------------------------
-- The examples' target tables (wallet_app, pfa_app, ...)
-- ---------------------------------------------------------------------------
create function tests.example_target_tables() returns setof text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select e.target_table::text from sync.entities e where e.target_table::text not like 'app.%' order by 1
$$;
comment on function tests.example_target_tables() is
  E'The target tables of the entities outside schema app (the examples'' schemas: wallet_app, pfa_app, ...), as text, sorted: the suites that enumerate every synced or audited table add these, so that a new example schema does not need each suite edited. structure/020_sync.sql checks that the examples are registered.';
