--! Previous: sha1:4fa6201ef0c04faba7fb773cf03c1f4e2202231d
--! Hash: sha1:9698fec1feee597928d247969bd4f05f978772c5
--! Message: integrity: checksums, verification, rollback

/*
 * Proof of integrity: record checksums at the source (staging) and in the
 * id map, verification of the target against the source, and rollback of a
 * run from the audit trail. The sync functions are re-created because
 * staging now computes each record's checksum and the merge stores it in
 * the id map.
 *
 * Idempotent while current: dropped first, in reverse dependency order.
 */
drop function if exists sync.rollback_run(bigint, bigint, boolean);
drop function if exists sync.rollback_conflicts(bigint);
drop function if exists sync.verify_entity(bigint, text);
drop function if exists sync.entity_checksums(text);
drop function if exists sync.table_checksum(text[]);
drop function if exists sync.source_canonical(text, text[]);
drop function if exists sync.compare_records(text);
drop function if exists sync.source_snapshot_run(text);
drop function if exists sync.target_canonical_sql(text);
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
drop function if exists sync.analyze_if_stale(regclass);
drop function if exists sync.restart_listing(bigint, text);
drop function if exists sync.stage_page(bigint, text, jsonb, jsonb, boolean, text, timestamptz);
drop type if exists sync.merge_result;

alter table staging.airtable_records drop column if exists checksum;
delete from sync.status_transitions
where machine = 'sync.runs' and to_status = 'rolled_back' and from_status in ('failed', 'cancelled');

/*
 * Each staged record carries the checksum of its canonical form, so that
 * verification compares it with the target without converting the source
 * again.
 */
alter table staging.airtable_records add column checksum text
  constraint airtable_records_checksum_is_sha256 check (checksum ~ '^[0-9a-f]{64}$');
comment on column staging.airtable_records.checksum is E'SHA-256 (hex) of the record''s canonical form (mapped columns converted as the merge converts them): compared with the same form rebuilt from the app row.';

/* A failed or cancelled run may have changed rows before it stopped; it can be rolled back too. */
insert into sync.status_transitions (machine, from_status, to_status, only_for_recurring) values
  ('sync.runs', 'failed', 'rolled_back', false),
  ('sync.runs', 'cancelled', 'rolled_back', false);

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
  insert into sync.id_map as m (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum)
  select p_entity, w.airtable_id, w.id, p_run_id, mapping.table_id, entity.target_table::text, c.checksum
  from merge_written w
  join merge_candidates c on c.airtable_id = w.airtable_id
  on conflict (entity_type, legacy_id) do update set checksum = excluded.checksum
  where m.checksum is distinct from excluded.checksum;

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

create function sync.target_canonical_sql(p_entity text) returns text
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
  return format('select t.airtable_id, t.deleted_at, jsonb_build_object(%s) as canonical from %s t%s where t.airtable_id is not null',
                pairs, target, coalesce(joins, ''));
end;
$$;
comment on function sync.target_canonical_sql(text) is E'The statement that rebuilds, set-based, the canonical form of every app row of an entity that has an Airtable id (airtable_id, deleted_at, canonical): the target side of verification and differentials.';

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
