--! Previous: sha1:8fe84e5259eced31198b0378c34c97861c305377
--! Hash: sha1:8e0c10002fe1c1121d4378f39d1aa8769cdffd47
--! Message: Staging: one rewrite rule (sync.staged_version_is_stale) shared by stage_page and stage_copied

/*
 * One rewrite rule for staging: sync.stage_page and sync.stage_copied
 * each spelled out when a record already staged is written again; both
 * now call sync.staged_version_is_stale, so the page by page and the COPY
 * staging cannot drift apart. Same rule, same rows (pgTAP staging/030).
 */
--! Included staging/staged_version_is_stale.sql
/*
 * When staging writes a record over the version it already holds: the one
 * rule that sync.stage_page (a page of records) and sync.stage_copied (a
 * chunk COPYed in) share in their ON CONFLICT ... DO UPDATE ... WHERE, so
 * that the two ways of staging cannot drift apart.
 *
 * Not inlined (PostgreSQL does not inline a function holding sub-selects):
 * the call costs about 5 µs per record already staged (200,000 re-staged:
 * 2.6 s against 1.6 s written out), paid only by records that conflict.
 */

create or replace function sync.staged_version_is_stale(
  p_entity text, p_full boolean, p_staged staging.source_records, p_content_hash text, p_checksum text, p_run_id bigint
) returns boolean
language sql stable parallel safe
as $$
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
comment on function sync.staged_version_is_stale(text, boolean, staging.source_records, text, text, bigint) is
  E'True when staging must write a record it already holds (p_staged) again with the version just read (its content hash, checksum and run): the content or its checksum changed, a full run marks it seen, it is in quarantine (to be merged again), or the version held was staged by a stage-only run and never merged. The rewrite rule of both sync.stage_page and sync.stage_copied.';
--! EndIncluded staging/staged_version_is_stale.sql
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
comment on function sync.stage_page(bigint, text, jsonb, jsonb, boolean, text, timestamptz) is E'Writes one page of Airtable records (a JSON array of {id, created_time, fields, hash}) to staging, numbered with the next staging.page_seq, and moves the table''s checkpoint, in one call: one round trip per page. The last page (no next offset) marks the table listed. The page''s latest Last Modified time moves the table''s high-water mark (the caller may pass it, saving a second parse of the page). Returns how many rows were written, were already staged by this run, were left untouched (unchanged), and were rejected by the runner (quarantined).';
--! EndIncluded staging/stage_page.sql
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
$$;
comment on function sync.stage_copied(bigint, text, boolean, text, boolean) is E'Stages a chunk of records the runner streamed with COPY into the session''s pg_temp.copied_records (id, created_time, fields, hash, or a reject''s key, field, value and reason, in file order): the bulk counterpart of sync.stage_page for large listings. In one call and the caller''s transaction: checksums from the same canonical form, the upsert into staging.source_records under one staging.page_seq number with stage_page''s rule for rewriting a row, the rejects quarantined once and marked rejected before staging, and the checkpoint moved (records, offset, pages, untouched, rejected; no next offset marks the table listed). With p_may_repeat (a listing started again) records this run staged already with the same content are left out and counted as skipped. Returns how many rows were written, were already staged by this run, were left untouched (unchanged), were rejects (quarantined) and were skipped.';
--! EndIncluded staging/stage_copied.sql
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
