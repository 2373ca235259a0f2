-- The small functions that verification and snapshots are built on, each
-- with known values: the terms and text of an order-independent table
-- checksum, the quoted column lists and primary keys a restore builds its
-- statements from, the tables a snapshot copies, and the advisory locks
-- that keep pulls out of a snapshot or a restore. (The canonical forms of
-- staged records, and the mapped columns they are made of, are in
-- integrity/010_integrity.sql, with its staged fixtures.)
BEGIN;
select plan(17);

-- ---------------------------------------------------------------------------
-- sync.checksum_term, sync.table_checksum_text
-- ---------------------------------------------------------------------------
select is(sync.checksum_term('a' || repeat('0', 63), 0), hashtextextended('a' || repeat('0', 63), 0),
  'a checksum''s term is PostgreSQL''s 64-bit hash of its text under the seed');
select isnt(sync.checksum_term('a' || repeat('0', 63), 0), sync.checksum_term('a' || repeat('0', 63), 1),
  'the two seeds give two different terms');
select isnt(sync.checksum_term('a' || repeat('0', 63), 0), sync.checksum_term('a' || repeat('0', 62) || '1', 0),
  'a change of one hex digit changes the term');
select is(sync.checksum_term(null, 0), null, 'no checksum, no term (strict)');
select is(sync.table_checksum_text(3, 10, -20), '3:10:-20', 'a table checksum''s text: records, first sum and second sum');
select is(sync.table_checksum_text(null, null, null), '0:0:0', 'an empty table''s checksum text has zeros, not nothing');
select is(sync.table_checksum(array['a' || repeat('0', 63), 'b' || repeat('1', 63)]),
          sync.table_checksum_text(2, sync.checksum_term('a' || repeat('0', 63), 0)::numeric + sync.checksum_term('b' || repeat('1', 63), 0),
                                      sync.checksum_term('a' || repeat('0', 63), 1)::numeric + sync.checksum_term('b' || repeat('1', 63), 1)),
  'a table checksum is the count and the two sums of its records'' terms: parts that add up across key ranges');

-- ---------------------------------------------------------------------------
-- sync.column_list, sync.primary_key_columns
-- ---------------------------------------------------------------------------
select is(sync.column_list('s', array['id', 'source_key', 'Odd Name']), 's.id, s.source_key, s."Odd Name"',
  'columns qualified by the alias, in the order given, quoted where needed');
select is(sync.column_list(null, array['id', 'Odd Name']), 'id, "Odd Name"', 'without an alias, the bare quoted names');
select is(sync.primary_key_columns('app.registrations'), array['id'], 'an app table''s primary key is its uuid id');
select is(sync.primary_key_columns('staging.source_records'), array['source_table', 'source_key'],
  'staging''s primary key columns in key order');
create temp table no_key (a int);
select is(sync.primary_key_columns('pg_temp.no_key'), null, 'a table without a primary key has none (null)');

-- ---------------------------------------------------------------------------
-- sync.snapshot_source_tables
-- ---------------------------------------------------------------------------
select ok((select bool_and(copy_name = replace(source_table::text, '.', '__')) from sync.snapshot_source_tables()),
  'each copy is named <schema>__<table>');
select set_eq(
  $$select source_table::text from sync.snapshot_source_tables() where source_table::text not like 'app.%'$$,
  $$values ('sync.id_map'), ('staging.source_records') union all select tests.example_target_tables()$$,
  'besides schema app, a snapshot copies the other entities'' target tables (the examples''), the id map and staging, and nothing else');
select set_eq(
  $$select source_table::text from sync.snapshot_source_tables() where source_table::text like 'app.%'$$,
  $$select c.oid::regclass::text from pg_class c where c.relnamespace = 'app'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition$$,
  'every table of schema app, and no view');

-- ---------------------------------------------------------------------------
-- sync.lock_out_pulls (refused while another session's pull holds the
-- lock: see test/snapshot.test.ts, which runs a pull alongside)
-- ---------------------------------------------------------------------------
insert into sync.entity_mappings (entity, source_id, source_table, table_name, field_ids, field_names, attachment_field_ids, last_modified_field_id)
values ('clients', 'appLOCKOUTTEST001', 'tblLOCKOUTTEST001', 'Clients', '{"name": "fldLOCKOUTTEST001"}', '{"name": "Client Name"}', '{}', 'fldLOCKOUTTEST002');
select lives_ok($$select sync.lock_out_pulls('take a snapshot')$$, 'no pull runs: the locks are taken');
select is(
  (select count(*)::int from pg_locks l
   where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.granted
     and (l.classid::bigint << 32 | l.objid::bigint) = hashtextextended('airlift:pull:appLOCKOUTTEST001', 0)),
  1, 'the lock a pull of the base holds is now held by this transaction, so no pull starts');

select * from finish();
ROLLBACK;
