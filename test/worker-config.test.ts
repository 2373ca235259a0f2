/** The worker's crontab and task list, checked with graphile-worker's own parser. */
import { parseCrontab } from 'graphile-worker';
import { describe, expect, it } from 'vitest';
import { AirtableClient } from '../src/sources/airtable/client.ts';
import { AirtableSource } from '../src/sources/airtable/source.ts';
import { FilesSource } from '../src/sources/files/source.ts';
import { crontabFor, sourceQueueKey } from '../src/worker/worker.ts';
import { taskListFor, type WorkerContext } from '../src/worker/tasks.ts';

// sources as the worker's context holds them; nothing here sends a request
const airtable = new AirtableSource(new AirtableClient({ token: 'pat-none', baseId: 'appDELTADEMO00001', endpointUrl: 'http://127.0.0.1:9', requestsPerSecond: 5 }));
const files = new FilesSource('/srv/exports/wallet app/data');

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
    const tasks = taskListFor({ source: airtable } as unknown as WorkerContext);
    expect(Object.keys(tasks).sort()).toEqual(['airtable_pull', 'airtable_push']);
    const crontabTasks = parseCrontab(crontabFor('appDELTADEMO00001', '*/5 * * * *', '0 3 * * *')).map((i) => i.task);
    expect([...new Set(crontabTasks)].sort()).toEqual(Object.keys(tasks).sort());
    expect(typeof tasks.airtable_pull).toBe('function');
    expect(typeof tasks.airtable_push).toBe('function');
  });

  it('keys an Airtable base exactly as before: the base id alone and its source give one crontab', () => {
    expect(crontabFor(airtable, '*/5 * * * *', '0 3 * * *', '* * * * *')).toBe(crontabFor('appDELTADEMO00001', '*/5 * * * *', '0 3 * * *', '* * * * *'));
    expect(sourceQueueKey(airtable)).toBe('appDELTADEMO00001');
  });

  it('schedules a one-way source (a directory of exports) with its pulls only, in a queue of its own with safe names', () => {
    const items = parseCrontab(crontabFor(files, '*/5 * * * *', '0 3 * * *', '* * * * *'));
    expect(items.map((i) => [i.identifier, i.task, i.payload])).toEqual([
      ['files_incremental', 'files_pull', { mode: 'incremental' }],
      ['files_full', 'files_pull', { mode: 'full' }],
    ]);
    const key = sourceQueueKey(files);
    expect(key).toMatch(/^srv_exports_wallet_app_data-[0-9a-f]{8}$/);
    for (const item of items) expect(item.options.queueName).toBe(`files:${key}`);
    expect(items.map((i) => i.options.jobKey)).toEqual([`files_pull:${key}:incremental`, `files_pull:${key}:full`]);
    // another directory whose name differs only in what is replaced has its own queue
    expect(sourceQueueKey(new FilesSource('/srv/exports/wallet_app/data'))).not.toBe(key);
    // a long path still makes a queue name graphile-worker takes (at most 128 characters)
    const long = parseCrontab(crontabFor(new FilesSource(`/srv/${'exports/'.repeat(40)}data`), '*/5 * * * *', '0 3 * * *'));
    expect(long[0]!.options.queueName!.length).toBeLessThanOrEqual(128);
    const tasks = taskListFor({ source: files } as unknown as WorkerContext);
    expect(Object.keys(tasks)).toEqual(['files_pull']);
  });
});
