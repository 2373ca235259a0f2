-- Validation rules in SQL, with planted records: sync.matches_format,
-- sync.rule_check_sql for every rule kind (each with a violating and a
-- satisfying record), sync.rule_checks_sql (severity, disabled rules, rules
-- on columns the mapping does not map), sync.converted_cells_sql,
-- sync.validate_entity (the two reports, findings by record, field, value,
-- rule and severity, duplicates, agreement with a linked record, the
-- quarantine, scope, idempotence), blocking rules in the merge (quarantine,
-- release once fixed; warnings never stop it), the constraints and audit of
-- sync.validation_rules, and what the sync role may do.
--
-- Runs: 9401 full (everything first seen; its reports are written before it
-- completes, so no source snapshot exists yet), 9402 incremental (a
-- quarantined client fixed, a new client that duplicates an old one), 9403
-- incremental (after a rule was made blocking and another disabled).
-- Record ids are rec + exactly 14 letters or digits. Cells are written with
-- column names and turned into the mapping's field ids by pg_temp.cells.
BEGIN;
select plan(128);

-- ---------------------------------------------------------------------------
-- Fixtures: mappings (field ids from mappings/delta.json; clients without
-- federal_tax_id), rules, runs, checkpoints, helpers
-- ---------------------------------------------------------------------------
select tests.seed_delta_mapping(omit_columns => array['federal_tax_id'], attachments => false);

-- The rules of the test, besides the three the migration seeds for
-- registrations (approved_date.not_before_submission, a field order that is
-- not strict; expiration_date.after_approval, strict;
-- client_id.matches_product_client, same_as_linked).
insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, severity, validation_type, origin, description, enabled) values
  ('clients.client_code.required', 'clients', 'client_code', 'required', '{}', 'blocking', 'data_integrity', 'mapping', 'is required', true),
  ('clients.email.valid', 'clients', 'email', 'format', '{"format": "email"}', 'warning', 'data_integrity', 'mapping', 'must be an email address', true),
  ('clients.phone.dialable', 'clients', 'phone', 'format', '{"format": "phone"}', 'warning', 'data_integrity', 'mapping', 'must be a dialable phone number', true),
  ('clients.status.known', 'clients', 'status', 'allowed_values', '{"values": ["Active", "Inactive"]}', 'warning', 'data_integrity', 'mapping', 'must be Active or Inactive', true),
  ('clients.annual_budget.plausible', 'clients', 'annual_budget', 'range', '{"min": 0, "max": 1000000}', 'warning', 'data_integrity', 'mapping', 'must be between 0 and 1,000,000', true),
  ('clients.annual_budget.cents', 'clients', 'annual_budget', 'max_decimals', '{"decimals": 2}', 'warning', 'data_integrity', 'mapping', 'must not have fractions of a cent', true),
  ('clients.name.trimmed', 'clients', 'name', 'trimmed', '{}', 'warning', 'data_integrity', 'mapping', 'must not start or end with white space', true),
  ('clients.name.unique', 'clients', 'name', 'duplicate', '{}', 'warning', 'data_integrity', 'mapping', 'must be unique', true),
  -- disabled: never checked
  ('clients.notes.required', 'clients', 'notes', 'required', '{}', 'warning', 'data_integrity', 'sql', 'is required', false),
  -- on a column the clients mapping does not map: skipped
  ('clients.federal_tax_id.required', 'clients', 'federal_tax_id', 'required', '{}', 'warning', 'data_integrity', 'sql', 'is required', true),
  ('state_regulators.state.code', 'state_regulators', 'state', 'format', '{"format": "state_code"}', 'warning', 'data_integrity', 'mapping', 'must be a US state code', true),
  ('state_regulators.website.url', 'state_regulators', 'website', 'format', '{"format": "url"}', 'warning', 'data_integrity', 'mapping', 'must be a web address', true),
  ('state_regulators.product_types_regulated.known', 'state_regulators', 'product_types_regulated', 'allowed_values',
   '{"values": ["Pesticide", "Disinfectant", "Fertilizer"]}', 'warning', 'data_integrity', 'mapping', 'must be known product types', true),
  ('products.client_id.required', 'products', 'client_id', 'required', '{}', 'blocking', 'relationship_integrity', 'mapping', 'must name a client', true),
  ('products.name.unique_per_client', 'products', 'name', 'duplicate', '{"scope": "client_id"}', 'warning', 'data_integrity', 'mapping', 'must be unique for its client', true),
  ('registrations.submitted_date.plausible', 'registrations', 'submitted_date', 'range', '{"min": "2000-01-01", "max": "2030-12-31"}',
   'warning', 'data_integrity', 'mapping', 'must be between 2000 and 2030', true),
  ('registrations.fee_paid.cents', 'registrations', 'fee_paid', 'max_decimals', '{"decimals": 2}', 'warning', 'data_integrity', 'mapping', 'must not have fractions of a cent', true),
  ('registrations.product_id.single', 'registrations', 'product_id', 'single_link', '{}', 'warning', 'relationship_integrity', 'mapping', 'must link to one product', true),
  -- compared with a column the mapping does not map: skipped
  ('registrations.expiration_date.after_renewal', 'registrations', 'expiration_date', 'field_order', '{"after": "renewal_date"}',
   'warning', 'relationship_integrity', 'sql', 'must be after the renewal date', true);

select tests.open_run('full', 9401, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('incremental', 9402, '{"base_id": "appDeltaTest00001"}');
select tests.open_run('incremental', 9403, '{"base_id": "appDeltaTest00001"}');
select tests.open_checkpoints(9401, 'clients', 'state_regulators', 'products', 'registrations');
select tests.open_checkpoints(9402, 'clients');
select tests.open_checkpoints(9403, 'clients');

-- Cells by column name -> fields by the mapping's field ids.
create function pg_temp.cells(p_entity text, p_cells jsonb) returns jsonb
language sql as $$
  select coalesce(jsonb_object_agg(m.field_ids ->> c.key, c.value), '{}')
  from sync.entity_mappings m cross join jsonb_each(p_cells) c
  where m.entity = p_entity
$$;

-- A staged record converted the way the merge converts it.
create function pg_temp.converted(p_entity text, p_cells jsonb) returns jsonb
language plpgsql as $$
declare
  result jsonb;
begin
  execute format('select to_jsonb(c0) from (select %s from (select $1 as fields) s) c0', sync.converted_cells_sql(p_entity))
    into result using pg_temp.cells(p_entity, p_cells);
  return result;
end;
$$;

-- One rule's check (sync.rule_check_sql) evaluated on one record.
create function pg_temp.check_rule(p_rule_id text, p_cells jsonb) returns jsonb
language plpgsql as $$
declare
  r sync.validation_rules;
  m sync.entity_mappings;
  conversion text;
  result jsonb;
begin
  select * into strict r from sync.validation_rules where rule_id = p_rule_id;
  select * into strict m from sync.entity_mappings where entity = r.entity;
  select ec.conversion into strict conversion from sync.entity_columns ec where ec.entity = r.entity and ec.column_name = r.column_name;
  execute format('select %s from (select %s from (select $1 as fields) s) c0',
                 sync.rule_check_sql(r, coalesce(m.field_names ->> r.column_name, r.column_name), conversion),
                 sync.converted_cells_sql(r.entity))
    into result using pg_temp.cells(r.entity, p_cells);
  return result;
end;
$$;

-- The rule ids a rule_checks_sql text checks, in its order.
create function pg_temp.rules_in(p_sql text) returns text[]
language sql as $$
  select coalesce(array_agg(m[1] order by n), '{}') from regexp_matches(p_sql, '''rule'', ''([a-z_.]+)''', 'g') with ordinality as x (m, n)
$$;

-- One finding of a validation report, by run, entity, record and rule.
create function pg_temp.finding(p_run bigint, p_entity text, p_record text, p_rule text) returns jsonb
language sql as $$
  select d from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) d
  where vr.run_id = p_run and vr.source_entity = p_entity and vr.validation_criteria ->> 'check' = 'validation_rules'
    and d ->> 'record' = p_record and d ->> 'rule' = p_rule
$$;

-- The records, by entity and version (v1: first seen; v2: run 9402).
create temp table fixture (entity text, version text, id text, cells jsonb);
insert into fixture values
  -- C1 clean (duplicated by C4 and C7); C2 bad email and phone; C3 padded name, unknown status, no client code (blocking);
  -- C4 negative budget; C5 fraction of a cent; C6 empty name (the merge's own check); C8 clean
  ('clients', 'v1', 'recVALCLIENT00001', '{"name": "Alpha Labs", "client_code": "AL", "status": "Active", "email": "ops@alpha.example", "phone": "(515) 201-0034", "annual_budget": 250000}'),
  ('clients', 'v1', 'recVALCLIENT00002', '{"name": "Beta Labs", "client_code": "BL", "status": "Active", "email": "beta at example", "phone": "555-0134"}'),
  ('clients', 'v1', 'recVALCLIENT00003', '{"name": "  Gamma Growers ", "status": "Dormant"}'),
  ('clients', 'v1', 'recVALCLIENT00004', '{"name": "alpha   LABS", "client_code": "AL2", "annual_budget": -5}'),
  ('clients', 'v1', 'recVALCLIENT00005', '{"name": "Delta Farms", "client_code": "DF", "status": "Inactive", "email": "info@delta.example", "phone": "+44 20 7946 0958", "annual_budget": 1000.125}'),
  ('clients', 'v1', 'recVALCLIENT00006', '{"name": "", "client_code": "EM"}'),
  ('clients', 'v1', 'recVALCLIENT00007', '{"name": "ALPHA LABS", "client_code": "AL3"}'),
  ('clients', 'v1', 'recVALCLIENT00008', '{"name": "Epsilon Ag", "client_code": "EA", "phone": "515.555.0134"}'),
  -- C3 fixed (a client code; still padded and Dormant); C9 new, a duplicate of C2
  ('clients', 'v2', 'recVALCLIENT00003', '{"name": "  Gamma Growers ", "client_code": "GG", "status": "Dormant"}'),
  ('clients', 'v2', 'recVALCLIENT00009', '{"name": "Beta  labs", "client_code": "ZC"}'),
  -- after the email rule is made blocking and the phone rule disabled: C10 a bad email; C11 an unknown status and a bad phone
  ('clients', 'v3', 'recVALCLIENT00010', '{"name": "Kappa Chemicals", "client_code": "KC", "email": "kappa@"}'),
  ('clients', 'v3', 'recVALCLIENT00011', '{"name": "Lambda Labs", "client_code": "LL", "status": "Dormant", "phone": "call front desk"}'),
  ('state_regulators', 'v1', 'recVALREGULATOR01', '{"agency_name": "California Department of Pesticide Regulation", "state": "CA", "website": "https://www.cdpr.ca.gov", "product_types_regulated": ["Pesticide", "Disinfectant"]}'),
  ('state_regulators', 'v1', 'recVALREGULATOR02', '{"agency_name": "Oregon Department of Agriculture", "state": "Oregon", "website": "www.oregon.gov", "product_types_regulated": ["Pesticide", "Fungicide"]}'),
  ('state_regulators', 'v1', 'recVALREGULATOR03', '{"agency_name": "Texas Department of Agriculture", "state": "TX", "website": "http://texasagriculture.gov/regulatory", "product_types_regulated": ["Fertilizer"]}'),
  -- P1 and P3 the same name for the same client; P2 that name for another client; P4 a missing client; P5 no client (blocking)
  ('products', 'v1', 'recVALPRODUCT0001', '{"name": "Bug-B-Gone", "client_id": ["recVALCLIENT00001"]}'),
  ('products', 'v1', 'recVALPRODUCT0002', '{"name": "Bug-B-Gone", "client_id": ["recVALCLIENT00002"]}'),
  ('products', 'v1', 'recVALPRODUCT0003', '{"name": "bug-b-gone ", "client_id": ["recVALCLIENT00001"]}'),
  ('products', 'v1', 'recVALPRODUCT0004', '{"name": "Orphan Spray", "client_id": ["recVALCLIENT00099"]}'),
  ('products', 'v1', 'recVALPRODUCT0005', '{"name": "Lone Spray"}'),
  -- R1 clean; R2 another client than its product's, approved before submitted;
  -- R3 approved the day submitted (allowed), expires that day (not allowed), fee 12.345; R4 two products, submitted in 1999
  ('registrations', 'v1', 'recVALREGISTRA001', '{"client_id": ["recVALCLIENT00001"], "product_id": ["recVALPRODUCT0001"], "submitted_date": "2025-01-15", "approved_date": "2025-03-01", "expiration_date": "2026-12-31", "fee_paid": 1500}'),
  ('registrations', 'v1', 'recVALREGISTRA002', '{"client_id": ["recVALCLIENT00002"], "product_id": ["recVALPRODUCT0001"], "submitted_date": "2025-01-15", "approved_date": "2025-01-10", "expiration_date": "2026-12-31"}'),
  ('registrations', 'v1', 'recVALREGISTRA003', '{"client_id": ["recVALCLIENT00001"], "product_id": ["recVALPRODUCT0001"], "submitted_date": "2025-02-01", "approved_date": "2025-02-01", "expiration_date": "2025-02-01", "fee_paid": 12.345}'),
  ('registrations', 'v1', 'recVALREGISTRA004', '{"client_id": ["recVALCLIENT00001"], "product_id": ["recVALPRODUCT0001", "recVALPRODUCT0002"], "submitted_date": "1999-12-31", "approved_date": "2000-01-15", "expiration_date": "2001-01-15"}');

-- A page as the runner sends it: [{id, created_time, fields, hash}].
create function pg_temp.page(p_entity text, p_version text) returns jsonb
language sql as $$
  select jsonb_agg(tests.airtable_record(f.id, x.fields) order by f.id)
  from fixture f cross join lateral (select pg_temp.cells(f.entity, f.cells) as fields) x
  where f.entity = p_entity and f.version = p_version
$$;

select is((select count(*)::int from fixture where id !~ '^rec[A-Za-z0-9]{14}$'), 0, 'every planted record id is rec + 14 letters or digits');

-- ---------------------------------------------------------------------------
-- sync.matches_format
-- ---------------------------------------------------------------------------
select ok(sync.matches_format('ops@acme.example', 'email') and sync.matches_format('first.last+tag@mail.delta-ag.co', 'email'),
  'email: an address with a domain matches');
select ok(not sync.matches_format('beta at example', 'email') and not sync.matches_format('ops@acme', 'email')
          and not sync.matches_format('a@@b.com', 'email') and not sync.matches_format('ops @acme.example', 'email'),
  'email: no @, no top-level domain, two @ or a space do not match');
select is(
  (select array_agg(v order by v) from unnest(array['(515) 201-0034', '+1 515-555-0134', '515.555.0134', '5155550134',
                                                   '(515) 555-0134 ext. 12', '+44 20 7946 0958']) v
   where sync.matches_format(v, 'phone') is not true),
  null, 'phone: North American numbers with or without +1, any separators, an extension, and an international number all match');
select is(
  (select array_agg(v order by v) from unnest(array['555-0134', '1-800-FERTILE', 'call front desk', '515 555 0134 / 515 555 0199']) v
   where sync.matches_format(v, 'phone') is distinct from false),
  null, 'phone: seven digits, letters, words and two numbers in one cell do not match (false, not null)');
select ok(sync.matches_format('https://www.cdpr.ca.gov', 'url') and sync.matches_format('http://texasagriculture.gov/regulatory?x=1#top', 'url'),
  'url: http and https with a host (and a path, query or fragment) match');
select ok(not sync.matches_format('www.oregon.gov', 'url') and not sync.matches_format('ftp://example.org', 'url')
          and not sync.matches_format('https://localhost', 'url') and not sync.matches_format('https://exa mple.org', 'url'),
  'url: no scheme, another scheme, a host without a dot or with a space do not match');
select ok(sync.matches_format('CA', 'state_code') and sync.matches_format('DC', 'state_code') and sync.matches_format('PR', 'state_code'),
  'state_code: a state, DC and a territory match');
select ok(not sync.matches_format('ca', 'state_code') and not sync.matches_format('XX', 'state_code') and not sync.matches_format('Oregon', 'state_code'),
  'state_code: lower case, an unknown code and a state name do not match');
select is(sync.matches_format('anything', 'zip'), null, 'an unknown format name gives null');

-- ---------------------------------------------------------------------------
-- sync.converted_cells_sql
-- ---------------------------------------------------------------------------
select ok(sync.converted_cells_sql('clients') like '%s.fields -> ''fldwvK9BoMpuwDLuw'' as raw__email, sync.cell_text(s.fields -> ''fldwvK9BoMpuwDLuw'') as email%',
  'converted_cells_sql gives each mapped column as its raw cell (raw__<column>) and its converted value');
select ok(sync.converted_cells_sql('clients') not like '%federal_tax_id%', 'a column the mapping does not map is not converted');
select ok(sync.converted_cells_sql('products') like '%sync.cell_first_link(s.fields -> ''fldeHngYQ2AQ2a41D'') as key__client_id%',
  'a link column is converted to its first record id, as key__<column>');
select results_eq(
  $$select c ->> 'name', c -> 'raw__annual_budget', (c ->> 'annual_budget')::numeric, c -> 'status' from pg_temp.converted('clients', '{"name": "Acme", "annual_budget": 12.345}') c$$,
  $$values ('Acme', '12.345'::jsonb, 12.35, 'null'::jsonb)$$,
  'a converted record: text as entered, money rounded to cents beside the raw number Airtable sent, an absent cell null');

-- ---------------------------------------------------------------------------
-- sync.rule_check_sql: each kind on a violating and a satisfying record
-- ---------------------------------------------------------------------------
select is(pg_temp.check_rule('clients.client_code.required', '{"name": "Acme"}'),
  '{"field": "Client Code", "value": null, "reason": "Client Code is required (rule clients.client_code.required)", "rule": "clients.client_code.required", "severity": "blocking"}'::jsonb,
  'required: an absent value is a finding naming field, value, reason (field name, description, rule id), rule and severity');
select is(pg_temp.check_rule('clients.client_code.required', '{"client_code": "   "}') ->> 'rule', 'clients.client_code.required',
  'required: a blank text is missing');
select is(pg_temp.check_rule('clients.client_code.required', '{"client_code": "AC"}'), null, 'required: a value satisfies it');
select is(pg_temp.check_rule('products.client_id.required', '{"name": "Lone Spray"}') ->> 'reason', 'Client must name a client (rule products.client_id.required)',
  'required on a link: no linked record is a finding');
select is(pg_temp.check_rule('products.client_id.required', '{"client_id": ["recVALCLIENT00001"]}'), null, 'required on a link: a linked record satisfies it');

select is(pg_temp.check_rule('clients.email.valid', '{"email": "beta at example"}'),
  '{"field": "Email", "value": "beta at example", "reason": "Email must be an email address (rule clients.email.valid)", "rule": "clients.email.valid", "severity": "warning"}'::jsonb,
  'format: a value not in the format is a finding with the value');
select is(pg_temp.check_rule('clients.email.valid', '{"email": "ops@alpha.example"}'), null, 'format: a value in the format satisfies it');
select is(pg_temp.check_rule('clients.email.valid', '{"name": "Acme"}'), null, 'format: an empty cell is not judged (that is the required rule''s business)');
select is(pg_temp.check_rule('clients.phone.dialable', '{"phone": "1-800-FERTILE"}') ->> 'rule', 'clients.phone.dialable', 'format phone: a number in letters is a finding');
select is(pg_temp.check_rule('state_regulators.state.code', '{"state": "Oregon"}') -> 'value', '"Oregon"'::jsonb, 'format state_code on a select: a state name is a finding');
select is(pg_temp.check_rule('state_regulators.state.code', '{"state": "OR"}'), null, 'format state_code on a select: a code satisfies it');

select is(pg_temp.check_rule('clients.status.known', '{"status": "Dormant"}') -> 'value', '"Dormant"'::jsonb, 'allowed_values (select): an option not listed is a finding');
select is(pg_temp.check_rule('clients.status.known', '{"status": "Inactive"}'), null, 'allowed_values (select): a listed option satisfies it');
select is(pg_temp.check_rule('state_regulators.product_types_regulated.known', '{"product_types_regulated": ["Pesticide", "Fungicide"]}') -> 'value',
  '["Pesticide", "Fungicide"]'::jsonb, 'allowed_values (multi_select): one option not listed is a finding reporting the whole cell');
select is(pg_temp.check_rule('state_regulators.product_types_regulated.known', '{"product_types_regulated": ["Fertilizer", "Pesticide"]}'), null,
  'allowed_values (multi_select): listed options in any order satisfy it');

select is(pg_temp.check_rule('clients.annual_budget.plausible', '{"annual_budget": -5}') -> 'value', '-5'::jsonb, 'range (money): below the minimum is a finding');
select is(pg_temp.check_rule('clients.annual_budget.plausible', '{"annual_budget": 1000000.01}') -> 'value', '1000000.01'::jsonb, 'range (money): above the maximum is a finding');
select ok(pg_temp.check_rule('clients.annual_budget.plausible', '{"annual_budget": 0}') is null
          and pg_temp.check_rule('clients.annual_budget.plausible', '{"annual_budget": 1000000}') is null,
  'range (money): the bounds themselves satisfy it');
select is(pg_temp.check_rule('registrations.submitted_date.plausible', '{"submitted_date": "1999-12-31"}') -> 'value', '"1999-12-31"'::jsonb,
  'range (date): a date before the minimum is a finding');
select is(pg_temp.check_rule('registrations.submitted_date.plausible', '{"submitted_date": "2031-01-01"}') ->> 'rule', 'registrations.submitted_date.plausible',
  'range (date): a date after the maximum is a finding');
select is(pg_temp.check_rule('registrations.submitted_date.plausible', '{"submitted_date": "2025-01-15"}'), null, 'range (date): a date within satisfies it');

select is(pg_temp.check_rule('clients.annual_budget.cents', '{"annual_budget": 12.345}') -> 'value', '12.345'::jsonb,
  'max_decimals: 12.345 is a finding, reported as Airtable sent it (not the 12.35 stored)');
select ok(pg_temp.check_rule('clients.annual_budget.cents', '{"annual_budget": 12.34}') is null
          and pg_temp.check_rule('clients.annual_budget.cents', '{"annual_budget": 12.340}') is null,
  'max_decimals: two decimals (and a trailing zero) satisfy it');

select is(pg_temp.check_rule('clients.name.trimmed', '{"name": " Gamma Growers"}') -> 'value', '" Gamma Growers"'::jsonb, 'trimmed: a leading space is a finding');
select is(pg_temp.check_rule('clients.name.trimmed', '{"name": "Gamma Growers\n"}') ->> 'rule', 'clients.name.trimmed', 'trimmed: a trailing newline is a finding');
select is(pg_temp.check_rule('clients.name.trimmed', '{"name": "Gamma  Growers"}'), null, 'trimmed: spaces inside satisfy it');

select is(pg_temp.check_rule('registrations.approved_date.not_before_submission', '{"submitted_date": "2025-01-15", "approved_date": "2025-01-10"}'),
  '{"field": "Approved Date", "value": "2025-01-10", "compared_with": "2025-01-15", "reason": "Approved Date must not be before the submitted date (rule registrations.approved_date.not_before_submission)", "rule": "registrations.approved_date.not_before_submission", "severity": "warning"}'::jsonb,
  'field_order (not strict): a date before the other is a finding naming the value compared with');
select ok(pg_temp.check_rule('registrations.approved_date.not_before_submission', '{"submitted_date": "2025-01-15", "approved_date": "2025-01-15"}') is null
          and pg_temp.check_rule('registrations.approved_date.not_before_submission', '{"approved_date": "2025-01-10"}') is null,
  'field_order (not strict): the same date satisfies it, and so does a missing other date');
select is(pg_temp.check_rule('registrations.expiration_date.after_approval', '{"approved_date": "2025-02-01", "expiration_date": "2025-02-01"}') -> 'compared_with',
  '"2025-02-01"'::jsonb, 'field_order (strict): the same date is a finding');
select is(pg_temp.check_rule('registrations.expiration_date.after_approval', '{"approved_date": "2025-02-01", "expiration_date": "2025-02-02"}'), null,
  'field_order (strict): a later date satisfies it');

select is(pg_temp.check_rule('registrations.product_id.single', '{"product_id": ["recVALPRODUCT0001", "recVALPRODUCT0002"]}') -> 'value',
  '["recVALPRODUCT0001", "recVALPRODUCT0002"]'::jsonb, 'single_link: two linked records are a finding reporting both');
select is(pg_temp.check_rule('registrations.product_id.single', '{"product_id": ["recVALPRODUCT0001"]}'), null, 'single_link: one linked record satisfies it');

select is(sync.rule_check_sql(r, 'Client Name', 'text'), null, 'rule_check_sql is null for a duplicate rule (validate_entity checks it)')
from sync.validation_rules r where r.rule_id = 'clients.name.unique';
select is(sync.rule_check_sql(r, 'Client', 'link'), null, 'rule_check_sql is null for a same_as_linked rule (validate_entity checks it)')
from sync.validation_rules r where r.rule_id = 'registrations.client_id.matches_product_client';

-- ---------------------------------------------------------------------------
-- sync.rule_checks_sql
-- ---------------------------------------------------------------------------
select is(sync.rule_checks_sql('clients', 'blocking'),
  (select sync.rule_check_sql(r, 'Client Code', 'text') from sync.validation_rules r where r.rule_id = 'clients.client_code.required'),
  'rule_checks_sql(blocking) is exactly the check of the one blocking clients rule, with the mapping''s field name');
select is(pg_temp.rules_in(sync.rule_checks_sql('clients', 'warning')),
  array['clients.annual_budget.cents', 'clients.annual_budget.plausible', 'clients.email.valid', 'clients.name.trimmed', 'clients.phone.dialable', 'clients.status.known'],
  'rule_checks_sql(warning): the enabled record-local warnings by rule id; not the blocking, disabled, unmapped or duplicate rules');
select is(pg_temp.rules_in(sync.rule_checks_sql('clients')),
  array['clients.annual_budget.cents', 'clients.annual_budget.plausible', 'clients.client_code.required', 'clients.email.valid', 'clients.name.trimmed',
        'clients.phone.dialable', 'clients.status.known'],
  'rule_checks_sql without a severity: every enabled record-local rule on a mapped column');
select is(pg_temp.rules_in(sync.rule_checks_sql('registrations')),
  array['registrations.approved_date.not_before_submission', 'registrations.expiration_date.after_approval', 'registrations.fee_paid.cents',
        'registrations.product_id.single', 'registrations.submitted_date.plausible'],
  'rule_checks_sql skips same_as_linked and a field order compared with a column the mapping does not map');
select is(sync.rule_checks_sql('products', 'warning'), null, 'rule_checks_sql is null when no rule applies (products has only a duplicate rule as warning)');

-- ---------------------------------------------------------------------------
-- Run 9401 (full): staged and merged; blocking rules quarantine
-- ---------------------------------------------------------------------------
select results_eq($$select * from sync.stage_page(9401, 'clients', pg_temp.page('clients', 'v1'), '[]', true, null)$$,
  $$values (8, 0, 0, 0)$$, 'the eight clients are staged');
select sync.stage_page(9401, 'state_regulators', pg_temp.page('state_regulators', 'v1'), '[]', true, null);
select sync.stage_page(9401, 'products', pg_temp.page('products', 'v1'), '[]', true, null);
select sync.stage_page(9401, 'registrations', pg_temp.page('registrations', 'v1'), '[]', true, null);

select is(sync.merge_clients(9401)::text, '(clients,8,7,0,0,1,0,0,1)',
  'merge_clients(9401): 7 inserted, 1 quarantined (the blocking rule), 1 landed with a problem (the empty name); warnings stop nothing');
select results_eq(
  $$select run_id, source_table, field, value, reason from sync.record_errors where source_key = 'recVALCLIENT00003'$$,
  $$values (9401::bigint, 'tblZaclZULDATjmXm', 'Client Code', 'null'::jsonb, 'Client Code is required (rule clients.client_code.required)')$$,
  'a record breaking a blocking rule is quarantined with reason <field name> <description> (rule <id>)');
select is((select count(*)::int from app.clients where airtable_id = 'recVALCLIENT00003'), 0, 'the quarantined record is not written to app.clients');
select results_eq(
  $$select email, phone, status, annual_budget from app.clients where airtable_id in ('recVALCLIENT00002', 'recVALCLIENT00005') order by airtable_id$$,
  $$values ('beta at example', '555-0134', 'Active', null::numeric(12,2)), ('info@delta.example', '+44 20 7946 0958', 'Inactive', 1000.13)$$,
  'records breaking only warning rules are merged as they are (nothing fixed silently, beyond money rounded to cents)');
select is((select count(*)::int from app.clients where airtable_id in ('recVALCLIENT00001', 'recVALCLIENT00004', 'recVALCLIENT00007')), 3,
  'duplicates (a warning) are all merged');
select is(sync.merge_state_regulators(9401)::text, '(state_regulators,3,3,0,0,0,0,0,0)', 'merge_state_regulators(9401): all 3 merged despite warnings');
select is(sync.merge_products(9401)::text, '(products,5,4,0,0,1,0,0,1)',
  'merge_products(9401): 4 inserted, one with a dangling link (flagged); quarantined the product without a client (blocking rule)');
select results_eq(
  $$select source_key, field, reason from sync.record_errors where source_table = 'tblTtyLvxr2Ta4SfO' order by source_key$$,
  $$values ('recVALPRODUCT0005', 'Client', 'Client must name a client (rule products.client_id.required)')$$,
  'the products quarantine: only the blocking rule on the link');
select is(sync.merge_registrations(9401)::text, '(registrations,4,4,0,0,0,0,0,1)', 'merge_registrations(9401): all 4 merged (only warning rules), the one with two products flagged');

-- ---------------------------------------------------------------------------
-- validate_entity(9401, clients): before the run completes (no snapshot)
-- ---------------------------------------------------------------------------
select results_eq(
  $$select validation_type, source_entity, target_entity, records_validated, validation_passed, discrepancies_found from sync.validate_entity(9401, 'clients')$$,
  $$values ('data_integrity', 'clients', 'app.clients', 8, false, 11), ('relationship_integrity', 'clients', 'app.clients', 8, true, 0)$$,
  'validate_entity returns two reports: data_integrity with 11 findings over the 8 records read, relationship_integrity passed');
select is((select count(*)::int from sync.validation_reports where run_id = 9401 and source_entity = 'clients'), 2,
  'the two reports are written to sync.validation_reports');
select results_eq(
  $$select d ->> 'record', d ->> 'rule', d ->> 'severity'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) with ordinality as x (d, n)
    where vr.run_id = 9401 and vr.source_entity = 'clients' and vr.validation_type = 'data_integrity' order by n$$,
  $$values ('recVALCLIENT00001', 'clients.name.unique', 'warning'),
           ('recVALCLIENT00002', 'clients.email.valid', 'warning'),
           ('recVALCLIENT00002', 'clients.phone.dialable', 'warning'),
           ('recVALCLIENT00003', 'clients.client_code.required', 'blocking'),
           ('recVALCLIENT00003', 'clients.name.trimmed', 'warning'),
           ('recVALCLIENT00003', 'clients.status.known', 'warning'),
           ('recVALCLIENT00004', 'clients.annual_budget.plausible', 'warning'),
           ('recVALCLIENT00004', 'clients.name.unique', 'warning'),
           ('recVALCLIENT00005', 'clients.annual_budget.cents', 'warning'),
           ('recVALCLIENT00006', 'required_value', 'warning'),
           ('recVALCLIENT00007', 'clients.name.unique', 'warning')$$,
  'every finding by record and rule, ordered: the warnings, the blocking rule''s quarantine and the merge''s own problem of a record that landed; none for clean C8, the disabled or unmapped rules');
select is(pg_temp.finding(9401, 'clients', 'recVALCLIENT00002', 'clients.email.valid'),
  '{"record": "recVALCLIENT00002", "field": "Email", "value": "beta at example", "reason": "Email must be an email address (rule clients.email.valid)", "rule": "clients.email.valid", "severity": "warning"}'::jsonb,
  'a warning finding names record, field, value, reason, rule and severity');
select is(pg_temp.finding(9401, 'clients', 'recVALCLIENT00005', 'clients.annual_budget.cents') -> 'value', '1000.125'::jsonb,
  'the max_decimals finding reports the value as Airtable sent it');
select is(pg_temp.finding(9401, 'clients', 'recVALCLIENT00004', 'clients.annual_budget.plausible') ->> 'reason',
  'Annual Budget must be between 0 and 1,000,000 (rule clients.annual_budget.plausible)', 'the range finding gives its reason');
select is(pg_temp.finding(9401, 'clients', 'recVALCLIENT00003', 'clients.client_code.required'),
  '{"record": "recVALCLIENT00003", "field": "Client Code", "value": null, "reason": "Client Code is required (rule clients.client_code.required)", "rule": "clients.client_code.required", "severity": "blocking", "quarantined": true}'::jsonb,
  'the quarantine is in the report as a blocking finding, with the rule id parsed from its reason');
select is(pg_temp.finding(9401, 'clients', 'recVALCLIENT00006', 'required_value'),
  '{"record": "recVALCLIENT00006", "field": "Client Name", "value": "", "reason": "Client Name is required but empty", "rule": "required_value", "severity": "warning", "landed": "empty"}'::jsonb,
  'a problem the merge found is a warning naming its rule and what landed (the record landed with the name empty), not a quarantine');
select results_eq(
  $$select d ->> 'record', d -> 'value', d -> 'duplicates'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) d
    where vr.run_id = 9401 and vr.source_entity = 'clients' and d ->> 'rule' = 'clients.name.unique' order by 1$$,
  $$values ('recVALCLIENT00001', '"Alpha Labs"'::jsonb, '["recVALCLIENT00004", "recVALCLIENT00007"]'::jsonb),
           ('recVALCLIENT00004', '"alpha   LABS"'::jsonb, '["recVALCLIENT00001", "recVALCLIENT00007"]'::jsonb),
           ('recVALCLIENT00007', '"ALPHA LABS"'::jsonb, '["recVALCLIENT00001", "recVALCLIENT00004"]'::jsonb)$$,
  'duplicates are found whatever the case and spacing; each member reports its own value and names the others');
select results_eq(
  $$select validation_criteria ->> 'check', validation_criteria ->> 'entity', validation_criteria ->> 'scope', validation_criteria -> 'source_snapshot_run',
           (validation_criteria ->> 'blocking')::int, (validation_criteria ->> 'warnings')::int, (validation_criteria ->> 'records_with_findings')::int
    from sync.validation_reports where run_id = 9401 and source_entity = 'clients' and validation_type = 'data_integrity'$$,
  $$values ('validation_rules', 'clients', 'records read by the run', 'null'::jsonb, 1, 10, 7)$$,
  'the criteria: check, entity, scope, no snapshot yet, 1 blocking, 10 warnings, 7 records with findings');
select is(
  (select array_agg(r ->> 'rule' order by n) from sync.validation_reports vr cross join jsonb_array_elements(vr.validation_criteria -> 'rules') with ordinality as x (r, n)
   where vr.run_id = 9401 and vr.source_entity = 'clients' and vr.validation_type = 'data_integrity'),
  array['clients.annual_budget.cents', 'clients.annual_budget.plausible', 'clients.client_code.required', 'clients.email.valid', 'clients.name.trimmed',
        'clients.name.unique', 'clients.phone.dialable', 'clients.status.known'],
  'the criteria list the enabled rules on mapped columns (not the disabled one, not the unmapped one)');
select is(
  (select (validation_criteria -> 'rules') -> 1 from sync.validation_reports where run_id = 9401 and source_entity = 'clients' and validation_type = 'data_integrity'),
  '{"rule": "clients.annual_budget.plausible", "kind": "range", "severity": "warning", "parameters": {"min": 0, "max": 1000000}}'::jsonb,
  'each rule in the criteria with its kind, severity and parameters');
select is(
  (select discrepancy_details from sync.validation_reports where run_id = 9401 and source_entity = 'clients' and validation_type = 'relationship_integrity'),
  '[]'::jsonb, 'a passed report has no details');

-- ---------------------------------------------------------------------------
-- validate_entity(9401): regulators, products, registrations
-- ---------------------------------------------------------------------------
select results_eq(
  $$select validation_type, records_validated, validation_passed, discrepancies_found from sync.validate_entity(9401, 'state_regulators')$$,
  $$values ('data_integrity', 3, false, 3), ('relationship_integrity', 3, true, 0)$$,
  'state_regulators: 3 findings over 3 records');
select results_eq(
  $$select d ->> 'record', d ->> 'field', d -> 'value', d ->> 'rule'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) with ordinality as x (d, n)
    where vr.run_id = 9401 and vr.source_entity = 'state_regulators' and vr.validation_type = 'data_integrity' order by n$$,
  $$values ('recVALREGULATOR02', 'Product Types Regulated', '["Pesticide", "Fungicide"]'::jsonb, 'state_regulators.product_types_regulated.known'),
           ('recVALREGULATOR02', 'State', '"Oregon"'::jsonb, 'state_regulators.state.code'),
           ('recVALREGULATOR02', 'Website', '"www.oregon.gov"'::jsonb, 'state_regulators.website.url')$$,
  'the regulator with a state name, a web address without scheme and an unknown product type; the clean ones have none');

select results_eq(
  $$select validation_type, records_validated, validation_passed, discrepancies_found from sync.validate_entity(9401, 'products')$$,
  $$values ('data_integrity', 5, false, 2), ('relationship_integrity', 5, false, 2)$$,
  'products: 2 duplicates; a dangling link (landed) and a quarantined product');
select results_eq(
  $$select d ->> 'record', d ->> 'rule', d ->> 'severity', d -> 'duplicates'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) with ordinality as x (d, n)
    where vr.run_id = 9401 and vr.source_entity = 'products' and vr.validation_type = 'data_integrity' order by n$$,
  $$values ('recVALPRODUCT0001', 'products.name.unique_per_client', 'warning', '["recVALPRODUCT0003"]'::jsonb),
           ('recVALPRODUCT0003', 'products.name.unique_per_client', 'warning', '["recVALPRODUCT0001"]'::jsonb)$$,
  'a duplicate scoped by client: the same name for the same client is found, for another client it is not');
select results_eq(
  $$select d ->> 'record', d ->> 'rule', d ->> 'severity', (d ->> 'quarantined')::boolean, d ->> 'reason'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) with ordinality as x (d, n)
    where vr.run_id = 9401 and vr.source_entity = 'products' and vr.validation_type = 'relationship_integrity' order by n$$,
  $$values ('recVALPRODUCT0004', 'dangling_link', 'warning', null::boolean, 'Client links to recVALCLIENT00099, which does not exist in clients: the link is left empty until it does'),
           ('recVALPRODUCT0005', 'products.client_id.required', 'blocking', true, 'Client must name a client (rule products.client_id.required)')$$,
  'relationship_integrity holds a dangling link (a warning: the product landed, the link empty) and the quarantine by a blocking rule of that type (its rule id)');

select results_eq(
  $$select validation_type, records_validated, validation_passed, discrepancies_found from sync.validate_entity(9401, 'registrations')$$,
  $$values ('data_integrity', 4, false, 2), ('relationship_integrity', 4, false, 5)$$,
  'registrations: 2 data findings, 5 relationship findings');
select results_eq(
  $$select vr.validation_type, d ->> 'record', d ->> 'rule'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) with ordinality as x (d, n)
    where vr.run_id = 9401 and vr.source_entity = 'registrations' order by vr.validation_type, n$$,
  $$values ('data_integrity', 'recVALREGISTRA003', 'registrations.fee_paid.cents'),
           ('data_integrity', 'recVALREGISTRA004', 'registrations.submitted_date.plausible'),
           ('relationship_integrity', 'recVALREGISTRA002', 'registrations.approved_date.not_before_submission'),
           ('relationship_integrity', 'recVALREGISTRA002', 'registrations.client_id.matches_product_client'),
           ('relationship_integrity', 'recVALREGISTRA003', 'registrations.expiration_date.after_approval'),
           ('relationship_integrity', 'recVALREGISTRA004', 'extra_links'),
           ('relationship_integrity', 'recVALREGISTRA004', 'registrations.product_id.single')$$,
  'each registration rule found where planted, in the report of its validation type (the merge''s own extra_links beside the single_link rule); the clean registration has none');
select is(pg_temp.finding(9401, 'registrations', 'recVALREGISTRA002', 'registrations.client_id.matches_product_client'),
  '{"record": "recVALREGISTRA002", "field": "Client", "value": ["recVALCLIENT00002"], "reason": "Client must be the client of the linked product (rule registrations.client_id.matches_product_client)", "rule": "registrations.client_id.matches_product_client", "severity": "warning", "linked_record": "recVALPRODUCT0001", "linked_value": ["recVALCLIENT00001"]}'::jsonb,
  'same_as_linked: the registration''s client against its product''s client, naming the linked record and its value');
select is(pg_temp.finding(9401, 'registrations', 'recVALREGISTRA002', 'registrations.approved_date.not_before_submission') -> 'compared_with',
  '"2025-01-15"'::jsonb, 'a field order finding in the report names the value compared with');
select is(pg_temp.finding(9401, 'registrations', 'recVALREGISTRA003', 'registrations.fee_paid.cents') -> 'value', '12.345'::jsonb,
  'the fee of 12.345 is reported as sent');
select is(pg_temp.finding(9401, 'registrations', 'recVALREGISTRA004', 'registrations.product_id.single') -> 'value',
  '["recVALPRODUCT0001", "recVALPRODUCT0002"]'::jsonb, 'the single_link finding reports both linked products');

-- run 9401 completes: it is now the source snapshot
update sync.checkpoints set status = 'completed', completed_at = now() where run_id = 9401;
select sync.finish_run(9401);
select is(sync.source_snapshot_run('clients'), 9401::bigint, 'run 9401 is the latest source snapshot');

-- ---------------------------------------------------------------------------
-- Run 9402 (incremental): the blocking problem fixed at the source
-- ---------------------------------------------------------------------------
select results_eq($$select * from sync.stage_page(9402, 'clients', pg_temp.page('clients', 'v2'), '[]', false, null)$$,
  $$values (2, 0, 0, 0)$$, 'run 9402 stages the fixed client and a new one');
select is(sync.merge_clients(9402)::text, '(clients,2,2,0,0,0,0,0,0)',
  'merge_clients(9402): the fixed client and the new one inserted (the empty-name client landed in 9401: nothing else to retry)');
select results_eq(
  $$select resolved_at is not null, resolved_by_run_id from sync.record_errors where source_key = 'recVALCLIENT00003'$$,
  $$values (true, 9402::bigint)$$,
  'the blocking rule''s quarantine entry is resolved by the run that merged the fixed record');
select results_eq(
  $$select name, client_code, status from app.clients where airtable_id = 'recVALCLIENT00003'$$,
  $$values ('  Gamma Growers ', 'GG', 'Dormant')$$,
  'the fixed record is written, warnings and all');

select results_eq(
  $$select validation_type, records_validated, validation_passed, discrepancies_found from sync.validate_entity(9402, 'clients')$$,
  $$values ('data_integrity', 2, false, 3), ('relationship_integrity', 2, true, 0)$$,
  'validate_entity(9402): the scope is the 2 records the run read');
select results_eq(
  $$select d ->> 'record', d ->> 'rule', d -> 'duplicates', d ? 'quarantined'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) with ordinality as x (d, n)
    where vr.run_id = 9402 and vr.source_entity = 'clients' and vr.validation_type = 'data_integrity' order by n$$,
  $$values ('recVALCLIENT00003', 'clients.name.trimmed', null::jsonb, false),
           ('recVALCLIENT00003', 'clients.status.known', null::jsonb, false),
           ('recVALCLIENT00009', 'clients.name.unique', '["recVALCLIENT00002"]'::jsonb, false)$$,
  'the run''s report: the fixed record''s warnings (its quarantine resolved), and the new record duplicating one of the snapshot outside the scope');
select results_eq(
  $$select validation_criteria ->> 'scope', (validation_criteria ->> 'source_snapshot_run')::bigint
    from sync.validation_reports where run_id = 9402 and source_entity = 'clients' and validation_type = 'data_integrity'$$,
  $$values ('records read by the run', 9401::bigint)$$,
  'the criteria name the scope and the snapshot run');

select results_eq(
  $$select validation_type, records_validated, validation_passed, discrepancies_found from sync.validate_entity(9402, 'clients', true)$$,
  $$values ('data_integrity', 9, false, 12), ('relationship_integrity', 9, true, 0)$$,
  'with p_whole_snapshot the scope is the whole snapshot: 9 records, 12 findings');
select results_eq(
  $$select d ->> 'record', d ->> 'rule'
    from sync.validation_reports vr cross join jsonb_array_elements(vr.discrepancy_details) with ordinality as x (d, n)
    where vr.run_id = 9402 and vr.source_entity = 'clients' and vr.validation_type = 'data_integrity' order by n$$,
  $$values ('recVALCLIENT00001', 'clients.name.unique'),
           ('recVALCLIENT00002', 'clients.email.valid'),
           ('recVALCLIENT00002', 'clients.name.unique'),
           ('recVALCLIENT00002', 'clients.phone.dialable'),
           ('recVALCLIENT00003', 'clients.name.trimmed'),
           ('recVALCLIENT00003', 'clients.status.known'),
           ('recVALCLIENT00004', 'clients.annual_budget.plausible'),
           ('recVALCLIENT00004', 'clients.name.unique'),
           ('recVALCLIENT00005', 'clients.annual_budget.cents'),
           ('recVALCLIENT00006', 'required_value'),
           ('recVALCLIENT00007', 'clients.name.unique'),
           ('recVALCLIENT00009', 'clients.name.unique')$$,
  'the whole snapshot''s findings: records of both runs, the still-open problem of the empty name, and no longer the resolved quarantine');
select is(pg_temp.finding(9402, 'clients', 'recVALCLIENT00002', 'clients.name.unique') -> 'duplicates', '["recVALCLIENT00009"]'::jsonb,
  'the older member of the new duplicate pair names the new record');
select results_eq(
  $$select validation_type, validation_criteria ->> 'scope' from sync.validation_reports
    where run_id = 9402 and source_entity = 'clients' order by validation_type$$,
  $$values ('data_integrity', 'source snapshot'), ('relationship_integrity', 'source snapshot')$$,
  'validating again for the same run replaces its two reports (idempotent), here with the snapshot''s');
select is((select count(*)::int from sync.validation_reports where run_id = 9401), 8, 'the reports of run 9401 are untouched: 2 for each of the 4 entities');

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
select ok(has_function_privilege('airlift_sync', 'sync.validate_entity(bigint, text, boolean)', 'execute'), 'airlift_sync may execute validate_entity');
select ok(not has_function_privilege('airlift_app', 'sync.validate_entity(bigint, text, boolean)', 'execute'), 'airlift_app may not execute validate_entity');
set local role airlift_sync;
select results_eq(
  $$select validation_type, records_validated, discrepancies_found from sync.validate_entity(9402, 'clients')$$,
  $$values ('data_integrity', 2, 3), ('relationship_integrity', 2, 0)$$,
  'airlift_sync can validate an entity (security definer)');
reset role;
set local role airlift_app;
select throws_ok($$select * from sync.validate_entity(9402, 'clients')$$, '42501', null, 'airlift_app cannot call validate_entity');
reset role;
select is((select count(*)::int from sync.validation_reports where run_id = 9402 and source_entity = 'clients'), 2,
  'the sync role''s validation replaced the run''s reports again: still two');
select throws_ok($$select * from sync.validate_entity(9402, 'invoices')$$, '42704', 'no mapping for entity invoices',
  'validate_entity for an entity without a mapping raises undefined_object');

-- ---------------------------------------------------------------------------
-- A rule made blocking later stops the next merge; a warning never does
-- ---------------------------------------------------------------------------
select set_config('airlift.run_id', '', true);
set local airlift.actor = 'dba@delta';
update sync.validation_rules set severity = 'blocking' where rule_id = 'clients.email.valid';
update sync.validation_rules set enabled = false where rule_id = 'clients.phone.dialable';
reset airlift.actor;
select is(pg_temp.rules_in(sync.rule_checks_sql('clients', 'blocking')), array['clients.client_code.required', 'clients.email.valid'],
  'a rule made blocking joins the merge''s checks');
select ok(pg_temp.rules_in(sync.rule_checks_sql('clients')) @> array['clients.email.valid']
          and not pg_temp.rules_in(sync.rule_checks_sql('clients')) @> array['clients.phone.dialable'],
  'a disabled rule leaves the checks');
select sync.stage_page(9403, 'clients', pg_temp.page('clients', 'v3'), '[]', false, null);
select is(sync.merge_clients(9403)::text, '(clients,2,1,0,0,1,0,0,0)',
  'merge_clients(9403): the client breaking the rule now blocking is quarantined; the one breaking a warning and a disabled rule is inserted');
select results_eq(
  $$select run_id, field, value, reason from sync.record_errors where source_key = 'recVALCLIENT00010'$$,
  $$values (9403::bigint, 'Email', '"kappa@"'::jsonb, 'Email must be an email address (rule clients.email.valid)')$$,
  'the quarantine names the field, the value and the rule now blocking');
select results_eq(
  $$select airtable_id, status, phone from app.clients where airtable_id in ('recVALCLIENT00010', 'recVALCLIENT00011')$$,
  $$values ('recVALCLIENT00011', 'Dormant', 'call front desk')$$,
  'only the record without a blocking problem is written, as it was sent');

-- ---------------------------------------------------------------------------
-- Audit of sync.validation_rules
-- ---------------------------------------------------------------------------
select results_eq(
  $$select op, record_id, actor, old_values ->> 'severity', new_values ->> 'severity', changed_columns @> array['severity']
    from audit.changes where table_name = 'sync.validation_rules' and record_id = 'clients.email.valid' order by id$$,
  $$values ('INSERT', 'clients.email.valid', null::text, null::text, 'warning', null::boolean),
           ('UPDATE', 'clients.email.valid', 'dba@delta', 'warning', 'blocking', true)$$,
  'creating a rule and making it blocking are audited with the rule id and who did it');
select results_eq(
  $$select op, actor, (old_values ->> 'enabled')::boolean, (new_values ->> 'enabled')::boolean
    from audit.changes where table_name = 'sync.validation_rules' and record_id = 'clients.phone.dialable' and op = 'UPDATE'$$,
  $$values ('UPDATE', 'dba@delta', true, false)$$,
  'turning a rule off is audited');
delete from sync.validation_rules where rule_id = 'registrations.expiration_date.after_renewal';
select is((select old_values ->> 'rule_kind' from audit.changes where table_name = 'sync.validation_rules'
            and record_id = 'registrations.expiration_date.after_renewal' and op = 'DELETE'),
  'field_order', 'deleting a rule is audited with its old values');

-- ---------------------------------------------------------------------------
-- Constraints of sync.validation_rules
-- ---------------------------------------------------------------------------
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, validation_type, origin, description)
    values ('clients.email.regex', 'clients', 'email', 'regex', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_kind_is_known"', 'an unknown rule kind is refused');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, severity, validation_type, origin, description)
    values ('clients.name.unique_blocking', 'clients', 'name', 'duplicate', 'blocking', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_cross_record_rules_warn"', 'a duplicate rule cannot be blocking');
select throws_ok(
  $$update sync.validation_rules set severity = 'blocking' where rule_id = 'registrations.client_id.matches_product_client'$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_cross_record_rules_warn"', 'a same_as_linked rule cannot be made blocking');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, validation_type, origin, description)
    values ('clients.email.zip', 'clients', 'email', 'format', '{"format": "zip"}', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_format_is_known"', 'a format rule must name a known format');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, severity, validation_type, origin, description)
    values ('clients.email.required', 'clients', 'email', 'required', 'error', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_severity_is_known"', 'severity is blocking or warning');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, validation_type, origin, description)
    values ('clients.email.required', 'clients', 'email', 'required', 'completeness_check', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_type_is_known"', 'validation type is data_integrity or relationship_integrity');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, validation_type, origin, description)
    values ('clients.email.required', 'clients', 'email', 'required', 'data_integrity', 'manual', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_origin_is_known"', 'origin is mapping or sql');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, validation_type, origin, description)
    values ('Clients.Email', 'clients', 'email', 'required', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_id_format"', 'a rule id is <entity>.<column>.<rule> in lower case');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, validation_type, origin, description)
    values ('clients.email.required', 'clients', 'email', 'required', '[]', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_parameters_is_object"', 'parameters are a JSON object');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, validation_type, origin, description)
    values ('clients.status.allowed', 'clients', 'status', 'allowed_values', '{"values": "Active"}', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_allowed_values_listed"', 'allowed values are a list');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, validation_type, origin, description)
    values ('clients.annual_budget.range', 'clients', 'annual_budget', 'range', '{"minimum": 0}', 'data_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_range_has_bound"', 'a range has a min or a max');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, validation_type, origin, description)
    values ('registrations.approved_date.order', 'registrations', 'approved_date', 'field_order', '{}', 'relationship_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_field_order_names_column"', 'a field order names the other column');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, validation_type, origin, description)
    values ('registrations.client_id.same', 'registrations', 'client_id', 'same_as_linked', '{"link": "product_id"}', 'relationship_integrity', 'sql', 'x')$$,
  '23514', 'new row for relation "validation_rules" violates check constraint "validation_rules_same_as_linked_names_link"', 'same_as_linked names the link and the linked column');
select throws_ok(
  $$insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, validation_type, origin, description)
    values ('clients.fax.required', 'clients', 'fax', 'required', 'data_integrity', 'sql', 'x')$$,
  '23503', null, 'a rule is on a column of the entity catalogue');

select * from finish();
ROLLBACK;
