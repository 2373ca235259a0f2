/**
 * Airtable's limits against the emulator and a real PostgreSQL: a pace set
 * above the base's real limit adapts after a 429 instead of drawing a
 * penalty every second, and Retry-After (429, 503) is honoured.
 */
import { describe, expect, it } from 'vitest';
import { AirtableClient, parseRetryAfter, RateLimiter } from '../src/sources/airtable/client.ts';
import { syncBed } from './support/sync.ts';

const totalOf = (base: { tables: Array<{ records: unknown[] }> }) => base.tables.reduce((sum, t) => sum + t.records.length, 0);

describe('the pace after a 429', () => {
  it('a pull at 10 requests a second against a base that allows 5 slows down after the first penalty and finishes', async () => {
    const bed = await syncBed({
      seed: 71,
      registrations: 5_000,
      messiness: 0.01,
      emulator: { rateLimit: { requestsPerSecond: 5, penaltyMs: 2_000 } },
      client: { requestsPerSecond: 10, rateLimitPenaltyMs: 2_000 },
    });
    try {
      const started = Date.now();
      const summary = await bed.pull('full');
      const elapsed = Date.now() - started;
      expect(Number(summary.run.fetched)).toBe(totalOf(bed.base));
      expect(bed.emulator.stats.requests).toBeGreaterThan(55);
      // before: a penalty every few seconds (22 in 135 requests); now one, two at most
      expect(bed.client.limiter.penalties).toBeGreaterThanOrEqual(1);
      expect(bed.client.limiter.penalties).toBeLessThanOrEqual(2);
      expect(bed.emulator.stats.rateLimited).toBeLessThanOrEqual(4);
      expect(bed.client.limiter.currentRate).toBeLessThanOrEqual(5);
      expect(elapsed).toBeLessThan(40_000);
    } finally {
      await bed.close();
    }
  });

  it('halves once per penalty, recovers one request a second per quiet stretch up to below the pace that drew it, and later to the full pace', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(10, 30_000, 1_050, () => now, 60_000);
    expect(limiter.currentRate).toBe(10);
    limiter.penalise();
    limiter.penalise(); // answered during the same penalty
    expect(limiter.penalties).toBe(1);
    expect(limiter.currentRate).toBe(5);
    now += 30_000 + 59_000; // the penalty, then less than a quiet stretch
    expect(limiter.currentRate).toBe(5);
    for (const expected of [6, 7, 8, 9, 9]) {
      now += 60_000;
      expect(limiter.currentRate).toBe(expected);
    }
    now += 10 * 60_000; // long after the 429: the full pace may be tried again
    expect(limiter.currentRate).toBe(10);
    limiter.penalise(5_000); // with Retry-After: 5 s
    expect(limiter.currentRate).toBe(5);
    expect(limiter.penalties).toBe(2);
  });
});

describe('Retry-After', () => {
  it('is read as seconds or as an HTTP date, and bounded', () => {
    const now = Date.parse('2026-11-20T10:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Fri, 20 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('86400', now)).toBe(600_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('a 503 and a 429 that carry Retry-After are retried after it, not after the backoff or the 30 s penalty', async () => {
    const bed = await syncBed({ seed: 72, registrations: 300, messiness: 0 });
    try {
      // the backoff and the penalty are far longer than the server asks for
      const client = new AirtableClient({ ...bed.client.options, backoffMs: 8_000, rateLimitPenaltyMs: 15_000 });
      const events: Array<{ kind: string; delayMs: number }> = [];
      const watched = new AirtableClient({ ...client.options, onEvent: (e) => events.push({ kind: e.kind, delayMs: e.delayMs }) });
      bed.emulator.injectFailure({ method: 'GET', path: /\/v0\/app[A-Za-z0-9]+\/tblmNqfo6lv6OCavM/, status: 503, headers: { 'Retry-After': '1' } });
      bed.emulator.injectFailure({ method: 'GET', path: /\/v0\/meta\//, status: 503, headers: { 'Retry-After': '1' } });
      bed.emulator.injectFailure({
        method: 'GET',
        path: /\/v0\/app[A-Za-z0-9]+\/tblTtyLvxr2Ta4SfO/,
        status: 429,
        headers: { 'Retry-After': '1' },
        body: { error: { type: 'RATE_LIMIT_REACHED', message: 'Rate limit exceeded. Please try again later' } },
      });
      const started = Date.now();
      const summary = await bed.pull('full', { client: watched });
      const elapsed = Date.now() - started;
      expect(Number(summary.run.fetched)).toBe(totalOf(bed.base));
      expect(events).toEqual([
        { kind: 'retry', delayMs: 1_000 }, // the metadata
        { kind: 'rate_limited', delayMs: 1_000 }, // products
        { kind: 'retry', delayMs: 1_000 }, // registrations
      ]);
      expect(watched.limiter.penalties).toBe(1);
      expect(elapsed).toBeGreaterThanOrEqual(2_900);
      expect(elapsed).toBeLessThan(12_000);
    } finally {
      await bed.close();
    }
  });
});
