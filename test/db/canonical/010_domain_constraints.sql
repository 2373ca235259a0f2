-- The app domain tables refuse bad data and accept good data: CHECK, NOT NULL,
-- UNIQUE and FOREIGN KEY constraints, generated columns, free select values
-- and the updated_at trigger of app.collaborators, clients, state_regulators,
-- products, registrations and attachments.
BEGIN;
select plan(77);

-- Fixture ids, readable by prefix:
--   1000... collaborators   2000... clients        3000... state regulators
--   4000... products        5000... registrations  6000... attachments

/*
 * Collaborators: Airtable user ids are usr + 14 alphanumerics.
 */
select lives_ok(
  $$insert into app.collaborators (id, airtable_user_id, email, name) values
      ('10000000-0000-0000-0000-000000000001', 'usrManagerAlice01', 'alice@delta.example', 'Alice Manager'),
      ('10000000-0000-0000-0000-000000000002', 'usrAssigneeBob001', 'bob@delta.example', 'Bob Assignee')$$,
  'collaborators with usr + 14 alphanumerics user ids are accepted'
);
select throws_ok(
  $$insert into app.collaborators (id, airtable_user_id) values ('10000000-0000-0000-0000-000000000099', 'recManagerAlice01')$$,
  '23514', 'new row for relation "collaborators" violates check constraint "collaborators_user_id_format"',
  'a collaborator user id with the rec prefix instead of usr is rejected'
);
select throws_ok(
  $$insert into app.collaborators (id, airtable_user_id) values ('10000000-0000-0000-0000-000000000099', 'usrTooShort0001')$$,
  '23514', 'new row for relation "collaborators" violates check constraint "collaborators_user_id_format"',
  'a collaborator user id with 12 characters after usr is rejected'
);

/*
 * Clients.
 */
select lives_ok(
  $$insert into app.clients (id, airtable_id, name, client_code, status, account_manager_id) values
      ('20000000-0000-0000-0000-000000000001', 'recClientAcme0001', 'Acme Corp', 'ACME', 'Active', '10000000-0000-0000-0000-000000000002'),
      ('20000000-0000-0000-0000-000000000002', 'recClientBeta0002', 'Beta Chemicals', 'BETA', 'Prospect', null)$$,
  'clients with rec + 14 alphanumerics airtable ids are accepted'
);
select lives_ok(
  $$insert into app.clients (id, airtable_id, name, created_at, updated_at) values
      ('20000000-0000-0000-0000-000000000003', null, 'Gamma Labs', '2020-01-01', '2020-01-01'),
      ('20000000-0000-0000-0000-000000000004', null, 'Delta Farms', '2020-01-01', '2020-01-01')$$,
  'clients created here and not yet pushed (null airtable_id) are accepted'
);
select throws_ok(
  $$insert into app.clients (name, airtable_id) values ('Bad Id Inc', 'recShort123')$$,
  '23514', 'new row for relation "clients" violates check constraint "clients_airtable_id_format"',
  'a client airtable_id with too few characters after rec is rejected'
);
select throws_ok(
  $$insert into app.clients (name, airtable_id) values ('Bad Id Inc', 'tblClientAcme0001')$$,
  '23514', 'new row for relation "clients" violates check constraint "clients_airtable_id_format"',
  'a client airtable_id with a table (tbl) prefix is rejected'
);
select throws_ok(
  $$insert into app.clients (name, airtable_id) values ('Bad Id Inc', 'recClient-Acme001')$$,
  '23514', 'new row for relation "clients" violates check constraint "clients_airtable_id_format"',
  'a client airtable_id with a non-alphanumeric character is rejected'
);
select throws_ok(
  $$insert into app.clients (name, airtable_id) values ('Bad Id Inc', 'recClientAcme00011')$$,
  '23514', 'new row for relation "clients" violates check constraint "clients_airtable_id_format"',
  'a client airtable_id with 15 characters after rec is rejected'
);
select throws_ok(
  $$insert into app.clients (name) values ('   ')$$,
  '23514', 'new row for relation "clients" violates check constraint "clients_name_not_blank"',
  'a blank client name is rejected'
);
select lives_ok(
  $$insert into app.clients (name) values (null)$$,
  'a client without a name is accepted (Airtable allows an empty primary field; the merge records the problem)'
);
select throws_ok(
  $$insert into app.clients (name, airtable_id) values ('Acme Duplicate', 'recClientAcme0001')$$,
  '23505', 'duplicate key value violates unique constraint "clients_airtable_id_key"',
  'a second client with the same airtable_id is rejected'
);
select throws_ok(
  $$insert into app.clients (name, deleted_at) values ('Deleted Too Early', '2000-01-01')$$,
  '23514', 'new row for relation "clients" violates check constraint "clients_deleted_after_created"',
  'a client deleted before it was created is rejected'
);
select lives_ok(
  $$insert into app.clients (id, name, created_at, deleted_at) values
      ('20000000-0000-0000-0000-000000000005', 'Deleted At Once', '2024-03-01 12:00+00', '2024-03-01 12:00+00')$$,
  'a client deleted at the very moment it was created is accepted'
);
select lives_ok(
  $$insert into app.clients (id, name, status) values ('20000000-0000-0000-0000-000000000006', 'Epsilon Co', 'Dormant (added in Airtable)')$$,
  'a client status option this schema has never seen is accepted (select values are text)'
);
select ok(
  (select search_vector @@ to_tsquery('simple', 'acme') from app.clients where id = '20000000-0000-0000-0000-000000000001'),
  'search_vector of the client named Acme Corp matches to_tsquery(''simple'', ''acme'')'
);
select ok(
  not (select search_vector @@ to_tsquery('simple', 'acme') from app.clients where id = '20000000-0000-0000-0000-000000000002'),
  'search_vector of the client named Beta Chemicals does not match acme'
);

/*
 * State regulators.
 */
select lives_ok(
  $$insert into app.state_regulators (id, airtable_id, agency_name, state, renewal_month) values
      ('30000000-0000-0000-0000-000000000001', 'recRegulatorCA001', 'California Department of Pesticide Regulation', ' ca ', 1)$$,
  'a state regulator with renewal_month 1 (January) is accepted'
);
select lives_ok(
  $$insert into app.state_regulators (id, airtable_id, agency_name, state, renewal_month) values
      ('30000000-0000-0000-0000-000000000002', 'recRegulatorTL002', 'Tribal Environmental Office', 'Tribal Lands', 12)$$,
  'a state regulator with renewal_month 12 (December) is accepted'
);
select throws_ok(
  $$insert into app.state_regulators (agency_name, renewal_month) values ('Month Zero Agency', 0)$$,
  '23514', 'new row for relation "state_regulators" violates check constraint "state_regulators_renewal_month_is_a_month"',
  'renewal_month 0 is rejected'
);
select throws_ok(
  $$insert into app.state_regulators (agency_name, renewal_month) values ('Month Thirteen Agency', 13)$$,
  '23514', 'new row for relation "state_regulators" violates check constraint "state_regulators_renewal_month_is_a_month"',
  'renewal_month 13 is rejected'
);
select throws_ok(
  $$insert into app.state_regulators (agency_name, airtable_id) values ('Bad Id Agency', 'rec_Regulator_01')$$,
  '23514', 'new row for relation "state_regulators" violates check constraint "state_regulators_airtable_id_format"',
  'a state regulator airtable_id that is not rec + 14 alphanumerics is rejected'
);
select throws_ok(
  $$insert into app.state_regulators (agency_name) values ('')$$,
  '23514', 'new row for relation "state_regulators" violates check constraint "state_regulators_agency_name_not_blank"',
  'an empty agency name is rejected'
);
select lives_ok(
  $$insert into app.state_regulators (agency_name) values (null)$$,
  'a state regulator without an agency name is accepted (an empty primary field is legal in Airtable)'
);
select throws_ok(
  $$insert into app.state_regulators (agency_name, deleted_at) values ('Deleted Too Early Agency', '2000-01-01')$$,
  '23514', 'new row for relation "state_regulators" violates check constraint "state_regulators_deleted_after_created"',
  'a state regulator deleted before it was created is rejected'
);
select is(
  (select state_code from app.state_regulators where id = '30000000-0000-0000-0000-000000000001'),
  'CA',
  'state_code of a regulator in state '' ca '' is normalized to CA'
);
select is(
  (select state_code from app.state_regulators where id = '30000000-0000-0000-0000-000000000002'),
  null,
  'state_code of a regulator in Tribal Lands is null (not a state code)'
);

/*
 * Products.
 */
select lives_ok(
  $$insert into app.products (id, airtable_id, name, client_id, epa_registration_number) values
      ('40000000-0000-0000-0000-000000000001', 'recProductAcme001', 'Acme Ant Bait', '20000000-0000-0000-0000-000000000001', '1234-56'),
      ('40000000-0000-0000-0000-000000000002', 'recProductBeta002', 'Beta Weed Killer', '20000000-0000-0000-0000-000000000002', null)$$,
  'products with rec + 14 alphanumerics airtable ids are accepted'
);
select throws_ok(
  $$insert into app.products (name, airtable_id) values ('Bad Id Spray', 'RECProductAcme001')$$,
  '23514', 'new row for relation "products" violates check constraint "products_airtable_id_format"',
  'a product airtable_id with an upper-case REC prefix is rejected'
);
select throws_ok(
  $$insert into app.products (name) values (' ')$$,
  '23514', 'new row for relation "products" violates check constraint "products_name_not_blank"',
  'a blank product name is rejected'
);
select lives_ok(
  $$insert into app.products (name) values (null)$$,
  'a product without a name is accepted (an empty primary field is legal in Airtable)'
);
select throws_ok(
  $$insert into app.products (name, airtable_id) values ('Acme Ant Bait Copy', 'recProductAcme001')$$,
  '23505', 'duplicate key value violates unique constraint "products_airtable_id_key"',
  'a second product with the same airtable_id is rejected'
);
select throws_ok(
  $$insert into app.products (name, deleted_at) values ('Deleted Too Early Spray', '2000-01-01')$$,
  '23514', 'new row for relation "products" violates check constraint "products_deleted_after_created"',
  'a product deleted before it was created is rejected'
);

/*
 * Registrations.
 */
select lives_ok(
  $$insert into app.registrations (id, airtable_id, client_id, product_id, state_regulator_id, state, status, priority, tags, assigned_to_id) values
      ('50000000-0000-0000-0000-000000000001', 'recRegistAcmeCA01', '20000000-0000-0000-0000-000000000001', '40000000-0000-0000-0000-000000000001',
       '30000000-0000-0000-0000-000000000001', ' ca ', 'Approved', 1, array['Urgent', 'Renewal', 'Fee Due'], '10000000-0000-0000-0000-000000000002')$$,
  'a registration with a rec + 14 alphanumerics airtable id and priority 1 is accepted'
);
select lives_ok(
  $$insert into app.registrations (id, state, status, priority) values
      ('50000000-0000-0000-0000-000000000002', 'Tribal Lands', 'Submitted', 5)$$,
  'a registration with priority 5 is accepted'
);
select throws_ok(
  $$insert into app.registrations (priority) values (0)$$,
  '23514', 'new row for relation "registrations" violates check constraint "registrations_priority_in_rating_range"',
  'priority 0 is rejected'
);
select throws_ok(
  $$insert into app.registrations (priority) values (6)$$,
  '23514', 'new row for relation "registrations" violates check constraint "registrations_priority_in_rating_range"',
  'priority 6 is rejected'
);
select throws_ok(
  $$insert into app.registrations (airtable_id) values ('recRegistAcmeCA0')$$,
  '23514', 'new row for relation "registrations" violates check constraint "registrations_airtable_id_format"',
  'a registration airtable_id with 13 characters after rec is rejected'
);
select throws_ok(
  $$insert into app.registrations (deleted_at) values ('2000-01-01')$$,
  '23514', 'new row for relation "registrations" violates check constraint "registrations_deleted_after_created"',
  'a registration deleted before it was created is rejected'
);
select is(
  (select state_code from app.registrations where id = '50000000-0000-0000-0000-000000000001'),
  'CA',
  'state_code of a registration in state '' ca '' is normalized to CA'
);
select is(
  (select state_code from app.registrations where id = '50000000-0000-0000-0000-000000000002'),
  null,
  'state_code of a registration in Tribal Lands is null'
);
select is(
  (select tags from app.registrations where id = '50000000-0000-0000-0000-000000000001'),
  array['Urgent', 'Renewal', 'Fee Due'],
  'tags keep the order in which they were given'
);

-- One registration per status: the lifecycle, open and approved flags are derived.
insert into app.registrations (id, status) values
  ('50000000-0000-0000-0000-000000000011', 'Not Started'),
  ('50000000-0000-0000-0000-000000000012', 'In Preparation'),
  ('50000000-0000-0000-0000-000000000013', 'Submitted'),
  ('50000000-0000-0000-0000-000000000014', 'Pending Review'),
  ('50000000-0000-0000-0000-000000000015', 'Deficiency'),
  ('50000000-0000-0000-0000-000000000016', 'Approved'),
  ('50000000-0000-0000-0000-000000000017', 'Denied'),
  ('50000000-0000-0000-0000-000000000018', 'Expired'),
  ('50000000-0000-0000-0000-000000000019', 'Withdrawn'),
  ('50000000-0000-0000-0000-000000000021', null),
  ('50000000-0000-0000-0000-000000000022', ' approved ');

select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000011'), 'preparation', 'status Not Started is in lifecycle stage preparation');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000012'), 'preparation', 'status In Preparation is in lifecycle stage preparation');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000013'), 'review', 'status Submitted is in lifecycle stage review');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000014'), 'review', 'status Pending Review is in lifecycle stage review');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000015'), 'review', 'status Deficiency is in lifecycle stage review');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000016'), 'active', 'status Approved is in lifecycle stage active');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000017'), 'closed', 'status Denied is in lifecycle stage closed');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000018'), 'closed', 'status Expired is in lifecycle stage closed');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000019'), 'closed', 'status Withdrawn is in lifecycle stage closed');
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000021'), 'preparation', 'a registration without status is in lifecycle stage preparation');

select lives_ok(
  $$insert into app.registrations (id, status) values ('50000000-0000-0000-0000-000000000020', 'Awaiting Fee')$$,
  'a registration status option added in Airtable later (Awaiting Fee) is accepted'
);
select is((select lifecycle_stage from app.registrations where id = '50000000-0000-0000-0000-000000000020'), 'unknown', 'the unknown status Awaiting Fee is in lifecycle stage unknown');
select is((select status from app.registrations where id = '50000000-0000-0000-0000-000000000020'), 'Awaiting Fee', 'the unknown status is kept exactly as entered');

select results_eq(
  $$select is_open, is_approved from app.registrations where id = '50000000-0000-0000-0000-000000000016'$$,
  $$values (true, true)$$,
  'an Approved registration is open and approved'
);
select results_eq(
  $$select is_open, is_approved from app.registrations where id = '50000000-0000-0000-0000-000000000022'$$,
  $$values (true, true)$$,
  'status '' approved '' (other case, padded) is open and approved'
);
select results_eq(
  $$select status, is_open, is_approved from app.registrations
    where id in ('50000000-0000-0000-0000-000000000017', '50000000-0000-0000-0000-000000000018', '50000000-0000-0000-0000-000000000019')
    order by status$$,
  $$values ('Denied', false, false), ('Expired', false, false), ('Withdrawn', false, false)$$,
  'Denied, Expired and Withdrawn registrations are neither open nor approved'
);
select results_eq(
  $$select status, is_open, is_approved from app.registrations
    where id in ('50000000-0000-0000-0000-000000000011', '50000000-0000-0000-0000-000000000013', '50000000-0000-0000-0000-000000000020', '50000000-0000-0000-0000-000000000021')
    order by status nulls last$$,
  $$values ('Awaiting Fee', true, false), ('Not Started', true, false), ('Submitted', true, false), (null::text, true, false)$$,
  'Not Started, Submitted, an unknown status and no status are open but not approved'
);

/*
 * Attachments: exactly one owner, valid ids, sizes and positions.
 */
select lives_ok(
  $$insert into app.attachments (id, airtable_attachment_id, product_id, field_name, filename, size_bytes) values
      ('60000000-0000-0000-0000-000000000001', 'attLabelAcme00001', '40000000-0000-0000-0000-000000000002', 'label', 'beta-label.pdf', 0)$$,
  'an attachment owned by a product, with size 0, is accepted'
);
select lives_ok(
  $$insert into app.attachments (id, airtable_attachment_id, registration_id, field_name, position, filename, size_bytes) values
      ('60000000-0000-0000-0000-000000000002', 'attDocsAcmeCA0001', '50000000-0000-0000-0000-000000000001', 'documents', 0, 'ca-approval.pdf', 48213)$$,
  'an attachment owned by a registration is accepted'
);
select throws_ok(
  $$insert into app.attachments (airtable_attachment_id, field_name, filename) values ('attOrphanFile0001', 'label', 'orphan.pdf')$$,
  '23514', 'new row for relation "attachments" violates check constraint "attachments_exactly_one_owner"',
  'an attachment without an owner is rejected'
);
select throws_ok(
  $$insert into app.attachments (airtable_attachment_id, product_id, registration_id, field_name, filename)
    values ('attTwoOwners00001', '40000000-0000-0000-0000-000000000001', '50000000-0000-0000-0000-000000000001', 'label', 'both.pdf')$$,
  '23514', 'new row for relation "attachments" violates check constraint "attachments_exactly_one_owner"',
  'an attachment owned by both a product and a registration is rejected'
);
select throws_ok(
  $$insert into app.attachments (airtable_attachment_id, product_id, field_name, filename, size_bytes)
    values ('attNegativeSize01', '40000000-0000-0000-0000-000000000001', 'label', 'negative.pdf', -1)$$,
  '23514', 'new row for relation "attachments" violates check constraint "attachments_size_not_negative"',
  'an attachment with a negative size is rejected'
);
select throws_ok(
  $$insert into app.attachments (airtable_attachment_id, product_id, field_name, filename)
    values ('recLabelAcme00001', '40000000-0000-0000-0000-000000000001', 'label', 'bad-id.pdf')$$,
  '23514', 'new row for relation "attachments" violates check constraint "attachments_id_format"',
  'an attachment id that is not att + 14 alphanumerics is rejected'
);
select throws_ok(
  $$insert into app.attachments (airtable_attachment_id, product_id, field_name, position, filename)
    values ('attNegativePos001', '40000000-0000-0000-0000-000000000001', 'label', -1, 'negative-position.pdf')$$,
  '23514', 'new row for relation "attachments" violates check constraint "attachments_position_not_negative"',
  'an attachment at a negative position is rejected'
);
select throws_ok(
  $$insert into app.attachments (airtable_attachment_id, product_id, field_name, filename, deleted_at)
    values ('attDeletedEarly01', '40000000-0000-0000-0000-000000000001', 'label', 'early.pdf', '2000-01-01')$$,
  '23514', 'new row for relation "attachments" violates check constraint "attachments_deleted_after_created"',
  'an attachment removed before it was created is rejected'
);

/*
 * Foreign keys.
 */
select throws_ok(
  $$delete from app.clients where id = '20000000-0000-0000-0000-000000000002'$$,
  -- PostgreSQL 18 reports ON DELETE RESTRICT as restrict_violation (23001).
  case when current_setting('server_version_num')::int >= 180000 then '23001' else '23503' end,
  case when current_setting('server_version_num')::int >= 180000
       then 'update or delete on table "clients" violates RESTRICT setting of foreign key constraint "products_client_id_fkey" on table "products"'
       else 'update or delete on table "clients" violates foreign key constraint "products_client_id_fkey" on table "products"' end,
  'deleting a client that still has a product is refused (on delete restrict)'
);
select lives_ok(
  $$delete from app.products where id = '40000000-0000-0000-0000-000000000002'$$,
  'a product with an attachment can be deleted'
);
select is(
  (select count(*)::int from app.attachments where id = '60000000-0000-0000-0000-000000000001'),
  0,
  'deleting a product deletes its attachments (on delete cascade)'
);
select lives_ok(
  $$delete from app.collaborators where id = '10000000-0000-0000-0000-000000000002'$$,
  'a collaborator named as account manager and assignee can be deleted'
);
select is(
  (select account_manager_id from app.clients where id = '20000000-0000-0000-0000-000000000001'),
  null,
  'deleting a collaborator clears the client''s account_manager_id (on delete set null)'
);
select is(
  (select assigned_to_id from app.registrations where id = '50000000-0000-0000-0000-000000000001'),
  null,
  'deleting a collaborator clears the registration''s assigned_to_id (on delete set null)'
);

/*
 * updated_at moves only when a row really changes.
 */
update app.clients set notes = 'Renewed contract' where id = '20000000-0000-0000-0000-000000000003';
select cmp_ok(
  (select updated_at from app.clients where id = '20000000-0000-0000-0000-000000000003'),
  '>',
  '2020-01-01'::timestamptz,
  'an update that changes a value moves updated_at forward from its old 2020 value'
);
select is(
  (select updated_at from app.clients where id = '20000000-0000-0000-0000-000000000003'),
  now(),
  'an update that changes a value stamps updated_at with the transaction time'
);
update app.clients set name = name where id = '20000000-0000-0000-0000-000000000004';
select is(
  (select updated_at from app.clients where id = '20000000-0000-0000-0000-000000000004'),
  '2020-01-01'::timestamptz,
  'a no-op update (set name = name) leaves updated_at unchanged'
);
insert into app.registrations (id, status, created_at, updated_at)
  values ('50000000-0000-0000-0000-000000000030', 'Submitted', '2020-01-01', '2020-01-01');
update app.registrations set status = status where id = '50000000-0000-0000-0000-000000000030';
select is(
  (select updated_at from app.registrations where id = '50000000-0000-0000-0000-000000000030'),
  '2020-01-01'::timestamptz,
  'a no-op update of a registration (with generated columns) leaves updated_at unchanged'
);

select * from finish();
ROLLBACK;
