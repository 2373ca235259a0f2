-- The report schema over planted data: the two materialized views (after a
-- refresh), the two plain views that depend on today's date, concurrent
-- refresh, staleness until refresh, and the partial index behind the renewal
-- worklist. Dates are relative to current_date, which is fixed within the
-- transaction.
--
-- Planted data (d = current_date), registrations:
--   r01 Acme     P1 CA      Approved        d+10  100.00
--   r02 Acme     P2 CA      Submitted       d+45   50.00
--   r03 Acme     P1 TX      Approved        d+90   75.50
--   r04 Acme     P1 TX      Expired         d-5    20.00
--   r05 Borealis P4 ' ny'   Approved        d+30  200.00
--   r06 Borealis P4 ' ny'   Denied          d+20   10.00
--   r07 Borealis P4 (null)  (null)          d+0   (null)
--   r08 Borealis P4 CA      Approved        d+91  300.00
--   r09 Acme     P1 CA      Approved        d+15  999.00  soft-deleted
--   r10 Borealis P4 Calif.  Pending Review  d+60    5.00
--   r11 Acme     P2 CA      Approved        (null) 40.00
--   r12 Borealis P4 TX      Deficiency      d-1    12.00
-- Clients: Acme and Borealis (active), Cobalt (no products, no
-- registrations), Defunct (soft-deleted, with one product).
-- Products: P1 Acme active, P2 Acme discontinued, P3 Acme soft-deleted,
-- P4 Borealis active, P5 Defunct active.
BEGIN;
select plan(29);

-- ---------------------------------------------------------------------------
-- Shape.
-- ---------------------------------------------------------------------------
select has_materialized_view('report', 'registration_status_by_state', 'report.registration_status_by_state is a materialized view');
select has_materialized_view('report', 'client_portfolio', 'report.client_portfolio is a materialized view');
select has_view('report', 'registrations_expiring', 'report.registrations_expiring is a plain view (never stale)');
select has_view('report', 'expiring_registration_counts', 'report.expiring_registration_counts is a plain view (never stale)');
select index_is_unique('report', 'registration_status_by_state', 'registration_status_by_state_key',
  'registration_status_by_state has the unique index registration_status_by_state_key');
select index_is_unique('report', 'client_portfolio', 'client_portfolio_key',
  'client_portfolio has the unique index client_portfolio_key');
select is_empty(
  $$select m.matviewname
    from pg_matviews m
    where m.schemaname = 'report'
      and not exists (
        select from pg_index i
        where i.indrelid = format('%I.%I', m.schemaname, m.matviewname)::regclass
          and i.indisunique and i.indisvalid and i.indpred is null and i.indexprs is null)$$,
  'every report materialized view has a unique index on plain columns without predicate, as refresh concurrently requires'
);
select is_definer('report', 'refresh_materialized_views', array[]::name[],
  'report.refresh_materialized_views() is security definer (only the owner may refresh)');

-- ---------------------------------------------------------------------------
-- Planted data.
-- ---------------------------------------------------------------------------
insert into app.clients (id, name, status, deleted_at) values
  ('09000000-0000-4000-8000-0000000000c1', 'Acme Agro', 'Active', null),
  ('09000000-0000-4000-8000-0000000000c2', 'Borealis Biotech', 'Active', null),
  ('09000000-0000-4000-8000-0000000000c3', 'Cobalt Chemicals', 'Prospect', null),
  ('09000000-0000-4000-8000-0000000000c4', 'Defunct Dusts', 'Inactive', now());

insert into app.state_regulators (id, agency_name, state) values
  ('09000000-0000-4000-8000-0000000000a1', 'California Department of Pesticide Regulation', 'CA'),
  ('09000000-0000-4000-8000-0000000000a2', 'Texas Department of Agriculture', 'TX'),
  ('09000000-0000-4000-8000-0000000000a3', 'New York Department of Environmental Conservation', ' ny');

insert into app.products (id, name, client_id, discontinued, deleted_at) values
  ('09000000-0000-4000-8000-0000000000b1', 'Acme Ant Bait', '09000000-0000-4000-8000-0000000000c1', false, null),
  ('09000000-0000-4000-8000-0000000000b2', 'Acme Bug Spray', '09000000-0000-4000-8000-0000000000c1', true, null),
  ('09000000-0000-4000-8000-0000000000b3', 'Acme Old Powder', '09000000-0000-4000-8000-0000000000c1', false, now()),
  ('09000000-0000-4000-8000-0000000000b4', 'Borealis Weed Stop', '09000000-0000-4000-8000-0000000000c2', false, null),
  ('09000000-0000-4000-8000-0000000000b5', 'Defunct Dust', '09000000-0000-4000-8000-0000000000c4', false, null);

insert into app.registrations (id, airtable_id, client_id, product_id, state_regulator_id, state, status, expiration_date, fee_paid, deleted_at) values
  ('09000000-0000-4000-8000-000000000001', 'recReportTest0001', '09000000-0000-4000-8000-0000000000c1', '09000000-0000-4000-8000-0000000000b1', '09000000-0000-4000-8000-0000000000a1', 'CA', 'Approved', current_date + 10, 100.00, null),
  ('09000000-0000-4000-8000-000000000002', 'recReportTest0002', '09000000-0000-4000-8000-0000000000c1', '09000000-0000-4000-8000-0000000000b2', '09000000-0000-4000-8000-0000000000a1', 'CA', 'Submitted', current_date + 45, 50.00, null),
  ('09000000-0000-4000-8000-000000000003', 'recReportTest0003', '09000000-0000-4000-8000-0000000000c1', '09000000-0000-4000-8000-0000000000b1', '09000000-0000-4000-8000-0000000000a2', 'TX', 'Approved', current_date + 90, 75.50, null),
  ('09000000-0000-4000-8000-000000000004', 'recReportTest0004', '09000000-0000-4000-8000-0000000000c1', '09000000-0000-4000-8000-0000000000b1', '09000000-0000-4000-8000-0000000000a2', 'TX', 'Expired', current_date - 5, 20.00, null),
  ('09000000-0000-4000-8000-000000000005', 'recReportTest0005', '09000000-0000-4000-8000-0000000000c2', '09000000-0000-4000-8000-0000000000b4', '09000000-0000-4000-8000-0000000000a3', ' ny', 'Approved', current_date + 30, 200.00, null),
  ('09000000-0000-4000-8000-000000000006', 'recReportTest0006', '09000000-0000-4000-8000-0000000000c2', '09000000-0000-4000-8000-0000000000b4', '09000000-0000-4000-8000-0000000000a3', ' ny', 'Denied', current_date + 20, 10.00, null),
  ('09000000-0000-4000-8000-000000000007', 'recReportTest0007', '09000000-0000-4000-8000-0000000000c2', '09000000-0000-4000-8000-0000000000b4', null, null, null, current_date, null, null),
  ('09000000-0000-4000-8000-000000000008', 'recReportTest0008', '09000000-0000-4000-8000-0000000000c2', '09000000-0000-4000-8000-0000000000b4', '09000000-0000-4000-8000-0000000000a1', 'CA', 'Approved', current_date + 91, 300.00, null),
  ('09000000-0000-4000-8000-000000000009', 'recReportTest0009', '09000000-0000-4000-8000-0000000000c1', '09000000-0000-4000-8000-0000000000b1', '09000000-0000-4000-8000-0000000000a1', 'CA', 'Approved', current_date + 15, 999.00, now()),
  ('09000000-0000-4000-8000-000000000010', 'recReportTest0010', '09000000-0000-4000-8000-0000000000c2', '09000000-0000-4000-8000-0000000000b4', '09000000-0000-4000-8000-0000000000a1', 'Calif.', 'Pending Review', current_date + 60, 5.00, null),
  ('09000000-0000-4000-8000-000000000011', 'recReportTest0011', '09000000-0000-4000-8000-0000000000c1', '09000000-0000-4000-8000-0000000000b2', '09000000-0000-4000-8000-0000000000a1', 'CA', 'Approved', null, 40.00, null),
  ('09000000-0000-4000-8000-000000000012', 'recReportTest0012', '09000000-0000-4000-8000-0000000000c2', '09000000-0000-4000-8000-0000000000b4', '09000000-0000-4000-8000-0000000000a2', 'TX', 'Deficiency', current_date - 1, 12.00, null);

-- Materialized views are snapshots: nothing planted shows before a refresh.
select is(
  (select count(*) from report.client_portfolio where client_id::text like '09000000-%'),
  0::bigint,
  'client_portfolio is stale before refresh: the planted clients are not in it yet'
);

select lives_ok(
  $$select report.refresh_materialized_views()$$,
  'report.refresh_materialized_views() refreshes both materialized views inside a transaction'
);

-- ---------------------------------------------------------------------------
-- registration_status_by_state.
-- ---------------------------------------------------------------------------
select results_eq(
  $$select state_code, status, registrations, open_registrations, clients, fees_paid
    from report.registration_status_by_state
    order by state_code, status$$,
  $$select * from (values
      ('??', '(no status)', 1::bigint, 1::bigint, 1::bigint, 0.00::numeric),
      ('??', 'Pending Review', 1::bigint, 1::bigint, 1::bigint, 5.00::numeric),
      ('CA', 'Approved', 3::bigint, 3::bigint, 2::bigint, 440.00::numeric),
      ('CA', 'Submitted', 1::bigint, 1::bigint, 1::bigint, 50.00::numeric),
      ('NY', 'Approved', 1::bigint, 1::bigint, 1::bigint, 200.00::numeric),
      ('NY', 'Denied', 1::bigint, 0::bigint, 1::bigint, 10.00::numeric),
      ('TX', 'Approved', 1::bigint, 1::bigint, 1::bigint, 75.50::numeric),
      ('TX', 'Deficiency', 1::bigint, 1::bigint, 1::bigint, 12.00::numeric),
      ('TX', 'Expired', 1::bigint, 0::bigint, 1::bigint, 20.00::numeric)
    ) as expected (state_code, status, registrations, open_registrations, clients, fees_paid)
    order by state_code, status$$,
  'registration_status_by_state counts live registrations, open ones, clients and fees per state and status'
);
select set_eq(
  $$select distinct state_code from report.registration_status_by_state$$,
  array['CA', 'NY', 'TX', '??'],
  'state codes are normalized ('' ny'' becomes NY) and a missing or non-code state is reported as ??'
);
select is(
  (select fees_paid from report.registration_status_by_state where state_code = 'CA' and status = 'Approved'),
  440.00::numeric(14,2),
  'the soft-deleted registration (999.00 in CA, Approved) is not counted'
);
select col_type_is('report', 'registration_status_by_state', 'fees_paid', 'numeric(14,2)',
  'registration_status_by_state.fees_paid is numeric(14,2)');

-- ---------------------------------------------------------------------------
-- client_portfolio.
-- ---------------------------------------------------------------------------
select results_eq(
  $$select client_id, client_name, client_status, products, active_products, registrations,
           open_registrations, approved_registrations, states_covered, next_expiration_date, fees_paid
    from report.client_portfolio
    where client_id::text like '09000000-%'
    order by client_name$$,
  $$select * from (values
      ('09000000-0000-4000-8000-0000000000c1'::uuid, 'Acme Agro', 'Active',
       2::bigint, 1::bigint, 5::bigint, 4::bigint, 3::bigint, 2::bigint, current_date + 10, 285.50::numeric),
      ('09000000-0000-4000-8000-0000000000c2'::uuid, 'Borealis Biotech', 'Active',
       1::bigint, 1::bigint, 6::bigint, 5::bigint, 2::bigint, 3::bigint, current_date - 1, 527.00::numeric),
      ('09000000-0000-4000-8000-0000000000c3'::uuid, 'Cobalt Chemicals', 'Prospect',
       0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, null::date, 0.00::numeric)
    ) as expected
    order by 2$$,
  'client_portfolio: live products, active products, registrations, open, approved, states covered, next open expiration and fees per live client'
);
select is_empty(
  $$select * from report.client_portfolio where client_id = '09000000-0000-4000-8000-0000000000c4'$$,
  'client_portfolio leaves out the soft-deleted client'
);

-- ---------------------------------------------------------------------------
-- registrations_expiring and expiring_registration_counts.
-- ---------------------------------------------------------------------------
select results_eq(
  $$select registration_id, airtable_id, client_name, product_name, agency_name, state_code, status,
           expiration_date, days_until_expiration, within_days
    from report.registrations_expiring
    where registration_id::text like '09000000-%'
    order by expiration_date, registration_id$$,
  $$select * from (values
      ('09000000-0000-4000-8000-000000000007'::uuid, 'recReportTest0007', 'Borealis Biotech', 'Borealis Weed Stop', null::text, null::text, null::text, current_date, 0, 30),
      ('09000000-0000-4000-8000-000000000001'::uuid, 'recReportTest0001', 'Acme Agro', 'Acme Ant Bait', 'California Department of Pesticide Regulation', 'CA', 'Approved', current_date + 10, 10, 30),
      ('09000000-0000-4000-8000-000000000005'::uuid, 'recReportTest0005', 'Borealis Biotech', 'Borealis Weed Stop', 'New York Department of Environmental Conservation', 'NY', 'Approved', current_date + 30, 30, 30),
      ('09000000-0000-4000-8000-000000000002'::uuid, 'recReportTest0002', 'Acme Agro', 'Acme Bug Spray', 'California Department of Pesticide Regulation', 'CA', 'Submitted', current_date + 45, 45, 60),
      ('09000000-0000-4000-8000-000000000010'::uuid, 'recReportTest0010', 'Borealis Biotech', 'Borealis Weed Stop', 'California Department of Pesticide Regulation', null, 'Pending Review', current_date + 60, 60, 60),
      ('09000000-0000-4000-8000-000000000003'::uuid, 'recReportTest0003', 'Acme Agro', 'Acme Ant Bait', 'Texas Department of Agriculture', 'TX', 'Approved', current_date + 90, 90, 90)
    ) as expected
    order by 8, 1$$,
  'registrations_expiring lists the open, live registrations expiring from today to today + 90, with days left and the 30/60/90 bucket'
);
select is_empty(
  $$select registration_id from report.registrations_expiring
    where registration_id in ('09000000-0000-4000-8000-000000000004', '09000000-0000-4000-8000-000000000006',
                              '09000000-0000-4000-8000-000000000008', '09000000-0000-4000-8000-000000000009',
                              '09000000-0000-4000-8000-000000000011', '09000000-0000-4000-8000-000000000012')$$,
  'registrations_expiring leaves out closed (Expired, Denied), soft-deleted, overdue, beyond-90-days and undated registrations'
);
select results_eq(
  $$select within_30_days, within_60_days, within_90_days from report.expiring_registration_counts$$,
  $$values (3::bigint, 5::bigint, 6::bigint)$$,
  'expiring_registration_counts is cumulative: 3 within 30 days, 5 within 60, 6 within 90'
);

-- ---------------------------------------------------------------------------
-- Staleness and concurrent refresh.
-- ---------------------------------------------------------------------------
insert into app.registrations (id, airtable_id, client_id, state_regulator_id, state, status, expiration_date, fee_paid) values
  ('09000000-0000-4000-8000-000000000013', 'recReportTest0013', '09000000-0000-4000-8000-0000000000c3', '09000000-0000-4000-8000-0000000000a1', 'CA', 'Approved', current_date + 5, 1.00);

select is(
  (select registrations from report.client_portfolio where client_id = '09000000-0000-4000-8000-0000000000c3'),
  0::bigint,
  'client_portfolio is stale after a new registration until it is refreshed'
);
select is(
  (select registrations from report.registration_status_by_state where state_code = 'CA' and status = 'Approved'),
  3::bigint,
  'registration_status_by_state is stale after a new registration until it is refreshed'
);
select results_eq(
  $$select within_30_days, within_60_days, within_90_days from report.expiring_registration_counts$$,
  $$values (4::bigint, 6::bigint, 7::bigint)$$,
  'the plain expiring views see the new registration at once'
);

select lives_ok(
  $$refresh materialized view concurrently report.registration_status_by_state$$,
  'registration_status_by_state can be refreshed concurrently'
);
select lives_ok(
  $$refresh materialized view concurrently report.client_portfolio$$,
  'client_portfolio can be refreshed concurrently'
);

select results_eq(
  $$select registrations, open_registrations, clients, fees_paid
    from report.registration_status_by_state where state_code = 'CA' and status = 'Approved'$$,
  $$values (4::bigint, 4::bigint, 3::bigint, 441.00::numeric)$$,
  'after the refresh, registration_status_by_state counts the new registration'
);
select results_eq(
  $$select products, registrations, open_registrations, approved_registrations, states_covered, next_expiration_date, fees_paid
    from report.client_portfolio where client_id = '09000000-0000-4000-8000-0000000000c3'$$,
  $$values (0::bigint, 1::bigint, 1::bigint, 1::bigint, 1::bigint, current_date + 5, 1.00::numeric)$$,
  'after the refresh, client_portfolio shows the new registration of Cobalt Chemicals'
);

-- A soft delete leaves the snapshot until the next refresh, then drops out.
update app.registrations set deleted_at = now() where id = '09000000-0000-4000-8000-000000000013';
select lives_ok(
  $$select report.refresh_materialized_views()$$,
  'report.refresh_materialized_views() refreshes again after a soft delete'
);
select is(
  (select registrations from report.client_portfolio where client_id = '09000000-0000-4000-8000-0000000000c3'),
  0::bigint,
  'after the refresh, the soft-deleted registration is gone from client_portfolio'
);

-- ---------------------------------------------------------------------------
-- The renewal worklist is served by the partial index on expiration date.
-- On a handful of rows the planner may rightly prefer any plan, so the table
-- is first given what the index is for: thousands of closed registrations
-- (outside the index) around a few open ones, and fresh statistics. ANALYZE
-- in the transaction is rolled back with it.
-- ---------------------------------------------------------------------------
insert into app.registrations (client_id, state, status, expiration_date, fee_paid)
select '09000000-0000-4000-8000-0000000000c2', 'TX', 'Expired', current_date - 400 - g % 3000, 1.00
from generate_series(1, 5000) as g;
analyze app.registrations;
create function pg_temp.plan_lines(query text) returns setof text
language plpgsql as $$
begin
  return query execute 'explain (costs off) ' || query;
end;
$$;
select ok(
  exists (
    select from pg_temp.plan_lines('select * from report.registrations_expiring') as line
    where line like '%registrations_open_by_expiration_idx%'
  ),
  'among 5,000 closed registrations, report.registrations_expiring is planned with the partial index registrations_open_by_expiration_idx'
);

select * from finish();
ROLLBACK;
