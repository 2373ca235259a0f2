--! Previous: sha1:f32567d446965bcfc5007ce08ec62c02f9529cb5
--! Hash: sha1:e9d4477665b868af388f851129c081294af1ce16
--! Message: The SQLite example's target schema pfa_app; merged columns may not take the merge's working column names

/*
 * The SQLite source's example target, schema pfa_app (a Prisma-style
 * application's nine tables and twelve foreign keys), registered in the
 * entity catalogue and wired for target checksums and the audit trail.
 * The file is idempotent (it drops the schema and the pfa_ entities
 * first); its header says what each table keeps.
 */
--! Included examples/pfa_app.sql
/*
 * The SQLite source's example target: a Prisma-style application that kept
 * its data in a SQLite file (tools/generator/sqlite.ts writes it at any
 * size; examples/pfa-app/mapping.json maps it) moves into schema pfa_app.
 * Nine tables keyed by uuid like app's, their twelve foreign keys as uuid
 * links with an explicit on delete, each table keeping the SQLite row's key
 * as text in sqlite_id (an INTEGER key as its decimal digits), registered
 * in the entity catalogue as its source_key_column with the conversions and
 * links the merge fills, and wired for target checksums and the audit trail
 * by sync.attach_target_triggers.
 *
 * Included by a committed migration. It is idempotent: it drops the schema
 * and the pfa_ entities first. sqlite_id keeps the SQLite row's key where
 * users look for it; the pipeline reads identity from sync.id_map only.
 */
drop schema if exists pfa_app cascade;
delete from sync.entities where entity like 'pfa\_%';

create schema pfa_app;
comment on schema pfa_app is E'The example SQLite source''s target (tools/generator/sqlite.ts, examples/pfa-app): a Prisma-style application''s users, organizations, AI providers, API configurations, data source mappings and its large pfa_records table, moved from its SQLite file.';

-- Tables nothing links from ----------------------------------------------------

create table pfa_app.users (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  email text,
  name text,
  role text,
  is_active boolean not null default false,
  avatar_sha256 text,
  app_created_at timestamptz,
  app_updated_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.users is E'The application''s users (SQLite table users).';
comment on column pfa_app.users.id is E'Primary key, stable across syncs.';
comment on column pfa_app.users.sqlite_id is E'The SQLite row''s key (users.id, a cuid), kept where users look for it (sync.entities.source_key_column); identity is the id map''s.';
comment on column pfa_app.users.email is E'Sign-in email, unique in the application.';
comment on column pfa_app.users.name is E'Display name.';
comment on column pfa_app.users.role is E'member, admin or support.';
comment on column pfa_app.users.is_active is E'Whether the user may sign in (SQLite 0/1); false when the application stored neither (a field problem says so).';
comment on column pfa_app.users.avatar_sha256 is E'SHA-256 of the avatar image, hex (a BLOB in SQLite).';
comment on column pfa_app.users.app_created_at is E'When the user signed up in the application (epoch milliseconds in SQLite).';
comment on column pfa_app.users.app_updated_at is E'When the application last changed the user (epoch milliseconds in SQLite).';
comment on column pfa_app.users.open_problem_count is E'Open field problems of the row (sync.field_problems): what landed empty or was flagged.';
comment on column pfa_app.users.created_at is E'When the row was created here.';
comment on column pfa_app.users.updated_at is E'When the row last changed here.';
comment on column pfa_app.users.deleted_at is E'When the row disappeared from the SQLite file (soft delete); null while present.';

create table pfa_app.organizations (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  name text,
  slug text,
  plan text,
  settings text,
  app_created_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.organizations is E'The application''s tenants (SQLite table organizations).';
comment on column pfa_app.organizations.id is E'Primary key, stable across syncs.';
comment on column pfa_app.organizations.sqlite_id is E'The SQLite row''s key (organizations.id, a cuid): the source key.';
comment on column pfa_app.organizations.name is E'Organization name.';
comment on column pfa_app.organizations.slug is E'URL name, unique in the application.';
comment on column pfa_app.organizations.plan is E'free, team, business or enterprise.';
comment on column pfa_app.organizations.settings is E'Settings as the application wrote them: JSON text, checked to parse (a field problem when it does not).';
comment on column pfa_app.organizations.app_created_at is E'When the organization was created in the application.';
comment on column pfa_app.organizations.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.organizations.created_at is E'When the row was created here.';
comment on column pfa_app.organizations.updated_at is E'When the row last changed here.';
comment on column pfa_app.organizations.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

create table pfa_app.ai_providers (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  name text,
  provider text,
  model text,
  base_url text,
  is_enabled boolean not null default false,
  max_tokens integer,
  temperature numeric(12,2),
  app_created_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.ai_providers is E'The AI model providers the application can call (SQLite table ai_providers, INTEGER keys).';
comment on column pfa_app.ai_providers.id is E'Primary key, stable across syncs.';
comment on column pfa_app.ai_providers.sqlite_id is E'The SQLite row''s INTEGER key as decimal text: the source key.';
comment on column pfa_app.ai_providers.name is E'Name shown to users.';
comment on column pfa_app.ai_providers.provider is E'The vendor: openai, anthropic, mistral, ollama, azure_openai, google.';
comment on column pfa_app.ai_providers.model is E'The model asked for.';
comment on column pfa_app.ai_providers.base_url is E'The API''s base URL; null for the vendor''s default.';
comment on column pfa_app.ai_providers.is_enabled is E'Whether organizations may choose it.';
comment on column pfa_app.ai_providers.max_tokens is E'Largest completion asked for, in tokens.';
comment on column pfa_app.ai_providers.temperature is E'Sampling temperature (a REAL in SQLite, to two decimals here).';
comment on column pfa_app.ai_providers.app_created_at is E'When it was added (SQLite''s "YYYY-MM-DD HH:MM:SS" text, UTC).';
comment on column pfa_app.ai_providers.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.ai_providers.created_at is E'When the row was created here.';
comment on column pfa_app.ai_providers.updated_at is E'When the row last changed here.';
comment on column pfa_app.ai_providers.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

-- Tables linking to those -------------------------------------------------------

create table pfa_app.user_organizations (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  user_id uuid references pfa_app.users (id) on delete cascade,
  organization_id uuid references pfa_app.organizations (id) on delete cascade,
  role text,
  joined_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.user_organizations is E'Who belongs to which organization, with which role (SQLite table user_organizations, INTEGER keys).';
comment on column pfa_app.user_organizations.id is E'Primary key, stable across syncs.';
comment on column pfa_app.user_organizations.sqlite_id is E'The SQLite row''s INTEGER key as decimal text: the source key.';
comment on column pfa_app.user_organizations.user_id is E'The member (user_id).';
comment on column pfa_app.user_organizations.organization_id is E'The organization (organization_id).';
comment on column pfa_app.user_organizations.role is E'owner, admin, member or viewer.';
comment on column pfa_app.user_organizations.joined_at is E'When the user joined the organization.';
comment on column pfa_app.user_organizations.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.user_organizations.created_at is E'When the row was created here.';
comment on column pfa_app.user_organizations.updated_at is E'When the row last changed here.';
comment on column pfa_app.user_organizations.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

create table pfa_app.organization_configs (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  organization_id uuid references pfa_app.organizations (id) on delete cascade,
  default_ai_provider_id uuid references pfa_app.ai_providers (id) on delete set null,
  timezone text,
  fiscal_year_start date,
  features text[] not null default '{}',
  app_updated_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.organization_configs is E'Each organization''s configuration (SQLite table organization_configs).';
comment on column pfa_app.organization_configs.id is E'Primary key, stable across syncs.';
comment on column pfa_app.organization_configs.sqlite_id is E'The SQLite row''s key (a cuid): the source key.';
comment on column pfa_app.organization_configs.organization_id is E'The organization configured.';
comment on column pfa_app.organization_configs.default_ai_provider_id is E'The AI provider used unless another is chosen.';
comment on column pfa_app.organization_configs.timezone is E'IANA time zone of the organization''s reports.';
comment on column pfa_app.organization_configs.fiscal_year_start is E'First day of the fiscal year (ISO date text in SQLite).';
comment on column pfa_app.organization_configs.features is E'Features switched on (a JSON list of strings in SQLite).';
comment on column pfa_app.organization_configs.app_updated_at is E'When the application last changed the configuration.';
comment on column pfa_app.organization_configs.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.organization_configs.created_at is E'When the row was created here.';
comment on column pfa_app.organization_configs.updated_at is E'When the row last changed here.';
comment on column pfa_app.organization_configs.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

create table pfa_app.api_configurations (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  organization_id uuid references pfa_app.organizations (id) on delete cascade,
  ai_provider_id uuid references pfa_app.ai_providers (id) on delete restrict,
  name text,
  api_key_hint text,
  rate_limit_per_minute integer,
  is_active boolean not null default false,
  app_created_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.api_configurations is E'API keys organizations hold for AI providers, without the secret (SQLite table api_configurations).';
comment on column pfa_app.api_configurations.id is E'Primary key, stable across syncs.';
comment on column pfa_app.api_configurations.sqlite_id is E'The SQLite row''s key (a cuid): the source key.';
comment on column pfa_app.api_configurations.organization_id is E'The organization holding the key.';
comment on column pfa_app.api_configurations.ai_provider_id is E'The provider the key is for; a provider in use is not deleted.';
comment on column pfa_app.api_configurations.name is E'What the organization calls the key.';
comment on column pfa_app.api_configurations.api_key_hint is E'The key''s last four characters, to recognize it; the key itself is never exported.';
comment on column pfa_app.api_configurations.rate_limit_per_minute is E'Requests a minute the key may make.';
comment on column pfa_app.api_configurations.is_active is E'Whether the key is in use.';
comment on column pfa_app.api_configurations.app_created_at is E'When the key was added in the application.';
comment on column pfa_app.api_configurations.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.api_configurations.created_at is E'When the row was created here.';
comment on column pfa_app.api_configurations.updated_at is E'When the row last changed here.';
comment on column pfa_app.api_configurations.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

create table pfa_app.data_source_mappings (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  organization_id uuid references pfa_app.organizations (id) on delete cascade,
  api_configuration_id uuid references pfa_app.api_configurations (id) on delete set null,
  name text,
  source_type text,
  schedule text,
  last_synced_at timestamptz,
  config text,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.data_source_mappings is E'The feeds an organization imports records from (SQLite table data_source_mappings).';
comment on column pfa_app.data_source_mappings.id is E'Primary key, stable across syncs.';
comment on column pfa_app.data_source_mappings.sqlite_id is E'The SQLite row''s key (a cuid): the source key.';
comment on column pfa_app.data_source_mappings.organization_id is E'The organization importing.';
comment on column pfa_app.data_source_mappings.api_configuration_id is E'The API key the feed''s AI steps use, if any.';
comment on column pfa_app.data_source_mappings.name is E'The feed''s name.';
comment on column pfa_app.data_source_mappings.source_type is E'csv, api, spreadsheet or erp.';
comment on column pfa_app.data_source_mappings.schedule is E'Cron expression of the import, if scheduled.';
comment on column pfa_app.data_source_mappings.last_synced_at is E'When the feed last imported (epoch seconds in SQLite).';
comment on column pfa_app.data_source_mappings.config is E'The feed''s settings: JSON text, checked to parse.';
comment on column pfa_app.data_source_mappings.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.data_source_mappings.created_at is E'When the row was created here.';
comment on column pfa_app.data_source_mappings.updated_at is E'When the row last changed here.';
comment on column pfa_app.data_source_mappings.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

create table pfa_app.field_configurations (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  data_source_mapping_id uuid references pfa_app.data_source_mappings (id) on delete cascade,
  field_name text,
  field_type text,
  is_required boolean not null default false,
  field_position integer,
  default_value text,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.field_configurations is E'The fields of each feed and how they are read (SQLite table field_configurations, INTEGER keys).';
comment on column pfa_app.field_configurations.id is E'Primary key, stable across syncs.';
comment on column pfa_app.field_configurations.sqlite_id is E'The SQLite row''s INTEGER key as decimal text: the source key.';
comment on column pfa_app.field_configurations.data_source_mapping_id is E'The feed the field belongs to.';
comment on column pfa_app.field_configurations.field_name is E'The field''s name in the feed.';
comment on column pfa_app.field_configurations.field_type is E'string, number, date, boolean or currency.';
comment on column pfa_app.field_configurations.is_required is E'Whether an imported row must have it.';
comment on column pfa_app.field_configurations.field_position is E'The field''s place in the feed, from 1 (position in SQLite; not a target column name: the merge''s working table has a column position of its own).';
comment on column pfa_app.field_configurations.default_value is E'What an imported row without the field gets.';
comment on column pfa_app.field_configurations.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.field_configurations.created_at is E'When the row was created here.';
comment on column pfa_app.field_configurations.updated_at is E'When the row last changed here.';
comment on column pfa_app.field_configurations.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

create table pfa_app.pfa_records (
  id uuid primary key default gen_random_uuid(),
  sqlite_id text not null unique,
  organization_id uuid references pfa_app.organizations (id) on delete cascade,
  data_source_mapping_id uuid references pfa_app.data_source_mappings (id) on delete set null,
  created_by_id uuid references pfa_app.users (id) on delete set null,
  record_date date,
  category text,
  amount numeric(12,2),
  quantity integer,
  status text,
  is_verified boolean not null default false,
  payload text,
  checksum_hex text,
  app_created_at timestamptz,
  app_updated_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table pfa_app.pfa_records is E'The application''s records, dated amounts per organization and feed: its large table (SQLite table pfa_records, INTEGER keys).';
comment on column pfa_app.pfa_records.id is E'Primary key, stable across syncs.';
comment on column pfa_app.pfa_records.sqlite_id is E'The SQLite row''s INTEGER key as decimal text: the source key.';
comment on column pfa_app.pfa_records.organization_id is E'The organization the record belongs to.';
comment on column pfa_app.pfa_records.data_source_mapping_id is E'The feed it was imported by, if any.';
comment on column pfa_app.pfa_records.created_by_id is E'The user who created it, if known.';
comment on column pfa_app.pfa_records.record_date is E'The day the amount is for (ISO date text in SQLite).';
comment on column pfa_app.pfa_records.category is E'labor, materials, equipment, travel, services, overhead or licenses.';
comment on column pfa_app.pfa_records.amount is E'The amount, to the cent (a REAL in SQLite).';
comment on column pfa_app.pfa_records.quantity is E'Units the amount is for.';
comment on column pfa_app.pfa_records.status is E'draft, submitted, approved, rejected or archived.';
comment on column pfa_app.pfa_records.is_verified is E'Whether a reviewer verified it (SQLite 0/1).';
comment on column pfa_app.pfa_records.payload is E'The imported row''s extra data: JSON text, checked to parse.';
comment on column pfa_app.pfa_records.checksum_hex is E'The application''s checksum of the record, hex (an 8-byte BLOB in SQLite).';
comment on column pfa_app.pfa_records.app_created_at is E'When the application created it (epoch milliseconds in SQLite).';
comment on column pfa_app.pfa_records.app_updated_at is E'When the application last changed it (epoch milliseconds in SQLite).';
comment on column pfa_app.pfa_records.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column pfa_app.pfa_records.created_at is E'When the row was created here.';
comment on column pfa_app.pfa_records.updated_at is E'When the row last changed here.';
comment on column pfa_app.pfa_records.deleted_at is E'When the row disappeared from the SQLite file (soft delete).';

-- The foreign keys' indexes: links are resolved and rows deleted by them
create index user_organizations_user_id on pfa_app.user_organizations (user_id);
create index user_organizations_organization_id on pfa_app.user_organizations (organization_id);
create index organization_configs_organization_id on pfa_app.organization_configs (organization_id);
create index organization_configs_default_ai_provider_id on pfa_app.organization_configs (default_ai_provider_id);
create index api_configurations_organization_id on pfa_app.api_configurations (organization_id);
create index api_configurations_ai_provider_id on pfa_app.api_configurations (ai_provider_id);
create index data_source_mappings_organization_id on pfa_app.data_source_mappings (organization_id);
create index data_source_mappings_api_configuration_id on pfa_app.data_source_mappings (api_configuration_id);
create index field_configurations_data_source_mapping_id on pfa_app.field_configurations (data_source_mapping_id);
create index pfa_records_organization_id on pfa_app.pfa_records (organization_id);
create index pfa_records_data_source_mapping_id on pfa_app.pfa_records (data_source_mapping_id);
create index pfa_records_created_by_id on pfa_app.pfa_records (created_by_id);
comment on index pfa_app.user_organizations_user_id is E'Foreign key user_id: memberships of a user.';
comment on index pfa_app.user_organizations_organization_id is E'Foreign key organization_id: members of an organization.';
comment on index pfa_app.organization_configs_organization_id is E'Foreign key organization_id.';
comment on index pfa_app.organization_configs_default_ai_provider_id is E'Foreign key default_ai_provider_id.';
comment on index pfa_app.api_configurations_organization_id is E'Foreign key organization_id.';
comment on index pfa_app.api_configurations_ai_provider_id is E'Foreign key ai_provider_id.';
comment on index pfa_app.data_source_mappings_organization_id is E'Foreign key organization_id.';
comment on index pfa_app.data_source_mappings_api_configuration_id is E'Foreign key api_configuration_id.';
comment on index pfa_app.field_configurations_data_source_mapping_id is E'Foreign key data_source_mapping_id.';
comment on index pfa_app.pfa_records_organization_id is E'Foreign key organization_id: an organization''s records.';
comment on index pfa_app.pfa_records_data_source_mapping_id is E'Foreign key data_source_mapping_id: a feed''s records.';
comment on index pfa_app.pfa_records_created_by_id is E'Foreign key created_by_id: a user''s records.';

create trigger _100_set_updated_at before update on pfa_app.users for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.organizations for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.ai_providers for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.user_organizations for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.organization_configs for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.api_configurations for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.data_source_mappings for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.field_configurations for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on pfa_app.pfa_records for each row execute function app.tg__set_updated_at();

/*
 * The catalogue: what each table takes, how, and where its source key
 * lives. Ranks put every table after the tables it links to.
 */
insert into sync.entities (entity, target_table, merge_rank, attachment_owner_column, source_key_column) values
  ('pfa_users', 'pfa_app.users', 1, null, 'sqlite_id'),
  ('pfa_organizations', 'pfa_app.organizations', 1, null, 'sqlite_id'),
  ('pfa_ai_providers', 'pfa_app.ai_providers', 1, null, 'sqlite_id'),
  ('pfa_user_organizations', 'pfa_app.user_organizations', 2, null, 'sqlite_id'),
  ('pfa_organization_configs', 'pfa_app.organization_configs', 2, null, 'sqlite_id'),
  ('pfa_api_configurations', 'pfa_app.api_configurations', 2, null, 'sqlite_id'),
  ('pfa_data_source_mappings', 'pfa_app.data_source_mappings', 3, null, 'sqlite_id'),
  ('pfa_field_configurations', 'pfa_app.field_configurations', 4, null, 'sqlite_id'),
  ('pfa_records', 'pfa_app.pfa_records', 4, null, 'sqlite_id');
insert into sync.entity_columns (entity, column_name, conversion, required, min_value, max_value, linked_entity) values
  ('pfa_users', 'email', 'text', false, null, null, null),
  ('pfa_users', 'name', 'text', false, null, null, null),
  ('pfa_users', 'role', 'select', false, null, null, null),
  ('pfa_users', 'is_active', 'checkbox', false, null, null, null),
  ('pfa_users', 'avatar_sha256', 'text', false, null, null, null),
  ('pfa_users', 'app_created_at', 'timestamp', false, null, null, null),
  ('pfa_users', 'app_updated_at', 'timestamp', false, null, null, null),
  ('pfa_organizations', 'name', 'text', true, null, null, null),
  ('pfa_organizations', 'slug', 'text', false, null, null, null),
  ('pfa_organizations', 'plan', 'select', false, null, null, null),
  ('pfa_organizations', 'settings', 'text', false, null, null, null),
  ('pfa_organizations', 'app_created_at', 'timestamp', false, null, null, null),
  ('pfa_ai_providers', 'name', 'text', true, null, null, null),
  ('pfa_ai_providers', 'provider', 'select', false, null, null, null),
  ('pfa_ai_providers', 'model', 'text', false, null, null, null),
  ('pfa_ai_providers', 'base_url', 'text', false, null, null, null),
  ('pfa_ai_providers', 'is_enabled', 'checkbox', false, null, null, null),
  ('pfa_ai_providers', 'max_tokens', 'integer', false, null, null, null),
  ('pfa_ai_providers', 'temperature', 'money', false, null, null, null),
  ('pfa_ai_providers', 'app_created_at', 'timestamp', false, null, null, null),
  ('pfa_user_organizations', 'user_id', 'link', false, null, null, 'pfa_users'),
  ('pfa_user_organizations', 'organization_id', 'link', false, null, null, 'pfa_organizations'),
  ('pfa_user_organizations', 'role', 'select', false, null, null, null),
  ('pfa_user_organizations', 'joined_at', 'timestamp', false, null, null, null),
  ('pfa_organization_configs', 'organization_id', 'link', false, null, null, 'pfa_organizations'),
  ('pfa_organization_configs', 'default_ai_provider_id', 'link', false, null, null, 'pfa_ai_providers'),
  ('pfa_organization_configs', 'timezone', 'text', false, null, null, null),
  ('pfa_organization_configs', 'fiscal_year_start', 'date', false, null, null, null),
  ('pfa_organization_configs', 'features', 'multi_select', false, null, null, null),
  ('pfa_organization_configs', 'app_updated_at', 'timestamp', false, null, null, null),
  ('pfa_api_configurations', 'organization_id', 'link', false, null, null, 'pfa_organizations'),
  ('pfa_api_configurations', 'ai_provider_id', 'link', false, null, null, 'pfa_ai_providers'),
  ('pfa_api_configurations', 'name', 'text', false, null, null, null),
  ('pfa_api_configurations', 'api_key_hint', 'text', false, null, null, null),
  ('pfa_api_configurations', 'rate_limit_per_minute', 'integer', false, null, null, null),
  ('pfa_api_configurations', 'is_active', 'checkbox', false, null, null, null),
  ('pfa_api_configurations', 'app_created_at', 'timestamp', false, null, null, null),
  ('pfa_data_source_mappings', 'organization_id', 'link', false, null, null, 'pfa_organizations'),
  ('pfa_data_source_mappings', 'api_configuration_id', 'link', false, null, null, 'pfa_api_configurations'),
  ('pfa_data_source_mappings', 'name', 'text', false, null, null, null),
  ('pfa_data_source_mappings', 'source_type', 'select', false, null, null, null),
  ('pfa_data_source_mappings', 'schedule', 'text', false, null, null, null),
  ('pfa_data_source_mappings', 'last_synced_at', 'timestamp', false, null, null, null),
  ('pfa_data_source_mappings', 'config', 'text', false, null, null, null),
  ('pfa_field_configurations', 'data_source_mapping_id', 'link', false, null, null, 'pfa_data_source_mappings'),
  ('pfa_field_configurations', 'field_name', 'text', false, null, null, null),
  ('pfa_field_configurations', 'field_type', 'select', false, null, null, null),
  ('pfa_field_configurations', 'is_required', 'checkbox', false, null, null, null),
  ('pfa_field_configurations', 'field_position', 'integer', false, null, null, null),
  ('pfa_field_configurations', 'default_value', 'text', false, null, null, null),
  ('pfa_records', 'organization_id', 'link', false, null, null, 'pfa_organizations'),
  ('pfa_records', 'data_source_mapping_id', 'link', false, null, null, 'pfa_data_source_mappings'),
  ('pfa_records', 'created_by_id', 'link', false, null, null, 'pfa_users'),
  ('pfa_records', 'record_date', 'date', false, null, null, null),
  ('pfa_records', 'category', 'select', false, null, null, null),
  ('pfa_records', 'amount', 'money', false, null, null, null),
  ('pfa_records', 'quantity', 'integer', false, null, null, null),
  ('pfa_records', 'status', 'select', false, null, null, null),
  ('pfa_records', 'is_verified', 'checkbox', false, null, null, null),
  ('pfa_records', 'payload', 'text', false, null, null, null),
  ('pfa_records', 'checksum_hex', 'text', false, null, null, null),
  ('pfa_records', 'app_created_at', 'timestamp', false, null, null, null),
  ('pfa_records', 'app_updated_at', 'timestamp', false, null, null, null);

select sync.attach_target_triggers(e.entity) from sync.entities e where e.entity like 'pfa\_%' order by e.entity;

-- least privilege, as for app and wallet_app: applications read and write, the sync and readers read
grant usage on schema pfa_app to airlift_app, airlift_readonly, airlift_sync;
grant select, insert, update, delete on all tables in schema pfa_app to airlift_app;
grant select on all tables in schema pfa_app to airlift_readonly, airlift_sync;
--! EndIncluded examples/pfa_app.sql
--! Included grants/_all.sql
-- The grants stage, in dependency order (paths are relative to migrations/fixtures/).
--! Included grants/privileges.sql
/*
 * Least privilege, re-creatable: included after the objects it grants on
 * (the last stage of all.sql; a migration that creates or re-creates
 * objects includes grants/_all.sql again). The roles themselves are made by
 * sql/bootstrap_roles.sql, outside the migrations.
 *
 *   airlift_owner     owns every schema and object, runs migrations
 *   airlift_sync      the worker: reads app, writes staging and sync,
 *                     calls the merge functions; no DDL, no audit
 *   airlift_app       applications: read and write app, read report
 *   airlift_readonly  reads app and report
 *   airlift_auditor   reads audit (and the sync history it refers to)
 */
revoke all on schema audit, sync, app, staging, report from public;
revoke all on all tables in schema audit, sync, app, staging, report from public;
revoke execute on all functions in schema audit, sync, app, staging, report from public;
alter default privileges revoke execute on functions from public;

grant usage on schema app, report to airlift_app, airlift_readonly, airlift_sync;
grant usage on schema sync, staging to airlift_sync;
grant usage on schema audit, sync to airlift_auditor;

grant select, insert, update, delete on all tables in schema app to airlift_app;
grant select on all tables in schema app to airlift_readonly, airlift_sync;
grant select on all tables in schema report to airlift_app, airlift_readonly, airlift_sync;
grant select, insert, update, delete on all tables in schema staging to airlift_sync;
-- stage_page numbers each page from staging.page_seq as the caller
grant usage on all sequences in schema staging to airlift_sync;
grant select, insert, update, delete on all tables in schema sync to airlift_sync;
revoke insert, update, delete on sync.status_transitions from airlift_sync;
grant select on all tables in schema audit to airlift_auditor;
grant select on all tables in schema sync to airlift_auditor;

grant execute on function report.refresh_materialized_views() to airlift_sync;
-- The sync worker calls the sync functions (staging, merge, sweep, run
-- bookkeeping) and the cell conversions they use. Trigger functions among
-- them cannot be called directly, so granting the whole schema is safe.
grant execute on all functions in schema sync to airlift_sync;

alter default privileges in schema app grant select, insert, update, delete on tables to airlift_app;
alter default privileges in schema app grant select on tables to airlift_readonly, airlift_sync;
alter default privileges in schema report grant select on tables to airlift_app, airlift_readonly, airlift_sync;
alter default privileges in schema staging grant select, insert, update, delete on tables to airlift_sync;
alter default privileges in schema sync grant select, insert, update, delete on tables to airlift_sync;
alter default privileges in schema sync grant select on tables to airlift_auditor;
alter default privileges in schema audit grant select on tables to airlift_auditor;
--! EndIncluded grants/privileges.sql
--! EndIncluded grants/_all.sql

-- The merge and the canonical form name their own working columns next to
-- the target's (merge_candidates.position, .checksum, ...): a target column
-- of the same name would be taken for the working one. Refused by name
-- when the column is registered, not found later as a wrong result.
alter table sync.entity_columns drop constraint if exists entity_columns_name_not_reserved;
alter table sync.entity_columns add constraint entity_columns_name_not_reserved check (
  column_name <> all (array['position', 'source_key', 'row_id', 'row_is_new', 'fetched_this_run', 'checksum', 'held_deleted',
                            'problems', 'blocking_problems', 'problem_count', 'canonical', 'raw_values']));
comment on constraint entity_columns_name_not_reserved on sync.entity_columns is 'A merged column may not take a name the merge or the canonical form uses for its own working columns (position, source_key, row_id, checksum, problems, canonical, ...): it would be read as the working column. Rename the target column.';
