--! Previous: sha1:e9d4477665b868af388f851129c081294af1ce16
--! Hash: sha1:09b2e2881519c32ec7f29899ce705f56bb9ade1e
--! Message: The legacy PostgreSQL source: sweep within key ranges; its example target legacy_app (uuid keys, no legacy id columns)

/*
 * The legacy PostgreSQL source: a listing complete within the key ranges
 * whose checksums changed sweeps those ranges only
 * (sync.sweep_deleted_in_key_ranges); and its example target, schema
 * legacy_app (uuid keys, no legacy id columns: identity is the id map's),
 * registered in the entity catalogue and wired for target checksums and
 * the audit trail.
 */
--! Included merge/sweep_deleted_in_key_ranges.sql
/*
 * A listing that is complete within ranges of integer keys, not the whole
 * table (a legacy PostgreSQL source re-reads only the key ranges whose
 * checksums changed): the app rows whose source key falls in one of those
 * ranges and that the run did not stage are gone from the source, and are
 * soft-deleted, set-based. Rows outside the ranges are not touched. Keys
 * are the id map's (sync.id_map.legacy_id), compared as numbers.
 *
 * Their records leave staging too. A full listing leaves the records it
 * did not see behind an older run id, outside its source snapshot; a
 * listing of some ranges is no snapshot, so the records it found gone
 * would otherwise stay in the last one, and verification would count them
 * as still in the source. Staging holds what the source says: they are no
 * longer there.
 */

create or replace function sync.sweep_deleted_in_key_ranges(p_run_id bigint, p_entity text, p_width bigint, p_ranges jsonb) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  swept bigint;
begin
  if p_width is null or p_width < 1 then
    raise exception 'key ranges must be at least 1 key wide, got %', p_width using errcode = 'invalid_parameter_value';
  end if;
  if jsonb_typeof(p_ranges) is distinct from 'array' then
    raise exception 'key ranges must be a JSON array of range numbers, got %', left(p_ranges::text, 100) using errcode = 'invalid_parameter_value';
  end if;
  select * into strict mapping from sync.entity_mappings m where m.entity = p_entity;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  perform sync.analyze_if_stale('staging.source_records');
  perform sync.analyze_if_stale(target);
  -- As sync.sweep_deleted, within the ranges: a key is in range n when
  -- floor(key / width) = n; keys that are not whole numbers are in none.
  -- Rows created here (no id map entry), rows whose record this run
  -- staged, and records rejected before staging (they exist in the
  -- source) are not touched; the open problems of a swept record are
  -- closed with it.
  execute format($sql$
    with ranges as (
      select distinct (r #>> '{}')::numeric as n from jsonb_array_elements($4) as r
    ), keyed as (
      select k.uuid_id, k.legacy_id
      from sync.id_map k
      join ranges on ranges.n = floor(k.legacy_id::numeric / $5)
      where k.entity_type = $3 and k.legacy_id ~ '^-?[0-9]{1,30}$'
    ), swept as (
      update %s t set deleted_at = now(), open_problem_count = 0
      from keyed k
      where k.uuid_id = t.id and t.deleted_at is null
        and not exists (select from staging.source_records s
                        where s.source_table = $1 and s.source_key = k.legacy_id and s.run_id = $2)
        and not exists (select from sync.record_errors e
                        where e.resolved_at is null and e.rejected_before_staging and e.source_table = $1 and e.source_key = k.legacy_id)
      returning k.legacy_id as source_key
    ), closed as (
      update sync.field_problems fp set resolved_at = now(), resolved_by_run_id = $2
      from swept w
      where fp.entity = $3 and fp.source_key = w.source_key and fp.resolved_at is null
    ), unstaged as (
      delete from staging.source_records s
      using swept w
      where s.source_table = $1 and s.source_key = w.source_key
    )
    select count(*) from swept
  $sql$, target) using mapping.source_table, p_run_id, p_entity, p_ranges, p_width into swept;
  update sync.checkpoints cp
  set metadata = cp.metadata || jsonb_build_object('phase', 'swept', 'deleted', swept)
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;
  return swept;
end;
$$;
comment on function sync.sweep_deleted_in_key_ranges(bigint, text, bigint, jsonb) is E'After a listing complete within ranges of integer keys (range n holds the keys k with floor(k / width) = n; p_ranges a JSON array of range numbers), soft-deletes the app rows whose source key (the id map''s, compared as a number) is in one of the ranges and was not staged by the run (audited with the run), closes their open field problems and removes their records from staging (gone from the source: the last source snapshot no longer counts them). Rows outside the ranges are not touched.';
--! EndIncluded merge/sweep_deleted_in_key_ranges.sql
--! Included examples/legacy_app.sql
/*
 * The legacy PostgreSQL source's example target: a clinic application on
 * a PostgreSQL database with integer serial ids (offices, profiles,
 * doctors, patients, products, orders, chained by foreign keys; written
 * at any size by tools/generator/legacy-pg.ts, mapped by
 * examples/legacy-pg/mapping.json) moves into schema legacy_app, keyed by
 * uuid. No table keeps the legacy integer id: identity is sync.id_map's
 * alone (entity, the legacy id as decimal text -> uuid), so the entities
 * are registered with source_key_column null. Foreign keys are uuid links
 * with an explicit on delete and an index each; target checksums and the
 * audit trail come from sync.attach_target_triggers.
 *
 * Idempotent: it drops the schema and the legacy_ entities first.
 */
drop schema if exists legacy_app cascade;
delete from sync.entities where entity like 'legacy\_%';

create schema legacy_app;
comment on schema legacy_app is E'The example legacy PostgreSQL source''s target (tools/generator/legacy-pg.ts, examples/legacy-pg): a clinic''s offices, profiles, doctors, patients, products and orders, moved from integer ids to uuids.';

create table legacy_app.offices (
  id uuid primary key default gen_random_uuid(),
  name text,
  city text,
  phone text,
  opened_on date,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table legacy_app.offices is E'The clinic''s offices (legacy table offices).';
comment on column legacy_app.offices.id is E'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_offices).';
comment on column legacy_app.offices.name is E'The offices name.';
comment on column legacy_app.offices.city is E'The city it is in.';
comment on column legacy_app.offices.phone is E'Its phone number, as the legacy application kept it.';
comment on column legacy_app.offices.opened_on is E'When it opened.';
comment on column legacy_app.offices.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column legacy_app.offices.created_at is E'When the row was created here.';
comment on column legacy_app.offices.updated_at is E'When the row last changed here.';
comment on column legacy_app.offices.deleted_at is E'When the row disappeared from the legacy database (soft delete); null while present.';

create table legacy_app.profiles (
  id uuid primary key default gen_random_uuid(),
  email text,
  full_name text,
  birth_date date,
  app_created_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table legacy_app.profiles is E'People: every doctor and patient has a profile (legacy table profiles).';
comment on column legacy_app.profiles.id is E'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_profiles).';
comment on column legacy_app.profiles.email is E'Contact email.';
comment on column legacy_app.profiles.full_name is E'Full name.';
comment on column legacy_app.profiles.birth_date is E'Date of birth (text in the legacy table: a value that is not a date lands empty, its problem on the field).';
comment on column legacy_app.profiles.app_created_at is E'When the legacy application created the profile.';
comment on column legacy_app.profiles.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column legacy_app.profiles.created_at is E'When the row was created here.';
comment on column legacy_app.profiles.updated_at is E'When the row last changed here.';
comment on column legacy_app.profiles.deleted_at is E'When the row disappeared from the legacy database (soft delete); null while present.';

create table legacy_app.products (
  id uuid primary key default gen_random_uuid(),
  sku text,
  name text,
  price numeric(12,2),
  is_active boolean,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table legacy_app.products is E'What is ordered (legacy table products).';
comment on column legacy_app.products.id is E'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_products).';
comment on column legacy_app.products.sku is E'Stock keeping unit.';
comment on column legacy_app.products.name is E'Product name.';
comment on column legacy_app.products.price is E'Unit price.';
comment on column legacy_app.products.is_active is E'Whether it can still be ordered.';
comment on column legacy_app.products.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column legacy_app.products.created_at is E'When the row was created here.';
comment on column legacy_app.products.updated_at is E'When the row last changed here.';
comment on column legacy_app.products.deleted_at is E'When the row disappeared from the legacy database (soft delete); null while present.';

create table legacy_app.doctors (
  id uuid primary key default gen_random_uuid(),
  profile_id uuid references legacy_app.profiles (id) on delete set null,
  office_id uuid references legacy_app.offices (id) on delete set null,
  specialty text,
  license_no text,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table legacy_app.doctors is E'Doctors, each with a profile and an office (legacy table doctors).';
comment on column legacy_app.doctors.id is E'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_doctors).';
comment on column legacy_app.doctors.profile_id is E'The doctors profile.';
comment on column legacy_app.doctors.office_id is E'The office the doctor works at.';
comment on column legacy_app.doctors.specialty is E'general, cardiology, dermatology, pediatrics or orthopedics.';
comment on column legacy_app.doctors.license_no is E'Medical license number.';
comment on column legacy_app.doctors.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column legacy_app.doctors.created_at is E'When the row was created here.';
comment on column legacy_app.doctors.updated_at is E'When the row last changed here.';
comment on column legacy_app.doctors.deleted_at is E'When the row disappeared from the legacy database (soft delete); null while present.';

create table legacy_app.patients (
  id uuid primary key default gen_random_uuid(),
  profile_id uuid references legacy_app.profiles (id) on delete set null,
  primary_doctor_id uuid references legacy_app.doctors (id) on delete set null,
  insurance_no text,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table legacy_app.patients is E'Patients, each with a profile and a primary doctor (legacy table patients).';
comment on column legacy_app.patients.id is E'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_patients).';
comment on column legacy_app.patients.profile_id is E'The patients profile.';
comment on column legacy_app.patients.primary_doctor_id is E'The patients primary doctor.';
comment on column legacy_app.patients.insurance_no is E'Insurance number.';
comment on column legacy_app.patients.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column legacy_app.patients.created_at is E'When the row was created here.';
comment on column legacy_app.patients.updated_at is E'When the row last changed here.';
comment on column legacy_app.patients.deleted_at is E'When the row disappeared from the legacy database (soft delete); null while present.';

create table legacy_app.orders (
  id uuid primary key default gen_random_uuid(),
  patient_id uuid references legacy_app.patients (id) on delete cascade,
  doctor_id uuid references legacy_app.doctors (id) on delete set null,
  product_id uuid references legacy_app.products (id) on delete restrict,
  quantity integer,
  total numeric(12,2),
  status text,
  ordered_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table legacy_app.orders is E'Orders of products for patients, placed by doctors (legacy table orders: most of the rows).';
comment on column legacy_app.orders.id is E'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_orders).';
comment on column legacy_app.orders.patient_id is E'The patient the order is for.';
comment on column legacy_app.orders.doctor_id is E'The doctor who placed it.';
comment on column legacy_app.orders.product_id is E'The product ordered.';
comment on column legacy_app.orders.quantity is E'How many.';
comment on column legacy_app.orders.total is E'The orders total.';
comment on column legacy_app.orders.status is E'placed, shipped, delivered or cancelled.';
comment on column legacy_app.orders.ordered_at is E'When it was placed (timestamp without time zone in the legacy table, read as UTC).';
comment on column legacy_app.orders.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column legacy_app.orders.created_at is E'When the row was created here.';
comment on column legacy_app.orders.updated_at is E'When the row last changed here.';
comment on column legacy_app.orders.deleted_at is E'When the row disappeared from the legacy database (soft delete); null while present.';

-- The foreign keys' indexes: links are resolved and rows deleted by them
create index doctors_profile_id on legacy_app.doctors (profile_id);
comment on index legacy_app.doctors_profile_id is E'Foreign key profile_id.';
create index doctors_office_id on legacy_app.doctors (office_id);
comment on index legacy_app.doctors_office_id is E'Foreign key office_id.';
create index patients_profile_id on legacy_app.patients (profile_id);
comment on index legacy_app.patients_profile_id is E'Foreign key profile_id.';
create index patients_primary_doctor_id on legacy_app.patients (primary_doctor_id);
comment on index legacy_app.patients_primary_doctor_id is E'Foreign key primary_doctor_id.';
create index orders_patient_id on legacy_app.orders (patient_id);
comment on index legacy_app.orders_patient_id is E'Foreign key patient_id.';
create index orders_doctor_id on legacy_app.orders (doctor_id);
comment on index legacy_app.orders_doctor_id is E'Foreign key doctor_id.';
create index orders_product_id on legacy_app.orders (product_id);
comment on index legacy_app.orders_product_id is E'Foreign key product_id.';

create trigger _100_set_updated_at before update on legacy_app.offices for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on legacy_app.profiles for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on legacy_app.products for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on legacy_app.doctors for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on legacy_app.patients for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on legacy_app.orders for each row execute function app.tg__set_updated_at();

/*
 * The catalogue: what each table takes and how. source_key_column is null:
 * the legacy id lives in the id map only. Ranks put every table after the
 * tables it links to.
 */
insert into sync.entities (entity, target_table, merge_rank, attachment_owner_column, source_key_column) values
  ('legacy_offices', 'legacy_app.offices', 1, null, null),
  ('legacy_profiles', 'legacy_app.profiles', 1, null, null),
  ('legacy_products', 'legacy_app.products', 1, null, null),
  ('legacy_doctors', 'legacy_app.doctors', 2, null, null),
  ('legacy_patients', 'legacy_app.patients', 3, null, null),
  ('legacy_orders', 'legacy_app.orders', 4, null, null);
insert into sync.entity_columns (entity, column_name, conversion, required, min_value, max_value, linked_entity) values
  ('legacy_offices', 'name', 'text', true, null, null, null),
  ('legacy_offices', 'city', 'text', false, null, null, null),
  ('legacy_offices', 'phone', 'text', false, null, null, null),
  ('legacy_offices', 'opened_on', 'date', false, null, null, null),
  ('legacy_profiles', 'email', 'text', false, null, null, null),
  ('legacy_profiles', 'full_name', 'text', false, null, null, null),
  ('legacy_profiles', 'birth_date', 'date', false, null, null, null),
  ('legacy_profiles', 'app_created_at', 'timestamp', false, null, null, null),
  ('legacy_products', 'sku', 'text', false, null, null, null),
  ('legacy_products', 'name', 'text', true, null, null, null),
  ('legacy_products', 'price', 'money', false, null, null, null),
  ('legacy_products', 'is_active', 'checkbox', false, null, null, null),
  ('legacy_doctors', 'profile_id', 'link', false, null, null, 'legacy_profiles'),
  ('legacy_doctors', 'office_id', 'link', false, null, null, 'legacy_offices'),
  ('legacy_doctors', 'specialty', 'select', false, null, null, null),
  ('legacy_doctors', 'license_no', 'text', false, null, null, null),
  ('legacy_patients', 'profile_id', 'link', false, null, null, 'legacy_profiles'),
  ('legacy_patients', 'primary_doctor_id', 'link', false, null, null, 'legacy_doctors'),
  ('legacy_patients', 'insurance_no', 'text', false, null, null, null),
  ('legacy_orders', 'patient_id', 'link', false, null, null, 'legacy_patients'),
  ('legacy_orders', 'doctor_id', 'link', false, null, null, 'legacy_doctors'),
  ('legacy_orders', 'product_id', 'link', false, null, null, 'legacy_products'),
  ('legacy_orders', 'quantity', 'integer', false, null, null, null),
  ('legacy_orders', 'total', 'money', false, null, null, null),
  ('legacy_orders', 'status', 'select', false, null, null, null),
  ('legacy_orders', 'ordered_at', 'timestamp', false, null, null, null);

select sync.attach_target_triggers(e.entity) from sync.entities e where e.entity like 'legacy\_%' order by e.entity;

-- least privilege, as for app and pfa_app: applications read and write, the sync and readers read
grant usage on schema legacy_app to airlift_app, airlift_readonly, airlift_sync;
grant select, insert, update, delete on all tables in schema legacy_app to airlift_app;
grant select on all tables in schema legacy_app to airlift_readonly, airlift_sync;
--! EndIncluded examples/legacy_app.sql
--! Included grants/_all.sql
-- The grants stage, in dependency order (paths are relative to migrations/fixtures/).
--! Included grants/privileges.sql
/*
 * Least privilege, re-creatable: included after the objects it grants on
 * (the last stage of all.sql; a migration that creates or re-creates
 * objects includes grants/_all.sql again). The roles themselves are made by
 * sql/bootstrap_roles.sql, outside the migrations.
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
-- stage_page numbers each page from staging.page_seq as the caller
grant usage on all sequences in schema staging to airlift_sync;
grant select, insert, update, delete on all tables in schema sync to airlift_sync;
revoke insert, update, delete on sync.status_transitions from airlift_sync;
grant select on all tables in schema audit to airlift_auditor;
grant select on all tables in schema sync to airlift_auditor;

grant execute on function report.refresh_materialized_views() to airlift_sync;
-- The sync worker calls the sync functions (staging, merge, sweep, run
-- bookkeeping) and the cell conversions they use. Trigger functions among
-- them cannot be called directly, so granting the whole schema is safe.
grant execute on all functions in schema sync to airlift_sync;

alter default privileges in schema app grant select, insert, update, delete on tables to airlift_app;
alter default privileges in schema app grant select on tables to airlift_readonly, airlift_sync;
alter default privileges in schema report grant select on tables to airlift_app, airlift_readonly, airlift_sync;
alter default privileges in schema staging grant select, insert, update, delete on tables to airlift_sync;
alter default privileges in schema sync grant select, insert, update, delete on tables to airlift_sync;
alter default privileges in schema sync grant select on tables to airlift_auditor;
alter default privileges in schema audit grant select on tables to airlift_auditor;
--! EndIncluded grants/privileges.sql
--! EndIncluded grants/_all.sql
