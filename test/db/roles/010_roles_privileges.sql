-- Least privilege: the five airlift roles, who owns what, what each role is
-- granted, and (under `set local role`) that each grant works and that
-- everything else is refused with 42501 (insufficient_privilege). On
-- PostgreSQL 17, refreshing a materialized view needs MAINTAIN (held only by
-- the owner here), hence "permission denied for materialized view".
--
-- pgTAP under `set role`: plan() creates its temporary bookkeeping tables as
-- the session user and grants them to PUBLIC, and the runner grants schema
-- tap to PUBLIC, so assertions keep working after a role switch. Every block
-- that switches role ends with `reset role`, and finish() runs as the session
-- user.
BEGIN;
select plan(82);

-- ---------------------------------------------------------------------------
-- The roles: exist, no superuser, no login, no other powers, no inheritance.
-- ---------------------------------------------------------------------------
select has_role('airlift_owner', 'role airlift_owner exists');
select has_role('airlift_sync', 'role airlift_sync exists');
select has_role('airlift_app', 'role airlift_app exists');
select has_role('airlift_readonly', 'role airlift_readonly exists');
select has_role('airlift_auditor', 'role airlift_auditor exists');

select isnt_superuser('airlift_owner', 'airlift_owner is not a superuser');
select isnt_superuser('airlift_sync', 'airlift_sync is not a superuser');
select isnt_superuser('airlift_app', 'airlift_app is not a superuser');
select isnt_superuser('airlift_readonly', 'airlift_readonly is not a superuser');
select isnt_superuser('airlift_auditor', 'airlift_auditor is not a superuser');

select results_eq(
  $$select rolname::text collate "default", rolcanlogin, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
    from pg_roles
    where rolname in ('airlift_owner', 'airlift_sync', 'airlift_app', 'airlift_readonly', 'airlift_auditor')
    order by rolname$$,
  $$values ('airlift_app', false, false, false, false, false),
           ('airlift_auditor', false, false, false, false, false),
           ('airlift_owner', false, false, false, false, false),
           ('airlift_readonly', false, false, false, false, false),
           ('airlift_sync', false, false, false, false, false)$$,
  'the five roles are NOLOGIN group roles without CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS'
);

select is_empty(
  $$select member.rolname, granted.rolname
    from pg_auth_members m
    join pg_roles member on member.oid = m.member
    join pg_roles granted on granted.oid = m.roleid
    where member.rolname like 'airlift\_%'$$,
  'no airlift role is a member of another role (no privilege is inherited)'
);

-- ---------------------------------------------------------------------------
-- Ownership: airlift_owner owns the schemas and everything in them.
-- ---------------------------------------------------------------------------
select schema_owner_is('app', 'airlift_owner', 'schema app is owned by airlift_owner');
select schema_owner_is('sync', 'airlift_owner', 'schema sync is owned by airlift_owner');
select schema_owner_is('staging', 'airlift_owner', 'schema staging is owned by airlift_owner');
select schema_owner_is('audit', 'airlift_owner', 'schema audit is owned by airlift_owner');
select schema_owner_is('report', 'airlift_owner', 'schema report is owned by airlift_owner');

select table_owner_is('app', 'clients', 'airlift_owner', 'app.clients is owned by airlift_owner');
select table_owner_is('audit', 'changes', 'airlift_owner', 'audit.changes is owned by airlift_owner');

select set_eq(
  $$select distinct pg_get_userbyid(c.relowner)::text
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('app', 'sync', 'staging', 'audit', 'report')$$,
  array['airlift_owner'],
  'every relation (tables, views, materialized views, sequences, indexes) in the five schemas is owned by airlift_owner'
);
select set_eq(
  $$select distinct pg_get_userbyid(p.proowner)::text
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('app', 'sync', 'staging', 'audit', 'report')$$,
  array['airlift_owner'],
  'every function in the five schemas is owned by airlift_owner'
);

-- ---------------------------------------------------------------------------
-- Schema privileges.
-- ---------------------------------------------------------------------------
select results_eq(
  $$select r.rolname::text, s.nspname::text,
           has_schema_privilege(r.rolname, s.nspname, 'USAGE'),
           has_schema_privilege(r.rolname, s.nspname, 'CREATE')
    from (values ('airlift_owner'), ('airlift_sync'), ('airlift_app'), ('airlift_readonly'), ('airlift_auditor')) as r (rolname)
    cross join (values ('app'), ('audit'), ('report'), ('staging'), ('sync')) as s (nspname)
    order by 1, 2$$,
  $$values ('airlift_app', 'app', true, false),
           ('airlift_app', 'audit', false, false),
           ('airlift_app', 'report', true, false),
           ('airlift_app', 'staging', false, false),
           ('airlift_app', 'sync', false, false),
           ('airlift_auditor', 'app', false, false),
           ('airlift_auditor', 'audit', true, false),
           ('airlift_auditor', 'report', false, false),
           ('airlift_auditor', 'staging', false, false),
           ('airlift_auditor', 'sync', true, false),
           ('airlift_owner', 'app', true, true),
           ('airlift_owner', 'audit', true, true),
           ('airlift_owner', 'report', true, true),
           ('airlift_owner', 'staging', true, true),
           ('airlift_owner', 'sync', true, true),
           ('airlift_readonly', 'app', true, false),
           ('airlift_readonly', 'audit', false, false),
           ('airlift_readonly', 'report', true, false),
           ('airlift_readonly', 'staging', false, false),
           ('airlift_readonly', 'sync', false, false),
           ('airlift_sync', 'app', true, false),
           ('airlift_sync', 'audit', false, false),
           ('airlift_sync', 'report', true, false),
           ('airlift_sync', 'staging', true, false),
           ('airlift_sync', 'sync', true, false)$$,
  'schema USAGE and CREATE of every role on every schema match the least-privilege matrix'
);

select schema_privs_are('app', 'airlift_owner', array['CREATE', 'USAGE'], 'airlift_owner has CREATE and USAGE on schema app');
select schema_privs_are('staging', 'airlift_sync', array['USAGE'], 'airlift_sync has USAGE (no CREATE) on schema staging');
select schema_privs_are('audit', 'airlift_sync', array[]::name[], 'airlift_sync has no privilege on schema audit');
select schema_privs_are('sync', 'airlift_app', array[]::name[], 'airlift_app has no privilege on schema sync');
select schema_privs_are('report', 'airlift_readonly', array['USAGE'], 'airlift_readonly has USAGE on schema report');
select schema_privs_are('audit', 'airlift_auditor', array['USAGE'], 'airlift_auditor has USAGE on schema audit');
select schema_privs_are('app', 'airlift_auditor', array[]::name[], 'airlift_auditor has no privilege on schema app');

select is_empty(
  $$select n.nspname, a.privilege_type
    from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
    where n.nspname in ('app', 'sync', 'staging', 'audit', 'report') and a.grantee = 0$$,
  'PUBLIC has no privilege on the five schemas'
);

-- ---------------------------------------------------------------------------
-- Table and function privileges.
-- ---------------------------------------------------------------------------
select table_privs_are('app', 'clients', 'airlift_app', array['DELETE', 'INSERT', 'SELECT', 'UPDATE'],
  'airlift_app may select, insert, update and delete app.clients (no TRUNCATE, REFERENCES, TRIGGER)');
select table_privs_are('report', 'client_portfolio', 'airlift_app', array['SELECT'],
  'airlift_app may only select report.client_portfolio');
select table_privs_are('sync', 'runs', 'airlift_app', array[]::name[],
  'airlift_app has no privilege on sync.runs');
select table_privs_are('app', 'registrations', 'airlift_sync', array['SELECT'],
  'airlift_sync may only select app.registrations');
select table_privs_are('staging', 'source_records', 'airlift_sync', array['DELETE', 'INSERT', 'SELECT', 'UPDATE'],
  'airlift_sync may select, insert, update and delete staging.source_records');
select table_privs_are('sync', 'runs', 'airlift_sync', array['DELETE', 'INSERT', 'SELECT', 'UPDATE'],
  'airlift_sync may select, insert, update and delete sync.runs');
select table_privs_are('sync', 'status_transitions', 'airlift_sync', array['SELECT'],
  'airlift_sync may only read the state machines in sync.status_transitions');
select table_privs_are('app', 'clients', 'airlift_readonly', array['SELECT'],
  'airlift_readonly may only select app.clients');
select table_privs_are('audit', 'changes', 'airlift_auditor', array['SELECT'],
  'airlift_auditor may only select audit.changes');
select table_privs_are('sync', 'runs', 'airlift_auditor', array['SELECT'],
  'airlift_auditor may only select sync.runs');

select is_empty(
  $$select n.nspname, c.relname, a.privilege_type
    from pg_class c join pg_namespace n on n.oid = c.relnamespace,
         aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
    where n.nspname in ('app', 'sync', 'staging', 'audit', 'report') and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and a.grantee = 0$$,
  'PUBLIC has no privilege on any table, view or sequence of the five schemas'
);
select is_empty(
  $$select n.nspname, c.relname, pg_get_userbyid(a.grantee), a.privilege_type
    from pg_class c join pg_namespace n on n.oid = c.relnamespace,
         aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
    where n.nspname in ('app', 'sync', 'staging', 'audit', 'report') and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and a.grantee <> c.relowner
      and a.privilege_type not in ('SELECT', 'INSERT', 'UPDATE', 'DELETE')$$,
  'no role but the owner holds TRUNCATE, REFERENCES, TRIGGER or MAINTAIN on any table of the five schemas'
);

select function_privs_are('report', 'refresh_materialized_views', array[]::name[], 'airlift_sync', array['EXECUTE'],
  'airlift_sync may execute report.refresh_materialized_views()');
select function_privs_are('report', 'refresh_materialized_views', array[]::name[], 'airlift_readonly', array[]::name[],
  'airlift_readonly may not execute report.refresh_materialized_views()');
select is_empty(
  $$select p.oid::regprocedure
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
         aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where n.nspname in ('app', 'sync', 'staging', 'audit', 'report') and a.grantee = 0$$,
  'PUBLIC may execute no function of the five schemas'
);

-- ---------------------------------------------------------------------------
-- airlift_app: reads and writes app, reads report; nothing else.
-- ---------------------------------------------------------------------------
set local role airlift_app;
select lives_ok(
  $$insert into app.clients (id, name, client_code, status) values ('08000000-0000-4000-8000-000000000001', 'Privilege Test Client', 'PTC', 'Active')$$,
  'airlift_app can insert into app.clients'
);
select lives_ok(
  $$update app.clients set status = 'On Hold' where id = '08000000-0000-4000-8000-000000000001'$$,
  'airlift_app can update app.clients'
);
select lives_ok(
  $$delete from app.clients where id = '08000000-0000-4000-8000-000000000001'$$,
  'airlift_app can delete from app.clients'
);
select lives_ok(
  $$select * from report.client_portfolio$$,
  'airlift_app can select report.client_portfolio'
);
select throws_ok(
  $$insert into sync.runs (run_type) values ('full')$$,
  '42501', 'permission denied for schema sync',
  'airlift_app cannot insert into sync.runs'
);
select throws_ok(
  $$select * from staging.source_records$$,
  '42501', 'permission denied for schema staging',
  'airlift_app cannot select staging.source_records'
);
select throws_ok(
  $$select * from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_app cannot select audit.changes'
);
select throws_ok(
  $$truncate app.clients$$,
  '42501', 'permission denied for table clients',
  'airlift_app cannot truncate app.clients'
);
select throws_ok(
  $$refresh materialized view report.client_portfolio$$,
  '42501',
  -- PostgreSQL 17 added the MAINTAIN privilege and reworded the refusal.
  case when current_setting('server_version_num')::int >= 170000
       then 'permission denied for materialized view client_portfolio'
       else 'must be owner of materialized view client_portfolio' end,
  'airlift_app cannot refresh a report materialized view'
);
select throws_ok(
  $$create table app.app_made_table (id int)$$,
  '42501', 'permission denied for schema app',
  'airlift_app cannot create a table in app (no DDL)'
);
reset role;

-- ---------------------------------------------------------------------------
-- airlift_sync: reads app, writes staging and sync, refreshes reports
-- through the function; no app writes, no audit, no DDL.
-- ---------------------------------------------------------------------------
set local role airlift_sync;
select lives_ok(
  $$insert into sync.runs (id, run_type, status, actor) overriding system value values (80001, 'full', 'running', 'pgtap 080')$$,
  'airlift_sync can insert into sync.runs'
);
select lives_ok(
  $$insert into sync.record_errors (id, run_id, source_table, source_key, field, value, reason)
    values ('08000000-0000-4000-8000-000000000002', 80001, 'tblPrivilegeTest1', 'recPrivilegeTest01', 'Client', '"recMissing"', 'dangling link')$$,
  'airlift_sync can insert into sync.record_errors'
);
select lives_ok(
  $$insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash, run_id)
    values ('appPrivilegeTest1', 'tblPrivilegeTest1', 'recPrivilegeTest01', '{"Name": "x"}', now(), repeat('0', 64), 80001)$$,
  'airlift_sync can insert into staging.source_records'
);
select lives_ok(
  $$select * from app.registrations$$,
  'airlift_sync can select app.registrations'
);
select lives_ok(
  $$select report.refresh_materialized_views()$$,
  'airlift_sync can execute report.refresh_materialized_views()'
);
select throws_ok(
  $$insert into app.clients (id, name) values ('08000000-0000-4000-8000-000000000003', 'Written by the worker')$$,
  '42501', 'permission denied for table clients',
  'airlift_sync cannot insert into app.clients directly'
);
select throws_ok(
  $$update app.clients set name = 'Renamed by the worker'$$,
  '42501', 'permission denied for table clients',
  'airlift_sync cannot update app.clients directly'
);
select throws_ok(
  $$select * from audit.changes$$,
  '42501', 'permission denied for schema audit',
  'airlift_sync cannot select audit.changes'
);
select throws_ok(
  $$create table app.worker_made_table (id int)$$,
  '42501', 'permission denied for schema app',
  'airlift_sync cannot create a table in app (no DDL)'
);
select throws_ok(
  $$create table sync.worker_made_table (id int)$$,
  '42501', 'permission denied for schema sync',
  'airlift_sync cannot create a table in sync (no DDL)'
);
select throws_ok(
  $$create table staging.worker_made_table (id int)$$,
  '42501', 'permission denied for schema staging',
  'airlift_sync cannot create a table in staging (no DDL)'
);
select throws_ok(
  $$insert into sync.status_transitions (machine, from_status, to_status) values ('sync.runs', 'completed', 'running')$$,
  '42501', 'permission denied for table status_transitions',
  'airlift_sync cannot add a move to sync.status_transitions'
);
select throws_ok(
  $$update sync.status_transitions set to_status = 'completed' where machine = 'sync.runs' and from_status = 'failed'$$,
  '42501', 'permission denied for table status_transitions',
  'airlift_sync cannot change sync.status_transitions'
);
select throws_ok(
  $$refresh materialized view report.registration_status_by_state$$,
  '42501',
  -- PostgreSQL 17 added the MAINTAIN privilege and reworded the refusal.
  case when current_setting('server_version_num')::int >= 170000
       then 'permission denied for materialized view registration_status_by_state'
       else 'must be owner of materialized view registration_status_by_state' end,
  'airlift_sync cannot refresh a materialized view directly, only through report.refresh_materialized_views()'
);
reset role;

-- ---------------------------------------------------------------------------
-- airlift_readonly: reads app and report, writes nothing.
-- ---------------------------------------------------------------------------
set local role airlift_readonly;
select lives_ok(
  $$select * from app.clients$$,
  'airlift_readonly can select app.clients'
);
select lives_ok(
  $$select * from report.registration_status_by_state$$,
  'airlift_readonly can select report.registration_status_by_state'
);
select lives_ok(
  $$select * from report.registrations_expiring$$,
  'airlift_readonly can select report.registrations_expiring'
);
select throws_ok(
  $$insert into app.clients (id, name) values ('08000000-0000-4000-8000-000000000004', 'Written by a reader')$$,
  '42501', 'permission denied for table clients',
  'airlift_readonly cannot insert into app.clients'
);
select throws_ok(
  $$select * from sync.runs$$,
  '42501', 'permission denied for schema sync',
  'airlift_readonly cannot select sync.runs'
);
select throws_ok(
  $$select report.refresh_materialized_views()$$,
  '42501', 'permission denied for function refresh_materialized_views',
  'airlift_readonly cannot execute report.refresh_materialized_views()'
);
reset role;

-- ---------------------------------------------------------------------------
-- airlift_auditor: reads audit and sync; no app, no writes.
-- ---------------------------------------------------------------------------
set local role airlift_auditor;
select lives_ok(
  $$select * from audit.changes$$,
  'airlift_auditor can select audit.changes'
);
select lives_ok(
  $$select * from sync.runs$$,
  'airlift_auditor can select sync.runs'
);
select throws_ok(
  $$insert into audit.changes (table_name, record_id, op, new_values, db_role) values ('app.clients', 'x', 'INSERT', '{}', 'forged')$$,
  '42501', 'permission denied for table changes',
  'airlift_auditor cannot insert into audit.changes'
);
select throws_ok(
  $$select * from app.clients$$,
  '42501', 'permission denied for schema app',
  'airlift_auditor cannot select app.clients (no usage on app)'
);
select throws_ok(
  $$insert into sync.runs (run_type) values ('full')$$,
  '42501', 'permission denied for table runs',
  'airlift_auditor cannot insert into sync.runs'
);
reset role;

-- ---------------------------------------------------------------------------
-- PUBLIC: a role with no grants reaches nothing.
-- ---------------------------------------------------------------------------
create role tmp_nobody;
set local role tmp_nobody;
select throws_ok(
  $$select * from app.clients$$,
  '42501', 'permission denied for schema app',
  'a role with only PUBLIC''s rights cannot select app.clients'
);
select throws_ok(
  $$select * from report.client_portfolio$$,
  '42501', 'permission denied for schema report',
  'a role with only PUBLIC''s rights cannot select report.client_portfolio'
);
reset role;

select * from finish();
ROLLBACK;
