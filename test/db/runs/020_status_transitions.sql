-- The state machines of sync.checkpoints, sync.jobs and sync.runs: the moves
-- listed in sync.status_transitions are allowed, every other status change
-- (and every other initial status) is refused by
-- sync.tg__enforce_status_transition with check_violation (23514) and a
-- message naming the row, the move and the moves that were allowed.
--
-- Illegal moves are written so that they satisfy every CHECK constraint of
-- the table: the only reason they fail is the state machine.
BEGIN;
select plan(50);

-- The machines as data -------------------------------------------------------

select set_eq(
  $$select from_status, to_status from sync.status_transitions where machine = 'sync.checkpoints'$$,
  $$values (null, 'pending'), (null, 'in_progress'),
           ('pending', 'in_progress'),
           ('in_progress', 'completed'), ('in_progress', 'failed'), ('in_progress', 'paused'),
           ('paused', 'in_progress'), ('failed', 'in_progress')$$,
  'sync.status_transitions lists the checkpoint machine: pending/in_progress -> completed|failed|paused, resumable'
);
select set_eq(
  $$select from_status, to_status, only_for_recurring from sync.status_transitions where machine = 'sync.runs'$$,
  $$values (null, 'pending', false), (null, 'running', false),
           ('pending', 'running', false), ('pending', 'cancelled', false),
           ('running', 'completed', false), ('running', 'failed', false), ('running', 'cancelled', false),
           ('failed', 'running', false), ('failed', 'cancelled', false),
           ('completed', 'rolled_back', false), ('failed', 'rolled_back', false), ('cancelled', 'rolled_back', false)$$,
  'sync.status_transitions lists the run machine (a failed or cancelled run may have written rows, so it can be rolled back too)'
);
select set_eq(
  $$select from_status, to_status from sync.status_transitions where machine = 'sync.jobs' and only_for_recurring$$,
  $$values ('failed', 'scheduled'), ('completed', 'scheduled')$$,
  'only recurring jobs may be rescheduled after completing or failing'
);

-- Fixtures: a run that owns the checkpoints ----------------------------------

insert into sync.runs (id, run_type, status, actor, started_at)
  overriding system value
  values (5001, 'full', 'running', 'cli:alice', '2024-03-01 09:00+00');

-- Checkpoints: initial statuses ----------------------------------------------

select lives_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, status, records_total)
    values ('c0000000-0000-4000-8000-000000000001', 5001, 'sync_operation', 'app.clients', 'pending', 120)$$,
  'a checkpoint may start as pending'
);
select lives_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, status, started_at)
    values ('c0000000-0000-4000-8000-000000000002', 5001, 'sync_operation', 'app.products', 'in_progress', '2024-03-01 09:00+00')$$,
  'a checkpoint may start as in_progress'
);
select throws_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, status, started_at, completed_at)
    values ('c0000000-0000-4000-8000-000000000003', 5001, 'sync_operation', 'app.registrations', 'completed',
            '2024-03-01 09:00+00', '2024-03-01 09:30+00')$$,
  '23514',
  'illegal initial status for sync.checkpoints: completed (a new row may start as: in_progress, pending)',
  'a checkpoint may not start as completed'
);
select throws_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, status, error_message)
    values ('c0000000-0000-4000-8000-000000000004', 5001, 'sync_operation', 'app.attachments', 'failed', 'Airtable API returned 503')$$,
  '23514',
  'illegal initial status for sync.checkpoints: failed (a new row may start as: in_progress, pending)',
  'a checkpoint may not start as failed'
);
select throws_ok(
  $$insert into sync.checkpoints (id, run_id, operation_type, entity_type, status)
    values ('c0000000-0000-4000-8000-000000000005', 5001, 'validation', 'app.clients', 'paused')$$,
  '23514',
  'illegal initial status for sync.checkpoints: paused (a new row may start as: in_progress, pending)',
  'a checkpoint may not start as paused'
);

-- Checkpoints: every allowed move, and the illegal ones around them ----------

select throws_ok(
  $$update sync.checkpoints
       set status = 'completed', started_at = '2024-03-01 09:00+00', completed_at = '2024-03-01 09:30+00'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  '23514',
  'illegal status transition for sync.checkpoints c0000000-0000-4000-8000-000000000001: pending -> completed (allowed from pending: in_progress)',
  'checkpoint pending -> completed is refused'
);
select lives_ok(
  $$update sync.checkpoints set status = 'in_progress', started_at = '2024-03-01 09:00+00'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'checkpoint pending -> in_progress is allowed'
);
select lives_ok(
  $$update sync.checkpoints set status = 'paused', records_processed = 40, last_processed_id = 'recClientAcme0040'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'checkpoint in_progress -> paused is allowed'
);
select throws_ok(
  $$update sync.checkpoints set status = 'completed', completed_at = '2024-03-01 09:30+00'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  '23514',
  'illegal status transition for sync.checkpoints c0000000-0000-4000-8000-000000000001: paused -> completed (allowed from paused: in_progress)',
  'checkpoint paused -> completed is refused'
);
select lives_ok(
  $$update sync.checkpoints set status = 'in_progress'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'checkpoint paused -> in_progress (resume) is allowed'
);
select lives_ok(
  $$update sync.checkpoints set status = 'failed', error_message = 'Airtable API returned 503'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'checkpoint in_progress -> failed is allowed'
);
select throws_ok(
  $$update sync.checkpoints set status = 'completed', completed_at = '2024-03-01 09:30+00'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  '23514',
  'illegal status transition for sync.checkpoints c0000000-0000-4000-8000-000000000001: failed -> completed (allowed from failed: in_progress)',
  'checkpoint failed -> completed is refused'
);
select lives_ok(
  $$update sync.checkpoints set status = 'in_progress', error_message = null
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'checkpoint failed -> in_progress (retry) is allowed'
);
select lives_ok(
  $$update sync.checkpoints
       set status = 'completed', completed_at = '2024-03-01 09:30+00', records_processed = 120,
           last_processed_id = 'recClientAcme0120'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'checkpoint in_progress -> completed is allowed'
);
select throws_ok(
  $$update sync.checkpoints set status = 'in_progress', completed_at = null
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  '23514',
  'illegal status transition for sync.checkpoints c0000000-0000-4000-8000-000000000001: completed -> in_progress (allowed from completed: nothing)',
  'checkpoint completed -> in_progress is refused: completed is final'
);
select throws_ok(
  $$update sync.checkpoints set status = 'failed', error_message = 'late failure'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  '23514',
  'illegal status transition for sync.checkpoints c0000000-0000-4000-8000-000000000001: completed -> failed (allowed from completed: nothing)',
  'checkpoint completed -> failed is refused'
);
select results_eq(
  $$select status, records_processed, completed_at from sync.checkpoints where id = 'c0000000-0000-4000-8000-000000000001'$$,
  $$values ('completed'::text, 120::bigint, '2024-03-01 09:30+00'::timestamptz)$$,
  'the refused moves left the completed checkpoint as it was'
);
select lives_ok(
  $$update sync.checkpoints set metadata = '{"note": "verified by hand"}'
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'updating other columns of a completed checkpoint is allowed'
);
select lives_ok(
  $$update sync.checkpoints set status = 'completed', batch_size = 50
     where id = 'c0000000-0000-4000-8000-000000000001'$$,
  'setting a checkpoint''s status to the status it already has is allowed'
);

-- Jobs -----------------------------------------------------------------------

select lives_ok(
  $$insert into sync.jobs (id, job_name, job_type, status, schedule_config)
    values ('a1000000-0000-4000-8000-000000000001', 'delta-incremental', 'scheduled_sync', 'scheduled',
            '{"cron": "*/5 * * * *", "mode": "incremental"}')$$,
  'a recurring job may start as scheduled'
);
select lives_ok(
  $$update sync.jobs set status = 'running', last_run_at = '2024-03-01 09:00+00'
     where id = 'a1000000-0000-4000-8000-000000000001'$$,
  'job scheduled -> running is allowed'
);
select lives_ok(
  $$update sync.jobs set status = 'completed', total_records_synced = 120
     where id = 'a1000000-0000-4000-8000-000000000001'$$,
  'job running -> completed is allowed'
);
select throws_ok(
  $$update sync.jobs set status = 'running'
     where id = 'a1000000-0000-4000-8000-000000000001'$$,
  '23514',
  'illegal status transition for sync.jobs a1000000-0000-4000-8000-000000000001: completed -> running (allowed from completed: scheduled)',
  'a completed recurring job may not run again without being rescheduled'
);
select lives_ok(
  $$update sync.jobs set status = 'scheduled', next_run_at = '2024-03-01 09:05+00'
     where id = 'a1000000-0000-4000-8000-000000000001'$$,
  'recurring job completed -> scheduled is allowed'
);

select lives_ok(
  $$insert into sync.jobs (id, job_name, job_type, status)
    values ('a1000000-0000-4000-8000-000000000002', 'delta-manual-backfill', 'manual_sync', 'running')$$,
  'a manual job may start as running'
);
select lives_ok(
  $$update sync.jobs set status = 'completed' where id = 'a1000000-0000-4000-8000-000000000002'$$,
  'manual job running -> completed is allowed'
);
select throws_ok(
  $$update sync.jobs set status = 'scheduled' where id = 'a1000000-0000-4000-8000-000000000002'$$,
  '23514',
  'illegal status transition for sync.jobs a1000000-0000-4000-8000-000000000002: completed -> scheduled (allowed from completed: nothing)',
  'manual job completed -> scheduled is refused: only recurring jobs are rescheduled'
);

insert into sync.jobs (id, job_name, job_type, status)
  values ('a1000000-0000-4000-8000-000000000003', 'delta-differential', 'differential_migration', 'running');
select lives_ok(
  $$update sync.jobs set status = 'paused' where id = 'a1000000-0000-4000-8000-000000000003'$$,
  'job running -> paused is allowed'
);
select lives_ok(
  $$update sync.jobs set status = 'running' where id = 'a1000000-0000-4000-8000-000000000003'$$,
  'job paused -> running is allowed'
);
select lives_ok(
  $$update sync.jobs set status = 'failed' where id = 'a1000000-0000-4000-8000-000000000003'$$,
  'job running -> failed is allowed'
);
select throws_ok(
  $$update sync.jobs set status = 'scheduled' where id = 'a1000000-0000-4000-8000-000000000003'$$,
  '23514',
  'illegal status transition for sync.jobs a1000000-0000-4000-8000-000000000003: failed -> scheduled (allowed from failed: running)',
  'a failed job that is not recurring may not be rescheduled, only run again'
);

insert into sync.jobs (id, job_name, job_type, status)
  values ('a1000000-0000-4000-8000-000000000004', 'delta-retired', 'scheduled_sync', 'scheduled');
select lives_ok(
  $$update sync.jobs set status = 'cancelled' where id = 'a1000000-0000-4000-8000-000000000004'$$,
  'job scheduled -> cancelled is allowed'
);
select throws_ok(
  $$update sync.jobs set status = 'scheduled' where id = 'a1000000-0000-4000-8000-000000000004'$$,
  '23514',
  'illegal status transition for sync.jobs a1000000-0000-4000-8000-000000000004: cancelled -> scheduled (allowed from cancelled: nothing)',
  'job cancelled -> scheduled is refused, even for a recurring job'
);
select throws_ok(
  $$update sync.jobs set status = 'running' where id = 'a1000000-0000-4000-8000-000000000004'$$,
  '23514',
  'illegal status transition for sync.jobs a1000000-0000-4000-8000-000000000004: cancelled -> running (allowed from cancelled: nothing)',
  'job cancelled -> running is refused'
);
select lives_ok(
  $$update sync.jobs set metadata = '{"retired_by": "alice"}', next_run_at = null
     where id = 'a1000000-0000-4000-8000-000000000004'$$,
  'updating other columns of a cancelled job is allowed'
);
select throws_ok(
  $$insert into sync.jobs (id, job_name, job_type, status)
    values ('a1000000-0000-4000-8000-000000000005', 'delta-born-done', 'manual_sync', 'completed')$$,
  '23514',
  'illegal initial status for sync.jobs: completed (a new row may start as: paused, running, scheduled)',
  'a job may not start as completed'
);

-- Runs -----------------------------------------------------------------------

insert into sync.runs (id, run_type, status, actor, started_at)
  overriding system value
  values (5101, 'incremental', 'running', 'worker', '2024-03-01 09:00+00'),
         (5102, 'full', 'running', 'cli:alice', '2024-03-01 10:00+00');

select lives_ok(
  $$update sync.runs
       set status = 'completed', finished_at = '2024-03-01 09:20+00',
           fetched = 10, inserted = 6, updated = 2, unchanged = 1, quarantined = 1
     where id = 5101$$,
  'run running -> completed is allowed'
);
select lives_ok(
  $$update sync.runs set status = 'rolled_back' where id = 5101$$,
  'run completed -> rolled_back is allowed'
);
select throws_ok(
  $$update sync.runs set status = 'completed' where id = 5101$$,
  '23514',
  'illegal status transition for sync.runs 5101: rolled_back -> completed (allowed from rolled_back: nothing)',
  'run rolled_back -> completed is refused: a rollback is final'
);
select throws_ok(
  $$update sync.runs set status = 'rolled_back', finished_at = '2024-03-01 10:20+00' where id = 5102$$,
  '23514',
  'illegal status transition for sync.runs 5102: running -> rolled_back (allowed from running: cancelled, completed, failed)',
  'run running -> rolled_back is refused: only a completed run is rolled back'
);
select lives_ok(
  $$update sync.runs
       set status = 'failed', finished_at = '2024-03-01 10:20+00', error_message = 'Airtable API rate limit exceeded'
     where id = 5102$$,
  'run running -> failed is allowed'
);
select lives_ok(
  $$update sync.runs set status = 'running', finished_at = null where id = 5102$$,
  'run failed -> running (resume) is allowed'
);
select lives_ok(
  $$update sync.runs
       set status = 'completed', finished_at = '2024-03-01 10:45+00',
           fetched = 3, inserted = 3, updated = 0, unchanged = 0, quarantined = 0
     where id = 5102$$,
  'resumed run running -> completed is allowed'
);
select throws_ok(
  $$update sync.runs set status = 'running', finished_at = null where id = 5102$$,
  '23514',
  'illegal status transition for sync.runs 5102: completed -> running (allowed from completed: rolled_back)',
  'run completed -> running is refused'
);
select throws_ok(
  $$insert into sync.runs (id, run_type, status, started_at, finished_at)
    overriding system value
    values (5103, 'verify', 'completed', '2024-03-01 11:00+00', '2024-03-01 11:01+00')$$,
  '23514',
  'illegal initial status for sync.runs: completed (a new row may start as: pending, running)',
  'a run may not start as completed'
);
select lives_ok(
  $$update sync.runs set metadata = '{"warnings": ["2 attachments skipped"]}' where id = 5102$$,
  'updating other columns of a completed run is allowed'
);
select results_eq(
  $$select id, status from sync.runs where id in (5101, 5102) order by id$$,
  $$values (5101::bigint, 'rolled_back'::text), (5102::bigint, 'completed'::text)$$,
  'runs end in the statuses their allowed moves led to'
);

select * from finish();
ROLLBACK;
