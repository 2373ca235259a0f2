-- The checksum columns (staging's content hash and checksum, the id map's
-- and the target checksums') hold SHA-256 digests in lower-case hex. Their
-- CHECK constraints call sync.is_sha256_hex, which does without the regular
-- expression engine (about 8 s per million rows written); these tests prove
-- it accepts and refuses exactly what ^[0-9a-f]{64}$ did, that it is inlined
-- (plain SQL, immutable, not strict), and that each table refuses a bad
-- digest.
BEGIN;
select plan(18);

select is(sync.is_sha256_hex(encode(sha256('x'), 'hex')), true, 'a SHA-256 digest in hex is one');
select is(sync.is_sha256_hex(repeat('0', 64)), true, 'sixty-four zeros are hex');
select is(sync.is_sha256_hex(repeat('a', 63)), false, '63 characters are not a digest');
select is(sync.is_sha256_hex(repeat('a', 65)), false, '65 characters are not a digest');
select is(sync.is_sha256_hex(upper(encode(sha256('x'), 'hex'))), false, 'upper-case hex is refused, as the regular expression refused it');
select throws_ok($$select sync.is_sha256_hex(repeat('a', 62) || ' b')$$, '22023', null, 'a space (which decode skips) leaves an odd number of digits: refused with an error');
select is(sync.is_sha256_hex(repeat('a', 62) || '  '), false, 'two spaces leave 31 bytes: refused');
select throws_ok($$select sync.is_sha256_hex(repeat('é', 32))$$, '22023', null, '32 two-byte characters are 64 bytes but not hex: refused with an error');
select throws_ok($$select sync.is_sha256_hex(repeat('a', 63) || 'g')$$, '22023', null, 'a character that is not a hex digit is refused with an error');
select is(sync.is_sha256_hex(null), null, 'null gives null, so a null checksum passes the CHECK');
select is((select p.prolang from pg_proc p where p.oid = 'sync.is_sha256_hex(text)'::regprocedure),
          (select oid from pg_language where lanname = 'sql'), 'it is plain SQL (inlined into the CHECKs)');
select is((select p.provolatile::text || p.proisstrict::text from pg_proc p where p.oid = 'sync.is_sha256_hex(text)'::regprocedure),
          'ifalse', 'immutable and not strict: the planner inlines it');

-- every checksum CHECK uses it, none the regular expression any more
select set_eq(
  $$select conrelid::regclass::text || '.' || conname from pg_constraint
    where contype = 'c' and pg_get_constraintdef(oid) like '%is_sha256_hex%'$$,
  array['staging.source_records.source_records_checksum_is_sha256', 'staging.source_records.source_records_hash_is_sha256',
        'sync.id_map.id_map_checksum_is_sha256', 'sync.target_checksums.target_checksums_checksum_is_sha256',
        'sync.stored_files.stored_files_sha256_is_hex'],
  'the five checksum CHECKs call sync.is_sha256_hex (the stored files'' content hash too)');
select is_empty(
  $$select conname from pg_constraint where contype = 'c' and pg_get_constraintdef(oid) like '%[0-9a-f]{64}%'$$,
  'no CHECK matches a digest with a regular expression');

-- each table refuses a bad digest (upper case: the constraint's own error)
insert into staging.source_records (source_id, source_table, source_key, fields, content_hash, checksum)
values ('appTEST', 'tblTEST', 'recOK', '{}', encode(sha256('a'), 'hex'), encode(sha256('b'), 'hex'));
select pass('a row with two lower-case digests is staged');
select throws_ok(
  $$insert into staging.source_records (source_id, source_table, source_key, fields, content_hash) values ('appTEST', 'tblTEST', 'recBAD', '{}', upper(encode(sha256('a'), 'hex')))$$,
  '23514', 'new row for relation "source_records" violates check constraint "source_records_hash_is_sha256"',
  'staging refuses a content hash in upper case');
select throws_ok(
  $$insert into sync.id_map (entity_type, legacy_id, uuid_id, source_table, target_table, checksum) values ('clients', 'recX', gen_random_uuid(), 'tbl', 'app.clients', 'abc')$$,
  '23514', 'new row for relation "id_map" violates check constraint "id_map_checksum_is_sha256"',
  'the id map refuses a checksum that is not a digest');
select throws_ok(
  $$insert into sync.target_checksums (entity, source_key, row_id, checksum, deleted) values ('clients', 'recX', gen_random_uuid(), repeat('a', 63), false)$$,
  '23514', 'new row for relation "target_checksums" violates check constraint "target_checksums_checksum_is_sha256"',
  'the target checksums refuse a short checksum');

select * from finish();
ROLLBACK;
