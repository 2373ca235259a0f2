/**
 * Attachment files kept, against the emulator's content host: a pull
 * downloads every file while its URL is fresh and stores it once per
 * SHA-256; a second pull downloads nothing; expired URLs are read again,
 * 5xx and cut-short downloads retried; a pull killed mid-download and run
 * again leaves every file present exactly once with the right checksum;
 * verification reads every file back and names missing and corrupt ones;
 * files attached and removed here are pushed; gc removes what nothing
 * references; `files get` writes a file out.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileStore } from '../src/files/local-store.ts';
import { collectFiles, findAttachment, storeLocalFile, writeAttachmentFile } from '../src/files/manage.ts';
import { runVerify } from '../src/integrity/verify.ts';
import { runDiff } from '../src/integrity/diff.ts';
import { sha256OfAttachment } from '../tools/emulator/emulator.ts';
import { syncBed, type SyncBed } from './support/sync.ts';
import { runAirlift } from './support/cli.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Row {
  id: string;
  airtable_attachment_id: string;
  size_bytes: string;
  sha256: string | null;
  store_key: string | null;
  filename: string;
}

describe('attachment files', () => {
  let bed: SyncBed;
  let dir: string;
  let store: LocalFileStore;
  const files = () => ({ store, backoffMs: 5 });
  const liveRows = () => bed.sql<Row[]>`select id, airtable_attachment_id, size_bytes, sha256, store_key, filename from app.attachments where deleted_at is null order by airtable_attachment_id`;
  const storedKeys = async () => {
    const keys: string[] = [];
    for await (const f of store.list()) keys.push(f.key);
    return keys;
  };

  beforeAll(async () => {
    bed = await syncBed({ seed: 23, registrations: 24, messiness: 0, emulator: { attachmentContent: true } });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'airlift-files-'));
    store = await LocalFileStore.open(path.join(dir, 'store'));
  });
  afterAll(async () => {
    await bed?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a killed pull leaves no half file, and the next one downloads every file exactly once with the right checksum', async () => {
    const abort = new AbortController();
    const timer = setInterval(() => {
      if (bed.emulator.stats.contentServed >= 3) abort.abort();
    }, 5);
    bed.emulator.stats.contentServed = 0;
    await expect(bed.pull('full', { files: { store, concurrency: 2, backoffMs: 5 }, signal: abort.signal })).rejects.toThrow();
    clearInterval(timer);
    const partial = await storedKeys();
    expect(fs.readdirSync(store.tempDir)).toEqual([]);

    const summary = await bed.pull('full', { files: files() });
    expect(summary.run.status).toBe('completed');
    const rows = await liveRows();
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(row.sha256, `${row.airtable_attachment_id} (${row.filename})`).toBe(sha256OfAttachment(row.airtable_attachment_id, Number(row.size_bytes)));
      expect(row.store_key).toBe(store.keyFor(row.sha256!));
    }
    const keys = await storedKeys();
    expect(keys.sort()).toEqual([...new Set(rows.map((r) => store.keyFor(r.sha256!)))].sort());
    for (const key of partial) expect(keys).toContain(key);
    // downloaded again only what the killed run had not recorded: over
    // both runs, each file was served once, plus at most the two the killed
    // run had in flight
    expect(summary.files!.failed).toBe(0);
    expect(summary.files!.downloaded).toBeLessThanOrEqual(rows.length - partial.length);
    expect(bed.emulator.stats.contentServed).toBeLessThanOrEqual(rows.length + 2);
    const [{ stored }] = await bed.sql<{ stored: number }[]>`select count(*)::int as stored from sync.attachment_downloads where sha256 is not null`;
    expect(stored).toBe(rows.length);
    expect(fs.readdirSync(store.tempDir)).toEqual([]);
    // never world-readable
    const mode = fs.statSync(path.join(store.root, keys[0]!)).mode & 0o777;
    expect(mode).toBe(0o600);
    expect(fs.statSync(store.root).mode & 0o777).toBe(0o700);
  });

  it('a second pull downloads nothing: every file is stored already', async () => {
    const before = bed.emulator.stats.contentRequests;
    const summary = await bed.pull('full', { files: files() });
    expect(summary.files!.downloaded).toBe(0);
    expect(bed.emulator.stats.contentRequests).toBe(before);
  });

  it('an expired URL is read again with its record; 503s and cut-short bodies are retried', async () => {
    const [row] = await liveRows();
    // forget the file, so the next pull must download it again
    await bed.admin`delete from sync.attachment_downloads where attachment_key = ${row!.airtable_attachment_id}`;
    await bed.admin`select set_config('airlift.run_id', '1', false)`;
    await bed.admin.begin(async (tx) => {
      await tx`select set_config('airlift.run_id', '1', true)`;
      await tx`update app.attachments set sha256 = null, store_key = null, stored_size_bytes = null, stored_mime_type = null where airtable_attachment_id = ${row!.airtable_attachment_id}`;
    });
    bed.emulator.injectFailure({ path: /\/content\//, status: 410, body: 'URL expired', count: 1 });
    bed.emulator.injectFailure({ path: /\/content\//, status: 503, count: 1 });
    bed.emulator.injectFailure({ path: /\/content\//, status: 'truncate' as never, count: 1 });
    const summary = await bed.pull('full', { files: files() });
    expect(summary.files!.refreshed).toBe(1);
    expect(summary.files!.retries).toBe(2);
    expect(summary.files!.downloaded).toBe(1);
    const [again] = await bed.sql<Row[]>`select id, airtable_attachment_id, size_bytes, sha256, store_key, filename from app.attachments where id = ${row!.id}`;
    expect(again!.sha256).toBe(sha256OfAttachment(row!.airtable_attachment_id, Number(row!.size_bytes)));
  });

  it('a file that cannot be downloaded is recorded with its error, named by verify, and downloaded by a later run', async () => {
    const [row] = await liveRows();
    await bed.admin`delete from sync.attachment_downloads where attachment_key = ${row!.airtable_attachment_id}`;
    await bed.admin.begin(async (tx) => {
      await tx`select set_config('airlift.run_id', '1', true)`;
      await tx`update app.attachments set sha256 = null, store_key = null, stored_size_bytes = null, stored_mime_type = null where airtable_attachment_id = ${row!.airtable_attachment_id}`;
    });
    bed.emulator.injectFailure({ path: /\/content\//, status: 404, count: 2 });
    const failed = await bed.pull('incremental', { files: files() });
    expect(failed.files!.failed).toBe(1);
    const [ledger] = await bed.sql<{ attempts: number; last_error: string }[]>`select attempts, last_error from sync.attachment_downloads where attachment_key = ${row!.airtable_attachment_id}`;
    expect(ledger!.attempts).toBe(1);
    expect(ledger!.last_error).toMatch(/HTTP 404.*also with a fresh URL/);
    const verification = await runVerify(bed.sql, { actor: 'test', files: store });
    expect(verification.passed).toBe(false);
    expect(verification.files!.discrepancies).toEqual([expect.objectContaining({ airtableAttachmentId: row!.airtable_attachment_id, problem: expect.stringMatching(/^not downloaded \(1 attempts, last: HTTP 404/) })]);
    const recovered = await bed.pull('incremental', { files: files() });
    expect(recovered.files!.downloaded).toBe(1);
    const passing = await runVerify(bed.sql, { actor: 'test', files: store });
    expect(passing.files!.discrepancies).toEqual([]);
    expect(passing.files!.badFiles).toBe(0);
    expect(passing.files!.checked).toBe(new Set((await liveRows()).map((r) => r.sha256)).size);
  });

  it('verify reads every file back: a missing and a corrupt file are named; storing them again puts them right', async () => {
    const rows = await liveRows();
    const [a, b] = [...new Map(rows.map((r) => [r.sha256!, r])).values()];
    await fsp.rm(path.join(store.root, a!.store_key!));
    const corrupt = path.join(store.root, b!.store_key!);
    const bytes = await fsp.readFile(corrupt);
    bytes[0] = bytes[0]! ^ 0xff;
    await fsp.writeFile(corrupt, bytes);
    const verification = await runVerify(bed.sql, { actor: 'test', files: store });
    expect(verification.passed).toBe(false);
    expect(verification.files!.badFiles).toBe(2);
    const problems = verification.files!.discrepancies.map((d) => [d.sha256, d.problem.split(':')[0]]);
    expect(problems).toContainEqual([a!.sha256, expect.stringMatching(/^missing from the store/)]);
    expect(problems).toContainEqual([b!.sha256, 'corrupt']);
    // files get refuses the corrupt file and leaves nothing behind
    const out = path.join(dir, 'out.bin');
    await expect(writeAttachmentFile(store, (await findAttachment(bed.sql, b!.id))!, out)).rejects.toThrow(/corrupt/);
    expect(fs.existsSync(out)).toBe(false);
    // put back (as `airlift files download` would after gc): verify passes again
    bytes[0] = bytes[0]! ^ 0xff;
    await fsp.writeFile(corrupt, bytes, { mode: 0o600 });
    await fsp.writeFile(path.join(store.root, a!.store_key!), bed.emulator.attachmentContent(a!.airtable_attachment_id) ?? (await import('../tools/emulator/emulator.ts')).attachmentBytes(a!.airtable_attachment_id, Number(a!.size_bytes)), { mode: 0o600 });
    const again = await runVerify(bed.sql, { actor: 'test', files: store });
    expect(again.files!.discrepancies).toEqual([]);
  });

  it('files get writes an attachment out, checked against its SHA-256', async () => {
    const [row] = await liveRows();
    const out = path.join(dir, 'label.pdf');
    const attachment = await findAttachment(bed.sql, row!.airtable_attachment_id);
    const { bytes } = await writeAttachmentFile(store, attachment!, out);
    expect(bytes).toBe(Number(row!.size_bytes));
    expect(sha256(await fsp.readFile(out))).toBe(row!.sha256);
  });

  it('a file attached here is uploaded to Airtable; removed here, it is removed there; too big without a public URL, it fails naming the file', async () => {
    const [product] = await bed.sql<{ id: string; record: string }[]>`
      select p.id, m.legacy_id as record from app.products p join sync.id_map m on m.uuid_id = p.id and m.entity_type = 'products'
      where p.deleted_at is null order by p.id limit 1`;
    const local = path.join(dir, 'approval letter.pdf');
    const content = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(300_000, 7)]);
    await fsp.writeFile(local, content);
    const stored = await storeLocalFile(bed.sql, store, local, 'application/pdf');
    const [{ id }] = await bed.sql<{ id: string }[]>`select sync.attach_file('products', ${product!.id}, 'label', 'approval letter.pdf', ${stored.sha256}, 'application/pdf') as id`;
    const big = path.join(dir, 'big.bin');
    await fsp.writeFile(big, Buffer.alloc(6 * 1024 * 1024, 1));
    const bigStored = await storeLocalFile(bed.sql, store, big, 'application/octet-stream');
    await bed.sql`select sync.attach_file('products', ${product!.id}, 'label', 'big.bin', ${bigStored.sha256}, 'application/octet-stream')`;

    const pushed = await bed.push({ files: { store } });
    expect(pushed.attachments).toEqual({ uploaded: 1, removed: 0, failed: 1, deferred: 0 });
    const [row] = await bed.sql<{ airtable_attachment_id: string }[]>`select airtable_attachment_id from app.attachments where id = ${id}`;
    expect(row!.airtable_attachment_id).toMatch(/^att[A-Za-z0-9]{14}$/);
    expect(sha256(bed.emulator.attachmentContent(row!.airtable_attachment_id)!)).toBe(stored.sha256);
    const [failure] = await bed.sql<{ last_error: string }[]>`select last_error from sync.attachment_outbox where status = 'failed'`;
    expect(failure!.last_error).toMatch(/^big\.bin is 6291456 bytes, over the 5242880 bytes Airtable takes by upload, and AIRLIFT_FILES_PUBLIC_URL is not set/);

    // the next pull sees the uploaded file as the row it already has: nothing downloaded, no second row
    const before = bed.emulator.stats.contentRequests;
    const pulled = await bed.pull('full', { files: files() });
    expect(pulled.files!.downloaded).toBe(0);
    expect(bed.emulator.stats.contentRequests).toBe(before);
    const [{ rows }] = await bed.sql<{ rows: number }[]>`select count(*)::int as rows from app.attachments where product_id = ${product!.id} and filename = 'approval letter.pdf' and deleted_at is null`;
    expect(rows).toBe(1);

    // removed here: removed in Airtable
    await bed.sql`select sync.remove_attachment(${id})`;
    const removed = await bed.push({ files: { store } });
    expect(removed.attachments!.removed).toBe(1);
    const cell = (bed.emulator.base(bed.baseId).table('Products').get(product!.record)!.fields.Label ?? []) as Array<{ id: string }>;
    expect(cell.map((a) => a.id)).not.toContain(row!.airtable_attachment_id);
  });

  it('gc removes stored files nothing references, and only those', async () => {
    const loose = path.join(dir, 'loose.txt');
    await fsp.writeFile(loose, 'referenced by nothing');
    const stored = await storeLocalFile(bed.sql, store, loose, 'text/plain');
    const dry = await collectFiles(bed.sql, store, { dryRun: true, minAgeSeconds: 0 });
    expect(dry.files.map((f) => f.sha256)).toEqual([stored.sha256]);
    expect(await store.stat(stored.key)).not.toBeNull();
    const recent = await collectFiles(bed.sql, store, { dryRun: false, minAgeSeconds: 3600 });
    expect(recent.files).toEqual([]);
    const done = await collectFiles(bed.sql, store, { dryRun: false, minAgeSeconds: 0 });
    expect(done.files.map((f) => f.sha256)).toEqual([stored.sha256]);
    expect(await store.stat(stored.key)).toBeNull();
    const verification = await runVerify(bed.sql, { actor: 'test', files: store });
    expect(verification.files!.discrepancies).toEqual([]);
  });

  it('the differentials name attachments added and removed in Airtable, which a record\'s checksum leaves out', async () => {
    const registrations = bed.emulator.base(bed.baseId).table('Registrations');
    const withDocuments = registrations.list().filter((p) => Array.isArray(p.fields.Documents) && (p.fields.Documents as unknown[]).length > 0);
    const [a, b] = withDocuments;
    const removed = (a!.fields.Documents as Array<{ id: string; filename: string }>)[0]!;
    registrations.update(a!.id, { Documents: (a!.fields.Documents as Array<{ id: string }>).filter((f) => f.id !== removed.id) });
    registrations.update(b!.id, { Documents: [...(b!.fields.Documents as unknown[]), { url: 'https://content.example/new.pdf', filename: 'new letter.pdf', size: 10, type: 'application/pdf' }] });
    const added = (registrations.get(b!.id)!.fields.Documents as Array<{ id: string; filename: string }>).find((f) => f.filename === 'new letter.pdf')!;
    await bed.pull('full', { stageOnly: true });
    const result = await runDiff(bed.sql, { actor: 'test', entities: ['registrations'] });
    const entity = result.entities.find((e) => e.entity === 'registrations')!;
    expect(entity.attachments).toEqual([
      { record_key: a!.id, field_name: 'documents', attachment_key: removed.id, filename: removed.filename, change: 'removed' },
      { record_key: b!.id, field_name: 'documents', attachment_key: added.id, filename: 'new letter.pdf', change: 'added' },
    ].sort((x, y) => x.record_key.localeCompare(y.record_key)));
    expect(result.unresolved).toBeGreaterThanOrEqual(2);
  });

  it('from the command line: files get writes a file out, files attach queues it, files gc --dry-run lists, status counts them', async () => {
    const env = {
      DATABASE_URL: bed.db.url, AIRTABLE_TOKEN: bed.emulator.token, AIRTABLE_BASE_ID: bed.baseId, AIRTABLE_ENDPOINT_URL: bed.emulator.url,
      AIRLIFT_FILES_DIR: store.root, AIRLIFT_DATA_DIR: dir,
    };
    const [row] = await liveRows();
    const out = path.join(dir, 'from-cli.bin');
    const got = await runAirlift(['files', 'get', row!.airtable_attachment_id, '--out', out], env);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stderr).toContain(`${Number(row!.size_bytes)} bytes written to ${out}`);
    expect(sha256(await fsp.readFile(out))).toBe(row!.sha256);
    const missing = await runAirlift(['files', 'get', 'attNOSUCHFILE0000'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no attachment attNOSUCHFILE0000');

    const [reg] = await bed.sql<{ record: string }[]>`
      select m.legacy_id as record from app.registrations r join sync.id_map m on m.uuid_id = r.id and m.entity_type = 'registrations'
      where r.deleted_at is null order by r.id limit 1`;
    const local = path.join(dir, 'letter.txt');
    await fsp.writeFile(local, 'approval letter, by hand');
    const attached = await runAirlift(['files', 'attach', local, '--entity', 'registrations', '--record', reg!.record, '--field', 'documents'], env);
    expect(attached.code, attached.stderr).toBe(0);
    expect(attached.stdout).toMatch(new RegExp(`letter\\.txt \\(24 bytes, SHA-256 ${sha256(Buffer.from('approval letter, by hand'))}\\) attached to registrations ${reg!.record}, field documents; the next push uploads it`));
    const wrongField = await runAirlift(['files', 'attach', local, '--entity', 'registrations', '--record', reg!.record, '--field', 'label'], env);
    expect(wrongField.code).toBe(1);
    expect(wrongField.stderr).toContain('entity registrations has no attachment field label');

    const gc = await runAirlift(['files', 'gc', '--dry-run', '--min-age', '0', '--json'], env);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ dryRun: true, files: [], failed: [] });

    const status = await runAirlift(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    const [{ n }] = await bed.sql<{ n: number }[]>`select count(*)::int as n from sync.stored_files`;
    expect(status.stdout).toMatch(new RegExp(`Attachment files: ${n} stored \\([0-9.]+ MB\\) for \\d+ attachments; 0 not downloaded yet \\(0 failed downloads, retried by every pull\\); 1 attached or removed here waiting for the push, 1 failed`));
  });
});
