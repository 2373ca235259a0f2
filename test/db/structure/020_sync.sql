-- Structure of schemas sync, staging, audit and report: tables, key columns
-- and types, keys, run_id references, audit indexes, report views and
-- materialized views, and the wiring of the audit and immutability triggers.
BEGIN;
select plan(68);

-- Tables -------------------------------------------------------------------
select has_table('sync', 'jobs', 'table sync.jobs exists');
select has_table('sync', 'runs', 'table sync.runs exists');
select has_table('sync', 'checkpoints', 'table sync.checkpoints exists');
select has_table('sync', 'id_map', 'table sync.id_map exists');
select has_table('sync', 'data_differentials', 'table sync.data_differentials exists');
select has_table('sync', 'validation_reports', 'table sync.validation_reports exists');
select has_table('sync', 'record_errors', 'table sync.record_errors exists');
select has_table('sync', 'status_transitions', 'table sync.status_transitions exists');
select has_table('staging', 'source_records', 'table staging.source_records exists');
select has_table('audit', 'changes', 'table audit.changes exists');

-- Key columns and their types ------------------------------------------------
select col_type_is('sync', 'jobs', 'id', 'uuid', 'sync.jobs.id is uuid');
select col_type_is('sync', 'runs', 'id', 'bigint', 'sync.runs.id is bigint');
select col_type_is('sync', 'checkpoints', 'run_id', 'bigint', 'sync.checkpoints.run_id is bigint, like sync.runs.id');
select col_type_is('sync', 'id_map', 'legacy_id', 'text', 'sync.id_map.legacy_id is text');
select col_type_is('sync', 'id_map', 'uuid_id', 'uuid', 'sync.id_map.uuid_id is uuid');
select col_type_is('sync', 'record_errors', 'value', 'jsonb', 'sync.record_errors.value is jsonb');
select col_type_is('staging', 'source_records', 'fields', 'jsonb', 'staging.source_records.fields is jsonb');
select col_type_is('audit', 'changes', 'id', 'bigint', 'audit.changes.id is bigint');
select col_type_is('audit', 'changes', 'transaction_id', 'xid8', 'audit.changes.transaction_id is xid8');
select col_type_is('audit', 'changes', 'changed_at', 'timestamp with time zone', 'audit.changes.changed_at is timestamptz');
select results_eq(
  $$select attrelid::regclass::text, attidentity::text from pg_attribute
     where attname = 'id' and attrelid in ('sync.runs'::regclass, 'audit.changes'::regclass)
     order by 1$$,
  $$values ('audit.changes', 'a'), ('sync.runs', 'a')$$,
  'sync.runs.id and audit.changes.id are GENERATED ALWAYS AS IDENTITY');

-- Primary keys ---------------------------------------------------------------
select col_is_pk('sync', 'jobs', 'id', 'sync.jobs primary key is id');
select col_is_pk('sync', 'runs', 'id', 'sync.runs primary key is id');
select col_is_pk('sync', 'checkpoints', 'id', 'sync.checkpoints primary key is id');
select col_is_pk('sync', 'id_map', 'id', 'sync.id_map primary key is id');
select col_is_pk('sync', 'data_differentials', 'id', 'sync.data_differentials primary key is id');
select col_is_pk('sync', 'validation_reports', 'id', 'sync.validation_reports primary key is id');
select col_is_pk('sync', 'record_errors', 'id', 'sync.record_errors primary key is id');
select col_is_pk('staging', 'source_records', array['source_table', 'source_key']::name[],
  'staging.source_records primary key is (source_table, source_key)');
select col_is_pk('audit', 'changes', 'id', 'audit.changes primary key is id');
-- status_transitions has a nullable from_status, so its key is a unique
-- constraint with NULLS NOT DISTINCT rather than a primary key.
select col_is_unique('sync', 'status_transitions', array['machine', 'from_status', 'to_status']::name[],
  'sync.status_transitions has a unique constraint on (machine, from_status, to_status)');
select ok(
  (select i.indnullsnotdistinct from pg_constraint c join pg_index i on i.indexrelid = c.conindid
    where c.conrelid = 'sync.status_transitions'::regclass and c.contype = 'u'),
  'the unique key of sync.status_transitions treats nulls as not distinct (one initial rule per status)');

-- The identity map is unique both ways ------------------------------------------
select col_is_unique('sync', 'id_map', array['entity_type', 'legacy_id']::name[],
  'sync.id_map has a unique constraint on (entity_type, legacy_id)');
select col_is_unique('sync', 'id_map', array['entity_type', 'uuid_id']::name[],
  'sync.id_map has a unique constraint on (entity_type, uuid_id)');

-- References to sync.runs --------------------------------------------------------
select fk_ok('sync', 'checkpoints', 'run_id', 'sync', 'runs', 'id',
  'sync.checkpoints.run_id references sync.runs(id)');
select fk_ok('sync', 'data_differentials', 'run_id', 'sync', 'runs', 'id',
  'sync.data_differentials.run_id references sync.runs(id)');
select fk_ok('sync', 'validation_reports', 'run_id', 'sync', 'runs', 'id',
  'sync.validation_reports.run_id references sync.runs(id)');
select fk_ok('sync', 'record_errors', 'run_id', 'sync', 'runs', 'id',
  'sync.record_errors.run_id references sync.runs(id)');
select fk_ok('sync', 'record_errors', 'resolved_by_run_id', 'sync', 'runs', 'id',
  'sync.record_errors.resolved_by_run_id references sync.runs(id)');
select fk_ok('sync', 'id_map', 'migration_batch', 'sync', 'runs', 'id',
  'sync.id_map.migration_batch references sync.runs(id)');
select fk_ok('staging', 'source_records', 'run_id', 'sync', 'runs', 'id',
  'staging.source_records.run_id references sync.runs(id)');
select set_eq(
  $$select c.conrelid::regclass::text, a.attname::text collate "default", c.confdeltype::text
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
     where c.contype = 'f' and c.confrelid = 'sync.runs'::regclass$$,
  $$values ('sync.checkpoints', 'run_id', 'c'),
           ('sync.data_differentials', 'run_id', 'c'),
           ('sync.validation_reports', 'run_id', 'c'),
           ('sync.record_errors', 'run_id', 'c'),
           ('sync.record_errors', 'resolved_by_run_id', 'n'),
           ('sync.field_problems', 'run_id', 'n'),
           ('sync.field_problems', 'resolved_by_run_id', 'n'),
           ('sync.id_map', 'migration_batch', 'n'),
           ('staging.source_records', 'run_id', 'n'),
           ('sync.snapshots', 'run_id', 'n'),
           ('sync.snapshots', 'restored_by_run_id', 'n'),
           ('sync.outbox', 'run_id', 'n'),
           ('sync.conflicts', 'run_id', 'n'),
           ('sync.conflicts', 'resolved_by_run_id', 'n'),
           ('sync.stored_files', 'stored_by_run_id', 'n'),
           ('sync.attachment_downloads', 'first_run_id', 'n'),
           ('sync.attachment_downloads', 'last_run_id', 'n'),
           ('sync.attachment_outbox', 'pushed_by_run_id', 'n')$$,
  'the references to sync.runs are exactly these, with ON DELETE CASCADE for per-run detail and SET NULL otherwise');

-- Audit indexes --------------------------------------------------------------
select has_index('audit', 'changes', 'changes_changed_at_brin', array['changed_at']::name[],
  'audit.changes has index changes_changed_at_brin on (changed_at)');
select index_is_type('audit', 'changes', 'changes_changed_at_brin', 'brin',
  'changes_changed_at_brin is a BRIN index');
select has_index('audit', 'changes', 'changes_run_idx', array['run_id', 'id']::name[],
  'audit.changes has index changes_run_idx on (run_id, id)');
select is(
  (select pg_get_expr(indpred, indrelid) from pg_index where indexrelid = 'audit.changes_run_idx'::regclass),
  '(run_id IS NOT NULL)', 'changes_run_idx is partial: only changes made by a run');

-- Report views and materialized views ---------------------------------------------
select has_materialized_view('report', 'registration_status_by_state',
  'materialized view report.registration_status_by_state exists');
select has_materialized_view('report', 'client_portfolio',
  'materialized view report.client_portfolio exists');
select has_index('report', 'registration_status_by_state', 'registration_status_by_state_key',
  array['state_code', 'status']::name[],
  'report.registration_status_by_state has index registration_status_by_state_key on (state_code, status)');
select index_is_unique('report', 'registration_status_by_state', 'registration_status_by_state_key',
  'registration_status_by_state_key is unique, so the view can be refreshed concurrently');
select has_index('report', 'client_portfolio', 'client_portfolio_key', array['client_id']::name[],
  'report.client_portfolio has index client_portfolio_key on (client_id)');
select index_is_unique('report', 'client_portfolio', 'client_portfolio_key',
  'client_portfolio_key is unique, so the view can be refreshed concurrently');
select has_view('report', 'registrations_expiring', 'view report.registrations_expiring exists');
select has_view('report', 'expiring_registration_counts', 'view report.expiring_registration_counts exists');

-- Audit triggers ---------------------------------------------------------------
-- Audited: every app table and every sync table but the reference data that
-- only migrations change (status_transitions, entities, entity_columns) and
-- the workers' heartbeat table.
select is_empty(
  $$select c.oid::regclass::text || ' lacks ' || t.name
      from pg_class c
      cross join (values ('_900_audit_insert'), ('_900_audit_update'), ('_900_audit_delete'), ('_900_audit_truncate')) as t (name)
     where c.relkind in ('r', 'p')
       and c.relnamespace in ('app'::regnamespace, 'sync'::regnamespace)
       and c.oid not in ('sync.status_transitions'::regclass, 'sync.entities'::regclass,
                         'sync.entity_columns'::regclass, 'sync.worker_processes'::regclass,
                         -- derived from the audited app rows, rebuilt by sync.refresh_target_checksums
                         'sync.target_checksums'::regclass,
                         -- operational queue derived from the audited app rows; every outcome stays in it
                         'sync.outbox'::regclass, 'sync.attachment_outbox'::regclass)
       and not exists (select from pg_trigger g where g.tgrelid = c.oid and g.tgname = t.name)$$,
  'every app table and every sync control table has the four _900_audit_* triggers');
select set_eq(
  $$select distinct split_part(t, '.', 1) from tests.example_target_tables() t$$,
  array['legacy_app', 'pfa_app', 'wallet_app'],
  'the examples'' target schemas are registered in the entity catalogue: the files example''s (wallet_app), the SQLite example''s (pfa_app) and the legacy PostgreSQL example''s (legacy_app)');
select set_eq(
  $$select distinct tgrelid::regclass::text from pg_trigger where tgname like '\_900\_audit\_%'$$,
  $$values ('app.collaborators'), ('app.clients'), ('app.state_regulators'), ('app.products'),
           ('app.registrations'), ('app.attachments'), ('sync.jobs'), ('sync.runs'),
           ('sync.checkpoints'), ('sync.id_map'), ('sync.data_differentials'),
           ('sync.validation_reports'), ('sync.record_errors'), ('sync.field_problems'), ('sync.entity_mappings'), ('sync.validation_rules'),
           ('sync.snapshots'), ('sync.conflict_policies'), ('sync.conflicts'),
           ('sync.stored_files'), ('sync.attachment_downloads')
    union all select tests.example_target_tables()$$,
  'the audited tables are exactly the six app tables, the fifteen sync control tables and the examples'' target tables');
select is_empty(
  $$select tgrelid::regclass::text || '.' || tgname from pg_trigger
     where tgname like '\_900\_audit\_%' and tgtype & 1 <> 0$$,
  'every _900_audit_* trigger is statement-level (FOR EACH STATEMENT)');
select is_empty(
  $$select g.tgrelid::regclass::text || '.' || g.tgname
      from pg_trigger g
      join (values ('_900_audit_insert', 4, 'tg__log_insert', null, 'new_rows'),
                   ('_900_audit_update', 16, 'tg__log_update', 'old_rows', 'new_rows'),
                   ('_900_audit_delete', 8, 'tg__log_delete', 'old_rows', null),
                   ('_900_audit_truncate', 32, 'tg__log_truncate', null, null))
           as w (name, event, func, old_table, new_table) on w.name = g.tgname
     where g.tgtype & 2 <> 0                             -- BEFORE
        or g.tgtype & 60 <> w.event                      -- the one expected event
        or g.tgfoid <> to_regprocedure('audit.' || w.func || '()')
        or g.tgoldtable is distinct from w.old_table
        or g.tgnewtable is distinct from w.new_table
        or g.tgenabled <> 'O'$$,
  'every _900_audit_* trigger fires AFTER its one event, calls its audit.tg__log_* function with the right transition tables, and is enabled');
select trigger_is('app', 'registrations', '_900_audit_update', 'audit', 'tg__log_update',
  'app.registrations._900_audit_update calls audit.tg__log_update()');
select trigger_is('sync', 'runs', '_900_audit_truncate', 'audit', 'tg__log_truncate',
  'sync.runs._900_audit_truncate calls audit.tg__log_truncate()');

-- audit.changes is immutable -------------------------------------------------------
select has_trigger('audit', 'changes', '_100_forbid_update_delete',
  'audit.changes has trigger _100_forbid_update_delete');
select has_trigger('audit', 'changes', '_100_forbid_truncate',
  'audit.changes has trigger _100_forbid_truncate');
select results_eq(
  $$select tgname::text collate "default", tgenabled::text from pg_trigger
     where tgrelid = 'audit.changes'::regclass and tgname in ('_100_forbid_update_delete', '_100_forbid_truncate')
     order by 1$$,
  $$values ('_100_forbid_truncate', 'A'), ('_100_forbid_update_delete', 'A')$$,
  'the immutability triggers of audit.changes are ENABLE ALWAYS (they fire under session_replication_role = replica)');

-- Source-neutral names: staging and the sync tables hold any source's records.
select hasnt_table('staging', 'airtable_records', 'staging.airtable_records is now staging.source_records');
select columns_are('staging', 'source_records',
  array['source_id', 'source_table', 'source_key', 'fields', 'created_time', 'content_hash', 'run_id', 'fetched_at', 'page_seq', 'checksum'],
  'staging.source_records has source-neutral columns');
select is(
  (select array_agg(format('%s.%s', c.table_name, c.column_name)::text order by 1)
   from information_schema.columns c
   where c.table_schema in ('staging', 'sync') and c.column_name in ('airtable_id', 'base_id', 'table_id')),
  null::text[],
  'no staging or sync table or view has a column airtable_id, base_id or table_id');
select is(
  (select array_agg(x.name::text order by 1) from (
     select k.conname as name from pg_constraint k join pg_namespace n on n.oid = k.connamespace
     where n.nspname in ('staging', 'sync') and k.conname ~ 'airtable_records|airtable_id|base_id|table_id'
     union all
     select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname in ('staging', 'sync') and c.relkind = 'i' and c.relname ~ 'airtable_records|airtable_id|base_id|table_id') x),
  null::text[],
  'no staging or sync constraint or index is named after airtable_records, airtable_id, base_id or table_id');

select * from finish();
ROLLBACK;
