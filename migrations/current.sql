/*
 * The run life cycle has one writer (issue 16, item 3): a small SQL API in
 * run_functions.sql (open, reopen, cancel, annotate and complete a run;
 * open, resume, annotate, advance and complete a checkpoint; start and
 * schedule a job) next to the existing sync.finish_run, sync.fail_run,
 * sync.finish_stage_only_run and sync.finish_push_run. TypeScript writes
 * run and checkpoint state only through these functions.
 *
 * Idempotent while current: every function is `create or replace`, and
 * grants.sql is re-included so the sync role may execute them.
 */

--!include run_functions.sql

--!include grants.sql
