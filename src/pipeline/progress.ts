/**
 * Progress of a pull: on a terminal, a bar per table (records fetched of the
 * expected count, rate); otherwise structured log lines, one per table start
 * and end and at most one every five seconds in between.
 */
import cliProgress from 'cli-progress';
import type { Logger } from '../log.ts';
import type { PullProgress, TableSummary } from './pull.ts';

export function createProgress(log: Logger, interactive = Boolean(process.stderr.isTTY)): PullProgress & { stop(): void } {
  if (interactive) {
    const bars = new cliProgress.MultiBar(
      {
        stream: process.stderr,
        format: ' {table} |{bar}| {value}/{expected} records | {rate} rec/s | {status}',
        barCompleteChar: '\u2588',
        barIncompleteChar: '\u2591',
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    const state = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
    return {
      tableStarted(entity, tableName, expected) {
        const bar = bars.create(expected ?? 0, 0, { table: tableName.padEnd(18), expected: expected ?? '?', rate: 0, status: 'listing' });
        state.set(entity, { bar, started: Date.now() });
      },
      pageStaged(entity, fetched) {
        const s = state.get(entity);
        if (!s) return;
        const total = s.bar.getTotal();
        if (fetched > total) s.bar.setTotal(fetched);
        s.bar.update(fetched, { rate: Math.round(fetched / Math.max(0.001, (Date.now() - s.started) / 1000)) });
      },
      tableFinished(entity, summary: TableSummary) {
        const s = state.get(entity);
        if (!s) return;
        s.bar.setTotal(Math.max(summary.fetched, 1));
        s.bar.update(summary.fetched, {
          expected: summary.fetched,
          status: `+${summary.inserted} ~${summary.updated} =${summary.unchanged} -${summary.deleted} !${summary.quarantined}`,
        });
      },
      stop: () => bars.stop(),
    };
  }
  const last = new Map<string, number>();
  const started = new Map<string, number>();
  return {
    tableStarted(entity, tableName, expected) {
      started.set(entity, Date.now());
      log.info({ table: entity, tableName, expected }, 'listing table');
    },
    pageStaged(entity, fetched) {
      const now = Date.now();
      if (now - (last.get(entity) ?? 0) < 5_000) return;
      last.set(entity, now);
      log.info({ table: entity, fetched, rate: Math.round(fetched / Math.max(0.001, (now - (started.get(entity) ?? now)) / 1000)) }, 'progress');
    },
    tableFinished(entity, summary) {
      log.info({ table: entity, ...summary, ms: Date.now() - (started.get(entity) ?? Date.now()) }, 'table done');
    },
    stop: () => undefined,
  };
}
