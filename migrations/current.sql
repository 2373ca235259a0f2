/*
 * ===========================================================================
 * Two-way sync, defects found trying it as a new user (issue 15, item 7):
 *
 * - A row an application inserted into app.* before the first pull was
 *   never captured (the capture trigger returned early while no mapping
 *   was loaded) and never reached Airtable. sync.push_columns now falls
 *   back to the catalogue's pushable columns while sync.entity_mappings is
 *   empty (the capture needs the columns, conversions and links, not the
 *   field ids); sync.push_rows_sql builds the Airtable fields object only
 *   for columns with a field id; sync.tg__capture_changes documents it.
 *   The push narrows entries to the mapped columns when it plans them.
 * - sync.push_status also shows the pending entries waiting out a retry
 *   delay (retry_waiting) and when the first is due (next_attempt_at),
 *   columns added at the end of the view.
 *
 * Idempotent while current: every object changed is created with `create
 * or replace` in change_capture.sql, with the same signature and, for the
 * view, the same columns followed by the new ones, so change_capture.sql
 * is included again whole (each function keeps one definition, in its
 * fixture) and nothing needs dropping: the capture triggers that depend on
 * sync.tg__capture_changes() stay as they are. Nothing new needs a grant
 * (grants.sql grants on every function and view of the schema, and
 * these are replaced, not created).
 * ===========================================================================
 */

--!include change_capture.sql

comment on column sync.outbox.changed_columns is E'The pushable columns changed since the entry opened, sorted (for a create: those with a value): the mapped ones, or the catalogue''s while no mapping was loaded (the push plans only the mapped ones).';
