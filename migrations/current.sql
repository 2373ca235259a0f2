/*
 * Two-way sync, follow-up: newest_wins compares Airtable's last-modified
 * time with the time of the local change (the outbox entry's last change),
 * not with the row's updated_at, which a pull moves when it writes other
 * columns of the row. The push functions are re-created (all of them are
 * `create or replace`, so nothing needs dropping first).
 */
comment on column sync.conflicts.local_modified_at is E'When the local change was made (the outbox entry''s last change): what newest_wins compares with Airtable''s last-modified time.';

--!include change_capture.sql

--!include grants.sql
