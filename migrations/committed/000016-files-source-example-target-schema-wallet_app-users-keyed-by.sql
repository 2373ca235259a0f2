--! Previous: sha1:327c6481b43144c38720938ff435a7be55755a44
--! Hash: sha1:725edb278c8c2996bee326bfbfe7b6b2caea71ba
--! Message: Files source example target: schema wallet_app (users keyed by wallet address, opportunities, admin actions, KYC documents) registered in the entity catalogue

/*
 * The files source's example target: a wallet/marketplace application that
 * kept its data in JSON and CSV files (examples/wallet-app/) moves into
 * schema wallet_app. Its own tables, keyed by uuid like app's, each keeping
 * the export's key in a column of its own (a user's wallet address, the
 * other exports' ids), registered in the entity catalogue with their
 * conversions and links, and wired for target checksums and the audit
 * trail by sync.attach_target_triggers. Nothing here is Airtable's: the
 * merge, verification, differentials and rollback read the catalogue.
 */
drop schema if exists wallet_app cascade;
delete from sync.entities where entity like 'wallet\_%';

create schema wallet_app;
comment on schema wallet_app is E'The example files source''s target (examples/wallet-app): a wallet/marketplace application''s users, opportunities, admin actions and KYC documents, moved from its JSON and CSV exports.';

create table wallet_app.users (
  id uuid primary key default gen_random_uuid(),
  wallet_address text not null unique,
  name text,
  email text,
  phone text,
  phone_verified boolean not null default false,
  role text,
  referrer_id uuid references wallet_app.users (id) on delete set null,
  joined_at timestamptz,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint users_wallet_address_format check (wallet_address ~ '^0x[0-9a-f]{40}$'),
  constraint users_name_not_blank check (btrim(name) <> '')
);
comment on table wallet_app.users is E'The app''s users (users.json, an object keyed by wallet address).';
comment on column wallet_app.users.id is E'Primary key, stable across syncs.';
comment on column wallet_app.users.wallet_address is E'The user''s wallet address, lowercase hex: the export''s key (sync.entities.source_key_column).';
comment on column wallet_app.users.name is E'Display name.';
comment on column wallet_app.users.email is E'Email as exported; validation reports, never rewrites, values that are not addresses.';
comment on column wallet_app.users.phone is E'Mobile number as exported (phone.mobile).';
comment on column wallet_app.users.phone_verified is E'Whether the app verified the mobile number (phone.verified).';
comment on column wallet_app.users.role is E'member, creator, reviewer or admin.';
comment on column wallet_app.users.referrer_id is E'The user who referred this one (referrer, a wallet address).';
comment on column wallet_app.users.joined_at is E'When the user signed up (createdAt).';
comment on column wallet_app.users.open_problem_count is E'Open field problems of the row (sync.field_problems): what landed empty or was flagged.';
comment on column wallet_app.users.created_at is E'When the row was created here.';
comment on column wallet_app.users.updated_at is E'When the row last changed here.';
comment on column wallet_app.users.deleted_at is E'When the user disappeared from the export (soft delete); null while present.';

create table wallet_app.opportunities (
  id uuid primary key default gen_random_uuid(),
  source_id text not null unique,
  title text,
  owner_id uuid references wallet_app.users (id) on delete set null,
  amount numeric(12,2),
  currency text,
  status text,
  opens_on date,
  closes_on date,
  tags text[] not null default '{}',
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table wallet_app.opportunities is E'Funding opportunities users post (opportunities.csv).';
comment on column wallet_app.opportunities.id is E'Primary key, stable across syncs.';
comment on column wallet_app.opportunities.source_id is E'The export''s id (opp-...): the source key.';
comment on column wallet_app.opportunities.title is E'Title.';
comment on column wallet_app.opportunities.owner_id is E'The user who posted it (owner, a wallet address).';
comment on column wallet_app.opportunities.amount is E'Amount asked for, in currency.';
comment on column wallet_app.opportunities.currency is E'ISO 4217 currency code.';
comment on column wallet_app.opportunities.status is E'open, funded, closed or draft.';
comment on column wallet_app.opportunities.opens_on is E'First day it takes applications.';
comment on column wallet_app.opportunities.closes_on is E'Last day it takes applications.';
comment on column wallet_app.opportunities.tags is E'Tags (a ;-separated cell in the export).';
comment on column wallet_app.opportunities.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column wallet_app.opportunities.created_at is E'When the row was created here.';
comment on column wallet_app.opportunities.updated_at is E'When the row last changed here.';
comment on column wallet_app.opportunities.deleted_at is E'When it disappeared from the export (soft delete).';

create table wallet_app.admin_actions (
  id uuid primary key default gen_random_uuid(),
  source_id text not null unique,
  acted_at timestamptz,
  admin_id uuid references wallet_app.users (id) on delete set null,
  action text,
  target_user_id uuid references wallet_app.users (id) on delete set null,
  reason text,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table wallet_app.admin_actions is E'What administrators did (admin_logs.jsonl).';
comment on column wallet_app.admin_actions.id is E'Primary key, stable across syncs.';
comment on column wallet_app.admin_actions.source_id is E'The log entry''s id (log-...): the source key.';
comment on column wallet_app.admin_actions.acted_at is E'When the action was taken (at).';
comment on column wallet_app.admin_actions.admin_id is E'The administrator (admin, a wallet address).';
comment on column wallet_app.admin_actions.action is E'What was done (user.suspend, kyc.approve, role.change, ...).';
comment on column wallet_app.admin_actions.target_user_id is E'The user acted on (target, a wallet address).';
comment on column wallet_app.admin_actions.reason is E'The reason given, where the action has one (details.reason).';
comment on column wallet_app.admin_actions.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column wallet_app.admin_actions.created_at is E'When the row was created here.';
comment on column wallet_app.admin_actions.updated_at is E'When the row last changed here.';
comment on column wallet_app.admin_actions.deleted_at is E'When it disappeared from the export (soft delete).';

create table wallet_app.kyc_documents (
  id uuid primary key default gen_random_uuid(),
  source_id text not null unique,
  user_id uuid references wallet_app.users (id) on delete set null,
  document_type text,
  country text,
  status text,
  submitted_at timestamptz,
  verified_at timestamptz,
  document_authentic boolean not null default false,
  face_match boolean not null default false,
  sanctions_screen text,
  provider text,
  open_problem_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table wallet_app.kyc_documents is E'Identity documents users submitted for know-your-customer checks (kyc_documents.json, under documents).';
comment on column wallet_app.kyc_documents.id is E'Primary key, stable across syncs.';
comment on column wallet_app.kyc_documents.source_id is E'The document''s id (kyc-...): the source key.';
comment on column wallet_app.kyc_documents.user_id is E'The user it identifies (user, a wallet address).';
comment on column wallet_app.kyc_documents.document_type is E'passport, national_id, driver_license, ...';
comment on column wallet_app.kyc_documents.country is E'Issuing country, ISO 3166 alpha-2.';
comment on column wallet_app.kyc_documents.status is E'verified, pending or rejected.';
comment on column wallet_app.kyc_documents.submitted_at is E'When it was submitted.';
comment on column wallet_app.kyc_documents.verified_at is E'When it was verified; null unless verified.';
comment on column wallet_app.kyc_documents.document_authentic is E'The provider found the document authentic (checks.document_authentic).';
comment on column wallet_app.kyc_documents.face_match is E'The selfie matched the document (checks.face_match).';
comment on column wallet_app.kyc_documents.sanctions_screen is E'Result of the sanctions screening (checks.sanctions_screen).';
comment on column wallet_app.kyc_documents.provider is E'The identity verification provider (checks.provider).';
comment on column wallet_app.kyc_documents.open_problem_count is E'Open field problems of the row (sync.field_problems).';
comment on column wallet_app.kyc_documents.created_at is E'When the row was created here.';
comment on column wallet_app.kyc_documents.updated_at is E'When the row last changed here.';
comment on column wallet_app.kyc_documents.deleted_at is E'When it disappeared from the export (soft delete).';

create trigger _100_set_updated_at before update on wallet_app.users for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on wallet_app.opportunities for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on wallet_app.admin_actions for each row execute function app.tg__set_updated_at();
create trigger _100_set_updated_at before update on wallet_app.kyc_documents for each row execute function app.tg__set_updated_at();

-- the catalogue: what each table takes, how, and where its source key lives
insert into sync.entities (entity, target_table, merge_rank, attachment_owner_column, source_key_column) values
  ('wallet_users', 'wallet_app.users', 1, null, 'wallet_address'),
  ('wallet_opportunities', 'wallet_app.opportunities', 2, null, 'source_id'),
  ('wallet_admin_actions', 'wallet_app.admin_actions', 2, null, 'source_id'),
  ('wallet_kyc_documents', 'wallet_app.kyc_documents', 2, null, 'source_id');
insert into sync.entity_columns (entity, column_name, conversion, required, min_value, max_value, linked_entity) values
  ('wallet_users', 'name', 'text', true, null, null, null),
  ('wallet_users', 'email', 'text', false, null, null, null),
  ('wallet_users', 'phone', 'text', false, null, null, null),
  ('wallet_users', 'phone_verified', 'checkbox', false, null, null, null),
  ('wallet_users', 'role', 'select', false, null, null, null),
  ('wallet_users', 'referrer_id', 'link', false, null, null, 'wallet_users'),
  ('wallet_users', 'joined_at', 'timestamp', false, null, null, null),
  ('wallet_opportunities', 'title', 'text', true, null, null, null),
  ('wallet_opportunities', 'owner_id', 'link', false, null, null, 'wallet_users'),
  ('wallet_opportunities', 'amount', 'money', false, 0, 9999999999.99, null),
  ('wallet_opportunities', 'currency', 'select', false, null, null, null),
  ('wallet_opportunities', 'status', 'select', false, null, null, null),
  ('wallet_opportunities', 'opens_on', 'date', false, null, null, null),
  ('wallet_opportunities', 'closes_on', 'date', false, null, null, null),
  ('wallet_opportunities', 'tags', 'multi_select', false, null, null, null),
  ('wallet_admin_actions', 'acted_at', 'timestamp', false, null, null, null),
  ('wallet_admin_actions', 'admin_id', 'link', false, null, null, 'wallet_users'),
  ('wallet_admin_actions', 'action', 'select', false, null, null, null),
  ('wallet_admin_actions', 'target_user_id', 'link', false, null, null, 'wallet_users'),
  ('wallet_admin_actions', 'reason', 'text', false, null, null, null),
  ('wallet_kyc_documents', 'user_id', 'link', false, null, null, 'wallet_users'),
  ('wallet_kyc_documents', 'document_type', 'select', false, null, null, null),
  ('wallet_kyc_documents', 'country', 'text', false, null, null, null),
  ('wallet_kyc_documents', 'status', 'select', false, null, null, null),
  ('wallet_kyc_documents', 'submitted_at', 'timestamp', false, null, null, null),
  ('wallet_kyc_documents', 'verified_at', 'timestamp', false, null, null, null),
  ('wallet_kyc_documents', 'document_authentic', 'checkbox', false, null, null, null),
  ('wallet_kyc_documents', 'face_match', 'checkbox', false, null, null, null),
  ('wallet_kyc_documents', 'sanctions_screen', 'text', false, null, null, null),
  ('wallet_kyc_documents', 'provider', 'text', false, null, null, null);

select sync.attach_target_triggers(e.entity) from sync.entities e where e.entity like 'wallet\_%' order by e.entity;

-- least privilege, as for app: applications read and write, the sync and readers read
grant usage on schema wallet_app to airlift_app, airlift_readonly, airlift_sync;
grant select, insert, update, delete on all tables in schema wallet_app to airlift_app;
grant select on all tables in schema wallet_app to airlift_readonly, airlift_sync;
