-- What waits out a retry delay: sync.push_status counts the pending
-- entries whose next attempt is later (a transient failure, or a push that
-- died and whose entries the next one released) and says when the first
-- is due, so that `airlift status` and `airlift push` can tell them apart
-- from entries due now.
--
-- Runs: 9760 (the sync wrote the rows), 9761 (a push that died).
BEGIN;
select plan(4);

select tests.seed_delta_mapping(entities => array['clients'], columns => array['name', 'notes', 'airtable_modified_at']);
select tests.open_run('full', 9760);
select tests.open_run('push', 9761);

select set_config('airlift.run_id', '9760', true);
insert into app.clients (id, airtable_id, name) values
  ('00000000-0000-4000-8000-00000000f101', 'recWAITCLIENT0001', 'One'),
  ('00000000-0000-4000-8000-00000000f102', 'recWAITCLIENT0002', 'Two'),
  ('00000000-0000-4000-8000-00000000f103', 'recWAITCLIENT0003', 'Three');
select set_config('airlift.run_id', '', true);
update app.clients set notes = 'changed here' where airtable_id like 'recWAITCLIENT%';

select results_eq(
  $$select pending, retry_waiting, next_attempt_at from sync.push_status where entity = 'clients'$$,
  $$values (3::bigint, 0::bigint, null::timestamptz)$$,
  'entries due now: none waits for a retry');

-- A push claims two of them and dies; the next one releases them: back to pending after a delay.
select is((select count(*)::int from sync.claim_outbox(9761, 'clients', null, 2)), 2, 'a push claims two entries');
-- (claimed a moment ago: this transaction's now() does not move)
update sync.outbox set claimed_at = claimed_at - interval '1 second' where run_id = 9761;
select is(sync.release_stale_outbox(interval '0 seconds'), 2, 'the next push releases them');
select results_eq(
  $$select pending, retry_waiting, next_attempt_at = (select min(o.next_attempt_at) from sync.outbox o where o.status = 'pending')
           and next_attempt_at > now()
    from sync.push_status where entity = 'clients'$$,
  $$values (3::bigint, 2::bigint, true)$$,
  'push_status counts the two released entries as waiting for a retry (still pending) and gives when the first is due');

select * from finish();
ROLLBACK;
