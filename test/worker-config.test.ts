/** The worker's crontab and task list, checked with graphile-worker's own parser. */
import { parseCrontab } from 'graphile-worker';
import { describe, expect, it } from 'vitest';
import { crontabFor } from '../src/worker/worker.ts';
import { taskListFor, type WorkerContext } from '../src/worker/tasks.ts';

describe('the worker schedule', () => {
  it('is a valid crontab: incremental and full pulls and a push, one queue per base, a job key per mode', () => {
    const items = parseCrontab(crontabFor('appDELTADEMO00001', '*/5 * * * *', '0 3 * * *', '* * * * *'));
    expect(items.map((i) => [i.identifier, i.task, i.payload])).toEqual([
      ['airtable_incremental', 'airtable_pull', { mode: 'incremental' }],
      ['airtable_full', 'airtable_pull', { mode: 'full' }],
      ['airtable_push', 'airtable_push', null],
    ]);
    for (const item of items) {
      expect(item.options.queueName).toBe('airtable:appDELTADEMO00001');
      expect(item.options.maxAttempts).toBe(10);
    }
    expect(items.map((i) => i.options.jobKey)).toEqual([
      'airtable_pull:appDELTADEMO00001:incremental',
      'airtable_pull:appDELTADEMO00001:full',
      'airtable_push:appDELTADEMO00001',
    ]);
  });

  it('rejects a bad schedule with graphile-worker\'s message', () => {
    expect(() => parseCrontab(crontabFor('appDELTADEMO00001', '*/5 * *', '0 3 * * *'))).toThrow(/crontab/i);
  });

  it('builds the task list in code, one task per name the crontab uses', () => {
    // the tasks only close over the context here; none is run
    const tasks = taskListFor({} as WorkerContext);
    expect(Object.keys(tasks).sort()).toEqual(['airtable_pull', 'airtable_push']);
    const crontabTasks = parseCrontab(crontabFor('appDELTADEMO00001', '*/5 * * * *', '0 3 * * *')).map((i) => i.task);
    expect([...new Set(crontabTasks)].sort()).toEqual(Object.keys(tasks).sort());
    expect(typeof tasks.airtable_pull).toBe('function');
    expect(typeof tasks.airtable_push).toBe('function');
  });
});
