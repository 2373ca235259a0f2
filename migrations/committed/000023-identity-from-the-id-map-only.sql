--! Previous: sha1:8e0c10002fe1c1121d4378f39d1aa8769cdffd47
--! Hash: sha1:f32567d446965bcfc5007ce08ec62c02f9529cb5
--! Message: Identity from the id map only

/*
 * Identity from the id map only. The pipeline read each record's key from
 * a column of its target table (sync.entities.source_key_column: Delta's
 * airtable_id, the example's wallet_address): the merge upserted on it,
 * links resolved through it, and target checksums, verification,
 * differentials, sweeps and the push read it. A legacy application's
 * UUID-keyed target has no such column. Now sync.id_map (source key to
 * uuid, per entity) is where every stage reads identity:
 *
 * - the merge takes a record's row id from the id map (a new record gets a
 *   new uuid, entered in the map before its row is written) and upserts on
 *   id; links resolve through the linked entity's id map;
 * - target checksums, the canonical form, verification, differentials,
 *   the sweep, dangling links, problem rows and the push read the key
 *   through the id map;
 * - the push enters a record it creates in the id map first and rebuilds
 *   the target checksums under its new key (sync.rebuild_target_checksums).
 *
 * A target table may still keep the source's key in a column of its own
 * (source_key_column, now optional): the merge and the push write it.
 * Rows that hold a key in that column but have no id map entry (none should:
 * the merge and the push have always written both) are entered here, so
 * that nothing already migrated loses its identity.
 */

alter table sync.entities alter column source_key_column drop not null;
alter table sync.entities alter column source_key_column drop default;
comment on column sync.entities.source_key_column is E'The column of the target table that also keeps each row''s key in its source, where users want one (airtable_id for Delta''s app tables, a wallet address for the example''s); null when the target keeps none (a legacy application''s UUID-keyed tables). The merge and the push write it; identity is read from sync.id_map only.';

-- Rows can be entered before their entity has a mapping (a row loaded
-- directly with its key, before the first pull): the source table is then
-- not known yet, and is filled in when the mapping is loaded.
alter table sync.id_map alter column source_table drop not null;
comment on column sync.id_map.source_table is 'Source table (Airtable table id, file or legacy table name: the mapping''s source_table); null for a row entered before its entity had a mapping, filled in when the mapping is loaded.';

--! Included merge/adopt_source_keys.sql
/*
 * Identity is read from sync.id_map only. Rows that carry a source key in
 * their table's source-key column but have no id map entry (loaded into the
 * target directly, by a DBA or another tool, or migrated before the id map
 * was the only identity) are unknown to the pipeline: the merge would take
 * their record for a new one. This enters them, set-based, one statement
 * per entity.
 */

create or replace function sync.adopt_source_keys(p_entity text default null)
returns table (entity text, adopted bigint)
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  e record;
begin
  if p_entity is not null and not exists (select from sync.entities x where x.entity = p_entity) then
    raise exception 'unknown entity %', p_entity using errcode = 'P0002';
  end if;
  for e in
    select x.entity, x.target_table, x.source_key_column, m.source_table
    from sync.entities x left join sync.entity_mappings m on m.entity = x.entity
    where x.source_key_column is not null and (p_entity is null or x.entity = p_entity)
    order by x.entity
  loop
    entity := e.entity;
    -- A key another row already holds in the map, or a row already mapped
    -- under another key, is left alone: the map is not rewritten here.
    execute format($sql$
      with adopted as (
        insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table)
        select $1, t.%I, t.id, $2, $3 from %s t
        where t.%1$I is not null
          and not exists (select from sync.id_map k where k.entity_type = $1 and k.uuid_id = t.id)
        on conflict do nothing
        returning 1
      )
      select count(*) from adopted
    $sql$, e.source_key_column, e.target_table) into adopted using e.entity, e.source_table, e.target_table::text;
    return next;
  end loop;
end;
$$;

comment on function sync.adopt_source_keys(text) is 'Enters in sync.id_map the rows of an entity''s target table (every entity''s when p_entity is null) that hold a key in the source-key column but have no id map entry, so that the pipeline, which reads identity from the id map only, knows them. Keys or rows already in the map are left as they are. Returns the rows entered per entity; refuses an unknown entity (P0002).';

/*
 * Rows written before their entity had a mapping (nothing pulled yet) were
 * entered by the target-checksum trigger without a source table; rows
 * written before this function existed were not entered at all. When the
 * mapping arrives, both are put right.
 */
create or replace function sync.tg__adopt_source_keys_on_mapping() returns trigger
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  -- entries made before the mapping did not know their source table
  update sync.id_map k set source_table = new.source_table, updated_at = now()
  where k.entity_type = new.entity and k.source_table is null;
  perform sync.adopt_source_keys(new.entity);
  return null;
end;
$$;
comment on function sync.tg__adopt_source_keys_on_mapping() is 'Row-level AFTER INSERT trigger on sync.entity_mappings: when an entity gets its mapping, its id map entries made before (source table unknown) get the mapping''s source table, and the target rows that hold a key in the source-key column with no entry are entered (sync.adopt_source_keys).';

drop trigger if exists adopt_source_keys_on_mapping on sync.entity_mappings;
create trigger adopt_source_keys_on_mapping
  after insert on sync.entity_mappings
  for each row execute function sync.tg__adopt_source_keys_on_mapping();
comment on trigger adopt_source_keys_on_mapping on sync.entity_mappings is 'Enters in the id map the rows an entity''s table held before its mapping was loaded.';
--! EndIncluded merge/adopt_source_keys.sql
select * from sync.adopt_source_keys();

-- Result columns change (linked_entity instead of linked_key_column):
-- dropped first, created again by their files.
drop function if exists sync.push_columns(text);
drop function if exists sync.mapped_columns(text);
--! Included canonical/mapped_columns.sql
/*
 * The columns of an entity that its mapping fills: what both sides of the
 * canonical form are built from.
 */

create or replace function sync.mapped_columns(p_entity text)
returns table (column_name text, field_id text, conversion text, linked_table regclass, linked_entity text)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select ec.column_name, m.field_ids ->> ec.column_name, ec.conversion, linked.target_table, linked.entity
  from sync.entity_mappings m
  join sync.entity_columns ec on ec.entity = m.entity and m.field_ids ? ec.column_name
  left join sync.entities linked on linked.entity = ec.linked_entity
  where m.entity = p_entity
$$;
comment on function sync.mapped_columns(text) is E'The columns of an entity that its mapping fills, with their source field id, conversion and, for links, the linked table and entity (whose sync.id_map entries give the linked records'' source keys): what a canonical form is made of.';
--! EndIncluded canonical/mapped_columns.sql
--! Included canonical/target_canonical_sql.sql
/*
 * The canonical form of app rows, rebuilt set-based from the rows (the
 * target side of every comparison: verification, differentials, the push
 * plan).
 *
 * The canonical form of a record is a JSON object with one key per mapped
 * column, each value normalized the way the merge converts it (dates as
 * ISO dates, timestamps in UTC without zone, money rounded to cents, links
 * as the linked record's source key, collaborators as the Airtable user id).
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
             when 'link' then format('to_jsonb(%I.legacy_id)', 'ref__' || mc.column_name)
             when 'collaborator' then format('to_jsonb(%I.airtable_user_id)', 'ref__' || mc.column_name)
             else format('to_jsonb(t.%I)', mc.column_name)
           end), ', ' order by mc.column_name),
         string_agg(case mc.conversion
             -- a link names the linked record by its source key: the linked entity's id map entry
             when 'link' then format(' left join sync.id_map %I on %1$I.entity_type = %2$L and %1$I.uuid_id = t.%3$I', 'ref__' || mc.column_name, mc.linked_entity, mc.column_name)
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
  -- The record's source key is read from the id map (sync.id_map), the
  -- one place identity lives (a row created here and not yet in the
  -- source has no entry, and no canonical form to compare), and named
  -- source_key in the statement's output, the name every caller reads.
  return format('select t.id, k.legacy_id as source_key, t.deleted_at, b.base || coalesce(case when t.open_problem_count > 0 then '
                || '(select jsonb_object_agg(fp.column_name, fp.source_canonical) from sync.field_problems fp '
                || 'where fp.entity = %1$L and fp.source_key = k.legacy_id and fp.resolved_at is null and fp.landed = ''empty'' '
                || 'and fp.column_name is not null and b.base -> fp.column_name = ''null''::jsonb) end, ''{}'') as canonical '
                || 'from %2$s t join sync.id_map k on k.entity_type = %1$L and k.uuid_id = t.id%3$s cross join lateral (select jsonb_build_object(%4$s) as base) b',
                p_entity, coalesce(p_rows, target::text), coalesce(joins, ''), pairs);
end;
$$;
comment on function sync.target_canonical_sql(text, text) is E'The statement that rebuilds, set-based, the canonical form of every row of an entity''s table that has a source key (id, source_key: the record''s key in the source, from sync.id_map, deleted_at, canonical): the target side of verification and differentials. A column an open field problem left empty counts as the source value the problem keeps, so a record that landed with problems compares equal to its source. p_rows names another relation of the table''s row type to read instead (a trigger''s transition table).';
--! EndIncluded canonical/target_canonical_sql.sql
--! Included outbox/push_columns.sql
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
returns table (column_name text, field_id text, conversion text, linked_table regclass, linked_entity text)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select mc.column_name, mc.field_id, mc.conversion, mc.linked_table, mc.linked_entity
  from sync.mapped_columns(p_entity) mc
  join sync.entity_columns ec on ec.entity = p_entity and ec.column_name = mc.column_name
  where ec.pushable
  union all
  -- no mapping loaded at all yet: the catalogue's pushable columns, no field ids
  select ec.column_name, null, ec.conversion, linked.target_table, linked.entity
  from sync.entity_columns ec
  left join sync.entities linked on linked.entity = ec.linked_entity
  where ec.entity = p_entity and ec.pushable and not exists (select from sync.entity_mappings)
$$;
comment on function sync.push_columns(text) is E'The columns of an entity that go back to Airtable (sync.entity_columns.pushable): what is captured in sync.outbox and pushed. With a mapping loaded, the pushable columns it maps, with their field ids (an entity the mapping leaves out has none); while no mapping is loaded at all (before the first pull or push), every pushable column of the catalogue, with a null field id, so that changes made before the first pull are captured too (the push narrows them to the mapped columns). Collaborators, lookups, created and last-modified times are never pushed.';
--! EndIncluded outbox/push_columns.sql
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
  v_key_column text;
  v_source_table text;
begin
  if tg_op = 'TRUNCATE' then
    delete from sync.target_checksums c where c.entity = v_entity;
    return null;
  end if;
  if tg_op = 'DELETE' then
    delete from sync.target_checksums c using old_rows o where c.entity = v_entity and c.row_id = o.id;
    return null;
  end if;
  select e.source_key_column, m.source_table into v_key_column, v_source_table
  from sync.entities e left join sync.entity_mappings m on m.entity = e.entity
  where e.entity = v_entity;
  -- A row's source key comes from the id map. The sync writes it (the
  -- merge before it writes the row; the push when a row created here gets
  -- its record, followed by sync.rebuild_target_checksums). A row written
  -- by anyone else with a key in the table's source-key column, and no
  -- entry yet, is entered under that key (as sync.adopt_source_keys does),
  -- so a row loaded directly keeps the identity its key column gives it,
  -- even before a mapping names its source table (the capture trigger,
  -- which fires after this one, then sees a record the source has).
  -- A mapped row keeps its entry: rewriting the column does not rekey it.
  if v_key_column is not null then
    execute format($sql$
      insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table)
      select $1, n.%I, n.id, $2, $3 from new_rows n
      where n.%1$I is not null
        and not exists (select from sync.id_map k where k.entity_type = $1 and k.uuid_id = n.id)
      on conflict do nothing
    $sql$, v_key_column) using v_entity, v_source_table, format('%I.%I', tg_table_schema, tg_table_name);
  end if;
  if v_source_table is null then
    -- no mapping yet (nothing pulled): no canonical form to keep; the first
    -- pull's merge writes every row, and the trigger then fills the table
    return null;
  end if;
  execute format($sql$
    insert into sync.target_checksums as c (entity, source_key, row_id, checksum, deleted)
    select $1, t.source_key, t.id, sync.checksum(t.canonical), t.deleted_at is not null
    from (%s) t
    on conflict (entity, source_key) do update
      set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
      where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
  $sql$, sync.target_canonical_sql(v_entity, 'new_rows')) using v_entity;
  return null;
end;
$$;
comment on function sync.tg__maintain_target_checksums() is E'Statement-level AFTER trigger on the synced app tables (argument: the entity): enters in sync.id_map a row written outside the sync that holds a key in the source-key column and has no entry yet, then rebuilds the canonical checksum of every inserted or updated row that has a source key (its sync.id_map entry) from the row itself (sync.target_canonical_sql over the transition table) into sync.target_checksums, and forgets deleted or truncated rows. Set-based, whoever writes. Security definer: app writers cannot write sync tables themselves.';

create or replace function sync.rebuild_target_checksums(p_entity text, p_row_ids uuid[]) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  child record;
  rebuilt bigint := 0;
  written bigint;
begin
  if coalesce(cardinality(p_row_ids), 0) = 0 then
    return 0;
  end if;
  -- An entry filed under a key the row no longer has in the id map goes.
  delete from sync.target_checksums c
  where c.entity = p_entity and c.row_id = any (p_row_ids)
    and not exists (select from sync.id_map k where k.entity_type = p_entity and k.uuid_id = c.row_id and k.legacy_id = c.source_key);
  -- The rows themselves, then every row that links to one of them (its
  -- canonical form names the linked record's key): nothing writes those,
  -- so their own trigger does not fire.
  for child in
    select p_entity as entity, e.target_table, null::text as column_name
    from sync.entities e where e.entity = p_entity
    union all
    select e.entity, e.target_table, ec.column_name
    from sync.entity_columns ec join sync.entities e on e.entity = ec.entity
    where ec.linked_entity = p_entity and ec.conversion = 'link'
      and exists (select from sync.entity_mappings m where m.entity = e.entity and m.field_ids ? ec.column_name)
  loop
    execute format($sql$
      insert into sync.target_checksums as c (entity, source_key, row_id, checksum, deleted)
      select $1, t.source_key, t.id, sync.checksum(t.canonical), t.deleted_at is not null
      from (%s) t
      on conflict (entity, source_key) do update
        set row_id = excluded.row_id, checksum = excluded.checksum, deleted = excluded.deleted, updated_at = now()
        where row(c.row_id, c.checksum, c.deleted) is distinct from row(excluded.row_id, excluded.checksum, excluded.deleted)
    $sql$, sync.target_canonical_sql(child.entity,
             format('(select x.* from %s x where x.%I = any ($2))', child.target_table, coalesce(child.column_name, 'id'))))
    using child.entity, p_row_ids;
    get diagnostics written = row_count;
    rebuilt := rebuilt + written;
  end loop;
  return rebuilt;
end;
$$;
comment on function sync.rebuild_target_checksums(text, uuid[]) is E'Rebuilds the target checksums of some rows of an entity after their source keys changed in sync.id_map (a row created here got its record in the source when pushed), and of the rows of other entities that link to them (their canonical form names the linked key); an entry filed under a key the row no longer has is removed. Returns how many entries were written. Called by sync.mark_outbox_pushed; the trigger keeps the rest right. Security definer: writes sync.target_checksums for the sync role.';

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
  candidates text;
  picks text;
  resolved bigint;
begin
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  -- per link column: its open dangling links whose record now exists (its
  -- key in the linked entity's id map, its row live)
  select string_agg(format($part$
           select fp.id as problem_id, fp.source_key, %1$L::text as column_name, linked.id as linked_id
           from sync.field_problems fp
           join sync.id_map k on k.entity_type = %3$L and k.legacy_id = fp.link_key
           join %2$s linked on linked.id = k.uuid_id and linked.deleted_at is null
           where fp.entity = $1 and fp.column_name = %1$L and fp.rule = 'dangling_link' and fp.resolved_at is null$part$,
           ec.column_name, linked.target_table, linked.entity), ' union all '),
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
    join sync.id_map k on k.entity_type = $1 and k.legacy_id = r.source_key
    where t.id = k.uuid_id
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
--! EndIncluded merge/resolve_dangling_links.sql
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
  recounted bigint;
begin
  if coalesce(cardinality(p_source_keys), 0) = 0 then
    return 0;
  end if;
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);
  -- The rows' counts of open problems (a row written this way gets its
  -- target checksum from its trigger)...
  execute format($sql$
    update %s t set open_problem_count = n.open_problems
    from (select i.source_key, (select count(*) from sync.field_problems fp
                                 where fp.entity = $1 and fp.source_key = i.source_key and fp.resolved_at is null)::integer as open_problems
          from unnest($2) as i (source_key)) n
    join sync.id_map k on k.entity_type = $1 and k.legacy_id = n.source_key
    where t.id = k.uuid_id and t.open_problem_count <> n.open_problems
  $sql$, target) using p_entity, p_source_keys;
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
  $sql$, sync.target_canonical_sql(p_entity, format('(select x.* from %s x where x.id in (select k.uuid_id from sync.id_map k where k.entity_type = $1 and k.legacy_id = any ($2)))', target)))
  using p_entity, p_source_keys;
  return recounted;
end;
$$;
comment on function sync.refresh_problem_rows(bigint, text, text[]) is E'After the open problems of some records changed: sets their rows'' open_problem_count (audited under run p_run_id) and rebuilds their target checksums, which read the open problems. Returns how many rows were recounted. Security definer: writes app rows and sync.target_checksums for the sync role.';
--! EndIncluded merge/refresh_problem_rows.sql
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
    with rows as (select k.uuid_id as id from sync.id_map k where k.entity_type = p_entity and k.legacy_id = any (remerge || gone)),
    closed as (
      update sync.outbox o set status = 'superseded', last_error = format('overwritten by the source: differential resolution of run %s (source_wins)', p_run_id)
      from rows r where o.entity = p_entity and o.row_id = r.id and o.status in ('pending', 'failed')
      returning o.id
    )
    update sync.conflicts k
    set status = 'resolved', resolution = 'airtable', resolved_value = k.remote_value, decided_by_rule = 'source_wins',
        decided_by = coalesce(audit.current_actor(), audit.acting_role()), resolved_by_run_id = p_run_id, resolved_at = now()
    from rows r where k.entity = p_entity and k.row_id = r.id and k.status = 'open';
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
      execute format('update %s t set deleted_at = now() from sync.id_map k where k.entity_type = $2 and k.legacy_id = any ($1) and t.id = k.uuid_id and t.deleted_at is null', target)
        using gone, p_entity;
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
           linked.entity as linked_entity, ec.conversion
    from sync.validation_rules r
    join sync.entity_columns link_column on link_column.entity = r.entity and link_column.column_name = r.parameters ->> 'link'
    join sync.entity_mappings linked on linked.entity = link_column.linked_entity
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
        select tk.legacy_id from %1$s t
        join sync.id_map tk on tk.entity_type = $4 and tk.uuid_id = t.id
        join sync.id_map pk on pk.entity_type = $2 and pk.uuid_id = t.%2$I
        where pk.legacy_id in (
          select d ->> 'record' from sync.validation_reports vr cross join lateral jsonb_array_elements(vr.discrepancy_details) d
          where vr.run_id = $1 and vr.source_entity = $2 and vr.validation_type in ('completeness_check', 'data_integrity')
            and coalesce(vr.validation_criteria ->> 'check', '') <> 'validation_rules'
          union all
          select fp.source_key from sync.field_problems fp
          where fp.entity = $2 and fp.resolved_at is null and fp.landed = 'empty' and fp.column_name = $3)
        on conflict do nothing
      $sql$, target, rule.parameters ->> 'link') using p_run_id, rule.linked_entity, rule.parameters ->> 'linked_column', p_entity;
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
--! Included integrity/verify_relationships.sql
/*
 * Verification of relationships: every link of the target against the
 * source, over one key range, once per table.
 */

create or replace function sync.verify_relationships(p_run_id bigint, p_entity text, p_after_key text default null, p_upto_key text default null)
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
  -- Records are named by their keys in the source: each row's id map
  -- entry (k), and each linked row's entry in its own entity's id map.
  for link in select mc.column_name, mc.linked_table, mc.linked_entity from sync.mapped_columns(p_entity) mc where mc.conversion = 'link' order by mc.column_name loop
    check_number := check_number + 1;
    -- no deleted row in the linked table, no link to one: no join
    execute format('select exists (select from %s p where p.deleted_at is not null)', link.linked_table) into linked_deleted;
    if linked_deleted then
      link_joins := link_joins || format(' left join (select p.id from %s p where p.deleted_at is not null) %I on %2$I.id = t.%3$I',
                                         link.linked_table, 'gone__' || link.column_name, link.column_name);
      link_checks := link_checks || format(' || array_agg(%L || t.id::text) filter (where %I.id is not null)', check_number || ':', 'gone__' || link.column_name);
    end if;
    detail_queries := detail_queries || format($f$
      select jsonb_build_object('record', k.legacy_id, 'field', %1$L, 'value', p.legacy_id, 'rule', %2$L)
      from %3$s t
      join sync.id_map k on k.entity_type = %4$L and k.uuid_id = t.id
      left join sync.id_map p on p.entity_type = %5$L and p.uuid_id = t.%1$I
      where t.id = any ($1)$f$,
      link.column_name, format('links to a deleted row of %s', link.linked_table), target, p_entity, link.linked_entity);
  end loop;
  for rule in
    select r.rule_id, r.column_name, r.description, r.parameters ->> 'link' as link_column, r.parameters ->> 'linked_column' as linked_column,
           linked.target_table as linked_table, linked.entity as linked_entity, referred.entity as referred_entity
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
    -- a link column names the linked row by its key in the source (its id
    -- map entry), as the source does
    detail_queries := detail_queries || format($f$
      select jsonb_build_object('record', k.legacy_id, 'field', %1$L, 'value', %2$s, 'linked_record', lk.legacy_id,
                                'linked_value', %3$s, 'rule', %4$L, 'rule_id', %5$L)
      from %6$s t join %7$s l on l.id = t.%8$I
      join sync.id_map k on k.entity_type = %9$L and k.uuid_id = t.id
      left join sync.id_map lk on lk.entity_type = %10$L and lk.uuid_id = l.id
      where t.id = any ($1)$f$,
      rule.column_name,
      case when rule.referred_entity is not null then format('(select to_jsonb(x.legacy_id) from sync.id_map x where x.entity_type = %L and x.uuid_id = t.%I)', rule.referred_entity, rule.column_name)
           else format('to_jsonb(t.%I)', rule.column_name) end,
      case when rule.referred_entity is not null then format('(select to_jsonb(x.legacy_id) from sync.id_map x where x.entity_type = %L and x.uuid_id = l.%I)', rule.referred_entity, rule.linked_column)
           else format('to_jsonb(l.%I)', rule.linked_column) end,
      format('%s %s (rule %s)', rule.column_name, rule.description, rule.rule_id), rule.rule_id, target, rule.linked_table, rule.link_column,
      p_entity, rule.linked_entity);
  end loop;
  -- A bounded range reads its rows through the id map's key index: a
  -- sequential scan would compare every row's key with both bounds (the
  -- collation's comparison, once per row of the whole table, per range).
  if p_after_key is not null or p_upto_key is not null then
    perform set_config('enable_seqscan', 'off', true);
  end if;
  execute format($sql$
    select count(*) as live, coalesce('{}'::text[] %s, '{}') as found
    from %s t join sync.id_map k on k.entity_type = $1 and k.uuid_id = t.id%s
    where t.deleted_at is null and %s
  $sql$, link_checks, target, link_joins, format(in_range, 'k.legacy_id'))
  into relationships using p_entity, null::text, null::text, p_after_key, p_upto_key;
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
--! EndIncluded integrity/verify_relationships.sql
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
             when 'link' then format('to_jsonb(%I.legacy_id)', 'ref__' || pc.column_name)
             else format('to_jsonb(t.%I)', pc.column_name)
           end), ', ' order by pc.column_name), ''),
         -- Airtable's cell shapes, keyed by field id (none before a mapping is loaded)
         coalesce(string_agg(format('%L, %s', pc.field_id,
           case pc.conversion
             when 'timestamp' then format('to_jsonb(to_char(t.%I at time zone ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"''))', pc.column_name)
             when 'link' then format('case when t.%I is null then ''[]''::jsonb else jsonb_build_array(%I.legacy_id) end', pc.column_name, 'ref__' || pc.column_name)
             when 'checkbox' then format('to_jsonb(coalesce(t.%I, false))', pc.column_name)
             when 'multi_select' then format('to_jsonb(coalesce(t.%I, ''{}''::text[]))', pc.column_name)
             else format('to_jsonb(t.%I)', pc.column_name)
           end), ', ' order by pc.column_name) filter (where pc.field_id is not null), ''),
         coalesce(string_agg(format('case when t.%I is not null and %I.legacy_id is null then %L end', pc.column_name, 'ref__' || pc.column_name, pc.column_name), ', ' order by pc.column_name)
                    filter (where pc.conversion = 'link'), ''),
         -- a link's record in the source: the linked row's id map entry
         coalesce(string_agg(format(' left join sync.id_map %I on %1$I.entity_type = %2$L and %1$I.uuid_id = t.%3$I', 'ref__' || pc.column_name, pc.linked_entity, pc.column_name), '' order by pc.column_name)
                    filter (where pc.conversion = 'link'), '')
    into raw_pairs, canonical_pairs, cell_pairs, unresolved, joins
  from sync.push_columns(p_entity) pc;
  -- the row's record in the source: its id map entry (none yet for a row
  -- created here and not pushed)
  return format('select t.id, k.legacy_id as source_key, t.deleted_at, t.updated_at, jsonb_build_object(%s) as raw_values, '
                'jsonb_build_object(%s) as canonical, jsonb_build_object(%s) as fields, '
                'array_remove(array[%s]::text[], null) as unresolved_links from %s t '
                'left join sync.id_map k on k.entity_type = %L and k.uuid_id = t.id%s',
                raw_pairs, canonical_pairs, cell_pairs, unresolved, p_rows, p_entity, joins);
end;
$$;
comment on function sync.push_rows_sql(text, text) is E'The statement that reads app rows of an entity (p_rows: a table, a transition table or a subquery in parentheses) as (id, source_key (the row''s record id in the source, from sync.id_map), deleted_at, updated_at, raw_values, canonical, fields, unresolved_links) over its pushable columns: raw values to detect changes, the canonical form (as sync.target_canonical_sql builds it) to compare, the Airtable fields object (field id -> cell: a link as [record id], a select as its option name, a date as YYYY-MM-DD, a timestamp as ISO UTC with milliseconds, money and integers as numbers, a checkbox as a boolean, a multiple select as an array), and the links whose target has no Airtable id yet. The columns are sync.push_columns'': the mapped ones, or the catalogue''s while no mapping is loaded, when the fields object is empty (no field ids yet).';
--! EndIncluded outbox/push_rows_sql.sql
--! Included outbox/apply_airtable_cells.sql
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
             when 'link' then format('(select l.id from sync.id_map k join %s l on l.id = k.uuid_id where k.entity_type = %L and k.legacy_id = sync.cell_first_link(c.cells -> %L) and l.deleted_at is null)',
                                     pc.linked_table, pc.linked_entity, pc.column_name)
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
--! EndIncluded outbox/apply_airtable_cells.sql
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

  -- Created records: the new record's key into the id map (where the
  -- pipeline reads identity), then into the row where its table keeps the
  -- source's key in a column of its own (Delta's airtable_id), and into the
  -- row's later entries that waited for it. The rows' target checksums,
  -- and those of rows linking to them, are rebuilt under the new key, and
  -- the id map entry takes that checksum: Airtable now holds what the row
  -- holds.
  insert into sync.id_map as m (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table)
  select p.entity, p.source_key, p.row_id, p_run_id, mp.source_table, t.target_table::text
  from outbox_pushed p
  join sync.entities t on t.entity = p.entity
  join sync.entity_mappings mp on mp.entity = p.entity
  where p.operation = 'create'
  on conflict (entity_type, legacy_id) do update set uuid_id = excluded.uuid_id
  where m.uuid_id is distinct from excluded.uuid_id;

  for e in select p.entity, t.target_table, t.source_key_column, array_agg(p.row_id) as row_ids
           from outbox_pushed p join sync.entities t on t.entity = p.entity
           where p.operation = 'create'
           group by p.entity, t.target_table, t.source_key_column loop
    if e.source_key_column is not null then
      execute format($sql$
        update %s t set %I = p.source_key
        from outbox_pushed p
        where p.entity = $1 and p.operation = 'create' and t.id = p.row_id and t.%2$I is distinct from p.source_key
      $sql$, e.target_table, e.source_key_column) using e.entity;
    end if;
    perform sync.rebuild_target_checksums(e.entity, e.row_ids);
  end loop;

  update sync.id_map m set checksum = c.checksum
  from outbox_pushed p
  join sync.target_checksums c on c.entity = p.entity and c.source_key = p.source_key
  where p.operation = 'create' and m.entity_type = p.entity and m.legacy_id = p.source_key
    and m.checksum is distinct from c.checksum;

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
comment on function sync.mark_outbox_pushed(bigint, jsonb) is E'Records what Airtable accepted: p_results is a JSON array of {id, source_key, response}. Entries become pushed. For a create, the new record id is stored in sync.id_map (where the pipeline reads identity) and in the app row''s source-key column where its table keeps one, as sync writes under p_run_id (not captured: no new outbox entry), the target checksums of the row and of rows linking to it are rebuilt under the new key (sync.rebuild_target_checksums), and the id is given to the row''s later entries that waited for it. What Airtable computed for each record (created and last-modified times, lookups: from the response, fields keyed by field id) is written to the row, so the next pull finds nothing to change. Returns the entries marked.';
--! EndIncluded outbox/mark_outbox_pushed.sql
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
