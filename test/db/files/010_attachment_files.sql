-- Attachment files kept by content: the download ledger and the store's
-- catalogue (sync.record_attachment_downloads), rows linked to their files
-- (sync.link_attachment_files) as the run's change, what is still to
-- download (sync.attachments_missing_files), verification's database side
-- (sync.attachment_file_problems), files attached and removed here queued
-- for the push (sync.attach_file, sync.remove_attachment, the capture
-- trigger, sync.claim_attachment_outbox, sync.finish_attachment_push), and
-- the collection of unreferenced files (sync.unreferenced_files,
-- sync.forget_stored_files), including a rolled-back run's files.
--
-- Runs: 9700 full pull, 9701 push, 9702 full pull rolled back, 9703 the rollback.
BEGIN;
select plan(36);

select count(*) from tests.seed_delta_mapping(array['clients', 'products'], source_id => 'appFilesTest00001');
select tests.open_run('full', 9700, '{"base_id": "appFilesTest00001"}');
select tests.open_run('push', 9701, '{"base_id": "appFilesTest00001"}');

-- a product with two files in Airtable, written by the pull (run 9700)
select set_config('airlift.run_id', '9700', true), set_config('airlift.actor', 'worker', true);
insert into app.clients (id, airtable_id, name) values ('17000000-0000-4000-8000-000000000100', 'recFILESCLIENT000', 'Alpha Labs');
insert into app.products (id, airtable_id, name, client_id) values
  ('17000000-0000-4000-8000-000000000300', 'recFILESPRODUCT00', 'Weed Away', '17000000-0000-4000-8000-000000000100');
insert into app.attachments (id, airtable_attachment_id, product_id, field_name, position, filename, size_bytes, mime_type, url, url_fetched_at) values
  ('17000000-0000-4000-8000-000000000501', 'attFILESLABEL0001', '17000000-0000-4000-8000-000000000300', 'label', 0, 'label.pdf', 5, 'application/pdf', 'https://content.example/1', now()),
  ('17000000-0000-4000-8000-000000000502', 'attFILESLABEL0002', '17000000-0000-4000-8000-000000000300', 'label', 1, 'scan.png', 99, 'image/png', 'https://content.example/2', now());

select is((select legacy_id from sync.id_map where entity_type = 'products' and uuid_id = '17000000-0000-4000-8000-000000000300'),
          'recFILESPRODUCT00', 'the product is in the id map under its Airtable id');

-- what is still to download: both files, with their record and field in Airtable
select set_eq(
  $$select attachment_key, source_table, record_key, field_id, field_name, declared_size from sync.attachments_missing_files('appFilesTest00001')$$,
  $$values ('attFILESLABEL0001', 'tblTtyLvxr2Ta4SfO', 'recFILESPRODUCT00', 'fldm98vOtlVmdetoO', 'label', 5::bigint),
           ('attFILESLABEL0002', 'tblTtyLvxr2Ta4SfO', 'recFILESPRODUCT00', 'fldm98vOtlVmdetoO', 'label', 99::bigint)$$,
  'attachments_missing_files lists both files, with the record, table and field to read them again');
select is((select count(*)::int from sync.attachments_missing_files('appOtherBase00001')), 0, 'another source has nothing to download');

-- the first downloads: one file stored (served as another type), one failed
select is(sync.record_attachment_downloads(9700, 'appFilesTest00001', jsonb_build_array(
  jsonb_build_object('attachment_key', 'attFILESLABEL0001', 'declared_size', 5, 'declared_type', 'application/pdf',
                     'sha256', encode(sha256('hello'), 'hex'), 'size_bytes', 5, 'content_type', 'application/octet-stream',
                     'store_kind', 'local', 'store_key', 'sha256/2c/f2/' || encode(sha256('hello'), 'hex')),
  jsonb_build_object('attachment_key', 'attFILESLABEL0002', 'declared_size', 99, 'declared_type', 'image/png', 'error', 'HTTP 503 from https://content.example/…'))),
  2::bigint, 'record_attachment_downloads records both outcomes');
select results_eq(
  $$select sha256, size_bytes, store_kind, stored_by_run_id from sync.stored_files$$,
  $$values (encode(sha256('hello'), 'hex'), 5::bigint, 'local'::text, 9700::bigint)$$,
  'the stored file enters the catalogue once, with the run that stored it');
select results_eq(
  $$select attachment_key, sha256 is not null, attempts, last_error, mismatch from sync.attachment_downloads order by attachment_key$$,
  $$values ('attFILESLABEL0001'::text, true, 0, null::text, 'declared type application/pdf, the file was served as application/octet-stream'::text),
           ('attFILESLABEL0002'::text, false, 1, 'HTTP 503 from https://content.example/…'::text, null::text)$$,
  'the ledger keeps the file (and how it differs from what was declared) and the failure with its error and one attempt');
select is((select sha256 from app.attachments where id = '17000000-0000-4000-8000-000000000501'), null,
          'recording a download does not write the row (the merge and the end of the run link them)');

-- a failure never undoes a success; a second failure counts another attempt
select sync.record_attachment_downloads(9700, 'appFilesTest00001', jsonb_build_array(
  jsonb_build_object('attachment_key', 'attFILESLABEL0001', 'declared_size', 5, 'error', 'HTTP 410'),
  jsonb_build_object('attachment_key', 'attFILESLABEL0002', 'declared_size', 99, 'error', 'HTTP 410 (also with a fresh URL)')));
select results_eq(
  $$select attachment_key, sha256 is not null, attempts from sync.attachment_downloads order by attachment_key$$,
  $$values ('attFILESLABEL0001'::text, true, 0), ('attFILESLABEL0002'::text, false, 2)$$,
  'a later failure keeps the stored file; the failing one counts two attempts');
select throws_ok(
  $$select sync.record_attachment_downloads(9700, 'appFilesTest00001', '[{"attachment_key": "attFILESLABEL0001"}]')$$,
  '22023', 'each download result names its attachment and either its file (sha256) or its error',
  'a result with neither a file nor an error is refused');

-- linking: as the run's change, audited with it, not queued for the push
select is(sync.link_attachment_files(9700, 'appFilesTest00001'), 1::bigint, 'link_attachment_files links the one downloaded file');
select results_eq(
  $$select sha256, store_key, stored_size_bytes, stored_mime_type from app.attachments where id = '17000000-0000-4000-8000-000000000501'$$,
  $$values (encode(sha256('hello'), 'hex'), 'sha256/2c/f2/' || encode(sha256('hello'), 'hex'), 5::bigint, 'application/octet-stream'::text)$$,
  'the row names its file, its store key, the stored size and the type it was served with');
select is(sync.link_attachment_files(9700, 'appFilesTest00001'), 0::bigint, 'linking again writes nothing');
select is((select count(*)::int from audit.changes where table_name = 'app.attachments' and op = 'UPDATE' and run_id = 9700
             and new_values ->> 'sha256' = encode(sha256('hello'), 'hex')), 1, 'the link is audited once, with the run');
select is((select count(*)::int from sync.attachment_outbox), 0, 'the sync''s own writes are not queued for the push');
select set_eq($$select attachment_key from sync.attachments_missing_files('appFilesTest00001')$$, array['attFILESLABEL0002'],
              'only the failed file is still to download');

-- verification's database side
select set_eq(
  $$select airtable_attachment_id, problem from sync.attachment_file_problems()$$,
  $$values ('attFILESLABEL0002'::text, 'not downloaded (2 attempts, last: HTTP 410 (also with a fresh URL))'::text)$$,
  'attachment_file_problems names the file not downloaded, with its attempts and last error');
select is(sync.record_file_verification(jsonb_build_array(jsonb_build_object('sha256', encode(sha256('hello'), 'hex'), 'problem', 'corrupt: ...'))),
          1::bigint, 'record_file_verification records what verify found');
select ok((select 'attFILESLABEL0001' = any (array_agg(airtable_attachment_id)) from sync.attachment_file_problems()),
          'a file verify found corrupt is a problem of every row that names it');
select sync.record_file_verification(jsonb_build_array(jsonb_build_object('sha256', encode(sha256('hello'), 'hex'), 'problem', null)));
update sync.attachment_downloads set declared_size = 6 where attachment_key = 'attFILESLABEL0001';
select set_config('airlift.run_id', '9700', true);
update app.attachments set size_bytes = 6 where id = '17000000-0000-4000-8000-000000000501';
select is((select problem from sync.attachment_file_problems() where airtable_attachment_id = 'attFILESLABEL0001'),
          'Airtable declares 6 bytes, the stored file has 5', 'a stored file of another size than Airtable declares is a problem');
update app.attachments set size_bytes = 5 where id = '17000000-0000-4000-8000-000000000501';

-- a person attaches a file here: queued for upload, its metadata from the store
select set_config('airlift.run_id', '', true), set_config('airlift.actor', 'alice', true);
select sync.register_stored_file(encode(sha256('new file'), 'hex'), 8, 'text/plain', 'local', 'sha256/aa/bb/' || encode(sha256('new file'), 'hex'));
select throws_ok(
  $$select sync.attach_file('products', '17000000-0000-4000-8000-000000000300', 'label', 'x.txt', encode(sha256('not stored'), 'hex'))$$,
  '23503', null, 'attaching a file the store does not hold is refused');
select throws_ok(
  $$select sync.attach_file('clients', '17000000-0000-4000-8000-000000000100', 'label', 'x.txt', encode(sha256('new file'), 'hex'))$$,
  '22023', null, 'an entity without attachments is refused');
select lives_ok(
  $$select sync.attach_file('products', '17000000-0000-4000-8000-000000000300', 'label', 'notes.txt', encode(sha256('new file'), 'hex'))$$,
  'a stored file is attached to a product''s label');
select results_eq(
  $$select position, size_bytes, mime_type, store_key is not null, airtable_attachment_id from app.attachments where filename = 'notes.txt'$$,
  $$values (2::smallint, 8::bigint, 'text/plain'::text, true, null::text)$$,
  'the new row goes at the end of the cell, with the stored file''s size, type and key, and no Airtable id yet');
select results_eq(
  $$select operation, entity, owner_row_id, field_name, status, changed_by from sync.attachment_outbox$$,
  $$values ('upload'::text, 'products'::text, '17000000-0000-4000-8000-000000000300'::uuid, 'label'::text, 'pending'::text, 'alice'::text)$$,
  'it is queued for upload, with the actor');

-- a person removes a file Airtable has: queued for removal
select ok(sync.remove_attachment('17000000-0000-4000-8000-000000000502'), 'remove_attachment soft-deletes a live attachment');
select results_eq(
  $$select operation, airtable_attachment_id, status from sync.attachment_outbox where operation = 'remove'$$,
  $$values ('remove'::text, 'attFILESLABEL0002'::text, 'pending'::text)$$,
  'removing a file Airtable has queues its removal');

-- the push claims both, with the record and field in Airtable and the file
select set_eq(
  $$select operation, record_key, field_id, coalesce(filename, '') as f, coalesce(sha256, '') as s from sync.claim_attachment_outbox(9701)$$,
  $$values ('upload'::text, 'recFILESPRODUCT00'::text, 'fldm98vOtlVmdetoO'::text, 'notes.txt'::text, encode(sha256('new file'), 'hex')),
           ('remove', 'recFILESPRODUCT00', 'fldm98vOtlVmdetoO', 'scan.png', '')$$,
  'claim_attachment_outbox hands the push each entry with the record, field and file');
select is((select count(*)::int from sync.attachment_outbox where status = 'in_flight' and pushed_by_run_id = 9701), 2, 'both are in flight with the push run');
select is(sync.finish_attachment_push(9701, (
  select jsonb_agg(case when operation = 'upload'
                        then jsonb_build_object('outbox_id', id, 'outcome', 'pushed', 'airtable_attachment_id', 'attFILESUPLOAD001', 'url', 'https://content.example/3', 'size_bytes', 8, 'content_type', 'text/plain')
                        else jsonb_build_object('outbox_id', id, 'outcome', 'pushed') end)
  from sync.attachment_outbox)), 2::bigint, 'finish_attachment_push closes both entries');
select is((select airtable_attachment_id from app.attachments where filename = 'notes.txt'), 'attFILESUPLOAD001',
          'the uploaded file''s row takes the Airtable attachment id');
select is((select count(*)::int from sync.attachment_outbox where status <> 'pushed'), 0, 'taking the id is the run''s change: nothing new is queued');
select ok((select sha256 is not null from sync.attachment_downloads where attachment_key = 'attFILESUPLOAD001'),
          'the uploaded file is in the ledger as stored: the next pull does not download it again');

-- collection: run 9702 downloads a file only it references, then is rolled back
select tests.open_run('full', 9702, '{"base_id": "appFilesTest00001"}');
select set_config('airlift.run_id', '9702', true), set_config('airlift.actor', 'worker', true);
select sync.record_attachment_downloads(9702, 'appFilesTest00001', jsonb_build_array(
  jsonb_build_object('attachment_key', 'attFILESLABEL0003', 'declared_size', 4, 'sha256', encode(sha256('temp'), 'hex'), 'size_bytes', 4,
                     'store_kind', 'local', 'store_key', 'sha256/cc/dd/' || encode(sha256('temp'), 'hex'))));
insert into app.attachments (id, airtable_attachment_id, product_id, field_name, position, filename, size_bytes)
values ('17000000-0000-4000-8000-000000000503', 'attFILESLABEL0003', '17000000-0000-4000-8000-000000000300', 'label', 3, 'temp.pdf', 4);
select sync.link_attachment_files(9702, 'appFilesTest00001');
update sync.stored_files set stored_at = now() - interval '2 hours';
select is((select count(*)::int from sync.unreferenced_files()), 0, 'every stored file is referenced by a row');
select tests.open_run('rollback', 9703, '{"rolls_back": 9702}');
select set_config('airlift.run_id', '9703', true);
delete from app.attachments where id = '17000000-0000-4000-8000-000000000503';
update sync.runs set status = 'completed', finished_at = now() where id = 9702;
update sync.runs set status = 'rolled_back' where id = 9702;
select results_eq(
  $$select sha256 from sync.unreferenced_files()$$,
  array[encode(sha256('temp'), 'hex')],
  'after the rollback, the file only the rolled-back run referenced is unreferenced (its audit records do not count)');
select results_eq(
  $$select sha256 from sync.forget_stored_files(array[encode(sha256('temp'), 'hex'), encode(sha256('hello'), 'hex')])$$,
  array[encode(sha256('temp'), 'hex')],
  'forget_stored_files removes only the unreferenced one of the two asked for');
select is((select count(*)::int from sync.attachment_downloads where attachment_key = 'attFILESLABEL0003'), 0,
          'its ledger entry goes with it: an attachment listing it again downloads it again');

select * from finish();
ROLLBACK;
