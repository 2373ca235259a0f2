/*
 * ===========================================================================
 * Messy data lands (issue 15): every record Airtable holds lands in app.*;
 * what is wrong with it is recorded on the field, never hidden.
 *
 * - sync.field_problems: one row per record, field and rule that the merge
 *   or a validation rule found wrong, with the original value, what landed
 *   (the column emptied, the first of several links, the value kept) and
 *   why; open until a run sees the source fixed. Only a blocking rule (or a
 *   record no row can exist for) still quarantines a record whole, in
 *   sync.record_errors.
 * - app rows carry open_problem_count, so an application or a report can
 *   filter or badge them.
 * - A link to a record that is missing lands empty and keeps the linked id
 *   in its problem; each merge resolves such links set-based once the
 *   target exists.
 * - The target canonical form of a row puts back, for an emptied column,
 *   the value the source holds (from its open problem): a record that
 *   landed with problems verifies equal to its source, and the problems
 *   are reported as what they are.
 * - Domain columns are NOT NULL only where airlift itself guarantees the
 *   value (ids, timestamps, defaults of converted empties): Airtable has no
 *   required fields, so an empty primary field is legal there.
 *
 * Idempotent while current: what is re-created is dropped first, in
 * reverse dependency order; sync_functions.sql, integrity_functions.sql
 * and validation_functions.sql are included again whole (the pattern of
 * the earlier migrations), so each function has one definition, in its
 * fixture.
 * ===========================================================================
 */
drop view if exists sync.open_data_problems;
drop function if exists sync.refresh_problem_rows(text, text[]);
drop function if exists sync.resolve_dangling_links(bigint, text);
drop function if exists sync.record_problems(bigint, text, text);

-- validation_functions.sql
drop function if exists sync.validate_entity(bigint, text, boolean);
drop function if exists sync.rule_checks_sql(text, text);
drop function if exists sync.rule_check_sql(sync.validation_rules, text, text);
drop function if exists sync.matches_format(text, text);

-- integrity_functions.sql
drop trigger if exists _150_keep_rejections_open on sync.record_errors;
drop function if exists sync.rollback_run(bigint, bigint, boolean);
drop function if exists sync.rollback_conflicts(bigint);
drop function if exists sync.tg_record_errors__keep_rejections_open();
drop function if exists sync.mark_rejected_before_staging(bigint, text, jsonb);
drop function if exists sync.finish_stage_only_run(bigint);
drop function if exists sync.count_staged_records(bigint, text);
drop function if exists sync.summarize_verification(bigint, text);
drop function if exists sync.verify_relationships(bigint, text, text, text);
drop function if exists sync.verify_entity(bigint, text, text, text, boolean, boolean);
drop function if exists sync.plan_key_ranges(text, bigint, integer, bigint);
drop function if exists sync.staging_key_splits(text, text, integer);
drop function if exists sync.entity_checksums(text);
drop function if exists sync.table_checksum(text[]);
drop function if exists sync.table_checksum_text(numeric, numeric, numeric);
drop function if exists sync.checksum_term(text, bigint);
drop function if exists sync.source_canonical(text, text[]);
drop function if exists sync.compare_records(text);
drop function if exists sync.source_snapshot_run(text);
drop function if exists sync.target_canonical_sql(text, text);
drop function if exists sync.checksum(jsonb);
drop function if exists sync.mapped_columns(text);
drop function if exists sync.cell_canonical(jsonb, text);

-- sync_functions.sql
drop function if exists sync.fail_run(bigint, text);
drop function if exists sync.finish_run(bigint);
drop function if exists sync.refresh_job_statistics(uuid);
drop function if exists sync.sweep_deleted(bigint, text);
drop function if exists sync.merge_registrations(bigint);
drop function if exists sync.merge_products(bigint);
drop function if exists sync.merge_state_regulators(bigint);
drop function if exists sync.merge_clients(bigint);
drop function if exists sync.merge_entity(bigint, text, boolean);
drop function if exists sync.converted_cells_sql(text);
drop function if exists sync.analyze_if_stale(regclass);
drop function if exists sync.restart_listing(bigint, text);
drop function if exists sync.stage_page(bigint, text, jsonb, jsonb, boolean, text, timestamptz);
drop type if exists sync.merge_result;

drop table if exists sync.field_problems;
alter table app.clients drop column if exists open_problem_count;
alter table app.state_regulators drop column if exists open_problem_count;
alter table app.products drop column if exists open_problem_count;
alter table app.registrations drop column if exists open_problem_count;

/*
 * Why: Airtable has no required fields (an empty primary field is legal
 * there), and a record that lands with a problem lands with the column
 * empty. NOT NULL stays only on what airlift guarantees itself.
 */
alter table app.clients alter column name drop not null;
alter table app.state_regulators alter column agency_name drop not null;
alter table app.products alter column name drop not null;
comment on column app.clients.name is E'Client Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';
comment on column app.state_regulators.agency_name is E'Agency Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';
comment on column app.products.name is E'Product Name: the primary field. Empty when Airtable''s is (an open problem in sync.field_problems says so).';

/*
 * Why: one place for what is wrong with a record that landed: the merge's
 * own findings (a cell that does not convert, an empty required value, a
 * value outside a CHECK's range, a link to a record that does not exist, a
 * second link in a single-link field) and the record-local validation
 * rules' warnings. Open until the run that sees the source fixed closes it.
 */
create table sync.field_problems (
  id uuid primary key default gen_random_uuid(),
  entity text not null references sync.entities (entity) on delete cascade,
  source_table text not null,
  airtable_id text not null,
  field text,
  column_name text,
  rule text not null,
  origin text not null,
  value jsonb,
  source_canonical jsonb,
  landed text not null,
  link_key text,
  reason text not null,
  run_id bigint references sync.runs (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  resolved_at timestamptz,
  resolved_by_run_id bigint references sync.runs (id) on delete set null,
  constraint field_problems_origin_is_known check (origin in ('merge', 'rule')),
  constraint field_problems_landed_is_known check (landed in ('empty', 'first_link', 'kept')),
  constraint field_problems_reason_not_blank check (btrim(reason) <> ''),
  constraint field_problems_link_key_for_dangling_links check ((link_key is not null) = (rule = 'dangling_link')),
  constraint field_problems_resolved_after_created check (resolved_at >= created_at)
);
comment on table sync.field_problems is E'What is wrong with records that landed in app.*: one row per record, field and rule, with the original value, what landed and why. Written by the merge (origin merge) and by the validation rules of each pull (origin rule); open until a run sees the source fixed (resolved_at, resolved_by_run_id). Records a blocking rule keeps out are in sync.record_errors instead.';
comment on column sync.field_problems.id is E'Primary key.';
comment on column sync.field_problems.entity is E'The entity of the record.';
comment on column sync.field_problems.source_table is E'The source table (Airtable table id).';
comment on column sync.field_problems.airtable_id is E'The source record id; the app row has the same airtable_id.';
comment on column sync.field_problems.field is E'The field''s name as the mapping names it.';
comment on column sync.field_problems.column_name is E'The app column the field lands in (null for attachment fields, which land as app.attachments rows).';
comment on column sync.field_problems.rule is E'What was broken: cell_conversion, required_value, check_range, dangling_link, extra_links (the merge''s own), or the id of a validation rule (sync.validation_rules).';
comment on column sync.field_problems.origin is E'merge: found by the merge, which decides what lands; rule: a warning of a validation rule, the value kept.';
comment on column sync.field_problems.value is E'The cell as Airtable sent it.';
comment on column sync.field_problems.source_canonical is E'The cell in canonical form (sync.cell_canonical), which the target canonical form of the row puts back for an emptied column, so that checksums compare what the source holds.';
comment on column sync.field_problems.landed is E'What landed: empty (the column left empty, or its converter''s empty value), first_link (the first of several linked records), kept (the value as converted).';
comment on column sync.field_problems.link_key is E'For a dangling link: the linked record id, resolved by a later merge once that record exists.';
comment on column sync.field_problems.reason is E'Why, in words that name the field and the value.';
comment on column sync.field_problems.run_id is E'The run that first found the problem.';
comment on column sync.field_problems.created_at is E'When it was first found.';
comment on column sync.field_problems.updated_at is E'When it last changed.';
comment on column sync.field_problems.resolved_at is E'When a run saw it fixed (or the linked record appear); null while open.';
comment on column sync.field_problems.resolved_by_run_id is E'The run that closed it.';

/* Why: one open problem per record, column and rule; the merge finds it by this key. */
create unique index field_problems_open_key on sync.field_problems (entity, airtable_id, coalesce(column_name, field, ''), rule) where resolved_at is null;
comment on index sync.field_problems_open_key is E'One open problem per record, column and rule: how a run finds the problem it saw before.';
/* Why: each merge resolves dangling links set-based, by the linked id. */
create index field_problems_dangling_links_idx on sync.field_problems (entity, column_name, link_key) where resolved_at is null and link_key is not null;
comment on index sync.field_problems_dangling_links_idx is E'The open dangling links of an entity by linked record id: what each merge tries to resolve.';
/* Why: reports group the open problems by table, field and rule. */
create index field_problems_open_by_rule_idx on sync.field_problems (entity, field, rule) where resolved_at is null;
comment on index sync.field_problems_open_by_rule_idx is E'Open problems by table, field and rule, for status and verification reports.';

create trigger _100_set_updated_at before update on sync.field_problems for each row execute function app.tg__set_updated_at();
select audit.enable_for('sync.field_problems');

/*
 * Why: an application or a report can filter or badge rows with problems
 * without joining sync tables it may not read.
 */
alter table app.clients add column open_problem_count integer not null default 0;
alter table app.state_regulators add column open_problem_count integer not null default 0;
alter table app.products add column open_problem_count integer not null default 0;
alter table app.registrations add column open_problem_count integer not null default 0;
comment on column app.clients.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';
comment on column app.state_regulators.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';
comment on column app.products.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';
comment on column app.registrations.open_problem_count is E'How many problems of the record are open in sync.field_problems (a field emptied, a link unresolved, a warning); 0 when it landed clean.';

--!include sync_functions.sql
--!include integrity_functions.sql

create trigger _150_keep_rejections_open before update on sync.record_errors
  for each row when (old.rejected_before_staging and old.resolved_at is null and new.resolved_at is not null)
  execute function sync.tg_record_errors__keep_rejections_open();

--!include validation_functions.sql
--!include problem_functions.sql

/*
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
 */

--!include change_capture.sql

comment on column sync.outbox.changed_columns is E'The pushable columns changed since the entry opened, sorted (for a create: those with a value): the mapped ones, or the catalogue''s while no mapping was loaded (the push plans only the mapped ones).';

--!include grants.sql
