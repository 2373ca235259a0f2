/**
 * `airlift migrate`, `airlift start` and `airlift gm`: the database itself
 * (roles, migrations, graphile-migrate; `gm commit` and `gm uncommit` also
 * regenerate db/schema.sql).
 */

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Command } from 'commander';
import {
  PROJECT_ROOT,
  bootstrapRoles,
  connect,
  databaseName,
  describeUrl,
  ensureDatabaseExists,
  migrationSettings,
  prepareDatabase,
  urlWithRole,
} from '../../db/database.ts';
import { describeDatabase, formatDescription } from '../../db/describe.ts';
import { log, withDatabase } from '../shared.ts';

/** graphile-migrate commands that change migrations/committed/, and so db/schema.sql. */
const SCHEMA_CHANGING_COMMANDS = new Set(['commit', 'uncommit']);

/**
 * After `gm commit` or `gm uncommit`: db/schema.sql made again from the
 * committed migrations (tools/db/dump-schema.ts, a PostgreSQL 15 cluster of
 * its own), to be committed with the migration. Returns the exit code.
 */
async function regenerateSchemaDump(): Promise<number> {
  const started = Date.now();
  process.stdout.write('airlift: regenerating db/schema.sql from the committed migrations (PostgreSQL 15)...\n');
  try {
    const { writeSchemaDump } = await import('../../../tools/db/dump-schema.ts');
    const result = await writeSchemaDump();
    process.stdout.write(
      result.changed
        ? `airlift: db/schema.sql regenerated and changed (${Date.now() - started} ms): commit it along with migrations/committed/.\n`
        : `airlift: db/schema.sql regenerated, unchanged (${Date.now() - started} ms).\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(
      `airlift: graphile-migrate succeeded, but db/schema.sql could not be regenerated: ${(error as Error).message}\n` +
        'Fix that, then run `npm run db:schema` and commit db/schema.sql (CI checks it).\n',
    );
    return 1;
  }
}

/** migrate, start, gm. */
export function registerDatabaseCommands(program: Command): void {
  program
    .command('migrate')
    .description('Create the roles if needed and apply every committed migration.')
    .action(async () => {
      await withDatabase(async (target) => {
        const started = Date.now();
        await prepareDatabase(target);
        log.info({ database: describeUrl(target.databaseUrl), ms: Date.now() - started }, 'database migrated');
      });
    });

  program
    .command('start')
    .description('Bring up the database (embedded unless DATABASE_URL is set), migrate it and print what it holds.')
    .option('--keep-running', 'keep the embedded server up until interrupted, for psql or a GUI')
    .option('--json', 'print the description as JSON')
    .action(async (options: { keepRunning?: boolean; json?: boolean }) => {
      await withDatabase(async (target) => {
        await prepareDatabase(target);
        const sql = connect(urlWithRole(target.databaseUrl, 'airlift_owner'), { max: 1 });
        try {
          const description = await describeDatabase(sql);
          process.stdout.write(
            options.json
              ? `${JSON.stringify({ database: describeUrl(target.databaseUrl), ...description }, null, 2)}\n`
              : formatDescription(describeUrl(target.databaseUrl), description),
          );
        } finally {
          await sql.end();
        }
        if (options.keepRunning && target.server?.ownsProcess) {
          process.stdout.write(`Embedded PostgreSQL is running at ${describeUrl(target.databaseUrl)} (password in ${path.join(target.server.dataDir, 'credentials.json')}). Ctrl-C stops it.\n`);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
            process.once('SIGTERM', () => resolve());
          });
        }
      });
    });

  program
    .command('gm')
    .description('Run graphile-migrate (watch, commit, uncommit, status, ...) against this database, e.g. `airlift gm commit -m "add x"`; commit and uncommit then regenerate db/schema.sql.')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]', 'graphile-migrate arguments')
    .action(async (args: string[]) => {
      const code = await withDatabase(async (target) => {
        await bootstrapRoles(target.rootUrl);
        const settings = await migrationSettings(target, false);
        if (target.shadowUrl && target.server) await ensureDatabaseExists(target.rootUrl, databaseName(target.shadowUrl));
        const cli = createRequire(import.meta.url).resolve('graphile-migrate/dist/cli.js');
        return new Promise<number>((resolve) => {
          const child = spawn(process.execPath, [cli, ...args], {
            cwd: PROJECT_ROOT,
            stdio: 'inherit',
            env: {
              ...process.env,
              DATABASE_URL: settings.connectionString,
              ROOT_DATABASE_URL: settings.rootConnectionString,
              ...(settings.shadowConnectionString ? { SHADOW_DATABASE_URL: settings.shadowConnectionString } : {}),
            },
          });
          child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
        });
      });
      process.exitCode = code;
      // Once the embedded server is stopped: the dump has a cluster of its own.
      if (code === 0 && SCHEMA_CHANGING_COMMANDS.has(args[0])) process.exitCode = await regenerateSchemaDump();
    });
}
