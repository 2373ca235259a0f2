--! Previous: sha1:9698fec1feee597928d247969bd4f05f978772c5
--! Hash: sha1:c8d6764a61a49da546cec81112f23827bc9260e4
--! Message: integrity: validation rules, target checksums and differentials, safety snapshots

/*
 * Proof of integrity, part two: validation rules checked before merging
 * (blocking rules quarantine, warning rules report), differentials between
 * the latest source snapshot and the target with their resolution, and a
 * pre-migration safety snapshot. The sync and integrity functions are
 * re-created because the merge now applies blocking rules.
 *
 * Idempotent while current: dropped first, in reverse dependency order.
 */
drop trigger if exists _800_target_checksums_insert on app.clients;
drop trigger if exists _800_target_checksums_update on app.clients;
drop trigger if exists _800_target_checksums_delete on app.clients;
drop trigger if exists _800_target_checksums_truncate on app.clients;
drop trigger if exists _800_target_checksums_insert on app.state_regulators;
drop trigger if exists _800_target_checksums_update on app.state_regulators;
drop trigger if exists _800_target_checksums_delete on app.state_regulators;
drop trigger if exists _800_target_checksums_truncate on app.state_regulators;
drop trigger if exists _800_target_checksums_insert on app.products;
drop trigger if exists _800_target_checksums_update on app.products;
drop trigger if exists _800_target_checksums_delete on app.products;
drop trigger if exists _800_target_checksums_truncate on app.products;
drop trigger if exists _800_target_checksums_insert on app.registrations;
drop trigger if exists _800_target_checksums_update on app.registrations;
drop trigger if exists _800_target_checksums_delete on app.registrations;
drop trigger if exists _800_target_checksums_truncate on app.registrations;
drop function if exists sync.resolve_differentials(bigint, text, text);
drop function if exists sync.compute_differentials(bigint, text, text, text);
drop function if exists sync.refresh_target_checksums(text);
drop function if exists sync.tg__maintain_target_checksums();
drop table if exists sync.target_checksums;

drop function if exists sync.validate_entity(bigint, text, boolean);
drop function if exists sync.rule_checks_sql(text, text);
drop function if exists sync.rule_check_sql(sync.validation_rules, text, text);
drop function if exists sync.matches_format(text, text);

drop function if exists sync.rollback_run(bigint, bigint, boolean);
drop function if exists sync.rollback_conflicts(bigint);
drop function if exists sync.verify_entity(bigint, text);
drop function if exists sync.entity_checksums(text);
drop function if exists sync.table_checksum(text[]);
drop function if exists sync.source_canonical(text, text[]);
drop function if exists sync.compare_records(text);
drop function if exists sync.source_snapshot_run(text);
drop function if exists sync.target_canonical_sql(text);
drop function if exists sync.target_canonical_sql(text, text);
drop function if exists sync.checksum(jsonb);
drop function if exists sync.mapped_columns(text);
drop function if exists sync.cell_canonical(jsonb, text);

drop function if exists sync.fail_run(bigint, text);
drop function if exists sync.finish_run(bigint);
drop function if exists sync.refresh_job_statistics(uuid);
drop function if exists sync.sweep_deleted(bigint, text);
drop function if exists sync.merge_registrations(bigint);
drop function if exists sync.merge_products(bigint);
drop function if exists sync.merge_state_regulators(bigint);
drop function if exists sync.merge_clients(bigint);
drop function if exists sync.merge_entity(bigint, text, boolean);
drop function if exists sync.converted_cells_sql(text);
drop function if exists sync.analyze_if_stale(regclass);
drop function if exists sync.restart_listing(bigint, text);
drop function if exists sync.stage_page(bigint, text, jsonb, jsonb, boolean, text, timestamptz);
drop type if exists sync.merge_result;

drop table if exists sync.validation_rules;

/*
 * Validation rules: what a record must satisfy beyond what converts and what
 * the app tables' constraints enforce (formats, allowed values, ranges,
 * field order, single links, duplicates, agreement with a linked record).
 * Rules come from the mapping file (origin mapping, rewritten by the runner
 * before each run) or are defined here in SQL (origin sql, which a DBA may
 * disable or make blocking). A blocking rule quarantines the record in the
 * merge; a warning rule only reports. Nothing is fixed silently.
 */
create table sync.validation_rules (
  rule_id text primary key,
  entity text not null references sync.entities (entity) on delete cascade,
  column_name text not null,
  rule_kind text not null,
  parameters jsonb not null default '{}',
  severity text not null default 'warning',
  validation_type text not null,
  origin text not null,
  description text not null,
  enabled boolean not null default true,
  updated_at timestamptz not null default now(),
  foreign key (entity, column_name) references sync.entity_columns (entity, column_name) on delete cascade,
  constraint validation_rules_id_format check (rule_id ~ '^[a-z_]+\.[a-z_]+\.[a-z_]+$'),
  constraint validation_rules_kind_is_known check (rule_kind in
    ('required', 'format', 'allowed_values', 'range', 'max_decimals', 'trimmed', 'field_order', 'single_link', 'same_as_linked', 'duplicate')),
  constraint validation_rules_severity_is_known check (severity in ('blocking', 'warning')),
  constraint validation_rules_type_is_known check (validation_type in ('data_integrity', 'relationship_integrity')),
  constraint validation_rules_origin_is_known check (origin in ('mapping', 'sql')),
  constraint validation_rules_parameters_is_object check (jsonb_typeof(parameters) = 'object'),
  -- A rule about other records cannot decide which of them to quarantine.
  constraint validation_rules_cross_record_rules_warn check (rule_kind not in ('duplicate', 'same_as_linked') or severity = 'warning'),
  -- Parameters are checked here, so that a bad rule is refused when written, not when a merge runs it.
  constraint validation_rules_format_is_known check (rule_kind <> 'format' or coalesce(parameters ->> 'format' in ('email', 'phone', 'url', 'state_code'), false)),
  constraint validation_rules_allowed_values_listed check (rule_kind <> 'allowed_values' or coalesce(jsonb_typeof(parameters -> 'values') = 'array' and jsonb_array_length(parameters -> 'values') > 0, false)),
  constraint validation_rules_range_has_bound check (rule_kind <> 'range' or parameters ?| array['min', 'max']),
  constraint validation_rules_range_bounds_are_numbers_or_dates check (rule_kind <> 'range' or (
    (not parameters ? 'min' or jsonb_typeof(parameters -> 'min') = 'number' or coalesce(parameters ->> 'min' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', false))
    and (not parameters ? 'max' or jsonb_typeof(parameters -> 'max') = 'number' or coalesce(parameters ->> 'max' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', false)))),
  constraint validation_rules_decimals_is_a_count check (rule_kind <> 'max_decimals' or case when jsonb_typeof(parameters -> 'decimals') = 'number' then (parameters ->> 'decimals')::numeric between 0 and 6 else false end),
  constraint validation_rules_field_order_names_column check (rule_kind <> 'field_order' or parameters ? 'after'),
  constraint validation_rules_same_as_linked_names_link check (rule_kind <> 'same_as_linked' or parameters ?& array['link', 'linked_column'])
);
comment on table sync.validation_rules is E'Validation rules checked on every staged record before it is merged: blocking rules quarantine the record, warning rules are reported in sync.validation_reports. From the mapping file (origin mapping) or defined in SQL (origin sql).';
comment on column sync.validation_rules.rule_id is E'<entity>.<column>.<rule>, named in every finding and quarantine reason.';
comment on column sync.validation_rules.entity is E'The entity whose records the rule checks.';
comment on column sync.validation_rules.column_name is E'The column (mapped field) the rule checks; a rule on a column the mapping does not fill is skipped.';
comment on column sync.validation_rules.rule_kind is E'required, format, allowed_values, range, max_decimals, trimmed, field_order, single_link, same_as_linked or duplicate (see sync.rule_check_sql).';
comment on column sync.validation_rules.parameters is E'The rule''s settings: format name, allowed values, min/max, decimals, the other column of a field order, the link and linked column, the column duplicates are scoped by.';
comment on column sync.validation_rules.severity is E'blocking (the record is quarantined) or warning (reported only). Rules about other records (duplicate, same_as_linked) can only warn.';
comment on column sync.validation_rules.validation_type is E'The report the findings go to: data_integrity or relationship_integrity.';
comment on column sync.validation_rules.origin is E'mapping (rewritten from the mapping file by every run) or sql (defined by a migration or a DBA).';
comment on column sync.validation_rules.description is E'What the rule demands, in words: the reason given for each finding.';
comment on column sync.validation_rules.enabled is E'Whether the rule is checked.';
comment on column sync.validation_rules.updated_at is E'When the rule last changed.';
create trigger _100_set_updated_at before update on sync.validation_rules for each row execute function app.tg__set_updated_at();
/* Who made a rule blocking, or turned it off, is part of the audit trail. */
select audit.enable_for('sync.validation_rules', 'rule_id');

/*
 * The target side of differentials: each synced app row's canonical
 * checksum, rebuilt from the row by a trigger on every write, so that a
 * differential compares stored checksums instead of rebuilding a million
 * canonical forms. Derived data (sync.refresh_target_checksums rebuilds it),
 * so not audited.
 */
create table sync.target_checksums (
  entity text not null references sync.entities (entity) on delete cascade,
  airtable_id text not null,
  row_id uuid not null,
  checksum text not null,
  deleted boolean not null,
  updated_at timestamptz not null default now(),
  primary key (entity, airtable_id),
  constraint target_checksums_checksum_is_sha256 check (checksum ~ '^[0-9a-f]{64}$')
);
comment on table sync.target_checksums is E'The checksum of every synced app row''s canonical form (the same form as the source checksum in staging), kept by triggers on the app tables: the target side of differentials. Derived: sync.refresh_target_checksums rebuilds it.';
comment on column sync.target_checksums.entity is E'The entity of the row.';
comment on column sync.target_checksums.airtable_id is E'The row''s Airtable record id: the key differentials join on.';
comment on column sync.target_checksums.row_id is E'The app row''s id.';
comment on column sync.target_checksums.checksum is E'SHA-256 (hex) of the row''s canonical form, rebuilt from the row.';
comment on column sync.target_checksums.deleted is E'Whether the row is soft-deleted.';
comment on column sync.target_checksums.updated_at is E'When the entry last changed.';
/* Why: the trigger finds a row's entry by row id on delete and when its Airtable id changes. */
create index target_checksums_row_idx on sync.target_checksums (entity, row_id);

/* The cross-field and cross-record rules of the Delta base, defined here rather than per field. */
insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, severity, validation_type, origin, description) values
  ('registrations.approved_date.not_before_submission', 'registrations', 'approved_date', 'field_order', '{"after": "submitted_date", "strict": false}',
   'warning', 'relationship_integrity', 'sql', 'must not be before the submitted date'),
  ('registrations.expiration_date.after_approval', 'registrations', 'expiration_date', 'field_order', '{"after": "approved_date", "strict": true}',
   'warning', 'relationship_integrity', 'sql', 'must be after the approved date'),
  ('registrations.client_id.matches_product_client', 'registrations', 'client_id', 'same_as_linked', '{"link": "product_id", "linked_column": "client_id"}',
   'warning', 'relationship_integrity', 'sql', 'must be the client of the linked product');

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
  with records as (
    select r.id, r.created_time, r.fields, r.hash
    from jsonb_to_recordset(p_records) as r (id text, created_time timestamptz, fields jsonb, hash text)
  ), mapped as (
    select mc.column_name, mc.field_id, mc.conversion from sync.mapped_columns(p_entity) mc
  ), page as (
    -- the record's checksum: SHA-256 of its canonical form (mapped columns,
    -- converted as the merge converts them), for verification later
    select r.id, r.created_time, r.fields, r.hash,
           sync.checksum(jsonb_object_agg(m.column_name, sync.cell_canonical(r.fields -> m.field_id, m.conversion))
                           filter (where m.column_name is not null)) as checksum
    from records r left join mapped m on true
    group by r.id, r.created_time, r.fields, r.hash
  ), previously as (
    select p.id, s.run_id as previous_run
    from page p
    left join staging.airtable_records s on s.table_id = mapping.table_id and s.airtable_id = p.id
  ), upserted as (
    insert into staging.airtable_records as s (base_id, table_id, airtable_id, fields, created_time, content_hash, checksum, run_id, fetched_at, page_seq)
    select mapping.base_id, mapping.table_id, p.id, p.fields, p.created_time, p.hash, p.checksum, p_run_id, now(), page_number
    from page p
    on conflict (table_id, airtable_id) do update
      set base_id = excluded.base_id, fields = excluded.fields, created_time = excluded.created_time,
          content_hash = excluded.content_hash, checksum = excluded.checksum, run_id = excluded.run_id,
          fetched_at = excluded.fetched_at, page_seq = excluded.page_seq
      where s.content_hash <> excluded.content_hash
         or s.checksum is distinct from excluded.checksum
         or (p_full and s.run_id is distinct from excluded.run_id)
         or exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = s.table_id and e.airtable_id = s.airtable_id)
         -- staged by a snapshot (stage-only) run but never merged: the id
         -- map holds the checksum of the version last merged
         or (s.run_id is distinct from excluded.run_id
             and not exists (select from sync.id_map m
                             where m.entity_type = p_entity and m.legacy_id = s.airtable_id and m.checksum = s.checksum))
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

create function sync.converted_cells_sql(p_entity text) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  -- Per mapped column: the raw cell (raw__<column>) and its converted value
  -- (<column>; key__<column> for links and collaborators, which the merge
  -- resolves to ids with joins).
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
           end), ', ' order by ec.column_name)
  from sync.entity_mappings m
  join sync.entity_columns ec on ec.entity = m.entity and m.field_ids ? ec.column_name
  cross join lateral (select format('s.fields -> %L', m.field_ids ->> ec.column_name) as cell) piece
  where m.entity = p_entity
$$;
comment on function sync.converted_cells_sql(text) is E'The select list that converts a staged record (alias s) the way the merge does: for every mapped column the raw cell as raw__<column> and the converted value as <column> (key__<column>, the Airtable id, for links and collaborators). Shared by the merge and the validation rules, so both see the same values.';

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
  select string_agg(case when ec.conversion in ('link', 'collaborator')
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
    into resolved, joins, columns, assignments, compared_old, compared_new, problems
  from sync.entity_columns ec
  left join sync.entities linked on linked.entity = ec.linked_entity
  cross join lateral (select format('s.fields -> %L', mapping.field_ids ->> ec.column_name) as cell,
                             coalesce(mapping.field_names ->> ec.column_name, ec.column_name) as field_name) piece
  where ec.entity = p_entity and mapping.field_ids ? ec.column_name;

  converted := sync.converted_cells_sql(p_entity);
  if converted is null then
    raise exception 'the mapping for % maps no column', p_entity using errcode = 'undefined_object';
  end if;
  -- the mapping's blocking validation rules quarantine like any other problem
  problems := concat_ws(', ', problems, sync.rule_checks_sql(p_entity, 'blocking'));

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
           c0.checksum,
           %1$s,
           %2$s,
           -- every problem of the record, nulls dropped (an expression, not a
           -- sub-select per record)
           jsonb_path_query_array(jsonb_build_array(
             case when c0.airtable_id !~ '^rec[A-Za-z0-9]{14}$' then jsonb_build_object('field', null, 'value', to_jsonb(c0.airtable_id), 'reason', 'not an Airtable record id') end,
             %3$s), '$[*] ? (@ != null)') as problems
    from (
      select s.airtable_id, s.run_id = $1 as fetched_this_run, s.checksum, %4$s, %5$s
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

  -- The id map: one entry per record, with the checksum of the source
  -- version last merged (rewritten only when it changed).
  -- Every clean candidate, written or already equal: the id map is how a
  -- later staging knows the version it holds was merged.
  execute format($sql$
    insert into sync.id_map as m (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum)
    select $1, c.airtable_id, t.id, $2, $3, $4, c.checksum
    from merge_candidates c
    join %s t on t.airtable_id = c.airtable_id
    where c.problems = '[]'::jsonb
    on conflict (entity_type, legacy_id) do update set checksum = excluded.checksum, uuid_id = excluded.uuid_id
    where row(m.checksum, m.uuid_id) is distinct from row(excluded.checksum, excluded.uuid_id)
  $sql$, entity.target_table) using p_entity, p_run_id, mapping.table_id, entity.target_table::text;

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

--! Included integrity_functions.sql
/*
 * Proof of integrity: canonical checksums of records at the source (staging)
 * and in the target (app), verification of one against the other, and the
 * rollback of a run from the audit trail. Re-creatable; included by
 * migrations with `--!include integrity_functions.sql` after the tables and
 * the sync functions they use.
 *
 * The canonical form of a record is a JSON object with one key per mapped
 * column, each value normalized the way the merge converts it (dates as
 * ISO dates, timestamps in UTC without zone, money rounded to cents, links
 * as the linked Airtable record id, collaborators as the Airtable user id).
 * jsonb orders keys itself, so the text of the object is canonical; its
 * SHA-256 is the record's checksum. The same form is built from staging
 * fields and from app rows, so the two sides compare record by record.
 */

create function sync.cell_canonical(cell jsonb, conversion text) returns jsonb
language sql stable parallel safe
as $$
  select case conversion
    when 'text' then to_jsonb(sync.cell_text(cell))
    when 'select' then to_jsonb(sync.cell_text(cell))
    when 'date' then to_jsonb(sync.cell_date(cell))
    when 'timestamp' then to_jsonb(sync.cell_timestamp(cell) at time zone 'UTC')
    when 'money' then to_jsonb(sync.cell_money(cell))
    when 'integer' then to_jsonb(sync.cell_integer(cell))
    when 'checkbox' then to_jsonb(sync.cell_checkbox(cell))
    when 'multi_select' then to_jsonb(sync.cell_text_array(cell))
    when 'lookup_text' then to_jsonb(sync.cell_lookup_text(cell))
    when 'collaborator' then case when jsonb_typeof(cell) = 'object' then to_jsonb(cell ->> 'id') end
    when 'link' then to_jsonb(sync.cell_first_link(cell))
  end
$$;
comment on function sync.cell_canonical(jsonb, text) is E'A cell''s value in canonical form (jsonb), converted exactly as the merge converts it: the building block of source checksums. Inlinable, never raises; a cell that does not convert is null.';

create function sync.mapped_columns(p_entity text)
returns table (column_name text, field_id text, conversion text, linked_table regclass)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select ec.column_name, m.field_ids ->> ec.column_name, ec.conversion, linked.target_table
  from sync.entity_mappings m
  join sync.entity_columns ec on ec.entity = m.entity and m.field_ids ? ec.column_name
  left join sync.entities linked on linked.entity = ec.linked_entity
  where m.entity = p_entity
$$;
comment on function sync.mapped_columns(text) is E'The columns of an entity that its mapping fills, with their Airtable field id, conversion and, for links, the linked app table: what a canonical form is made of.';

create function sync.checksum(p_canonical jsonb) returns text
language sql immutable parallel safe strict
as $$ select encode(sha256(convert_to(p_canonical::text, 'UTF8')), 'hex') $$;
comment on function sync.checksum(jsonb) is E'SHA-256 (hex) of a canonical form''s text: the record checksum stored in staging and in sync.id_map.';

create function sync.target_canonical_sql(p_entity text, p_rows text default null) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  pairs text;
  joins text;
begin
  select e.target_table into target from sync.entities e where e.entity = p_entity;
  if target is null then
    raise exception 'no entity %', p_entity using errcode = 'undefined_object';
  end if;
  select string_agg(format('%L, %s', mc.column_name,
           case mc.conversion
             when 'timestamp' then format('to_jsonb(t.%I at time zone ''UTC'')', mc.column_name)
             when 'link' then format('to_jsonb(%I.airtable_id)', 'ref__' || mc.column_name)
             when 'collaborator' then format('to_jsonb(%I.airtable_user_id)', 'ref__' || mc.column_name)
             else format('to_jsonb(t.%I)', mc.column_name)
           end), ', ' order by mc.column_name),
         string_agg(case mc.conversion
             when 'link' then format(' left join %s %I on %2$I.id = t.%3$I', mc.linked_table, 'ref__' || mc.column_name, mc.column_name)
             when 'collaborator' then format(' left join app.collaborators %I on %1$I.id = t.%2$I', 'ref__' || mc.column_name, mc.column_name)
           end, '' order by mc.column_name)
    into pairs, joins
  from sync.mapped_columns(p_entity) mc;
  if pairs is null then
    raise exception 'the mapping for % maps no column', p_entity using errcode = 'undefined_object';
  end if;
  return format('select t.id, t.airtable_id, t.deleted_at, jsonb_build_object(%s) as canonical from %s t%s where t.airtable_id is not null',
                pairs, coalesce(p_rows, target::text), coalesce(joins, ''));
end;
$$;
comment on function sync.target_canonical_sql(text, text) is E'The statement that rebuilds, set-based, the canonical form of every app row of an entity that has an Airtable id (id, airtable_id, deleted_at, canonical): the target side of verification and differentials. p_rows names another relation of the table''s row type to read instead (a trigger''s transition table).';

create function sync.source_snapshot_run(p_entity text) returns bigint
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select max(c.run_id)
  from sync.checkpoints c join sync.runs r on r.id = c.run_id
  where c.entity_type = p_entity and c.operation_type = 'sync_operation' and c.status = 'completed'
    and r.run_type = 'full' and r.status = 'completed'
$$;
comment on function sync.source_snapshot_run(text) is E'The last completed full run that listed an entity: staging rows seen by it or by a later run make up the latest source snapshot (a row last seen earlier is gone from the source).';

/*
 * Record checksums side by side: one full outer join on the Airtable id over
 * the latest source snapshot (staging, checksums stored at staging time) and
 * the target (app, rebuilt now). Quarantined records are marked, since the
 * target is not expected to hold their source version.
 */
create function sync.compare_records(p_entity text)
returns table (airtable_id text, in_source boolean, in_target boolean, target_deleted boolean, quarantined boolean,
               source_checksum text, target_checksum text, target_canonical jsonb)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  snapshot bigint := sync.source_snapshot_run(p_entity);
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  return query execute format($sql$
    with source as (
      select s.airtable_id, s.checksum from staging.airtable_records s
      where s.table_id = $1 and s.run_id >= $2
    ), target as (%s
    ), quarantine as (
      select distinct e.airtable_id from sync.record_errors e where e.resolved_at is null and e.source_table = $1
    )
    select coalesce(s.airtable_id, t.airtable_id),
           s.airtable_id is not null, t.airtable_id is not null and t.deleted_at is null, t.deleted_at is not null,
           q.airtable_id is not null,
           s.checksum, sync.checksum(t.canonical), t.canonical
    from source s
    full join target t on t.airtable_id = s.airtable_id
    left join quarantine q on q.airtable_id = coalesce(s.airtable_id, t.airtable_id)
  $sql$, sync.target_canonical_sql(p_entity)) using mapping.table_id, coalesce(snapshot, 0);
end;
$$;
comment on function sync.compare_records(text) is E'Every record of an entity in the latest source snapshot and/or the target, with both checksums and whether it is quarantined: the one pass verification and differentials are built on.';

create function sync.source_canonical(p_entity text, p_airtable_ids text[])
returns table (airtable_id text, canonical jsonb)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select s.airtable_id, jsonb_object_agg(mc.column_name, sync.cell_canonical(s.fields -> mc.field_id, mc.conversion))
  from sync.entity_mappings m
  join staging.airtable_records s on s.table_id = m.table_id and s.airtable_id = any (p_airtable_ids)
  cross join sync.mapped_columns(p_entity) mc
  where m.entity = p_entity
  group by s.airtable_id
$$;
comment on function sync.source_canonical(text, text[]) is E'The canonical form of staged records, rebuilt from their fields: to name the fields in which source and target differ.';

create function sync.table_checksum(p_checksums text[]) returns text
language sql immutable parallel safe
as $$
  -- Order-independent: a count and the sums of the four 64-bit slices of
  -- the checksums; the same records in any order give the same text.
  select concat_ws(':', count(c),
                   coalesce(sum(('x' || substr(c, 1, 16))::bit(64)::bigint::numeric), 0),
                   coalesce(sum(('x' || substr(c, 17, 16))::bit(64)::bigint::numeric), 0),
                   coalesce(sum(('x' || substr(c, 33, 16))::bit(64)::bigint::numeric), 0),
                   coalesce(sum(('x' || substr(c, 49, 16))::bit(64)::bigint::numeric), 0))
  from unnest(p_checksums) as c
$$;
comment on function sync.table_checksum(text[]) is E'An order-independent checksum of a set of record checksums (the count and the sums of their four 64-bit slices): compares whole tables in one pass.';

create function sync.entity_checksums(p_entity text)
returns table (source_records bigint, source_checksum text, target_records bigint, target_checksum text)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select count(*) filter (where c.in_source and not c.quarantined),
         sync.table_checksum(array_agg(c.source_checksum) filter (where c.in_source and not c.quarantined)),
         count(*) filter (where c.in_target),
         sync.table_checksum(array_agg(c.target_checksum) filter (where c.in_target))
  from sync.compare_records(p_entity) c
$$;
comment on function sync.entity_checksums(text) is E'Whole-table checksums of an entity: the source snapshot (quarantine left out) and the live target rows; equal when the target holds exactly what the source says.';

/*
 * Verification: completeness, integrity and relationships of one entity,
 * written to sync.validation_reports (one row per check) for run p_run_id.
 */
create function sync.verify_entity(p_run_id bigint, p_entity text) returns setof sync.validation_reports
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '128MB'
as $$
declare
  target regclass;
  started timestamptz := clock_timestamp();
  criteria jsonb;
  relationships jsonb := '[]';
  link record;
  found_links jsonb;
  validated bigint;
begin
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  criteria := jsonb_build_object('source_snapshot_run', sync.source_snapshot_run(p_entity), 'entity', p_entity);

  create temp table verify_records on commit drop as select * from sync.compare_records(p_entity);

  -- Completeness: every record of the source snapshot is in the target
  -- unless quarantined; every live target row is in the source.
  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  select p_run_id, 'completeness_check', p_entity, target::text, count(*),
         count(*) filter (where d.detail is not null) = 0, count(*) filter (where d.detail is not null),
         coalesce(jsonb_agg(d.detail order by v.airtable_id) filter (where d.detail is not null), '[]'),
         criteria || jsonb_build_object(
           'source_records', count(*) filter (where v.in_source),
           'quarantined', count(*) filter (where v.in_source and v.quarantined),
           'target_records', count(*) filter (where v.in_target),
           'quarantined_records', coalesce(jsonb_agg(v.airtable_id order by v.airtable_id) filter (where v.in_source and v.quarantined), '[]'),
           -- the whole-table checksums, from the same pass (as sync.entity_checksums computes them)
           'source_records_verified', count(*) filter (where v.in_source and not v.quarantined),
           'source_table_checksum', sync.table_checksum(array_agg(v.source_checksum) filter (where v.in_source and not v.quarantined)),
           'target_table_checksum', sync.table_checksum(array_agg(v.target_checksum) filter (where v.in_target))),
         (extract(epoch from clock_timestamp() - started) * 1000)::int
  from verify_records v
  cross join lateral (select case
      when v.in_source and not v.quarantined and not v.in_target then
        jsonb_build_object('record', v.airtable_id, 'field', null, 'value', null,
                           'rule', case when v.target_deleted then 'in the source but deleted in the target' else 'in the source but missing from the target' end)
      when v.in_target and not v.in_source then
        jsonb_build_object('record', v.airtable_id, 'field', null, 'value', null, 'rule', 'in the target but not in the source snapshot')
    end as detail) d;

  -- Integrity: records in both whose checksums differ, with the fields.
  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  select p_run_id, 'data_integrity', p_entity, target::text,
         (select count(*) from verify_records v where v.in_source and v.in_target and not v.quarantined),
         count(f.*) = 0, count(f.*),
         coalesce(jsonb_agg(jsonb_build_object('record', f.airtable_id, 'field', f.field, 'value', f.target_value,
                                               'source_value', f.source_value, 'rule', 'target differs from source')
                            order by f.airtable_id, f.field) filter (where f.airtable_id is not null), '[]'),
         criteria || jsonb_build_object('checksum', 'sha256 of the canonical form'),
         (extract(epoch from clock_timestamp() - started) * 1000)::int
  from (
    select v.airtable_id, k.key as field, k.value as source_value, v.target_canonical -> k.key as target_value
    from verify_records v
    join sync.source_canonical(p_entity, array(select x.airtable_id from verify_records x
                                               where x.in_source and x.in_target and not x.quarantined
                                                 and x.source_checksum is distinct from x.target_checksum)) sc on sc.airtable_id = v.airtable_id
    cross join lateral jsonb_each(sc.canonical) k
    where k.value is distinct from v.target_canonical -> k.key
  ) f;

  -- Relationships: each link column resolved for every live row (a source
  -- link the target lost shows in integrity; here: links to rows that are
  -- gone or deleted), and the redundant client of a registration agrees
  -- with its product's client.
  for link in select mc.column_name, mc.linked_table from sync.mapped_columns(p_entity) mc where mc.conversion = 'link' loop
    execute format($sql$
      select coalesce(jsonb_agg(jsonb_build_object('record', t.airtable_id, 'field', %1$L, 'value', p.airtable_id,
                                                   'rule', 'links to a deleted row of %2$s') order by t.airtable_id), '[]')
      from %3$s t join %2$s p on p.id = t.%1$I
      where t.deleted_at is null and p.deleted_at is not null
    $sql$, link.column_name, link.linked_table, target) into found_links;
    relationships := relationships || found_links;
  end loop;
  if p_entity = 'registrations' then
    select relationships || coalesce(jsonb_agg(jsonb_build_object('record', r.airtable_id, 'field', 'client_id', 'value', c.airtable_id,
                                     'rule', 'the registration''s client differs from its product''s client') order by r.airtable_id), '[]')
      into relationships
    from app.registrations r
    join app.products p on p.id = r.product_id
    left join app.clients c on c.id = r.client_id
    where r.deleted_at is null and r.client_id is distinct from p.client_id and r.client_id is not null;
  end if;
  execute format('select count(*) from %s where deleted_at is null', target) into validated;
  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  values (p_run_id, 'relationship_integrity', p_entity, target::text, validated,
          jsonb_array_length(relationships) = 0, jsonb_array_length(relationships), relationships,
          criteria || jsonb_build_object('links', (select coalesce(jsonb_agg(mc.column_name), '[]') from sync.mapped_columns(p_entity) mc where mc.conversion = 'link')),
          (extract(epoch from clock_timestamp() - started) * 1000)::int);

  drop table verify_records;
  return query select * from sync.validation_reports vr where vr.run_id = p_run_id and vr.source_entity = p_entity order by vr.generated_at, vr.validation_type;
end;
$$;
comment on function sync.verify_entity(bigint, text) is E'Verifies one entity for a verify run, in one pass over sync.compare_records: completeness (source snapshot against live target rows, quarantine listed, whole-table checksums in its criteria), data integrity (checksums record by record, naming the differing fields with both values) and relationships (links to deleted rows, a registration''s client against its product''s). Writes one sync.validation_reports row per check and returns them. Security definer: reads app and staging for the sync role.';

/*
 * Rollback of a run from the audit trail. Every app row and id-map entry
 * the run touched goes back to its state before the run's first change to
 * it: rows it inserted are deleted, rows it updated (soft deletes included)
 * get their old values back. Refused, naming the rows, when anything else
 * changed one of those rows after the run, unless forced.
 */
create function sync.rollback_conflicts(p_run_id bigint)
returns table (table_name text, record_id text, changed_by text, change_run_id bigint, changed_at timestamptz)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  with touched as (
    select c.table_name, c.record_id, max(c.id) as last_change
    from audit.changes c
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name = 'sync.id_map')
    group by c.table_name, c.record_id
  )
  select distinct on (t.table_name, t.record_id) t.table_name, t.record_id, coalesce(later.actor, later.db_role), later.run_id, later.changed_at
  from touched t
  join audit.changes later on later.table_name = t.table_name and later.record_id = t.record_id and later.id > t.last_change
  where later.run_id is distinct from p_run_id
  order by t.table_name, t.record_id, later.id
$$;
comment on function sync.rollback_conflicts(bigint) is E'Rows a run changed that something else (a later run, a user) changed afterwards, with the first such change: what a rollback of the run would overwrite.';

create function sync.rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean default false)
returns table (table_name text, removed bigint, restored bigint)
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target sync.runs;
  conflicts jsonb;
  conflict_count bigint;
  touched record;
  columns text;
  n_removed bigint;
  n_restored bigint;
begin
  select * into target from sync.runs r where r.id = p_run_id for update;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  if target.status not in ('completed', 'failed', 'cancelled') then
    raise exception 'run % is %, and only a completed, failed or cancelled run can be rolled back', p_run_id, target.status
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  if target.run_type = 'rollback' then
    raise exception 'run % is itself a rollback; roll back the run it undid again instead', p_run_id using errcode = 'feature_not_supported';
  end if;

  select count(*), jsonb_agg(format('%s %s (changed by %s%s at %s)', c.table_name, c.record_id, coalesce(c.changed_by, 'unknown'),
                                    case when c.change_run_id is not null then ' in run ' || c.change_run_id else '' end, c.changed_at)
                             order by c.table_name, c.record_id) filter (where c.rn <= 20)
    into conflict_count, conflicts
  from (select rc.*, row_number() over (order by rc.table_name, rc.record_id) as rn from sync.rollback_conflicts(p_run_id) rc) c;
  if conflict_count > 0 and not p_force then
    raise exception 'run % cannot be rolled back: % row(s) it changed were changed again since', p_run_id, conflict_count
      using errcode = 'serialization_failure',
            detail = array_to_string(array(select jsonb_array_elements_text(conflicts)), E'\n'),
            hint = 'Roll back the later runs first, or force the rollback (their changes to these rows are overwritten).';
  end if;

  perform set_config('airlift.run_id', p_rollback_run_id::text, true);

  -- Each touched row's first change by the run: its state before the run.
  create temp table rollback_first_changes on commit drop as
    select distinct on (c.table_name, c.record_id) c.table_name, c.record_id, c.op, c.old_values
    from audit.changes c
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name = 'sync.id_map')
    order by c.table_name, c.record_id, c.id;

  -- Newest table first, so children go before the parents they link to;
  -- inside a table, each row returns to the state before the run's first
  -- change to it (set-based, one statement per table and kind).
  for touched in
    select c.table_name as name, max(c.id) as newest
    from audit.changes c
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name = 'sync.id_map')
    group by c.table_name
    order by max(c.id) desc
  loop
    select string_agg(format('%I', a.attname), ', ' order by a.attnum)
      into columns
    from pg_attribute a
    where a.attrelid = touched.name::regclass and a.attnum > 0 and not a.attisdropped and a.attgenerated = '' and a.attidentity = ''
      and a.attname <> 'id';

    execute format($sql$
      delete from %s t using rollback_first_changes f
      where f.table_name = $1 and f.op = 'INSERT' and t.id::text = f.record_id
    $sql$, touched.name) using touched.name;
    get diagnostics n_removed = row_count;

    execute format($sql$
      update %1$s t set (%2$s) = (select %2$s from jsonb_populate_record(null::%1$s, f.old_values))
      from rollback_first_changes f
      where f.table_name = $1 and f.op = 'UPDATE' and t.id::text = f.record_id
        and row(t.*) is distinct from jsonb_populate_record(t, f.old_values)
    $sql$, touched.name, columns) using touched.name;
    get diagnostics n_restored = row_count;

    table_name := touched.name;
    removed := n_removed;
    restored := n_restored;
    return next;
  end loop;

  drop table rollback_first_changes;
  update sync.runs r
  set status = 'rolled_back',
      finished_at = coalesce(r.finished_at, now()),
      metadata = r.metadata || jsonb_build_object('rolled_back_by_run', p_rollback_run_id, 'rolled_back_at', now(), 'forced', p_force and conflict_count > 0)
  where r.id = p_run_id;
end;
$$;
comment on function sync.rollback_run(bigint, bigint, boolean) is E'Reverts every change run p_run_id made to app tables and the id map, from the audit trail, newest table first: rows it inserted are deleted, rows it updated get their values from before the run. Refuses (40001, naming up to 20 rows) when a later run or a user changed one of those rows since, unless p_force. Marks the run rolled_back; the changes are audited under p_rollback_run_id. Security definer: only the sync role''s rollback may write app tables.';
--! EndIncluded integrity_functions.sql

--! Included validation_functions.sql
/*
 * Validation rules, checked before merging. Re-creatable; included by
 * migrations with `--!include validation_functions.sql` after the sync and
 * integrity functions.
 *
 * A rule (sync.validation_rules) becomes an SQL expression over a staged
 * record converted the way the merge converts it (sync.converted_cells_sql,
 * alias c0): null when the record satisfies the rule, otherwise a finding
 * {field, value, reason, rule, severity}. Blocking rules are part of the
 * merge's problems, so a record that breaks one is quarantined with the
 * rule named, and released when it is fixed. Every rule, blocking or not,
 * is reported by sync.validate_entity into sync.validation_reports, with the
 * quarantine of the same records, so a run's report names everything wrong
 * with the records it read. Nothing is fixed silently.
 */

create function sync.matches_format(p_value text, p_format text) returns boolean
language sql stable parallel safe
as $$
  select case p_format
    when 'email' then p_value ~ '^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$'
    -- dialable: a North American number (optionally +1), or an international
    -- one with its country code; separators and an extension are allowed
    when 'phone' then regexp_replace(regexp_replace(p_value, '\s*(ext\.?|x|#)\s*[0-9]{1,6}$', '', 'i'), '[\s().-]', '', 'g')
                      ~ '^((\+?1)?[2-9][0-9]{2}[2-9][0-9]{6}|\+[2-9][0-9]{6,14})$'
    when 'url' then p_value ~ '^https?://[^\s/?#]+\.[^\s/?#]+([/?#]\S*)?$'
    when 'state_code' then p_value = any ('{AL,AK,AZ,AR,CA,CO,CT,DE,DC,FL,GA,HI,ID,IL,IN,IA,KS,KY,LA,ME,MD,MA,MI,MN,MS,MO,MT,NE,NV,NH,NJ,NM,NY,NC,ND,OH,OK,OR,PA,RI,SC,SD,TN,TX,UT,VT,VA,WA,WV,WI,WY,PR,VI,GU,AS,MP}'::text[])
  end
$$;
comment on function sync.matches_format(text, text) is E'Whether a text value has a format a validation rule names: email (an address with a domain), phone (a dialable North American or international number; separators and an extension allowed), url (http or https with a host) or state_code (a US state, DC or territory, upper case). Inlinable, never raises.';

create function sync.rule_check_sql(p_rule sync.validation_rules, p_field_name text, p_conversion text) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  col text := format('c0.%I', case when p_conversion in ('link', 'collaborator') then 'key__' || p_rule.column_name else p_rule.column_name end);
  raw text := format('c0.%I', 'raw__' || p_rule.column_name);
  other text := case when p_rule.parameters ? 'after' then format('c0.%I', p_rule.parameters ->> 'after') end;
  violated text;
  extra text := '';
begin
  -- A range's bounds must be of the column's kind: a rule that cannot run
  -- is named here instead of failing a merge with a cast error.
  if p_rule.rule_kind = 'range' and exists (
       select from (values (p_rule.parameters -> 'min'), (p_rule.parameters -> 'max')) as b (bound)
       where b.bound is not null
         and case when p_conversion in ('date', 'timestamp') then not coalesce(sync.is_iso_date(left(b.bound #>> '{}', 10)), false)
                  else jsonb_typeof(b.bound) <> 'number' end) then
    raise exception 'validation rule % has a range bound that is not a % (parameters %)', p_rule.rule_id,
      case when p_conversion in ('date', 'timestamp') then 'date' else 'number' end, p_rule.parameters
      using errcode = 'invalid_parameter_value', hint = 'Fix the rule in the mapping file (origin mapping) or in sync.validation_rules (origin sql).';
  end if;
  violated := case p_rule.rule_kind
    when 'required' then
      case p_conversion
        when 'text' then format('coalesce(btrim(%s), '''') = ''''', col)
        when 'select' then format('coalesce(btrim(%s), '''') = ''''', col)
        when 'multi_select' then format('coalesce(cardinality(%s), 0) = 0', col)
        else format('%s is null', col) end
    when 'format' then format('not sync.matches_format(%s, %L)', col, p_rule.parameters ->> 'format')
    when 'allowed_values' then
      case p_conversion
        when 'multi_select' then format('not (%s <@ %L::text[])', col, array(select jsonb_array_elements_text(p_rule.parameters -> 'values')))
        else format('%s <> all (%L::text[])', col, array(select jsonb_array_elements_text(p_rule.parameters -> 'values'))) end
    when 'range' then
      concat_ws(' or ',
        case when p_rule.parameters ? 'min' then format('%s < %L::%s', col, p_rule.parameters ->> 'min', case p_conversion when 'date' then 'date' when 'timestamp' then 'timestamptz' else 'numeric' end) end,
        case when p_rule.parameters ? 'max' then format('%s > %L::%s', col, p_rule.parameters ->> 'max', case p_conversion when 'date' then 'date' when 'timestamp' then 'timestamptz' else 'numeric' end) end)
    when 'max_decimals' then
      format('jsonb_typeof(%1$s) = ''number'' and (%1$s #>> ''{}'')::numeric <> round((%1$s #>> ''{}'')::numeric, %2$s)',
             raw, coalesce((p_rule.parameters ->> 'decimals')::int, 2))
    when 'trimmed' then format('%s ~ ''^\s|\s$''', col)
    when 'field_order' then
      format('%s %s %s', col, case when coalesce((p_rule.parameters ->> 'strict')::boolean, false) then '<=' else '<' end, other)
    when 'single_link' then format('jsonb_typeof(%1$s) = ''array'' and jsonb_array_length(%1$s) > 1', raw)
    -- duplicate and same_as_linked look at other records: sync.validate_entity
  end;
  if violated is null then
    return null;
  end if;
  if p_rule.rule_kind = 'field_order' then
    extra := format(', ''compared_with'', %s', format('c0.%I', 'raw__' || (p_rule.parameters ->> 'after')));
  end if;
  -- a rule judges a value that is there (required aside): an empty cell is
  -- the required rule's business, an unconvertible one the merge's
  return format('case when %s is not null and (%s) then jsonb_build_object(''field'', %L, ''value'', %s, ''reason'', %L, ''rule'', %L, ''severity'', %L%s) end',
                case when p_rule.rule_kind = 'required' then 'true' else col end,
                violated, p_field_name, raw,
                format('%s %s (rule %s)', p_field_name, p_rule.description, p_rule.rule_id),
                p_rule.rule_id, p_rule.severity, extra);
end;
$$;
comment on function sync.rule_check_sql(sync.validation_rules, text, text) is E'The SQL expression that checks one record-local validation rule on a converted staged record (alias c0, see sync.converted_cells_sql): null when satisfied, otherwise a finding {field, value, reason, rule, severity}. Null for rules about other records (duplicate, same_as_linked), which sync.validate_entity checks.';

create function sync.rule_checks_sql(p_entity text, p_severity text default null) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  -- Only enabled rules whose columns the mapping fills.
  select string_agg(sync.rule_check_sql(r, coalesce(m.field_names ->> r.column_name, r.column_name), ec.conversion), ', ' order by r.rule_id)
  from sync.validation_rules r
  join sync.entity_mappings m on m.entity = r.entity and m.field_ids ? r.column_name
  join sync.entity_columns ec on ec.entity = r.entity and ec.column_name = r.column_name
  where r.entity = p_entity and r.enabled and (p_severity is null or r.severity = p_severity)
    and r.rule_kind not in ('duplicate', 'same_as_linked')
    and (r.rule_kind <> 'field_order' or m.field_ids ? (r.parameters ->> 'after'))
$$;
comment on function sync.rule_checks_sql(text, text) is E'The comma-separated checks (see sync.rule_check_sql) of an entity''s enabled record-local rules, all or of one severity; null when there are none. The merge adds the blocking ones to each record''s problems.';

/*
 * The validation report of an entity: every finding of every enabled rule
 * over a scope of staged records (the records a run read, or the whole
 * latest source snapshot), plus the quarantine of those records (the merge's
 * own problems and the blocking rules' findings), in two
 * sync.validation_reports rows: data_integrity and relationship_integrity.
 */
create function sync.validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean default false)
returns setof sync.validation_reports
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '128MB'
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  started timestamptz := clock_timestamp();
  snapshot bigint := coalesce(sync.source_snapshot_run(p_entity), 0);
  checks text := sync.rule_checks_sql(p_entity, 'warning');
  rule record;
  scope_count bigint;
  criteria jsonb;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  -- Idempotent: a resumed run validates its tables again and keeps one report.
  delete from sync.validation_reports vr
  where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_criteria ->> 'check' = 'validation_rules';

  -- The scope: the records the run read, or the whole latest snapshot.
  create temp table validate_scope on commit drop as
    select s.airtable_id from staging.airtable_records s
    where s.table_id = mapping.table_id and (case when p_whole_snapshot then s.run_id >= snapshot else s.run_id = p_run_id end);
  alter table validate_scope add primary key (airtable_id);
  analyze validate_scope;
  select count(*) into scope_count from validate_scope;

  create temp table validate_findings (airtable_id text not null, validation_type text not null, finding jsonb not null) on commit drop;

  -- Warning rules about the record alone, in one pass over the scope
  -- (blocking ones are in the quarantine, below, as the merge found them).
  if checks is not null then
    execute format($sql$
      insert into validate_findings
      select c0.airtable_id, r.validation_type, f
      from (select s.airtable_id, %s
            from staging.airtable_records s join validate_scope v on v.airtable_id = s.airtable_id
            where s.table_id = $1
            offset 0) c0
      cross join lateral jsonb_array_elements(jsonb_path_query_array(jsonb_build_array(%s), '$[*] ? (@ != null)')) f
      join sync.validation_rules r on r.rule_id = f ->> 'rule'
    $sql$, sync.converted_cells_sql(p_entity), checks) using mapping.table_id;
  end if;

  -- Duplicates by normalized value (lower case, white space collapsed),
  -- within the latest snapshot, optionally within the same linked record
  -- (a product name repeats across clients); each member names the others.
  for rule in
    select r.*, coalesce(mapping.field_names ->> r.column_name, r.column_name) as field_name,
           mapping.field_ids ->> r.column_name as field_id, mapping.field_ids ->> (r.parameters ->> 'scope') as scope_field_id
    from sync.validation_rules r
    where r.entity = p_entity and r.enabled and r.rule_kind = 'duplicate' and mapping.field_ids ? r.column_name
      and (not r.parameters ? 'scope' or mapping.field_ids ? (r.parameters ->> 'scope'))
  loop
    insert into validate_findings
    with snapshot_values as (
      select s.airtable_id, s.fields -> rule.field_id as value,
             lower(regexp_replace(btrim(sync.cell_text(s.fields -> rule.field_id)), '\s+', ' ', 'g')) as normalized,
             case when rule.scope_field_id is not null then sync.cell_canonical(s.fields -> rule.scope_field_id, 'link') end as scope_key
      from staging.airtable_records s
      where s.table_id = mapping.table_id and s.run_id >= snapshot
    ), groups as (
      select normalized, scope_key, array_agg(airtable_id order by airtable_id) as members
      from snapshot_values where normalized <> ''
      group by normalized, scope_key having count(*) > 1
    )
    select sv.airtable_id, rule.validation_type,
           jsonb_build_object('field', rule.field_name, 'value', sv.value,
                              'reason', format('%s %s (rule %s)', rule.field_name, rule.description, rule.rule_id),
                              'rule', rule.rule_id, 'severity', rule.severity,
                              'duplicates', to_jsonb(array_remove(g.members, sv.airtable_id)))
    from snapshot_values sv
    join groups g on g.normalized = sv.normalized and g.scope_key is not distinct from sv.scope_key
    join validate_scope v on v.airtable_id = sv.airtable_id;
  end loop;

  -- Agreement with a linked record: the record's link equals the linked
  -- record's (a registration's client is its product's client), both as
  -- the source says.
  for rule in
    select r.*, coalesce(mapping.field_names ->> r.column_name, r.column_name) as field_name,
           mapping.field_ids ->> r.column_name as field_id, mapping.field_ids ->> (r.parameters ->> 'link') as link_field_id,
           linked.table_id as linked_table_id, linked.field_ids ->> (r.parameters ->> 'linked_column') as linked_field_id
    from sync.validation_rules r
    join sync.entity_columns link_column on link_column.entity = r.entity and link_column.column_name = r.parameters ->> 'link'
    join sync.entity_mappings linked on linked.entity = link_column.linked_entity
    where r.entity = p_entity and r.enabled and r.rule_kind = 'same_as_linked'
      and mapping.field_ids ?& array[r.column_name, r.parameters ->> 'link'] and linked.field_ids ? (r.parameters ->> 'linked_column')
  loop
    insert into validate_findings
    select s.airtable_id, rule.validation_type,
           jsonb_build_object('field', rule.field_name, 'value', s.fields -> rule.field_id,
                              'reason', format('%s %s (rule %s)', rule.field_name, rule.description, rule.rule_id),
                              'rule', rule.rule_id, 'severity', rule.severity,
                              'linked_record', sync.cell_first_link(s.fields -> rule.link_field_id),
                              'linked_value', l.fields -> rule.linked_field_id)
    from staging.airtable_records s
    join validate_scope v on v.airtable_id = s.airtable_id
    join staging.airtable_records l on l.table_id = rule.linked_table_id and l.airtable_id = sync.cell_first_link(s.fields -> rule.link_field_id)
    where s.table_id = mapping.table_id
      and sync.cell_first_link(s.fields -> rule.field_id) is distinct from sync.cell_first_link(l.fields -> rule.linked_field_id)
      and sync.cell_first_link(s.fields -> rule.field_id) is not null and sync.cell_first_link(l.fields -> rule.linked_field_id) is not null;
  end loop;

  -- The quarantine of the scope: blocking rules and the merge's own checks
  -- (unconvertible or missing values, ranges, dangling links), as recorded.
  insert into validate_findings
  select e.airtable_id,
         case when e.reason ~ '\(rule [a-z_.]+\)$' then coalesce(r.validation_type, 'data_integrity')
              when e.reason like '% links to %' then 'relationship_integrity' else 'data_integrity' end,
         jsonb_build_object('field', e.field, 'value', e.value, 'reason', e.reason,
                            'rule', coalesce(substring(e.reason from '\(rule ([a-z_.]+)\)$'), 'merge'), 'severity', 'blocking', 'quarantined', true)
  from sync.record_errors e
  join validate_scope v on v.airtable_id = e.airtable_id
  left join sync.validation_rules r on r.rule_id = substring(e.reason from '\(rule ([a-z_.]+)\)$')
  where e.resolved_at is null and e.source_table = mapping.table_id;

  criteria := jsonb_build_object(
    'check', 'validation_rules', 'entity', p_entity,
    'scope', case when p_whole_snapshot then 'source snapshot' else 'records read by the run' end,
    'source_snapshot_run', nullif(snapshot, 0),
    'rules', (select coalesce(jsonb_agg(jsonb_build_object('rule', r.rule_id, 'kind', r.rule_kind, 'severity', r.severity, 'parameters', r.parameters) order by r.rule_id), '[]')
              from sync.validation_rules r where r.entity = p_entity and r.enabled and mapping.field_ids ? r.column_name));

  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  select p_run_id, t.validation_type, p_entity, target::text, scope_count,
         count(f.*) = 0, count(f.*),
         coalesce(jsonb_agg(jsonb_build_object('record', f.airtable_id) || f.finding order by f.airtable_id, f.finding ->> 'rule', f.finding ->> 'field')
                  filter (where f.airtable_id is not null), '[]'),
         criteria || jsonb_build_object(
           'blocking', count(f.*) filter (where f.finding ->> 'severity' = 'blocking'),
           'warnings', count(f.*) filter (where f.finding ->> 'severity' = 'warning'),
           'records_with_findings', count(distinct f.airtable_id)),
         (extract(epoch from clock_timestamp() - started) * 1000)::int
  from (values ('data_integrity'), ('relationship_integrity')) as t (validation_type)
  left join validate_findings f on f.validation_type = t.validation_type
  group by t.validation_type;

  drop table validate_findings;
  drop table validate_scope;
  return query select * from sync.validation_reports vr
               where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_criteria ->> 'check' = 'validation_rules'
               order by vr.validation_type;
end;
$$;
comment on function sync.validate_entity(bigint, text, boolean) is E'The validation report of an entity for run p_run_id: every enabled rule checked over the records the run read (or, with p_whole_snapshot, the latest source snapshot), warnings found here and blocking findings as the merge quarantined them, each naming record, field, value, rule and severity. Writes a data_integrity and a relationship_integrity row to sync.validation_reports (criteria check = validation_rules) and returns them. Security definer: reads staging for any caller the sync role lets run it.';
--! EndIncluded validation_functions.sql

--! Included differential_functions.sql
/*
 * Differentials between the latest source snapshot (staging) and the target
 * (app), and their resolution. Re-creatable; included by migrations with
 * `--!include differential_functions.sql` after the sync and integrity
 * functions.
 *
 * The target side of a comparison is sync.target_checksums: the checksum
 * of every app row's canonical form, rebuilt from the row by a
 * statement-level trigger whenever anything writes it (the sync, a user, a
 * rollback). A differential then compares two stored checksums per key, so
 * a million records take one join, not a million canonical forms;
 * `airlift verify --deep` rebuilds every canonical form to prove the
 * stored ones right.
 */

create function sync.tg__maintain_target_checksums() returns trigger
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_entity text := tg_argv[0];
begin
  if tg_op = 'TRUNCATE' then
    delete from sync.target_checksums c where c.entity = v_entity;
    return null;
  end if;
  if tg_op = 'DELETE' then
    delete from sync.target_checksums c using old_rows o where c.entity = v_entity and c.row_id = o.id;
    return null;
  end if;
  if not exists (select from sync.entity_mappings m where m.entity = v_entity) then
    -- no mapping yet (nothing pulled): no canonical form to keep; the first
    -- pull's merge writes every row, and the trigger then fills the table
    return null;
  end if;
  if tg_op = 'UPDATE' then
    -- a row whose Airtable id changed leaves its old key
    delete from sync.target_checksums c using new_rows n
    where c.entity = v_entity and c.row_id = n.id and c.airtable_id is distinct from n.airtable_id;
  end if;
  execute format($sql$
    insert into sync.target_checksums as c (entity, airtable_id, row_id, checksum, deleted)
    select $1, t.airtable_id, t.id, sync.checksum(t.canonical), t.deleted_at is not null
    from (%s) t
    on conflict (entity, airtable_id) do update
      set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
      where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
  $sql$, sync.target_canonical_sql(v_entity, 'new_rows')) using v_entity;
  return null;
end;
$$;
comment on function sync.tg__maintain_target_checksums() is E'Statement-level AFTER trigger on the synced app tables (argument: the entity): rebuilds the canonical checksum of every inserted or updated row from the row itself (sync.target_canonical_sql over the transition table) into sync.target_checksums, and forgets deleted or truncated rows. Set-based, whoever writes. Security definer: app writers cannot write sync tables themselves.';

create function sync.refresh_target_checksums(p_entity text) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  changed bigint;
begin
  -- Everything rebuilt from the app rows: missing entries added, wrong
  -- ones corrected, entries of rows that are gone removed.
  execute format($sql$
    with rebuilt as (
      select t.airtable_id, t.id, sync.checksum(t.canonical) as checksum, t.deleted_at is not null as deleted from (%s) t
    ), upserted as (
      insert into sync.target_checksums as c (entity, airtable_id, row_id, checksum, deleted)
      select $1, r.airtable_id, r.id, r.checksum, r.deleted from rebuilt r
      on conflict (entity, airtable_id) do update
        set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
        where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
      returning 1
    ), removed as (
      delete from sync.target_checksums c
      where c.entity = $1 and not exists (select from rebuilt r where r.airtable_id = c.airtable_id)
      returning 1
    )
    select (select count(*) from upserted) + (select count(*) from removed)
  $sql$, sync.target_canonical_sql(p_entity)) using p_entity into changed;
  return changed;
end;
$$;
comment on function sync.refresh_target_checksums(text) is E'Rebuilds an entity''s sync.target_checksums from its app rows; returns how many entries it had to add, correct or remove (0 when the trigger kept them right). Used when the table is first set up and by `airlift verify --deep`.';

/*
 * A differential over one key range of an entity (all keys when both bounds
 * are null): one full outer join of the source snapshot's stored checksums
 * with the target's, quarantine left out. missing_records: in the source,
 * not live in the target (the anti-join on the target's id map); deleted_records:
 * live in the target, gone from the source (the reverse anti-join);
 * conflicted_records: in both, checksums differ.
 */
create function sync.compute_differentials(p_run_id bigint, p_entity text, p_after_key text default null, p_upto_key text default null)
returns setof sync.data_differentials
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '128MB'
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  snapshot bigint := coalesce(sync.source_snapshot_run(p_entity), 0);
  conflicted text[];
  fields jsonb;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);

  create temp table differential_records on commit drop as
  select coalesce(s.airtable_id, t.airtable_id) as airtable_id,
         case when t.airtable_id is null or t.deleted then 'missing_records'
              when s.airtable_id is null then 'deleted_records'
              else 'conflicted_records' end as comparison_type
  from (select s.airtable_id, s.checksum from staging.airtable_records s
        where s.table_id = mapping.table_id and s.run_id >= snapshot
          and (p_after_key is null or s.airtable_id > p_after_key) and (p_upto_key is null or s.airtable_id <= p_upto_key)) s
  full join (select c.airtable_id, c.checksum, c.deleted from sync.target_checksums c
             where c.entity = p_entity
               and (p_after_key is null or c.airtable_id > p_after_key) and (p_upto_key is null or c.airtable_id <= p_upto_key)) t
    on t.airtable_id = s.airtable_id
  where (s.airtable_id is null and not t.deleted)
     or (s.airtable_id is not null and (t.airtable_id is null or t.deleted or s.checksum is distinct from t.checksum)
         and not exists (select from sync.record_errors e
                         where e.resolved_at is null and e.source_table = mapping.table_id and e.airtable_id = s.airtable_id));

  -- The fields in which each conflicted record differs, both values.
  conflicted := array(select d.airtable_id from differential_records d where d.comparison_type = 'conflicted_records');
  if cardinality(conflicted) > 0 then
    execute format($sql$
      select jsonb_object_agg(sc.airtable_id, diff.fields)
      from sync.source_canonical($1, $2) sc
      join (select x.airtable_id, x.canonical from (%s) x where x.airtable_id = any ($2)) tc on tc.airtable_id = sc.airtable_id
      cross join lateral (
        select jsonb_object_agg(k.key, jsonb_build_object('source', k.value, 'target', tc.canonical -> k.key)) as fields
        from jsonb_each(sc.canonical) k where k.value is distinct from tc.canonical -> k.key
      ) diff
      where diff.fields is not null
    $sql$, sync.target_canonical_sql(p_entity)) using p_entity, conflicted into fields;
  end if;

  return query
  insert into sync.data_differentials (run_id, source_table, target_table, comparison_type, legacy_ids, record_count,
                                       comparison_criteria, resolution_strategy, metadata)
  select p_run_id, mapping.table_id, target::text, d.comparison_type,
         jsonb_agg(d.airtable_id order by d.airtable_id), count(*),
         jsonb_build_object('entity', p_entity, 'key', 'airtable_id', 'after_key', p_after_key, 'upto_key', p_upto_key,
                            'source_snapshot_run', nullif(snapshot, 0), 'source', 'staging.airtable_records.checksum',
                            'target', 'sync.target_checksums (rebuilt from the app rows)', 'checksum', 'sha256 of the canonical form',
                            'quarantine', 'left out'),
         'source_wins',
         case when d.comparison_type = 'conflicted_records' then jsonb_build_object('fields', coalesce(fields, '{}')) else '{}' end
  from differential_records d
  group by d.comparison_type
  order by d.comparison_type
  returning *;

  drop table differential_records;
end;
$$;
comment on function sync.compute_differentials(bigint, text, text, text) is E'Compares the latest source snapshot of an entity with the target over one key range (airtable_id in (p_after_key, p_upto_key]; null bounds are open), set-based in one join of stored checksums, quarantined records left out, and stores one sync.data_differentials row per comparison type found (missing_records, conflicted_records with the differing fields, deleted_records) under run p_run_id. Returns the rows stored. Security definer: reads app and staging for the sync role.';

/*
 * Resolution: applies a strategy to every unresolved differential of an
 * entity computed by run p_run_id, audited under that run.
 */
create function sync.resolve_differentials(p_run_id bigint, p_entity text, p_strategy text default 'source_wins')
returns table (comparison_type text, records bigint, action text)
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  page_number bigint;
  remerge text[];
  gone text[];
  deleted bigint := 0;
begin
  if p_strategy not in ('source_wins', 'target_wins', 'manual_review', 'skip') then
    raise exception 'unknown resolution strategy %', p_strategy
      using errcode = 'invalid_parameter_value', hint = 'Use source_wins, target_wins, manual_review or skip.';
  end if;
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  -- A differential is resolved against the snapshot it was computed from:
  -- once a newer snapshot exists, the source may have moved on.
  if sync.source_snapshot_run(p_entity) > p_run_id then
    raise exception 'the differentials of run % for % are older than the latest source snapshot (run %)', p_run_id, p_entity, sync.source_snapshot_run(p_entity)
      using errcode = 'object_not_in_prerequisite_state', hint = 'Compute a new differential (airlift diff) and resolve that.';
  end if;
  perform set_config('airlift.run_id', p_run_id::text, true);

  perform from sync.data_differentials d where d.run_id = p_run_id and d.source_table = mapping.table_id and not d.resolved for update;
  create temp table resolving on commit drop as
  select d.id, d.comparison_type, d.legacy_ids from sync.data_differentials d
  where d.run_id = p_run_id and d.source_table = mapping.table_id and not d.resolved;

  if p_strategy = 'source_wins' then
    -- Missing and conflicted records: the source's version merged again,
    -- through the ordinary merge (staged under this run as one page).
    remerge := array(select jsonb_array_elements_text(r.legacy_ids) from resolving r
                     where r.comparison_type in ('missing_records', 'conflicted_records'));
    if cardinality(remerge) > 0 then
      page_number := nextval('staging.page_seq');
      update staging.airtable_records s set run_id = p_run_id, page_seq = page_number
      where s.table_id = mapping.table_id and s.airtable_id = any (remerge);
      insert into sync.checkpoints (run_id, operation_type, entity_type, status, started_at, records_processed, metadata)
      values (p_run_id, 'sync_operation', p_entity, 'in_progress', now(), cardinality(remerge),
              jsonb_build_object('phase', 'listed', 'last_page_seq', page_number, 'resolution', p_strategy))
      on conflict (run_id, operation_type, entity_type) do update
        set records_processed = sync.checkpoints.records_processed + excluded.records_processed,
            metadata = sync.checkpoints.metadata || jsonb_build_object('last_page_seq', page_number);
      perform sync.merge_entity(p_run_id, p_entity, false);
    end if;
    -- Deleted records: gone from the source, soft-deleted in the target.
    gone := array(select jsonb_array_elements_text(r.legacy_ids) from resolving r where r.comparison_type = 'deleted_records');
    if cardinality(gone) > 0 then
      execute format('update %s t set deleted_at = now() where t.airtable_id = any ($1) and t.deleted_at is null', target) using gone;
      get diagnostics deleted = row_count;
      insert into sync.checkpoints (run_id, operation_type, entity_type, status, started_at, metadata)
      values (p_run_id, 'sync_operation', p_entity, 'in_progress', now(), jsonb_build_object('deleted', deleted, 'resolution', p_strategy))
      on conflict (run_id, operation_type, entity_type) do update
        set metadata = sync.checkpoints.metadata || jsonb_build_object('deleted', coalesce((sync.checkpoints.metadata ->> 'deleted')::bigint, 0) + deleted);
    end if;
    update sync.checkpoints cp set status = 'completed', completed_at = greatest(clock_timestamp(), cp.started_at + interval '1 microsecond')
    where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity and cp.status = 'in_progress';
  end if;

  update sync.data_differentials d
  set resolution_strategy = p_strategy,
      resolved = p_strategy <> 'manual_review',
      resolved_at = case when p_strategy <> 'manual_review' then now() end,
      metadata = d.metadata || jsonb_build_object('resolved_by_run', p_run_id, 'action', a.action)
  from resolving r
  cross join lateral (select case p_strategy
      when 'source_wins' then case r.comparison_type
        when 'deleted_records' then 'soft-deleted in the target'
        when 'missing_records' then 'merged from the source'
        else 'the source''s values merged over the target''s' end
      when 'target_wins' then 'kept as the target has it (the next full pull restores the source unless the change is pushed)'
      when 'manual_review' then 'left for a person to review'
      else 'skipped' end as action) a
  where d.id = r.id;

  return query
  select r.comparison_type, sum(jsonb_array_length(r.legacy_ids))::bigint, min(d.metadata ->> 'action')
  from resolving r join sync.data_differentials d on d.id = r.id
  group by r.comparison_type order by r.comparison_type;
  drop table resolving;
end;
$$;
comment on function sync.resolve_differentials(bigint, text, text) is E'Applies a resolution strategy to the unresolved differentials of an entity found by run p_run_id, audited under that run: source_wins merges missing and conflicted records again from staging through sync.merge_entity and soft-deletes records gone from the source; target_wins and skip change nothing; manual_review leaves them unresolved for a person. Marks each differential with the strategy and what was done. Security definer: only the sync role may call it, and it writes app tables.';
--! EndIncluded differential_functions.sql

--! Included snapshot_functions.sql
/*
 * The pre-migration safety snapshot, in the database. Re-creatable;
 * included by migrations/current.sql with `--!include snapshot_functions.sql`
 * after the sync and integrity functions and before grants.sql.
 *
 * Why in the database: the embedded PostgreSQL 17 that airlift starts by
 * default ships no pg_dump, and the operating system's pg_dump (15 on
 * Debian) refuses to dump a newer server. So a snapshot is a private schema
 * airlift_snapshot_<id> holding a copy (create table ... as select) of every
 * app table, the id map and staging, with row counts and order-independent
 * checksums recorded in sync.snapshots. A restore brings those tables back
 * to the copies, set-based, one statement per table and kind of change,
 * through the audit triggers, as a run of its own; the runs made after the
 * snapshot are marked undone, so the next pull starts from where the
 * snapshot stood.
 *
 * Snapshots and pulls exclude each other: taking or restoring one takes
 * the pull's per-base advisory lock (src/sync/pull.ts) for its transaction
 * and refuses while a pull holds it.
 */
drop function if exists sync.drop_snapshot(bigint);
drop function if exists sync.restore_snapshot(bigint, bigint);
drop function if exists sync.take_snapshot(text, text, bigint);
drop function if exists sync.lock_out_pulls(text);
drop function if exists sync.table_content_checksum(regclass, text[]);
drop function if exists sync.snapshot_source_tables();
drop function if exists sync.column_list(text, text[]);
drop function if exists sync.primary_key_columns(regclass);
drop function if exists sync.stored_columns(regclass);
drop table if exists sync.snapshots cascade;

create table sync.snapshots (
  id bigint generated always as identity primary key,
  label text not null,
  schema_name text not null unique generated always as ('airlift_snapshot_' || id) stored,
  taken_at timestamptz not null default now(),
  taken_by text not null,
  run_id bigint references sync.runs (id) on delete set null,
  last_run_before_snapshot bigint,
  tables jsonb not null default '{}',
  restored_at timestamptz,
  restored_by_run_id bigint references sync.runs (id) on delete set null,
  dropped_at timestamptz,
  constraint snapshots_label_not_blank check (btrim(label) <> ''),
  constraint snapshots_taken_by_not_blank check (btrim(taken_by) <> ''),
  constraint snapshots_tables_is_object check (jsonb_typeof(tables) = 'object'),
  constraint snapshots_restored_after_taken check (restored_at >= taken_at),
  constraint snapshots_dropped_after_taken check (dropped_at >= taken_at),
  constraint snapshots_restore_run_has_time check (restored_by_run_id is null or restored_at is not null)
);
comment on table sync.snapshots is E'Safety snapshots taken inside the database (the embedded server has no pg_dump): each is a private schema holding a copy of every app table, sync.id_map and staging.airtable_records, restorable with sync.restore_snapshot.';
comment on column sync.snapshots.id is E'Snapshot number, as the CLI shows it (airlift snapshot restore <id>).';
comment on column sync.snapshots.label is E'What the snapshot is for, e.g. before pull.';
comment on column sync.snapshots.schema_name is E'The schema holding the copies: airlift_snapshot_<id>, readable by its owner only.';
comment on column sync.snapshots.taken_at is E'When the snapshot was taken (start of its transaction).';
comment on column sync.snapshots.taken_by is E'Who took it (CLI user, worker).';
comment on column sync.snapshots.run_id is E'The run whose start the snapshot protects, if any (airlift pull --snapshot records its run here).';
comment on column sync.snapshots.last_run_before_snapshot is E'The newest run that existed when the snapshot was taken (before run_id when given); a restore undoes the data runs numbered after it. A watermark, not a reference: null when there was none.';
comment on column sync.snapshots.tables is E'Per copied table, keyed by its name (app.clients): {"copy": the table in schema_name, "rows": row count, "checksum": order-independent content checksum of its stored columns}.';
comment on column sync.snapshots.restored_at is E'When the snapshot was last restored; null if never.';
comment on column sync.snapshots.restored_by_run_id is E'The rollback run that last restored it.';
comment on column sync.snapshots.dropped_at is E'When its schema was dropped; a dropped snapshot cannot be restored.';

/*
 * Who took, restored or dropped a snapshot is in the audit trail, like every
 * other sync control table.
 */
select audit.enable_for('sync.snapshots');

/*
 * Snapshot numbers never reuse the name of a schema left behind (this file
 * re-creates sync.snapshots while current.sql is being developed).
 */
select setval(pg_get_serial_sequence('sync.snapshots', 'id'), max(substring(n.nspname from '^airlift_snapshot_([0-9]+)$')::bigint))
from pg_namespace n
where n.nspname ~ '^airlift_snapshot_[0-9]+$'
having count(*) > 0;

create function sync.stored_columns(p_table regclass) returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(array_agg(a.attname::text order by a.attnum), '{}')
  from pg_attribute a
  where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
$$;
comment on function sync.stored_columns(regclass) is E'A table''s columns that hold written values, in table order: every column but the generated ones (derived, so neither copied nor restored).';

create function sync.primary_key_columns(p_table regclass) returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select array_agg(a.attname::text order by k.position)
  from pg_constraint c
  cross join unnest(c.conkey) with ordinality as k (attnum, position)
  join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
  where c.conrelid = p_table and c.contype = 'p'
$$;
comment on function sync.primary_key_columns(regclass) is E'A table''s primary key columns in key order; null when it has none. A restore matches rows on them.';

create function sync.column_list(p_alias text, p_columns text[]) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select string_agg(case when p_alias is null then format('%I', c.name) else format('%I.%I', p_alias, c.name) end, ', ' order by c.position)
  from unnest(p_columns) with ordinality as c (name, position)
$$;
comment on function sync.column_list(text, text[]) is E'Quoted column names joined by commas, each qualified by p_alias unless it is null: a piece of the statements a restore builds.';

create function sync.snapshot_source_tables() returns table (source_table regclass, copy_name text)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select c.oid::regclass, n.nspname || '__' || c.relname
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where (n.nspname = 'app' and c.relkind in ('r', 'p') and not c.relispartition)
     or c.oid in ('sync.id_map'::regclass, 'staging.airtable_records'::regclass)
  order by n.nspname, c.relname
$$;
comment on function sync.snapshot_source_tables() is E'What a snapshot copies: every table of schema app, sync.id_map and staging.airtable_records, each with the name of its copy (<schema>__<table>).';

create function sync.table_content_checksum(p_table regclass, p_columns text[]) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
-- the text of a timestamptz depends on the session time zone; the checksum must not
set timezone = 'UTC'
set extra_float_digits = 1
as $$
declare
  result jsonb;
begin
  -- Each row as a jsonb object of the given columns, its SHA-256, then
  -- sync.table_checksum: the same rows in any order give the same text.
  execute format($sql$
    select jsonb_build_object('rows', count(*),
                              'checksum', sync.table_checksum(array_agg(encode(sha256(convert_to(to_jsonb(t)::text, 'UTF8')), 'hex'))))
    from (select %s from %s) t
  $sql$, sync.column_list(null, p_columns), p_table) into result;
  return result;
end;
$$;
comment on function sync.table_content_checksum(regclass, text[]) is E'Row count and order-independent checksum ({"rows", "checksum"}) of a table''s content in the given columns, independent of the session''s time zone: compares a live table with its snapshot copy. Runs with the caller''s privileges.';

create function sync.lock_out_pulls(p_doing text) returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  busy_bases text;
begin
  -- The key is the one runPull holds for the whole pull (src/sync/pull.ts:
  -- 'airlift:pull:' || base id). Taken here until the end of the
  -- transaction, so that no pull starts meanwhile either.
  select string_agg(b.base_id, ', ' order by b.base_id) into busy_bases
  from (select m.base_id from sync.entity_mappings m
        union
        select r.metadata ->> 'base_id' from sync.runs r where r.status in ('pending', 'running')) b
  where b.base_id is not null
    and not pg_try_advisory_xact_lock(hashtextextended('airlift:pull:' || b.base_id, 0));
  if busy_bases is not null then
    raise exception 'cannot % while a pull of base % is running', p_doing, busy_bases
      using errcode = 'lock_not_available', hint = 'Try again when the pull has ended.';
  end if;
end;
$$;
comment on function sync.lock_out_pulls(text) is E'Takes, until the end of the transaction, the advisory lock a pull of each known base holds, so that no pull runs during a snapshot or a restore; refuses (55P03, naming the bases) while a pull holds one.';

/*
 * Taking a snapshot: writers wait (share lock) while every table is copied,
 * so that the copies are consistent with each other.
 */
create function sync.take_snapshot(p_label text, p_actor text, p_run_id bigint default null) returns sync.snapshots
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  snapshot sync.snapshots;
  source record;
  copy_table text;
  copied jsonb := '{}';
begin
  if p_run_id is not null and not exists (select from sync.runs r where r.id = p_run_id) then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  perform sync.lock_out_pulls('take a snapshot');
  execute (select 'lock table ' || string_agg(s.source_table::text, ', ') || ' in share mode' from sync.snapshot_source_tables() s);

  insert into sync.snapshots (label, taken_by, run_id, last_run_before_snapshot)
  values (p_label, p_actor, p_run_id, (select max(r.id) from sync.runs r where p_run_id is null or r.id < p_run_id))
  returning * into snapshot;

  execute format('create schema %I', snapshot.schema_name);
  -- Owner only: a new schema grants nothing to anyone, and none is granted.
  execute format('revoke all on schema %I from public', snapshot.schema_name);
  execute format('comment on schema %I is %L', snapshot.schema_name,
                 format('Safety snapshot %s (%s), taken %s by %s. Restore with sync.restore_snapshot(%s); drop with sync.drop_snapshot(%s).',
                        snapshot.id, snapshot.label, snapshot.taken_at, snapshot.taken_by, snapshot.id, snapshot.id));

  for source in
    select s.source_table, s.copy_name, sync.stored_columns(s.source_table) as stored_columns,
           sync.primary_key_columns(s.source_table) as key_columns
    from sync.snapshot_source_tables() s
  loop
    copy_table := format('%I.%I', snapshot.schema_name, source.copy_name);
    execute format('create table %s as select %s from %s', copy_table, sync.column_list(null, source.stored_columns), source.source_table);
    execute format('alter table %s add primary key (%s)', copy_table, sync.column_list(null, source.key_columns));
    execute format('comment on table %s is %L', copy_table,
                   format('%s as it was when snapshot %s was taken (generated columns left out).', source.source_table, snapshot.id));
    copied := copied || jsonb_build_object(source.source_table::text,
                jsonb_build_object('copy', source.copy_name) || sync.table_content_checksum(copy_table::regclass, source.stored_columns));
  end loop;

  update sync.snapshots s set tables = copied where s.id = snapshot.id returning s.* into snapshot;
  return snapshot;
end;
$$;
comment on function sync.take_snapshot(text, text, bigint) is E'Takes a safety snapshot: creates schema airlift_snapshot_<id>, readable by its owner only, and copies into it (create table ... as select, one statement per table, writers held off meanwhile) every app table, sync.id_map and staging.airtable_records, recording row counts and checksums. p_run_id names the run whose start it protects, if any. Refuses (55P03) while a pull is running. Security definer: the sync role may take snapshots but not create schemas.';

/*
 * Restoring: every copied table back to its copy. Rows are matched on the
 * primary key. Tables are ordered by their foreign keys (from pg_constraint:
 * a table's depth is the longest chain of references to other copied tables
 * below it), and the work is done in three passes, one statement per table:
 *   1. children first, delete the rows the snapshot does not have, unless a
 *      row still points at them (it may be a row the snapshot has, pointing
 *      at a row made after it);
 *   2. parents first, update the rows that differ, then insert the missing
 *      ones (they only point at rows of the snapshot, present by then);
 *   3. children first, delete the rest: nothing kept points at them now.
 * Deleting early makes room for a row the snapshot holds under a key (e.g.
 * airtable_id) that a row made since has taken; deleting late lets kept rows
 * be re-pointed first.
 *
 * The writes fire the audit triggers under the restore's run. The
 * updated_at triggers are suspended for the restore's own statements
 * (ALTER TABLE is transactional: an error puts them back), so that a
 * restored row gets its updated_at from the snapshot and the content equals
 * the snapshot exactly; the restore checks that it does, table by table,
 * against the checksums taken with the snapshot, and fails otherwise.
 */
create function sync.restore_snapshot(p_snapshot_id bigint, p_run_id bigint)
returns table (table_name text, removed bigint, inserted bigint, restored bigint)
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '128MB'
as $$
declare
  snapshot sync.snapshots;
  restore_run sync.runs;
  problem text;
  step record;
  written bigint;
begin
  select * into snapshot from sync.snapshots s where s.id = p_snapshot_id for update;
  if not found then
    raise exception 'no snapshot %', p_snapshot_id using errcode = 'no_data_found';
  end if;
  if snapshot.dropped_at is not null then
    raise exception 'snapshot % was dropped at %; it cannot be restored', p_snapshot_id, snapshot.dropped_at
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  select * into restore_run from sync.runs r where r.id = p_run_id;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  if restore_run.run_type <> 'rollback' or restore_run.status <> 'running' then
    raise exception 'run % is a % run and %; a restore is recorded as a running rollback run', p_run_id, restore_run.run_type, restore_run.status
      using errcode = 'object_not_in_prerequisite_state';
  end if;

  -- What the snapshot holds must still fit the tables.
  select string_agg(t.key, ', ' order by t.key) into problem
  from jsonb_each(snapshot.tables) t where to_regclass(t.key) is null;
  if problem is not null then
    raise exception 'snapshot % holds tables that no longer exist: %', p_snapshot_id, problem using errcode = 'undefined_table';
  end if;
  select string_agg(format('%s.%s', snapshot.schema_name, t.value ->> 'copy'), ', ' order by t.key) into problem
  from jsonb_each(snapshot.tables) t where to_regclass(format('%I.%I', snapshot.schema_name, t.value ->> 'copy')) is null;
  if problem is not null then
    raise exception 'snapshot % is incomplete: % is missing', p_snapshot_id, problem using errcode = 'object_not_in_prerequisite_state';
  end if;
  select string_agg(format('%s (now: %s; in the snapshot: %s)', t.key,
                           array_to_string(sync.stored_columns(t.key::regclass), ', '),
                           array_to_string(sync.stored_columns(format('%I.%I', snapshot.schema_name, t.value ->> 'copy')::regclass), ', ')),
                    E'\n' order by t.key) into problem
  from jsonb_each(snapshot.tables) t
  where (select array_agg(c order by c) from unnest(sync.stored_columns(t.key::regclass)) c)
        is distinct from (select array_agg(c order by c) from unnest(sync.stored_columns(format('%I.%I', snapshot.schema_name, t.value ->> 'copy')::regclass)) c);
  if problem is not null then
    raise exception 'snapshot % was taken before the columns of some tables changed; it cannot be restored', p_snapshot_id
      using errcode = 'object_not_in_prerequisite_state', detail = problem;
  end if;

  perform sync.lock_out_pulls('restore a snapshot');
  execute (select 'lock table ' || string_agg(t.key, ', ') || ' in share row exclusive mode' from jsonb_each(snapshot.tables) t);
  perform set_config('airlift.run_id', p_run_id::text, true);

  if to_regclass('pg_temp.snapshot_restore_plan') is not null then
    drop table pg_temp.snapshot_restore_plan;
  end if;
  create temp table snapshot_restore_plan on commit drop as
  with recursive copied_tables as (
    select t.key::regclass as source_table, format('%I.%I', snapshot.schema_name, t.value ->> 'copy')::regclass as copy_table
    from jsonb_each(snapshot.tables) t
  ), links as (
    select distinct fk.conrelid as child, fk.confrelid as parent
    from pg_constraint fk
    where fk.contype = 'f' and fk.conrelid <> fk.confrelid
      and fk.conrelid in (select r.source_table from copied_tables r)
      and fk.confrelid in (select r.source_table from copied_tables r)
  ), depth (relation, dependency_depth) as (
    select r.source_table::oid, 0 from copied_tables r
    union all
    select l.child, d.dependency_depth + 1
    from links l join depth d on d.relation = l.parent
    where d.dependency_depth < (select count(*) from copied_tables)
  )
  select r.source_table, r.copy_table, max(d.dependency_depth) as dependency_depth,
         sync.primary_key_columns(r.source_table) as key_columns,
         sync.stored_columns(r.source_table) as stored_columns,
         -- a row of this table that something still points at stays until pass 3
         (select coalesce(string_agg(format(' and not exists (select from %s r where (%s) = (%s))', fk.conrelid::regclass,
                   (select string_agg(format('r.%I', a.attname), ', ' order by k.position)
                    from unnest(fk.conkey) with ordinality as k (attnum, position)
                    join pg_attribute a on a.attrelid = fk.conrelid and a.attnum = k.attnum),
                   (select string_agg(format('t.%I', a.attname), ', ' order by k.position)
                    from unnest(fk.confkey) with ordinality as k (attnum, position)
                    join pg_attribute a on a.attrelid = fk.confrelid and a.attnum = k.attnum)), ''), '')
          from pg_constraint fk where fk.contype = 'f' and fk.confrelid = r.source_table) as unreferenced_condition,
         array(select g.tgname::text from pg_trigger g
               where g.tgrelid = r.source_table and g.tgfoid = to_regproc('app.tg__set_updated_at')::oid and g.tgenabled = 'O'
               order by g.tgname) as updated_at_triggers,
         0::bigint as removed, 0::bigint as inserted, 0::bigint as restored
  from copied_tables r
  join depth d on d.relation = r.source_table
  group by r.source_table, r.copy_table;

  select string_agg(p.source_table::text, ', ') into problem from pg_temp.snapshot_restore_plan p where p.key_columns is null;
  if problem is not null then
    raise exception 'cannot restore % without a primary key', problem using errcode = 'object_not_in_prerequisite_state';
  end if;

  for step in select * from pg_temp.snapshot_restore_plan p where cardinality(p.updated_at_triggers) > 0 loop
    execute (select string_agg(format('alter table %s disable trigger %I', step.source_table, g), '; ') from unnest(step.updated_at_triggers) g);
  end loop;

  -- 1. Children first: rows the snapshot does not have and nothing points at.
  for step in select * from pg_temp.snapshot_restore_plan p order by p.dependency_depth desc, p.source_table::text loop
    execute format('delete from %s t where not exists (select from %s c where (%s) = (%s))%s',
                   step.source_table, step.copy_table, sync.column_list('c', step.key_columns), sync.column_list('t', step.key_columns),
                   step.unreferenced_condition);
    get diagnostics written = row_count;
    update pg_temp.snapshot_restore_plan p set removed = p.removed + written where p.source_table = step.source_table;
  end loop;

  -- 2. Parents first: rows that differ get the snapshot's values, then the
  --    rows the snapshot has and the table lacks are inserted.
  for step in select * from pg_temp.snapshot_restore_plan p order by p.dependency_depth, p.source_table::text loop
    if cardinality(step.stored_columns) > cardinality(step.key_columns) then
      execute format('update %s t set (%s) = row(%s) from %s c where (%s) = (%s) and row(%s) is distinct from row(%s)',
                     step.source_table,
                     sync.column_list(null, array(select c from unnest(step.stored_columns) c where c <> all (step.key_columns))),
                     sync.column_list('c', array(select c from unnest(step.stored_columns) c where c <> all (step.key_columns))),
                     step.copy_table, sync.column_list('t', step.key_columns), sync.column_list('c', step.key_columns),
                     sync.column_list('t', step.stored_columns), sync.column_list('c', step.stored_columns));
      get diagnostics written = row_count;
      update pg_temp.snapshot_restore_plan p set restored = written where p.source_table = step.source_table;
    end if;
    execute format('insert into %s (%s) overriding system value select %s from %s c where not exists (select from %s t where (%s) = (%s))',
                   step.source_table, sync.column_list(null, step.stored_columns), sync.column_list('c', step.stored_columns),
                   step.copy_table, step.source_table, sync.column_list('t', step.key_columns), sync.column_list('c', step.key_columns));
    get diagnostics written = row_count;
    update pg_temp.snapshot_restore_plan p set inserted = written where p.source_table = step.source_table;
  end loop;

  -- 3. Children first: the rest of the rows the snapshot does not have.
  for step in select * from pg_temp.snapshot_restore_plan p order by p.dependency_depth desc, p.source_table::text loop
    execute format('delete from %s t where not exists (select from %s c where (%s) = (%s))',
                   step.source_table, step.copy_table, sync.column_list('c', step.key_columns), sync.column_list('t', step.key_columns));
    get diagnostics written = row_count;
    update pg_temp.snapshot_restore_plan p set removed = p.removed + written where p.source_table = step.source_table;
  end loop;

  for step in select * from pg_temp.snapshot_restore_plan p where cardinality(p.updated_at_triggers) > 0 loop
    execute (select string_agg(format('alter table %s enable trigger %I', step.source_table, g), '; ') from unnest(step.updated_at_triggers) g);
  end loop;

  -- The proof: every table's content checksum equals the snapshot's.
  select string_agg(format('%s: %s rows, checksum %s; the snapshot: %s rows, checksum %s', p.source_table,
                           live.content ->> 'rows', live.content ->> 'checksum',
                           snapshot.tables -> p.source_table::text ->> 'rows', snapshot.tables -> p.source_table::text ->> 'checksum'),
                    E'\n' order by p.source_table::text) into problem
  from pg_temp.snapshot_restore_plan p
  cross join lateral (select sync.table_content_checksum(p.source_table, p.stored_columns) as content) live
  where live.content is distinct from (snapshot.tables -> p.source_table::text) - 'copy';
  if problem is not null then
    raise exception 'the restore of snapshot % did not reproduce it; nothing was changed', p_snapshot_id
      using errcode = 'data_corrupted', detail = problem;
  end if;

  -- The data runs since the snapshot are undone: completed ones are marked
  -- rolled back, unfinished ones cancelled (a pull would otherwise resume
  -- them), so that the next pull starts from the runs the snapshot reflects.
  update sync.runs r
  set status = case when r.status = 'completed' then 'rolled_back' else 'cancelled' end,
      finished_at = coalesce(r.finished_at, greatest(now(), r.started_at)),
      metadata = r.metadata || jsonb_build_object('rolled_back_by_run', p_run_id, 'rolled_back_at', now(), 'restored_snapshot', p_snapshot_id)
  where (r.id > coalesce(snapshot.last_run_before_snapshot, 0) or r.id = snapshot.run_id)
    and r.run_type in ('full', 'incremental', 'differential')
    and r.status in ('completed', 'failed', 'running', 'pending');

  update sync.snapshots s set restored_at = now(), restored_by_run_id = p_run_id where s.id = p_snapshot_id;

  return query
    select p.source_table::text, p.removed, p.inserted, p.restored
    from pg_temp.snapshot_restore_plan p
    order by p.dependency_depth, p.source_table::text;
  drop table pg_temp.snapshot_restore_plan;
end;
$$;
comment on function sync.restore_snapshot(bigint, bigint) is E'Brings every table a snapshot copied (app tables, sync.id_map, staging.airtable_records) back to the copy, set-based, one statement per table and pass: deletes rows the snapshot does not have (children first), updates rows that differ and inserts missing ones (parents first), in foreign-key order derived from pg_constraint; generated columns are left to the database. Audited under run p_run_id (a running rollback run); updated_at comes from the snapshot. Checks the result against the snapshot''s checksums and fails (XX001) if it differs. Marks the data runs since the snapshot rolled back (or cancelled when unfinished) and the snapshot restored. Refuses an unknown (P0002) or dropped (55000) snapshot, and runs while no pull does (55P03). Returns rows removed, inserted and restored per table. Security definer: the sync role may restore but not write app tables directly.';

create function sync.drop_snapshot(p_snapshot_id bigint) returns sync.snapshots
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  snapshot sync.snapshots;
begin
  select * into snapshot from sync.snapshots s where s.id = p_snapshot_id for update;
  if not found then
    raise exception 'no snapshot %', p_snapshot_id using errcode = 'no_data_found';
  end if;
  if snapshot.dropped_at is not null then
    raise exception 'snapshot % was already dropped at %', p_snapshot_id, snapshot.dropped_at
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  execute format('drop schema if exists %I cascade', snapshot.schema_name);
  update sync.snapshots s set dropped_at = now() where s.id = p_snapshot_id returning s.* into snapshot;
  return snapshot;
end;
$$;
comment on function sync.drop_snapshot(bigint) is E'Drops a snapshot''s schema and its copies, freeing the space, and marks it dropped (its row stays, as history). Refuses an unknown (P0002) or already dropped (55000) snapshot. Security definer: only the owner may drop the schema.';
--! EndIncluded snapshot_functions.sql

/*
 * Attach the checksum triggers to every synced app table (ENABLE ALWAYS,
 * like the audit: replica mode does not bypass them), and fill the table
 * for the rows already there.
 */
do $$
declare
  e record;
begin
  for e in select entity, target_table from sync.entities loop
    execute format('create trigger _800_target_checksums_insert after insert on %s referencing new table as new_rows '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('create trigger _800_target_checksums_update after update on %s referencing new table as new_rows '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('create trigger _800_target_checksums_delete after delete on %s referencing old table as old_rows '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('create trigger _800_target_checksums_truncate after truncate on %s '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('alter table %s enable always trigger _800_target_checksums_insert, enable always trigger _800_target_checksums_update, '
                   'enable always trigger _800_target_checksums_delete, enable always trigger _800_target_checksums_truncate', e.target_table);
  end loop;
end;
$$;
select sync.refresh_target_checksums(m.entity) from sync.entity_mappings m;

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
