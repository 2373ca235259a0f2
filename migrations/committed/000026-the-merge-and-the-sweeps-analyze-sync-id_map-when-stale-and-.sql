--! Previous: sha1:09b2e2881519c32ec7f29899ce705f56bb9ade1e
--! Hash: sha1:28e49b33bacdabf70ff577974aa536976ab37e6d
--! Message: The merge and the sweeps analyze sync.id_map when stale, and the merge again after a chunk grew it by a tenth

/*
 * Plans that join sync.id_map after a large load. Since identity is read
 * from the id map, the merge, the sweeps and the checksum trigger join it
 * for every record and link; statistics taken while it was small made the
 * planner take a freshly filled map for a few rows. The merge and the
 * sweeps analyze it when stale, and the merge analyzes it again after a
 * chunk grew it by a tenth or more within its own transaction.
 */
--! Included merge/merge_entity.sql
/*
 * The one-way sync's core: an entity's staged records of a run merged into
 * its app table, set-based, one statement per step over all the records of
 * the run, never a loop over records.
 */

create or replace function sync.merge_entity(p_run_id bigint, p_entity text, p_final boolean default true) returns sync.merge_result
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
  newly_mapped bigint;
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

  perform sync.analyze_if_stale('staging.source_records');
  perform sync.analyze_if_stale(entity.target_table);
  -- every record's row id and every link are found through the id map:
  -- an earlier chunk of this pull may have filled it since its last analysis
  perform sync.analyze_if_stale('sync.id_map');

  -- Collaborators named in this run's records, upserted first so that the
  -- merge can resolve them to ids.
  insert into app.collaborators as c (airtable_user_id, email, name)
  select distinct on (cell ->> 'id') cell ->> 'id', cell ->> 'email', cell ->> 'name'
  from staging.source_records s
  cross join lateral (
    select s.fields -> (mapping.field_ids ->> ec.column_name) as cell
    from sync.entity_columns ec
    where ec.entity = p_entity and ec.conversion = 'collaborator' and mapping.field_ids ? ec.column_name
  ) cells
  where s.source_table = mapping.source_table and s.run_id = p_run_id and s.page_seq > merged_through and s.page_seq <= merge_upto
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
                      -- a link resolves through the linked entity's id map
                      -- (its key there), to the linked row if it is live
                      when 'link' then format(' left join sync.id_map %5$I on %5$I.entity_type = %4$L and %5$I.legacy_id = c0.%3$I'
                                              ' left join %1$s %2$I on %2$I.id = %5$I.uuid_id and %2$I.deleted_at is null',
                                              linked.target_table, 'ref__' || ec.column_name, 'key__' || ec.column_name, linked.entity, 'refkey__' || ec.column_name)
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
                    || 'case when %6$I.uuid_id is not null then ''was deleted'' '
                    || 'when exists (select from sync.record_errors e where e.resolved_at is null and e.source_key = c0.%1$I) then ''is in quarantine'' '
                    || 'else ''does not exist'' end)) end',
                    'key__' || ec.column_name, 'ref__' || ec.column_name, field_name, 'raw__' || ec.column_name,
                    field_name || ' links to %s, which %s in ' || linked.entity || ': the link is left empty until it does', 'refkey__' || ec.column_name, ec.column_name) end,
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
  -- in sync.record_errors), and a record whose key is not one its source
  -- gives (the mapping's record_key_pattern: an Airtable record id), which
  -- no row can hold.
  blocking_problems := concat_ws(', ',
    case when mapping.record_key_pattern is not null then
      format($b$case when c0.source_key !~ %L then jsonb_build_object('field', null, 'value', to_jsonb(c0.source_key), 'reason', %L) end$b$,
             mapping.record_key_pattern,
             case when mapping.source_kind = 'airtable' then 'not an Airtable record id' else format('not a %s record key (%s)', mapping.source_kind, mapping.record_key_pattern) end)
    end,
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
           c0.source_key,
           -- the row's id: its id map entry's, or (set below) a new one
           own.uuid_id as row_id,
           own.uuid_id is null as row_is_new,
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
      select s.source_key, s.run_id = $1 as fetched_this_run, s.checksum, %4$s, %5$s
      from staging.source_records s
      where s.source_table = $2
        and ((s.run_id = $1 and s.page_seq > $3 and s.page_seq <= $4)
             or ($5 and s.run_id is distinct from $1
                 and exists (select from sync.record_errors e
                             where e.resolved_at is null and e.source_table = s.source_table and e.source_key = s.source_key)
                 -- not a version older than a rejection of the record: only
                 -- staging it again can release that one
                 and not exists (select from sync.record_errors r
                                 where r.resolved_at is null and r.rejected_before_staging and r.source_table = s.source_table
                                   and r.source_key = s.source_key and r.created_at >= s.fetched_at)))
      offset 0 -- a fence: each cell is converted once, not again for every use above
    ) c0
    left join sync.id_map own on own.entity_type = $6 and own.legacy_id = c0.source_key %6$s
  $sql$, resolved, attachment_columns, problems, converted, attachment_cells, coalesce(joins, ''), blocking_problems)
  using p_run_id, mapping.source_table, merged_through, merge_upto, p_final, p_entity;

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
  from (select fp.source_key, count(*) as open_warnings from sync.field_problems fp
        where fp.entity = p_entity and fp.origin = 'rule' and fp.resolved_at is null
        group by fp.source_key) w
  where w.source_key = c.source_key;
  analyze pg_temp.merge_candidates;

  -- Quarantine each new blocking problem (an open entry for the same
  -- record, field and reason is not repeated), and close the entries that
  -- no longer apply: a record quarantined before this version of airlift
  -- for a problem it now lands with is released here.
  insert into sync.record_errors (run_id, source_table, source_key, field, value, reason)
  select p_run_id, mapping.source_table, c.source_key, p ->> 'field', p -> 'value', p ->> 'reason'
  from merge_candidates c
  cross join lateral jsonb_array_elements(c.blocking_problems) as p
  where not exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = mapping.source_table and e.source_key = c.source_key
                      and e.field is not distinct from p ->> 'field' and e.reason = p ->> 'reason');

  update sync.record_errors e
  set resolved_at = now(), resolved_by_run_id = p_run_id
  from merge_candidates c
  where e.resolved_at is null and e.source_table = mapping.source_table and e.source_key = c.source_key
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
      where c.row_id = t.id
    $sql$, (select string_agg(format('%1$I = case when h.held_columns @> array[%1$L] then t.%1$I else c.%1$I end', ec.column_name), ', ')
            from sync.entity_columns ec where ec.entity = p_entity and mapping.field_ids ? ec.column_name),
       entity.target_table) using p_entity;
  end if;

  -- The field problems of the records that land: new ones recorded, changed
  -- ones rewritten, those the source fixed closed by this run. Before the
  -- upsert, so that each written row's target checksum reads them.
  if to_regclass('pg_temp.problems_seen') is not null then drop table pg_temp.problems_seen; end if;
  create temp table problems_seen on commit drop as
  select c.source_key, c.problems from merge_candidates c
  where c.blocking_problems = '[]'::jsonb and not c.held_deleted
    and (c.problems <> '[]'::jsonb
         or exists (select from sync.field_problems fp
                    where fp.entity = p_entity and fp.source_key = c.source_key and fp.origin = 'merge' and fp.resolved_at is null));
  problem_changes := sync.record_problems(p_run_id, p_entity, 'merge');
  drop table pg_temp.problems_seen;

  -- Identity lives in the id map (sync.id_map): a record seen before keeps
  -- its row's id; a new one that lands gets a new id, entered in the map
  -- before its row is written, so the row's checksum trigger finds its key.
  -- (An entry made here for a row the database then refuses is taken out
  -- again below.)
  update merge_candidates c set row_id = gen_random_uuid()
  where c.row_id is null and c.blocking_problems = '[]'::jsonb and not c.held_deleted;
  insert into sync.id_map (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum)
  select p_entity, c.source_key, c.row_id, p_run_id, mapping.source_table, entity.target_table::text, c.checksum
  from merge_candidates c
  where c.row_is_new and c.row_id is not null;
  -- The statements below join the map (the row's checksum trigger, links,
  -- problems). Statistics do not see this transaction's own rows until it
  -- commits, so a chunk that grew the map by a tenth or more has it
  -- analyzed now (ANALYZE counts the rows this transaction inserted), and
  -- the planner does not take a quarter of a million entries for three.
  get diagnostics newly_mapped = row_count;
  if newly_mapped > greatest(10000, 0.1 * (select greatest(c.reltuples, 0) from pg_class c where c.oid = 'sync.id_map'::regclass)) then
    analyze sync.id_map;
  end if;

  -- Upsert the candidates that land, on their id, writing only rows that
  -- differ (a record that reappears is restored: deleted_at goes back to
  -- null). A target table that keeps the source's key in a column of its
  -- own (Delta's airtable_id) gets it written too.
  if to_regclass('pg_temp.merge_written') is not null then drop table pg_temp.merge_written; end if;
  create temp table merge_written (id uuid primary key, was_inserted boolean) on commit drop;
  upsert := format($sql$
    with written as (
      insert into %1$s as t (id, %6$s open_problem_count, %2$s)
      select row_id, %7$s problem_count, %2$s from merge_candidates
      where blocking_problems = '[]'::jsonb and not held_deleted and position between $1 and $2
      on conflict (id) do update set %8$s %3$s, open_problem_count = excluded.open_problem_count, deleted_at = null
      where row(%9$s %4$s, t.open_problem_count, t.deleted_at) is distinct from row(%10$s %5$s, excluded.open_problem_count, null::timestamptz)
      returning t.id, (t.xmax = 0) as was_inserted
    )
    insert into merge_written select * from written
  $sql$, entity.target_table, columns, assignments, compared_old, compared_new,
     case when entity.source_key_column is not null then format('%I,', entity.source_key_column) else '' end,
     case when entity.source_key_column is not null then 'source_key,' else '' end,
     case when entity.source_key_column is not null then format('%1$I = excluded.%1$I,', entity.source_key_column) else '' end,
     case when entity.source_key_column is not null then format('t.%I,', entity.source_key_column) else '' end,
     case when entity.source_key_column is not null then format('excluded.%I,', entity.source_key_column) else '' end);

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
        for failed_row in select mc.position, mc.source_key from merge_candidates mc
                          where mc.position between chunk_start and chunk_start + chunk_size - 1 and mc.blocking_problems = '[]'::jsonb and not mc.held_deleted
        loop
          begin
            execute upsert using failed_row.position, failed_row.position;
          exception when others then
            update merge_candidates mc
            set blocking_problems = jsonb_build_array(jsonb_build_object('field', null, 'value', null, 'reason', 'rejected by the database: ' || sqlerrm))
            where mc.position = failed_row.position;
            insert into sync.record_errors (run_id, source_table, source_key, field, value, reason)
            select p_run_id, mapping.source_table, failed_row.source_key, null, null, 'rejected by the database: ' || sqlerrm
            where not exists (select from sync.record_errors e
                              where e.resolved_at is null and e.source_table = mapping.source_table
                                and e.source_key = failed_row.source_key and e.reason = 'rejected by the database: ' || sqlerrm);
          end;
        end loop;
      end;
      chunk_start := chunk_start + chunk_size;
    end loop;
  end;

  -- The id map keeps, per record, the checksum of the source version last
  -- merged (rewritten only when it changed), for every clean candidate
  -- whose row exists, written or already equal: the id map is how a later
  -- staging knows the version it holds was merged. The entries made above
  -- for rows the database refused are taken out.
  delete from sync.id_map m
  using merge_candidates c
  where m.entity_type = p_entity and m.legacy_id = c.source_key and c.row_is_new and c.blocking_problems <> '[]'::jsonb;
  execute format($sql$
    update sync.id_map m set checksum = c.checksum
    from merge_candidates c
    join %s t on t.id = c.row_id
    where m.entity_type = $1 and m.legacy_id = c.source_key and c.blocking_problems = '[]'::jsonb and not c.row_is_new
      and m.checksum is distinct from c.checksum
  $sql$, entity.target_table) using p_entity;

  -- Attachments of the clean candidates: one row per file, soft-deleted when
  -- gone from the cell. The download URL changes on every read, so it is
  -- kept only when the file itself is new or changed.
  for attachment in select key as field_name, value as field_id from jsonb_each_text(mapping.attachment_field_ids) loop
    execute format($sql$
      insert into app.attachments as a (airtable_attachment_id, %1$I, field_name, position, filename, size_bytes, mime_type, url, url_fetched_at)
      select distinct on (t.id, file ->> 'id')
             file ->> 'id', t.id, $1, (n - 1)::smallint, file ->> 'filename', (file ->> 'size')::bigint, file ->> 'type', file ->> 'url', now()
      from merge_candidates c
      join %2$s t on t.id = c.row_id
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
      from merge_candidates c join %2$s t on t.id = c.row_id
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
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and w.id is null),
         count(*) filter (where c.fetched_this_run and c.blocking_problems <> '[]'::jsonb),
         count(*) filter (where not c.fetched_this_run),
         count(*) filter (where not c.fetched_this_run and c.blocking_problems = '[]'::jsonb),
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and c.problems <> '[]'::jsonb)
    into result
  from merge_candidates c
  left join merge_written w on w.id = c.row_id;

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
--! EndIncluded merge/merge_entity.sql
--! Included merge/sweep_deleted.sql
/*
 * After a full run has listed every record of a table, the app rows whose
 * Airtable record was not listed are soft-deleted, set-based.
 */

create or replace function sync.sweep_deleted(p_run_id bigint, p_entity text) returns bigint
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
  perform sync.analyze_if_stale('staging.source_records');
  perform sync.analyze_if_stale(target);
  perform sync.analyze_if_stale('sync.id_map'); -- rows are found through their id map entries
  -- Only after a complete listing: every record Airtable still has was
  -- staged with this run's id, so a live row without one is gone there.
  -- A row's record is its id map entry: rows created here and never pushed
  -- (no entry) are not touched,
  -- nor rows whose record this run listed but could not stage.
  -- The open problems of a record gone from Airtable are closed with it
  -- (a record that reappears is merged again, with whatever it has then).
  execute format($sql$
    with swept as (
      update %s t set deleted_at = now(), open_problem_count = 0
      from sync.id_map k
      where k.entity_type = $3 and k.uuid_id = t.id and t.deleted_at is null
        and not exists (select from staging.source_records s
                        where s.source_table = $1 and s.source_key = k.legacy_id and s.run_id = $2)
        -- listed but rejected before staging: the record exists in the source
        and not exists (select from sync.record_errors e
                        where e.resolved_at is null and e.rejected_before_staging and e.source_table = $1 and e.source_key = k.legacy_id)
      returning k.legacy_id as source_key
    ), closed as (
      update sync.field_problems fp set resolved_at = now(), resolved_by_run_id = $2
      from swept w
      where fp.entity = $3 and fp.source_key = w.source_key and fp.resolved_at is null
    )
    select count(*) from swept
  $sql$, target) using mapping.source_table, p_run_id, p_entity into swept;
  update sync.checkpoints cp
  set metadata = cp.metadata || jsonb_build_object('phase', 'swept', 'deleted', swept)
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;
  return swept;
end;
$$;
comment on function sync.sweep_deleted(bigint, text) is E'After a full run has listed every record of a table, soft-deletes the app rows whose Airtable record is gone (audited with the run) and closes their open field problems. A record that reappears is restored by the next merge.';
--! EndIncluded merge/sweep_deleted.sql
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
  perform sync.analyze_if_stale('sync.id_map'); -- rows are found through their id map entries
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
