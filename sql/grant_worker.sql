/*
 * graphile-worker's schema is installed by `airlift migrate` as
 * airlift_owner (its own migrations, run by graphile-worker's
 * runMigrations), so that the worker itself can run as airlift_sync, which
 * may not run DDL: an installed, up-to-date graphile_worker schema needs
 * none. Idempotent.
 */
grant usage on schema graphile_worker to airlift_sync;
grant select, insert, update, delete on all tables in schema graphile_worker to airlift_sync;
grant usage, select, update on all sequences in schema graphile_worker to airlift_sync;
grant execute on all functions in schema graphile_worker to airlift_sync;
