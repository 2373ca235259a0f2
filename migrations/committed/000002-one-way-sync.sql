--! Previous: sha1:578729842e24a066cb1d48fe17e68f3a7f3503f3
--! Hash: sha1:4fa6201ef0c04faba7fb773cf03c1f4e2202231d
--! Message: one-way sync

/*
 * One-way sync from Airtable: the catalogue of what each entity's merge
 * fills, the mapping the runner writes before each run (Airtable field ids
 * live there, not in the schema), the page staging function, the set-based
 * merge with quarantine, the delete sweep, and run bookkeeping.
 *
 * Idempotent while current: dropped first, in reverse dependency order.
 */
drop function if exists sync.fail_run(bigint, text);
drop function if exists sync.finish_run(bigint);
drop function if exists sync.refresh_job_statistics(uuid);
drop function if exists sync.sweep_deleted(bigint, text);
drop function if exists sync.merge_registrations(bigint);
drop function if exists sync.merge_products(bigint);
drop function if exists sync.merge_state_regulators(bigint);
drop function if exists sync.merge_clients(bigint);
drop function if exists sync.merge_entity(bigint, text);
drop function if exists sync.merge_entity(bigint, text, boolean);
drop function if exists sync.analyze_if_stale(regclass);
drop function if exists sync.restart_listing(bigint, text);
drop function if exists sync.stage_page(bigint, text, jsonb, jsonb, boolean, text, timestamptz);
drop type if exists sync.merge_result;
drop table if exists sync.worker_processes;
drop table if exists sync.entity_mappings;
drop table if exists sync.entity_columns;
drop table if exists sync.entities;
drop index if exists staging.airtable_records_page_idx;
alter table staging.airtable_records drop column if exists page_seq;
drop sequence if exists staging.page_seq;

/*
 * The entity catalogue: which app table each entity fills and which columns
 * its merge may write, with the conversion and the rules (required, range)
 * that the target table's constraints enforce. The merge checks these before
 * writing, so a record that would break a constraint is quarantined with a
 * reason instead of failing the whole statement.
 */
create table sync.entities (
  entity text primary key,
  target_table regclass not null,
  merge_rank integer not null,
  attachment_owner_column text,
  constraint entities_name_format check (entity ~ '^[a-z_]+$')
);
comment on table sync.entities is E'The entities a source can feed, with their app table and merge rank (tables another links to merge first).';
comment on column sync.entities.entity is E'Entity name, as used in mappings and in sync.merge_<entity>().';
comment on column sync.entities.target_table is E'The app table the entity''s records are merged into.';
comment on column sync.entities.merge_rank is E'Merge order: lower ranks first, so links resolve to rows that exist.';
comment on column sync.entities.attachment_owner_column is E'The app.attachments column that points at this entity''s rows, when it has attachment fields.';

insert into sync.entities (entity, target_table, merge_rank, attachment_owner_column) values
  ('clients', 'app.clients', 1, null),
  ('state_regulators', 'app.state_regulators', 1, null),
  ('products', 'app.products', 2, 'product_id'),
  ('registrations', 'app.registrations', 3, 'registration_id');

create table sync.entity_columns (
  entity text not null references sync.entities (entity) on delete cascade,
  column_name text not null,
  conversion text not null,
  required boolean not null default false,
  min_value numeric,
  max_value numeric,
  linked_entity text references sync.entities (entity) on delete restrict,
  primary key (entity, column_name),
  constraint entity_columns_conversion_is_known check (conversion in
    ('text', 'select', 'multi_select', 'date', 'timestamp', 'money', 'integer', 'checkbox', 'collaborator', 'link', 'lookup_text')),
  constraint entity_columns_link_has_target check ((conversion = 'link') = (linked_entity is not null))
);
comment on table sync.entity_columns is E'The columns each entity''s merge may fill, how a cell converts to each, and the rules the column''s constraints demand. A mapping names a field id for some or all of them.';
comment on column sync.entity_columns.entity is E'The entity.';
comment on column sync.entity_columns.column_name is E'A column of the entity''s app table.';
comment on column sync.entity_columns.conversion is E'How a cell becomes the column (see sync.cell_problem).';
comment on column sync.entity_columns.required is E'The column may not be empty (NOT NULL and not blank).';
comment on column sync.entity_columns.min_value is E'Smallest value a CHECK constraint allows, if any.';
comment on column sync.entity_columns.max_value is E'Largest value a CHECK constraint allows, if any.';
comment on column sync.entity_columns.linked_entity is E'For links: the entity whose rows the foreign key points at.';

insert into sync.entity_columns (entity, column_name, conversion, required, min_value, max_value, linked_entity) values
  ('clients', 'name', 'text', true, null, null, null),
  ('clients', 'client_code', 'text', false, null, null, null),
  ('clients', 'status', 'select', false, null, null, null),
  ('clients', 'primary_contact', 'text', false, null, null, null),
  ('clients', 'email', 'text', false, null, null, null),
  ('clients', 'phone', 'text', false, null, null, null),
  ('clients', 'mailing_address', 'text', false, null, null, null),
  ('clients', 'federal_tax_id', 'text', false, null, null, null),
  ('clients', 'account_manager_id', 'collaborator', false, null, null, null),
  ('clients', 'client_since', 'date', false, null, null, null),
  ('clients', 'annual_budget', 'money', false, null, null, null),
  ('clients', 'notes', 'text', false, null, null, null),
  ('clients', 'airtable_created_at', 'timestamp', false, null, null, null),
  ('clients', 'airtable_modified_at', 'timestamp', false, null, null, null),
  ('state_regulators', 'agency_name', 'text', true, null, null, null),
  ('state_regulators', 'state', 'select', false, null, null, null),
  ('state_regulators', 'agency_type', 'select', false, null, null, null),
  ('state_regulators', 'contact_name', 'text', false, null, null, null),
  ('state_regulators', 'contact_email', 'text', false, null, null, null),
  ('state_regulators', 'phone', 'text', false, null, null, null),
  ('state_regulators', 'website', 'text', false, null, null, null),
  ('state_regulators', 'submission_portal', 'select', false, null, null, null),
  ('state_regulators', 'renewal_cycle', 'select', false, null, null, null),
  ('state_regulators', 'renewal_month', 'integer', false, 1, 12, null),
  ('state_regulators', 'registration_fee', 'money', false, null, null, null),
  ('state_regulators', 'late_fee', 'money', false, null, null, null),
  ('state_regulators', 'requires_wet_signature', 'checkbox', false, null, null, null),
  ('state_regulators', 'product_types_regulated', 'multi_select', false, null, null, null),
  ('state_regulators', 'notes', 'text', false, null, null, null),
  ('state_regulators', 'airtable_modified_at', 'timestamp', false, null, null, null),
  ('products', 'name', 'text', true, null, null, null),
  ('products', 'client_id', 'link', false, null, null, 'clients'),
  ('products', 'epa_registration_number', 'text', false, null, null, null),
  ('products', 'product_type', 'select', false, null, null, null),
  ('products', 'active_ingredients', 'text', false, null, null, null),
  ('products', 'signal_word', 'select', false, null, null, null),
  ('products', 'discontinued', 'checkbox', false, null, null, null),
  ('products', 'airtable_modified_at', 'timestamp', false, null, null, null),
  ('registrations', 'client_id', 'link', false, null, null, 'clients'),
  ('registrations', 'product_id', 'link', false, null, null, 'products'),
  ('registrations', 'state_regulator_id', 'link', false, null, null, 'state_regulators'),
  ('registrations', 'state', 'lookup_text', false, null, null, null),
  ('registrations', 'status', 'select', false, null, null, null),
  ('registrations', 'registration_type', 'select', false, null, null, null),
  ('registrations', 'state_registration_number', 'text', false, null, null, null),
  ('registrations', 'submitted_date', 'date', false, null, null, null),
  ('registrations', 'approved_date', 'date', false, null, null, null),
  ('registrations', 'expiration_date', 'date', false, null, null, null),
  ('registrations', 'fee_paid', 'money', false, null, null, null),
  ('registrations', 'invoice_number', 'text', false, null, null, null),
  ('registrations', 'priority', 'integer', false, 1, 5, null),
  ('registrations', 'tags', 'multi_select', false, null, null, null),
  ('registrations', 'assigned_to_id', 'collaborator', false, null, null, null),
  ('registrations', 'notes', 'text', false, null, null, null),
  ('registrations', 'airtable_modified_at', 'timestamp', false, null, null, null);

/*
 * The mapping in force, written by the runner from its mapping file before
 * each run, so that the merge functions read Airtable field ids from data
 * rather than from code.
 */
create table sync.entity_mappings (
  entity text primary key references sync.entities (entity) on delete cascade,
  base_id text not null,
  table_id text not null,
  table_name text not null,
  field_ids jsonb not null,
  field_names jsonb not null default '{}',
  attachment_field_ids jsonb not null default '{}',
  last_modified_field_id text not null,
  updated_at timestamptz not null default now(),
  constraint entity_mappings_table_id_format check (table_id ~ '^tbl[A-Za-z0-9]{14}$'),
  constraint entity_mappings_field_ids_is_object check (jsonb_typeof(field_ids) = 'object'),
  constraint entity_mappings_attachments_is_object check (jsonb_typeof(attachment_field_ids) = 'object'),
  constraint entity_mappings_table_unique unique (base_id, table_id)
);
comment on table sync.entity_mappings is E'The Airtable table and field ids each entity is read from, as the runner''s mapping file says; rewritten at the start of every run.';
comment on column sync.entity_mappings.entity is E'The entity.';
comment on column sync.entity_mappings.base_id is E'Airtable base id (app...).';
comment on column sync.entity_mappings.table_id is E'Airtable table id (tbl...).';
comment on column sync.entity_mappings.table_name is E'The table''s current name in Airtable, for messages.';
comment on column sync.entity_mappings.field_ids is E'Column name -> Airtable field id.';
comment on column sync.entity_mappings.field_names is E'Column name -> the field''s current name in Airtable, for messages and quarantine entries.';
comment on column sync.entity_mappings.attachment_field_ids is E'app.attachments field_name -> Airtable field id, for attachment fields.';
comment on column sync.entity_mappings.last_modified_field_id is E'The table''s Last Modified field, used for incremental runs.';
comment on column sync.entity_mappings.updated_at is E'When the runner last wrote the mapping.';

/*
 * Worker processes, so that a worker killed mid-job does not leave its
 * graphile-worker job and queue locked for hours: a starting worker frees
 * the locks of workers that are provably gone (same host, process gone; or
 * no heartbeat for ten minutes). Operational state, refreshed every minute,
 * so it is not audited (the runs and checkpoints it protects are).
 */
create table sync.worker_processes (
  worker_id text primary key,
  hostname text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  constraint worker_processes_pid_positive check (pid > 0)
);
comment on table sync.worker_processes is E'Live graphile-worker workers of `airlift worker` processes, with a heartbeat; used to release the job and queue locks of crashed workers.';
comment on column sync.worker_processes.worker_id is E'graphile-worker''s worker id (locked_by in its jobs and queues).';
comment on column sync.worker_processes.hostname is E'Host the process runs on.';
comment on column sync.worker_processes.pid is E'Operating system process id on that host.';
comment on column sync.worker_processes.started_at is E'When the worker started.';
comment on column sync.worker_processes.heartbeat_at is E'Last sign of life; refreshed every minute.';

/*
 * Staged pages are numbered, so that a table can be merged in batches while
 * its listing goes on: each merge takes the pages after the last one merged.
 */
create sequence staging.page_seq;
comment on sequence staging.page_seq is E'Numbers staged pages in the order they were written; a staging row carries the number of the page that last wrote it.';
alter table staging.airtable_records add column page_seq bigint;
comment on column staging.airtable_records.page_seq is E'staging.page_seq of the page that last wrote the row: the merge of a run takes pages after the last one it merged.';
create index airtable_records_page_idx on staging.airtable_records (table_id, page_seq);
comment on index staging.airtable_records_page_idx is E'Finds the pages of a table staged after a given page, for merges in batches.';

/* Why: a change of mapping changes what every later run does; it is audited like the other control tables. */
select audit.enable_for('sync.entity_mappings', 'entity');

--! Included cell_functions.sql
/*
 * Airtable cell conversion, set-based and exception-free.
 *
 * Lists are checked with jsonpath predicates rather than sub-SELECTs over
 * jsonb_array_elements: PostgreSQL inlines a SQL function only when its body
 * has no sub-SELECT, and inlining is what keeps a merge of 100k records at
 * microseconds per cell instead of a function call each. Re-creatable;
 * included by migrations with `--!include cell_functions.sql`.
 *
 * A cell arrives as the JSON value Airtable returned (absent cells are
 * null). sync.cell_problem() says, in words, why a cell cannot become the
 * column it is mapped to (or null when it can); the sync.cell_*() converters
 * return null for such cells instead of raising, so that one bad record
 * never aborts a merge of thousands: it is quarantined with the reason.
 *
 * Plain SQL without SET clauses, and STABLE rather than IMMUTABLE (format()
 * and the date casts they use are stable): PostgreSQL inlines such functions
 * into the merge statements, and refuses to inline an IMMUTABLE function
 * that calls anything less than immutable.
 */

create or replace function sync.is_iso_date(value text) returns boolean
language sql stable parallel safe
as $$
  select case
    when value ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' and substr(value, 1, 4) <> '0000' then
      substr(value, 9, 2)::int <= case substr(value, 6, 2)::int
        when 2 then case when (substr(value, 1, 4)::int % 4 = 0 and substr(value, 1, 4)::int % 100 <> 0)
                              or substr(value, 1, 4)::int % 400 = 0 then 29 else 28 end
        when 4 then 30 when 6 then 30 when 9 then 30 when 11 then 30
        else 31 end
    else false
  end
$$;
comment on function sync.is_iso_date(text) is E'True when a text is a real calendar date in ISO form (YYYY-MM-DD), checked without casting so that a bad date never raises.';

create or replace function sync.is_iso_timestamp(value text) returns boolean
language sql stable parallel safe
as $$
  select case
    -- offsets up to ±15:59, the most PostgreSQL accepts
    when value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)$'
      then sync.is_iso_date(substr(value, 1, 10))
    else false
  end
$$;
comment on function sync.is_iso_timestamp(text) is E'True when a text is an ISO 8601 timestamp with a time zone (Airtable sends 2026-11-20T10:00:00.000Z), checked without casting.';

create or replace function sync.cell_problem(cell jsonb, conversion text) returns text
language sql stable parallel safe
as $$
  select case
    when cell is null or jsonb_typeof(cell) = 'null' then null
    when conversion in ('text', 'select') then
      case when jsonb_typeof(cell) = 'string' then null
           else format('expected text, got %s', cell) end
    when conversion = 'date' then
      case when jsonb_typeof(cell) <> 'string' then format('expected a date, got %s', cell)
           when not sync.is_iso_date(cell #>> '{}') then format('not a valid date: %s', cell) end
    when conversion = 'timestamp' then
      case when jsonb_typeof(cell) <> 'string' then format('expected a timestamp, got %s', cell)
           when not sync.is_iso_timestamp(cell #>> '{}') then format('not a valid timestamp: %s', cell) end
    when conversion = 'money' then
      case when jsonb_typeof(cell) <> 'number' then format('expected a number, got %s', cell)
           when abs(round((cell #>> '{}')::numeric, 2)) >= 10000000000 then format('%s is too large for money (at most 9,999,999,999.99)', cell) end
    when conversion = 'integer' then
      case when jsonb_typeof(cell) <> 'number' then format('expected a whole number, got %s', cell)
           when (cell #>> '{}')::numeric <> trunc((cell #>> '{}')::numeric) then format('expected a whole number, got %s', cell)
           when abs((cell #>> '{}')::numeric) > 32767 then format('%s is out of range for a small integer', cell) end
    when conversion = 'checkbox' then
      case when jsonb_typeof(cell) <> 'boolean' then format('expected a checkbox (true), got %s', cell) end
    when conversion = 'multi_select' then
      case when jsonb_typeof(cell) <> 'array' then format('expected a list of options, got %s', cell)
           when jsonb_path_exists(cell, 'strict $[*] ? (@.type() != "string")') then format('expected a list of option names, got %s', cell) end
    when conversion = 'lookup_text' then
      case when jsonb_typeof(cell) = 'string' then null
           when jsonb_typeof(cell) <> 'array' then format('expected a lookup value, got %s', cell)
           when jsonb_path_exists(cell, 'strict $[*] ? (@.type() != "string" && @.type() != "number")') then format('expected text lookup values, got %s', cell) end
    when conversion = 'collaborator' then
      case when jsonb_typeof(cell) <> 'object' or coalesce(cell ->> 'id', '') !~ '^usr[A-Za-z0-9]{14}$' then format('expected a collaborator {id, email, name}, got %s', cell) end
    when conversion = 'link' then
      case when jsonb_typeof(cell) <> 'array' then format('expected a list of linked record ids, got %s', cell)
           when jsonb_path_exists(cell, 'strict $[*] ? (@.type() != "string" || !(@ like_regex "^rec[A-Za-z0-9]{14}$"))')
             then format('expected linked record ids, got %s', cell) end
    when conversion = 'attachments' then
      case when jsonb_typeof(cell) <> 'array' then format('expected a list of attachments, got %s', cell)
           when jsonb_path_exists(cell, 'lax $[*] ? (@.type() != "object"
                                      || !exists(@.id) || !(@.id like_regex "^att[A-Za-z0-9]{14}$")
                                      || !exists(@.filename) || @.filename.type() != "string" || @.filename like_regex "^\\s*$"
                                      || (exists(@.size) && (@.size.type() != "number" || @.size < 0 || @.size.floor() != @.size
                                                             || @.size > 9223372036854775807)))')
             then format('expected attachments {id, filename, size, type}, got %s', cell) end
    else format('unknown conversion %s', conversion)
  end
$$;
comment on function sync.cell_problem(jsonb, text) is E'Why an Airtable cell cannot be converted as the mapping says (text, select, date, timestamp, money, integer, checkbox, multi_select, lookup_text, collaborator, link, attachments), in words that name the value; null when it can, or when the cell is empty.';

create or replace function sync.cell_text(cell jsonb) returns text
language sql stable parallel safe
as $$ select case when jsonb_typeof(cell) = 'string' then cell #>> '{}' end $$;
comment on function sync.cell_text(jsonb) is E'A text or select cell as text, exactly as entered; null when empty or not text.';

create or replace function sync.cell_date(cell jsonb) returns date
language sql stable parallel safe
as $$ select case when jsonb_typeof(cell) = 'string' and sync.is_iso_date(cell #>> '{}') then (cell #>> '{}')::date end $$;
comment on function sync.cell_date(jsonb) is E'A date cell as date; null when empty or not a valid date.';

create or replace function sync.cell_timestamp(cell jsonb) returns timestamptz
language sql stable parallel safe
as $$ select case when jsonb_typeof(cell) = 'string' and sync.is_iso_timestamp(cell #>> '{}') then (cell #>> '{}')::timestamptz end $$;
comment on function sync.cell_timestamp(jsonb) is E'A date-time cell as timestamptz; null when empty or not a valid ISO timestamp.';

create or replace function sync.cell_money(cell jsonb) returns numeric(12,2)
language sql stable parallel safe
as $$ select case when sync.cell_problem(cell, 'money') is null and jsonb_typeof(cell) = 'number' then round((cell #>> '{}')::numeric, 2) end $$;
comment on function sync.cell_money(jsonb) is E'A currency or number cell as numeric(12,2), rounded to cents; null when empty, not a number or too large.';

create or replace function sync.cell_integer(cell jsonb) returns smallint
language sql stable parallel safe
as $$
  -- The type test comes first and the value is clamped before the cast: once
  -- inlined, a constant argument is folded by the planner, and the cast must
  -- not raise there either.
  select case when jsonb_typeof(cell) = 'number' then
    case when sync.cell_problem(cell, 'integer') is null then greatest(least((cell #>> '{}')::numeric, 32767), -32768)::smallint end
  end
$$;
comment on function sync.cell_integer(jsonb) is E'A whole-number or rating cell as smallint; null when empty, fractional or out of range.';

create or replace function sync.cell_checkbox(cell jsonb) returns boolean
language sql stable parallel safe
as $$ select coalesce(case when jsonb_typeof(cell) = 'boolean' then (cell #>> '{}')::boolean end, false) $$;
comment on function sync.cell_checkbox(jsonb) is E'A checkbox cell as boolean: Airtable leaves unchecked boxes out, so an absent cell is false.';

create or replace function sync.cell_text_array(cell jsonb) returns text[]
language sql stable parallel safe
as $$
  select case when sync.cell_problem(cell, 'multi_select') is null and jsonb_typeof(cell) = 'array'
              then array(select e from jsonb_array_elements_text(cell) with ordinality as x(e, n) order by n)
              else '{}'::text[] end
$$;
comment on function sync.cell_text_array(jsonb) is E'A multiple-select cell as text[], in Airtable''s order; empty when absent.';

create or replace function sync.cell_lookup_text(cell jsonb) returns text
language sql stable parallel safe
as $$
  select case when jsonb_typeof(cell) = 'string' then cell #>> '{}'
              when jsonb_typeof(cell) = 'array' and sync.cell_problem(cell, 'lookup_text') is null then cell ->> 0 end
$$;
comment on function sync.cell_lookup_text(jsonb) is E'A lookup cell (a list of values from linked records) as its first value, as text.';

create or replace function sync.cell_first_link(cell jsonb) returns text
language sql stable parallel safe
as $$ select case when sync.cell_problem(cell, 'link') is null and jsonb_typeof(cell) = 'array' then cell ->> 0 end $$;
comment on function sync.cell_first_link(jsonb) is E'The first record id of a link cell. Airtable allows several even where the field prefers one; the first is the link, the rest is reported by validation.';
--! EndIncluded cell_functions.sql

--! Included sync_functions.sql
/*
 * The one-way sync in SQL: staging a page, merging an entity, sweeping
 * deletes, closing a run. Re-creatable; included by migrations with
 * `--!include sync_functions.sql` after the tables they use.
 *
 * Every function here is set-based: one statement per step over all the
 * records of a page or of a run, never a loop over records.
 */

create type sync.merge_result as (
  entity text,
  fetched bigint,
  inserted bigint,
  updated bigint,
  unchanged bigint,
  quarantined bigint,
  retried bigint,
  retried_merged bigint
);
comment on type sync.merge_result is E'What one merge did: for the records fetched in the run, how many were inserted, updated, unchanged or quarantined; and how many earlier-quarantined records were retried and merged.';

create function sync.stage_page(
  p_run_id bigint, p_entity text, p_records jsonb, p_rejects jsonb, p_full boolean, p_next_offset text,
  p_high_water_mark timestamptz default null
) returns table (written integer, already_in_run integer, untouched integer, rejected integer)
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  page_size integer := jsonb_array_length(p_records);
  last_id text := p_records -> -1 ->> 'id';
  page_number bigint := nextval('staging.page_seq');
begin
  select * into strict mapping from sync.entity_mappings where entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);

  -- One statement: what staging held before (snapshot), then the upsert.
  -- A row is rewritten only when its content changed, when a full run marks
  -- it as seen, or when it is in quarantine (so that it is merged again);
  -- an incremental run over unchanged records writes nothing.
  with page as (
    select r.id, r.created_time, r.fields, r.hash
    from jsonb_to_recordset(p_records) as r (id text, created_time timestamptz, fields jsonb, hash text)
  ), previously as (
    select p.id, s.run_id as previous_run
    from page p
    left join staging.airtable_records s on s.table_id = mapping.table_id and s.airtable_id = p.id
  ), upserted as (
    insert into staging.airtable_records as s (base_id, table_id, airtable_id, fields, created_time, content_hash, run_id, fetched_at, page_seq)
    select mapping.base_id, mapping.table_id, p.id, p.fields, p.created_time, p.hash, p_run_id, now(), page_number
    from page p
    on conflict (table_id, airtable_id) do update
      set base_id = excluded.base_id, fields = excluded.fields, created_time = excluded.created_time,
          content_hash = excluded.content_hash, run_id = excluded.run_id, fetched_at = excluded.fetched_at,
          page_seq = excluded.page_seq
      where s.content_hash <> excluded.content_hash
         or (p_full and s.run_id is distinct from excluded.run_id)
         or exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = s.table_id and e.airtable_id = s.airtable_id)
    returning s.airtable_id
  )
  select (select count(*) from upserted)::int,
         (select count(*) from previously p where p.previous_run = p_run_id and p.id not in (select airtable_id from upserted))::int
    into written, already_in_run;
  untouched := page_size - written - already_in_run;
  rejected := coalesce(jsonb_array_length(p_rejects), 0);

  -- Records the runner could not stage at all (bad envelope, text
  -- PostgreSQL cannot store) are quarantined with the reason, once.
  insert into sync.record_errors (run_id, source_table, airtable_id, field, value, reason)
  select p_run_id, mapping.table_id, r.airtable_id, r.field, r.value, r.reason
  from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (airtable_id text, field text, value jsonb, reason text)
  where not exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = mapping.table_id and e.airtable_id = r.airtable_id
                      and e.field is not distinct from r.field and e.reason = r.reason);

  -- The checkpoint moves in the same transaction as the page it records.
  update sync.checkpoints c
  set records_processed = c.records_processed + page_size + rejected,
      last_processed_id = coalesce(last_id, c.last_processed_id),
      metadata = c.metadata || jsonb_build_object(
        'offset', p_next_offset,
        -- the last page moves the table on to its merge
        'phase', case when p_next_offset is null then 'listed' else 'listing' end,
        'last_page_seq', page_number,
        'pages', coalesce((c.metadata ->> 'pages')::int, 0) + 1,
        'untouched', coalesce((c.metadata ->> 'untouched')::int, 0) + untouched,
        'rejected', coalesce((c.metadata ->> 'rejected')::int, 0) + rejected,
        'high_water_mark', greatest(
          coalesce(p_high_water_mark,
                   (select max(sync.cell_timestamp(r.fields -> mapping.last_modified_field_id)) from jsonb_to_recordset(p_records) as r (fields jsonb))),
          (c.metadata ->> 'high_water_mark')::timestamptz))
  where c.run_id = p_run_id and c.operation_type = 'sync_operation' and c.entity_type = p_entity;
  if not found then
    raise exception 'no checkpoint for run % entity %: start the table before staging pages', p_run_id, p_entity
      using errcode = 'no_data_found';
  end if;
  return next;
end;
$$;
comment on function sync.stage_page(bigint, text, jsonb, jsonb, boolean, text, timestamptz) is E'Writes one page of Airtable records (a JSON array of {id, created_time, fields, hash}) to staging, numbered with the next staging.page_seq, and moves the table''s checkpoint, in one call: one round trip per page. The last page (no next offset) marks the table listed. The page''s latest Last Modified time moves the table''s high-water mark (the caller may pass it, saving a second parse of the page). Returns how many rows were written, were already staged by this run, were left untouched (unchanged), and were rejected by the runner (quarantined).';

create function sync.restart_listing(p_run_id bigint, p_entity text) returns void
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  update sync.checkpoints c
  set records_processed = 0,
      last_processed_id = null,
      metadata = c.metadata || jsonb_build_object(
        'offset', null, 'pages', 0, 'untouched', 0, 'rejected', 0,
        'listing_attempt', coalesce((c.metadata ->> 'listing_attempt')::int, 1) + 1)
  where c.run_id = p_run_id and c.operation_type = 'sync_operation' and c.entity_type = p_entity
$$;
comment on function sync.restart_listing(bigint, text) is E'Starts a table''s listing again after Airtable expired its iterator: counters reset, records already staged by the run stay staged (re-fetching them writes nothing new), so nothing is counted twice.';

create function sync.analyze_if_stale(p_table regclass) returns boolean
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  stale boolean;
begin
  -- A table filled or rewritten in this session has no fresh statistics
  -- until autovacuum gets to it; the planner then takes a 50,000-row table
  -- for an empty one and joins it row by row. Analyze when more than a
  -- tenth of the rows changed since the last analysis.
  select coalesce(st.n_mod_since_analyze > greatest(500, 0.1 * greatest(c.reltuples, 0)), true)
    into stale
  from pg_class c left join pg_stat_user_tables st on st.relid = c.oid
  where c.oid = p_table;
  if stale then
    execute format('analyze %s', p_table);
  end if;
  return stale;
end;
$$;
comment on function sync.analyze_if_stale(regclass) is E'Analyzes a table whose statistics are stale (more than 10% of its rows changed since the last analysis), so that merges and sweeps right after a bulk load get good plans. Security definer: only the owner may analyze.';

create function sync.merge_entity(p_run_id bigint, p_entity text, p_final boolean default true) returns sync.merge_result
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
-- Hash joins and sorts over a run's records in memory, not on disk.
set work_mem = '128MB'
as $fn$
declare
  mapping sync.entity_mappings;
  entity sync.entities;
  converted text;
  resolved text;
  joins text;
  attachment_columns text;
  problems text;
  columns text;
  assignments text;
  compared_old text;
  compared_new text;
  attachment_cells text;
  attachment_problems text;
  upsert text;
  result sync.merge_result;
  candidate_count bigint;
  chunk_start bigint;
  chunk_size constant integer := 500;
  failed_row record;
  attachment record;
  merged_through bigint;
  merge_upto bigint;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity
      using errcode = 'undefined_object', hint = 'The runner writes sync.entity_mappings from its mapping file before a run.';
  end if;
  select * into strict entity from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);

  -- The pages this call merges: those staged by the run after the ones
  -- earlier batches merged, up to the last page the checkpoint records
  -- (written in the same transaction as that page, so all of it is there).
  select coalesce((cp.metadata ->> 'merged_through')::bigint, 0), coalesce((cp.metadata ->> 'last_page_seq')::bigint, 0)
    into merged_through, merge_upto
  from sync.checkpoints cp
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;
  if not found then
    raise exception 'no checkpoint for run % entity %: start the table before merging it', p_run_id, p_entity
      using errcode = 'no_data_found';
  end if;

  perform sync.analyze_if_stale('staging.airtable_records');
  perform sync.analyze_if_stale(entity.target_table);

  -- Collaborators named in this run's records, upserted first so that the
  -- merge can resolve them to ids.
  insert into app.collaborators as c (airtable_user_id, email, name)
  select distinct on (cell ->> 'id') cell ->> 'id', cell ->> 'email', cell ->> 'name'
  from staging.airtable_records s
  cross join lateral (
    select s.fields -> (mapping.field_ids ->> ec.column_name) as cell
    from sync.entity_columns ec
    where ec.entity = p_entity and ec.conversion = 'collaborator' and mapping.field_ids ? ec.column_name
  ) cells
  where s.table_id = mapping.table_id and s.run_id = p_run_id and s.page_seq > merged_through and s.page_seq <= merge_upto
    and cell is not null and sync.cell_problem(cell, 'collaborator') is null
  order by cell ->> 'id'
  on conflict (airtable_user_id) do update set email = excluded.email, name = excluded.name
  where row(c.email, c.name) is distinct from row(excluded.email, excluded.name);

  -- The statement pieces, from the catalogue and the mapping's field ids.
  -- An inner query converts each cell once (and keeps the raw cell); the
  -- outer query resolves links and collaborators with joins, and asks
  -- sync.cell_problem why only where a non-empty cell did not convert.
  select string_agg(concat_ws(', ',
           format('%s as %I', cell, 'raw__' || ec.column_name),
           case ec.conversion
             when 'text' then format('sync.cell_text(%s) as %I', cell, ec.column_name)
             when 'select' then format('sync.cell_text(%s) as %I', cell, ec.column_name)
             when 'date' then format('sync.cell_date(%s) as %I', cell, ec.column_name)
             when 'timestamp' then format('sync.cell_timestamp(%s) as %I', cell, ec.column_name)
             when 'money' then format('sync.cell_money(%s) as %I', cell, ec.column_name)
             when 'integer' then format('sync.cell_integer(%s) as %I', cell, ec.column_name)
             when 'checkbox' then format('sync.cell_checkbox(%s) as %I', cell, ec.column_name)
             when 'multi_select' then format('sync.cell_text_array(%s) as %I', cell, ec.column_name)
             when 'lookup_text' then format('sync.cell_lookup_text(%s) as %I', cell, ec.column_name)
             when 'collaborator' then format('%s ->> %L as %I', cell, 'id', 'key__' || ec.column_name)
             when 'link' then format('sync.cell_first_link(%s) as %I', cell, 'key__' || ec.column_name)
           end), ', ' order by ec.column_name),
         string_agg(case when ec.conversion in ('link', 'collaborator')
                         then format('%I.id as %I', 'ref__' || ec.column_name, ec.column_name)
                         else format('c0.%I', ec.column_name) end, ', ' order by ec.column_name),
         string_agg(case ec.conversion
                      when 'link' then format(' left join %1$s %2$I on %2$I.airtable_id = c0.%3$I and %2$I.deleted_at is null',
                                              linked.target_table, 'ref__' || ec.column_name, 'key__' || ec.column_name)
                      when 'collaborator' then format(' left join app.collaborators %1$I on %1$I.airtable_user_id = c0.%2$I',
                                                      'ref__' || ec.column_name, 'key__' || ec.column_name)
                    end, '' order by ec.column_name),
         string_agg(format('%I', ec.column_name), ', ' order by ec.column_name),
         string_agg(format('%1$I = excluded.%1$I', ec.column_name), ', ' order by ec.column_name),
         string_agg(format('t.%I', ec.column_name), ', ' order by ec.column_name),
         string_agg(format('excluded.%I', ec.column_name), ', ' order by ec.column_name),
         string_agg(concat_ws(', ',
           -- the cell cannot be converted: converters that signal it with null
           -- are asked why only then; the others are asked always (cheap)
           case when ec.conversion in ('checkbox', 'multi_select', 'collaborator')
             then format('case when sync.cell_problem(c0.%1$I, %2$L) is not null then jsonb_build_object(''field'', %3$L, ''value'', c0.%1$I, ''reason'', sync.cell_problem(c0.%1$I, %2$L)) end',
                         'raw__' || ec.column_name, ec.conversion, field_name)
             else format('case when c0.%1$I is not null and jsonb_typeof(c0.%1$I) <> ''null'' and c0.%4$I is null and sync.cell_problem(c0.%1$I, %2$L) is not null then jsonb_build_object(''field'', %3$L, ''value'', c0.%1$I, ''reason'', sync.cell_problem(c0.%1$I, %2$L)) end',
                         'raw__' || ec.column_name, ec.conversion, field_name,
                         case when ec.conversion = 'link' then 'key__' || ec.column_name else ec.column_name end)
           end,
           -- a required value is missing (an unconvertible one is reported above)
           case when ec.required then
             format('case when coalesce(btrim(c0.%1$I::text), '''') = '''' and (c0.%2$I is null or jsonb_typeof(c0.%2$I) in (''null'', ''string'')) then jsonb_build_object(''field'', %3$L, ''value'', c0.%2$I, ''reason'', %4$L) end',
                    ec.column_name, 'raw__' || ec.column_name, field_name, format('%s is required but empty', field_name)) end,
           -- a value outside the range a CHECK constraint allows
           case when ec.min_value is not null or ec.max_value is not null then
             format('case when c0.%1$I not between %2$s and %3$s then jsonb_build_object(''field'', %4$L, ''value'', c0.%5$I, ''reason'', %6$L) end',
                    ec.column_name, coalesce(ec.min_value, '-1e100'), coalesce(ec.max_value, '1e100'), field_name, 'raw__' || ec.column_name,
                    format('%s must be between %s and %s', field_name, ec.min_value, ec.max_value)) end,
           -- a link to a record that is missing, deleted or itself quarantined
           case when ec.conversion = 'link' then
             format('case when c0.%1$I is not null and %2$I.id is null then jsonb_build_object(''field'', %3$L, ''value'', c0.%4$I, ''reason'', format(%5$L, c0.%1$I, '
                    || 'case when exists (select from %6$s d where d.airtable_id = c0.%1$I) then ''was deleted'' '
                    || 'when exists (select from sync.record_errors e where e.resolved_at is null and e.airtable_id = c0.%1$I) then ''is in quarantine'' '
                    || 'else ''does not exist'' end)) end',
                    'key__' || ec.column_name, 'ref__' || ec.column_name, field_name, 'raw__' || ec.column_name,
                    field_name || ' links to %s, which %s in ' || linked.entity, linked.target_table) end
         ), ', ')
    into converted, resolved, joins, columns, assignments, compared_old, compared_new, problems
  from sync.entity_columns ec
  left join sync.entities linked on linked.entity = ec.linked_entity
  cross join lateral (select format('s.fields -> %L', mapping.field_ids ->> ec.column_name) as cell,
                             coalesce(mapping.field_names ->> ec.column_name, ec.column_name) as field_name) piece
  where ec.entity = p_entity and mapping.field_ids ? ec.column_name;

  if converted is null then
    raise exception 'the mapping for % maps no column', p_entity using errcode = 'undefined_object';
  end if;

  select coalesce(string_agg(format('s.fields -> %L as %I', a.value, 'attachments__' || a.key), ', '), 'null::jsonb as no_attachments'),
         coalesce(string_agg(format('c0.%I', 'attachments__' || a.key), ', '), 'c0.no_attachments'),
         string_agg(format('case when sync.cell_problem(c0.%1$I, ''attachments'') is not null then jsonb_build_object(''field'', %2$L, ''value'', c0.%1$I, ''reason'', sync.cell_problem(c0.%1$I, ''attachments'')) end',
                           'attachments__' || a.key, a.key), ', ')
    into attachment_cells, attachment_columns, attachment_problems
  from jsonb_each_text(mapping.attachment_field_ids) a;
  problems := concat_ws(', ', problems, attachment_problems);

  -- Candidates: the records of the pages this call merges, and, in the
  -- final call, records quarantined by earlier runs (retried: a link may
  -- resolve now). Converted once, with every
  -- problem that would stop them, in one statement.
  if to_regclass('pg_temp.merge_candidates') is not null then drop table pg_temp.merge_candidates; end if;
  execute format($sql$
    create temp table merge_candidates on commit drop as
    select row_number() over () as position,
           c0.airtable_id,
           c0.fetched_this_run,
           %1$s,
           %2$s,
           -- every problem of the record, nulls dropped (an expression, not a
           -- sub-select per record)
           jsonb_path_query_array(jsonb_build_array(
             case when c0.airtable_id !~ '^rec[A-Za-z0-9]{14}$' then jsonb_build_object('field', null, 'value', to_jsonb(c0.airtable_id), 'reason', 'not an Airtable record id') end,
             %3$s), '$[*] ? (@ != null)') as problems
    from (
      select s.airtable_id, s.run_id = $1 as fetched_this_run, %4$s, %5$s
      from staging.airtable_records s
      where s.table_id = $2
        and ((s.run_id = $1 and s.page_seq > $3 and s.page_seq <= $4)
             or ($5 and s.run_id is distinct from $1
                 and exists (select from sync.record_errors e
                             where e.resolved_at is null and e.source_table = s.table_id and e.airtable_id = s.airtable_id)))
      offset 0 -- a fence: each cell is converted once, not again for every use above
    ) c0 %6$s
  $sql$, resolved, attachment_columns, problems, converted, attachment_cells, coalesce(joins, ''))
  using p_run_id, mapping.table_id, merged_through, merge_upto, p_final;
  analyze pg_temp.merge_candidates;

  -- Quarantine each new problem (an open entry for the same record, field
  -- and reason is not repeated), and close the entries that no longer apply.
  insert into sync.record_errors (run_id, source_table, airtable_id, field, value, reason)
  select p_run_id, mapping.table_id, c.airtable_id, p ->> 'field', p -> 'value', p ->> 'reason'
  from merge_candidates c
  cross join lateral jsonb_array_elements(c.problems) as p
  where not exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = mapping.table_id and e.airtable_id = c.airtable_id
                      and e.field is not distinct from p ->> 'field' and e.reason = p ->> 'reason');

  update sync.record_errors e
  set resolved_at = now(), resolved_by_run_id = p_run_id
  from merge_candidates c
  where e.resolved_at is null and e.source_table = mapping.table_id and e.airtable_id = c.airtable_id
    and not exists (select from jsonb_array_elements(c.problems) as p
                    where e.field is not distinct from p ->> 'field' and e.reason = p ->> 'reason');

  -- Upsert the clean candidates, writing only rows that differ (a record
  -- that reappears is restored: deleted_at goes back to null).
  if to_regclass('pg_temp.merge_written') is not null then drop table pg_temp.merge_written; end if;
  create temp table merge_written (airtable_id text primary key, id uuid not null, was_inserted boolean) on commit drop;
  upsert := format($sql$
    with written as (
      insert into %1$s as t (airtable_id, %2$s)
      select airtable_id, %2$s from merge_candidates
      where problems = '[]'::jsonb and position between $1 and $2
      on conflict (airtable_id) do update set %3$s, deleted_at = null
      where row(%4$s, t.deleted_at) is distinct from row(%5$s, null::timestamptz)
      returning t.airtable_id, t.id, (t.xmax = 0) as was_inserted
    )
    insert into merge_written select airtable_id, id, was_inserted from written
  $sql$, entity.target_table, columns, assignments, compared_old, compared_new);

  select count(*) into candidate_count from merge_candidates;
  begin
    execute upsert using 1::bigint, candidate_count;
  exception when others then
    -- A row broke a rule the checks above do not know. Find it without
    -- giving up the rest: chunks, then single rows of a failing chunk. Each
    -- failing row is quarantined with the database's own message.
    chunk_start := 1;
    while chunk_start <= candidate_count loop
      begin
        execute upsert using chunk_start, chunk_start + chunk_size - 1;
      exception when others then
        for failed_row in select position, airtable_id from merge_candidates
                          where position between chunk_start and chunk_start + chunk_size - 1 and problems = '[]'::jsonb
        loop
          begin
            execute upsert using failed_row.position, failed_row.position;
          exception when others then
            update merge_candidates
            set problems = jsonb_build_array(jsonb_build_object('field', null, 'value', null, 'reason', 'rejected by the database: ' || sqlerrm))
            where position = failed_row.position;
            insert into sync.record_errors (run_id, source_table, airtable_id, field, value, reason)
            select p_run_id, mapping.table_id, failed_row.airtable_id, null, null, 'rejected by the database: ' || sqlerrm
            where not exists (select from sync.record_errors e
                              where e.resolved_at is null and e.source_table = mapping.table_id
                                and e.airtable_id = failed_row.airtable_id and e.reason = 'rejected by the database: ' || sqlerrm);
          end;
        end loop;
      end;
      chunk_start := chunk_start + chunk_size;
    end loop;
  end;

  -- The id map: one entry per record, written once.
  insert into sync.id_map (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table)
  select p_entity, w.airtable_id, w.id, p_run_id, mapping.table_id, entity.target_table::text
  from merge_written w
  where w.was_inserted
  on conflict do nothing;

  -- Attachments of the clean candidates: one row per file, soft-deleted when
  -- gone from the cell. The download URL changes on every read, so it is
  -- kept only when the file itself is new or changed.
  for attachment in select key as field_name, value as field_id from jsonb_each_text(mapping.attachment_field_ids) loop
    execute format($sql$
      insert into app.attachments as a (airtable_attachment_id, %1$I, field_name, position, filename, size_bytes, mime_type, url, url_fetched_at)
      select distinct on (t.id, file ->> 'id')
             file ->> 'id', t.id, $1, (n - 1)::smallint, file ->> 'filename', (file ->> 'size')::bigint, file ->> 'type', file ->> 'url', now()
      from merge_candidates c
      join %2$s t on t.airtable_id = c.airtable_id
      cross join lateral jsonb_array_elements(coalesce(c.%3$I, '[]'::jsonb)) with ordinality as cell (file, n)
      where c.problems = '[]'::jsonb
      order by t.id, file ->> 'id', n
      on conflict (%1$I, field_name, airtable_attachment_id) where %1$I is not null do update
        set position = excluded.position, filename = excluded.filename, size_bytes = excluded.size_bytes,
            mime_type = excluded.mime_type, deleted_at = null,
            url = case when row(a.filename, a.size_bytes, a.mime_type, a.deleted_at) is distinct from row(excluded.filename, excluded.size_bytes, excluded.mime_type, null::timestamptz)
                       then excluded.url else a.url end,
            url_fetched_at = case when row(a.filename, a.size_bytes, a.mime_type, a.deleted_at) is distinct from row(excluded.filename, excluded.size_bytes, excluded.mime_type, null::timestamptz)
                       then excluded.url_fetched_at else a.url_fetched_at end
      where row(a.position, a.filename, a.size_bytes, a.mime_type, a.deleted_at)
            is distinct from row(excluded.position, excluded.filename, excluded.size_bytes, excluded.mime_type, null::timestamptz)
    $sql$, entity.attachment_owner_column, entity.target_table, 'attachments__' || attachment.field_name) using attachment.field_name;

    execute format($sql$
      update app.attachments a set deleted_at = now()
      from merge_candidates c join %2$s t on t.airtable_id = c.airtable_id
      where a.%1$I = t.id and a.field_name = $1 and a.deleted_at is null and c.problems = '[]'::jsonb
        and not exists (select from jsonb_array_elements(coalesce(c.%3$I, '[]'::jsonb)) as file where file ->> 'id' = a.airtable_attachment_id)
    $sql$, entity.attachment_owner_column, entity.target_table, 'attachments__' || attachment.field_name) using attachment.field_name;
  end loop;

  select p_entity,
         count(*) filter (where c.fetched_this_run),
         count(*) filter (where c.fetched_this_run and w.was_inserted),
         count(*) filter (where c.fetched_this_run and not w.was_inserted),
         count(*) filter (where c.fetched_this_run and c.problems = '[]'::jsonb and w.airtable_id is null),
         count(*) filter (where c.fetched_this_run and c.problems <> '[]'::jsonb),
         count(*) filter (where not c.fetched_this_run),
         count(*) filter (where not c.fetched_this_run and c.problems = '[]'::jsonb)
    into result
  from merge_candidates c
  left join merge_written w on w.airtable_id = c.airtable_id;

  -- The checkpoint adds this call's counts to those of earlier batches and
  -- remembers the last page merged; the final call moves the phase on.
  update sync.checkpoints cp
  set metadata = cp.metadata || jsonb_build_object(
        'phase', case when p_final then 'merged' else cp.metadata ->> 'phase' end,
        'merged_through', merge_upto,
        'merge_batches', coalesce((cp.metadata ->> 'merge_batches')::int, 0) + 1,
        'merge', jsonb_build_object('entity', p_entity) || (
          select jsonb_object_agg(counted.key, coalesce((cp.metadata -> 'merge' ->> counted.key)::bigint, 0) + counted.value::bigint)
          from jsonb_each_text(to_jsonb(result) - 'entity') as counted))
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;

  drop table pg_temp.merge_candidates;
  drop table pg_temp.merge_written;
  return result;
end;
$fn$;
comment on function sync.merge_entity(bigint, text, boolean) is E'Merges an entity''s staged records of a run into its app table, set-based, in batches: each call takes the pages staged since the previous call (so merging can run while the listing goes on), and the final call (p_final) also retries records quarantined by earlier runs and marks the table merged. It converts every mapped cell, quarantines records with problems (bad value, missing required value, out of range, dangling link) in sync.record_errors, retries earlier-quarantined records, upserts only rows that changed, restores reappearing records, maps ids and attachments. Security definer: the sync role may merge but not write app tables directly.';

create function sync.merge_clients(p_run_id bigint) returns sync.merge_result
language sql volatile
set search_path = pg_catalog, pg_temp
as $$ select sync.merge_entity(p_run_id, 'clients') $$;
comment on function sync.merge_clients(bigint) is E'Merges the run''s staged Clients records into app.clients (see sync.merge_entity).';

create function sync.merge_state_regulators(p_run_id bigint) returns sync.merge_result
language sql volatile
set search_path = pg_catalog, pg_temp
as $$ select sync.merge_entity(p_run_id, 'state_regulators') $$;
comment on function sync.merge_state_regulators(bigint) is E'Merges the run''s staged State Regulators records into app.state_regulators (see sync.merge_entity).';

create function sync.merge_products(p_run_id bigint) returns sync.merge_result
language sql volatile
set search_path = pg_catalog, pg_temp
as $$ select sync.merge_entity(p_run_id, 'products') $$;
comment on function sync.merge_products(bigint) is E'Merges the run''s staged Products records into app.products, links to clients resolved (see sync.merge_entity).';

create function sync.merge_registrations(p_run_id bigint) returns sync.merge_result
language sql volatile
set search_path = pg_catalog, pg_temp
as $$ select sync.merge_entity(p_run_id, 'registrations') $$;
comment on function sync.merge_registrations(bigint) is E'Merges the run''s staged Registrations records into app.registrations, links to clients, products and regulators resolved (see sync.merge_entity).';

create function sync.sweep_deleted(p_run_id bigint, p_entity text) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  swept bigint;
begin
  select * into strict mapping from sync.entity_mappings m where m.entity = p_entity;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  perform sync.analyze_if_stale('staging.airtable_records');
  perform sync.analyze_if_stale(target);
  -- Only after a complete listing: every record Airtable still has was
  -- staged with this run's id, so a live row without one is gone there.
  -- Rows created here and never pushed (no airtable_id) are not touched.
  execute format($sql$
    update %s t set deleted_at = now()
    where t.deleted_at is null and t.airtable_id is not null
      and not exists (select from staging.airtable_records s
                      where s.table_id = $1 and s.airtable_id = t.airtable_id and s.run_id = $2)
  $sql$, target) using mapping.table_id, p_run_id;
  get diagnostics swept = row_count;
  update sync.checkpoints cp
  set metadata = cp.metadata || jsonb_build_object('phase', 'swept', 'deleted', swept)
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;
  return swept;
end;
$$;
comment on function sync.sweep_deleted(bigint, text) is E'After a full run has listed every record of a table, soft-deletes the app rows whose Airtable record is gone (audited with the run). A record that reappears is restored by the next merge.';

create function sync.refresh_job_statistics(p_job_id uuid) returns void
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  update sync.jobs j
  set last_run_at = s.last_run_at,
      total_records_synced = s.total_records_synced,
      success_rate = s.success_rate,
      average_duration_ms = s.average_duration_ms
  from (
    select max(r.started_at) as last_run_at,
           coalesce(sum(r.inserted + r.updated + r.deleted) filter (where r.status = 'completed'), 0) as total_records_synced,
           round(100.0 * count(*) filter (where r.status = 'completed') / nullif(count(*) filter (where r.status in ('completed', 'failed')), 0), 2) as success_rate,
           (avg(extract(epoch from r.finished_at - r.started_at) * 1000) filter (where r.status = 'completed'))::bigint as average_duration_ms
    from sync.runs r where r.job_id = p_job_id
  ) s
  where j.id = p_job_id
$$;
comment on function sync.refresh_job_statistics(uuid) is E'Recomputes a job''s rolling statistics (last run, records synced, success rate, mean duration) from its runs, in one statement.';

create function sync.finish_run(p_run_id bigint) returns sync.runs
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  run sync.runs;
begin
  -- The run's counts are the sums of its tables' checkpoints: records the
  -- merge saw, plus those staging left untouched (unchanged) and those the
  -- runner rejected (quarantined). fetched = inserted + updated + unchanged
  -- + quarantined holds by construction, and a CHECK makes sure.
  update sync.runs r
  set status = 'completed',
      finished_at = greatest(now(), r.started_at),
      fetched = totals.fetched, inserted = totals.inserted, updated = totals.updated,
      unchanged = totals.unchanged, deleted = totals.deleted, quarantined = totals.quarantined,
      metadata = r.metadata || jsonb_build_object('retried', totals.retried, 'retried_merged', totals.retried_merged)
  from (
    select coalesce(sum((m ->> 'fetched')::bigint + untouched + rejected), 0) as fetched,
           coalesce(sum((m ->> 'inserted')::bigint), 0) as inserted,
           coalesce(sum((m ->> 'updated')::bigint), 0) as updated,
           coalesce(sum((m ->> 'unchanged')::bigint + untouched), 0) as unchanged,
           coalesce(sum(deleted), 0) as deleted,
           coalesce(sum((m ->> 'quarantined')::bigint + rejected), 0) as quarantined,
           coalesce(sum((m ->> 'retried')::bigint), 0) as retried,
           coalesce(sum((m ->> 'retried_merged')::bigint), 0) as retried_merged
    from sync.checkpoints c
    cross join lateral (select coalesce(c.metadata -> 'merge', '{"fetched":0,"inserted":0,"updated":0,"unchanged":0,"quarantined":0,"retried":0,"retried_merged":0}') as m,
                               coalesce((c.metadata ->> 'untouched')::bigint, 0) as untouched,
                               coalesce((c.metadata ->> 'rejected')::bigint, 0) as rejected,
                               coalesce((c.metadata ->> 'deleted')::bigint, 0) as deleted) parts
    where c.run_id = p_run_id and c.operation_type = 'sync_operation'
  ) totals
  where r.id = p_run_id
  returning r.* into run;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  if run.job_id is not null then
    update sync.jobs set status = 'completed' where id = run.job_id and status = 'running';
    update sync.jobs set status = 'scheduled' where id = run.job_id and status = 'completed' and job_type = 'scheduled_sync';
    perform sync.refresh_job_statistics(run.job_id);
  end if;
  return run;
end;
$$;
comment on function sync.finish_run(bigint) is E'Completes a run: sums its tables'' checkpoints into the run''s counts, moves its job on (a recurring job back to scheduled) and refreshes the job''s statistics.';

create function sync.fail_run(p_run_id bigint, p_error text) returns sync.runs
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  run sync.runs;
begin
  update sync.runs r
  set status = 'failed', finished_at = greatest(now(), r.started_at), error_message = p_error
  where r.id = p_run_id and r.status in ('pending', 'running')
  returning r.* into run;
  if not found then
    select * into run from sync.runs where id = p_run_id;
    return run;
  end if;
  update sync.checkpoints c
  set status = 'failed', error_message = p_error
  where c.run_id = p_run_id and c.status = 'in_progress';
  if run.job_id is not null then
    update sync.jobs set status = 'failed' where id = run.job_id and status = 'running';
    perform sync.refresh_job_statistics(run.job_id);
  end if;
  return run;
end;
$$;
comment on function sync.fail_run(bigint, text) is E'Marks a run failed with its error; its checkpoints keep their resume points (offset, last record), so running again resumes it.';
--! EndIncluded sync_functions.sql

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
--! EndIncluded grants.sql
