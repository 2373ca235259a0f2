--! Previous: sha1:10e653444d608c551d607c60c219615940a56e80
--! Hash: sha1:8fe84e5259eced31198b0378c34c97861c305377
--! Message: Source-neutral names: staging.source_records (source_id, source_table, source_key), entity_mappings' source_id and source_table, source_key in the sync tables

/*
 * Source-neutral names for the staging and sync tables. They hold the
 * records of any source (Airtable, a directory of exports, and next SQLite
 * and a legacy PostgreSQL), not only Airtable's, yet still carried
 * Airtable's names: staging.airtable_records becomes staging.source_records;
 * its base_id, table_id and airtable_id become source_id, source_table and
 * source_key; sync.entity_mappings' base_id and table_id become source_id
 * and source_table; airtable_id becomes source_key in sync.field_problems,
 * sync.record_errors, sync.target_checksums, sync.outbox and sync.conflicts
 * (and in sync.open_data_problems). Constraints and indexes whose names say
 * so follow. The app tables keep their airtable_id columns (sync.entities
 * names each entity's key column), and the runs' metadata keeps its
 * base_id key (read by pulls resuming or continuing from runs recorded
 * before this migration).
 *
 * Renames only: no data is rewritten, and no index is rebuilt. Every
 * statement checks the catalog first, so the migration can run twice.
 */

do $$
declare
  renames constant text[][] := array[
    -- table, old column, new column
    ['staging.airtable_records', 'base_id', 'source_id'],
    ['staging.airtable_records', 'table_id', 'source_table'],
    ['staging.airtable_records', 'airtable_id', 'source_key'],
    ['sync.entity_mappings', 'base_id', 'source_id'],
    ['sync.entity_mappings', 'table_id', 'source_table'],
    ['sync.field_problems', 'airtable_id', 'source_key'],
    ['sync.record_errors', 'airtable_id', 'source_key'],
    ['sync.target_checksums', 'airtable_id', 'source_key'],
    ['sync.outbox', 'airtable_id', 'source_key'],
    ['sync.conflicts', 'airtable_id', 'source_key'],
    ['sync.open_data_problems', 'airtable_id', 'source_key']];
  r text[];
  c record;
  new_name text;
begin
  if to_regclass('staging.airtable_records') is not null and to_regclass('staging.source_records') is null then
    alter table staging.airtable_records rename to source_records;
  end if;
  foreach r slice 1 in array renames loop
    r[1] := replace(r[1], 'staging.airtable_records', 'staging.source_records');
    if exists (select from pg_attribute a where a.attrelid = r[1]::regclass and a.attname = r[2] and not a.attisdropped) then
      if r[1] = 'sync.open_data_problems' then
        execute format('alter view %s rename column %I to %I', r[1], r[2], r[3]);
      else
        execute format('alter table %s rename column %I to %I', r[1], r[2], r[3]);
      end if;
    end if;
  end loop;

  -- Constraints (their indexes follow) and the other indexes whose names
  -- say airtable_records or an old column name (on PostgreSQL 18 also the
  -- NOT NULL constraints, named <table>_<column>_not_null).
  for c in
    select k.conrelid::regclass as rel, k.conname as name
    from pg_constraint k
    where k.conrelid in ('staging.source_records'::regclass, 'sync.entity_mappings'::regclass, 'sync.field_problems'::regclass,
                         'sync.record_errors'::regclass, 'sync.target_checksums'::regclass, 'sync.outbox'::regclass,
                         'sync.conflicts'::regclass)
  loop
    new_name := replace(replace(replace(replace(c.name, 'airtable_records', 'source_records'),
                                        'airtable_id', 'source_key'), 'base_id', 'source_id'), 'table_id', 'source_table');
    if new_name <> c.name then
      execute format('alter table %s rename constraint %I to %I', c.rel, c.name, new_name);
    end if;
  end loop;
  for c in
    select i.indexrelid::regclass as rel, n.nspname as schema_name, ic.relname as name
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_namespace n on n.oid = ic.relnamespace
    where i.indrelid in ('staging.source_records'::regclass, 'sync.entity_mappings'::regclass, 'sync.field_problems'::regclass,
                         'sync.record_errors'::regclass, 'sync.target_checksums'::regclass, 'sync.outbox'::regclass,
                         'sync.conflicts'::regclass)
  loop
    new_name := replace(replace(replace(replace(c.name, 'airtable_records', 'source_records'),
                                        'airtable_id', 'source_key'), 'base_id', 'source_id'), 'table_id', 'source_table');
    if new_name <> c.name then
      execute format('alter index %s rename to %I', c.rel, new_name);
    end if;
  end loop;
end;
$$;

/*
 * Safety snapshots taken before the rename hold staging as
 * <schema>.staging__airtable_records with the old column names, and
 * sync.snapshots.tables names it staging.airtable_records. Each snapshot not
 * dropped gets its copy renamed the same way, and its entry in tables the
 * new name, copy name and checksum (the checksum covers column names: it is
 * taken again from the copy, as sync.take_snapshot took it), so that it can
 * still be restored.
 */
do $$
declare
  s record;
  copy_table text;
begin
  for s in
    select sn.id, sn.schema_name, sn.tables -> 'staging.airtable_records' as entry
    from sync.snapshots sn
    where sn.tables ? 'staging.airtable_records'
  loop
    if to_regclass(format('%I.%I', s.schema_name, 'staging__airtable_records')) is not null then
      execute format('alter table %I.staging__airtable_records rename to staging__source_records', s.schema_name);
    end if;
    copy_table := format('%I.%I', s.schema_name, 'staging__source_records');
    if to_regclass(copy_table) is not null then
      if to_regclass(format('%I.%I', s.schema_name, 'staging__airtable_records_pkey')) is not null then
        execute format('alter index %I.staging__airtable_records_pkey rename to staging__source_records_pkey', s.schema_name);
      end if;
      execute format('alter table %s rename column base_id to source_id', copy_table);
      execute format('alter table %s rename column table_id to source_table', copy_table);
      execute format('alter table %s rename column airtable_id to source_key', copy_table);
      execute format('comment on table %s is %L', copy_table,
                     format('staging.source_records as it was when snapshot %s was taken (generated columns left out; staging.airtable_records then).', s.id));
    end if;
    update sync.snapshots sn
    set tables = (sn.tables - 'staging.airtable_records')
                 || jsonb_build_object('staging.source_records',
                      jsonb_build_object('copy', 'staging__source_records')
                      || case when to_regclass(copy_table) is not null
                              then sync.table_content_checksum(copy_table::regclass, sync.stored_columns(copy_table::regclass))
                              else (s.entry - 'copy') end)
    where sn.id = s.id;
  end loop;
end;
$$;

comment on table staging.source_records is E'Every source record as last read (an Airtable record, a row of an export): its fields JSONB exactly as received (unmapped fields included), so that nothing is lost before or after the merge.';
comment on column staging.source_records.source_id is E'The source the record was read from: an Airtable base id (app...), an export directory.';
comment on column staging.source_records.source_table is E'The record''s table in its source: an Airtable table id (tbl...), an export''s file name.';
comment on column staging.source_records.source_key is E'The record''s key in its source: an Airtable record id (rec...), a key read from an export. Unique within source_table.';
comment on column staging.source_records.fields is E'The record''s fields object verbatim, keyed as the source gave them (Airtable field ids, an export''s column names).';
comment on column staging.source_records.created_time is E'When the source says the record was created (Airtable''s createdTime), if it says.';
comment on index staging.source_records_pkey is E'One staged row per source record (table and key); carries run_id and checksum so that the source snapshot''s checksums are read from the index alone (differentials, verification).';
comment on column sync.entity_mappings.source_id is E'The source the entity is read from: an Airtable base id (app...), an export directory; the key of the pull''s lock.';
comment on column sync.entity_mappings.source_table is E'The table''s id in its source: an Airtable table id (tbl...), an export''s file name. Checked by the source''s own mapping schema.';
comment on column sync.field_problems.source_key is E'The record''s key in its source (an Airtable record id, a key read from an export); the app row holds it in its entity''s source_key_column.';
comment on column sync.record_errors.source_key is E'The record''s key in its source (an Airtable record id, a key read from an export).';
comment on column sync.target_checksums.source_key is E'The row''s key in its source (from its entity''s source_key_column: an Airtable record id, a key read from an export): the key differentials join on.';
comment on column sync.outbox.source_key is E'The row''s record id in the source it is pushed to (an Airtable record id, rec...); null for a row not yet there (filled when its create is pushed).';
comment on column sync.conflicts.source_key is E'The record''s id in the source it is pushed to (an Airtable record id).';
comment on column sync.record_errors.source_table is E'Source table (an Airtable table id, an export''s file name).';
comment on column sync.field_problems.source_table is E'The source table (an Airtable table id, an export''s file name).';
comment on table sync.entity_mappings is E'Where each entity is read from in its source (an Airtable table and its field ids, an export file and its columns), as the runner''s mapping file says; rewritten at the start of every run.';
comment on table sync.snapshots is E'Safety snapshots taken inside the database (the embedded server has no pg_dump): each is a private schema holding a copy of every app table, sync.id_map and staging.source_records, restorable with sync.restore_snapshot.';

-- Parameter names or result columns change: create or replace cannot.
drop function if exists sync.source_canonical(text, text[]);
drop function if exists sync.refresh_problem_rows(bigint, text, text[]);
drop function if exists sync.airtable_fields(text, uuid[]);
drop function if exists sync.push_remote_marks(bigint[]);
drop function if exists sync.plan_push(bigint, bigint[], jsonb, jsonb, text[]);
drop function if exists sync.compare_records(text);
drop function if exists sync.plan_key_ranges(text, bigint, integer, bigint);

--! Included canonical/target_canonical_sql.sql
/*
 * The canonical form of app rows, rebuilt set-based from the rows (the
 * target side of every comparison: verification, differentials, the push
 * plan).
 *
 * The canonical form of a record is a JSON object with one key per mapped
 * column, each value normalized the way the merge converts it (dates as
 * ISO dates, timestamps in UTC without zone, money rounded to cents, links
 * as the linked Airtable record id, collaborators as the Airtable user id).
 * jsonb orders keys itself, so the text of the object is canonical; its
 * SHA-256 is the record's checksum. The same form is built from staging
 * fields and from app rows, so the two sides compare record by record.
 */

create or replace function sync.target_canonical_sql(p_entity text, p_rows text default null) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  key_column text;
  pairs text;
  joins text;
begin
  select e.target_table, e.source_key_column into target, key_column from sync.entities e where e.entity = p_entity;
  if target is null then
    raise exception 'no entity %', p_entity using errcode = 'undefined_object';
  end if;
  select string_agg(format('%L, %s', mc.column_name,
           case mc.conversion
             when 'timestamp' then format('to_jsonb(t.%I at time zone ''UTC'')', mc.column_name)
             when 'link' then format('to_jsonb(%I.%I)', 'ref__' || mc.column_name, mc.linked_key_column)
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
  -- The record's source key is read from the column the entity keeps it in
  -- (Delta's airtable_id; a wallet address), and named source_key in the
  -- statement's output, the name every caller reads.
  return format('select t.id, t.%5$I as source_key, t.deleted_at, b.base || coalesce(case when t.open_problem_count > 0 then '
                || '(select jsonb_object_agg(fp.column_name, fp.source_canonical) from sync.field_problems fp '
                || 'where fp.entity = %1$L and fp.source_key = t.%5$I and fp.resolved_at is null and fp.landed = ''empty'' '
                || 'and fp.column_name is not null and b.base -> fp.column_name = ''null''::jsonb) end, ''{}'') as canonical '
                || 'from %2$s t%3$s cross join lateral (select jsonb_build_object(%4$s) as base) b where t.%5$I is not null',
                p_entity, coalesce(p_rows, target::text), coalesce(joins, ''), pairs, key_column);
end;
$$;
comment on function sync.target_canonical_sql(text, text) is E'The statement that rebuilds, set-based, the canonical form of every row of an entity''s table that has a source key (id, source_key: the source key from the entity''s source_key_column, deleted_at, canonical): the target side of verification and differentials. A column an open field problem left empty counts as the source value the problem keeps, so a record that landed with problems compares equal to its source. p_rows names another relation of the table''s row type to read instead (a trigger''s transition table).';
--! EndIncluded canonical/target_canonical_sql.sql
--! Included canonical/source_canonical.sql
/*
 * The canonical form of staged records, rebuilt from their fields (the
 * source side), to name the fields in which two checksums differ.
 */

create or replace function sync.source_canonical(p_entity text, p_source_keys text[])
returns table (source_key text, canonical jsonb)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  source_table text := (select m.source_table from sync.entity_mappings m where m.entity = p_entity);
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
    select s.source_key, %s
    from staging.source_records s
    -- the fields decompressed once per record, not once per column (offset 0 keeps it a separate step)
    cross join lateral (select s.fields || '{}'::jsonb as fields offset 0) f
    where s.source_table = $1 and s.source_key = any ($2)
  $sql$, form) using source_table, p_source_keys;
end;
$$;
comment on function sync.source_canonical(text, text[]) is E'The canonical form of staged records, rebuilt from their fields: to name the fields in which source and target differ.';
--! EndIncluded canonical/source_canonical.sql
--! Included staging/stage_page.sql
/*
 * Staging a page: one page of Airtable records written to
 * staging.source_records in one statement (never a loop over records),
 * with the records the runner could not stage quarantined with the reason.
 */

create or replace function sync.stage_page(
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
    left join staging.source_records s on s.source_table = mapping.source_table and s.source_key = p.id
  ), upserted as (
    insert into staging.source_records as s (source_id, source_table, source_key, fields, created_time, content_hash, checksum, run_id, fetched_at, page_seq)
    select mapping.source_id, mapping.source_table, p.id, p.fields, p.created_time, p.hash, p.checksum, p_run_id, now(), page_number
    from page p
    on conflict (source_table, source_key) do update
      set source_id = excluded.source_id, fields = excluded.fields, created_time = excluded.created_time,
          content_hash = excluded.content_hash, checksum = excluded.checksum, run_id = excluded.run_id,
          fetched_at = excluded.fetched_at, page_seq = excluded.page_seq
      where s.content_hash <> excluded.content_hash
         or s.checksum is distinct from excluded.checksum
         or (p_full and s.run_id is distinct from excluded.run_id)
         or exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = s.source_table and e.source_key = s.source_key)
         -- staged by a snapshot (stage-only) run but never merged: the id
         -- map holds the checksum of the version last merged
         or (s.run_id is distinct from excluded.run_id
             and not exists (select from sync.id_map m
                             where m.entity_type = p_entity and m.legacy_id = s.source_key and m.checksum = s.checksum))
    returning s.source_key
  )
  select (select count(*) from upserted)::int,
         (select count(*) from previously p where p.previous_run = p_run_id and p.id not in (select source_key from upserted))::int
    into written, already_in_run;
  untouched := page_size - written - already_in_run;
  rejected := coalesce(jsonb_array_length(p_rejects), 0);

  -- Records the runner could not stage at all (bad envelope, text
  -- PostgreSQL cannot store) are quarantined with the reason, once.
  insert into sync.record_errors (run_id, source_table, source_key, field, value, reason)
  select p_run_id, mapping.source_table, r.source_key, r.field, r.value, r.reason
  from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (source_key text, field text, value jsonb, reason text)
  where not exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = mapping.source_table and e.source_key = r.source_key
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
--! EndIncluded staging/stage_page.sql
--! Included staging/rejects.sql
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

create or replace function sync.mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb) returns integer
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
  from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (source_key text, field text, reason text)
  where e.resolved_at is null and not e.rejected_before_staging and e.source_table = mapping.source_table
    and e.source_key = r.source_key and e.field is not distinct from r.field and e.reason = r.reason;
  get diagnostics marked = row_count;
  -- A record read again and rejected for another reason: its earlier
  -- rejections no longer say what is wrong with it. (Items without a
  -- record id share one placeholder id across pages, so only real ids.)
  update sync.record_errors e
  set resolved_at = now(), resolved_by_run_id = p_run_id
  where e.resolved_at is null and e.rejected_before_staging and e.source_table = mapping.source_table
    and e.source_key ~ '^rec[A-Za-z0-9]{14}$'
    and e.source_key in (select r.source_key from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (source_key text))
    and not exists (select from jsonb_to_recordset(coalesce(p_rejects, '[]')) as r (source_key text, field text, reason text)
                    where r.source_key = e.source_key and r.field is not distinct from e.field and r.reason = e.reason);
  return marked;
end;
$$;
comment on function sync.mark_rejected_before_staging(bigint, text, jsonb) is E'Marks the open quarantine entries of records the runner rejected on a page (p_rejects as given to sync.stage_page, called right after it in the same transaction) as rejected before staging, so that only a run that stages the record again releases them; closes the record''s earlier rejections that the new ones replace. Returns how many entries it marked.';

create or replace function sync.tg_record_errors__keep_rejections_open() returns trigger
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  -- released by a run that staged the record since it was rejected
  if exists (select from staging.source_records s
             where s.source_table = old.source_table and s.source_key = old.source_key and s.fetched_at > old.created_at) then
    return new;
  end if;
  -- or replaced by a newer rejection, for another reason, by the same run
  if exists (select from sync.record_errors e
             where e.source_table = old.source_table and e.source_key = old.source_key and e.id <> old.id
               and e.resolved_at is null and e.rejected_before_staging and e.run_id = new.resolved_by_run_id) then
    return new;
  end if;
  -- otherwise the row is left as it is: what staging holds is not the
  -- version that was rejected
  return null;
end;
$$;
comment on function sync.tg_record_errors__keep_rejections_open() is E'Trigger function (BEFORE UPDATE of sync.record_errors, for entries rejected before staging that an update would resolve): lets the update through only when the record was staged since the rejection or a newer rejection of it by the resolving run replaces it; otherwise skips the row, so that the merge retrying an older staged version cannot release a record whose current version could not be read.';
--! EndIncluded staging/rejects.sql
--! Included staging/stage_copied.sql
/*
 * Staging a large listing with COPY: the runner streams a chunk of records
 * (and of what it had to reject) into the session's temporary table
 * pg_temp.copied_records with COPY ... FROM STDIN, then one call of
 * sync.stage_copied does for the whole chunk what sync.stage_page does for
 * a page: the record checksums (the same canonical form), the upsert into
 * staging.source_records with one page number, the quarantine of the
 * rejects, and the checkpoint, in the same transaction as the COPY. Set-
 * based: one statement per step, whatever the chunk's size.
 */

create or replace function sync.open_copied_records() returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  drop table if exists pg_temp.copied_records;
  create temp table copied_records (
    position bigint not null,
    is_reject boolean not null,
    id text,
    created_time timestamptz,
    fields jsonb,
    hash text,
    reject_key text,
    reject_field text,
    reject_value jsonb,
    reject_reason text,
    previous_run bigint
  ) on commit drop;
end;
$$;
comment on function sync.open_copied_records() is E'Creates, for the current transaction, the session''s temporary table pg_temp.copied_records that a chunk of records is COPYed into (position in the listing, whether it is a reject, the record''s id, created time, fields and content hash, or the reject''s key, field, value and reason; previous_run is sync.stage_copied''s) before sync.stage_copied stages it. Dropped at commit.';

create or replace function sync.stage_copied(
  p_run_id bigint, p_entity text, p_full boolean, p_next_offset text, p_may_repeat boolean default false
) returns table (written integer, already_in_run integer, untouched integer, rejected integer, skipped integer)
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  page_number bigint := nextval('staging.page_seq');
  canonical text;
  chunk_size integer;
  last_id text;
  rejects jsonb;
begin
  select * into strict mapping from sync.entity_mappings where entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  if to_regclass('pg_temp.copied_records') is null then
    raise exception 'no copied records: COPY the chunk into pg_temp.copied_records in this transaction first'
      using errcode = 'undefined_table';
  end if;

  -- A listing started again (the export changed while a killed run was
  -- reading it): records this run staged already with the same content are
  -- left out, so nothing is merged or counted twice.
  skipped := 0;
  if p_may_repeat then
    delete from pg_temp.copied_records c
    using staging.source_records s
    where not c.is_reject and s.source_table = mapping.source_table and s.source_key = c.id and s.run_id = p_run_id and s.content_hash = c.hash;
    get diagnostics skipped = row_count;
  end if;

  select count(*) filter (where not c.is_reject)::int, count(*) filter (where c.is_reject)::int,
         (array_agg(c.id order by c.position desc) filter (where not c.is_reject))[1]
    into chunk_size, rejected, last_id
  from pg_temp.copied_records c;

  -- The record's checksum: SHA-256 of its canonical form, built exactly as
  -- sync.stage_page builds it (every mapped column, converted by
  -- sync.cell_canonical), written out as one jsonb_build_object so that
  -- each conversion is inlined rather than aggregated record by record.
  select format('sync.checksum(jsonb_build_object(%s))',
                string_agg(format('%L, sync.cell_canonical(c.fields -> %L, %L)', mc.column_name, mc.field_id, mc.conversion), ', ' order by mc.column_name))
    into canonical
  from sync.mapped_columns(p_entity) mc;

  -- What staging held before: the run that last staged each record (the
  -- planner knows the chunk's size once it is analyzed).
  analyze pg_temp.copied_records;
  update pg_temp.copied_records c set previous_run = s.run_id
  from staging.source_records s
  where not c.is_reject and s.source_table = mapping.source_table and s.source_key = c.id;

  -- The upsert, with the same rule as sync.stage_page for rewriting a row.
  execute format($sql$
    insert into staging.source_records as s (source_id, source_table, source_key, fields, created_time, content_hash, checksum, run_id, fetched_at, page_seq)
    select $1, $2, c.id, c.fields, c.created_time, c.hash, %1$s, $3, now(), $4
    from pg_temp.copied_records c
    where not c.is_reject
    on conflict (source_table, source_key) do update
      set source_id = excluded.source_id, fields = excluded.fields, created_time = excluded.created_time,
          content_hash = excluded.content_hash, checksum = excluded.checksum, run_id = excluded.run_id,
          fetched_at = excluded.fetched_at, page_seq = excluded.page_seq
      where s.content_hash <> excluded.content_hash
         or s.checksum is distinct from excluded.checksum
         or ($5 and s.run_id is distinct from excluded.run_id)
         or exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = s.source_table and e.source_key = s.source_key)
         or (s.run_id is distinct from excluded.run_id
             and not exists (select from sync.id_map m
                             where m.entity_type = $6 and m.legacy_id = s.source_key and m.checksum = s.checksum))
  $sql$, coalesce(canonical, 'null::text'))
    using mapping.source_id, mapping.source_table, p_run_id, page_number, p_full, p_entity;
  get diagnostics written = row_count;
  -- staged by this run already and left as they were (a listing started
  -- again): the rows of the run not rewritten now (rare; counted only then)
  already_in_run := 0;
  if exists (select from pg_temp.copied_records c where c.previous_run = p_run_id) then
    select count(*)::int into already_in_run
    from pg_temp.copied_records c
    join staging.source_records s on s.source_table = mapping.source_table and s.source_key = c.id
    where c.previous_run = p_run_id and s.page_seq is distinct from page_number;
  end if;
  untouched := chunk_size - written - already_in_run;

  -- The rejects, quarantined with their reason once, and marked as
  -- rejected before staging, as for a page (sync.mark_rejected_before_staging).
  if rejected > 0 then
    select jsonb_agg(jsonb_build_object('source_key', c.reject_key, 'field', c.reject_field, 'value', c.reject_value, 'reason', c.reject_reason) order by c.position)
      into rejects
    from pg_temp.copied_records c where c.is_reject;
    insert into sync.record_errors (run_id, source_table, source_key, field, value, reason)
    select distinct on (c.reject_key, c.reject_field, c.reject_reason) p_run_id, mapping.source_table, c.reject_key, c.reject_field, c.reject_value, c.reject_reason
    from pg_temp.copied_records c
    where c.is_reject
      and not exists (select from sync.record_errors e
                      where e.resolved_at is null and e.source_table = mapping.source_table and e.source_key = c.reject_key
                        and e.field is not distinct from c.reject_field and e.reason = c.reject_reason)
    order by c.reject_key, c.reject_field, c.reject_reason, c.position;
    perform sync.mark_rejected_before_staging(p_run_id, p_entity, rejects);
  end if;

  -- The checkpoint moves in the same transaction as the chunk it records.
  update sync.checkpoints c
  set records_processed = c.records_processed + chunk_size + rejected,
      last_processed_id = coalesce(last_id, c.last_processed_id),
      metadata = c.metadata || jsonb_build_object(
        'offset', p_next_offset,
        'phase', case when p_next_offset is null then 'listed' else 'listing' end,
        'last_page_seq', page_number,
        'pages', coalesce((c.metadata ->> 'pages')::int, 0) + 1,
        'untouched', coalesce((c.metadata ->> 'untouched')::int, 0) + untouched,
        'rejected', coalesce((c.metadata ->> 'rejected')::int, 0) + rejected)
  where c.run_id = p_run_id and c.operation_type = 'sync_operation' and c.entity_type = p_entity;
  if not found then
    raise exception 'no checkpoint for run % entity %: start the table before staging records', p_run_id, p_entity
      using errcode = 'no_data_found';
  end if;
  truncate pg_temp.copied_records;
  return next;
end;
$$;
comment on function sync.stage_copied(bigint, text, boolean, text, boolean) is E'Stages a chunk of records the runner streamed with COPY into the session''s pg_temp.copied_records (id, created_time, fields, hash, or a reject''s key, field, value and reason, in file order): the bulk counterpart of sync.stage_page for large listings. In one call and the caller''s transaction: checksums from the same canonical form, the upsert into staging.source_records under one staging.page_seq number with stage_page''s rule for rewriting a row, the rejects quarantined once and marked rejected before staging, and the checkpoint moved (records, offset, pages, untouched, rejected; no next offset marks the table listed). With p_may_repeat (a listing started again) records this run staged already with the same content are left out and counted as skipped. Returns how many rows were written, were already staged by this run, were left untouched (unchanged), were rejects (quarantined) and were skipped.';
--! EndIncluded staging/stage_copied.sql
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
                      when 'link' then format(' left join %1$s %2$I on %2$I.%4$I = c0.%3$I and %2$I.deleted_at is null',
                                              linked.target_table, 'ref__' || ec.column_name, 'key__' || ec.column_name, linked.source_key_column)
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
                    || 'case when exists (select from %6$s d where d.%8$I = c0.%1$I) then ''was deleted'' '
                    || 'when exists (select from sync.record_errors e where e.resolved_at is null and e.source_key = c0.%1$I) then ''is in quarantine'' '
                    || 'else ''does not exist'' end)) end',
                    'key__' || ec.column_name, 'ref__' || ec.column_name, field_name, 'raw__' || ec.column_name,
                    field_name || ' links to %s, which %s in ' || linked.entity || ': the link is left empty until it does', linked.target_table, ec.column_name,
                    linked.source_key_column) end,
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
    ) c0 %6$s
  $sql$, resolved, attachment_columns, problems, converted, attachment_cells, coalesce(joins, ''), blocking_problems)
  using p_run_id, mapping.source_table, merged_through, merge_upto, p_final;

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
      where c.source_key = t.%3$I
    $sql$, (select string_agg(format('%1$I = case when h.held_columns @> array[%1$L] then t.%1$I else c.%1$I end', ec.column_name), ', ')
            from sync.entity_columns ec where ec.entity = p_entity and mapping.field_ids ? ec.column_name),
       entity.target_table, entity.source_key_column) using p_entity;
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

  -- Upsert the candidates that land, writing only rows that differ (a
  -- record that reappears is restored: deleted_at goes back to null).
  if to_regclass('pg_temp.merge_written') is not null then drop table pg_temp.merge_written; end if;
  create temp table merge_written (source_key text primary key, id uuid not null, was_inserted boolean) on commit drop;
  upsert := format($sql$
    with written as (
      insert into %1$s as t (%6$I, open_problem_count, %2$s)
      select source_key, problem_count, %2$s from merge_candidates
      where blocking_problems = '[]'::jsonb and not held_deleted and position between $1 and $2
      on conflict (%6$I) do update set %3$s, open_problem_count = excluded.open_problem_count, deleted_at = null
      where row(%4$s, t.open_problem_count, t.deleted_at) is distinct from row(%5$s, excluded.open_problem_count, null::timestamptz)
      returning t.%6$I, t.id, (t.xmax = 0) as was_inserted
    )
    insert into merge_written select * from written
  $sql$, entity.target_table, columns, assignments, compared_old, compared_new, entity.source_key_column);

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

  -- The id map: one entry per record, with the checksum of the source
  -- version last merged (rewritten only when it changed).
  -- Every clean candidate, written or already equal: the id map is how a
  -- later staging knows the version it holds was merged.
  execute format($sql$
    insert into sync.id_map as m (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum)
    select $1, c.source_key, t.id, $2, $3, $4, c.checksum
    from merge_candidates c
    join %s t on t.%I = c.source_key
    where c.blocking_problems = '[]'::jsonb
    on conflict (entity_type, legacy_id) do update set checksum = excluded.checksum, uuid_id = excluded.uuid_id
    where row(m.checksum, m.uuid_id) is distinct from row(excluded.checksum, excluded.uuid_id)
  $sql$, entity.target_table, entity.source_key_column) using p_entity, p_run_id, mapping.source_table, entity.target_table::text;

  -- Attachments of the clean candidates: one row per file, soft-deleted when
  -- gone from the cell. The download URL changes on every read, so it is
  -- kept only when the file itself is new or changed.
  for attachment in select key as field_name, value as field_id from jsonb_each_text(mapping.attachment_field_ids) loop
    execute format($sql$
      insert into app.attachments as a (airtable_attachment_id, %1$I, field_name, position, filename, size_bytes, mime_type, url, url_fetched_at)
      select distinct on (t.id, file ->> 'id')
             file ->> 'id', t.id, $1, (n - 1)::smallint, file ->> 'filename', (file ->> 'size')::bigint, file ->> 'type', file ->> 'url', now()
      from merge_candidates c
      join %2$s t on t.%4$I = c.source_key
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
    $sql$, entity.attachment_owner_column, entity.target_table, 'attachments__' || attachment.field_name, entity.source_key_column) using attachment.field_name;

    execute format($sql$
      update app.attachments a set deleted_at = now()
      from merge_candidates c join %2$s t on t.%4$I = c.source_key
      where a.%1$I = t.id and a.field_name = $1 and a.deleted_at is null and c.blocking_problems = '[]'::jsonb
        and not c.problems @> jsonb_build_array(jsonb_build_object('field', $1::text, 'rule', 'cell_conversion'))
        and not exists (select from jsonb_array_elements(coalesce(c.%3$I, '[]'::jsonb)) as file where file ->> 'id' = a.airtable_attachment_id)
    $sql$, entity.attachment_owner_column, entity.target_table, 'attachments__' || attachment.field_name, entity.source_key_column) using attachment.field_name;
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
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and w.source_key is null),
         count(*) filter (where c.fetched_this_run and c.blocking_problems <> '[]'::jsonb),
         count(*) filter (where not c.fetched_this_run),
         count(*) filter (where not c.fetched_this_run and c.blocking_problems = '[]'::jsonb),
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and c.problems <> '[]'::jsonb)
    into result
  from merge_candidates c
  left join merge_written w on w.source_key = c.source_key;

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
  key_column text;
  swept bigint;
begin
  select * into strict mapping from sync.entity_mappings m where m.entity = p_entity;
  select e.target_table, e.source_key_column into strict target, key_column from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  perform sync.analyze_if_stale('staging.source_records');
  perform sync.analyze_if_stale(target);
  -- Only after a complete listing: every record Airtable still has was
  -- staged with this run's id, so a live row without one is gone there.
  -- Rows created here and never pushed (no source key) are not touched,
  -- nor rows whose record this run listed but could not stage.
  -- The open problems of a record gone from Airtable are closed with it
  -- (a record that reappears is merged again, with whatever it has then).
  execute format($sql$
    with swept as (
      update %s t set deleted_at = now(), open_problem_count = 0
      where t.deleted_at is null and t.%2$I is not null
        and not exists (select from staging.source_records s
                        where s.source_table = $1 and s.source_key = t.%2$I and s.run_id = $2)
        -- listed but rejected before staging: the record exists in the source
        and not exists (select from sync.record_errors e
                        where e.resolved_at is null and e.rejected_before_staging and e.source_table = $1 and e.source_key = t.%2$I)
      returning t.%2$I as source_key
    ), closed as (
      update sync.field_problems fp set resolved_at = now(), resolved_by_run_id = $2
      from swept w
      where fp.entity = $3 and fp.source_key = w.source_key and fp.resolved_at is null
    )
    select count(*) from swept
  $sql$, target, key_column) using mapping.source_table, p_run_id, p_entity into swept;
  update sync.checkpoints cp
  set metadata = cp.metadata || jsonb_build_object('phase', 'swept', 'deleted', swept)
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;
  return swept;
end;
$$;
comment on function sync.sweep_deleted(bigint, text) is E'After a full run has listed every record of a table, soft-deletes the app rows whose Airtable record is gone (audited with the run) and closes their open field problems. A record that reappears is restored by the next merge.';
--! EndIncluded merge/sweep_deleted.sql
--! Included merge/record_problems.sql
/*
 * Field problems: what is wrong with records that landed (issue 15). The
 * merge (origin merge) and the validation rules of each pull (origin rule)
 * find problems record by record; sync.record_problems keeps
 * sync.field_problems in step with what they found, set-based;
 * sync.refresh_problem_rows puts the rows' counts and target checksums
 * right; sync.resolve_dangling_links fills the links whose target has
 * appeared since.
 */

create or replace function sync.record_problems(p_run_id bigint, p_entity text, p_origin text) returns text[]
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  source_table text;
  changed text[];
begin
  select m.source_table into source_table from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity using errcode = 'undefined_object';
  end if;
  -- audited under the run, so that a rollback of the run takes them back
  perform set_config('airlift.run_id', p_run_id::text, true);
  if to_regclass('pg_temp.problems_seen') is null then
    raise exception 'sync.record_problems reads the temporary table problems_seen (source_key text, problems jsonb): create it first'
      using errcode = 'undefined_table';
  end if;
  -- One statement: the problems found, the open ones of the records looked
  -- at, then close, rewrite and insert. A problem is the same problem when
  -- record, column (or field) and rule are the same.
  with found as (
    select s.source_key, p ->> 'field' as field, p ->> 'column' as column_name, p ->> 'rule' as rule,
           p -> 'value' as value, p -> 'canonical' as canonical, coalesce(p ->> 'landed', 'kept') as landed,
           p ->> 'link_key' as link_key, p ->> 'reason' as reason
    from pg_temp.problems_seen s
    cross join lateral jsonb_array_elements(s.problems) as p
  ), open_problems as (
    select fp.id, fp.source_key, coalesce(fp.column_name, fp.field, '') as problem_key, fp.rule,
           fp.value, fp.source_canonical, fp.landed, fp.link_key, fp.reason, fp.field
    from sync.field_problems fp
    where fp.entity = p_entity and fp.origin = p_origin and fp.resolved_at is null
      and fp.source_key in (select s.source_key from pg_temp.problems_seen s)
  ), matched as (
    select o.id, f.*,
           row(o.value, o.source_canonical, o.landed, o.link_key, o.reason, o.field)
             is distinct from row(f.value, f.canonical, f.landed, f.link_key, f.reason, f.field) as differs
    from open_problems o
    join found f on f.source_key = o.source_key and coalesce(f.column_name, f.field, '') = o.problem_key and f.rule = o.rule
  ), closed as (
    update sync.field_problems fp
    set resolved_at = now(), resolved_by_run_id = p_run_id
    from open_problems o
    where fp.id = o.id and o.id not in (select m.id from matched m)
    returning fp.source_key
  ), rewritten as (
    update sync.field_problems fp
    set value = m.value, source_canonical = m.canonical, landed = m.landed, link_key = m.link_key, reason = m.reason, field = m.field
    from matched m
    where fp.id = m.id and m.differs
    returning fp.source_key
  ), inserted as (
    insert into sync.field_problems (entity, source_table, source_key, field, column_name, rule, origin, value, source_canonical, landed, link_key, reason, run_id)
    select p_entity, source_table, f.source_key, f.field, f.column_name, f.rule, p_origin, f.value, f.canonical, f.landed, f.link_key, f.reason, p_run_id
    from found f
    where not exists (select from matched m where m.source_key = f.source_key
                        and coalesce(m.column_name, m.field, '') = coalesce(f.column_name, f.field, '') and m.rule = f.rule)
    returning source_key
  )
  select coalesce(array_agg(distinct x.source_key), '{}') into changed
  from (select source_key from closed union all select source_key from rewritten union all select source_key from inserted) x;
  return changed;
end;
$$;
comment on function sync.record_problems(bigint, text, text) is E'Keeps sync.field_problems in step with what a check found: reads the temporary table problems_seen (source_key, problems: a JSON array of {field, column, rule, value, canonical, landed, link_key, reason}) holding every record looked at, with its problems of origin p_origin (merge or rule); records new problems under run p_run_id, rewrites those whose value or reason changed, and closes the open ones the records no longer have. Returns the records whose open problems changed. Set-based, one statement. Security definer: the sync role writes problems only through it.';
--! EndIncluded merge/record_problems.sql
--! Included merge/refresh_problem_rows.sql
/*
 * Field problems: what is wrong with records that landed (issue 15). The
 * merge (origin merge) and the validation rules of each pull (origin rule)
 * find problems record by record; sync.record_problems keeps
 * sync.field_problems in step with what they found, set-based;
 * sync.refresh_problem_rows puts the rows' counts and target checksums
 * right; sync.resolve_dangling_links fills the links whose target has
 * appeared since.
 */

create or replace function sync.refresh_problem_rows(p_run_id bigint, p_entity text, p_source_keys text[]) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  key_column text;
  recounted bigint;
begin
  if coalesce(cardinality(p_source_keys), 0) = 0 then
    return 0;
  end if;
  select e.target_table, e.source_key_column into strict target, key_column from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  -- The rows' counts of open problems (a row written this way gets its
  -- target checksum from its trigger)...
  execute format($sql$
    update %s t set open_problem_count = n.open_problems
    from (select i.source_key, (select count(*) from sync.field_problems fp
                                 where fp.entity = $1 and fp.source_key = i.source_key and fp.resolved_at is null)::integer as open_problems
          from unnest($2) as i (source_key)) n
    where t.%2$I = n.source_key and t.open_problem_count <> n.open_problems
  $sql$, target, key_column) using p_entity, p_source_keys;
  get diagnostics recounted = row_count;
  -- ...and the target checksums of the rows whose problems changed while
  -- the row did not (the canonical form puts an emptied column's source
  -- value back from its open problem).
  execute format($sql$
    insert into sync.target_checksums as c (entity, source_key, row_id, checksum, deleted)
    select $1, t.source_key, t.id, sync.checksum(t.canonical), t.deleted_at is not null
    from (%s) t
    on conflict (entity, source_key) do update
      set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
      where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
  $sql$, sync.target_canonical_sql(p_entity, format('(select x.* from %s x where x.%I = any ($2))', target, key_column)))
  using p_entity, p_source_keys;
  return recounted;
end;
$$;
comment on function sync.refresh_problem_rows(bigint, text, text[]) is E'After the open problems of some records changed: sets their rows'' open_problem_count (audited under run p_run_id) and rebuilds their target checksums, which read the open problems. Returns how many rows were recounted. Security definer: writes app rows and sync.target_checksums for the sync role.';
--! EndIncluded merge/refresh_problem_rows.sql
--! Included merge/resolve_dangling_links.sql
/*
 * Field problems: what is wrong with records that landed (issue 15). The
 * merge (origin merge) and the validation rules of each pull (origin rule)
 * find problems record by record; sync.record_problems keeps
 * sync.field_problems in step with what they found, set-based;
 * sync.refresh_problem_rows puts the rows' counts and target checksums
 * right; sync.resolve_dangling_links fills the links whose target has
 * appeared since.
 */

create or replace function sync.resolve_dangling_links(p_run_id bigint, p_entity text) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
  key_column text;
  candidates text;
  picks text;
  resolved bigint;
begin
  select e.target_table, e.source_key_column into strict target, key_column from sync.entities e where e.entity = p_entity;
  -- per link column: its open dangling links whose record now exists
  select string_agg(format($part$
           select fp.id as problem_id, fp.source_key, %1$L::text as column_name, linked.id as linked_id
           from sync.field_problems fp
           join %2$s linked on linked.%3$I = fp.link_key and linked.deleted_at is null
           where fp.entity = $1 and fp.column_name = %1$L and fp.rule = 'dangling_link' and fp.resolved_at is null$part$,
           ec.column_name, linked.target_table, linked.source_key_column), ' union all '),
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
      select f.source_key, count(*)::integer as links, %2$s
      from found f group by f.source_key
    )
    update %3$s t set %4$s, open_problem_count = greatest(t.open_problem_count - r.links, 0)
    from per_row r
    where t.%5$I = r.source_key
  $sql$, candidates,
     (select string_agg(format('(array_agg(f.linked_id) filter (where f.column_name = %1$L))[1] as %1$I', ec.column_name), ', ')
      from sync.entity_columns ec join sync.entity_mappings m on m.entity = ec.entity and m.field_ids ? ec.column_name
      where ec.entity = p_entity and ec.conversion = 'link'),
     target, picks, key_column)
  using p_entity, p_run_id;
  get diagnostics resolved = row_count;
  return resolved;
end;
$$;
comment on function sync.resolve_dangling_links(bigint, text) is E'Resolves the links of an entity''s rows that pointed at records missing when they were merged: every open dangling_link problem whose record now exists (live) is closed by run p_run_id, and its row gets the foreign key (unless one was set here since) and one open problem fewer, in one set-based statement for the table. Called by every final merge of the entity, so a link is filled once its target appears without the linking record changing in Airtable. Returns how many rows were relinked. Security definer: writes app rows for the sync role.';
--! EndIncluded merge/resolve_dangling_links.sql
--! Included merge/open_data_problems.sql
/*
 * What is wrong with the data, in one place: the open field problems of
 * records that landed, and the quarantine (records a blocking rule, or an
 * id no row can hold, keeps out).
 */

create or replace view sync.open_data_problems as
select fp.entity, fp.source_table, fp.source_key, fp.field, fp.column_name, fp.rule, fp.value, fp.reason,
       fp.landed as disposition, fp.created_at as since, fp.run_id
from sync.field_problems fp
where fp.resolved_at is null
union all
select m.entity, e.source_table, e.source_key, e.field, null, case when e.rejected_before_staging then 'staging'
         else coalesce(substring(e.reason from '\(rule ([a-z_.]+)\)$'), 'quarantine') end,
       e.value, e.reason, 'quarantined', e.created_at, e.run_id
from sync.record_errors e
left join sync.entity_mappings m on m.source_table = e.source_table
where e.resolved_at is null;
comment on view sync.open_data_problems is E'Every open data problem, one row per record, field and rule: those of records that landed (sync.field_problems; disposition empty, first_link or kept) and those of records kept out (sync.record_errors; disposition quarantined, rule staging for records that could not be staged). What status, verification and admin pages group by table, field and rule.';
comment on column sync.open_data_problems.entity is E'The entity of the record.';
comment on column sync.open_data_problems.source_table is E'The source table (an Airtable table id, an export''s file name).';
comment on column sync.open_data_problems.source_key is E'The record''s key in its source (an Airtable record id, a key read from an export).';
comment on column sync.open_data_problems.field is E'The field at fault (null when the whole record is).';
comment on column sync.open_data_problems.column_name is E'The app column the field lands in, for records that landed.';
comment on column sync.open_data_problems.rule is E'The rule broken: the merge''s own (cell_conversion, required_value, check_range, dangling_link, extra_links), a validation rule id, staging (could not be staged) or quarantine.';
comment on column sync.open_data_problems.value is E'The value as the source sent it.';
comment on column sync.open_data_problems.reason is E'Why, in words.';
comment on column sync.open_data_problems.disposition is E'What became of the record or field: empty, first_link, kept (landed) or quarantined (kept out).';
comment on column sync.open_data_problems.since is E'When the problem was first found.';
comment on column sync.open_data_problems.run_id is E'The run that found it.';
--! EndIncluded merge/open_data_problems.sql
--! Included outbox/push_rows_sql.sql
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
  return format('select t.id, t.airtable_id as source_key, t.deleted_at, t.updated_at, jsonb_build_object(%s) as raw_values, '
                'jsonb_build_object(%s) as canonical, jsonb_build_object(%s) as fields, '
                'array_remove(array[%s]::text[], null) as unresolved_links from %s t%s',
                raw_pairs, canonical_pairs, cell_pairs, unresolved, p_rows, joins);
end;
$$;
comment on function sync.push_rows_sql(text, text) is E'The statement that reads app rows of an entity (p_rows: a table, a transition table or a subquery in parentheses) as (id, source_key (the row''s Airtable record id), deleted_at, updated_at, raw_values, canonical, fields, unresolved_links) over its pushable columns: raw values to detect changes, the canonical form (as sync.target_canonical_sql builds it) to compare, the Airtable fields object (field id -> cell: a link as [record id], a select as its option name, a date as YYYY-MM-DD, a timestamp as ISO UTC with milliseconds, money and integers as numbers, a checkbox as a boolean, a multiple select as an array), and the links whose target has no Airtable id yet. The columns are sync.push_columns'': the mapped ones, or the catalogue''s while no mapping is loaded, when the fields object is empty (no field ids yet).';
--! EndIncluded outbox/push_rows_sql.sql
--! Included outbox/airtable_fields.sql
/*
 * App rows as the Airtable fields object a create or an update sends,
 * built with the same statement as capture and planning
 * (sync.push_rows_sql).
 */

create or replace function sync.airtable_fields(p_entity text, p_row_ids uuid[])
returns table (row_id uuid, source_key text, fields jsonb, unresolved_links text[])
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  target regclass;
begin
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  return query execute format('select r.id, r.source_key, r.fields, r.unresolved_links from (%s) r',
    sync.push_rows_sql(p_entity, format('(select * from %s where id = any ($1))', target))) using p_row_ids;
end;
$$;
comment on function sync.airtable_fields(text, uuid[]) is E'The Airtable fields object (field id -> cell shape) of app rows, every pushable column included (null clears a field), with the link columns that cannot be sent yet because the linked row has no Airtable id. Collaborators and attachments are never sent. Security definer: the sync role reads app rows only through it and the planner.';
--! EndIncluded outbox/airtable_fields.sql
--! Included outbox/capture_changes.sql
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
      select n.id as row_id, n.source_key,
             -- a row inserted with an Airtable id already exists there
             case when n.source_key is null then 'create' else 'update' end as operation,
             array(select e.key from jsonb_each(n.raw_values) e where e.value not in ('null', 'false', '[]') order by e.key) as changed_columns,
             '{}'::jsonb as before_values,
             false as restored
      from (%s) n
      where n.deleted_at is null
    $sql$, sync.push_rows_sql(v_entity, 'new_rows'));
  elsif tg_op = 'UPDATE' then
    changes := format($sql$
      select n.id as row_id, n.source_key, k.operation,
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
          when n.source_key is null and not exists (
            select from sync.outbox f where f.entity = $1 and f.row_id = n.id and f.status = 'in_flight' and f.operation = 'create')
            then 'create'
          else 'update' end as operation
      ) k
      -- edits of a row that stays deleted are not pushed
      where o.deleted_at is null or n.deleted_at is null
    $sql$, sync.push_rows_sql(v_entity, 'old_rows'), sync.push_rows_sql(v_entity, 'new_rows'));
  else
    changes := format($sql$
      select o.id as row_id, o.source_key, 'delete' as operation, '{}'::text[] as changed_columns, '{}'::jsonb as before_values, false as restored
      from (%s) o
      where o.deleted_at is null -- a soft-deleted row's delete was captured already
    $sql$, sync.push_rows_sql(v_entity, 'old_rows'));
  end if;

  execute format($sql$
    with changes as (%s)
    insert into sync.outbox as x (entity, row_id, source_key, operation, changed_columns, before_values, changed_by)
    select $1, c.row_id, c.source_key, c.operation, c.changed_columns, c.before_values, $2
    from changes c
    where case c.operation
            when 'create' then true
            -- a delete matters if Airtable has the row, or an entry is on its way there
            when 'delete' then c.source_key is not null
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
          source_key = coalesce(x.source_key, excluded.source_key),
          attempts = case when x.status = 'failed' then 0 else x.attempts end,
          next_attempt_at = null,
          changed_by = excluded.changed_by,
          last_changed_at = now()
  $sql$, changes) using v_entity, coalesce(audit.current_actor(), audit.acting_role());
  return null;
end;
$$;
comment on function sync.tg__capture_changes() is E'Statement-level AFTER INSERT/UPDATE/DELETE trigger of the synced app tables (argument: the entity): captures each row whose pushable columns changed, or that was created, soft- or hard-deleted or restored, into sync.outbox, merging into the row''s open entry (union of columns, original before values; create+update stays create, create+delete is superseded, update+delete is delete, delete+restore is update or superseded). Does nothing when airlift.run_id is set (a sync write: no echo). While no mapping is loaded at all (before the first pull or push), captures over the catalogue''s pushable columns (sync.push_columns), so a row an application writes then is not lost; once a mapping is loaded, an entity it leaves out is not captured. Security definer: app writers cannot write sync tables.';
--! EndIncluded outbox/capture_changes.sql
--! Included outbox/claim_outbox.sql
/*
 * Outbox bookkeeping for the push task: a push claims a batch of due
 * entries, so that two pushes never send the same change.
 */

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
      and (o.operation = 'create' or o.source_key is not null)
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
--! EndIncluded outbox/claim_outbox.sql
--! Included outbox/mark_outbox_pushed.sql
/*
 * Outbox bookkeeping for the push task: what Airtable accepted closes its
 * entries and lands in the id map.
 */

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
    create temp table outbox_pushed (id bigint, entity text, row_id uuid, operation text, source_key text) on commit drop;
  end if;
  truncate outbox_pushed;
  with results as (
    select r.id, r.source_key, r.response from jsonb_to_recordset(p_results) as r (id bigint, source_key text, response jsonb)
  ), marked as (
    update sync.outbox o
    set status = 'pushed', pushed_at = now(), airtable_response = r.response, last_error = null, next_attempt_at = null,
        source_key = coalesce(o.source_key, r.source_key), run_id = p_run_id
    from results r
    where o.id = r.id and o.status = 'in_flight'
    returning o.id, o.entity, o.row_id, o.operation, o.source_key
  )
  insert into outbox_pushed select * from marked;

  if exists (select from outbox_pushed p where p.operation = 'create' and p.source_key is null) then
    raise exception 'a pushed create needs the new Airtable record id'
      using errcode = 'not_null_violation', detail = (select string_agg(p.id::text, ', ') from outbox_pushed p where p.operation = 'create' and p.source_key is null);
  end if;

  -- Created records: the Airtable id into the row (one statement per table)
  -- and the id map, and into the row's later entries that waited for it.
  for e in select distinct p.entity, t.target_table from outbox_pushed p join sync.entities t on t.entity = p.entity where p.operation = 'create' loop
    execute format($sql$
      update %s t set airtable_id = p.source_key
      from outbox_pushed p
      where p.entity = $1 and p.operation = 'create' and t.id = p.row_id and t.airtable_id is distinct from p.source_key
    $sql$, e.target_table) using e.entity;
  end loop;

  insert into sync.id_map as m (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum)
  select p.entity, p.source_key, p.row_id, p_run_id, mp.source_table, t.target_table::text, c.checksum
  from outbox_pushed p
  join sync.entities t on t.entity = p.entity
  join sync.entity_mappings mp on mp.entity = p.entity
  left join sync.target_checksums c on c.entity = p.entity and c.source_key = p.source_key
  where p.operation = 'create'
  on conflict (entity_type, legacy_id) do update set uuid_id = excluded.uuid_id, checksum = coalesce(excluded.checksum, m.checksum)
  where m.uuid_id is distinct from excluded.uuid_id;

  update sync.outbox o
  set source_key = p.source_key
  from outbox_pushed p
  where p.operation = 'create' and o.entity = p.entity and o.row_id = p.row_id and o.source_key is null
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
comment on function sync.mark_outbox_pushed(bigint, jsonb) is E'Records what Airtable accepted: p_results is a JSON array of {id, source_key, response}. Entries become pushed. For a create, the new record id is stored in the app row and in sync.id_map as a sync write under p_run_id (not captured: no new outbox entry), and given to the row''s later entries that waited for it. What Airtable computed for each record (created and last-modified times, lookups: from the response, fields keyed by field id) is written to the row, so the next pull finds nothing to change. Returns the entries marked.';
--! EndIncluded outbox/mark_outbox_pushed.sql
--! Included outbox/push_remote_marks.sql
/*
 * The three-way push plan reads Airtable only for the records that may have
 * changed there: this says which, and what the sync last saw of them.
 */

create or replace function sync.push_remote_marks(p_outbox_ids bigint[])
returns table (outbox_id bigint, source_key text, mirror_last_modified text, last_modified_field_name text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select o.id, o.source_key,
         -- Airtable's own clock, as the mirror holds it: an ISO timestamp or nothing
         case when s.fields ->> m.last_modified_field_id ~ '^\d{4}-\d\d-\d\dT[0-9:.]+Z$' then s.fields ->> m.last_modified_field_id end,
         (select n.value from jsonb_each_text(m.field_ids) i join jsonb_each_text(m.field_names) n on n.key = i.key
          where i.value = m.last_modified_field_id limit 1)
  from sync.outbox o
  join sync.entity_mappings m on m.entity = o.entity
  left join staging.source_records s on s.source_table = m.source_table and s.source_key = o.source_key
  where o.id = any (p_outbox_ids) and o.status = 'in_flight' and o.operation = 'update' and o.source_key is not null
  order by o.id
$$;
comment on function sync.push_remote_marks(bigint[]) is E'For the claimed updates among p_outbox_ids: the record id, the Last Modified value the staging mirror holds for it (Airtable''s clock; null when the mirror has no version or no such value) and the Last Modified field''s name as of the last pull. The push asks Airtable only for the records modified since (one formula request for hundreds of records) and takes the mirror as the remote side of the rest (sync.plan_push p_remote_from_mirror): the read before pushing costs a request per changed record page, not per 100 records.';
--! EndIncluded outbox/push_remote_marks.sql
--! Included outbox/plan_push.sql
/*
 * The three-way push plan, set-based, with the conflict policies.
 *
 * Base of the three-way comparison: the outbox entry's before_values, the
 * row's canonical values before its first local change since the entry
 * opened. That is the last value the sync wrote or saw for the row (every
 * sync write is uncaptured and lands before a local change). The staging
 * mirror is not used as base: a pull may have staged a newer Airtable
 * version after the local change; with staging as base that concurrent
 * Airtable edit would look unchanged and be overwritten silently.
 */

create or replace function sync.plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb default '{}', p_remote_from_mirror text[] default '{}')
returns table (outbox_id bigint, entity text, row_id uuid, source_key text, action text, fields jsonb, airtable_wins jsonb, conflict_ids bigint[])
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
    outbox_id bigint, entity text, row_id uuid, source_key text, operation text, changed_columns text[], before_values jsonb,
    row_exists boolean, deleted boolean, changed_at timestamptz, canonical jsonb, fields jsonb, unresolved_links text[],
    remote jsonb, remote_modified_at timestamptz, push_deletes boolean
  ) on commit drop;
  for e in select distinct o.entity, t.target_table from sync.outbox o join sync.entities t on t.entity = o.entity
           where o.id = any (p_outbox_ids) and o.status = 'in_flight' loop
    execute format($sql$
      insert into push_plan_rows
      select o.id, o.entity, o.row_id, o.source_key, o.operation, o.changed_columns, o.before_values,
             r.id is not null, r.deleted_at is not null,
             -- when the local change was made (a pull writing other columns
             -- of the row moves its updated_at, not this)
             o.last_changed_at, r.canonical, r.fields, r.unresolved_links,
             coalesce($3 -> o.source_key, mirror.fields),
             coalesce(($4 ->> o.source_key)::timestamptz, sync.cell_timestamp(coalesce($3 -> o.source_key, mirror.fields) -> m.last_modified_field_id)),
             m.push_deletes
      from sync.outbox o
      join sync.entity_mappings m on m.entity = o.entity
      left join (%s) r on r.id = o.row_id
      -- Airtable confirmed the record unchanged since the mirror's version
      left join staging.source_records mirror
        on o.source_key = any ($5) and mirror.source_table = m.source_table and mirror.source_key = o.source_key
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
    select p.outbox_id, p.entity, p.row_id, p.source_key, c.column_name, m.field_ids ->> c.column_name as field_id,
           -- an absent value is JSON null on all three sides; a column the
           -- merge left empty for a problem (sync.field_problems) had, as the
           -- sync last saw it, the source's value the problem keeps
           case when coalesce(p.before_values -> c.column_name, 'null') = 'null'::jsonb
                then coalesce((select fp.source_canonical from sync.field_problems fp
                               where fp.entity = p.entity and fp.source_key = p.source_key and fp.column_name = c.column_name
                                 and fp.landed = 'empty' and fp.resolved_at is null), 'null')
                else p.before_values -> c.column_name end as base_value,
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
    insert into sync.conflicts (entity, row_id, source_key, column_name, base_value, local_value, remote_value,
                                local_modified_at, remote_modified_at, policy, status, resolution, resolved_value,
                                decided_by_rule, decided_by, outbox_id, run_id, resolved_by_run_id, resolved_at)
    select c.entity, c.row_id, c.source_key, c.column_name, c.base_value, c.local_value, c.remote_value,
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
  select p.outbox_id, p.entity, p.row_id, p.source_key, p.operation,
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
    and o.id <> r.outbox_id and o.status in ('pending', 'failed') and o.source_key is null;

  perform sync.mark_outbox_failed(p_run_id, jsonb_agg(jsonb_build_object(
            'id', r.outbox_id,
            'permanent', r.action = 'fail',
            'error', case when r.action = 'fail' then format('record %s is not in Airtable any more (deleted there?)', r.source_key)
                          else 'waiting for a linked row to be created in Airtable first' end)))
  from push_plan_result r where r.action in ('fail', 'defer');
  -- a deferral is not a failure: due again at once, no attempt spent
  update sync.outbox o
  set next_attempt_at = null, attempts = greatest(o.attempts - 1, 0)
  from push_plan_result r
  where r.action = 'defer' and o.id = r.outbox_id and o.status = 'pending';

  return query
  select r.outbox_id, r.entity, r.row_id, r.source_key, r.action, r.fields, r.wins, r.conflict_ids
  from push_plan_result r order by r.outbox_id;
end;
$$;
comment on function sync.plan_push(bigint, bigint[], jsonb, jsonb, text[]) is E'Plans the push of claimed (in_flight) outbox entries, set-based. p_remote: Airtable''s current records read just before pushing, {record id: {field id: cell}}; p_remote_modified: {record id: last-modified time}, else read from the mapping''s Last Modified field; p_remote_from_mirror: record ids Airtable just confirmed unchanged since the staging mirror''s version (their Last Modified is not later, see sync.push_remote_marks), whose remote side is the mirror''s fields. Per changed field of an update: base (before value; for a column the merge left empty for an open field problem, the source value the problem keeps), local (row now) and remote compared in canonical form; changed on one side only, that side wins; both to the same value, nothing; both differently, the column''s policy decides (source_wins, target_wins, newest_wins: remote last-modified against the time of the local change, manual: parked open in sync.conflicts and not sent) and the conflict is logged. Airtable''s winning values are written to the app rows as sync writes (not captured). Returns per entry the action (create, update, delete: send fields; skip: nothing to send, marked skipped; fail: record gone from Airtable, marked failed; defer: a link target is not in Airtable yet, back to pending), the fields to send (Airtable cell shapes by field id), the values Airtable won, and the conflicts logged.';
--! EndIncluded outbox/plan_push.sql
--! Included outbox/resolve_conflict.sql
/*
 * A conflict parked for a person (manual policy) is resolved by hand: take
 * Airtable's value, the local one, or a given one.
 */

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
  join staging.source_records s on s.source_table = m.source_table and s.source_key = k.source_key
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
    insert into sync.outbox as x (entity, row_id, source_key, operation, changed_columns, before_values, changed_by)
    values (k.entity, k.row_id, k.source_key, 'update', array[k.column_name], jsonb_build_object(k.column_name, remote_now),
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
--! EndIncluded outbox/resolve_conflict.sql
--! Included integrity/compare_records.sql
/*
 * Record checksums side by side: one full outer join on the Airtable id over
 * the latest source snapshot (staging, checksums stored at staging time) and
 * the target (app, rebuilt now). Quarantined records are marked, since the
 * target is not expected to hold their source version.
 */

create or replace function sync.compare_records(p_entity text)
returns table (source_key text, in_source boolean, in_target boolean, target_deleted boolean, quarantined boolean,
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
      select s.source_key, s.checksum from staging.source_records s
      where s.source_table = $1 and s.run_id >= $2
    ), target as (%s
    ), quarantine as (
      select distinct e.source_key from sync.record_errors e where e.resolved_at is null and e.source_table = $1
    )
    select coalesce(s.source_key, t.source_key),
           s.source_key is not null, t.source_key is not null and t.deleted_at is null, t.deleted_at is not null,
           q.source_key is not null,
           s.checksum, sync.checksum(t.canonical), t.canonical
    from source s
    full join target t on t.source_key = s.source_key
    left join quarantine q on q.source_key = coalesce(s.source_key, t.source_key)
  $sql$, sync.target_canonical_sql(p_entity)) using mapping.source_table, coalesce(snapshot, 0);
end;
$$;
comment on function sync.compare_records(text) is E'Every record of an entity in the latest source snapshot and/or the target, with both checksums and whether it is quarantined: the one pass verification and differentials are built on.';
--! EndIncluded integrity/compare_records.sql
--! Included integrity/staging_key_splits.sql
/*
 * Key ranges: a verification cuts its key range at staging's key histogram
 * into parts that run side by side in parallel workers.
 */

create or replace function sync.staging_key_splits(p_after_key text, p_upto_key text, p_parts integer) returns text[]
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
    where st.schemaname = 'staging' and st.tablename = 'source_records' and st.attname = 'source_key'
      and (b.key > p_after_key or p_after_key is null) and (b.key < p_upto_key or p_upto_key is null)
  )
  select coalesce(array_agg(i.key order by i.key), '{}')
  from inside i
  where p_parts > 1
    and i.n in (select ceil(k * (i.total + 1)::numeric / least(p_parts, i.total + 1))
                from generate_series(1, least(p_parts, i.total + 1) - 1) k)
$$;
comment on function sync.staging_key_splits(text, text, integer) is E'Keys that cut the key range (p_after_key, p_upto_key] (null bounds are open) into at most p_parts parts of about as many staged records, from the planner''s histogram of staging.source_records.source_key; empty without statistics or inside a narrow range. sync.verify_entity verifies the parts side by side in parallel workers.';
--! EndIncluded integrity/staging_key_splits.sql
--! Included integrity/plan_key_ranges.sql
/*
 * Key ranges: airlift verify and airlift diff work through a table in key
 * ranges (a killed run resumes at the next), planned from the planner's
 * statistics for a large table instead of a pass over a million keys.
 */

create or replace function sync.plan_key_ranges(p_source_table text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint default null)
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
  -- source_table give this table. Null without statistics.
  if p_estimate_from is not null then
    select round(c.reltuples * st.most_common_freqs[array_position(st.most_common_vals::text::text[], p_source_table)])::bigint,
           (select cardinality(k.histogram_bounds::text::text[]) from pg_stats k
            where k.schemaname = 'staging' and k.tablename = 'source_records' and k.attname = 'source_key')
      into estimate, histogram
    from pg_class c
    join pg_stats st on st.schemaname = 'staging' and st.tablename = 'source_records' and st.attname = 'source_table'
    where c.oid = 'staging.source_records'::regclass and c.reltuples > 0;
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
         coalesce(array_agg(k.source_key order by k.source_key) filter (where k.position % p_batch_size = 0), '{}')
  from (select s.source_key, row_number() over (order by s.source_table, s.source_key) as position
        from staging.source_records s
        where s.source_table = p_source_table and s.run_id >= p_snapshot) k;
end;
$$;
comment on function sync.plan_key_ranges(text, bigint, integer, bigint) is E'The key ranges in which airlift verify and airlift diff work through a staged table''s source snapshot (records of run p_snapshot or later): the upper bounds of all ranges but the last (which is open-ended) and the number of keys. Exact (one pass over the keys, every p_batch_size-th key a bound) unless the planner''s statistics estimate at least p_estimate_from records: then about p_batch_size keys per range, cut at the histogram of staged keys without reading any (a pass over a million keys costs about a third of a second), and records_total is that estimate (estimated true), for the work to count each range''s keys itself.';
--! EndIncluded integrity/plan_key_ranges.sql
--! Included integrity/verify_entity.sql
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

create or replace function sync.verify_entity(p_run_id bigint, p_entity text, p_after_key text default null, p_upto_key text default null,
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
                                 'source', 'staging.source_records.checksum',
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
      when p_deep then format('select x.source_key, sync.checksum(x.canonical) as checksum, x.deleted_at is not null as deleted from (%s) x where %s',
                              sync.target_canonical_sql(p_entity), format(part_range, 'x.source_key'))
      else format('select c.source_key, c.checksum, c.deleted from sync.target_checksums c where c.entity = $3 and %s', format(part_range, 'c.source_key'))
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
             array_agg(k.source_key) filter (where not k.alike) as ids,
             array_agg(k.in_source) filter (where not k.alike) as in_source,
             array_agg(k.in_target) filter (where not k.alike) as in_target,
             array_agg(k.target_deleted) filter (where not k.alike) as target_deleted,
             array_agg(k.source_checksum) filter (where not k.alike) as source_checksums,
             array_agg(k.target_checksum) filter (where not k.alike) as target_checksums
      from (
        select coalesce(s.source_key, t.source_key) as source_key,
               s.source_key is not null as in_source, coalesce(not t.deleted, false) as in_target, coalesce(t.deleted, false) as target_deleted,
               s.checksum as source_checksum, s.run_id as source_run, t.checksum as target_checksum,
               coalesce(s.checksum = t.checksum and not t.deleted, false) as alike
        from (select s.source_key, s.checksum, s.run_id from staging.source_records s
              where s.source_table = $1 and s.run_id >= $2 and %s) s
        full join (%s) t on t.source_key = s.source_key
      ) k
      group by k.source_run, k.alike
    $sql$, format(part_range, 's.source_key'), target_side);
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
        as o (source_key, in_source, in_target, target_deleted, source_checksum, target_checksum)
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
           array(select o.source_key from odd o where o.in_source and not o.in_target and not o.target_deleted order by o.source_key) as missing,
           array(select o.source_key from odd o where o.in_source and o.target_deleted order by o.source_key) as deleted_in_target,
           array(select o.source_key from odd o where o.in_target and not o.in_source order by o.source_key) as not_in_source,
           array(select o.source_key from odd o where o.in_source and o.in_target and o.source_checksum is distinct from o.target_checksum
                 order by o.source_key) as conflicted
    from alike a
  $sql$, array_to_string(parts, ' union all '))
  into pass using mapping.source_table, snapshot, p_entity;
  perform set_config('enable_hashjoin', 'on', true);

  -- The quarantine of the range (few records): in the source snapshot but
  -- not expected in the target, so left out of the source's counts and
  -- table checksum and of the discrepancies.
  execute format($sql$
    select count(*) as records, coalesce(sum(sync.checksum_term(s.checksum, 0)), 0) as first, coalesce(sum(sync.checksum_term(s.checksum, 1)), 0) as second,
           -- in the target unless the pass found it missing or deleted there
           count(*) filter (where not (s.source_key = any ($6) or s.source_key = any ($7))) as in_target,
           coalesce(array_agg(s.source_key order by s.source_key), '{}') as ids
    from (select distinct e.source_key from sync.record_errors e where e.resolved_at is null and e.source_table = $1 and %s) q
    join staging.source_records s on s.source_table = $1 and s.source_key = q.source_key and s.run_id >= $2
  $sql$, format(in_range, 'e.source_key'))
  into quarantine using mapping.source_table, snapshot, p_entity, p_after_key, p_upto_key, pass.missing, pass.deleted_in_target;

  -- Records the runner could not stage (a broken envelope, text PostgreSQL
  -- cannot store) and that are still in quarantine: named with their
  -- reason. Staging holds an older version of such a record, or none; when
  -- the source snapshot does not hold it, it is quarantined all the same
  -- (the source has it, unreadable), so it is listed with the quarantine
  -- and is no discrepancy, though the source's counts cannot include it.
  execute format($sql$
    select coalesce(jsonb_agg(jsonb_build_object('record', e.source_key, 'field', e.field, 'value', e.value, 'reason', e.reason)
                              order by e.source_key, e.field, e.reason), '[]') as details,
           coalesce(array_agg(distinct e.source_key) filter (where not e.in_snapshot), '{}') as outside_snapshot
    from (select e.*, exists (select from staging.source_records s
                              where s.source_table = $1 and s.source_key = e.source_key and s.run_id >= $2) as in_snapshot
          from sync.record_errors e
          where e.resolved_at is null and e.source_table = $1 and %s
            and (e.rejected_before_staging
                 or not exists (select from staging.source_records s where s.source_table = $1 and s.source_key = e.source_key))) e
  $sql$, format(in_range, 'e.source_key'))
  into rejected using mapping.source_table, snapshot, p_entity, p_after_key, p_upto_key;

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
      select coalesce(jsonb_agg(jsonb_build_object('record', sc.source_key, 'field', k.key, 'value', tc.canonical -> k.key,
                                                   'source_value', k.value, 'rule', 'target differs from source')
                                order by sc.source_key, k.key), '[]')
      from sync.source_canonical($1, $2) sc
      join (select x.source_key, x.canonical from (%s) x where x.source_key = any ($2) offset 0) tc on tc.source_key = sc.source_key  -- offset 0: each canonical form built once, not once per field
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
      select coalesce(jsonb_agg(jsonb_build_object('record', x.source_key, 'field', null, 'value', c.checksum, 'source_value', sync.checksum(x.canonical),
                                                   'rule', 'the stored target checksum (sync.target_checksums) is stale: the row was written without its trigger')
                                order by x.source_key), '[]')
      from (%s) x
      left join sync.target_checksums c on c.entity = $1 and c.source_key = x.source_key
      where %s and (c.checksum is distinct from sync.checksum(x.canonical) or c.deleted is distinct from (x.deleted_at is not null))
    $sql$, sync.target_canonical_sql(p_entity), format(in_range, 'x.source_key')) into stale using p_entity, null::text, null::text, p_after_key, p_upto_key;
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
comment on function sync.verify_entity(bigint, text, text, text, boolean, boolean) is E'Verifies one entity over one key range (source_key in (p_after_key, p_upto_key]; null bounds are open) for a verify run: completeness (source snapshot against live target rows, quarantine listed, records the runner rejected before staging named with field and reason in rejected_before_staging, table checksum parts in its criteria for a range), data integrity (stored checksums record by record, naming the differing fields with both values; p_deep rebuilds every target canonical form and reports stale stored checksums) and, unless p_relationships is false (airlift verify checks them once per table, over all keys), relationships (sync.verify_relationships). The range is merge-joined in parts side by side (sync.staging_key_splits), unless p_deep. Writes one sync.validation_reports row per check and returns them; sync.summarize_verification folds ranges together (reports over all keys are written folded). Security definer: reads app and staging for the sync role.';
--! EndIncluded integrity/verify_entity.sql
--! Included integrity/validate_entity.sql
/*
 * The validation report of an entity: every finding of every enabled rule
 * over a scope of staged records (the records a run read, or the whole
 * latest source snapshot), plus the quarantine of those records (the merge's
 * own problems and the blocking rules' findings), in two
 * sync.validation_reports rows: data_integrity and relationship_integrity.
 */

create or replace function sync.validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean default false)
returns setof sync.validation_reports
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set work_mem = '128MB'
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  key_column text;
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
  select e.target_table, e.source_key_column into strict target, key_column from sync.entities e where e.entity = p_entity;
  rules_now := (select coalesce(jsonb_agg(jsonb_build_object('rule', r.rule_id, 'kind', r.rule_kind, 'severity', r.severity, 'parameters', r.parameters) order by r.rule_id), '[]')
                from sync.validation_rules r where r.entity = p_entity and r.enabled and mapping.field_ids ? r.column_name);
  -- Idempotent: a resumed run validates its tables again and keeps one report.
  delete from sync.validation_reports vr
  where vr.run_id = p_run_id and vr.source_entity = p_entity and vr.validation_criteria ->> 'check' = 'validation_rules';

  create temp table validate_findings (source_key text not null, validation_type text not null, finding jsonb not null) on commit drop;

  -- Rules about the record alone. A run checks the records it read. Over
  -- the whole snapshot, a record whose current version a run already
  -- checked under the same rules keeps that run's findings (the run that
  -- last read a record is the one its staging row names); only the others
  -- are checked again.
  create temp table validate_check (source_key text primary key) on commit drop;
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
        select s.source_key from staging.source_records s
        where s.source_table = mapping.source_table and s.run_id >= snapshot and s.run_id = any (scope_runs);
      end if;
    else
      -- otherwise one pass counts the scope and finds the records to check
      select count(*), coalesce(array_agg(s.source_key) filter (where s.run_id <> all (reused_runs)), '{}')
        into scope_count, check_ids
      from staging.source_records s
      where s.source_table = mapping.source_table and s.run_id >= snapshot;
      insert into validate_check select unnest(check_ids);
    end if;
    insert into validate_findings
    select d ->> 'record', r.validation_type, d - 'record'
    from validate_reused r
    cross join lateral jsonb_array_elements(r.discrepancy_details) d
    join sync.validation_rules vr on vr.rule_id = d ->> 'rule' and vr.rule_kind not in ('duplicate', 'same_as_linked')
    join staging.source_records s on s.source_table = mapping.source_table and s.source_key = d ->> 'record' and s.run_id = r.run_id
    where d ->> 'severity' = 'warning';
  else
    -- the records the run read, counted as they are collected
    insert into validate_check select s.source_key from staging.source_records s where s.source_table = mapping.source_table and s.run_id = p_run_id;
    get diagnostics scope_count = row_count;
  end if;
  analyze validate_check;
  select count(*) into checked_count from validate_check;

  -- Warning rules about the record alone, in one pass over the records to
  -- check (blocking ones are in the quarantine, below, as the merge found them).
  if checks is not null and checked_count > 0 then
    execute format($sql$
      insert into validate_findings
      select c0.source_key, r.validation_type, f
      from (select s.source_key, %s
            from staging.source_records s join validate_check v on v.source_key = s.source_key
            where s.source_table = $1
            offset 0) c0
      cross join lateral jsonb_array_elements(jsonb_path_query_array(jsonb_build_array(%s), '$[*] ? (@ != null)')) f
      join sync.validation_rules r on r.rule_id = f ->> 'rule'
    $sql$, sync.converted_cells_sql(p_entity), checks) using mapping.source_table;
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
      from (select array_agg(v.source_key) as members
            from (select s.source_key,
                         lower(regexp_replace(btrim(sync.cell_text(s.fields -> $3)), '\s+', ' ', 'g')) as normalized,
                         case when $4::text is not null and jsonb_typeof(s.fields -> $4) = 'array' then s.fields -> $4 ->> 0 end as scope_key
                  from staging.source_records s
                  where s.source_table = $1 and s.run_id >= $2) v
            group by v.normalized, v.scope_key
            -- an empty value repeats no name: tested on the group, since a
            -- test of each row would normalize every value twice
            having count(*) filter (where v.normalized <> '') > 1) g
    $sql$ into duplicate_groups using mapping.source_table, snapshot, rule.field_id, rule.scope_field_id;
    perform set_config('parallel_setup_cost', parallel_setup_cost_before, true);
    perform set_config('parallel_tuple_cost', parallel_tuple_cost_before, true);
    -- each member of the scope names the others
    insert into validate_findings
    select s.source_key, rule.validation_type,
           jsonb_build_object('field', rule.field_name, 'value', s.fields -> rule.field_id,
                              'reason', format('%s %s (rule %s)', rule.field_name, rule.description, rule.rule_id),
                              'rule', rule.rule_id, 'severity', rule.severity,
                              'duplicates', g.members - s.source_key)
    from jsonb_array_elements(duplicate_groups) g (members)
    cross join lateral jsonb_array_elements_text(g.members) m (source_key)
    join staging.source_records s on s.source_table = mapping.source_table and s.source_key = m.source_key
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
           linked.source_table as linked_source_table, linked.field_ids ->> (r.parameters ->> 'linked_column') as linked_field_id,
           linked.entity as linked_entity, linked_target.target_table as linked_table, linked_target.source_key_column as linked_key_column, ec.conversion
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
    create temp table validate_link_scope (source_key text primary key, in_source boolean not null default true) on commit drop;
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
        select fp.source_key, true from sync.field_problems fp
        where fp.entity = p_entity and fp.resolved_at is null and fp.landed = 'empty'
          and fp.column_name in (rule.column_name, rule.parameters ->> 'link')
      ) x
      group by x.id;
      execute format($sql$
        insert into validate_link_scope
        select t.%4$I from %1$s t join %2$s p on p.id = t.%3$I
        where t.%4$I is not null and p.%5$I in (
          select d ->> 'record' from sync.validation_reports vr cross join lateral jsonb_array_elements(vr.discrepancy_details) d
          where vr.run_id = $1 and vr.source_entity = $2 and vr.validation_type in ('completeness_check', 'data_integrity')
            and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules'
          union all
          select fp.source_key from sync.field_problems fp
          where fp.entity = $2 and fp.resolved_at is null and fp.landed = 'empty' and fp.column_name = $3)
        on conflict do nothing
      $sql$, target, rule.linked_table, rule.parameters ->> 'link', key_column, rule.linked_key_column) using p_run_id, rule.linked_entity, rule.parameters ->> 'linked_column';
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
        and not exists (select from validate_link_scope l where l.source_key = d ->> 'record');
    else
      execute format('insert into validate_link_scope select s.source_key from staging.source_records s where s.source_table = $1 and %s', in_scope)
        using mapping.source_table, snapshot, p_run_id;
    end if;
    insert into validate_findings
    select s.source_key, rule.validation_type,
           jsonb_build_object('field', rule.field_name, 'value', s.fields -> rule.field_id,
                              'reason', format('%s %s (rule %s)', rule.field_name, rule.description, rule.rule_id),
                              'rule', rule.rule_id, 'severity', rule.severity,
                              'linked_record', sync.cell_first_link(s.fields -> rule.link_field_id),
                              'linked_value', l.fields -> rule.linked_field_id)
    from staging.source_records s
    join validate_link_scope v on v.source_key = s.source_key and v.in_source
    join staging.source_records l on l.source_table = rule.linked_source_table and l.source_key = sync.cell_first_link(s.fields -> rule.link_field_id)
    where s.source_table = mapping.source_table and (s.run_id >= snapshot or not p_whole_snapshot)
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
    select fp.source_key, case when fp.rule in ('dangling_link', 'extra_links') then 'relationship_integrity' else 'data_integrity' end,
           jsonb_build_object('field', fp.field, 'value', fp.value, 'reason', fp.reason, 'rule', fp.rule, 'severity', 'warning', 'landed', fp.landed)
    from sync.field_problems fp
    join staging.source_records s on s.source_table = $1 and s.source_key = fp.source_key
    where fp.entity = $4 and fp.origin = 'merge' and fp.resolved_at is null and %s
  $sql$, in_scope) using mapping.source_table, snapshot, p_run_id, p_entity;

  -- The quarantine of the scope: blocking rules and the merge's own checks
  -- (unconvertible or missing values, ranges, dangling links), as recorded;
  -- and the records the runner could not stage at all (a broken envelope,
  -- text PostgreSQL cannot store), which staging holds in an older version
  -- or not at all: every open one over the whole snapshot (the source has
  -- them, unreadable), those this run rejected for a run's report.
  execute format($sql$
    insert into validate_findings
    select e.source_key,
           case when e.reason ~ '\(rule [a-z_.]+\)$' then coalesce(r.validation_type, 'data_integrity')
                when e.reason like '%% links to %%' then 'relationship_integrity' else 'data_integrity' end,
           jsonb_build_object('field', e.field, 'value', e.value, 'reason', e.reason,
                              'rule', coalesce(substring(e.reason from '\(rule ([a-z_.]+)\)$'), case when e.rejected_before_staging then 'staging' else 'merge' end),
                              'severity', 'blocking', 'quarantined', true)
             || case when e.rejected_before_staging then jsonb_build_object('rejected_before_staging', true) else '{}' end
    from sync.record_errors e
    left join staging.source_records s on s.source_table = e.source_table and s.source_key = e.source_key
    left join sync.validation_rules r on r.rule_id = substring(e.reason from '\(rule ([a-z_.]+)\)$')
    where e.resolved_at is null and e.source_table = $1
      and (%s or e.rejected_before_staging and %s)
  $sql$, in_scope, case when p_whole_snapshot then 'true' else 'e.run_id = $3' end) using mapping.source_table, snapshot, p_run_id;

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
    select v.source_key,
           coalesce(jsonb_agg(jsonb_build_object('field', f.finding ->> 'field', 'column', r.column_name, 'rule', r.rule_id,
                                                 'value', f.finding -> 'value', 'landed', 'kept', 'reason', f.finding ->> 'reason'))
                    filter (where r.rule_id is not null), '[]') as problems
    from validate_check v
    left join validate_findings f on f.source_key = v.source_key and f.finding ->> 'severity' = 'warning'
    left join sync.validation_rules r on r.rule_id = f.finding ->> 'rule' and r.rule_kind not in ('duplicate', 'same_as_linked', 'single_link')
    where f.source_key is not null
       or exists (select from sync.field_problems fp
                  where fp.entity = p_entity and fp.source_key = v.source_key and fp.origin = 'rule' and fp.resolved_at is null)
    group by v.source_key;
    perform sync.refresh_problem_rows(p_run_id, p_entity, sync.record_problems(p_run_id, p_entity, 'rule'));
    drop table problems_seen;
  end if;

  criteria := jsonb_build_object(
    'check', 'validation_rules', 'entity', p_entity,
    'scope', case when p_whole_snapshot then 'source snapshot' else 'records read by the run' end,
    'source_snapshot_run', nullif(snapshot, 0),
    'records_checked_again', case when p_whole_snapshot then checked_count end,
    'rejected_before_staging', (select count(distinct f.source_key) from validate_findings f where f.finding ? 'rejected_before_staging'),
    'rules', rules_now);

  insert into sync.validation_reports (run_id, validation_type, source_entity, target_entity, records_validated, validation_passed,
                                       discrepancies_found, discrepancy_details, validation_criteria, execution_time_ms)
  select p_run_id, t.validation_type, p_entity, target::text, scope_count,
         count(f.*) = 0, count(f.*),
         coalesce(jsonb_agg(jsonb_build_object('record', f.source_key) || f.finding order by f.source_key, f.finding ->> 'rule', f.finding ->> 'field')
                  filter (where f.source_key is not null), '[]'),
         criteria || jsonb_build_object(
           'blocking', count(f.*) filter (where f.finding ->> 'severity' = 'blocking'),
           'warnings', count(f.*) filter (where f.finding ->> 'severity' = 'warning'),
           'records_with_findings', count(distinct f.source_key)),
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
--! EndIncluded integrity/validate_entity.sql
--! Included integrity/target_checksums.sql
/*
 * Differentials compare stored checksums. The target side is
 * sync.target_checksums: the checksum of every app row's canonical form,
 * rebuilt from the row by a statement-level trigger whenever anything
 * writes it (the sync, a user, a rollback), so a million records take one
 * join, not a million canonical forms; `airlift verify --deep` rebuilds
 * every canonical form to prove the stored ones right.
 *
 * create or replace keeps the triggers that use the trigger function.
 */

create or replace function sync.tg__maintain_target_checksums() returns trigger
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_entity text := tg_argv[0];
  key_column text := (select e.source_key_column from sync.entities e where e.entity = tg_argv[0]);
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
      execute format($sql$
        select array(select n.id from new_rows n
                     left join sync.target_checksums c on c.entity = $1 and c.row_id = n.id
                     where n.%1$I is not null and (c.row_id is null or c.source_key is distinct from n.%1$I))
      $sql$, key_column) using v_entity into rekeyed;
    end if;
    -- a row whose source key changed leaves its old key
    execute format($sql$
      delete from sync.target_checksums c using new_rows n
      where c.entity = $1 and c.row_id = n.id and c.source_key is distinct from n.%1$I
    $sql$, key_column) using v_entity;
  end if;
  execute format($sql$
    insert into sync.target_checksums as c (entity, source_key, row_id, checksum, deleted)
    select $1, t.source_key, t.id, sync.checksum(t.canonical), t.deleted_at is not null
    from (%s) t
    on conflict (entity, source_key) do update
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
        insert into sync.target_checksums as c (entity, source_key, row_id, checksum, deleted)
        select $1, t.source_key, t.id, sync.checksum(t.canonical), t.deleted_at is not null
        from (%s) t
        where t.id in (select x.id from %s x where x.%I = any ($2))
        on conflict (entity, source_key) do update
          set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
          where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
      $sql$, sync.target_canonical_sql(child.entity), child.target_table, child.column_name) using child.entity, rekeyed;
    end loop;
  end if;
  return null;
end;
$$;
comment on function sync.tg__maintain_target_checksums() is E'Statement-level AFTER trigger on the synced app tables (argument: the entity): rebuilds the canonical checksum of every inserted or updated row from the row itself (sync.target_canonical_sql over the transition table) into sync.target_checksums (and those of the rows linking to a row whose Airtable id changed), and forgets deleted or truncated rows. Set-based, whoever writes. Security definer: app writers cannot write sync tables themselves.';

create or replace function sync.refresh_target_checksums(p_entity text) returns bigint
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
      select t.source_key, t.id, sync.checksum(t.canonical) as checksum, t.deleted_at is not null as deleted from (%s) t
    ), upserted as (
      insert into sync.target_checksums as c (entity, source_key, row_id, checksum, deleted)
      select $1, r.source_key, r.id, r.checksum, r.deleted from rebuilt r
      on conflict (entity, source_key) do update
        set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
        where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
      returning 1
    ), removed as (
      delete from sync.target_checksums c
      where c.entity = $1 and not exists (select from rebuilt r where r.source_key = c.source_key)
      returning 1
    )
    select (select count(*) from upserted) + (select count(*) from removed)
  $sql$, sync.target_canonical_sql(p_entity)) using p_entity into changed;
  return changed;
end;
$$;
comment on function sync.refresh_target_checksums(text) is E'Rebuilds an entity''s sync.target_checksums from its app rows; returns how many entries it had to add, correct or remove (0 when the trigger kept them right). Used when the table is first set up and by `airlift verify --deep`.';
--! EndIncluded integrity/target_checksums.sql
--! Included integrity/compute_differentials.sql
/*
 * A differential over one key range of an entity (all keys when both bounds
 * are null): one full outer join of the source snapshot's stored checksums
 * with the target's, quarantine left out. missing_records: in the source,
 * not live in the target (the anti-join on the target's id map); deleted_records:
 * live in the target, gone from the source (the reverse anti-join);
 * conflicted_records: in both, checksums differ.
 */

create or replace function sync.compute_differentials(p_run_id bigint, p_entity text, p_after_key text default null, p_upto_key text default null)
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
  select coalesce(s.source_key, t.source_key) as source_key,
         case when t.source_key is null or t.deleted then 'missing_records'
              when s.source_key is null then 'deleted_records'
              else 'conflicted_records' end as comparison_type
  from (select s.source_key, s.checksum from staging.source_records s
        where s.source_table = mapping.source_table and s.run_id >= snapshot
          and (p_after_key is null or s.source_key > p_after_key) and (p_upto_key is null or s.source_key <= p_upto_key)) s
  full join (select c.source_key, c.checksum, c.deleted from sync.target_checksums c
             where c.entity = p_entity
               and (p_after_key is null or c.source_key > p_after_key) and (p_upto_key is null or c.source_key <= p_upto_key)) t
    on t.source_key = s.source_key
  where (s.source_key is null and not t.deleted)
     or (s.source_key is not null and (t.source_key is null or t.deleted or s.checksum is distinct from t.checksum)
         and not exists (select from sync.record_errors e
                         where e.resolved_at is null and e.source_table = mapping.source_table and e.source_key = s.source_key));

  perform set_config('enable_hashjoin', 'on', true);

  -- The fields in which each conflicted record differs, both values.
  conflicted := array(select d.source_key from differential_records d where d.comparison_type = 'conflicted_records');
  if cardinality(conflicted) > 0 then
    execute format($sql$
      select jsonb_object_agg(sc.source_key, diff.fields)
      from sync.source_canonical($1, $2) sc
      join (select x.source_key, x.canonical from (%s) x where x.source_key = any ($2) offset 0) tc on tc.source_key = sc.source_key  -- offset 0: each canonical form built once, not once per field
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
  select p_run_id, mapping.source_table, target::text, d.comparison_type,
         jsonb_agg(d.source_key order by d.source_key), count(*),
         jsonb_build_object('entity', p_entity, 'key', 'source_key', 'after_key', p_after_key, 'upto_key', p_upto_key,
                            'source_snapshot_run', nullif(snapshot, 0), 'source', 'staging.source_records.checksum',
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
comment on function sync.compute_differentials(bigint, text, text, text) is E'Compares the latest source snapshot of an entity with the target over one key range (source_key in (p_after_key, p_upto_key]; null bounds are open), set-based in one join of stored checksums, quarantined records left out, and stores one sync.data_differentials row per comparison type found (missing_records, conflicted_records with the differing fields, deleted_records) under run p_run_id. Returns the rows stored. Security definer: reads app and staging for the sync role.';
--! EndIncluded integrity/compute_differentials.sql
--! Included integrity/resolve_differentials.sql
/*
 * Resolution: applies a strategy to every unresolved differential of an
 * entity computed by run p_run_id, audited under that run.
 */

create or replace function sync.resolve_differentials(p_run_id bigint, p_entity text, p_strategy text default 'source_wins')
returns table (comparison_type text, records bigint, action text)
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  target regclass;
  key_column text;
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
  select e.target_table, e.source_key_column into strict target, key_column from sync.entities e where e.entity = p_entity;
  -- A differential is resolved against the snapshot it was computed from:
  -- once a newer snapshot exists, the source may have moved on.
  if sync.source_snapshot_run(p_entity) > p_run_id then
    raise exception 'the differentials of run % for % are older than the latest source snapshot (run %)', p_run_id, p_entity, sync.source_snapshot_run(p_entity)
      using errcode = 'object_not_in_prerequisite_state', hint = 'Compute a new differential (airlift diff) and resolve that.';
  end if;
  perform set_config('airlift.run_id', p_run_id::text, true);

  perform from sync.data_differentials d where d.run_id = p_run_id and d.source_table = mapping.source_table and not d.resolved for update;
  create temp table resolving on commit drop as
  select d.id, d.comparison_type, d.legacy_ids from sync.data_differentials d
  where d.run_id = p_run_id and d.source_table = mapping.source_table and not d.resolved;

  if p_strategy = 'source_wins' then
    -- Missing and conflicted records: the source's version merged again,
    -- through the ordinary merge (staged under this run as one page).
    remerge := array(select jsonb_array_elements_text(r.legacy_ids) from resolving r
                     where r.comparison_type in ('missing_records', 'conflicted_records'));
    gone := array(select jsonb_array_elements_text(r.legacy_ids) from resolving r where r.comparison_type = 'deleted_records');
    -- The source wins over changes made here as well: their open outbox
    -- entries are closed (superseded, naming this resolution) and their
    -- parked conflicts decided for Airtable, so the merge below holds no
    -- column back and nothing is pushed over the source afterwards.
    execute format($sql$
      with rows as (select t.id from %1$s t where t.%2$I = any ($2)),
      closed as (
        update sync.outbox o set status = 'superseded', last_error = $3
        from rows r where o.entity = $1 and o.row_id = r.id and o.status in ('pending', 'failed')
        returning o.id
      )
      update sync.conflicts k
      set status = 'resolved', resolution = 'airtable', resolved_value = k.remote_value, decided_by_rule = 'source_wins',
          decided_by = coalesce(audit.current_actor(), audit.acting_role()), resolved_by_run_id = $4, resolved_at = now()
      from rows r where k.entity = $1 and k.row_id = r.id and k.status = 'open'
    $sql$, target, key_column) using p_entity, remerge || gone, format('overwritten by the source: differential resolution of run %s (source_wins)', p_run_id), p_run_id;
    if cardinality(remerge) > 0 then
      page_number := nextval('staging.page_seq');
      update staging.source_records s set run_id = p_run_id, page_seq = page_number
      where s.source_table = mapping.source_table and s.source_key = any (remerge);
      insert into sync.checkpoints (run_id, operation_type, entity_type, status, started_at, records_processed, metadata)
      values (p_run_id, 'sync_operation', p_entity, 'in_progress', now(), cardinality(remerge),
              jsonb_build_object('phase', 'listed', 'last_page_seq', page_number, 'resolution', p_strategy))
      on conflict (run_id, operation_type, entity_type) do update
        set records_processed = sync.checkpoints.records_processed + excluded.records_processed,
            metadata = sync.checkpoints.metadata || jsonb_build_object('last_page_seq', page_number);
      perform sync.merge_entity(p_run_id, p_entity, false);
    end if;
    -- Deleted records: gone from the source, soft-deleted in the target.
    if cardinality(gone) > 0 then
      execute format('update %s t set deleted_at = now() where t.%I = any ($1) and t.deleted_at is null', target, key_column) using gone;
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
comment on function sync.resolve_differentials(bigint, text, text) is E'Applies a resolution strategy to the unresolved differentials of an entity found by run p_run_id, audited under that run: source_wins merges missing and conflicted records again from staging through sync.merge_entity and soft-deletes records gone from the source, closing the rows'' unpushed outbox entries (superseded) and open conflicts (decided for Airtable) first; target_wins and skip change nothing; manual_review leaves them unresolved for a person. Marks each differential with the strategy and what was done. Security definer: only the sync role may call it, and it writes app tables.';
--! EndIncluded integrity/resolve_differentials.sql
--! Included integrity/snapshot_source_tables.sql
/*
 * The safety snapshot, in the database. Why in the database: the embedded
 * PostgreSQL 17 that airlift starts by default ships no pg_dump, and the
 * operating system's pg_dump (15 on Debian) refuses to dump a newer server.
 * So a snapshot is a private schema airlift_snapshot_<id> holding a copy
 * (create table ... as select) of every app table, the id map and staging,
 * with row counts and order-independent checksums recorded in sync.snapshots
 * (a table, made by migration 000004: not re-created here).
 *
 * What a snapshot copies.
 */

create or replace function sync.snapshot_source_tables() returns table (source_table regclass, copy_name text)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select c.oid::regclass, n.nspname || '__' || c.relname
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where (n.nspname = 'app' and c.relkind in ('r', 'p') and not c.relispartition)
     or c.oid in (select e.target_table from sync.entities e)
     or c.oid in ('sync.id_map'::regclass, 'staging.source_records'::regclass)
  order by n.nspname, c.relname
$$;
comment on function sync.snapshot_source_tables() is E'What a snapshot copies: every table of schema app and every entity''s target table (a files source''s schema), sync.id_map and staging.source_records, each with the name of its copy (<schema>__<table>).';
--! EndIncluded integrity/snapshot_source_tables.sql
--! Included integrity/lock_out_pulls.sql
/*
 * Snapshots and pulls exclude each other: taking or restoring one takes
 * the pull's per-base advisory lock (src/sync/pull.ts) for its
 * transaction and refuses while a pull holds it.
 */

create or replace function sync.lock_out_pulls(p_doing text) returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  busy_bases text;
begin
  -- The key is the one runPull holds for the whole pull (src/sync/pull.ts:
  -- 'airlift:pull:' || base id). Taken here until the end of the
  -- transaction, so that no pull starts meanwhile either.
  select string_agg(b.source_id, ', ' order by b.source_id) into busy_bases
  from (select m.source_id from sync.entity_mappings m
        union
        select r.metadata ->> 'base_id' from sync.runs r where r.status in ('pending', 'running')) b
  where b.source_id is not null
    and not pg_try_advisory_xact_lock(hashtextextended('airlift:pull:' || b.source_id, 0));
  if busy_bases is not null then
    raise exception 'cannot % while a pull of base % is running', p_doing, busy_bases
      using errcode = 'lock_not_available', hint = 'Try again when the pull has ended.';
  end if;
end;
$$;
comment on function sync.lock_out_pulls(text) is E'Takes, until the end of the transaction, the advisory lock a pull of each known base holds, so that no pull runs during a snapshot or a restore; refuses (55P03, naming the bases) while a pull holds one.';
--! EndIncluded integrity/lock_out_pulls.sql
--! Included integrity/take_snapshot.sql
/*
 * Taking a snapshot: writers wait (share lock) while every table is copied,
 * so that the copies are consistent with each other.
 */

create or replace function sync.take_snapshot(p_label text, p_actor text, p_run_id bigint default null) returns sync.snapshots
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
comment on function sync.take_snapshot(text, text, bigint) is E'Takes a safety snapshot: creates schema airlift_snapshot_<id>, readable by its owner only, and copies into it (create table ... as select, one statement per table, writers held off meanwhile) every app table, sync.id_map and staging.source_records, recording row counts and checksums. p_run_id names the run whose start it protects, if any. Refuses (55P03) while a pull is running. Security definer: the sync role may take snapshots but not create schemas.';
--! EndIncluded integrity/take_snapshot.sql
--! Included integrity/restore_snapshot.sql
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

create or replace function sync.restore_snapshot(p_snapshot_id bigint, p_run_id bigint)
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
comment on function sync.restore_snapshot(bigint, bigint) is E'Brings every table a snapshot copied (app tables, sync.id_map, staging.source_records) back to the copy, set-based, one statement per table and pass: deletes rows the snapshot does not have (children first), updates rows that differ and inserts missing ones (parents first), in foreign-key order derived from pg_constraint; generated columns are left to the database. Audited under run p_run_id (a running rollback run); updated_at comes from the snapshot. Checks the result against the snapshot''s checksums and fails (XX001) if it differs. Marks the data runs since the snapshot rolled back (or cancelled when unfinished) and the snapshot restored. Refuses an unknown (P0002) or dropped (55000) snapshot, and runs while no pull does (55P03). Returns rows removed, inserted and restored per table. Security definer: the sync role may restore but not write app tables directly.';
--! EndIncluded integrity/restore_snapshot.sql
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
