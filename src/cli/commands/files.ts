/** `airlift files`: download what is missing, get, attach, remove, gc. */

import os from 'node:os';
import type { Command } from 'commander';
import { ConfigurationError, loadEnvironment } from '../../config.ts';
import { connect, prepareDatabase, urlWithRole } from '../../db/database.ts';
import { openFileStore } from '../../files/open.ts';
import { collectFiles, contentTypeOf, findAttachment, runFileDownloads, storeLocalFile, writeAttachmentFile } from '../../files/manage.ts';
import type { FileStore } from '../../files/store.ts';
import { openSyncContext } from '../../pipeline/context.ts';
import { log, wholeNumber, withDatabase } from '../shared.ts';
import path from 'node:path';
import type { Sql } from 'postgres';

/** The configured store, or a ConfigurationError when files are off. */
async function requireStore(): Promise<FileStore> {
  const store = await openFileStore(loadEnvironment());
  if (!store) throw new ConfigurationError('AIRLIFT_FILES_STORE is off: no attachment files are kept');
  return store;
}

/** Runs work against the database as airlift_sync with the store open. */
async function withStore(work: (sql: Sql, store: FileStore) => Promise<void>): Promise<void> {
  const store = await requireStore();
  await withDatabase(async (target) => {
    await prepareDatabase(target);
    const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: 2, connection: { application_name: 'airlift files' } });
    try {
      await sql`select set_config('airlift.actor', ${`cli:${os.userInfo().username}`}, false)`;
      await work(sql, store);
    } finally {
      await sql.end();
    }
  });
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function registerFilesCommands(program: Command): void {
  const files = program
    .command('files')
    .description('Attachment files, kept by content (SHA-256) in the file store (AIRLIFT_FILES_STORE: a local directory, AIRLIFT_FILES_DIR, or an S3-compatible bucket).');

  files
    .command('download')
    .description('Download the attachment files rows list that the store does not hold yet (a pull does this too), with fresh URLs from Airtable where needed.')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const context = await openSyncContext({ actor: `cli:${os.userInfo().username}`, log });
      try {
        if (!context.files) throw new ConfigurationError('AIRLIFT_FILES_STORE is off: no attachment files are kept');
        const abort = new AbortController();
        const interrupt = () => abort.abort();
        process.once('SIGINT', interrupt);
        process.once('SIGTERM', interrupt);
        try {
          const result = await runFileDownloads({
            sql: context.sql, source: context.source, store: context.files, actor: context.actor, log,
            concurrency: context.env.AIRLIFT_DOWNLOAD_CONCURRENCY, signal: abort.signal,
          });
          const s = result.summary;
          process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n`
            : `Run #${result.runId}: ${s.downloaded} files downloaded (${mb(s.bytes)}), ${s.failed} failed (retried next time), ${s.refreshed} URLs read again, ${result.linked} rows linked; store ${context.files.description}\n`);
          if (s.failed) process.exitCode = 1;
        } finally {
          process.off('SIGINT', interrupt);
          process.off('SIGTERM', interrupt);
        }
      } finally {
        await context.close();
      }
    });

  files
    .command('get')
    .argument('<attachment>', 'the attachment: its id here (a uuid) or its Airtable id (att...)')
    .description('Write an attachment\'s file out (checked against its SHA-256 on the way): to --out, or to standard output.')
    .option('--out <file>', 'the file to write (created owner-only); standard output when absent')
    .action(async (id: string, options: { out?: string }) => {
      await withStore(async (sql, store) => {
        const attachment = await findAttachment(sql, id);
        if (!attachment) throw new Error(`no attachment ${id}`);
        const { bytes } = await writeAttachmentFile(store, attachment, options.out ?? process.stdout);
        if (options.out) process.stderr.write(`${attachment.filename}: ${bytes} bytes written to ${options.out} (SHA-256 ${attachment.sha256})\n`);
      });
    });

  files
    .command('attach')
    .argument('<file>', 'the local file to attach')
    .description('Attach a local file to a record\'s attachment field here; the next push uploads it to Airtable.')
    .requiredOption('--entity <entity>', 'the owner\'s entity (products, registrations)')
    .requiredOption('--record <id>', 'the owner: its row id here (uuid) or its Airtable record id (rec...)')
    .requiredOption('--field <name>', 'the attachment field (label, documents)')
    .option('--name <filename>', 'the file name to show (default: the file\'s own)')
    .option('--type <content-type>', 'the content type (default: from the file name)')
    .action(async (file: string, options: { entity: string; record: string; field: string; name?: string; type?: string }) => {
      await withStore(async (sql, store) => {
        const [owner] = await sql<{ row_id: string }[]>`
          select uuid_id as row_id from sync.id_map where entity_type = ${options.entity}
            and (legacy_id = ${options.record} or uuid_id::text = ${options.record.toLowerCase()})
          limit 1`;
        const rowId = owner?.row_id ?? (/^[0-9a-f-]{36}$/i.test(options.record) ? options.record : null);
        if (!rowId) throw new Error(`no ${options.entity} record ${options.record}`);
        const filename = options.name ?? path.basename(file);
        const type = options.type ?? contentTypeOf(filename);
        const stored = await storeLocalFile(sql, store, file, type);
        const [{ id }] = await sql<{ id: string }[]>`select sync.attach_file(${options.entity}, ${rowId}, ${options.field}, ${filename}, ${stored.sha256}, ${type}) as id`;
        process.stdout.write(`attachment ${id}: ${filename} (${stored.size} bytes, SHA-256 ${stored.sha256}) attached to ${options.entity} ${options.record}, field ${options.field}; the next push uploads it\n`);
      });
    });

  files
    .command('remove')
    .argument('<attachment>', 'the attachment: its id here (a uuid) or its Airtable id (att...)')
    .description('Remove an attachment here; the next push removes it from its Airtable cell. The file stays in the store while anything refers to it.')
    .action(async (id: string) => {
      await withStore(async (sql) => {
        const attachment = await findAttachment(sql, id);
        if (!attachment) throw new Error(`no attachment ${id}`);
        const [{ removed }] = await sql<{ removed: boolean }[]>`select sync.remove_attachment(${attachment.id}) as removed`;
        process.stdout.write(removed ? `attachment ${attachment.id} (${attachment.filename}) removed; the next push removes it from Airtable\n` : `attachment ${attachment.id} was removed already\n`);
      });
    });

  files
    .command('gc')
    .description('Remove stored files that no attachment row, snapshot or standing audit record refers to (a rolled-back run\'s files, files of attachments gone long ago are kept while the audit trail names them).')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--min-age <seconds>', 'leave files stored more recently than this alone', wholeNumber(0), 3600)
    .option('--json', 'print the result as JSON')
    .action(async (options: { dryRun?: boolean; minAge: number; json?: boolean }) => {
      await withStore(async (sql, store) => {
        const result = await collectFiles(sql, store, { dryRun: Boolean(options.dryRun), minAgeSeconds: options.minAge });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        } else {
          const verb = result.dryRun ? 'would remove' : 'removed';
          process.stdout.write(`${verb} ${result.files.length} unreferenced files (${mb(result.bytes)}) from ${store.description}\n`);
          for (const f of result.files.slice(0, 50)) process.stdout.write(`  ${f.sha256} ${f.size} bytes\n`);
          if (result.files.length > 50) process.stdout.write(`  ... and ${result.files.length - 50} more (--json for all)\n`);
          for (const f of result.failed) process.stdout.write(`  could not remove ${f.key}: ${f.error}\n`);
        }
        if (result.failed.length) process.exitCode = 1;
      });
    });
}
