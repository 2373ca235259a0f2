/*
 * Roles of airlift, created outside the versioned migrations (roles are
 * cluster-wide, and graphile-migrate advises against managing them in
 * migrations). Idempotent: safe to run at every start-up and on every
 * environment. Run by a role with CREATEROLE (a superuser in the embedded
 * server, ROOT_DATABASE_URL elsewhere), connected to the airlift database.
 *
 * All five are group roles (NOLOGIN). Login users are made by the DBA and
 * granted one of them; airlift itself switches to the right one with the
 * connection's `role` setting.
 */
do $bootstrap$
declare
  wanted record;
begin
  for wanted in
    select * from (values
      ('airlift_owner', 'Owns the airlift schemas and objects; runs migrations.'),
      ('airlift_sync', 'The sync worker: reads app, writes staging and sync, executes merge functions. No DDL, no audit.'),
      ('airlift_app', 'Applications: read and write the app tables, read reports.'),
      ('airlift_readonly', 'Read-only access to app and report.'),
      ('airlift_auditor', 'Reads the audit trail and the sync history.')
    ) as roles (name, purpose)
  loop
    if not exists (select from pg_roles where rolname = wanted.name) then
      execute format('create role %I nologin', wanted.name);
    end if;
    execute format('comment on role %I is %L', wanted.name, wanted.purpose);
    -- The role that bootstraps may switch to every airlift role (migrations
    -- run as airlift_owner, the worker as airlift_sync).
    if not pg_has_role(current_user, wanted.name, 'member') then
      execute format('grant %I to %I', wanted.name, current_user);
    end if;
  end loop;

  execute format('grant connect, temporary on database %I to airlift_sync, airlift_app, airlift_readonly, airlift_auditor', current_database());
  execute format('grant connect, create, temporary on database %I to airlift_owner', current_database());
end
$bootstrap$;
