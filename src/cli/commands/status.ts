/** `airlift status`: last runs per table, counts, quarantine, lag, next run. */

import type { Command } from 'commander';
import { connect, prepareDatabase, urlWithRole } from '../../db/database.ts';
import { formatStatus, statusReport } from '../../pipeline/status.ts';
import { loadEnvironment } from '../../config.ts';
import { DEFAULT_MAPPING_FILE, loadMapping } from '../../mapping.ts';
import { withDatabase } from '../shared.ts';

/** status. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('Last runs per table, counts, quarantine, lag and the next scheduled run.')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async (target) => {
        await prepareDatabase(target);
        const sql = connect(urlWithRole(target.databaseUrl, 'airlift_sync'), { max: 1 });
        try {
          // the tables of the mapping in use (AIRLIFT_MAPPING); one that cannot be read shows every table
          const mapping = await loadMapping(loadEnvironment().AIRLIFT_MAPPING ?? DEFAULT_MAPPING_FILE).catch(() => undefined);
          const report = await statusReport(sql, mapping?.tables.map((t) => t.entity));
          process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report, { oneWay: mapping && mapping.source.kind !== 'airtable' ? { kind: mapping.source.kind } : undefined }));
        } finally {
          await sql.end();
        }
      });
    });
}
