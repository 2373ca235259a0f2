--! Previous: sha1:10bc3d1ac4a477f095a758ef1eebdbf692fb21c9
--! Hash: sha1:3b08ff6e6f7832414d99c49b73917b07be6e2f8e
--! Message: Rollback and snapshots cover every entity's target table, not only schema app

/*
 * Rollback and snapshots cover every synced table, not only schema app: a
 * run that merged a files source's records into its own schema is rolled
 * back (and its foreign keys checked) like one that merged Delta's, and a
 * snapshot copies those tables too. The domain is schema app plus every
 * entity's target table.
 */
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
     or c.oid in ('sync.id_map'::regclass, 'staging.airtable_records'::regclass)
  order by n.nspname, c.relname
$$;
comment on function sync.snapshot_source_tables() is E'What a snapshot copies: every table of schema app and every entity''s target table (a files source''s schema), sync.id_map and staging.airtable_records, each with the name of its copy (<schema>__<table>).';
--! EndIncluded integrity/snapshot_source_tables.sql
--! Included integrity/rollback_conflicts.sql
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

create or replace function sync.rollback_conflicts(p_run_id bigint)
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
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name in (select e.target_table::text from sync.entities e) or c.table_name in ('sync.id_map', 'sync.field_problems'))
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
      -- the domain: schema app and every entity's target table (a files source's schema)
      and (con.connamespace = 'app'::regnamespace or con.conrelid in (select e.target_table from sync.entities e))
      and con.confrelid::regclass::text in (select distinct c.table_name from audit.changes c
                                            where c.run_id = p_run_id and c.op = 'INSERT'
                                              and (c.table_name like 'app.%' or c.table_name in (select e.target_table::text from sync.entities e)))
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
--! EndIncluded integrity/rollback_conflicts.sql
--! Included integrity/rollback_run.sql
/*
 * Rollback of a run from the audit trail (see
 * integrity/rollback_conflicts.sql for what is refused, and why).
 */

create or replace function sync.rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean default false)
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
    where c.run_id = p_run_id and c.record_id is not null and (c.table_name like 'app.%' or c.table_name in (select e.target_table::text from sync.entities e) or c.table_name in ('sync.id_map', 'sync.field_problems'))
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
--! EndIncluded integrity/rollback_run.sql
