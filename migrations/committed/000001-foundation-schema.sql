--! Previous: -
--! Hash: sha1:578729842e24a066cb1d48fe17e68f3a7f3503f3
--! Message: foundation schema

/*
 * The foundation of airlift: the normalized domain (app), the raw mirror of
 * what sources said (staging), the control tables of migration and sync
 * (sync), the append-only change history (audit) and reporting (report).
 *
 * Idempotent while it is current.sql: everything is dropped first, in
 * reverse dependency order, then created. Roles are not managed here (they
 * are cluster-wide): sql/bootstrap_roles.sql creates them before migrations
 * run, and this migration only grants to them.
 */
drop schema if exists report cascade;
drop schema if exists staging cascade;
drop schema if exists app cascade;
drop schema if exists sync cascade;
drop schema if exists audit cascade;

/* Why: one schema, one concern; nothing is reachable by default. */
create schema audit;
comment on schema audit is E'Append-only change history of every app and sync control table. Readable by airlift_auditor, writable by nobody but the audit triggers.';
create schema sync;
comment on schema sync is E'Control of migration and synchronization: jobs, runs, checkpoints, the Airtable id map, differentials, validation reports and quarantined records.';
create schema app;
comment on schema app is E'The normalized domain that replaces the Airtable base: clients, state regulators, products, registrations and their attachments.';
create schema staging;
comment on schema staging is E'What each source said, verbatim: one row per source record with its raw fields as JSONB, so that nothing a source sends is lost before it is merged.';
create schema report;
comment on schema report is E'Reporting views and materialized views over app, for the business and for dashboards.';

revoke all on schema audit, sync, app, staging, report from public;

/*
 * Audit trail. One table, append-only for every role, written set-based by
 * statement-level triggers (see fixtures/audit_functions.sql).
 */
create table audit.changes (
  id bigint generated always as identity primary key,
  table_name text not null,
  record_id text,
  op text not null,
  old_values jsonb,
  new_values jsonb,
  changed_columns text[],
  db_role text not null,
  actor text,
  run_id bigint,
  transaction_id xid8 not null default pg_current_xact_id(),
  application_name text default nullif(current_setting('application_name'), ''),
  changed_at timestamptz not null default statement_timestamp(),
  constraint changes_op_is_known check (op in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
  constraint changes_values_match_op check (
    case op
      when 'INSERT' then old_values is null and new_values is not null and record_id is not null
      when 'UPDATE' then old_values is not null and new_values is not null and record_id is not null
      when 'DELETE' then old_values is not null and new_values is null and record_id is not null
      when 'TRUNCATE' then old_values is null and new_values is null and record_id is null
    end
  )
);
comment on table audit.changes is E'Every insert, update, delete and truncate of an audited table: who (database role and application actor), what (old and new values, changed columns), when, in which transaction and which sync run. Append-only: update, delete and truncate fail for every role.';
comment on column audit.changes.id is E'Order of recording; later changes have larger ids.';
comment on column audit.changes.table_name is E'Schema-qualified table name (app.clients). Names, not OIDs, so that history survives a table being recreated.';
comment on column audit.changes.record_id is E'Primary key of the changed row, as text; null for TRUNCATE.';
comment on column audit.changes.op is E'INSERT, UPDATE, DELETE or TRUNCATE.';
comment on column audit.changes.old_values is E'The row before the change (UPDATE, DELETE), without derived generated columns.';
comment on column audit.changes.new_values is E'The row after the change (INSERT, UPDATE), without derived generated columns.';
comment on column audit.changes.changed_columns is E'For UPDATE, the columns whose values differ between old and new, sorted.';
comment on column audit.changes.db_role is E'The database role that made the change (SET ROLE or connection role, else the login).';
comment on column audit.changes.actor is E'The application actor from the transaction-local setting airlift.actor: a user, the worker, a CLI command.';
comment on column audit.changes.run_id is E'The sync run that made the change, from the transaction-local setting airlift.run_id; null outside runs.';
comment on column audit.changes.transaction_id is E'pg_current_xact_id() of the writing transaction: groups the changes made together.';
comment on column audit.changes.application_name is E'The client application_name of the writing session.';
comment on column audit.changes.changed_at is E'Start time of the statement that made the change.';

/* Why BRIN: changed_at grows with the insertion order, so a tiny BRIN index serves time-range queries. */
create index changes_changed_at_brin on audit.changes using brin (changed_at);
/* Why: the history of one record (rollback, verify, "who changed this?"). */
create index changes_table_record_idx on audit.changes (table_name, record_id) where record_id is not null;
/* Why: everything one sync run did, for rollback. */
create index changes_run_idx on audit.changes (run_id, id) where run_id is not null;

create function audit.tg_changes__forbid_modification() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'audit.changes is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'The audit trail can only grow. To undo a change, write a new change (airlift rollback does).';
end;
$$;
comment on function audit.tg_changes__forbid_modification() is E'Refuses every UPDATE, DELETE and TRUNCATE of audit.changes, whoever asks, the owner and superusers included.';

create trigger _100_forbid_update_delete before update or delete on audit.changes
  for each statement execute function audit.tg_changes__forbid_modification();
create trigger _100_forbid_truncate before truncate on audit.changes
  for each statement execute function audit.tg_changes__forbid_modification();
/* Why ALWAYS: the triggers fire even under session_replication_role = replica. */
alter table audit.changes enable always trigger _100_forbid_update_delete;
alter table audit.changes enable always trigger _100_forbid_truncate;

--! Included audit_functions.sql
/*
 * Audit trigger functions. Re-creatable (create or replace), included by
 * migrations with `--!include audit_functions.sql`.
 *
 * Why statement-level: a bulk merge of 100k rows fires each function once per
 * statement, reading the transition tables set-based, instead of 100k row
 * trigger calls.
 *
 * Why security definer: no role but the owner may write audit.changes, yet
 * every role that writes an audited table must leave its trail. The acting
 * role is taken from the `role` setting (what SET ROLE or the connection's
 * `role` option chose), which security definer does not change, falling back
 * to the session user.
 *
 * The first trigger argument names the primary key column (default `id`).
 * Stored generated columns are left out of old/new values: they are derived,
 * and the audit keeps what was written.
 */

create or replace function audit.generated_columns(relation oid) returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(array_agg(attname::text order by attnum), '{}')
  from pg_attribute
  where attrelid = relation and attgenerated <> '' and not attisdropped
$$;
comment on function audit.generated_columns(oid) is
  E'Names of the stored generated columns of a table; the audit trail leaves them out because they are derived from columns it does keep.';

create or replace function audit.acting_role() returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(nullif(current_setting('role'), 'none'), session_user::text)
$$;
comment on function audit.acting_role() is
  E'The database role on whose behalf a statement runs: the SET ROLE (or connection role option) if any, else the session user. Unlike current_user it is not changed by security definer functions.';

create or replace function audit.current_actor() returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select nullif(current_setting('airlift.actor', true), '')
$$;
comment on function audit.current_actor() is
  E'The application actor (a person, the sync worker, a CLI command) from the transaction-local setting airlift.actor, which the runner sets with set_config(..., true).';

create or replace function audit.current_run_id() returns bigint
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select nullif(current_setting('airlift.run_id', true), '')::bigint
$$;
comment on function audit.current_run_id() is
  E'The sync run responsible for the current transaction, from the transaction-local setting airlift.run_id; null for changes made outside a run.';

create or replace function audit.tg__log_insert() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  key_column text := coalesce(tg_argv[0], 'id');
  skipped text[] := audit.generated_columns(tg_relid);
  who text := audit.acting_role();
  actor text := audit.current_actor();
  run bigint := audit.current_run_id();
begin
  -- Materialized: each row is turned into jsonb once, not once per use.
  with inserted as materialized (
    select to_jsonb(new_rows) - skipped as row_values from new_rows
  )
  insert into audit.changes (table_name, record_id, op, new_values, db_role, actor, run_id)
  select tg_table_schema || '.' || tg_table_name, row_values ->> key_column, 'INSERT', row_values, who, actor, run
  from inserted;
  return null;
end;
$$;
comment on function audit.tg__log_insert() is
  E'Statement-level AFTER INSERT trigger: writes one audit.changes row per inserted row from the transition table new_rows.';

create or replace function audit.tg__log_update() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
-- Enough memory to pair old and new rows of a large statement without spilling to disk.
set work_mem = '64MB'
as $$
declare
  key_column text := coalesce(tg_argv[0], 'id');
  skipped text[] := audit.generated_columns(tg_relid);
  who text := audit.acting_role();
  actor text := audit.current_actor();
  run bigint := audit.current_run_id();
begin
  -- Old and new rows are paired on the primary key. A row whose key itself
  -- changed has no partner: it is recorded as the delete of the old key and
  -- the insert of the new one, so nothing escapes the trail. The CTEs are
  -- materialized so that each row becomes jsonb once (inlined, the planner
  -- would recompute it in sort keys, filter and per changed column).
  with before as materialized (
    select row_values ->> key_column as record_id, row_values
    from (select to_jsonb(old_rows) - skipped as row_values from old_rows) as o
  ), after as materialized (
    select row_values ->> key_column as record_id, row_values
    from (select to_jsonb(new_rows) - skipped as row_values from new_rows) as n
  )
  insert into audit.changes (table_name, record_id, op, old_values, new_values, changed_columns, db_role, actor, run_id)
  select tg_table_schema || '.' || tg_table_name,
         coalesce(after.record_id, before.record_id),
         case when before.record_id is null then 'INSERT'
              when after.record_id is null then 'DELETE'
              else 'UPDATE' end,
         before.row_values,
         after.row_values,
         case when before.record_id is not null and after.record_id is not null then
           array(select column_name
                 from jsonb_each(after.row_values) as changed (column_name, value)
                 where changed.value is distinct from before.row_values -> changed.column_name
                 order by column_name)
         end,
         who, actor, run
  from before
  full join after on after.record_id = before.record_id
  -- an update that changes nothing is not a change
  where before.row_values is distinct from after.row_values;
  return null;
end;
$$;
comment on function audit.tg__log_update() is
  E'Statement-level AFTER UPDATE trigger: pairs old_rows and new_rows on the primary key and records each row that really changed, with the names of the changed columns. No-op updates leave no trace.';

create or replace function audit.tg__log_delete() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  key_column text := coalesce(tg_argv[0], 'id');
  skipped text[] := audit.generated_columns(tg_relid);
  who text := audit.acting_role();
  actor text := audit.current_actor();
  run bigint := audit.current_run_id();
begin
  with deleted as materialized (
    select to_jsonb(old_rows) - skipped as row_values from old_rows
  )
  insert into audit.changes (table_name, record_id, op, old_values, db_role, actor, run_id)
  select tg_table_schema || '.' || tg_table_name, row_values ->> key_column, 'DELETE', row_values, who, actor, run
  from deleted;
  return null;
end;
$$;
comment on function audit.tg__log_delete() is
  E'Statement-level AFTER DELETE trigger: writes one audit.changes row per deleted row from the transition table old_rows.';

create or replace function audit.tg__log_truncate() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  insert into audit.changes (table_name, record_id, op, db_role, actor, run_id)
  values (tg_table_schema || '.' || tg_table_name, null, 'TRUNCATE',
          audit.acting_role(), audit.current_actor(), audit.current_run_id());
  return null;
end;
$$;
comment on function audit.tg__log_truncate() is
  E'Statement-level AFTER TRUNCATE trigger: records that a whole table was emptied (transition tables do not exist for TRUNCATE, so the rows themselves cannot be listed).';

create or replace function audit.enable_for(target regclass, key_column text default 'id') returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  execute format('drop trigger if exists _900_audit_insert on %s', target);
  execute format('drop trigger if exists _900_audit_update on %s', target);
  execute format('drop trigger if exists _900_audit_delete on %s', target);
  execute format('drop trigger if exists _900_audit_truncate on %s', target);
  execute format('create trigger _900_audit_insert after insert on %s referencing new table as new_rows '
                 'for each statement execute function audit.tg__log_insert(%L)', target, key_column);
  execute format('create trigger _900_audit_update after update on %s referencing old table as old_rows new table as new_rows '
                 'for each statement execute function audit.tg__log_update(%L)', target, key_column);
  execute format('create trigger _900_audit_delete after delete on %s referencing old table as old_rows '
                 'for each statement execute function audit.tg__log_delete(%L)', target, key_column);
  execute format('create trigger _900_audit_truncate after truncate on %s '
                 'for each statement execute function audit.tg__log_truncate()', target);
end;
$$;
comment on function audit.enable_for(regclass, text) is
  E'Attaches the four statement-level audit triggers to a table, so that every audited table is wired the same way. Used by migrations only.';
--! EndIncluded audit_functions.sql

/*
 * Shared row triggers for timestamps and state machines.
 */
create function app.tg__set_updated_at() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  -- A row that did not change keeps its updated_at, and so stays a no-op for
  -- the audit trail. Generated columns (named by the trigger's arguments)
  -- are null in NEW in a BEFORE trigger, so they are nulled in OLD too
  -- before the rows are compared.
  if tg_nargs = 0 then
    if new is distinct from old then
      new.updated_at := now();
    end if;
  elsif new is distinct from jsonb_populate_record(old, (select jsonb_object_agg(name, null) from unnest(tg_argv) as name)) then
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function app.tg__set_updated_at() is E'BEFORE UPDATE row trigger: stamps updated_at with now() when the row really changes (a value written to updated_at by hand counts as a change and is replaced) and leaves it alone on a no-op update. Trigger arguments list the table''s generated columns.';

/*
 * The domain, normalized from the Delta registration-tracking base. Every
 * synced table carries the same five columns: id, airtable_id (null until a
 * row created here is pushed), created_at, updated_at, deleted_at (soft
 * delete keeps the history of a record deleted in Airtable). Select values
 * are text, never enums, so that an option added in Airtable is kept.
 * Airtable field ids live in the mapping configuration, not here.
 */

create table app.collaborators (
  id uuid primary key default gen_random_uuid(),
  airtable_user_id text not null unique,
  email text,
  name text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint collaborators_user_id_format check (airtable_user_id ~ '^usr[A-Za-z0-9]{14}$')
);
comment on table app.collaborators is E'Airtable users named in collaborator fields (account manager, assignee), one row per Airtable user id.';
comment on column app.collaborators.id is E'Surrogate key referenced by domain tables.';
comment on column app.collaborators.airtable_user_id is E'Airtable user id (usr...), the identity of a collaborator across tables.';
comment on column app.collaborators.email is E'Email as Airtable last reported it.';
comment on column app.collaborators.name is E'Display name as Airtable last reported it.';
comment on column app.collaborators.created_at is E'When the row was first written here.';
comment on column app.collaborators.updated_at is E'When the row last changed here.';

create table app.clients (
  id uuid primary key default gen_random_uuid(),
  airtable_id text unique,
  name text not null,
  client_code text,
  status text,
  primary_contact text,
  email text,
  phone text,
  mailing_address text,
  federal_tax_id text,
  account_manager_id uuid references app.collaborators (id) on delete set null,
  client_since date,
  annual_budget numeric(12,2),
  notes text,
  airtable_created_at timestamptz,
  airtable_modified_at timestamptz,
  search_vector tsvector generated always as (
    to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(client_code, ''))
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint clients_airtable_id_format check (airtable_id ~ '^rec[A-Za-z0-9]{14}$'),
  constraint clients_name_not_blank check (btrim(name) <> ''),
  constraint clients_deleted_after_created check (deleted_at >= created_at)
);
comment on table app.clients is E'Companies Delta works for (Airtable table Clients).';
comment on column app.clients.id is E'Primary key, stable across syncs.';
comment on column app.clients.airtable_id is E'Airtable record id (rec...); null for a client created here and not yet pushed.';
comment on column app.clients.name is E'Client Name: the primary field.';
comment on column app.clients.client_code is E'Client Code: Delta''s short code for the client.';
comment on column app.clients.status is E'Status select (Active, Prospect, On Hold, Inactive, or any option added later).';
comment on column app.clients.primary_contact is E'Primary Contact person.';
comment on column app.clients.email is E'Email as entered; validation reports, never rewrites, values that are not addresses.';
comment on column app.clients.phone is E'Phone as entered, in whatever format.';
comment on column app.clients.mailing_address is E'Mailing Address, multi-line.';
comment on column app.clients.federal_tax_id is E'Federal Tax ID (EIN).';
comment on column app.clients.account_manager_id is E'Account Manager collaborator.';
comment on column app.clients.client_since is E'Client Since date.';
comment on column app.clients.annual_budget is E'Annual Budget in dollars.';
comment on column app.clients.notes is E'Notes, long text.';
comment on column app.clients.airtable_created_at is E'Airtable''s created time of the record.';
comment on column app.clients.airtable_modified_at is E'Airtable''s Last Modified time of the record, the incremental sync''s high-water mark.';
comment on column app.clients.search_vector is E'Full-text search over name and client code (generated).';
comment on column app.clients.created_at is E'When the row was first written here.';
comment on column app.clients.updated_at is E'When the row last changed here.';
comment on column app.clients.deleted_at is E'When the record was deleted (in Airtable or here); null while it exists.';

create table app.state_regulators (
  id uuid primary key default gen_random_uuid(),
  airtable_id text unique,
  agency_name text not null,
  state text,
  state_code text generated always as (
    case when upper(btrim(state)) ~ '^[A-Z]{2}$' then upper(btrim(state)) end
  ) stored,
  agency_type text,
  contact_name text,
  contact_email text,
  phone text,
  website text,
  submission_portal text,
  renewal_cycle text,
  renewal_month smallint,
  registration_fee numeric(12,2),
  late_fee numeric(12,2),
  requires_wet_signature boolean not null default false,
  product_types_regulated text[] not null default '{}',
  notes text,
  airtable_modified_at timestamptz,
  search_vector tsvector generated always as (
    to_tsvector('simple', coalesce(agency_name, '') || ' ' || coalesce(state, ''))
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint state_regulators_airtable_id_format check (airtable_id ~ '^rec[A-Za-z0-9]{14}$'),
  constraint state_regulators_agency_name_not_blank check (btrim(agency_name) <> ''),
  constraint state_regulators_renewal_month_is_a_month check (renewal_month between 1 and 12),
  constraint state_regulators_deleted_after_created check (deleted_at >= created_at)
);
comment on table app.state_regulators is E'The regulating agencies of each US state, DC and PR (Airtable table State Regulators).';
comment on column app.state_regulators.id is E'Primary key, stable across syncs.';
comment on column app.state_regulators.airtable_id is E'Airtable record id (rec...); null until pushed.';
comment on column app.state_regulators.agency_name is E'Agency Name: the primary field.';
comment on column app.state_regulators.state is E'State select value as entered.';
comment on column app.state_regulators.state_code is E'Two-letter state code normalized from state (trimmed, upper case); null when the value is not a code.';
comment on column app.state_regulators.agency_type is E'Agency Type select.';
comment on column app.state_regulators.contact_name is E'Contact Name.';
comment on column app.state_regulators.contact_email is E'Contact Email as entered.';
comment on column app.state_regulators.phone is E'Phone as entered.';
comment on column app.state_regulators.website is E'Website URL as entered.';
comment on column app.state_regulators.submission_portal is E'Submission Portal select.';
comment on column app.state_regulators.renewal_cycle is E'Renewal Cycle select (Annual, Biennial, ...).';
comment on column app.state_regulators.renewal_month is E'Renewal Month, 1 to 12.';
comment on column app.state_regulators.registration_fee is E'Registration Fee in dollars.';
comment on column app.state_regulators.late_fee is E'Late Fee in dollars.';
comment on column app.state_regulators.requires_wet_signature is E'Requires Wet Signature checkbox (absent in Airtable means false).';
comment on column app.state_regulators.product_types_regulated is E'Product Types Regulated multiple select, in Airtable''s order.';
comment on column app.state_regulators.notes is E'Notes, long text.';
comment on column app.state_regulators.airtable_modified_at is E'Airtable''s Last Modified time of the record.';
comment on column app.state_regulators.search_vector is E'Full-text search over agency name and state (generated).';
comment on column app.state_regulators.created_at is E'When the row was first written here.';
comment on column app.state_regulators.updated_at is E'When the row last changed here.';
comment on column app.state_regulators.deleted_at is E'When the record was deleted; null while it exists.';

create table app.products (
  id uuid primary key default gen_random_uuid(),
  airtable_id text unique,
  name text not null,
  client_id uuid references app.clients (id) on delete restrict,
  epa_registration_number text,
  product_type text,
  active_ingredients text,
  signal_word text,
  discontinued boolean not null default false,
  airtable_modified_at timestamptz,
  search_vector tsvector generated always as (
    to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(epa_registration_number, ''))
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint products_airtable_id_format check (airtable_id ~ '^rec[A-Za-z0-9]{14}$'),
  constraint products_name_not_blank check (btrim(name) <> ''),
  constraint products_deleted_after_created check (deleted_at >= created_at)
);
comment on table app.products is E'A client''s product (Airtable table Products).';
comment on column app.products.id is E'Primary key, stable across syncs.';
comment on column app.products.airtable_id is E'Airtable record id (rec...); null until pushed.';
comment on column app.products.name is E'Product Name: the primary field.';
comment on column app.products.client_id is E'The owning client (Airtable link Client). Restrict: a client with products is soft-deleted, never removed.';
comment on column app.products.epa_registration_number is E'EPA Registration Number, optional.';
comment on column app.products.product_type is E'Product Type select.';
comment on column app.products.active_ingredients is E'Active Ingredients, long text.';
comment on column app.products.signal_word is E'Signal Word select (None, Caution, Warning, Danger).';
comment on column app.products.discontinued is E'Discontinued checkbox.';
comment on column app.products.airtable_modified_at is E'Airtable''s Last Modified time of the record.';
comment on column app.products.search_vector is E'Full-text search over product name and EPA number (generated).';
comment on column app.products.created_at is E'When the row was first written here.';
comment on column app.products.updated_at is E'When the row last changed here.';
comment on column app.products.deleted_at is E'When the record was deleted; null while it exists.';
/* Why: products of a client (portfolio report, FK checks on client delete). */
create index products_client_idx on app.products (client_id);

create table app.registrations (
  id uuid primary key default gen_random_uuid(),
  airtable_id text unique,
  client_id uuid references app.clients (id) on delete restrict,
  product_id uuid references app.products (id) on delete restrict,
  state_regulator_id uuid references app.state_regulators (id) on delete restrict,
  state text,
  state_code text generated always as (
    case when upper(btrim(state)) ~ '^[A-Z]{2}$' then upper(btrim(state)) end
  ) stored,
  status text,
  lifecycle_stage text generated always as (
    case lower(btrim(status))
      when 'not started' then 'preparation'
      when 'in preparation' then 'preparation'
      when 'submitted' then 'review'
      when 'pending review' then 'review'
      when 'deficiency' then 'review'
      when 'approved' then 'active'
      when 'denied' then 'closed'
      when 'expired' then 'closed'
      when 'withdrawn' then 'closed'
      else case when status is null then 'preparation' else 'unknown' end
    end
  ) stored,
  is_open boolean generated always as (
    coalesce(lower(btrim(status)), '') not in ('denied', 'expired', 'withdrawn')
  ) stored,
  is_approved boolean generated always as (coalesce(lower(btrim(status)) = 'approved', false)) stored,
  registration_type text,
  state_registration_number text,
  submitted_date date,
  approved_date date,
  expiration_date date,
  fee_paid numeric(12,2),
  invoice_number text,
  priority smallint,
  tags text[] not null default '{}',
  assigned_to_id uuid references app.collaborators (id) on delete set null,
  notes text,
  airtable_modified_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint registrations_airtable_id_format check (airtable_id ~ '^rec[A-Za-z0-9]{14}$'),
  constraint registrations_priority_in_rating_range check (priority between 1 and 5),
  constraint registrations_deleted_after_created check (deleted_at >= created_at)
);
comment on table app.registrations is E'One product registered in one state for one cycle (Airtable table Registrations): the registration-tracking table the business lives by.';
comment on column app.registrations.id is E'Primary key, stable across syncs.';
comment on column app.registrations.airtable_id is E'Airtable record id (rec...); null until pushed.';
comment on column app.registrations.client_id is E'The client (Airtable link Client). Redundant with the product''s client; validation reports disagreements.';
comment on column app.registrations.product_id is E'The registered product (Airtable link Product).';
comment on column app.registrations.state_regulator_id is E'The regulating agency (Airtable link State Regulator).';
comment on column app.registrations.state is E'State as Airtable''s lookup through the regulator shows it.';
comment on column app.registrations.state_code is E'Two-letter state code normalized from state; null when not a code.';
comment on column app.registrations.status is E'Status select as entered (Not Started ... Withdrawn, or an option added later).';
comment on column app.registrations.lifecycle_stage is E'Derived from status: preparation, review, active, closed, or unknown for an option this schema does not know yet.';
comment on column app.registrations.is_open is E'Derived: the registration is not in a terminal status (Denied, Expired, Withdrawn).';
comment on column app.registrations.is_approved is E'Derived: the status is Approved, so the registration is in force until its expiration date.';
comment on column app.registrations.registration_type is E'Registration Type select (New, Renewal, Amendment).';
comment on column app.registrations.state_registration_number is E'The state''s registration number.';
comment on column app.registrations.submitted_date is E'Submitted Date.';
comment on column app.registrations.approved_date is E'Approved Date. Airtable data may have it before submission; validation reports it.';
comment on column app.registrations.expiration_date is E'Expiration Date: the renewal deadline.';
comment on column app.registrations.fee_paid is E'Fee Paid in dollars.';
comment on column app.registrations.invoice_number is E'Invoice Number.';
comment on column app.registrations.priority is E'Priority rating, 1 to 5 stars.';
comment on column app.registrations.tags is E'Tags multiple select, in Airtable''s order.';
comment on column app.registrations.assigned_to_id is E'Assigned To collaborator.';
comment on column app.registrations.notes is E'Notes, long text.';
comment on column app.registrations.airtable_modified_at is E'Airtable''s Last Modified time of the record.';
comment on column app.registrations.created_at is E'When the row was first written here.';
comment on column app.registrations.updated_at is E'When the row last changed here.';
comment on column app.registrations.deleted_at is E'When the record was deleted; null while it exists.';
/* Why: the renewal calendar, "open registrations by expiration date". */
create index registrations_open_by_expiration_idx on app.registrations (expiration_date)
  where is_open and deleted_at is null and expiration_date is not null;
/* Why: "registrations by state and status", the status report and state dashboards. */
create index registrations_by_state_status_idx on app.registrations (state_code, status)
  where deleted_at is null;
/* Why: foreign key lookups (a collaborator's delete sets these null) and the client portfolio. */
create index registrations_assigned_to_idx on app.registrations (assigned_to_id);
create index registrations_client_idx on app.registrations (client_id);
create index registrations_product_idx on app.registrations (product_id);
create index registrations_state_regulator_idx on app.registrations (state_regulator_id);

create table app.attachments (
  id uuid primary key default gen_random_uuid(),
  airtable_attachment_id text not null,
  product_id uuid references app.products (id) on delete cascade,
  registration_id uuid references app.registrations (id) on delete cascade,
  field_name text not null,
  position smallint not null default 0,
  filename text not null,
  size_bytes bigint,
  mime_type text,
  url text,
  url_fetched_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint attachments_id_format check (airtable_attachment_id ~ '^att[A-Za-z0-9]{14}$'),
  constraint attachments_exactly_one_owner check (num_nonnulls(product_id, registration_id) = 1),
  constraint attachments_size_not_negative check (size_bytes >= 0),
  constraint attachments_position_not_negative check (position >= 0),
  constraint attachments_deleted_after_created check (deleted_at >= created_at)
);
comment on table app.attachments is E'One row per file in an attachment field (a product''s Label, a registration''s Documents). Files are referenced, not copied.';
comment on column app.attachments.id is E'Primary key.';
comment on column app.attachments.airtable_attachment_id is E'Airtable attachment id (att...).';
comment on column app.attachments.product_id is E'Owning product, when the file is in a product field. Cascade: files go with their record.';
comment on column app.attachments.registration_id is E'Owning registration, when the file is in a registration field.';
comment on column app.attachments.field_name is E'Which attachment field of the owner holds the file (label, documents).';
comment on column app.attachments.position is E'Order of the file within its cell, from 0.';
comment on column app.attachments.filename is E'File name as uploaded.';
comment on column app.attachments.size_bytes is E'File size in bytes.';
comment on column app.attachments.mime_type is E'MIME type Airtable reports.';
comment on column app.attachments.url is E'Last download URL seen; Airtable''s URLs expire about two hours after they are returned.';
comment on column app.attachments.url_fetched_at is E'When url was received, to tell whether it may still work.';
comment on column app.attachments.created_at is E'When the row was first written here.';
comment on column app.attachments.updated_at is E'When the row last changed here.';
comment on column app.attachments.deleted_at is E'When the file was removed from its cell; null while present.';
/* Why: one attachment appears once per owner and field. */
create unique index attachments_product_file_key on app.attachments (product_id, field_name, airtable_attachment_id) where product_id is not null;
create unique index attachments_registration_file_key on app.attachments (registration_id, field_name, airtable_attachment_id) where registration_id is not null;

create trigger _100_set_updated_at before update on app.collaborators
  for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on app.clients
  for each row execute function app.tg__set_updated_at('search_vector');
create trigger _100_set_updated_at before update on app.state_regulators
  for each row execute function app.tg__set_updated_at('state_code', 'search_vector');
create trigger _100_set_updated_at before update on app.products
  for each row execute function app.tg__set_updated_at('search_vector');
create trigger _100_set_updated_at before update on app.registrations
  for each row execute function app.tg__set_updated_at('state_code', 'lifecycle_stage', 'is_open', 'is_approved');
create trigger _100_set_updated_at before update on app.attachments
  for each row execute function app.tg__set_updated_at();

/* Why: deleting a collaborator sets account_manager_id null without scanning all clients. */
create index clients_account_manager_idx on app.clients (account_manager_id);

/* Why GIN: the search boxes over clients, products and agencies. */
create index clients_search_idx on app.clients using gin (search_vector);
create index state_regulators_search_idx on app.state_regulators using gin (search_vector);
create index products_search_idx on app.products using gin (search_vector);

/*
 * Sync control. State machines are data (sync.status_transitions) enforced by
 * one trigger function, so that the allowed moves can be read and tested.
 */
create table sync.status_transitions (
  machine text not null,
  from_status text,
  to_status text not null,
  only_for_recurring boolean not null default false,
  constraint status_transitions_machine_is_known check (machine in ('sync.jobs', 'sync.runs', 'sync.checkpoints')),
  constraint status_transitions_key unique nulls not distinct (machine, from_status, to_status)
);
comment on table sync.status_transitions is E'The allowed status changes of jobs, runs and checkpoints. from_status null lists the statuses a new row may start in.';
comment on column sync.status_transitions.machine is E'The table whose status column the rule governs.';
comment on column sync.status_transitions.from_status is E'Status before the change; null for the initial status of a new row.';
comment on column sync.status_transitions.to_status is E'Status after the change.';
comment on column sync.status_transitions.only_for_recurring is E'The move is allowed only for recurring jobs (job_type scheduled_sync).';

insert into sync.status_transitions (machine, from_status, to_status, only_for_recurring) values
  ('sync.jobs', null, 'scheduled', false),
  ('sync.jobs', null, 'running', false),
  ('sync.jobs', null, 'paused', false),
  ('sync.jobs', 'scheduled', 'running', false),
  ('sync.jobs', 'scheduled', 'paused', false),
  ('sync.jobs', 'scheduled', 'cancelled', false),
  ('sync.jobs', 'running', 'completed', false),
  ('sync.jobs', 'running', 'failed', false),
  ('sync.jobs', 'running', 'paused', false),
  ('sync.jobs', 'running', 'cancelled', false),
  ('sync.jobs', 'paused', 'running', false),
  ('sync.jobs', 'paused', 'scheduled', false),
  ('sync.jobs', 'paused', 'cancelled', false),
  ('sync.jobs', 'failed', 'running', false),
  ('sync.jobs', 'failed', 'scheduled', true),
  ('sync.jobs', 'completed', 'scheduled', true),
  ('sync.runs', null, 'pending', false),
  ('sync.runs', null, 'running', false),
  ('sync.runs', 'pending', 'running', false),
  ('sync.runs', 'pending', 'cancelled', false),
  ('sync.runs', 'running', 'completed', false),
  ('sync.runs', 'running', 'failed', false),
  ('sync.runs', 'running', 'cancelled', false),
  ('sync.runs', 'failed', 'running', false),
  ('sync.runs', 'failed', 'cancelled', false),
  ('sync.runs', 'completed', 'rolled_back', false),
  ('sync.checkpoints', null, 'pending', false),
  ('sync.checkpoints', null, 'in_progress', false),
  ('sync.checkpoints', 'pending', 'in_progress', false),
  ('sync.checkpoints', 'in_progress', 'completed', false),
  ('sync.checkpoints', 'in_progress', 'failed', false),
  ('sync.checkpoints', 'in_progress', 'paused', false),
  ('sync.checkpoints', 'paused', 'in_progress', false),
  ('sync.checkpoints', 'failed', 'in_progress', false);

create function sync.tg__enforce_status_transition() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  machine text := tg_table_schema || '.' || tg_table_name;
  previous text := case when tg_op = 'UPDATE' then old.status end;
  recurring boolean := coalesce(to_jsonb(new) ->> 'job_type' = 'scheduled_sync', false);
  allowed text;
begin
  if tg_op = 'UPDATE' and new.status is not distinct from old.status then
    return new;
  end if;
  if exists (
    select from sync.status_transitions t
    where t.machine = tg_table_schema || '.' || tg_table_name
      and t.from_status is not distinct from previous
      and t.to_status = new.status
      and (recurring or not t.only_for_recurring)
  ) then
    return new;
  end if;
  select string_agg(t.to_status, ', ' order by t.to_status) into allowed
  from sync.status_transitions t
  where t.machine = tg_table_schema || '.' || tg_table_name
    and t.from_status is not distinct from previous
    and (recurring or not t.only_for_recurring);
  if tg_op = 'INSERT' then
    raise exception 'illegal initial status for %: % (a new row may start as: %)', machine, new.status, coalesce(allowed, 'nothing')
      using errcode = 'check_violation';
  end if;
  raise exception 'illegal status transition for % %: % -> % (allowed from %: %)',
    machine, old.id, old.status, new.status, old.status, coalesce(allowed, 'nothing')
    using errcode = 'check_violation';
end;
$$;
comment on function sync.tg__enforce_status_transition() is E'BEFORE INSERT OR UPDATE OF status row trigger: refuses a status that sync.status_transitions does not allow, naming the row, the move and the moves that are allowed.';

create table sync.jobs (
  id uuid primary key default gen_random_uuid(),
  job_name text not null unique,
  job_type text not null,
  schedule_config jsonb not null default '{}',
  entities_to_sync text[] not null default '{}',
  sync_direction text not null default 'source_to_target',
  conflict_resolution text not null default 'source_wins',
  max_records_per_batch integer not null default 100,
  status text not null default 'scheduled',
  last_run_at timestamptz,
  next_run_at timestamptz,
  total_records_synced bigint not null default 0,
  success_rate numeric(5,2),
  average_duration_ms bigint,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint jobs_job_type_is_known check (job_type in ('scheduled_sync', 'manual_sync', 'differential_migration')),
  constraint jobs_sync_direction_is_known check (sync_direction in ('source_to_target', 'bidirectional')),
  constraint jobs_conflict_resolution_is_known check (conflict_resolution in ('source_wins', 'target_wins', 'manual')),
  constraint jobs_status_is_known check (status in ('scheduled', 'running', 'completed', 'failed', 'paused', 'cancelled')),
  constraint jobs_batch_size_positive check (max_records_per_batch between 1 and 100000),
  constraint jobs_success_rate_is_percentage check (success_rate between 0 and 100),
  constraint jobs_totals_not_negative check (total_records_synced >= 0 and average_duration_ms >= 0),
  constraint jobs_schedule_config_is_object check (jsonb_typeof(schedule_config) = 'object'),
  constraint jobs_metadata_is_object check (jsonb_typeof(metadata) = 'object')
);
comment on table sync.jobs is E'A named, configured migration or sync (scheduled, manual or differential) and its rolling statistics.';
comment on column sync.jobs.id is E'Primary key.';
comment on column sync.jobs.job_name is E'Unique human name, e.g. delta-incremental.';
comment on column sync.jobs.job_type is E'scheduled_sync (recurring), manual_sync or differential_migration.';
comment on column sync.jobs.schedule_config is E'Schedule settings, e.g. {"cron": "*/5 * * * *", "mode": "incremental"}.';
comment on column sync.jobs.entities_to_sync is E'The entities (app tables) the job covers.';
comment on column sync.jobs.sync_direction is E'source_to_target (Airtable to PostgreSQL) or bidirectional.';
comment on column sync.jobs.conflict_resolution is E'Default policy for conflicting changes: source_wins, target_wins or manual.';
comment on column sync.jobs.max_records_per_batch is E'Records per page or batch.';
comment on column sync.jobs.status is E'scheduled, running, completed, failed, paused or cancelled; moves are governed by sync.status_transitions.';
comment on column sync.jobs.last_run_at is E'Start of the latest run.';
comment on column sync.jobs.next_run_at is E'When the job is due next.';
comment on column sync.jobs.total_records_synced is E'Records synced over all runs.';
comment on column sync.jobs.success_rate is E'Percentage of runs that completed.';
comment on column sync.jobs.average_duration_ms is E'Mean run duration in milliseconds.';
comment on column sync.jobs.metadata is E'Free-form settings and notes.';
comment on column sync.jobs.created_at is E'When the job was defined.';
comment on column sync.jobs.updated_at is E'When the job last changed.';

create table sync.runs (
  id bigint generated always as identity primary key,
  job_id uuid references sync.jobs (id) on delete set null,
  run_type text not null,
  status text not null default 'running',
  actor text,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  fetched bigint not null default 0,
  inserted bigint not null default 0,
  updated bigint not null default 0,
  unchanged bigint not null default 0,
  deleted bigint not null default 0,
  quarantined bigint not null default 0,
  error_message text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint runs_run_type_is_known check (run_type in ('full', 'incremental', 'push', 'verify', 'differential', 'rollback')),
  constraint runs_status_is_known check (status in ('pending', 'running', 'completed', 'failed', 'cancelled', 'rolled_back')),
  constraint runs_counts_not_negative check (least(fetched, inserted, updated, unchanged, deleted, quarantined) >= 0),
  constraint runs_finished_after_started check (finished_at >= started_at),
  constraint runs_finished_when_done check ((status in ('pending', 'running')) = (finished_at is null)),
  constraint runs_failure_has_message check (status <> 'failed' or error_message is not null),
  constraint runs_every_record_accounted check (
    status not in ('completed', 'rolled_back') or fetched = inserted + updated + unchanged + quarantined
  )
);
comment on table sync.runs is E'One execution of a job or command, with what it did: fetched = inserted + updated + unchanged + quarantined once completed, so that nothing is lost silently.';
comment on column sync.runs.id is E'Run number, also written to audit.changes.run_id for everything the run changed.';
comment on column sync.runs.job_id is E'The job this run executes, if any.';
comment on column sync.runs.run_type is E'full, incremental, push, verify, differential or rollback.';
comment on column sync.runs.status is E'pending, running, completed, failed, cancelled or rolled_back; moves are governed by sync.status_transitions.';
comment on column sync.runs.actor is E'Who started the run (worker, CLI user).';
comment on column sync.runs.started_at is E'When the run started.';
comment on column sync.runs.finished_at is E'When the run ended; null while pending or running.';
comment on column sync.runs.fetched is E'Source records read.';
comment on column sync.runs.inserted is E'Target rows created.';
comment on column sync.runs.updated is E'Target rows changed (restores of deleted rows included).';
comment on column sync.runs.unchanged is E'Source records whose target row already matched.';
comment on column sync.runs.deleted is E'Target rows soft-deleted because their source record is gone.';
comment on column sync.runs.quarantined is E'Source records put in sync.record_errors instead of merged.';
comment on column sync.runs.error_message is E'Why the run failed.';
comment on column sync.runs.metadata is E'Per-run details: tables, high-water marks, warnings.';
comment on column sync.runs.created_at is E'When the row was written.';
comment on column sync.runs.updated_at is E'When the row last changed.';
/* Why: "the latest runs of a job", for status and scheduling. */
create index runs_job_started_idx on sync.runs (job_id, started_at desc);

create table sync.checkpoints (
  id uuid primary key default gen_random_uuid(),
  run_id bigint references sync.runs (id) on delete cascade,
  operation_type text not null,
  entity_type text not null,
  last_processed_id text,
  records_processed bigint not null default 0,
  records_total bigint,
  batch_size integer not null default 100,
  status text not null default 'pending',
  started_at timestamptz,
  completed_at timestamptz,
  error_message text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint checkpoints_operation_type_is_known check (operation_type in ('differential_migration', 'sync_operation', 'validation')),
  constraint checkpoints_status_is_known check (status in ('pending', 'in_progress', 'completed', 'failed', 'paused')),
  constraint checkpoints_processed_within_total check (records_processed >= 0 and (records_total is null or records_processed <= records_total)),
  constraint checkpoints_batch_size_positive check (batch_size > 0),
  constraint checkpoints_completed_after_started check (completed_at > started_at),
  constraint checkpoints_completed_has_time check (status <> 'completed' or completed_at is not null),
  constraint checkpoints_failure_has_message check (status <> 'failed' or error_message is not null)
);
comment on table sync.checkpoints is E'Where a long operation (a table''s pull, a validation, a differential) stands, saved after each batch so that a killed run resumes from it.';
comment on column sync.checkpoints.id is E'Primary key.';
comment on column sync.checkpoints.run_id is E'The run the checkpoint belongs to. Cascade: a checkpoint means nothing without its run.';
comment on column sync.checkpoints.operation_type is E'differential_migration, sync_operation or validation.';
comment on column sync.checkpoints.entity_type is E'The entity (app table or source table) being processed.';
comment on column sync.checkpoints.last_processed_id is E'The last key or record id fully processed: the resume point.';
comment on column sync.checkpoints.records_processed is E'Records processed so far.';
comment on column sync.checkpoints.records_total is E'Records expected in all, when known.';
comment on column sync.checkpoints.batch_size is E'Records per batch.';
comment on column sync.checkpoints.status is E'pending, in_progress, completed, failed or paused; moves are governed by sync.status_transitions.';
comment on column sync.checkpoints.started_at is E'When processing started.';
comment on column sync.checkpoints.completed_at is E'When processing completed; after started_at.';
comment on column sync.checkpoints.error_message is E'Why processing failed; required when failed.';
comment on column sync.checkpoints.metadata is E'Resume details such as the source''s page offset.';
comment on column sync.checkpoints.created_at is E'When the row was written.';
comment on column sync.checkpoints.updated_at is E'When the row last changed.';
/* Why: a run's checkpoint per entity is looked up on every page and on resume. */
create unique index checkpoints_run_operation_entity_key on sync.checkpoints (run_id, operation_type, entity_type);

create table sync.id_map (
  id uuid primary key default gen_random_uuid(),
  entity_type text not null,
  legacy_id text not null,
  uuid_id uuid not null,
  migration_batch bigint references sync.runs (id) on delete set null,
  validation_status text not null default 'pending',
  source_table text not null,
  target_table text not null,
  checksum text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint id_map_legacy_key unique (entity_type, legacy_id),
  constraint id_map_uuid_key unique (entity_type, uuid_id),
  constraint id_map_validation_status_is_known check (validation_status in ('pending', 'validated', 'error')),
  constraint id_map_checksum_is_sha256 check (checksum ~ '^[0-9a-f]{64}$')
);
comment on table sync.id_map is E'The identity map between source ids (Airtable record ids, legacy keys) and app uuids, with the checksum of the record as last migrated.';
comment on column sync.id_map.id is E'Primary key.';
comment on column sync.id_map.entity_type is E'The entity, e.g. registrations.';
comment on column sync.id_map.legacy_id is E'The id at the source (rec... for Airtable).';
comment on column sync.id_map.uuid_id is E'The id of the app row.';
comment on column sync.id_map.migration_batch is E'The run that first mapped the record.';
comment on column sync.id_map.validation_status is E'pending, validated or error.';
comment on column sync.id_map.source_table is E'Source table (Airtable table id or legacy table name).';
comment on column sync.id_map.target_table is E'Target table, schema-qualified.';
comment on column sync.id_map.checksum is E'SHA-256 (hex) of the record''s canonical form at the source.';
comment on column sync.id_map.created_at is E'When the mapping was made.';
comment on column sync.id_map.updated_at is E'When the mapping last changed.';

create table sync.data_differentials (
  id uuid primary key default gen_random_uuid(),
  run_id bigint references sync.runs (id) on delete cascade,
  source_table text not null,
  target_table text not null,
  comparison_type text not null,
  legacy_ids jsonb not null default '[]',
  record_count integer not null default 0,
  comparison_criteria jsonb not null default '{}',
  resolution_strategy text not null default 'source_wins',
  resolved boolean not null default false,
  resolved_at timestamptz,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint data_differentials_comparison_type_is_known check (comparison_type in ('missing_records', 'conflicted_records', 'deleted_records')),
  constraint data_differentials_strategy_is_known check (resolution_strategy in ('source_wins', 'target_wins', 'manual_review', 'skip')),
  constraint data_differentials_legacy_ids_is_array check (jsonb_typeof(legacy_ids) = 'array'),
  -- Guarded: jsonb_array_length() raises on a non-array, which would hide the array check's clearer error.
  constraint data_differentials_count_matches_ids check (jsonb_typeof(legacy_ids) <> 'array' or record_count = jsonb_array_length(legacy_ids)),
  constraint data_differentials_resolved_has_time check (not resolved or resolved_at is not null)
);
comment on table sync.data_differentials is E'Differences found between a source snapshot and the target: records missing from the target, in conflict, or deleted at the source; and how each was resolved.';
comment on column sync.data_differentials.id is E'Primary key.';
comment on column sync.data_differentials.run_id is E'The run that computed the differential.';
comment on column sync.data_differentials.source_table is E'Source table compared.';
comment on column sync.data_differentials.target_table is E'Target table compared.';
comment on column sync.data_differentials.comparison_type is E'missing_records, conflicted_records or deleted_records.';
comment on column sync.data_differentials.legacy_ids is E'JSON array of the source ids concerned.';
comment on column sync.data_differentials.record_count is E'Number of ids in legacy_ids.';
comment on column sync.data_differentials.comparison_criteria is E'How the comparison was made (keys, checksum algorithm, snapshot run).';
comment on column sync.data_differentials.resolution_strategy is E'source_wins, target_wins, manual_review or skip.';
comment on column sync.data_differentials.resolved is E'Whether the strategy was applied.';
comment on column sync.data_differentials.resolved_at is E'When it was resolved; required when resolved.';
comment on column sync.data_differentials.metadata is E'Details such as the differing fields.';
comment on column sync.data_differentials.created_at is E'When the differential was found.';
comment on column sync.data_differentials.updated_at is E'When it last changed.';

create table sync.validation_reports (
  id uuid primary key default gen_random_uuid(),
  run_id bigint references sync.runs (id) on delete cascade,
  validation_type text not null,
  source_entity text not null,
  target_entity text,
  records_validated integer not null default 0,
  validation_passed boolean not null,
  discrepancies_found integer not null default 0,
  discrepancy_details jsonb not null default '[]',
  validation_criteria jsonb not null default '{}',
  execution_time_ms integer,
  generated_at timestamptz not null default now(),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  constraint validation_reports_type_is_known check (validation_type in ('data_integrity', 'relationship_integrity', 'completeness_check', 'performance_check')),
  constraint validation_reports_counts_not_negative check (records_validated >= 0 and discrepancies_found >= 0 and execution_time_ms >= 0),
  constraint validation_reports_passed_means_no_discrepancies check (not validation_passed or discrepancies_found = 0),
  constraint validation_reports_details_is_array check (jsonb_typeof(discrepancy_details) = 'array'),
  constraint validation_reports_expires_after_generated check (expires_at > generated_at)
);
comment on table sync.validation_reports is E'The result of one validation pass over an entity: what was checked, whether it passed, and each discrepancy by record, field, value and rule.';
comment on column sync.validation_reports.id is E'Primary key.';
comment on column sync.validation_reports.run_id is E'The run that validated.';
comment on column sync.validation_reports.validation_type is E'data_integrity, relationship_integrity, completeness_check or performance_check.';
comment on column sync.validation_reports.source_entity is E'The entity validated at the source.';
comment on column sync.validation_reports.target_entity is E'The entity it was compared with, if any.';
comment on column sync.validation_reports.records_validated is E'Records examined.';
comment on column sync.validation_reports.validation_passed is E'True only when no discrepancy was found.';
comment on column sync.validation_reports.discrepancies_found is E'Number of discrepancies; 0 when passed.';
comment on column sync.validation_reports.discrepancy_details is E'JSON array of {record, field, value, rule} objects.';
comment on column sync.validation_reports.validation_criteria is E'The rules applied.';
comment on column sync.validation_reports.execution_time_ms is E'How long the validation took.';
comment on column sync.validation_reports.generated_at is E'When the report was produced.';
comment on column sync.validation_reports.expires_at is E'When the report stops being current; after generated_at.';
comment on column sync.validation_reports.created_at is E'When the row was written.';

create table sync.record_errors (
  id uuid primary key default gen_random_uuid(),
  run_id bigint references sync.runs (id) on delete cascade,
  source_table text not null,
  airtable_id text not null,
  field text,
  value jsonb,
  reason text not null,
  resolved_at timestamptz,
  resolved_by_run_id bigint references sync.runs (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint record_errors_reason_not_blank check (btrim(reason) <> ''),
  constraint record_errors_resolution_has_run check ((resolved_at is null) = (resolved_by_run_id is null))
);
comment on table sync.record_errors is E'Quarantine: source records that could not be merged, each with the field, the value and the reason. A later run retries them and marks them resolved.';
comment on column sync.record_errors.id is E'Primary key.';
comment on column sync.record_errors.run_id is E'The run that quarantined the record.';
comment on column sync.record_errors.source_table is E'Source table (Airtable table id or name).';
comment on column sync.record_errors.airtable_id is E'The source record id.';
comment on column sync.record_errors.field is E'The offending field, when one field is to blame.';
comment on column sync.record_errors.value is E'The offending value, as the source sent it.';
comment on column sync.record_errors.reason is E'Why the record was not merged (dangling link, constraint, conversion).';
comment on column sync.record_errors.resolved_at is E'When a later run merged the record.';
comment on column sync.record_errors.resolved_by_run_id is E'The run that merged it.';
comment on column sync.record_errors.created_at is E'When the record was quarantined.';
comment on column sync.record_errors.updated_at is E'When the entry last changed.';
/* Why: "what is in quarantine now", the status command and the retry. */
create index record_errors_open_idx on sync.record_errors (source_table, airtable_id) where resolved_at is null;

/* Why: the same timestamp rule on control tables. */
create trigger _100_set_updated_at before update on sync.jobs for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on sync.runs for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on sync.checkpoints for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on sync.id_map for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on sync.data_differentials for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on sync.record_errors for each row execute function app.tg__set_updated_at();

create trigger _200_enforce_status_transition before insert or update of status on sync.jobs
  for each row execute function sync.tg__enforce_status_transition();
create trigger _200_enforce_status_transition before insert or update of status on sync.runs
  for each row execute function sync.tg__enforce_status_transition();
create trigger _200_enforce_status_transition before insert or update of status on sync.checkpoints
  for each row execute function sync.tg__enforce_status_transition();

/*
 * Staging: the raw mirror of what Airtable sent, one row per record.
 */
create table staging.airtable_records (
  base_id text not null,
  table_id text not null,
  airtable_id text not null,
  fields jsonb not null,
  created_time timestamptz not null,
  content_hash text not null,
  run_id bigint references sync.runs (id) on delete set null,
  fetched_at timestamptz not null default now(),
  primary key (table_id, airtable_id),
  constraint airtable_records_fields_is_object check (jsonb_typeof(fields) = 'object'),
  constraint airtable_records_hash_is_sha256 check (content_hash ~ '^[0-9a-f]{64}$')
);
comment on table staging.airtable_records is E'Every Airtable record as last fetched: its fields JSONB exactly as received (unmapped fields included), so that nothing is lost before or after the merge.';
comment on column staging.airtable_records.base_id is E'Airtable base id (app...).';
comment on column staging.airtable_records.table_id is E'Airtable table id (tbl...).';
comment on column staging.airtable_records.airtable_id is E'Airtable record id (rec...).';
comment on column staging.airtable_records.fields is E'The record''s fields object verbatim, keyed as the API returned them.';
comment on column staging.airtable_records.created_time is E'Airtable''s createdTime of the record.';
comment on column staging.airtable_records.content_hash is E'SHA-256 (hex) of the fields, to skip unchanged records cheaply.';
comment on column staging.airtable_records.run_id is E'The run that last fetched the record.';
comment on column staging.airtable_records.fetched_at is E'When the record was last fetched.';

/*
 * Audit every app table and every sync control table.
 */
select audit.enable_for('app.collaborators');
select audit.enable_for('app.clients');
select audit.enable_for('app.state_regulators');
select audit.enable_for('app.products');
select audit.enable_for('app.registrations');
select audit.enable_for('app.attachments');
select audit.enable_for('sync.jobs');
select audit.enable_for('sync.runs');
select audit.enable_for('sync.checkpoints');
select audit.enable_for('sync.id_map');
select audit.enable_for('sync.data_differentials');
select audit.enable_for('sync.validation_reports');
select audit.enable_for('sync.record_errors');

--! Included report_views.sql
/*
 * Reporting views over app. Re-creatable: included by migrations with
 * `--!include report_views.sql` after the tables they read.
 *
 * Materialized where the query aggregates the whole registrations table; each
 * materialized view has a unique index on plain columns so that
 * `refresh materialized view concurrently` can run while dashboards read.
 * Views that depend on today's date stay plain views, so they are never stale.
 */
drop function if exists report.refresh_materialized_views();
drop view if exists report.expiring_registration_counts;
drop view if exists report.registrations_expiring;
drop materialized view if exists report.client_portfolio;
drop materialized view if exists report.registration_status_by_state;

create materialized view report.registration_status_by_state as
select coalesce(r.state_code, '??') as state_code,
       coalesce(r.status, '(no status)') as status,
       count(*) as registrations,
       count(*) filter (where r.is_open) as open_registrations,
       count(distinct r.client_id) as clients,
       coalesce(sum(r.fee_paid), 0)::numeric(14,2) as fees_paid
from app.registrations r
where r.deleted_at is null
group by 1, 2;
comment on materialized view report.registration_status_by_state is E'How many registrations stand in each status in each state (live rows only), with open count, clients and fees. Refresh with report.refresh_materialized_views().';
comment on column report.registration_status_by_state.state_code is E'Two-letter state code, or ?? when the registration''s state is missing or not a code.';
comment on column report.registration_status_by_state.status is E'Registration status, or (no status).';
comment on column report.registration_status_by_state.registrations is E'Registrations in this state and status.';
comment on column report.registration_status_by_state.open_registrations is E'Of those, the ones not in a terminal status.';
comment on column report.registration_status_by_state.clients is E'Distinct clients among them.';
comment on column report.registration_status_by_state.fees_paid is E'Sum of fees paid, in dollars.';
/* Why: required by refresh concurrently; also the lookup key of the report. */
create unique index registration_status_by_state_key on report.registration_status_by_state (state_code, status);

create materialized view report.client_portfolio as
select c.id as client_id,
       c.name as client_name,
       c.status as client_status,
       coalesce(p.products, 0) as products,
       coalesce(p.active_products, 0) as active_products,
       coalesce(r.registrations, 0) as registrations,
       coalesce(r.open_registrations, 0) as open_registrations,
       coalesce(r.approved_registrations, 0) as approved_registrations,
       coalesce(r.states_covered, 0) as states_covered,
       r.next_expiration_date,
       coalesce(r.fees_paid, 0)::numeric(14,2) as fees_paid
from app.clients c
left join (
  select client_id,
         count(*) as products,
         count(*) filter (where not discontinued) as active_products
  from app.products
  where deleted_at is null
  group by client_id
) p on p.client_id = c.id
left join (
  select client_id,
         count(*) as registrations,
         count(*) filter (where is_open) as open_registrations,
         count(*) filter (where is_approved) as approved_registrations,
         count(distinct state_code) as states_covered,
         min(expiration_date) filter (where is_open) as next_expiration_date,
         sum(fee_paid) as fees_paid
  from app.registrations
  where deleted_at is null
  group by client_id
) r on r.client_id = c.id
where c.deleted_at is null;
comment on materialized view report.client_portfolio is E'One row per live client: its products, registrations by lifecycle, states covered, next expiration and fees paid. Refresh with report.refresh_materialized_views().';
comment on column report.client_portfolio.client_id is E'The client.';
comment on column report.client_portfolio.client_name is E'Client name.';
comment on column report.client_portfolio.client_status is E'Client status.';
comment on column report.client_portfolio.products is E'Live products of the client.';
comment on column report.client_portfolio.active_products is E'Of those, the ones not discontinued.';
comment on column report.client_portfolio.registrations is E'Live registrations of the client.';
comment on column report.client_portfolio.open_registrations is E'Registrations not in a terminal status.';
comment on column report.client_portfolio.approved_registrations is E'Registrations in force (Approved).';
comment on column report.client_portfolio.states_covered is E'Distinct states in which the client has registrations.';
comment on column report.client_portfolio.next_expiration_date is E'Earliest expiration date among open registrations.';
comment on column report.client_portfolio.fees_paid is E'Sum of registration fees paid, in dollars.';
/* Why: required by refresh concurrently; one row per client. */
create unique index client_portfolio_key on report.client_portfolio (client_id);

create view report.registrations_expiring as
select r.id as registration_id,
       r.airtable_id,
       c.name as client_name,
       p.name as product_name,
       s.agency_name,
       r.state_code,
       r.status,
       r.expiration_date,
       r.expiration_date - current_date as days_until_expiration,
       case when r.expiration_date - current_date <= 30 then 30
            when r.expiration_date - current_date <= 60 then 60
            else 90 end as within_days
from app.registrations r
left join app.clients c on c.id = r.client_id
left join app.products p on p.id = r.product_id
left join app.state_regulators s on s.id = r.state_regulator_id
where r.is_open
  and r.deleted_at is null
  and r.expiration_date between current_date and current_date + 90;
comment on view report.registrations_expiring is E'Open registrations expiring in the next 90 days, bucketed by 30, 60 and 90 days: the renewal worklist. A plain view over the partial index on expiration date, so it is never stale.';
comment on column report.registrations_expiring.registration_id is E'The registration.';
comment on column report.registrations_expiring.airtable_id is E'Its Airtable record id.';
comment on column report.registrations_expiring.client_name is E'Name of its client.';
comment on column report.registrations_expiring.product_name is E'Name of the registered product.';
comment on column report.registrations_expiring.agency_name is E'The regulating agency.';
comment on column report.registrations_expiring.state_code is E'Two-letter state code.';
comment on column report.registrations_expiring.status is E'Registration status.';
comment on column report.registrations_expiring.expiration_date is E'The renewal deadline.';
comment on column report.registrations_expiring.within_days is E'30, 60 or 90: the smallest window the expiration falls in.';
comment on column report.registrations_expiring.days_until_expiration is E'Days from today to the expiration date.';

create view report.expiring_registration_counts as
select count(*) filter (where within_days = 30) as within_30_days,
       count(*) filter (where within_days <= 60) as within_60_days,
       count(*) as within_90_days
from report.registrations_expiring;
comment on view report.expiring_registration_counts is E'How many open registrations expire within 30, 60 and 90 days (cumulative).';
comment on column report.expiring_registration_counts.within_30_days is E'Open registrations expiring in the next 30 days.';
comment on column report.expiring_registration_counts.within_60_days is E'Open registrations expiring in the next 60 days (the 30 included).';
comment on column report.expiring_registration_counts.within_90_days is E'Open registrations expiring in the next 90 days (the 60 included).';

create function report.refresh_materialized_views() returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  refresh materialized view concurrently report.registration_status_by_state;
  refresh materialized view concurrently report.client_portfolio;
end;
$$;
comment on function report.refresh_materialized_views() is E'Refreshes every report materialized view concurrently (readers are not blocked). Security definer because only the owner may refresh; granted to the sync worker, which calls it after a run.';
--! EndIncluded report_views.sql

--! Included grants.sql
/*
 * Least privilege, re-creatable: included by migrations with
 * `--!include grants.sql` after the objects it grants on. The roles
 * themselves are made by sql/bootstrap_roles.sql, outside the migrations.
 *
 *   airlift_owner     owns every schema and object, runs migrations
 *   airlift_sync      the worker: reads app, writes staging and sync,
 *                     calls the merge functions; no DDL, no audit
 *   airlift_app       applications: read and write app, read report
 *   airlift_readonly  reads app and report
 *   airlift_auditor   reads audit (and the sync history it refers to)
 */
revoke all on schema audit, sync, app, staging, report from public;
revoke all on all tables in schema audit, sync, app, staging, report from public;
revoke execute on all functions in schema audit, sync, app, staging, report from public;
alter default privileges revoke execute on functions from public;

grant usage on schema app, report to airlift_app, airlift_readonly, airlift_sync;
grant usage on schema sync, staging to airlift_sync;
grant usage on schema audit, sync to airlift_auditor;

grant select, insert, update, delete on all tables in schema app to airlift_app;
grant select on all tables in schema app to airlift_readonly, airlift_sync;
grant select on all tables in schema report to airlift_app, airlift_readonly, airlift_sync;
grant select, insert, update, delete on all tables in schema staging to airlift_sync;
grant select, insert, update, delete on all tables in schema sync to airlift_sync;
revoke insert, update, delete on sync.status_transitions from airlift_sync;
grant select on all tables in schema audit to airlift_auditor;
grant select on all tables in schema sync to airlift_auditor;

grant execute on function report.refresh_materialized_views() to airlift_sync;

alter default privileges in schema app grant select, insert, update, delete on tables to airlift_app;
alter default privileges in schema app grant select on tables to airlift_readonly, airlift_sync;
alter default privileges in schema report grant select on tables to airlift_app, airlift_readonly, airlift_sync;
alter default privileges in schema staging grant select, insert, update, delete on tables to airlift_sync;
alter default privileges in schema sync grant select, insert, update, delete on tables to airlift_sync;
alter default privileges in schema sync grant select on tables to airlift_auditor;
alter default privileges in schema audit grant select on tables to airlift_auditor;
--! EndIncluded grants.sql
