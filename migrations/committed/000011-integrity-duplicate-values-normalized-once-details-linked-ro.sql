--! Previous: sha1:03e3b84d94bddddaaee200de89a82dd64627e217
--! Hash: sha1:52a4f67b0f5b53fec8235f2a4b7c3bcc7cc79a41
--! Message: integrity: duplicate values normalized once, details' linked rows looked up by key

/*
 * ===========================================================================
 * Proof of integrity, airlift verify end to end at a million records
 * (issue 4), a second step:
 *
 * - sync.validate_entity normalizes each value once for the duplicate rule
 *   (the empty value is left out on the group, not on each row, where the
 *   planner normalized every value twice);
 * - sync.verify_entity looks the linked rows of the few differing records
 *   up by key when it names their fields, instead of hashing whole linked
 *   tables.
 *
 * Idempotent while current: what is re-created is dropped first, in
 * reverse dependency order; integrity_functions.sql and
 * validation_functions.sql are included again whole (the pattern of
 * migrations 000005, 000006, 000009 and 000010), so each function has one
 * definition, in its fixture.
 * ===========================================================================
 */
drop function if exists sync.validate_entity(bigint, text, boolean);
drop function if exists sync.rule_checks_sql(text, text);
drop function if exists sync.rule_check_sql(sync.validation_rules, text, text);
drop function if exists sync.matches_format(text, text);

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
drop function if exists sync.verify_entity(bigint, text, text, text, boolean);
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
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name = 'sync.id_map')
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
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name = 'sync.id_map')
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
    select d.relation::text as name
    from depth d
    group by d.relation
    order by max(d.dependency_depth) desc, d.relation::text
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
comment on function sync.rollback_run(bigint, bigint, boolean) is E'Reverts every change run p_run_id made to app tables and the id map, from the audit trail, children before parents (foreign keys from the catalogue): rows it inserted are deleted, rows it updated get their values from before the run. Refuses (40001, naming up to 20 rows) when a later run or a user changed one of those rows since, or when rows it did not touch link to a row it inserted (sync.rollback_conflicts), unless p_force. Forced, the later changes to its rows are overwritten, and each link to a row it inserted is dealt with before that row is deleted: a row owned through a cascading link (an attachment) is deleted, any other link is emptied; all audited under p_rollback_run_id, counted per table (removed, restored, unlinked). Marks the run rolled_back. Security definer: only the sync role''s rollback may write app tables.';
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
      ) x
      group by x.id;
      execute format($sql$
        insert into validate_link_scope
        select t.airtable_id from %s t join %s p on p.id = t.%I
        where t.airtable_id is not null and p.airtable_id in (
          select d ->> 'record' from sync.validation_reports vr cross join lateral jsonb_array_elements(vr.discrepancy_details) d
          where vr.run_id = $1 and vr.source_entity = $2 and vr.validation_type in ('completeness_check', 'data_integrity')
            and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules')
        on conflict do nothing
      $sql$, target, rule.linked_table, rule.parameters ->> 'link') using p_run_id, rule.linked_entity;
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
comment on function sync.validate_entity(bigint, text, boolean) is E'The validation report of an entity for run p_run_id: every enabled rule checked over the records the run read (or, with p_whole_snapshot, the latest source snapshot: a record whose current version a run already checked under the same rules keeps that run''s findings, and in a verify run the target answers the same_as_linked rules for records it holds exactly), warnings found here and blocking findings as the merge quarantined them (and the records the runner could not stage, rule staging, rejected_before_staging true: all open ones over the snapshot, those the run rejected for a run), each naming record, field, value, rule and severity. Over the whole snapshot in a verify run that has verified the entity, the scope''s count and the runs that last read its records come from that completeness report, so staging is read only for records to check again. Writes a data_integrity and a relationship_integrity row to sync.validation_reports (criteria check = validation_rules) and returns them. Security definer: reads staging for any caller the sync role lets run it.';
--! EndIncluded validation_functions.sql

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
