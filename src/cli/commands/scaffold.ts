/**
 * `airlift scaffold`: a draft target migration and mapping from a source's
 * own schema (src/scaffold/). Writes files only: the target database is
 * never started or touched (a PostgreSQL source or an Airtable base is only read).
 */
import type { Command } from 'commander';
import { formatScaffold, runScaffold } from '../../scaffold/scaffold.ts';
import { wholeNumber } from '../shared.ts';

/** scaffold. */
export function registerScaffoldCommand(program: Command): void {
  program
    .command('scaffold')
    .description('Draft a target schema (migration.sql) and a mapping (mapping.json) from a source\'s own schema, for a DBA to review and commit with graphile-migrate. Writes files; applies nothing. What it cannot decide is a "-- REVIEW:" comment in the draft.')
    .requiredOption('--source <spec>', 'the source: sqlite:FILE (a SQLite database), files:DIR (a directory of JSON, JSON Lines and CSV exports), postgres:ENVVAR (a PostgreSQL database whose URL is in the environment variable ENVVAR) or airtable:BASE_ID (an Airtable base\'s tables and fields from its Metadata API; AIRTABLE_TOKEN and AIRTABLE_ENDPOINT_URL as for a pull)')
    .requiredOption('--out <dir>', 'the directory to write migration.sql and mapping.json into (created if missing)')
    .option('--schema <name>', 'the target schema (default: named after the source)')
    .option('--sample <rows>', 'sqlite: count the values of the first N rows of each table only (default: every row; a note says when a table had more)', wholeNumber(1))
    .option('--force', 'overwrite migration.sql and mapping.json if they exist')
    .option('--json', 'print the result as JSON')
    .action(async (options: { source: string; out: string; schema?: string; sample?: number; force?: boolean; json?: boolean }) => {
      const result = await runScaffold({ source: options.source, out: options.out, schema: options.schema, sample: options.sample, force: options.force });
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatScaffold(result));
    });
}
