-- The run life cycle's SQL API (migrations/fixtures/runs/), the
-- one writer of sync.runs and sync.checkpoints: a run opened, annotated,
-- reopened, cancelled and completed; a checkpoint opened (idempotently),
-- annotated, advanced, resumed and completed; a job started and scheduled.
-- Moves the state machine does not allow are refused by
-- sync.tg__enforce_status_transition (check_violation, 23514); an unknown
-- run or checkpoint is named (no_data_found, P0002). The sync role may call
-- every function.
BEGIN;
select plan(29);

insert into sync.jobs (id, job_name, job_type, status, schedule_config) values
  ('a1760000-0000-4000-8000-000000000001', 'run-api-incremental', 'scheduled_sync', 'scheduled',
   '{"cron": "*/5 * * * *", "mode": "incremental"}');

-- A run ------------------------------------------------------------------------

create temp table opened as
  select * from sync.open_run('full', 'tester', '{"base_id": "appRunApiTest0001"}', 'a1760000-0000-4000-8000-000000000001');
select results_eq(
  $$select r.run_type, r.status, r.actor, r.metadata, r.job_id, r.finished_at is null from sync.runs r join opened o using (id)$$,
  $$values ('full', 'running', 'tester', '{"base_id": "appRunApiTest0001"}'::jsonb, 'a1760000-0000-4000-8000-000000000001'::uuid, true)$$,
  'sync.open_run stores a running run of the type, actor, metadata and job given, not finished');
select is((select metadata from sync.open_run('push', 'tester', null)), '{}'::jsonb, 'sync.open_run without metadata opens the run with an empty object');

select is((select status from sync.start_job('a1760000-0000-4000-8000-000000000001')), 'running', 'sync.start_job moves a scheduled job to running');
select ok((select id from sync.start_job('a1760000-0000-4000-8000-000000000001')) is null, 'sync.start_job leaves a job already running as it is');
select is((select next_run_at from sync.schedule_job('a1760000-0000-4000-8000-000000000001', '2030-01-01 00:05+00')),
  '2030-01-01 00:05+00'::timestamptz, 'sync.schedule_job sets when the job runs next');

select is((select metadata from sync.annotate_run((select id from opened), '{"drift_warnings": ["a field was renamed"]}')),
  '{"base_id": "appRunApiTest0001", "drift_warnings": ["a field was renamed"]}'::jsonb,
  'sync.annotate_run merges keys into the run''s metadata');

-- Its checkpoint -----------------------------------------------------------------

create temp table cp as
  select * from sync.open_checkpoint((select id from opened), 'sync_operation', 'clients', 100, null, '{"phase": "listing"}');
select results_eq(
  $$select status, batch_size, records_total, records_processed, metadata, started_at is not null from cp$$,
  $$values ('in_progress', 100, null::bigint, 0::bigint, '{"phase": "listing"}'::jsonb, true)$$,
  'sync.open_checkpoint opens an in-progress checkpoint, started, with the batch size, total and metadata given');
select is((select id from sync.open_checkpoint((select id from opened), 'sync_operation', 'clients', 50, 7, '{"phase": "merged"}')),
  (select id from cp), 'opening the same checkpoint again returns the one the run has');
select results_eq(
  $$select batch_size, records_total, metadata from sync.checkpoints where id = (select id from cp)$$,
  $$values (100, null::bigint, '{"phase": "listing"}'::jsonb)$$,
  '... unchanged: the second opening wrote nothing');

select is((select metadata from sync.annotate_checkpoint((select id from cp), '{"resume_from": "2026-11-01T00:00:00.000Z"}')),
  '{"phase": "listing", "resume_from": "2026-11-01T00:00:00.000Z"}'::jsonb, 'sync.annotate_checkpoint merges keys into its metadata');

select results_eq(
  $$select last_processed_id, records_processed, records_total, status, completed_at is null, metadata ->> 'batches'
    from sync.advance_checkpoint((select id from cp), 'recRUNAPITEST0005', 5, 12, '{"batches": 1}')$$,
  $$values ('recRUNAPITEST0005', 5::bigint, 12::bigint, 'in_progress', true, '1')$$,
  'sync.advance_checkpoint saves the resume point, adds the records, sets the total and merges metadata, still in progress');
select results_eq(
  $$select last_processed_id, records_processed, records_total, metadata ->> 'batches'
    from sync.advance_checkpoint((select id from cp), null, 4, 9, '{"batches": 2}')$$,
  $$values (null::text, 9::bigint, 9::bigint, '2')$$,
  'a second batch adds to the records processed; a null resume point is stored as null');

-- failed, then taken up again
select sync.fail_run((select id from opened), 'the pull was asked to stop');
select results_eq(
  $$select status, error_message from sync.resume_checkpoint((select id from cp))$$,
  $$values ('in_progress', null::text)$$,
  'sync.resume_checkpoint takes a failed checkpoint up again: in progress, no error');
select results_eq(
  $$select status, finished_at, error_message from sync.reopen_run((select id from opened))$$,
  $$values ('running', null::timestamptz, null::text)$$,
  'sync.reopen_run takes a failed run up again: running, no finish time, no error');

select results_eq(
  $$select status, completed_at > started_at, records_total, metadata ->> 'flagged', metadata ->> 'phase'
    from sync.complete_checkpoint((select id from cp), '{"flagged": 0}')$$,
  $$values ('completed', true, 9::bigint, '0', 'listing')$$,
  'sync.complete_checkpoint completes it after its start, keeps its total and merges metadata');
select throws_ok($$select sync.resume_checkpoint((select id from cp))$$, '23514', null,
  'a completed checkpoint cannot be resumed (completed -> in_progress refused)');
select throws_ok($$select sync.advance_checkpoint((select id from cp), 'recRUNAPITEST0010', 1, 10)$$, '23514', null,
  'a completed checkpoint cannot be advanced (completed -> in_progress refused)');

create temp table walk as
  select * from sync.open_checkpoint((select id from opened), 'validation', 'clients', 10, 2, '{}');
select results_eq(
  $$select status, completed_at > started_at, records_processed, records_total
    from sync.advance_checkpoint((select id from walk), null, 2, 2, '{"batches": 1}', true)$$,
  $$values ('completed', true, 2::bigint, 2::bigint)$$,
  'sync.advance_checkpoint with p_complete completes the checkpoint with its last batch');
select results_eq(
  $$select records_total from sync.complete_checkpoint(
      (sync.open_checkpoint((select id from opened), 'differential_migration', 'clients', 10, 50, '{}')).id, '{}', 0)$$,
  $$values (0::bigint)$$,
  'sync.complete_checkpoint sets the final total when one is given');

-- completed by sync.finish_run: it can no longer move back
select is((select status from sync.finish_run((select id from opened))), 'completed', 'sync.finish_run completes the run');
select throws_ok($$select sync.reopen_run((select id from opened))$$, '23514', null,
  'a completed run cannot be reopened (completed -> running refused)');
select throws_ok($$select sync.cancel_run((select id from opened), 'too late')$$, '23514', null,
  'a completed run cannot be cancelled (completed -> cancelled refused)');

-- Cancelled, completed with counts, unknown ---------------------------------------

select results_eq(
  $$select status, finished_at is not null, metadata
    from sync.cancel_run((sync.open_run('incremental', 'tester', '{"base_id": "appRunApiTest0001"}')).id, 'superseded by a full pull of clients')$$,
  $$values ('cancelled', true, '{"base_id": "appRunApiTest0001", "cancelled_because": "superseded by a full pull of clients"}'::jsonb)$$,
  'sync.cancel_run cancels a run, finished, with the reason in its metadata');
select results_eq(
  $$select status, finished_at >= started_at, fetched, inserted, updated, unchanged, deleted, quarantined, metadata
    from sync.complete_run((sync.open_run('rollback', 'tester', '{"rolls_back": 1}')).id, 2, 3, 4, '{"tables": []}')$$,
  $$values ('completed', true, 5::bigint, 2::bigint, 3::bigint, 0::bigint, 4::bigint, 0::bigint, '{"rolls_back": 1, "tables": []}'::jsonb)$$,
  'sync.complete_run completes a run with the counts given: fetched = inserted + updated');
select throws_ok($$select sync.reopen_run(-1)$$, 'P0002', 'no run -1', 'an unknown run is refused, named');
select throws_ok($$select sync.advance_checkpoint('00000000-0000-4000-8000-000000000176', null, 0, 0)$$, 'P0002',
  'no checkpoint 00000000-0000-4000-8000-000000000176', 'an unknown checkpoint is refused, named');

-- The sync role ---------------------------------------------------------------------

select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'sync'::regnamespace
          and p.proname in ('open_run', 'reopen_run', 'cancel_run', 'annotate_run', 'complete_run', 'start_job', 'schedule_job',
                            'open_checkpoint', 'touch_checkpoint', 'resume_checkpoint', 'annotate_checkpoint',
                            'advance_checkpoint', 'complete_checkpoint')
          and not has_function_privilege('airlift_sync', p.oid, 'execute')),
  '{}'::text[],
  'the sync role may execute every function of the run life cycle');

set local role airlift_sync;
select sync.open_run('verify', 'sync-role', '{"entities": ["clients"]}');
select sync.open_checkpoint((select max(id) from sync.runs where actor = 'sync-role'), 'validation', 'clients', 10, 3, '{}');
select sync.touch_checkpoint((select max(id) from sync.runs where actor = 'sync-role'), 'validation', 'clients');
select sync.advance_checkpoint(c.id, 'recRUNAPITEST0003', 3, 3, '{"batches": 1}', true)
  from sync.checkpoints c where c.run_id = (select max(id) from sync.runs where actor = 'sync-role');
select sync.finish_run((select max(id) from sync.runs where actor = 'sync-role'));
select sync.annotate_run((select max(id) from sync.runs where actor = 'sync-role'), '{"passed": true}');
reset role;
select results_eq(
  $$select r.status, r.metadata ->> 'passed', c.status, c.records_processed
    from sync.runs r join sync.checkpoints c on c.run_id = r.id where r.actor = 'sync-role'$$,
  $$values ('completed', 'true', 'completed', 3::bigint)$$,
  'as the sync role: a run opened, its checkpoint opened, advanced to completion, the run finished and annotated');
select is((select count(*)::int from sync.touch_checkpoint(-1, 'validation', 'clients')), 0,
  'sync.touch_checkpoint finds no checkpoint of a run that has none');

select * from finish();
ROLLBACK;
