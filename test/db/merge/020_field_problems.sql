-- Field problems (issue 15): sync.record_problems (new problems recorded,
-- changed ones rewritten, fixed ones closed, nothing written twice),
-- sync.refresh_problem_rows (the rows' counts and target checksums),
-- sync.resolve_dangling_links (links filled once their target exists, in
-- one statement), the target canonical form that puts back an emptied
-- column's source value, sync.sweep_deleted closing a deleted record's
-- problems, sync.open_data_problems, and what the sync role may do.
--
-- Runs: 9801 full (clients and products, a product linking to a client
-- not merged yet), 9802 incremental (the client arrives), 9803 full (a
-- product gone from Airtable).
BEGIN;
select plan(16);

select tests.seed_delta_mapping(entities => array['clients', 'products'],
  columns => array['name', 'annual_budget', 'client_id', 'airtable_modified_at'], attachments => false,
  source_id => 'appProblemsTest01', source_tables => '{"clients": "tblProblemClients", "products": "tblProblemProduct"}');
select tests.open_run('full', 9801, '{"base_id": "appProblemsTest01"}');
select tests.open_run('incremental', 9802, '{"base_id": "appProblemsTest01"}');
select tests.open_run('full', 9803, '{"base_id": "appProblemsTest01"}');
select tests.open_checkpoints(run, 'clients', 'products') from unnest(array[9801, 9802, 9803]) as run;

create function pg_temp.record(p_id text, p_fields jsonb) returns jsonb
language sql as $$
  select tests.airtable_record(p_id, p_fields, '2026-01-01T00:00:00.000Z')
$$;
create function pg_temp.checksums_agree(p_id text) returns boolean
language sql as $$
  select c.checksum = s.checksum from sync.target_checksums c join staging.source_records s on s.source_key = c.source_key
  where c.source_key = p_id
$$;

-- ---------------------------------------------------------------------------
-- Run 9801: a client with money too large, a product linking to a client
-- that is not merged yet
-- ---------------------------------------------------------------------------
select sync.stage_page(9801, 'clients', jsonb_build_array(
  pg_temp.record('recPROBLEMCLIENT1', '{"fldcRQ5EWmHA7hkmK": "Alpha Labs", "fldAaSynzxQzeTNAI": 99999999999.99}')), '[]', true, null);
select sync.merge_clients(9801);
select sync.stage_page(9801, 'products', jsonb_build_array(
  pg_temp.record('recPROBLEMPRODUC1', '{"flditdl13jzXqvGJG": "Early Spray", "fldeHngYQ2AQ2a41D": ["recPROBLEMCLIENT2"]}'),
  pg_temp.record('recPROBLEMPRODUC2', '{"flditdl13jzXqvGJG": "Gone Soon", "fldeHngYQ2AQ2a41D": ["recPROBLEMCLIENT1"]}')), '[]', true, null);
select sync.merge_products(9801);

select results_eq(
  $$select source_key, rule, origin, landed, link_key, run_id from sync.field_problems where resolved_at is null order by source_key$$,
  $$values ('recPROBLEMCLIENT1', 'cell_conversion', 'merge', 'empty', null::text, 9801::bigint),
           ('recPROBLEMPRODUC1', 'dangling_link', 'merge', 'empty', 'recPROBLEMCLIENT2', 9801)$$,
  'the merge records one open problem per record, field and rule, with what landed and the linked id of a dangling link');
select results_eq(
  $$select airtable_id, annual_budget is null, open_problem_count from app.clients
    union all select airtable_id, client_id is null, open_problem_count from app.products order by 1$$,
  $$values ('recPROBLEMCLIENT1', true, 1), ('recPROBLEMPRODUC1', true, 1), ('recPROBLEMPRODUC2', false, 0)$$,
  'the records land, the offending column empty, each row counting its open problems');
select ok(pg_temp.checksums_agree('recPROBLEMCLIENT1') and pg_temp.checksums_agree('recPROBLEMPRODUC1'),
  'a row that landed with problems has its source''s checksum: the canonical form puts back the value its problem keeps');
select results_eq(
  $$select entity, source_key, field, rule, disposition from sync.open_data_problems order by source_key$$,
  $$values ('clients', 'recPROBLEMCLIENT1', 'Annual Budget', 'cell_conversion', 'empty'),
           ('products', 'recPROBLEMPRODUC1', 'Client', 'dangling_link', 'empty')$$,
  'sync.open_data_problems lists them, with their disposition');

-- a value set here since counts as the row's own: the override applies only while the column is empty
update app.clients set annual_budget = 10 where airtable_id = 'recPROBLEMCLIENT1';
select ok(not pg_temp.checksums_agree('recPROBLEMCLIENT1'), 'a value written here into an emptied column is a difference from the source');
update app.clients set annual_budget = null where airtable_id = 'recPROBLEMCLIENT1';
select ok(pg_temp.checksums_agree('recPROBLEMCLIENT1'), 'emptied again, the row compares equal to its source once more');

-- sync.record_problems directly: a rewrite, a close, nothing twice
-- (the table the merge fills as the owner, whose function reads it)
set local role airlift_owner;
create temp table problems_seen (source_key text, problems jsonb);
reset role;
grant all on problems_seen to public;
insert into problems_seen values
  ('recPROBLEMCLIENT1', '[{"field": "Annual Budget", "column": "annual_budget", "rule": "cell_conversion", "landed": "empty", "value": 12345678901.5, "canonical": null, "reason": "12345678901.5 is too large for money"}]');
select is(sync.record_problems(9801, 'clients', 'merge'), array['recPROBLEMCLIENT1'], 'a problem whose value changed is rewritten, and its record returned');
select is(sync.record_problems(9801, 'clients', 'merge'), '{}'::text[], 'the same problems again change nothing');
select is((select count(*)::int from sync.field_problems where source_key = 'recPROBLEMCLIENT1'), 1, 'the rewrite is the same problem, not a second one');
update problems_seen set problems = '[]';
select is(sync.record_problems(9801, 'clients', 'merge'), array['recPROBLEMCLIENT1'], 'a record seen without the problem closes it');
select is(sync.refresh_problem_rows(9801, 'clients', array['recPROBLEMCLIENT1']), 1::bigint, 'refresh_problem_rows recounts the row');
select is((select open_problem_count from app.clients where airtable_id = 'recPROBLEMCLIENT1'), 0, 'the row counts no open problem');
drop table problems_seen;

-- ---------------------------------------------------------------------------
-- Run 9802: the linked client arrives; the product is not staged again
-- ---------------------------------------------------------------------------
select sync.stage_page(9802, 'clients', jsonb_build_array(
  pg_temp.record('recPROBLEMCLIENT2', '{"fldcRQ5EWmHA7hkmK": "Beta Chemicals"}')), '[]', false, null);
select sync.merge_clients(9802);
select is(sync.merge_products(9802)::text, '(products,0,0,0,0,0,0,0,0)', 'the final merge of products finds no page of its own ...');
select results_eq(
  $$select c.airtable_id, p.open_problem_count, fp.resolved_by_run_id
    from app.products p join app.clients c on c.id = p.client_id
    join sync.field_problems fp on fp.source_key = p.airtable_id and fp.rule = 'dangling_link'
    where p.airtable_id = 'recPROBLEMPRODUC1'$$,
  $$values ('recPROBLEMCLIENT2', 0, 9802::bigint)$$,
  '... and resolves the dangling link: the foreign key filled, the problem closed by the run, the count down');
select ok(pg_temp.checksums_agree('recPROBLEMPRODUC1'), 'the relinked row still has its source''s checksum');

-- ---------------------------------------------------------------------------
-- Run 9803 (full): a product gone from Airtable closes its problems
-- ---------------------------------------------------------------------------
select sync.stage_page(9803, 'products', jsonb_build_array(
  pg_temp.record('recPROBLEMPRODUC2', '{"flditdl13jzXqvGJG": "   ", "fldeHngYQ2AQ2a41D": ["recPROBLEMCLIENT1"]}')), '[]', true, null);
select sync.merge_products(9803);
select sync.stage_page(9803, 'products', jsonb_build_array(
  pg_temp.record('recPROBLEMPRODUC2', '{"flditdl13jzXqvGJG": "   ", "fldeHngYQ2AQ2a41D": ["recPROBLEMCLIENT1"]}')), '[]', true, null);
-- the sweep of a later full run that does not list it
update staging.source_records set run_id = 9801 where source_key = 'recPROBLEMPRODUC2';
select sync.sweep_deleted(9803, 'products');
select results_eq(
  $$select p.deleted_at is not null, p.open_problem_count, fp.resolved_by_run_id
    from app.products p join sync.field_problems fp on fp.source_key = p.airtable_id and fp.rule = 'required_value'
    where p.airtable_id = 'recPROBLEMPRODUC2'$$,
  $$values (true, 0, 9803::bigint)$$,
  'a record swept as deleted has its open problems closed by the sweeping run');

select * from finish();
ROLLBACK;
