--! Previous: sha1:28e49b33bacdabf70ff577974aa536976ab37e6d
--! Hash: sha1:6821cb512ff054bc48708815f48ff460a011ff00
--! Message: Attachment files kept: the store's catalogue (sync.stored_files), the download ledger (sync.attachment_downloads), app.attachments names its file by SHA-256, files attached or removed here queued for the push (sync.attachment_outbox), and the functions of the files stage

/*
 * Attachment files kept. Airtable's attachment URLs expire about two hours
 * after they are read, so keeping only metadata and a URL loses every file
 * of a business that leaves Airtable. Files are now downloaded while their
 * URL is fresh, stored once per SHA-256 in a file store outside the
 * database (a local directory or an S3-compatible bucket), verified, and
 * files attached here are pushed to Airtable.
 *
 *   sync.stored_files          the store's catalogue: one row per content
 *   sync.attachment_downloads  the download ledger, per source attachment id
 *   app.attachments            gains the file (sha256, stored size and type,
 *                              store key); a row attached here has no
 *                              Airtable id until the push uploads it
 *   sync.attachment_outbox     files attached or removed here, to push
 */

drop trigger if exists _900_capture_attachment_changes_insert on app.attachments;
drop trigger if exists _900_capture_attachment_changes_update on app.attachments;
drop trigger if exists _900_capture_attachment_changes_delete on app.attachments;
drop trigger if exists _200_fill_stored_file on app.attachments;
drop table if exists sync.attachment_outbox;
alter table app.attachments drop constraint if exists attachments_sha256_is_stored;
alter table app.attachments drop constraint if exists attachments_file_known;
alter table app.attachments drop constraint if exists attachments_stored_file_complete;
alter table app.attachments drop constraint if exists attachments_stored_size_not_negative;
alter table app.attachments drop column if exists sha256, drop column if exists stored_size_bytes,
  drop column if exists stored_mime_type, drop column if exists store_key;
drop table if exists sync.attachment_downloads;
drop table if exists sync.stored_files;

alter table sync.runs drop constraint runs_run_type_is_known;
alter table sync.runs add constraint runs_run_type_is_known
  check (run_type in ('full', 'incremental', 'push', 'verify', 'differential', 'rollback', 'files'));

/* Why: the store holds each content once; the database must know what it holds, where, and whether it was last found intact. */
create table sync.stored_files (
  sha256 text primary key,
  size_bytes bigint not null,
  content_type text,
  store_kind text not null,
  store_key text not null,
  stored_at timestamptz not null default now(),
  stored_by_run_id bigint references sync.runs (id) on delete set null,
  verified_at timestamptz,
  verify_problem text,
  constraint stored_files_sha256_is_hex check (sync.is_sha256_hex(sha256)),
  constraint stored_files_size_not_negative check (size_bytes >= 0),
  constraint stored_files_store_kind_is_known check (store_kind in ('local', 's3')),
  constraint stored_files_problem_when_verified check (verify_problem is null or verified_at is not null)
);
comment on table sync.stored_files is E'The file store''s catalogue: one row per content (SHA-256) the store holds, whichever attachments point at it. A row goes only when airlift files gc finds the content referenced by no attachment row, snapshot or audit record that still stands.';
comment on column sync.stored_files.sha256 is E'SHA-256 of the content, lower-case hex: the file''s identity.';
comment on column sync.stored_files.size_bytes is E'Bytes stored.';
comment on column sync.stored_files.content_type is E'Content type the file was served with when it was stored (or given when it was attached here).';
comment on column sync.stored_files.store_kind is E'Which store holds it: local (a directory) or s3 (a bucket).';
comment on column sync.stored_files.store_key is E'The file''s key in that store.';
comment on column sync.stored_files.stored_at is E'When the content was first stored.';
comment on column sync.stored_files.stored_by_run_id is E'The run that stored it (a pull''s download, airlift files attach).';
comment on column sync.stored_files.verified_at is E'When airlift verify last read the file back.';
comment on column sync.stored_files.verify_problem is E'What that verification found wrong (missing, wrong size, wrong SHA-256); null when the file was intact.';

/* Why: a download must be resumable and never repeated for a file already kept, whatever record or run lists it again (Airtable re-signs the URL on every read). */
create table sync.attachment_downloads (
  source_id text not null,
  attachment_key text not null,
  declared_size bigint,
  declared_type text,
  sha256 text references sync.stored_files (sha256) on delete cascade,
  size_bytes bigint,
  content_type text,
  mismatch text,
  attempts integer not null default 0,
  last_error text,
  first_run_id bigint references sync.runs (id) on delete set null,
  last_run_id bigint references sync.runs (id) on delete set null,
  last_attempt_at timestamptz not null default now(),
  downloaded_at timestamptz,
  primary key (source_id, attachment_key),
  constraint attachment_downloads_attempts_not_negative check (attempts >= 0),
  constraint attachment_downloads_file_when_downloaded check ((sha256 is null) = (downloaded_at is null) and (sha256 is null) = (size_bytes is null)),
  constraint attachment_downloads_failure_has_message check (sha256 is not null or attempts = 0 or last_error is not null)
);
comment on table sync.attachment_downloads is E'The download ledger: one row per attachment of a source (an Airtable attachment id), what its source declared, the content it was downloaded as, or why it could not be. A row that names a file is done: the attachment is not downloaded again. A row without one is retried (with a fresh URL read from the source) by every pull and airlift files download.';
comment on column sync.attachment_downloads.source_id is E'The source (an Airtable base id).';
comment on column sync.attachment_downloads.attachment_key is E'The source''s id of the attachment (att...).';
comment on column sync.attachment_downloads.declared_size is E'The size the source declared, in bytes.';
comment on column sync.attachment_downloads.declared_type is E'The content type the source declared.';
comment on column sync.attachment_downloads.sha256 is E'The content downloaded, once it is stored. Cascade: a content the store collected is downloaded again if an attachment lists it anew.';
comment on column sync.attachment_downloads.size_bytes is E'Bytes downloaded.';
comment on column sync.attachment_downloads.content_type is E'Content type the download was served with.';
comment on column sync.attachment_downloads.mismatch is E'How the file differs from what the source declared (size, type); null when it matches. The file is kept either way.';
comment on column sync.attachment_downloads.attempts is E'Download attempts that failed since the last success.';
comment on column sync.attachment_downloads.last_error is E'Why the last attempt failed (an HTTP status and message, a network error, an expired URL the source would not renew).';
comment on column sync.attachment_downloads.first_run_id is E'The run that first tried it.';
comment on column sync.attachment_downloads.last_run_id is E'The run that last tried it.';
comment on column sync.attachment_downloads.last_attempt_at is E'When it was last tried.';
comment on column sync.attachment_downloads.downloaded_at is E'When it was downloaded and stored.';
/* Why: the retry of what is still missing, every pull. */
create index attachment_downloads_missing_idx on sync.attachment_downloads (source_id) where sha256 is null;

alter table app.attachments alter column airtable_attachment_id drop not null;
alter table app.attachments drop constraint attachments_id_format;
alter table app.attachments add constraint attachments_id_format
  check (airtable_attachment_id is null or airtable_attachment_id ~ '^att[A-Za-z0-9]{14}$');
alter table app.attachments
  add column sha256 text references sync.stored_files (sha256) on delete restrict,
  add column stored_size_bytes bigint,
  add column stored_mime_type text,
  add column store_key text,
  add constraint attachments_stored_file_complete check ((sha256 is null) = (store_key is null) and (sha256 is null) = (stored_size_bytes is null)),
  add constraint attachments_stored_size_not_negative check (stored_size_bytes >= 0),
  -- a file attached here exists only in the store until the push sends it
  add constraint attachments_file_known check (airtable_attachment_id is not null or sha256 is not null);
comment on column app.attachments.airtable_attachment_id is E'Airtable attachment id (att...); null for a file attached here that the push has not sent yet.';
comment on column app.attachments.sha256 is E'The file''s content, kept in the file store (sync.stored_files); null until it is downloaded. Restrict: a stored file is never collected while a row points at it.';
comment on column app.attachments.stored_size_bytes is E'Bytes of the stored file (size_bytes is what Airtable declares).';
comment on column app.attachments.stored_mime_type is E'Content type the stored file was served with (mime_type is what Airtable declares).';
comment on column app.attachments.store_key is E'The stored file''s key in the file store (airlift files get writes it out).';
comment on table app.attachments is E'One row per file in an attachment field (a product''s Label, a registration''s Documents): Airtable''s metadata, and the file itself, kept by content in the file store once downloaded (sha256, store_key).';
/* Why: verification and the collection of unreferenced files look rows up by content. */
create index attachments_sha256_idx on app.attachments (sha256) where sha256 is not null;
/* Why: the download's link step finds rows by the source's attachment id. */
create index attachments_airtable_attachment_idx on app.attachments (airtable_attachment_id) where airtable_attachment_id is not null;

/* Why: files attached or removed here (by an application or airlift files attach/remove) must reach Airtable; the push reads this queue, as it reads sync.outbox for cells. */
create table sync.attachment_outbox (
  id bigint generated always as identity primary key,
  attachment_id uuid not null,
  entity text not null references sync.entities (entity) on delete cascade,
  owner_row_id uuid not null,
  field_name text not null,
  operation text not null,
  airtable_attachment_id text,
  status text not null default 'pending',
  attempts integer not null default 0,
  last_error text,
  changed_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  pushed_at timestamptz,
  pushed_by_run_id bigint references sync.runs (id) on delete set null,
  constraint attachment_outbox_operation_is_known check (operation in ('upload', 'remove')),
  constraint attachment_outbox_status_is_known check (status in ('pending', 'in_flight', 'pushed', 'failed', 'cancelled')),
  constraint attachment_outbox_remove_names_file check (operation <> 'remove' or airtable_attachment_id is not null),
  constraint attachment_outbox_failure_has_message check (status <> 'failed' or last_error is not null),
  constraint attachment_outbox_pushed_has_time check ((status = 'pushed') = (pushed_at is not null))
);
comment on table sync.attachment_outbox is E'Files attached (upload) or removed (remove) here, not by the sync, waiting for the push to send them to Airtable; kept with their outcome once pushed, failed (with Airtable''s message or why the file could not be sent) or cancelled (removed before it was sent).';
comment on column sync.attachment_outbox.id is E'Order of the changes.';
comment on column sync.attachment_outbox.attachment_id is E'The app.attachments row (no foreign key: a removal outlives a deleted row).';
comment on column sync.attachment_outbox.entity is E'The owner''s entity (products, registrations).';
comment on column sync.attachment_outbox.owner_row_id is E'The owning row.';
comment on column sync.attachment_outbox.field_name is E'The attachment field (app.attachments.field_name).';
comment on column sync.attachment_outbox.operation is E'upload: a file attached here; remove: a file removed here.';
comment on column sync.attachment_outbox.airtable_attachment_id is E'For a removal, the Airtable attachment to leave out of the cell.';
comment on column sync.attachment_outbox.status is E'pending, in_flight (claimed by a push), pushed, failed, cancelled.';
comment on column sync.attachment_outbox.attempts is E'Push attempts so far.';
comment on column sync.attachment_outbox.last_error is E'Why the last attempt failed.';
comment on column sync.attachment_outbox.changed_by is E'The application actor who made the change.';
comment on column sync.attachment_outbox.created_at is E'When the change was made.';
comment on column sync.attachment_outbox.updated_at is E'When the entry last changed.';
comment on column sync.attachment_outbox.pushed_at is E'When Airtable took the change.';
comment on column sync.attachment_outbox.pushed_by_run_id is E'The push run that sent it.';
/* Why: the push claims pending entries in order. */
create index attachment_outbox_pending_idx on sync.attachment_outbox (id) where status in ('pending', 'in_flight');

--! Included files/_all.sql
-- The files stage (attachment files kept by content), in dependency order (paths are relative to migrations/fixtures/).
--! Included files/fill_stored_file.sql
/*
 * An attachment row names its file by content (sha256); the store key and
 * the stored size and type come from the store's catalogue, so that an
 * application attaching a stored file gives only its SHA-256, and a row
 * never names a file the store does not hold.
 */
create or replace function sync.tg_attachments__fill_stored_file() returns trigger
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  stored sync.stored_files;
begin
  select * into stored from sync.stored_files f where f.sha256 = new.sha256;
  if not found then
    raise exception 'the file % is not in the file store: store it first (airlift files attach)', new.sha256
      using errcode = '23503', column = 'sha256', table = 'attachments', schema = 'app';
  end if;
  new.store_key := stored.store_key;
  new.stored_size_bytes := stored.size_bytes;
  new.stored_mime_type := coalesce(new.stored_mime_type, stored.content_type);
  -- a file attached here takes its metadata from the stored file
  if new.airtable_attachment_id is null then
    new.size_bytes := coalesce(new.size_bytes, stored.size_bytes);
    new.mime_type := coalesce(new.mime_type, stored.content_type);
  end if;
  return new;
end;
$$;
comment on function sync.tg_attachments__fill_stored_file() is E'BEFORE INSERT/UPDATE OF sha256 row trigger of app.attachments (only when the store key is not given): fills store_key, stored_size_bytes and stored_mime_type (and, for a file attached here, size_bytes and mime_type) from sync.stored_files; refuses (23503) a SHA-256 the store does not hold. Security definer: applications may not read sync.';
--! EndIncluded files/fill_stored_file.sql
--! Included files/link_attachment_files.sql
/*
 * Downloads run beside the listing and the merge: a file may be stored
 * before or after the merge writes its attachment row. Linking puts the
 * stored file on every row of that attachment that does not name it yet,
 * set-based, as the run's own change (audited with the run, never pushed).
 */
create or replace function sync.link_attachment_files(p_run_id bigint, p_source_id text, p_attachment_keys text[] default null) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  linked bigint;
begin
  perform set_config('airlift.run_id', p_run_id::text, true);
  update app.attachments a
  set sha256 = f.sha256, store_key = f.store_key, stored_size_bytes = f.size_bytes, stored_mime_type = coalesce(d.content_type, f.content_type)
  from sync.attachment_downloads d
  join sync.stored_files f on f.sha256 = d.sha256
  where d.source_id = p_source_id
    and (p_attachment_keys is null or d.attachment_key = any (p_attachment_keys))
    and a.airtable_attachment_id = d.attachment_key
    and a.sha256 is distinct from d.sha256;
  get diagnostics linked = row_count;
  return linked;
end;
$$;
comment on function sync.link_attachment_files(bigint, text, text[]) is E'Puts each downloaded file (sync.attachment_downloads of a source, all of them or those of p_attachment_keys) on the app.attachments rows of its attachment that do not name it yet, as run p_run_id''s change (audited with the run, not captured for the push); returns the rows linked. Called after each batch of downloads and by the merge. Security definer: the sync role may not write app tables directly.';
--! EndIncluded files/link_attachment_files.sql
--! Included files/record_attachment_downloads.sql
/*
 * A batch of downloads recorded in one call: the files stored enter the
 * store's catalogue, the ledger takes each attachment's outcome (its file,
 * how it differs from what the source declared, or why it failed).
 */
create or replace function sync.record_attachment_downloads(p_run_id bigint, p_source_id text, p_results jsonb) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform set_config('airlift.run_id', p_run_id::text, true);
  create temporary table if not exists attachment_download_results (
    attachment_key text, declared_size bigint, declared_type text, sha256 text, size_bytes bigint, content_type text,
    store_kind text, store_key text, error text
  ) on commit drop;
  truncate attachment_download_results;
  insert into attachment_download_results
  select r.attachment_key, r.declared_size, nullif(r.declared_type, ''), r.sha256, r.size_bytes, nullif(r.content_type, ''), r.store_kind, r.store_key, r.error
  from jsonb_to_recordset(p_results) as r (attachment_key text, declared_size bigint, declared_type text, sha256 text, size_bytes bigint,
                                           content_type text, store_kind text, store_key text, error text);

  if exists (select from attachment_download_results where attachment_key is null or (sha256 is null) = (error is null)) then
    raise exception 'each download result names its attachment and either its file (sha256) or its error'
      using errcode = '22023';
  end if;

  -- a content stored again after verification found it missing or corrupt is intact again
  insert into sync.stored_files as f (sha256, size_bytes, content_type, store_kind, store_key, stored_by_run_id)
  select distinct on (r.sha256) r.sha256, r.size_bytes, r.content_type, r.store_kind, r.store_key, p_run_id
  from attachment_download_results r
  where r.sha256 is not null
  order by r.sha256
  on conflict (sha256) do update
    set store_kind = excluded.store_kind, store_key = excluded.store_key, verified_at = null, verify_problem = null
    where f.verify_problem is not null;

  insert into sync.attachment_downloads as d (source_id, attachment_key, declared_size, declared_type, sha256, size_bytes, content_type, mismatch,
                                              attempts, last_error, first_run_id, last_run_id, last_attempt_at, downloaded_at)
  select distinct on (r.attachment_key)
         p_source_id, r.attachment_key, r.declared_size, r.declared_type, r.sha256, r.size_bytes, r.content_type,
         nullif(concat_ws('; ',
           case when r.sha256 is not null and r.declared_size is not null and r.declared_size <> r.size_bytes
                then format('declared %s bytes, the file has %s', r.declared_size, r.size_bytes) end,
           case when r.sha256 is not null and r.declared_type is not null and r.content_type is not null
                 and lower(btrim(split_part(r.declared_type, ';', 1))) <> lower(btrim(split_part(r.content_type, ';', 1)))
                then format('declared type %s, the file was served as %s', r.declared_type, r.content_type) end), ''),
         case when r.sha256 is null then 1 else 0 end, r.error, p_run_id, p_run_id, now(),
         case when r.sha256 is not null then now() end
  from attachment_download_results r
  order by r.attachment_key, r.sha256 nulls last
  on conflict (source_id, attachment_key) do update
    set declared_size = excluded.declared_size, declared_type = excluded.declared_type,
        sha256 = coalesce(excluded.sha256, d.sha256), size_bytes = coalesce(excluded.size_bytes, d.size_bytes),
        content_type = case when excluded.sha256 is not null then excluded.content_type else d.content_type end,
        mismatch = case when excluded.sha256 is not null then excluded.mismatch else d.mismatch end,
        attempts = case when excluded.sha256 is not null then 0 else d.attempts + 1 end,
        last_error = excluded.last_error, last_run_id = p_run_id, last_attempt_at = now(),
        downloaded_at = case when excluded.sha256 is not null then now() else d.downloaded_at end
    -- a failure never undoes a success: the file is kept
    where excluded.sha256 is not null or d.sha256 is null;

  -- the rows are linked by the merge and at the end of the run
  -- (sync.link_attachment_files), never here: a download recorded while a
  -- merge writes the same rows would wait on it, or deadlock with it
  return (select count(*) from attachment_download_results);
end;
$$;
comment on function sync.record_attachment_downloads(bigint, text, jsonb) is E'Records a batch of downloads of run p_run_id from source p_source_id (a JSON array of {attachment_key, declared_size, declared_type, and either sha256, size_bytes, content_type, store_kind, store_key or error}): stored files enter sync.stored_files, each attachment''s outcome enters sync.attachment_downloads (a mismatch with the declared size or type is noted, the file kept; a failure counts an attempt and never undoes an earlier success); returns the outcomes recorded. The rows of the attachments are linked to their files by the merge and at the end of the run (sync.link_attachment_files). Security definer: the ledger is the sync''s own bookkeeping, written only through this function and the push''s.';
--! EndIncluded files/record_attachment_downloads.sql
--! Included files/attachments_missing_files.sql
/*
 * What is still to download: attachments that rows here list and whose
 * file is not stored (a pull killed mid-download, a URL that expired, a
 * failure), with what the source needs to read their record again for a
 * fresh URL. One statement over every entity with attachment fields.
 */
create or replace function sync.attachments_missing_files(p_source_id text, p_limit integer default 1000)
returns table (attachment_key text, entity text, source_table text, record_key text, field_id text, field_name text,
               filename text, url text, url_fetched_at timestamptz, declared_size bigint, declared_type text, attempts integer, last_error text)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  parts text;
begin
  select string_agg(format($sql$
      select a.airtable_attachment_id, %1$L::text, %2$L::text, i.legacy_id, %3$L::jsonb ->> a.field_name, a.field_name,
             a.filename, a.url, a.url_fetched_at, a.size_bytes, a.mime_type
      from app.attachments a
      join sync.id_map i on i.entity_type = %1$L and i.uuid_id = a.%4$I
      where a.%4$I is not null and a.sha256 is null and a.deleted_at is null and a.airtable_attachment_id is not null
        and %3$L::jsonb ? a.field_name
    $sql$, m.entity, m.source_table, m.attachment_field_ids, e.attachment_owner_column), ' union all ')
  into parts
  from sync.entity_mappings m
  join sync.entities e on e.entity = m.entity
  where m.source_id = p_source_id and e.attachment_owner_column is not null and m.attachment_field_ids <> '{}'::jsonb;
  if parts is null then
    return;
  end if;
  return query execute format($sql$
    select distinct on (x.key) x.key, x.entity, x.source_table, x.record_key, x.field_id, x.field_name, x.filename, x.url, x.url_fetched_at,
           x.declared_size, x.declared_type, coalesce(d.attempts, 0), d.last_error
    from (%s) as x (key, entity, source_table, record_key, field_id, field_name, filename, url, url_fetched_at, declared_size, declared_type)
    left join sync.attachment_downloads d on d.source_id = $1 and d.attachment_key = x.key
    where d.sha256 is null
    order by x.key
    limit $2
  $sql$, parts) using p_source_id, p_limit;
end;
$$;
comment on function sync.attachments_missing_files(text, integer) is E'Attachments of source p_source_id that live app.attachments rows list and whose file is not stored yet (never downloaded, or failed: attempts and last_error from sync.attachment_downloads), at most p_limit, with the record''s key, table and field id in the source so that the record can be read again for a fresh URL. Security definer: the sync role reads the id map and app rows through it.';
--! EndIncluded files/attachments_missing_files.sql
--! Included files/attachment_file_problems.sql
/*
 * Verification of attachments on the database's side: every live
 * attachment must have its file stored, and a file that differs from what
 * the source declared is reported. The store's side (is the file there,
 * does its SHA-256 match) is read back by airlift verify and recorded with
 * sync.record_file_verification.
 */
create or replace function sync.attachment_file_problems()
returns table (attachment_id uuid, airtable_attachment_id text, field_name text, filename text, sha256 text, problem text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select a.id, a.airtable_attachment_id, a.field_name, a.filename, a.sha256,
         case
           when a.sha256 is null then 'not downloaded' || coalesce(format(' (%s attempts, last: %s)', d.attempts, d.last_error), '')
           when f.verify_problem is not null then f.verify_problem
           when a.airtable_attachment_id is not null and a.size_bytes is not null and a.size_bytes <> a.stored_size_bytes
             then format('Airtable declares %s bytes, the stored file has %s', a.size_bytes, a.stored_size_bytes)
         end
  from app.attachments a
  left join sync.stored_files f on f.sha256 = a.sha256
  left join sync.attachment_downloads d on d.attachment_key = a.airtable_attachment_id and d.sha256 is null
  where a.deleted_at is null
    and (a.sha256 is null or f.verify_problem is not null
         or (a.airtable_attachment_id is not null and a.size_bytes is not null and a.size_bytes <> a.stored_size_bytes))
  order by a.field_name, a.filename, a.id
$$;
comment on function sync.attachment_file_problems() is E'Live attachments whose file is missing from the store or not as declared: not downloaded (with the download''s attempts and last error), missing or corrupt when last verified (sync.stored_files.verify_problem), or of another size than Airtable declares. Security definer: the sync role reads the ledger and app rows through one function.';
--! EndIncluded files/attachment_file_problems.sql
--! Included files/record_file_verification.sql
/*
 * airlift verify reads every stored file back from the store and hashes
 * it; what it found is kept with the file, so the attachment's problem is
 * named until the file is stored again.
 */
create or replace function sync.record_file_verification(p_results jsonb) returns bigint
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
  with updated as (
    update sync.stored_files f
    set verified_at = now(), verify_problem = nullif(r.problem, '')
    from jsonb_to_recordset(p_results) as r (sha256 text, problem text)
    where f.sha256 = r.sha256
    returning f.sha256
  )
  select count(*) from updated
$$;
comment on function sync.record_file_verification(jsonb) is E'Records what airlift verify found reading stored files back (a JSON array of {sha256, problem}, problem null or empty when the file is intact: present, of its size, with its SHA-256); returns the files recorded.';
--! EndIncluded files/record_file_verification.sql
--! Included files/unreferenced_files.sql
/*
 * Garbage collection of the file store. A stored file stays while anything
 * that may need it stands: an attachment row (live or soft-deleted), a
 * snapshot that holds an attachment of it, or an audit record of an
 * attachment with it (the trail keeps its evidence), except the records of
 * a run that was rolled back and of the rollbacks themselves: what a
 * rolled-back run downloaded is collected once nothing else points at it.
 * Files younger than p_min_age are left alone (a download or an attach may
 * be linking them now).
 */
create or replace function sync.unreferenced_files(p_min_age interval default interval '1 hour')
returns table (sha256 text, size_bytes bigint, store_kind text, store_key text, stored_at timestamptz)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  snapshot_refs text;
begin
  -- snapshots taken before files were kept hold attachment ids only: their files are found through the ledger
  select string_agg(case when exists (select from information_schema.columns c
                                      where c.table_schema = s.schema_name and c.table_name = 'attachments' and c.column_name = 'sha256')
                         then format('select sha256 from %I.attachments where sha256 is not null', s.schema_name)
                         else format('select d.sha256 from %I.attachments x join sync.attachment_downloads d on d.attachment_key = x.airtable_attachment_id where d.sha256 is not null', s.schema_name)
                    end, ' union all ')
  into snapshot_refs
  from sync.snapshots s
  where s.dropped_at is null
    and exists (select from information_schema.tables t where t.table_schema = s.schema_name and t.table_name = 'attachments');

  return query execute format($sql$
    select f.sha256, f.size_bytes, f.store_kind, f.store_key, f.stored_at
    from sync.stored_files f
    where f.stored_at < now() - $1
      and not exists (select from app.attachments a where a.sha256 = f.sha256)
      and not exists (select from (%s) s (sha256) where s.sha256 = f.sha256)
      and not exists (
        select from audit.changes c
        where c.table_name = 'app.attachments'
          and (c.new_values ->> 'sha256' = f.sha256 or c.old_values ->> 'sha256' = f.sha256)
          and (c.run_id is null or not exists (
                select from sync.runs r where r.id = c.run_id and (r.status = 'rolled_back' or r.run_type = 'rollback'))))
    order by f.stored_at, f.sha256
  $sql$, coalesce(snapshot_refs, 'select null::text where false')) using p_min_age;
end;
$$;
comment on function sync.unreferenced_files(interval) is E'Stored files (sync.stored_files) older than p_min_age that no app.attachments row (live or soft-deleted), no live snapshot and no standing audit record of app.attachments points at; audit records of rolled-back runs and of rollbacks do not count, so a rolled-back run''s new files are collected. What airlift files gc removes. Security definer: the sync role may not read the audit trail.';
--! EndIncluded files/unreferenced_files.sql
--! Included files/forget_stored_files.sql
/*
 * The collection's database step: catalogue rows are deleted only for
 * contents still unreferenced at that moment (the check runs again in the
 * same statement), and the caller removes from the store exactly the
 * files this returns.
 */
create or replace function sync.forget_stored_files(p_sha256 text[])
returns table (sha256 text, store_kind text, store_key text)
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
  delete from sync.stored_files f
  where f.sha256 = any (p_sha256)
    and f.sha256 in (select u.sha256 from sync.unreferenced_files(interval '0') u)
  returning f.sha256, f.store_kind, f.store_key
$$;
comment on function sync.forget_stored_files(text[]) is E'Deletes the catalogue rows of the given contents that are still unreferenced (sync.unreferenced_files) and returns them with their store keys: the files airlift files gc then removes from the store. The ledger entries of those contents go with them (cascade), so an attachment listing one again downloads it again.';
--! EndIncluded files/forget_stored_files.sql
--! Included files/register_stored_file.sql
/*
 * A file put in the store outside a download (airlift files attach, an
 * application's upload) enters the catalogue here, so an attachment row
 * can name it by its SHA-256.
 */
create or replace function sync.register_stored_file(p_sha256 text, p_size_bytes bigint, p_content_type text, p_store_kind text, p_store_key text, p_run_id bigint default null)
returns sync.stored_files
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
  insert into sync.stored_files as f (sha256, size_bytes, content_type, store_kind, store_key, stored_by_run_id)
  values (p_sha256, p_size_bytes, nullif(p_content_type, ''), p_store_kind, p_store_key, p_run_id)
  on conflict (sha256) do update
    set store_kind = excluded.store_kind, store_key = excluded.store_key, verified_at = null, verify_problem = null,
        content_type = coalesce(f.content_type, excluded.content_type)
  returning f.*
$$;
comment on function sync.register_stored_file(text, bigint, text, text, text, bigint) is E'Enters a file just put in the store into sync.stored_files (or marks an existing content stored again, intact); returns its row.';
--! EndIncluded files/register_stored_file.sql
--! Included files/attach_file.sql
/*
 * Attaching and removing files from the command line (airlift files
 * attach / remove), as a person would through an application: the change
 * is not the sync's (no airlift.run_id), so it is audited with the actor
 * and queued for the push (sync.attachment_outbox). The sync role may not
 * write app tables directly; these two functions are all it may do there
 * by hand.
 */
create or replace function sync.attach_file(p_entity text, p_row_id uuid, p_field_name text, p_filename text, p_sha256 text, p_content_type text default null)
returns uuid
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  owner_column text;
  target regclass;
  attached uuid;
begin
  if audit.current_run_id() is not null then
    raise exception 'a file attached by hand is not a sync run''s change: airlift.run_id must be unset' using errcode = '55000';
  end if;
  select e.attachment_owner_column, e.target_table into owner_column, target from sync.entities e where e.entity = p_entity;
  if owner_column is null then
    raise exception 'entity % holds no attachments', p_entity using errcode = '22023';
  end if;
  if not exists (select from sync.entity_mappings m where m.entity = p_entity and m.attachment_field_ids ? p_field_name) then
    raise exception 'entity % has no attachment field %', p_entity, p_field_name using errcode = '22023',
      hint = (select 'its attachment fields: ' || string_agg(k, ', ') from sync.entity_mappings m, jsonb_object_keys(m.attachment_field_ids) k where m.entity = p_entity);
  end if;
  execute format('select 1 from %s where id = $1 and deleted_at is null', target) using p_row_id;
  if not found then
    raise exception 'no live % row %', p_entity, p_row_id using errcode = '02000';
  end if;
  execute format($sql$
    insert into app.attachments (%I, field_name, position, filename, sha256, mime_type)
    select $1, $2, coalesce((select max(position) + 1 from app.attachments where %I = $1 and field_name = $2 and deleted_at is null), 0), $3, $4, $5
    returning id
  $sql$, owner_column, owner_column) into attached using p_row_id, p_field_name, p_filename, p_sha256, nullif(p_content_type, '');
  return attached;
end;
$$;
comment on function sync.attach_file(text, uuid, text, text, text, text) is E'Attaches a stored file (by SHA-256, already in sync.stored_files) to a row''s attachment field, at the end of the cell, as a person''s change: audited with the actor and queued for the push to upload. Refuses an entity without attachments, a field the mapping does not have, a row that is not there. Security definer: the sync role may not write app tables directly.';

create or replace function sync.remove_attachment(p_attachment_id uuid) returns boolean
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if audit.current_run_id() is not null then
    raise exception 'a file removed by hand is not a sync run''s change: airlift.run_id must be unset' using errcode = '55000';
  end if;
  update app.attachments set deleted_at = now() where id = p_attachment_id and deleted_at is null;
  return found;
end;
$$;
comment on function sync.remove_attachment(uuid) is E'Removes an attachment here (soft delete) as a person''s change: audited with the actor and, when Airtable has the file, queued for the push to leave it out of the cell. False when there is no live attachment with that id. Security definer: the sync role may not write app tables directly.';
--! EndIncluded files/attach_file.sql
--! Included files/attachment_differentials.sql
/*
 * Attachments in the differentials: a record's canonical form leaves its
 * attachment cells out (their URLs change on every read), so a file added
 * or removed in the source does not make the record conflicted. This
 * compares, for the records both sides hold, the attachment ids of the
 * source snapshot's cells (staging) with the live rows here, set-based,
 * over every attachment field of the entity.
 */
create or replace function sync.attachment_differentials(p_entity text)
returns table (record_key text, field_name text, attachment_key text, filename text, change text)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  mapping sync.entity_mappings;
  owner_column text;
  target regclass;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  select e.attachment_owner_column, e.target_table into owner_column, target from sync.entities e where e.entity = p_entity;
  if mapping.entity is null or owner_column is null or mapping.attachment_field_ids = '{}'::jsonb then
    return;
  end if;
  return query execute format($sql$
    with source_files as (
      select s.source_key, f.key as field_name, file ->> 'id' as attachment_key, file ->> 'filename' as filename
      from staging.source_records s
      cross join jsonb_each_text($2) as f (key, field_id)
      cross join lateral jsonb_array_elements(case when jsonb_typeof(s.fields -> f.field_id) = 'array' then s.fields -> f.field_id else '[]' end) as file
      where s.source_table = $3 and file ->> 'id' is not null
    ), target_files as (
      select i.legacy_id as source_key, a.field_name, a.airtable_attachment_id as attachment_key, a.filename
      from app.attachments a
      join sync.id_map i on i.entity_type = $1 and i.uuid_id = a.%1$I
      where a.%1$I is not null and a.deleted_at is null and a.airtable_attachment_id is not null
    ), both_hold as (
      select s.source_key from staging.source_records s
      join sync.id_map i on i.entity_type = $1 and i.legacy_id = s.source_key
      join %2$s t on t.id = i.uuid_id and t.deleted_at is null
      where s.source_table = $3
    )
    select coalesce(s.source_key, t.source_key), coalesce(s.field_name, t.field_name), coalesce(s.attachment_key, t.attachment_key),
           coalesce(s.filename, t.filename), case when t.attachment_key is null then 'added' else 'removed' end
    from source_files s
    full join target_files t on t.source_key = s.source_key and t.field_name = s.field_name and t.attachment_key = s.attachment_key
    where (s.attachment_key is null or t.attachment_key is null)
      and coalesce(s.source_key, t.source_key) in (select source_key from both_hold)
    order by 1, 2, 3
  $sql$, owner_column, target) using p_entity, mapping.attachment_field_ids, mapping.source_table;
end;
$$;
comment on function sync.attachment_differentials(text) is E'The attachment differences of an entity''s records that both sides hold: files the source snapshot''s cells (staging.source_records) list and no live app.attachments row has (added in the source), and live rows with a source attachment id that the cells no longer list (removed in the source). Files attached here and not pushed yet are not differences. A record''s canonical form leaves attachments out, so these are reported apart from conflicted records. Security definer: the sync role reads app rows through it.';
--! EndIncluded files/attachment_differentials.sql
--! Included files/capture_attachment_changes.sql
/*
 * Files attached or removed here reach Airtable through the push. The
 * sync's own writes (downloads linked, the merge) run with airlift.run_id
 * and are not captured: a change pulled from Airtable never goes back out.
 * One statement-level trigger function for insert, update and delete.
 */
create or replace function sync.tg_attachments__capture_changes() returns trigger
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if audit.current_run_id() is not null then
    return null;
  end if;

  if tg_op = 'INSERT' then
    -- a file attached here: uploaded by the push
    insert into sync.attachment_outbox (attachment_id, entity, owner_row_id, field_name, operation, changed_by)
    select n.id, e.entity, (to_jsonb(n) ->> e.attachment_owner_column)::uuid, n.field_name, 'upload', audit.current_actor()
    from new_rows n
    join sync.entities e on e.attachment_owner_column is not null and to_jsonb(n) ->> e.attachment_owner_column is not null
    where n.airtable_attachment_id is null and n.deleted_at is null;
    return null;
  end if;

  if tg_op = 'DELETE' then
    -- a file deleted before it was sent: its upload is called off
    update sync.attachment_outbox x
    set status = 'cancelled', updated_at = now()
    from old_rows o
    where o.airtable_attachment_id is null and x.attachment_id = o.id and x.operation = 'upload' and x.status = 'pending';
    -- a file deleted here that Airtable has: left out of its cell by the push
    insert into sync.attachment_outbox (attachment_id, entity, owner_row_id, field_name, operation, airtable_attachment_id, changed_by)
    select o.id, e.entity, (to_jsonb(o) ->> e.attachment_owner_column)::uuid, o.field_name, 'remove', o.airtable_attachment_id, audit.current_actor()
    from old_rows o
    join sync.entities e on e.attachment_owner_column is not null and to_jsonb(o) ->> e.attachment_owner_column is not null
    where o.airtable_attachment_id is not null and o.deleted_at is null;
    return null;
  end if;

  -- UPDATE: a file soft-deleted here before it was sent: its upload is called off
  update sync.attachment_outbox x
  set status = 'cancelled', updated_at = now()
  from old_rows o
  join new_rows n on n.id = o.id
  where o.airtable_attachment_id is null and o.deleted_at is null and n.deleted_at is not null
    and x.attachment_id = o.id and x.operation = 'upload' and x.status = 'pending';
  -- a file soft-deleted here that Airtable has: left out of its cell by the push
  insert into sync.attachment_outbox (attachment_id, entity, owner_row_id, field_name, operation, airtable_attachment_id, changed_by)
  select o.id, e.entity, (to_jsonb(o) ->> e.attachment_owner_column)::uuid, o.field_name, 'remove', o.airtable_attachment_id, audit.current_actor()
  from old_rows o
  join new_rows n on n.id = o.id
  join sync.entities e on e.attachment_owner_column is not null and to_jsonb(o) ->> e.attachment_owner_column is not null
  where o.airtable_attachment_id is not null and o.deleted_at is null and n.deleted_at is not null;
  return null;
end;
$$;
comment on function sync.tg_attachments__capture_changes() is E'Statement-level AFTER INSERT/UPDATE/DELETE trigger of app.attachments: a file attached here (no Airtable id) queues an upload in sync.attachment_outbox, a file removed here (soft-deleted or deleted) that Airtable has queues a removal, and one removed before it was sent calls its upload off. Writes of the sync (airlift.run_id set) are not captured. Security definer: applications may not write sync.';
--! EndIncluded files/capture_attachment_changes.sql
--! Included files/claim_attachment_outbox.sql
/*
 * The push takes the attachment outbox's pending entries in order, with
 * what it needs to send each: the owner's record in Airtable (through the
 * id map), the field, and the file in the store. Entries left in flight by
 * a push that died are taken again.
 */
create or replace function sync.claim_attachment_outbox(p_run_id bigint, p_limit integer default 100)
returns table (outbox_id bigint, operation text, attachment_id uuid, entity text, source_table text, record_key text, field_id text, field_name text,
               airtable_attachment_id text, filename text, sha256 text, store_kind text, store_key text, size_bytes bigint, content_type text)
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
  with claimable as (
    select x.id
    from sync.attachment_outbox x
    where x.status = 'pending'
       or (x.status = 'in_flight' and not exists (select from sync.runs r where r.id = x.pushed_by_run_id and r.status = 'running'))
    order by x.id
    limit p_limit
    for update skip locked
  ), claimed as (
    update sync.attachment_outbox x
    set status = 'in_flight', attempts = x.attempts + 1, pushed_by_run_id = p_run_id, updated_at = now()
    from claimable c
    where x.id = c.id
    returning x.*
  )
  select c.id, c.operation, c.attachment_id, c.entity, m.source_table, i.legacy_id, m.attachment_field_ids ->> c.field_name, c.field_name,
         coalesce(c.airtable_attachment_id, a.airtable_attachment_id), a.filename, a.sha256, f.store_kind, f.store_key, f.size_bytes,
         coalesce(a.mime_type, f.content_type)
  from claimed c
  left join sync.entity_mappings m on m.entity = c.entity
  left join sync.id_map i on i.entity_type = c.entity and i.uuid_id = c.owner_row_id
  left join app.attachments a on a.id = c.attachment_id
  left join sync.stored_files f on f.sha256 = a.sha256
  order by c.id
$$;
comment on function sync.claim_attachment_outbox(bigint, integer) is E'Claims up to p_limit pending entries of sync.attachment_outbox for push run p_run_id (and entries a dead push left in flight), in order, marking them in_flight, and returns each with the owner''s Airtable record (record_key null while the owner is not in Airtable yet), the Airtable field id, and the file (name, SHA-256, store key, size, type). Security definer: the sync role reads app rows and the id map through it.';
--! EndIncluded files/claim_attachment_outbox.sql
--! Included files/finish_attachment_push.sql
/*
 * The push's outcome for claimed attachment entries, in one call: pushed
 * entries are closed, an uploaded file's row takes the Airtable attachment
 * id (as the run's change: not captured again), failed ones keep the
 * message, deferred ones go back to pending.
 */
create or replace function sync.finish_attachment_push(p_run_id bigint, p_results jsonb) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  finished bigint;
begin
  perform set_config('airlift.run_id', p_run_id::text, true);
  create temporary table if not exists attachment_push_results (
    outbox_id bigint, outcome text, airtable_attachment_id text, url text, size_bytes bigint, content_type text, error text
  ) on commit drop;
  truncate attachment_push_results;
  insert into attachment_push_results
  select * from jsonb_to_recordset(p_results) as r (outbox_id bigint, outcome text, airtable_attachment_id text, url text, size_bytes bigint,
                                                     content_type text, error text);
  if exists (select from attachment_push_results where outcome not in ('pushed', 'failed', 'deferred') or outcome is null
                                                     or (outcome = 'failed' and error is null)) then
    raise exception 'each attachment push result is pushed, deferred, or failed with its error' using errcode = '22023';
  end if;

  update app.attachments a
  set airtable_attachment_id = r.airtable_attachment_id, url = coalesce(r.url, a.url), url_fetched_at = case when r.url is not null then now() else a.url_fetched_at end,
      size_bytes = coalesce(r.size_bytes, a.size_bytes), mime_type = coalesce(r.content_type, a.mime_type)
  from attachment_push_results r
  join sync.attachment_outbox x on x.id = r.outbox_id and x.operation = 'upload'
  where r.outcome = 'pushed' and r.airtable_attachment_id is not null and a.id = x.attachment_id;

  -- the file Airtable made of an upload is this row's: the ledger knows it is stored already
  insert into sync.attachment_downloads (source_id, attachment_key, declared_size, declared_type, sha256, size_bytes, content_type, first_run_id, last_run_id, downloaded_at)
  select m.source_id, r.airtable_attachment_id, r.size_bytes, r.content_type, a.sha256, a.stored_size_bytes, a.stored_mime_type, p_run_id, p_run_id, now()
  from attachment_push_results r
  join sync.attachment_outbox x on x.id = r.outbox_id and x.operation = 'upload'
  join app.attachments a on a.id = x.attachment_id
  join sync.entity_mappings m on m.entity = x.entity
  where r.outcome = 'pushed' and r.airtable_attachment_id is not null and a.sha256 is not null
  on conflict (source_id, attachment_key) do nothing;

  update sync.attachment_outbox x
  set status = case r.outcome when 'pushed' then 'pushed' when 'failed' then 'failed' else 'pending' end,
      pushed_at = case when r.outcome = 'pushed' then now() end,
      last_error = case when r.outcome = 'pushed' then null else coalesce(r.error, x.last_error) end,
      airtable_attachment_id = coalesce(x.airtable_attachment_id, r.airtable_attachment_id),
      updated_at = now()
  from attachment_push_results r
  where x.id = r.outbox_id and x.status = 'in_flight' and x.pushed_by_run_id = p_run_id;
  get diagnostics finished = row_count;
  return finished;
end;
$$;
comment on function sync.finish_attachment_push(bigint, jsonb) is E'Records push run p_run_id''s outcome for claimed attachment entries (a JSON array of {outbox_id, outcome: pushed | failed | deferred, and for an upload the airtable_attachment_id, url, size_bytes, content_type Airtable answered, or the error}): an uploaded file''s row takes its Airtable id as the run''s change (not captured again) and enters the download ledger as stored; failed entries keep the message; deferred ones (the owner not in Airtable yet) go back to pending. Returns the entries finished. Security definer: it writes app.attachments.';
--! EndIncluded files/finish_attachment_push.sql
--! EndIncluded files/_all.sql

select audit.enable_for('sync.stored_files', 'sha256');
select audit.enable_for('sync.attachment_downloads', 'attachment_key');

create trigger _200_fill_stored_file before insert or update of sha256 on app.attachments
  for each row when (new.sha256 is not null and new.store_key is null)
  execute function sync.tg_attachments__fill_stored_file();
create trigger _900_capture_attachment_changes_insert after insert on app.attachments
  referencing new table as new_rows for each statement execute function sync.tg_attachments__capture_changes();
create trigger _900_capture_attachment_changes_update after update on app.attachments
  referencing old table as old_rows new table as new_rows for each statement execute function sync.tg_attachments__capture_changes();
create trigger _900_capture_attachment_changes_delete after delete on app.attachments
  referencing old table as old_rows for each statement execute function sync.tg_attachments__capture_changes();

--! Included merge/merge_entity.sql
/*
 * The one-way sync's core: an entity's staged records of a run merged into
 * its app table, set-based, one statement per step over all the records of
 * the run, never a loop over records.
 */

create or replace function sync.merge_entity(p_run_id bigint, p_entity text, p_final boolean default true) returns sync.merge_result
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
-- Hash joins and sorts over a run's records in memory, not on disk.
set work_mem = '128MB'
as $fn$
declare
  mapping sync.entity_mappings;
  entity sync.entities;
  converted text;
  resolved text;
  joins text;
  attachment_columns text;
  problems text;
  blocking_problems text;
  emptied_columns text;
  columns text;
  assignments text;
  compared_old text;
  compared_new text;
  attachment_cells text;
  attachment_problems text;
  upsert text;
  result sync.merge_result;
  candidate_count bigint;
  chunk_start bigint;
  chunk_size constant integer := 500;
  failed_row record;
  attachment record;
  merged_through bigint;
  merge_upto bigint;
  problem_changes text[];
  newly_mapped bigint;
begin
  select * into mapping from sync.entity_mappings m where m.entity = p_entity;
  if not found then
    raise exception 'no mapping for entity %', p_entity
      using errcode = 'undefined_object', hint = 'The runner writes sync.entity_mappings from its mapping file before a run.';
  end if;
  select * into strict entity from sync.entities e where e.entity = p_entity;
  perform set_config('airlift.run_id', p_run_id::text, true);

  -- The pages this call merges: those staged by the run after the ones
  -- earlier batches merged, up to the last page the checkpoint records
  -- (written in the same transaction as that page, so all of it is there).
  select coalesce((cp.metadata ->> 'merged_through')::bigint, 0), coalesce((cp.metadata ->> 'last_page_seq')::bigint, 0)
    into merged_through, merge_upto
  from sync.checkpoints cp
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;
  if not found then
    raise exception 'no checkpoint for run % entity %: start the table before merging it', p_run_id, p_entity
      using errcode = 'no_data_found';
  end if;

  perform sync.analyze_if_stale('staging.source_records');
  perform sync.analyze_if_stale(entity.target_table);
  -- every record's row id and every link are found through the id map:
  -- an earlier chunk of this pull may have filled it since its last analysis
  perform sync.analyze_if_stale('sync.id_map');

  -- Collaborators named in this run's records, upserted first so that the
  -- merge can resolve them to ids.
  insert into app.collaborators as c (airtable_user_id, email, name)
  select distinct on (cell ->> 'id') cell ->> 'id', cell ->> 'email', cell ->> 'name'
  from staging.source_records s
  cross join lateral (
    select s.fields -> (mapping.field_ids ->> ec.column_name) as cell
    from sync.entity_columns ec
    where ec.entity = p_entity and ec.conversion = 'collaborator' and mapping.field_ids ? ec.column_name
  ) cells
  where s.source_table = mapping.source_table and s.run_id = p_run_id and s.page_seq > merged_through and s.page_seq <= merge_upto
    and cell is not null and sync.cell_problem(cell, 'collaborator') is null
  order by cell ->> 'id'
  on conflict (airtable_user_id) do update set email = excluded.email, name = excluded.name
  where row(c.email, c.name) is distinct from row(excluded.email, excluded.name);

  -- The statement pieces, from the catalogue and the mapping's field ids.
  -- An inner query converts each cell once (and keeps the raw cell); the
  -- outer query resolves links and collaborators with joins, and asks
  -- sync.cell_problem why only where a non-empty cell did not convert.
  select string_agg(case when ec.conversion in ('link', 'collaborator')
                         then format('%I.id as %I', 'ref__' || ec.column_name, ec.column_name)
                         else format('c0.%I', ec.column_name) end, ', ' order by ec.column_name),
         string_agg(case ec.conversion
                      -- a link resolves through the linked entity's id map
                      -- (its key there), to the linked row if it is live
                      when 'link' then format(' left join sync.id_map %5$I on %5$I.entity_type = %4$L and %5$I.legacy_id = c0.%3$I'
                                              ' left join %1$s %2$I on %2$I.id = %5$I.uuid_id and %2$I.deleted_at is null',
                                              linked.target_table, 'ref__' || ec.column_name, 'key__' || ec.column_name, linked.entity, 'refkey__' || ec.column_name)
                      when 'collaborator' then format(' left join app.collaborators %1$I on %1$I.airtable_user_id = c0.%2$I',
                                                      'ref__' || ec.column_name, 'key__' || ec.column_name)
                    end, '' order by ec.column_name),
         string_agg(format('%I', ec.column_name), ', ' order by ec.column_name),
         string_agg(format('%1$I = excluded.%1$I', ec.column_name), ', ' order by ec.column_name),
         string_agg(format('t.%I', ec.column_name), ', ' order by ec.column_name),
         string_agg(format('excluded.%I', ec.column_name), ', ' order by ec.column_name),
         -- Every problem lands the record (no cascade, nothing hidden): it
         -- names the field, the column, the rule, the value as sent, what
         -- landed and the value in canonical form (what the target canonical
         -- form puts back for an emptied column, so checksums still compare
         -- what the source holds).
         string_agg(concat_ws(', ',
           -- the cell cannot be converted: the column lands empty. Converters
           -- that signal it with null are asked why only then; the others
           -- are asked always (cheap)
           case when ec.conversion in ('checkbox', 'multi_select', 'collaborator')
             then format('case when sync.cell_problem(c0.%1$I, %2$L) is not null then jsonb_build_object(''field'', %3$L, ''column'', %4$L, ''rule'', ''cell_conversion'', ''landed'', ''empty'', ''value'', c0.%1$I, ''canonical'', sync.cell_canonical(c0.%1$I, %2$L), ''reason'', sync.cell_problem(c0.%1$I, %2$L)) end',
                         'raw__' || ec.column_name, ec.conversion, field_name, ec.column_name)
             else format('case when c0.%1$I is not null and jsonb_typeof(c0.%1$I) <> ''null'' and c0.%5$I is null and sync.cell_problem(c0.%1$I, %2$L) is not null then jsonb_build_object(''field'', %3$L, ''column'', %4$L, ''rule'', ''cell_conversion'', ''landed'', ''empty'', ''value'', c0.%1$I, ''canonical'', sync.cell_canonical(c0.%1$I, %2$L), ''reason'', sync.cell_problem(c0.%1$I, %2$L)) end',
                         'raw__' || ec.column_name, ec.conversion, field_name, ec.column_name,
                         case when ec.conversion = 'link' then 'key__' || ec.column_name else ec.column_name end)
           end,
           -- a required value is missing (an unconvertible one is reported
           -- above): the column lands empty (a blank text becomes null)
           case when ec.required then
             format('case when coalesce(btrim(c0.%1$I::text), '''') = '''' and (c0.%2$I is null or jsonb_typeof(c0.%2$I) in (''null'', ''string'')) then jsonb_build_object(''field'', %3$L, ''column'', %1$L, ''rule'', ''required_value'', ''landed'', ''empty'', ''value'', c0.%2$I, ''canonical'', sync.cell_canonical(c0.%2$I, %5$L), ''reason'', %4$L) end',
                    ec.column_name, 'raw__' || ec.column_name, field_name, format('%s is required but empty', field_name), ec.conversion) end,
           -- a value outside the range a CHECK constraint allows: the column
           -- lands empty
           case when ec.min_value is not null or ec.max_value is not null then
             format('case when c0.%1$I not between %2$s and %3$s then jsonb_build_object(''field'', %4$L, ''column'', %1$L, ''rule'', ''check_range'', ''landed'', ''empty'', ''value'', c0.%5$I, ''canonical'', sync.cell_canonical(c0.%5$I, %7$L), ''reason'', %6$L) end',
                    ec.column_name, coalesce(ec.min_value, '-1e100'), coalesce(ec.max_value, '1e100'), field_name, 'raw__' || ec.column_name,
                    format('%s must be between %s and %s', field_name, ec.min_value, ec.max_value), ec.conversion) end,
           -- a link to a record that is missing, deleted or kept out by a
           -- blocking rule: the foreign key lands empty and the linked id is
           -- kept, for a later merge to resolve (sync.resolve_dangling_links)
           case when ec.conversion = 'link' then
             format('case when c0.%1$I is not null and %2$I.id is null then jsonb_build_object(''field'', %3$L, ''column'', %7$L, ''rule'', ''dangling_link'', ''landed'', ''empty'', ''value'', c0.%4$I, ''canonical'', to_jsonb(c0.%1$I), ''link_key'', c0.%1$I, ''reason'', format(%5$L, c0.%1$I, '
                    || 'case when %6$I.uuid_id is not null then ''was deleted'' '
                    || 'when exists (select from sync.record_errors e where e.resolved_at is null and e.source_key = c0.%1$I) then ''is in quarantine'' '
                    || 'else ''does not exist'' end)) end',
                    'key__' || ec.column_name, 'ref__' || ec.column_name, field_name, 'raw__' || ec.column_name,
                    field_name || ' links to %s, which %s in ' || linked.entity || ': the link is left empty until it does', 'refkey__' || ec.column_name, ec.column_name) end,
           -- more than one linked record where the column holds one: the
           -- first lands, the others are named
           case when ec.conversion = 'link' then
             format('case when c0.%2$I is not null and jsonb_array_length(c0.%1$I) > 1 then jsonb_build_object(''field'', %3$L, ''column'', %4$L, ''rule'', ''extra_links'', ''landed'', ''first_link'', ''value'', c0.%1$I, ''canonical'', to_jsonb(c0.%2$I), ''reason'', format(%5$L, jsonb_array_length(c0.%1$I), c0.%2$I, '
                    || '(select string_agg(x.linked, '', '' order by x.n) from jsonb_array_elements_text(c0.%1$I) with ordinality as x (linked, n) where x.n > 1))) end',
                    'raw__' || ec.column_name, 'key__' || ec.column_name, field_name, ec.column_name,
                    field_name || ' links %s records where one is kept: %s is linked, not %s') end
         ), ', '),
         -- the value a column lands with when a problem empties it
         string_agg(format('%1$I = case when e.emptied @> array[%1$L] then %2$s else c.%1$I end', ec.column_name,
                           case ec.conversion when 'multi_select' then '''{}''::text[]' when 'checkbox' then 'false' else 'null' end),
                    ', ' order by ec.column_name)
    into resolved, joins, columns, assignments, compared_old, compared_new, problems, emptied_columns
  from sync.entity_columns ec
  left join sync.entities linked on linked.entity = ec.linked_entity
  cross join lateral (select format('s.fields -> %L', mapping.field_ids ->> ec.column_name) as cell,
                             coalesce(mapping.field_names ->> ec.column_name, ec.column_name) as field_name) piece
  where ec.entity = p_entity and mapping.field_ids ? ec.column_name;

  converted := sync.converted_cells_sql(p_entity);
  if converted is null then
    raise exception 'the mapping for % maps no column', p_entity using errcode = 'undefined_object';
  end if;
  -- Only a blocking validation rule keeps a record out (quarantined whole,
  -- in sync.record_errors), and a record whose key is not one its source
  -- gives (the mapping's record_key_pattern: an Airtable record id), which
  -- no row can hold.
  blocking_problems := concat_ws(', ',
    case when mapping.record_key_pattern is not null then
      format($b$case when c0.source_key !~ %L then jsonb_build_object('field', null, 'value', to_jsonb(c0.source_key), 'reason', %L) end$b$,
             mapping.record_key_pattern,
             case when mapping.source_kind = 'airtable' then 'not an Airtable record id' else format('not a %s record key (%s)', mapping.source_kind, mapping.record_key_pattern) end)
    end,
    sync.rule_checks_sql(p_entity, 'blocking'));

  select coalesce(string_agg(format('s.fields -> %L as %I', a.value, 'attachments__' || a.key), ', '), 'null::jsonb as no_attachments'),
         coalesce(string_agg(format('c0.%I', 'attachments__' || a.key), ', '), 'c0.no_attachments'),
         -- a cell of attachments that is not one: none of its files land
         string_agg(format('case when sync.cell_problem(c0.%1$I, ''attachments'') is not null then jsonb_build_object(''field'', %2$L, ''column'', null, ''rule'', ''cell_conversion'', ''landed'', ''empty'', ''value'', c0.%1$I, ''canonical'', null, ''reason'', sync.cell_problem(c0.%1$I, ''attachments'')) end',
                           'attachments__' || a.key, a.key), ', ')
    into attachment_cells, attachment_columns, attachment_problems
  from jsonb_each_text(mapping.attachment_field_ids) a;
  problems := concat_ws(', ', problems, attachment_problems);

  -- Candidates: the records of the pages this call merges, and, in the
  -- final call, records quarantined by earlier runs (retried: a link may
  -- resolve now). Converted once, with every
  -- problem that would stop them, in one statement.
  if to_regclass('pg_temp.merge_candidates') is not null then drop table pg_temp.merge_candidates; end if;
  execute format($sql$
    create temp table merge_candidates on commit drop as
    select row_number() over () as position,
           c0.source_key,
           -- the row's id: its id map entry's, or (set below) a new one
           own.uuid_id as row_id,
           own.uuid_id is null as row_is_new,
           c0.fetched_this_run,
           c0.checksum,
           -- a row deleted here and not yet pushed is left alone (see below)
           false as held_deleted,
           %1$s,
           %2$s,
           -- every problem of the record the row lands with, and every one
           -- that keeps it out, nulls dropped (expressions, not a sub-select
           -- per record)
           jsonb_path_query_array(jsonb_build_array(%3$s), '$[*] ? (@ != null)') as problems,
           jsonb_path_query_array(jsonb_build_array(%7$s), '$[*] ? (@ != null)') as blocking_problems,
           -- open problems of the row once it lands (set below)
           0 as problem_count
    from (
      select s.source_key, s.run_id = $1 as fetched_this_run, s.checksum, %4$s, %5$s
      from staging.source_records s
      where s.source_table = $2
        and ((s.run_id = $1 and s.page_seq > $3 and s.page_seq <= $4)
             or ($5 and s.run_id is distinct from $1
                 and exists (select from sync.record_errors e
                             where e.resolved_at is null and e.source_table = s.source_table and e.source_key = s.source_key)
                 -- not a version older than a rejection of the record: only
                 -- staging it again can release that one
                 and not exists (select from sync.record_errors r
                                 where r.resolved_at is null and r.rejected_before_staging and r.source_table = s.source_table
                                   and r.source_key = s.source_key and r.created_at >= s.fetched_at)))
      offset 0 -- a fence: each cell is converted once, not again for every use above
    ) c0
    left join sync.id_map own on own.entity_type = $6 and own.legacy_id = c0.source_key %6$s
  $sql$, resolved, attachment_columns, problems, converted, attachment_cells, coalesce(joins, ''), blocking_problems)
  using p_run_id, mapping.source_table, merged_through, merge_upto, p_final, p_entity;

  -- A problem that empties a column lands the column empty (its
  -- converter's empty value: null, an empty list, an unchecked box), and
  -- every candidate knows how many problems its row will have open: its
  -- own, and the validation rules' warnings still open from earlier runs.
  execute format($sql$
    update merge_candidates c
    set problem_count = jsonb_array_length(c.problems), %s
    from (select m.position,
                 array(select p ->> 'column' from jsonb_array_elements(m.problems) p
                       where p ->> 'landed' = 'empty' and p ->> 'column' is not null) as emptied
          from merge_candidates m where m.problems <> '[]'::jsonb) e
    where c.position = e.position
  $sql$, emptied_columns);
  update merge_candidates c
  set problem_count = c.problem_count + w.open_warnings
  from (select fp.source_key, count(*) as open_warnings from sync.field_problems fp
        where fp.entity = p_entity and fp.origin = 'rule' and fp.resolved_at is null
        group by fp.source_key) w
  where w.source_key = c.source_key;
  analyze pg_temp.merge_candidates;

  -- Quarantine each new blocking problem (an open entry for the same
  -- record, field and reason is not repeated), and close the entries that
  -- no longer apply: a record quarantined before this version of airlift
  -- for a problem it now lands with is released here.
  insert into sync.record_errors (run_id, source_table, source_key, field, value, reason)
  select p_run_id, mapping.source_table, c.source_key, p ->> 'field', p -> 'value', p ->> 'reason'
  from merge_candidates c
  cross join lateral jsonb_array_elements(c.blocking_problems) as p
  where not exists (select from sync.record_errors e
                    where e.resolved_at is null and e.source_table = mapping.source_table and e.source_key = c.source_key
                      and e.field is not distinct from p ->> 'field' and e.reason = p ->> 'reason');

  update sync.record_errors e
  set resolved_at = now(), resolved_by_run_id = p_run_id
  from merge_candidates c
  where e.resolved_at is null and e.source_table = mapping.source_table and e.source_key = c.source_key
    and not exists (select from jsonb_array_elements(c.blocking_problems) as p
                    where e.field is not distinct from p ->> 'field' and e.reason = p ->> 'reason');

  -- Two-way sync: a column changed here and not yet pushed (an open entry
  -- in sync.outbox) keeps its local value, and a row deleted here is not
  -- written at all (it stays deleted): the push decides them against
  -- Airtable's value (sync.plan_push), so a pull never overwrites an
  -- unpushed change.
  -- A field parked for a person (an open manual conflict) is held the same
  -- way until it is resolved.
  if exists (select from sync.outbox o where o.entity = p_entity and o.status in ('pending', 'failed', 'in_flight'))
     or exists (select from sync.conflicts k where k.entity = p_entity and k.status = 'open') then
    execute format($sql$
      update merge_candidates c
      set %1$s, held_deleted = h.deleting
      from (select x.row_id, bool_or(x.deleting) as deleting,
                   coalesce(array_agg(x.column_name) filter (where x.column_name is not null), '{}') as held_columns
            from (select o.row_id, o.operation = 'delete' as deleting, u.column_name
                  from sync.outbox o
                  left join lateral unnest(o.changed_columns) as u (column_name) on true
                  where o.entity = $1 and o.status in ('pending', 'failed', 'in_flight')
                  union all
                  select k.row_id, false, k.column_name
                  from sync.conflicts k
                  where k.entity = $1 and k.status = 'open') x
            group by x.row_id) h
      join %2$s t on t.id = h.row_id
      where c.row_id = t.id
    $sql$, (select string_agg(format('%1$I = case when h.held_columns @> array[%1$L] then t.%1$I else c.%1$I end', ec.column_name), ', ')
            from sync.entity_columns ec where ec.entity = p_entity and mapping.field_ids ? ec.column_name),
       entity.target_table) using p_entity;
  end if;

  -- The field problems of the records that land: new ones recorded, changed
  -- ones rewritten, those the source fixed closed by this run. Before the
  -- upsert, so that each written row's target checksum reads them.
  if to_regclass('pg_temp.problems_seen') is not null then drop table pg_temp.problems_seen; end if;
  create temp table problems_seen on commit drop as
  select c.source_key, c.problems from merge_candidates c
  where c.blocking_problems = '[]'::jsonb and not c.held_deleted
    and (c.problems <> '[]'::jsonb
         or exists (select from sync.field_problems fp
                    where fp.entity = p_entity and fp.source_key = c.source_key and fp.origin = 'merge' and fp.resolved_at is null));
  problem_changes := sync.record_problems(p_run_id, p_entity, 'merge');
  drop table pg_temp.problems_seen;

  -- Identity lives in the id map (sync.id_map): a record seen before keeps
  -- its row's id; a new one that lands gets a new id, entered in the map
  -- before its row is written, so the row's checksum trigger finds its key.
  -- (An entry made here for a row the database then refuses is taken out
  -- again below.)
  update merge_candidates c set row_id = gen_random_uuid()
  where c.row_id is null and c.blocking_problems = '[]'::jsonb and not c.held_deleted;
  insert into sync.id_map (entity_type, legacy_id, uuid_id, migration_batch, source_table, target_table, checksum)
  select p_entity, c.source_key, c.row_id, p_run_id, mapping.source_table, entity.target_table::text, c.checksum
  from merge_candidates c
  where c.row_is_new and c.row_id is not null;
  -- The statements below join the map (the row's checksum trigger, links,
  -- problems). Statistics do not see this transaction's own rows until it
  -- commits, so a chunk that grew the map by a tenth or more has it
  -- analyzed now (ANALYZE counts the rows this transaction inserted), and
  -- the planner does not take a quarter of a million entries for three.
  get diagnostics newly_mapped = row_count;
  if newly_mapped > greatest(10000, 0.1 * (select greatest(c.reltuples, 0) from pg_class c where c.oid = 'sync.id_map'::regclass)) then
    analyze sync.id_map;
  end if;

  -- Upsert the candidates that land, on their id, writing only rows that
  -- differ (a record that reappears is restored: deleted_at goes back to
  -- null). A target table that keeps the source's key in a column of its
  -- own (Delta's airtable_id) gets it written too.
  if to_regclass('pg_temp.merge_written') is not null then drop table pg_temp.merge_written; end if;
  create temp table merge_written (id uuid primary key, was_inserted boolean) on commit drop;
  upsert := format($sql$
    with written as (
      insert into %1$s as t (id, %6$s open_problem_count, %2$s)
      select row_id, %7$s problem_count, %2$s from merge_candidates
      where blocking_problems = '[]'::jsonb and not held_deleted and position between $1 and $2
      on conflict (id) do update set %8$s %3$s, open_problem_count = excluded.open_problem_count, deleted_at = null
      where row(%9$s %4$s, t.open_problem_count, t.deleted_at) is distinct from row(%10$s %5$s, excluded.open_problem_count, null::timestamptz)
      returning t.id, (t.xmax = 0) as was_inserted
    )
    insert into merge_written select * from written
  $sql$, entity.target_table, columns, assignments, compared_old, compared_new,
     case when entity.source_key_column is not null then format('%I,', entity.source_key_column) else '' end,
     case when entity.source_key_column is not null then 'source_key,' else '' end,
     case when entity.source_key_column is not null then format('%1$I = excluded.%1$I,', entity.source_key_column) else '' end,
     case when entity.source_key_column is not null then format('t.%I,', entity.source_key_column) else '' end,
     case when entity.source_key_column is not null then format('excluded.%I,', entity.source_key_column) else '' end);

  select count(*) into candidate_count from merge_candidates;
  begin
    execute upsert using 1::bigint, candidate_count;
  exception when others then
    -- A row broke a rule the checks above do not know. Find it without
    -- giving up the rest: chunks, then single rows of a failing chunk. Each
    -- failing row is quarantined with the database's own message.
    chunk_start := 1;
    while chunk_start <= candidate_count loop
      begin
        execute upsert using chunk_start, chunk_start + chunk_size - 1;
      exception when others then
        for failed_row in select mc.position, mc.source_key from merge_candidates mc
                          where mc.position between chunk_start and chunk_start + chunk_size - 1 and mc.blocking_problems = '[]'::jsonb and not mc.held_deleted
        loop
          begin
            execute upsert using failed_row.position, failed_row.position;
          exception when others then
            update merge_candidates mc
            set blocking_problems = jsonb_build_array(jsonb_build_object('field', null, 'value', null, 'reason', 'rejected by the database: ' || sqlerrm))
            where mc.position = failed_row.position;
            insert into sync.record_errors (run_id, source_table, source_key, field, value, reason)
            select p_run_id, mapping.source_table, failed_row.source_key, null, null, 'rejected by the database: ' || sqlerrm
            where not exists (select from sync.record_errors e
                              where e.resolved_at is null and e.source_table = mapping.source_table
                                and e.source_key = failed_row.source_key and e.reason = 'rejected by the database: ' || sqlerrm);
          end;
        end loop;
      end;
      chunk_start := chunk_start + chunk_size;
    end loop;
  end;

  -- The id map keeps, per record, the checksum of the source version last
  -- merged (rewritten only when it changed), for every clean candidate
  -- whose row exists, written or already equal: the id map is how a later
  -- staging knows the version it holds was merged. The entries made above
  -- for rows the database refused are taken out.
  delete from sync.id_map m
  using merge_candidates c
  where m.entity_type = p_entity and m.legacy_id = c.source_key and c.row_is_new and c.blocking_problems <> '[]'::jsonb;
  execute format($sql$
    update sync.id_map m set checksum = c.checksum
    from merge_candidates c
    join %s t on t.id = c.row_id
    where m.entity_type = $1 and m.legacy_id = c.source_key and c.blocking_problems = '[]'::jsonb and not c.row_is_new
      and m.checksum is distinct from c.checksum
  $sql$, entity.target_table) using p_entity;

  -- Attachments of the clean candidates: one row per file, soft-deleted when
  -- gone from the cell. The download URL changes on every read, so it is
  -- kept only when the file itself is new or changed.
  for attachment in select key as field_name, value as field_id from jsonb_each_text(mapping.attachment_field_ids) loop
    execute format($sql$
      insert into app.attachments as a (airtable_attachment_id, %1$I, field_name, position, filename, size_bytes, mime_type, url, url_fetched_at)
      select distinct on (t.id, file ->> 'id')
             file ->> 'id', t.id, $1, (n - 1)::smallint, file ->> 'filename', (file ->> 'size')::bigint, file ->> 'type', file ->> 'url', now()
      from merge_candidates c
      join %2$s t on t.id = c.row_id
      cross join lateral jsonb_array_elements(coalesce(c.%3$I, '[]'::jsonb)) with ordinality as cell (file, n)
      where c.blocking_problems = '[]'::jsonb
        and not c.problems @> jsonb_build_array(jsonb_build_object('field', $1::text, 'rule', 'cell_conversion'))
      order by t.id, file ->> 'id', n
      on conflict (%1$I, field_name, airtable_attachment_id) where %1$I is not null do update
        set position = excluded.position, filename = excluded.filename, size_bytes = excluded.size_bytes,
            mime_type = excluded.mime_type, deleted_at = null,
            url = case when row(a.filename, a.size_bytes, a.mime_type, a.deleted_at) is distinct from row(excluded.filename, excluded.size_bytes, excluded.mime_type, null::timestamptz)
                       then excluded.url else a.url end,
            url_fetched_at = case when row(a.filename, a.size_bytes, a.mime_type, a.deleted_at) is distinct from row(excluded.filename, excluded.size_bytes, excluded.mime_type, null::timestamptz)
                       then excluded.url_fetched_at else a.url_fetched_at end
      where row(a.position, a.filename, a.size_bytes, a.mime_type, a.deleted_at)
            is distinct from row(excluded.position, excluded.filename, excluded.size_bytes, excluded.mime_type, null::timestamptz)
    $sql$, entity.attachment_owner_column, entity.target_table, 'attachments__' || attachment.field_name) using attachment.field_name;

    execute format($sql$
      update app.attachments a set deleted_at = now()
      from merge_candidates c join %2$s t on t.id = c.row_id
      where a.%1$I = t.id and a.field_name = $1 and a.deleted_at is null and c.blocking_problems = '[]'::jsonb
        and not c.problems @> jsonb_build_array(jsonb_build_object('field', $1::text, 'rule', 'cell_conversion'))
        and not exists (select from jsonb_array_elements(coalesce(c.%3$I, '[]'::jsonb)) as file where file ->> 'id' = a.airtable_attachment_id)
    $sql$, entity.attachment_owner_column, entity.target_table, 'attachments__' || attachment.field_name) using attachment.field_name;
  end loop;
  -- files downloaded before their rows were written (downloads run beside
  -- the listing) are put on the rows now
  if mapping.attachment_field_ids <> '{}'::jsonb then
    perform sync.link_attachment_files(p_run_id, mapping.source_id);
  end if;

  -- A row whose problems changed while the row itself did not (a value
  -- out of range changed to another out of range) gets its count and
  -- target checksum put right; and, in the final call, links to records
  -- that have appeared since are resolved.
  perform sync.refresh_problem_rows(p_run_id, p_entity, problem_changes);
  if p_final then
    perform sync.resolve_dangling_links(p_run_id, p_entity);
  end if;

  select p_entity,
         count(*) filter (where c.fetched_this_run),
         count(*) filter (where c.fetched_this_run and w.was_inserted),
         count(*) filter (where c.fetched_this_run and not w.was_inserted),
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and w.id is null),
         count(*) filter (where c.fetched_this_run and c.blocking_problems <> '[]'::jsonb),
         count(*) filter (where not c.fetched_this_run),
         count(*) filter (where not c.fetched_this_run and c.blocking_problems = '[]'::jsonb),
         count(*) filter (where c.fetched_this_run and c.blocking_problems = '[]'::jsonb and c.problems <> '[]'::jsonb)
    into result
  from merge_candidates c
  left join merge_written w on w.id = c.row_id;

  -- The checkpoint adds this call's counts to those of earlier batches and
  -- remembers the last page merged; the final call moves the phase on.
  update sync.checkpoints cp
  set metadata = cp.metadata || jsonb_build_object(
        'phase', case when p_final then 'merged' else cp.metadata ->> 'phase' end,
        'merged_through', merge_upto,
        'merge_batches', coalesce((cp.metadata ->> 'merge_batches')::int, 0) + 1,
        'merge', jsonb_build_object('entity', p_entity) || (
          select jsonb_object_agg(counted.key, coalesce((cp.metadata -> 'merge' ->> counted.key)::bigint, 0) + counted.value::bigint)
          from jsonb_each_text(to_jsonb(result) - 'entity') as counted))
  where cp.run_id = p_run_id and cp.operation_type = 'sync_operation' and cp.entity_type = p_entity;

  drop table pg_temp.merge_candidates;
  drop table pg_temp.merge_written;
  return result;
end;
$fn$;
comment on function sync.merge_entity(bigint, text, boolean) is E'Merges an entity''s staged records of a run into its app table, set-based, in batches: each call takes the pages staged since the previous call (so merging can run while the listing goes on), and the final call (p_final) also retries records quarantined by earlier runs, resolves links to records that have appeared since (sync.resolve_dangling_links) and marks the table merged. It converts every mapped cell; a record with problems (bad value, missing required value, out of range, dangling link, several links where one is kept) lands with the column empty (or the first link) and the problem in sync.field_problems, and its row counts its open problems; only a blocking validation rule, or an id no row can hold, quarantines a record in sync.record_errors. It retries earlier-quarantined records, upserts only rows that changed, restores reappearing records, maps ids and attachments. Columns changed here and not yet pushed (open sync.outbox entries) or parked in an open manual conflict keep their local value, and rows deleted here stay deleted: the push, or the person resolving, decides them. Security definer: the sync role may merge but not write app tables directly.';
--! EndIncluded merge/merge_entity.sql
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
