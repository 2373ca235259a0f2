-- The one-way merge pipeline in SQL, with planted records: sync.stage_page
-- (counts, quarantine of runner rejects, checkpoint), sync.merge_<entity>
-- (counts, converted values, collaborators, links, field problems of
-- records that land with them, dangling links resolved once their target
-- exists, idempotence, attachments, id map, audit, restore), sync.sweep_deleted,
-- sync.finish_run, sync.fail_run, sync.restart_listing, and what the sync
-- role may do.
--
-- Runs: 9101 full (everything first seen), 9102 incremental (same hashes,
-- a changed record, the missing linked client that resolves a product's
-- dangling link), 9104 (restart and failure), 9105 (sync role), 9106 (values that
-- pass the cell checks but not the merge's casts), 9107 (merged in batches
-- while the listing goes on).
-- Record ids are rec/usr/att + exactly 14 letters or digits.
BEGIN;
select plan(92);

-- ---------------------------------------------------------------------------
-- Fixtures: the mapping (field ids from mappings/delta.json), runs,
-- checkpoints, pre-existing app rows, and the records Airtable "returns".
-- ---------------------------------------------------------------------------
select tests.seed_delta_mapping();

select tests.open_run('full', 9101, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('incremental', 9102, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('full', 9104, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('full', 9105, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('full', 9106, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('full', 9107, '{"base_id": "appDeltaTest00001"}');
select tests.open_checkpoints(run, 'clients', 'state_regulators', 'products', 'registrations')
from unnest(array[9101, 9102, 9105, 9106, 9107]) as run;
insert into sync.checkpoints (run_id, operation_type, entity_type, status, records_processed, last_processed_id, metadata) values
  (9104, 'sync_operation', 'clients', 'in_progress', 250, 'recCLIENT00000250',
   '{"offset": "itr9/recCLIENT00000250", "pages": 3, "untouched": 40, "rejected": 2, "high_water_mark": "2026-11-01T00:00:00+00:00"}'),
  (9104, 'sync_operation', 'products', 'pending', 0, null, '{}');

-- App rows that exist before the run: a client deleted here earlier whose
-- record comes back (identical values), a client whose record is gone from
-- Airtable, and a client created here and never pushed.
insert into app.clients (airtable_id, name, airtable_modified_at, created_at, updated_at, deleted_at) values
  ('recCLIENT00000006', 'Gamma Inc', '2026-11-22 09:00:00+00', '2020-01-01', '2021-01-01', '2021-01-01');
insert into app.clients (airtable_id, name, created_at) values
  ('recCLIENT00000009', 'Gone Ltd', '2020-01-01'),
  (null, 'Local Client', '2020-01-01');

-- The records, by entity and version (v1: first seen; v2: changed later).
create temp table fixture (entity text, version text, id text, fields jsonb);
insert into fixture values
  ('clients', 'v1', 'recCLIENT00000001', '{
     "fldcRQ5EWmHA7hkmK": "  Acme Corp 🚀 ", "fldPlUSdlUpal2YU2": "AC", "fldAxUQDrygYjpbpO": "Active",
     "fldwvK9BoMpuwDLuw": "ops@acme.example", "fldLCmTDVbhK0iSy8": "1 Main St\nSpringfield",
     "fldIcvtGQXI6ZQK25": {"id": "usrMANAGER0000001", "email": "mia@delta.example", "name": "Mia Manager"},
     "fldOKlvaggwBuA1DW": "2019-03-15", "fldAaSynzxQzeTNAI": 250000.555,
     "fldCEwXPTULg5Yy0O": "2019-03-15T09:30:00.000Z", "fld62rLIbyozCjTuf": "2026-11-20T10:00:00.000Z",
     "fldCaf35PRGBxxQcb": ["recPRODUCT0000001"]}'),
  ('clients', 'v1', 'recCLIENT00000002', '{"fldcRQ5EWmHA7hkmK": "Beta Labs", "fld62rLIbyozCjTuf": "2026-11-21T08:30:00.000Z"}'),
  ('clients', 'v1', 'recCLIENT00000003', '{"fldPlUSdlUpal2YU2": "X3", "fld62rLIbyozCjTuf": "2026-11-01T00:00:00.000Z"}'),
  ('clients', 'v1', 'recCLIENT00000004', '{"fldcRQ5EWmHA7hkmK": "Delta Farms", "fldOKlvaggwBuA1DW": "2026-02-30", "fld62rLIbyozCjTuf": "2026-11-02T00:00:00.000Z"}'),
  ('clients', 'v1', 'recCLIENT00000005', '{"fldcRQ5EWmHA7hkmK": "Epsilon Ag", "fldAaSynzxQzeTNAI": "lots", "fld62rLIbyozCjTuf": "2026-11-03T00:00:00.000Z"}'),
  ('clients', 'v1', 'recCLIENT00000006', '{"fldcRQ5EWmHA7hkmK": "Gamma Inc", "fld62rLIbyozCjTuf": "2026-11-22T09:00:00.000Z"}'),
  ('clients', 'v2', 'recCLIENT00000002', '{"fldcRQ5EWmHA7hkmK": "Beta Labs", "fldqa4xrGdS4F1c8m": "+1 555 0100", "fld62rLIbyozCjTuf": "2026-11-23T08:00:00.000Z"}'),
  ('clients', 'v2', 'recCLIENT00000007', '{"fldcRQ5EWmHA7hkmK": "Zeta Chemicals", "fld62rLIbyozCjTuf": "2026-11-23T09:00:00.000Z"}'),
  ('state_regulators', 'v1', 'recREGULATOR00001', '{
     "fldtmASk12fGsd6OS": "California Department of Pesticide Regulation", "fldvJBbLeJT9yad38": "CA",
     "fldoQh2Z9dzm14DkC": 6, "fldFvLh05ueJLjrcd": 1500, "fldb0z4gETllchxoI": ["Pesticide", "Disinfectant"],
     "fldw7PqcIkPbQuj95": "2026-10-01T00:00:00.000Z"}'),
  ('state_regulators', 'v1', 'recREGULATOR00002', '{"fldtmASk12fGsd6OS": "Oregon Department of Agriculture", "fldvJBbLeJT9yad38": "OR", "fldoQh2Z9dzm14DkC": 13}'),
  ('products', 'v1', 'recPRODUCT0000001', '{
     "flditdl13jzXqvGJG": "Bug-B-Gone", "fldeHngYQ2AQ2a41D": ["recCLIENT00000001"], "fld2ryBoRxCP6rela": "Caution",
     "fldm98vOtlVmdetoO": [
       {"id": "attLABEL000000001", "filename": "label.pdf", "size": 1024, "type": "application/pdf", "url": "https://dl.example/label-1"},
       {"id": "attLABEL000000002", "filename": "sds.pdf", "size": 2048, "type": "application/pdf", "url": "https://dl.example/sds-1"}],
     "fldeqFJkIqQxjVyxf": "2026-11-05T00:00:00.000Z"}'),
  ('products', 'v1', 'recPRODUCT0000002', '{"flditdl13jzXqvGJG": "Orphan Spray", "fldeHngYQ2AQ2a41D": ["recCLIENT00000007"]}'),
  ('products', 'v2', 'recPRODUCT0000001', '{
     "flditdl13jzXqvGJG": "Bug-B-Gone", "fldeHngYQ2AQ2a41D": ["recCLIENT00000001"], "fld2ryBoRxCP6rela": "Caution",
     "fldm98vOtlVmdetoO": [
       {"id": "attLABEL000000001", "filename": "label.pdf", "size": 1024, "type": "application/pdf", "url": "https://dl.example/label-2"}],
     "fldeqFJkIqQxjVyxf": "2026-11-05T00:00:00.000Z"}'),
  ('registrations', 'v1', 'recREGISTRATION01', '{
     "flddw2j5Mu2TJtX7Q": ["recCLIENT00000001"], "fldZawXe2RiH9oSci": ["recPRODUCT0000001"], "fldUF86Yp8B0Aea5U": ["recREGULATOR00001"],
     "fldmiaUjYsE4lzH9y": ["CA"], "fldaeH9V1UBJK7tSW": "Approved", "fldlwKx8C5WVAJ2Nt": "2025-01-15",
     "fldUsOARR7hF2Iu6K": "2025-03-01", "fldFUnYOjlHNdzRKr": "2026-12-31", "fldYhg9rHaOArcpNI": 1500.005, "fldZu0JXcyOOEs3H1": 3,
     "fldQLBPSEUDUZuZxO": ["urgent", "Q3", "audit"],
     "fldgMx8UeILqd0Uqf": {"id": "usrASSIGNEE000001", "email": "sam@delta.example", "name": "Sam Assignee"},
     "fldTHJoTD5wtFrQa2": [{"id": "attDOC00000000001", "filename": "approval letter.pdf", "size": 52000, "type": "application/pdf", "url": "https://dl.example/doc-1"}],
     "fld425nv1ODHaAQNP": "2026-11-06T00:00:00.000Z"}'),
  ('registrations', 'v1', 'recREGISTRATION02', '{"fldaeH9V1UBJK7tSW": "Submitted", "fldZu0JXcyOOEs3H1": 6}');

-- A page as the runner sends it: [{id, created_time, fields, hash}], hash = sha256 of the fields.
create function pg_temp.page(p_entity text, p_version text, variadic p_ids text[]) returns jsonb
language sql as $$
  select jsonb_agg(tests.airtable_record(f.id, f.fields, '2019-03-15T09:30:00.000Z') order by f.id)
  from fixture f where f.entity = p_entity and f.version = p_version and f.id = any (p_ids)
$$;

select is(
  (select count(*)::int from fixture where id !~ '^rec[A-Za-z0-9]{14}$'),
  0, 'every planted record id is rec + 14 letters or digits');

-- ---------------------------------------------------------------------------
-- Run 9101 (full): staging
-- ---------------------------------------------------------------------------
select results_eq(
  $$select * from sync.stage_page(9101, 'clients', pg_temp.page('clients', 'v1', 'recCLIENT00000001', 'recCLIENT00000002', 'recCLIENT00000003'), '[]', true, 'itrA/recCLIENT00000003')$$,
  $$values (3, 0, 0, 0)$$,
  'stage_page: a first page of three new records writes three');
select results_eq(
  $$select records_processed, last_processed_id, metadata ->> 'offset', (metadata ->> 'pages')::int, (metadata ->> 'high_water_mark')::timestamptz
    from sync.checkpoints where run_id = 9101 and entity_type = 'clients'$$,
  $$values (3::bigint, 'recCLIENT00000003', 'itrA/recCLIENT00000003', 1, '2026-11-21 08:30:00+00'::timestamptz)$$,
  'the checkpoint moves with the page: records, last id, offset, pages, high-water mark = max Last Modified');
select results_eq(
  $$select * from sync.stage_page(9101, 'clients', pg_temp.page('clients', 'v1', 'recCLIENT00000004', 'recCLIENT00000005', 'recCLIENT00000006'),
      '[{"source_key": "recREJECTED000001", "field": "Notes", "value": "\\ud800", "reason": "text PostgreSQL cannot store"}]', true, null)$$,
  $$values (3, 0, 0, 1)$$,
  'stage_page: a second page of three records with one runner reject writes three and counts the reject');
select results_eq(
  $$select records_processed, last_processed_id, metadata -> 'offset', (metadata ->> 'pages')::int, (metadata ->> 'rejected')::int,
           (metadata ->> 'high_water_mark')::timestamptz
    from sync.checkpoints where run_id = 9101 and entity_type = 'clients'$$,
  $$values (7::bigint, 'recCLIENT00000006', 'null'::jsonb, 2, 1, '2026-11-22 09:00:00+00'::timestamptz)$$,
  'after the last page: 7 records (rejects included), no next offset, 2 pages, 1 rejected, high-water mark raised');
select results_eq(
  $$select run_id, source_table, field, value, reason from sync.record_errors where source_key = 'recREJECTED000001'$$,
  $$values (9101::bigint, 'tblZaclZULDATjmXm', 'Notes', '"\\ud800"'::jsonb, 'text PostgreSQL cannot store')$$,
  'the runner reject is quarantined in sync.record_errors with its field, value and reason');
select results_eq(
  $$select * from sync.stage_page(9101, 'clients', pg_temp.page('clients', 'v1', 'recCLIENT00000001'), '[]', true, null)$$,
  $$values (0, 1, 0, 0)$$,
  'stage_page: a record staged again by the same run (same hash) is already_in_run and not rewritten');
select results_eq(
  $$select * from sync.stage_page(9101, 'state_regulators', pg_temp.page('state_regulators', 'v1', 'recREGULATOR00001', 'recREGULATOR00002'), '[]', true, null)$$,
  $$values (2, 0, 0, 0)$$,
  'stage_page: the state regulators page writes two');
select results_eq(
  $$select * from sync.stage_page(9101, 'products', pg_temp.page('products', 'v1', 'recPRODUCT0000001', 'recPRODUCT0000002'), '[]', true, null)$$,
  $$values (2, 0, 0, 0)$$,
  'stage_page: the products page writes two');
select results_eq(
  $$select * from sync.stage_page(9101, 'registrations', pg_temp.page('registrations', 'v1', 'recREGISTRATION01', 'recREGISTRATION02'), '[]', true, null)$$,
  $$values (2, 0, 0, 0)$$,
  'stage_page: the registrations page writes two');
select is(
  (select count(*)::int from staging.source_records where run_id = 9101 and source_id = 'appDeltaTest00001'),
  12, 'staging holds the twelve records of run 9101 with the base id');

-- ---------------------------------------------------------------------------
-- Run 9101: merges, in merge rank order
-- ---------------------------------------------------------------------------
select is(sync.merge_clients(9101)::text, '(clients,6,5,1,0,0,0,0,3)',
  'merge_clients: 6 fetched, 5 inserted, 1 updated (restored), none quarantined, 3 landed with problems');
select is(sync.merge_state_regulators(9101)::text, '(state_regulators,2,2,0,0,0,0,0,1)',
  'merge_state_regulators: 2 fetched, 2 inserted, 1 landed with a problem');
select is(sync.merge_products(9101)::text, '(products,2,2,0,0,0,0,0,1)',
  'merge_products: 2 fetched, 2 inserted, 1 landed with a problem (a dangling link)');
select is(sync.merge_registrations(9101)::text, '(registrations,2,2,0,0,0,0,0,1)',
  'merge_registrations: 2 fetched, 2 inserted, 1 landed with a problem');

-- converted values
select results_eq(
  $$select name, client_code, status, email, mailing_address, client_since, annual_budget, airtable_created_at, airtable_modified_at, phone
    from app.clients where airtable_id = 'recCLIENT00000001'$$,
  $$values ('  Acme Corp 🚀 ', 'AC', 'Active', 'ops@acme.example', E'1 Main St\nSpringfield', '2019-03-15'::date, 250000.56::numeric(12,2),
            '2019-03-15 09:30:00+00'::timestamptz, '2026-11-20 10:00:00+00'::timestamptz, null::text)$$,
  'a client''s values: text exactly as entered (spaces, emoji, newline), date, money rounded to cents, timestamps, absent -> null');
select results_eq(
  $$select c.airtable_user_id, c.email, c.name from app.clients cl join app.collaborators c on c.id = cl.account_manager_id
    where cl.airtable_id = 'recCLIENT00000001'$$,
  $$values ('usrMANAGER0000001', 'mia@delta.example', 'Mia Manager')$$,
  'the account manager collaborator is upserted into app.collaborators and linked');
select results_eq(
  $$select agency_name, state, state_code, renewal_month, registration_fee, late_fee, requires_wet_signature, product_types_regulated
    from app.state_regulators where airtable_id = 'recREGULATOR00001'$$,
  $$values ('California Department of Pesticide Regulation', 'CA', 'CA', 6::smallint, 1500.00::numeric(12,2), null::numeric(12,2), false,
            array['Pesticide', 'Disinfectant'])$$,
  'a regulator''s values: select, integer, money, absent checkbox -> false, multiple select in order');
select results_eq(
  $$select p.name, p.signal_word, p.discontinued, p.client_id = c.id, p.airtable_modified_at
    from app.products p join app.clients c on c.airtable_id = 'recCLIENT00000001'
    where p.airtable_id = 'recPRODUCT0000001'$$,
  $$values ('Bug-B-Gone', 'Caution', false, true, '2026-11-05 00:00:00+00'::timestamptz)$$,
  'a product''s values: its Client link resolves to the client''s uuid, absent Discontinued -> false');
select results_eq(
  $$select r.client_id = c.id, r.product_id = p.id, r.state_regulator_id = s.id, r.state, r.state_code, r.status, r.is_approved,
           r.submitted_date, r.approved_date, r.expiration_date, r.fee_paid, r.priority, r.tags, a.airtable_user_id
    from app.registrations r
    join app.clients c on c.airtable_id = 'recCLIENT00000001'
    join app.products p on p.airtable_id = 'recPRODUCT0000001'
    join app.state_regulators s on s.airtable_id = 'recREGULATOR00001'
    left join app.collaborators a on a.id = r.assigned_to_id
    where r.airtable_id = 'recREGISTRATION01'$$,
  $$values (true, true, true, 'CA', 'CA', 'Approved', true, '2025-01-15'::date, '2025-03-01'::date, '2026-12-31'::date,
            1500.01::numeric(12,2), 3::smallint, array['urgent', 'Q3', 'audit'], 'usrASSIGNEE000001')$$,
  'a registration''s values: three links resolved, state from the lookup, dates, fee rounded, priority, tags in order, assignee');

-- restore of a record deleted here
select is((select deleted_at from app.clients where airtable_id = 'recCLIENT00000006'), null,
  'a soft-deleted client whose record is staged again is restored (deleted_at null)');
select is(
  (select changed_columns from audit.changes where table_name = 'app.clients' and op = 'UPDATE' and run_id = 9101
     and record_id = (select id::text from app.clients where airtable_id = 'recCLIENT00000006')),
  array['deleted_at', 'updated_at'], 'the restore changed deleted_at only (and the updated_at stamp)');

-- field problems: every record landed; one open problem per record, field
-- and rule, with the value as sent, what landed and why; the column empty
select results_eq(
  $$select field, column_name, rule, value, landed, reason from sync.field_problems where source_key = 'recCLIENT00000003' and resolved_at is null$$,
  $$values ('Client Name', 'name', 'required_value', 'null'::jsonb, 'empty', 'Client Name is required but empty')$$,
  'a client without its required name lands, the problem named on the field');
select results_eq(
  $$select field, column_name, rule, value, landed, reason from sync.field_problems where source_key = 'recCLIENT00000004' and resolved_at is null$$,
  $$values ('Client Since', 'client_since', 'cell_conversion', '"2026-02-30"'::jsonb, 'empty', 'not a valid date: "2026-02-30"')$$,
  'a client with an invalid date lands with the date empty, the value and the reason recorded');
select results_eq(
  $$select field, column_name, rule, value, landed, reason from sync.field_problems where source_key = 'recCLIENT00000005' and resolved_at is null$$,
  $$values ('Annual Budget', 'annual_budget', 'cell_conversion', '"lots"'::jsonb, 'empty', 'expected a number, got "lots"')$$,
  'a client with a wrong-type money value lands with it empty, the value and the reason recorded');
select results_eq(
  $$select field, column_name, rule, value, landed, reason from sync.field_problems where source_key = 'recREGULATOR00002' and resolved_at is null$$,
  $$values ('Renewal Month', 'renewal_month', 'check_range', '13'::jsonb, 'empty', 'Renewal Month must be between 1 and 12')$$,
  'a regulator with Renewal Month 13 lands with the month empty, the range recorded');
select results_eq(
  $$select field, column_name, rule, value, landed, reason from sync.field_problems where source_key = 'recREGISTRATION02' and resolved_at is null$$,
  $$values ('Priority', 'priority', 'check_range', '6'::jsonb, 'empty', 'Priority must be between 1 and 5')$$,
  'a registration with priority 6 lands with the priority empty, the range recorded');
select results_eq(
  $$select field, column_name, rule, value, landed, link_key, reason from sync.field_problems where source_key = 'recPRODUCT0000002' and resolved_at is null$$,
  $$values ('Client', 'client_id', 'dangling_link', '["recCLIENT00000007"]'::jsonb, 'empty', 'recCLIENT00000007',
            'Client links to recCLIENT00000007, which does not exist in clients: the link is left empty until it does')$$,
  'a product linking to a client that does not exist lands with the link empty, the linked id kept');
select results_eq(
  $$select source_table, count(*)::int from sync.field_problems where run_id = 9101 and resolved_at is null group by 1 order by 1$$,
  $$values ('tblTtyLvxr2Ta4SfO', 1), ('tblZaclZULDATjmXm', 3), ('tbljwculB4C3VOXW3', 1), ('tblmNqfo6lv6OCavM', 1)$$,
  'the merges recorded six problems of run 9101, each under its Airtable table id, and quarantined nothing');
select results_eq(
  $$select airtable_id, to_jsonb(t) -> 'name', to_jsonb(t) -> 'client_since', to_jsonb(t) -> 'annual_budget', open_problem_count
    from app.clients t where airtable_id in ('recCLIENT00000003', 'recCLIENT00000004', 'recCLIENT00000005')
    union all select airtable_id, to_jsonb(agency_name), to_jsonb(renewal_month), null, open_problem_count from app.state_regulators where airtable_id = 'recREGULATOR00002'
    union all select airtable_id, to_jsonb(name), to_jsonb(client_id), null, open_problem_count from app.products where airtable_id = 'recPRODUCT0000002'
    union all select airtable_id, to_jsonb(status), to_jsonb(priority), null, open_problem_count from app.registrations where airtable_id = 'recREGISTRATION02'
    order by 1$$,
  $$values ('recCLIENT00000003', 'null'::jsonb, 'null'::jsonb, 'null'::jsonb, 1),
           ('recCLIENT00000004', '"Delta Farms"', 'null', 'null', 1),
           ('recCLIENT00000005', '"Epsilon Ag"', 'null', 'null', 1),
           ('recPRODUCT0000002', '"Orphan Spray"', null, null, 1),
           ('recREGISTRATION02', '"Submitted"', null, null, 1),
           ('recREGULATOR00002', '"Oregon Department of Agriculture"', null, null, 1)$$,
  'every record with a problem is in its app table, the offending column empty, the rest as sent, one open problem counted');
select is(
  (select count(*)::int from sync.target_checksums c join staging.source_records s on s.source_key = c.source_key
   where c.source_key in ('recCLIENT00000003', 'recCLIENT00000004', 'recCLIENT00000005', 'recREGULATOR00002', 'recPRODUCT0000002', 'recREGISTRATION02')
     and c.checksum = s.checksum),
  6, 'the target checksum of a row that landed with problems equals its source checksum (an emptied column counts as the value its problem keeps)');

-- attachments
select results_eq(
  $$select a.airtable_attachment_id, a.field_name, a.position, a.filename, a.size_bytes, a.mime_type, a.url, a.deleted_at
    from app.attachments a join app.products p on p.id = a.product_id
    where p.airtable_id = 'recPRODUCT0000001' order by position$$,
  $$values ('attLABEL000000001', 'label', 0::smallint, 'label.pdf', 1024::bigint, 'application/pdf', 'https://dl.example/label-1', null::timestamptz),
           ('attLABEL000000002', 'label', 1::smallint, 'sds.pdf', 2048::bigint, 'application/pdf', 'https://dl.example/sds-1', null::timestamptz)$$,
  'the product''s Label files are one app.attachments row each, with position, filename, size, type and url');
select results_eq(
  $$select a.airtable_attachment_id, a.field_name, a.position, a.filename, a.size_bytes
    from app.attachments a join app.registrations r on r.id = a.registration_id
    where r.airtable_id = 'recREGISTRATION01'$$,
  $$values ('attDOC00000000001', 'documents', 0::smallint, 'approval letter.pdf', 52000::bigint)$$,
  'the registration''s Documents file is an app.attachments row owned by the registration');

-- id map and audit
select results_eq(
  $$select entity_type, legacy_id, source_table, target_table from sync.id_map where migration_batch = 9101 order by entity_type, legacy_id$$,
  $$values ('clients', 'recCLIENT00000001', 'tblZaclZULDATjmXm', 'app.clients'),
           ('clients', 'recCLIENT00000002', 'tblZaclZULDATjmXm', 'app.clients'),
           ('clients', 'recCLIENT00000003', 'tblZaclZULDATjmXm', 'app.clients'),
           ('clients', 'recCLIENT00000004', 'tblZaclZULDATjmXm', 'app.clients'),
           ('clients', 'recCLIENT00000005', 'tblZaclZULDATjmXm', 'app.clients'),
           ('products', 'recPRODUCT0000001', 'tblTtyLvxr2Ta4SfO', 'app.products'),
           ('products', 'recPRODUCT0000002', 'tblTtyLvxr2Ta4SfO', 'app.products'),
           ('registrations', 'recREGISTRATION01', 'tblmNqfo6lv6OCavM', 'app.registrations'),
           ('registrations', 'recREGISTRATION02', 'tblmNqfo6lv6OCavM', 'app.registrations'),
           ('state_regulators', 'recREGULATOR00001', 'tbljwculB4C3VOXW3', 'app.state_regulators'),
           ('state_regulators', 'recREGULATOR00002', 'tbljwculB4C3VOXW3', 'app.state_regulators')$$,
  'one id_map row per record the run wrote first, problems or not (the restored client''s entry was made when its row was written here, before the run)');
select is(
  (select count(*)::int from sync.id_map m join staging.source_records s on s.source_key = m.legacy_id
   where (m.migration_batch = 9101 or m.legacy_id = 'recCLIENT00000006') and m.checksum = s.checksum and m.checksum ~ '^[0-9a-f]{64}$'),
  12, 'each id_map row the run wrote carries the checksum staged for its record, the restored client''s too');
select is_empty(
  $$select m.legacy_id from sync.id_map m
    where m.migration_batch = 9101 and m.uuid_id is distinct from case m.entity_type
      when 'clients' then (select id from app.clients where airtable_id = m.legacy_id)
      when 'state_regulators' then (select id from app.state_regulators where airtable_id = m.legacy_id)
      when 'products' then (select id from app.products where airtable_id = m.legacy_id)
      when 'registrations' then (select id from app.registrations where airtable_id = m.legacy_id) end$$,
  'each id_map row maps the Airtable id to the uuid of its app row');
select results_eq(
  $$select table_name, op, count(*)::int from audit.changes where run_id = 9101 and table_name like 'app.%' group by 1, 2 order by 1, 2$$,
  $$values ('app.attachments', 'INSERT', 3), ('app.clients', 'INSERT', 5), ('app.clients', 'UPDATE', 1), ('app.collaborators', 'INSERT', 2),
           ('app.products', 'INSERT', 2), ('app.registrations', 'INSERT', 2), ('app.state_regulators', 'INSERT', 2)$$,
  'every app change of the merges is in audit.changes with the run id');

-- a merge takes each page once; the same pages merged a second time (their
-- merge mark rewound, the checkpoints put back afterwards) write nothing
select is(sync.merge_entity(9101, 'clients', false)::text, '(clients,0,0,0,0,0,0,0,0)',
  'a further merge of run 9101''s clients finds no page it has not merged');
create temp table audit_before as select count(*) as n from audit.changes where table_name like 'app.%';
create temp table errors_before as select count(*) as n from sync.record_errors;
create temp table problems_before as select count(*) as n, max(updated_at) as changed from sync.field_problems;
create temp table checkpoints_before as select id, metadata from sync.checkpoints where run_id = 9101;
update sync.checkpoints set metadata = metadata - 'merged_through' where run_id = 9101;
select is(sync.merge_clients(9101)::text, '(clients,6,0,0,6,0,0,0,3)',
  'merging run 9101''s clients again: 6 unchanged, the same 3 with problems');
select is(sync.merge_products(9101)::text, '(products,2,0,0,2,0,0,0,1)',
  'merging run 9101''s products again: 2 unchanged, the same 1 with a problem');
update sync.checkpoints c set metadata = b.metadata from checkpoints_before b where b.id = c.id;
select is((select count(*) from audit.changes where table_name like 'app.%'), (select n from audit_before),
  'the second merge changes no app row (no new audit.changes rows)');
select is((select count(*) from sync.record_errors), (select n from errors_before),
  'the second merge quarantines nothing twice (no new record_errors rows)');
select results_eq($$select count(*), max(updated_at) from sync.field_problems$$, $$select n, changed from problems_before$$,
  'the second merge records no problem twice and rewrites none');

-- ---------------------------------------------------------------------------
-- Run 9101: sweep and finish
-- ---------------------------------------------------------------------------
select is(sync.sweep_deleted(9101, 'clients'), 1::bigint, 'sweep_deleted soft-deletes one client and says so');
select results_eq(
  $$select coalesce(airtable_id, '(none)'), deleted_at is not null from app.clients order by 1$$,
  $$values ('(none)', false), ('recCLIENT00000001', false), ('recCLIENT00000002', false), ('recCLIENT00000003', false),
           ('recCLIENT00000004', false), ('recCLIENT00000005', false), ('recCLIENT00000006', false), ('recCLIENT00000009', true)$$,
  'only the client whose record the run did not stage is deleted; a client without airtable_id is left alone');
select is(
  (select count(*)::int from audit.changes where table_name = 'app.clients' and run_id = 9101 and op = 'UPDATE'
     and 'deleted_at' = any (changed_columns) and new_values ->> 'airtable_id' = 'recCLIENT00000009'),
  1, 'the sweep is audited with the run id');
select results_eq(
  $$select status, fetched, inserted, updated, unchanged, deleted, quarantined, finished_at = now() from sync.finish_run(9101)$$,
  $$values ('completed', 13::bigint, 11::bigint, 1::bigint, 0::bigint, 1::bigint, 1::bigint, true)$$,
  'finish_run sums the checkpoints (each holding the sum of its table''s merges): fetched 13 = 11 inserted + 1 updated + 0 unchanged + 1 quarantined (the reject), the sweep deleted');

-- ---------------------------------------------------------------------------
-- Run 9102 (incremental): unchanged pages, a changed record, the missing link
-- ---------------------------------------------------------------------------
select results_eq(
  $$select * from sync.stage_page(9102, 'clients', pg_temp.page('clients', 'v1', 'recCLIENT00000001', 'recCLIENT00000006'),
      '[{"source_key": "recREJECTED000001", "field": "Notes", "value": "\\ud800", "reason": "text PostgreSQL cannot store"}]', false, 'itrB/recCLIENT00000006')$$,
  $$values (0, 0, 2, 1)$$,
  'incremental stage_page with unchanged hashes writes nothing: 2 untouched (and the reject counted)');
select is((select count(*)::int from sync.record_errors where source_key = 'recREJECTED000001'), 1,
  'a repeated runner reject is not quarantined twice');
select is((select run_id from staging.source_records where source_key = 'recCLIENT00000001'), 9101::bigint,
  'an untouched record keeps the run that last wrote it');
select results_eq(
  $$select * from sync.stage_page(9102, 'clients', pg_temp.page('clients', 'v2', 'recCLIENT00000002'), '[]', false, 'itrB/recCLIENT00000002')$$,
  $$values (1, 0, 0, 0)$$,
  'incremental stage_page with a changed hash writes the record');
select results_eq(
  $$select * from sync.stage_page(9102, 'clients', pg_temp.page('clients', 'v2', 'recCLIENT00000007'), '[]', false, null)$$,
  $$values (1, 0, 0, 0)$$,
  'incremental stage_page writes a new record');
select results_eq(
  $$select * from sync.stage_page(9102, 'products', pg_temp.page('products', 'v2', 'recPRODUCT0000001'), '[]', false, null)$$,
  $$values (1, 0, 0, 0)$$,
  'incremental stage_page writes the product whose Label changed');
select results_eq(
  $$select records_processed, (metadata ->> 'pages')::int, (metadata ->> 'untouched')::int, (metadata ->> 'rejected')::int,
           (metadata ->> 'high_water_mark')::timestamptz
    from sync.checkpoints where run_id = 9102 and entity_type = 'clients'$$,
  $$values (5::bigint, 3, 2, 1, '2026-11-23 09:00:00+00'::timestamptz)$$,
  'the incremental checkpoint: 5 records, 3 pages, 2 untouched, 1 rejected, high-water mark of the newest record');

select is(sync.merge_clients(9102)::text, '(clients,2,1,1,0,0,0,0,0)',
  'merge_clients(9102): the changed client updated, the new one inserted, nothing in quarantine to retry');
select is((select phone from app.clients where airtable_id = 'recCLIENT00000002'), '+1 555 0100', 'the changed client has its new value');
select is((select count(*)::int from sync.field_problems where source_key in ('recCLIENT00000003', 'recCLIENT00000004', 'recCLIENT00000005') and resolved_at is null), 3,
  'the problems of records the run did not read stay open, not repeated');
select is(sync.merge_products(9102)::text, '(products,1,0,0,1,0,0,0,0)',
  'merge_products(9102): the re-staged product unchanged');
select results_eq(
  $$select p.name, c.airtable_id, p.open_problem_count from app.products p join app.clients c on c.id = p.client_id where p.airtable_id = 'recPRODUCT0000002'$$,
  $$values ('Orphan Spray', 'recCLIENT00000007', 0)$$,
  'the product whose client was missing is linked to the client staged later, though its own record did not change, and counts no open problem');
select results_eq(
  $$select resolved_at = now(), resolved_by_run_id from sync.field_problems where source_key = 'recPRODUCT0000002'$$,
  $$values (true, 9102::bigint)$$,
  'its dangling-link problem is closed by run 9102 (resolved_at, resolved_by_run_id)');
select is(
  (select c.checksum from sync.target_checksums c where c.source_key = 'recPRODUCT0000002'),
  (select s.checksum from staging.source_records s where s.source_key = 'recPRODUCT0000002'),
  'the relinked product''s target checksum still equals its source checksum');

-- attachments after the Label cell changed: a file removed, a URL refreshed
select results_eq(
  $$select a.airtable_attachment_id, a.position, a.url, a.deleted_at is not null
    from app.attachments a join app.products p on p.id = a.product_id
    where p.airtable_id = 'recPRODUCT0000001' order by airtable_attachment_id$$,
  $$values ('attLABEL000000001', 0::smallint, 'https://dl.example/label-1', false),
           ('attLABEL000000002', 1::smallint, 'https://dl.example/sds-1', true)$$,
  'a file removed from the cell is soft-deleted; a changed download URL alone leaves the row as it was');
select results_eq(
  $$select new_values ->> 'airtable_attachment_id', changed_columns from audit.changes
    where table_name = 'app.attachments' and run_id = 9102 order by 1$$,
  $$values ('attLABEL000000002', array['deleted_at'])$$,
  'the only attachment change of run 9102 is the removal (the URL-only change wrote nothing; updated_at is now() throughout the transaction)');

select results_eq(
  $$select status, fetched, inserted, updated, unchanged, deleted, quarantined,
           (metadata ->> 'retried')::int, (metadata ->> 'retried_merged')::int, metadata ->> 'base_id'
    from sync.finish_run(9102)$$,
  $$values ('completed', 6::bigint, 1::bigint, 1::bigint, 3::bigint, 0::bigint, 1::bigint, 0, 0, 'appDeltaTest00001')$$,
  'finish_run(9102): untouched counted as unchanged, the reject as quarantined, no retries in metadata, metadata kept');
select is((select count(*)::int from sync.runs where id in (9101, 9102) and fetched = inserted + updated + unchanged + quarantined), 2,
  'both completed runs account for every record fetched');

-- ---------------------------------------------------------------------------
-- Run 9104: restart of a listing, then failure
-- ---------------------------------------------------------------------------
select lives_ok($$select sync.restart_listing(9104, 'clients')$$, 'restart_listing runs');
select results_eq(
  $$select records_processed, last_processed_id, metadata -> 'offset', (metadata ->> 'pages')::int, (metadata ->> 'untouched')::int,
           (metadata ->> 'rejected')::int, (metadata ->> 'listing_attempt')::int, metadata ->> 'high_water_mark'
    from sync.checkpoints where run_id = 9104 and entity_type = 'clients'$$,
  $$values (0::bigint, null::text, 'null'::jsonb, 0, 0, 0, 2, '2026-11-01T00:00:00+00:00')$$,
  'restart_listing resets the counters, offset and resume point, and makes this listing attempt 2');
select sync.restart_listing(9104, 'clients');
select is((select (metadata ->> 'listing_attempt')::int from sync.checkpoints where run_id = 9104 and entity_type = 'clients'), 3,
  'a second restart makes it attempt 3');
select results_eq(
  $$select status, error_message, finished_at = now() from sync.fail_run(9104, 'Airtable answered 503 five times')$$,
  $$values ('failed', 'Airtable answered 503 five times', true)$$,
  'fail_run marks the run failed with the message and a finish time');
select results_eq(
  $$select entity_type, status, error_message from sync.checkpoints where run_id = 9104 order by entity_type$$,
  $$values ('clients', 'failed', 'Airtable answered 503 five times'), ('products', 'pending', null)$$,
  'fail_run fails the in-progress checkpoints with the message and leaves the others');
select results_eq(
  $$select status, error_message from sync.fail_run(9104, 'a later error')$$,
  $$values ('failed', 'Airtable answered 503 five times')$$,
  'fail_run on a run that already failed keeps its first error');

-- ---------------------------------------------------------------------------
-- Refusals
-- ---------------------------------------------------------------------------
select throws_ok($$select sync.merge_entity(9101, 'invoices')$$, '42704', 'no mapping for entity invoices',
  'merge_entity for an entity without a mapping raises undefined_object');
select throws_ok($$select * from sync.stage_page(9101, 'invoices', '[]', '[]', true, null)$$, 'P0002', null,
  'stage_page for an entity without a mapping raises no_data_found');

-- ---------------------------------------------------------------------------
-- Values that pass the cell checks must not abort a merge (run 9106)
-- ---------------------------------------------------------------------------
select lives_ok(
  $$select * from sync.stage_page(9106, 'state_regulators',
      '[{"id": "recREGULATOR00006", "created_time": "2026-01-01T00:00:00.000Z", "hash": "6666666666666666666666666666666666666666666666666666666666666666",
         "fields": {"fldtmASk12fGsd6OS": "Texas Department of Agriculture", "fldoQh2Z9dzm14DkC": 6.0}}]', '[]', true, null)$$,
  'a regulator with Renewal Month 6.0 is staged');
select lives_ok($$select sync.merge_state_regulators(9106)$$,
  'merge_state_regulators does not abort on a Renewal Month written 6.0');
select lives_ok(
  $$select * from sync.stage_page(9106, 'products',
      '[{"id": "recPRODUCT0000006", "created_time": "2026-01-01T00:00:00.000Z", "hash": "7777777777777777777777777777777777777777777777777777777777777777",
         "fields": {"flditdl13jzXqvGJG": "Half Byte", "fldm98vOtlVmdetoO": [{"id": "attHALF0000000001", "filename": "half.pdf", "size": 1.5}]}}]', '[]', true, null)$$,
  'a product with an attachment of size 1.5 is staged');
select lives_ok($$select sync.merge_products(9106)$$,
  'merge_products does not abort on an attachment size of 1.5');


-- ---------------------------------------------------------------------------
-- Run 9107: batches merge while the listing goes on
-- ---------------------------------------------------------------------------
select results_eq(
  $$select * from sync.stage_page(9107, 'state_regulators',
      '[{"id": "recREGULATOR00071", "created_time": "2026-01-01T00:00:00.000Z", "hash": "7171717171717171717171717171717171717171717171717171717171717171",
         "fields": {"fldtmASk12fGsd6OS": "Batch Agency One"}},
        {"id": "recREGULATOR00072", "created_time": "2026-01-01T00:00:00.000Z", "hash": "7272727272727272727272727272727272727272727272727272727272727272",
         "fields": {"fldtmASk12fGsd6OS": ""}}]', '[]', true, 'itrC/recREGULATOR00072')$$,
  $$values (2, 0, 0, 0)$$,
  'batch run: the first page of two regulators is staged');
select is((select metadata ->> 'phase' from sync.checkpoints where run_id = 9107 and entity_type = 'state_regulators'), 'listing',
  'a page with a next offset leaves the table listing');
select is(sync.merge_entity(9107, 'state_regulators', false)::text, '(state_regulators,2,2,0,0,0,0,0,1)',
  'a batch merge takes the pages staged so far: 2 inserted, 1 of them with a problem (empty agency name)');
select results_eq(
  $$select metadata ->> 'phase', (metadata ->> 'merged_through')::bigint = (metadata ->> 'last_page_seq')::bigint, (metadata ->> 'merge_batches')::int
    from sync.checkpoints where run_id = 9107 and entity_type = 'state_regulators'$$,
  $$values ('listing', true, 1)$$,
  'after a batch the table is still listing, merged through its last staged page');
select results_eq(
  $$select * from sync.stage_page(9107, 'state_regulators',
      '[{"id": "recREGULATOR00073", "created_time": "2026-01-01T00:00:00.000Z", "hash": "7373737373737373737373737373737373737373737373737373737373737373",
         "fields": {"fldtmASk12fGsd6OS": "Batch Agency Three"}}]', '[]', true, null)$$,
  $$values (1, 0, 0, 0)$$,
  'batch run: the last page is staged');
select is((select metadata ->> 'phase' from sync.checkpoints where run_id = 9107 and entity_type = 'state_regulators'), 'listed',
  'the last page (no next offset) marks the table listed, so a resumed run merges without listing again');
select is(sync.merge_entity(9107, 'state_regulators', true)::text, '(state_regulators,1,1,0,0,0,0,0,0)',
  'the final merge takes only the page the batch had not merged (nothing is in quarantine to retry)');
select results_eq(
  $$select metadata ->> 'phase', metadata -> 'merge', (metadata ->> 'merge_batches')::int
    from sync.checkpoints where run_id = 9107 and entity_type = 'state_regulators'$$,
  $$values ('merged', '{"entity": "state_regulators", "fetched": 3, "inserted": 3, "updated": 0, "unchanged": 0, "quarantined": 0, "retried": 0, "retried_merged": 0, "landed_with_problems": 1}'::jsonb, 2)$$,
  'the checkpoint holds the sum of both merges and the merged phase');
select is(
  (select count(*)::int from app.state_regulators where airtable_id in ('recREGULATOR00071', 'recREGULATOR00072', 'recREGULATOR00073')),
  3, 'the three regulators of the batched run are in app.state_regulators, each once');

-- ---------------------------------------------------------------------------
-- The sync role: calls the pipeline, cannot write app tables itself (run 9105)
-- ---------------------------------------------------------------------------
set local role airlift_sync;
select lives_ok(
  $$select * from sync.stage_page(9105, 'clients',
      '[{"id": "recCLIENT00000008", "created_time": "2026-01-01T00:00:00.000Z", "hash": "8888888888888888888888888888888888888888888888888888888888888888",
         "fields": {"fldcRQ5EWmHA7hkmK": "Eta Growers"}}]', '[]', true, null)$$,
  'airlift_sync can stage a page');
select lives_ok($$select sync.merge_clients(9105)$$, 'airlift_sync can merge (security definer merge)');
select lives_ok($$select sync.sweep_deleted(9105, 'clients')$$, 'airlift_sync can sweep deleted records');
select lives_ok($$select sync.finish_run(9105)$$, 'airlift_sync can finish a run');
select throws_ok($$insert into app.clients (name) values ('Direct Write')$$, '42501', 'permission denied for table clients',
  'airlift_sync cannot insert into app.clients directly');
reset role;
select results_eq(
  $$select name, deleted_at is null from app.clients where airtable_id = 'recCLIENT00000008'$$,
  $$values ('Eta Growers', true)$$,
  'the client merged by airlift_sync is in app.clients');

select * from finish();
ROLLBACK;
