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

--!include files/_all.sql

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

--!include merge/merge_entity.sql
--!include grants/_all.sql
