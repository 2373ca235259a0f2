--! Previous: sha1:725edb278c8c2996bee326bfbfe7b6b2caea71ba
--! Hash: sha1:10bc3d1ac4a477f095a758ef1eebdbf692fb21c9
--! Message: Status counts every entity's target table through sync.entity_row_counts

/*
 * `airlift status` counts the rows of every entity's target table, in any
 * schema, through one catalogue-driven function instead of a list of
 * Delta's app tables.
 */
--! Included report/entity_row_counts.sql
/*
 * Rows per synced table, whatever schema it is in: `airlift status` shows
 * each entity's live, soft-deleted and flagged rows without a hard-coded
 * list of tables (Delta's app tables, a files source's target).
 */

create or replace function sync.entity_row_counts() returns table (entity text, live bigint, gone bigint, flagged bigint)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
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
comment on function sync.entity_row_counts() is E'Live, soft-deleted and flagged (open field problems) rows of every entity''s target table, one statement over the catalogue: what `airlift status` counts. Security definer: reads target schemas the caller may not be granted.';
--! EndIncluded report/entity_row_counts.sql
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
