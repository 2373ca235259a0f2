/*
 * Two-way sync, the SQL foundation (issue 5): change capture of the synced
 * app tables into sync.outbox, conflict policies per table and column, the
 * conflict log, the three-way push plan, the conversion of app columns back
 * to Airtable cell shapes, and the bookkeeping of outbox entries. The push
 * task (TypeScript) drives these functions; it never decides a conflict
 * itself.
 *
 * Echo suppression: every write the sync makes (merge, sweep, rollback,
 * snapshot restore, push bookkeeping, a value Airtable won) runs with the
 * transaction-local setting airlift.run_id; the capture triggers ignore
 * those statements, so a change pulled from Airtable never goes back out.
 *
 * Idempotent while current: dropped first, in reverse dependency order.
 */
do $$
declare
  e record;
begin
  for e in select target_table from sync.entities loop
    execute format('drop trigger if exists _950_capture_changes_insert on %s', e.target_table);
    execute format('drop trigger if exists _950_capture_changes_update on %s', e.target_table);
    execute format('drop trigger if exists _950_capture_changes_delete on %s', e.target_table);
  end loop;
end;
$$;
drop function if exists sync.finish_push_run(bigint);
drop view if exists sync.push_status;
drop function if exists sync.resolve_conflict(bigint, bigint, text, jsonb, text);
drop function if exists sync.plan_push(bigint, bigint[], jsonb, jsonb);
drop function if exists sync.apply_airtable_cells(bigint, text, jsonb);
drop function if exists sync.retry_outbox(bigint[]);
drop function if exists sync.release_stale_outbox(interval);
drop function if exists sync.mark_outbox_failed(bigint, jsonb, integer);
drop function if exists sync.mark_outbox_pushed(bigint, jsonb);
drop function if exists sync.claim_outbox(bigint, text, text, integer);
drop function if exists sync.outbox_retry_delay(integer);
drop function if exists sync.tg__capture_changes();
drop function if exists sync.airtable_fields(text, uuid[]);
drop function if exists sync.push_rows_sql(text, text);
drop function if exists sync.canonical_to_cell(jsonb, text);
drop function if exists sync.conflict_policy_for(text, text);
drop function if exists sync.push_columns(text);
drop table if exists sync.conflicts;
drop table if exists sync.conflict_policies;
drop table if exists sync.outbox;
alter table sync.entity_mappings drop column if exists push_deletes;
alter table sync.entity_columns drop constraint if exists entity_columns_computed_fields_not_pushable;
alter table sync.entity_columns drop column if exists pushable;
-- re-created below: a differential resolved source_wins closes the rows' unpushed changes
drop trigger if exists _800_target_checksums_insert on app.clients;
drop trigger if exists _800_target_checksums_update on app.clients;
drop trigger if exists _800_target_checksums_delete on app.clients;
drop trigger if exists _800_target_checksums_truncate on app.clients;
drop trigger if exists _800_target_checksums_insert on app.state_regulators;
drop trigger if exists _800_target_checksums_update on app.state_regulators;
drop trigger if exists _800_target_checksums_delete on app.state_regulators;
drop trigger if exists _800_target_checksums_truncate on app.state_regulators;
drop trigger if exists _800_target_checksums_insert on app.products;
drop trigger if exists _800_target_checksums_update on app.products;
drop trigger if exists _800_target_checksums_delete on app.products;
drop trigger if exists _800_target_checksums_truncate on app.products;
drop trigger if exists _800_target_checksums_insert on app.registrations;
drop trigger if exists _800_target_checksums_update on app.registrations;
drop trigger if exists _800_target_checksums_delete on app.registrations;
drop trigger if exists _800_target_checksums_truncate on app.registrations;
drop function if exists sync.resolve_differentials(bigint, text, text);
drop function if exists sync.compute_differentials(bigint, text, text, text);
drop function if exists sync.refresh_target_checksums(text);
drop function if exists sync.tg__maintain_target_checksums();
-- re-created below: the merge leaves unpushed local changes alone
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

/*
 * Which mapped columns go back to Airtable. Fields Airtable computes
 * (created time, last modified time, lookups) refuse writes, and
 * collaborators are never written back (an Airtable user cannot be made
 * from an app row); a local change to them is not captured, and the next
 * pull restores Airtable's value (the audit trail keeps the local one).
 */
alter table sync.entity_columns add column pushable boolean not null default true;
comment on column sync.entity_columns.pushable is E'Whether a local change of the column is pushed to Airtable: false for fields Airtable computes (created time, last modified time, lookups) and for collaborators, which airlift never writes back. Only pushable columns are captured in sync.outbox.';
update sync.entity_columns set pushable = false
where conversion in ('collaborator', 'lookup_text') or column_name in ('airtable_created_at', 'airtable_modified_at');
alter table sync.entity_columns add constraint entity_columns_computed_fields_not_pushable
  check (not pushable or conversion not in ('collaborator', 'lookup_text'));

/* Why: deleting in Airtable is destructive; the mapping must ask for it, table by table. */
alter table sync.entity_mappings add column push_deletes boolean not null default false;
comment on column sync.entity_mappings.push_deletes is E'Whether rows deleted here (soft or hard) are deleted in Airtable too. Default false: the delete is captured, not sent, and reported as skipped in sync.outbox.';

/*
 * The outbox: one entry per row changed here by anything but the sync,
 * waiting to be pushed. While an entry is open (pending or failed) further
 * changes of its row merge into it, so a row is pushed once with the union
 * of its changed columns and, per column, the value before the FIRST
 * change: the base of the three-way comparison.
 *
 * Status: pending (waiting; next_attempt_at delays a retry) -> in_flight
 * (claimed by a push run) -> pushed | skipped (nothing to send: Airtable
 * already holds the values or won them, or deletes are not pushed for the
 * table) | failed (Airtable refused it, or retries ran out; a new local
 * change or sync.retry_outbox makes it pending again) | pending (a
 * transient error, retried later). superseded: merged away (a row created
 * and deleted before it was ever pushed). Operational state derived from
 * the audited app rows, so not audited itself; every outcome stays in the
 * table.
 */
create table sync.outbox (
  id bigint generated always as identity primary key,
  entity text not null references sync.entities (entity) on delete cascade,
  row_id uuid not null,
  airtable_id text,
  operation text not null,
  changed_columns text[] not null default '{}',
  before_values jsonb not null default '{}',
  status text not null default 'pending',
  attempts integer not null default 0,
  next_attempt_at timestamptz,
  claimed_at timestamptz,
  run_id bigint references sync.runs (id) on delete set null,
  push_plan jsonb,
  last_error text,
  airtable_response jsonb,
  changed_by text,
  last_changed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  pushed_at timestamptz,
  constraint outbox_operation_is_known check (operation in ('create', 'update', 'delete')),
  constraint outbox_status_is_known check (status in ('pending', 'in_flight', 'pushed', 'skipped', 'failed', 'superseded')),
  constraint outbox_airtable_id_format check (airtable_id ~ '^rec[A-Za-z0-9]{14}$'),
  constraint outbox_before_values_is_object check (jsonb_typeof(before_values) = 'object'),
  constraint outbox_attempts_not_negative check (attempts >= 0),
  constraint outbox_failure_has_message check (status <> 'failed' or last_error is not null),
  constraint outbox_pushed_has_time check ((status = 'pushed') = (pushed_at is not null)),
  constraint outbox_in_flight_is_claimed check (status <> 'in_flight' or claimed_at is not null)
);
comment on table sync.outbox is E'Changes of synced app rows made here (not by the sync), waiting to be pushed to Airtable: one open entry per row, coalescing later changes, with the values before the first change as the base of conflict detection. Filled by the _950_capture_changes_* triggers; drained by the push through sync.claim_outbox, sync.plan_push and sync.mark_outbox_*.';
comment on column sync.outbox.id is E'Order of capture; older entries are pushed first.';
comment on column sync.outbox.entity is E'The entity (sync.entities) of the changed row.';
comment on column sync.outbox.row_id is E'The app row''s id. No foreign key: a hard-deleted row must still be deleted in Airtable.';
comment on column sync.outbox.airtable_id is E'The row''s Airtable record id; null for a row not yet in Airtable (filled when its create is pushed).';
comment on column sync.outbox.operation is E'create (the row is not in Airtable yet), update, or delete (soft or hard delete here). Coalescing: create then update stays create, update then delete becomes delete, delete then restore becomes update.';
comment on column sync.outbox.changed_columns is E'The pushable mapped columns changed since the entry opened, sorted (for a create: those with a value).';
comment on column sync.outbox.before_values is E'Column -> canonical value (sync.cell_canonical form) before the first change of that column since the entry opened: the base of the three-way comparison. Empty for a create.';
comment on column sync.outbox.status is E'pending, in_flight, pushed, skipped (nothing had to be sent), failed (refused by Airtable or out of retries) or superseded (merged away).';
comment on column sync.outbox.attempts is E'Push attempts so far (claims); reset when a failed entry is reopened.';
comment on column sync.outbox.next_attempt_at is E'Earliest time of the next attempt after a transient error (exponential backoff, sync.outbox_retry_delay); null: now.';
comment on column sync.outbox.claimed_at is E'When the entry was last claimed by a push run.';
comment on column sync.outbox.run_id is E'The push run that last claimed the entry.';
comment on column sync.outbox.push_plan is E'What sync.plan_push decided: the action, the fields sent, the fields Airtable won, the conflicts recorded.';
comment on column sync.outbox.last_error is E'Airtable''s message (or the reason) of the last failure.';
comment on column sync.outbox.airtable_response is E'Airtable''s response for this record (the created or updated record, or the error body).';
comment on column sync.outbox.changed_by is E'Who made the latest captured change: airlift.actor, else the database role.';
comment on column sync.outbox.last_changed_at is E'When the latest change was merged into the entry.';
comment on column sync.outbox.created_at is E'When the first change was captured.';
comment on column sync.outbox.updated_at is E'When the entry last changed.';
comment on column sync.outbox.pushed_at is E'When Airtable accepted the change; set exactly when pushed.';
/* Why: at most one open entry per row, the target of coalescing (insert ... on conflict). */
create unique index outbox_open_row_key on sync.outbox (entity, row_id) where status in ('pending', 'failed');
/* Why: the push's hot query, "the oldest due pending entries of an entity". */
create index outbox_pending_idx on sync.outbox (entity, id) include (next_attempt_at) where status = 'pending';
/* Why: the history of one row, and the in-flight lookups of capture and claim. */
create index outbox_row_idx on sync.outbox (entity, row_id, id);
/* Why: the merge asks, per entity, which rows have unpushed changes (pending, failed or in flight) to leave their columns alone. */
create index outbox_unpushed_idx on sync.outbox (entity, row_id) where status in ('pending', 'failed', 'in_flight');
create trigger _100_set_updated_at before update on sync.outbox for each row execute function app.tg__set_updated_at();

/*
 * Conflict policies: who wins a field changed differently on both sides.
 * A row without column is the table's policy; a row with a column
 * overrides it for that column. Without any row: source_wins (Airtable).
 * Audited: a change of policy changes what later pushes overwrite.
 */
create table sync.conflict_policies (
  id bigint generated always as identity primary key,
  entity text not null references sync.entities (entity) on delete cascade,
  column_name text,
  policy text not null,
  reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (entity, column_name) references sync.entity_columns (entity, column_name) on delete cascade,
  constraint conflict_policies_policy_is_known check (policy in ('source_wins', 'target_wins', 'newest_wins', 'manual')),
  constraint conflict_policies_entity_column_key unique nulls not distinct (entity, column_name)
);
comment on table sync.conflict_policies is E'How a field changed differently in Airtable and here is decided, per table (column_name null) and optionally per column (overrides the table): source_wins (Airtable; the default without a row), target_wins (PostgreSQL), newest_wins (Airtable''s last-modified time against the row''s updated_at) or manual (parked in sync.conflicts).';
comment on column sync.conflict_policies.id is E'Primary key (the audit trail''s record id).';
comment on column sync.conflict_policies.entity is E'The entity the policy applies to.';
comment on column sync.conflict_policies.column_name is E'The column it applies to; null for the whole table.';
comment on column sync.conflict_policies.policy is E'source_wins, target_wins, newest_wins or manual.';
comment on column sync.conflict_policies.reason is E'Why this policy, in words, for whoever reads the conflict log.';
comment on column sync.conflict_policies.created_at is E'When the policy was set.';
comment on column sync.conflict_policies.updated_at is E'When the policy last changed.';
create trigger _100_set_updated_at before update on sync.conflict_policies for each row execute function app.tg__set_updated_at();
select audit.enable_for('sync.conflict_policies');

/*
 * The conflict log: every field changed differently on both sides, with
 * the three values, the policy in force, and how it was decided (by which
 * rule, by whom). Automatic decisions are logged resolved; manual ones stay
 * open until sync.resolve_conflict. Audited, so every resolution is in the
 * trail as well.
 */
create table sync.conflicts (
  id bigint generated always as identity primary key,
  entity text not null references sync.entities (entity) on delete cascade,
  row_id uuid not null,
  airtable_id text,
  column_name text not null,
  base_value jsonb,
  local_value jsonb,
  remote_value jsonb,
  local_modified_at timestamptz,
  remote_modified_at timestamptz,
  policy text not null,
  status text not null default 'open',
  resolution text,
  resolved_value jsonb,
  decided_by_rule text,
  decided_by text,
  outbox_id bigint references sync.outbox (id) on delete set null,
  run_id bigint references sync.runs (id) on delete set null,
  resolved_by_run_id bigint references sync.runs (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  resolved_at timestamptz,
  constraint conflicts_policy_is_known check (policy in ('source_wins', 'target_wins', 'newest_wins', 'manual')),
  constraint conflicts_status_is_known check (status in ('open', 'resolved')),
  constraint conflicts_resolution_is_known check (resolution in ('airtable', 'postgres', 'value')),
  constraint conflicts_rule_is_known check (decided_by_rule in ('source_wins', 'target_wins', 'newest_wins', 'manual')),
  constraint conflicts_resolved_is_complete check (
    (status = 'resolved') = (resolution is not null and decided_by_rule is not null and decided_by is not null and resolved_at is not null))
);
comment on table sync.conflicts is E'The conflict log: each field changed differently in Airtable and here since the sync last saw it, with base, local and remote values (canonical form), the policy in force and the decision: which side won, by which rule, decided by whom. Automatic policies log resolved conflicts; manual ones stay open until sync.resolve_conflict.';
comment on column sync.conflicts.id is E'Primary key; what `airlift conflicts show|resolve ID` names.';
comment on column sync.conflicts.entity is E'The entity of the row.';
comment on column sync.conflicts.row_id is E'The app row.';
comment on column sync.conflicts.airtable_id is E'The Airtable record.';
comment on column sync.conflicts.column_name is E'The conflicting column.';
comment on column sync.conflicts.base_value is E'The value before the local change (the outbox entry''s before value), canonical.';
comment on column sync.conflicts.local_value is E'PostgreSQL''s value when the conflict was found, canonical.';
comment on column sync.conflicts.remote_value is E'Airtable''s value read just before pushing, canonical.';
comment on column sync.conflicts.local_modified_at is E'The app row''s updated_at when the conflict was found (newest_wins compares it).';
comment on column sync.conflicts.remote_modified_at is E'The Airtable record''s last-modified time, when known (newest_wins compares it).';
comment on column sync.conflicts.policy is E'The policy in force for the column (sync.conflict_policies; default source_wins).';
comment on column sync.conflicts.status is E'open (waiting for a person) or resolved.';
comment on column sync.conflicts.resolution is E'Which value won: airtable, postgres, or value (an explicit value given by a person).';
comment on column sync.conflicts.resolved_value is E'The value that won, canonical.';
comment on column sync.conflicts.decided_by_rule is E'The rule that decided: source_wins, target_wins, newest_wins, or manual (a person).';
comment on column sync.conflicts.decided_by is E'Who applied the rule: the actor (airlift.actor) or database role of the push, or the person resolving.';
comment on column sync.conflicts.outbox_id is E'The outbox entry whose push found the conflict.';
comment on column sync.conflicts.run_id is E'The push run that found the conflict.';
comment on column sync.conflicts.resolved_by_run_id is E'The run under which the resolution was applied.';
comment on column sync.conflicts.created_at is E'When the conflict was found.';
comment on column sync.conflicts.updated_at is E'When the entry last changed.';
comment on column sync.conflicts.resolved_at is E'When it was resolved; set exactly when resolved.';
/* Why: `airlift conflicts list` and status read the open ones; the planner holds back fields with an open conflict. */
create index conflicts_open_idx on sync.conflicts (entity, row_id, column_name) where status = 'open';
create trigger _100_set_updated_at before update on sync.conflicts for each row execute function app.tg__set_updated_at();
select audit.enable_for('sync.conflicts');

--!include change_capture.sql

/* The merge, re-created: columns with unpushed local changes keep their value. */
--!include sync_functions.sql

/* Differentials, re-created: source_wins closes the unpushed changes it overwrites. */
--!include differential_functions.sql

/* The checksum triggers again (dropped above with their function), ENABLE ALWAYS as before. */
do $$
declare
  e record;
begin
  for e in select entity, target_table from sync.entities loop
    execute format('create trigger _800_target_checksums_insert after insert on %s referencing new table as new_rows '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('create trigger _800_target_checksums_update after update on %s referencing new table as new_rows '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('create trigger _800_target_checksums_delete after delete on %s referencing old table as old_rows '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('create trigger _800_target_checksums_truncate after truncate on %s '
                   'for each statement execute function sync.tg__maintain_target_checksums(%L)', e.target_table, e.entity);
    execute format('alter table %s enable always trigger _800_target_checksums_insert, enable always trigger _800_target_checksums_update, '
                   'enable always trigger _800_target_checksums_delete, enable always trigger _800_target_checksums_truncate', e.target_table);
  end loop;
end;
$$;

/*
 * Attach the capture triggers to every synced app table: statement-level,
 * with transition tables, ENABLE ALWAYS (replica mode does not bypass
 * them), ordered after the audit triggers (_900_).
 */
do $$
declare
  e record;
begin
  for e in select entity, target_table from sync.entities loop
    execute format('create trigger _950_capture_changes_insert after insert on %s referencing new table as new_rows '
                   'for each statement execute function sync.tg__capture_changes(%L)', e.target_table, e.entity);
    execute format('create trigger _950_capture_changes_update after update on %s referencing old table as old_rows new table as new_rows '
                   'for each statement execute function sync.tg__capture_changes(%L)', e.target_table, e.entity);
    execute format('create trigger _950_capture_changes_delete after delete on %s referencing old table as old_rows '
                   'for each statement execute function sync.tg__capture_changes(%L)', e.target_table, e.entity);
    execute format('alter table %s enable always trigger _950_capture_changes_insert, enable always trigger _950_capture_changes_update, '
                   'enable always trigger _950_capture_changes_delete', e.target_table);
  end loop;
end;
$$;


/*
 * ===========================================================================
 * Proof of integrity, follow-ups (issue 4): a rollback names and deals with
 * rows that link to rows the rolled-back run inserted; records rejected
 * before staging stay in quarantine until a run stages them cleanly, and
 * verification lists them; a stage-only run (source snapshot) counts the
 * records it staged.
 *
 * Idempotent while current: what is re-created is dropped first, in
 * reverse dependency order; integrity_functions.sql is included again
 * whole (the pattern of migration 000005), so each function has one
 * definition, in the fixture.
 * ===========================================================================
 */
drop trigger if exists _150_keep_rejections_open on sync.record_errors;
drop function if exists sync.rollback_run(bigint, bigint, boolean);
drop function if exists sync.rollback_conflicts(bigint);
drop function if exists sync.tg_record_errors__keep_rejections_open();
drop function if exists sync.mark_rejected_before_staging(bigint, text, jsonb);
drop function if exists sync.finish_stage_only_run(bigint);
drop function if exists sync.count_staged_records(bigint, text);
drop function if exists sync.summarize_verification(bigint, text);
drop function if exists sync.verify_entity(bigint, text, text, text, boolean);
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

/*
 * Why: the final merge of a run retries every quarantined record from the
 * version staging holds. For a record the runner could not stage, that is
 * an older version (or none), which knows nothing of the rejection: the
 * merge released the rejection and the record left quarantine without
 * ever being read. Entries rejected before staging are marked, and a
 * trigger keeps them open until a run stages the record again.
 */
alter table sync.record_errors add column if not exists rejected_before_staging boolean not null default false;
comment on column sync.record_errors.rejected_before_staging is E'The runner could not stage the record (an envelope that is not a record, text PostgreSQL cannot store): staging holds an older version or none, so only a run that stages the record again releases the entry (set by sync.mark_rejected_before_staging, kept by trigger _150_keep_rejections_open).';

/*
 * Why: a stage-only run (a source snapshot for differentials) lists every
 * record into staging and merges none, so it inserts, updates and leaves
 * unchanged nothing; counted by what the merge saw, it reported 0 records
 * read. Its records are counted as staged, and every completed run still
 * accounts for every record it read.
 */
alter table sync.runs drop constraint if exists runs_staged_only_by_stage_only_runs;
alter table sync.runs drop constraint if exists runs_every_record_accounted;
alter table sync.runs drop constraint if exists runs_counts_not_negative;
alter table sync.runs add column if not exists staged bigint not null default 0;
comment on column sync.runs.staged is E'Source records staged and not merged: what a stage-only run (a source snapshot) read, merged by a later run; 0 for every other run.';
alter table sync.runs add constraint runs_counts_not_negative check (least(fetched, inserted, updated, unchanged, deleted, quarantined, staged) >= 0);
alter table sync.runs add constraint runs_every_record_accounted check (
  status not in ('completed', 'rolled_back') or fetched = inserted + updated + unchanged + quarantined + staged
);
alter table sync.runs add constraint runs_staged_only_by_stage_only_runs check (staged = 0 or coalesce(metadata ->> 'stage_only', 'false') = 'true');
comment on table sync.runs is E'One execution of a job or command, with what it did: fetched = inserted + updated + unchanged + quarantined + staged once completed (staged only in a stage-only run), so that nothing is lost silently.';

--!include integrity_functions.sql

create trigger _150_keep_rejections_open before update on sync.record_errors
  for each row when (old.rejected_before_staging and old.resolved_at is null and new.resolved_at is not null)
  execute function sync.tg_record_errors__keep_rejections_open();

--!include grants.sql
