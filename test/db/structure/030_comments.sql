-- Every SQL object carries a comment: the five schemas, and in them every
-- table, view, materialized view, column (system columns aside) and function.
-- A blank comment counts as none. Each failure lists the objects lacking one.
BEGIN;
select plan(11);

-- The schemas themselves ---------------------------------------------------
select ok(coalesce(btrim(obj_description('app'::regnamespace, 'pg_namespace')), '') <> '',
  'schema app has a comment');
select ok(coalesce(btrim(obj_description('sync'::regnamespace, 'pg_namespace')), '') <> '',
  'schema sync has a comment');
select ok(coalesce(btrim(obj_description('staging'::regnamespace, 'pg_namespace')), '') <> '',
  'schema staging has a comment');
select ok(coalesce(btrim(obj_description('audit'::regnamespace, 'pg_namespace')), '') <> '',
  'schema audit has a comment');
select ok(coalesce(btrim(obj_description('report'::regnamespace, 'pg_namespace')), '') <> '',
  'schema report has a comment');

-- Relations ------------------------------------------------------------------
select is_empty(
  $$select c.oid::regclass::text from pg_class c
     where c.relnamespace in ('app'::regnamespace, 'sync'::regnamespace, 'staging'::regnamespace,
                              'audit'::regnamespace, 'report'::regnamespace)
       and c.relkind in ('r', 'p', 'f')
       and coalesce(btrim(obj_description(c.oid, 'pg_class')), '') = ''
     order by 1$$,
  'every table in app, sync, staging, audit and report has a comment');
select is_empty(
  $$select c.oid::regclass::text from pg_class c
     where c.relnamespace in ('app'::regnamespace, 'sync'::regnamespace, 'staging'::regnamespace,
                              'audit'::regnamespace, 'report'::regnamespace)
       and c.relkind = 'v'
       and coalesce(btrim(obj_description(c.oid, 'pg_class')), '') = ''
     order by 1$$,
  'every view in app, sync, staging, audit and report has a comment');
select is_empty(
  $$select c.oid::regclass::text from pg_class c
     where c.relnamespace in ('app'::regnamespace, 'sync'::regnamespace, 'staging'::regnamespace,
                              'audit'::regnamespace, 'report'::regnamespace)
       and c.relkind = 'm'
       and coalesce(btrim(obj_description(c.oid, 'pg_class')), '') = ''
     order by 1$$,
  'every materialized view in app, sync, staging, audit and report has a comment');

-- Columns ----------------------------------------------------------------------
select is_empty(
  $$select c.oid::regclass::text || '.' || a.attname from pg_class c
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where c.relnamespace in ('app'::regnamespace, 'sync'::regnamespace, 'staging'::regnamespace,
                              'audit'::regnamespace, 'report'::regnamespace)
       and c.relkind in ('r', 'p', 'f')
       and coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''
     order by 1$$,
  'every column of every table in app, sync, staging, audit and report has a comment');
select is_empty(
  $$select c.oid::regclass::text || '.' || a.attname from pg_class c
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where c.relnamespace in ('app'::regnamespace, 'sync'::regnamespace, 'staging'::regnamespace,
                              'audit'::regnamespace, 'report'::regnamespace)
       and c.relkind in ('v', 'm')
       and coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''
     order by 1$$,
  'every column of every view and materialized view in app, sync, staging, audit and report has a comment');

-- Functions and procedures -------------------------------------------------------
select is_empty(
  $$select p.oid::regprocedure::text from pg_proc p
     where p.pronamespace in ('app'::regnamespace, 'sync'::regnamespace, 'staging'::regnamespace,
                              'audit'::regnamespace, 'report'::regnamespace)
       and not exists (select from pg_depend d
                        where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
       and coalesce(btrim(obj_description(p.oid, 'pg_proc')), '') = ''
     order by 1$$,
  'every function and procedure in app, sync, staging, audit and report has a comment');

select * from finish();
ROLLBACK;
