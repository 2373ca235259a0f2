-- Root action run by graphile-migrate after it (re)creates a database, such as
-- the shadow database used by `graphile-migrate commit`. Roles already exist
-- (sql/bootstrap_roles.sql); this gives the new database the same grants.
grant connect, create, temporary on database :DATABASE_NAME to airlift_owner;
grant connect, temporary on database :DATABASE_NAME to airlift_sync, airlift_app, airlift_readonly, airlift_auditor;
