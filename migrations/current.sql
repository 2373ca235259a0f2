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

--!include canonical/target_canonical_sql.sql
--!include canonical/source_canonical.sql
--!include staging/stage_page.sql
--!include staging/rejects.sql
--!include staging/stage_copied.sql
--!include merge/merge_entity.sql
--!include merge/sweep_deleted.sql
--!include merge/record_problems.sql
--!include merge/refresh_problem_rows.sql
--!include merge/resolve_dangling_links.sql
--!include merge/open_data_problems.sql
--!include outbox/push_rows_sql.sql
--!include outbox/airtable_fields.sql
--!include outbox/capture_changes.sql
--!include outbox/claim_outbox.sql
--!include outbox/mark_outbox_pushed.sql
--!include outbox/push_remote_marks.sql
--!include outbox/plan_push.sql
--!include outbox/resolve_conflict.sql
--!include integrity/compare_records.sql
--!include integrity/staging_key_splits.sql
--!include integrity/plan_key_ranges.sql
--!include integrity/verify_entity.sql
--!include integrity/validate_entity.sql
--!include integrity/target_checksums.sql
--!include integrity/compute_differentials.sql
--!include integrity/resolve_differentials.sql
--!include integrity/snapshot_source_tables.sql
--!include integrity/lock_out_pulls.sql
--!include integrity/take_snapshot.sql
--!include integrity/restore_snapshot.sql
--!include grants/_all.sql
