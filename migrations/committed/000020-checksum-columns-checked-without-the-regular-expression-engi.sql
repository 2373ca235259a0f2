--! Previous: sha1:7ee5d88840707368f2985df831f8aa7112ed2377
--! Hash: sha1:10e653444d608c551d607c60c219615940a56e80
--! Message: Checksum columns checked without the regular expression engine (sync.is_sha256_hex): about 8 s per million rows written on each of four checksum CHECKs

/*
 * Checksum columns checked without the regular expression engine: the
 * CHECK `checksum ~ '^[0-9a-f]{64}$'` cost about 8 s per million rows on
 * each of the four tables a large load writes (staging twice, the id map,
 * the target checksums); sync.is_sha256_hex costs under 0.5 s. Each
 * constraint keeps its name and its meaning; it is added NOT VALID and
 * then validated, so existing rows are checked without blocking writers.
 */
--! Included canonical/checksums.sql
/*
 * Record and table checksums: a record's checksum is the SHA-256 of its
 * canonical form's text; a table's is order-independent (count and sums of
 * 64-bit hash terms), so two sides compare without sorting a million keys.
 */

-- Not strict, so that it is inlined into the CHECK constraints that use it
-- (a null checksum passes them, as a null does any CHECK).
create or replace function sync.is_sha256_hex(p_value text) returns boolean
language sql immutable parallel safe
as $$
  -- 64 characters that decode as hex into 32 bytes (decode skips
  -- whitespace, so a space would leave fewer), in lower case. decode raises
  -- on a character that is not a hex digit: such a row is refused either way.
  select octet_length(p_value) = 64 and octet_length(decode(p_value, 'hex')) = 32 and p_value = lower(p_value collate "C")
$$;
comment on function sync.is_sha256_hex(text) is E'True when a text is a SHA-256 digest in lower-case hex (what the checksum columns hold); used by their CHECK constraints instead of the regular expression ^[0-9a-f]{64}$, which cost about 8 s per million rows written where this costs under 0.5 s. A character that is not a hex digit raises invalid hexadecimal digit instead of returning false.';

create or replace function sync.checksum(p_canonical jsonb) returns text
language sql immutable parallel safe strict
as $$ select encode(sha256(convert_to(p_canonical::text, 'UTF8')), 'hex') $$;
comment on function sync.checksum(jsonb) is E'SHA-256 (hex) of a canonical form''s text: the record checksum stored in staging and in sync.id_map.';

create or replace function sync.checksum_term(p_checksum text, p_seed bigint) returns bigint
language sql immutable parallel safe strict
as $$ select hashtextextended(p_checksum, p_seed) $$;
comment on function sync.checksum_term(text, bigint) is E'A record checksum''s term in an order-independent table checksum: PostgreSQL''s 64-bit hash of the checksum text under a seed (two seeds give two independent 64-bit sums). Cheaper than slicing the hex (a million terms in about 20 ms); any change of the record checksum changes it. Inlinable.';

create or replace function sync.table_checksum_text(p_records numeric, p_first numeric, p_second numeric) returns text
language sql immutable parallel safe
as $$ select concat_ws(':', coalesce(p_records, 0), coalesce(p_first, 0), coalesce(p_second, 0)) $$;
comment on function sync.table_checksum_text(numeric, numeric, numeric) is E'The text of a table checksum from its parts (record count, the sums of the record checksums'' terms under seeds 0 and 1, see sync.checksum_term). Parts add up across key ranges, so a checksum computed range by range equals the one computed in one pass.';

create or replace function sync.table_checksum(p_checksums text[]) returns text
language sql immutable parallel safe
as $$
  -- Order-independent: a count and two sums of 64-bit hashes of the
  -- checksums; the same records in any order give the same text.
  select sync.table_checksum_text(count(c), sum(sync.checksum_term(c, 0)), sum(sync.checksum_term(c, 1)))
  from unnest(p_checksums) as c
$$;
comment on function sync.table_checksum(text[]) is E'An order-independent checksum of a set of record checksums (the count and two sums of 64-bit hashes of them, see sync.checksum_term): compares whole tables in one pass.';
--! EndIncluded canonical/checksums.sql

alter table staging.airtable_records
  drop constraint if exists airtable_records_checksum_is_sha256,
  drop constraint if exists airtable_records_hash_is_sha256;
alter table staging.airtable_records
  add constraint airtable_records_checksum_is_sha256 check (sync.is_sha256_hex(checksum)) not valid,
  add constraint airtable_records_hash_is_sha256 check (sync.is_sha256_hex(content_hash)) not valid;
alter table staging.airtable_records validate constraint airtable_records_checksum_is_sha256;
alter table staging.airtable_records validate constraint airtable_records_hash_is_sha256;

alter table sync.id_map drop constraint if exists id_map_checksum_is_sha256;
alter table sync.id_map add constraint id_map_checksum_is_sha256 check (sync.is_sha256_hex(checksum)) not valid;
alter table sync.id_map validate constraint id_map_checksum_is_sha256;

alter table sync.target_checksums drop constraint if exists target_checksums_checksum_is_sha256;
alter table sync.target_checksums add constraint target_checksums_checksum_is_sha256 check (sync.is_sha256_hex(checksum)) not valid;
alter table sync.target_checksums validate constraint target_checksums_checksum_is_sha256;

-- the new function is granted as every sync function is (the sync role writes staging)
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
