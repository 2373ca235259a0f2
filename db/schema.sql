-- db/schema.sql: the airlift database as the committed migrations leave it.
--
-- GENERATED FILE, DO NOT EDIT BY HAND. After `airlift gm commit` (which
-- regenerates it) or any change to migrations/committed/ or
-- sql/bootstrap_roles.sql, run `npm run db:schema` and commit the result;
-- test/schema-dump.test.ts fails in CI when it is stale.
--
-- Made by tools/db/dump-schema.ts: a throwaway PostgreSQL 15 cluster,
-- sql/bootstrap_roles.sql, every migration in migrations/committed/, then
-- pg_dump --schema-only --no-owner of every schema but graphile_worker and
-- graphile_migrate. Privileges are kept; owners are not (all airlift_owner).
-- pg_dump's version lines, \restrict keys and SET lines are removed. For
-- reading and review: the migrations, not this file, build databases.

--
-- PostgreSQL database dump
--

--
-- Name: app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app;

--
-- Name: SCHEMA app; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA app IS 'The normalized domain that replaces the Airtable base: clients, state regulators, products, registrations and their attachments.';

--
-- Name: audit; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA audit;

--
-- Name: SCHEMA audit; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA audit IS 'Append-only change history of every app and sync control table. Readable by airlift_auditor, writable by nobody but the audit triggers.';

--
-- Name: legacy_app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA legacy_app;

--
-- Name: SCHEMA legacy_app; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA legacy_app IS 'The example legacy PostgreSQL source''s target (tools/generator/legacy-pg.ts, examples/legacy-pg): a clinic''s offices, profiles, doctors, patients, products and orders, moved from integer ids to uuids.';

--
-- Name: pfa_app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA pfa_app;

--
-- Name: SCHEMA pfa_app; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA pfa_app IS 'The example SQLite source''s target (tools/generator/sqlite.ts, examples/pfa-app): a Prisma-style application''s users, organizations, AI providers, API configurations, data source mappings and its large pfa_records table, moved from its SQLite file.';

--
-- Name: report; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA report;

--
-- Name: SCHEMA report; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA report IS 'Reporting views and materialized views over app, for the business and for dashboards.';

--
-- Name: staging; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA staging;

--
-- Name: SCHEMA staging; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA staging IS 'What each source said, verbatim: one row per source record with its raw fields as JSONB, so that nothing a source sends is lost before it is merged.';

--
-- Name: sync; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA sync;

--
-- Name: SCHEMA sync; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA sync IS 'Control of migration and synchronization: jobs, runs, checkpoints, the Airtable id map, differentials, validation reports and quarantined records.';

--
-- Name: wallet_app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA wallet_app;

--
-- Name: SCHEMA wallet_app; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA wallet_app IS 'The example files source''s target (examples/wallet-app): a wallet/marketplace application''s users, opportunities, admin actions and KYC documents, moved from its JSON and CSV exports.';

--
-- Name: merge_result; Type: TYPE; Schema: sync; Owner: -
--

CREATE TYPE sync.merge_result AS (
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

--
-- Name: TYPE merge_result; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TYPE sync.merge_result IS 'What one merge did: for the records fetched in the run, how many were inserted, updated, unchanged or quarantined (kept out by a blocking rule), and how many of them landed with open field problems; and how many earlier-quarantined records were retried and merged.';

--
-- Name: tg__set_updated_at(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.tg__set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  -- A row that did not change keeps its updated_at, and so stays a no-op for
  -- the audit trail. Generated columns (named by the trigger's arguments)
  -- are null in NEW in a BEFORE trigger, so they are nulled in OLD too
  -- before the rows are compared.
  if tg_nargs = 0 then
    if new is distinct from old then
      new.updated_at := now();
    end if;
  elsif new is distinct from jsonb_populate_record(old, (select jsonb_object_agg(name, null) from unnest(tg_argv) as name)) then
    new.updated_at := now();
  end if;
  return new;
end;
$$;

--
-- Name: FUNCTION tg__set_updated_at(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.tg__set_updated_at() IS 'BEFORE UPDATE row trigger: stamps updated_at with now() when the row really changes (a value written to updated_at by hand counts as a change and is replaced) and leaves it alone on a no-op update. Trigger arguments list the table''s generated columns.';

--
-- Name: acting_role(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.acting_role() RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce(nullif(current_setting('role'), 'none'), session_user::text)
$$;

--
-- Name: FUNCTION acting_role(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.acting_role() IS 'The database role on whose behalf a statement runs: the SET ROLE (or connection role option) if any, else the session user. Unlike current_user it is not changed by security definer functions.';

--
-- Name: current_actor(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.current_actor() RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select nullif(current_setting('airlift.actor', true), '')
$$;

--
-- Name: FUNCTION current_actor(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.current_actor() IS 'The application actor (a person, the sync worker, a CLI command) from the transaction-local setting airlift.actor, which the runner sets with set_config(..., true).';

--
-- Name: current_run_id(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.current_run_id() RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select nullif(current_setting('airlift.run_id', true), '')::bigint
$$;

--
-- Name: FUNCTION current_run_id(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.current_run_id() IS 'The sync run responsible for the current transaction, from the transaction-local setting airlift.run_id; null for changes made outside a run.';

--
-- Name: enable_for(regclass, text); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.enable_for(target regclass, key_column text DEFAULT 'id'::text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  execute format('drop trigger if exists _900_audit_insert on %s', target);
  execute format('drop trigger if exists _900_audit_update on %s', target);
  execute format('drop trigger if exists _900_audit_delete on %s', target);
  execute format('drop trigger if exists _900_audit_truncate on %s', target);
  execute format('create trigger _900_audit_insert after insert on %s referencing new table as new_rows '
                 'for each statement execute function audit.tg__log_insert(%L)', target, key_column);
  execute format('create trigger _900_audit_update after update on %s referencing old table as old_rows new table as new_rows '
                 'for each statement execute function audit.tg__log_update(%L)', target, key_column);
  execute format('create trigger _900_audit_delete after delete on %s referencing old table as old_rows '
                 'for each statement execute function audit.tg__log_delete(%L)', target, key_column);
  execute format('create trigger _900_audit_truncate after truncate on %s '
                 'for each statement execute function audit.tg__log_truncate()', target);
end;
$$;

--
-- Name: FUNCTION enable_for(target regclass, key_column text); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.enable_for(target regclass, key_column text) IS 'Attaches the four statement-level audit triggers to a table, so that every audited table is wired the same way. Used by migrations only.';

--
-- Name: generated_columns(oid); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.generated_columns(relation oid) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce(array_agg(attname::text order by attnum), '{}')
  from pg_attribute
  where attrelid = relation and attgenerated <> '' and not attisdropped
$$;

--
-- Name: FUNCTION generated_columns(relation oid); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.generated_columns(relation oid) IS 'Names of the stored generated columns of a table; the audit trail leaves them out because they are derived from columns it does keep.';

--
-- Name: tg__log_delete(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg__log_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  key_column text := coalesce(tg_argv[0], 'id');
  skipped text[] := audit.generated_columns(tg_relid);
  who text := audit.acting_role();
  actor text := audit.current_actor();
  run bigint := audit.current_run_id();
begin
  with deleted as materialized (
    select to_jsonb(old_rows) - skipped as row_values from old_rows
  )
  insert into audit.changes (table_name, record_id, op, old_values, db_role, actor, run_id)
  select tg_table_schema || '.' || tg_table_name, row_values ->> key_column, 'DELETE', row_values, who, actor, run
  from deleted;
  return null;
end;
$$;

--
-- Name: FUNCTION tg__log_delete(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.tg__log_delete() IS 'Statement-level AFTER DELETE trigger: writes one audit.changes row per deleted row from the transition table old_rows.';

--
-- Name: tg__log_insert(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg__log_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  key_column text := coalesce(tg_argv[0], 'id');
  skipped text[] := audit.generated_columns(tg_relid);
  who text := audit.acting_role();
  actor text := audit.current_actor();
  run bigint := audit.current_run_id();
begin
  -- Materialized: each row is turned into jsonb once, not once per use.
  with inserted as materialized (
    select to_jsonb(new_rows) - skipped as row_values from new_rows
  )
  insert into audit.changes (table_name, record_id, op, new_values, db_role, actor, run_id)
  select tg_table_schema || '.' || tg_table_name, row_values ->> key_column, 'INSERT', row_values, who, actor, run
  from inserted;
  return null;
end;
$$;

--
-- Name: FUNCTION tg__log_insert(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.tg__log_insert() IS 'Statement-level AFTER INSERT trigger: writes one audit.changes row per inserted row from the transition table new_rows.';

--
-- Name: tg__log_truncate(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg__log_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  insert into audit.changes (table_name, record_id, op, db_role, actor, run_id)
  values (tg_table_schema || '.' || tg_table_name, null, 'TRUNCATE',
          audit.acting_role(), audit.current_actor(), audit.current_run_id());
  return null;
end;
$$;

--
-- Name: FUNCTION tg__log_truncate(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.tg__log_truncate() IS 'Statement-level AFTER TRUNCATE trigger: records that a whole table was emptied (transition tables do not exist for TRUNCATE, so the rows themselves cannot be listed).';

--
-- Name: tg__log_update(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg__log_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '64MB'
    AS $$
declare
  key_column text := coalesce(tg_argv[0], 'id');
  skipped text[] := audit.generated_columns(tg_relid);
  who text := audit.acting_role();
  actor text := audit.current_actor();
  run bigint := audit.current_run_id();
begin
  -- Old and new rows are paired on the primary key. A row whose key itself
  -- changed has no partner: it is recorded as the delete of the old key and
  -- the insert of the new one, so nothing escapes the trail. The CTEs are
  -- materialized so that each row becomes jsonb once (inlined, the planner
  -- would recompute it in sort keys, filter and per changed column).
  with before as materialized (
    select row_values ->> key_column as record_id, row_values
    from (select to_jsonb(old_rows) - skipped as row_values from old_rows) as o
  ), after as materialized (
    select row_values ->> key_column as record_id, row_values
    from (select to_jsonb(new_rows) - skipped as row_values from new_rows) as n
  )
  insert into audit.changes (table_name, record_id, op, old_values, new_values, changed_columns, db_role, actor, run_id)
  select tg_table_schema || '.' || tg_table_name,
         coalesce(after.record_id, before.record_id),
         case when before.record_id is null then 'INSERT'
              when after.record_id is null then 'DELETE'
              else 'UPDATE' end,
         before.row_values,
         after.row_values,
         case when before.record_id is not null and after.record_id is not null then
           array(select column_name
                 from jsonb_each(after.row_values) as changed (column_name, value)
                 where changed.value is distinct from before.row_values -> changed.column_name
                 order by column_name)
         end,
         who, actor, run
  from before
  full join after on after.record_id = before.record_id
  -- an update that changes nothing is not a change
  where before.row_values is distinct from after.row_values;
  return null;
end;
$$;

--
-- Name: FUNCTION tg__log_update(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.tg__log_update() IS 'Statement-level AFTER UPDATE trigger: pairs old_rows and new_rows on the primary key and records each row that really changed, with the names of the changed columns. No-op updates leave no trace.';

--
-- Name: tg_changes__forbid_modification(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg_changes__forbid_modification() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  raise exception 'audit.changes is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'The audit trail can only grow. To undo a change, write a new change (airlift rollback does).';
end;
$$;

--
-- Name: FUNCTION tg_changes__forbid_modification(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.tg_changes__forbid_modification() IS 'Refuses every UPDATE, DELETE and TRUNCATE of audit.changes, whoever asks, the owner and superusers included.';

--
-- Name: refresh_materialized_views(); Type: FUNCTION; Schema: report; Owner: -
--

CREATE FUNCTION report.refresh_materialized_views() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  refresh materialized view concurrently report.registration_status_by_state;
  refresh materialized view concurrently report.client_portfolio;
end;
$$;

--
-- Name: FUNCTION refresh_materialized_views(); Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON FUNCTION report.refresh_materialized_views() IS 'Refreshes every report materialized view concurrently (readers are not blocked). Security definer because only the owner may refresh; granted to the sync worker, which calls it after a run.';

--
-- Name: adopt_source_keys(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.adopt_source_keys(p_entity text DEFAULT NULL::text) RETURNS TABLE(entity text, adopted bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION adopt_source_keys(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.adopt_source_keys(p_entity text) IS 'Enters in sync.id_map the rows of an entity''s target table (every entity''s when p_entity is null) that hold a key in the source-key column but have no id map entry, so that the pipeline, which reads identity from the id map only, knows them. Keys or rows already in the map are left as they are. Returns the rows entered per entity; refuses an unknown entity (P0002).';

--
-- Name: checkpoints; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.checkpoints (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    run_id bigint,
    operation_type text NOT NULL,
    entity_type text NOT NULL,
    last_processed_id text,
    records_processed bigint DEFAULT 0 NOT NULL,
    records_total bigint,
    batch_size integer DEFAULT 100 NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    error_message text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT checkpoints_batch_size_positive CHECK ((batch_size > 0)),
    CONSTRAINT checkpoints_completed_after_started CHECK ((completed_at > started_at)),
    CONSTRAINT checkpoints_completed_has_time CHECK (((status <> 'completed'::text) OR (completed_at IS NOT NULL))),
    CONSTRAINT checkpoints_failure_has_message CHECK (((status <> 'failed'::text) OR (error_message IS NOT NULL))),
    CONSTRAINT checkpoints_operation_type_is_known CHECK ((operation_type = ANY (ARRAY['differential_migration'::text, 'sync_operation'::text, 'validation'::text]))),
    CONSTRAINT checkpoints_processed_within_total CHECK (((records_processed >= 0) AND ((records_total IS NULL) OR (records_processed <= records_total)))),
    CONSTRAINT checkpoints_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'in_progress'::text, 'completed'::text, 'failed'::text, 'paused'::text])))
);

--
-- Name: TABLE checkpoints; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.checkpoints IS 'Where a long operation (a table''s pull, a validation, a differential) stands, saved after each batch so that a killed run resumes from it.';

--
-- Name: COLUMN checkpoints.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.id IS 'Primary key.';

--
-- Name: COLUMN checkpoints.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.run_id IS 'The run the checkpoint belongs to. Cascade: a checkpoint means nothing without its run.';

--
-- Name: COLUMN checkpoints.operation_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.operation_type IS 'differential_migration, sync_operation or validation.';

--
-- Name: COLUMN checkpoints.entity_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.entity_type IS 'The entity (app table or source table) being processed.';

--
-- Name: COLUMN checkpoints.last_processed_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.last_processed_id IS 'The last key or record id fully processed: the resume point.';

--
-- Name: COLUMN checkpoints.records_processed; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.records_processed IS 'Records processed so far.';

--
-- Name: COLUMN checkpoints.records_total; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.records_total IS 'Records expected in all, when known.';

--
-- Name: COLUMN checkpoints.batch_size; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.batch_size IS 'Records per batch.';

--
-- Name: COLUMN checkpoints.status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.status IS 'pending, in_progress, completed, failed or paused; moves are governed by sync.status_transitions.';

--
-- Name: COLUMN checkpoints.started_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.started_at IS 'When processing started.';

--
-- Name: COLUMN checkpoints.completed_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.completed_at IS 'When processing completed; after started_at.';

--
-- Name: COLUMN checkpoints.error_message; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.error_message IS 'Why processing failed; required when failed.';

--
-- Name: COLUMN checkpoints.metadata; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.metadata IS 'Resume details such as the source''s page offset.';

--
-- Name: COLUMN checkpoints.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.created_at IS 'When the row was written.';

--
-- Name: COLUMN checkpoints.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.checkpoints.updated_at IS 'When the row last changed.';

--
-- Name: advance_checkpoint(uuid, text, bigint, bigint, jsonb, boolean); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.advance_checkpoint(p_checkpoint_id uuid, p_last_processed_id text, p_records_added bigint, p_records_total bigint, p_metadata jsonb DEFAULT '{}'::jsonb, p_complete boolean DEFAULT false) RETURNS sync.checkpoints
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  checkpoint sync.checkpoints;
begin
  update sync.checkpoints c
  set last_processed_id = p_last_processed_id, records_processed = c.records_processed + p_records_added,
      records_total = p_records_total,
      status = case when p_complete then 'completed' else 'in_progress' end,
      completed_at = case when p_complete then greatest(clock_timestamp(), c.started_at + interval '1 microsecond') end,
      metadata = c.metadata || coalesce(p_metadata, '{}')
  where c.id = p_checkpoint_id
  returning c.* into checkpoint;
  if not found then
    raise exception 'no checkpoint %', p_checkpoint_id using errcode = 'no_data_found';
  end if;
  return checkpoint;
end;
$$;

--
-- Name: FUNCTION advance_checkpoint(p_checkpoint_id uuid, p_last_processed_id text, p_records_added bigint, p_records_total bigint, p_metadata jsonb, p_complete boolean); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.advance_checkpoint(p_checkpoint_id uuid, p_last_processed_id text, p_records_added bigint, p_records_total bigint, p_metadata jsonb, p_complete boolean) IS 'Saves a batch''s progress: the resume point (last_processed_id, null when there is none), the records added to records_processed, the total as now known and metadata merged; in progress, or completed with p_complete (the last batch). A completed checkpoint cannot move back (check_violation).';

--
-- Name: airtable_fields(text, uuid[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.airtable_fields(p_entity text, p_row_ids uuid[]) RETURNS TABLE(row_id uuid, source_key text, fields jsonb, unresolved_links text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  target regclass;
begin
  select e.target_table into strict target from sync.entities e where e.entity = p_entity;
  return query execute format('select r.id, r.source_key, r.fields, r.unresolved_links from (%s) r',
    sync.push_rows_sql(p_entity, format('(select * from %s where id = any ($1))', target))) using p_row_ids;
end;
$_$;

--
-- Name: FUNCTION airtable_fields(p_entity text, p_row_ids uuid[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.airtable_fields(p_entity text, p_row_ids uuid[]) IS 'The Airtable fields object (field id -> cell shape) of app rows, every pushable column included (null clears a field), with the link columns that cannot be sent yet because the linked row has no Airtable id. Collaborators and attachments are never sent. Security definer: the sync role reads app rows only through it and the planner.';

--
-- Name: analyze_if_stale(regclass); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.analyze_if_stale(p_table regclass) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION analyze_if_stale(p_table regclass); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.analyze_if_stale(p_table regclass) IS 'Analyzes a table whose statistics are stale (more than 10% of its rows changed since the last analysis), so that merges and sweeps right after a bulk load get good plans. Security definer: only the owner may analyze.';

--
-- Name: annotate_checkpoint(uuid, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.annotate_checkpoint(p_checkpoint_id uuid, p_metadata jsonb) RETURNS sync.checkpoints
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  checkpoint sync.checkpoints;
begin
  update sync.checkpoints c set metadata = c.metadata || coalesce(p_metadata, '{}')
  where c.id = p_checkpoint_id
  returning c.* into checkpoint;
  if not found then
    raise exception 'no checkpoint %', p_checkpoint_id using errcode = 'no_data_found';
  end if;
  return checkpoint;
end;
$$;

--
-- Name: FUNCTION annotate_checkpoint(p_checkpoint_id uuid, p_metadata jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.annotate_checkpoint(p_checkpoint_id uuid, p_metadata jsonb) IS 'Merges keys into a checkpoint''s metadata (a listing''s resume point, say) without moving it.';

--
-- Name: runs; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.runs (
    id bigint NOT NULL,
    job_id uuid,
    run_type text NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    actor text,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    fetched bigint DEFAULT 0 NOT NULL,
    inserted bigint DEFAULT 0 NOT NULL,
    updated bigint DEFAULT 0 NOT NULL,
    unchanged bigint DEFAULT 0 NOT NULL,
    deleted bigint DEFAULT 0 NOT NULL,
    quarantined bigint DEFAULT 0 NOT NULL,
    error_message text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    staged bigint DEFAULT 0 NOT NULL,
    CONSTRAINT runs_counts_not_negative CHECK ((LEAST(fetched, inserted, updated, unchanged, deleted, quarantined, staged) >= 0)),
    CONSTRAINT runs_every_record_accounted CHECK (((status <> ALL (ARRAY['completed'::text, 'rolled_back'::text])) OR (fetched = ((((inserted + updated) + unchanged) + quarantined) + staged)))),
    CONSTRAINT runs_failure_has_message CHECK (((status <> 'failed'::text) OR (error_message IS NOT NULL))),
    CONSTRAINT runs_finished_after_started CHECK ((finished_at >= started_at)),
    CONSTRAINT runs_finished_when_done CHECK (((status = ANY (ARRAY['pending'::text, 'running'::text])) = (finished_at IS NULL))),
    CONSTRAINT runs_run_type_is_known CHECK ((run_type = ANY (ARRAY['full'::text, 'incremental'::text, 'push'::text, 'verify'::text, 'differential'::text, 'rollback'::text, 'files'::text]))),
    CONSTRAINT runs_staged_only_by_stage_only_runs CHECK (((staged = 0) OR (COALESCE((metadata ->> 'stage_only'::text), 'false'::text) = 'true'::text))),
    CONSTRAINT runs_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'running'::text, 'completed'::text, 'failed'::text, 'cancelled'::text, 'rolled_back'::text])))
);

--
-- Name: TABLE runs; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.runs IS 'One execution of a job or command, with what it did: fetched = inserted + updated + unchanged + quarantined + staged once completed (staged only in a stage-only run), so that nothing is lost silently.';

--
-- Name: COLUMN runs.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.id IS 'Run number, also written to audit.changes.run_id for everything the run changed.';

--
-- Name: COLUMN runs.job_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.job_id IS 'The job this run executes, if any.';

--
-- Name: COLUMN runs.run_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.run_type IS 'full, incremental, push, verify, differential or rollback.';

--
-- Name: COLUMN runs.status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.status IS 'pending, running, completed, failed, cancelled or rolled_back; moves are governed by sync.status_transitions.';

--
-- Name: COLUMN runs.actor; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.actor IS 'Who started the run (worker, CLI user).';

--
-- Name: COLUMN runs.started_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.started_at IS 'When the run started.';

--
-- Name: COLUMN runs.finished_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.finished_at IS 'When the run ended; null while pending or running.';

--
-- Name: COLUMN runs.fetched; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.fetched IS 'Source records read.';

--
-- Name: COLUMN runs.inserted; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.inserted IS 'Target rows created.';

--
-- Name: COLUMN runs.updated; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.updated IS 'Target rows changed (restores of deleted rows included).';

--
-- Name: COLUMN runs.unchanged; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.unchanged IS 'Source records whose target row already matched.';

--
-- Name: COLUMN runs.deleted; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.deleted IS 'Target rows soft-deleted because their source record is gone.';

--
-- Name: COLUMN runs.quarantined; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.quarantined IS 'Source records put in sync.record_errors instead of merged.';

--
-- Name: COLUMN runs.error_message; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.error_message IS 'Why the run failed.';

--
-- Name: COLUMN runs.metadata; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.metadata IS 'Per-run details: tables, high-water marks, warnings.';

--
-- Name: COLUMN runs.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.created_at IS 'When the row was written.';

--
-- Name: COLUMN runs.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.updated_at IS 'When the row last changed.';

--
-- Name: COLUMN runs.staged; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.runs.staged IS 'Source records staged and not merged: what a stage-only run (a source snapshot) read, merged by a later run; 0 for every other run.';

--
-- Name: annotate_run(bigint, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.annotate_run(p_run_id bigint, p_metadata jsonb) RETURNS sync.runs
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  run sync.runs;
begin
  update sync.runs r set metadata = r.metadata || coalesce(p_metadata, '{}')
  where r.id = p_run_id
  returning r.* into run;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  return run;
end;
$$;

--
-- Name: FUNCTION annotate_run(p_run_id bigint, p_metadata jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.annotate_run(p_run_id bigint, p_metadata jsonb) IS 'Merges keys into a run''s metadata (what it found: drift warnings, request counts, a verification''s verdict), in any status.';

--
-- Name: apply_airtable_cells(bigint, text, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.apply_airtable_cells(p_run_id bigint, p_entity text, p_cells jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION apply_airtable_cells(p_run_id bigint, p_entity text, p_cells jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.apply_airtable_cells(p_run_id bigint, p_entity text, p_cells jsonb) IS 'Writes Airtable cells into app rows: p_cells is {row id: {column: Airtable cell}}, converted exactly as the merge converts them (a link resolved to the live row with that Airtable id). A sync write under p_run_id, so it is audited but not captured in the outbox. Returns the rows written.';

--
-- Name: attach_file(text, uuid, text, text, text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.attach_file(p_entity text, p_row_id uuid, p_field_name text, p_filename text, p_sha256 text, p_content_type text DEFAULT NULL::text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  owner_column text;
  target regclass;
  attached uuid;
begin
  if audit.current_run_id() is not null then
    raise exception 'a file attached by hand is not a sync run''s change: airlift.run_id must be unset' using errcode = '55000';
  end if;
  select e.attachment_owner_column, e.target_table into owner_column, target from sync.entities e where e.entity = p_entity;
  if owner_column is null then
    raise exception 'entity % holds no attachments', p_entity using errcode = '22023';
  end if;
  if not exists (select from sync.entity_mappings m where m.entity = p_entity and m.attachment_field_ids ? p_field_name) then
    raise exception 'entity % has no attachment field %', p_entity, p_field_name using errcode = '22023',
      hint = (select 'its attachment fields: ' || string_agg(k, ', ') from sync.entity_mappings m, jsonb_object_keys(m.attachment_field_ids) k where m.entity = p_entity);
  end if;
  execute format('select 1 from %s where id = $1 and deleted_at is null', target) using p_row_id;
  if not found then
    raise exception 'no live % row %', p_entity, p_row_id using errcode = '02000';
  end if;
  execute format($sql$
    insert into app.attachments (%I, field_name, position, filename, sha256, mime_type)
    select $1, $2, coalesce((select max(position) + 1 from app.attachments where %I = $1 and field_name = $2 and deleted_at is null), 0), $3, $4, $5
    returning id
  $sql$, owner_column, owner_column) into attached using p_row_id, p_field_name, p_filename, p_sha256, nullif(p_content_type, '');
  return attached;
end;
$_$;

--
-- Name: FUNCTION attach_file(p_entity text, p_row_id uuid, p_field_name text, p_filename text, p_sha256 text, p_content_type text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.attach_file(p_entity text, p_row_id uuid, p_field_name text, p_filename text, p_sha256 text, p_content_type text) IS 'Attaches a stored file (by SHA-256, already in sync.stored_files) to a row''s attachment field, at the end of the cell, as a person''s change: audited with the actor and queued for the push to upload. Refuses an entity without attachments, a field the mapping does not have, a row that is not there. Security definer: the sync role may not write app tables directly.';

--
-- Name: attach_target_triggers(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.attach_target_triggers(p_entity text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  target regclass;
begin
  select e.target_table into target from sync.entities e where e.entity = p_entity;
  if target is null then
    raise exception 'no entity %: register it in sync.entities first', p_entity using errcode = 'undefined_object';
  end if;
  perform audit.enable_for(target);
  execute format('drop trigger if exists _800_target_checksums_insert on %s', target);
  execute format('drop trigger if exists _800_target_checksums_update on %s', target);
  execute format('drop trigger if exists _800_target_checksums_delete on %s', target);
  execute format('drop trigger if exists _800_target_checksums_truncate on %s', target);
  execute format('create trigger _800_target_checksums_insert after insert on %s referencing new table as new_rows '
                 'for each statement execute function sync.tg__maintain_target_checksums(%L)', target, p_entity);
  execute format('create trigger _800_target_checksums_update after update on %s referencing new table as new_rows '
                 'for each statement execute function sync.tg__maintain_target_checksums(%L)', target, p_entity);
  execute format('create trigger _800_target_checksums_delete after delete on %s referencing old table as old_rows '
                 'for each statement execute function sync.tg__maintain_target_checksums(%L)', target, p_entity);
  execute format('create trigger _800_target_checksums_truncate after truncate on %s '
                 'for each statement execute function sync.tg__maintain_target_checksums(%L)', target, p_entity);
  -- ENABLE ALWAYS, as on the app tables: a replica session must not skip them
  execute format('alter table %s enable always trigger _800_target_checksums_insert, enable always trigger _800_target_checksums_update, '
                 'enable always trigger _800_target_checksums_delete, enable always trigger _800_target_checksums_truncate', target);
end;
$$;

--
-- Name: FUNCTION attach_target_triggers(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.attach_target_triggers(p_entity text) IS 'Attaches to a registered entity''s target table the statement-level triggers every synced table has: target checksums (sync.tg__maintain_target_checksums, ENABLE ALWAYS) and the audit trail (audit.enable_for). Idempotent. Used by the migration that creates a new target schema.';

--
-- Name: attachment_differentials(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.attachment_differentials(p_entity text) RETURNS TABLE(record_key text, field_name text, attachment_key text, filename text, change text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  mapping sync.entity_mappings;
  owner_column text;
  target regclass;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  select e.attachment_owner_column, e.target_table into owner_column, target from sync.entities e where e.entity = p_entity;
  if mapping.entity is null or owner_column is null or mapping.attachment_field_ids = '{}'::jsonb then
    return;
  end if;
  return query execute format($sql$
    with source_files as (
      select s.source_key, f.key as field_name, file ->> 'id' as attachment_key, file ->> 'filename' as filename
      from staging.source_records s
      cross join jsonb_each_text($2) as f (key, field_id)
      cross join lateral jsonb_array_elements(case when jsonb_typeof(s.fields -> f.field_id) = 'array' then s.fields -> f.field_id else '[]' end) as file
      where s.source_table = $3 and file ->> 'id' is not null
    ), target_files as (
      select i.legacy_id as source_key, a.field_name, a.airtable_attachment_id as attachment_key, a.filename
      from app.attachments a
      join sync.id_map i on i.entity_type = $1 and i.uuid_id = a.%1$I
      where a.%1$I is not null and a.deleted_at is null and a.airtable_attachment_id is not null
    ), both_hold as (
      select s.source_key from staging.source_records s
      join sync.id_map i on i.entity_type = $1 and i.legacy_id = s.source_key
      join %2$s t on t.id = i.uuid_id and t.deleted_at is null
      where s.source_table = $3
    )
    select coalesce(s.source_key, t.source_key), coalesce(s.field_name, t.field_name), coalesce(s.attachment_key, t.attachment_key),
           coalesce(s.filename, t.filename), case when t.attachment_key is null then 'added' else 'removed' end
    from source_files s
    full join target_files t on t.source_key = s.source_key and t.field_name = s.field_name and t.attachment_key = s.attachment_key
    where (s.attachment_key is null or t.attachment_key is null)
      and coalesce(s.source_key, t.source_key) in (select source_key from both_hold)
    order by 1, 2, 3
  $sql$, owner_column, target) using p_entity, mapping.attachment_field_ids, mapping.source_table;
end;
$_$;

--
-- Name: FUNCTION attachment_differentials(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.attachment_differentials(p_entity text) IS 'The attachment differences of an entity''s records that both sides hold: files the source snapshot''s cells (staging.source_records) list and no live app.attachments row has (added in the source), and live rows with a source attachment id that the cells no longer list (removed in the source). Files attached here and not pushed yet are not differences. A record''s canonical form leaves attachments out, so these are reported apart from conflicted records. Security definer: the sync role reads app rows through it.';

--
-- Name: attachment_file_problems(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.attachment_file_problems() RETURNS TABLE(attachment_id uuid, airtable_attachment_id text, field_name text, filename text, sha256 text, problem text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select a.id, a.airtable_attachment_id, a.field_name, a.filename, a.sha256,
         case
           when a.sha256 is null then 'not downloaded' || coalesce(format(' (%s attempts, last: %s)', d.attempts, d.last_error), '')
           when f.verify_problem is not null then f.verify_problem
           when a.airtable_attachment_id is not null and a.size_bytes is not null and a.size_bytes <> a.stored_size_bytes
             then format('Airtable declares %s bytes, the stored file has %s', a.size_bytes, a.stored_size_bytes)
         end
  from app.attachments a
  left join sync.stored_files f on f.sha256 = a.sha256
  left join sync.attachment_downloads d on d.attachment_key = a.airtable_attachment_id and d.sha256 is null
  where a.deleted_at is null
    and (a.sha256 is null or f.verify_problem is not null
         or (a.airtable_attachment_id is not null and a.size_bytes is not null and a.size_bytes <> a.stored_size_bytes))
  order by a.field_name, a.filename, a.id
$$;

--
-- Name: FUNCTION attachment_file_problems(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.attachment_file_problems() IS 'Live attachments whose file is missing from the store or not as declared: not downloaded (with the download''s attempts and last error), missing or corrupt when last verified (sync.stored_files.verify_problem), or of another size than Airtable declares. Security definer: the sync role reads the ledger and app rows through one function.';

--
-- Name: attachments_missing_files(text, integer); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.attachments_missing_files(p_source_id text, p_limit integer DEFAULT 1000) RETURNS TABLE(attachment_key text, entity text, source_table text, record_key text, field_id text, field_name text, filename text, url text, url_fetched_at timestamp with time zone, declared_size bigint, declared_type text, attempts integer, last_error text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  parts text;
begin
  select string_agg(format($sql$
      select a.airtable_attachment_id, %1$L::text, %2$L::text, i.legacy_id, %3$L::jsonb ->> a.field_name, a.field_name,
             a.filename, a.url, a.url_fetched_at, a.size_bytes, a.mime_type
      from app.attachments a
      join sync.id_map i on i.entity_type = %1$L and i.uuid_id = a.%4$I
      where a.%4$I is not null and a.sha256 is null and a.deleted_at is null and a.airtable_attachment_id is not null
        and %3$L::jsonb ? a.field_name
    $sql$, m.entity, m.source_table, m.attachment_field_ids, e.attachment_owner_column), ' union all ')
  into parts
  from sync.entity_mappings m
  join sync.entities e on e.entity = m.entity
  where m.source_id = p_source_id and e.attachment_owner_column is not null and m.attachment_field_ids <> '{}'::jsonb;
  if parts is null then
    return;
  end if;
  return query execute format($sql$
    select distinct on (x.key) x.key, x.entity, x.source_table, x.record_key, x.field_id, x.field_name, x.filename, x.url, x.url_fetched_at,
           x.declared_size, x.declared_type, coalesce(d.attempts, 0), d.last_error
    from (%s) as x (key, entity, source_table, record_key, field_id, field_name, filename, url, url_fetched_at, declared_size, declared_type)
    left join sync.attachment_downloads d on d.source_id = $1 and d.attachment_key = x.key
    where d.sha256 is null
    order by x.key
    limit $2
  $sql$, parts) using p_source_id, p_limit;
end;
$_$;

--
-- Name: FUNCTION attachments_missing_files(p_source_id text, p_limit integer); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.attachments_missing_files(p_source_id text, p_limit integer) IS 'Attachments of source p_source_id that live app.attachments rows list and whose file is not stored yet (never downloaded, or failed: attempts and last_error from sync.attachment_downloads), at most p_limit, with the record''s key, table and field id in the source so that the record can be read again for a fresh URL. Security definer: the sync role reads the id map and app rows through it.';

--
-- Name: cancel_run(bigint, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cancel_run(p_run_id bigint, p_reason text) RETURNS sync.runs
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  run sync.runs;
begin
  update sync.runs r set status = 'cancelled', finished_at = greatest(now(), r.started_at),
    metadata = r.metadata || jsonb_strip_nulls(jsonb_build_object('cancelled_because', p_reason))
  where r.id = p_run_id
  returning r.* into run;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  return run;
end;
$$;

--
-- Name: FUNCTION cancel_run(p_run_id bigint, p_reason text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cancel_run(p_run_id bigint, p_reason text) IS 'Cancels a running, pending or failed run that will not be resumed (superseded by another), with the reason in metadata.cancelled_because. A completed run cannot be cancelled (check_violation).';

--
-- Name: canonical_to_cell(jsonb, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.canonical_to_cell(p_value jsonb, p_conversion text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
  select case
    when p_value is null or jsonb_typeof(p_value) = 'null' then null
    when p_conversion = 'link' then case when jsonb_typeof(p_value) = 'array' then p_value else jsonb_build_array(p_value) end
    -- canonical timestamps are UTC without a zone; Airtable cells carry one
    when p_conversion = 'timestamp' and jsonb_typeof(p_value) = 'string' and p_value #>> '{}' !~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
      then to_jsonb((p_value #>> '{}') || 'Z')
    else p_value
  end
$_$;

--
-- Name: FUNCTION canonical_to_cell(p_value jsonb, p_conversion text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.canonical_to_cell(p_value jsonb, p_conversion text) IS 'A canonical value back as the Airtable cell it stands for (a link id as a one-element list, a UTC timestamp with its Z), so that a chosen value goes through the same cell converters as a pulled one.';

--
-- Name: cell_canonical(jsonb, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_canonical(cell jsonb, conversion text) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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

--
-- Name: FUNCTION cell_canonical(cell jsonb, conversion text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_canonical(cell jsonb, conversion text) IS 'A cell''s value in canonical form (jsonb), converted exactly as the merge converts it: the building block of source checksums. Inlinable, never raises; a cell that does not convert is null.';

--
-- Name: cell_checkbox(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_checkbox(cell jsonb) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select coalesce(case when jsonb_typeof(cell) = 'boolean' then (cell #>> '{}')::boolean end, false) $$;

--
-- Name: FUNCTION cell_checkbox(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_checkbox(cell jsonb) IS 'A checkbox cell as boolean: Airtable leaves unchecked boxes out, so an absent cell is false.';

--
-- Name: cell_date(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_date(cell jsonb) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select case when jsonb_typeof(cell) = 'string' and sync.is_iso_date(cell #>> '{}') then (cell #>> '{}')::date end $$;

--
-- Name: FUNCTION cell_date(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_date(cell jsonb) IS 'A date cell as date; null when empty or not a valid date.';

--
-- Name: cell_first_link(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_first_link(cell jsonb) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select case when sync.cell_problem(cell, 'link') is null and jsonb_typeof(cell) = 'array' then cell ->> 0 end $$;

--
-- Name: FUNCTION cell_first_link(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_first_link(cell jsonb) IS 'The first record id of a link cell. Airtable allows several even where the field prefers one; the first is the link, the rest is reported by validation.';

--
-- Name: cell_integer(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_integer(cell jsonb) RETURNS smallint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  -- The type test comes first and the value is clamped before the cast: once
  -- inlined, a constant argument is folded by the planner, and the cast must
  -- not raise there either.
  select case when jsonb_typeof(cell) = 'number' then
    case when sync.cell_problem(cell, 'integer') is null then greatest(least((cell #>> '{}')::numeric, 32767), -32768)::smallint end
  end
$$;

--
-- Name: FUNCTION cell_integer(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_integer(cell jsonb) IS 'A whole-number or rating cell as smallint; null when empty, fractional or out of range.';

--
-- Name: cell_lookup_text(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_lookup_text(cell jsonb) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select case when jsonb_typeof(cell) = 'string' then cell #>> '{}'
              when jsonb_typeof(cell) = 'array' and sync.cell_problem(cell, 'lookup_text') is null then cell ->> 0 end
$$;

--
-- Name: FUNCTION cell_lookup_text(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_lookup_text(cell jsonb) IS 'A lookup cell (a list of values from linked records) as its first value, as text.';

--
-- Name: cell_money(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_money(cell jsonb) RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select case when sync.cell_problem(cell, 'money') is null and jsonb_typeof(cell) = 'number' then round((cell #>> '{}')::numeric, 2) end $$;

--
-- Name: FUNCTION cell_money(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_money(cell jsonb) IS 'A currency or number cell as numeric(12,2), rounded to cents; null when empty, not a number or too large.';

--
-- Name: cell_problem(jsonb, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_problem(cell jsonb, conversion text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$
  select case
    when cell is null or jsonb_typeof(cell) = 'null' then null
    when conversion in ('text', 'select') then
      case when jsonb_typeof(cell) = 'string' then null
           else format('expected text, got %s', cell) end
    when conversion = 'date' then
      case when jsonb_typeof(cell) <> 'string' then format('expected a date, got %s', cell)
           when not sync.is_iso_date(cell #>> '{}') then format('not a valid date: %s', cell) end
    when conversion = 'timestamp' then
      case when jsonb_typeof(cell) <> 'string' then format('expected a timestamp, got %s', cell)
           when not sync.is_iso_timestamp(cell #>> '{}') then format('not a valid timestamp: %s', cell) end
    when conversion = 'money' then
      case when jsonb_typeof(cell) <> 'number' then format('expected a number, got %s', cell)
           when abs(round((cell #>> '{}')::numeric, 2)) >= 10000000000 then format('%s is too large for money (at most 9,999,999,999.99)', cell) end
    when conversion = 'integer' then
      case when jsonb_typeof(cell) <> 'number' then format('expected a whole number, got %s', cell)
           when (cell #>> '{}')::numeric <> trunc((cell #>> '{}')::numeric) then format('expected a whole number, got %s', cell)
           when abs((cell #>> '{}')::numeric) > 32767 then format('%s is out of range for a small integer', cell) end
    when conversion = 'checkbox' then
      case when jsonb_typeof(cell) <> 'boolean' then format('expected a checkbox (true), got %s', cell) end
    when conversion = 'multi_select' then
      case when jsonb_typeof(cell) <> 'array' then format('expected a list of options, got %s', cell)
           when jsonb_path_exists(cell, 'strict $[*] ? (@.type() != "string")') then format('expected a list of option names, got %s', cell) end
    when conversion = 'lookup_text' then
      case when jsonb_typeof(cell) = 'string' then null
           when jsonb_typeof(cell) <> 'array' then format('expected a lookup value, got %s', cell)
           when jsonb_path_exists(cell, 'strict $[*] ? (@.type() != "string" && @.type() != "number")') then format('expected text lookup values, got %s', cell) end
    when conversion = 'collaborator' then
      case when jsonb_typeof(cell) <> 'object' or coalesce(cell ->> 'id', '') !~ '^usr[A-Za-z0-9]{14}$' then format('expected a collaborator {id, email, name}, got %s', cell) end
    when conversion = 'link' then
      -- any source's record keys (Airtable's rec... ids, a wallet address, a
      -- legacy integer id as text): a key that names no record is a
      -- dangling link, found by the merge, not a conversion problem
      case when jsonb_typeof(cell) <> 'array' then format('expected a list of linked record keys, got %s', cell)
           when jsonb_path_exists(cell, 'strict $[*] ? (@.type() != "string" || @ == "")')
             then format('expected linked record keys (non-empty text), got %s', cell) end
    when conversion = 'attachments' then
      case when jsonb_typeof(cell) <> 'array' then format('expected a list of attachments, got %s', cell)
           when jsonb_path_exists(cell, 'lax $[*] ? (@.type() != "object"
                                      || !exists(@.id) || !(@.id like_regex "^att[A-Za-z0-9]{14}$")
                                      || !exists(@.filename) || @.filename.type() != "string" || @.filename like_regex "^\\s*$"
                                      || (exists(@.size) && (@.size.type() != "number" || @.size < 0 || @.size.floor() != @.size
                                                             || @.size > 9223372036854775807)))')
             then format('expected attachments {id, filename, size, type}, got %s', cell) end
    else format('unknown conversion %s', conversion)
  end
$_$;

--
-- Name: FUNCTION cell_problem(cell jsonb, conversion text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_problem(cell jsonb, conversion text) IS 'Why an Airtable cell cannot be converted as the mapping says (text, select, date, timestamp, money, integer, checkbox, multi_select, lookup_text, collaborator, link, attachments), in words that name the value; null when it can, or when the cell is empty.';

--
-- Name: cell_text(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_text(cell jsonb) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select case when jsonb_typeof(cell) = 'string' then cell #>> '{}' end $$;

--
-- Name: FUNCTION cell_text(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_text(cell jsonb) IS 'A text or select cell as text, exactly as entered; null when empty or not text.';

--
-- Name: cell_text_array(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_text_array(cell jsonb) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select case when sync.cell_problem(cell, 'multi_select') is null and jsonb_typeof(cell) = 'array'
              then array(select e from jsonb_array_elements_text(cell) with ordinality as x(e, n) order by n)
              else '{}'::text[] end
$$;

--
-- Name: FUNCTION cell_text_array(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_text_array(cell jsonb) IS 'A multiple-select cell as text[], in Airtable''s order; empty when absent.';

--
-- Name: cell_timestamp(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.cell_timestamp(cell jsonb) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select case when jsonb_typeof(cell) = 'string' and sync.is_iso_timestamp(cell #>> '{}') then (cell #>> '{}')::timestamptz end $$;

--
-- Name: FUNCTION cell_timestamp(cell jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.cell_timestamp(cell jsonb) IS 'A date-time cell as timestamptz; null when empty or not a valid ISO timestamp.';

--
-- Name: checksum(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.checksum(p_canonical jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ select encode(sha256(convert_to(p_canonical::text, 'UTF8')), 'hex') $$;

--
-- Name: FUNCTION checksum(p_canonical jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.checksum(p_canonical jsonb) IS 'SHA-256 (hex) of a canonical form''s text: the record checksum stored in staging and in sync.id_map.';

--
-- Name: checksum_term(text, bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.checksum_term(p_checksum text, p_seed bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ select hashtextextended(p_checksum, p_seed) $$;

--
-- Name: FUNCTION checksum_term(p_checksum text, p_seed bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.checksum_term(p_checksum text, p_seed bigint) IS 'A record checksum''s term in an order-independent table checksum: PostgreSQL''s 64-bit hash of the checksum text under a seed (two seeds give two independent 64-bit sums). Cheaper than slicing the hex (a million terms in about 20 ms); any change of the record checksum changes it. Inlinable.';

--
-- Name: claim_attachment_outbox(bigint, integer); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.claim_attachment_outbox(p_run_id bigint, p_limit integer DEFAULT 100) RETURNS TABLE(outbox_id bigint, operation text, attachment_id uuid, entity text, source_table text, record_key text, field_id text, field_name text, airtable_attachment_id text, filename text, sha256 text, store_kind text, store_key text, size_bytes bigint, content_type text)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  with claimable as (
    select x.id
    from sync.attachment_outbox x
    where x.status = 'pending'
       or (x.status = 'in_flight' and not exists (select from sync.runs r where r.id = x.pushed_by_run_id and r.status = 'running'))
    order by x.id
    limit p_limit
    for update skip locked
  ), claimed as (
    update sync.attachment_outbox x
    set status = 'in_flight', attempts = x.attempts + 1, pushed_by_run_id = p_run_id, updated_at = now()
    from claimable c
    where x.id = c.id
    returning x.*
  )
  select c.id, c.operation, c.attachment_id, c.entity, m.source_table, i.legacy_id, m.attachment_field_ids ->> c.field_name, c.field_name,
         coalesce(c.airtable_attachment_id, a.airtable_attachment_id), a.filename, a.sha256, f.store_kind, f.store_key, f.size_bytes,
         coalesce(a.mime_type, f.content_type)
  from claimed c
  left join sync.entity_mappings m on m.entity = c.entity
  left join sync.id_map i on i.entity_type = c.entity and i.uuid_id = c.owner_row_id
  left join app.attachments a on a.id = c.attachment_id
  left join sync.stored_files f on f.sha256 = a.sha256
  order by c.id
$$;

--
-- Name: FUNCTION claim_attachment_outbox(p_run_id bigint, p_limit integer); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.claim_attachment_outbox(p_run_id bigint, p_limit integer) IS 'Claims up to p_limit pending entries of sync.attachment_outbox for push run p_run_id (and entries a dead push left in flight), in order, marking them in_flight, and returns each with the owner''s Airtable record (record_key null while the owner is not in Airtable yet), the Airtable field id, and the file (name, SHA-256, store key, size, type). Security definer: the sync role reads app rows and the id map through it.';

--
-- Name: outbox; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.outbox (
    id bigint NOT NULL,
    entity text NOT NULL,
    row_id uuid NOT NULL,
    source_key text,
    operation text NOT NULL,
    changed_columns text[] DEFAULT '{}'::text[] NOT NULL,
    before_values jsonb DEFAULT '{}'::jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone,
    claimed_at timestamp with time zone,
    run_id bigint,
    push_plan jsonb,
    last_error text,
    airtable_response jsonb,
    changed_by text,
    last_changed_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    pushed_at timestamp with time zone,
    CONSTRAINT outbox_attempts_not_negative CHECK ((attempts >= 0)),
    CONSTRAINT outbox_before_values_is_object CHECK ((jsonb_typeof(before_values) = 'object'::text)),
    CONSTRAINT outbox_failure_has_message CHECK (((status <> 'failed'::text) OR (last_error IS NOT NULL))),
    CONSTRAINT outbox_in_flight_is_claimed CHECK (((status <> 'in_flight'::text) OR (claimed_at IS NOT NULL))),
    CONSTRAINT outbox_operation_is_known CHECK ((operation = ANY (ARRAY['create'::text, 'update'::text, 'delete'::text]))),
    CONSTRAINT outbox_pushed_has_time CHECK (((status = 'pushed'::text) = (pushed_at IS NOT NULL))),
    CONSTRAINT outbox_source_key_format CHECK ((source_key ~ '^rec[A-Za-z0-9]{14}$'::text)),
    CONSTRAINT outbox_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'in_flight'::text, 'pushed'::text, 'skipped'::text, 'failed'::text, 'superseded'::text])))
);

--
-- Name: TABLE outbox; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.outbox IS 'Changes of synced app rows made here (not by the sync), waiting to be pushed to Airtable: one open entry per row, coalescing later changes, with the values before the first change as the base of conflict detection. Filled by the _950_capture_changes_* triggers; drained by the push through sync.claim_outbox, sync.plan_push and sync.mark_outbox_*.';

--
-- Name: COLUMN outbox.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.id IS 'Order of capture; older entries are pushed first.';

--
-- Name: COLUMN outbox.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.entity IS 'The entity (sync.entities) of the changed row.';

--
-- Name: COLUMN outbox.row_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.row_id IS 'The app row''s id. No foreign key: a hard-deleted row must still be deleted in Airtable.';

--
-- Name: COLUMN outbox.source_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.source_key IS 'The row''s record id in the source it is pushed to (an Airtable record id, rec...); null for a row not yet there (filled when its create is pushed).';

--
-- Name: COLUMN outbox.operation; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.operation IS 'create (the row is not in Airtable yet), update, or delete (soft or hard delete here). Coalescing: create then update stays create, update then delete becomes delete, delete then restore becomes update.';

--
-- Name: COLUMN outbox.changed_columns; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.changed_columns IS 'The pushable columns changed since the entry opened, sorted (for a create: those with a value): the mapped ones, or the catalogue''s while no mapping was loaded (the push plans only the mapped ones).';

--
-- Name: COLUMN outbox.before_values; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.before_values IS 'Column -> canonical value (sync.cell_canonical form) before the first change of that column since the entry opened: the base of the three-way comparison. Empty for a create.';

--
-- Name: COLUMN outbox.status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.status IS 'pending, in_flight, pushed, skipped (nothing had to be sent), failed (refused by Airtable or out of retries) or superseded (merged away).';

--
-- Name: COLUMN outbox.attempts; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.attempts IS 'Push attempts so far (claims); reset when a failed entry is reopened.';

--
-- Name: COLUMN outbox.next_attempt_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.next_attempt_at IS 'Earliest time of the next attempt after a transient error (exponential backoff, sync.outbox_retry_delay); null: now.';

--
-- Name: COLUMN outbox.claimed_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.claimed_at IS 'When the entry was last claimed by a push run.';

--
-- Name: COLUMN outbox.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.run_id IS 'The push run that last claimed the entry.';

--
-- Name: COLUMN outbox.push_plan; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.push_plan IS 'What sync.plan_push decided: the action, the fields sent, the fields Airtable won, the conflicts recorded.';

--
-- Name: COLUMN outbox.last_error; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.last_error IS 'Airtable''s message (or the reason) of the last failure.';

--
-- Name: COLUMN outbox.airtable_response; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.airtable_response IS 'Airtable''s response for this record (the created or updated record, or the error body).';

--
-- Name: COLUMN outbox.changed_by; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.changed_by IS 'Who made the latest captured change: airlift.actor, else the database role.';

--
-- Name: COLUMN outbox.last_changed_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.last_changed_at IS 'When the latest change was merged into the entry.';

--
-- Name: COLUMN outbox.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.created_at IS 'When the first change was captured.';

--
-- Name: COLUMN outbox.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.updated_at IS 'When the entry last changed.';

--
-- Name: COLUMN outbox.pushed_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.outbox.pushed_at IS 'When Airtable accepted the change; set exactly when pushed.';

--
-- Name: claim_outbox(bigint, text, text, integer); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.claim_outbox(p_run_id bigint, p_entity text, p_operation text DEFAULT NULL::text, p_limit integer DEFAULT 10) RETURNS SETOF sync.outbox
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION claim_outbox(p_run_id bigint, p_entity text, p_operation text, p_limit integer); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.claim_outbox(p_run_id bigint, p_entity text, p_operation text, p_limit integer) IS 'Claims up to p_limit due pending entries of an entity (oldest first, optionally one operation) for push run p_run_id: they become in_flight with one more attempt. Skips locked entries (several pushers may run), entries this run claimed before (a deferred entry waits for the next run), updates and deletes still waiting for their row''s Airtable id, and rows with an entry in flight. Push entities in merge_rank order so that links find their targets created.';

--
-- Name: column_list(text, text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.column_list(p_alias text, p_columns text[]) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select string_agg(case when p_alias is null then format('%I', c.name) else format('%I.%I', p_alias, c.name) end, ', ' order by c.position)
  from unnest(p_columns) with ordinality as c (name, position)
$$;

--
-- Name: FUNCTION column_list(p_alias text, p_columns text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.column_list(p_alias text, p_columns text[]) IS 'Quoted column names joined by commas, each qualified by p_alias unless it is null: a piece of the statements a restore builds.';

--
-- Name: compare_records(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.compare_records(p_entity text) RETURNS TABLE(source_key text, in_source boolean, in_target boolean, target_deleted boolean, quarantined boolean, source_checksum text, target_checksum text, target_canonical jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION compare_records(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.compare_records(p_entity text) IS 'Every record of an entity in the latest source snapshot and/or the target, with both checksums and whether it is quarantined: the one pass verification and differentials are built on.';

--
-- Name: complete_checkpoint(uuid, jsonb, bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.complete_checkpoint(p_checkpoint_id uuid, p_metadata jsonb DEFAULT '{}'::jsonb, p_records_total bigint DEFAULT NULL::bigint) RETURNS sync.checkpoints
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  checkpoint sync.checkpoints;
begin
  update sync.checkpoints c
  set status = 'completed', completed_at = greatest(clock_timestamp(), c.started_at + interval '1 microsecond'),
      records_total = coalesce(p_records_total, c.records_total),
      metadata = c.metadata || coalesce(p_metadata, '{}')
  where c.id = p_checkpoint_id
  returning c.* into checkpoint;
  if not found then
    raise exception 'no checkpoint %', p_checkpoint_id using errcode = 'no_data_found';
  end if;
  return checkpoint;
end;
$$;

--
-- Name: FUNCTION complete_checkpoint(p_checkpoint_id uuid, p_metadata jsonb, p_records_total bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.complete_checkpoint(p_checkpoint_id uuid, p_metadata jsonb, p_records_total bigint) IS 'Completes a checkpoint now (after its start), merging metadata (the table''s summary) and, when given, setting its final total. Only an in-progress checkpoint completes (check_violation otherwise).';

--
-- Name: complete_run(bigint, bigint, bigint, bigint, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.complete_run(p_run_id bigint, p_inserted bigint, p_updated bigint, p_deleted bigint, p_metadata jsonb DEFAULT '{}'::jsonb) RETURNS sync.runs
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  run sync.runs;
begin
  update sync.runs r set status = 'completed', finished_at = greatest(now(), r.started_at),
    fetched = p_inserted + p_updated, inserted = p_inserted, updated = p_updated, deleted = p_deleted,
    metadata = r.metadata || coalesce(p_metadata, '{}')
  where r.id = p_run_id
  returning r.* into run;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  return run;
end;
$$;

--
-- Name: FUNCTION complete_run(p_run_id bigint, p_inserted bigint, p_updated bigint, p_deleted bigint, p_metadata jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.complete_run(p_run_id bigint, p_inserted bigint, p_updated bigint, p_deleted bigint, p_metadata jsonb) IS 'Completes a run whose counts the caller knows (a rollback, a snapshot restore: the app rows it wrote): fetched = inserted + updated, deleted as given, metadata merged. Runs counted from their checkpoints end with sync.finish_run instead.';

--
-- Name: data_differentials; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.data_differentials (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    run_id bigint,
    source_table text NOT NULL,
    target_table text NOT NULL,
    comparison_type text NOT NULL,
    legacy_ids jsonb DEFAULT '[]'::jsonb NOT NULL,
    record_count integer DEFAULT 0 NOT NULL,
    comparison_criteria jsonb DEFAULT '{}'::jsonb NOT NULL,
    resolution_strategy text DEFAULT 'source_wins'::text NOT NULL,
    resolved boolean DEFAULT false NOT NULL,
    resolved_at timestamp with time zone,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT data_differentials_comparison_type_is_known CHECK ((comparison_type = ANY (ARRAY['missing_records'::text, 'conflicted_records'::text, 'deleted_records'::text]))),
    CONSTRAINT data_differentials_count_matches_ids CHECK (((jsonb_typeof(legacy_ids) <> 'array'::text) OR (record_count = jsonb_array_length(legacy_ids)))),
    CONSTRAINT data_differentials_legacy_ids_is_array CHECK ((jsonb_typeof(legacy_ids) = 'array'::text)),
    CONSTRAINT data_differentials_resolved_has_time CHECK (((NOT resolved) OR (resolved_at IS NOT NULL))),
    CONSTRAINT data_differentials_strategy_is_known CHECK ((resolution_strategy = ANY (ARRAY['source_wins'::text, 'target_wins'::text, 'manual_review'::text, 'skip'::text])))
);

--
-- Name: TABLE data_differentials; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.data_differentials IS 'Differences found between a source snapshot and the target: records missing from the target, in conflict, or deleted at the source; and how each was resolved.';

--
-- Name: COLUMN data_differentials.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.id IS 'Primary key.';

--
-- Name: COLUMN data_differentials.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.run_id IS 'The run that computed the differential.';

--
-- Name: COLUMN data_differentials.source_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.source_table IS 'Source table compared.';

--
-- Name: COLUMN data_differentials.target_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.target_table IS 'Target table compared.';

--
-- Name: COLUMN data_differentials.comparison_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.comparison_type IS 'missing_records, conflicted_records or deleted_records.';

--
-- Name: COLUMN data_differentials.legacy_ids; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.legacy_ids IS 'JSON array of the source ids concerned.';

--
-- Name: COLUMN data_differentials.record_count; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.record_count IS 'Number of ids in legacy_ids.';

--
-- Name: COLUMN data_differentials.comparison_criteria; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.comparison_criteria IS 'How the comparison was made (keys, checksum algorithm, snapshot run).';

--
-- Name: COLUMN data_differentials.resolution_strategy; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.resolution_strategy IS 'source_wins, target_wins, manual_review or skip.';

--
-- Name: COLUMN data_differentials.resolved; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.resolved IS 'Whether the strategy was applied.';

--
-- Name: COLUMN data_differentials.resolved_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.resolved_at IS 'When it was resolved; required when resolved.';

--
-- Name: COLUMN data_differentials.metadata; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.metadata IS 'Details such as the differing fields.';

--
-- Name: COLUMN data_differentials.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.created_at IS 'When the differential was found.';

--
-- Name: COLUMN data_differentials.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.data_differentials.updated_at IS 'When it last changed.';

--
-- Name: compute_differentials(bigint, text, text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.compute_differentials(p_run_id bigint, p_entity text, p_after_key text DEFAULT NULL::text, p_upto_key text DEFAULT NULL::text) RETURNS SETOF sync.data_differentials
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '128MB'
    SET parallel_setup_cost TO '0'
    SET parallel_tuple_cost TO '0'
    SET enable_hashjoin TO 'on'
    AS $_$
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
$_$;

--
-- Name: FUNCTION compute_differentials(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.compute_differentials(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text) IS 'Compares the latest source snapshot of an entity with the target over one key range (source_key in (p_after_key, p_upto_key]; null bounds are open), set-based in one join of stored checksums, quarantined records left out, and stores one sync.data_differentials row per comparison type found (missing_records, conflicted_records with the differing fields, deleted_records) under run p_run_id. Returns the rows stored. Security definer: reads app and staging for the sync role.';

--
-- Name: conflict_policy_for(text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.conflict_policy_for(p_entity text, p_column text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce(
    (select p.policy from sync.conflict_policies p where p.entity = p_entity and p.column_name = p_column),
    (select p.policy from sync.conflict_policies p where p.entity = p_entity and p.column_name is null),
    'source_wins')
$$;

--
-- Name: FUNCTION conflict_policy_for(p_entity text, p_column text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.conflict_policy_for(p_entity text, p_column text) IS 'The conflict policy in force for one column: the column''s own policy, else the table''s, else source_wins.';

--
-- Name: converted_cells_sql(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.converted_cells_sql(p_entity text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION converted_cells_sql(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.converted_cells_sql(p_entity text) IS 'The select list that converts a staged record (alias s) the way the merge does: for every mapped column the raw cell as raw__<column> and the converted value as <column> (key__<column>, the Airtable id, for links and collaborators). Shared by the merge and the validation rules, so both see the same values.';

--
-- Name: count_staged_records(bigint, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.count_staged_records(p_run_id bigint, p_entity text) RETURNS bigint
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  -- read in the listing (records and rejects), less those staging already
  -- held unchanged (untouched) and those rejected before staging
  update sync.checkpoints c
  set metadata = c.metadata || jsonb_build_object('staged',
        c.records_processed - coalesce((c.metadata ->> 'untouched')::bigint, 0) - coalesce((c.metadata ->> 'rejected')::bigint, 0))
  where c.run_id = p_run_id and c.operation_type = 'sync_operation' and c.entity_type = p_entity
  returning (c.metadata ->> 'staged')::bigint
$$;

--
-- Name: FUNCTION count_staged_records(p_run_id bigint, p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.count_staged_records(p_run_id bigint, p_entity text) IS 'For a stage-only run, once a table is listed: the records the listing staged (read, less those left untouched and those rejected), written to the table''s checkpoint as staged and returned. What a merge''s counts are to a pull, this is to a source snapshot.';

--
-- Name: snapshots; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.snapshots (
    id bigint NOT NULL,
    label text NOT NULL,
    schema_name text GENERATED ALWAYS AS (('airlift_snapshot_'::text || id)) STORED NOT NULL,
    taken_at timestamp with time zone DEFAULT now() NOT NULL,
    taken_by text NOT NULL,
    run_id bigint,
    last_run_before_snapshot bigint,
    tables jsonb DEFAULT '{}'::jsonb NOT NULL,
    restored_at timestamp with time zone,
    restored_by_run_id bigint,
    dropped_at timestamp with time zone,
    CONSTRAINT snapshots_dropped_after_taken CHECK ((dropped_at >= taken_at)),
    CONSTRAINT snapshots_label_not_blank CHECK ((btrim(label) <> ''::text)),
    CONSTRAINT snapshots_restore_run_has_time CHECK (((restored_by_run_id IS NULL) OR (restored_at IS NOT NULL))),
    CONSTRAINT snapshots_restored_after_taken CHECK ((restored_at >= taken_at)),
    CONSTRAINT snapshots_tables_is_object CHECK ((jsonb_typeof(tables) = 'object'::text)),
    CONSTRAINT snapshots_taken_by_not_blank CHECK ((btrim(taken_by) <> ''::text))
);

--
-- Name: TABLE snapshots; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.snapshots IS 'Safety snapshots taken inside the database (the embedded server has no pg_dump): each is a private schema holding a copy of every app table, sync.id_map and staging.source_records, restorable with sync.restore_snapshot.';

--
-- Name: COLUMN snapshots.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.id IS 'Snapshot number, as the CLI shows it (airlift snapshot restore <id>).';

--
-- Name: COLUMN snapshots.label; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.label IS 'What the snapshot is for, e.g. before pull.';

--
-- Name: COLUMN snapshots.schema_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.schema_name IS 'The schema holding the copies: airlift_snapshot_<id>, readable by its owner only.';

--
-- Name: COLUMN snapshots.taken_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.taken_at IS 'When the snapshot was taken (start of its transaction).';

--
-- Name: COLUMN snapshots.taken_by; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.taken_by IS 'Who took it (CLI user, worker).';

--
-- Name: COLUMN snapshots.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.run_id IS 'The run whose start the snapshot protects, if any (airlift pull --snapshot records its run here).';

--
-- Name: COLUMN snapshots.last_run_before_snapshot; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.last_run_before_snapshot IS 'The newest run that existed when the snapshot was taken (before run_id when given); a restore undoes the data runs numbered after it. A watermark, not a reference: null when there was none.';

--
-- Name: COLUMN snapshots.tables; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.tables IS 'Per copied table, keyed by its name (app.clients): {"copy": the table in schema_name, "rows": row count, "checksum": order-independent content checksum of its stored columns}.';

--
-- Name: COLUMN snapshots.restored_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.restored_at IS 'When the snapshot was last restored; null if never.';

--
-- Name: COLUMN snapshots.restored_by_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.restored_by_run_id IS 'The rollback run that last restored it.';

--
-- Name: COLUMN snapshots.dropped_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.snapshots.dropped_at IS 'When its schema was dropped; a dropped snapshot cannot be restored.';

--
-- Name: drop_snapshot(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.drop_snapshot(p_snapshot_id bigint) RETURNS sync.snapshots
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  snapshot sync.snapshots;
begin
  select * into snapshot from sync.snapshots s where s.id = p_snapshot_id for update;
  if not found then
    raise exception 'no snapshot %', p_snapshot_id using errcode = 'no_data_found';
  end if;
  if snapshot.dropped_at is not null then
    raise exception 'snapshot % was already dropped at %', p_snapshot_id, snapshot.dropped_at
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  execute format('drop schema if exists %I cascade', snapshot.schema_name);
  update sync.snapshots s set dropped_at = now() where s.id = p_snapshot_id returning s.* into snapshot;
  return snapshot;
end;
$$;

--
-- Name: FUNCTION drop_snapshot(p_snapshot_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.drop_snapshot(p_snapshot_id bigint) IS 'Drops a snapshot''s schema and its copies, freeing the space, and marks it dropped (its row stays, as history). Refuses an unknown (P0002) or already dropped (55000) snapshot. Security definer: only the owner may drop the schema.';

--
-- Name: entity_checksums(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.entity_checksums(p_entity text) RETURNS TABLE(source_records bigint, source_checksum text, target_records bigint, target_checksum text)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select count(*) filter (where c.in_source and not c.quarantined),
         sync.table_checksum(array_agg(c.source_checksum) filter (where c.in_source and not c.quarantined)),
         count(*) filter (where c.in_target),
         sync.table_checksum(array_agg(c.target_checksum) filter (where c.in_target))
  from sync.compare_records(p_entity) c
$$;

--
-- Name: FUNCTION entity_checksums(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.entity_checksums(p_entity text) IS 'Whole-table checksums of an entity, rebuilt from the app rows: the source snapshot (quarantine left out) and the live target rows; equal when the target holds exactly what the source says.';

--
-- Name: entity_row_counts(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.entity_row_counts() RETURNS TABLE(entity text, live bigint, gone bigint, flagged bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  statement text;
begin
  select string_agg(format('select %L::text, count(*) filter (where t.deleted_at is null), count(*) filter (where t.deleted_at is not null), '
                           || 'count(*) filter (where t.deleted_at is null and t.open_problem_count > 0) from %s t', e.entity, e.target_table),
                    ' union all ' order by e.merge_rank, e.entity)
    into statement
  from sync.entities e;
  if statement is not null then
    return query execute statement;
  end if;
end;
$$;

--
-- Name: FUNCTION entity_row_counts(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.entity_row_counts() IS 'Live, soft-deleted and flagged (open field problems) rows of every entity''s target table, one statement over the catalogue: what `airlift status` counts. Security definer: reads target schemas the caller may not be granted.';

--
-- Name: fail_run(bigint, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.fail_run(p_run_id bigint, p_error text) RETURNS sync.runs
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION fail_run(p_run_id bigint, p_error text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.fail_run(p_run_id bigint, p_error text) IS 'Marks a run failed with its error; its checkpoints keep their resume points (offset, last record), so running again resumes it.';

--
-- Name: finish_attachment_push(bigint, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.finish_attachment_push(p_run_id bigint, p_results jsonb) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  finished bigint;
begin
  perform set_config('airlift.run_id', p_run_id::text, true);
  create temporary table if not exists attachment_push_results (
    outbox_id bigint, outcome text, airtable_attachment_id text, url text, size_bytes bigint, content_type text, error text
  ) on commit drop;
  truncate attachment_push_results;
  insert into attachment_push_results
  select * from jsonb_to_recordset(p_results) as r (outbox_id bigint, outcome text, airtable_attachment_id text, url text, size_bytes bigint,
                                                     content_type text, error text);
  if exists (select from attachment_push_results where outcome not in ('pushed', 'failed', 'deferred') or outcome is null
                                                     or (outcome = 'failed' and error is null)) then
    raise exception 'each attachment push result is pushed, deferred, or failed with its error' using errcode = '22023';
  end if;

  update app.attachments a
  set airtable_attachment_id = r.airtable_attachment_id, url = coalesce(r.url, a.url), url_fetched_at = case when r.url is not null then now() else a.url_fetched_at end,
      size_bytes = coalesce(r.size_bytes, a.size_bytes), mime_type = coalesce(r.content_type, a.mime_type)
  from attachment_push_results r
  join sync.attachment_outbox x on x.id = r.outbox_id and x.operation = 'upload'
  where r.outcome = 'pushed' and r.airtable_attachment_id is not null and a.id = x.attachment_id;

  -- the file Airtable made of an upload is this row's: the ledger knows it is stored already
  insert into sync.attachment_downloads (source_id, attachment_key, declared_size, declared_type, sha256, size_bytes, content_type, first_run_id, last_run_id, downloaded_at)
  select m.source_id, r.airtable_attachment_id, r.size_bytes, r.content_type, a.sha256, a.stored_size_bytes, a.stored_mime_type, p_run_id, p_run_id, now()
  from attachment_push_results r
  join sync.attachment_outbox x on x.id = r.outbox_id and x.operation = 'upload'
  join app.attachments a on a.id = x.attachment_id
  join sync.entity_mappings m on m.entity = x.entity
  where r.outcome = 'pushed' and r.airtable_attachment_id is not null and a.sha256 is not null
  on conflict (source_id, attachment_key) do nothing;

  update sync.attachment_outbox x
  set status = case r.outcome when 'pushed' then 'pushed' when 'failed' then 'failed' else 'pending' end,
      pushed_at = case when r.outcome = 'pushed' then now() end,
      last_error = case when r.outcome = 'pushed' then null else coalesce(r.error, x.last_error) end,
      airtable_attachment_id = coalesce(x.airtable_attachment_id, r.airtable_attachment_id),
      updated_at = now()
  from attachment_push_results r
  where x.id = r.outbox_id and x.status = 'in_flight' and x.pushed_by_run_id = p_run_id;
  get diagnostics finished = row_count;
  return finished;
end;
$$;

--
-- Name: FUNCTION finish_attachment_push(p_run_id bigint, p_results jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.finish_attachment_push(p_run_id bigint, p_results jsonb) IS 'Records push run p_run_id''s outcome for claimed attachment entries (a JSON array of {outbox_id, outcome: pushed | failed | deferred, and for an upload the airtable_attachment_id, url, size_bytes, content_type Airtable answered, or the error}): an uploaded file''s row takes its Airtable id as the run''s change (not captured again) and enters the download ledger as stored; failed entries keep the message; deferred ones (the owner not in Airtable yet) go back to pending. Returns the entries finished. Security definer: it writes app.attachments.';

--
-- Name: finish_push_run(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.finish_push_run(p_run_id bigint) RETURNS sync.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION finish_push_run(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.finish_push_run(p_run_id bigint) IS 'Completes a push run with its counts, from the outbox entries it claimed: inserted, updated and deleted in Airtable, unchanged (skipped: nothing to send), quarantined (failed, retrying later, or waiting for a linked row); metadata adds failed, retrying, deletes not pushed (the mapping does not push deletes) and the conflicts the run logged.';

--
-- Name: finish_run(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.finish_run(p_run_id bigint) RETURNS sync.runs
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION finish_run(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.finish_run(p_run_id bigint) IS 'Completes a run: sums its tables'' checkpoints into the run''s counts, moves its job on (a recurring job back to scheduled) and refreshes the job''s statistics.';

--
-- Name: finish_stage_only_run(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.finish_stage_only_run(p_run_id bigint) RETURNS sync.runs
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION finish_stage_only_run(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.finish_stage_only_run(p_run_id bigint) IS 'Completes a stage-only run (a source snapshot) as sync.finish_run does, then counts the records its tables staged (sync.count_staged_records) in staged and in fetched, so that the run''s numbers say what it read. Refuses a run that is not stage-only.';

--
-- Name: forget_stored_files(text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.forget_stored_files(p_sha256 text[]) RETURNS TABLE(sha256 text, store_kind text, store_key text)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  delete from sync.stored_files f
  where f.sha256 = any (p_sha256)
    and f.sha256 in (select u.sha256 from sync.unreferenced_files(interval '0') u)
  returning f.sha256, f.store_kind, f.store_key
$$;

--
-- Name: FUNCTION forget_stored_files(p_sha256 text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.forget_stored_files(p_sha256 text[]) IS 'Deletes the catalogue rows of the given contents that are still unreferenced (sync.unreferenced_files) and returns them with their store keys: the files airlift files gc then removes from the store. The ledger entries of those contents go with them (cascade), so an attachment listing one again downloads it again.';

--
-- Name: is_iso_date(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.is_iso_date(value text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$
  select case
    when value ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' and substr(value, 1, 4) <> '0000' then
      substr(value, 9, 2)::int <= case substr(value, 6, 2)::int
        when 2 then case when (substr(value, 1, 4)::int % 4 = 0 and substr(value, 1, 4)::int % 100 <> 0)
                              or substr(value, 1, 4)::int % 400 = 0 then 29 else 28 end
        when 4 then 30 when 6 then 30 when 9 then 30 when 11 then 30
        else 31 end
    else false
  end
$_$;

--
-- Name: FUNCTION is_iso_date(value text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.is_iso_date(value text) IS 'True when a text is a real calendar date in ISO form (YYYY-MM-DD), checked without casting so that a bad date never raises.';

--
-- Name: is_iso_timestamp(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.is_iso_timestamp(value text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$
  select case
    -- offsets up to ±15:59, the most PostgreSQL accepts
    when value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)$'
      then sync.is_iso_date(substr(value, 1, 10))
    else false
  end
$_$;

--
-- Name: FUNCTION is_iso_timestamp(value text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.is_iso_timestamp(value text) IS 'True when a text is an ISO 8601 timestamp with a time zone (Airtable sends 2026-11-20T10:00:00.000Z), checked without casting.';

--
-- Name: is_sha256_hex(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.is_sha256_hex(p_value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  -- 64 characters that decode as hex into 32 bytes (decode skips
  -- whitespace, so a space would leave fewer), in lower case. decode raises
  -- on a character that is not a hex digit: such a row is refused either way.
  select octet_length(p_value) = 64 and octet_length(decode(p_value, 'hex')) = 32 and p_value = lower(p_value collate "C")
$$;

--
-- Name: FUNCTION is_sha256_hex(p_value text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.is_sha256_hex(p_value text) IS 'True when a text is a SHA-256 digest in lower-case hex (what the checksum columns hold); used by their CHECK constraints instead of the regular expression ^[0-9a-f]{64}$, which cost about 8 s per million rows written where this costs under 0.5 s. A character that is not a hex digit raises invalid hexadecimal digit instead of returning false.';

--
-- Name: link_attachment_files(bigint, text, text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.link_attachment_files(p_run_id bigint, p_source_id text, p_attachment_keys text[] DEFAULT NULL::text[]) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  linked bigint;
begin
  perform set_config('airlift.run_id', p_run_id::text, true);
  update app.attachments a
  set sha256 = f.sha256, store_key = f.store_key, stored_size_bytes = f.size_bytes, stored_mime_type = coalesce(d.content_type, f.content_type)
  from sync.attachment_downloads d
  join sync.stored_files f on f.sha256 = d.sha256
  where d.source_id = p_source_id
    and (p_attachment_keys is null or d.attachment_key = any (p_attachment_keys))
    and a.airtable_attachment_id = d.attachment_key
    and a.sha256 is distinct from d.sha256;
  get diagnostics linked = row_count;
  return linked;
end;
$$;

--
-- Name: FUNCTION link_attachment_files(p_run_id bigint, p_source_id text, p_attachment_keys text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.link_attachment_files(p_run_id bigint, p_source_id text, p_attachment_keys text[]) IS 'Puts each downloaded file (sync.attachment_downloads of a source, all of them or those of p_attachment_keys) on the app.attachments rows of its attachment that do not name it yet, as run p_run_id''s change (audited with the run, not captured for the push); returns the rows linked. Called after each batch of downloads and by the merge. Security definer: the sync role may not write app tables directly.';

--
-- Name: lock_out_pulls(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.lock_out_pulls(p_doing text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION lock_out_pulls(p_doing text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.lock_out_pulls(p_doing text) IS 'Takes, until the end of the transaction, the advisory lock a pull of each known base holds, so that no pull runs during a snapshot or a restore; refuses (55P03, naming the bases) while a pull holds one.';

--
-- Name: mapped_columns(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.mapped_columns(p_entity text) RETURNS TABLE(column_name text, field_id text, conversion text, linked_table regclass, linked_entity text)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select ec.column_name, m.field_ids ->> ec.column_name, ec.conversion, linked.target_table, linked.entity
  from sync.entity_mappings m
  join sync.entity_columns ec on ec.entity = m.entity and m.field_ids ? ec.column_name
  left join sync.entities linked on linked.entity = ec.linked_entity
  where m.entity = p_entity
$$;

--
-- Name: FUNCTION mapped_columns(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.mapped_columns(p_entity text) IS 'The columns of an entity that its mapping fills, with their source field id, conversion and, for links, the linked table and entity (whose sync.id_map entries give the linked records'' source keys): what a canonical form is made of.';

--
-- Name: mark_outbox_failed(bigint, jsonb, integer); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.mark_outbox_failed(p_run_id bigint, p_failures jsonb, p_max_attempts integer DEFAULT 10) RETURNS SETOF sync.outbox
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION mark_outbox_failed(p_run_id bigint, p_failures jsonb, p_max_attempts integer); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.mark_outbox_failed(p_run_id bigint, p_failures jsonb, p_max_attempts integer) IS 'Records push failures, the rest of a batch going on: p_failures is a JSON array of {id, error, response, permanent}. A permanent failure (Airtable refused the record: 422) becomes failed with Airtable''s message; a transient one goes back to pending with exponential backoff, failed after p_max_attempts. An entry whose row changed again meanwhile folds into the newer open entry and is superseded. Returns the entries marked.';

--
-- Name: mark_outbox_pushed(bigint, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.mark_outbox_pushed(p_run_id bigint, p_results jsonb) RETURNS SETOF sync.outbox
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION mark_outbox_pushed(p_run_id bigint, p_results jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.mark_outbox_pushed(p_run_id bigint, p_results jsonb) IS 'Records what Airtable accepted: p_results is a JSON array of {id, source_key, response}. Entries become pushed. For a create, the new record id is stored in sync.id_map (where the pipeline reads identity) and in the app row''s source-key column where its table keeps one, as sync writes under p_run_id (not captured: no new outbox entry), the target checksums of the row and of rows linking to it are rebuilt under the new key (sync.rebuild_target_checksums), and the id is given to the row''s later entries that waited for it. What Airtable computed for each record (created and last-modified times, lookups: from the response, fields keyed by field id) is written to the row, so the next pull finds nothing to change. Returns the entries marked.';

--
-- Name: mark_rejected_before_staging(bigint, text, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb) IS 'Marks the open quarantine entries of records the runner rejected on a page (p_rejects as given to sync.stage_page, called right after it in the same transaction) as rejected before staging, so that only a run that stages the record again releases them; closes the record''s earlier rejections that the new ones replace. Returns how many entries it marked.';

--
-- Name: matches_format(text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.matches_format(p_value text, p_format text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$
  select case p_format
    when 'email' then p_value ~ '^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$'
    -- dialable: a North American number (optionally +1), or an international
    -- one with its country code; separators and an extension are allowed
    when 'phone' then regexp_replace(regexp_replace(p_value, '\s*(ext\.?|x|#)\s*[0-9]{1,6}$', '', 'i'), '[\s().-]', '', 'g')
                      ~ '^((\+?1)?[2-9][0-9]{2}[2-9][0-9]{6}|\+[2-9][0-9]{6,14})$'
    when 'url' then p_value ~ '^https?://[^\s/?#]+\.[^\s/?#]+([/?#]\S*)?$'
    when 'state_code' then p_value = any ('{AL,AK,AZ,AR,CA,CO,CT,DE,DC,FL,GA,HI,ID,IL,IN,IA,KS,KY,LA,ME,MD,MA,MI,MN,MS,MO,MT,NE,NV,NH,NJ,NM,NY,NC,ND,OH,OK,OR,PA,RI,SC,SD,TN,TX,UT,VT,VA,WA,WV,WI,WY,PR,VI,GU,AS,MP}'::text[])
  end
$_$;

--
-- Name: FUNCTION matches_format(p_value text, p_format text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.matches_format(p_value text, p_format text) IS 'Whether a text value has a format a validation rule names: email (an address with a domain), phone (a dialable North American or international number; separators and an extension allowed), url (http or https with a host) or state_code (a US state, DC or territory, upper case). Inlinable, never raises.';

--
-- Name: merge_clients(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.merge_clients(p_run_id bigint) RETURNS sync.merge_result
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ select sync.merge_entity(p_run_id, 'clients') $$;

--
-- Name: FUNCTION merge_clients(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.merge_clients(p_run_id bigint) IS 'Merges the run''s staged Clients records into app.clients (see sync.merge_entity).';

--
-- Name: merge_entity(bigint, text, boolean); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.merge_entity(p_run_id bigint, p_entity text, p_final boolean DEFAULT true) RETURNS sync.merge_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '128MB'
    AS $_$
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
  -- files downloaded before their rows were written (downloads run beside
  -- the listing) are put on the rows now
  if mapping.attachment_field_ids <> '{}'::jsonb then
    perform sync.link_attachment_files(p_run_id, mapping.source_id);
  end if;

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
$_$;

--
-- Name: FUNCTION merge_entity(p_run_id bigint, p_entity text, p_final boolean); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.merge_entity(p_run_id bigint, p_entity text, p_final boolean) IS 'Merges an entity''s staged records of a run into its app table, set-based, in batches: each call takes the pages staged since the previous call (so merging can run while the listing goes on), and the final call (p_final) also retries records quarantined by earlier runs, resolves links to records that have appeared since (sync.resolve_dangling_links) and marks the table merged. It converts every mapped cell; a record with problems (bad value, missing required value, out of range, dangling link, several links where one is kept) lands with the column empty (or the first link) and the problem in sync.field_problems, and its row counts its open problems; only a blocking validation rule, or an id no row can hold, quarantines a record in sync.record_errors. It retries earlier-quarantined records, upserts only rows that changed, restores reappearing records, maps ids and attachments. Columns changed here and not yet pushed (open sync.outbox entries) or parked in an open manual conflict keep their local value, and rows deleted here stay deleted: the push, or the person resolving, decides them. Security definer: the sync role may merge but not write app tables directly.';

--
-- Name: merge_products(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.merge_products(p_run_id bigint) RETURNS sync.merge_result
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ select sync.merge_entity(p_run_id, 'products') $$;

--
-- Name: FUNCTION merge_products(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.merge_products(p_run_id bigint) IS 'Merges the run''s staged Products records into app.products, links to clients resolved (see sync.merge_entity).';

--
-- Name: merge_registrations(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.merge_registrations(p_run_id bigint) RETURNS sync.merge_result
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ select sync.merge_entity(p_run_id, 'registrations') $$;

--
-- Name: FUNCTION merge_registrations(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.merge_registrations(p_run_id bigint) IS 'Merges the run''s staged Registrations records into app.registrations, links to clients, products and regulators resolved (see sync.merge_entity).';

--
-- Name: merge_state_regulators(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.merge_state_regulators(p_run_id bigint) RETURNS sync.merge_result
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ select sync.merge_entity(p_run_id, 'state_regulators') $$;

--
-- Name: FUNCTION merge_state_regulators(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.merge_state_regulators(p_run_id bigint) IS 'Merges the run''s staged State Regulators records into app.state_regulators (see sync.merge_entity).';

--
-- Name: open_checkpoint(bigint, text, text, integer, bigint, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.open_checkpoint(p_run_id bigint, p_operation text, p_entity text, p_batch_size integer, p_records_total bigint DEFAULT NULL::bigint, p_metadata jsonb DEFAULT '{}'::jsonb) RETURNS sync.checkpoints
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  checkpoint sync.checkpoints;
begin
  insert into sync.checkpoints as c (run_id, operation_type, entity_type, status, started_at, batch_size, records_total, metadata)
  values (p_run_id, p_operation, p_entity, 'in_progress', clock_timestamp(), p_batch_size, p_records_total, coalesce(p_metadata, '{}'))
  on conflict (run_id, operation_type, entity_type) do nothing
  returning c.* into checkpoint;
  if not found then
    select * into strict checkpoint from sync.checkpoints c
    where c.run_id = p_run_id and c.operation_type = p_operation and c.entity_type = p_entity;
  end if;
  return checkpoint;
end;
$$;

--
-- Name: FUNCTION open_checkpoint(p_run_id bigint, p_operation text, p_entity text, p_batch_size integer, p_records_total bigint, p_metadata jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.open_checkpoint(p_run_id bigint, p_operation text, p_entity text, p_batch_size integer, p_records_total bigint, p_metadata jsonb) IS 'Opens a run''s checkpoint of an operation on an entity, in progress since now; idempotent: when the run has it already, returns it as it stands (unchanged: a failed one is taken up by sync.resume_checkpoint).';

--
-- Name: open_copied_records(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.open_copied_records() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION open_copied_records(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.open_copied_records() IS 'Creates, for the current transaction, the session''s temporary table pg_temp.copied_records that a chunk of records is COPYed into (position in the listing, whether it is a reject, the record''s id, created time, fields and content hash, or the reject''s key, field, value and reason; previous_run is sync.stage_copied''s) before sync.stage_copied stages it. Dropped at commit.';

--
-- Name: open_run(text, text, jsonb, uuid); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.open_run(p_run_type text, p_actor text, p_metadata jsonb DEFAULT '{}'::jsonb, p_job_id uuid DEFAULT NULL::uuid) RETURNS sync.runs
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  insert into sync.runs (job_id, run_type, status, actor, metadata)
  values (p_job_id, p_run_type, 'running', p_actor, coalesce(p_metadata, '{}'))
  returning *;
$$;

--
-- Name: FUNCTION open_run(p_run_type text, p_actor text, p_metadata jsonb, p_job_id uuid); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.open_run(p_run_type text, p_actor text, p_metadata jsonb, p_job_id uuid) IS 'Opens a run: a new sync.runs row, running since now, of the given type, actor and metadata, executing the job if one is given (the job itself is moved by sync.start_job).';

--
-- Name: outbox_retry_delay(integer); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.outbox_retry_delay(p_attempts integer) RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ select least(interval '30 seconds' * power(2, greatest(p_attempts, 1) - 1), interval '1 hour') $$;

--
-- Name: FUNCTION outbox_retry_delay(p_attempts integer); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.outbox_retry_delay(p_attempts integer) IS 'How long a transient push failure waits before the next attempt: 30 s, doubling per attempt, at most an hour.';

--
-- Name: plan_key_ranges(text, bigint, integer, bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.plan_key_ranges(p_source_table text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint DEFAULT NULL::bigint) RETURNS TABLE(records_total bigint, estimated boolean, range_bounds text[])
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION plan_key_ranges(p_source_table text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.plan_key_ranges(p_source_table text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint) IS 'The key ranges in which airlift verify and airlift diff work through a staged table''s source snapshot (records of run p_snapshot or later): the upper bounds of all ranges but the last (which is open-ended) and the number of keys. Exact (one pass over the keys, every p_batch_size-th key a bound) unless the planner''s statistics estimate at least p_estimate_from records: then about p_batch_size keys per range, cut at the histogram of staged keys without reading any (a pass over a million keys costs about a third of a second), and records_total is that estimate (estimated true), for the work to count each range''s keys itself.';

--
-- Name: plan_push(bigint, bigint[], jsonb, jsonb, text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb DEFAULT '{}'::jsonb, p_remote_from_mirror text[] DEFAULT '{}'::text[]) RETURNS TABLE(outbox_id bigint, entity text, row_id uuid, source_key text, action text, fields jsonb, airtable_wins jsonb, conflict_ids bigint[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '64MB'
    AS $_$
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
$_$;

--
-- Name: FUNCTION plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb, p_remote_from_mirror text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb, p_remote_from_mirror text[]) IS 'Plans the push of claimed (in_flight) outbox entries, set-based. p_remote: Airtable''s current records read just before pushing, {record id: {field id: cell}}; p_remote_modified: {record id: last-modified time}, else read from the mapping''s Last Modified field; p_remote_from_mirror: record ids Airtable just confirmed unchanged since the staging mirror''s version (their Last Modified is not later, see sync.push_remote_marks), whose remote side is the mirror''s fields. Per changed field of an update: base (before value; for a column the merge left empty for an open field problem, the source value the problem keeps), local (row now) and remote compared in canonical form; changed on one side only, that side wins; both to the same value, nothing; both differently, the column''s policy decides (source_wins, target_wins, newest_wins: remote last-modified against the time of the local change, manual: parked open in sync.conflicts and not sent) and the conflict is logged. Airtable''s winning values are written to the app rows as sync writes (not captured). Returns per entry the action (create, update, delete: send fields; skip: nothing to send, marked skipped; fail: record gone from Airtable, marked failed; defer: a link target is not in Airtable yet, back to pending), the fields to send (Airtable cell shapes by field id), the values Airtable won, and the conflicts logged.';

--
-- Name: primary_key_columns(regclass); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.primary_key_columns(p_table regclass) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select array_agg(a.attname::text order by k.position)
  from pg_constraint c
  cross join unnest(c.conkey) with ordinality as k (attnum, position)
  join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
  where c.conrelid = p_table and c.contype = 'p'
$$;

--
-- Name: FUNCTION primary_key_columns(p_table regclass); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.primary_key_columns(p_table regclass) IS 'A table''s primary key columns in key order; null when it has none. A restore matches rows on them.';

--
-- Name: push_columns(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.push_columns(p_entity text) RETURNS TABLE(column_name text, field_id text, conversion text, linked_table regclass, linked_entity text)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION push_columns(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.push_columns(p_entity text) IS 'The columns of an entity that go back to Airtable (sync.entity_columns.pushable): what is captured in sync.outbox and pushed. With a mapping loaded, the pushable columns it maps, with their field ids (an entity the mapping leaves out has none); while no mapping is loaded at all (before the first pull or push), every pushable column of the catalogue, with a null field id, so that changes made before the first pull are captured too (the push narrows them to the mapped columns). Collaborators, lookups, created and last-modified times are never pushed.';

--
-- Name: push_remote_marks(bigint[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.push_remote_marks(p_outbox_ids bigint[]) RETURNS TABLE(outbox_id bigint, source_key text, mirror_last_modified text, last_modified_field_name text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION push_remote_marks(p_outbox_ids bigint[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.push_remote_marks(p_outbox_ids bigint[]) IS 'For the claimed updates among p_outbox_ids: the record id, the Last Modified value the staging mirror holds for it (Airtable''s clock; null when the mirror has no version or no such value) and the Last Modified field''s name as of the last pull. The push asks Airtable only for the records modified since (one formula request for hundreds of records) and takes the mirror as the remote side of the rest (sync.plan_push p_remote_from_mirror): the read before pushing costs a request per changed record page, not per 100 records.';

--
-- Name: push_rows_sql(text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.push_rows_sql(p_entity text, p_rows text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION push_rows_sql(p_entity text, p_rows text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.push_rows_sql(p_entity text, p_rows text) IS 'The statement that reads app rows of an entity (p_rows: a table, a transition table or a subquery in parentheses) as (id, source_key (the row''s record id in the source, from sync.id_map), deleted_at, updated_at, raw_values, canonical, fields, unresolved_links) over its pushable columns: raw values to detect changes, the canonical form (as sync.target_canonical_sql builds it) to compare, the Airtable fields object (field id -> cell: a link as [record id], a select as its option name, a date as YYYY-MM-DD, a timestamp as ISO UTC with milliseconds, money and integers as numbers, a checkbox as a boolean, a multiple select as an array), and the links whose target has no Airtable id yet. The columns are sync.push_columns'': the mapped ones, or the catalogue''s while no mapping is loaded, when the fields object is empty (no field ids yet).';

--
-- Name: rebuild_target_checksums(text, uuid[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.rebuild_target_checksums(p_entity text, p_row_ids uuid[]) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION rebuild_target_checksums(p_entity text, p_row_ids uuid[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.rebuild_target_checksums(p_entity text, p_row_ids uuid[]) IS 'Rebuilds the target checksums of some rows of an entity after their source keys changed in sync.id_map (a row created here got its record in the source when pushed), and of the rows of other entities that link to them (their canonical form names the linked key); an entry filed under a key the row no longer has is removed. Returns how many entries were written. Called by sync.mark_outbox_pushed; the trigger keeps the rest right. Security definer: writes sync.target_checksums for the sync role.';

--
-- Name: record_attachment_downloads(bigint, text, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.record_attachment_downloads(p_run_id bigint, p_source_id text, p_results jsonb) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform set_config('airlift.run_id', p_run_id::text, true);
  create temporary table if not exists attachment_download_results (
    attachment_key text, declared_size bigint, declared_type text, sha256 text, size_bytes bigint, content_type text,
    store_kind text, store_key text, error text
  ) on commit drop;
  truncate attachment_download_results;
  insert into attachment_download_results
  select r.attachment_key, r.declared_size, nullif(r.declared_type, ''), r.sha256, r.size_bytes, nullif(r.content_type, ''), r.store_kind, r.store_key, r.error
  from jsonb_to_recordset(p_results) as r (attachment_key text, declared_size bigint, declared_type text, sha256 text, size_bytes bigint,
                                           content_type text, store_kind text, store_key text, error text);

  if exists (select from attachment_download_results where attachment_key is null or (sha256 is null) = (error is null)) then
    raise exception 'each download result names its attachment and either its file (sha256) or its error'
      using errcode = '22023';
  end if;

  -- a content stored again after verification found it missing or corrupt is intact again
  insert into sync.stored_files as f (sha256, size_bytes, content_type, store_kind, store_key, stored_by_run_id)
  select distinct on (r.sha256) r.sha256, r.size_bytes, r.content_type, r.store_kind, r.store_key, p_run_id
  from attachment_download_results r
  where r.sha256 is not null
  order by r.sha256
  on conflict (sha256) do update
    set store_kind = excluded.store_kind, store_key = excluded.store_key, verified_at = null, verify_problem = null
    where f.verify_problem is not null;

  insert into sync.attachment_downloads as d (source_id, attachment_key, declared_size, declared_type, sha256, size_bytes, content_type, mismatch,
                                              attempts, last_error, first_run_id, last_run_id, last_attempt_at, downloaded_at)
  select distinct on (r.attachment_key)
         p_source_id, r.attachment_key, r.declared_size, r.declared_type, r.sha256, r.size_bytes, r.content_type,
         nullif(concat_ws('; ',
           case when r.sha256 is not null and r.declared_size is not null and r.declared_size <> r.size_bytes
                then format('declared %s bytes, the file has %s', r.declared_size, r.size_bytes) end,
           case when r.sha256 is not null and r.declared_type is not null and r.content_type is not null
                 and lower(btrim(split_part(r.declared_type, ';', 1))) <> lower(btrim(split_part(r.content_type, ';', 1)))
                then format('declared type %s, the file was served as %s', r.declared_type, r.content_type) end), ''),
         case when r.sha256 is null then 1 else 0 end, r.error, p_run_id, p_run_id, now(),
         case when r.sha256 is not null then now() end
  from attachment_download_results r
  order by r.attachment_key, r.sha256 nulls last
  on conflict (source_id, attachment_key) do update
    set declared_size = excluded.declared_size, declared_type = excluded.declared_type,
        sha256 = coalesce(excluded.sha256, d.sha256), size_bytes = coalesce(excluded.size_bytes, d.size_bytes),
        content_type = case when excluded.sha256 is not null then excluded.content_type else d.content_type end,
        mismatch = case when excluded.sha256 is not null then excluded.mismatch else d.mismatch end,
        attempts = case when excluded.sha256 is not null then 0 else d.attempts + 1 end,
        last_error = excluded.last_error, last_run_id = p_run_id, last_attempt_at = now(),
        downloaded_at = case when excluded.sha256 is not null then now() else d.downloaded_at end
    -- a failure never undoes a success: the file is kept
    where excluded.sha256 is not null or d.sha256 is null;

  -- the rows are linked by the merge and at the end of the run
  -- (sync.link_attachment_files), never here: a download recorded while a
  -- merge writes the same rows would wait on it, or deadlock with it
  return (select count(*) from attachment_download_results);
end;
$$;

--
-- Name: FUNCTION record_attachment_downloads(p_run_id bigint, p_source_id text, p_results jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.record_attachment_downloads(p_run_id bigint, p_source_id text, p_results jsonb) IS 'Records a batch of downloads of run p_run_id from source p_source_id (a JSON array of {attachment_key, declared_size, declared_type, and either sha256, size_bytes, content_type, store_kind, store_key or error}): stored files enter sync.stored_files, each attachment''s outcome enters sync.attachment_downloads (a mismatch with the declared size or type is noted, the file kept; a failure counts an attempt and never undoes an earlier success); returns the outcomes recorded. The rows of the attachments are linked to their files by the merge and at the end of the run (sync.link_attachment_files). Security definer: the ledger is the sync''s own bookkeeping, written only through this function and the push''s.';

--
-- Name: record_file_verification(jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.record_file_verification(p_results jsonb) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  with updated as (
    update sync.stored_files f
    set verified_at = now(), verify_problem = nullif(r.problem, '')
    from jsonb_to_recordset(p_results) as r (sha256 text, problem text)
    where f.sha256 = r.sha256
    returning f.sha256
  )
  select count(*) from updated
$$;

--
-- Name: FUNCTION record_file_verification(p_results jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.record_file_verification(p_results jsonb) IS 'Records what airlift verify found reading stored files back (a JSON array of {sha256, problem}, problem null or empty when the file is intact: present, of its size, with its SHA-256); returns the files recorded.';

--
-- Name: record_problems(bigint, text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.record_problems(p_run_id bigint, p_entity text, p_origin text) RETURNS text[]
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION record_problems(p_run_id bigint, p_entity text, p_origin text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.record_problems(p_run_id bigint, p_entity text, p_origin text) IS 'Keeps sync.field_problems in step with what a check found: reads the temporary table problems_seen (source_key, problems: a JSON array of {field, column, rule, value, canonical, landed, link_key, reason}) holding every record looked at, with its problems of origin p_origin (merge or rule); records new problems under run p_run_id, rewrites those whose value or reason changed, and closes the open ones the records no longer have. Returns the records whose open problems changed. Set-based, one statement. Security definer: the sync role writes problems only through it.';

--
-- Name: refresh_job_statistics(uuid); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.refresh_job_statistics(p_job_id uuid) RETURNS void
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION refresh_job_statistics(p_job_id uuid); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.refresh_job_statistics(p_job_id uuid) IS 'Recomputes a job''s rolling statistics (last run, records synced, success rate, mean duration) from its runs, in one statement.';

--
-- Name: refresh_problem_rows(bigint, text, text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.refresh_problem_rows(p_run_id bigint, p_entity text, p_source_keys text[]) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION refresh_problem_rows(p_run_id bigint, p_entity text, p_source_keys text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.refresh_problem_rows(p_run_id bigint, p_entity text, p_source_keys text[]) IS 'After the open problems of some records changed: sets their rows'' open_problem_count (audited under run p_run_id) and rebuilds their target checksums, which read the open problems. Returns how many rows were recounted. Security definer: writes app rows and sync.target_checksums for the sync role.';

--
-- Name: refresh_target_checksums(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.refresh_target_checksums(p_entity text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION refresh_target_checksums(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.refresh_target_checksums(p_entity text) IS 'Rebuilds an entity''s sync.target_checksums from its app rows; returns how many entries it had to add, correct or remove (0 when the trigger kept them right). Used when the table is first set up and by `airlift verify --deep`.';

--
-- Name: stored_files; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.stored_files (
    sha256 text NOT NULL,
    size_bytes bigint NOT NULL,
    content_type text,
    store_kind text NOT NULL,
    store_key text NOT NULL,
    stored_at timestamp with time zone DEFAULT now() NOT NULL,
    stored_by_run_id bigint,
    verified_at timestamp with time zone,
    verify_problem text,
    CONSTRAINT stored_files_problem_when_verified CHECK (((verify_problem IS NULL) OR (verified_at IS NOT NULL))),
    CONSTRAINT stored_files_sha256_is_hex CHECK (sync.is_sha256_hex(sha256)),
    CONSTRAINT stored_files_size_not_negative CHECK ((size_bytes >= 0)),
    CONSTRAINT stored_files_store_kind_is_known CHECK ((store_kind = ANY (ARRAY['local'::text, 's3'::text])))
);

--
-- Name: TABLE stored_files; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.stored_files IS 'The file store''s catalogue: one row per content (SHA-256) the store holds, whichever attachments point at it. A row goes only when airlift files gc finds the content referenced by no attachment row, snapshot or audit record that still stands.';

--
-- Name: COLUMN stored_files.sha256; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.sha256 IS 'SHA-256 of the content, lower-case hex: the file''s identity.';

--
-- Name: COLUMN stored_files.size_bytes; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.size_bytes IS 'Bytes stored.';

--
-- Name: COLUMN stored_files.content_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.content_type IS 'Content type the file was served with when it was stored (or given when it was attached here).';

--
-- Name: COLUMN stored_files.store_kind; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.store_kind IS 'Which store holds it: local (a directory) or s3 (a bucket).';

--
-- Name: COLUMN stored_files.store_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.store_key IS 'The file''s key in that store.';

--
-- Name: COLUMN stored_files.stored_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.stored_at IS 'When the content was first stored.';

--
-- Name: COLUMN stored_files.stored_by_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.stored_by_run_id IS 'The run that stored it (a pull''s download, airlift files attach).';

--
-- Name: COLUMN stored_files.verified_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.verified_at IS 'When airlift verify last read the file back.';

--
-- Name: COLUMN stored_files.verify_problem; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.stored_files.verify_problem IS 'What that verification found wrong (missing, wrong size, wrong SHA-256); null when the file was intact.';

--
-- Name: register_stored_file(text, bigint, text, text, text, bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.register_stored_file(p_sha256 text, p_size_bytes bigint, p_content_type text, p_store_kind text, p_store_key text, p_run_id bigint DEFAULT NULL::bigint) RETURNS sync.stored_files
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  insert into sync.stored_files as f (sha256, size_bytes, content_type, store_kind, store_key, stored_by_run_id)
  values (p_sha256, p_size_bytes, nullif(p_content_type, ''), p_store_kind, p_store_key, p_run_id)
  on conflict (sha256) do update
    set store_kind = excluded.store_kind, store_key = excluded.store_key, verified_at = null, verify_problem = null,
        content_type = coalesce(f.content_type, excluded.content_type)
  returning f.*
$$;

--
-- Name: FUNCTION register_stored_file(p_sha256 text, p_size_bytes bigint, p_content_type text, p_store_kind text, p_store_key text, p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.register_stored_file(p_sha256 text, p_size_bytes bigint, p_content_type text, p_store_kind text, p_store_key text, p_run_id bigint) IS 'Enters a file just put in the store into sync.stored_files (or marks an existing content stored again, intact); returns its row.';

--
-- Name: release_stale_outbox(interval); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.release_stale_outbox(p_lease interval DEFAULT '00:15:00'::interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION release_stale_outbox(p_lease interval); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.release_stale_outbox(p_lease interval) IS 'Frees entries left in flight longer than p_lease by a push that died: updates and deletes go back to pending, creates become failed (they may have reached Airtable; a person checks before retrying). Returns how many were released.';

--
-- Name: remove_attachment(uuid); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.remove_attachment(p_attachment_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if audit.current_run_id() is not null then
    raise exception 'a file removed by hand is not a sync run''s change: airlift.run_id must be unset' using errcode = '55000';
  end if;
  update app.attachments set deleted_at = now() where id = p_attachment_id and deleted_at is null;
  return found;
end;
$$;

--
-- Name: FUNCTION remove_attachment(p_attachment_id uuid); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.remove_attachment(p_attachment_id uuid) IS 'Removes an attachment here (soft delete) as a person''s change: audited with the actor and, when Airtable has the file, queued for the push to leave it out of the cell. False when there is no live attachment with that id. Security definer: the sync role may not write app tables directly.';

--
-- Name: reopen_run(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.reopen_run(p_run_id bigint) RETURNS sync.runs
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  run sync.runs;
begin
  update sync.runs r set status = 'running', finished_at = null, error_message = null
  where r.id = p_run_id
  returning r.* into run;
  if not found then
    raise exception 'no run %', p_run_id using errcode = 'no_data_found';
  end if;
  return run;
end;
$$;

--
-- Name: FUNCTION reopen_run(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.reopen_run(p_run_id bigint) IS 'Takes up a failed (or still running, interrupted) run again: running, no finish time, no error; its checkpoints keep their resume points. A completed or cancelled run cannot be reopened (sync.status_transitions, check_violation).';

--
-- Name: conflicts; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.conflicts (
    id bigint NOT NULL,
    entity text NOT NULL,
    row_id uuid NOT NULL,
    source_key text,
    column_name text NOT NULL,
    base_value jsonb,
    local_value jsonb,
    remote_value jsonb,
    local_modified_at timestamp with time zone,
    remote_modified_at timestamp with time zone,
    policy text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    resolution text,
    resolved_value jsonb,
    decided_by_rule text,
    decided_by text,
    outbox_id bigint,
    run_id bigint,
    resolved_by_run_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    CONSTRAINT conflicts_policy_is_known CHECK ((policy = ANY (ARRAY['source_wins'::text, 'target_wins'::text, 'newest_wins'::text, 'manual'::text]))),
    CONSTRAINT conflicts_resolution_is_known CHECK ((resolution = ANY (ARRAY['airtable'::text, 'postgres'::text, 'value'::text]))),
    CONSTRAINT conflicts_resolved_is_complete CHECK (((status = 'resolved'::text) = ((resolution IS NOT NULL) AND (decided_by_rule IS NOT NULL) AND (decided_by IS NOT NULL) AND (resolved_at IS NOT NULL)))),
    CONSTRAINT conflicts_rule_is_known CHECK ((decided_by_rule = ANY (ARRAY['source_wins'::text, 'target_wins'::text, 'newest_wins'::text, 'manual'::text]))),
    CONSTRAINT conflicts_status_is_known CHECK ((status = ANY (ARRAY['open'::text, 'resolved'::text])))
);

--
-- Name: TABLE conflicts; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.conflicts IS 'The conflict log: each field changed differently in Airtable and here since the sync last saw it, with base, local and remote values (canonical form), the policy in force and the decision: which side won, by which rule, decided by whom. Automatic policies log resolved conflicts; manual ones stay open until sync.resolve_conflict.';

--
-- Name: COLUMN conflicts.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.id IS 'Primary key; what `airlift conflicts show|resolve ID` names.';

--
-- Name: COLUMN conflicts.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.entity IS 'The entity of the row.';

--
-- Name: COLUMN conflicts.row_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.row_id IS 'The app row.';

--
-- Name: COLUMN conflicts.source_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.source_key IS 'The record''s id in the source it is pushed to (an Airtable record id).';

--
-- Name: COLUMN conflicts.column_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.column_name IS 'The conflicting column.';

--
-- Name: COLUMN conflicts.base_value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.base_value IS 'The value before the local change (the outbox entry''s before value), canonical.';

--
-- Name: COLUMN conflicts.local_value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.local_value IS 'PostgreSQL''s value when the conflict was found, canonical.';

--
-- Name: COLUMN conflicts.remote_value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.remote_value IS 'Airtable''s value read just before pushing, canonical.';

--
-- Name: COLUMN conflicts.local_modified_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.local_modified_at IS 'When the local change was made (the outbox entry''s last change): what newest_wins compares with Airtable''s last-modified time.';

--
-- Name: COLUMN conflicts.remote_modified_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.remote_modified_at IS 'The Airtable record''s last-modified time, when known (newest_wins compares it).';

--
-- Name: COLUMN conflicts.policy; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.policy IS 'The policy in force for the column (sync.conflict_policies; default source_wins).';

--
-- Name: COLUMN conflicts.status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.status IS 'open (waiting for a person) or resolved.';

--
-- Name: COLUMN conflicts.resolution; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.resolution IS 'Which value won: airtable, postgres, or value (an explicit value given by a person).';

--
-- Name: COLUMN conflicts.resolved_value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.resolved_value IS 'The value that won, canonical.';

--
-- Name: COLUMN conflicts.decided_by_rule; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.decided_by_rule IS 'The rule that decided: source_wins, target_wins, newest_wins, or manual (a person).';

--
-- Name: COLUMN conflicts.decided_by; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.decided_by IS 'Who applied the rule: the actor (airlift.actor) or database role of the push, or the person resolving.';

--
-- Name: COLUMN conflicts.outbox_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.outbox_id IS 'The outbox entry whose push found the conflict.';

--
-- Name: COLUMN conflicts.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.run_id IS 'The push run that found the conflict.';

--
-- Name: COLUMN conflicts.resolved_by_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.resolved_by_run_id IS 'The run under which the resolution was applied.';

--
-- Name: COLUMN conflicts.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.created_at IS 'When the conflict was found.';

--
-- Name: COLUMN conflicts.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.updated_at IS 'When the entry last changed.';

--
-- Name: COLUMN conflicts.resolved_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflicts.resolved_at IS 'When it was resolved; set exactly when resolved.';

--
-- Name: resolve_conflict(bigint, bigint, text, jsonb, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.resolve_conflict(p_run_id bigint, p_conflict_id bigint, p_take text, p_value jsonb DEFAULT NULL::jsonb, p_decided_by text DEFAULT NULL::text) RETURNS sync.conflicts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION resolve_conflict(p_run_id bigint, p_conflict_id bigint, p_take text, p_value jsonb, p_decided_by text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.resolve_conflict(p_run_id bigint, p_conflict_id bigint, p_take text, p_value jsonb, p_decided_by text) IS 'Resolves a parked conflict by hand: take airtable (its latest value as the sync saw it, from the staging mirror, written to the row), postgres (the row''s current value queued for Airtable, with Airtable''s latest seen value as base) or value (p_value, canonical JSON, written to the row and queued). The writes are sync writes under p_run_id (not captured twice). Records the rule (manual) and who decided (p_decided_by, else airlift.actor, else the database role); the audit trail keeps the change. Refuses an unknown (P0002) or resolved (55000) conflict and a value the column cannot hold (22023).';

--
-- Name: resolve_dangling_links(bigint, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.resolve_dangling_links(p_run_id bigint, p_entity text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION resolve_dangling_links(p_run_id bigint, p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.resolve_dangling_links(p_run_id bigint, p_entity text) IS 'Resolves the links of an entity''s rows that pointed at records missing when they were merged: every open dangling_link problem whose record now exists (live) is closed by run p_run_id, and its row gets the foreign key (unless one was set here since) and one open problem fewer, in one set-based statement for the table. Called by every final merge of the entity, so a link is filled once its target appears without the linking record changing in Airtable. Returns how many rows were relinked. Security definer: writes app rows for the sync role.';

--
-- Name: resolve_differentials(bigint, text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.resolve_differentials(p_run_id bigint, p_entity text, p_strategy text DEFAULT 'source_wins'::text) RETURNS TABLE(comparison_type text, records bigint, action text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION resolve_differentials(p_run_id bigint, p_entity text, p_strategy text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.resolve_differentials(p_run_id bigint, p_entity text, p_strategy text) IS 'Applies a resolution strategy to the unresolved differentials of an entity found by run p_run_id, audited under that run: source_wins merges missing and conflicted records again from staging through sync.merge_entity and soft-deletes records gone from the source, closing the rows'' unpushed outbox entries (superseded) and open conflicts (decided for Airtable) first; target_wins and skip change nothing; manual_review leaves them unresolved for a person. Marks each differential with the strategy and what was done. Security definer: only the sync role may call it, and it writes app tables.';

--
-- Name: restart_listing(bigint, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.restart_listing(p_run_id bigint, p_entity text) RETURNS void
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  update sync.checkpoints c
  set records_processed = 0,
      last_processed_id = null,
      metadata = c.metadata || jsonb_build_object(
        'offset', null, 'pages', 0, 'untouched', 0, 'rejected', 0,
        'listing_attempt', coalesce((c.metadata ->> 'listing_attempt')::int, 1) + 1)
  where c.run_id = p_run_id and c.operation_type = 'sync_operation' and c.entity_type = p_entity
$$;

--
-- Name: FUNCTION restart_listing(p_run_id bigint, p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.restart_listing(p_run_id bigint, p_entity text) IS 'Starts a table''s listing again after Airtable expired its iterator: counters reset, records already staged by the run stay staged (re-fetching them writes nothing new), so nothing is counted twice.';

--
-- Name: restore_snapshot(bigint, bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.restore_snapshot(p_snapshot_id bigint, p_run_id bigint) RETURNS TABLE(table_name text, removed bigint, inserted bigint, restored bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '128MB'
    AS $$
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

--
-- Name: FUNCTION restore_snapshot(p_snapshot_id bigint, p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.restore_snapshot(p_snapshot_id bigint, p_run_id bigint) IS 'Brings every table a snapshot copied (app tables, sync.id_map, staging.source_records) back to the copy, set-based, one statement per table and pass: deletes rows the snapshot does not have (children first), updates rows that differ and inserts missing ones (parents first), in foreign-key order derived from pg_constraint; generated columns are left to the database. Audited under run p_run_id (a running rollback run); updated_at comes from the snapshot. Checks the result against the snapshot''s checksums and fails (XX001) if it differs. Marks the data runs since the snapshot rolled back (or cancelled when unfinished) and the snapshot restored. Refuses an unknown (P0002) or dropped (55000) snapshot, and runs while no pull does (55P03). Returns rows removed, inserted and restored per table. Security definer: the sync role may restore but not write app tables directly.';

--
-- Name: resume_checkpoint(uuid); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.resume_checkpoint(p_checkpoint_id uuid) RETURNS sync.checkpoints
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  checkpoint sync.checkpoints;
begin
  update sync.checkpoints c set status = 'in_progress', error_message = null
  where c.id = p_checkpoint_id
  returning c.* into checkpoint;
  if not found then
    raise exception 'no checkpoint %', p_checkpoint_id using errcode = 'no_data_found';
  end if;
  return checkpoint;
end;
$$;

--
-- Name: FUNCTION resume_checkpoint(p_checkpoint_id uuid); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.resume_checkpoint(p_checkpoint_id uuid) IS 'Takes up a failed or paused checkpoint again: in progress, no error; its resume point is kept. A completed checkpoint cannot be resumed (check_violation).';

--
-- Name: retry_outbox(bigint[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.retry_outbox(p_ids bigint[]) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  with retried as (
    update sync.outbox o set status = 'pending', attempts = 0, next_attempt_at = null
    where o.id = any (p_ids) and o.status = 'failed'
    returning 1
  )
  select count(*)::int from retried
$$;

--
-- Name: FUNCTION retry_outbox(p_ids bigint[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.retry_outbox(p_ids bigint[]) IS 'Makes failed entries pending again, attempts reset (after the cause was fixed). Their last error stays until they are pushed. Returns how many.';

--
-- Name: rollback_conflicts(bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.rollback_conflicts(p_run_id bigint) RETURNS TABLE(table_name text, record_id text, changed_by text, change_run_id bigint, changed_at timestamp with time zone, conflict text, airtable_id text, column_name text, linked_table text, linked_record_id text)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION rollback_conflicts(p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.rollback_conflicts(p_run_id bigint) IS 'What a rollback of run p_run_id would overwrite or pull from under someone: rows the run changed that something else (a later run, a user) changed afterwards, with the first such change and the columns it wrote (conflict ''changed since''); and rows the run did not touch that link to a row it inserted, named with their Airtable id, the link column, the row the rollback removes, and who made the link in which run (conflict ''links to a row the rollback removes'').';

--
-- Name: rollback_run(bigint, bigint, boolean); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean DEFAULT false) RETURNS TABLE(table_name text, removed bigint, restored bigint, unlinked bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean) IS 'Reverts every change run p_run_id made to app tables, the id map and the field problems, from the audit trail (problems first, since the rows'' target checksums read them), children before parents (foreign keys from the catalogue): rows it inserted are deleted, rows it updated get their values from before the run. Refuses (40001, naming up to 20 rows) when a later run or a user changed one of those rows since, or when rows it did not touch link to a row it inserted (sync.rollback_conflicts), unless p_force. Forced, the later changes to its rows are overwritten, and each link to a row it inserted is dealt with before that row is deleted: a row owned through a cascading link (an attachment) is deleted, any other link is emptied; all audited under p_rollback_run_id, counted per table (removed, restored, unlinked). Marks the run rolled_back. Security definer: only the sync role''s rollback may write app tables.';

--
-- Name: validation_rules; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.validation_rules (
    rule_id text NOT NULL,
    entity text NOT NULL,
    column_name text NOT NULL,
    rule_kind text NOT NULL,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    severity text DEFAULT 'warning'::text NOT NULL,
    validation_type text NOT NULL,
    origin text NOT NULL,
    description text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT validation_rules_allowed_values_listed CHECK (((rule_kind <> 'allowed_values'::text) OR COALESCE(((jsonb_typeof((parameters -> 'values'::text)) = 'array'::text) AND (jsonb_array_length((parameters -> 'values'::text)) > 0)), false))),
    CONSTRAINT validation_rules_cross_record_rules_warn CHECK (((rule_kind <> ALL (ARRAY['duplicate'::text, 'same_as_linked'::text])) OR (severity = 'warning'::text))),
    CONSTRAINT validation_rules_decimals_is_a_count CHECK (((rule_kind <> 'max_decimals'::text) OR
CASE
    WHEN (jsonb_typeof((parameters -> 'decimals'::text)) = 'number'::text) THEN ((((parameters ->> 'decimals'::text))::numeric >= (0)::numeric) AND (((parameters ->> 'decimals'::text))::numeric <= (6)::numeric))
    ELSE false
END)),
    CONSTRAINT validation_rules_field_order_names_column CHECK (((rule_kind <> 'field_order'::text) OR (parameters ? 'after'::text))),
    CONSTRAINT validation_rules_format_is_known CHECK (((rule_kind <> 'format'::text) OR COALESCE(((parameters ->> 'format'::text) = ANY (ARRAY['email'::text, 'phone'::text, 'url'::text, 'state_code'::text])), false))),
    CONSTRAINT validation_rules_id_format CHECK ((rule_id ~ '^[a-z_]+\.[a-z_]+\.[a-z_]+$'::text)),
    CONSTRAINT validation_rules_kind_is_known CHECK ((rule_kind = ANY (ARRAY['required'::text, 'format'::text, 'allowed_values'::text, 'range'::text, 'max_decimals'::text, 'trimmed'::text, 'field_order'::text, 'single_link'::text, 'same_as_linked'::text, 'duplicate'::text]))),
    CONSTRAINT validation_rules_origin_is_known CHECK ((origin = ANY (ARRAY['mapping'::text, 'sql'::text]))),
    CONSTRAINT validation_rules_parameters_is_object CHECK ((jsonb_typeof(parameters) = 'object'::text)),
    CONSTRAINT validation_rules_range_bounds_are_numbers_or_dates CHECK (((rule_kind <> 'range'::text) OR (((NOT (parameters ? 'min'::text)) OR (jsonb_typeof((parameters -> 'min'::text)) = 'number'::text) OR COALESCE(((parameters ->> 'min'::text) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'::text), false)) AND ((NOT (parameters ? 'max'::text)) OR (jsonb_typeof((parameters -> 'max'::text)) = 'number'::text) OR COALESCE(((parameters ->> 'max'::text) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'::text), false))))),
    CONSTRAINT validation_rules_range_has_bound CHECK (((rule_kind <> 'range'::text) OR (parameters ?| ARRAY['min'::text, 'max'::text]))),
    CONSTRAINT validation_rules_same_as_linked_names_link CHECK (((rule_kind <> 'same_as_linked'::text) OR (parameters ?& ARRAY['link'::text, 'linked_column'::text]))),
    CONSTRAINT validation_rules_severity_is_known CHECK ((severity = ANY (ARRAY['blocking'::text, 'warning'::text]))),
    CONSTRAINT validation_rules_type_is_known CHECK ((validation_type = ANY (ARRAY['data_integrity'::text, 'relationship_integrity'::text])))
);

--
-- Name: TABLE validation_rules; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.validation_rules IS 'Validation rules checked on every staged record before it is merged: blocking rules quarantine the record, warning rules are reported in sync.validation_reports. From the mapping file (origin mapping) or defined in SQL (origin sql).';

--
-- Name: COLUMN validation_rules.rule_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.rule_id IS '<entity>.<column>.<rule>, named in every finding and quarantine reason.';

--
-- Name: COLUMN validation_rules.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.entity IS 'The entity whose records the rule checks.';

--
-- Name: COLUMN validation_rules.column_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.column_name IS 'The column (mapped field) the rule checks; a rule on a column the mapping does not fill is skipped.';

--
-- Name: COLUMN validation_rules.rule_kind; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.rule_kind IS 'required, format, allowed_values, range, max_decimals, trimmed, field_order, single_link, same_as_linked or duplicate (see sync.rule_check_sql).';

--
-- Name: COLUMN validation_rules.parameters; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.parameters IS 'The rule''s settings: format name, allowed values, min/max, decimals, the other column of a field order, the link and linked column, the column duplicates are scoped by.';

--
-- Name: COLUMN validation_rules.severity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.severity IS 'blocking (the record is quarantined) or warning (reported only). Rules about other records (duplicate, same_as_linked) can only warn.';

--
-- Name: COLUMN validation_rules.validation_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.validation_type IS 'The report the findings go to: data_integrity or relationship_integrity.';

--
-- Name: COLUMN validation_rules.origin; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.origin IS 'mapping (rewritten from the mapping file by every run) or sql (defined by a migration or a DBA).';

--
-- Name: COLUMN validation_rules.description; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.description IS 'What the rule demands, in words: the reason given for each finding.';

--
-- Name: COLUMN validation_rules.enabled; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.enabled IS 'Whether the rule is checked.';

--
-- Name: COLUMN validation_rules.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_rules.updated_at IS 'When the rule last changed.';

--
-- Name: rule_check_sql(sync.validation_rules, text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.rule_check_sql(p_rule sync.validation_rules, p_field_name text, p_conversion text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION rule_check_sql(p_rule sync.validation_rules, p_field_name text, p_conversion text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.rule_check_sql(p_rule sync.validation_rules, p_field_name text, p_conversion text) IS 'The SQL expression that checks one record-local validation rule on a converted staged record (alias c0, see sync.converted_cells_sql): null when satisfied, otherwise a finding {field, value, reason, rule, severity}. Null for rules about other records (duplicate, same_as_linked), which sync.validate_entity checks.';

--
-- Name: rule_checks_sql(text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.rule_checks_sql(p_entity text, p_severity text DEFAULT NULL::text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  -- Only enabled rules whose columns the mapping fills.
  select string_agg(sync.rule_check_sql(r, coalesce(m.field_names ->> r.column_name, r.column_name), ec.conversion), ', ' order by r.rule_id)
  from sync.validation_rules r
  join sync.entity_mappings m on m.entity = r.entity and m.field_ids ? r.column_name
  join sync.entity_columns ec on ec.entity = r.entity and ec.column_name = r.column_name
  where r.entity = p_entity and r.enabled and (p_severity is null or r.severity = p_severity)
    and r.rule_kind not in ('duplicate', 'same_as_linked')
    and (r.rule_kind <> 'field_order' or m.field_ids ? (r.parameters ->> 'after'))
$$;

--
-- Name: FUNCTION rule_checks_sql(p_entity text, p_severity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.rule_checks_sql(p_entity text, p_severity text) IS 'The comma-separated checks (see sync.rule_check_sql) of an entity''s enabled record-local rules, all or of one severity; null when there are none. The merge adds the blocking ones to each record''s problems.';

--
-- Name: jobs; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.jobs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    job_name text NOT NULL,
    job_type text NOT NULL,
    schedule_config jsonb DEFAULT '{}'::jsonb NOT NULL,
    entities_to_sync text[] DEFAULT '{}'::text[] NOT NULL,
    sync_direction text DEFAULT 'source_to_target'::text NOT NULL,
    conflict_resolution text DEFAULT 'source_wins'::text NOT NULL,
    max_records_per_batch integer DEFAULT 100 NOT NULL,
    status text DEFAULT 'scheduled'::text NOT NULL,
    last_run_at timestamp with time zone,
    next_run_at timestamp with time zone,
    total_records_synced bigint DEFAULT 0 NOT NULL,
    success_rate numeric(5,2),
    average_duration_ms bigint,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT jobs_batch_size_positive CHECK (((max_records_per_batch >= 1) AND (max_records_per_batch <= 100000))),
    CONSTRAINT jobs_conflict_resolution_is_known CHECK ((conflict_resolution = ANY (ARRAY['source_wins'::text, 'target_wins'::text, 'manual'::text]))),
    CONSTRAINT jobs_job_type_is_known CHECK ((job_type = ANY (ARRAY['scheduled_sync'::text, 'manual_sync'::text, 'differential_migration'::text]))),
    CONSTRAINT jobs_metadata_is_object CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT jobs_schedule_config_is_object CHECK ((jsonb_typeof(schedule_config) = 'object'::text)),
    CONSTRAINT jobs_status_is_known CHECK ((status = ANY (ARRAY['scheduled'::text, 'running'::text, 'completed'::text, 'failed'::text, 'paused'::text, 'cancelled'::text]))),
    CONSTRAINT jobs_success_rate_is_percentage CHECK (((success_rate >= (0)::numeric) AND (success_rate <= (100)::numeric))),
    CONSTRAINT jobs_sync_direction_is_known CHECK ((sync_direction = ANY (ARRAY['source_to_target'::text, 'bidirectional'::text]))),
    CONSTRAINT jobs_totals_not_negative CHECK (((total_records_synced >= 0) AND (average_duration_ms >= 0)))
);

--
-- Name: TABLE jobs; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.jobs IS 'A named, configured migration or sync (scheduled, manual or differential) and its rolling statistics.';

--
-- Name: COLUMN jobs.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.id IS 'Primary key.';

--
-- Name: COLUMN jobs.job_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.job_name IS 'Unique human name, e.g. delta-incremental.';

--
-- Name: COLUMN jobs.job_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.job_type IS 'scheduled_sync (recurring), manual_sync or differential_migration.';

--
-- Name: COLUMN jobs.schedule_config; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.schedule_config IS 'Schedule settings, e.g. {"cron": "*/5 * * * *", "mode": "incremental"}.';

--
-- Name: COLUMN jobs.entities_to_sync; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.entities_to_sync IS 'The entities (app tables) the job covers.';

--
-- Name: COLUMN jobs.sync_direction; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.sync_direction IS 'source_to_target (Airtable to PostgreSQL) or bidirectional.';

--
-- Name: COLUMN jobs.conflict_resolution; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.conflict_resolution IS 'Default policy for conflicting changes: source_wins, target_wins or manual.';

--
-- Name: COLUMN jobs.max_records_per_batch; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.max_records_per_batch IS 'Records per page or batch.';

--
-- Name: COLUMN jobs.status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.status IS 'scheduled, running, completed, failed, paused or cancelled; moves are governed by sync.status_transitions.';

--
-- Name: COLUMN jobs.last_run_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.last_run_at IS 'Start of the latest run.';

--
-- Name: COLUMN jobs.next_run_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.next_run_at IS 'When the job is due next.';

--
-- Name: COLUMN jobs.total_records_synced; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.total_records_synced IS 'Records synced over all runs.';

--
-- Name: COLUMN jobs.success_rate; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.success_rate IS 'Percentage of runs that completed.';

--
-- Name: COLUMN jobs.average_duration_ms; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.average_duration_ms IS 'Mean run duration in milliseconds.';

--
-- Name: COLUMN jobs.metadata; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.metadata IS 'Free-form settings and notes.';

--
-- Name: COLUMN jobs.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.created_at IS 'When the job was defined.';

--
-- Name: COLUMN jobs.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.jobs.updated_at IS 'When the job last changed.';

--
-- Name: schedule_job(uuid, timestamp with time zone); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.schedule_job(p_job_id uuid, p_next_run_at timestamp with time zone) RETURNS sync.jobs
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  update sync.jobs j set next_run_at = p_next_run_at where j.id = p_job_id returning j.*;
$$;

--
-- Name: FUNCTION schedule_job(p_job_id uuid, p_next_run_at timestamp with time zone); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.schedule_job(p_job_id uuid, p_next_run_at timestamp with time zone) IS 'Sets when a job runs next (the worker, from its cron schedule, after each run); null for an unknown job.';

--
-- Name: snapshot_source_tables(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.snapshot_source_tables() RETURNS TABLE(source_table regclass, copy_name text)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select c.oid::regclass, n.nspname || '__' || c.relname
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where (n.nspname = 'app' and c.relkind in ('r', 'p') and not c.relispartition)
     or c.oid in (select e.target_table from sync.entities e)
     or c.oid in ('sync.id_map'::regclass, 'staging.source_records'::regclass)
  order by n.nspname, c.relname
$$;

--
-- Name: FUNCTION snapshot_source_tables(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.snapshot_source_tables() IS 'What a snapshot copies: every table of schema app and every entity''s target table (a files source''s schema), sync.id_map and staging.source_records, each with the name of its copy (<schema>__<table>).';

--
-- Name: source_canonical(text, text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.source_canonical(p_entity text, p_source_keys text[]) RETURNS TABLE(source_key text, canonical jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION source_canonical(p_entity text, p_source_keys text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.source_canonical(p_entity text, p_source_keys text[]) IS 'The canonical form of staged records, rebuilt from their fields: to name the fields in which source and target differ.';

--
-- Name: source_snapshot_run(text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.source_snapshot_run(p_entity text) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select max(c.run_id)
  from sync.checkpoints c join sync.runs r on r.id = c.run_id
  where c.entity_type = p_entity and c.operation_type = 'sync_operation' and c.status = 'completed'
    and r.run_type = 'full' and r.status = 'completed'
$$;

--
-- Name: FUNCTION source_snapshot_run(p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.source_snapshot_run(p_entity text) IS 'The last completed full run that listed an entity: staging rows seen by it or by a later run make up the latest source snapshot (a row last seen earlier is gone from the source).';

--
-- Name: stage_copied(bigint, text, boolean, text, boolean); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.stage_copied(p_run_id bigint, p_entity text, p_full boolean, p_next_offset text, p_may_repeat boolean DEFAULT false) RETURNS TABLE(written integer, already_in_run integer, untouched integer, rejected integer, skipped integer)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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

  -- The upsert, with the rewrite rule sync.stage_page has (sync.staged_version_is_stale).
  execute format($sql$
    insert into staging.source_records as s (source_id, source_table, source_key, fields, created_time, content_hash, checksum, run_id, fetched_at, page_seq)
    select $1, $2, c.id, c.fields, c.created_time, c.hash, %1$s, $3, now(), $4
    from pg_temp.copied_records c
    where not c.is_reject
    on conflict (source_table, source_key) do update
      set source_id = excluded.source_id, fields = excluded.fields, created_time = excluded.created_time,
          content_hash = excluded.content_hash, checksum = excluded.checksum, run_id = excluded.run_id,
          fetched_at = excluded.fetched_at, page_seq = excluded.page_seq
      -- the rewrite rule sync.stage_page has too
      where sync.staged_version_is_stale($6, $5, s, excluded.content_hash, excluded.checksum, excluded.run_id)
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
$_$;

--
-- Name: FUNCTION stage_copied(p_run_id bigint, p_entity text, p_full boolean, p_next_offset text, p_may_repeat boolean); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.stage_copied(p_run_id bigint, p_entity text, p_full boolean, p_next_offset text, p_may_repeat boolean) IS 'Stages a chunk of records the runner streamed with COPY into the session''s pg_temp.copied_records (id, created_time, fields, hash, or a reject''s key, field, value and reason, in file order): the bulk counterpart of sync.stage_page for large listings. In one call and the caller''s transaction: checksums from the same canonical form, the upsert into staging.source_records under one staging.page_seq number with stage_page''s rule for rewriting a row, the rejects quarantined once and marked rejected before staging, and the checkpoint moved (records, offset, pages, untouched, rejected; no next offset marks the table listed). With p_may_repeat (a listing started again) records this run staged already with the same content are left out and counted as skipped. Returns how many rows were written, were already staged by this run, were left untouched (unchanged), were rejects (quarantined) and were skipped.';

--
-- Name: stage_page(bigint, text, jsonb, jsonb, boolean, text, timestamp with time zone); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.stage_page(p_run_id bigint, p_entity text, p_records jsonb, p_rejects jsonb, p_full boolean, p_next_offset text, p_high_water_mark timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(written integer, already_in_run integer, untouched integer, rejected integer)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
  -- an incremental run over unchanged records writes nothing (the rule is
  -- sync.staged_version_is_stale, shared with sync.stage_copied).
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
      where sync.staged_version_is_stale(p_entity, p_full, s, excluded.content_hash, excluded.checksum, excluded.run_id)
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

--
-- Name: FUNCTION stage_page(p_run_id bigint, p_entity text, p_records jsonb, p_rejects jsonb, p_full boolean, p_next_offset text, p_high_water_mark timestamp with time zone); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.stage_page(p_run_id bigint, p_entity text, p_records jsonb, p_rejects jsonb, p_full boolean, p_next_offset text, p_high_water_mark timestamp with time zone) IS 'Writes one page of Airtable records (a JSON array of {id, created_time, fields, hash}) to staging, numbered with the next staging.page_seq, and moves the table''s checkpoint, in one call: one round trip per page. The last page (no next offset) marks the table listed. The page''s latest Last Modified time moves the table''s high-water mark (the caller may pass it, saving a second parse of the page). Returns how many rows were written, were already staged by this run, were left untouched (unchanged), and were rejected by the runner (quarantined).';

--
-- Name: source_records; Type: TABLE; Schema: staging; Owner: -
--

CREATE TABLE staging.source_records (
    source_id text NOT NULL,
    source_table text NOT NULL,
    source_key text NOT NULL,
    fields jsonb NOT NULL,
    created_time timestamp with time zone,
    content_hash text NOT NULL,
    run_id bigint,
    fetched_at timestamp with time zone DEFAULT now() NOT NULL,
    page_seq bigint,
    checksum text,
    CONSTRAINT source_records_checksum_is_sha256 CHECK (sync.is_sha256_hex(checksum)),
    CONSTRAINT source_records_fields_is_object CHECK ((jsonb_typeof(fields) = 'object'::text)),
    CONSTRAINT source_records_hash_is_sha256 CHECK (sync.is_sha256_hex(content_hash))
);

--
-- Name: TABLE source_records; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON TABLE staging.source_records IS 'Every source record as last read (an Airtable record, a row of an export): its fields JSONB exactly as received (unmapped fields included), so that nothing is lost before or after the merge.';

--
-- Name: COLUMN source_records.source_id; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.source_id IS 'The source the record was read from: an Airtable base id (app...), an export directory.';

--
-- Name: COLUMN source_records.source_table; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.source_table IS 'The record''s table in its source: an Airtable table id (tbl...), an export''s file name.';

--
-- Name: COLUMN source_records.source_key; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.source_key IS 'The record''s key in its source: an Airtable record id (rec...), a key read from an export. Unique within source_table.';

--
-- Name: COLUMN source_records.fields; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.fields IS 'The record''s fields object verbatim, keyed as the source gave them (Airtable field ids, an export''s column names).';

--
-- Name: COLUMN source_records.created_time; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.created_time IS 'When the source says the record was created (Airtable''s createdTime), if it says.';

--
-- Name: COLUMN source_records.content_hash; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.content_hash IS 'SHA-256 (hex) of the fields, to skip unchanged records cheaply.';

--
-- Name: COLUMN source_records.run_id; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.run_id IS 'The run that last fetched the record.';

--
-- Name: COLUMN source_records.fetched_at; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.fetched_at IS 'When the record was last fetched.';

--
-- Name: COLUMN source_records.page_seq; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.page_seq IS 'staging.page_seq of the page that last wrote the row: the merge of a run takes pages after the last one it merged.';

--
-- Name: COLUMN source_records.checksum; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON COLUMN staging.source_records.checksum IS 'SHA-256 (hex) of the record''s canonical form (mapped columns converted as the merge converts them): compared with the same form rebuilt from the app row.';

--
-- Name: staged_version_is_stale(text, boolean, staging.source_records, text, text, bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.staged_version_is_stale(p_entity text, p_full boolean, p_staged staging.source_records, p_content_hash text, p_checksum text, p_run_id bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  -- the content or its canonical form changed
  select p_staged.content_hash <> p_content_hash
      or p_staged.checksum is distinct from p_checksum
      -- a full run marks every record it reads as seen by it (the sweep of
      -- records gone from the source reads run_id)
      or (p_full and p_staged.run_id is distinct from p_run_id)
      -- in quarantine: staged again so that the merge retries it
      or exists (select from sync.record_errors e
                 where e.resolved_at is null and e.source_table = p_staged.source_table and e.source_key = p_staged.source_key)
      -- staged by a snapshot (stage-only) run but never merged: the id map
      -- holds the checksum of the version last merged
      or (p_staged.run_id is distinct from p_run_id
          and not exists (select from sync.id_map m
                          where m.entity_type = p_entity and m.legacy_id = p_staged.source_key and m.checksum = p_staged.checksum))
$$;

--
-- Name: FUNCTION staged_version_is_stale(p_entity text, p_full boolean, p_staged staging.source_records, p_content_hash text, p_checksum text, p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.staged_version_is_stale(p_entity text, p_full boolean, p_staged staging.source_records, p_content_hash text, p_checksum text, p_run_id bigint) IS 'True when staging must write a record it already holds (p_staged) again with the version just read (its content hash, checksum and run): the content or its checksum changed, a full run marks it seen, it is in quarantine (to be merged again), or the version held was staged by a stage-only run and never merged. The rewrite rule of both sync.stage_page and sync.stage_copied.';

--
-- Name: staging_key_splits(text, text, integer); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.staging_key_splits(p_after_key text, p_upto_key text, p_parts integer) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION staging_key_splits(p_after_key text, p_upto_key text, p_parts integer); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.staging_key_splits(p_after_key text, p_upto_key text, p_parts integer) IS 'Keys that cut the key range (p_after_key, p_upto_key] (null bounds are open) into at most p_parts parts of about as many staged records, from the planner''s histogram of staging.source_records.source_key; empty without statistics or inside a narrow range. sync.verify_entity verifies the parts side by side in parallel workers.';

--
-- Name: start_job(uuid); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.start_job(p_job_id uuid) RETURNS sync.jobs
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  update sync.jobs j set status = 'running'
  where j.id = p_job_id and j.status in ('scheduled', 'failed', 'paused')
  returning j.*;
$$;

--
-- Name: FUNCTION start_job(p_job_id uuid); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.start_job(p_job_id uuid) IS 'Moves a scheduled, failed or paused job to running as a run of it opens (null, and nothing changed, for a job in any other status); sync.finish_run and sync.fail_run move it on.';

--
-- Name: stored_columns(regclass); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.stored_columns(p_table regclass) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce(array_agg(a.attname::text order by a.attnum), '{}')
  from pg_attribute a
  where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
$$;

--
-- Name: FUNCTION stored_columns(p_table regclass); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.stored_columns(p_table regclass) IS 'A table''s columns that hold written values, in table order: every column but the generated ones (derived, so neither copied nor restored).';

--
-- Name: validation_reports; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.validation_reports (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    run_id bigint,
    validation_type text NOT NULL,
    source_entity text NOT NULL,
    target_entity text,
    records_validated integer DEFAULT 0 NOT NULL,
    validation_passed boolean NOT NULL,
    discrepancies_found integer DEFAULT 0 NOT NULL,
    discrepancy_details jsonb DEFAULT '[]'::jsonb NOT NULL,
    validation_criteria jsonb DEFAULT '{}'::jsonb NOT NULL,
    execution_time_ms integer,
    generated_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT validation_reports_counts_not_negative CHECK (((records_validated >= 0) AND (discrepancies_found >= 0) AND (execution_time_ms >= 0))),
    CONSTRAINT validation_reports_details_is_array CHECK ((jsonb_typeof(discrepancy_details) = 'array'::text)),
    CONSTRAINT validation_reports_expires_after_generated CHECK ((expires_at > generated_at)),
    CONSTRAINT validation_reports_passed_means_no_discrepancies CHECK (((NOT validation_passed) OR (discrepancies_found = 0))),
    CONSTRAINT validation_reports_type_is_known CHECK ((validation_type = ANY (ARRAY['data_integrity'::text, 'relationship_integrity'::text, 'completeness_check'::text, 'performance_check'::text])))
);

--
-- Name: TABLE validation_reports; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.validation_reports IS 'The result of one validation pass over an entity: what was checked, whether it passed, and each discrepancy by record, field, value and rule.';

--
-- Name: COLUMN validation_reports.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.id IS 'Primary key.';

--
-- Name: COLUMN validation_reports.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.run_id IS 'The run that validated.';

--
-- Name: COLUMN validation_reports.validation_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.validation_type IS 'data_integrity, relationship_integrity, completeness_check or performance_check.';

--
-- Name: COLUMN validation_reports.source_entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.source_entity IS 'The entity validated at the source.';

--
-- Name: COLUMN validation_reports.target_entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.target_entity IS 'The entity it was compared with, if any.';

--
-- Name: COLUMN validation_reports.records_validated; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.records_validated IS 'Records examined.';

--
-- Name: COLUMN validation_reports.validation_passed; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.validation_passed IS 'True only when no discrepancy was found.';

--
-- Name: COLUMN validation_reports.discrepancies_found; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.discrepancies_found IS 'Number of discrepancies; 0 when passed.';

--
-- Name: COLUMN validation_reports.discrepancy_details; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.discrepancy_details IS 'JSON array of {record, field, value, rule} objects.';

--
-- Name: COLUMN validation_reports.validation_criteria; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.validation_criteria IS 'The rules applied.';

--
-- Name: COLUMN validation_reports.execution_time_ms; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.execution_time_ms IS 'How long the validation took.';

--
-- Name: COLUMN validation_reports.generated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.generated_at IS 'When the report was produced.';

--
-- Name: COLUMN validation_reports.expires_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.expires_at IS 'When the report stops being current; after generated_at.';

--
-- Name: COLUMN validation_reports.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.validation_reports.created_at IS 'When the row was written.';

--
-- Name: summarize_verification(bigint, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.summarize_verification(p_run_id bigint, p_entity text) RETURNS SETOF sync.validation_reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION summarize_verification(p_run_id bigint, p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.summarize_verification(p_run_id bigint, p_entity text) IS 'Folds the per-key-range verification reports of an entity in run p_run_id (sync.verify_entity) into one report per check: counts and table checksum parts added, the runs that last read the source records united, discrepancies, quarantined records and records rejected before staging concatenated in key order, the range reports removed. Returns the entity''s three verification reports. Security definer: writes sync.validation_reports for the sync role.';

--
-- Name: sweep_deleted(bigint, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.sweep_deleted(p_run_id bigint, p_entity text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION sweep_deleted(p_run_id bigint, p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.sweep_deleted(p_run_id bigint, p_entity text) IS 'After a full run has listed every record of a table, soft-deletes the app rows whose Airtable record is gone (audited with the run) and closes their open field problems. A record that reappears is restored by the next merge.';

--
-- Name: sweep_deleted_in_key_ranges(bigint, text, bigint, jsonb); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.sweep_deleted_in_key_ranges(p_run_id bigint, p_entity text, p_width bigint, p_ranges jsonb) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION sweep_deleted_in_key_ranges(p_run_id bigint, p_entity text, p_width bigint, p_ranges jsonb); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.sweep_deleted_in_key_ranges(p_run_id bigint, p_entity text, p_width bigint, p_ranges jsonb) IS 'After a listing complete within ranges of integer keys (range n holds the keys k with floor(k / width) = n; p_ranges a JSON array of range numbers), soft-deletes the app rows whose source key (the id map''s, compared as a number) is in one of the ranges and was not staged by the run (audited with the run), closes their open field problems and removes their records from staging (gone from the source: the last source snapshot no longer counts them). Rows outside the ranges are not touched.';

--
-- Name: table_checksum(text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.table_checksum(p_checksums text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  -- Order-independent: a count and two sums of 64-bit hashes of the
  -- checksums; the same records in any order give the same text.
  select sync.table_checksum_text(count(c), sum(sync.checksum_term(c, 0)), sum(sync.checksum_term(c, 1)))
  from unnest(p_checksums) as c
$$;

--
-- Name: FUNCTION table_checksum(p_checksums text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.table_checksum(p_checksums text[]) IS 'An order-independent checksum of a set of record checksums (the count and two sums of 64-bit hashes of them, see sync.checksum_term): compares whole tables in one pass.';

--
-- Name: table_checksum_text(numeric, numeric, numeric); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.table_checksum_text(p_records numeric, p_first numeric, p_second numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ select concat_ws(':', coalesce(p_records, 0), coalesce(p_first, 0), coalesce(p_second, 0)) $$;

--
-- Name: FUNCTION table_checksum_text(p_records numeric, p_first numeric, p_second numeric); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.table_checksum_text(p_records numeric, p_first numeric, p_second numeric) IS 'The text of a table checksum from its parts (record count, the sums of the record checksums'' terms under seeds 0 and 1, see sync.checksum_term). Parts add up across key ranges, so a checksum computed range by range equals the one computed in one pass.';

--
-- Name: table_content_checksum(regclass, text[]); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.table_content_checksum(p_table regclass, p_columns text[]) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET "TimeZone" TO 'UTC'
    SET extra_float_digits TO '1'
    AS $_$
declare
  result jsonb;
begin
  -- Each row as a jsonb object of the given columns, its SHA-256, then
  -- sync.table_checksum: the same rows in any order give the same text.
  execute format($sql$
    select jsonb_build_object('rows', count(*),
                              'checksum', sync.table_checksum(array_agg(encode(sha256(convert_to(to_jsonb(t)::text, 'UTF8')), 'hex'))))
    from (select %s from %s) t
  $sql$, sync.column_list(null, p_columns), p_table) into result;
  return result;
end;
$_$;

--
-- Name: FUNCTION table_content_checksum(p_table regclass, p_columns text[]); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.table_content_checksum(p_table regclass, p_columns text[]) IS 'Row count and order-independent checksum ({"rows", "checksum"}) of a table''s content in the given columns, independent of the session''s time zone: compares a live table with its snapshot copy. Runs with the caller''s privileges.';

--
-- Name: take_snapshot(text, text, bigint); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.take_snapshot(p_label text, p_actor text, p_run_id bigint DEFAULT NULL::bigint) RETURNS sync.snapshots
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION take_snapshot(p_label text, p_actor text, p_run_id bigint); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.take_snapshot(p_label text, p_actor text, p_run_id bigint) IS 'Takes a safety snapshot: creates schema airlift_snapshot_<id>, readable by its owner only, and copies into it (create table ... as select, one statement per table, writers held off meanwhile) every app table, sync.id_map and staging.source_records, recording row counts and checksums. p_run_id names the run whose start it protects, if any. Refuses (55P03) while a pull is running. Security definer: the sync role may take snapshots but not create schemas.';

--
-- Name: target_canonical_sql(text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.target_canonical_sql(p_entity text, p_rows text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION target_canonical_sql(p_entity text, p_rows text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.target_canonical_sql(p_entity text, p_rows text) IS 'The statement that rebuilds, set-based, the canonical form of every row of an entity''s table that has a source key (id, source_key: the record''s key in the source, from sync.id_map, deleted_at, canonical): the target side of verification and differentials. A column an open field problem left empty counts as the source value the problem keeps, so a record that landed with problems compares equal to its source. p_rows names another relation of the table''s row type to read instead (a trigger''s transition table).';

--
-- Name: tg__adopt_source_keys_on_mapping(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.tg__adopt_source_keys_on_mapping() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  -- entries made before the mapping did not know their source table
  update sync.id_map k set source_table = new.source_table, updated_at = now()
  where k.entity_type = new.entity and k.source_table is null;
  perform sync.adopt_source_keys(new.entity);
  return null;
end;
$$;

--
-- Name: FUNCTION tg__adopt_source_keys_on_mapping(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.tg__adopt_source_keys_on_mapping() IS 'Row-level AFTER INSERT trigger on sync.entity_mappings: when an entity gets its mapping, its id map entries made before (source table unknown) get the mapping''s source table, and the target rows that hold a key in the source-key column with no entry are entered (sync.adopt_source_keys).';

--
-- Name: tg__capture_changes(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.tg__capture_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION tg__capture_changes(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.tg__capture_changes() IS 'Statement-level AFTER INSERT/UPDATE/DELETE trigger of the synced app tables (argument: the entity): captures each row whose pushable columns changed, or that was created, soft- or hard-deleted or restored, into sync.outbox, merging into the row''s open entry (union of columns, original before values; create+update stays create, create+delete is superseded, update+delete is delete, delete+restore is update or superseded). Does nothing when airlift.run_id is set (a sync write: no echo). While no mapping is loaded at all (before the first pull or push), captures over the catalogue''s pushable columns (sync.push_columns), so a row an application writes then is not lost; once a mapping is loaded, an entity it leaves out is not captured. Security definer: app writers cannot write sync tables.';

--
-- Name: tg__enforce_status_transition(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.tg__enforce_status_transition() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  machine text := tg_table_schema || '.' || tg_table_name;
  previous text := case when tg_op = 'UPDATE' then old.status end;
  recurring boolean := coalesce(to_jsonb(new) ->> 'job_type' = 'scheduled_sync', false);
  allowed text;
begin
  if tg_op = 'UPDATE' and new.status is not distinct from old.status then
    return new;
  end if;
  if exists (
    select from sync.status_transitions t
    where t.machine = tg_table_schema || '.' || tg_table_name
      and t.from_status is not distinct from previous
      and t.to_status = new.status
      and (recurring or not t.only_for_recurring)
  ) then
    return new;
  end if;
  select string_agg(t.to_status, ', ' order by t.to_status) into allowed
  from sync.status_transitions t
  where t.machine = tg_table_schema || '.' || tg_table_name
    and t.from_status is not distinct from previous
    and (recurring or not t.only_for_recurring);
  if tg_op = 'INSERT' then
    raise exception 'illegal initial status for %: % (a new row may start as: %)', machine, new.status, coalesce(allowed, 'nothing')
      using errcode = 'check_violation';
  end if;
  raise exception 'illegal status transition for % %: % -> % (allowed from %: %)',
    machine, old.id, old.status, new.status, old.status, coalesce(allowed, 'nothing')
    using errcode = 'check_violation';
end;
$$;

--
-- Name: FUNCTION tg__enforce_status_transition(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.tg__enforce_status_transition() IS 'BEFORE INSERT OR UPDATE OF status row trigger: refuses a status that sync.status_transitions does not allow, naming the row, the move and the moves that are allowed.';

--
-- Name: tg__maintain_target_checksums(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.tg__maintain_target_checksums() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

--
-- Name: FUNCTION tg__maintain_target_checksums(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.tg__maintain_target_checksums() IS 'Statement-level AFTER trigger on the synced app tables (argument: the entity): enters in sync.id_map a row written outside the sync that holds a key in the source-key column and has no entry yet, then rebuilds the canonical checksum of every inserted or updated row that has a source key (its sync.id_map entry) from the row itself (sync.target_canonical_sql over the transition table) into sync.target_checksums, and forgets deleted or truncated rows. Set-based, whoever writes. Security definer: app writers cannot write sync tables themselves.';

--
-- Name: tg_attachments__capture_changes(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.tg_attachments__capture_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if audit.current_run_id() is not null then
    return null;
  end if;

  if tg_op = 'INSERT' then
    -- a file attached here: uploaded by the push
    insert into sync.attachment_outbox (attachment_id, entity, owner_row_id, field_name, operation, changed_by)
    select n.id, e.entity, (to_jsonb(n) ->> e.attachment_owner_column)::uuid, n.field_name, 'upload', audit.current_actor()
    from new_rows n
    join sync.entities e on e.attachment_owner_column is not null and to_jsonb(n) ->> e.attachment_owner_column is not null
    where n.airtable_attachment_id is null and n.deleted_at is null;
    return null;
  end if;

  if tg_op = 'DELETE' then
    -- a file deleted before it was sent: its upload is called off
    update sync.attachment_outbox x
    set status = 'cancelled', updated_at = now()
    from old_rows o
    where o.airtable_attachment_id is null and x.attachment_id = o.id and x.operation = 'upload' and x.status = 'pending';
    -- a file deleted here that Airtable has: left out of its cell by the push
    insert into sync.attachment_outbox (attachment_id, entity, owner_row_id, field_name, operation, airtable_attachment_id, changed_by)
    select o.id, e.entity, (to_jsonb(o) ->> e.attachment_owner_column)::uuid, o.field_name, 'remove', o.airtable_attachment_id, audit.current_actor()
    from old_rows o
    join sync.entities e on e.attachment_owner_column is not null and to_jsonb(o) ->> e.attachment_owner_column is not null
    where o.airtable_attachment_id is not null and o.deleted_at is null;
    return null;
  end if;

  -- UPDATE: a file soft-deleted here before it was sent: its upload is called off
  update sync.attachment_outbox x
  set status = 'cancelled', updated_at = now()
  from old_rows o
  join new_rows n on n.id = o.id
  where o.airtable_attachment_id is null and o.deleted_at is null and n.deleted_at is not null
    and x.attachment_id = o.id and x.operation = 'upload' and x.status = 'pending';
  -- a file soft-deleted here that Airtable has: left out of its cell by the push
  insert into sync.attachment_outbox (attachment_id, entity, owner_row_id, field_name, operation, airtable_attachment_id, changed_by)
  select o.id, e.entity, (to_jsonb(o) ->> e.attachment_owner_column)::uuid, o.field_name, 'remove', o.airtable_attachment_id, audit.current_actor()
  from old_rows o
  join new_rows n on n.id = o.id
  join sync.entities e on e.attachment_owner_column is not null and to_jsonb(o) ->> e.attachment_owner_column is not null
  where o.airtable_attachment_id is not null and o.deleted_at is null and n.deleted_at is not null;
  return null;
end;
$$;

--
-- Name: FUNCTION tg_attachments__capture_changes(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.tg_attachments__capture_changes() IS 'Statement-level AFTER INSERT/UPDATE/DELETE trigger of app.attachments: a file attached here (no Airtable id) queues an upload in sync.attachment_outbox, a file removed here (soft-deleted or deleted) that Airtable has queues a removal, and one removed before it was sent calls its upload off. Writes of the sync (airlift.run_id set) are not captured. Security definer: applications may not write sync.';

--
-- Name: tg_attachments__fill_stored_file(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.tg_attachments__fill_stored_file() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  stored sync.stored_files;
begin
  select * into stored from sync.stored_files f where f.sha256 = new.sha256;
  if not found then
    raise exception 'the file % is not in the file store: store it first (airlift files attach)', new.sha256
      using errcode = '23503', column = 'sha256', table = 'attachments', schema = 'app';
  end if;
  new.store_key := stored.store_key;
  new.stored_size_bytes := stored.size_bytes;
  new.stored_mime_type := coalesce(new.stored_mime_type, stored.content_type);
  -- a file attached here takes its metadata from the stored file
  if new.airtable_attachment_id is null then
    new.size_bytes := coalesce(new.size_bytes, stored.size_bytes);
    new.mime_type := coalesce(new.mime_type, stored.content_type);
  end if;
  return new;
end;
$$;

--
-- Name: FUNCTION tg_attachments__fill_stored_file(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.tg_attachments__fill_stored_file() IS 'BEFORE INSERT/UPDATE OF sha256 row trigger of app.attachments (only when the store key is not given): fills store_key, stored_size_bytes and stored_mime_type (and, for a file attached here, size_bytes and mime_type) from sync.stored_files; refuses (23503) a SHA-256 the store does not hold. Security definer: applications may not read sync.';

--
-- Name: tg_record_errors__keep_rejections_open(); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.tg_record_errors__keep_rejections_open() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

--
-- Name: FUNCTION tg_record_errors__keep_rejections_open(); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.tg_record_errors__keep_rejections_open() IS 'Trigger function (BEFORE UPDATE of sync.record_errors, for entries rejected before staging that an update would resolve): lets the update through only when the record was staged since the rejection or a newer rejection of it by the resolving run replaces it; otherwise skips the row, so that the merge retrying an older staged version cannot release a record whose current version could not be read.';

--
-- Name: touch_checkpoint(bigint, text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.touch_checkpoint(p_run_id bigint, p_operation text, p_entity text) RETURNS SETOF sync.checkpoints
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  update sync.checkpoints c set updated_at = now()
  where c.run_id = p_run_id and c.operation_type = p_operation and c.entity_type = p_entity
  returning c.*;
$$;

--
-- Name: FUNCTION touch_checkpoint(p_run_id bigint, p_operation text, p_entity text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.touch_checkpoint(p_run_id bigint, p_operation text, p_entity text) IS 'A run''s checkpoint of an operation on an entity as it was left, its updated_at stamped (a walk takes it up); no row when the run has none yet (sync.open_checkpoint opens it).';

--
-- Name: unreferenced_files(interval); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.unreferenced_files(p_min_age interval DEFAULT '01:00:00'::interval) RETURNS TABLE(sha256 text, size_bytes bigint, store_kind text, store_key text, stored_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  snapshot_refs text;
begin
  -- snapshots taken before files were kept hold attachment ids only: their files are found through the ledger
  select string_agg(case when exists (select from information_schema.columns c
                                      where c.table_schema = s.schema_name and c.table_name = 'attachments' and c.column_name = 'sha256')
                         then format('select sha256 from %I.attachments where sha256 is not null', s.schema_name)
                         else format('select d.sha256 from %I.attachments x join sync.attachment_downloads d on d.attachment_key = x.airtable_attachment_id where d.sha256 is not null', s.schema_name)
                    end, ' union all ')
  into snapshot_refs
  from sync.snapshots s
  where s.dropped_at is null
    and exists (select from information_schema.tables t where t.table_schema = s.schema_name and t.table_name = 'attachments');

  return query execute format($sql$
    select f.sha256, f.size_bytes, f.store_kind, f.store_key, f.stored_at
    from sync.stored_files f
    where f.stored_at < now() - $1
      and not exists (select from app.attachments a where a.sha256 = f.sha256)
      and not exists (select from (%s) s (sha256) where s.sha256 = f.sha256)
      and not exists (
        select from audit.changes c
        where c.table_name = 'app.attachments'
          and (c.new_values ->> 'sha256' = f.sha256 or c.old_values ->> 'sha256' = f.sha256)
          and (c.run_id is null or not exists (
                select from sync.runs r where r.id = c.run_id and (r.status = 'rolled_back' or r.run_type = 'rollback'))))
    order by f.stored_at, f.sha256
  $sql$, coalesce(snapshot_refs, 'select null::text where false')) using p_min_age;
end;
$_$;

--
-- Name: FUNCTION unreferenced_files(p_min_age interval); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.unreferenced_files(p_min_age interval) IS 'Stored files (sync.stored_files) older than p_min_age that no app.attachments row (live or soft-deleted), no live snapshot and no standing audit record of app.attachments points at; audit records of rolled-back runs and of rollbacks do not count, so a rolled-back run''s new files are collected. What airlift files gc removes. Security definer: the sync role may not read the audit trail.';

--
-- Name: validate_entity(bigint, text, boolean); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean DEFAULT false) RETURNS SETOF sync.validation_reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '128MB'
    AS $_$
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
$_$;

--
-- Name: FUNCTION validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean) IS 'The validation report of an entity for run p_run_id: every enabled rule checked over the records the run read (or, with p_whole_snapshot, the latest source snapshot: a record whose current version a run already checked under the same rules keeps that run''s findings, and in a verify run the target answers the same_as_linked rules for records it holds exactly), warnings found here, the merge''s own problems of records that landed flagged (warnings naming what landed), and blocking findings as the merge quarantined them (and the records the runner could not stage, rule staging, rejected_before_staging true: all open ones over the snapshot, those the run rejected for a run), each naming record, field, value, rule and severity. Over the whole snapshot in a verify run that has verified the entity, the scope''s count and the runs that last read its records come from that completeness report, so staging is read only for records to check again. Writes a data_integrity and a relationship_integrity row to sync.validation_reports (criteria check = validation_rules) and returns them. For a run''s records, the warnings of record-local rules are also kept as their field problems (sync.field_problems, origin rule). Security definer: reads staging for any caller the sync role lets run it.';

--
-- Name: verify_entity(bigint, text, text, text, boolean, boolean); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.verify_entity(p_run_id bigint, p_entity text, p_after_key text DEFAULT NULL::text, p_upto_key text DEFAULT NULL::text, p_deep boolean DEFAULT false, p_relationships boolean DEFAULT true) RETURNS SETOF sync.validation_reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '128MB'
    SET parallel_setup_cost TO '0'
    SET parallel_tuple_cost TO '0'
    SET enable_hashjoin TO 'on'
    AS $_$
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
$_$;

--
-- Name: FUNCTION verify_entity(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text, p_deep boolean, p_relationships boolean); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.verify_entity(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text, p_deep boolean, p_relationships boolean) IS 'Verifies one entity over one key range (source_key in (p_after_key, p_upto_key]; null bounds are open) for a verify run: completeness (source snapshot against live target rows, quarantine listed, records the runner rejected before staging named with field and reason in rejected_before_staging, table checksum parts in its criteria for a range), data integrity (stored checksums record by record, naming the differing fields with both values; p_deep rebuilds every target canonical form and reports stale stored checksums) and, unless p_relationships is false (airlift verify checks them once per table, over all keys), relationships (sync.verify_relationships). The range is merge-joined in parts side by side (sync.staging_key_splits), unless p_deep. Writes one sync.validation_reports row per check and returns them; sync.summarize_verification folds ranges together (reports over all keys are written folded). Security definer: reads app and staging for the sync role.';

--
-- Name: verify_relationships(bigint, text, text, text); Type: FUNCTION; Schema: sync; Owner: -
--

CREATE FUNCTION sync.verify_relationships(p_run_id bigint, p_entity text, p_after_key text DEFAULT NULL::text, p_upto_key text DEFAULT NULL::text) RETURNS SETOF sync.validation_reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '128MB'
    SET parallel_setup_cost TO '0'
    SET parallel_tuple_cost TO '0'
    AS $_$
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
$_$;

--
-- Name: FUNCTION verify_relationships(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text); Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON FUNCTION sync.verify_relationships(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text) IS 'The relationship check of a verification over one key range of an entity (null bounds are open): links of the live app rows to deleted rows (each link column) and redundant links that disagree with the linked row''s (the same_as_linked rules), in one pass over the rows with the details built for the rows found. Writes one relationship_integrity row to sync.validation_reports and returns it. Called by sync.verify_entity, or once per table over all keys by airlift verify. Security definer: reads app for the sync role.';

--
-- Name: attachments; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.attachments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    airtable_attachment_id text,
    product_id uuid,
    registration_id uuid,
    field_name text NOT NULL,
    "position" smallint DEFAULT 0 NOT NULL,
    filename text NOT NULL,
    size_bytes bigint,
    mime_type text,
    url text,
    url_fetched_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    sha256 text,
    stored_size_bytes bigint,
    stored_mime_type text,
    store_key text,
    CONSTRAINT attachments_deleted_after_created CHECK ((deleted_at >= created_at)),
    CONSTRAINT attachments_exactly_one_owner CHECK ((num_nonnulls(product_id, registration_id) = 1)),
    CONSTRAINT attachments_file_known CHECK (((airtable_attachment_id IS NOT NULL) OR (sha256 IS NOT NULL))),
    CONSTRAINT attachments_id_format CHECK (((airtable_attachment_id IS NULL) OR (airtable_attachment_id ~ '^att[A-Za-z0-9]{14}$'::text))),
    CONSTRAINT attachments_position_not_negative CHECK (("position" >= 0)),
    CONSTRAINT attachments_size_not_negative CHECK ((size_bytes >= 0)),
    CONSTRAINT attachments_stored_file_complete CHECK ((((sha256 IS NULL) = (store_key IS NULL)) AND ((sha256 IS NULL) = (stored_size_bytes IS NULL)))),
    CONSTRAINT attachments_stored_size_not_negative CHECK ((stored_size_bytes >= 0))
);

--
-- Name: TABLE attachments; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.attachments IS 'One row per file in an attachment field (a product''s Label, a registration''s Documents): Airtable''s metadata, and the file itself, kept by content in the file store once downloaded (sha256, store_key).';

--
-- Name: COLUMN attachments.id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.id IS 'Primary key.';

--
-- Name: COLUMN attachments.airtable_attachment_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.airtable_attachment_id IS 'Airtable attachment id (att...); null for a file attached here that the push has not sent yet.';

--
-- Name: COLUMN attachments.product_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.product_id IS 'Owning product, when the file is in a product field. Cascade: files go with their record.';

--
-- Name: COLUMN attachments.registration_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.registration_id IS 'Owning registration, when the file is in a registration field.';

--
-- Name: COLUMN attachments.field_name; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.field_name IS 'Which attachment field of the owner holds the file (label, documents).';

--
-- Name: COLUMN attachments."position"; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments."position" IS 'Order of the file within its cell, from 0.';

--
-- Name: COLUMN attachments.filename; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.filename IS 'File name as uploaded.';

--
-- Name: COLUMN attachments.size_bytes; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.size_bytes IS 'File size in bytes.';

--
-- Name: COLUMN attachments.mime_type; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.mime_type IS 'MIME type Airtable reports.';

--
-- Name: COLUMN attachments.url; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.url IS 'Last download URL seen; Airtable''s URLs expire about two hours after they are returned.';

--
-- Name: COLUMN attachments.url_fetched_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.url_fetched_at IS 'When url was received, to tell whether it may still work.';

--
-- Name: COLUMN attachments.created_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.created_at IS 'When the row was first written here.';

--
-- Name: COLUMN attachments.updated_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN attachments.deleted_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.deleted_at IS 'When the file was removed from its cell; null while present.';

--
-- Name: COLUMN attachments.sha256; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.sha256 IS 'The file''s content, kept in the file store (sync.stored_files); null until it is downloaded. Restrict: a stored file is never collected while a row points at it.';

--
-- Name: COLUMN attachments.stored_size_bytes; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.stored_size_bytes IS 'Bytes of the stored file (size_bytes is what Airtable declares).';

--
-- Name: COLUMN attachments.stored_mime_type; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.stored_mime_type IS 'Content type the stored file was served with (mime_type is what Airtable declares).';

--
-- Name: COLUMN attachments.store_key; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.attachments.store_key IS 'The stored file''s key in the file store (airlift files get writes it out).';

--
-- Name: clients; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.clients (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    airtable_id text,
    name text,
    client_code text,
    status text,
    primary_contact text,
    email text,
    phone text,
    mailing_address text,
    federal_tax_id text,
    account_manager_id uuid,
    client_since date,
    annual_budget numeric(12,2),
    notes text,
    airtable_created_at timestamp with time zone,
    airtable_modified_at timestamp with time zone,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, ((COALESCE(name, ''::text) || ' '::text) || COALESCE(client_code, ''::text)))) STORED,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    CONSTRAINT clients_airtable_id_format CHECK ((airtable_id ~ '^rec[A-Za-z0-9]{14}$'::text)),
    CONSTRAINT clients_deleted_after_created CHECK ((deleted_at >= created_at)),
    CONSTRAINT clients_name_not_blank CHECK ((btrim(name) <> ''::text))
);

--
-- Name: TABLE clients; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.clients IS 'Companies Delta works for (Airtable table Clients).';

--
-- Name: COLUMN clients.id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN clients.airtable_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.airtable_id IS 'Airtable record id (rec...); null for a client created here and not yet pushed.';

--
-- Name: COLUMN clients.name; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.name IS 'Client Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';

--
-- Name: COLUMN clients.client_code; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.client_code IS 'Client Code: Delta''s short code for the client.';

--
-- Name: COLUMN clients.status; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.status IS 'Status select (Active, Prospect, On Hold, Inactive, or any option added later).';

--
-- Name: COLUMN clients.primary_contact; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.primary_contact IS 'Primary Contact person.';

--
-- Name: COLUMN clients.email; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.email IS 'Email as entered; validation reports, never rewrites, values that are not addresses.';

--
-- Name: COLUMN clients.phone; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.phone IS 'Phone as entered, in whatever format.';

--
-- Name: COLUMN clients.mailing_address; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.mailing_address IS 'Mailing Address, multi-line.';

--
-- Name: COLUMN clients.federal_tax_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.federal_tax_id IS 'Federal Tax ID (EIN).';

--
-- Name: COLUMN clients.account_manager_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.account_manager_id IS 'Account Manager collaborator.';

--
-- Name: COLUMN clients.client_since; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.client_since IS 'Client Since date.';

--
-- Name: COLUMN clients.annual_budget; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.annual_budget IS 'Annual Budget in dollars.';

--
-- Name: COLUMN clients.notes; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.notes IS 'Notes, long text.';

--
-- Name: COLUMN clients.airtable_created_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.airtable_created_at IS 'Airtable''s created time of the record.';

--
-- Name: COLUMN clients.airtable_modified_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.airtable_modified_at IS 'Airtable''s Last Modified time of the record, the incremental sync''s high-water mark.';

--
-- Name: COLUMN clients.search_vector; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.search_vector IS 'Full-text search over name and client code (generated).';

--
-- Name: COLUMN clients.created_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.created_at IS 'When the row was first written here.';

--
-- Name: COLUMN clients.updated_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN clients.deleted_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.deleted_at IS 'When the record was deleted (in Airtable or here); null while it exists.';

--
-- Name: COLUMN clients.open_problem_count; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.clients.open_problem_count IS 'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';

--
-- Name: collaborators; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.collaborators (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    airtable_user_id text NOT NULL,
    email text,
    name text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT collaborators_user_id_format CHECK ((airtable_user_id ~ '^usr[A-Za-z0-9]{14}$'::text))
);

--
-- Name: TABLE collaborators; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.collaborators IS 'Airtable users named in collaborator fields (account manager, assignee), one row per Airtable user id.';

--
-- Name: COLUMN collaborators.id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.collaborators.id IS 'Surrogate key referenced by domain tables.';

--
-- Name: COLUMN collaborators.airtable_user_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.collaborators.airtable_user_id IS 'Airtable user id (usr...), the identity of a collaborator across tables.';

--
-- Name: COLUMN collaborators.email; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.collaborators.email IS 'Email as Airtable last reported it.';

--
-- Name: COLUMN collaborators.name; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.collaborators.name IS 'Display name as Airtable last reported it.';

--
-- Name: COLUMN collaborators.created_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.collaborators.created_at IS 'When the row was first written here.';

--
-- Name: COLUMN collaborators.updated_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.collaborators.updated_at IS 'When the row last changed here.';

--
-- Name: products; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.products (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    airtable_id text,
    name text,
    client_id uuid,
    epa_registration_number text,
    product_type text,
    active_ingredients text,
    signal_word text,
    discontinued boolean DEFAULT false NOT NULL,
    airtable_modified_at timestamp with time zone,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, ((COALESCE(name, ''::text) || ' '::text) || COALESCE(epa_registration_number, ''::text)))) STORED,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    CONSTRAINT products_airtable_id_format CHECK ((airtable_id ~ '^rec[A-Za-z0-9]{14}$'::text)),
    CONSTRAINT products_deleted_after_created CHECK ((deleted_at >= created_at)),
    CONSTRAINT products_name_not_blank CHECK ((btrim(name) <> ''::text))
);

--
-- Name: TABLE products; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.products IS 'A client''s product (Airtable table Products).';

--
-- Name: COLUMN products.id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN products.airtable_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.airtable_id IS 'Airtable record id (rec...); null until pushed.';

--
-- Name: COLUMN products.name; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.name IS 'Product Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';

--
-- Name: COLUMN products.client_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.client_id IS 'The owning client (Airtable link Client). Restrict: a client with products is soft-deleted, never removed.';

--
-- Name: COLUMN products.epa_registration_number; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.epa_registration_number IS 'EPA Registration Number, optional.';

--
-- Name: COLUMN products.product_type; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.product_type IS 'Product Type select.';

--
-- Name: COLUMN products.active_ingredients; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.active_ingredients IS 'Active Ingredients, long text.';

--
-- Name: COLUMN products.signal_word; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.signal_word IS 'Signal Word select (None, Caution, Warning, Danger).';

--
-- Name: COLUMN products.discontinued; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.discontinued IS 'Discontinued checkbox.';

--
-- Name: COLUMN products.airtable_modified_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.airtable_modified_at IS 'Airtable''s Last Modified time of the record.';

--
-- Name: COLUMN products.search_vector; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.search_vector IS 'Full-text search over product name and EPA number (generated).';

--
-- Name: COLUMN products.created_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.created_at IS 'When the row was first written here.';

--
-- Name: COLUMN products.updated_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN products.deleted_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.deleted_at IS 'When the record was deleted; null while it exists.';

--
-- Name: COLUMN products.open_problem_count; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.products.open_problem_count IS 'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';

--
-- Name: registrations; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.registrations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    airtable_id text,
    client_id uuid,
    product_id uuid,
    state_regulator_id uuid,
    state text,
    state_code text GENERATED ALWAYS AS (
CASE
    WHEN (upper(btrim(state)) ~ '^[A-Z]{2}$'::text) THEN upper(btrim(state))
    ELSE NULL::text
END) STORED,
    status text,
    lifecycle_stage text GENERATED ALWAYS AS (
CASE lower(btrim(status))
    WHEN 'not started'::text THEN 'preparation'::text
    WHEN 'in preparation'::text THEN 'preparation'::text
    WHEN 'submitted'::text THEN 'review'::text
    WHEN 'pending review'::text THEN 'review'::text
    WHEN 'deficiency'::text THEN 'review'::text
    WHEN 'approved'::text THEN 'active'::text
    WHEN 'denied'::text THEN 'closed'::text
    WHEN 'expired'::text THEN 'closed'::text
    WHEN 'withdrawn'::text THEN 'closed'::text
    ELSE
    CASE
        WHEN (status IS NULL) THEN 'preparation'::text
        ELSE 'unknown'::text
    END
END) STORED,
    is_open boolean GENERATED ALWAYS AS ((COALESCE(lower(btrim(status)), ''::text) <> ALL (ARRAY['denied'::text, 'expired'::text, 'withdrawn'::text]))) STORED,
    is_approved boolean GENERATED ALWAYS AS (COALESCE((lower(btrim(status)) = 'approved'::text), false)) STORED,
    registration_type text,
    state_registration_number text,
    submitted_date date,
    approved_date date,
    expiration_date date,
    fee_paid numeric(12,2),
    invoice_number text,
    priority smallint,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    assigned_to_id uuid,
    notes text,
    airtable_modified_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    CONSTRAINT registrations_airtable_id_format CHECK ((airtable_id ~ '^rec[A-Za-z0-9]{14}$'::text)),
    CONSTRAINT registrations_deleted_after_created CHECK ((deleted_at >= created_at)),
    CONSTRAINT registrations_priority_in_rating_range CHECK (((priority >= 1) AND (priority <= 5)))
);

--
-- Name: TABLE registrations; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.registrations IS 'One product registered in one state for one cycle (Airtable table Registrations): the registration-tracking table the business lives by.';

--
-- Name: COLUMN registrations.id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN registrations.airtable_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.airtable_id IS 'Airtable record id (rec...); null until pushed.';

--
-- Name: COLUMN registrations.client_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.client_id IS 'The client (Airtable link Client). Redundant with the product''s client; validation reports disagreements.';

--
-- Name: COLUMN registrations.product_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.product_id IS 'The registered product (Airtable link Product).';

--
-- Name: COLUMN registrations.state_regulator_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.state_regulator_id IS 'The regulating agency (Airtable link State Regulator).';

--
-- Name: COLUMN registrations.state; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.state IS 'State as Airtable''s lookup through the regulator shows it.';

--
-- Name: COLUMN registrations.state_code; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.state_code IS 'Two-letter state code normalized from state; null when not a code.';

--
-- Name: COLUMN registrations.status; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.status IS 'Status select as entered (Not Started ... Withdrawn, or an option added later).';

--
-- Name: COLUMN registrations.lifecycle_stage; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.lifecycle_stage IS 'Derived from status: preparation, review, active, closed, or unknown for an option this schema does not know yet.';

--
-- Name: COLUMN registrations.is_open; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.is_open IS 'Derived: the registration is not in a terminal status (Denied, Expired, Withdrawn).';

--
-- Name: COLUMN registrations.is_approved; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.is_approved IS 'Derived: the status is Approved, so the registration is in force until its expiration date.';

--
-- Name: COLUMN registrations.registration_type; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.registration_type IS 'Registration Type select (New, Renewal, Amendment).';

--
-- Name: COLUMN registrations.state_registration_number; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.state_registration_number IS 'The state''s registration number.';

--
-- Name: COLUMN registrations.submitted_date; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.submitted_date IS 'Submitted Date.';

--
-- Name: COLUMN registrations.approved_date; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.approved_date IS 'Approved Date. Airtable data may have it before submission; validation reports it.';

--
-- Name: COLUMN registrations.expiration_date; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.expiration_date IS 'Expiration Date: the renewal deadline.';

--
-- Name: COLUMN registrations.fee_paid; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.fee_paid IS 'Fee Paid in dollars.';

--
-- Name: COLUMN registrations.invoice_number; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.invoice_number IS 'Invoice Number.';

--
-- Name: COLUMN registrations.priority; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.priority IS 'Priority rating, 1 to 5 stars.';

--
-- Name: COLUMN registrations.tags; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.tags IS 'Tags multiple select, in Airtable''s order.';

--
-- Name: COLUMN registrations.assigned_to_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.assigned_to_id IS 'Assigned To collaborator.';

--
-- Name: COLUMN registrations.notes; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.notes IS 'Notes, long text.';

--
-- Name: COLUMN registrations.airtable_modified_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.airtable_modified_at IS 'Airtable''s Last Modified time of the record.';

--
-- Name: COLUMN registrations.created_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.created_at IS 'When the row was first written here.';

--
-- Name: COLUMN registrations.updated_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN registrations.deleted_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.deleted_at IS 'When the record was deleted; null while it exists.';

--
-- Name: COLUMN registrations.open_problem_count; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.registrations.open_problem_count IS 'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';

--
-- Name: state_regulators; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.state_regulators (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    airtable_id text,
    agency_name text,
    state text,
    state_code text GENERATED ALWAYS AS (
CASE
    WHEN (upper(btrim(state)) ~ '^[A-Z]{2}$'::text) THEN upper(btrim(state))
    ELSE NULL::text
END) STORED,
    agency_type text,
    contact_name text,
    contact_email text,
    phone text,
    website text,
    submission_portal text,
    renewal_cycle text,
    renewal_month smallint,
    registration_fee numeric(12,2),
    late_fee numeric(12,2),
    requires_wet_signature boolean DEFAULT false NOT NULL,
    product_types_regulated text[] DEFAULT '{}'::text[] NOT NULL,
    notes text,
    airtable_modified_at timestamp with time zone,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, ((COALESCE(agency_name, ''::text) || ' '::text) || COALESCE(state, ''::text)))) STORED,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    CONSTRAINT state_regulators_agency_name_not_blank CHECK ((btrim(agency_name) <> ''::text)),
    CONSTRAINT state_regulators_airtable_id_format CHECK ((airtable_id ~ '^rec[A-Za-z0-9]{14}$'::text)),
    CONSTRAINT state_regulators_deleted_after_created CHECK ((deleted_at >= created_at)),
    CONSTRAINT state_regulators_renewal_month_is_a_month CHECK (((renewal_month >= 1) AND (renewal_month <= 12)))
);

--
-- Name: TABLE state_regulators; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.state_regulators IS 'The regulating agencies of each US state, DC and PR (Airtable table State Regulators).';

--
-- Name: COLUMN state_regulators.id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN state_regulators.airtable_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.airtable_id IS 'Airtable record id (rec...); null until pushed.';

--
-- Name: COLUMN state_regulators.agency_name; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.agency_name IS 'Agency Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';

--
-- Name: COLUMN state_regulators.state; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.state IS 'State select value as entered.';

--
-- Name: COLUMN state_regulators.state_code; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.state_code IS 'Two-letter state code normalized from state (trimmed, upper case); null when the value is not a code.';

--
-- Name: COLUMN state_regulators.agency_type; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.agency_type IS 'Agency Type select.';

--
-- Name: COLUMN state_regulators.contact_name; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.contact_name IS 'Contact Name.';

--
-- Name: COLUMN state_regulators.contact_email; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.contact_email IS 'Contact Email as entered.';

--
-- Name: COLUMN state_regulators.phone; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.phone IS 'Phone as entered.';

--
-- Name: COLUMN state_regulators.website; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.website IS 'Website URL as entered.';

--
-- Name: COLUMN state_regulators.submission_portal; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.submission_portal IS 'Submission Portal select.';

--
-- Name: COLUMN state_regulators.renewal_cycle; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.renewal_cycle IS 'Renewal Cycle select (Annual, Biennial, ...).';

--
-- Name: COLUMN state_regulators.renewal_month; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.renewal_month IS 'Renewal Month, 1 to 12.';

--
-- Name: COLUMN state_regulators.registration_fee; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.registration_fee IS 'Registration Fee in dollars.';

--
-- Name: COLUMN state_regulators.late_fee; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.late_fee IS 'Late Fee in dollars.';

--
-- Name: COLUMN state_regulators.requires_wet_signature; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.requires_wet_signature IS 'Requires Wet Signature checkbox (absent in Airtable means false).';

--
-- Name: COLUMN state_regulators.product_types_regulated; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.product_types_regulated IS 'Product Types Regulated multiple select, in Airtable''s order.';

--
-- Name: COLUMN state_regulators.notes; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.notes IS 'Notes, long text.';

--
-- Name: COLUMN state_regulators.airtable_modified_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.airtable_modified_at IS 'Airtable''s Last Modified time of the record.';

--
-- Name: COLUMN state_regulators.search_vector; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.search_vector IS 'Full-text search over agency name and state (generated).';

--
-- Name: COLUMN state_regulators.created_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.created_at IS 'When the row was first written here.';

--
-- Name: COLUMN state_regulators.updated_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN state_regulators.deleted_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.deleted_at IS 'When the record was deleted; null while it exists.';

--
-- Name: COLUMN state_regulators.open_problem_count; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.state_regulators.open_problem_count IS 'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';

--
-- Name: changes; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.changes (
    id bigint NOT NULL,
    table_name text NOT NULL,
    record_id text,
    op text NOT NULL,
    old_values jsonb,
    new_values jsonb,
    changed_columns text[],
    db_role text NOT NULL,
    actor text,
    run_id bigint,
    transaction_id xid8 DEFAULT pg_current_xact_id() NOT NULL,
    application_name text DEFAULT NULLIF(current_setting('application_name'::text), ''::text),
    changed_at timestamp with time zone DEFAULT statement_timestamp() NOT NULL,
    CONSTRAINT changes_op_is_known CHECK ((op = ANY (ARRAY['INSERT'::text, 'UPDATE'::text, 'DELETE'::text, 'TRUNCATE'::text]))),
    CONSTRAINT changes_values_match_op CHECK (
CASE op
    WHEN 'INSERT'::text THEN ((old_values IS NULL) AND (new_values IS NOT NULL) AND (record_id IS NOT NULL))
    WHEN 'UPDATE'::text THEN ((old_values IS NOT NULL) AND (new_values IS NOT NULL) AND (record_id IS NOT NULL))
    WHEN 'DELETE'::text THEN ((old_values IS NOT NULL) AND (new_values IS NULL) AND (record_id IS NOT NULL))
    WHEN 'TRUNCATE'::text THEN ((old_values IS NULL) AND (new_values IS NULL) AND (record_id IS NULL))
    ELSE NULL::boolean
END)
);

--
-- Name: TABLE changes; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON TABLE audit.changes IS 'Every insert, update, delete and truncate of an audited table: who (database role and application actor), what (old and new values, changed columns), when, in which transaction and which sync run. Append-only: update, delete and truncate fail for every role.';

--
-- Name: COLUMN changes.id; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.id IS 'Order of recording; later changes have larger ids.';

--
-- Name: COLUMN changes.table_name; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.table_name IS 'Schema-qualified table name (app.clients). Names, not OIDs, so that history survives a table being recreated.';

--
-- Name: COLUMN changes.record_id; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.record_id IS 'Primary key of the changed row, as text; null for TRUNCATE.';

--
-- Name: COLUMN changes.op; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.op IS 'INSERT, UPDATE, DELETE or TRUNCATE.';

--
-- Name: COLUMN changes.old_values; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.old_values IS 'The row before the change (UPDATE, DELETE), without derived generated columns.';

--
-- Name: COLUMN changes.new_values; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.new_values IS 'The row after the change (INSERT, UPDATE), without derived generated columns.';

--
-- Name: COLUMN changes.changed_columns; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.changed_columns IS 'For UPDATE, the columns whose values differ between old and new, sorted.';

--
-- Name: COLUMN changes.db_role; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.db_role IS 'The database role that made the change (SET ROLE or connection role, else the login).';

--
-- Name: COLUMN changes.actor; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.actor IS 'The application actor from the transaction-local setting airlift.actor: a user, the worker, a CLI command.';

--
-- Name: COLUMN changes.run_id; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.run_id IS 'The sync run that made the change, from the transaction-local setting airlift.run_id; null outside runs.';

--
-- Name: COLUMN changes.transaction_id; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.transaction_id IS 'pg_current_xact_id() of the writing transaction: groups the changes made together.';

--
-- Name: COLUMN changes.application_name; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.application_name IS 'The client application_name of the writing session.';

--
-- Name: COLUMN changes.changed_at; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.changes.changed_at IS 'Start time of the statement that made the change.';

--
-- Name: changes_id_seq; Type: SEQUENCE; Schema: audit; Owner: -
--

ALTER TABLE audit.changes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.changes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: doctors; Type: TABLE; Schema: legacy_app; Owner: -
--

CREATE TABLE legacy_app.doctors (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    profile_id uuid,
    office_id uuid,
    specialty text,
    license_no text,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE doctors; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON TABLE legacy_app.doctors IS 'Doctors, each with a profile and an office (legacy table doctors).';

--
-- Name: COLUMN doctors.id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.id IS 'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_doctors).';

--
-- Name: COLUMN doctors.profile_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.profile_id IS 'The doctors profile.';

--
-- Name: COLUMN doctors.office_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.office_id IS 'The office the doctor works at.';

--
-- Name: COLUMN doctors.specialty; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.specialty IS 'general, cardiology, dermatology, pediatrics or orthopedics.';

--
-- Name: COLUMN doctors.license_no; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.license_no IS 'Medical license number.';

--
-- Name: COLUMN doctors.open_problem_count; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN doctors.created_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.created_at IS 'When the row was created here.';

--
-- Name: COLUMN doctors.updated_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN doctors.deleted_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.doctors.deleted_at IS 'When the row disappeared from the legacy database (soft delete); null while present.';

--
-- Name: offices; Type: TABLE; Schema: legacy_app; Owner: -
--

CREATE TABLE legacy_app.offices (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text,
    city text,
    phone text,
    opened_on date,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE offices; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON TABLE legacy_app.offices IS 'The clinic''s offices (legacy table offices).';

--
-- Name: COLUMN offices.id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.id IS 'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_offices).';

--
-- Name: COLUMN offices.name; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.name IS 'The offices name.';

--
-- Name: COLUMN offices.city; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.city IS 'The city it is in.';

--
-- Name: COLUMN offices.phone; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.phone IS 'Its phone number, as the legacy application kept it.';

--
-- Name: COLUMN offices.opened_on; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.opened_on IS 'When it opened.';

--
-- Name: COLUMN offices.open_problem_count; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN offices.created_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.created_at IS 'When the row was created here.';

--
-- Name: COLUMN offices.updated_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN offices.deleted_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.offices.deleted_at IS 'When the row disappeared from the legacy database (soft delete); null while present.';

--
-- Name: orders; Type: TABLE; Schema: legacy_app; Owner: -
--

CREATE TABLE legacy_app.orders (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid,
    doctor_id uuid,
    product_id uuid,
    quantity integer,
    total numeric(12,2),
    status text,
    ordered_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE orders; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON TABLE legacy_app.orders IS 'Orders of products for patients, placed by doctors (legacy table orders: most of the rows).';

--
-- Name: COLUMN orders.id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.id IS 'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_orders).';

--
-- Name: COLUMN orders.patient_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.patient_id IS 'The patient the order is for.';

--
-- Name: COLUMN orders.doctor_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.doctor_id IS 'The doctor who placed it.';

--
-- Name: COLUMN orders.product_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.product_id IS 'The product ordered.';

--
-- Name: COLUMN orders.quantity; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.quantity IS 'How many.';

--
-- Name: COLUMN orders.total; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.total IS 'The orders total.';

--
-- Name: COLUMN orders.status; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.status IS 'placed, shipped, delivered or cancelled.';

--
-- Name: COLUMN orders.ordered_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.ordered_at IS 'When it was placed (timestamp without time zone in the legacy table, read as UTC).';

--
-- Name: COLUMN orders.open_problem_count; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN orders.created_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.created_at IS 'When the row was created here.';

--
-- Name: COLUMN orders.updated_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN orders.deleted_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.orders.deleted_at IS 'When the row disappeared from the legacy database (soft delete); null while present.';

--
-- Name: patients; Type: TABLE; Schema: legacy_app; Owner: -
--

CREATE TABLE legacy_app.patients (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    profile_id uuid,
    primary_doctor_id uuid,
    insurance_no text,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE patients; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON TABLE legacy_app.patients IS 'Patients, each with a profile and a primary doctor (legacy table patients).';

--
-- Name: COLUMN patients.id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.id IS 'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_patients).';

--
-- Name: COLUMN patients.profile_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.profile_id IS 'The patients profile.';

--
-- Name: COLUMN patients.primary_doctor_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.primary_doctor_id IS 'The patients primary doctor.';

--
-- Name: COLUMN patients.insurance_no; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.insurance_no IS 'Insurance number.';

--
-- Name: COLUMN patients.open_problem_count; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN patients.created_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.created_at IS 'When the row was created here.';

--
-- Name: COLUMN patients.updated_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN patients.deleted_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.patients.deleted_at IS 'When the row disappeared from the legacy database (soft delete); null while present.';

--
-- Name: products; Type: TABLE; Schema: legacy_app; Owner: -
--

CREATE TABLE legacy_app.products (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sku text,
    name text,
    price numeric(12,2),
    is_active boolean,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE products; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON TABLE legacy_app.products IS 'What is ordered (legacy table products).';

--
-- Name: COLUMN products.id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.id IS 'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_products).';

--
-- Name: COLUMN products.sku; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.sku IS 'Stock keeping unit.';

--
-- Name: COLUMN products.name; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.name IS 'Product name.';

--
-- Name: COLUMN products.price; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.price IS 'Unit price.';

--
-- Name: COLUMN products.is_active; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.is_active IS 'Whether it can still be ordered.';

--
-- Name: COLUMN products.open_problem_count; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN products.created_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.created_at IS 'When the row was created here.';

--
-- Name: COLUMN products.updated_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN products.deleted_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.products.deleted_at IS 'When the row disappeared from the legacy database (soft delete); null while present.';

--
-- Name: profiles; Type: TABLE; Schema: legacy_app; Owner: -
--

CREATE TABLE legacy_app.profiles (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text,
    full_name text,
    birth_date date,
    app_created_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE profiles; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON TABLE legacy_app.profiles IS 'People: every doctor and patient has a profile (legacy table profiles).';

--
-- Name: COLUMN profiles.id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.id IS 'Primary key; the legacy integer id maps to it in sync.id_map (entity legacy_profiles).';

--
-- Name: COLUMN profiles.email; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.email IS 'Contact email.';

--
-- Name: COLUMN profiles.full_name; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.full_name IS 'Full name.';

--
-- Name: COLUMN profiles.birth_date; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.birth_date IS 'Date of birth (text in the legacy table: a value that is not a date lands empty, its problem on the field).';

--
-- Name: COLUMN profiles.app_created_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.app_created_at IS 'When the legacy application created the profile.';

--
-- Name: COLUMN profiles.open_problem_count; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN profiles.created_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.created_at IS 'When the row was created here.';

--
-- Name: COLUMN profiles.updated_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN profiles.deleted_at; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON COLUMN legacy_app.profiles.deleted_at IS 'When the row disappeared from the legacy database (soft delete); null while present.';

--
-- Name: ai_providers; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.ai_providers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    name text,
    provider text,
    model text,
    base_url text,
    is_enabled boolean DEFAULT false NOT NULL,
    max_tokens integer,
    temperature numeric(12,2),
    app_created_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE ai_providers; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.ai_providers IS 'The AI model providers the application can call (SQLite table ai_providers, INTEGER keys).';

--
-- Name: COLUMN ai_providers.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN ai_providers.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.sqlite_id IS 'The SQLite row''s INTEGER key as decimal text: the source key.';

--
-- Name: COLUMN ai_providers.name; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.name IS 'Name shown to users.';

--
-- Name: COLUMN ai_providers.provider; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.provider IS 'The vendor: openai, anthropic, mistral, ollama, azure_openai, google.';

--
-- Name: COLUMN ai_providers.model; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.model IS 'The model asked for.';

--
-- Name: COLUMN ai_providers.base_url; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.base_url IS 'The API''s base URL; null for the vendor''s default.';

--
-- Name: COLUMN ai_providers.is_enabled; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.is_enabled IS 'Whether organizations may choose it.';

--
-- Name: COLUMN ai_providers.max_tokens; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.max_tokens IS 'Largest completion asked for, in tokens.';

--
-- Name: COLUMN ai_providers.temperature; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.temperature IS 'Sampling temperature (a REAL in SQLite, to two decimals here).';

--
-- Name: COLUMN ai_providers.app_created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.app_created_at IS 'When it was added (SQLite''s "YYYY-MM-DD HH:MM:SS" text, UTC).';

--
-- Name: COLUMN ai_providers.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN ai_providers.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.created_at IS 'When the row was created here.';

--
-- Name: COLUMN ai_providers.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN ai_providers.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.ai_providers.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: api_configurations; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.api_configurations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    organization_id uuid,
    ai_provider_id uuid,
    name text,
    api_key_hint text,
    rate_limit_per_minute integer,
    is_active boolean DEFAULT false NOT NULL,
    app_created_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE api_configurations; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.api_configurations IS 'API keys organizations hold for AI providers, without the secret (SQLite table api_configurations).';

--
-- Name: COLUMN api_configurations.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN api_configurations.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.sqlite_id IS 'The SQLite row''s key (a cuid): the source key.';

--
-- Name: COLUMN api_configurations.organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.organization_id IS 'The organization holding the key.';

--
-- Name: COLUMN api_configurations.ai_provider_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.ai_provider_id IS 'The provider the key is for; a provider in use is not deleted.';

--
-- Name: COLUMN api_configurations.name; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.name IS 'What the organization calls the key.';

--
-- Name: COLUMN api_configurations.api_key_hint; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.api_key_hint IS 'The key''s last four characters, to recognize it; the key itself is never exported.';

--
-- Name: COLUMN api_configurations.rate_limit_per_minute; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.rate_limit_per_minute IS 'Requests a minute the key may make.';

--
-- Name: COLUMN api_configurations.is_active; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.is_active IS 'Whether the key is in use.';

--
-- Name: COLUMN api_configurations.app_created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.app_created_at IS 'When the key was added in the application.';

--
-- Name: COLUMN api_configurations.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN api_configurations.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.created_at IS 'When the row was created here.';

--
-- Name: COLUMN api_configurations.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN api_configurations.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.api_configurations.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: data_source_mappings; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.data_source_mappings (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    organization_id uuid,
    api_configuration_id uuid,
    name text,
    source_type text,
    schedule text,
    last_synced_at timestamp with time zone,
    config text,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE data_source_mappings; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.data_source_mappings IS 'The feeds an organization imports records from (SQLite table data_source_mappings).';

--
-- Name: COLUMN data_source_mappings.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN data_source_mappings.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.sqlite_id IS 'The SQLite row''s key (a cuid): the source key.';

--
-- Name: COLUMN data_source_mappings.organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.organization_id IS 'The organization importing.';

--
-- Name: COLUMN data_source_mappings.api_configuration_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.api_configuration_id IS 'The API key the feed''s AI steps use, if any.';

--
-- Name: COLUMN data_source_mappings.name; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.name IS 'The feed''s name.';

--
-- Name: COLUMN data_source_mappings.source_type; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.source_type IS 'csv, api, spreadsheet or erp.';

--
-- Name: COLUMN data_source_mappings.schedule; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.schedule IS 'Cron expression of the import, if scheduled.';

--
-- Name: COLUMN data_source_mappings.last_synced_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.last_synced_at IS 'When the feed last imported (epoch seconds in SQLite).';

--
-- Name: COLUMN data_source_mappings.config; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.config IS 'The feed''s settings: JSON text, checked to parse.';

--
-- Name: COLUMN data_source_mappings.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN data_source_mappings.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.created_at IS 'When the row was created here.';

--
-- Name: COLUMN data_source_mappings.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN data_source_mappings.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.data_source_mappings.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: field_configurations; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.field_configurations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    data_source_mapping_id uuid,
    field_name text,
    field_type text,
    is_required boolean DEFAULT false NOT NULL,
    field_position integer,
    default_value text,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE field_configurations; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.field_configurations IS 'The fields of each feed and how they are read (SQLite table field_configurations, INTEGER keys).';

--
-- Name: COLUMN field_configurations.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN field_configurations.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.sqlite_id IS 'The SQLite row''s INTEGER key as decimal text: the source key.';

--
-- Name: COLUMN field_configurations.data_source_mapping_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.data_source_mapping_id IS 'The feed the field belongs to.';

--
-- Name: COLUMN field_configurations.field_name; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.field_name IS 'The field''s name in the feed.';

--
-- Name: COLUMN field_configurations.field_type; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.field_type IS 'string, number, date, boolean or currency.';

--
-- Name: COLUMN field_configurations.is_required; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.is_required IS 'Whether an imported row must have it.';

--
-- Name: COLUMN field_configurations.field_position; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.field_position IS 'The field''s place in the feed, from 1 (position in SQLite; not a target column name: the merge''s working table has a column position of its own).';

--
-- Name: COLUMN field_configurations.default_value; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.default_value IS 'What an imported row without the field gets.';

--
-- Name: COLUMN field_configurations.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN field_configurations.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.created_at IS 'When the row was created here.';

--
-- Name: COLUMN field_configurations.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN field_configurations.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.field_configurations.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: organization_configs; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.organization_configs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    organization_id uuid,
    default_ai_provider_id uuid,
    timezone text,
    fiscal_year_start date,
    features text[] DEFAULT '{}'::text[] NOT NULL,
    app_updated_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE organization_configs; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.organization_configs IS 'Each organization''s configuration (SQLite table organization_configs).';

--
-- Name: COLUMN organization_configs.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN organization_configs.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.sqlite_id IS 'The SQLite row''s key (a cuid): the source key.';

--
-- Name: COLUMN organization_configs.organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.organization_id IS 'The organization configured.';

--
-- Name: COLUMN organization_configs.default_ai_provider_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.default_ai_provider_id IS 'The AI provider used unless another is chosen.';

--
-- Name: COLUMN organization_configs.timezone; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.timezone IS 'IANA time zone of the organization''s reports.';

--
-- Name: COLUMN organization_configs.fiscal_year_start; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.fiscal_year_start IS 'First day of the fiscal year (ISO date text in SQLite).';

--
-- Name: COLUMN organization_configs.features; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.features IS 'Features switched on (a JSON list of strings in SQLite).';

--
-- Name: COLUMN organization_configs.app_updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.app_updated_at IS 'When the application last changed the configuration.';

--
-- Name: COLUMN organization_configs.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN organization_configs.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.created_at IS 'When the row was created here.';

--
-- Name: COLUMN organization_configs.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN organization_configs.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organization_configs.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: organizations; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.organizations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    name text,
    slug text,
    plan text,
    settings text,
    app_created_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE organizations; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.organizations IS 'The application''s tenants (SQLite table organizations).';

--
-- Name: COLUMN organizations.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN organizations.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.sqlite_id IS 'The SQLite row''s key (organizations.id, a cuid): the source key.';

--
-- Name: COLUMN organizations.name; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.name IS 'Organization name.';

--
-- Name: COLUMN organizations.slug; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.slug IS 'URL name, unique in the application.';

--
-- Name: COLUMN organizations.plan; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.plan IS 'free, team, business or enterprise.';

--
-- Name: COLUMN organizations.settings; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.settings IS 'Settings as the application wrote them: JSON text, checked to parse (a field problem when it does not).';

--
-- Name: COLUMN organizations.app_created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.app_created_at IS 'When the organization was created in the application.';

--
-- Name: COLUMN organizations.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN organizations.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.created_at IS 'When the row was created here.';

--
-- Name: COLUMN organizations.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN organizations.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.organizations.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: pfa_records; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.pfa_records (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    organization_id uuid,
    data_source_mapping_id uuid,
    created_by_id uuid,
    record_date date,
    category text,
    amount numeric(12,2),
    quantity integer,
    status text,
    is_verified boolean DEFAULT false NOT NULL,
    payload text,
    checksum_hex text,
    app_created_at timestamp with time zone,
    app_updated_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE pfa_records; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.pfa_records IS 'The application''s records, dated amounts per organization and feed: its large table (SQLite table pfa_records, INTEGER keys).';

--
-- Name: COLUMN pfa_records.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN pfa_records.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.sqlite_id IS 'The SQLite row''s INTEGER key as decimal text: the source key.';

--
-- Name: COLUMN pfa_records.organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.organization_id IS 'The organization the record belongs to.';

--
-- Name: COLUMN pfa_records.data_source_mapping_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.data_source_mapping_id IS 'The feed it was imported by, if any.';

--
-- Name: COLUMN pfa_records.created_by_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.created_by_id IS 'The user who created it, if known.';

--
-- Name: COLUMN pfa_records.record_date; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.record_date IS 'The day the amount is for (ISO date text in SQLite).';

--
-- Name: COLUMN pfa_records.category; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.category IS 'labor, materials, equipment, travel, services, overhead or licenses.';

--
-- Name: COLUMN pfa_records.amount; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.amount IS 'The amount, to the cent (a REAL in SQLite).';

--
-- Name: COLUMN pfa_records.quantity; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.quantity IS 'Units the amount is for.';

--
-- Name: COLUMN pfa_records.status; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.status IS 'draft, submitted, approved, rejected or archived.';

--
-- Name: COLUMN pfa_records.is_verified; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.is_verified IS 'Whether a reviewer verified it (SQLite 0/1).';

--
-- Name: COLUMN pfa_records.payload; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.payload IS 'The imported row''s extra data: JSON text, checked to parse.';

--
-- Name: COLUMN pfa_records.checksum_hex; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.checksum_hex IS 'The application''s checksum of the record, hex (an 8-byte BLOB in SQLite).';

--
-- Name: COLUMN pfa_records.app_created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.app_created_at IS 'When the application created it (epoch milliseconds in SQLite).';

--
-- Name: COLUMN pfa_records.app_updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.app_updated_at IS 'When the application last changed it (epoch milliseconds in SQLite).';

--
-- Name: COLUMN pfa_records.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN pfa_records.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.created_at IS 'When the row was created here.';

--
-- Name: COLUMN pfa_records.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN pfa_records.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.pfa_records.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: user_organizations; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.user_organizations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    user_id uuid,
    organization_id uuid,
    role text,
    joined_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE user_organizations; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.user_organizations IS 'Who belongs to which organization, with which role (SQLite table user_organizations, INTEGER keys).';

--
-- Name: COLUMN user_organizations.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN user_organizations.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.sqlite_id IS 'The SQLite row''s INTEGER key as decimal text: the source key.';

--
-- Name: COLUMN user_organizations.user_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.user_id IS 'The member (user_id).';

--
-- Name: COLUMN user_organizations.organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.organization_id IS 'The organization (organization_id).';

--
-- Name: COLUMN user_organizations.role; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.role IS 'owner, admin, member or viewer.';

--
-- Name: COLUMN user_organizations.joined_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.joined_at IS 'When the user joined the organization.';

--
-- Name: COLUMN user_organizations.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN user_organizations.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.created_at IS 'When the row was created here.';

--
-- Name: COLUMN user_organizations.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN user_organizations.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.user_organizations.deleted_at IS 'When the row disappeared from the SQLite file (soft delete).';

--
-- Name: users; Type: TABLE; Schema: pfa_app; Owner: -
--

CREATE TABLE pfa_app.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    sqlite_id text NOT NULL,
    email text,
    name text,
    role text,
    is_active boolean DEFAULT false NOT NULL,
    avatar_sha256 text,
    app_created_at timestamp with time zone,
    app_updated_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE users; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON TABLE pfa_app.users IS 'The application''s users (SQLite table users).';

--
-- Name: COLUMN users.id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN users.sqlite_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.sqlite_id IS 'The SQLite row''s key (users.id, a cuid), kept where users look for it (sync.entities.source_key_column); identity is the id map''s.';

--
-- Name: COLUMN users.email; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.email IS 'Sign-in email, unique in the application.';

--
-- Name: COLUMN users.name; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.name IS 'Display name.';

--
-- Name: COLUMN users.role; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.role IS 'member, admin or support.';

--
-- Name: COLUMN users.is_active; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.is_active IS 'Whether the user may sign in (SQLite 0/1); false when the application stored neither (a field problem says so).';

--
-- Name: COLUMN users.avatar_sha256; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.avatar_sha256 IS 'SHA-256 of the avatar image, hex (a BLOB in SQLite).';

--
-- Name: COLUMN users.app_created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.app_created_at IS 'When the user signed up in the application (epoch milliseconds in SQLite).';

--
-- Name: COLUMN users.app_updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.app_updated_at IS 'When the application last changed the user (epoch milliseconds in SQLite).';

--
-- Name: COLUMN users.open_problem_count; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.open_problem_count IS 'Open field problems of the row (sync.field_problems): what landed empty or was flagged.';

--
-- Name: COLUMN users.created_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.created_at IS 'When the row was created here.';

--
-- Name: COLUMN users.updated_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN users.deleted_at; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON COLUMN pfa_app.users.deleted_at IS 'When the row disappeared from the SQLite file (soft delete); null while present.';

--
-- Name: client_portfolio; Type: MATERIALIZED VIEW; Schema: report; Owner: -
--

CREATE MATERIALIZED VIEW report.client_portfolio AS
 SELECT c.id AS client_id,
    c.name AS client_name,
    c.status AS client_status,
    COALESCE(p.products, (0)::bigint) AS products,
    COALESCE(p.active_products, (0)::bigint) AS active_products,
    COALESCE(r.registrations, (0)::bigint) AS registrations,
    COALESCE(r.open_registrations, (0)::bigint) AS open_registrations,
    COALESCE(r.approved_registrations, (0)::bigint) AS approved_registrations,
    COALESCE(r.states_covered, (0)::bigint) AS states_covered,
    r.next_expiration_date,
    (COALESCE(r.fees_paid, (0)::numeric))::numeric(14,2) AS fees_paid
   FROM ((app.clients c
     LEFT JOIN ( SELECT products.client_id,
            count(*) AS products,
            count(*) FILTER (WHERE (NOT products.discontinued)) AS active_products
           FROM app.products
          WHERE (products.deleted_at IS NULL)
          GROUP BY products.client_id) p ON ((p.client_id = c.id)))
     LEFT JOIN ( SELECT registrations.client_id,
            count(*) AS registrations,
            count(*) FILTER (WHERE registrations.is_open) AS open_registrations,
            count(*) FILTER (WHERE registrations.is_approved) AS approved_registrations,
            count(DISTINCT registrations.state_code) AS states_covered,
            min(registrations.expiration_date) FILTER (WHERE registrations.is_open) AS next_expiration_date,
            sum(registrations.fee_paid) AS fees_paid
           FROM app.registrations
          WHERE (registrations.deleted_at IS NULL)
          GROUP BY registrations.client_id) r ON ((r.client_id = c.id)))
  WHERE (c.deleted_at IS NULL)
  WITH NO DATA;

--
-- Name: MATERIALIZED VIEW client_portfolio; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON MATERIALIZED VIEW report.client_portfolio IS 'One row per live client: its products, registrations by lifecycle, states covered, next expiration and fees paid. Refresh with report.refresh_materialized_views().';

--
-- Name: COLUMN client_portfolio.client_id; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.client_id IS 'The client.';

--
-- Name: COLUMN client_portfolio.client_name; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.client_name IS 'Client name.';

--
-- Name: COLUMN client_portfolio.client_status; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.client_status IS 'Client status.';

--
-- Name: COLUMN client_portfolio.products; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.products IS 'Live products of the client.';

--
-- Name: COLUMN client_portfolio.active_products; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.active_products IS 'Of those, the ones not discontinued.';

--
-- Name: COLUMN client_portfolio.registrations; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.registrations IS 'Live registrations of the client.';

--
-- Name: COLUMN client_portfolio.open_registrations; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.open_registrations IS 'Registrations not in a terminal status.';

--
-- Name: COLUMN client_portfolio.approved_registrations; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.approved_registrations IS 'Registrations in force (Approved).';

--
-- Name: COLUMN client_portfolio.states_covered; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.states_covered IS 'Distinct states in which the client has registrations.';

--
-- Name: COLUMN client_portfolio.next_expiration_date; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.next_expiration_date IS 'Earliest expiration date among open registrations.';

--
-- Name: COLUMN client_portfolio.fees_paid; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.client_portfolio.fees_paid IS 'Sum of registration fees paid, in dollars.';

--
-- Name: registrations_expiring; Type: VIEW; Schema: report; Owner: -
--

CREATE VIEW report.registrations_expiring AS
 SELECT r.id AS registration_id,
    r.airtable_id,
    c.name AS client_name,
    p.name AS product_name,
    s.agency_name,
    r.state_code,
    r.status,
    r.expiration_date,
    (r.expiration_date - CURRENT_DATE) AS days_until_expiration,
        CASE
            WHEN ((r.expiration_date - CURRENT_DATE) <= 30) THEN 30
            WHEN ((r.expiration_date - CURRENT_DATE) <= 60) THEN 60
            ELSE 90
        END AS within_days
   FROM (((app.registrations r
     LEFT JOIN app.clients c ON ((c.id = r.client_id)))
     LEFT JOIN app.products p ON ((p.id = r.product_id)))
     LEFT JOIN app.state_regulators s ON ((s.id = r.state_regulator_id)))
  WHERE (r.is_open AND (r.deleted_at IS NULL) AND ((r.expiration_date >= CURRENT_DATE) AND (r.expiration_date <= (CURRENT_DATE + 90))));

--
-- Name: VIEW registrations_expiring; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON VIEW report.registrations_expiring IS 'Open registrations expiring in the next 90 days, bucketed by 30, 60 and 90 days: the renewal worklist. A plain view over the partial index on expiration date, so it is never stale.';

--
-- Name: COLUMN registrations_expiring.registration_id; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.registration_id IS 'The registration.';

--
-- Name: COLUMN registrations_expiring.airtable_id; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.airtable_id IS 'Its Airtable record id.';

--
-- Name: COLUMN registrations_expiring.client_name; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.client_name IS 'Name of its client.';

--
-- Name: COLUMN registrations_expiring.product_name; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.product_name IS 'Name of the registered product.';

--
-- Name: COLUMN registrations_expiring.agency_name; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.agency_name IS 'The regulating agency.';

--
-- Name: COLUMN registrations_expiring.state_code; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.state_code IS 'Two-letter state code.';

--
-- Name: COLUMN registrations_expiring.status; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.status IS 'Registration status.';

--
-- Name: COLUMN registrations_expiring.expiration_date; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.expiration_date IS 'The renewal deadline.';

--
-- Name: COLUMN registrations_expiring.days_until_expiration; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.days_until_expiration IS 'Days from today to the expiration date.';

--
-- Name: COLUMN registrations_expiring.within_days; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registrations_expiring.within_days IS '30, 60 or 90: the smallest window the expiration falls in.';

--
-- Name: expiring_registration_counts; Type: VIEW; Schema: report; Owner: -
--

CREATE VIEW report.expiring_registration_counts AS
 SELECT count(*) FILTER (WHERE (registrations_expiring.within_days = 30)) AS within_30_days,
    count(*) FILTER (WHERE (registrations_expiring.within_days <= 60)) AS within_60_days,
    count(*) AS within_90_days
   FROM report.registrations_expiring;

--
-- Name: VIEW expiring_registration_counts; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON VIEW report.expiring_registration_counts IS 'How many open registrations expire within 30, 60 and 90 days (cumulative).';

--
-- Name: COLUMN expiring_registration_counts.within_30_days; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.expiring_registration_counts.within_30_days IS 'Open registrations expiring in the next 30 days.';

--
-- Name: COLUMN expiring_registration_counts.within_60_days; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.expiring_registration_counts.within_60_days IS 'Open registrations expiring in the next 60 days (the 30 included).';

--
-- Name: COLUMN expiring_registration_counts.within_90_days; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.expiring_registration_counts.within_90_days IS 'Open registrations expiring in the next 90 days (the 60 included).';

--
-- Name: registration_status_by_state; Type: MATERIALIZED VIEW; Schema: report; Owner: -
--

CREATE MATERIALIZED VIEW report.registration_status_by_state AS
 SELECT COALESCE(r.state_code, '??'::text) AS state_code,
    COALESCE(r.status, '(no status)'::text) AS status,
    count(*) AS registrations,
    count(*) FILTER (WHERE r.is_open) AS open_registrations,
    count(DISTINCT r.client_id) AS clients,
    (COALESCE(sum(r.fee_paid), (0)::numeric))::numeric(14,2) AS fees_paid
   FROM app.registrations r
  WHERE (r.deleted_at IS NULL)
  GROUP BY COALESCE(r.state_code, '??'::text), COALESCE(r.status, '(no status)'::text)
  WITH NO DATA;

--
-- Name: MATERIALIZED VIEW registration_status_by_state; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON MATERIALIZED VIEW report.registration_status_by_state IS 'How many registrations stand in each status in each state (live rows only), with open count, clients and fees. Refresh with report.refresh_materialized_views().';

--
-- Name: COLUMN registration_status_by_state.state_code; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registration_status_by_state.state_code IS 'Two-letter state code, or ?? when the registration''s state is missing or not a code.';

--
-- Name: COLUMN registration_status_by_state.status; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registration_status_by_state.status IS 'Registration status, or (no status).';

--
-- Name: COLUMN registration_status_by_state.registrations; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registration_status_by_state.registrations IS 'Registrations in this state and status.';

--
-- Name: COLUMN registration_status_by_state.open_registrations; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registration_status_by_state.open_registrations IS 'Of those, the ones not in a terminal status.';

--
-- Name: COLUMN registration_status_by_state.clients; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registration_status_by_state.clients IS 'Distinct clients among them.';

--
-- Name: COLUMN registration_status_by_state.fees_paid; Type: COMMENT; Schema: report; Owner: -
--

COMMENT ON COLUMN report.registration_status_by_state.fees_paid IS 'Sum of fees paid, in dollars.';

--
-- Name: page_seq; Type: SEQUENCE; Schema: staging; Owner: -
--

CREATE SEQUENCE staging.page_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: SEQUENCE page_seq; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON SEQUENCE staging.page_seq IS 'Numbers staged pages in the order they were written; a staging row carries the number of the page that last wrote it.';

--
-- Name: attachment_downloads; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.attachment_downloads (
    source_id text NOT NULL,
    attachment_key text NOT NULL,
    declared_size bigint,
    declared_type text,
    sha256 text,
    size_bytes bigint,
    content_type text,
    mismatch text,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    first_run_id bigint,
    last_run_id bigint,
    last_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    downloaded_at timestamp with time zone,
    CONSTRAINT attachment_downloads_attempts_not_negative CHECK ((attempts >= 0)),
    CONSTRAINT attachment_downloads_failure_has_message CHECK (((sha256 IS NOT NULL) OR (attempts = 0) OR (last_error IS NOT NULL))),
    CONSTRAINT attachment_downloads_file_when_downloaded CHECK ((((sha256 IS NULL) = (downloaded_at IS NULL)) AND ((sha256 IS NULL) = (size_bytes IS NULL))))
);

--
-- Name: TABLE attachment_downloads; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.attachment_downloads IS 'The download ledger: one row per attachment of a source (an Airtable attachment id), what its source declared, the content it was downloaded as, or why it could not be. A row that names a file is done: the attachment is not downloaded again. A row without one is retried (with a fresh URL read from the source) by every pull and airlift files download.';

--
-- Name: COLUMN attachment_downloads.source_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.source_id IS 'The source (an Airtable base id).';

--
-- Name: COLUMN attachment_downloads.attachment_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.attachment_key IS 'The source''s id of the attachment (att...).';

--
-- Name: COLUMN attachment_downloads.declared_size; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.declared_size IS 'The size the source declared, in bytes.';

--
-- Name: COLUMN attachment_downloads.declared_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.declared_type IS 'The content type the source declared.';

--
-- Name: COLUMN attachment_downloads.sha256; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.sha256 IS 'The content downloaded, once it is stored. Cascade: a content the store collected is downloaded again if an attachment lists it anew.';

--
-- Name: COLUMN attachment_downloads.size_bytes; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.size_bytes IS 'Bytes downloaded.';

--
-- Name: COLUMN attachment_downloads.content_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.content_type IS 'Content type the download was served with.';

--
-- Name: COLUMN attachment_downloads.mismatch; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.mismatch IS 'How the file differs from what the source declared (size, type); null when it matches. The file is kept either way.';

--
-- Name: COLUMN attachment_downloads.attempts; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.attempts IS 'Download attempts that failed since the last success.';

--
-- Name: COLUMN attachment_downloads.last_error; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.last_error IS 'Why the last attempt failed (an HTTP status and message, a network error, an expired URL the source would not renew).';

--
-- Name: COLUMN attachment_downloads.first_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.first_run_id IS 'The run that first tried it.';

--
-- Name: COLUMN attachment_downloads.last_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.last_run_id IS 'The run that last tried it.';

--
-- Name: COLUMN attachment_downloads.last_attempt_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.last_attempt_at IS 'When it was last tried.';

--
-- Name: COLUMN attachment_downloads.downloaded_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_downloads.downloaded_at IS 'When it was downloaded and stored.';

--
-- Name: attachment_outbox; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.attachment_outbox (
    id bigint NOT NULL,
    attachment_id uuid NOT NULL,
    entity text NOT NULL,
    owner_row_id uuid NOT NULL,
    field_name text NOT NULL,
    operation text NOT NULL,
    airtable_attachment_id text,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    changed_by text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    pushed_at timestamp with time zone,
    pushed_by_run_id bigint,
    CONSTRAINT attachment_outbox_failure_has_message CHECK (((status <> 'failed'::text) OR (last_error IS NOT NULL))),
    CONSTRAINT attachment_outbox_operation_is_known CHECK ((operation = ANY (ARRAY['upload'::text, 'remove'::text]))),
    CONSTRAINT attachment_outbox_pushed_has_time CHECK (((status = 'pushed'::text) = (pushed_at IS NOT NULL))),
    CONSTRAINT attachment_outbox_remove_names_file CHECK (((operation <> 'remove'::text) OR (airtable_attachment_id IS NOT NULL))),
    CONSTRAINT attachment_outbox_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'in_flight'::text, 'pushed'::text, 'failed'::text, 'cancelled'::text])))
);

--
-- Name: TABLE attachment_outbox; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.attachment_outbox IS 'Files attached (upload) or removed (remove) here, not by the sync, waiting for the push to send them to Airtable; kept with their outcome once pushed, failed (with Airtable''s message or why the file could not be sent) or cancelled (removed before it was sent).';

--
-- Name: COLUMN attachment_outbox.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.id IS 'Order of the changes.';

--
-- Name: COLUMN attachment_outbox.attachment_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.attachment_id IS 'The app.attachments row (no foreign key: a removal outlives a deleted row).';

--
-- Name: COLUMN attachment_outbox.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.entity IS 'The owner''s entity (products, registrations).';

--
-- Name: COLUMN attachment_outbox.owner_row_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.owner_row_id IS 'The owning row.';

--
-- Name: COLUMN attachment_outbox.field_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.field_name IS 'The attachment field (app.attachments.field_name).';

--
-- Name: COLUMN attachment_outbox.operation; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.operation IS 'upload: a file attached here; remove: a file removed here.';

--
-- Name: COLUMN attachment_outbox.airtable_attachment_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.airtable_attachment_id IS 'For a removal, the Airtable attachment to leave out of the cell.';

--
-- Name: COLUMN attachment_outbox.status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.status IS 'pending, in_flight (claimed by a push), pushed, failed, cancelled.';

--
-- Name: COLUMN attachment_outbox.attempts; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.attempts IS 'Push attempts so far.';

--
-- Name: COLUMN attachment_outbox.last_error; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.last_error IS 'Why the last attempt failed.';

--
-- Name: COLUMN attachment_outbox.changed_by; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.changed_by IS 'The application actor who made the change.';

--
-- Name: COLUMN attachment_outbox.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.created_at IS 'When the change was made.';

--
-- Name: COLUMN attachment_outbox.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.updated_at IS 'When the entry last changed.';

--
-- Name: COLUMN attachment_outbox.pushed_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.pushed_at IS 'When Airtable took the change.';

--
-- Name: COLUMN attachment_outbox.pushed_by_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.attachment_outbox.pushed_by_run_id IS 'The push run that sent it.';

--
-- Name: attachment_outbox_id_seq; Type: SEQUENCE; Schema: sync; Owner: -
--

ALTER TABLE sync.attachment_outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sync.attachment_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: conflict_policies; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.conflict_policies (
    id bigint NOT NULL,
    entity text NOT NULL,
    column_name text,
    policy text NOT NULL,
    reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT conflict_policies_policy_is_known CHECK ((policy = ANY (ARRAY['source_wins'::text, 'target_wins'::text, 'newest_wins'::text, 'manual'::text])))
);

--
-- Name: TABLE conflict_policies; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.conflict_policies IS 'How a field changed differently in Airtable and here is decided, per table (column_name null) and optionally per column (overrides the table): source_wins (Airtable; the default without a row), target_wins (PostgreSQL), newest_wins (Airtable''s last-modified time against the row''s updated_at) or manual (parked in sync.conflicts).';

--
-- Name: COLUMN conflict_policies.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflict_policies.id IS 'Primary key (the audit trail''s record id).';

--
-- Name: COLUMN conflict_policies.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflict_policies.entity IS 'The entity the policy applies to.';

--
-- Name: COLUMN conflict_policies.column_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflict_policies.column_name IS 'The column it applies to; null for the whole table.';

--
-- Name: COLUMN conflict_policies.policy; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflict_policies.policy IS 'source_wins, target_wins, newest_wins or manual.';

--
-- Name: COLUMN conflict_policies.reason; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflict_policies.reason IS 'Why this policy, in words, for whoever reads the conflict log.';

--
-- Name: COLUMN conflict_policies.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflict_policies.created_at IS 'When the policy was set.';

--
-- Name: COLUMN conflict_policies.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.conflict_policies.updated_at IS 'When the policy last changed.';

--
-- Name: conflict_policies_id_seq; Type: SEQUENCE; Schema: sync; Owner: -
--

ALTER TABLE sync.conflict_policies ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sync.conflict_policies_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: conflicts_id_seq; Type: SEQUENCE; Schema: sync; Owner: -
--

ALTER TABLE sync.conflicts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sync.conflicts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: entities; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.entities (
    entity text NOT NULL,
    target_table regclass NOT NULL,
    merge_rank integer NOT NULL,
    attachment_owner_column text,
    source_key_column text,
    CONSTRAINT entities_name_format CHECK ((entity ~ '^[a-z_]+$'::text)),
    CONSTRAINT entities_source_key_column_format CHECK ((source_key_column ~ '^[a-z_][a-z0-9_]*$'::text))
);

--
-- Name: TABLE entities; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.entities IS 'The entities a source can feed, with their app table and merge rank (tables another links to merge first).';

--
-- Name: COLUMN entities.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entities.entity IS 'Entity name, as used in mappings and in sync.merge_<entity>().';

--
-- Name: COLUMN entities.target_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entities.target_table IS 'The app table the entity''s records are merged into.';

--
-- Name: COLUMN entities.merge_rank; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entities.merge_rank IS 'Merge order: lower ranks first, so links resolve to rows that exist.';

--
-- Name: COLUMN entities.attachment_owner_column; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entities.attachment_owner_column IS 'The app.attachments column that points at this entity''s rows, when it has attachment fields.';

--
-- Name: COLUMN entities.source_key_column; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entities.source_key_column IS 'The column of the target table that also keeps each row''s key in its source, where users want one (airtable_id for Delta''s app tables, a wallet address for the example''s); null when the target keeps none (a legacy application''s UUID-keyed tables). The merge and the push write it; identity is read from sync.id_map only.';

--
-- Name: entity_columns; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.entity_columns (
    entity text NOT NULL,
    column_name text NOT NULL,
    conversion text NOT NULL,
    required boolean DEFAULT false NOT NULL,
    min_value numeric,
    max_value numeric,
    linked_entity text,
    pushable boolean DEFAULT true NOT NULL,
    CONSTRAINT entity_columns_computed_fields_not_pushable CHECK (((NOT pushable) OR (conversion <> ALL (ARRAY['collaborator'::text, 'lookup_text'::text])))),
    CONSTRAINT entity_columns_conversion_is_known CHECK ((conversion = ANY (ARRAY['text'::text, 'select'::text, 'multi_select'::text, 'date'::text, 'timestamp'::text, 'money'::text, 'integer'::text, 'checkbox'::text, 'collaborator'::text, 'link'::text, 'lookup_text'::text]))),
    CONSTRAINT entity_columns_link_has_target CHECK (((conversion = 'link'::text) = (linked_entity IS NOT NULL))),
    CONSTRAINT entity_columns_name_not_reserved CHECK ((column_name <> ALL (ARRAY['position'::text, 'source_key'::text, 'row_id'::text, 'row_is_new'::text, 'fetched_this_run'::text, 'checksum'::text, 'held_deleted'::text, 'problems'::text, 'blocking_problems'::text, 'problem_count'::text, 'canonical'::text, 'raw_values'::text])))
);

--
-- Name: TABLE entity_columns; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.entity_columns IS 'The columns each entity''s merge may fill, how a cell converts to each, and the rules the column''s constraints demand. A mapping names a field id for some or all of them.';

--
-- Name: COLUMN entity_columns.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.entity IS 'The entity.';

--
-- Name: COLUMN entity_columns.column_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.column_name IS 'A column of the entity''s app table.';

--
-- Name: COLUMN entity_columns.conversion; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.conversion IS 'How a cell becomes the column (see sync.cell_problem).';

--
-- Name: COLUMN entity_columns.required; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.required IS 'The column may not be empty (NOT NULL and not blank).';

--
-- Name: COLUMN entity_columns.min_value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.min_value IS 'Smallest value a CHECK constraint allows, if any.';

--
-- Name: COLUMN entity_columns.max_value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.max_value IS 'Largest value a CHECK constraint allows, if any.';

--
-- Name: COLUMN entity_columns.linked_entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.linked_entity IS 'For links: the entity whose rows the foreign key points at.';

--
-- Name: COLUMN entity_columns.pushable; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_columns.pushable IS 'Whether a local change of the column is pushed to Airtable: false for fields Airtable computes (created time, last modified time, lookups) and for collaborators, which airlift never writes back. Only pushable columns are captured in sync.outbox.';

--
-- Name: CONSTRAINT entity_columns_name_not_reserved ON entity_columns; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON CONSTRAINT entity_columns_name_not_reserved ON sync.entity_columns IS 'A merged column may not take a name the merge or the canonical form uses for its own working columns (position, source_key, row_id, checksum, problems, canonical, ...): it would be read as the working column. Rename the target column.';

--
-- Name: entity_mappings; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.entity_mappings (
    entity text NOT NULL,
    source_id text NOT NULL,
    source_table text NOT NULL,
    table_name text NOT NULL,
    field_ids jsonb NOT NULL,
    field_names jsonb DEFAULT '{}'::jsonb NOT NULL,
    attachment_field_ids jsonb DEFAULT '{}'::jsonb NOT NULL,
    last_modified_field_id text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    push_deletes boolean DEFAULT false NOT NULL,
    source_kind text DEFAULT 'airtable'::text NOT NULL,
    record_key_pattern text,
    CONSTRAINT entity_mappings_attachments_is_object CHECK ((jsonb_typeof(attachment_field_ids) = 'object'::text)),
    CONSTRAINT entity_mappings_field_ids_is_object CHECK ((jsonb_typeof(field_ids) = 'object'::text)),
    CONSTRAINT entity_mappings_source_kind_format CHECK ((source_kind ~ '^[a-z_]+$'::text))
);

--
-- Name: TABLE entity_mappings; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.entity_mappings IS 'Where each entity is read from in its source (an Airtable table and its field ids, an export file and its columns), as the runner''s mapping file says; rewritten at the start of every run.';

--
-- Name: COLUMN entity_mappings.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.entity IS 'The entity.';

--
-- Name: COLUMN entity_mappings.source_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.source_id IS 'The source the entity is read from: an Airtable base id (app...), an export directory; the key of the pull''s lock.';

--
-- Name: COLUMN entity_mappings.source_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.source_table IS 'The table''s id in its source: an Airtable table id (tbl...), an export''s file name. Checked by the source''s own mapping schema.';

--
-- Name: COLUMN entity_mappings.table_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.table_name IS 'The table''s current name in Airtable, for messages.';

--
-- Name: COLUMN entity_mappings.field_ids; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.field_ids IS 'Column name -> Airtable field id.';

--
-- Name: COLUMN entity_mappings.field_names; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.field_names IS 'Column name -> the field''s current name in Airtable, for messages and quarantine entries.';

--
-- Name: COLUMN entity_mappings.attachment_field_ids; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.attachment_field_ids IS 'app.attachments field_name -> Airtable field id, for attachment fields.';

--
-- Name: COLUMN entity_mappings.last_modified_field_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.last_modified_field_id IS 'The table''s Last Modified field, used for incremental runs.';

--
-- Name: COLUMN entity_mappings.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.updated_at IS 'When the runner last wrote the mapping.';

--
-- Name: COLUMN entity_mappings.push_deletes; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.push_deletes IS 'Whether rows deleted here (soft or hard) are deleted in Airtable too. Default false: the delete is captured, not sent, and reported as skipped in sync.outbox.';

--
-- Name: COLUMN entity_mappings.source_kind; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.source_kind IS 'The kind of source the table is read from (airtable, files): names the source in messages, and what a record key must look like.';

--
-- Name: COLUMN entity_mappings.record_key_pattern; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.entity_mappings.record_key_pattern IS 'A regular expression every record key of the source matches (Airtable: ^rec[A-Za-z0-9]{14}$); a staged record whose key does not is quarantined. Null: any non-empty key.';

--
-- Name: field_problems; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.field_problems (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    entity text NOT NULL,
    source_table text NOT NULL,
    source_key text NOT NULL,
    field text,
    column_name text,
    rule text NOT NULL,
    origin text NOT NULL,
    value jsonb,
    source_canonical jsonb,
    landed text NOT NULL,
    link_key text,
    reason text NOT NULL,
    run_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    resolved_by_run_id bigint,
    CONSTRAINT field_problems_landed_is_known CHECK ((landed = ANY (ARRAY['empty'::text, 'first_link'::text, 'kept'::text]))),
    CONSTRAINT field_problems_link_key_for_dangling_links CHECK (((link_key IS NOT NULL) = (rule = 'dangling_link'::text))),
    CONSTRAINT field_problems_origin_is_known CHECK ((origin = ANY (ARRAY['merge'::text, 'rule'::text]))),
    CONSTRAINT field_problems_reason_not_blank CHECK ((btrim(reason) <> ''::text)),
    CONSTRAINT field_problems_resolved_after_created CHECK ((resolved_at >= created_at))
);

--
-- Name: TABLE field_problems; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.field_problems IS 'What is wrong with records that landed in app.*: one row per record, field and rule, with the original value, what landed and why. Written by the merge (origin merge) and by the validation rules of each pull (origin rule); open until a run sees the source fixed (resolved_at, resolved_by_run_id). Records a blocking rule keeps out are in sync.record_errors instead.';

--
-- Name: COLUMN field_problems.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.id IS 'Primary key.';

--
-- Name: COLUMN field_problems.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.entity IS 'The entity of the record.';

--
-- Name: COLUMN field_problems.source_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.source_table IS 'The source table (an Airtable table id, an export''s file name).';

--
-- Name: COLUMN field_problems.source_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.source_key IS 'The record''s key in its source (an Airtable record id, a key read from an export); the app row holds it in its entity''s source_key_column.';

--
-- Name: COLUMN field_problems.field; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.field IS 'The field''s name as the mapping names it.';

--
-- Name: COLUMN field_problems.column_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.column_name IS 'The app column the field lands in (null for attachment fields, which land as app.attachments rows).';

--
-- Name: COLUMN field_problems.rule; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.rule IS 'What was broken: cell_conversion, required_value, check_range, dangling_link, extra_links (the merge''s own), or the id of a validation rule (sync.validation_rules).';

--
-- Name: COLUMN field_problems.origin; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.origin IS 'merge: found by the merge, which decides what lands; rule: a warning of a validation rule, the value kept.';

--
-- Name: COLUMN field_problems.value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.value IS 'The cell as Airtable sent it.';

--
-- Name: COLUMN field_problems.source_canonical; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.source_canonical IS 'The cell in canonical form (sync.cell_canonical), which the target canonical form of the row puts back for an emptied column, so that checksums compare what the source holds.';

--
-- Name: COLUMN field_problems.landed; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.landed IS 'What landed: empty (the column left empty, or its converter''s empty value), first_link (the first of several linked records), kept (the value as converted).';

--
-- Name: COLUMN field_problems.link_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.link_key IS 'For a dangling link: the linked record id, resolved by a later merge once that record exists.';

--
-- Name: COLUMN field_problems.reason; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.reason IS 'Why, in words that name the field and the value.';

--
-- Name: COLUMN field_problems.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.run_id IS 'The run that first found the problem.';

--
-- Name: COLUMN field_problems.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.created_at IS 'When it was first found.';

--
-- Name: COLUMN field_problems.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.updated_at IS 'When it last changed.';

--
-- Name: COLUMN field_problems.resolved_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.resolved_at IS 'When a run saw it fixed (or the linked record appear); null while open.';

--
-- Name: COLUMN field_problems.resolved_by_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.field_problems.resolved_by_run_id IS 'The run that closed it.';

--
-- Name: id_map; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.id_map (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    entity_type text NOT NULL,
    legacy_id text NOT NULL,
    uuid_id uuid NOT NULL,
    migration_batch bigint,
    validation_status text DEFAULT 'pending'::text NOT NULL,
    source_table text,
    target_table text NOT NULL,
    checksum text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT id_map_checksum_is_sha256 CHECK (sync.is_sha256_hex(checksum)),
    CONSTRAINT id_map_validation_status_is_known CHECK ((validation_status = ANY (ARRAY['pending'::text, 'validated'::text, 'error'::text])))
);

--
-- Name: TABLE id_map; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.id_map IS 'The identity map between source ids (Airtable record ids, legacy keys) and app uuids, with the checksum of the record as last migrated.';

--
-- Name: COLUMN id_map.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.id IS 'Primary key.';

--
-- Name: COLUMN id_map.entity_type; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.entity_type IS 'The entity, e.g. registrations.';

--
-- Name: COLUMN id_map.legacy_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.legacy_id IS 'The id at the source (rec... for Airtable).';

--
-- Name: COLUMN id_map.uuid_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.uuid_id IS 'The id of the app row.';

--
-- Name: COLUMN id_map.migration_batch; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.migration_batch IS 'The run that first mapped the record.';

--
-- Name: COLUMN id_map.validation_status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.validation_status IS 'pending, validated or error.';

--
-- Name: COLUMN id_map.source_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.source_table IS 'Source table (Airtable table id, file or legacy table name: the mapping''s source_table); null for a row entered before its entity had a mapping, filled in when the mapping is loaded.';

--
-- Name: COLUMN id_map.target_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.target_table IS 'Target table, schema-qualified.';

--
-- Name: COLUMN id_map.checksum; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.checksum IS 'SHA-256 (hex) of the record''s canonical form at the source.';

--
-- Name: COLUMN id_map.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.created_at IS 'When the mapping was made.';

--
-- Name: COLUMN id_map.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.id_map.updated_at IS 'When the mapping last changed.';

--
-- Name: record_errors; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.record_errors (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    run_id bigint,
    source_table text NOT NULL,
    source_key text NOT NULL,
    field text,
    value jsonb,
    reason text NOT NULL,
    resolved_at timestamp with time zone,
    resolved_by_run_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    rejected_before_staging boolean DEFAULT false NOT NULL,
    CONSTRAINT record_errors_reason_not_blank CHECK ((btrim(reason) <> ''::text)),
    CONSTRAINT record_errors_resolution_has_run CHECK (((resolved_at IS NULL) = (resolved_by_run_id IS NULL)))
);

--
-- Name: TABLE record_errors; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.record_errors IS 'Quarantine: source records that could not be merged, each with the field, the value and the reason. A later run retries them and marks them resolved.';

--
-- Name: COLUMN record_errors.id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.id IS 'Primary key.';

--
-- Name: COLUMN record_errors.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.run_id IS 'The run that quarantined the record.';

--
-- Name: COLUMN record_errors.source_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.source_table IS 'Source table (an Airtable table id, an export''s file name).';

--
-- Name: COLUMN record_errors.source_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.source_key IS 'The record''s key in its source (an Airtable record id, a key read from an export).';

--
-- Name: COLUMN record_errors.field; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.field IS 'The offending field, when one field is to blame.';

--
-- Name: COLUMN record_errors.value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.value IS 'The offending value, as the source sent it.';

--
-- Name: COLUMN record_errors.reason; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.reason IS 'Why the record was not merged (dangling link, constraint, conversion).';

--
-- Name: COLUMN record_errors.resolved_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.resolved_at IS 'When a later run merged the record.';

--
-- Name: COLUMN record_errors.resolved_by_run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.resolved_by_run_id IS 'The run that merged it.';

--
-- Name: COLUMN record_errors.created_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.created_at IS 'When the record was quarantined.';

--
-- Name: COLUMN record_errors.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.updated_at IS 'When the entry last changed.';

--
-- Name: COLUMN record_errors.rejected_before_staging; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.record_errors.rejected_before_staging IS 'The runner could not stage the record (an envelope that is not a record, text PostgreSQL cannot store): staging holds an older version or none, so only a run that stages the record again releases the entry (set by sync.mark_rejected_before_staging, kept by trigger _150_keep_rejections_open).';

--
-- Name: open_data_problems; Type: VIEW; Schema: sync; Owner: -
--

CREATE VIEW sync.open_data_problems AS
 SELECT fp.entity,
    fp.source_table,
    fp.source_key,
    fp.field,
    fp.column_name,
    fp.rule,
    fp.value,
    fp.reason,
    fp.landed AS disposition,
    fp.created_at AS since,
    fp.run_id
   FROM sync.field_problems fp
  WHERE (fp.resolved_at IS NULL)
UNION ALL
 SELECT m.entity,
    e.source_table,
    e.source_key,
    e.field,
    NULL::text AS column_name,
        CASE
            WHEN e.rejected_before_staging THEN 'staging'::text
            ELSE COALESCE("substring"(e.reason, '\(rule ([a-z_.]+)\)$'::text), 'quarantine'::text)
        END AS rule,
    e.value,
    e.reason,
    'quarantined'::text AS disposition,
    e.created_at AS since,
    e.run_id
   FROM (sync.record_errors e
     LEFT JOIN sync.entity_mappings m ON ((m.source_table = e.source_table)))
  WHERE (e.resolved_at IS NULL);

--
-- Name: VIEW open_data_problems; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON VIEW sync.open_data_problems IS 'Every open data problem, one row per record, field and rule: those of records that landed (sync.field_problems; disposition empty, first_link or kept) and those of records kept out (sync.record_errors; disposition quarantined, rule staging for records that could not be staged). What status, verification and admin pages group by table, field and rule.';

--
-- Name: COLUMN open_data_problems.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.entity IS 'The entity of the record.';

--
-- Name: COLUMN open_data_problems.source_table; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.source_table IS 'The source table (an Airtable table id, an export''s file name).';

--
-- Name: COLUMN open_data_problems.source_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.source_key IS 'The record''s key in its source (an Airtable record id, a key read from an export).';

--
-- Name: COLUMN open_data_problems.field; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.field IS 'The field at fault (null when the whole record is).';

--
-- Name: COLUMN open_data_problems.column_name; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.column_name IS 'The app column the field lands in, for records that landed.';

--
-- Name: COLUMN open_data_problems.rule; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.rule IS 'The rule broken: the merge''s own (cell_conversion, required_value, check_range, dangling_link, extra_links), a validation rule id, staging (could not be staged) or quarantine.';

--
-- Name: COLUMN open_data_problems.value; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.value IS 'The value as the source sent it.';

--
-- Name: COLUMN open_data_problems.reason; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.reason IS 'Why, in words.';

--
-- Name: COLUMN open_data_problems.disposition; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.disposition IS 'What became of the record or field: empty, first_link, kept (landed) or quarantined (kept out).';

--
-- Name: COLUMN open_data_problems.since; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.since IS 'When the problem was first found.';

--
-- Name: COLUMN open_data_problems.run_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.open_data_problems.run_id IS 'The run that found it.';

--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: sync; Owner: -
--

ALTER TABLE sync.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sync.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: push_status; Type: VIEW; Schema: sync; Owner: -
--

CREATE VIEW sync.push_status AS
 SELECT e.entity,
    count(o.id) FILTER (WHERE (o.status = 'pending'::text)) AS pending,
    count(o.id) FILTER (WHERE (o.status = 'in_flight'::text)) AS in_flight,
    count(o.id) FILTER (WHERE (o.status = 'failed'::text)) AS failed,
    min(o.created_at) FILTER (WHERE (o.status = 'pending'::text)) AS oldest_pending_at,
    (now() - min(o.created_at) FILTER (WHERE (o.status = 'pending'::text))) AS oldest_pending_age,
    ( SELECT count(*) AS count
           FROM sync.conflicts k
          WHERE ((k.entity = e.entity) AND (k.status = 'open'::text))) AS open_conflicts,
    count(o.id) FILTER (WHERE ((o.status = 'pending'::text) AND (o.next_attempt_at > now()))) AS retry_waiting,
    min(o.next_attempt_at) FILTER (WHERE ((o.status = 'pending'::text) AND (o.next_attempt_at > now()))) AS next_attempt_at
   FROM (sync.entities e
     LEFT JOIN sync.outbox o ON (((o.entity = e.entity) AND (o.status = ANY (ARRAY['pending'::text, 'in_flight'::text, 'failed'::text])))))
  GROUP BY e.entity, e.merge_rank
  ORDER BY e.merge_rank, e.entity;

--
-- Name: VIEW push_status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON VIEW sync.push_status IS 'Per entity, what waits to go to Airtable: pending, in-flight and failed outbox entries, the oldest pending entry and its age, the open (manual) conflicts, and the pending entries waiting out a retry delay with when the first is due. What `airlift status` shows.';

--
-- Name: COLUMN push_status.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.entity IS 'The entity.';

--
-- Name: COLUMN push_status.pending; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.pending IS 'Entries waiting to be pushed (retries included).';

--
-- Name: COLUMN push_status.in_flight; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.in_flight IS 'Entries claimed by a push now.';

--
-- Name: COLUMN push_status.failed; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.failed IS 'Entries Airtable refused or that ran out of retries; they wait for a fix and sync.retry_outbox or a new change.';

--
-- Name: COLUMN push_status.oldest_pending_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.oldest_pending_at IS 'When the oldest pending entry was captured.';

--
-- Name: COLUMN push_status.oldest_pending_age; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.oldest_pending_age IS 'How long the oldest pending entry has waited.';

--
-- Name: COLUMN push_status.open_conflicts; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.open_conflicts IS 'Conflicts parked for a person (manual policy).';

--
-- Name: COLUMN push_status.retry_waiting; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.retry_waiting IS 'Pending entries waiting out a retry delay (sync.outbox.next_attempt_at later than now, after a transient failure or an interrupted push): counted in pending, not sent by a push before they are due.';

--
-- Name: COLUMN push_status.next_attempt_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.push_status.next_attempt_at IS 'When the first of the entries waiting out a retry delay is due.';

--
-- Name: runs_id_seq; Type: SEQUENCE; Schema: sync; Owner: -
--

ALTER TABLE sync.runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sync.runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: snapshots_id_seq; Type: SEQUENCE; Schema: sync; Owner: -
--

ALTER TABLE sync.snapshots ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sync.snapshots_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: status_transitions; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.status_transitions (
    machine text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    only_for_recurring boolean DEFAULT false NOT NULL,
    CONSTRAINT status_transitions_machine_is_known CHECK ((machine = ANY (ARRAY['sync.jobs'::text, 'sync.runs'::text, 'sync.checkpoints'::text])))
);

--
-- Name: TABLE status_transitions; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.status_transitions IS 'The allowed status changes of jobs, runs and checkpoints. from_status null lists the statuses a new row may start in.';

--
-- Name: COLUMN status_transitions.machine; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.status_transitions.machine IS 'The table whose status column the rule governs.';

--
-- Name: COLUMN status_transitions.from_status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.status_transitions.from_status IS 'Status before the change; null for the initial status of a new row.';

--
-- Name: COLUMN status_transitions.to_status; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.status_transitions.to_status IS 'Status after the change.';

--
-- Name: COLUMN status_transitions.only_for_recurring; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.status_transitions.only_for_recurring IS 'The move is allowed only for recurring jobs (job_type scheduled_sync).';

--
-- Name: target_checksums; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.target_checksums (
    entity text NOT NULL,
    source_key text NOT NULL,
    row_id uuid NOT NULL,
    checksum text NOT NULL,
    deleted boolean NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT target_checksums_checksum_is_sha256 CHECK (sync.is_sha256_hex(checksum))
);

--
-- Name: TABLE target_checksums; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.target_checksums IS 'The checksum of every synced app row''s canonical form (the same form as the source checksum in staging), kept by triggers on the app tables: the target side of differentials. Derived: sync.refresh_target_checksums rebuilds it.';

--
-- Name: COLUMN target_checksums.entity; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.target_checksums.entity IS 'The entity of the row.';

--
-- Name: COLUMN target_checksums.source_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.target_checksums.source_key IS 'The row''s key in its source (from its entity''s source_key_column: an Airtable record id, a key read from an export): the key differentials join on.';

--
-- Name: COLUMN target_checksums.row_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.target_checksums.row_id IS 'The app row''s id.';

--
-- Name: COLUMN target_checksums.checksum; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.target_checksums.checksum IS 'SHA-256 (hex) of the row''s canonical form, rebuilt from the row.';

--
-- Name: COLUMN target_checksums.deleted; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.target_checksums.deleted IS 'Whether the row is soft-deleted.';

--
-- Name: COLUMN target_checksums.updated_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.target_checksums.updated_at IS 'When the entry last changed.';

--
-- Name: worker_processes; Type: TABLE; Schema: sync; Owner: -
--

CREATE TABLE sync.worker_processes (
    worker_id text NOT NULL,
    hostname text NOT NULL,
    pid integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    heartbeat_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT worker_processes_pid_positive CHECK ((pid > 0))
);

--
-- Name: TABLE worker_processes; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TABLE sync.worker_processes IS 'Live graphile-worker workers of `airlift worker` processes, with a heartbeat; used to release the job and queue locks of crashed workers.';

--
-- Name: COLUMN worker_processes.worker_id; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.worker_processes.worker_id IS 'graphile-worker''s worker id (locked_by in its jobs and queues).';

--
-- Name: COLUMN worker_processes.hostname; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.worker_processes.hostname IS 'Host the process runs on.';

--
-- Name: COLUMN worker_processes.pid; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.worker_processes.pid IS 'Operating system process id on that host.';

--
-- Name: COLUMN worker_processes.started_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.worker_processes.started_at IS 'When the worker started.';

--
-- Name: COLUMN worker_processes.heartbeat_at; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON COLUMN sync.worker_processes.heartbeat_at IS 'Last sign of life; refreshed every minute.';

--
-- Name: admin_actions; Type: TABLE; Schema: wallet_app; Owner: -
--

CREATE TABLE wallet_app.admin_actions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    source_id text NOT NULL,
    acted_at timestamp with time zone,
    admin_id uuid,
    action text,
    target_user_id uuid,
    reason text,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE admin_actions; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON TABLE wallet_app.admin_actions IS 'What administrators did (admin_logs.jsonl).';

--
-- Name: COLUMN admin_actions.id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN admin_actions.source_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.source_id IS 'The log entry''s id (log-...): the source key.';

--
-- Name: COLUMN admin_actions.acted_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.acted_at IS 'When the action was taken (at).';

--
-- Name: COLUMN admin_actions.admin_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.admin_id IS 'The administrator (admin, a wallet address).';

--
-- Name: COLUMN admin_actions.action; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.action IS 'What was done (user.suspend, kyc.approve, role.change, ...).';

--
-- Name: COLUMN admin_actions.target_user_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.target_user_id IS 'The user acted on (target, a wallet address).';

--
-- Name: COLUMN admin_actions.reason; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.reason IS 'The reason given, where the action has one (details.reason).';

--
-- Name: COLUMN admin_actions.open_problem_count; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN admin_actions.created_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.created_at IS 'When the row was created here.';

--
-- Name: COLUMN admin_actions.updated_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN admin_actions.deleted_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.admin_actions.deleted_at IS 'When it disappeared from the export (soft delete).';

--
-- Name: kyc_documents; Type: TABLE; Schema: wallet_app; Owner: -
--

CREATE TABLE wallet_app.kyc_documents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    source_id text NOT NULL,
    user_id uuid,
    document_type text,
    country text,
    status text,
    submitted_at timestamp with time zone,
    verified_at timestamp with time zone,
    document_authentic boolean DEFAULT false NOT NULL,
    face_match boolean DEFAULT false NOT NULL,
    sanctions_screen text,
    provider text,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE kyc_documents; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON TABLE wallet_app.kyc_documents IS 'Identity documents users submitted for know-your-customer checks (kyc_documents.json, under documents).';

--
-- Name: COLUMN kyc_documents.id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN kyc_documents.source_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.source_id IS 'The document''s id (kyc-...): the source key.';

--
-- Name: COLUMN kyc_documents.user_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.user_id IS 'The user it identifies (user, a wallet address).';

--
-- Name: COLUMN kyc_documents.document_type; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.document_type IS 'passport, national_id, driver_license, ...';

--
-- Name: COLUMN kyc_documents.country; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.country IS 'Issuing country, ISO 3166 alpha-2.';

--
-- Name: COLUMN kyc_documents.status; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.status IS 'verified, pending or rejected.';

--
-- Name: COLUMN kyc_documents.submitted_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.submitted_at IS 'When it was submitted.';

--
-- Name: COLUMN kyc_documents.verified_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.verified_at IS 'When it was verified; null unless verified.';

--
-- Name: COLUMN kyc_documents.document_authentic; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.document_authentic IS 'The provider found the document authentic (checks.document_authentic).';

--
-- Name: COLUMN kyc_documents.face_match; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.face_match IS 'The selfie matched the document (checks.face_match).';

--
-- Name: COLUMN kyc_documents.sanctions_screen; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.sanctions_screen IS 'Result of the sanctions screening (checks.sanctions_screen).';

--
-- Name: COLUMN kyc_documents.provider; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.provider IS 'The identity verification provider (checks.provider).';

--
-- Name: COLUMN kyc_documents.open_problem_count; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN kyc_documents.created_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.created_at IS 'When the row was created here.';

--
-- Name: COLUMN kyc_documents.updated_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN kyc_documents.deleted_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.kyc_documents.deleted_at IS 'When it disappeared from the export (soft delete).';

--
-- Name: opportunities; Type: TABLE; Schema: wallet_app; Owner: -
--

CREATE TABLE wallet_app.opportunities (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    source_id text NOT NULL,
    title text,
    owner_id uuid,
    amount numeric(12,2),
    currency text,
    status text,
    opens_on date,
    closes_on date,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

--
-- Name: TABLE opportunities; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON TABLE wallet_app.opportunities IS 'Funding opportunities users post (opportunities.csv).';

--
-- Name: COLUMN opportunities.id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN opportunities.source_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.source_id IS 'The export''s id (opp-...): the source key.';

--
-- Name: COLUMN opportunities.title; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.title IS 'Title.';

--
-- Name: COLUMN opportunities.owner_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.owner_id IS 'The user who posted it (owner, a wallet address).';

--
-- Name: COLUMN opportunities.amount; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.amount IS 'Amount asked for, in currency.';

--
-- Name: COLUMN opportunities.currency; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.currency IS 'ISO 4217 currency code.';

--
-- Name: COLUMN opportunities.status; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.status IS 'open, funded, closed or draft.';

--
-- Name: COLUMN opportunities.opens_on; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.opens_on IS 'First day it takes applications.';

--
-- Name: COLUMN opportunities.closes_on; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.closes_on IS 'Last day it takes applications.';

--
-- Name: COLUMN opportunities.tags; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.tags IS 'Tags (a ;-separated cell in the export).';

--
-- Name: COLUMN opportunities.open_problem_count; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.open_problem_count IS 'Open field problems of the row (sync.field_problems).';

--
-- Name: COLUMN opportunities.created_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.created_at IS 'When the row was created here.';

--
-- Name: COLUMN opportunities.updated_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN opportunities.deleted_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.opportunities.deleted_at IS 'When it disappeared from the export (soft delete).';

--
-- Name: users; Type: TABLE; Schema: wallet_app; Owner: -
--

CREATE TABLE wallet_app.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    wallet_address text NOT NULL,
    name text,
    email text,
    phone text,
    phone_verified boolean DEFAULT false NOT NULL,
    role text,
    referrer_id uuid,
    joined_at timestamp with time zone,
    open_problem_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT users_name_not_blank CHECK ((btrim(name) <> ''::text)),
    CONSTRAINT users_wallet_address_format CHECK ((wallet_address ~ '^0x[0-9a-f]{40}$'::text))
);

--
-- Name: TABLE users; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON TABLE wallet_app.users IS 'The app''s users (users.json, an object keyed by wallet address).';

--
-- Name: COLUMN users.id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.id IS 'Primary key, stable across syncs.';

--
-- Name: COLUMN users.wallet_address; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.wallet_address IS 'The user''s wallet address, lowercase hex: the export''s key (sync.entities.source_key_column).';

--
-- Name: COLUMN users.name; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.name IS 'Display name.';

--
-- Name: COLUMN users.email; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.email IS 'Email as exported; validation reports, never rewrites, values that are not addresses.';

--
-- Name: COLUMN users.phone; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.phone IS 'Mobile number as exported (phone.mobile).';

--
-- Name: COLUMN users.phone_verified; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.phone_verified IS 'Whether the app verified the mobile number (phone.verified).';

--
-- Name: COLUMN users.role; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.role IS 'member, creator, reviewer or admin.';

--
-- Name: COLUMN users.referrer_id; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.referrer_id IS 'The user who referred this one (referrer, a wallet address).';

--
-- Name: COLUMN users.joined_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.joined_at IS 'When the user signed up (createdAt).';

--
-- Name: COLUMN users.open_problem_count; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.open_problem_count IS 'Open field problems of the row (sync.field_problems): what landed empty or was flagged.';

--
-- Name: COLUMN users.created_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.created_at IS 'When the row was created here.';

--
-- Name: COLUMN users.updated_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.updated_at IS 'When the row last changed here.';

--
-- Name: COLUMN users.deleted_at; Type: COMMENT; Schema: wallet_app; Owner: -
--

COMMENT ON COLUMN wallet_app.users.deleted_at IS 'When the user disappeared from the export (soft delete); null while present.';

--
-- Name: attachments attachments_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.attachments
    ADD CONSTRAINT attachments_pkey PRIMARY KEY (id);

--
-- Name: clients clients_airtable_id_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.clients
    ADD CONSTRAINT clients_airtable_id_key UNIQUE (airtable_id);

--
-- Name: clients clients_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.clients
    ADD CONSTRAINT clients_pkey PRIMARY KEY (id);

--
-- Name: collaborators collaborators_airtable_user_id_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.collaborators
    ADD CONSTRAINT collaborators_airtable_user_id_key UNIQUE (airtable_user_id);

--
-- Name: collaborators collaborators_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.collaborators
    ADD CONSTRAINT collaborators_pkey PRIMARY KEY (id);

--
-- Name: products products_airtable_id_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.products
    ADD CONSTRAINT products_airtable_id_key UNIQUE (airtable_id);

--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

--
-- Name: registrations registrations_airtable_id_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.registrations
    ADD CONSTRAINT registrations_airtable_id_key UNIQUE (airtable_id);

--
-- Name: registrations registrations_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.registrations
    ADD CONSTRAINT registrations_pkey PRIMARY KEY (id);

--
-- Name: state_regulators state_regulators_airtable_id_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.state_regulators
    ADD CONSTRAINT state_regulators_airtable_id_key UNIQUE (airtable_id);

--
-- Name: state_regulators state_regulators_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.state_regulators
    ADD CONSTRAINT state_regulators_pkey PRIMARY KEY (id);

--
-- Name: changes changes_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.changes
    ADD CONSTRAINT changes_pkey PRIMARY KEY (id);

--
-- Name: doctors doctors_pkey; Type: CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.doctors
    ADD CONSTRAINT doctors_pkey PRIMARY KEY (id);

--
-- Name: offices offices_pkey; Type: CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.offices
    ADD CONSTRAINT offices_pkey PRIMARY KEY (id);

--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

--
-- Name: patients patients_pkey; Type: CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.patients
    ADD CONSTRAINT patients_pkey PRIMARY KEY (id);

--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

--
-- Name: profiles profiles_pkey; Type: CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.profiles
    ADD CONSTRAINT profiles_pkey PRIMARY KEY (id);

--
-- Name: ai_providers ai_providers_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.ai_providers
    ADD CONSTRAINT ai_providers_pkey PRIMARY KEY (id);

--
-- Name: ai_providers ai_providers_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.ai_providers
    ADD CONSTRAINT ai_providers_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: api_configurations api_configurations_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.api_configurations
    ADD CONSTRAINT api_configurations_pkey PRIMARY KEY (id);

--
-- Name: api_configurations api_configurations_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.api_configurations
    ADD CONSTRAINT api_configurations_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: data_source_mappings data_source_mappings_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.data_source_mappings
    ADD CONSTRAINT data_source_mappings_pkey PRIMARY KEY (id);

--
-- Name: data_source_mappings data_source_mappings_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.data_source_mappings
    ADD CONSTRAINT data_source_mappings_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: field_configurations field_configurations_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.field_configurations
    ADD CONSTRAINT field_configurations_pkey PRIMARY KEY (id);

--
-- Name: field_configurations field_configurations_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.field_configurations
    ADD CONSTRAINT field_configurations_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: organization_configs organization_configs_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.organization_configs
    ADD CONSTRAINT organization_configs_pkey PRIMARY KEY (id);

--
-- Name: organization_configs organization_configs_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.organization_configs
    ADD CONSTRAINT organization_configs_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: organizations organizations_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.organizations
    ADD CONSTRAINT organizations_pkey PRIMARY KEY (id);

--
-- Name: organizations organizations_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.organizations
    ADD CONSTRAINT organizations_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: pfa_records pfa_records_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.pfa_records
    ADD CONSTRAINT pfa_records_pkey PRIMARY KEY (id);

--
-- Name: pfa_records pfa_records_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.pfa_records
    ADD CONSTRAINT pfa_records_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: user_organizations user_organizations_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.user_organizations
    ADD CONSTRAINT user_organizations_pkey PRIMARY KEY (id);

--
-- Name: user_organizations user_organizations_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.user_organizations
    ADD CONSTRAINT user_organizations_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: users users_sqlite_id_key; Type: CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.users
    ADD CONSTRAINT users_sqlite_id_key UNIQUE (sqlite_id);

--
-- Name: source_records source_records_pkey; Type: CONSTRAINT; Schema: staging; Owner: -
--

ALTER TABLE ONLY staging.source_records
    ADD CONSTRAINT source_records_pkey PRIMARY KEY (source_table, source_key) INCLUDE (run_id, checksum);

--
-- Name: attachment_downloads attachment_downloads_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.attachment_downloads
    ADD CONSTRAINT attachment_downloads_pkey PRIMARY KEY (source_id, attachment_key);

--
-- Name: attachment_outbox attachment_outbox_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.attachment_outbox
    ADD CONSTRAINT attachment_outbox_pkey PRIMARY KEY (id);

--
-- Name: checkpoints checkpoints_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (id);

--
-- Name: conflict_policies conflict_policies_entity_column_key; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflict_policies
    ADD CONSTRAINT conflict_policies_entity_column_key UNIQUE NULLS NOT DISTINCT (entity, column_name);

--
-- Name: conflict_policies conflict_policies_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflict_policies
    ADD CONSTRAINT conflict_policies_pkey PRIMARY KEY (id);

--
-- Name: conflicts conflicts_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflicts
    ADD CONSTRAINT conflicts_pkey PRIMARY KEY (id);

--
-- Name: data_differentials data_differentials_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.data_differentials
    ADD CONSTRAINT data_differentials_pkey PRIMARY KEY (id);

--
-- Name: entities entities_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.entities
    ADD CONSTRAINT entities_pkey PRIMARY KEY (entity);

--
-- Name: entity_columns entity_columns_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.entity_columns
    ADD CONSTRAINT entity_columns_pkey PRIMARY KEY (entity, column_name);

--
-- Name: entity_mappings entity_mappings_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.entity_mappings
    ADD CONSTRAINT entity_mappings_pkey PRIMARY KEY (entity);

--
-- Name: entity_mappings entity_mappings_table_unique; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.entity_mappings
    ADD CONSTRAINT entity_mappings_table_unique UNIQUE (source_id, source_table);

--
-- Name: field_problems field_problems_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.field_problems
    ADD CONSTRAINT field_problems_pkey PRIMARY KEY (id);

--
-- Name: id_map id_map_legacy_key; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.id_map
    ADD CONSTRAINT id_map_legacy_key UNIQUE (entity_type, legacy_id);

--
-- Name: id_map id_map_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.id_map
    ADD CONSTRAINT id_map_pkey PRIMARY KEY (id);

--
-- Name: id_map id_map_uuid_key; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.id_map
    ADD CONSTRAINT id_map_uuid_key UNIQUE (entity_type, uuid_id);

--
-- Name: jobs jobs_job_name_key; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.jobs
    ADD CONSTRAINT jobs_job_name_key UNIQUE (job_name);

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

--
-- Name: record_errors record_errors_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.record_errors
    ADD CONSTRAINT record_errors_pkey PRIMARY KEY (id);

--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);

--
-- Name: snapshots snapshots_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.snapshots
    ADD CONSTRAINT snapshots_pkey PRIMARY KEY (id);

--
-- Name: snapshots snapshots_schema_name_key; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.snapshots
    ADD CONSTRAINT snapshots_schema_name_key UNIQUE (schema_name);

--
-- Name: status_transitions status_transitions_key; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.status_transitions
    ADD CONSTRAINT status_transitions_key UNIQUE NULLS NOT DISTINCT (machine, from_status, to_status);

--
-- Name: stored_files stored_files_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.stored_files
    ADD CONSTRAINT stored_files_pkey PRIMARY KEY (sha256);

--
-- Name: target_checksums target_checksums_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.target_checksums
    ADD CONSTRAINT target_checksums_pkey PRIMARY KEY (entity, source_key) INCLUDE (checksum, deleted);

--
-- Name: validation_reports validation_reports_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.validation_reports
    ADD CONSTRAINT validation_reports_pkey PRIMARY KEY (id);

--
-- Name: validation_rules validation_rules_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.validation_rules
    ADD CONSTRAINT validation_rules_pkey PRIMARY KEY (rule_id);

--
-- Name: worker_processes worker_processes_pkey; Type: CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.worker_processes
    ADD CONSTRAINT worker_processes_pkey PRIMARY KEY (worker_id);

--
-- Name: admin_actions admin_actions_pkey; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.admin_actions
    ADD CONSTRAINT admin_actions_pkey PRIMARY KEY (id);

--
-- Name: admin_actions admin_actions_source_id_key; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.admin_actions
    ADD CONSTRAINT admin_actions_source_id_key UNIQUE (source_id);

--
-- Name: kyc_documents kyc_documents_pkey; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.kyc_documents
    ADD CONSTRAINT kyc_documents_pkey PRIMARY KEY (id);

--
-- Name: kyc_documents kyc_documents_source_id_key; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.kyc_documents
    ADD CONSTRAINT kyc_documents_source_id_key UNIQUE (source_id);

--
-- Name: opportunities opportunities_pkey; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.opportunities
    ADD CONSTRAINT opportunities_pkey PRIMARY KEY (id);

--
-- Name: opportunities opportunities_source_id_key; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.opportunities
    ADD CONSTRAINT opportunities_source_id_key UNIQUE (source_id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: users users_wallet_address_key; Type: CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.users
    ADD CONSTRAINT users_wallet_address_key UNIQUE (wallet_address);

--
-- Name: attachments_airtable_attachment_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX attachments_airtable_attachment_idx ON app.attachments USING btree (airtable_attachment_id) WHERE (airtable_attachment_id IS NOT NULL);

--
-- Name: attachments_product_file_key; Type: INDEX; Schema: app; Owner: -
--

CREATE UNIQUE INDEX attachments_product_file_key ON app.attachments USING btree (product_id, field_name, airtable_attachment_id) WHERE (product_id IS NOT NULL);

--
-- Name: attachments_registration_file_key; Type: INDEX; Schema: app; Owner: -
--

CREATE UNIQUE INDEX attachments_registration_file_key ON app.attachments USING btree (registration_id, field_name, airtable_attachment_id) WHERE (registration_id IS NOT NULL);

--
-- Name: attachments_sha256_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX attachments_sha256_idx ON app.attachments USING btree (sha256) WHERE (sha256 IS NOT NULL);

--
-- Name: clients_account_manager_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX clients_account_manager_idx ON app.clients USING btree (account_manager_id);

--
-- Name: clients_search_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX clients_search_idx ON app.clients USING gin (search_vector);

--
-- Name: products_client_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX products_client_idx ON app.products USING btree (client_id);

--
-- Name: products_search_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX products_search_idx ON app.products USING gin (search_vector);

--
-- Name: registrations_assigned_to_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX registrations_assigned_to_idx ON app.registrations USING btree (assigned_to_id);

--
-- Name: registrations_by_state_status_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX registrations_by_state_status_idx ON app.registrations USING btree (state_code, status) WHERE (deleted_at IS NULL);

--
-- Name: registrations_client_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX registrations_client_idx ON app.registrations USING btree (client_id);

--
-- Name: registrations_open_by_expiration_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX registrations_open_by_expiration_idx ON app.registrations USING btree (expiration_date) WHERE (is_open AND (deleted_at IS NULL) AND (expiration_date IS NOT NULL));

--
-- Name: registrations_product_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX registrations_product_idx ON app.registrations USING btree (product_id);

--
-- Name: registrations_state_regulator_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX registrations_state_regulator_idx ON app.registrations USING btree (state_regulator_id);

--
-- Name: state_regulators_search_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX state_regulators_search_idx ON app.state_regulators USING gin (search_vector);

--
-- Name: changes_changed_at_brin; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX changes_changed_at_brin ON audit.changes USING brin (changed_at);

--
-- Name: changes_run_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX changes_run_idx ON audit.changes USING btree (run_id, id) WHERE (run_id IS NOT NULL);

--
-- Name: changes_table_record_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX changes_table_record_idx ON audit.changes USING btree (table_name, record_id) WHERE (record_id IS NOT NULL);

--
-- Name: doctors_office_id; Type: INDEX; Schema: legacy_app; Owner: -
--

CREATE INDEX doctors_office_id ON legacy_app.doctors USING btree (office_id);

--
-- Name: INDEX doctors_office_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON INDEX legacy_app.doctors_office_id IS 'Foreign key office_id.';

--
-- Name: doctors_profile_id; Type: INDEX; Schema: legacy_app; Owner: -
--

CREATE INDEX doctors_profile_id ON legacy_app.doctors USING btree (profile_id);

--
-- Name: INDEX doctors_profile_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON INDEX legacy_app.doctors_profile_id IS 'Foreign key profile_id.';

--
-- Name: orders_doctor_id; Type: INDEX; Schema: legacy_app; Owner: -
--

CREATE INDEX orders_doctor_id ON legacy_app.orders USING btree (doctor_id);

--
-- Name: INDEX orders_doctor_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON INDEX legacy_app.orders_doctor_id IS 'Foreign key doctor_id.';

--
-- Name: orders_patient_id; Type: INDEX; Schema: legacy_app; Owner: -
--

CREATE INDEX orders_patient_id ON legacy_app.orders USING btree (patient_id);

--
-- Name: INDEX orders_patient_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON INDEX legacy_app.orders_patient_id IS 'Foreign key patient_id.';

--
-- Name: orders_product_id; Type: INDEX; Schema: legacy_app; Owner: -
--

CREATE INDEX orders_product_id ON legacy_app.orders USING btree (product_id);

--
-- Name: INDEX orders_product_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON INDEX legacy_app.orders_product_id IS 'Foreign key product_id.';

--
-- Name: patients_primary_doctor_id; Type: INDEX; Schema: legacy_app; Owner: -
--

CREATE INDEX patients_primary_doctor_id ON legacy_app.patients USING btree (primary_doctor_id);

--
-- Name: INDEX patients_primary_doctor_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON INDEX legacy_app.patients_primary_doctor_id IS 'Foreign key primary_doctor_id.';

--
-- Name: patients_profile_id; Type: INDEX; Schema: legacy_app; Owner: -
--

CREATE INDEX patients_profile_id ON legacy_app.patients USING btree (profile_id);

--
-- Name: INDEX patients_profile_id; Type: COMMENT; Schema: legacy_app; Owner: -
--

COMMENT ON INDEX legacy_app.patients_profile_id IS 'Foreign key profile_id.';

--
-- Name: api_configurations_ai_provider_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX api_configurations_ai_provider_id ON pfa_app.api_configurations USING btree (ai_provider_id);

--
-- Name: INDEX api_configurations_ai_provider_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.api_configurations_ai_provider_id IS 'Foreign key ai_provider_id.';

--
-- Name: api_configurations_organization_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX api_configurations_organization_id ON pfa_app.api_configurations USING btree (organization_id);

--
-- Name: INDEX api_configurations_organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.api_configurations_organization_id IS 'Foreign key organization_id.';

--
-- Name: data_source_mappings_api_configuration_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX data_source_mappings_api_configuration_id ON pfa_app.data_source_mappings USING btree (api_configuration_id);

--
-- Name: INDEX data_source_mappings_api_configuration_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.data_source_mappings_api_configuration_id IS 'Foreign key api_configuration_id.';

--
-- Name: data_source_mappings_organization_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX data_source_mappings_organization_id ON pfa_app.data_source_mappings USING btree (organization_id);

--
-- Name: INDEX data_source_mappings_organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.data_source_mappings_organization_id IS 'Foreign key organization_id.';

--
-- Name: field_configurations_data_source_mapping_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX field_configurations_data_source_mapping_id ON pfa_app.field_configurations USING btree (data_source_mapping_id);

--
-- Name: INDEX field_configurations_data_source_mapping_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.field_configurations_data_source_mapping_id IS 'Foreign key data_source_mapping_id.';

--
-- Name: organization_configs_default_ai_provider_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX organization_configs_default_ai_provider_id ON pfa_app.organization_configs USING btree (default_ai_provider_id);

--
-- Name: INDEX organization_configs_default_ai_provider_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.organization_configs_default_ai_provider_id IS 'Foreign key default_ai_provider_id.';

--
-- Name: organization_configs_organization_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX organization_configs_organization_id ON pfa_app.organization_configs USING btree (organization_id);

--
-- Name: INDEX organization_configs_organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.organization_configs_organization_id IS 'Foreign key organization_id.';

--
-- Name: pfa_records_created_by_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX pfa_records_created_by_id ON pfa_app.pfa_records USING btree (created_by_id);

--
-- Name: INDEX pfa_records_created_by_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.pfa_records_created_by_id IS 'Foreign key created_by_id: a user''s records.';

--
-- Name: pfa_records_data_source_mapping_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX pfa_records_data_source_mapping_id ON pfa_app.pfa_records USING btree (data_source_mapping_id);

--
-- Name: INDEX pfa_records_data_source_mapping_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.pfa_records_data_source_mapping_id IS 'Foreign key data_source_mapping_id: a feed''s records.';

--
-- Name: pfa_records_organization_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX pfa_records_organization_id ON pfa_app.pfa_records USING btree (organization_id);

--
-- Name: INDEX pfa_records_organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.pfa_records_organization_id IS 'Foreign key organization_id: an organization''s records.';

--
-- Name: user_organizations_organization_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX user_organizations_organization_id ON pfa_app.user_organizations USING btree (organization_id);

--
-- Name: INDEX user_organizations_organization_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.user_organizations_organization_id IS 'Foreign key organization_id: members of an organization.';

--
-- Name: user_organizations_user_id; Type: INDEX; Schema: pfa_app; Owner: -
--

CREATE INDEX user_organizations_user_id ON pfa_app.user_organizations USING btree (user_id);

--
-- Name: INDEX user_organizations_user_id; Type: COMMENT; Schema: pfa_app; Owner: -
--

COMMENT ON INDEX pfa_app.user_organizations_user_id IS 'Foreign key user_id: memberships of a user.';

--
-- Name: client_portfolio_key; Type: INDEX; Schema: report; Owner: -
--

CREATE UNIQUE INDEX client_portfolio_key ON report.client_portfolio USING btree (client_id);

--
-- Name: registration_status_by_state_key; Type: INDEX; Schema: report; Owner: -
--

CREATE UNIQUE INDEX registration_status_by_state_key ON report.registration_status_by_state USING btree (state_code, status);

--
-- Name: source_records_page_idx; Type: INDEX; Schema: staging; Owner: -
--

CREATE INDEX source_records_page_idx ON staging.source_records USING btree (source_table, page_seq);

--
-- Name: INDEX source_records_page_idx; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON INDEX staging.source_records_page_idx IS 'Finds the pages of a table staged after a given page, for merges in batches.';

--
-- Name: INDEX source_records_pkey; Type: COMMENT; Schema: staging; Owner: -
--

COMMENT ON INDEX staging.source_records_pkey IS 'One staged row per source record (table and key); carries run_id and checksum so that the source snapshot''s checksums are read from the index alone (differentials, verification).';

--
-- Name: attachment_downloads_missing_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX attachment_downloads_missing_idx ON sync.attachment_downloads USING btree (source_id) WHERE (sha256 IS NULL);

--
-- Name: attachment_outbox_pending_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX attachment_outbox_pending_idx ON sync.attachment_outbox USING btree (id) WHERE (status = ANY (ARRAY['pending'::text, 'in_flight'::text]));

--
-- Name: checkpoints_run_operation_entity_key; Type: INDEX; Schema: sync; Owner: -
--

CREATE UNIQUE INDEX checkpoints_run_operation_entity_key ON sync.checkpoints USING btree (run_id, operation_type, entity_type);

--
-- Name: conflicts_open_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX conflicts_open_idx ON sync.conflicts USING btree (entity, row_id, column_name) WHERE (status = 'open'::text);

--
-- Name: field_problems_dangling_links_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX field_problems_dangling_links_idx ON sync.field_problems USING btree (entity, column_name, link_key) WHERE ((resolved_at IS NULL) AND (link_key IS NOT NULL));

--
-- Name: INDEX field_problems_dangling_links_idx; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON INDEX sync.field_problems_dangling_links_idx IS 'The open dangling links of an entity by linked record id: what each merge tries to resolve.';

--
-- Name: field_problems_open_by_rule_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX field_problems_open_by_rule_idx ON sync.field_problems USING btree (entity, field, rule) WHERE (resolved_at IS NULL);

--
-- Name: INDEX field_problems_open_by_rule_idx; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON INDEX sync.field_problems_open_by_rule_idx IS 'Open problems by table, field and rule, for status and verification reports.';

--
-- Name: field_problems_open_key; Type: INDEX; Schema: sync; Owner: -
--

CREATE UNIQUE INDEX field_problems_open_key ON sync.field_problems USING btree (entity, source_key, COALESCE(column_name, field, ''::text), rule) WHERE (resolved_at IS NULL);

--
-- Name: INDEX field_problems_open_key; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON INDEX sync.field_problems_open_key IS 'One open problem per record, column and rule: how a run finds the problem it saw before.';

--
-- Name: outbox_open_row_key; Type: INDEX; Schema: sync; Owner: -
--

CREATE UNIQUE INDEX outbox_open_row_key ON sync.outbox USING btree (entity, row_id) WHERE (status = ANY (ARRAY['pending'::text, 'failed'::text]));

--
-- Name: outbox_pending_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX outbox_pending_idx ON sync.outbox USING btree (entity, id) INCLUDE (next_attempt_at) WHERE (status = 'pending'::text);

--
-- Name: outbox_row_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX outbox_row_idx ON sync.outbox USING btree (entity, row_id, id);

--
-- Name: outbox_unpushed_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX outbox_unpushed_idx ON sync.outbox USING btree (entity, row_id) WHERE (status = ANY (ARRAY['pending'::text, 'failed'::text, 'in_flight'::text]));

--
-- Name: record_errors_open_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX record_errors_open_idx ON sync.record_errors USING btree (source_table, source_key) WHERE (resolved_at IS NULL);

--
-- Name: runs_job_started_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX runs_job_started_idx ON sync.runs USING btree (job_id, started_at DESC);

--
-- Name: INDEX target_checksums_pkey; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON INDEX sync.target_checksums_pkey IS 'One entry per synced app row, keyed as the source; carries checksum and deleted so that the target side of a differential or verification is read from the index alone.';

--
-- Name: target_checksums_row_idx; Type: INDEX; Schema: sync; Owner: -
--

CREATE INDEX target_checksums_row_idx ON sync.target_checksums USING btree (entity, row_id);

--
-- Name: attachments _100_set_updated_at; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app.attachments FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: clients _100_set_updated_at; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app.clients FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at('search_vector');

--
-- Name: collaborators _100_set_updated_at; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app.collaborators FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: products _100_set_updated_at; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app.products FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at('search_vector');

--
-- Name: registrations _100_set_updated_at; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app.registrations FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at('state_code', 'lifecycle_stage', 'is_open', 'is_approved');

--
-- Name: state_regulators _100_set_updated_at; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app.state_regulators FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at('state_code', 'search_vector');

--
-- Name: attachments _200_fill_stored_file; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _200_fill_stored_file BEFORE INSERT OR UPDATE OF sha256 ON app.attachments FOR EACH ROW WHEN (((new.sha256 IS NOT NULL) AND (new.store_key IS NULL))) EXECUTE FUNCTION sync.tg_attachments__fill_stored_file();

--
-- Name: clients _800_target_checksums_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON app.clients REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('clients');

ALTER TABLE app.clients ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: products _800_target_checksums_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON app.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('products');

ALTER TABLE app.products ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: registrations _800_target_checksums_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON app.registrations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('registrations');

ALTER TABLE app.registrations ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: state_regulators _800_target_checksums_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON app.state_regulators REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('state_regulators');

ALTER TABLE app.state_regulators ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: clients _800_target_checksums_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON app.clients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('clients');

ALTER TABLE app.clients ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: products _800_target_checksums_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON app.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('products');

ALTER TABLE app.products ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: registrations _800_target_checksums_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON app.registrations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('registrations');

ALTER TABLE app.registrations ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: state_regulators _800_target_checksums_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON app.state_regulators REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('state_regulators');

ALTER TABLE app.state_regulators ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: clients _800_target_checksums_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON app.clients FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('clients');

ALTER TABLE app.clients ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: products _800_target_checksums_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON app.products FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('products');

ALTER TABLE app.products ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: registrations _800_target_checksums_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON app.registrations FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('registrations');

ALTER TABLE app.registrations ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: state_regulators _800_target_checksums_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON app.state_regulators FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('state_regulators');

ALTER TABLE app.state_regulators ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: clients _800_target_checksums_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON app.clients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('clients');

ALTER TABLE app.clients ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: products _800_target_checksums_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON app.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('products');

ALTER TABLE app.products ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: registrations _800_target_checksums_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON app.registrations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('registrations');

ALTER TABLE app.registrations ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: state_regulators _800_target_checksums_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON app.state_regulators REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('state_regulators');

ALTER TABLE app.state_regulators ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: attachments _900_audit_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON app.attachments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: clients _900_audit_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON app.clients REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: collaborators _900_audit_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON app.collaborators REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: products _900_audit_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON app.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: registrations _900_audit_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON app.registrations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: state_regulators _900_audit_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON app.state_regulators REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: attachments _900_audit_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON app.attachments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: clients _900_audit_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON app.clients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: collaborators _900_audit_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON app.collaborators REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: products _900_audit_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON app.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: registrations _900_audit_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON app.registrations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: state_regulators _900_audit_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON app.state_regulators REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: attachments _900_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON app.attachments FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: clients _900_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON app.clients FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: collaborators _900_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON app.collaborators FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: products _900_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON app.products FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: registrations _900_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON app.registrations FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: state_regulators _900_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON app.state_regulators FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: attachments _900_audit_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON app.attachments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: clients _900_audit_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON app.clients REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: collaborators _900_audit_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON app.collaborators REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: products _900_audit_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON app.products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: registrations _900_audit_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON app.registrations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: state_regulators _900_audit_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON app.state_regulators REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: attachments _900_capture_attachment_changes_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_capture_attachment_changes_delete AFTER DELETE ON app.attachments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg_attachments__capture_changes();

--
-- Name: attachments _900_capture_attachment_changes_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_capture_attachment_changes_insert AFTER INSERT ON app.attachments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg_attachments__capture_changes();

--
-- Name: attachments _900_capture_attachment_changes_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_capture_attachment_changes_update AFTER UPDATE ON app.attachments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg_attachments__capture_changes();

--
-- Name: clients _950_capture_changes_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_delete AFTER DELETE ON app.clients REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('clients');

ALTER TABLE app.clients ENABLE ALWAYS TRIGGER _950_capture_changes_delete;

--
-- Name: products _950_capture_changes_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_delete AFTER DELETE ON app.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('products');

ALTER TABLE app.products ENABLE ALWAYS TRIGGER _950_capture_changes_delete;

--
-- Name: registrations _950_capture_changes_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_delete AFTER DELETE ON app.registrations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('registrations');

ALTER TABLE app.registrations ENABLE ALWAYS TRIGGER _950_capture_changes_delete;

--
-- Name: state_regulators _950_capture_changes_delete; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_delete AFTER DELETE ON app.state_regulators REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('state_regulators');

ALTER TABLE app.state_regulators ENABLE ALWAYS TRIGGER _950_capture_changes_delete;

--
-- Name: clients _950_capture_changes_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_insert AFTER INSERT ON app.clients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('clients');

ALTER TABLE app.clients ENABLE ALWAYS TRIGGER _950_capture_changes_insert;

--
-- Name: products _950_capture_changes_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_insert AFTER INSERT ON app.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('products');

ALTER TABLE app.products ENABLE ALWAYS TRIGGER _950_capture_changes_insert;

--
-- Name: registrations _950_capture_changes_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_insert AFTER INSERT ON app.registrations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('registrations');

ALTER TABLE app.registrations ENABLE ALWAYS TRIGGER _950_capture_changes_insert;

--
-- Name: state_regulators _950_capture_changes_insert; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_insert AFTER INSERT ON app.state_regulators REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('state_regulators');

ALTER TABLE app.state_regulators ENABLE ALWAYS TRIGGER _950_capture_changes_insert;

--
-- Name: clients _950_capture_changes_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_update AFTER UPDATE ON app.clients REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('clients');

ALTER TABLE app.clients ENABLE ALWAYS TRIGGER _950_capture_changes_update;

--
-- Name: products _950_capture_changes_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_update AFTER UPDATE ON app.products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('products');

ALTER TABLE app.products ENABLE ALWAYS TRIGGER _950_capture_changes_update;

--
-- Name: registrations _950_capture_changes_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_update AFTER UPDATE ON app.registrations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('registrations');

ALTER TABLE app.registrations ENABLE ALWAYS TRIGGER _950_capture_changes_update;

--
-- Name: state_regulators _950_capture_changes_update; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _950_capture_changes_update AFTER UPDATE ON app.state_regulators REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__capture_changes('state_regulators');

ALTER TABLE app.state_regulators ENABLE ALWAYS TRIGGER _950_capture_changes_update;

--
-- Name: changes _100_forbid_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER _100_forbid_truncate BEFORE TRUNCATE ON audit.changes FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_changes__forbid_modification();

ALTER TABLE audit.changes ENABLE ALWAYS TRIGGER _100_forbid_truncate;

--
-- Name: changes _100_forbid_update_delete; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER _100_forbid_update_delete BEFORE DELETE OR UPDATE ON audit.changes FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_changes__forbid_modification();

ALTER TABLE audit.changes ENABLE ALWAYS TRIGGER _100_forbid_update_delete;

--
-- Name: doctors _100_set_updated_at; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON legacy_app.doctors FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: offices _100_set_updated_at; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON legacy_app.offices FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: orders _100_set_updated_at; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON legacy_app.orders FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: patients _100_set_updated_at; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON legacy_app.patients FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: products _100_set_updated_at; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON legacy_app.products FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: profiles _100_set_updated_at; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON legacy_app.profiles FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: doctors _800_target_checksums_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON legacy_app.doctors REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_doctors');

ALTER TABLE legacy_app.doctors ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: offices _800_target_checksums_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON legacy_app.offices REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_offices');

ALTER TABLE legacy_app.offices ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: orders _800_target_checksums_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON legacy_app.orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_orders');

ALTER TABLE legacy_app.orders ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: patients _800_target_checksums_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON legacy_app.patients REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_patients');

ALTER TABLE legacy_app.patients ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: products _800_target_checksums_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON legacy_app.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_products');

ALTER TABLE legacy_app.products ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: profiles _800_target_checksums_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON legacy_app.profiles REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_profiles');

ALTER TABLE legacy_app.profiles ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: doctors _800_target_checksums_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON legacy_app.doctors REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_doctors');

ALTER TABLE legacy_app.doctors ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: offices _800_target_checksums_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON legacy_app.offices REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_offices');

ALTER TABLE legacy_app.offices ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: orders _800_target_checksums_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON legacy_app.orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_orders');

ALTER TABLE legacy_app.orders ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: patients _800_target_checksums_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON legacy_app.patients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_patients');

ALTER TABLE legacy_app.patients ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: products _800_target_checksums_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON legacy_app.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_products');

ALTER TABLE legacy_app.products ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: profiles _800_target_checksums_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON legacy_app.profiles REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_profiles');

ALTER TABLE legacy_app.profiles ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: doctors _800_target_checksums_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON legacy_app.doctors FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_doctors');

ALTER TABLE legacy_app.doctors ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: offices _800_target_checksums_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON legacy_app.offices FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_offices');

ALTER TABLE legacy_app.offices ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: orders _800_target_checksums_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON legacy_app.orders FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_orders');

ALTER TABLE legacy_app.orders ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: patients _800_target_checksums_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON legacy_app.patients FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_patients');

ALTER TABLE legacy_app.patients ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: products _800_target_checksums_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON legacy_app.products FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_products');

ALTER TABLE legacy_app.products ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: profiles _800_target_checksums_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON legacy_app.profiles FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_profiles');

ALTER TABLE legacy_app.profiles ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: doctors _800_target_checksums_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON legacy_app.doctors REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_doctors');

ALTER TABLE legacy_app.doctors ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: offices _800_target_checksums_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON legacy_app.offices REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_offices');

ALTER TABLE legacy_app.offices ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: orders _800_target_checksums_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON legacy_app.orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_orders');

ALTER TABLE legacy_app.orders ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: patients _800_target_checksums_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON legacy_app.patients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_patients');

ALTER TABLE legacy_app.patients ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: products _800_target_checksums_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON legacy_app.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_products');

ALTER TABLE legacy_app.products ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: profiles _800_target_checksums_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON legacy_app.profiles REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('legacy_profiles');

ALTER TABLE legacy_app.profiles ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: doctors _900_audit_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON legacy_app.doctors REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: offices _900_audit_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON legacy_app.offices REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: orders _900_audit_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON legacy_app.orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: patients _900_audit_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON legacy_app.patients REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: products _900_audit_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON legacy_app.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: profiles _900_audit_delete; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON legacy_app.profiles REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: doctors _900_audit_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON legacy_app.doctors REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: offices _900_audit_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON legacy_app.offices REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: orders _900_audit_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON legacy_app.orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: patients _900_audit_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON legacy_app.patients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: products _900_audit_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON legacy_app.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: profiles _900_audit_insert; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON legacy_app.profiles REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: doctors _900_audit_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON legacy_app.doctors FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: offices _900_audit_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON legacy_app.offices FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: orders _900_audit_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON legacy_app.orders FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: patients _900_audit_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON legacy_app.patients FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: products _900_audit_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON legacy_app.products FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: profiles _900_audit_truncate; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON legacy_app.profiles FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: doctors _900_audit_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON legacy_app.doctors REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: offices _900_audit_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON legacy_app.offices REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: orders _900_audit_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON legacy_app.orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: patients _900_audit_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON legacy_app.patients REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: products _900_audit_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON legacy_app.products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: profiles _900_audit_update; Type: TRIGGER; Schema: legacy_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON legacy_app.profiles REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: ai_providers _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.ai_providers FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: api_configurations _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.api_configurations FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: data_source_mappings _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.data_source_mappings FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: field_configurations _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.field_configurations FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: organization_configs _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.organization_configs FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: organizations _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.organizations FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: pfa_records _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.pfa_records FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: user_organizations _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.user_organizations FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: users _100_set_updated_at; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON pfa_app.users FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: ai_providers _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.ai_providers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_ai_providers');

ALTER TABLE pfa_app.ai_providers ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: api_configurations _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.api_configurations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_api_configurations');

ALTER TABLE pfa_app.api_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: data_source_mappings _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.data_source_mappings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_data_source_mappings');

ALTER TABLE pfa_app.data_source_mappings ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: field_configurations _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.field_configurations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_field_configurations');

ALTER TABLE pfa_app.field_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: organization_configs _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.organization_configs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organization_configs');

ALTER TABLE pfa_app.organization_configs ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: organizations _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.organizations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organizations');

ALTER TABLE pfa_app.organizations ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: pfa_records _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.pfa_records REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_records');

ALTER TABLE pfa_app.pfa_records ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: user_organizations _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.user_organizations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_user_organizations');

ALTER TABLE pfa_app.user_organizations ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: users _800_target_checksums_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON pfa_app.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_users');

ALTER TABLE pfa_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: ai_providers _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.ai_providers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_ai_providers');

ALTER TABLE pfa_app.ai_providers ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: api_configurations _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.api_configurations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_api_configurations');

ALTER TABLE pfa_app.api_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: data_source_mappings _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.data_source_mappings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_data_source_mappings');

ALTER TABLE pfa_app.data_source_mappings ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: field_configurations _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.field_configurations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_field_configurations');

ALTER TABLE pfa_app.field_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: organization_configs _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.organization_configs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organization_configs');

ALTER TABLE pfa_app.organization_configs ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: organizations _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organizations');

ALTER TABLE pfa_app.organizations ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: pfa_records _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.pfa_records REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_records');

ALTER TABLE pfa_app.pfa_records ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: user_organizations _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.user_organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_user_organizations');

ALTER TABLE pfa_app.user_organizations ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: users _800_target_checksums_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON pfa_app.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_users');

ALTER TABLE pfa_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: ai_providers _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.ai_providers FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_ai_providers');

ALTER TABLE pfa_app.ai_providers ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: api_configurations _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.api_configurations FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_api_configurations');

ALTER TABLE pfa_app.api_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: data_source_mappings _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.data_source_mappings FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_data_source_mappings');

ALTER TABLE pfa_app.data_source_mappings ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: field_configurations _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.field_configurations FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_field_configurations');

ALTER TABLE pfa_app.field_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: organization_configs _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.organization_configs FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organization_configs');

ALTER TABLE pfa_app.organization_configs ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: organizations _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.organizations FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organizations');

ALTER TABLE pfa_app.organizations ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: pfa_records _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.pfa_records FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_records');

ALTER TABLE pfa_app.pfa_records ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: user_organizations _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.user_organizations FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_user_organizations');

ALTER TABLE pfa_app.user_organizations ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: users _800_target_checksums_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON pfa_app.users FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_users');

ALTER TABLE pfa_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: ai_providers _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.ai_providers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_ai_providers');

ALTER TABLE pfa_app.ai_providers ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: api_configurations _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.api_configurations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_api_configurations');

ALTER TABLE pfa_app.api_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: data_source_mappings _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.data_source_mappings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_data_source_mappings');

ALTER TABLE pfa_app.data_source_mappings ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: field_configurations _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.field_configurations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_field_configurations');

ALTER TABLE pfa_app.field_configurations ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: organization_configs _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.organization_configs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organization_configs');

ALTER TABLE pfa_app.organization_configs ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: organizations _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_organizations');

ALTER TABLE pfa_app.organizations ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: pfa_records _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.pfa_records REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_records');

ALTER TABLE pfa_app.pfa_records ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: user_organizations _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.user_organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_user_organizations');

ALTER TABLE pfa_app.user_organizations ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: users _800_target_checksums_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON pfa_app.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('pfa_users');

ALTER TABLE pfa_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: ai_providers _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.ai_providers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: api_configurations _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.api_configurations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: data_source_mappings _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.data_source_mappings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: field_configurations _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.field_configurations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: organization_configs _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.organization_configs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: organizations _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.organizations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: pfa_records _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.pfa_records REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: user_organizations _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.user_organizations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: users _900_audit_delete; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON pfa_app.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: ai_providers _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.ai_providers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: api_configurations _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.api_configurations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: data_source_mappings _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.data_source_mappings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: field_configurations _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.field_configurations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: organization_configs _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.organization_configs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: organizations _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: pfa_records _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.pfa_records REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: user_organizations _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.user_organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: users _900_audit_insert; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON pfa_app.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: ai_providers _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.ai_providers FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: api_configurations _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.api_configurations FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: data_source_mappings _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.data_source_mappings FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: field_configurations _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.field_configurations FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: organization_configs _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.organization_configs FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: organizations _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.organizations FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: pfa_records _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.pfa_records FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: user_organizations _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.user_organizations FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: users _900_audit_truncate; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON pfa_app.users FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: ai_providers _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.ai_providers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: api_configurations _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.api_configurations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: data_source_mappings _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.data_source_mappings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: field_configurations _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.field_configurations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: organization_configs _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.organization_configs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: organizations _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.organizations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: pfa_records _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.pfa_records REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: user_organizations _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.user_organizations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: users _900_audit_update; Type: TRIGGER; Schema: pfa_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON pfa_app.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: checkpoints _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.checkpoints FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: conflict_policies _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.conflict_policies FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: conflicts _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.conflicts FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: data_differentials _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.data_differentials FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: field_problems _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.field_problems FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: id_map _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.id_map FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: jobs _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.jobs FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: outbox _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.outbox FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: record_errors _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.record_errors FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: runs _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.runs FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: validation_rules _100_set_updated_at; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON sync.validation_rules FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: record_errors _150_keep_rejections_open; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _150_keep_rejections_open BEFORE UPDATE ON sync.record_errors FOR EACH ROW WHEN ((old.rejected_before_staging AND (old.resolved_at IS NULL) AND (new.resolved_at IS NOT NULL))) EXECUTE FUNCTION sync.tg_record_errors__keep_rejections_open();

--
-- Name: checkpoints _200_enforce_status_transition; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _200_enforce_status_transition BEFORE INSERT OR UPDATE OF status ON sync.checkpoints FOR EACH ROW EXECUTE FUNCTION sync.tg__enforce_status_transition();

--
-- Name: jobs _200_enforce_status_transition; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _200_enforce_status_transition BEFORE INSERT OR UPDATE OF status ON sync.jobs FOR EACH ROW EXECUTE FUNCTION sync.tg__enforce_status_transition();

--
-- Name: runs _200_enforce_status_transition; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _200_enforce_status_transition BEFORE INSERT OR UPDATE OF status ON sync.runs FOR EACH ROW EXECUTE FUNCTION sync.tg__enforce_status_transition();

--
-- Name: attachment_downloads _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.attachment_downloads REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('attachment_key');

--
-- Name: checkpoints _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.checkpoints REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: conflict_policies _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.conflict_policies REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: conflicts _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.conflicts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: data_differentials _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.data_differentials REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: entity_mappings _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.entity_mappings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('entity');

--
-- Name: field_problems _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.field_problems REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: id_map _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.id_map REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: jobs _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: record_errors _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.record_errors REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: runs _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.runs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: snapshots _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.snapshots REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: stored_files _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.stored_files REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('sha256');

--
-- Name: validation_reports _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.validation_reports REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: validation_rules _900_audit_delete; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON sync.validation_rules REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('rule_id');

--
-- Name: attachment_downloads _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.attachment_downloads REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('attachment_key');

--
-- Name: checkpoints _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.checkpoints REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: conflict_policies _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.conflict_policies REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: conflicts _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.conflicts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: data_differentials _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.data_differentials REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: entity_mappings _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.entity_mappings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('entity');

--
-- Name: field_problems _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.field_problems REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: id_map _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.id_map REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: jobs _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: record_errors _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.record_errors REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: runs _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.runs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: snapshots _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.snapshots REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: stored_files _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.stored_files REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('sha256');

--
-- Name: validation_reports _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.validation_reports REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: validation_rules _900_audit_insert; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON sync.validation_rules REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('rule_id');

--
-- Name: attachment_downloads _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.attachment_downloads FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: checkpoints _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: conflict_policies _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.conflict_policies FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: conflicts _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.conflicts FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: data_differentials _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.data_differentials FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: entity_mappings _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.entity_mappings FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: field_problems _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.field_problems FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: id_map _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.id_map FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: jobs _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.jobs FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: record_errors _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.record_errors FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: runs _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.runs FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: snapshots _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.snapshots FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: stored_files _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.stored_files FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: validation_reports _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.validation_reports FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: validation_rules _900_audit_truncate; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON sync.validation_rules FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: attachment_downloads _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.attachment_downloads REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('attachment_key');

--
-- Name: checkpoints _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.checkpoints REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: conflict_policies _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.conflict_policies REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: conflicts _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.conflicts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: data_differentials _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.data_differentials REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: entity_mappings _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.entity_mappings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('entity');

--
-- Name: field_problems _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.field_problems REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: id_map _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.id_map REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: jobs _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: record_errors _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.record_errors REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: runs _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.runs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: snapshots _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.snapshots REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: stored_files _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.stored_files REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('sha256');

--
-- Name: validation_reports _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.validation_reports REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: validation_rules _900_audit_update; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON sync.validation_rules REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('rule_id');

--
-- Name: entity_mappings adopt_source_keys_on_mapping; Type: TRIGGER; Schema: sync; Owner: -
--

CREATE TRIGGER adopt_source_keys_on_mapping AFTER INSERT ON sync.entity_mappings FOR EACH ROW EXECUTE FUNCTION sync.tg__adopt_source_keys_on_mapping();

--
-- Name: TRIGGER adopt_source_keys_on_mapping ON entity_mappings; Type: COMMENT; Schema: sync; Owner: -
--

COMMENT ON TRIGGER adopt_source_keys_on_mapping ON sync.entity_mappings IS 'Enters in the id map the rows an entity''s table held before its mapping was loaded.';

--
-- Name: admin_actions _100_set_updated_at; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON wallet_app.admin_actions FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: kyc_documents _100_set_updated_at; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON wallet_app.kyc_documents FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: opportunities _100_set_updated_at; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON wallet_app.opportunities FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: users _100_set_updated_at; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON wallet_app.users FOR EACH ROW EXECUTE FUNCTION app.tg__set_updated_at();

--
-- Name: admin_actions _800_target_checksums_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON wallet_app.admin_actions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_admin_actions');

ALTER TABLE wallet_app.admin_actions ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: kyc_documents _800_target_checksums_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON wallet_app.kyc_documents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_kyc_documents');

ALTER TABLE wallet_app.kyc_documents ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: opportunities _800_target_checksums_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON wallet_app.opportunities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_opportunities');

ALTER TABLE wallet_app.opportunities ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: users _800_target_checksums_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_delete AFTER DELETE ON wallet_app.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_users');

ALTER TABLE wallet_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_delete;

--
-- Name: admin_actions _800_target_checksums_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON wallet_app.admin_actions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_admin_actions');

ALTER TABLE wallet_app.admin_actions ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: kyc_documents _800_target_checksums_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON wallet_app.kyc_documents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_kyc_documents');

ALTER TABLE wallet_app.kyc_documents ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: opportunities _800_target_checksums_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON wallet_app.opportunities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_opportunities');

ALTER TABLE wallet_app.opportunities ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: users _800_target_checksums_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_insert AFTER INSERT ON wallet_app.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_users');

ALTER TABLE wallet_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_insert;

--
-- Name: admin_actions _800_target_checksums_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON wallet_app.admin_actions FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_admin_actions');

ALTER TABLE wallet_app.admin_actions ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: kyc_documents _800_target_checksums_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON wallet_app.kyc_documents FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_kyc_documents');

ALTER TABLE wallet_app.kyc_documents ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: opportunities _800_target_checksums_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON wallet_app.opportunities FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_opportunities');

ALTER TABLE wallet_app.opportunities ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: users _800_target_checksums_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_truncate AFTER TRUNCATE ON wallet_app.users FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_users');

ALTER TABLE wallet_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_truncate;

--
-- Name: admin_actions _800_target_checksums_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON wallet_app.admin_actions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_admin_actions');

ALTER TABLE wallet_app.admin_actions ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: kyc_documents _800_target_checksums_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON wallet_app.kyc_documents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_kyc_documents');

ALTER TABLE wallet_app.kyc_documents ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: opportunities _800_target_checksums_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON wallet_app.opportunities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_opportunities');

ALTER TABLE wallet_app.opportunities ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: users _800_target_checksums_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _800_target_checksums_update AFTER UPDATE ON wallet_app.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.tg__maintain_target_checksums('wallet_users');

ALTER TABLE wallet_app.users ENABLE ALWAYS TRIGGER _800_target_checksums_update;

--
-- Name: admin_actions _900_audit_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON wallet_app.admin_actions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: kyc_documents _900_audit_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON wallet_app.kyc_documents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: opportunities _900_audit_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON wallet_app.opportunities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: users _900_audit_delete; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_delete AFTER DELETE ON wallet_app.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_delete('id');

--
-- Name: admin_actions _900_audit_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON wallet_app.admin_actions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: kyc_documents _900_audit_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON wallet_app.kyc_documents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: opportunities _900_audit_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON wallet_app.opportunities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: users _900_audit_insert; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_insert AFTER INSERT ON wallet_app.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_insert('id');

--
-- Name: admin_actions _900_audit_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON wallet_app.admin_actions FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: kyc_documents _900_audit_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON wallet_app.kyc_documents FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: opportunities _900_audit_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON wallet_app.opportunities FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: users _900_audit_truncate; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_truncate AFTER TRUNCATE ON wallet_app.users FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_truncate();

--
-- Name: admin_actions _900_audit_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON wallet_app.admin_actions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: kyc_documents _900_audit_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON wallet_app.kyc_documents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: opportunities _900_audit_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON wallet_app.opportunities REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: users _900_audit_update; Type: TRIGGER; Schema: wallet_app; Owner: -
--

CREATE TRIGGER _900_audit_update AFTER UPDATE ON wallet_app.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.tg__log_update('id');

--
-- Name: attachments attachments_product_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.attachments
    ADD CONSTRAINT attachments_product_id_fkey FOREIGN KEY (product_id) REFERENCES app.products(id) ON DELETE CASCADE;

--
-- Name: attachments attachments_registration_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.attachments
    ADD CONSTRAINT attachments_registration_id_fkey FOREIGN KEY (registration_id) REFERENCES app.registrations(id) ON DELETE CASCADE;

--
-- Name: attachments attachments_sha256_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.attachments
    ADD CONSTRAINT attachments_sha256_fkey FOREIGN KEY (sha256) REFERENCES sync.stored_files(sha256) ON DELETE RESTRICT;

--
-- Name: clients clients_account_manager_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.clients
    ADD CONSTRAINT clients_account_manager_id_fkey FOREIGN KEY (account_manager_id) REFERENCES app.collaborators(id) ON DELETE SET NULL;

--
-- Name: products products_client_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.products
    ADD CONSTRAINT products_client_id_fkey FOREIGN KEY (client_id) REFERENCES app.clients(id) ON DELETE RESTRICT;

--
-- Name: registrations registrations_assigned_to_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.registrations
    ADD CONSTRAINT registrations_assigned_to_id_fkey FOREIGN KEY (assigned_to_id) REFERENCES app.collaborators(id) ON DELETE SET NULL;

--
-- Name: registrations registrations_client_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.registrations
    ADD CONSTRAINT registrations_client_id_fkey FOREIGN KEY (client_id) REFERENCES app.clients(id) ON DELETE RESTRICT;

--
-- Name: registrations registrations_product_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.registrations
    ADD CONSTRAINT registrations_product_id_fkey FOREIGN KEY (product_id) REFERENCES app.products(id) ON DELETE RESTRICT;

--
-- Name: registrations registrations_state_regulator_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.registrations
    ADD CONSTRAINT registrations_state_regulator_id_fkey FOREIGN KEY (state_regulator_id) REFERENCES app.state_regulators(id) ON DELETE RESTRICT;

--
-- Name: doctors doctors_office_id_fkey; Type: FK CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.doctors
    ADD CONSTRAINT doctors_office_id_fkey FOREIGN KEY (office_id) REFERENCES legacy_app.offices(id) ON DELETE SET NULL;

--
-- Name: doctors doctors_profile_id_fkey; Type: FK CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.doctors
    ADD CONSTRAINT doctors_profile_id_fkey FOREIGN KEY (profile_id) REFERENCES legacy_app.profiles(id) ON DELETE SET NULL;

--
-- Name: orders orders_doctor_id_fkey; Type: FK CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.orders
    ADD CONSTRAINT orders_doctor_id_fkey FOREIGN KEY (doctor_id) REFERENCES legacy_app.doctors(id) ON DELETE SET NULL;

--
-- Name: orders orders_patient_id_fkey; Type: FK CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.orders
    ADD CONSTRAINT orders_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES legacy_app.patients(id) ON DELETE CASCADE;

--
-- Name: orders orders_product_id_fkey; Type: FK CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.orders
    ADD CONSTRAINT orders_product_id_fkey FOREIGN KEY (product_id) REFERENCES legacy_app.products(id) ON DELETE RESTRICT;

--
-- Name: patients patients_primary_doctor_id_fkey; Type: FK CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.patients
    ADD CONSTRAINT patients_primary_doctor_id_fkey FOREIGN KEY (primary_doctor_id) REFERENCES legacy_app.doctors(id) ON DELETE SET NULL;

--
-- Name: patients patients_profile_id_fkey; Type: FK CONSTRAINT; Schema: legacy_app; Owner: -
--

ALTER TABLE ONLY legacy_app.patients
    ADD CONSTRAINT patients_profile_id_fkey FOREIGN KEY (profile_id) REFERENCES legacy_app.profiles(id) ON DELETE SET NULL;

--
-- Name: api_configurations api_configurations_ai_provider_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.api_configurations
    ADD CONSTRAINT api_configurations_ai_provider_id_fkey FOREIGN KEY (ai_provider_id) REFERENCES pfa_app.ai_providers(id) ON DELETE RESTRICT;

--
-- Name: api_configurations api_configurations_organization_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.api_configurations
    ADD CONSTRAINT api_configurations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES pfa_app.organizations(id) ON DELETE CASCADE;

--
-- Name: data_source_mappings data_source_mappings_api_configuration_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.data_source_mappings
    ADD CONSTRAINT data_source_mappings_api_configuration_id_fkey FOREIGN KEY (api_configuration_id) REFERENCES pfa_app.api_configurations(id) ON DELETE SET NULL;

--
-- Name: data_source_mappings data_source_mappings_organization_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.data_source_mappings
    ADD CONSTRAINT data_source_mappings_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES pfa_app.organizations(id) ON DELETE CASCADE;

--
-- Name: field_configurations field_configurations_data_source_mapping_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.field_configurations
    ADD CONSTRAINT field_configurations_data_source_mapping_id_fkey FOREIGN KEY (data_source_mapping_id) REFERENCES pfa_app.data_source_mappings(id) ON DELETE CASCADE;

--
-- Name: organization_configs organization_configs_default_ai_provider_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.organization_configs
    ADD CONSTRAINT organization_configs_default_ai_provider_id_fkey FOREIGN KEY (default_ai_provider_id) REFERENCES pfa_app.ai_providers(id) ON DELETE SET NULL;

--
-- Name: organization_configs organization_configs_organization_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.organization_configs
    ADD CONSTRAINT organization_configs_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES pfa_app.organizations(id) ON DELETE CASCADE;

--
-- Name: pfa_records pfa_records_created_by_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.pfa_records
    ADD CONSTRAINT pfa_records_created_by_id_fkey FOREIGN KEY (created_by_id) REFERENCES pfa_app.users(id) ON DELETE SET NULL;

--
-- Name: pfa_records pfa_records_data_source_mapping_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.pfa_records
    ADD CONSTRAINT pfa_records_data_source_mapping_id_fkey FOREIGN KEY (data_source_mapping_id) REFERENCES pfa_app.data_source_mappings(id) ON DELETE SET NULL;

--
-- Name: pfa_records pfa_records_organization_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.pfa_records
    ADD CONSTRAINT pfa_records_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES pfa_app.organizations(id) ON DELETE CASCADE;

--
-- Name: user_organizations user_organizations_organization_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.user_organizations
    ADD CONSTRAINT user_organizations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES pfa_app.organizations(id) ON DELETE CASCADE;

--
-- Name: user_organizations user_organizations_user_id_fkey; Type: FK CONSTRAINT; Schema: pfa_app; Owner: -
--

ALTER TABLE ONLY pfa_app.user_organizations
    ADD CONSTRAINT user_organizations_user_id_fkey FOREIGN KEY (user_id) REFERENCES pfa_app.users(id) ON DELETE CASCADE;

--
-- Name: source_records source_records_run_id_fkey; Type: FK CONSTRAINT; Schema: staging; Owner: -
--

ALTER TABLE ONLY staging.source_records
    ADD CONSTRAINT source_records_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: attachment_downloads attachment_downloads_first_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.attachment_downloads
    ADD CONSTRAINT attachment_downloads_first_run_id_fkey FOREIGN KEY (first_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: attachment_downloads attachment_downloads_last_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.attachment_downloads
    ADD CONSTRAINT attachment_downloads_last_run_id_fkey FOREIGN KEY (last_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: attachment_downloads attachment_downloads_sha256_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.attachment_downloads
    ADD CONSTRAINT attachment_downloads_sha256_fkey FOREIGN KEY (sha256) REFERENCES sync.stored_files(sha256) ON DELETE CASCADE;

--
-- Name: attachment_outbox attachment_outbox_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.attachment_outbox
    ADD CONSTRAINT attachment_outbox_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: attachment_outbox attachment_outbox_pushed_by_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.attachment_outbox
    ADD CONSTRAINT attachment_outbox_pushed_by_run_id_fkey FOREIGN KEY (pushed_by_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: checkpoints checkpoints_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.checkpoints
    ADD CONSTRAINT checkpoints_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE CASCADE;

--
-- Name: conflict_policies conflict_policies_entity_column_name_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflict_policies
    ADD CONSTRAINT conflict_policies_entity_column_name_fkey FOREIGN KEY (entity, column_name) REFERENCES sync.entity_columns(entity, column_name) ON DELETE CASCADE;

--
-- Name: conflict_policies conflict_policies_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflict_policies
    ADD CONSTRAINT conflict_policies_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: conflicts conflicts_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflicts
    ADD CONSTRAINT conflicts_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: conflicts conflicts_outbox_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflicts
    ADD CONSTRAINT conflicts_outbox_id_fkey FOREIGN KEY (outbox_id) REFERENCES sync.outbox(id) ON DELETE SET NULL;

--
-- Name: conflicts conflicts_resolved_by_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflicts
    ADD CONSTRAINT conflicts_resolved_by_run_id_fkey FOREIGN KEY (resolved_by_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: conflicts conflicts_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.conflicts
    ADD CONSTRAINT conflicts_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: data_differentials data_differentials_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.data_differentials
    ADD CONSTRAINT data_differentials_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE CASCADE;

--
-- Name: entity_columns entity_columns_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.entity_columns
    ADD CONSTRAINT entity_columns_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: entity_columns entity_columns_linked_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.entity_columns
    ADD CONSTRAINT entity_columns_linked_entity_fkey FOREIGN KEY (linked_entity) REFERENCES sync.entities(entity) ON DELETE RESTRICT;

--
-- Name: entity_mappings entity_mappings_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.entity_mappings
    ADD CONSTRAINT entity_mappings_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: field_problems field_problems_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.field_problems
    ADD CONSTRAINT field_problems_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: field_problems field_problems_resolved_by_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.field_problems
    ADD CONSTRAINT field_problems_resolved_by_run_id_fkey FOREIGN KEY (resolved_by_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: field_problems field_problems_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.field_problems
    ADD CONSTRAINT field_problems_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: id_map id_map_migration_batch_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.id_map
    ADD CONSTRAINT id_map_migration_batch_fkey FOREIGN KEY (migration_batch) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: outbox outbox_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.outbox
    ADD CONSTRAINT outbox_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: outbox outbox_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.outbox
    ADD CONSTRAINT outbox_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: record_errors record_errors_resolved_by_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.record_errors
    ADD CONSTRAINT record_errors_resolved_by_run_id_fkey FOREIGN KEY (resolved_by_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: record_errors record_errors_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.record_errors
    ADD CONSTRAINT record_errors_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE CASCADE;

--
-- Name: runs runs_job_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.runs
    ADD CONSTRAINT runs_job_id_fkey FOREIGN KEY (job_id) REFERENCES sync.jobs(id) ON DELETE SET NULL;

--
-- Name: snapshots snapshots_restored_by_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.snapshots
    ADD CONSTRAINT snapshots_restored_by_run_id_fkey FOREIGN KEY (restored_by_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: snapshots snapshots_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.snapshots
    ADD CONSTRAINT snapshots_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: stored_files stored_files_stored_by_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.stored_files
    ADD CONSTRAINT stored_files_stored_by_run_id_fkey FOREIGN KEY (stored_by_run_id) REFERENCES sync.runs(id) ON DELETE SET NULL;

--
-- Name: target_checksums target_checksums_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.target_checksums
    ADD CONSTRAINT target_checksums_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: validation_reports validation_reports_run_id_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.validation_reports
    ADD CONSTRAINT validation_reports_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync.runs(id) ON DELETE CASCADE;

--
-- Name: validation_rules validation_rules_entity_column_name_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.validation_rules
    ADD CONSTRAINT validation_rules_entity_column_name_fkey FOREIGN KEY (entity, column_name) REFERENCES sync.entity_columns(entity, column_name) ON DELETE CASCADE;

--
-- Name: validation_rules validation_rules_entity_fkey; Type: FK CONSTRAINT; Schema: sync; Owner: -
--

ALTER TABLE ONLY sync.validation_rules
    ADD CONSTRAINT validation_rules_entity_fkey FOREIGN KEY (entity) REFERENCES sync.entities(entity) ON DELETE CASCADE;

--
-- Name: admin_actions admin_actions_admin_id_fkey; Type: FK CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.admin_actions
    ADD CONSTRAINT admin_actions_admin_id_fkey FOREIGN KEY (admin_id) REFERENCES wallet_app.users(id) ON DELETE SET NULL;

--
-- Name: admin_actions admin_actions_target_user_id_fkey; Type: FK CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.admin_actions
    ADD CONSTRAINT admin_actions_target_user_id_fkey FOREIGN KEY (target_user_id) REFERENCES wallet_app.users(id) ON DELETE SET NULL;

--
-- Name: kyc_documents kyc_documents_user_id_fkey; Type: FK CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.kyc_documents
    ADD CONSTRAINT kyc_documents_user_id_fkey FOREIGN KEY (user_id) REFERENCES wallet_app.users(id) ON DELETE SET NULL;

--
-- Name: opportunities opportunities_owner_id_fkey; Type: FK CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.opportunities
    ADD CONSTRAINT opportunities_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES wallet_app.users(id) ON DELETE SET NULL;

--
-- Name: users users_referrer_id_fkey; Type: FK CONSTRAINT; Schema: wallet_app; Owner: -
--

ALTER TABLE ONLY wallet_app.users
    ADD CONSTRAINT users_referrer_id_fkey FOREIGN KEY (referrer_id) REFERENCES wallet_app.users(id) ON DELETE SET NULL;

--
-- Name: SCHEMA app; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA app TO airlift_app;
GRANT USAGE ON SCHEMA app TO airlift_readonly;
GRANT USAGE ON SCHEMA app TO airlift_sync;

--
-- Name: SCHEMA audit; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA audit TO airlift_auditor;

--
-- Name: SCHEMA legacy_app; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA legacy_app TO airlift_app;
GRANT USAGE ON SCHEMA legacy_app TO airlift_readonly;
GRANT USAGE ON SCHEMA legacy_app TO airlift_sync;

--
-- Name: SCHEMA pfa_app; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA pfa_app TO airlift_app;
GRANT USAGE ON SCHEMA pfa_app TO airlift_readonly;
GRANT USAGE ON SCHEMA pfa_app TO airlift_sync;

--
-- Name: SCHEMA report; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA report TO airlift_app;
GRANT USAGE ON SCHEMA report TO airlift_readonly;
GRANT USAGE ON SCHEMA report TO airlift_sync;

--
-- Name: SCHEMA staging; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA staging TO airlift_sync;

--
-- Name: SCHEMA sync; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA sync TO airlift_sync;
GRANT USAGE ON SCHEMA sync TO airlift_auditor;

--
-- Name: SCHEMA wallet_app; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA wallet_app TO airlift_app;
GRANT USAGE ON SCHEMA wallet_app TO airlift_readonly;
GRANT USAGE ON SCHEMA wallet_app TO airlift_sync;

--
-- Name: FUNCTION tg__set_updated_at(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.tg__set_updated_at() FROM PUBLIC;

--
-- Name: FUNCTION acting_role(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.acting_role() FROM PUBLIC;

--
-- Name: FUNCTION current_actor(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.current_actor() FROM PUBLIC;

--
-- Name: FUNCTION current_run_id(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.current_run_id() FROM PUBLIC;

--
-- Name: FUNCTION enable_for(target regclass, key_column text); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.enable_for(target regclass, key_column text) FROM PUBLIC;

--
-- Name: FUNCTION generated_columns(relation oid); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.generated_columns(relation oid) FROM PUBLIC;

--
-- Name: FUNCTION tg__log_delete(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg__log_delete() FROM PUBLIC;

--
-- Name: FUNCTION tg__log_insert(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg__log_insert() FROM PUBLIC;

--
-- Name: FUNCTION tg__log_truncate(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg__log_truncate() FROM PUBLIC;

--
-- Name: FUNCTION tg__log_update(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg__log_update() FROM PUBLIC;

--
-- Name: FUNCTION tg_changes__forbid_modification(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg_changes__forbid_modification() FROM PUBLIC;

--
-- Name: FUNCTION refresh_materialized_views(); Type: ACL; Schema: report; Owner: -
--

REVOKE ALL ON FUNCTION report.refresh_materialized_views() FROM PUBLIC;
GRANT ALL ON FUNCTION report.refresh_materialized_views() TO airlift_sync;

--
-- Name: FUNCTION adopt_source_keys(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.adopt_source_keys(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.adopt_source_keys(p_entity text) TO airlift_sync;

--
-- Name: TABLE checkpoints; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.checkpoints TO airlift_sync;
GRANT SELECT ON TABLE sync.checkpoints TO airlift_auditor;

--
-- Name: FUNCTION advance_checkpoint(p_checkpoint_id uuid, p_last_processed_id text, p_records_added bigint, p_records_total bigint, p_metadata jsonb, p_complete boolean); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.advance_checkpoint(p_checkpoint_id uuid, p_last_processed_id text, p_records_added bigint, p_records_total bigint, p_metadata jsonb, p_complete boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.advance_checkpoint(p_checkpoint_id uuid, p_last_processed_id text, p_records_added bigint, p_records_total bigint, p_metadata jsonb, p_complete boolean) TO airlift_sync;

--
-- Name: FUNCTION airtable_fields(p_entity text, p_row_ids uuid[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.airtable_fields(p_entity text, p_row_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.airtable_fields(p_entity text, p_row_ids uuid[]) TO airlift_sync;

--
-- Name: FUNCTION analyze_if_stale(p_table regclass); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.analyze_if_stale(p_table regclass) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.analyze_if_stale(p_table regclass) TO airlift_sync;

--
-- Name: FUNCTION annotate_checkpoint(p_checkpoint_id uuid, p_metadata jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.annotate_checkpoint(p_checkpoint_id uuid, p_metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.annotate_checkpoint(p_checkpoint_id uuid, p_metadata jsonb) TO airlift_sync;

--
-- Name: TABLE runs; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.runs TO airlift_sync;
GRANT SELECT ON TABLE sync.runs TO airlift_auditor;

--
-- Name: FUNCTION annotate_run(p_run_id bigint, p_metadata jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.annotate_run(p_run_id bigint, p_metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.annotate_run(p_run_id bigint, p_metadata jsonb) TO airlift_sync;

--
-- Name: FUNCTION apply_airtable_cells(p_run_id bigint, p_entity text, p_cells jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.apply_airtable_cells(p_run_id bigint, p_entity text, p_cells jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.apply_airtable_cells(p_run_id bigint, p_entity text, p_cells jsonb) TO airlift_sync;

--
-- Name: FUNCTION attach_file(p_entity text, p_row_id uuid, p_field_name text, p_filename text, p_sha256 text, p_content_type text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.attach_file(p_entity text, p_row_id uuid, p_field_name text, p_filename text, p_sha256 text, p_content_type text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.attach_file(p_entity text, p_row_id uuid, p_field_name text, p_filename text, p_sha256 text, p_content_type text) TO airlift_sync;

--
-- Name: FUNCTION attach_target_triggers(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.attach_target_triggers(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.attach_target_triggers(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION attachment_differentials(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.attachment_differentials(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.attachment_differentials(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION attachment_file_problems(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.attachment_file_problems() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.attachment_file_problems() TO airlift_sync;

--
-- Name: FUNCTION attachments_missing_files(p_source_id text, p_limit integer); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.attachments_missing_files(p_source_id text, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.attachments_missing_files(p_source_id text, p_limit integer) TO airlift_sync;

--
-- Name: FUNCTION cancel_run(p_run_id bigint, p_reason text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cancel_run(p_run_id bigint, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cancel_run(p_run_id bigint, p_reason text) TO airlift_sync;

--
-- Name: FUNCTION canonical_to_cell(p_value jsonb, p_conversion text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.canonical_to_cell(p_value jsonb, p_conversion text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.canonical_to_cell(p_value jsonb, p_conversion text) TO airlift_sync;

--
-- Name: FUNCTION cell_canonical(cell jsonb, conversion text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_canonical(cell jsonb, conversion text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_canonical(cell jsonb, conversion text) TO airlift_sync;

--
-- Name: FUNCTION cell_checkbox(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_checkbox(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_checkbox(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_date(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_date(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_date(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_first_link(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_first_link(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_first_link(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_integer(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_integer(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_integer(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_lookup_text(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_lookup_text(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_lookup_text(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_money(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_money(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_money(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_problem(cell jsonb, conversion text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_problem(cell jsonb, conversion text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_problem(cell jsonb, conversion text) TO airlift_sync;

--
-- Name: FUNCTION cell_text(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_text(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_text(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_text_array(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_text_array(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_text_array(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION cell_timestamp(cell jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.cell_timestamp(cell jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cell_timestamp(cell jsonb) TO airlift_sync;

--
-- Name: FUNCTION checksum(p_canonical jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.checksum(p_canonical jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.checksum(p_canonical jsonb) TO airlift_sync;

--
-- Name: FUNCTION checksum_term(p_checksum text, p_seed bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.checksum_term(p_checksum text, p_seed bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.checksum_term(p_checksum text, p_seed bigint) TO airlift_sync;

--
-- Name: FUNCTION claim_attachment_outbox(p_run_id bigint, p_limit integer); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.claim_attachment_outbox(p_run_id bigint, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.claim_attachment_outbox(p_run_id bigint, p_limit integer) TO airlift_sync;

--
-- Name: TABLE outbox; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.outbox TO airlift_sync;
GRANT SELECT ON TABLE sync.outbox TO airlift_auditor;

--
-- Name: FUNCTION claim_outbox(p_run_id bigint, p_entity text, p_operation text, p_limit integer); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.claim_outbox(p_run_id bigint, p_entity text, p_operation text, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.claim_outbox(p_run_id bigint, p_entity text, p_operation text, p_limit integer) TO airlift_sync;

--
-- Name: FUNCTION column_list(p_alias text, p_columns text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.column_list(p_alias text, p_columns text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.column_list(p_alias text, p_columns text[]) TO airlift_sync;

--
-- Name: FUNCTION compare_records(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.compare_records(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.compare_records(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION complete_checkpoint(p_checkpoint_id uuid, p_metadata jsonb, p_records_total bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.complete_checkpoint(p_checkpoint_id uuid, p_metadata jsonb, p_records_total bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.complete_checkpoint(p_checkpoint_id uuid, p_metadata jsonb, p_records_total bigint) TO airlift_sync;

--
-- Name: FUNCTION complete_run(p_run_id bigint, p_inserted bigint, p_updated bigint, p_deleted bigint, p_metadata jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.complete_run(p_run_id bigint, p_inserted bigint, p_updated bigint, p_deleted bigint, p_metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.complete_run(p_run_id bigint, p_inserted bigint, p_updated bigint, p_deleted bigint, p_metadata jsonb) TO airlift_sync;

--
-- Name: TABLE data_differentials; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.data_differentials TO airlift_sync;
GRANT SELECT ON TABLE sync.data_differentials TO airlift_auditor;

--
-- Name: FUNCTION compute_differentials(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.compute_differentials(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.compute_differentials(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text) TO airlift_sync;

--
-- Name: FUNCTION conflict_policy_for(p_entity text, p_column text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.conflict_policy_for(p_entity text, p_column text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.conflict_policy_for(p_entity text, p_column text) TO airlift_sync;

--
-- Name: FUNCTION converted_cells_sql(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.converted_cells_sql(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.converted_cells_sql(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION count_staged_records(p_run_id bigint, p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.count_staged_records(p_run_id bigint, p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.count_staged_records(p_run_id bigint, p_entity text) TO airlift_sync;

--
-- Name: TABLE snapshots; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.snapshots TO airlift_sync;
GRANT SELECT ON TABLE sync.snapshots TO airlift_auditor;

--
-- Name: FUNCTION drop_snapshot(p_snapshot_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.drop_snapshot(p_snapshot_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.drop_snapshot(p_snapshot_id bigint) TO airlift_sync;

--
-- Name: FUNCTION entity_checksums(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.entity_checksums(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.entity_checksums(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION entity_row_counts(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.entity_row_counts() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.entity_row_counts() TO airlift_sync;

--
-- Name: FUNCTION fail_run(p_run_id bigint, p_error text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.fail_run(p_run_id bigint, p_error text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.fail_run(p_run_id bigint, p_error text) TO airlift_sync;

--
-- Name: FUNCTION finish_attachment_push(p_run_id bigint, p_results jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.finish_attachment_push(p_run_id bigint, p_results jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.finish_attachment_push(p_run_id bigint, p_results jsonb) TO airlift_sync;

--
-- Name: FUNCTION finish_push_run(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.finish_push_run(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.finish_push_run(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION finish_run(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.finish_run(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.finish_run(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION finish_stage_only_run(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.finish_stage_only_run(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.finish_stage_only_run(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION forget_stored_files(p_sha256 text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.forget_stored_files(p_sha256 text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.forget_stored_files(p_sha256 text[]) TO airlift_sync;

--
-- Name: FUNCTION is_iso_date(value text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.is_iso_date(value text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.is_iso_date(value text) TO airlift_sync;

--
-- Name: FUNCTION is_iso_timestamp(value text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.is_iso_timestamp(value text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.is_iso_timestamp(value text) TO airlift_sync;

--
-- Name: FUNCTION is_sha256_hex(p_value text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.is_sha256_hex(p_value text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.is_sha256_hex(p_value text) TO airlift_sync;

--
-- Name: FUNCTION link_attachment_files(p_run_id bigint, p_source_id text, p_attachment_keys text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.link_attachment_files(p_run_id bigint, p_source_id text, p_attachment_keys text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.link_attachment_files(p_run_id bigint, p_source_id text, p_attachment_keys text[]) TO airlift_sync;

--
-- Name: FUNCTION lock_out_pulls(p_doing text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.lock_out_pulls(p_doing text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.lock_out_pulls(p_doing text) TO airlift_sync;

--
-- Name: FUNCTION mapped_columns(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.mapped_columns(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.mapped_columns(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION mark_outbox_failed(p_run_id bigint, p_failures jsonb, p_max_attempts integer); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.mark_outbox_failed(p_run_id bigint, p_failures jsonb, p_max_attempts integer) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.mark_outbox_failed(p_run_id bigint, p_failures jsonb, p_max_attempts integer) TO airlift_sync;

--
-- Name: FUNCTION mark_outbox_pushed(p_run_id bigint, p_results jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.mark_outbox_pushed(p_run_id bigint, p_results jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.mark_outbox_pushed(p_run_id bigint, p_results jsonb) TO airlift_sync;

--
-- Name: FUNCTION mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.mark_rejected_before_staging(p_run_id bigint, p_entity text, p_rejects jsonb) TO airlift_sync;

--
-- Name: FUNCTION matches_format(p_value text, p_format text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.matches_format(p_value text, p_format text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.matches_format(p_value text, p_format text) TO airlift_sync;

--
-- Name: FUNCTION merge_clients(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.merge_clients(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.merge_clients(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION merge_entity(p_run_id bigint, p_entity text, p_final boolean); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.merge_entity(p_run_id bigint, p_entity text, p_final boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.merge_entity(p_run_id bigint, p_entity text, p_final boolean) TO airlift_sync;

--
-- Name: FUNCTION merge_products(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.merge_products(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.merge_products(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION merge_registrations(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.merge_registrations(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.merge_registrations(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION merge_state_regulators(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.merge_state_regulators(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.merge_state_regulators(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION open_checkpoint(p_run_id bigint, p_operation text, p_entity text, p_batch_size integer, p_records_total bigint, p_metadata jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.open_checkpoint(p_run_id bigint, p_operation text, p_entity text, p_batch_size integer, p_records_total bigint, p_metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.open_checkpoint(p_run_id bigint, p_operation text, p_entity text, p_batch_size integer, p_records_total bigint, p_metadata jsonb) TO airlift_sync;

--
-- Name: FUNCTION open_copied_records(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.open_copied_records() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.open_copied_records() TO airlift_sync;

--
-- Name: FUNCTION open_run(p_run_type text, p_actor text, p_metadata jsonb, p_job_id uuid); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.open_run(p_run_type text, p_actor text, p_metadata jsonb, p_job_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.open_run(p_run_type text, p_actor text, p_metadata jsonb, p_job_id uuid) TO airlift_sync;

--
-- Name: FUNCTION outbox_retry_delay(p_attempts integer); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.outbox_retry_delay(p_attempts integer) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.outbox_retry_delay(p_attempts integer) TO airlift_sync;

--
-- Name: FUNCTION plan_key_ranges(p_source_table text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.plan_key_ranges(p_source_table text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.plan_key_ranges(p_source_table text, p_snapshot bigint, p_batch_size integer, p_estimate_from bigint) TO airlift_sync;

--
-- Name: FUNCTION plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb, p_remote_from_mirror text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb, p_remote_from_mirror text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.plan_push(p_run_id bigint, p_outbox_ids bigint[], p_remote jsonb, p_remote_modified jsonb, p_remote_from_mirror text[]) TO airlift_sync;

--
-- Name: FUNCTION primary_key_columns(p_table regclass); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.primary_key_columns(p_table regclass) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.primary_key_columns(p_table regclass) TO airlift_sync;

--
-- Name: FUNCTION push_columns(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.push_columns(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.push_columns(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION push_remote_marks(p_outbox_ids bigint[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.push_remote_marks(p_outbox_ids bigint[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.push_remote_marks(p_outbox_ids bigint[]) TO airlift_sync;

--
-- Name: FUNCTION push_rows_sql(p_entity text, p_rows text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.push_rows_sql(p_entity text, p_rows text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.push_rows_sql(p_entity text, p_rows text) TO airlift_sync;

--
-- Name: FUNCTION rebuild_target_checksums(p_entity text, p_row_ids uuid[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.rebuild_target_checksums(p_entity text, p_row_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.rebuild_target_checksums(p_entity text, p_row_ids uuid[]) TO airlift_sync;

--
-- Name: FUNCTION record_attachment_downloads(p_run_id bigint, p_source_id text, p_results jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.record_attachment_downloads(p_run_id bigint, p_source_id text, p_results jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.record_attachment_downloads(p_run_id bigint, p_source_id text, p_results jsonb) TO airlift_sync;

--
-- Name: FUNCTION record_file_verification(p_results jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.record_file_verification(p_results jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.record_file_verification(p_results jsonb) TO airlift_sync;

--
-- Name: FUNCTION record_problems(p_run_id bigint, p_entity text, p_origin text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.record_problems(p_run_id bigint, p_entity text, p_origin text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.record_problems(p_run_id bigint, p_entity text, p_origin text) TO airlift_sync;

--
-- Name: FUNCTION refresh_job_statistics(p_job_id uuid); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.refresh_job_statistics(p_job_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.refresh_job_statistics(p_job_id uuid) TO airlift_sync;

--
-- Name: FUNCTION refresh_problem_rows(p_run_id bigint, p_entity text, p_source_keys text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.refresh_problem_rows(p_run_id bigint, p_entity text, p_source_keys text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.refresh_problem_rows(p_run_id bigint, p_entity text, p_source_keys text[]) TO airlift_sync;

--
-- Name: FUNCTION refresh_target_checksums(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.refresh_target_checksums(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.refresh_target_checksums(p_entity text) TO airlift_sync;

--
-- Name: TABLE stored_files; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.stored_files TO airlift_sync;
GRANT SELECT ON TABLE sync.stored_files TO airlift_auditor;

--
-- Name: FUNCTION register_stored_file(p_sha256 text, p_size_bytes bigint, p_content_type text, p_store_kind text, p_store_key text, p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.register_stored_file(p_sha256 text, p_size_bytes bigint, p_content_type text, p_store_kind text, p_store_key text, p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.register_stored_file(p_sha256 text, p_size_bytes bigint, p_content_type text, p_store_kind text, p_store_key text, p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION release_stale_outbox(p_lease interval); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.release_stale_outbox(p_lease interval) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.release_stale_outbox(p_lease interval) TO airlift_sync;

--
-- Name: FUNCTION remove_attachment(p_attachment_id uuid); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.remove_attachment(p_attachment_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.remove_attachment(p_attachment_id uuid) TO airlift_sync;

--
-- Name: FUNCTION reopen_run(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.reopen_run(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.reopen_run(p_run_id bigint) TO airlift_sync;

--
-- Name: TABLE conflicts; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.conflicts TO airlift_sync;
GRANT SELECT ON TABLE sync.conflicts TO airlift_auditor;

--
-- Name: FUNCTION resolve_conflict(p_run_id bigint, p_conflict_id bigint, p_take text, p_value jsonb, p_decided_by text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.resolve_conflict(p_run_id bigint, p_conflict_id bigint, p_take text, p_value jsonb, p_decided_by text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.resolve_conflict(p_run_id bigint, p_conflict_id bigint, p_take text, p_value jsonb, p_decided_by text) TO airlift_sync;

--
-- Name: FUNCTION resolve_dangling_links(p_run_id bigint, p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.resolve_dangling_links(p_run_id bigint, p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.resolve_dangling_links(p_run_id bigint, p_entity text) TO airlift_sync;

--
-- Name: FUNCTION resolve_differentials(p_run_id bigint, p_entity text, p_strategy text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.resolve_differentials(p_run_id bigint, p_entity text, p_strategy text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.resolve_differentials(p_run_id bigint, p_entity text, p_strategy text) TO airlift_sync;

--
-- Name: FUNCTION restart_listing(p_run_id bigint, p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.restart_listing(p_run_id bigint, p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.restart_listing(p_run_id bigint, p_entity text) TO airlift_sync;

--
-- Name: FUNCTION restore_snapshot(p_snapshot_id bigint, p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.restore_snapshot(p_snapshot_id bigint, p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.restore_snapshot(p_snapshot_id bigint, p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION resume_checkpoint(p_checkpoint_id uuid); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.resume_checkpoint(p_checkpoint_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.resume_checkpoint(p_checkpoint_id uuid) TO airlift_sync;

--
-- Name: FUNCTION retry_outbox(p_ids bigint[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.retry_outbox(p_ids bigint[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.retry_outbox(p_ids bigint[]) TO airlift_sync;

--
-- Name: FUNCTION rollback_conflicts(p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.rollback_conflicts(p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.rollback_conflicts(p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.rollback_run(p_rollback_run_id bigint, p_run_id bigint, p_force boolean) TO airlift_sync;

--
-- Name: TABLE validation_rules; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.validation_rules TO airlift_sync;
GRANT SELECT ON TABLE sync.validation_rules TO airlift_auditor;

--
-- Name: FUNCTION rule_check_sql(p_rule sync.validation_rules, p_field_name text, p_conversion text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.rule_check_sql(p_rule sync.validation_rules, p_field_name text, p_conversion text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.rule_check_sql(p_rule sync.validation_rules, p_field_name text, p_conversion text) TO airlift_sync;

--
-- Name: FUNCTION rule_checks_sql(p_entity text, p_severity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.rule_checks_sql(p_entity text, p_severity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.rule_checks_sql(p_entity text, p_severity text) TO airlift_sync;

--
-- Name: TABLE jobs; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.jobs TO airlift_sync;
GRANT SELECT ON TABLE sync.jobs TO airlift_auditor;

--
-- Name: FUNCTION schedule_job(p_job_id uuid, p_next_run_at timestamp with time zone); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.schedule_job(p_job_id uuid, p_next_run_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.schedule_job(p_job_id uuid, p_next_run_at timestamp with time zone) TO airlift_sync;

--
-- Name: FUNCTION snapshot_source_tables(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.snapshot_source_tables() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.snapshot_source_tables() TO airlift_sync;

--
-- Name: FUNCTION source_canonical(p_entity text, p_source_keys text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.source_canonical(p_entity text, p_source_keys text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.source_canonical(p_entity text, p_source_keys text[]) TO airlift_sync;

--
-- Name: FUNCTION source_snapshot_run(p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.source_snapshot_run(p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.source_snapshot_run(p_entity text) TO airlift_sync;

--
-- Name: FUNCTION stage_copied(p_run_id bigint, p_entity text, p_full boolean, p_next_offset text, p_may_repeat boolean); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.stage_copied(p_run_id bigint, p_entity text, p_full boolean, p_next_offset text, p_may_repeat boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.stage_copied(p_run_id bigint, p_entity text, p_full boolean, p_next_offset text, p_may_repeat boolean) TO airlift_sync;

--
-- Name: FUNCTION stage_page(p_run_id bigint, p_entity text, p_records jsonb, p_rejects jsonb, p_full boolean, p_next_offset text, p_high_water_mark timestamp with time zone); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.stage_page(p_run_id bigint, p_entity text, p_records jsonb, p_rejects jsonb, p_full boolean, p_next_offset text, p_high_water_mark timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.stage_page(p_run_id bigint, p_entity text, p_records jsonb, p_rejects jsonb, p_full boolean, p_next_offset text, p_high_water_mark timestamp with time zone) TO airlift_sync;

--
-- Name: TABLE source_records; Type: ACL; Schema: staging; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE staging.source_records TO airlift_sync;

--
-- Name: FUNCTION staged_version_is_stale(p_entity text, p_full boolean, p_staged staging.source_records, p_content_hash text, p_checksum text, p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.staged_version_is_stale(p_entity text, p_full boolean, p_staged staging.source_records, p_content_hash text, p_checksum text, p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.staged_version_is_stale(p_entity text, p_full boolean, p_staged staging.source_records, p_content_hash text, p_checksum text, p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION staging_key_splits(p_after_key text, p_upto_key text, p_parts integer); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.staging_key_splits(p_after_key text, p_upto_key text, p_parts integer) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.staging_key_splits(p_after_key text, p_upto_key text, p_parts integer) TO airlift_sync;

--
-- Name: FUNCTION start_job(p_job_id uuid); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.start_job(p_job_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.start_job(p_job_id uuid) TO airlift_sync;

--
-- Name: FUNCTION stored_columns(p_table regclass); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.stored_columns(p_table regclass) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.stored_columns(p_table regclass) TO airlift_sync;

--
-- Name: TABLE validation_reports; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.validation_reports TO airlift_sync;
GRANT SELECT ON TABLE sync.validation_reports TO airlift_auditor;

--
-- Name: FUNCTION summarize_verification(p_run_id bigint, p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.summarize_verification(p_run_id bigint, p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.summarize_verification(p_run_id bigint, p_entity text) TO airlift_sync;

--
-- Name: FUNCTION sweep_deleted(p_run_id bigint, p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.sweep_deleted(p_run_id bigint, p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.sweep_deleted(p_run_id bigint, p_entity text) TO airlift_sync;

--
-- Name: FUNCTION sweep_deleted_in_key_ranges(p_run_id bigint, p_entity text, p_width bigint, p_ranges jsonb); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.sweep_deleted_in_key_ranges(p_run_id bigint, p_entity text, p_width bigint, p_ranges jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.sweep_deleted_in_key_ranges(p_run_id bigint, p_entity text, p_width bigint, p_ranges jsonb) TO airlift_sync;

--
-- Name: FUNCTION table_checksum(p_checksums text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.table_checksum(p_checksums text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.table_checksum(p_checksums text[]) TO airlift_sync;

--
-- Name: FUNCTION table_checksum_text(p_records numeric, p_first numeric, p_second numeric); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.table_checksum_text(p_records numeric, p_first numeric, p_second numeric) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.table_checksum_text(p_records numeric, p_first numeric, p_second numeric) TO airlift_sync;

--
-- Name: FUNCTION table_content_checksum(p_table regclass, p_columns text[]); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.table_content_checksum(p_table regclass, p_columns text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.table_content_checksum(p_table regclass, p_columns text[]) TO airlift_sync;

--
-- Name: FUNCTION take_snapshot(p_label text, p_actor text, p_run_id bigint); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.take_snapshot(p_label text, p_actor text, p_run_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.take_snapshot(p_label text, p_actor text, p_run_id bigint) TO airlift_sync;

--
-- Name: FUNCTION target_canonical_sql(p_entity text, p_rows text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.target_canonical_sql(p_entity text, p_rows text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.target_canonical_sql(p_entity text, p_rows text) TO airlift_sync;

--
-- Name: FUNCTION tg__adopt_source_keys_on_mapping(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.tg__adopt_source_keys_on_mapping() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.tg__adopt_source_keys_on_mapping() TO airlift_sync;

--
-- Name: FUNCTION tg__capture_changes(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.tg__capture_changes() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.tg__capture_changes() TO airlift_sync;

--
-- Name: FUNCTION tg__enforce_status_transition(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.tg__enforce_status_transition() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.tg__enforce_status_transition() TO airlift_sync;

--
-- Name: FUNCTION tg__maintain_target_checksums(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.tg__maintain_target_checksums() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.tg__maintain_target_checksums() TO airlift_sync;

--
-- Name: FUNCTION tg_attachments__capture_changes(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.tg_attachments__capture_changes() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.tg_attachments__capture_changes() TO airlift_sync;

--
-- Name: FUNCTION tg_attachments__fill_stored_file(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.tg_attachments__fill_stored_file() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.tg_attachments__fill_stored_file() TO airlift_sync;

--
-- Name: FUNCTION tg_record_errors__keep_rejections_open(); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.tg_record_errors__keep_rejections_open() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.tg_record_errors__keep_rejections_open() TO airlift_sync;

--
-- Name: FUNCTION touch_checkpoint(p_run_id bigint, p_operation text, p_entity text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.touch_checkpoint(p_run_id bigint, p_operation text, p_entity text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.touch_checkpoint(p_run_id bigint, p_operation text, p_entity text) TO airlift_sync;

--
-- Name: FUNCTION unreferenced_files(p_min_age interval); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.unreferenced_files(p_min_age interval) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.unreferenced_files(p_min_age interval) TO airlift_sync;

--
-- Name: FUNCTION validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.validate_entity(p_run_id bigint, p_entity text, p_whole_snapshot boolean) TO airlift_sync;

--
-- Name: FUNCTION verify_entity(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text, p_deep boolean, p_relationships boolean); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.verify_entity(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text, p_deep boolean, p_relationships boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.verify_entity(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text, p_deep boolean, p_relationships boolean) TO airlift_sync;

--
-- Name: FUNCTION verify_relationships(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text); Type: ACL; Schema: sync; Owner: -
--

REVOKE ALL ON FUNCTION sync.verify_relationships(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.verify_relationships(p_run_id bigint, p_entity text, p_after_key text, p_upto_key text) TO airlift_sync;

--
-- Name: TABLE attachments; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE app.attachments TO airlift_app;
GRANT SELECT ON TABLE app.attachments TO airlift_readonly;
GRANT SELECT ON TABLE app.attachments TO airlift_sync;

--
-- Name: TABLE clients; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE app.clients TO airlift_app;
GRANT SELECT ON TABLE app.clients TO airlift_readonly;
GRANT SELECT ON TABLE app.clients TO airlift_sync;

--
-- Name: TABLE collaborators; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE app.collaborators TO airlift_app;
GRANT SELECT ON TABLE app.collaborators TO airlift_readonly;
GRANT SELECT ON TABLE app.collaborators TO airlift_sync;

--
-- Name: TABLE products; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE app.products TO airlift_app;
GRANT SELECT ON TABLE app.products TO airlift_readonly;
GRANT SELECT ON TABLE app.products TO airlift_sync;

--
-- Name: TABLE registrations; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE app.registrations TO airlift_app;
GRANT SELECT ON TABLE app.registrations TO airlift_readonly;
GRANT SELECT ON TABLE app.registrations TO airlift_sync;

--
-- Name: TABLE state_regulators; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE app.state_regulators TO airlift_app;
GRANT SELECT ON TABLE app.state_regulators TO airlift_readonly;
GRANT SELECT ON TABLE app.state_regulators TO airlift_sync;

--
-- Name: TABLE changes; Type: ACL; Schema: audit; Owner: -
--

GRANT SELECT ON TABLE audit.changes TO airlift_auditor;

--
-- Name: TABLE doctors; Type: ACL; Schema: legacy_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE legacy_app.doctors TO airlift_app;
GRANT SELECT ON TABLE legacy_app.doctors TO airlift_readonly;
GRANT SELECT ON TABLE legacy_app.doctors TO airlift_sync;

--
-- Name: TABLE offices; Type: ACL; Schema: legacy_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE legacy_app.offices TO airlift_app;
GRANT SELECT ON TABLE legacy_app.offices TO airlift_readonly;
GRANT SELECT ON TABLE legacy_app.offices TO airlift_sync;

--
-- Name: TABLE orders; Type: ACL; Schema: legacy_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE legacy_app.orders TO airlift_app;
GRANT SELECT ON TABLE legacy_app.orders TO airlift_readonly;
GRANT SELECT ON TABLE legacy_app.orders TO airlift_sync;

--
-- Name: TABLE patients; Type: ACL; Schema: legacy_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE legacy_app.patients TO airlift_app;
GRANT SELECT ON TABLE legacy_app.patients TO airlift_readonly;
GRANT SELECT ON TABLE legacy_app.patients TO airlift_sync;

--
-- Name: TABLE products; Type: ACL; Schema: legacy_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE legacy_app.products TO airlift_app;
GRANT SELECT ON TABLE legacy_app.products TO airlift_readonly;
GRANT SELECT ON TABLE legacy_app.products TO airlift_sync;

--
-- Name: TABLE profiles; Type: ACL; Schema: legacy_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE legacy_app.profiles TO airlift_app;
GRANT SELECT ON TABLE legacy_app.profiles TO airlift_readonly;
GRANT SELECT ON TABLE legacy_app.profiles TO airlift_sync;

--
-- Name: TABLE ai_providers; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.ai_providers TO airlift_app;
GRANT SELECT ON TABLE pfa_app.ai_providers TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.ai_providers TO airlift_sync;

--
-- Name: TABLE api_configurations; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.api_configurations TO airlift_app;
GRANT SELECT ON TABLE pfa_app.api_configurations TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.api_configurations TO airlift_sync;

--
-- Name: TABLE data_source_mappings; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.data_source_mappings TO airlift_app;
GRANT SELECT ON TABLE pfa_app.data_source_mappings TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.data_source_mappings TO airlift_sync;

--
-- Name: TABLE field_configurations; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.field_configurations TO airlift_app;
GRANT SELECT ON TABLE pfa_app.field_configurations TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.field_configurations TO airlift_sync;

--
-- Name: TABLE organization_configs; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.organization_configs TO airlift_app;
GRANT SELECT ON TABLE pfa_app.organization_configs TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.organization_configs TO airlift_sync;

--
-- Name: TABLE organizations; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.organizations TO airlift_app;
GRANT SELECT ON TABLE pfa_app.organizations TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.organizations TO airlift_sync;

--
-- Name: TABLE pfa_records; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.pfa_records TO airlift_app;
GRANT SELECT ON TABLE pfa_app.pfa_records TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.pfa_records TO airlift_sync;

--
-- Name: TABLE user_organizations; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.user_organizations TO airlift_app;
GRANT SELECT ON TABLE pfa_app.user_organizations TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.user_organizations TO airlift_sync;

--
-- Name: TABLE users; Type: ACL; Schema: pfa_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE pfa_app.users TO airlift_app;
GRANT SELECT ON TABLE pfa_app.users TO airlift_readonly;
GRANT SELECT ON TABLE pfa_app.users TO airlift_sync;

--
-- Name: TABLE client_portfolio; Type: ACL; Schema: report; Owner: -
--

GRANT SELECT ON TABLE report.client_portfolio TO airlift_app;
GRANT SELECT ON TABLE report.client_portfolio TO airlift_readonly;
GRANT SELECT ON TABLE report.client_portfolio TO airlift_sync;

--
-- Name: TABLE registrations_expiring; Type: ACL; Schema: report; Owner: -
--

GRANT SELECT ON TABLE report.registrations_expiring TO airlift_app;
GRANT SELECT ON TABLE report.registrations_expiring TO airlift_readonly;
GRANT SELECT ON TABLE report.registrations_expiring TO airlift_sync;

--
-- Name: TABLE expiring_registration_counts; Type: ACL; Schema: report; Owner: -
--

GRANT SELECT ON TABLE report.expiring_registration_counts TO airlift_app;
GRANT SELECT ON TABLE report.expiring_registration_counts TO airlift_readonly;
GRANT SELECT ON TABLE report.expiring_registration_counts TO airlift_sync;

--
-- Name: TABLE registration_status_by_state; Type: ACL; Schema: report; Owner: -
--

GRANT SELECT ON TABLE report.registration_status_by_state TO airlift_app;
GRANT SELECT ON TABLE report.registration_status_by_state TO airlift_readonly;
GRANT SELECT ON TABLE report.registration_status_by_state TO airlift_sync;

--
-- Name: SEQUENCE page_seq; Type: ACL; Schema: staging; Owner: -
--

GRANT USAGE ON SEQUENCE staging.page_seq TO airlift_sync;

--
-- Name: TABLE attachment_downloads; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.attachment_downloads TO airlift_sync;
GRANT SELECT ON TABLE sync.attachment_downloads TO airlift_auditor;

--
-- Name: TABLE attachment_outbox; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.attachment_outbox TO airlift_sync;
GRANT SELECT ON TABLE sync.attachment_outbox TO airlift_auditor;

--
-- Name: TABLE conflict_policies; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.conflict_policies TO airlift_sync;
GRANT SELECT ON TABLE sync.conflict_policies TO airlift_auditor;

--
-- Name: TABLE entities; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.entities TO airlift_sync;
GRANT SELECT ON TABLE sync.entities TO airlift_auditor;

--
-- Name: TABLE entity_columns; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.entity_columns TO airlift_sync;
GRANT SELECT ON TABLE sync.entity_columns TO airlift_auditor;

--
-- Name: TABLE entity_mappings; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.entity_mappings TO airlift_sync;
GRANT SELECT ON TABLE sync.entity_mappings TO airlift_auditor;

--
-- Name: TABLE field_problems; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.field_problems TO airlift_sync;
GRANT SELECT ON TABLE sync.field_problems TO airlift_auditor;

--
-- Name: TABLE id_map; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.id_map TO airlift_sync;
GRANT SELECT ON TABLE sync.id_map TO airlift_auditor;

--
-- Name: TABLE record_errors; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.record_errors TO airlift_sync;
GRANT SELECT ON TABLE sync.record_errors TO airlift_auditor;

--
-- Name: TABLE open_data_problems; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.open_data_problems TO airlift_sync;
GRANT SELECT ON TABLE sync.open_data_problems TO airlift_auditor;

--
-- Name: TABLE push_status; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.push_status TO airlift_sync;
GRANT SELECT ON TABLE sync.push_status TO airlift_auditor;

--
-- Name: TABLE status_transitions; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT ON TABLE sync.status_transitions TO airlift_sync;
GRANT SELECT ON TABLE sync.status_transitions TO airlift_auditor;

--
-- Name: TABLE target_checksums; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.target_checksums TO airlift_sync;
GRANT SELECT ON TABLE sync.target_checksums TO airlift_auditor;

--
-- Name: TABLE worker_processes; Type: ACL; Schema: sync; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE sync.worker_processes TO airlift_sync;
GRANT SELECT ON TABLE sync.worker_processes TO airlift_auditor;

--
-- Name: TABLE admin_actions; Type: ACL; Schema: wallet_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE wallet_app.admin_actions TO airlift_app;
GRANT SELECT ON TABLE wallet_app.admin_actions TO airlift_readonly;
GRANT SELECT ON TABLE wallet_app.admin_actions TO airlift_sync;

--
-- Name: TABLE kyc_documents; Type: ACL; Schema: wallet_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE wallet_app.kyc_documents TO airlift_app;
GRANT SELECT ON TABLE wallet_app.kyc_documents TO airlift_readonly;
GRANT SELECT ON TABLE wallet_app.kyc_documents TO airlift_sync;

--
-- Name: TABLE opportunities; Type: ACL; Schema: wallet_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE wallet_app.opportunities TO airlift_app;
GRANT SELECT ON TABLE wallet_app.opportunities TO airlift_readonly;
GRANT SELECT ON TABLE wallet_app.opportunities TO airlift_sync;

--
-- Name: TABLE users; Type: ACL; Schema: wallet_app; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE wallet_app.users TO airlift_app;
GRANT SELECT ON TABLE wallet_app.users TO airlift_readonly;
GRANT SELECT ON TABLE wallet_app.users TO airlift_sync;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: app; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA app GRANT SELECT ON TABLES  TO airlift_sync;
ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA app GRANT SELECT,INSERT,DELETE,UPDATE ON TABLES  TO airlift_app;
ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA app GRANT SELECT ON TABLES  TO airlift_readonly;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: audit; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA audit GRANT SELECT ON TABLES  TO airlift_auditor;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: report; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA report GRANT SELECT ON TABLES  TO airlift_sync;
ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA report GRANT SELECT ON TABLES  TO airlift_app;
ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA report GRANT SELECT ON TABLES  TO airlift_readonly;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: staging; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA staging GRANT SELECT,INSERT,DELETE,UPDATE ON TABLES  TO airlift_sync;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: sync; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA sync GRANT SELECT,INSERT,DELETE,UPDATE ON TABLES  TO airlift_sync;
ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner IN SCHEMA sync GRANT SELECT ON TABLES  TO airlift_auditor;

--
-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: -; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE airlift_owner REVOKE ALL ON FUNCTIONS  FROM PUBLIC;

--
-- PostgreSQL database dump complete
--
