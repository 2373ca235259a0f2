--! Previous: sha1:52a4f67b0f5b53fec8235f2a4b7c3bcc7cc79a41
--! Hash: sha1:bef0935c2d4ccdfeb9681b0c11417e244d9f8820
--! Message: messy data lands: field problems, dangling links resolved later, no quarantine cascade; capture before the first pull, push waiting status

/*
 * ===========================================================================
 * Messy data lands (issue 15): every record Airtable holds lands in app.*;
 * what is wrong with it is recorded on the field, never hidden.
 *
 * - sync.field_problems: one row per record, field and rule that the merge
 *   or a validation rule found wrong, with the original value, what landed
 *   (the column emptied, the first of several links, the value kept) and
 *   why; open until a run sees the source fixed. Only a blocking rule (or a
 *   record no row can exist for) still quarantines a record whole, in
 *   sync.record_errors.
 * - app rows carry open_problem_count, so an application or a report can
 *   filter or badge them.
 * - A link to a record that is missing lands empty and keeps the linked id
 *   in its problem; each merge resolves such links set-based once the
 *   target exists.
 * - The target canonical form of a row puts back, for an emptied column,
 *   the value the source holds (from its open problem): a record that
 *   landed with problems verifies equal to its source, and the problems
 *   are reported as what they are.
 * - Domain columns are NOT NULL only where airlift itself guarantees the
 *   value (ids, timestamps, defaults of converted empties): Airtable has no
 *   required fields, so an empty primary field is legal there.
 *
 * Idempotent while current: what is re-created is dropped first, in
 * reverse dependency order; sync_functions.sql, integrity_functions.sql
 * and validation_functions.sql are included again whole (the pattern of
 * the earlier migrations), so each function has one definition, in its
 * fixture.
 * ===========================================================================
 */
drop view if exists sync.open_data_problems;
drop function if exists sync.refresh_problem_rows(text, text[]);
drop function if exists sync.resolve_dangling_links(bigint, text);
drop function if exists sync.record_problems(bigint, text, text);

-- validation_functions.sql
drop function if exists sync.validate_entity(bigint, text, boolean);
drop function if exists sync.rule_checks_sql(text, text);
drop function if exists sync.rule_check_sql(sync.validation_rules, text, text);
drop function if exists sync.matches_format(text, text);

-- integrity_functions.sql
drop trigger if exists _150_keep_rejections_open on sync.record_errors;
drop function if exists sync.rollback_run(bigint, bigint, boolean);
drop function if exists sync.rollback_conflicts(bigint);
drop function if exists sync.tg_record_errors__keep_rejections_open();
drop function if exists sync.mark_rejected_before_staging(bigint, text, jsonb);
drop function if exists sync.finish_stage_only_run(bigint);
drop function if exists sync.count_staged_records(bigint, text);
drop function if exists sync.summarize_verification(bigint, text);
drop function if exists sync.verify_relationships(bigint, text, text, text);
drop function if exists sync.verify_entity(bigint, text, text, text, boolean, boolean);
drop function if exists sync.plan_key_ranges(text, bigint, integer, bigint);
drop function if exists sync.staging_key_splits(text, text, integer);
drop function if exists sync.entity_checksums(text);
drop function if exists sync.table_checksum(text[]);
drop function if exists sync.table_checksum_text(numeric, numeric, numeric);
drop function if exists sync.checksum_term(text, bigint);
drop function if exists sync.source_canonical(text, text[]);
drop function if exists sync.compare_records(text);
drop function if exists sync.source_snapshot_run(text);
drop function if exists sync.target_canonical_sql(text, text);
drop function if exists sync.checksum(jsonb);
drop function if exists sync.mapped_columns(text);
drop function if exists sync.cell_canonical(jsonb, text);

-- sync_functions.sql
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

drop table if exists sync.field_problems;
alter table app.clients drop column if exists open_problem_count;
alter table app.state_regulators drop column if exists open_problem_count;
alter table app.products drop column if exists open_problem_count;
alter table app.registrations drop column if exists open_problem_count;

/*
 * Why: Airtable has no required fields (an empty primary field is legal
 * there), and a record that lands with a problem lands with the column
 * empty. NOT NULL stays only on what airlift guarantees itself.
 */
alter table app.clients alter column name drop not null;
alter table app.state_regulators alter column agency_name drop not null;
alter table app.products alter column name drop not null;
comment on column app.clients.name is E'Client Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';
comment on column app.state_regulators.agency_name is E'Agency Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';
comment on column app.products.name is E'Product Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';

/*
 * Why: one place for what is wrong with a record that landed: the merge's
 * own findings (a cell that does not convert, an empty required value, a
 * value outside a CHECK's range, a link to a record that does not exist, a
 * second link in a single-link field) and the record-local validation
 * rules' warnings. Open until the run that sees the source fixed closes it.
 */
create table sync.field_problems (
  id uuid primary key default gen_random_uuid(),
  entity text not null references sync.entities (entity) on delete cascade,
  source_table text not null,
  airtable_id text not null,
  field text,
  column_name text,
  rule text not null,
  origin text not null,
  value jsonb,
  source_canonical jsonb,
  landed text not null,
  link_key text,
  reason text not null,
  run_id bigint references sync.runs (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  resolved_at timestamptz,
  resolved_by_run_id bigint references sync.runs (id) on delete set null,
  constraint field_problems_origin_is_known check (origin in ('merge', 'rule')),
  constraint field_problems_landed_is_known check (landed in ('empty', 'first_link', 'kept')),
  constraint field_problems_reason_not_blank check (btrim(reason) <> ''),
  constraint field_problems_link_key_for_dangling_links check ((link_key is not null) = (rule = 'dangling_link')),
  constraint field_problems_resolved_after_created check (resolved_at >= created_at)
);
comment on table sync.field_problems is E'What is wrong with records that landed in app.*: one row per record, field and rule, with the original value, what landed and why. Written by the merge (origin merge) and by the validation rules of each pull (origin rule); open until a run sees the source fixed (resolved_at, resolved_by_run_id). Records a blocking rule keeps out are in sync.record_errors instead.';
comment on column sync.field_problems.id is E'Primary key.';
comment on column sync.field_problems.entity is E'The entity of the record.';
comment on column sync.field_problems.source_table is E'The source table (Airtable table id).';
comment on column sync.field_problems.airtable_id is E'The source record id; the app row has the same airtable_id.';
comment on column sync.field_problems.field is E'The field''s name as the mapping names it.';
comment on column sync.field_problems.column_name is E'The app column the field lands in (null for attachment fields, which land as app.attachments rows).';
comment on column sync.field_problems.rule is E'What was broken: cell_conversion, required_value, check_range, dangling_link, extra_links (the merge''s own), or the id of a validation rule (sync.validation_rules).';
comment on column sync.field_problems.origin is E'merge: found by the merge, which decides what lands; rule: a warning of a validation rule, the value kept.';
comment on column sync.field_problems.value is E'The cell as Airtable sent it.';
comment on column sync.field_problems.source_canonical is E'The cell in canonical form (sync.cell_canonical), which the target canonical form of the row puts back for an emptied column, so that checksums compare what the source holds.';
comment on column sync.field_problems.landed is E'What landed: empty (the column left empty, or its converter''s empty value), first_link (the first of several linked records), kept (the value as converted).';
comment on column sync.field_problems.link_key is E'For a dangling link: the linked record id, resolved by a later merge once that record exists.';
comment on column sync.field_problems.reason is E'Why, in words that name the field and the value.';
comment on column sync.field_problems.run_id is E'The run that first found the problem.';
comment on column sync.field_problems.created_at is E'When it was first found.';
comment on column sync.field_problems.updated_at is E'When it last changed.';
comment on column sync.field_problems.resolved_at is E'When a run saw it fixed (or the linked record appear); null while open.';
comment on column sync.field_problems.resolved_by_run_id is E'The run that closed it.';

/* Why: one open problem per record, column and rule; the merge finds it by this key. */
create unique index field_problems_open_key on sync.field_problems (entity, airtable_id, coalesce(column_name, field, ''), rule) where resolved_at is null;
comment on index sync.field_problems_open_key is E'One open problem per record, column and rule: how a run finds the problem it saw before.';
/* Why: each merge resolves dangling links set-based, by the linked id. */
create index field_problems_dangling_links_idx on sync.field_problems (entity, column_name, link_key) where resolved_at is null and link_key is not null;
comment on index sync.field_problems_dangling_links_idx is E'The open dangling links of an entity by linked record id: what each merge tries to resolve.';
/* Why: reports group the open problems by table, field and rule. */
create index field_problems_open_by_rule_idx on sync.field_problems (entity, field, rule) where resolved_at is null;
comment on index sync.field_problems_open_by_rule_idx is E'Open problems by table, field and rule, for status and verification reports.';

create trigger _100_set_updated_at before update on sync.field_problems for each row execute function app.tg__set_updated_at();
select audit.enable_for('sync.field_problems');

/*
 * Why: an application or a report can filter or badge rows with problems
 * without joining sync tables it may not read.
 */
alter table app.clients add column open_problem_count integer not null default 0;
alter table app.state_regulators add column open_problem_count integer not null default 0;
alter table app.products add column open_problem_count integer not null default 0;
alter table app.registrations add column open_problem_count integer not null default 0;
comment on column app.clients.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';
comment on column app.state_regulators.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';
comment on column app.products.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';
comment on column app.registrations.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';

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
  retried_merged bigint,
  landed_with_problems bigint
);
comment on type sync.merge_result is E'What one merge did: for the records fetched in the run, how many were inserted, updated, unchanged or quarantined (kept out by a blocking rule), and how many of them landed with open field problems; and how many earlier-quarantined records were retried and merged.';

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
  blocking_problems text;
  emptied_columns text;
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
  problem_changes text[];
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
         -- Every problem lands the record (no cascade, nothing hidden): it
         -- names the field, the column, the rule, the value as sent, what
         -- landed and the value in canonical form (what the target canonical
         -- form puts back for an emptied column, so checksums still compare
         -- what the source holds).
         string_agg(concat_ws(', ',
           -- the cell cannot be converted: the column lands empty. Converters
           -- that signal it with null are asked why only then; the others
           -- are asked always (cheap)
           case when ec.conversion in ('checkbox', 'multi_select', 'collaborator')
             then format('case when sync.cell_problem(c0.%1$I, %2$L) is not null then jsonb_build_object(''field'', %3$L, ''column'', %4$L, ''rule'', ''cell_conversion'', ''landed'', ''empty'', ''value'', c0.%1$I, ''canonical'', sync.cell_canonical(c0.%1$I, %2$L), ''reason'', sync.cell_problem(c0.%1$I, %2$L)) end',
                         'raw__' || ec.column_name, ec.conversion, field_name, ec.column_name)
             else format('case when c0.%1$I is not null and jsonb_typeof(c0.%1$I) <> ''null'' and c0.%5$I is null and sync.cell_problem(c0.%1$I, %2$L) is not null then jsonb_build_object(''field'', %3$L, ''column'', %4$L, ''rule'', ''cell_conversion'', ''landed'', ''empty'', ''value'', c0.%1$I, ''canonical'', sync.cell_canonical(c0.%1$I, %2$L), ''reason'', sync.cell_problem(c0.%1$I, %2$L)) end',
                         'raw__' || ec.column_name, ec.conversion, field_name, ec.column_name,
                         case when ec.conversion = 'link' then 'key__' || ec.column_name else ec.column_name end)
           end,
           -- a required value is missing (an unconvertible one is reported
           -- above): the column lands empty (a blank text becomes null)
           case when ec.required then
             format('case when coalesce(btrim(c0.%1$I::text), '''') = '''' and (c0.%2$I is null or jsonb_typeof(c0.%2$I) in (''null'', ''string'')) then jsonb_build_object(''field'', %3$L, ''column'', %1$L, ''rule'', ''required_value'', ''landed'', ''empty'', ''value'', c0.%2$I, ''canonical'', sync.cell_canonical(c0.%2$I, %5$L), ''reason'', %4$L) end',
                    ec.column_name, 'raw__' || ec.column_name, field_name, format('%s is required but empty', field_name), ec.conversion) end,
           -- a value outside the range a CHECK constraint allows: the column
           -- lands empty
           case when ec.min_value is not null or ec.max_value is not null then
             format('case when c0.%1$I not between %2$s and %3$s then jsonb_build_object(''field'', %4$L, ''column'', %1$L, ''rule'', ''check_range'', ''landed'', ''empty'', ''value'', c0.%5$I, ''canonical'', sync.cell_canonical(c0.%5$I, %7$L), ''reason'', %6$L) end',
                    ec.column_name, coalesce(ec.min_value, '-1e100'), coalesce(ec.max_value, '1e100'), field_name, 'raw__' || ec.column_name,
                    format('%s must be between %s and %s', field_name, ec.min_value, ec.max_value), ec.conversion) end,
           -- a link to a record that is missing, deleted or kept out by a
           -- blocking rule: the foreign key lands empty and the linked id is
           -- kept, for a later merge to resolve (sync.resolve_dangling_links)
           case when ec.conversion = 'link' then
             format('case when c0.%1$I is not null and %2$I.id is null then jsonb_build_object(''field'', %3$L, ''column'', %7$L, ''rule'', ''dangling_link'', ''landed'', ''empty'', ''value'', c0.%4$I, ''canonical'', to_jsonb(c0.%1$I), ''link_key'', c0.%1$I, ''reason'', format(%5$L, c0.%1$I, '
                    || 'case when exists (select from %6$s d where d.airtable_id = c0.%1$I) then ''was deleted'' '
                    || 'when exists (select from sync.record_errors e where e.resolved_at is null and e.airtable_id = c0.%1$I) then ''is in quarantine'' '
                    || 'else ''does not exist'' end)) end',
                    'key__' || ec.column_name, 'ref__' || ec.column_name, field_name, 'raw__' || ec.column_name,
                    field_name || ' links to %s, which %s in ' || linked.entity || ': the link is left empty until it does', linked.target_table, ec.column_name) end,
           -- more than one linked record where the column holds one: the
           -- first lands, the others are named
           case when ec.conversion = 'link' then
             format('case when c0.%2$I is not null and jsonb_array_length(c0.%1$I) > 1 then jsonb_build_object(''field'', %3$L, ''column'', %4$L, ''rule'', ''extra_links'', ''landed'', ''first_link'', ''value'', c0.%1$I, ''canonical'', to_jsonb(c0.%2$I), ''reason'', format(%5$L, jsonb_array_length(c0.%1$I), c0.%2$I, '
                    || '(select string_agg(x.linked, '', '' order by x.n) from jsonb_array_elements_text(c0.%1$I) with ordinality as x (linked, n) where x.n > 1))) end',
                    'raw__' || ec.column_name, 'key__' || ec.column_name, field_name, ec.column_name,
                    field_name || ' links %s records where one is kept: %s is linked, not %s') end
         ), ', '),
         -- the value a column lands with when a problem empties it
         string_agg(format('%1$I = case when e.emptied @> array[%1$L] then %2$s else c.%1$I end', ec.column_name,
                           case ec.conversion when 'multi_select' then '''{}''::text[]' when 'checkbox' then 'false' else 'null' end),
                    ', ' order by ec.column_name)
    into resolved, joins, columns, assignments, compared_old, compared_new, problems, emptied_columns
  from sync.entity_columns ec
  left join sync.entities linked on linked.entity = ec.linked_entity
  cross join lateral (select format('s.fields -> %L', mapping.field_ids ->> ec.column_name) as cell,
                             coalesce(mapping.field_names ->> ec.column_name, ec.column_name) as field_name) piece
  where ec.entity = p_entity and mapping.field_ids ? ec.column_name;

  converted := sync.converted_cells_sql(p_entity);
  if converted is null then
    raise exception 'the mapping for % maps no column', p_entity using errcode = 'undefined_object';
  end if;
  -- Only a blocking validation rule keeps a record out (quarantined whole,
  -- in sync.record_errors), and a record whose id is not an Airtable id,
  -- which no row can hold.
  blocking_problems := concat_ws(', ',
    $b$case when c0.airtable_id !~ '^rec[A-Za-z0-9]{14}$' then jsonb_build_object('field', null, 'value', to_jsonb(c0.airtable_id), 'reason', 'not an Airtable record id') end$b$,
    sync.rule_checks_sql(p_entity, 'blocking'));

  select coalesce(string_agg(format('s.fields -> %L as %I', a.value, 'attachments__' || a.key), ', '), 'null::jsonb as no_attachments'),
         coalesce(string_agg(format('c0.%I', 'attachments__' || a.key), ', '), 'c0.no_attachments'),
         -- a cell of attachments that is not one: none of its files land
         string_agg(format('case when sync.cell_problem(c0.%1$I, ''attachments'') is not null then jsonb_build_object(''field'', %2$L, ''column'', null, ''rule'', ''cell_conversion'', ''landed'', ''empty'', ''value'', c0.%1$I, ''canonical'', null, ''reason'', sync.cell_problem(c0.%1$I, ''attachments'')) end',
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
           -- a row deleted here and not yet pushed is left alone (see below)
           false as held_deleted,
           %1$s,
           %2$s,
           -- every problem of the record the row lands with, and every one
           -- that keeps it out, nulls dropped (expressions, not a sub-select
           -- per record)
           jsonb_path_query_array(jsonb_build_array(%3$s), '$[*] ? (@ != null)') as problems,
           jsonb_path_query_array(jsonb_build_array(%7$s), '$[*] ? (@ != null)') as blocking_problems,
           -- open problems of the row once it lands (set below)
           0 as problem_count
    from (
      select s.airtable_id, s.run_id = $1 as fetched_this_run, s.checksum, %4$s, %5$s
      from staging.airtable_records s
      where s.table_id = $2
        and ((s.run_id = $1 and s.page_seq > $3 and s.page_seq <= $4)
             or ($5 and s.run_id is distinct from $1
                 and exists (select from sync.record_errors e
                             where e.resolved_at is null and e.source_table = s.table_id and e.airtable_id = s.airtable_id)
                 -- not a version older than a rejection of the record: only
                 -- staging it again can release that one
                 and not exists (select from sync.record_errors r
                                 where r.resolved_at is null and r.rejected_before_staging and r.source_table = s.table_id
                                   and r.airtable_id = s.airtable_id and r.created_at >= s.fetched_at)))
      offset 0 -- a fence: each cell is converted once, not again for every use above
    ) c0 %6$s
  $sql$, resolved, attachment_columns, problems, converted, attachment_cells, coalesce(joins, ''), blocking_problems)
  using p_run_id, mapping.table_id, merged_through, merge_upto, p_final;

  -- A problem that empties a column lands the column empty (its
  -- converter's empty value: null, an empty list, an unchecked box), and
  -- every candidate knows how many problems its row will have open: its
  -- own, and the validation rules' warnings still open from earlier runs.
  execute format($sql$
    update merge_candidates c
    set problem_count = jsonb_array_length(c.problems), %s
    from (select m.position,
                 array(select p ->> 'column' from jsonb_array_elements(m.problems) p
                       where p ->> 'landed' = 'empty' and p ->> 'column' is not null) as emptied
          from merge_candidates m where m.problems <> '[]'::jsonb) e
    where c.position = e.position
  $sql$, emptied_columns);
  update merge_candidates c
  set problem_count = c.problem_count + w.open_warnings
  from (select fp.airtable_id, count(*) as open_warnings from sync.field_problems fp
        where fp.entity = p_entity and fp.origin = 'rule' and fp.resolved_at is null
        group by fp.airtable_id) w
  where w.airtable_id = c.airtable_id;
  analyze pg_temp.merge_candidates;

  -- Quarantine each new blocking problem (an open entry for the same
  -- record, field and reason is not repeated), and close the entries that
  -- no longer apply: a record quarantined before this version of airlift
  -- for a problem it now lands with is released here.
  insert into sync.record_errors (run_id, source_table, airtable_id, field, value, reason)
  select p_run_id, mapping.table_id, c.airtable_id, p ->> 'field', p -> 'value', p ->> 'reason'
  from merge_candidates c
  cross join lateral jsonb_array_elements(c.blocking_problems) as p
  where not exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = mapping.table_id and e.airtable_id = c.airtable_id
                      and e.field is not distinct from p ->> 'field' and e.reason = p ->> 'reason');

  update sync.record_errors e
  set resolved_at = now(), resolved_by_run_id = p_run_id
  from merge_candidates c
  where e.resolved_at is null and e.source_table = mapping.table_id and e.airtable_id = c.airtable_id
    and not exists (select from jsonb_array_elements(c.blocking_problems) as p
                    where e.field is not distinct from p ->> 'field' and e.reason = p ->> 'reason');

  -- Two-way sync: a column changed here and not yet pushed (an open entry
  -- in sync.outbox) keeps its local value, and a row deleted here is not
  -- written at all (it stays deleted): the push decides them against
  -- Airtable's value (sync.plan_push), so a pull never overwrites an
  -- unpushed change.
  -- A field parked for a person (an open manual conflict) is held the same
  -- way until it is resolved.
  if exists (select from sync.outbox o where o.entity = p_entity and o.status in ('pending', 'failed', 'in_flight'))
     or exists (select from sync.conflicts k where k.entity = p_entity and k.status = 'open') then
    execute format($sql$
      update merge_candidates c
      set %1$s, held_deleted = h.deleting
      from (select x.row_id, bool_or(x.deleting) as deleting,
                   coalesce(array_agg(x.column_name) filter (where x.column_name is not null), '{}') as held_columns
            from (select o.row_id, o.operation = 'delete' as deleting, u.column_name
                  from sync.outbox o
                  left join lateral unnest(o.changed_columns) as u (column_name) on true
                  where o.entity = $1 and o.status in ('pending', 'failed', 'in_flight')
                  union all
                  select k.row_id, false, k.column_name
                  from sync.conflicts k
                  where k.entity = $1 and k.status = 'open') x
            group by x.row_id) h
      join %2$s t on t.id = h.row_id
      where c.airtable_id = t.airtable_id
    $sql$, (select string_agg(format('%1$I = case when h.held_columns @> array[%1$L] then t.%1$I else c.%1$I end', ec.column_name), ', ')
            from sync.entity_columns ec where ec.entity = p_entity and mapping.field_ids ? ec.column_name),
       entity.target_table) using p_entity;
  end if;

  -- The field problems of the records that land: new ones recorded, changed
  -- ones rewritten, those the source fixed closed by this run. Before the
  -- upsert, so that each written row's target checksum reads them.
  if to_regclass('pg_temp.problems_seen') is not null then drop table pg_temp.problems_seen; end if;
  create temp table problems_seen on commit drop as
  select c.airtable_id, c.problems from merge_candidates c
  where c.blocking_problems = '[]'::jsonb and not c.held_deleted
    and (c.problems <> '[]'::jsonb
         or exists (select from sync.field_problems fp
                    where fp.entity = p_entity and fp.airtable_id = c.airtable_id and fp.origin = 'merge' and fp.resolved_at is null));
  problem_changes := sync.record_problems(p_run_id, p_entity, 'merge');
  drop table pg_temp.problems_seen;

  -- Upsert the candidates that land, writing only rows that differ (a
  -- record that reappears is restored: deleted_at goes back to null).
  if to_regclass('pg_temp.merge_written') is not null then drop table pg_temp.merge_written; end if;
  create temp table merge_written (airtable_id text primary key, id uuid not null, was_inserted boolean) on commit drop;
  upsert := format($sql$
    with written as (
      insert into %1$s as t (airtable_id, open_problem_count, %2$s)
      select airtable_id, problem_count, %2$s from merge_candidates
      where blocking_problems = '[]'::jsonb and not held_deleted and position between $1 and $2
      on conflict (airtable_id) do update set %3$s, open_problem_count = excluded.open_problem_count, deleted_at = null
      where row(%4$s, t.open_problem_count, t.deleted_at) is distinct from row(%5$s, excluded.open_problem_count, null::timestamptz)
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
        for failed_row in select mc.position, mc.airtable_id from merge_candidates mc
                          where mc.position between chunk_start and chunk_start + chunk_size - 1 and mc.blocking_problems = '[]'::jsonb and not mc.held_deleted
        loop
          begin
            execute upsert using failed_row.position, failed_row.position;
          exception when others then
            update merge_candidates mc
            set blocking_problems = jsonb_build_array(jsonb_build_object('field', null, 'value', null, 'reason', 'rejected by the database: ' || sqlerrm))
            where mc.position = failed_row.position;
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
    where c.blocking_problems = '[]'::jsonb
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
      where c.blocking_problems = '[]'::jsonb
        and not c.problems @> jsonb_build_array(jsonb_build_object('field', $1::text, 'rule', 'cell_conversion'))
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
      where a.%1$I = t.id and a.field_name = $1 and a.deleted_at is null and c.blocking_problems = '[]'::jsonb
        and not c.problems @> jsonb_build_array(jsonb_build_object('field', $1::text, 'rule', 'cell_conversion'))
        and not exists (select from jsonb_array_elements(coalesce(c.%3$I, '[]'::jsonb)) as file where file ->> 'id' = a.airtable_attachment_id)
    $sql$, entity.attachment_owner_column, entity.target_table, 'attachments__' || attachment.field_name) using attachment.field_name;
  end loop;

  -- A row whose problems changed while the row itself did not (a value
  -- out of range changed to another out of range) gets its count and
  -- target checksum put right; and, in the final call, links to records
  -- that have appeared since are resolved.
  perform sync.refresh_problem_rows(p_run_id, p_entity, problem_changes);
  if p_final then
    perform sync.resolve_dangling_links(p_run_id, p_entity);
  end if;

  select p_entity,
         count(*) filter (where c.fetched_this_run),
         count(*) filter (where c.fetched_this_run and w.was_inserted),
         count(*) filter (where c.fetched_this_run and not w.was_inserted),
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and w.airtable_id is null),
         count(*) filter (where c.fetched_this_run and c.blocking_problems <> '[]'::jsonb),
         count(*) filter (where not c.fetched_this_run),
         count(*) filter (where not c.fetched_this_run and c.blocking_problems = '[]'::jsonb),
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and c.problems <> '[]'::jsonb)
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
comment on function sync.merge_entity(bigint, text, boolean) is E'Merges an entity''s staged records of a run into its app table, set-based, in batches: each call takes the pages staged since the previous call (so merging can run while the listing goes on), and the final call (p_final) also retries records quarantined by earlier runs, resolves links to records that have appeared since (sync.resolve_dangling_links) and marks the table merged. It converts every mapped cell; a record with problems (bad value, missing required value, out of range, dangling link, several links where one is kept) lands with the column empty (or the first link) and the problem in sync.field_problems, and its row counts its open problems; only a blocking validation rule, or an id no row can hold, quarantines a record in sync.record_errors. It retries earlier-quarantined records, upserts only rows that changed, restores reappearing records, maps ids and attachments. Columns changed here and not yet pushed (open sync.outbox entries) or parked in an open manual conflict keep their local value, and rows deleted here stay deleted: the push, or the person resolving, decides them. Security definer: the sync role may merge but not write app tables directly.';

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
  -- Rows created here and never pushed (no airtable_id) are not touched,
  -- nor rows whose record this run listed but could not stage.
  -- The open problems of a record gone from Airtable are closed with it
  -- (a record that reappears is merged again, with whatever it has then).
  execute format($sql$
    with swept as (
      update %s t set deleted_at = now(), open_problem_count = 0
      where t.deleted_at is null and t.airtable_id is not null
        and not exists (select from staging.airtable_records s
                        where s.table_id = $1 and s.airtable_id = t.airtable_id and s.run_id = $2)
        -- listed but rejected before staging: the record exists in Airtable
        and not exists (select from sync.record_errors e
                        where e.resolved_at is null and e.rejected_before_staging and e.source_table = $1 and e.airtable_id = t.airtable_id)
      returning t.airtable_id
    ), closed as (
      update sync.field_problems fp set resolved_at = now(), resolved_by_run_id = $2
      from swept w
      where fp.entity = $3 and fp.airtable_id = w.airtable_id and fp.resolved_at is null
    )
    select count(*) from swept
  $sql$, target) using mapping.table_id, p_run_id, p_entity into swept;
  update sync.checkpoints cp
  set metadata = cp.metadata || jsonb_build_object('phase', 'swept', 'deleted', swept)
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;
  return swept;
end;
$$;
comment on function sync.sweep_deleted(bigint, text) is E'After a full run has listed every record of a table, soft-deletes the app rows whose Airtable record is gone (audited with the run) and closes their open field problems. A record that reappears is restored by the next merge.';

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
      metadata = r.metadata || jsonb_build_object('retried', totals.retried, 'retried_merged', totals.retried_merged,
                                                  'landed_with_problems', totals.landed_with_problems)
  from (
    select coalesce(sum((m ->> 'fetched')::bigint + untouched + rejected), 0) as fetched,
           coalesce(sum((m ->> 'inserted')::bigint), 0) as inserted,
           coalesce(sum((m ->> 'updated')::bigint), 0) as updated,
           coalesce(sum((m ->> 'unchanged')::bigint + untouched), 0) as unchanged,
           coalesce(sum(deleted), 0) as deleted,
           coalesce(sum((m ->> 'quarantined')::bigint + rejected), 0) as quarantined,
           coalesce(sum((m ->> 'retried')::bigint), 0) as retried,
           coalesce(sum((m ->> 'retried_merged')::bigint), 0) as retried_merged,
           coalesce(sum((m ->> 'landed_with_problems')::bigint), 0) as landed_with_problems
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
  -- A column a problem left empty holds, in canonical form, what the
  -- source holds: the value its open problem keeps (looked up only for
  -- rows with open problems, and only while the column is still empty, so
  -- a value set here since counts as the row's own).
  return format('select t.id, t.airtable_id, t.deleted_at, b.base || coalesce(case when t.open_problem_count > 0 then '
                || '(select jsonb_object_agg(fp.column_name, fp.source_canonical) from sync.field_problems fp '
                || 'where fp.entity = %L and fp.airtable_id = t.airtable_id and fp.resolved_at is null and fp.landed = ''empty'' '
                || 'and fp.column_name is not null and b.base -> fp.column_name = ''null''::jsonb) end, ''{}'') as canonical '
                || 'from %s t%s cross join lateral (select jsonb_build_object(%s) as base) b where t.airtable_id is not null',
                p_entity, coalesce(p_rows, target::text), coalesce(joins, ''), pairs);
end;
$$;
comment on function sync.target_canonical_sql(text, text) is E'The statement that rebuilds, set-based, the canonical form of every app row of an entity that has an Airtable id (id, airtable_id, deleted_at, canonical): the target side of verification and differentials. A column an open field problem left empty counts as the source value the problem keeps, so a record that landed with problems compares equal to its source. p_rows names another relation of the table''s row type to read instead (a trigger''s transition table).';

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
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  table_id text := (select m.table_id from sync.entity_mappings m where m.entity = p_entity);
  form text;
begin
  -- One jsonb_build_object per record over the mapped columns (in groups
  -- of 50, its limit of arguments), each cell converted by an inlined
  -- sync.cell_canonical with its conversion as a constant: no row per
  -- cell to aggregate again.
  select string_agg(g.pairs, ' || ') into form
  from (select format('jsonb_build_object(%s)', string_agg(format('%L, sync.cell_canonical(f.fields -> %L, %L)', c.column_name, c.field_id, c.conversion),
                                                           ', ' order by c.column_name)) as pairs
        from (select mc.*, (row_number() over (order by mc.column_name) - 1) / 50 as chunk from sync.mapped_columns(p_entity) mc) c
        group by c.chunk) g;
  if form is null then
    return;
  end if;
  return query execute format($sql$
    select s.airtable_id, %s
    from staging.airtable_records s
    -- the fields decompressed once per record, not once per column (offset 0 keeps it a separate step)
    cross join lateral (select s.fields || '{}'::jsonb as fields offset 0) f
    where s.table_id = $1 and s.airtable_id = any ($2)
  $sql$, form) using table_id, p_airtable_ids;
end;
$$;
comment on function sync.source_canonical(text, text[]) is E'The canonical form of staged records, rebuilt from their fields: to name the fields in which source and target differ.';

create function sync.checksum_term(p_checksum text, p_seed bigint) returns bigint
language sql immutable parallel safe strict
as $$ select hashtextextended(p_checksum, p_seed) $$;
comment on function sync.checksum_term(text, bigint) is E'A record checksum''s term in an order-independent table checksum: PostgreSQL''s 64-bit hash of the checksum text under a seed (two seeds give two independent 64-bit sums). Cheaper than slicing the hex (a million terms in about 20 ms); any change of the record checksum changes it. Inlinable.';

create function sync.table_checksum_text(p_records numeric, p_first numeric, p_second numeric) returns text
language sql immutable parallel safe
as $$ select concat_ws(':', coalesce(p_records, 0), coalesce(p_first, 0), coalesce(p_second, 0)) $$;
comment on function sync.table_checksum_text(numeric, numeric, numeric) is E'The text of a table checksum from its parts (record count, the sums of the record checksums'' terms under seeds 0 and 1, see sync.checksum_term). Parts add up across key ranges, so a checksum computed range by range equals the one computed in one pass.';

create function sync.table_checksum(p_checksums text[]) returns text
language sql immutable parallel safe
as $$
  -- Order-independent: a count and two sums of 64-bit hashes of the
  -- checksums; the same records in any order give the same text.
  select sync.table_checksum_text(count(c), sum(sync.checksum_term(c, 0)), sum(sync.checksum_term(c, 1)))
  from unnest(p_checksums) as c
$$;
comment on function sync.table_checksum(text[]) is E'An order-independent checksum of a set of record checksums (the count and two sums of 64-bit hashes of them, see sync.checksum_term): compares whole tables in one pass.';

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
comment on function sync.entity_checksums(text) is E'Whole-table checksums of an entity, rebuilt from the app rows: the source snapshot (quarantine left out) and the live target rows; equal when the target holds exactly what the source says.';

create function sync.staging_key_splits(p_after_key text, p_upto_key text, p_parts integer) returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  -- The bounds of the planner's histogram of staging keys (all tables: an
  -- Airtable id is random, so every table's keys spread alike) that fall
  -- strictly inside the range, thinned to at most p_parts - 1 evenly
  -- spaced ones. No statistics, or a narrow range: no split.
  with inside as (
    select b.key, row_number() over (order by b.key) as n, count(*) over () as total
    from pg_stats st
    cross join lateral unnest(st.histogram_bounds::text::text[]) as b (key)
    where st.schemaname = 'staging' and st.tablename = 'airtable_records' and st.attname = 'airtable_id'
      and (b.key > p_after_key or p_after_key is null) and (b.key < p_upto_key or p_upto_key is null)
  )
  select coalesce(array_agg(i.key order by i.key), '{}')
  from inside i
  where p_parts > 1
    and i.n in (select ceil(k * (i.total + 1)::numeric / least(p_parts, i.total + 1))
                from generate_series(1, least(p_parts, i.total + 1) - 1) k)
$$;
comment on function sync.staging_key_splits(text, text, integer) is E'Keys that cut the key range (p_after_key, p_upto_key] (null bounds are open) into at most p_parts parts of about as many staged records, from the planner''s histogram of staging.airtable_records.airtable_id; empty without statistics or inside a narrow range. sync.verify_entity verifies the parts side by side in parallel workers.';

create function sync.plan_key_ranges(p_table_id text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint default null)
returns table (records_total bigint, estimated boolean, range_bounds text[])
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  estimate bigint;
  histogram integer;
begin
  if p_batch_size is null or p_batch_size < 1 then
    raise exception 'the batch size must be a positive whole number, got %', p_batch_size using errcode = 'invalid_parameter_value';
  end if;
  -- The planner's estimate of the table's staged records: the staging
  -- table's row count times the share of its rows that the statistics of
  -- table_id give this table. Null without statistics.
  if p_estimate_from is not null then
    select round(c.reltuples * st.most_common_freqs[array_position(st.most_common_vals::text::text[], p_table_id)])::bigint,
           (select cardinality(k.histogram_bounds::text::text[]) from pg_stats k
            where k.schemaname = 'staging' and k.tablename = 'airtable_records' and k.attname = 'airtable_id')
      into estimate, histogram
    from pg_class c
    join pg_stats st on st.schemaname = 'staging' and st.tablename = 'airtable_records' and st.attname = 'table_id'
    where c.oid = 'staging.airtable_records'::regclass and c.reltuples > 0;
  end if;
  -- A large table with statistics: ranges of about the batch size cut at
  -- the histogram of staged keys (Airtable ids are random, so every
  -- table's keys spread like all of them), without reading a key. Each
  -- range's work counts its keys; the estimate is only the total to show.
  if estimate >= p_estimate_from and ceil(estimate::numeric / p_batch_size) < histogram then
    return query select estimate, true, sync.staging_key_splits(null, null, ceil(estimate::numeric / p_batch_size)::integer);
    return;
  end if;
  -- Otherwise one pass over the snapshot's keys in order: their exact
  -- number and every batch-size-th key, where each range ends.
  return query
  select count(*), false,
         coalesce(array_agg(k.airtable_id order by k.airtable_id) filter (where k.position % p_batch_size = 0), '{}')
  from (select s.airtable_id, row_number() over (order by s.table_id, s.airtable_id) as position
        from staging.airtable_records s
        where s.table_id = p_table_id and s.run_id >= p_snapshot) k;
end;
$$;
comment on function sync.plan_key_ranges(text, bigint, integer, bigint) is E'The key ranges in which airlift verify and airlift diff work through a staged table''s source snapshot (records of run p_snapshot or later): the upper bounds of all ranges but the last (which is open-ended) and the number of keys. Exact (one pass over the keys, every p_batch_size-th key a bound) unless the planner''s statistics estimate at least p_estimate_from records: then about p_batch_size keys per range, cut at the histogram of staged keys without reading any (a pass over a million keys costs about a third of a second), and records_total is that estimate (estimated true), for the work to count each range''s keys itself.';

/*
 * Verification: completeness, integrity and relationships of one entity
 * over one key range (all keys when both bounds are null), written to
 * sync.validation_reports (one row per check) for run p_run_id. A killed
 * verification resumes at the next range (airlift verify keeps the
 * checkpoint); sync.summarize_verification folds the ranges into one report
 * per check.
 *
 * The comparison reads stored checksums: staging's (computed when the
 * record was staged) and sync.target_checksums (rebuilt from each app row
 * by triggers whenever anything writes it), so a million records take one
 * join. Canonical forms are rebuilt only for the records whose checksums
 * differ, to name the fields. p_deep rebuilds every target row's canonical
 * form instead, and reports stored target checksums that are stale.
 */
create function sync.verify_entity(p_run_id bigint, p_entity text, p_after_key text default null, p_upto_key text default null,
                                   p_deep boolean default false, p_relationships boolean default true)
returns setof sync.validation_reports
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '128MB'
set parallel_setup_cost = 0
set parallel_tuple_cost = 0
set enable_hashjoin = on
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  started timestamptz := clock_timestamp();
  snapshot bigint := coalesce(sync.source_snapshot_run(p_entity), 0);
  in_range text := '(%1$s > $4 or $4 is null) and (%1$s <= $5 or $5 is null)';
  target_side text;
  bounds text[];
  part integer;
  part_range text;
  parts text[] := '{}';
  criteria jsonb;
  pass record;
  quarantine record;
  rejected record;
  conflicted text[];
  integrity jsonb := '[]';
  stale jsonb := '[]';
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  criteria := jsonb_build_object('entity', p_entity, 'source_snapshot_run', nullif(snapshot, 0),
                                 'after_key', p_after_key, 'upto_key', p_upto_key, 'deep', p_deep,
                                 'source', 'staging.airtable_records.checksum',
                                 'target', case when p_deep then 'canonical forms rebuilt from the app rows'
                                                else 'sync.target_checksums (rebuilt from each app row by triggers)' end);
  -- Verified over all keys in one call, the reports are final as written:
  -- what sync.summarize_verification makes of a single range, without
  -- rewriting them (and their details) once more.
  if p_after_key is null and p_upto_key is null then
    criteria := criteria - array['after_key', 'upto_key'] || jsonb_build_object('key_ranges', 1);
  end if;
  -- the range cut into parts at staging's key histogram, verified side by
  -- side (see below); bounds as literals, so each part's plan reads its
  -- own slice of the two indexes. Not with p_deep: each part would read
  -- the app rows (and their linked rows) again.
  bounds := array_prepend(p_after_key, sync.staging_key_splits(p_after_key, p_upto_key, case when p_deep then 1 else 6 end)) || p_upto_key;
  for part in 1 .. cardinality(bounds) - 1 loop
    part_range := '(%1$s > ' || coalesce(quote_literal(bounds[part]), 'null') || ' or ' || case when bounds[part] is null then 'true' else 'false' end || ')'
               || ' and (%1$s <= ' || coalesce(quote_literal(bounds[part + 1]), 'null') || ' or ' || case when bounds[part + 1] is null then 'true' else 'false' end || ')';
    target_side := case
      when p_deep then format('select x.airtable_id, sync.checksum(x.canonical) as checksum, x.deleted_at is not null as deleted from (%s) x where %s',
                              sync.target_canonical_sql(p_entity), format(part_range, 'x.airtable_id'))
      else format('select c.airtable_id, c.checksum, c.deleted from sync.target_checksums c where c.entity = $3 and %s', format(part_range, 'c.airtable_id'))
    end;
    parts := parts || format($sql$
      -- grouped by whether the record is alike on both sides: for the
      -- records alike (nearly all) only a count and the source's checksum
      -- terms (the target's are the same); the others (few) are kept whole
      -- for the statement below (an aggregate per measure over every row
      -- would cost a third more)
      select k.source_run, k.alike,
             count(*) as records,
             sum(sync.checksum_term(k.source_checksum, 0)) as source_first,
             sum(sync.checksum_term(k.source_checksum, 1)) as source_second,
             array_agg(k.airtable_id) filter (where not k.alike) as ids,
             array_agg(k.in_source) filter (where not k.alike) as in_source,
             array_agg(k.in_target) filter (where not k.alike) as in_target,
             array_agg(k.target_deleted) filter (where not k.alike) as target_deleted,
             array_agg(k.source_checksum) filter (where not k.alike) as source_checksums,
             array_agg(k.target_checksum) filter (where not k.alike) as target_checksums
      from (
        select coalesce(s.airtable_id, t.airtable_id) as airtable_id,
               s.airtable_id is not null as in_source, coalesce(not t.deleted, false) as in_target, coalesce(t.deleted, false) as target_deleted,
               s.checksum as source_checksum, s.run_id as source_run, t.checksum as target_checksum,
               coalesce(s.checksum = t.checksum and not t.deleted, false) as alike
        from (select s.airtable_id, s.checksum, s.run_id from staging.airtable_records s
              where s.table_id = $1 and s.run_id >= $2 and %s) s
        full join (%s) t on t.airtable_id = s.airtable_id
      ) k
      group by k.source_run, k.alike
    $sql$, format(part_range, 's.airtable_id'), target_side);
  end loop;

  -- Completeness and the records whose checksums differ, in one pass: the
  -- source snapshot's keys full-joined with the target's. Both sides are
  -- covering indexes in key order, so a merge join reads them once without
  -- building a hash of a million keys. A merge join runs in one process,
  -- so the range is cut into parts (at most six, at staging's histogram
  -- bounds) that a Parallel Append hands to the parallel workers, each
  -- part aggregated on its own by the run that last read the source
  -- record and whether it is alike (a few groups, hashed: the runs come
  -- for free); the groups, and the few records not alike, are added up
  -- here. A record alike on both sides has the same checksum terms on
  -- both: the target's sums are those of the records alike, plus the
  -- target terms of the target records not alike (few records hashed
  -- twice instead of every one). Details are built below, on few rows.
  perform set_config('enable_hashjoin', 'off', true);
  execute format($sql$
    with parts as materialized (%s),
    odd as (
      select o.* from parts p
      cross join lateral unnest(p.ids, p.in_source, p.in_target, p.target_deleted, p.source_checksums, p.target_checksums)
        as o (airtable_id, in_source, in_target, target_deleted, source_checksum, target_checksum)
      where not p.alike
    ), alike as (
      select coalesce(sum(p.records), 0) as records, coalesce(sum(p.source_first), 0) as first, coalesce(sum(p.source_second), 0) as second
      from parts p where p.alike
    )
    select (a.records + (select count(*) from odd o where o.in_source))::bigint as source_records,
           (a.records + (select count(*) from odd o where o.in_target))::bigint as target_records,
           (select sum(p.source_first) from parts p) as source_first,
           (select sum(p.source_second) from parts p) as source_second,
           a.first + coalesce((select sum(sync.checksum_term(o.target_checksum, 0)) from odd o where o.in_target), 0) as target_first,
           a.second + coalesce((select sum(sync.checksum_term(o.target_checksum, 1)) from odd o where o.in_target), 0) as target_second,
           (a.records + (select count(*) from odd o where o.in_source and o.in_target))::bigint as compared,
           array(select distinct x.source_run from parts x where x.source_run is not null order by x.source_run) as source_runs,
           array(select o.airtable_id from odd o where o.in_source and not o.in_target and not o.target_deleted order by o.airtable_id) as missing,
           array(select o.airtable_id from odd o where o.in_source and o.target_deleted order by o.airtable_id) as deleted_in_target,
           array(select o.airtable_id from odd o where o.in_target and not o.in_source order by o.airtable_id) as not_in_source,
           array(select o.airtable_id from odd o where o.in_source and o.in_target and o.source_checksum is distinct from o.target_checksum
                 order by o.airtable_id) as conflicted
    from alike a
  $sql$, array_to_string(parts, ' union all '))
  into pass using mapping.table_id, snapshot, p_entity;
  perform set_config('enable_hashjoin', 'on', true);

  -- The quarantine of the range (few records): in the source snapshot but
  -- not expected in the target, so left out of the source's counts and
  -- table checksum and of the discrepancies.
  execute format($sql$
    select count(*) as records, coalesce(sum(sync.checksum_term(s.checksum, 0)), 0) as first, coalesce(sum(sync.checksum_term(s.checksum, 1)), 0) as second,
           -- in the target unless the pass found it missing or deleted there
           count(*) filter (where not (s.airtable_id = any ($6) or s.airtable_id = any ($7))) as in_target,
           coalesce(array_agg(s.airtable_id order by s.airtable_id), '{}') as ids
    from (select distinct e.airtable_id from sync.record_errors e where e.resolved_at is null and e.source_table = $1 and %s) q
    join staging.airtable_records s on s.table_id = $1 and s.airtable_id = q.airtable_id and s.run_id >= $2
  $sql$, format(in_range, 'e.airtable_id'))
  into quarantine using mapping.table_id, snapshot, p_entity, p_after_key, p_upto_key, pass.missing, pass.deleted_in_target;

  -- Records the runner could not stage (a broken envelope, text PostgreSQL
  -- cannot store) and that are still in quarantine: named with their
  -- reason. Staging holds an older version of such a record, or none; when
  -- the source snapshot does not hold it, it is quarantined all the same
  -- (the source has it, unreadable), so it is listed with the quarantine
  -- and is no discrepancy, though the source's counts cannot include it.
  execute format($sql$
    select coalesce(jsonb_agg(jsonb_build_object('record', e.airtable_id, 'field', e.field, 'value', e.value, 'reason', e.reason)
                              order by e.airtable_id, e.field, e.reason), '[]') as details,
           coalesce(array_agg(distinct e.airtable_id) filter (where not e.in_snapshot), '{}') as outside_snapshot
    from (select e.*, exists (select from staging.airtable_records s
                              where s.table_id = $1 and s.airtable_id = e.airtable_id and s.run_id >= $2) as in_snapshot
          from sync.record_errors e
          where e.resolved_at is null and e.source_table = $1 and %s
            and (e.rejected_before_staging
                 or not exists (select from staging.airtable_records s where s.table_id = $1 and s.airtable_id = e.airtable_id))) e
  $sql$, format(in_range, 'e.airtable_id'))
  into rejected using mapping.table_id, snapshot, p_entity, p_after_key, p_upto_key;

  return query
  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  select p_run_id, 'completeness_check', p_entity, target::text, pass.source_records + cardinality(pass.not_in_source),
         cardinality(d.details) = 0, cardinality(d.details), to_jsonb(d.details),
         criteria || jsonb_build_object(
           'source_records', pass.source_records,
           -- the runs that last read the range's source records (validate_entity
           -- checks again only those of runs whose findings it cannot reuse)
           'source_runs', to_jsonb(pass.source_runs),
           'quarantined', quarantine.records + cardinality(rejected.outside_snapshot),
           'target_records', pass.target_records,
           'quarantined_records', (select coalesce(jsonb_agg(q order by q), '[]')
                                   from (select unnest(quarantine.ids) union select unnest(rejected.outside_snapshot)) x (q)),
           'rejected_before_staging', rejected.details,
           'source_records_verified', pass.source_records - quarantine.records,
           -- whole-table checksums from the same pass
           'source_table_checksum', sync.table_checksum_text(pass.source_records - quarantine.records,
                                                             coalesce(pass.source_first, 0) - quarantine.first, coalesce(pass.source_second, 0) - quarantine.second),
           'target_table_checksum', sync.table_checksum_text(pass.target_records, pass.target_first, pass.target_second))
         -- for a range, their parts, which add up across ranges
         || case when criteria ? 'after_key' then jsonb_build_object(
              'source_checksum_parts', jsonb_build_array(pass.source_records - quarantine.records,
                                                         coalesce(pass.source_first, 0) - quarantine.first, coalesce(pass.source_second, 0) - quarantine.second),
              'target_checksum_parts', jsonb_build_array(pass.target_records, coalesce(pass.target_first, 0), coalesce(pass.target_second, 0)))
            else '{}' end,
         (extract(epoch from clock_timestamp() - started) * 1000)::int
  from (select array(
          select jsonb_build_object('record', x.id, 'field', null, 'value', null, 'rule', x.rule)
          from (select unnest(pass.missing) as id, 'in the source but missing from the target' as rule
                union all select unnest(pass.deleted_in_target), 'in the source but deleted in the target'
                union all select unnest(pass.not_in_source), 'in the target but not in the source snapshot') x
          where case when x.rule like 'in the target%' then not x.id = any (rejected.outside_snapshot) else not x.id = any (quarantine.ids) end
          order by x.id) as details) d
  returning *;

  -- Integrity: the fields in which each differing record differs, both
  -- values, from canonical forms rebuilt for those records only.
  conflicted := array(select c from unnest(pass.conflicted) c where not c = any (quarantine.ids));
  if cardinality(conflicted) > 0 then
    -- few records: their linked rows looked up by key, not whole linked
    -- tables hashed (a seventh of the statement at a million records)
    perform set_config('enable_hashjoin', 'off', true);
    execute format($sql$
      select coalesce(jsonb_agg(jsonb_build_object('record', sc.airtable_id, 'field', k.key, 'value', tc.canonical -> k.key,
                                                   'source_value', k.value, 'rule', 'target differs from source')
                                order by sc.airtable_id, k.key), '[]')
      from sync.source_canonical($1, $2) sc
      join (select x.airtable_id, x.canonical from (%s) x where x.airtable_id = any ($2) offset 0) tc on tc.airtable_id = sc.airtable_id  -- offset 0: each canonical form built once, not once per field
      cross join lateral jsonb_each(sc.canonical) k
      where k.value is distinct from tc.canonical -> k.key
    $sql$, sync.target_canonical_sql(p_entity)) into integrity using p_entity, conflicted;
    perform set_config('enable_hashjoin', 'on', true);
  end if;
  -- Checksums that differ where no field does: the stored target checksum
  -- is wrong (written around its trigger); named, so counts and details agree.
  integrity := integrity || coalesce((
    select jsonb_agg(jsonb_build_object('record', c, 'field', null, 'value', null,
                                        'rule', 'the checksums differ but no field does: the stored target checksum is stale (airlift verify --deep rebuilds it)') order by c)
    from unnest(conflicted) c
    where not exists (select from jsonb_array_elements(integrity) d where d ->> 'record' = c)), '[]');
  if p_deep then
    -- A stored target checksum that differs from the row's rebuilt one: the
    -- row was written without its trigger (differentials would miss it).
    execute format($sql$
      select coalesce(jsonb_agg(jsonb_build_object('record', x.airtable_id, 'field', null, 'value', c.checksum, 'source_value', sync.checksum(x.canonical),
                                                   'rule', 'the stored target checksum (sync.target_checksums) is stale: the row was written without its trigger')
                                order by x.airtable_id), '[]')
      from (%s) x
      left join sync.target_checksums c on c.entity = $1 and c.airtable_id = x.airtable_id
      where %s and (c.checksum is distinct from sync.checksum(x.canonical) or c.deleted is distinct from (x.deleted_at is not null))
    $sql$, sync.target_canonical_sql(p_entity), format(in_range, 'x.airtable_id')) into stale using p_entity, null::text, null::text, p_after_key, p_upto_key;
  end if;
  return query
  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  values (p_run_id, 'data_integrity', p_entity, target::text, pass.compared - quarantine.in_target,
          jsonb_array_length(integrity) + jsonb_array_length(stale) = 0, jsonb_array_length(integrity) + jsonb_array_length(stale), integrity || stale,
          criteria || jsonb_build_object('checksum', 'sha256 of the canonical form', 'records_differing', cardinality(conflicted),
                                         'stale_target_checksums', jsonb_array_length(stale)),
          (extract(epoch from clock_timestamp() - started) * 1000)::int)
  returning *;

  -- Relationships: their own pass over the app rows (sync.verify_relationships).
  if p_relationships then
    return query select * from sync.verify_relationships(p_run_id, p_entity, p_after_key, p_upto_key);
  end if;
end;
$$;
comment on function sync.verify_entity(bigint, text, text, text, boolean, boolean) is E'Verifies one entity over one key range (airtable_id in (p_after_key, p_upto_key]; null bounds are open) for a verify run: completeness (source snapshot against live target rows, quarantine listed, records the runner rejected before staging named with field and reason in rejected_before_staging, table checksum parts in its criteria for a range), data integrity (stored checksums record by record, naming the differing fields with both values; p_deep rebuilds every target canonical form and reports stale stored checksums) and, unless p_relationships is false (airlift verify checks them once per table, over all keys), relationships (sync.verify_relationships). The range is merge-joined in parts side by side (sync.staging_key_splits), unless p_deep. Writes one sync.validation_reports row per check and returns them; sync.summarize_verification folds ranges together (reports over all keys are written folded). Security definer: reads app and staging for the sync role.';

create function sync.verify_relationships(p_run_id bigint, p_entity text, p_after_key text default null, p_upto_key text default null)
returns setof sync.validation_reports
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '128MB'
set parallel_setup_cost = 0
set parallel_tuple_cost = 0
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  started timestamptz := clock_timestamp();
  snapshot bigint := coalesce(sync.source_snapshot_run(p_entity), 0);
  in_range text := '(%1$s > $4 or $4 is null) and (%1$s <= $5 or $5 is null)';
  criteria jsonb;
  link_checks text := '';
  link_joins text := '';
  detail_queries text[] := '{}';
  check_number integer := 0;
  ids uuid[];
  found_links jsonb;
  link_findings jsonb := '[]';
  link record;
  rule record;
  relationships record;
  linked_deleted boolean;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  criteria := jsonb_build_object('entity', p_entity, 'source_snapshot_run', nullif(snapshot, 0),
                                 'after_key', p_after_key, 'upto_key', p_upto_key,
                                 'target', 'the live app rows and the rows they link to');
  -- over all keys, final as written (see sync.verify_entity)
  if p_after_key is null and p_upto_key is null then
    criteria := criteria - array['after_key', 'upto_key'] || jsonb_build_object('key_ranges', 1);
  end if;

  -- Relationships of the live target rows in the range, in one pass: links
  -- to rows that are deleted (each link column), and redundant links that
  -- disagree with the linked row's (the same_as_linked rules, e.g. a
  -- registration's client and its product's client). A source link the
  -- target lost shows in integrity.
  -- The pass collects only the ids of the rows each check finds (text
  -- arrays aggregate in parallel workers); the details are built after,
  -- for those rows only.
  for link in select mc.column_name, mc.linked_table from sync.mapped_columns(p_entity) mc where mc.conversion = 'link' order by mc.column_name loop
    check_number := check_number + 1;
    -- no deleted row in the linked table, no link to one: no join
    execute format('select exists (select from %s p where p.deleted_at is not null)', link.linked_table) into linked_deleted;
    if linked_deleted then
      link_joins := link_joins || format(' left join (select p.id from %s p where p.deleted_at is not null) %I on %2$I.id = t.%3$I',
                                         link.linked_table, 'gone__' || link.column_name, link.column_name);
      link_checks := link_checks || format(' || array_agg(%L || t.id::text) filter (where %I.id is not null)', check_number || ':', 'gone__' || link.column_name);
    end if;
    detail_queries := detail_queries || format($f$
      select jsonb_build_object('record', t.airtable_id, 'field', %1$L, 'value', p.airtable_id, 'rule', %2$L)
      from %3$s t join %4$s p on p.id = t.%1$I where t.id = any ($1)$f$,
      link.column_name, format('links to a deleted row of %s', link.linked_table), target, link.linked_table);
  end loop;
  for rule in
    select r.rule_id, r.column_name, r.description, r.parameters ->> 'link' as link_column, r.parameters ->> 'linked_column' as linked_column,
           linked.target_table as linked_table, referred.target_table as referred_table
    from sync.validation_rules r
    join sync.entity_columns link_column on link_column.entity = r.entity and link_column.column_name = r.parameters ->> 'link'
    join sync.entities linked on linked.entity = link_column.linked_entity
    join sync.entity_columns ec on ec.entity = r.entity and ec.column_name = r.column_name
    left join sync.entities referred on referred.entity = ec.linked_entity
    where r.entity = p_entity and r.enabled and r.rule_kind = 'same_as_linked'
      and mapping.field_ids ?& array[r.column_name, r.parameters ->> 'link']
    order by r.rule_id
  loop
    check_number := check_number + 1;
    link_joins := link_joins || format(' left join %s %I on %2$I.id = t.%3$I', rule.linked_table, 'rule__' || rule.rule_id, rule.link_column);
    link_checks := link_checks || format(' || array_agg(%L || t.id::text) filter (where t.%I is distinct from %I.%I and t.%2$I is not null and %3$I.%4$I is not null)',
                                         check_number || ':', rule.column_name, 'rule__' || rule.rule_id, rule.linked_column);
    -- a link column names the linked row by its Airtable id, as the source does
    detail_queries := detail_queries || format($f$
      select jsonb_build_object('record', t.airtable_id, 'field', %1$L, 'value', %2$s, 'linked_record', l.airtable_id,
                                'linked_value', %3$s, 'rule', %4$L, 'rule_id', %5$L)
      from %6$s t join %7$s l on l.id = t.%8$I where t.id = any ($1)$f$,
      rule.column_name,
      case when rule.referred_table is not null then format('(select to_jsonb(x.airtable_id) from %s x where x.id = t.%I)', rule.referred_table, rule.column_name)
           else format('to_jsonb(t.%I)', rule.column_name) end,
      case when rule.referred_table is not null then format('(select to_jsonb(x.airtable_id) from %s x where x.id = l.%I)', rule.referred_table, rule.linked_column)
           else format('to_jsonb(l.%I)', rule.linked_column) end,
      format('%s %s (rule %s)', rule.column_name, rule.description, rule.rule_id), rule.rule_id, target, rule.linked_table, rule.link_column);
  end loop;
  -- A bounded range reads its rows through the Airtable id index: a
  -- sequential scan would compare every row's key with both bounds (the
  -- collation's comparison, once per row of the whole table, per range).
  if p_after_key is not null or p_upto_key is not null then
    perform set_config('enable_seqscan', 'off', true);
  end if;
  execute format($sql$
    select count(*) as live, coalesce('{}'::text[] %s, '{}') as found
    from %s t%s
    where t.deleted_at is null and t.airtable_id is not null and %s
  $sql$, link_checks, target, link_joins, format(in_range, 't.airtable_id'))
  into relationships using null::text, null::text, null::text, p_after_key, p_upto_key;
  perform set_config('enable_seqscan', 'on', true);
  for check_number in 1 .. coalesce(array_length(detail_queries, 1), 0) loop
    ids := array(select substr(f, length(check_number::text) + 2)::uuid from unnest(relationships.found) f where f like check_number || ':%');
    if cardinality(ids) > 0 then
      execute format('select coalesce(jsonb_agg(d.detail), ''[]'') from (%s) d (detail)', detail_queries[check_number]) into found_links using ids;
      link_findings := link_findings || found_links;
    end if;
  end loop;

  return query
  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  select p_run_id, 'relationship_integrity', p_entity, target::text, relationships.live,
         jsonb_array_length(link_findings) = 0, jsonb_array_length(link_findings),
         coalesce((select jsonb_agg(f order by f ->> 'record', f ->> 'field', f ->> 'rule') from jsonb_array_elements(link_findings) f), '[]'),
         criteria || jsonb_build_object(
           'links', (select coalesce(jsonb_agg(mc.column_name order by mc.column_name), '[]') from sync.mapped_columns(p_entity) mc where mc.conversion = 'link'),
           'redundant_link_rules', (select coalesce(jsonb_agg(r.rule_id order by r.rule_id), '[]') from sync.validation_rules r
                                    where r.entity = p_entity and r.enabled and r.rule_kind = 'same_as_linked')),
         (extract(epoch from clock_timestamp() - started) * 1000)::int
  returning *;
end;
$$;
comment on function sync.verify_relationships(bigint, text, text, text) is E'The relationship check of a verification over one key range of an entity (null bounds are open): links of the live app rows to deleted rows (each link column) and redundant links that disagree with the linked row''s (the same_as_linked rules), in one pass over the rows with the details built for the rows found. Writes one relationship_integrity row to sync.validation_reports and returns it. Called by sync.verify_entity, or once per table over all keys by airlift verify. Security definer: reads app for the sync role.';

create function sync.summarize_verification(p_run_id bigint, p_entity text) returns setof sync.validation_reports
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  -- The reports of the key ranges of each check, folded into one: counts
  -- and checksum parts added, details and quarantine concatenated in key
  -- order. A check verified in one range is left as it is.
  create temp table verify_ranges on commit drop as
  select vr.* from sync.validation_reports vr
  where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_criteria ? 'after_key'
    and vr.validation_type in ('completeness_check', 'data_integrity', 'relationship_integrity');

  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms, generated_at)
  select p_run_id, r.validation_type, p_entity, min(r.target_entity), sum(r.records_validated), sum(r.discrepancies_found) = 0, sum(r.discrepancies_found),
         coalesce((select jsonb_agg(d order by d ->> 'record', d ->> 'field', d ->> 'rule')
                   from verify_ranges x cross join lateral jsonb_array_elements(x.discrepancy_details) d
                   where x.validation_type = r.validation_type), '[]'),
         (min(r.validation_criteria::text)::jsonb - array['after_key', 'upto_key', 'quarantined_records', 'rejected_before_staging', 'source_checksum_parts', 'target_checksum_parts',
                                                         'source_records', 'source_runs', 'quarantined', 'target_records', 'source_records_verified',
                                                         'source_table_checksum', 'target_table_checksum', 'records_differing', 'stale_target_checksums'])
           || jsonb_build_object('key_ranges', count(*))
           || case when r.validation_type = 'completeness_check' then jsonb_build_object(
                'source_records', sum((r.validation_criteria ->> 'source_records')::bigint),
                'source_runs', coalesce((select jsonb_agg(y.run order by y.run)
                                         from (select distinct q::bigint as run from verify_ranges x
                                               cross join lateral jsonb_array_elements_text(x.validation_criteria -> 'source_runs') q
                                               where x.validation_type = 'completeness_check') y), '[]'),
                'quarantined', sum((r.validation_criteria ->> 'quarantined')::bigint),
                'target_records', sum((r.validation_criteria ->> 'target_records')::bigint),
                'source_records_verified', sum((r.validation_criteria ->> 'source_records_verified')::bigint),
                'quarantined_records', coalesce((select jsonb_agg(q order by q) from verify_ranges x
                                                 cross join lateral jsonb_array_elements_text(x.validation_criteria -> 'quarantined_records') q
                                                 where x.validation_type = 'completeness_check'), '[]'),
                'rejected_before_staging', coalesce((select jsonb_agg(q order by q ->> 'record', q ->> 'field', q ->> 'reason') from verify_ranges x
                                                     cross join lateral jsonb_array_elements(x.validation_criteria -> 'rejected_before_staging') q
                                                     where x.validation_type = 'completeness_check'), '[]'),
                'source_table_checksum', sync.table_checksum_text(sum((r.validation_criteria -> 'source_checksum_parts' ->> 0)::numeric),
                                                                  sum((r.validation_criteria -> 'source_checksum_parts' ->> 1)::numeric),
                                                                  sum((r.validation_criteria -> 'source_checksum_parts' ->> 2)::numeric)),
                'target_table_checksum', sync.table_checksum_text(sum((r.validation_criteria -> 'target_checksum_parts' ->> 0)::numeric),
                                                                  sum((r.validation_criteria -> 'target_checksum_parts' ->> 1)::numeric),
                                                                  sum((r.validation_criteria -> 'target_checksum_parts' ->> 2)::numeric)))
              when r.validation_type = 'data_integrity' then jsonb_build_object(
                'records_differing', sum((r.validation_criteria ->> 'records_differing')::bigint),
                'stale_target_checksums', sum((r.validation_criteria ->> 'stale_target_checksums')::bigint))
              else '{}' end,
         sum(r.execution_time_ms), max(r.generated_at)
  from verify_ranges r
  group by r.validation_type
  having count(*) > 1;

  delete from sync.validation_reports vr
  using verify_ranges x
  where vr.id = x.id and exists (select from verify_ranges y where y.validation_type = x.validation_type and y.id <> x.id);
  -- a check verified in one range: the same report, no longer a range's
  update sync.validation_reports vr
  set validation_criteria = vr.validation_criteria - array['after_key', 'upto_key', 'source_checksum_parts', 'target_checksum_parts']
                            || jsonb_build_object('key_ranges', 1)
  from verify_ranges x
  where vr.id = x.id and not exists (select from verify_ranges y where y.validation_type = x.validation_type and y.id <> x.id);
  drop table verify_ranges;

  return query
  select * from sync.validation_reports vr
  where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type in ('completeness_check', 'data_integrity', 'relationship_integrity')
    and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules'
  order by vr.validation_type;
end;
$$;
comment on function sync.summarize_verification(bigint, text) is E'Folds the per-key-range verification reports of an entity in run p_run_id (sync.verify_entity) into one report per check: counts and table checksum parts added, the runs that last read the source records united, discrepancies, quarantined records and records rejected before staging concatenated in key order, the range reports removed. Returns the entity''s three verification reports. Security definer: writes sync.validation_reports for the sync role.';

/*
 * Counts of a stage-only run (a source snapshot: a full listing into
 * staging that merges nothing). Its records are neither merged nor
 * unchanged, so sync.finish_run, which counts what the merge saw, would
 * report none: they are counted as staged, per table in its checkpoint
 * and per run in sync.runs.staged, so fetched = inserted + updated +
 * unchanged + quarantined + staged holds with true numbers.
 */
create function sync.count_staged_records(p_run_id bigint, p_entity text) returns bigint
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  -- read in the listing (records and rejects), less those staging already
  -- held unchanged (untouched) and those rejected before staging
  update sync.checkpoints c
  set metadata = c.metadata || jsonb_build_object('staged',
        c.records_processed - coalesce((c.metadata ->> 'untouched')::bigint, 0) - coalesce((c.metadata ->> 'rejected')::bigint, 0))
  where c.run_id = p_run_id and c.operation_type = 'sync_operation' and c.entity_type = p_entity
  returning (c.metadata ->> 'staged')::bigint
$$;
comment on function sync.count_staged_records(bigint, text) is E'For a stage-only run, once a table is listed: the records the listing staged (read, less those left untouched and those rejected), written to the table''s checkpoint as staged and returned. What a merge''s counts are to a pull, this is to a source snapshot.';

create function sync.finish_stage_only_run(p_run_id bigint) returns sync.runs
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  run sync.runs;
begin
  select * into run from sync.runs r where r.id = p_run_id;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  if coalesce(run.metadata ->> 'stage_only', 'false') <> 'true' then
    raise exception 'run % merges what it lists, not a stage-only run: sync.finish_run completes it', p_run_id
      using errcode = 'invalid_parameter_value';
  end if;
  -- completed as any run (counts of untouched and rejected records, the
  -- job moved on), then the staged records added to what it read; a run
  -- finished before is counted again from the start
  update sync.runs r set fetched = r.fetched - r.staged, staged = 0 where r.id = p_run_id and r.staged <> 0;
  perform sync.finish_run(p_run_id);
  update sync.runs r
  set staged = t.staged, fetched = r.fetched + t.staged
  from (select coalesce(sum((c.metadata ->> 'staged')::bigint), 0) as staged
        from sync.checkpoints c where c.run_id = p_run_id and c.operation_type = 'sync_operation') t
  where r.id = p_run_id
  returning r.* into run;
  return run;
end;
$$;
comment on function sync.finish_stage_only_run(bigint) is E'Completes a stage-only run (a source snapshot) as sync.finish_run does, then counts the records its tables staged (sync.count_staged_records) in staged and in fetched, so that the run''s numbers say what it read. Refuses a run that is not stage-only.';

/*
 * Records rejected before staging: the runner could not stage them (an
 * envelope that is not a record, text PostgreSQL cannot store), so
 * sync.stage_page quarantined them with the reason. Staging may still hold
 * an older version of such a record, which the final merge of a run
 * retries like any quarantined record; that version knows nothing of the
 * rejection, so it must not release it. A rejection is released only when
 * a run stages the record again (cleanly), or when the runner reads it
 * again and rejects it for another reason (the new rejection replaces it).
 */
create function sync.mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb) returns integer
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  marked integer;
begin
  select * into strict mapping from sync.entity_mappings m where m.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  -- The open entries of this page's rejects (sync.stage_page has just
  -- written them, or an earlier run did) are rejections before staging.
  update sync.record_errors e
  set rejected_before_staging = true
  from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (airtable_id text, field text, reason text)
  where e.resolved_at is null and not e.rejected_before_staging and e.source_table = mapping.table_id
    and e.airtable_id = r.airtable_id and e.field is not distinct from r.field and e.reason = r.reason;
  get diagnostics marked = row_count;
  -- A record read again and rejected for another reason: its earlier
  -- rejections no longer say what is wrong with it. (Items without a
  -- record id share one placeholder id across pages, so only real ids.)
  update sync.record_errors e
  set resolved_at = now(), resolved_by_run_id = p_run_id
  where e.resolved_at is null and e.rejected_before_staging and e.source_table = mapping.table_id
    and e.airtable_id ~ '^rec[A-Za-z0-9]{14}$'
    and e.airtable_id in (select r.airtable_id from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (airtable_id text))
    and not exists (select from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (airtable_id text, field text, reason text)
                    where r.airtable_id = e.airtable_id and r.field is not distinct from e.field and r.reason = e.reason);
  return marked;
end;
$$;
comment on function sync.mark_rejected_before_staging(bigint, text, jsonb) is E'Marks the open quarantine entries of records the runner rejected on a page (p_rejects as given to sync.stage_page, called right after it in the same transaction) as rejected before staging, so that only a run that stages the record again releases them; closes the record''s earlier rejections that the new ones replace. Returns how many entries it marked.';

create function sync.tg_record_errors__keep_rejections_open() returns trigger
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  -- released by a run that staged the record since it was rejected
  if exists (select from staging.airtable_records s
             where s.table_id = old.source_table and s.airtable_id = old.airtable_id and s.fetched_at > old.created_at) then
    return new;
  end if;
  -- or replaced by a newer rejection, for another reason, by the same run
  if exists (select from sync.record_errors e
             where e.source_table = old.source_table and e.airtable_id = old.airtable_id and e.id <> old.id
               and e.resolved_at is null and e.rejected_before_staging and e.run_id = new.resolved_by_run_id) then
    return new;
  end if;
  -- otherwise the row is left as it is: what staging holds is not the
  -- version that was rejected
  return null;
end;
$$;
comment on function sync.tg_record_errors__keep_rejections_open() is E'Trigger function (BEFORE UPDATE of sync.record_errors, for entries rejected before staging that an update would resolve): lets the update through only when the record was staged since the rejection or a newer rejection of it by the resolving run replaces it; otherwise skips the row, so that the merge retrying an older staged version cannot release a record whose current version could not be read.';

/*
 * Rollback of a run from the audit trail. Every app row and id-map entry
 * the run touched goes back to its state before the run's first change to
 * it: rows it inserted are deleted, rows it updated (soft deletes included)
 * get their old values back. Refused, naming the rows, unless forced, when
 * anything else changed one of those rows after the run, or when rows the
 * run did not touch (added or relinked since, by a later run or a user)
 * link to a row it inserted: deleting that row would take it from under
 * them (the foreign key restricts, empties the link or deletes them).
 */
create function sync.rollback_conflicts(p_run_id bigint)
returns table (table_name text, record_id text, changed_by text, change_run_id bigint, changed_at timestamptz,
               conflict text, airtable_id text, column_name text, linked_table text, linked_record_id text)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  link record;
begin
  -- Rows the run changed that something else changed afterwards, with the
  -- first such change and the columns it wrote.
  return query
  with touched as (
    select c.table_name, c.record_id, max(c.id) as last_change
    from audit.changes c
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name in ('sync.id_map', 'sync.field_problems'))
    group by c.table_name, c.record_id
  )
  select distinct on (t.table_name, t.record_id) t.table_name, t.record_id, coalesce(later.actor, later.db_role), later.run_id, later.changed_at,
         'changed since'::text,
         coalesce(later.new_values, later.old_values) ->> case when t.table_name = 'sync.id_map' then 'legacy_id' else 'airtable_id' end,
         array_to_string(later.changed_columns, ', '), null::text, null::text
  from touched t
  join audit.changes later on later.table_name = t.table_name and later.record_id = t.record_id and later.id > t.last_change
  where later.run_id is distinct from p_run_id
  order by t.table_name, t.record_id, later.id;

  -- Rows the run did not touch that link, through a foreign key of an app
  -- table, to a row the run inserted (which the rollback deletes), with
  -- the change that made the link. One statement per foreign key, over the
  -- few rows the run inserted into the referenced table.
  for link in
    select con.conrelid::regclass::text as child_table, con.confrelid::regclass::text as parent_table,
           a.attname::text as link_column, format_type(pa.atttypid, pa.atttypmod) as key_type
    from pg_constraint con
    join pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1]
    join pg_attribute pa on pa.attrelid = con.confrelid and pa.attnum = con.confkey[1]
    where con.contype = 'f' and cardinality(con.conkey) = 1 and pa.attname = 'id'
      and con.connamespace = 'app'::regnamespace
      and con.confrelid::regclass::text in (select distinct c.table_name from audit.changes c
                                            where c.run_id = p_run_id and c.op = 'INSERT' and c.table_name like 'app.%')
    order by 1, 3
  loop
    return query execute format($sql$
      with first_changes as (
        select distinct on (c.record_id) c.record_id, c.op
        from audit.changes c
        where c.run_id = $1 and c.table_name = $2 and c.record_id is not null
        order by c.record_id, c.id
      )
      select $3, child.id::text, coalesce(how.actor, how.db_role), how.run_id, how.changed_at,
             'links to a row the rollback removes'::text,
             coalesce(to_jsonb(child) ->> 'airtable_id', to_jsonb(child) ->> 'airtable_attachment_id'),
             $4, $2, f.record_id
      from first_changes f
      join %1$s child on child.%2$I = f.record_id::%3$s
      left join lateral (
        -- the latest change that set the link to this row
        select a.actor, a.db_role, a.run_id, a.changed_at from audit.changes a
        where a.table_name = $3 and a.record_id = child.id::text and a.new_values ->> $4 = f.record_id
          and (a.op = 'INSERT' or a.old_values ->> $4 is distinct from f.record_id)
        order by a.id desc limit 1
      ) how on true
      where f.op = 'INSERT'
        -- rows the run touched go back to their state before it themselves
        and not exists (select from audit.changes c where c.run_id = $1 and c.table_name = $3 and c.record_id = child.id::text)
      order by child.id
    $sql$, link.child_table, link.link_column, link.key_type)
    using p_run_id, link.parent_table, link.child_table, link.link_column;
  end loop;
end;
$$;
comment on function sync.rollback_conflicts(bigint) is E'What a rollback of run p_run_id would overwrite or pull from under someone: rows the run changed that something else (a later run, a user) changed afterwards, with the first such change and the columns it wrote (conflict ''changed since''); and rows the run did not touch that link to a row it inserted, named with their Airtable id, the link column, the row the rollback removes, and who made the link in which run (conflict ''links to a row the rollback removes'').';

create function sync.rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean default false)
returns table (table_name text, removed bigint, restored bigint, unlinked bigint)
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target sync.runs;
  details jsonb;
  changed_count bigint;
  linking_count bigint;
  link record;
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

  create temp table rollback_conflict_rows on commit drop as select * from sync.rollback_conflicts(p_run_id);
  select count(*) filter (where c.conflict = 'changed since'), count(*) filter (where c.conflict <> 'changed since'),
         jsonb_agg(case when c.conflict = 'changed since'
                        then format('%s %s (changed by %s%s at %s)', c.table_name, c.record_id, coalesce(c.changed_by, 'unknown'),
                                    case when c.change_run_id is not null then ' in run ' || c.change_run_id else '' end, c.changed_at)
                        else format('%s %s%s links through %s to %s %s, which the rollback removes (linked by %s%s%s)',
                                    c.table_name, c.record_id, coalesce(' (' || c.airtable_id || ')', ''), c.column_name, c.linked_table,
                                    c.linked_record_id, coalesce(c.changed_by, 'unknown'),
                                    case when c.change_run_id is not null then ' in run ' || c.change_run_id else '' end,
                                    coalesce(' at ' || c.changed_at, '')) end
                   order by c.conflict, c.table_name, c.record_id, c.column_name) filter (where c.rn <= 20)
    into changed_count, linking_count, details
  from (select rc.*, row_number() over (order by rc.conflict, rc.table_name, rc.record_id, rc.column_name) as rn from rollback_conflict_rows rc) c;
  if changed_count + linking_count > 0 and not p_force then
    raise exception 'run % cannot be rolled back: %', p_run_id,
      concat_ws('; ', case when changed_count > 0 then format('%s row(s) it changed were changed again since', changed_count) end,
                      case when linking_count > 0 then format('%s link(s) from rows added or changed since point to rows it inserted', linking_count) end)
      using errcode = 'serialization_failure',
            detail = array_to_string(array(select jsonb_array_elements_text(details)), E'\n'),
            hint = 'Roll back the later runs first, or force the rollback: their changes to these rows are overwritten, '
                   'links to the rows it inserted are emptied (files attached to such a row are deleted with it).';
  end if;

  perform set_config('airlift.run_id', p_rollback_run_id::text, true);
  create temp table rollback_results (position serial, table_name text, removed bigint, restored bigint, unlinked bigint) on commit drop;

  -- Forced over rows linking to rows the run inserted: before those rows
  -- go, each link is dealt with explicitly, audited under the rollback run,
  -- as its foreign key says where it can: a cascading link (a file owned
  -- by the row) deletes the linking row; any other link is emptied (set
  -- null), the linking row kept. A link that cannot be emptied (not null)
  -- stops the rollback.
  for link in
    select rc.table_name as child_table, rc.column_name as link_column, con.confdeltype as on_delete, a.attnotnull as not_null,
           array_agg(distinct rc.record_id) as ids, array_agg(distinct rc.linked_record_id) as linked_ids
    from rollback_conflict_rows rc
    join pg_constraint con on con.conrelid = rc.table_name::regclass and con.confrelid = rc.linked_table::regclass and con.contype = 'f'
    join pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1] and a.attname = rc.column_name
    where rc.conflict = 'links to a row the rollback removes'
    group by rc.table_name, rc.column_name, con.confdeltype, a.attnotnull
    order by rc.table_name, rc.column_name
  loop
    if link.on_delete = 'c' then
      execute format('delete from %s t where t.id::text = any ($1) and t.%I::text = any ($2)', link.child_table, link.link_column)
        using link.ids, link.linked_ids;
      get diagnostics n_removed = row_count;
      insert into rollback_results (table_name, removed, restored, unlinked) values (link.child_table, n_removed, 0, 0);
    elsif link.not_null then
      raise exception 'run % cannot be rolled back: %.% links rows to rows it inserted and cannot be emptied (not null)',
        p_run_id, link.child_table, link.link_column using errcode = 'foreign_key_violation';
    else
      execute format('update %1$s t set %2$I = null where t.id::text = any ($1) and t.%2$I::text = any ($2)', link.child_table, link.link_column)
        using link.ids, link.linked_ids;
      get diagnostics n_restored = row_count;
      insert into rollback_results (table_name, removed, restored, unlinked) values (link.child_table, 0, 0, n_restored);
    end if;
  end loop;

  -- Each touched row's first change by the run: its state before the run.
  create temp table rollback_first_changes on commit drop as
    select distinct on (c.table_name, c.record_id) c.table_name, c.record_id, c.op, c.old_values
    from audit.changes c
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name in ('sync.id_map', 'sync.field_problems'))
    order by c.table_name, c.record_id, c.id;

  -- Children before the parents they link to (a table's depth is the
  -- longest chain of foreign keys from it up to other touched tables, read
  -- from the catalogue), so a parent's inserted rows are deleted after the
  -- rows pointing at them; inside a table, each row returns to the state
  -- before the run's first change to it (set-based, one statement per
  -- table and kind).
  for touched in
    with recursive touched_tables as (
      select distinct f.table_name::regclass as relation from rollback_first_changes f
    ), links as (
      select con.conrelid as child, con.confrelid as parent
      from pg_constraint con
      where con.contype = 'f' and con.conrelid <> con.confrelid
        and con.conrelid in (select relation from touched_tables) and con.confrelid in (select relation from touched_tables)
    ), depth (relation, dependency_depth) as (
      select relation, 0 from touched_tables
      union all
      select l.child, d.dependency_depth + 1
      from links l join depth d on d.relation = l.parent
      where d.dependency_depth < (select count(*) from touched_tables)
    )
    -- field problems first: the rows' target checksums read them
    select d.relation::text as name
    from depth d
    group by d.relation
    order by d.relation = 'sync.field_problems'::regclass desc, max(d.dependency_depth) desc, d.relation::text
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

    insert into rollback_results (table_name, removed, restored, unlinked) values (touched.name, n_removed, n_restored, 0);
  end loop;

  update sync.runs r
  set status = 'rolled_back',
      finished_at = coalesce(r.finished_at, now()),
      metadata = r.metadata || jsonb_build_object('rolled_back_by_run', p_rollback_run_id, 'rolled_back_at', now(),
                                                  'forced', p_force and changed_count + linking_count > 0,
                                                  'links_to_inserted_rows', linking_count)
  where r.id = p_run_id;

  return query
  select x.table_name, sum(x.removed)::bigint, sum(x.restored)::bigint, sum(x.unlinked)::bigint
  from rollback_results x group by x.table_name order by min(x.position);
  drop table rollback_first_changes;
  drop table rollback_conflict_rows;
  drop table rollback_results;
end;
$$;
comment on function sync.rollback_run(bigint, bigint, boolean) is E'Reverts every change run p_run_id made to app tables, the id map and the field problems, from the audit trail (problems first, since the rows'' target checksums read them), children before parents (foreign keys from the catalogue): rows it inserted are deleted, rows it updated get their values from before the run. Refuses (40001, naming up to 20 rows) when a later run or a user changed one of those rows since, or when rows it did not touch link to a row it inserted (sync.rollback_conflicts), unless p_force. Forced, the later changes to its rows are overwritten, and each link to a row it inserted is dealt with before that row is deleted: a row owned through a cascading link (an attachment) is deleted, any other link is emptied; all audited under p_rollback_run_id, counted per table (removed, restored, unlinked). Marks the run rolled_back. Security definer: only the sync role''s rollback may write app tables.';
--! EndIncluded integrity_functions.sql

create trigger _150_keep_rejections_open before update on sync.record_errors
  for each row when (old.rejected_before_staging and old.resolved_at is null and new.resolved_at is not null)
  execute function sync.tg_record_errors__keep_rejections_open();

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
  rules_now jsonb;
  rule record;
  scope_count bigint;
  scope_runs bigint[];
  reused_runs bigint[];
  check_ids text[];
  checked_count bigint;
  criteria jsonb;
  -- the records the report is about: those the run read, or the snapshot
  in_scope text := case when p_whole_snapshot then 's.run_id >= $2' else 's.run_id = $3' end;
  duplicate_groups jsonb;
  parallel_setup_cost_before text := current_setting('parallel_setup_cost');
  parallel_tuple_cost_before text := current_setting('parallel_tuple_cost');
  verified boolean;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  rules_now := (select coalesce(jsonb_agg(jsonb_build_object('rule', r.rule_id, 'kind', r.rule_kind, 'severity', r.severity, 'parameters', r.parameters) order by r.rule_id), '[]')
                from sync.validation_rules r where r.entity = p_entity and r.enabled and mapping.field_ids ? r.column_name);
  -- Idempotent: a resumed run validates its tables again and keeps one report.
  delete from sync.validation_reports vr
  where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_criteria ->> 'check' = 'validation_rules';

  create temp table validate_findings (airtable_id text not null, validation_type text not null, finding jsonb not null) on commit drop;

  -- Rules about the record alone. A run checks the records it read. Over
  -- the whole snapshot, a record whose current version a run already
  -- checked under the same rules keeps that run's findings (the run that
  -- last read a record is the one its staging row names); only the others
  -- are checked again.
  create temp table validate_check (airtable_id text primary key) on commit drop;
  if p_whole_snapshot then
    create temp table validate_reused on commit drop as
    select vr.run_id, vr.validation_type, vr.discrepancy_details from sync.validation_reports vr
    where vr.source_entity = p_entity and vr.run_id >= snapshot and vr.validation_criteria ->> 'check' = 'validation_rules'
      and vr.validation_criteria ->> 'scope' = 'records read by the run' and vr.validation_criteria -> 'rules' = rules_now;
    reused_runs := array(select distinct r.run_id from validate_reused r);
    -- A verify run that has just verified the entity over the same snapshot
    -- has counted the snapshot's records and named the runs that last read
    -- them (its completeness report): no pass over staging is needed to
    -- know the scope, and only the records of runs whose findings cannot be
    -- reused are read.
    select (vr.validation_criteria ->> 'source_records')::bigint,
           array(select r::bigint from jsonb_array_elements_text(vr.validation_criteria -> 'source_runs') r)
      into scope_count, scope_runs
    from sync.validation_reports vr
    where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type = 'completeness_check'
      and not vr.validation_criteria ? 'after_key' and vr.validation_criteria ? 'source_runs'
      and (vr.validation_criteria ->> 'source_snapshot_run')::bigint is not distinct from nullif(snapshot, 0)
    order by vr.id desc limit 1;
    if scope_count is not null then
      scope_runs := array(select r from unnest(scope_runs) r where r <> all (reused_runs));
      if cardinality(scope_runs) > 0 then
        insert into validate_check
        select s.airtable_id from staging.airtable_records s
        where s.table_id = mapping.table_id and s.run_id >= snapshot and s.run_id = any (scope_runs);
      end if;
    else
      -- otherwise one pass counts the scope and finds the records to check
      select count(*), coalesce(array_agg(s.airtable_id) filter (where s.run_id <> all (reused_runs)), '{}')
        into scope_count, check_ids
      from staging.airtable_records s
      where s.table_id = mapping.table_id and s.run_id >= snapshot;
      insert into validate_check select unnest(check_ids);
    end if;
    insert into validate_findings
    select d ->> 'record', r.validation_type, d - 'record'
    from validate_reused r
    cross join lateral jsonb_array_elements(r.discrepancy_details) d
    join sync.validation_rules vr on vr.rule_id = d ->> 'rule' and vr.rule_kind not in ('duplicate', 'same_as_linked')
    join staging.airtable_records s on s.table_id = mapping.table_id and s.airtable_id = d ->> 'record' and s.run_id = r.run_id
    where d ->> 'severity' = 'warning';
  else
    -- the records the run read, counted as they are collected
    insert into validate_check select s.airtable_id from staging.airtable_records s where s.table_id = mapping.table_id and s.run_id = p_run_id;
    get diagnostics scope_count = row_count;
  end if;
  analyze validate_check;
  select count(*) into checked_count from validate_check;

  -- Warning rules about the record alone, in one pass over the records to
  -- check (blocking ones are in the quarantine, below, as the merge found them).
  if checks is not null and checked_count > 0 then
    execute format($sql$
      insert into validate_findings
      select c0.airtable_id, r.validation_type, f
      from (select s.airtable_id, %s
            from staging.airtable_records s join validate_check v on v.airtable_id = s.airtable_id
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
    -- The groups of repeated values, by hashing every value of the
    -- snapshot once, in parallel workers (a statement that writes runs in
    -- one process, so the groups are collected first, then their members'
    -- findings written). The scope is the first linked record as the cell
    -- names it (a record whose link does not convert is quarantined).
    perform set_config('parallel_setup_cost', '0', true);
    perform set_config('parallel_tuple_cost', '0', true);
    execute $sql$
      -- members in key order, put in order per group found (an ordered
      -- aggregate would have every record sorted to be grouped)
      select coalesce(jsonb_agg((select array_agg(m order by m) from unnest(g.members) m)), '[]')
      from (select array_agg(v.airtable_id) as members
            from (select s.airtable_id,
                         lower(regexp_replace(btrim(sync.cell_text(s.fields -> $3)), '\s+', ' ', 'g')) as normalized,
                         case when $4::text is not null and jsonb_typeof(s.fields -> $4) = 'array' then s.fields -> $4 ->> 0 end as scope_key
                  from staging.airtable_records s
                  where s.table_id = $1 and s.run_id >= $2) v
            group by v.normalized, v.scope_key
            -- an empty value repeats no name: tested on the group, since a
            -- test of each row would normalize every value twice
            having count(*) filter (where v.normalized <> '') > 1) g
    $sql$ into duplicate_groups using mapping.table_id, snapshot, rule.field_id, rule.scope_field_id;
    perform set_config('parallel_setup_cost', parallel_setup_cost_before, true);
    perform set_config('parallel_tuple_cost', parallel_tuple_cost_before, true);
    -- each member of the scope names the others
    insert into validate_findings
    select s.airtable_id, rule.validation_type,
           jsonb_build_object('field', rule.field_name, 'value', s.fields -> rule.field_id,
                              'reason', format('%s %s (rule %s)', rule.field_name, rule.description, rule.rule_id),
                              'rule', rule.rule_id, 'severity', rule.severity,
                              'duplicates', g.members - s.airtable_id)
    from jsonb_array_elements(duplicate_groups) g (members)
    cross join lateral jsonb_array_elements_text(g.members) m (airtable_id)
    join staging.airtable_records s on s.table_id = mapping.table_id and s.airtable_id = m.airtable_id
    where case when p_whole_snapshot then s.run_id >= snapshot else s.run_id = p_run_id end;
  end loop;

  -- Agreement with a linked record: the record's link equals the linked
  -- record's (a registration's client is its product's client), both as
  -- the source says. Over the whole snapshot in a verify run that has just
  -- verified this entity and the linked one, the target answers for every
  -- record whose row holds what the source says in the fields the rule
  -- reads and whose linked row holds exactly what the source says (its
  -- relationship check evaluated the same rule on the app rows); the source
  -- cells are read only for the others: quarantined or missing records,
  -- records differing in those fields, and those linked to a differing row.
  for rule in
    select r.*, coalesce(mapping.field_names ->> r.column_name, r.column_name) as field_name,
           mapping.field_ids ->> r.column_name as field_id, mapping.field_ids ->> (r.parameters ->> 'link') as link_field_id,
           linked.table_id as linked_table_id, linked.field_ids ->> (r.parameters ->> 'linked_column') as linked_field_id,
           linked.entity as linked_entity, linked_target.target_table as linked_table, ec.conversion
    from sync.validation_rules r
    join sync.entity_columns link_column on link_column.entity = r.entity and link_column.column_name = r.parameters ->> 'link'
    join sync.entity_mappings linked on linked.entity = link_column.linked_entity
    join sync.entities linked_target on linked_target.entity = linked.entity
    join sync.entity_columns ec on ec.entity = r.entity and ec.column_name = r.column_name
    where r.entity = p_entity and r.enabled and r.rule_kind = 'same_as_linked'
      and mapping.field_ids ?& array[r.column_name, r.parameters ->> 'link'] and linked.field_ids ? (r.parameters ->> 'linked_column')
  loop
    verified := p_whole_snapshot and (
      select count(distinct vr.source_entity) = 2 from sync.validation_reports vr
      where vr.run_id = p_run_id and vr.source_entity in (p_entity, rule.linked_entity)
        and vr.validation_type = 'completeness_check' and not vr.validation_criteria ? 'after_key')
      and exists (select from sync.validation_reports vr
                  where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type = 'relationship_integrity'
                    and not vr.validation_criteria ? 'after_key' and vr.validation_criteria -> 'redundant_link_rules' ? rule.rule_id);
    -- in_source false: a record the target holds but the source snapshot
    -- does not (nothing to check there, and nothing the target answers)
    create temp table validate_link_scope (airtable_id text primary key, in_source boolean not null default true) on commit drop;
    if verified then
      -- records the target cannot answer for: this entity's discrepancies
      -- (of its integrity ones, those in a field the rule reads, or in no
      -- field: a stale checksum) and quarantine, and rows linking to a
      -- linked row with a discrepancy
      insert into validate_link_scope
      select x.id, bool_and(x.in_source) from (
        select d ->> 'record' as id, d ->> 'rule' is distinct from 'in the target but not in the source snapshot' as in_source
        from sync.validation_reports vr cross join lateral jsonb_array_elements(vr.discrepancy_details) d
        where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type in ('completeness_check', 'data_integrity')
          and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules'
          and (vr.validation_type = 'completeness_check' or d ->> 'field' is null
               or d ->> 'field' in (rule.column_name, rule.parameters ->> 'link'))
        union all
        select q, true from sync.validation_reports vr cross join lateral jsonb_array_elements_text(vr.validation_criteria -> 'quarantined_records') q
        where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type = 'completeness_check'
        union all
        -- a column a problem left empty holds what its problem keeps, not
        -- what the row says: the source answers
        select fp.airtable_id, true from sync.field_problems fp
        where fp.entity = p_entity and fp.resolved_at is null and fp.landed = 'empty'
          and fp.column_name in (rule.column_name, rule.parameters ->> 'link')
      ) x
      group by x.id;
      execute format($sql$
        insert into validate_link_scope
        select t.airtable_id from %s t join %s p on p.id = t.%I
        where t.airtable_id is not null and p.airtable_id in (
          select d ->> 'record' from sync.validation_reports vr cross join lateral jsonb_array_elements(vr.discrepancy_details) d
          where vr.run_id = $1 and vr.source_entity = $2 and vr.validation_type in ('completeness_check', 'data_integrity')
            and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules'
          union all
          select fp.airtable_id from sync.field_problems fp
          where fp.entity = $2 and fp.resolved_at is null and fp.landed = 'empty' and fp.column_name = $3)
        on conflict do nothing
      $sql$, target, rule.linked_table, rule.parameters ->> 'link') using p_run_id, rule.linked_entity, rule.parameters ->> 'linked_column';
      -- the target's answer for the others
      insert into validate_findings
      select d ->> 'record', rule.validation_type,
             jsonb_build_object('field', rule.field_name,
                                'value', case when rule.conversion = 'link' then jsonb_build_array(d -> 'value') else d -> 'value' end,
                                'reason', format('%s %s (rule %s)', rule.field_name, rule.description, rule.rule_id),
                                'rule', rule.rule_id, 'severity', rule.severity,
                                'linked_record', d -> 'linked_record',
                                'linked_value', case when rule.conversion = 'link' then jsonb_build_array(d -> 'linked_value') else d -> 'linked_value' end)
      from sync.validation_reports vr
      cross join lateral jsonb_array_elements(vr.discrepancy_details) d
      where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type = 'relationship_integrity'
        and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules'
        and d ->> 'rule_id' = rule.rule_id
        and not exists (select from validate_link_scope l where l.airtable_id = d ->> 'record');
    else
      execute format('insert into validate_link_scope select s.airtable_id from staging.airtable_records s where s.table_id = $1 and %s', in_scope)
        using mapping.table_id, snapshot, p_run_id;
    end if;
    insert into validate_findings
    select s.airtable_id, rule.validation_type,
           jsonb_build_object('field', rule.field_name, 'value', s.fields -> rule.field_id,
                              'reason', format('%s %s (rule %s)', rule.field_name, rule.description, rule.rule_id),
                              'rule', rule.rule_id, 'severity', rule.severity,
                              'linked_record', sync.cell_first_link(s.fields -> rule.link_field_id),
                              'linked_value', l.fields -> rule.linked_field_id)
    from staging.airtable_records s
    join validate_link_scope v on v.airtable_id = s.airtable_id and v.in_source
    join staging.airtable_records l on l.table_id = rule.linked_table_id and l.airtable_id = sync.cell_first_link(s.fields -> rule.link_field_id)
    where s.table_id = mapping.table_id and (s.run_id >= snapshot or not p_whole_snapshot)
      and sync.cell_first_link(s.fields -> rule.field_id) is distinct from sync.cell_first_link(l.fields -> rule.linked_field_id)
      and sync.cell_first_link(s.fields -> rule.field_id) is not null and sync.cell_first_link(l.fields -> rule.linked_field_id) is not null;
    drop table validate_link_scope;
  end loop;

  -- The merge's own problems of the records in scope (a cell that did not
  -- convert, an empty required value, a value out of range, a dangling or
  -- second link): the records landed flagged (sync.field_problems), and the
  -- report names them as warnings, with what landed.
  execute format($sql$
    insert into validate_findings
    select fp.airtable_id, case when fp.rule in ('dangling_link', 'extra_links') then 'relationship_integrity' else 'data_integrity' end,
           jsonb_build_object('field', fp.field, 'value', fp.value, 'reason', fp.reason, 'rule', fp.rule, 'severity', 'warning', 'landed', fp.landed)
    from sync.field_problems fp
    join staging.airtable_records s on s.table_id = $1 and s.airtable_id = fp.airtable_id
    where fp.entity = $4 and fp.origin = 'merge' and fp.resolved_at is null and %s
  $sql$, in_scope) using mapping.table_id, snapshot, p_run_id, p_entity;

  -- The quarantine of the scope: blocking rules and the merge's own checks
  -- (unconvertible or missing values, ranges, dangling links), as recorded;
  -- and the records the runner could not stage at all (a broken envelope,
  -- text PostgreSQL cannot store), which staging holds in an older version
  -- or not at all: every open one over the whole snapshot (the source has
  -- them, unreadable), those this run rejected for a run's report.
  execute format($sql$
    insert into validate_findings
    select e.airtable_id,
           case when e.reason ~ '\(rule [a-z_.]+\)$' then coalesce(r.validation_type, 'data_integrity')
                when e.reason like '%% links to %%' then 'relationship_integrity' else 'data_integrity' end,
           jsonb_build_object('field', e.field, 'value', e.value, 'reason', e.reason,
                              'rule', coalesce(substring(e.reason from '\(rule ([a-z_.]+)\)$'), case when e.rejected_before_staging then 'staging' else 'merge' end),
                              'severity', 'blocking', 'quarantined', true)
             || case when e.rejected_before_staging then jsonb_build_object('rejected_before_staging', true) else '{}' end
    from sync.record_errors e
    left join staging.airtable_records s on s.table_id = e.source_table and s.airtable_id = e.airtable_id
    left join sync.validation_rules r on r.rule_id = substring(e.reason from '\(rule ([a-z_.]+)\)$')
    where e.resolved_at is null and e.source_table = $1
      and (%s or e.rejected_before_staging and %s)
  $sql$, in_scope, case when p_whole_snapshot then 'true' else 'e.run_id = $3' end) using mapping.table_id, snapshot, p_run_id;

  -- The warnings of record-local rules about the records the run read are
  -- field problems of those records (origin rule, the value kept): new
  -- ones recorded, fixed ones closed, the rows' counts put right. Rules
  -- about other records stay in the reports (closing them would need the
  -- others checked again), and a second link is the merge's own problem.
  -- Only where the run merged the entity: a stage-only run (a source
  -- snapshot) merged nothing, its records did not land, so it records no
  -- problem of theirs.
  if not p_whole_snapshot
     and exists (select from sync.checkpoints c
                 where c.run_id = p_run_id and c.operation_type = 'sync_operation' and c.entity_type = p_entity and c.metadata ? 'merge') then
    create temp table problems_seen on commit drop as
    select v.airtable_id,
           coalesce(jsonb_agg(jsonb_build_object('field', f.finding ->> 'field', 'column', r.column_name, 'rule', r.rule_id,
                                                 'value', f.finding -> 'value', 'landed', 'kept', 'reason', f.finding ->> 'reason'))
                    filter (where r.rule_id is not null), '[]') as problems
    from validate_check v
    left join validate_findings f on f.airtable_id = v.airtable_id and f.finding ->> 'severity' = 'warning'
    left join sync.validation_rules r on r.rule_id = f.finding ->> 'rule' and r.rule_kind not in ('duplicate', 'same_as_linked', 'single_link')
    where f.airtable_id is not null
       or exists (select from sync.field_problems fp
                  where fp.entity = p_entity and fp.airtable_id = v.airtable_id and fp.origin = 'rule' and fp.resolved_at is null)
    group by v.airtable_id;
    perform sync.refresh_problem_rows(p_run_id, p_entity, sync.record_problems(p_run_id, p_entity, 'rule'));
    drop table problems_seen;
  end if;

  criteria := jsonb_build_object(
    'check', 'validation_rules', 'entity', p_entity,
    'scope', case when p_whole_snapshot then 'source snapshot' else 'records read by the run' end,
    'source_snapshot_run', nullif(snapshot, 0),
    'records_checked_again', case when p_whole_snapshot then checked_count end,
    'rejected_before_staging', (select count(distinct f.airtable_id) from validate_findings f where f.finding ? 'rejected_before_staging'),
    'rules', rules_now);

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
  drop table validate_check;
  drop table if exists validate_reused;
  return query select * from sync.validation_reports vr
               where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_criteria ->> 'check' = 'validation_rules'
               order by vr.validation_type;
end;
$$;
comment on function sync.validate_entity(bigint, text, boolean) is E'The validation report of an entity for run p_run_id: every enabled rule checked over the records the run read (or, with p_whole_snapshot, the latest source snapshot: a record whose current version a run already checked under the same rules keeps that run''s findings, and in a verify run the target answers the same_as_linked rules for records it holds exactly), warnings found here, the merge''s own problems of records that landed flagged (warnings naming what landed), and blocking findings as the merge quarantined them (and the records the runner could not stage, rule staging, rejected_before_staging true: all open ones over the snapshot, those the run rejected for a run), each naming record, field, value, rule and severity. Over the whole snapshot in a verify run that has verified the entity, the scope''s count and the runs that last read its records come from that completeness report, so staging is read only for records to check again. Writes a data_integrity and a relationship_integrity row to sync.validation_reports (criteria check = validation_rules) and returns them. For a run''s records, the warnings of record-local rules are also kept as their field problems (sync.field_problems, origin rule). Security definer: reads staging for any caller the sync role lets run it.';
--! EndIncluded validation_functions.sql
--! Included problem_functions.sql
/*
 * Field problems: what is wrong with records that landed (issue 15).
 * Re-creatable; included by migrations with `--!include
 * problem_functions.sql` after sync.field_problems, the sync functions and
 * the integrity functions it uses.
 *
 * The merge (origin merge) and the validation rules of each pull (origin
 * rule) find problems record by record; sync.record_problems keeps
 * sync.field_problems in step with what they found, set-based;
 * sync.refresh_problem_rows puts the rows' counts and target checksums
 * right; sync.resolve_dangling_links fills the links whose target has
 * appeared since.
 */

create function sync.record_problems(p_run_id bigint, p_entity text, p_origin text) returns text[]
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  source_table text;
  changed text[];
begin
  select m.table_id into source_table from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  -- audited under the run, so that a rollback of the run takes them back
  perform set_config('airlift.run_id', p_run_id::text, true);
  if to_regclass('pg_temp.problems_seen') is null then
    raise exception 'sync.record_problems reads the temporary table problems_seen (airtable_id text, problems jsonb): create it first'
      using errcode = 'undefined_table';
  end if;
  -- One statement: the problems found, the open ones of the records looked
  -- at, then close, rewrite and insert. A problem is the same problem when
  -- record, column (or field) and rule are the same.
  with found as (
    select s.airtable_id, p ->> 'field' as field, p ->> 'column' as column_name, p ->> 'rule' as rule,
           p -> 'value' as value, p -> 'canonical' as canonical, coalesce(p ->> 'landed', 'kept') as landed,
           p ->> 'link_key' as link_key, p ->> 'reason' as reason
    from pg_temp.problems_seen s
    cross join lateral jsonb_array_elements(s.problems) as p
  ), open_problems as (
    select fp.id, fp.airtable_id, coalesce(fp.column_name, fp.field, '') as problem_key, fp.rule,
           fp.value, fp.source_canonical, fp.landed, fp.link_key, fp.reason, fp.field
    from sync.field_problems fp
    where fp.entity = p_entity and fp.origin = p_origin and fp.resolved_at is null
      and fp.airtable_id in (select s.airtable_id from pg_temp.problems_seen s)
  ), matched as (
    select o.id, f.*,
           row(o.value, o.source_canonical, o.landed, o.link_key, o.reason, o.field)
             is distinct from row(f.value, f.canonical, f.landed, f.link_key, f.reason, f.field) as differs
    from open_problems o
    join found f on f.airtable_id = o.airtable_id and coalesce(f.column_name, f.field, '') = o.problem_key and f.rule = o.rule
  ), closed as (
    update sync.field_problems fp
    set resolved_at = now(), resolved_by_run_id = p_run_id
    from open_problems o
    where fp.id = o.id and o.id not in (select m.id from matched m)
    returning fp.airtable_id
  ), rewritten as (
    update sync.field_problems fp
    set value = m.value, source_canonical = m.canonical, landed = m.landed, link_key = m.link_key, reason = m.reason, field = m.field
    from matched m
    where fp.id = m.id and m.differs
    returning fp.airtable_id
  ), inserted as (
    insert into sync.field_problems (entity, source_table, airtable_id, field, column_name, rule, origin, value, source_canonical, landed, link_key, reason, run_id)
    select p_entity, source_table, f.airtable_id, f.field, f.column_name, f.rule, p_origin, f.value, f.canonical, f.landed, f.link_key, f.reason, p_run_id
    from found f
    where not exists (select from matched m where m.airtable_id = f.airtable_id
                        and coalesce(m.column_name, m.field, '') = coalesce(f.column_name, f.field, '') and m.rule = f.rule)
    returning airtable_id
  )
  select coalesce(array_agg(distinct x.airtable_id), '{}') into changed
  from (select airtable_id from closed union all select airtable_id from rewritten union all select airtable_id from inserted) x;
  return changed;
end;
$$;
comment on function sync.record_problems(bigint, text, text) is E'Keeps sync.field_problems in step with what a check found: reads the temporary table problems_seen (airtable_id, problems: a JSON array of {field, column, rule, value, canonical, landed, link_key, reason}) holding every record looked at, with its problems of origin p_origin (merge or rule); records new problems under run p_run_id, rewrites those whose value or reason changed, and closes the open ones the records no longer have. Returns the records whose open problems changed. Set-based, one statement. Security definer: the sync role writes problems only through it.';

create function sync.refresh_problem_rows(p_run_id bigint, p_entity text, p_airtable_ids text[]) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  recounted bigint;
begin
  if coalesce(cardinality(p_airtable_ids), 0) = 0 then
    return 0;
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  -- The rows' counts of open problems (a row written this way gets its
  -- target checksum from its trigger)...
  execute format($sql$
    update %s t set open_problem_count = n.open_problems
    from (select i.airtable_id, (select count(*) from sync.field_problems fp
                                 where fp.entity = $1 and fp.airtable_id = i.airtable_id and fp.resolved_at is null)::integer as open_problems
          from unnest($2) as i (airtable_id)) n
    where t.airtable_id = n.airtable_id and t.open_problem_count <> n.open_problems
  $sql$, target) using p_entity, p_airtable_ids;
  get diagnostics recounted = row_count;
  -- ...and the target checksums of the rows whose problems changed while
  -- the row did not (the canonical form puts an emptied column's source
  -- value back from its open problem).
  execute format($sql$
    insert into sync.target_checksums as c (entity, airtable_id, row_id, checksum, deleted)
    select $1, t.airtable_id, t.id, sync.checksum(t.canonical), t.deleted_at is not null
    from (%s) t
    on conflict (entity, airtable_id) do update
      set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
      where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
  $sql$, sync.target_canonical_sql(p_entity, format('(select x.* from %s x where x.airtable_id = any ($2))', target)))
  using p_entity, p_airtable_ids;
  return recounted;
end;
$$;
comment on function sync.refresh_problem_rows(bigint, text, text[]) is E'After the open problems of some records changed: sets their rows'' open_problem_count (audited under run p_run_id) and rebuilds their target checksums, which read the open problems. Returns how many rows were recounted. Security definer: writes app rows and sync.target_checksums for the sync role.';

create function sync.resolve_dangling_links(p_run_id bigint, p_entity text) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  candidates text;
  picks text;
  resolved bigint;
begin
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  -- per link column: its open dangling links whose record now exists
  select string_agg(format($part$
           select fp.id as problem_id, fp.airtable_id, %1$L::text as column_name, linked.id as linked_id
           from sync.field_problems fp
           join %2$s linked on linked.airtable_id = fp.link_key and linked.deleted_at is null
           where fp.entity = $1 and fp.column_name = %1$L and fp.rule = 'dangling_link' and fp.resolved_at is null$part$,
           ec.column_name, linked.target_table), ' union all '),
         string_agg(format('%1$I = case when t.%1$I is null then coalesce(r.%1$I, t.%1$I) else t.%1$I end', ec.column_name), ', ')
    into candidates, picks
  from sync.entity_columns ec
  join sync.entity_mappings m on m.entity = ec.entity and m.field_ids ? ec.column_name
  join sync.entities linked on linked.entity = ec.linked_entity
  where ec.entity = p_entity and ec.conversion = 'link';
  if candidates is null then
    return 0;
  end if;
  perform set_config('airlift.run_id', p_run_id::text, true);
  -- One statement for the table: the links found are closed, and each row
  -- gets its links (where still empty: a value set here since wins) and
  -- its count, audited under the run; the rows' checksum trigger reads the
  -- problems as closed.
  execute format($sql$
    with found as (%1$s
    ), closed as (
      update sync.field_problems fp set resolved_at = now(), resolved_by_run_id = $2
      from found f where fp.id = f.problem_id
      returning fp.id
    ), per_row as (
      select f.airtable_id, count(*)::integer as links, %2$s
      from found f group by f.airtable_id
    )
    update %3$s t set %4$s, open_problem_count = greatest(t.open_problem_count - r.links, 0)
    from per_row r
    where t.airtable_id = r.airtable_id
  $sql$, candidates,
     (select string_agg(format('(array_agg(f.linked_id) filter (where f.column_name = %1$L))[1] as %1$I', ec.column_name), ', ')
      from sync.entity_columns ec join sync.entity_mappings m on m.entity = ec.entity and m.field_ids ? ec.column_name
      where ec.entity = p_entity and ec.conversion = 'link'),
     target, picks)
  using p_entity, p_run_id;
  get diagnostics resolved = row_count;
  return resolved;
end;
$$;
comment on function sync.resolve_dangling_links(bigint, text) is E'Resolves the links of an entity''s rows that pointed at records missing when they were merged: every open dangling_link problem whose record now exists (live) is closed by run p_run_id, and its row gets the foreign key (unless one was set here since) and one open problem fewer, in one set-based statement for the table. Called by every final merge of the entity, so a link is filled once its target appears without the linking record changing in Airtable. Returns how many rows were relinked. Security definer: writes app rows for the sync role.';

/*
 * What is wrong with the data, in one place: the open field problems of
 * records that landed, and the quarantine (records a blocking rule, or an
 * id no row can hold, keeps out).
 */
create view sync.open_data_problems as
select fp.entity, fp.source_table, fp.airtable_id, fp.field, fp.column_name, fp.rule, fp.value, fp.reason,
       fp.landed as disposition, fp.created_at as since, fp.run_id
from sync.field_problems fp
where fp.resolved_at is null
union all
select m.entity, e.source_table, e.airtable_id, e.field, null, case when e.rejected_before_staging then 'staging'
         else coalesce(substring(e.reason from '\(rule ([a-z_.]+)\)$'), 'quarantine') end,
       e.value, e.reason, 'quarantined', e.created_at, e.run_id
from sync.record_errors e
left join sync.entity_mappings m on m.table_id = e.source_table
where e.resolved_at is null;
comment on view sync.open_data_problems is E'Every open data problem, one row per record, field and rule: those of records that landed (sync.field_problems; disposition empty, first_link or kept) and those of records kept out (sync.record_errors; disposition quarantined, rule staging for records that could not be staged). What status, verification and admin pages group by table, field and rule.';
comment on column sync.open_data_problems.entity is E'The entity of the record.';
comment on column sync.open_data_problems.source_table is E'The source table (Airtable table id).';
comment on column sync.open_data_problems.airtable_id is E'The source record id.';
comment on column sync.open_data_problems.field is E'The field at fault (null when the whole record is).';
comment on column sync.open_data_problems.column_name is E'The app column the field lands in, for records that landed.';
comment on column sync.open_data_problems.rule is E'The rule broken: the merge''s own (cell_conversion, required_value, check_range, dangling_link, extra_links), a validation rule id, staging (could not be staged) or quarantine.';
comment on column sync.open_data_problems.value is E'The value as the source sent it.';
comment on column sync.open_data_problems.reason is E'Why, in words.';
comment on column sync.open_data_problems.disposition is E'What became of the record or field: empty, first_link, kept (landed) or quarantined (kept out).';
comment on column sync.open_data_problems.since is E'When the problem was first found.';
comment on column sync.open_data_problems.run_id is E'The run that found it.';
--! EndIncluded problem_functions.sql

/*
 * Two-way sync, defects found trying it as a new user (issue 15, item 7):
 *
 * - A row an application inserted into app.* before the first pull was
 *   never captured (the capture trigger returned early while no mapping
 *   was loaded) and never reached Airtable. sync.push_columns now falls
 *   back to the catalogue's pushable columns while sync.entity_mappings is
 *   empty (the capture needs the columns, conversions and links, not the
 *   field ids); sync.push_rows_sql builds the Airtable fields object only
 *   for columns with a field id; sync.tg__capture_changes documents it.
 *   The push narrows entries to the mapped columns when it plans them.
 * - sync.push_status also shows the pending entries waiting out a retry
 *   delay (retry_waiting) and when the first is due (next_attempt_at),
 *   columns added at the end of the view.
 *
 * Idempotent while current: every object changed is created with `create
 * or replace` in change_capture.sql, with the same signature and, for the
 * view, the same columns followed by the new ones, so change_capture.sql
 * is included again whole (each function keeps one definition, in its
 * fixture) and nothing needs dropping: the capture triggers that depend on
 * sync.tg__capture_changes() stay as they are. Nothing new needs a grant
 * (grants.sql grants on every function and view of the schema, and
 * these are replaced, not created).
 */

--! Included change_capture.sql
/*
 * Two-way sync in SQL: change capture into sync.outbox, the conversion of
 * app rows back to Airtable cell shapes, the three-way push plan with the
 * conflict policies, conflict resolution and the outbox bookkeeping.
 * Re-creatable; included by migrations with `--!include change_capture.sql`
 * after sync.outbox, sync.conflict_policies and sync.conflicts.
 *
 * Canonical form: every comparison (base, local, remote) uses the form of
 * sync.cell_canonical / sync.target_canonical_sql (ISO dates, UTC
 * timestamps without zone, money to cents, a link as the linked record's
 * Airtable id), so a value pushed and pulled back compares equal and the
 * record's checksum does not move: no ping-pong.
 *
 * Base of the three-way comparison: the outbox entry's before_values, the
 * row's canonical values before its first local change since the entry
 * opened. That is the last value the sync wrote or saw for the row (every
 * sync write is uncaptured and lands before a local change). The staging
 * mirror is not used as base: a pull may have staged a newer Airtable
 * version after the local change; with staging as base that concurrent
 * Airtable edit would look unchanged and be overwritten silently.
 *
 * Every function is set-based: one statement per step over a batch, with
 * loops over entities (at most four), never over records.
 */

/*
 * What is captured needs no field id: the columns, their conversions and
 * their links are the catalogue's (sync.entity_columns). So the capture
 * does not wait for a mapping: while none is loaded (before the first pull
 * or push writes sync.entity_mappings), every pushable column of the
 * catalogue is captured, and a row an application inserts then is in the
 * outbox when the first push comes. The push narrows each entry to the
 * columns the mapping maps when it plans it (sync.plan_push joins the
 * mapping), and a create sends the row's mapped fields as they are then.
 * Once a mapping is loaded, an entity it leaves out is not synced: not
 * captured.
 */
create or replace function sync.push_columns(p_entity text)
returns table (column_name text, field_id text, conversion text, linked_table regclass)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select mc.column_name, mc.field_id, mc.conversion, mc.linked_table
  from sync.mapped_columns(p_entity) mc
  join sync.entity_columns ec on ec.entity = p_entity and ec.column_name = mc.column_name
  where ec.pushable
  union all
  -- no mapping loaded at all yet: the catalogue's pushable columns, no field ids
  select ec.column_name, null, ec.conversion, linked.target_table
  from sync.entity_columns ec
  left join sync.entities linked on linked.entity = ec.linked_entity
  where ec.entity = p_entity and ec.pushable and not exists (select from sync.entity_mappings)
$$;
comment on function sync.push_columns(text) is E'The columns of an entity that go back to Airtable (sync.entity_columns.pushable): what is captured in sync.outbox and pushed. With a mapping loaded, the pushable columns it maps, with their field ids (an entity the mapping leaves out has none); while no mapping is loaded at all (before the first pull or push), every pushable column of the catalogue, with a null field id, so that changes made before the first pull are captured too (the push narrows them to the mapped columns). Collaborators, lookups, created and last-modified times are never pushed.';

create or replace function sync.conflict_policy_for(p_entity text, p_column text) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(
    (select p.policy from sync.conflict_policies p where p.entity = p_entity and p.column_name = p_column),
    (select p.policy from sync.conflict_policies p where p.entity = p_entity and p.column_name is null),
    'source_wins')
$$;
comment on function sync.conflict_policy_for(text, text) is E'The conflict policy in force for one column: the column''s own policy, else the table''s, else source_wins.';

/*
 * One statement builder serves capture, conversion and planning, so that
 * all three see exactly the same values.
 */
create or replace function sync.push_rows_sql(p_entity text, p_rows text) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  raw_pairs text;
  canonical_pairs text;
  cell_pairs text;
  unresolved text;
  joins text;
begin
  select e.target_table into target from sync.entities e where e.entity = p_entity;
  if target is null then
    raise exception 'no entity %', p_entity using errcode = 'undefined_object';
  end if;
  select coalesce(string_agg(format('%L, to_jsonb(t.%I)', pc.column_name, pc.column_name), ', ' order by pc.column_name), ''),
         -- exactly sync.target_canonical_sql's expressions
         coalesce(string_agg(format('%L, %s', pc.column_name,
           case pc.conversion
             when 'timestamp' then format('to_jsonb(t.%I at time zone ''UTC'')', pc.column_name)
             when 'link' then format('to_jsonb(%I.airtable_id)', 'ref__' || pc.column_name)
             else format('to_jsonb(t.%I)', pc.column_name)
           end), ', ' order by pc.column_name), ''),
         -- Airtable's cell shapes, keyed by field id (none before a mapping is loaded)
         coalesce(string_agg(format('%L, %s', pc.field_id,
           case pc.conversion
             when 'timestamp' then format('to_jsonb(to_char(t.%I at time zone ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"''))', pc.column_name)
             when 'link' then format('case when t.%I is null then ''[]''::jsonb else jsonb_build_array(%I.airtable_id) end', pc.column_name, 'ref__' || pc.column_name)
             when 'checkbox' then format('to_jsonb(coalesce(t.%I, false))', pc.column_name)
             when 'multi_select' then format('to_jsonb(coalesce(t.%I, ''{}''::text[]))', pc.column_name)
             else format('to_jsonb(t.%I)', pc.column_name)
           end), ', ' order by pc.column_name) filter (where pc.field_id is not null), ''),
         coalesce(string_agg(format('case when t.%I is not null and %I.airtable_id is null then %L end', pc.column_name, 'ref__' || pc.column_name, pc.column_name), ', ' order by pc.column_name)
                    filter (where pc.conversion = 'link'), ''),
         coalesce(string_agg(format(' left join %s %I on %2$I.id = t.%3$I', pc.linked_table, 'ref__' || pc.column_name, pc.column_name), '' order by pc.column_name)
                    filter (where pc.conversion = 'link'), '')
    into raw_pairs, canonical_pairs, cell_pairs, unresolved, joins
  from sync.push_columns(p_entity) pc;
  return format('select t.id, t.airtable_id, t.deleted_at, t.updated_at, jsonb_build_object(%s) as raw_values, '
                'jsonb_build_object(%s) as canonical, jsonb_build_object(%s) as fields, '
                'array_remove(array[%s]::text[], null) as unresolved_links from %s t%s',
                raw_pairs, canonical_pairs, cell_pairs, unresolved, p_rows, joins);
end;
$$;
comment on function sync.push_rows_sql(text, text) is E'The statement that reads app rows of an entity (p_rows: a table, a transition table or a subquery in parentheses) as (id, airtable_id, deleted_at, updated_at, raw_values, canonical, fields, unresolved_links) over its pushable columns: raw values to detect changes, the canonical form (as sync.target_canonical_sql builds it) to compare, the Airtable fields object (field id -> cell: a link as [record id], a select as its option name, a date as YYYY-MM-DD, a timestamp as ISO UTC with milliseconds, money and integers as numbers, a checkbox as a boolean, a multiple select as an array), and the links whose target has no Airtable id yet. The columns are sync.push_columns'': the mapped ones, or the catalogue''s while no mapping is loaded, when the fields object is empty (no field ids yet).';

create or replace function sync.airtable_fields(p_entity text, p_row_ids uuid[])
returns table (row_id uuid, airtable_id text, fields jsonb, unresolved_links text[])
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
begin
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  return query execute format('select r.id, r.airtable_id, r.fields, r.unresolved_links from (%s) r',
    sync.push_rows_sql(p_entity, format('(select * from %s where id = any ($1))', target))) using p_row_ids;
end;
$$;
comment on function sync.airtable_fields(text, uuid[]) is E'The Airtable fields object (field id -> cell shape) of app rows, every pushable column included (null clears a field), with the link columns that cannot be sent yet because the linked row has no Airtable id. Collaborators and attachments are never sent. Security definer: the sync role reads app rows only through it and the planner.';

create or replace function sync.canonical_to_cell(p_value jsonb, p_conversion text) returns jsonb
language sql immutable parallel safe
as $$
  select case
    when p_value is null or jsonb_typeof(p_value) = 'null' then null
    when p_conversion = 'link' then case when jsonb_typeof(p_value) = 'array' then p_value else jsonb_build_array(p_value) end
    -- canonical timestamps are UTC without a zone; Airtable cells carry one
    when p_conversion = 'timestamp' and jsonb_typeof(p_value) = 'string' and p_value #>> '{}' !~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
      then to_jsonb((p_value #>> '{}') || 'Z')
    else p_value
  end
$$;
comment on function sync.canonical_to_cell(jsonb, text) is E'A canonical value back as the Airtable cell it stands for (a link id as a one-element list, a UTC timestamp with its Z), so that a chosen value goes through the same cell converters as a pulled one.';

/*
 * Capture. One statement-level trigger function for insert, update and
 * delete of every synced app table (argument: the entity). Each statement
 * becomes one set of changes, then one insert ... on conflict that opens an
 * entry per row or merges into the row's open one.
 */
create or replace function sync.tg__capture_changes() returns trigger
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_entity text := tg_argv[0];
  changes text;
begin
  -- Echo suppression: the sync's own writes run with airlift.run_id.
  if audit.current_run_id() is not null then
    return null;
  end if;
  -- The columns are the mapping's, or the catalogue's while no mapping is
  -- loaded (sync.push_columns): a change made before the first pull is
  -- captured too. Only an entity a loaded mapping leaves out has none.
  if not exists (select from sync.push_columns(v_entity)) then
    return null; -- not synced: nothing to push
  end if;

  if tg_op = 'INSERT' then
    changes := format($sql$
      select n.id as row_id, n.airtable_id,
             -- a row inserted with an Airtable id already exists there
             case when n.airtable_id is null then 'create' else 'update' end as operation,
             array(select e.key from jsonb_each(n.raw_values) e where e.value not in ('null', 'false', '[]') order by e.key) as changed_columns,
             '{}'::jsonb as before_values,
             false as restored
      from (%s) n
      where n.deleted_at is null
    $sql$, sync.push_rows_sql(v_entity, 'new_rows'));
  elsif tg_op = 'UPDATE' then
    changes := format($sql$
      select n.id as row_id, n.airtable_id, k.operation,
             case when k.operation = 'create'
                  then array(select e.key from jsonb_each(n.raw_values) e where e.value not in ('null', 'false', '[]') order by e.key)
                  else d.changed_columns end as changed_columns,
             case when k.operation = 'create' then '{}'::jsonb else d.before_values end as before_values,
             o.deleted_at is not null and n.deleted_at is null as restored
      from (%1$s) o
      join (%2$s) n on n.id = o.id
      cross join lateral (
        select coalesce(array_agg(e.key order by e.key), '{}') as changed_columns,
               coalesce(jsonb_object_agg(e.key, o.canonical -> e.key), '{}') as before_values
        from jsonb_each(n.raw_values) e
        where e.value is distinct from o.raw_values -> e.key
      ) d
      cross join lateral (
        select case
          when o.deleted_at is null and n.deleted_at is not null then 'delete'
          -- not in Airtable and no create on its way: the row is to be created
          when n.airtable_id is null and not exists (
            select from sync.outbox f where f.entity = $1 and f.row_id = n.id and f.status = 'in_flight' and f.operation = 'create')
            then 'create'
          else 'update' end as operation
      ) k
      -- edits of a row that stays deleted are not pushed
      where o.deleted_at is null or n.deleted_at is null
    $sql$, sync.push_rows_sql(v_entity, 'old_rows'), sync.push_rows_sql(v_entity, 'new_rows'));
  else
    changes := format($sql$
      select o.id as row_id, o.airtable_id, 'delete' as operation, '{}'::text[] as changed_columns, '{}'::jsonb as before_values, false as restored
      from (%s) o
      where o.deleted_at is null -- a soft-deleted row's delete was captured already
    $sql$, sync.push_rows_sql(v_entity, 'old_rows'));
  end if;

  execute format($sql$
    with changes as (%s)
    insert into sync.outbox as x (entity, row_id, airtable_id, operation, changed_columns, before_values, changed_by)
    select $1, c.row_id, c.airtable_id, c.operation, c.changed_columns, c.before_values, $2
    from changes c
    where case c.operation
            when 'create' then true
            -- a delete matters if Airtable has the row, or an entry is on its way there
            when 'delete' then c.airtable_id is not null
                               or exists (select from sync.outbox f where f.entity = $1 and f.row_id = c.row_id
                                          and f.status in ('pending', 'failed', 'in_flight'))
            else cardinality(c.changed_columns) > 0
                 -- a restore cancels an open delete
                 or (c.restored and exists (select from sync.outbox f where f.entity = $1 and f.row_id = c.row_id
                                            and f.status in ('pending', 'failed') and f.operation = 'delete'))
          end
    on conflict (entity, row_id) where status in ('pending', 'failed') do update
      set operation = case when x.operation = 'create' then 'create'
                           when excluded.operation = 'delete' then 'delete'
                           else 'update' end,
          status = case
            -- created and deleted before it ever reached Airtable: nothing to push
            when x.operation = 'create' and excluded.operation = 'delete' then 'superseded'
            -- deleted, then restored with no column changed: nothing to push
            when x.operation = 'delete' and excluded.operation <> 'delete'
                 and cardinality(x.changed_columns || excluded.changed_columns) = 0 then 'superseded'
            else 'pending' end,
          changed_columns = array(select distinct u from unnest(x.changed_columns || excluded.changed_columns) as u order by u),
          -- the original before value of each column is kept
          before_values = case when x.operation = 'create' then x.before_values else excluded.before_values || x.before_values end,
          airtable_id = coalesce(x.airtable_id, excluded.airtable_id),
          attempts = case when x.status = 'failed' then 0 else x.attempts end,
          next_attempt_at = null,
          changed_by = excluded.changed_by,
          last_changed_at = now()
  $sql$, changes) using v_entity, coalesce(audit.current_actor(), audit.acting_role());
  return null;
end;
$$;
comment on function sync.tg__capture_changes() is E'Statement-level AFTER INSERT/UPDATE/DELETE trigger of the synced app tables (argument: the entity): captures each row whose pushable columns changed, or that was created, soft- or hard-deleted or restored, into sync.outbox, merging into the row''s open entry (union of columns, original before values; create+update stays create, create+delete is superseded, update+delete is delete, delete+restore is update or superseded). Does nothing when airlift.run_id is set (a sync write: no echo). While no mapping is loaded at all (before the first pull or push), captures over the catalogue''s pushable columns (sync.push_columns), so a row an application writes then is not lost; once a mapping is loaded, an entity it leaves out is not captured. Security definer: app writers cannot write sync tables.';

/*
 * Outbox bookkeeping for the push task.
 */
create or replace function sync.outbox_retry_delay(p_attempts integer) returns interval
language sql immutable parallel safe
as $$ select least(interval '30 seconds' * power(2, greatest(p_attempts, 1) - 1), interval '1 hour') $$;
comment on function sync.outbox_retry_delay(integer) is E'How long a transient push failure waits before the next attempt: 30 s, doubling per attempt, at most an hour.';

create or replace function sync.claim_outbox(p_run_id bigint, p_entity text, p_operation text default null, p_limit integer default 10)
returns setof sync.outbox
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
  with due as (
    select o.id
    from sync.outbox o
    where o.entity = p_entity and o.status = 'pending'
      and (p_operation is null or o.operation = p_operation)
      and (o.next_attempt_at is null or o.next_attempt_at <= now())
      -- an update or delete waits for its row's create to bring the Airtable id
      and (o.operation = 'create' or o.airtable_id is not null)
      -- at most once per run: an entry deferred or retried by this run waits for the next
      and o.run_id is distinct from p_run_id
      -- one push at a time per row
      and not exists (select from sync.outbox f where f.entity = o.entity and f.row_id = o.row_id and f.status = 'in_flight')
    order by o.id
    limit p_limit
    for update skip locked
  )
  update sync.outbox o
  set status = 'in_flight', attempts = o.attempts + 1, claimed_at = now(), run_id = p_run_id, push_plan = null
  from due
  where o.id = due.id
  returning o.*
$$;
comment on function sync.claim_outbox(bigint, text, text, integer) is E'Claims up to p_limit due pending entries of an entity (oldest first, optionally one operation) for push run p_run_id: they become in_flight with one more attempt. Skips locked entries (several pushers may run), entries this run claimed before (a deferred entry waits for the next run), updates and deletes still waiting for their row''s Airtable id, and rows with an entry in flight. Push entities in merge_rank order so that links find their targets created.';

create or replace function sync.mark_outbox_failed(p_run_id bigint, p_failures jsonb, p_max_attempts integer default 10)
returns setof sync.outbox
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if to_regclass('pg_temp.outbox_failures') is null then
    create temp table outbox_failures (id bigint primary key, error text, response jsonb, permanent boolean) on commit drop;
  end if;
  truncate outbox_failures;
  insert into outbox_failures
  select f.id, coalesce(f.error, 'failed without a message'), f.response, coalesce(f.permanent, false)
  from jsonb_to_recordset(p_failures) as f (id bigint, error text, response jsonb, permanent boolean)
  join sync.outbox o on o.id = f.id and o.status = 'in_flight'
  on conflict (id) do nothing;

  -- A newer change of the row opened another entry meanwhile: the failed
  -- one folds into it (its columns and older before values carried over),
  -- so nothing is dropped and the row keeps one open entry.
  with folded as (
    update sync.outbox n
    set changed_columns = array(select distinct u from unnest(n.changed_columns || o.changed_columns) as u order by u),
        before_values = n.before_values || o.before_values,
        operation = case when o.operation = 'create' and n.operation = 'update' then 'create' else n.operation end,
        last_error = f.error
    from sync.outbox o
    join outbox_failures f on f.id = o.id
    where n.entity = o.entity and n.row_id = o.row_id and n.status in ('pending', 'failed') and n.id <> o.id
    returning o.id
  )
  update sync.outbox o
  set status = 'superseded', last_error = f.error, airtable_response = f.response
  from outbox_failures f
  where f.id = o.id and o.id in (select id from folded);

  return query
  update sync.outbox o
  set status = case when f.permanent or o.attempts >= p_max_attempts then 'failed' else 'pending' end,
      next_attempt_at = case when f.permanent or o.attempts >= p_max_attempts then null else now() + sync.outbox_retry_delay(o.attempts) end,
      last_error = case when not f.permanent and o.attempts >= p_max_attempts
                        then format('%s (gave up after %s attempts)', f.error, o.attempts) else f.error end,
      airtable_response = f.response,
      run_id = coalesce(p_run_id, o.run_id)
  from outbox_failures f
  where f.id = o.id and o.status = 'in_flight'
  returning o.*;
end;
$$;
comment on function sync.mark_outbox_failed(bigint, jsonb, integer) is E'Records push failures, the rest of a batch going on: p_failures is a JSON array of {id, error, response, permanent}. A permanent failure (Airtable refused the record: 422) becomes failed with Airtable''s message; a transient one goes back to pending with exponential backoff, failed after p_max_attempts. An entry whose row changed again meanwhile folds into the newer open entry and is superseded. Returns the entries marked.';

create or replace function sync.mark_outbox_pushed(p_run_id bigint, p_results jsonb)
returns setof sync.outbox
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  e record;
begin
  -- The Airtable ids written below are sync writes: never captured.
  perform set_config('airlift.run_id', p_run_id::text, true);
  if to_regclass('pg_temp.outbox_pushed') is null then
    create temp table outbox_pushed (id bigint, entity text, row_id uuid, operation text, airtable_id text) on commit drop;
  end if;
  truncate outbox_pushed;
  with results as (
    select r.id, r.airtable_id, r.response from jsonb_to_recordset(p_results) as r (id bigint, airtable_id text, response jsonb)
  ), marked as (
    update sync.outbox o
    set status = 'pushed', pushed_at = now(), airtable_response = r.response, last_error = null, next_attempt_at = null,
        airtable_id = coalesce(o.airtable_id, r.airtable_id), run_id = p_run_id
    from results r
    where o.id = r.id and o.status = 'in_flight'
    returning o.id, o.entity, o.row_id, o.operation, o.airtable_id
  )
  insert into outbox_pushed select * from marked;

  if exists (select from outbox_pushed p where p.operation = 'create' and p.airtable_id is null) then
    raise exception 'a pushed create needs the new Airtable record id'
      using errcode = 'not_null_violation', detail = (select string_agg(p.id::text, ', ') from outbox_pushed p where p.operation = 'create' and p.airtable_id is null);
  end if;

  -- Created records: the Airtable id into the row (one statement per table)
  -- and the id map, and into the row's later entries that waited for it.
  for e in select distinct p.entity, t.target_table from outbox_pushed p join sync.entities t on t.entity = p.entity where p.operation = 'create' loop
    execute format($sql$
      update %s t set airtable_id = p.airtable_id
      from outbox_pushed p
      where p.entity = $1 and p.operation = 'create' and t.id = p.row_id and t.airtable_id is distinct from p.airtable_id
    $sql$, e.target_table) using e.entity;
  end loop;

  insert into sync.id_map as m (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum)
  select p.entity, p.airtable_id, p.row_id, p_run_id, mp.table_id, t.target_table::text, c.checksum
  from outbox_pushed p
  join sync.entities t on t.entity = p.entity
  join sync.entity_mappings mp on mp.entity = p.entity
  left join sync.target_checksums c on c.entity = p.entity and c.airtable_id = p.airtable_id
  where p.operation = 'create'
  on conflict (entity_type, legacy_id) do update set uuid_id = excluded.uuid_id, checksum = coalesce(excluded.checksum, m.checksum)
  where m.uuid_id is distinct from excluded.uuid_id;

  update sync.outbox o
  set airtable_id = p.airtable_id
  from outbox_pushed p
  where p.operation = 'create' and o.entity = p.entity and o.row_id = p.row_id and o.airtable_id is null
    and o.status in ('pending', 'failed', 'in_flight');

  -- What Airtable computed for the pushed records (created and last-modified
  -- times, lookups), from its response, into the rows: the next pull then
  -- finds them as they are and writes nothing (no ping-pong).
  for e in select p.entity, jsonb_object_agg(p.row_id, stamped.cells) as cells
           from outbox_pushed p
           join sync.outbox o on o.id = p.id
           cross join lateral (
             -- an empty cell is absent from the response: null
             select jsonb_object_agg(mc.column_name, coalesce(o.airtable_response -> 'fields' -> mc.field_id, 'null')) as cells
             from sync.mapped_columns(p.entity) mc
             join sync.entity_columns ec on ec.entity = p.entity and ec.column_name = mc.column_name and not ec.pushable
             where mc.conversion in ('timestamp', 'lookup_text')
           ) stamped
           where p.operation <> 'delete' and jsonb_typeof(o.airtable_response -> 'fields') = 'object' and stamped.cells is not null
           group by p.entity loop
    perform sync.apply_airtable_cells(p_run_id, e.entity, e.cells);
  end loop;

  return query select o.* from sync.outbox o join outbox_pushed p on p.id = o.id order by o.id;
end;
$$;
comment on function sync.mark_outbox_pushed(bigint, jsonb) is E'Records what Airtable accepted: p_results is a JSON array of {id, airtable_id, response}. Entries become pushed. For a create, the new record id is stored in the app row and in sync.id_map as a sync write under p_run_id (not captured: no new outbox entry), and given to the row''s later entries that waited for it. What Airtable computed for each record (created and last-modified times, lookups: from the response, fields keyed by field id) is written to the row, so the next pull finds nothing to change. Returns the entries marked.';

create or replace function sync.release_stale_outbox(p_lease interval default interval '15 minutes') returns integer
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
  -- An update or delete may be sent again (Airtable applies it once more,
  -- harmlessly); a create may have reached Airtable before the crash, so
  -- it is failed for a person to check rather than sent twice.
  select count(*)::int
  from sync.mark_outbox_failed(null, (
    select coalesce(jsonb_agg(jsonb_build_object(
             'id', o.id,
             'permanent', o.operation = 'create',
             'error', case when o.operation = 'create'
                           then format('interrupted while creating the record (claimed %s): check Airtable for it before sync.retry_outbox', o.claimed_at)
                           else format('interrupted (claimed %s); retried', o.claimed_at) end)), '[]')
    from sync.outbox o
    where o.status = 'in_flight' and o.claimed_at < now() - p_lease))
$$;
comment on function sync.release_stale_outbox(interval) is E'Frees entries left in flight longer than p_lease by a push that died: updates and deletes go back to pending, creates become failed (they may have reached Airtable; a person checks before retrying). Returns how many were released.';

create or replace function sync.retry_outbox(p_ids bigint[]) returns integer
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
  with retried as (
    update sync.outbox o set status = 'pending', attempts = 0, next_attempt_at = null
    where o.id = any (p_ids) and o.status = 'failed'
    returning 1
  )
  select count(*)::int from retried
$$;
comment on function sync.retry_outbox(bigint[]) is E'Makes failed entries pending again, attempts reset (after the cause was fixed). Their last error stays until they are pushed. Returns how many.';

/*
 * Values decided in Airtable's favour, written to the app rows.
 */
create or replace function sync.apply_airtable_cells(p_run_id bigint, p_entity text, p_cells jsonb) returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  assignments text;
  changed integer;
begin
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  -- a sync write: not captured, so it is not pushed back
  perform set_config('airlift.run_id', p_run_id::text, true);
  select string_agg(format('%1$I = case when c.cells ? %1$L then %2$s else t.%1$I end', pc.column_name,
           case pc.conversion
             when 'text' then format('sync.cell_text(c.cells -> %L)', pc.column_name)
             when 'select' then format('sync.cell_text(c.cells -> %L)', pc.column_name)
             when 'date' then format('sync.cell_date(c.cells -> %L)', pc.column_name)
             when 'timestamp' then format('sync.cell_timestamp(c.cells -> %L)', pc.column_name)
             when 'money' then format('sync.cell_money(c.cells -> %L)', pc.column_name)
             when 'integer' then format('sync.cell_integer(c.cells -> %L)', pc.column_name)
             when 'checkbox' then format('sync.cell_checkbox(c.cells -> %L)', pc.column_name)
             when 'multi_select' then format('sync.cell_text_array(c.cells -> %L)', pc.column_name)
             when 'lookup_text' then format('sync.cell_lookup_text(c.cells -> %L)', pc.column_name)
             when 'link' then format('(select l.id from %s l where l.airtable_id = sync.cell_first_link(c.cells -> %L) and l.deleted_at is null)',
                                     pc.linked_table, pc.column_name)
           end), ', ' order by pc.column_name)
    into assignments
  -- every mapped column the cell converters can fill: the pushable ones a
  -- decision writes, and the ones Airtable computes (its last-modified time)
  -- that a pushed record's response carries
  from sync.mapped_columns(p_entity) pc
  where pc.conversion in ('text', 'select', 'date', 'timestamp', 'money', 'integer', 'checkbox', 'multi_select', 'link', 'lookup_text');
  if assignments is null then
    return 0;
  end if;
  execute format($sql$
    update %s t set %s
    from jsonb_each($1) as c (row_id, cells)
    where t.id = c.row_id::uuid
  $sql$, target, assignments) using coalesce(p_cells, '{}');
  get diagnostics changed = row_count;
  return changed;
end;
$$;
comment on function sync.apply_airtable_cells(bigint, text, jsonb) is E'Writes Airtable cells into app rows: p_cells is {row id: {column: Airtable cell}}, converted exactly as the merge converts them (a link resolved to the live row with that Airtable id). A sync write under p_run_id, so it is audited but not captured in the outbox. Returns the rows written.';

/*
 * The three-way push plan.
 */
create or replace function sync.push_remote_marks(p_outbox_ids bigint[])
returns table (outbox_id bigint, airtable_id text, mirror_last_modified text, last_modified_field_name text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select o.id, o.airtable_id,
         -- Airtable's own clock, as the mirror holds it: an ISO timestamp or nothing
         case when s.fields ->> m.last_modified_field_id ~ '^\d{4}-\d\d-\d\dT[0-9:.]+Z$' then s.fields ->> m.last_modified_field_id end,
         (select n.value from jsonb_each_text(m.field_ids) i join jsonb_each_text(m.field_names) n on n.key = i.key
          where i.value = m.last_modified_field_id limit 1)
  from sync.outbox o
  join sync.entity_mappings m on m.entity = o.entity
  left join staging.airtable_records s on s.table_id = m.table_id and s.airtable_id = o.airtable_id
  where o.id = any (p_outbox_ids) and o.status = 'in_flight' and o.operation = 'update' and o.airtable_id is not null
  order by o.id
$$;
comment on function sync.push_remote_marks(bigint[]) is E'For the claimed updates among p_outbox_ids: the record id, the Last Modified value the staging mirror holds for it (Airtable''s clock; null when the mirror has no version or no such value) and the Last Modified field''s name as of the last pull. The push asks Airtable only for the records modified since (one formula request for hundreds of records) and takes the mirror as the remote side of the rest (sync.plan_push p_remote_from_mirror): the read before pushing costs a request per changed record page, not per 100 records.';

create or replace function sync.plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb default '{}', p_remote_from_mirror text[] default '{}')
returns table (outbox_id bigint, entity text, row_id uuid, airtable_id text, action text, fields jsonb, airtable_wins jsonb, conflict_ids bigint[])
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '64MB'
as $$
#variable_conflict use_column
declare
  e record;
  who text := coalesce(audit.current_actor(), audit.acting_role());
begin
  perform set_config('airlift.run_id', p_run_id::text, true);
  if to_regclass('pg_temp.push_plan_rows') is not null then drop table pg_temp.push_plan_rows; end if;
  if to_regclass('pg_temp.push_plan_cells') is not null then drop table pg_temp.push_plan_cells; end if;
  if to_regclass('pg_temp.push_plan_conflicts') is not null then drop table pg_temp.push_plan_conflicts; end if;
  if to_regclass('pg_temp.push_plan_result') is not null then drop table pg_temp.push_plan_result; end if;

  -- The claimed entries with their rows now (local) and Airtable's record
  -- as read just before pushing (remote), one statement per entity.
  create temp table push_plan_rows (
    outbox_id bigint, entity text, row_id uuid, airtable_id text, operation text, changed_columns text[], before_values jsonb,
    row_exists boolean, deleted boolean, changed_at timestamptz, canonical jsonb, fields jsonb, unresolved_links text[],
    remote jsonb, remote_modified_at timestamptz, push_deletes boolean
  ) on commit drop;
  for e in select distinct o.entity, t.target_table from sync.outbox o join sync.entities t on t.entity = o.entity
           where o.id = any (p_outbox_ids) and o.status = 'in_flight' loop
    execute format($sql$
      insert into push_plan_rows
      select o.id, o.entity, o.row_id, o.airtable_id, o.operation, o.changed_columns, o.before_values,
             r.id is not null, r.deleted_at is not null,
             -- when the local change was made (a pull writing other columns
             -- of the row moves its updated_at, not this)
             o.last_changed_at, r.canonical, r.fields, r.unresolved_links,
             coalesce($3 -> o.airtable_id, mirror.fields),
             coalesce(($4 ->> o.airtable_id)::timestamptz, sync.cell_timestamp(coalesce($3 -> o.airtable_id, mirror.fields) -> m.last_modified_field_id)),
             m.push_deletes
      from sync.outbox o
      join sync.entity_mappings m on m.entity = o.entity
      left join (%s) r on r.id = o.row_id
      -- Airtable confirmed the record unchanged since the mirror's version
      left join staging.airtable_records mirror
        on o.airtable_id = any ($5) and mirror.table_id = m.table_id and mirror.airtable_id = o.airtable_id
      where o.id = any ($1) and o.status = 'in_flight' and o.entity = $2
    $sql$, sync.push_rows_sql(e.entity, format('(select * from %s where id in (select x.row_id from sync.outbox x where x.id = any ($1) and x.entity = $2))', e.target_table)))
    using p_outbox_ids, e.entity, coalesce(p_remote, '{}'), coalesce(p_remote_modified, '{}'), coalesce(p_remote_from_mirror, '{}');
  end loop;

  -- Field by field, for updates of rows Airtable still has: base (before
  -- values), local (the row now), remote (Airtable now), all canonical.
  create temp table push_plan_cells on commit drop as
  select s.*,
         case
           when s.held then 'held'                                  -- an open manual conflict waits for a person
           when s.local_value is not distinct from s.base_value then 'unchanged' -- changed back here
           when s.remote_value is not distinct from s.base_value then 'push'     -- changed here only
           when s.remote_value is not distinct from s.local_value then 'same'    -- both, to the same value
           when s.policy = 'source_wins' then 'airtable'
           when s.policy = 'target_wins' then 'postgres'
           when s.policy = 'newest_wins' then
             -- the later change wins; unknown Airtable time or a tie: Airtable
             case when s.remote_modified_at is not null and s.local_modified_at > s.remote_modified_at then 'postgres' else 'airtable' end
           else 'manual'
         end as decision
  from (
    select p.outbox_id, p.entity, p.row_id, p.airtable_id, c.column_name, m.field_ids ->> c.column_name as field_id,
           -- an absent value is JSON null on all three sides
           coalesce(p.before_values -> c.column_name, 'null') as base_value,
           coalesce(p.canonical -> c.column_name, 'null') as local_value,
           coalesce(sync.cell_canonical(p.remote -> (m.field_ids ->> c.column_name), ec.conversion), 'null') as remote_value,
           p.fields -> (m.field_ids ->> c.column_name) as local_cell,
           p.remote -> (m.field_ids ->> c.column_name) as remote_cell,
           c.column_name = any (p.unresolved_links) as unresolved,
           coalesce(cp.policy, tp.policy, 'source_wins') as policy,
           p.changed_at as local_modified_at, p.remote_modified_at,
           exists (select from sync.conflicts k where k.status = 'open' and k.entity = p.entity and k.row_id = p.row_id
                   and k.column_name = c.column_name) as held
    from push_plan_rows p
    cross join lateral unnest(p.changed_columns) as c (column_name)
    join sync.entity_mappings m on m.entity = p.entity and m.field_ids ? c.column_name
    join sync.entity_columns ec on ec.entity = p.entity and ec.column_name = c.column_name and ec.pushable
    left join sync.conflict_policies cp on cp.entity = p.entity and cp.column_name = c.column_name
    left join sync.conflict_policies tp on tp.entity = p.entity and tp.column_name is null
    where p.operation = 'update' and p.row_exists and not p.deleted and p.remote is not null
  ) s;

  -- Every field changed differently on both sides goes to the log: decided
  -- by the policy (resolved), or parked for a person (manual: open).
  create temp table push_plan_conflicts (id bigint, outbox_id bigint) on commit drop;
  with logged as (
    insert into sync.conflicts (entity, row_id, airtable_id, column_name, base_value, local_value, remote_value,
                                local_modified_at, remote_modified_at, policy, status, resolution, resolved_value,
                                decided_by_rule, decided_by, outbox_id, run_id, resolved_by_run_id, resolved_at)
    select c.entity, c.row_id, c.airtable_id, c.column_name, c.base_value, c.local_value, c.remote_value,
           c.local_modified_at, c.remote_modified_at, c.policy,
           case when c.decision = 'manual' then 'open' else 'resolved' end,
           case c.decision when 'airtable' then 'airtable' when 'postgres' then 'postgres' end,
           case c.decision when 'airtable' then c.remote_value when 'postgres' then c.local_value end,
           case when c.decision <> 'manual' then c.policy end,
           case when c.decision <> 'manual' then who end,
           c.outbox_id, p_run_id,
           case when c.decision <> 'manual' then p_run_id end,
           case when c.decision <> 'manual' then now() end
    from push_plan_cells c
    where c.decision in ('airtable', 'postgres', 'manual')
    order by c.outbox_id, c.column_name
    returning sync.conflicts.id, sync.conflicts.outbox_id
  )
  insert into push_plan_conflicts select l.id, l.outbox_id from logged l;

  create temp table push_plan_result on commit drop as
  select p.outbox_id, p.entity, p.row_id, p.airtable_id, p.operation,
         case
           when p.operation = 'create' then
             case when not p.row_exists or p.deleted then 'skip'
                  when cardinality(p.unresolved_links) > 0 then 'defer'
                  else 'create' end
           when p.operation = 'delete' then case when p.push_deletes then 'delete' else 'skip' end
           when not p.row_exists or p.deleted then 'skip'
           when p.remote is null then 'fail'
           when f.unresolved then 'defer'
           when f.fields = '{}' then 'skip'
           else 'update'
         end as action,
         case when p.operation = 'create' then jsonb_strip_nulls(p.fields) else f.fields end as fields,
         f.wins, f.win_cells, f.decisions,
         coalesce((select array_agg(k.id order by k.id) from push_plan_conflicts k where k.outbox_id = p.outbox_id), '{}') as conflict_ids
  from push_plan_rows p
  cross join lateral (
    select coalesce(jsonb_object_agg(c.field_id, c.local_cell) filter (where c.decision in ('push', 'postgres')), '{}') as fields,
           coalesce(jsonb_object_agg(c.column_name, c.remote_value) filter (where c.decision = 'airtable'), '{}') as wins,
           coalesce(jsonb_object_agg(c.column_name, c.remote_cell) filter (where c.decision = 'airtable'), '{}') as win_cells,
           coalesce(jsonb_object_agg(c.column_name, c.decision), '{}') as decisions,
           coalesce(bool_or(c.unresolved) filter (where c.decision in ('push', 'postgres')), false) as unresolved
    from push_plan_cells c where c.outbox_id = p.outbox_id
  ) f;

  -- Airtable's winning values into the app rows (sync writes, not captured).
  for e in select r.entity, jsonb_object_agg(r.row_id, r.win_cells) as cells
           from push_plan_result r where r.win_cells <> '{}' group by r.entity loop
    perform sync.apply_airtable_cells(p_run_id, e.entity, e.cells);
  end loop;

  -- The plan is kept with each entry; entries with nothing to send end here.
  update sync.outbox o
  set push_plan = jsonb_build_object('action', r.action, 'fields', r.fields, 'airtable_wins', r.wins,
                                     'decisions', r.decisions, 'conflict_ids', to_jsonb(r.conflict_ids)),
      status = case when r.action = 'skip' then 'skipped' else o.status end,
      last_error = case r.action
        when 'skip' then case
          when r.operation = 'delete' then format('not deleted in Airtable: deletes are not pushed for %s (sync.entity_mappings.push_deletes)', r.entity)
          when r.operation = 'create' then 'the row was deleted before it was created in Airtable'
          when r.operation = 'update' and r.fields = '{}' then null
          else 'the row was deleted here before its update was pushed' end
        else o.last_error end
  from push_plan_result r
  where o.id = r.outbox_id;

  -- A create skipped because its row is gone: the row's later entries
  -- waiting for its Airtable id will never get one.
  update sync.outbox o
  set status = 'superseded'
  from push_plan_result r
  where r.operation = 'create' and r.action = 'skip' and o.entity = r.entity and o.row_id = r.row_id
    and o.id <> r.outbox_id and o.status in ('pending', 'failed') and o.airtable_id is null;

  perform sync.mark_outbox_failed(p_run_id, jsonb_agg(jsonb_build_object(
            'id', r.outbox_id,
            'permanent', r.action = 'fail',
            'error', case when r.action = 'fail' then format('record %s is not in Airtable any more (deleted there?)', r.airtable_id)
                          else 'waiting for a linked row to be created in Airtable first' end)))
  from push_plan_result r where r.action in ('fail', 'defer');
  -- a deferral is not a failure: due again at once, no attempt spent
  update sync.outbox o
  set next_attempt_at = null, attempts = greatest(o.attempts - 1, 0)
  from push_plan_result r
  where r.action = 'defer' and o.id = r.outbox_id and o.status = 'pending';

  return query
  select r.outbox_id, r.entity, r.row_id, r.airtable_id, r.action, r.fields, r.wins, r.conflict_ids
  from push_plan_result r order by r.outbox_id;
end;
$$;
comment on function sync.plan_push(bigint, bigint[], jsonb, jsonb, text[]) is E'Plans the push of claimed (in_flight) outbox entries, set-based. p_remote: Airtable''s current records read just before pushing, {record id: {field id: cell}}; p_remote_modified: {record id: last-modified time}, else read from the mapping''s Last Modified field; p_remote_from_mirror: record ids Airtable just confirmed unchanged since the staging mirror''s version (their Last Modified is not later, see sync.push_remote_marks), whose remote side is the mirror''s fields. Per changed field of an update: base (before value), local (row now) and remote compared in canonical form; changed on one side only, that side wins; both to the same value, nothing; both differently, the column''s policy decides (source_wins, target_wins, newest_wins: remote last-modified against the time of the local change, manual: parked open in sync.conflicts and not sent) and the conflict is logged. Airtable''s winning values are written to the app rows as sync writes (not captured). Returns per entry the action (create, update, delete: send fields; skip: nothing to send, marked skipped; fail: record gone from Airtable, marked failed; defer: a link target is not in Airtable yet, back to pending), the fields to send (Airtable cell shapes by field id), the values Airtable won, and the conflicts logged.';

create or replace function sync.resolve_conflict(p_run_id bigint, p_conflict_id bigint, p_take text, p_value jsonb default null, p_decided_by text default null)
returns sync.conflicts
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  k sync.conflicts;
  conv text;
  chosen jsonb;
  cell jsonb;
  problem text;
  remote_now jsonb;
  local_now jsonb;
begin
  select * into k from sync.conflicts c where c.id = p_conflict_id for update;
  if not found then
    raise exception 'no conflict %', p_conflict_id using errcode = 'no_data_found';
  end if;
  if k.status <> 'open' then
    raise exception 'conflict % is already resolved (%, by %)', p_conflict_id, k.resolution, k.decided_by
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  if p_take is null or p_take not in ('airtable', 'postgres', 'value') then
    raise exception 'take airtable, postgres or value, not %', coalesce(p_take, 'nothing') using errcode = 'invalid_parameter_value';
  end if;
  if p_take = 'value' and p_value is null then
    raise exception 'resolving conflict % with a value needs the value (JSON; null clears the field)', p_conflict_id
      using errcode = 'invalid_parameter_value';
  end if;
  select ec.conversion into strict conv from sync.entity_columns ec where ec.entity = k.entity and ec.column_name = k.column_name;
  -- Airtable's value as the sync last saw it: pulls keep the staging mirror
  -- current while the field is parked, so it may be newer than the value
  -- the conflict recorded. Taking Airtable takes that one; taking
  -- PostgreSQL pushes against it (a later Airtable edit is a new conflict).
  select coalesce(sync.cell_canonical(s.fields -> (m.field_ids ->> k.column_name), conv), 'null') into remote_now
  from sync.entity_mappings m
  join staging.airtable_records s on s.table_id = m.table_id and s.airtable_id = k.airtable_id
  where m.entity = k.entity;
  remote_now := coalesce(remote_now, k.remote_value);
  -- PostgreSQL's value is the row's now (it may have changed again since).
  execute format('select r.canonical -> %L from (%s) r', k.column_name,
                 sync.push_rows_sql(k.entity, format('(select * from %s where id = %L)',
                                                    (select e.target_table from sync.entities e where e.entity = k.entity), k.row_id)))
    into local_now;
  chosen := case p_take when 'airtable' then remote_now when 'postgres' then coalesce(local_now, k.local_value) else p_value end;
  cell := sync.canonical_to_cell(chosen, conv);
  problem := sync.cell_problem(cell, conv);
  if problem is not null then
    raise exception 'conflict %: % cannot be %: %', p_conflict_id, chosen, k.column_name, problem using errcode = 'invalid_parameter_value';
  end if;
  -- canonical as the pull would see it (e.g. 12.5 -> 12.50)
  chosen := coalesce(sync.cell_canonical(cell, conv), 'null');

  perform set_config('airlift.run_id', p_run_id::text, true);
  if p_take in ('airtable', 'value') then
    perform sync.apply_airtable_cells(p_run_id, k.entity, jsonb_build_object(k.row_id, jsonb_build_object(k.column_name, cell)));
  end if;
  if p_take in ('postgres', 'value') then
    -- PostgreSQL's value goes to Airtable: Airtable's value as known is the
    -- base, so the push sees a change here only (and a newer Airtable edit
    -- as a new conflict).
    insert into sync.outbox as x (entity, row_id, airtable_id, operation, changed_columns, before_values, changed_by)
    values (k.entity, k.row_id, k.airtable_id, 'update', array[k.column_name], jsonb_build_object(k.column_name, remote_now),
            coalesce(p_decided_by, audit.current_actor(), audit.acting_role()))
    on conflict (entity, row_id) where status in ('pending', 'failed') do update
      set changed_columns = array(select distinct u from unnest(x.changed_columns || excluded.changed_columns) as u order by u),
          before_values = case when x.operation = 'create' then x.before_values else x.before_values || excluded.before_values end,
          status = 'pending', attempts = 0, next_attempt_at = null, last_changed_at = now();
  end if;

  update sync.conflicts c
  set status = 'resolved', resolution = p_take, resolved_value = chosen, decided_by_rule = 'manual',
      decided_by = coalesce(p_decided_by, audit.current_actor(), audit.acting_role()),
      resolved_by_run_id = p_run_id, resolved_at = now()
  where c.id = p_conflict_id
  returning * into k;
  return k;
end;
$$;
comment on function sync.resolve_conflict(bigint, bigint, text, jsonb, text) is E'Resolves a parked conflict by hand: take airtable (its latest value as the sync saw it, from the staging mirror, written to the row), postgres (the row''s current value queued for Airtable, with Airtable''s latest seen value as base) or value (p_value, canonical JSON, written to the row and queued). The writes are sync writes under p_run_id (not captured twice). Records the rule (manual) and who decided (p_decided_by, else airlift.actor, else the database role); the audit trail keeps the change. Refuses an unknown (P0002) or resolved (55000) conflict and a value the column cannot hold (22023).';

/*
 * What `airlift status` shows about the push.
 */
create or replace view sync.push_status as
select e.entity,
       count(o.id) filter (where o.status = 'pending') as pending,
       count(o.id) filter (where o.status = 'in_flight') as in_flight,
       count(o.id) filter (where o.status = 'failed') as failed,
       min(o.created_at) filter (where o.status = 'pending') as oldest_pending_at,
       now() - min(o.created_at) filter (where o.status = 'pending') as oldest_pending_age,
       (select count(*) from sync.conflicts k where k.entity = e.entity and k.status = 'open') as open_conflicts,
       -- pending entries whose next attempt is later (a retry delay): a push now does not send them
       count(o.id) filter (where o.status = 'pending' and o.next_attempt_at > now()) as retry_waiting,
       min(o.next_attempt_at) filter (where o.status = 'pending' and o.next_attempt_at > now()) as next_attempt_at
from sync.entities e
left join sync.outbox o on o.entity = e.entity and o.status in ('pending', 'in_flight', 'failed')
group by e.entity, e.merge_rank
order by e.merge_rank, e.entity;
comment on view sync.push_status is E'Per entity, what waits to go to Airtable: pending, in-flight and failed outbox entries, the oldest pending entry and its age, the open (manual) conflicts, and the pending entries waiting out a retry delay with when the first is due. What `airlift status` shows.';
comment on column sync.push_status.entity is E'The entity.';
comment on column sync.push_status.pending is E'Entries waiting to be pushed (retries included).';
comment on column sync.push_status.in_flight is E'Entries claimed by a push now.';
comment on column sync.push_status.failed is E'Entries Airtable refused or that ran out of retries; they wait for a fix and sync.retry_outbox or a new change.';
comment on column sync.push_status.oldest_pending_at is E'When the oldest pending entry was captured.';
comment on column sync.push_status.oldest_pending_age is E'How long the oldest pending entry has waited.';
comment on column sync.push_status.open_conflicts is E'Conflicts parked for a person (manual policy).';
comment on column sync.push_status.retry_waiting is E'Pending entries waiting out a retry delay (sync.outbox.next_attempt_at later than now, after a transient failure or an interrupted push): counted in pending, not sent by a push before they are due.';
comment on column sync.push_status.next_attempt_at is E'When the first of the entries waiting out a retry delay is due.';

create or replace function sync.finish_push_run(p_run_id bigint) returns sync.runs
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  run sync.runs;
begin
  -- Counted from the outbox entries the run claimed last: created, updated
  -- and deleted in Airtable, skipped (nothing to send), and the rest
  -- (failed, waiting for a retry or a linked row, folded into a newer entry)
  -- as quarantined, so fetched = inserted + updated + unchanged + quarantined
  -- holds over creates and updates. Deletes are counted apart.
  update sync.runs r
  set status = 'completed',
      finished_at = greatest(now(), r.started_at),
      inserted = c.created, updated = c.updated, deleted = c.deleted, unchanged = c.skipped, quarantined = c.open,
      fetched = c.created + c.updated + c.skipped + c.open,
      metadata = r.metadata || jsonb_build_object(
        'failed', c.failed, 'retrying', c.retrying, 'deletes_not_pushed', c.deletes_skipped, 'deletes_open', c.deletes_open,
        'conflicts', (select count(*) from sync.conflicts k where k.run_id = p_run_id),
        'conflicts_open', (select count(*) from sync.conflicts k where k.run_id = p_run_id and k.status = 'open'))
  from (
    select count(*) filter (where o.operation = 'create' and o.status = 'pushed') as created,
           count(*) filter (where o.operation = 'update' and o.status = 'pushed') as updated,
           count(*) filter (where o.operation = 'delete' and o.status = 'pushed') as deleted,
           count(*) filter (where o.operation <> 'delete' and o.status = 'skipped') as skipped,
           count(*) filter (where o.operation <> 'delete' and o.status not in ('pushed', 'skipped')) as open,
           count(*) filter (where o.status = 'failed') as failed,
           count(*) filter (where o.status = 'pending') as retrying,
           count(*) filter (where o.operation = 'delete' and o.status = 'skipped') as deletes_skipped,
           count(*) filter (where o.operation = 'delete' and o.status not in ('pushed', 'skipped')) as deletes_open
    from sync.outbox o where o.run_id = p_run_id
  ) c
  where r.id = p_run_id and r.status = 'running'
  returning r.* into run;
  if not found then
    raise exception 'no running push run %', p_run_id using errcode = 'no_data_found';
  end if;
  if run.job_id is not null then
    update sync.jobs set status = 'completed' where id = run.job_id and status = 'running';
    update sync.jobs set status = 'scheduled' where id = run.job_id and status = 'completed' and job_type = 'scheduled_sync';
    perform sync.refresh_job_statistics(run.job_id);
  end if;
  return run;
end;
$$;
comment on function sync.finish_push_run(bigint) is E'Completes a push run with its counts, from the outbox entries it claimed: inserted, updated and deleted in Airtable, unchanged (skipped: nothing to send), quarantined (failed, retrying later, or waiting for a linked row); metadata adds failed, retrying, deletes not pushed (the mapping does not push deletes) and the conflicts the run logged.';
--! EndIncluded change_capture.sql

comment on column sync.outbox.changed_columns is E'The pushable columns changed since the entry opened, sorted (for a create: those with a value): the mapped ones, or the catalogue''s while no mapping was loaded (the push plans only the mapped ones).';

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
