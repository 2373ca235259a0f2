-- The push's bookkeeping in SQL: newest_wins decides by the time of the
-- local change (not the row's updated_at, which a pull moves); a pushed
-- record's computed fields (last-modified time) come from Airtable's answer
-- as a sync write; a manual conflict resolved for Airtable takes Airtable's
-- latest value as staged; a push run's counts come from its entries.
--
-- Runs: 9750 (the sync wrote the rows), 9751 (a pull), 9752 (a push),
-- 9753 (a resolution by hand).
BEGIN;
select plan(8);

select tests.seed_delta_mapping(entities => array['clients'], columns => array['name', 'status', 'notes', 'phone', 'airtable_modified_at']);
insert into sync.conflict_policies (entity, column_name, policy) values ('clients', 'notes', 'newest_wins'), ('clients', 'phone', 'manual');
select tests.open_run('full', 9750);
select tests.open_run('incremental', 9751);
select tests.open_run('push', 9752);
select tests.open_run('push', 9753);

select set_config('airlift.run_id', '9750', true);
insert into app.clients (id, airtable_id, name, status, notes, phone, airtable_modified_at) values
  ('00000000-0000-4000-8000-00000000f001', 'recBOOKCLIENT0001', 'Acme', 'Active', 'base', '111', '2026-11-01T00:00:00Z'),
  ('00000000-0000-4000-8000-00000000f002', 'recBOOKCLIENT0002', 'Beta', 'Active', null, '222', '2026-11-01T00:00:00Z');
select set_config('airlift.run_id', '', true);

-- Acme's notes and name changed here (at the time recorded in the entry), Beta's phone too.
update app.clients set notes = 'local', name = 'Acme Local' where id = '00000000-0000-4000-8000-00000000f001';
update app.clients set phone = '299' where id = '00000000-0000-4000-8000-00000000f002';
update sync.outbox set last_changed_at = '2026-11-10T00:00:00Z' where row_id = '00000000-0000-4000-8000-00000000f001';
-- then a pull wrote another column of Acme: its updated_at moves past Airtable's edit
select set_config('airlift.run_id', '9751', true);
update app.clients set status = 'On Hold' where id = '00000000-0000-4000-8000-00000000f001';
update app.clients set updated_at = '2026-11-20T00:00:00Z' where id = '00000000-0000-4000-8000-00000000f001';
select set_config('airlift.run_id', '', true);

select is((select count(*)::int from sync.claim_outbox(9752, 'clients')), 2, 'both entries are claimed');
create temp table planned as
select * from sync.plan_push(9752, array(select id from sync.outbox where status = 'in_flight'),
  '{"recBOOKCLIENT0001": {"fldcRQ5EWmHA7hkmK": "Acme", "fld4nncVN1i1Qbxro": "remote", "fldqa4xrGdS4F1c8m": "111", "fld62rLIbyozCjTuf": "2026-11-15T00:00:00.000Z"},
    "recBOOKCLIENT0002": {"fldcRQ5EWmHA7hkmK": "Beta", "fldqa4xrGdS4F1c8m": "250", "fld62rLIbyozCjTuf": "2026-11-15T00:00:00.000Z"}}');
select set_config('airlift.run_id', '', true);
select results_eq(
  $$select column_name, policy, status, resolution, column_name <> 'notes' or local_modified_at = '2026-11-10T00:00:00Z' from sync.conflicts order by column_name$$,
  $$values ('notes', 'newest_wins', 'resolved', 'airtable', true), ('phone', 'manual', 'open', null, true)$$,
  'newest_wins: Airtable''s edit (Nov 15) is newer than the local change (Nov 10), although a pull moved the row''s updated_at to Nov 20');
select is((select notes from app.clients where id = '00000000-0000-4000-8000-00000000f001'), 'remote',
  'Airtable''s winning value is in the row');

-- Pushed: Airtable's answer stamps the last-modified time, as a sync write.
create temp table marked as
select * from sync.mark_outbox_pushed(9752, (
  select jsonb_agg(jsonb_build_object('id', o.id, 'source_key', o.source_key,
                                      'response', jsonb_build_object('id', o.source_key, 'fields', jsonb_build_object('fld62rLIbyozCjTuf', '2026-11-21T12:00:00.000Z'))))
  from sync.outbox o where o.status = 'in_flight'));
select results_eq(
  $$select airtable_modified_at from app.clients order by airtable_id$$,
  $$values ('2026-11-21T12:00:00Z'::timestamptz), ('2026-11-01T00:00:00Z'::timestamptz)$$,
  'the pushed record''s last-modified time comes from Airtable''s answer; the row with nothing sent keeps its own');
select is((select count(*)::int from sync.outbox where status in ('pending', 'failed')), 0,
  'stamping it is a sync write: nothing new in the outbox');

select results_eq(
  $$select status, fetched, inserted, updated, unchanged, quarantined, metadata -> 'conflicts', metadata -> 'conflicts_open' from sync.finish_push_run(9752)$$,
  $$values ('completed', 2::bigint, 0::bigint, 1::bigint, 1::bigint, 0::bigint, '2'::jsonb, '1'::jsonb)$$,
  'the push run''s counts come from its entries: Acme updated, nothing to send for Beta (its field is parked); two conflicts, one open');

-- Airtable changed the parked phone again; the pull staged it while the field was held.
insert into staging.source_records (source_id, source_table, source_key, fields, created_time, content_hash, run_id, fetched_at)
values ('appDeltaTest00001', 'tblZaclZULDATjmXm', 'recBOOKCLIENT0002', '{"fldcRQ5EWmHA7hkmK": "Beta", "fldqa4xrGdS4F1c8m": "260"}',
        '2026-01-01T00:00:00Z', repeat('a', 64), 9751, now());
select results_eq(
  $$select resolution, resolved_value, decided_by_rule from sync.resolve_conflict(9753, (select id from sync.conflicts where status = 'open'), 'airtable', null, 'carol')$$,
  $$values ('airtable', '"260"'::jsonb, 'manual')$$,
  'taking Airtable takes its latest value as staged, not the older one the conflict recorded');
select is((select phone from app.clients where id = '00000000-0000-4000-8000-00000000f002'), '260',
  'and writes it to the row');

select * from finish();
ROLLBACK;
