-- Structure of schema app: the five schemas, app's tables, their columns and
-- types, keys, foreign keys and their ON DELETE actions, stored generated
-- columns, partial and GIN indexes, and select columns kept as text.
BEGIN;
select plan(86);

-- The five schemas --------------------------------------------------------
select has_schema('app', 'schema app exists');
select has_schema('sync', 'schema sync exists');
select has_schema('staging', 'schema staging exists');
select has_schema('audit', 'schema audit exists');
select has_schema('report', 'schema report exists');

-- Tables -------------------------------------------------------------------
select tables_are('app',
  array['collaborators', 'clients', 'state_regulators', 'products', 'registrations', 'attachments'],
  'schema app has exactly the six domain tables');
select has_table('app', 'collaborators', 'table app.collaborators exists');
select has_table('app', 'clients', 'table app.clients exists');
select has_table('app', 'state_regulators', 'table app.state_regulators exists');
select has_table('app', 'products', 'table app.products exists');
select has_table('app', 'registrations', 'table app.registrations exists');
select has_table('app', 'attachments', 'table app.attachments exists');

-- Every column of every table, with its type -------------------------------
select set_eq(
  $$select attname::text, format_type(atttypid, atttypmod) from pg_attribute
    where attrelid = 'app.collaborators'::regclass and attnum > 0 and not attisdropped$$,
  $$values ('id', 'uuid'), ('airtable_user_id', 'text'), ('email', 'text'), ('name', 'text'),
           ('created_at', 'timestamp with time zone'), ('updated_at', 'timestamp with time zone')$$,
  'app.collaborators has exactly the expected columns with the expected types');

select set_eq(
  $$select attname::text, format_type(atttypid, atttypmod) from pg_attribute
    where attrelid = 'app.clients'::regclass and attnum > 0 and not attisdropped$$,
  $$values ('id', 'uuid'), ('airtable_id', 'text'), ('name', 'text'), ('client_code', 'text'),
           ('status', 'text'), ('primary_contact', 'text'), ('email', 'text'), ('phone', 'text'),
           ('mailing_address', 'text'), ('federal_tax_id', 'text'), ('account_manager_id', 'uuid'),
           ('client_since', 'date'), ('annual_budget', 'numeric(12,2)'), ('notes', 'text'),
           ('airtable_created_at', 'timestamp with time zone'),
           ('airtable_modified_at', 'timestamp with time zone'), ('search_vector', 'tsvector'),
           ('created_at', 'timestamp with time zone'), ('updated_at', 'timestamp with time zone'),
           ('deleted_at', 'timestamp with time zone'),
           ('open_problem_count', 'integer')$$,
  'app.clients has exactly the expected columns with the expected types');

select set_eq(
  $$select attname::text, format_type(atttypid, atttypmod) from pg_attribute
    where attrelid = 'app.state_regulators'::regclass and attnum > 0 and not attisdropped$$,
  $$values ('id', 'uuid'), ('airtable_id', 'text'), ('agency_name', 'text'), ('state', 'text'),
           ('state_code', 'text'), ('agency_type', 'text'), ('contact_name', 'text'),
           ('contact_email', 'text'), ('phone', 'text'), ('website', 'text'),
           ('submission_portal', 'text'), ('renewal_cycle', 'text'), ('renewal_month', 'smallint'),
           ('registration_fee', 'numeric(12,2)'), ('late_fee', 'numeric(12,2)'),
           ('requires_wet_signature', 'boolean'), ('product_types_regulated', 'text[]'),
           ('notes', 'text'), ('airtable_modified_at', 'timestamp with time zone'),
           ('search_vector', 'tsvector'), ('created_at', 'timestamp with time zone'),
           ('updated_at', 'timestamp with time zone'), ('deleted_at', 'timestamp with time zone'),
           ('open_problem_count', 'integer')$$,
  'app.state_regulators has exactly the expected columns with the expected types');

select set_eq(
  $$select attname::text, format_type(atttypid, atttypmod) from pg_attribute
    where attrelid = 'app.products'::regclass and attnum > 0 and not attisdropped$$,
  $$values ('id', 'uuid'), ('airtable_id', 'text'), ('name', 'text'), ('client_id', 'uuid'),
           ('epa_registration_number', 'text'), ('product_type', 'text'),
           ('active_ingredients', 'text'), ('signal_word', 'text'), ('discontinued', 'boolean'),
           ('airtable_modified_at', 'timestamp with time zone'), ('search_vector', 'tsvector'),
           ('created_at', 'timestamp with time zone'), ('updated_at', 'timestamp with time zone'),
           ('deleted_at', 'timestamp with time zone'),
           ('open_problem_count', 'integer')$$,
  'app.products has exactly the expected columns with the expected types');

select set_eq(
  $$select attname::text, format_type(atttypid, atttypmod) from pg_attribute
    where attrelid = 'app.registrations'::regclass and attnum > 0 and not attisdropped$$,
  $$values ('id', 'uuid'), ('airtable_id', 'text'), ('client_id', 'uuid'), ('product_id', 'uuid'),
           ('state_regulator_id', 'uuid'), ('state', 'text'), ('state_code', 'text'),
           ('status', 'text'), ('lifecycle_stage', 'text'), ('is_open', 'boolean'),
           ('is_approved', 'boolean'), ('registration_type', 'text'),
           ('state_registration_number', 'text'), ('submitted_date', 'date'),
           ('approved_date', 'date'), ('expiration_date', 'date'), ('fee_paid', 'numeric(12,2)'),
           ('invoice_number', 'text'), ('priority', 'smallint'), ('tags', 'text[]'),
           ('assigned_to_id', 'uuid'), ('notes', 'text'),
           ('airtable_modified_at', 'timestamp with time zone'),
           ('created_at', 'timestamp with time zone'), ('updated_at', 'timestamp with time zone'),
           ('deleted_at', 'timestamp with time zone'),
           ('open_problem_count', 'integer')$$,
  'app.registrations has exactly the expected columns with the expected types');

select set_eq(
  $$select attname::text, format_type(atttypid, atttypmod) from pg_attribute
    where attrelid = 'app.attachments'::regclass and attnum > 0 and not attisdropped$$,
  $$values ('id', 'uuid'), ('airtable_attachment_id', 'text'), ('product_id', 'uuid'),
           ('registration_id', 'uuid'), ('field_name', 'text'), ('position', 'smallint'),
           ('filename', 'text'), ('size_bytes', 'bigint'), ('mime_type', 'text'), ('url', 'text'),
           ('url_fetched_at', 'timestamp with time zone'),
           ('created_at', 'timestamp with time zone'), ('updated_at', 'timestamp with time zone'),
           ('deleted_at', 'timestamp with time zone'), ('sha256', 'text'), ('stored_size_bytes', 'bigint'),
           ('stored_mime_type', 'text'), ('store_key', 'text')$$,
  'app.attachments has exactly the expected columns with the expected types');

-- Key column types, one by one ----------------------------------------------
select col_type_is('app', 'collaborators', 'id', 'uuid', 'app.collaborators.id is uuid');
select col_type_is('app', 'clients', 'id', 'uuid', 'app.clients.id is uuid');
select col_type_is('app', 'state_regulators', 'id', 'uuid', 'app.state_regulators.id is uuid');
select col_type_is('app', 'products', 'id', 'uuid', 'app.products.id is uuid');
select col_type_is('app', 'registrations', 'id', 'uuid', 'app.registrations.id is uuid');
select col_type_is('app', 'attachments', 'id', 'uuid', 'app.attachments.id is uuid');
select col_type_is('app', 'clients', 'client_since', 'date', 'app.clients.client_since is date');
select col_type_is('app', 'clients', 'annual_budget', 'numeric(12,2)', 'app.clients.annual_budget (money) is numeric(12,2)');
select col_type_is('app', 'clients', 'search_vector', 'tsvector', 'app.clients.search_vector is tsvector');
select col_type_is('app', 'clients', 'airtable_modified_at', 'timestamp with time zone', 'app.clients.airtable_modified_at is timestamptz');
select col_type_is('app', 'state_regulators', 'renewal_month', 'smallint', 'app.state_regulators.renewal_month is smallint');
select col_type_is('app', 'state_regulators', 'requires_wet_signature', 'boolean', 'app.state_regulators.requires_wet_signature is boolean');
select col_type_is('app', 'state_regulators', 'product_types_regulated', 'text[]', 'app.state_regulators.product_types_regulated (multiple select) is text[]');
select col_type_is('app', 'registrations', 'fee_paid', 'numeric(12,2)', 'app.registrations.fee_paid (money) is numeric(12,2)');
select col_type_is('app', 'registrations', 'tags', 'text[]', 'app.registrations.tags (multiple select) is text[]');
select col_type_is('app', 'registrations', 'status', 'text', 'app.registrations.status (single select) is text');

-- Primary keys ---------------------------------------------------------------
select col_is_pk('app', 'collaborators', 'id', 'app.collaborators primary key is id');
select col_is_pk('app', 'clients', 'id', 'app.clients primary key is id');
select col_is_pk('app', 'state_regulators', 'id', 'app.state_regulators primary key is id');
select col_is_pk('app', 'products', 'id', 'app.products primary key is id');
select col_is_pk('app', 'registrations', 'id', 'app.registrations primary key is id');
select col_is_pk('app', 'attachments', 'id', 'app.attachments primary key is id');

-- Airtable identities are unique -----------------------------------------------
select col_is_unique('app', 'collaborators', 'airtable_user_id', 'app.collaborators.airtable_user_id has a unique constraint');
select col_is_unique('app', 'clients', 'airtable_id', 'app.clients.airtable_id has a unique constraint');
select col_is_unique('app', 'state_regulators', 'airtable_id', 'app.state_regulators.airtable_id has a unique constraint');
select col_is_unique('app', 'products', 'airtable_id', 'app.products.airtable_id has a unique constraint');
select col_is_unique('app', 'registrations', 'airtable_id', 'app.registrations.airtable_id has a unique constraint');
select has_index('app', 'attachments', 'attachments_product_file_key',
  array['product_id', 'field_name', 'airtable_attachment_id']::name[],
  'app.attachments has index attachments_product_file_key on (product_id, field_name, airtable_attachment_id)');
select index_is_unique('app', 'attachments', 'attachments_product_file_key',
  'attachments_product_file_key is unique: an attachment appears once per product field');
select index_is_unique('app', 'attachments', 'attachments_registration_file_key',
  'attachments_registration_file_key is unique: an attachment appears once per registration field');

-- Foreign keys -------------------------------------------------------------------
select fk_ok('app', 'clients', 'account_manager_id', 'app', 'collaborators', 'id',
  'app.clients.account_manager_id references app.collaborators(id)');
select fk_ok('app', 'products', 'client_id', 'app', 'clients', 'id',
  'app.products.client_id references app.clients(id)');
select fk_ok('app', 'registrations', 'client_id', 'app', 'clients', 'id',
  'app.registrations.client_id references app.clients(id)');
select fk_ok('app', 'registrations', 'product_id', 'app', 'products', 'id',
  'app.registrations.product_id references app.products(id)');
select fk_ok('app', 'registrations', 'state_regulator_id', 'app', 'state_regulators', 'id',
  'app.registrations.state_regulator_id references app.state_regulators(id)');
select fk_ok('app', 'registrations', 'assigned_to_id', 'app', 'collaborators', 'id',
  'app.registrations.assigned_to_id references app.collaborators(id)');
select fk_ok('app', 'attachments', 'product_id', 'app', 'products', 'id',
  'app.attachments.product_id references app.products(id)');
select fk_ok('app', 'attachments', 'registration_id', 'app', 'registrations', 'id',
  'app.attachments.registration_id references app.registrations(id)');

-- ON DELETE action of each foreign key (pg_constraint.confdeltype:
-- r restrict, c cascade, n set null, a no action) ---------------------------------
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.clients'::regclass and a.attname = 'account_manager_id'),
  'n', 'app.clients.account_manager_id is ON DELETE SET NULL');
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.products'::regclass and a.attname = 'client_id'),
  'r', 'app.products.client_id is ON DELETE RESTRICT');
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.registrations'::regclass and a.attname = 'client_id'),
  'r', 'app.registrations.client_id is ON DELETE RESTRICT');
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.registrations'::regclass and a.attname = 'product_id'),
  'r', 'app.registrations.product_id is ON DELETE RESTRICT');
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.registrations'::regclass and a.attname = 'state_regulator_id'),
  'r', 'app.registrations.state_regulator_id is ON DELETE RESTRICT');
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.registrations'::regclass and a.attname = 'assigned_to_id'),
  'n', 'app.registrations.assigned_to_id is ON DELETE SET NULL');
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.attachments'::regclass and a.attname = 'product_id'),
  'c', 'app.attachments.product_id is ON DELETE CASCADE');
select is(
  (select c.confdeltype::text from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.conrelid = 'app.attachments'::regclass and a.attname = 'registration_id'),
  'c', 'app.attachments.registration_id is ON DELETE CASCADE');
select set_eq(
  $$select c.conrelid::regclass::text, a.attname::text, c.confrelid::regclass::text, c.confdeltype::text
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
     where c.contype = 'f' and c.connamespace = 'app'::regnamespace$$,
  $$values ('app.clients', 'account_manager_id', 'app.collaborators', 'n'),
           ('app.products', 'client_id', 'app.clients', 'r'),
           ('app.registrations', 'client_id', 'app.clients', 'r'),
           ('app.registrations', 'product_id', 'app.products', 'r'),
           ('app.registrations', 'state_regulator_id', 'app.state_regulators', 'r'),
           ('app.registrations', 'assigned_to_id', 'app.collaborators', 'n'),
           ('app.attachments', 'product_id', 'app.products', 'c'),
           ('app.attachments', 'registration_id', 'app.registrations', 'c'),
           ('app.attachments', 'sha256', 'sync.stored_files', 'r')$$,
  'schema app has exactly these single-column foreign keys with these ON DELETE actions');

-- Stored generated columns (pg_attribute.attgenerated = 's') ---------------------
select results_eq(
  $$select attrelid::regclass::text, attgenerated::text from pg_attribute
     where attname = 'search_vector' and attrelid in ('app.clients'::regclass, 'app.state_regulators'::regclass, 'app.products'::regclass)
     order by 1$$,
  $$values ('app.clients', 's'), ('app.products', 's'), ('app.state_regulators', 's')$$,
  'search_vector of clients, state_regulators and products is a stored generated column');
select results_eq(
  $$select attrelid::regclass::text, attgenerated::text from pg_attribute
     where attname = 'state_code' and attrelid in ('app.state_regulators'::regclass, 'app.registrations'::regclass)
     order by 1$$,
  $$values ('app.registrations', 's'), ('app.state_regulators', 's')$$,
  'state_code of state_regulators and registrations is a stored generated column');
select is(
  (select attgenerated::text from pg_attribute where attrelid = 'app.registrations'::regclass and attname = 'lifecycle_stage'),
  's', 'app.registrations.lifecycle_stage is a stored generated column');
select is(
  (select attgenerated::text from pg_attribute where attrelid = 'app.registrations'::regclass and attname = 'is_open'),
  's', 'app.registrations.is_open is a stored generated column');
select is(
  (select attgenerated::text from pg_attribute where attrelid = 'app.registrations'::regclass and attname = 'is_approved'),
  's', 'app.registrations.is_approved is a stored generated column');
select set_eq(
  $$select a.attrelid::regclass::text, a.attname::text from pg_attribute a
      join pg_class c on c.oid = a.attrelid
     where c.relnamespace = 'app'::regnamespace and c.relkind in ('r', 'p')
       and a.attnum > 0 and not a.attisdropped and a.attgenerated <> ''$$,
  $$values ('app.clients', 'search_vector'), ('app.state_regulators', 'state_code'),
           ('app.state_regulators', 'search_vector'), ('app.products', 'search_vector'),
           ('app.registrations', 'state_code'), ('app.registrations', 'lifecycle_stage'),
           ('app.registrations', 'is_open'), ('app.registrations', 'is_approved')$$,
  'the generated columns of schema app are exactly the eight derived ones');

-- Partial indexes on registrations --------------------------------------------
select has_index('app', 'registrations', 'registrations_open_by_expiration_idx', array['expiration_date']::name[],
  'app.registrations has index registrations_open_by_expiration_idx on (expiration_date)');
select has_index('app', 'registrations', 'registrations_by_state_status_idx', array['state_code', 'status']::name[],
  'app.registrations has index registrations_by_state_status_idx on (state_code, status)');
select isnt(
  (select indpred::text from pg_index where indexrelid = 'app.registrations_open_by_expiration_idx'::regclass),
  null, 'registrations_open_by_expiration_idx is a partial index (indpred is not null)');
select isnt(
  (select indpred::text from pg_index where indexrelid = 'app.registrations_by_state_status_idx'::regclass),
  null, 'registrations_by_state_status_idx is a partial index (indpred is not null)');
select ok(
  (select pg_get_expr(indpred, indrelid) ~ 'is_open'
          and pg_get_expr(indpred, indrelid) ~ 'deleted_at IS NULL'
          and pg_get_expr(indpred, indrelid) ~ 'expiration_date IS NOT NULL'
     from pg_index where indexrelid = 'app.registrations_open_by_expiration_idx'::regclass),
  'registrations_open_by_expiration_idx covers only open, live rows with an expiration date');
select ok(
  (select pg_get_expr(indpred, indrelid) ~ 'deleted_at IS NULL'
     from pg_index where indexrelid = 'app.registrations_by_state_status_idx'::regclass),
  'registrations_by_state_status_idx covers only live (not deleted) rows');

-- GIN full-text search indexes -------------------------------------------------
select has_index('app', 'clients', 'clients_search_idx', array['search_vector']::name[],
  'app.clients has index clients_search_idx on (search_vector)');
select has_index('app', 'state_regulators', 'state_regulators_search_idx', array['search_vector']::name[],
  'app.state_regulators has index state_regulators_search_idx on (search_vector)');
select has_index('app', 'products', 'products_search_idx', array['search_vector']::name[],
  'app.products has index products_search_idx on (search_vector)');
select index_is_type('app', 'clients', 'clients_search_idx', 'gin', 'clients_search_idx is a GIN index');
select index_is_type('app', 'state_regulators', 'state_regulators_search_idx', 'gin', 'state_regulators_search_idx is a GIN index');
select index_is_type('app', 'products', 'products_search_idx', 'gin', 'products_search_idx is a GIN index');

-- Select values are text, never enums ------------------------------------------
select is_empty(
  $$select typname::text from pg_type where typnamespace = 'app'::regnamespace and typtype = 'e'$$,
  'schema app defines no enum types');
select is_empty(
  $$select a.attrelid::regclass::text || '.' || a.attname
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_type t on t.oid = a.atttypid
      left join pg_type et on et.oid = t.typelem and t.typcategory = 'A'
     where c.relnamespace = 'app'::regnamespace and a.attnum > 0 and not a.attisdropped
       and (t.typtype in ('e', 'd') or et.typtype in ('e', 'd'))$$,
  'no column of schema app has an enum or domain type (or an array of one)');
select results_eq(
  $$select s.rel::text, s.col::text collate "default", format_type(a.atttypid, a.atttypmod)
      from (values ('app.clients'::regclass, 'status'::name),
                   ('app.state_regulators', 'state'), ('app.state_regulators', 'agency_type'),
                   ('app.state_regulators', 'submission_portal'), ('app.state_regulators', 'renewal_cycle'),
                   ('app.products', 'product_type'), ('app.products', 'signal_word'),
                   ('app.registrations', 'status'), ('app.registrations', 'registration_type')) as s (rel, col)
      left join pg_attribute a on a.attrelid = s.rel and a.attname = s.col
     order by 1, 2$$,
  $$values ('app.clients', 'status', 'text'),
           ('app.products', 'product_type', 'text'), ('app.products', 'signal_word', 'text'),
           ('app.registrations', 'registration_type', 'text'), ('app.registrations', 'status', 'text'),
           ('app.state_regulators', 'agency_type', 'text'), ('app.state_regulators', 'renewal_cycle', 'text'),
           ('app.state_regulators', 'state', 'text'), ('app.state_regulators', 'submission_portal', 'text')$$,
  'every single-select column of schema app is plain text');

select * from finish();
ROLLBACK;
