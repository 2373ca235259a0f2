/*
 * Two-way sync, push throughput: the read before pushing asks Airtable only
 * for the records modified since the staging mirror's version
 * (sync.push_remote_marks), and sync.plan_push takes the mirror as the
 * remote side of the records Airtable confirmed unchanged (its new
 * parameter p_remote_from_mirror). The old four-argument plan_push is
 * dropped first: with the new defaulted argument, calls would otherwise be
 * ambiguous. The other push functions are `create or replace`.
 */
drop function if exists sync.plan_push(bigint, bigint[], jsonb, jsonb);

--!include change_capture.sql

--!include grants.sql
