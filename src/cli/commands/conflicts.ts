/**
 * `airlift conflicts list|show|resolve`: the conflict log and resolving a
 * parked conflict by hand.
 */

import os from 'node:os';
import type { Command } from 'commander';
import { ConfigurationError } from '../../config.ts';
import { formatConflict, formatConflictList, listConflicts, resolveConflict, showConflict, type Take } from '../../pipeline/conflicts.ts';
import { withSyncSql } from '../shared.ts';

/** conflicts list, show, resolve. */
export function registerConflictsCommands(program: Command): void {
  const conflictsCommand = program
    .command('conflicts')
    .description('The conflict log: fields changed differently in Airtable and PostgreSQL, how each was decided, and the ones parked for a person (manual policy).');

  conflictsCommand
    .command('list', { isDefault: true })
    .description('Open conflicts (all with --all), newest first.')
    .option('--all', 'also the conflicts decided by a policy or a person')
    .option('--json', 'print the conflicts as JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      await withSyncSql(async (sql) => {
        const rows = await listConflicts(sql, { all: Boolean(options.all) });
        return options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatConflictList(rows, Boolean(options.all));
      });
    });

  conflictsCommand
    .command('show')
    .description('One conflict: base, PostgreSQL and Airtable values, the policy, and how it was decided.')
    .argument('<id>', 'the conflict (see `airlift conflicts list`)')
    .option('--json', 'print the conflict as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      await withSyncSql(async (sql) => {
        const row = await showConflict(sql, id);
        return options.json ? `${JSON.stringify(row, null, 2)}\n` : formatConflict(row);
      });
    });

  conflictsCommand
    .command('resolve')
    .description('Resolve a parked conflict: take Airtable\'s value (written to PostgreSQL), PostgreSQL\'s (sent to Airtable by the next push), or a value of your own (both). Audited.')
    .argument('<id>', 'the conflict (see `airlift conflicts list`)')
    .option('--take <side>', 'airtable or postgres')
    .option('--value <json>', 'the value to keep, as JSON in the column\'s canonical form (e.g. \'"Active"\', 12.5, \'"2026-01-31"\', null)')
    .option('--json', 'print the resolved conflict as JSON')
    .action(async (id: string, options: { take?: string; value?: string; json?: boolean }) => {
      if ((options.take === undefined) === (options.value === undefined)) throw new ConfigurationError('conflicts resolve needs exactly one of --take airtable|postgres and --value JSON');
      if (options.take !== undefined && !['airtable', 'postgres'].includes(options.take)) throw new ConfigurationError(`--take must be airtable or postgres, got "${options.take}"`);
      let value: unknown;
      if (options.value !== undefined) {
        try {
          value = JSON.parse(options.value);
        } catch (error) {
          throw new ConfigurationError(`--value must be JSON (a string needs quotes: '"text"'): ${(error as Error).message}`);
        }
      }
      await withSyncSql(async (sql) => {
        const take: Take = options.value !== undefined ? 'value' : (options.take as Take);
        const row = await resolveConflict(sql, { id, take, value, actor: `cli:${os.userInfo().username}` });
        if (options.json) return `${JSON.stringify(row, null, 2)}\n`;
        const next = take === 'airtable' ? 'PostgreSQL now holds it.' : 'The next push (`airlift push`) sends it to Airtable.';
        return `Conflict #${row.id} resolved: ${row.entity}.${row.column_name} = ${JSON.stringify(row.resolved_value)} (${take}). ${next}\n`;
      });
    });
}
