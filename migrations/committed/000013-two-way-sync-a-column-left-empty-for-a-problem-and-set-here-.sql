--! Previous: sha1:bef0935c2d4ccdfeb9681b0c11417e244d9f8820
--! Hash: sha1:7c4526ec84ab19fcea654ae075eb6c59642f47dc
--! Message: two-way sync: a column left empty for a problem and set here is pushed as a change made here

/*
 * Two-way sync and field problems (issue 15): a column the merge left
 * empty for a problem (a Renewal Month of 13, say) and then set here is
 * pushed as a change made here only. sync.plan_push takes as its base, for
 * such a column, the source value the open problem keeps (what the sync
 * last saw in Airtable), not the empty value the row held: the local value
 * goes to Airtable instead of the policy writing the bad value back into
 * the row.
 *
 * Idempotent while current: change_capture.sql creates everything with
 * `create or replace`, the same signatures and columns, so it is included
 * again whole (as migration 000012 did).
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
           -- an absent value is JSON null on all three sides; a column the
           -- merge left empty for a problem (sync.field_problems) had, as the
           -- sync last saw it, the source's value the problem keeps
           case when coalesce(p.before_values -> c.column_name, 'null') = 'null'::jsonb
                then coalesce((select fp.source_canonical from sync.field_problems fp
                               where fp.entity = p.entity and fp.airtable_id = p.airtable_id and fp.column_name = c.column_name
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
comment on function sync.plan_push(bigint, bigint[], jsonb, jsonb, text[]) is E'Plans the push of claimed (in_flight) outbox entries, set-based. p_remote: Airtable''s current records read just before pushing, {record id: {field id: cell}}; p_remote_modified: {record id: last-modified time}, else read from the mapping''s Last Modified field; p_remote_from_mirror: record ids Airtable just confirmed unchanged since the staging mirror''s version (their Last Modified is not later, see sync.push_remote_marks), whose remote side is the mirror''s fields. Per changed field of an update: base (before value; for a column the merge left empty for an open field problem, the source value the problem keeps), local (row now) and remote compared in canonical form; changed on one side only, that side wins; both to the same value, nothing; both differently, the column''s policy decides (source_wins, target_wins, newest_wins: remote last-modified against the time of the local change, manual: parked open in sync.conflicts and not sent) and the conflict is logged. Airtable''s winning values are written to the app rows as sync writes (not captured). Returns per entry the action (create, update, delete: send fields; skip: nothing to send, marked skipped; fail: record gone from Airtable, marked failed; defer: a link target is not in Airtable yet, back to pending), the fields to send (Airtable cell shapes by field id), the values Airtable won, and the conflicts logged.';

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
