--! Previous: sha1:c8d6764a61a49da546cec81112f23827bc9260e4
--! Hash: sha1:e2843e92271f98568f902c421803dd81ebf6e4f2
--! Message: integrity: verification in key ranges from stored checksums, whole-snapshot validation that checks only what changed, covering indexes

/*
 * Proof of integrity, part three: verification in key ranges that a killed
 * verify resumes, reading stored checksums (sync.target_checksums) instead
 * of rebuilding every canonical form; validation over the whole snapshot
 * that checks again only what changed; covering indexes for the joins of
 * differentials and verification; target checksums of rows linking to a
 * row whose Airtable id changed.
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
drop function if exists sync.validate_entity(bigint, text, boolean);
drop function if exists sync.rule_checks_sql(text, text);
drop function if exists sync.rule_check_sql(sync.validation_rules, text, text);
drop function if exists sync.matches_format(text, text);
drop function if exists sync.rollback_run(bigint, bigint, boolean);
drop function if exists sync.rollback_conflicts(bigint);
drop function if exists sync.summarize_verification(bigint, text);
drop function if exists sync.verify_entity(bigint, text, text, text, boolean);
drop function if exists sync.verify_entity(bigint, text);
drop function if exists sync.entity_checksums(text);
drop function if exists sync.table_checksum(text[]);
drop function if exists sync.table_checksum_text(numeric, numeric, numeric);
drop function if exists sync.checksum_slice(text, integer);
drop function if exists sync.checksum_term(text, bigint);
drop function if exists sync.source_canonical(text, text[]);
drop function if exists sync.compare_records(text);
drop function if exists sync.source_snapshot_run(text);
drop function if exists sync.target_canonical_sql(text, text);
drop function if exists sync.checksum(jsonb);
drop function if exists sync.mapped_columns(text);
drop function if exists sync.cell_canonical(jsonb, text);

/*
 * Covering indexes: a differential or a verification over a million keys
 * joins the source snapshot's checksums with the target's in key order,
 * reading only the indexes (the heap rows of staging hold the whole record).
 * The primary keys carry the columns instead of adding second indexes that
 * every staged page and merge would also have to write.
 */
alter table staging.airtable_records drop constraint airtable_records_pkey;
alter table staging.airtable_records add constraint airtable_records_pkey primary key (table_id, airtable_id) include (run_id, checksum);
comment on index staging.airtable_records_pkey is E'One staged row per Airtable record; carries run_id and checksum so that the source snapshot''s checksums are read from the index alone (differentials, verification).';
alter table sync.target_checksums drop constraint target_checksums_pkey;
alter table sync.target_checksums add constraint target_checksums_pkey primary key (entity, airtable_id) include (checksum, deleted);
comment on index sync.target_checksums_pkey is E'One entry per synced app row, keyed as the source; carries checksum and deleted so that the target side of a differential or verification is read from the index alone.';

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
  select s.airtable_id, jsonb_object_agg(mc.column_name, sync.cell_canonical(f.fields -> mc.field_id, mc.conversion))
  from sync.entity_mappings m
  join staging.airtable_records s on s.table_id = m.table_id and s.airtable_id = any (p_airtable_ids)
  -- the fields decompressed once per record, not once per column (offset 0 keeps it a separate step)
  cross join lateral (select s.fields || '{}'::jsonb as fields offset 0) f
  cross join sync.mapped_columns(p_entity) mc
  where m.entity = p_entity
  group by s.airtable_id
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
                                   p_deep boolean default false)
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
  criteria jsonb;
  pass record;
  quarantine record;
  conflicted text[];
  integrity jsonb := '[]';
  stale jsonb := '[]';
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
  target_side := case
    when p_deep then format('select x.airtable_id, sync.checksum(x.canonical) as checksum, x.deleted_at is not null as deleted from (%s) x where %s',
                            sync.target_canonical_sql(p_entity), format(in_range, 'x.airtable_id'))
    else format('select c.airtable_id, c.checksum, c.deleted from sync.target_checksums c where c.entity = $3 and %s', format(in_range, 'c.airtable_id'))
  end;

  -- Completeness and the records whose checksums differ, in one pass: the
  -- source snapshot's keys full-joined with the target's. Both sides are
  -- covering indexes in key order, so a merge join reads them once without
  -- building a hash of a million keys. Only aggregates that combine across
  -- parallel workers (no jsonb_agg, no ORDER BY over a million rows);
  -- details are built below, on few rows.
  perform set_config('enable_hashjoin', 'off', true);
  execute format($sql$
    select count(*) filter (where k.in_source) as source_records,
           count(*) filter (where k.in_target) as target_records,
           sum(sync.checksum_term(k.source_checksum, 0)) filter (where k.in_source) as source_first,
           sum(sync.checksum_term(k.source_checksum, 1)) filter (where k.in_source) as source_second,
           sum(sync.checksum_term(k.target_checksum, 0)) filter (where k.in_target) as target_first,
           sum(sync.checksum_term(k.target_checksum, 1)) filter (where k.in_target) as target_second,
           count(*) filter (where k.in_source and k.in_target) as compared,
           coalesce(array_agg(k.airtable_id) filter (where k.in_source and not k.in_target and not k.target_deleted), '{}') as missing,
           coalesce(array_agg(k.airtable_id) filter (where k.in_source and k.target_deleted), '{}') as deleted_in_target,
           coalesce(array_agg(k.airtable_id) filter (where k.in_target and not k.in_source), '{}') as not_in_source,
           coalesce(array_agg(k.airtable_id) filter (where k.in_source and k.in_target and k.source_checksum is distinct from k.target_checksum), '{}') as conflicted
    from (
      select coalesce(s.airtable_id, t.airtable_id) as airtable_id,
             s.airtable_id is not null as in_source, coalesce(not t.deleted, false) as in_target, coalesce(t.deleted, false) as target_deleted,
             s.checksum as source_checksum, t.checksum as target_checksum
      from (select s.airtable_id, s.checksum from staging.airtable_records s
            where s.table_id = $1 and s.run_id >= $2 and %s) s
      full join (%s) t on t.airtable_id = s.airtable_id
    ) k
  $sql$, format(in_range, 's.airtable_id'), target_side)
  into pass using mapping.table_id, snapshot, p_entity, p_after_key, p_upto_key;
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

  return query
  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  select p_run_id, 'completeness_check', p_entity, target::text, pass.source_records + cardinality(pass.not_in_source),
         cardinality(d.details) = 0, cardinality(d.details), to_jsonb(d.details),
         criteria || jsonb_build_object(
           'source_records', pass.source_records,
           'quarantined', quarantine.records,
           'target_records', pass.target_records,
           'quarantined_records', to_jsonb(quarantine.ids),
           'source_records_verified', pass.source_records - quarantine.records,
           -- whole-table checksums from the same pass; the parts add up across ranges
           'source_checksum_parts', jsonb_build_array(pass.source_records - quarantine.records,
                                                      coalesce(pass.source_first, 0) - quarantine.first, coalesce(pass.source_second, 0) - quarantine.second),
           'target_checksum_parts', jsonb_build_array(pass.target_records, coalesce(pass.target_first, 0), coalesce(pass.target_second, 0)),
           'source_table_checksum', sync.table_checksum_text(pass.source_records - quarantine.records,
                                                             coalesce(pass.source_first, 0) - quarantine.first, coalesce(pass.source_second, 0) - quarantine.second),
           'target_table_checksum', sync.table_checksum_text(pass.target_records, pass.target_first, pass.target_second)),
         (extract(epoch from clock_timestamp() - started) * 1000)::int
  from (select array(
          select jsonb_build_object('record', x.id, 'field', null, 'value', null, 'rule', x.rule)
          from (select unnest(pass.missing) as id, 'in the source but missing from the target' as rule
                union all select unnest(pass.deleted_in_target), 'in the source but deleted in the target'
                union all select unnest(pass.not_in_source), 'in the target but not in the source snapshot') x
          where x.rule like 'in the target%' or not x.id = any (quarantine.ids)
          order by x.id) as details) d
  returning *;

  -- Integrity: the fields in which each differing record differs, both
  -- values, from canonical forms rebuilt for those records only.
  conflicted := array(select c from unnest(pass.conflicted) c where not c = any (quarantine.ids));
  if cardinality(conflicted) > 0 then
    execute format($sql$
      select coalesce(jsonb_agg(jsonb_build_object('record', sc.airtable_id, 'field', k.key, 'value', tc.canonical -> k.key,
                                                   'source_value', k.value, 'rule', 'target differs from source')
                                order by sc.airtable_id, k.key), '[]')
      from sync.source_canonical($1, $2) sc
      join (select x.airtable_id, x.canonical from (%s) x where x.airtable_id = any ($2) offset 0) tc on tc.airtable_id = sc.airtable_id  -- offset 0: each canonical form built once, not once per field
      cross join lateral jsonb_each(sc.canonical) k
      where k.value is distinct from tc.canonical -> k.key
    $sql$, sync.target_canonical_sql(p_entity)) into integrity using p_entity, conflicted;
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
    link_joins := link_joins || format(' left join (select p.id from %s p where p.deleted_at is not null) %I on %2$I.id = t.%3$I',
                                       link.linked_table, 'gone__' || link.column_name, link.column_name);
    link_checks := link_checks || format(' || array_agg(%L || t.id::text) filter (where %I.id is not null)', check_number || ':', 'gone__' || link.column_name);
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
  execute format($sql$
    select count(*) as live, coalesce('{}'::text[] %s, '{}') as found
    from %s t%s
    where t.deleted_at is null and t.airtable_id is not null and %s
  $sql$, link_checks, target, link_joins, format(in_range, 't.airtable_id'))
  into relationships using null::text, null::text, null::text, p_after_key, p_upto_key;
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
comment on function sync.verify_entity(bigint, text, text, text, boolean) is E'Verifies one entity over one key range (airtable_id in (p_after_key, p_upto_key]; null bounds are open) for a verify run: completeness (source snapshot against live target rows, quarantine listed, table checksum parts in its criteria), data integrity (stored checksums record by record, naming the differing fields with both values; p_deep rebuilds every target canonical form and reports stale stored checksums) and relationships (links to deleted rows, redundant links against the same_as_linked rules). Writes one sync.validation_reports row per check and returns them; sync.summarize_verification folds ranges together. Security definer: reads app and staging for the sync role.';

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
         (min(r.validation_criteria::text)::jsonb - array['after_key', 'upto_key', 'quarantined_records', 'source_checksum_parts', 'target_checksum_parts',
                                                         'source_records', 'quarantined', 'target_records', 'source_records_verified',
                                                         'source_table_checksum', 'target_table_checksum', 'records_differing', 'stale_target_checksums'])
           || jsonb_build_object('key_ranges', count(*))
           || case when r.validation_type = 'completeness_check' then jsonb_build_object(
                'source_records', sum((r.validation_criteria ->> 'source_records')::bigint),
                'quarantined', sum((r.validation_criteria ->> 'quarantined')::bigint),
                'target_records', sum((r.validation_criteria ->> 'target_records')::bigint),
                'source_records_verified', sum((r.validation_criteria ->> 'source_records_verified')::bigint),
                'quarantined_records', coalesce((select jsonb_agg(q order by q) from verify_ranges x
                                                 cross join lateral jsonb_array_elements_text(x.validation_criteria -> 'quarantined_records') q
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
comment on function sync.summarize_verification(bigint, text) is E'Folds the per-key-range verification reports of an entity in run p_run_id (sync.verify_entity) into one report per check: counts and table checksum parts added, discrepancies and quarantined records concatenated in key order, the range reports removed. Returns the entity''s three verification reports. Security definer: writes sync.validation_reports for the sync role.';

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
  rules_now jsonb;
  rule record;
  scope_count bigint;
  checked_count bigint;
  criteria jsonb;
  -- the records the report is about: those the run read, or the snapshot
  in_scope text := case when p_whole_snapshot then 's.run_id >= $2' else 's.run_id = $3' end;
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

  execute format('select count(*) from staging.airtable_records s where s.table_id = $1 and %s', in_scope)
    into scope_count using mapping.table_id, snapshot, p_run_id;

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
    insert into validate_check
    select s.airtable_id from staging.airtable_records s
    where s.table_id = mapping.table_id and s.run_id >= snapshot and s.run_id not in (select r.run_id from validate_reused r);
    insert into validate_findings
    select d ->> 'record', r.validation_type, d - 'record'
    from validate_reused r
    cross join lateral jsonb_array_elements(r.discrepancy_details) d
    join sync.validation_rules vr on vr.rule_id = d ->> 'rule' and vr.rule_kind not in ('duplicate', 'same_as_linked')
    join staging.airtable_records s on s.table_id = mapping.table_id and s.airtable_id = d ->> 'record' and s.run_id = r.run_id
    where d ->> 'severity' = 'warning';
  else
    insert into validate_check select s.airtable_id from staging.airtable_records s where s.table_id = mapping.table_id and s.run_id = p_run_id;
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
    execute format($sql$
      insert into validate_findings
      with snapshot_values as (
        select s.airtable_id, s.fields -> $4 as value, s.run_id,
               lower(regexp_replace(btrim(sync.cell_text(s.fields -> $4)), '\s+', ' ', 'g')) as normalized,
               case when $5::text is not null then sync.cell_canonical(s.fields -> $5, 'link') end as scope_key
        from staging.airtable_records s
        where s.table_id = $1 and s.run_id >= $2
      ), groups as (
        select normalized, scope_key, array_agg(airtable_id order by airtable_id) as members
        from snapshot_values where normalized <> ''
        group by normalized, scope_key having count(*) > 1
      )
      select s.airtable_id, $6,
             jsonb_build_object('field', $7, 'value', s.value,
                                'reason', format('%%s %%s (rule %%s)', $7, $8, $9),
                                'rule', $9, 'severity', $10,
                                'duplicates', to_jsonb(array_remove(g.members, s.airtable_id)))
      from snapshot_values s
      join groups g on g.normalized = s.normalized and g.scope_key is not distinct from s.scope_key
      where %s
    $sql$, in_scope)
    using mapping.table_id, snapshot, p_run_id, rule.field_id, rule.scope_field_id, rule.validation_type, rule.field_name,
          rule.description, rule.rule_id, rule.severity;
  end loop;

  -- Agreement with a linked record: the record's link equals the linked
  -- record's (a registration's client is its product's client), both as
  -- the source says. Over the whole snapshot in a verify run that has just
  -- verified this entity and the linked one, the target answers for every
  -- record whose row and linked row hold exactly what the source says (its
  -- relationship check evaluated the same rule on the app rows); the source
  -- cells are read only for the others: quarantined, missing or differing
  -- records and those linked to a differing row.
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
    create temp table validate_link_scope (airtable_id text primary key) on commit drop;
    if verified then
      -- records the target cannot answer for: this entity's discrepancies
      -- and quarantine, and rows linking to a linked row with a discrepancy
      insert into validate_link_scope
      select distinct x.id from (
        select d ->> 'record' as id from sync.validation_reports vr cross join lateral jsonb_array_elements(vr.discrepancy_details) d
        where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type in ('completeness_check', 'data_integrity')
          and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules'
        union all
        select q from sync.validation_reports vr cross join lateral jsonb_array_elements_text(vr.validation_criteria -> 'quarantined_records') q
        where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_type = 'completeness_check'
      ) x;
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
    join validate_link_scope v on v.airtable_id = s.airtable_id
    join staging.airtable_records l on l.table_id = rule.linked_table_id and l.airtable_id = sync.cell_first_link(s.fields -> rule.link_field_id)
    where s.table_id = mapping.table_id and (s.run_id >= snapshot or not p_whole_snapshot)
      and sync.cell_first_link(s.fields -> rule.field_id) is distinct from sync.cell_first_link(l.fields -> rule.linked_field_id)
      and sync.cell_first_link(s.fields -> rule.field_id) is not null and sync.cell_first_link(l.fields -> rule.linked_field_id) is not null;
    drop table validate_link_scope;
  end loop;

  -- The quarantine of the scope: blocking rules and the merge's own checks
  -- (unconvertible or missing values, ranges, dangling links), as recorded.
  execute format($sql$
    insert into validate_findings
    select e.airtable_id,
           case when e.reason ~ '\(rule [a-z_.]+\)$' then coalesce(r.validation_type, 'data_integrity')
                when e.reason like '%% links to %%' then 'relationship_integrity' else 'data_integrity' end,
           jsonb_build_object('field', e.field, 'value', e.value, 'reason', e.reason,
                              'rule', coalesce(substring(e.reason from '\(rule ([a-z_.]+)\)$'), 'merge'), 'severity', 'blocking', 'quarantined', true)
    from sync.record_errors e
    join staging.airtable_records s on s.table_id = e.source_table and s.airtable_id = e.airtable_id
    left join sync.validation_rules r on r.rule_id = substring(e.reason from '\(rule ([a-z_.]+)\)$')
    where e.resolved_at is null and e.source_table = $1 and %s
  $sql$, in_scope) using mapping.table_id, snapshot, p_run_id;

  criteria := jsonb_build_object(
    'check', 'validation_rules', 'entity', p_entity,
    'scope', case when p_whole_snapshot then 'source snapshot' else 'records read by the run' end,
    'source_snapshot_run', nullif(snapshot, 0),
    'records_checked_again', case when p_whole_snapshot then checked_count end,
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
comment on function sync.validate_entity(bigint, text, boolean) is E'The validation report of an entity for run p_run_id: every enabled rule checked over the records the run read (or, with p_whole_snapshot, the latest source snapshot: a record whose current version a run already checked under the same rules keeps that run''s findings, and in a verify run the target answers the same_as_linked rules for records it holds exactly), warnings found here and blocking findings as the merge quarantined them, each naming record, field, value, rule and severity. Writes a data_integrity and a relationship_integrity row to sync.validation_reports (criteria check = validation_rules) and returns them. Security definer: reads staging for any caller the sync role lets run it.';
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
  rekeyed uuid[];
  child record;
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
    -- Rows that got a new Airtable id (a row created in PostgreSQL gets one
    -- when pushed): rows linking to them have a new canonical form too.
    -- Only looked for when some mapped table links to this one.
    if exists (select from sync.entity_columns ec join sync.entity_mappings m on m.entity = ec.entity and m.field_ids ? ec.column_name
               where ec.linked_entity = v_entity and ec.conversion = 'link') then
      rekeyed := array(select n.id from new_rows n
                       left join sync.target_checksums c on c.entity = v_entity and c.row_id = n.id
                       where n.airtable_id is not null and (c.row_id is null or c.airtable_id is distinct from n.airtable_id));
    end if;
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
  if cardinality(rekeyed) > 0 then
    -- The rows linking to a row with a new Airtable id name it in their
    -- canonical form: rebuilt too (nothing writes them, so their own
    -- trigger does not fire).
    for child in
      select e.entity, e.target_table, ec.column_name
      from sync.entity_columns ec join sync.entities e on e.entity = ec.entity
      where ec.linked_entity = v_entity and ec.conversion = 'link'
        and exists (select from sync.entity_mappings m where m.entity = e.entity and m.field_ids ? ec.column_name)
    loop
      execute format($sql$
        insert into sync.target_checksums as c (entity, airtable_id, row_id, checksum, deleted)
        select $1, t.airtable_id, t.id, sync.checksum(t.canonical), t.deleted_at is not null
        from (%s) t
        where t.id in (select x.id from %s x where x.%I = any ($2))
        on conflict (entity, airtable_id) do update
          set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
          where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
      $sql$, sync.target_canonical_sql(child.entity), child.target_table, child.column_name) using child.entity, rekeyed;
    end loop;
  end if;
  return null;
end;
$$;
comment on function sync.tg__maintain_target_checksums() is E'Statement-level AFTER trigger on the synced app tables (argument: the entity): rebuilds the canonical checksum of every inserted or updated row from the row itself (sync.target_canonical_sql over the transition table) into sync.target_checksums (and those of the rows linking to a row whose Airtable id changed), and forgets deleted or truncated rows. Set-based, whoever writes. Security definer: app writers cannot write sync tables themselves.';

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
-- parallel workers for what can use them; the SET restores enable_hashjoin
-- after the function turns it off for its merge join
set parallel_setup_cost = 0
set parallel_tuple_cost = 0
set enable_hashjoin = on
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

  -- Both sides are covering indexes in key order: a merge join reads them
  -- once, without hashing a million keys.
  perform set_config('enable_hashjoin', 'off', true);
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

  perform set_config('enable_hashjoin', 'on', true);

  -- The fields in which each conflicted record differs, both values.
  conflicted := array(select d.airtable_id from differential_records d where d.comparison_type = 'conflicted_records');
  if cardinality(conflicted) > 0 then
    execute format($sql$
      select jsonb_object_agg(sc.airtable_id, diff.fields)
      from sync.source_canonical($1, $2) sc
      join (select x.airtable_id, x.canonical from (%s) x where x.airtable_id = any ($2) offset 0) tc on tc.airtable_id = sc.airtable_id  -- offset 0: each canonical form built once, not once per field
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

/* The checksum triggers again (dropped above with their function), ENABLE ALWAYS as before. */
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
