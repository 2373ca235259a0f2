--! Previous: sha1:7c4526ec84ab19fcea654ae075eb6c59642f47dc
--! Hash: sha1:0f980754044c5dcf7a6c266cbf8b0d8f4f588629
--! Message: run life cycle: one SQL API

/*
 * The run life cycle has one writer (issue 16, item 3): a small SQL API in
 * run_functions.sql (open, reopen, cancel, annotate and complete a run;
 * open, resume, annotate, advance and complete a checkpoint; start and
 * schedule a job) next to the existing sync.finish_run, sync.fail_run,
 * sync.finish_stage_only_run and sync.finish_push_run. TypeScript writes
 * run and checkpoint state only through these functions.
 *
 * Idempotent while current: every function is `create or replace`, and
 * grants.sql is re-included so the sync role may execute them.
 */

--! Included run_functions.sql
/*
 * The run life cycle in SQL: the one writer of sync.runs and
 * sync.checkpoints that every command and task calls (TypeScript writes
 * run and checkpoint state only through these). Re-creatable: every
 * function is `create or replace`, so a migration includes this file again
 * whole; included after sync_functions.sql and integrity_functions.sql.
 *
 *   open_run / reopen_run / cancel_run / annotate_run   a run starts, is
 *       taken up again, is superseded, is told more
 *   finish_run, finish_stage_only_run, finish_push_run, fail_run (in
 *       sync_functions.sql, integrity_functions.sql, change_capture.sql):
 *       a run ends from its checkpoints, or fails
 *   complete_run        a run whose counts the caller gives (a rollback,
 *                       a restore) ends
 *   open_checkpoint / touch_checkpoint / resume_checkpoint / annotate_checkpoint /
 *   advance_checkpoint / complete_checkpoint     a table's or a range
 *       walk's progress
 *   start_job / schedule_job     the job a run executes, and its next time
 *
 * Status moves are still checked by sync.tg__enforce_status_transition
 * (sync.status_transitions): a move it does not allow fails with
 * check_violation (23514). None is security definer: the sync role writes
 * these tables itself.
 */

create or replace function sync.open_run(p_run_type text, p_actor text, p_metadata jsonb default '{}', p_job_id uuid default null)
returns sync.runs
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  insert into sync.runs (job_id, run_type, status, actor, metadata)
  values (p_job_id, p_run_type, 'running', p_actor, coalesce(p_metadata, '{}'))
  returning *;
$$;
comment on function sync.open_run(text, text, jsonb, uuid) is E'Opens a run: a new sync.runs row, running since now, of the given type, actor and metadata, executing the job if one is given (the job itself is moved by sync.start_job).';

create or replace function sync.reopen_run(p_run_id bigint) returns sync.runs
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.reopen_run(bigint) is E'Takes up a failed (or still running, interrupted) run again: running, no finish time, no error; its checkpoints keep their resume points. A completed or cancelled run cannot be reopened (sync.status_transitions, check_violation).';

create or replace function sync.cancel_run(p_run_id bigint, p_reason text) returns sync.runs
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.cancel_run(bigint, text) is E'Cancels a running, pending or failed run that will not be resumed (superseded by another), with the reason in metadata.cancelled_because. A completed run cannot be cancelled (check_violation).';

create or replace function sync.annotate_run(p_run_id bigint, p_metadata jsonb) returns sync.runs
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.annotate_run(bigint, jsonb) is E'Merges keys into a run''s metadata (what it found: drift warnings, request counts, a verification''s verdict), in any status.';

create or replace function sync.complete_run(p_run_id bigint, p_inserted bigint, p_updated bigint, p_deleted bigint, p_metadata jsonb default '{}')
returns sync.runs
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.complete_run(bigint, bigint, bigint, bigint, jsonb) is E'Completes a run whose counts the caller knows (a rollback, a snapshot restore: the app rows it wrote): fetched = inserted + updated, deleted as given, metadata merged. Runs counted from their checkpoints end with sync.finish_run instead.';

create or replace function sync.start_job(p_job_id uuid) returns sync.jobs
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  update sync.jobs j set status = 'running'
  where j.id = p_job_id and j.status in ('scheduled', 'failed', 'paused')
  returning j.*;
$$;
comment on function sync.start_job(uuid) is E'Moves a scheduled, failed or paused job to running as a run of it opens (null, and nothing changed, for a job in any other status); sync.finish_run and sync.fail_run move it on.';

create or replace function sync.schedule_job(p_job_id uuid, p_next_run_at timestamptz) returns sync.jobs
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  update sync.jobs j set next_run_at = p_next_run_at where j.id = p_job_id returning j.*;
$$;
comment on function sync.schedule_job(uuid, timestamptz) is E'Sets when a job runs next (the worker, from its cron schedule, after each run); null for an unknown job.';

create or replace function sync.open_checkpoint(p_run_id bigint, p_operation text, p_entity text, p_batch_size integer,
                                                p_records_total bigint default null, p_metadata jsonb default '{}')
returns sync.checkpoints
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.open_checkpoint(bigint, text, text, integer, bigint, jsonb) is E'Opens a run''s checkpoint of an operation on an entity, in progress since now; idempotent: when the run has it already, returns it as it stands (unchanged: a failed one is taken up by sync.resume_checkpoint).';

create or replace function sync.touch_checkpoint(p_run_id bigint, p_operation text, p_entity text) returns setof sync.checkpoints
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  update sync.checkpoints c set updated_at = now()
  where c.run_id = p_run_id and c.operation_type = p_operation and c.entity_type = p_entity
  returning c.*;
$$;
comment on function sync.touch_checkpoint(bigint, text, text) is E'A run''s checkpoint of an operation on an entity as it was left, its updated_at stamped (a walk takes it up); no row when the run has none yet (sync.open_checkpoint opens it).';

create or replace function sync.resume_checkpoint(p_checkpoint_id uuid) returns sync.checkpoints
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.resume_checkpoint(uuid) is E'Takes up a failed or paused checkpoint again: in progress, no error; its resume point is kept. A completed checkpoint cannot be resumed (check_violation).';

create or replace function sync.annotate_checkpoint(p_checkpoint_id uuid, p_metadata jsonb) returns sync.checkpoints
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.annotate_checkpoint(uuid, jsonb) is E'Merges keys into a checkpoint''s metadata (a listing''s resume point, say) without moving it.';

create or replace function sync.advance_checkpoint(p_checkpoint_id uuid, p_last_processed_id text, p_records_added bigint,
                                                   p_records_total bigint, p_metadata jsonb default '{}', p_complete boolean default false)
returns sync.checkpoints
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.advance_checkpoint(uuid, text, bigint, bigint, jsonb, boolean) is E'Saves a batch''s progress: the resume point (last_processed_id, null when there is none), the records added to records_processed, the total as now known and metadata merged; in progress, or completed with p_complete (the last batch). A completed checkpoint cannot move back (check_violation).';

create or replace function sync.complete_checkpoint(p_checkpoint_id uuid, p_metadata jsonb default '{}', p_records_total bigint default null)
returns sync.checkpoints
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.complete_checkpoint(uuid, jsonb, bigint) is E'Completes a checkpoint now (after its start), merging metadata (the table''s summary) and, when given, setting its final total. Only an in-progress checkpoint completes (check_violation otherwise).';
--! EndIncluded run_functions.sql

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
