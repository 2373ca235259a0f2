/**
 * Airtable access for one base: records through the official `airtable`
 * client (its `makeRequest`, so that each page's offset is ours to
 * checkpoint), the Metadata API through a small fetch of our own (airtable.js
 * cannot reach /v0/meta), one rate limiter shared by everything that talks
 * to the base, and retrying taken over from airtable.js (its own 429 retry
 * is unbounded and silent; it does not retry 5xx or network errors at all).
 */
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import Airtable from 'airtable';
import { z } from 'zod';

export type AirtableErrorKind =
  | 'authentication' // 401: wrong or revoked token
  | 'not_found' // 403/404: wrong base or table, or no permission
  | 'iterator_expired' // 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE
  | 'rate_limited' // 429
  | 'transient' // 5xx, network
  | 'rejected'; // other 4xx: the request itself is wrong

export class AirtableRequestError extends Error {
  constructor(
    readonly kind: AirtableErrorKind,
    readonly type: string,
    readonly statusCode: number | null,
    message: string,
    /** The answer's Retry-After (429, 503), in milliseconds. */
    public retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AirtableRequestError';
  }
}

/** The longest Retry-After honoured (a longer one waits this long). */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A Retry-After header in milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
}

/**
 * Retry-After of answers to requests airtable.js made: it drops the headers
 * of an error answer, so each request carries an id of ours, and Node's
 * http client diagnostics hand us the answer's headers (before airtable.js
 * rejects the request) under that id.
 */
const REQUEST_ID_HEADER = 'x-airlift-request';
const retryAfterByRequest = new Map<string, number>();
diagnostics.subscribe('http.client.response.finish', (message) => {
  const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
  if (response.statusCode !== 429 && response.statusCode !== 503) return;
  const raw = request.getHeader(REQUEST_ID_HEADER); // node-fetch sets every header as an array
  const id = Array.isArray(raw) ? raw[0] : raw;
  const header = response.headers['retry-after'];
  const retryAfter = parseRetryAfter(Array.isArray(header) ? header[0] : header);
  if (typeof id === 'string' && retryAfter !== undefined) retryAfterByRequest.set(id, retryAfter);
});

/** The endpoint as a message may show it: no user or password, no query. */
export function describeEndpoint(endpointUrl: string): string {
  try {
    const url = new URL(endpointUrl);
    return `${url.origin}${url.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * Why a request never got an answer, without the request's URL: fetch
 * says "fetch failed" and keeps the reason in `cause` (an AggregateError
 * with only a code when every address of a host refused), node-fetch
 * (airtable.js) says "request to <url> failed, reason: <reason>".
 */
function networkReason(message: string, cause?: { code?: string; message?: string }): string {
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return /, reason: (.*)$/s.exec(message)?.[1] ?? message;
}

function classify(error: unknown, what: string, endpointUrl: string): AirtableRequestError {
  const e = error as { error?: string; message?: string; statusCode?: number | null };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : null;
  const type = e?.error ?? 'UNKNOWN';
  const detail = e?.message ?? String(error);
  if (status === null) {
    return new AirtableRequestError(
      'transient',
      type,
      status,
      `Airtable could not be reached at ${describeEndpoint(endpointUrl)} (AIRTABLE_ENDPOINT_URL) for ${what}: ${networkReason(detail)}`,
    );
  }
  if (status === 401) return new AirtableRequestError('authentication', type, status, `Airtable refused the token (401) for ${what}: check AIRTABLE_TOKEN`);
  if (status === 403 || status === 404) {
    return new AirtableRequestError('not_found', type, status, `Airtable found no ${what} (${status} ${type}): check AIRTABLE_BASE_ID, the mapping's table ids, and the token's access to the base`);
  }
  if (status === 422 && type === 'LIST_RECORDS_ITERATOR_NOT_AVAILABLE') return new AirtableRequestError('iterator_expired', type, status, `the listing of ${what} expired (${type})`);
  if (status === 429) return new AirtableRequestError('rate_limited', type, status, `Airtable rate limit reached (429) for ${what}`);
  if (status >= 500) return new AirtableRequestError('transient', type, status, `Airtable answered ${status} for ${what}: ${detail}`);
  return new AirtableRequestError('rejected', type, status, `Airtable rejected the request for ${what} (${status} ${type}): ${detail}`);
}

/**
 * Paces requests to one base: at most `requestsPerSecond` request starts in
 * any window of a second (plus a small safety margin, since the server
 * counts arrivals, not departures), and after a 429 nothing at all until the
 * penalty (or the answer's Retry-After) has passed.
 *
 * The pace adapts: a 429 halves it (once per penalty, at least one request
 * a second), since the base's real limit is lower than the pace (another
 * client shares the base, or the limit was set too high); it then recovers
 * by one request a second each `recoveryMs` without a 429, up to one less
 * than the pace that drew the 429, and up to `requestsPerSecond` once
 * `recoveryMs * 10` have passed without one. A request's start is when it was handed to the HTTP
 * stack, not when it was admitted: work in between (building and sending
 * the first requests of a process took 20 to 35 ms) would otherwise make
 * a late first burst and a prompt second one arrive less than a second
 * apart.
 */
export class RateLimiter {
  /** The starts in the current window (mutable: see acquire). */
  private starts: Array<{ at: number }> = [];
  private blockedUntil = 0;
  /** Requests waiting for a slot, in order; urgent ones first. */
  private waiting: Array<{ urgent: boolean; grant: (sent: () => () => void) => void }> = [];
  private granting = false;
  /** While an urgent request is out: resolves when it is answered (or its window has passed). */
  private shadow: Promise<void> | null = null;
  /** 429s answered outside a penalty (those answered during one belong to it). */
  penalties = 0;
  /** The pace in force: requests a second. */
  private rate: number;
  /** The pace that drew the last 429, while it is remembered. */
  private ceiling: number | null = null;
  private lastPenaltyAt = -Infinity;
  private lastChangeAt: number;

  constructor(
    readonly requestsPerSecond: number,
    readonly penaltyMs = 30_000,
    private readonly windowMs = 1_050,
    private readonly now: () => number = Date.now,
    /** A 429-free stretch after which the pace goes up by one request a second. */
    readonly recoveryMs = 60_000,
  ) {
    if (!(requestsPerSecond > 0)) throw new Error(`requests per second must be positive, got ${requestsPerSecond}`);
    this.rate = requestsPerSecond;
    this.lastChangeAt = now();
  }

  /** The pace in force (requests a second), recovered for the time without a 429. */
  get currentRate(): number {
    const now = this.now();
    if (now - this.lastPenaltyAt >= this.recoveryMs * 10) this.ceiling = null;
    const top = this.ceiling === null ? this.requestsPerSecond : Math.min(this.requestsPerSecond, Math.max(1, this.ceiling - 1));
    if (this.rate < top && now - Math.max(this.lastChangeAt, this.blockedUntil) >= this.recoveryMs) {
      this.rate += 1;
      this.lastChangeAt = now;
    }
    return this.rate;
  }

  /**
   * Resolves when a request may start; requests are admitted in order, but
   * an urgent one (a read that queued writes wait on) goes ahead of those
   * not urgent. Call the function it resolves to once the request has been
   * handed to the HTTP stack: its slot then counts from that moment (it
   * only ever moves later, so the pace can only get safer). That call
   * returns the function to call once the answer is in.
   *
   * An urgent read is a formula the server takes a while to evaluate, and a
   * server that counts requests when it gets to them would count those
   * queued behind it late, then bunched with the next second's: a 429. So
   * an urgent request takes the last free slot of its burst (the others go
   * first), and nothing starts after it until it is answered (at most a
   * window): its evaluation falls in the pause between bursts.
   */
  acquire(urgent = false): Promise<() => () => void> {
    return new Promise((grant) => {
      const waiter = { urgent, grant };
      const at = urgent ? this.waiting.findIndex((w) => !w.urgent) : -1;
      if (at === -1) this.waiting.push(waiter);
      else this.waiting.splice(at, 0, waiter);
      void this.grantSlots();
    });
  }

  /** Hands out slots as they free up: the first waiter, unless an urgent one should wait for the burst's last slot. */
  private async grantSlots(): Promise<void> {
    if (this.granting) return;
    this.granting = true;
    try {
      while (this.waiting.length) {
        if (this.shadow) await this.shadow;
        const { sent, free } = await this.waitForSlot();
        let next = 0;
        if (this.waiting[0]!.urgent && free > 1) {
          const plain = this.waiting.findIndex((w) => !w.urgent);
          if (plain !== -1) next = plain;
        }
        const [waiter] = this.waiting.splice(next, 1);
        if (!waiter!.urgent) {
          waiter!.grant(() => {
            sent();
            return () => undefined;
          });
          continue;
        }
        let answered!: () => void;
        const shadow = new Promise<void>((resolve) => {
          answered = resolve;
          setTimeout(resolve, this.windowMs).unref?.();
        });
        this.shadow = shadow;
        void shadow.then(() => {
          if (this.shadow === shadow) this.shadow = null;
        });
        waiter!.grant(() => {
          sent();
          return answered;
        });
      }
    } finally {
      this.granting = false;
    }
  }

  /** Takes a slot once one is free; `free` counts the free slots before it was taken. */
  private async waitForSlot(): Promise<{ sent: () => void; free: number }> {
    for (;;) {
      const now = this.now();
      if (now < this.blockedUntil) {
        await sleep(this.blockedUntil - now);
        continue;
      }
      this.starts = this.starts.filter((s) => now - s.at < this.windowMs);
      const rate = this.currentRate;
      if (this.starts.length < rate) {
        const free = rate - this.starts.length;
        const slot = { at: now };
        this.starts.push(slot);
        return {
          free,
          sent: () => {
            slot.at = Math.max(slot.at, this.now());
          },
        };
      }
      const oldest = Math.min(...this.starts.map((s) => s.at));
      await sleep(this.windowMs - (now - oldest) + 1);
    }
  }

  /**
   * Airtable answered 429: the base is closed to us for the penalty (or for
   * the answer's Retry-After), and the pace halves, once per penalty.
   */
  penalise(retryAfterMs?: number): void {
    const now = this.now();
    if (now >= this.blockedUntil) {
      this.penalties++;
      const rate = this.currentRate;
      this.ceiling = rate;
      this.rate = Math.max(1, Math.floor(rate / 2));
      this.lastPenaltyAt = now;
      this.lastChangeAt = now;
    }
    this.blockedUntil = Math.max(this.blockedUntil, now + (retryAfterMs ?? this.penaltyMs));
  }
}

const limiters = new Map<string, RateLimiter>();

/** The one limiter of a base in this process, shared by every table and task. */
export function limiterFor(baseId: string, requestsPerSecond: number, penaltyMs?: number): RateLimiter {
  let limiter = limiters.get(baseId);
  if (!limiter || limiter.requestsPerSecond !== requestsPerSecond || limiter.penaltyMs !== (penaltyMs ?? 30_000)) {
    limiter = new RateLimiter(requestsPerSecond, penaltyMs);
    limiters.set(baseId, limiter);
  }
  return limiter;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface AirtableClientOptions {
  token: string;
  baseId: string;
  endpointUrl: string;
  requestsPerSecond: number;
  /** Wait after a 429 (Airtable's penalty is 30 s). */
  rateLimitPenaltyMs?: number;
  /** Attempts for a read that fails with 5xx or a network error. */
  maxAttempts?: number;
  /** First backoff delay; doubles each attempt, with jitter. */
  backoffMs?: number;
  requestTimeoutMs?: number;
  /**
   * Airtable's content host, where files are uploaded
   * (https://content.airtable.com; by default the endpoint itself when the
   * endpoint is not Airtable's API, as an emulator serves both).
   */
  contentUrl?: string;
  /** Told about every retry, wait and penalty, for logs. */
  onEvent?: (event: { kind: 'retry' | 'rate_limited'; attempt?: number; delayMs: number; reason: string }) => void;
}

export interface ListPageOptions {
  offset?: string;
  pageSize?: number;
  filterByFormula?: string;
  /** Airtable's sort: fields (names or ids) and directions. */
  sort?: Array<{ field: string; direction: 'asc' | 'desc' }>;
  /** Ahead of the requests not urgent in the limiter's queue (a read that queued writes wait on). */
  urgent?: boolean;
}

const recordEnvelope = z.object({
  id: z.string(),
  createdTime: z.string(),
  fields: z.record(z.string(), z.unknown()),
});
export type AirtableRecord = z.infer<typeof recordEnvelope>;

const pageSchema = z.object({
  records: z.array(z.unknown()),
  offset: z.string().optional(),
});

export interface RecordPage {
  /** Records whose envelope is valid. */
  records: AirtableRecord[];
  /** Items that are not valid records: quarantined, never silently dropped. */
  invalid: Array<{ item: unknown; reason: string }>;
  offset?: string;
}

export interface MetadataField {
  id: string;
  name: string;
  type: string;
  options?: Record<string, unknown>;
}
export interface MetadataTable {
  id: string;
  name: string;
  primaryFieldId?: string;
  fields: MetadataField[];
}

const metadataSchema = z.object({
  tables: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      primaryFieldId: z.string().optional(),
      fields: z.array(z.object({ id: z.string(), name: z.string(), type: z.string(), options: z.record(z.string(), z.unknown()).optional() })),
    }),
  ),
});

export class AirtableClient {
  readonly limiter: RateLimiter;
  private readonly base: Airtable.Base;
  requests = 0;

  constructor(readonly options: AirtableClientOptions) {
    this.limiter = limiterFor(options.baseId, options.requestsPerSecond, options.rateLimitPenaltyMs);
    const airtable = new Airtable({
      apiKey: options.token,
      endpointUrl: options.endpointUrl,
      noRetryIfRateLimited: true,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
    });
    this.base = airtable.base(options.baseId);
  }

  /**
   * Runs one read through the limiter, retrying what is worth retrying: a
   * 429 waits for the penalty and goes on; 5xx and network errors back off
   * exponentially, at most maxAttempts times. Everything else is thrown,
   * classified.
   */
  private async read<T>(what: string, request: (headers: Record<string, string>) => Promise<T>, retryTransient = true, urgent = false): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const backoffMs = this.options.backoffMs ?? 1_000;
    for (let attempt = 1; ; attempt++) {
      const sent = await this.limiter.acquire(urgent);
      this.requests++;
      let answered = () => undefined as void;
      const id = randomUUID();
      try {
        const response = request({ [REQUEST_ID_HEADER]: id });
        answered = sent(); // airtable.js (node-fetch) and fetch start the request synchronously
        const result = await response;
        answered();
        return result;
      } catch (raw) {
        answered();
        const error = raw instanceof AirtableRequestError ? raw : classify(raw, what, this.options.endpointUrl);
        error.retryAfterMs ??= retryAfterByRequest.get(id);
        if (error.kind === 'rate_limited') {
          this.limiter.penalise(error.retryAfterMs);
          this.options.onEvent?.({ kind: 'rate_limited', delayMs: error.retryAfterMs ?? this.limiter.penaltyMs, reason: error.message });
          attempt--; // a 429 is a wait, not a failed attempt
          continue;
        }
        if (error.kind === 'transient' && retryTransient && attempt < maxAttempts) {
          // the server's Retry-After when it gave one, else exponential backoff
          const delay = error.retryAfterMs ?? backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
          this.options.onEvent?.({ kind: 'retry', attempt, delayMs: Math.round(delay), reason: error.message });
          await sleep(delay);
          continue;
        }
        if (error.kind === 'transient' && retryTransient) {
          throw new AirtableRequestError('transient', error.type, error.statusCode, `${error.message} (gave up after ${attempt} attempts)`);
        }
        throw error;
      } finally {
        retryAfterByRequest.delete(id);
      }
    }
  }

  /** One page of a table's records, fields keyed by field id. */
  async listPage(tableId: string, options: ListPageOptions = {}): Promise<RecordPage> {
    const params: Record<string, unknown> = { pageSize: options.pageSize ?? 100, returnFieldsByFieldId: true };
    if (options.offset) params.offset = options.offset;
    if (options.filterByFormula) params.filterByFormula = options.filterByFormula;
    if (options.sort?.length) params.sort = options.sort;
    // GET, as airtable.js lists; POST .../listRecords (same parameters in a
    // body) only when a long formula would push the URL past 16 kB (the
    // formula counts URL-encoded; the margin covers the path, the other
    // parameters and encoders that also escape quotes and brackets).
    const longUrl = encodeURIComponent(options.filterByFormula ?? '').length > 12_000;
    const response = await this.read(
      `table ${tableId} of base ${this.options.baseId}`,
      (headers) =>
        longUrl
          ? this.base.makeRequest({ method: 'POST', path: `/${encodeURIComponent(tableId)}/listRecords`, body: params, headers })
          : this.base.makeRequest({ method: 'GET', path: `/${encodeURIComponent(tableId)}`, qs: params, headers }),
      true,
      options.urgent,
    );
    const page = pageSchema.safeParse(response.body);
    if (!page.success) {
      throw new AirtableRequestError('rejected', 'INVALID_RESPONSE', response.statusCode, `Airtable's answer for table ${tableId} is not a page of records: ${page.error.issues[0]?.message}`);
    }
    const records: AirtableRecord[] = [];
    const invalid: RecordPage['invalid'] = [];
    for (const item of page.data.records) {
      const parsed = recordEnvelope.safeParse(item);
      if (parsed.success) records.push(parsed.data);
      else invalid.push({ item, reason: `not a valid record envelope: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'record'} ${i.message}`).join('; ')}` });
    }
    return { records, invalid, offset: page.data.offset };
  }

  /**
   * Airtable's current version of up to 100 records of a table, by id (one
   * request: a RECORD_ID() formula). Records it no longer has are absent.
   */
  async readRecords(tableId: string, ids: string[]): Promise<AirtableRecord[]> {
    if (ids.length > 100) throw new Error(`readRecords reads at most 100 records a request, got ${ids.length}`);
    if (!ids.length) return [];
    for (const id of ids) if (!/^rec[A-Za-z0-9]{14}$/.test(id)) throw new Error(`not an Airtable record id: ${id}`);
    return this.readByFormula(tableId, `OR(${ids.map((id) => `RECORD_ID()='${id}'`).join(',')})`);
  }

  /**
   * Of up to 250 records of a table, those modified since a given time each,
   * in one formula request (POST .../listRecords when the formula is too
   * long for a URL; more pages only when more than 100 of them changed):
   *
   *   IS_AFTER({Last Modified}, SWITCH(RECORD_ID(), 'rec1', 'time1', ...,
   *            '9999-12-31T00:00:00.000Z'))
   *
   * One comparison of literals per record and term, so evaluating it stays
   * cheap however the server evaluates formulas. A record given without a
   * time is always returned. The first record is asked for with the epoch as
   * its time, so it must come back: when it does not, the formula was not
   * understood as meant (or the record is gone) and `undefined` is returned,
   * for the caller to read by id instead. Otherwise every record returned is
   * its current version, and those absent were not modified since their
   * time, or are gone.
   */
  async readRecordsModifiedSince(
    tableId: string,
    lastModifiedField: string,
    records: Array<{ id: string; since: string | null }>,
  ): Promise<AirtableRecord[] | undefined> {
    if (records.length > 250) throw new Error(`readRecordsModifiedSince reads at most 250 records a request, got ${records.length}`);
    if (!records.length) return [];
    if (lastModifiedField.includes('}')) throw new Error(`the field name "${lastModifiedField}" contains "}", which a formula cannot reference`);
    const epoch = '1970-01-01T00:00:00.000Z';
    const cases = records.map(({ id, since }, i) => {
      if (!/^rec[A-Za-z0-9]{14}$/.test(id)) throw new Error(`not an Airtable record id: ${id}`);
      if (since !== null && !/^\d{4}-\d\d-\d\dT[0-9:.]+Z$/.test(since)) throw new Error(`not an ISO UTC timestamp: ${since}`);
      return `'${id}','${i === 0 || since === null ? epoch : since}'`;
    });
    const found = await this.readByFormula(tableId, `IS_AFTER({${lastModifiedField}},SWITCH(RECORD_ID(),${cases.join(',')},'9999-12-31T00:00:00.000Z'))`);
    // (the first record is then read like any changed one: its current version)
    return found.some((r) => r.id === records[0]!.id) ? found : undefined;
  }

  private async readByFormula(tableId: string, formula: string): Promise<AirtableRecord[]> {
    const records: AirtableRecord[] = [];
    let offset: string | undefined;
    do {
      // urgent: the push's writes queued in the limiter wait for what it reads
      const page = await this.listPage(tableId, { filterByFormula: formula, pageSize: 100, offset, urgent: true });
      if (page.invalid.length) throw new AirtableRequestError('rejected', 'INVALID_RESPONSE', 200, `Airtable answered table ${tableId} with ${page.invalid.length} invalid records: ${page.invalid[0]!.reason}`);
      records.push(...page.records);
      offset = page.offset;
    } while (offset);
    return records;
  }

  /**
   * Writes up to 10 records in one request: POST creates (or, with
   * `upsertOn` fields, upserts: a PATCH with performUpsert), PATCH updates
   * only the fields sent. Fields are keyed
   * by field id and so is the answer. A PATCH, and a POST that upserts, is
   * retried after 5xx and network errors (sending it again changes nothing);
   * a plain create is not, because its first attempt may have made the
   * record: the caller gets the error and decides.
   */
  async writeRecords(
    tableId: string,
    method: 'POST' | 'PATCH',
    records: Array<{ id?: string; fields: Record<string, unknown> }>,
    options: { typecast?: boolean; upsertOn?: string[] } = {},
  ): Promise<AirtableRecord[]> {
    if (!records.length || records.length > 10) throw new Error(`Airtable writes 1 to 10 records a request, got ${records.length}`);
    const body: Record<string, unknown> = { records, returnFieldsByFieldId: true };
    if (options.typecast) body.typecast = true;
    // Airtable upserts through PATCH: records without an id, matched on the
    // merge fields, are updated when found and created when not.
    const upsert = method === 'POST' && Boolean(options.upsertOn?.length);
    if (upsert) body.performUpsert = { fieldsToMergeOn: options.upsertOn };
    const idempotent = method === 'PATCH' || upsert;
    const response = await this.read(
      `${method === 'POST' ? (upsert ? 'upserting' : 'creating') : 'updating'} ${records.length} records in table ${tableId} of base ${this.options.baseId}`,
      (headers) => this.base.makeRequest({ method: upsert ? 'PATCH' : method, path: `/${encodeURIComponent(tableId)}`, body, headers }),
      idempotent,
    );
    const parsed = z.object({ records: z.array(recordEnvelope) }).safeParse(response.body);
    if (!parsed.success || parsed.data.records.length !== records.length) {
      throw new AirtableRequestError('rejected', 'INVALID_RESPONSE', response.statusCode, `Airtable's answer to a ${method} of ${records.length} records in table ${tableId} does not list them`);
    }
    return parsed.data.records;
  }

  /** The content host uploads go to (AirtableClientOptions.contentUrl). */
  get contentUrl(): string {
    if (this.options.contentUrl) return this.options.contentUrl.replace(/\/+$/, '');
    return /^https:\/\/api\.airtable\.com\/?$/.test(this.options.endpointUrl) ? 'https://content.airtable.com' : this.options.endpointUrl.replace(/\/+$/, '');
  }

  /**
   * Uploads a file of up to 5 MB into a record's attachment field
   * (`POST {content host}/v0/{baseId}/{recordId}/{field}/uploadAttachment`,
   * the file base64 in a JSON body); returns the record's attachment cell
   * after the upload. Paced and retried as a write that may be repeated is
   * not: a 5xx is not retried, since the first attempt may have attached
   * the file.
   */
  async uploadAttachment(recordId: string, fieldId: string, file: { filename: string; contentType: string; content: Buffer }): Promise<unknown[]> {
    if (!/^rec[A-Za-z0-9]{14}$/.test(recordId)) throw new Error(`not an Airtable record id: ${recordId}`);
    const url = `${this.contentUrl}/v0/${encodeURIComponent(this.options.baseId)}/${encodeURIComponent(recordId)}/${encodeURIComponent(fieldId)}/uploadAttachment`;
    const what = `uploading ${file.filename} (${file.content.length} bytes) to record ${recordId} of base ${this.options.baseId}`;
    const body = await this.read(
      what,
      async (headers) => {
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: { ...headers, authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ contentType: file.contentType, file: file.content.toString('base64'), filename: file.filename }),
            signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 120_000),
          });
        } catch (error) {
          throw { error: 'NETWORK', message: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message, statusCode: null };
        }
        const text = await response.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (!response.ok) {
          const e = (parsed as { error?: { type?: string; message?: string } | string } | undefined)?.error;
          const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
          if (retryAfter !== undefined) retryAfterByRequest.set(headers[REQUEST_ID_HEADER]!, retryAfter);
          throw {
            error: typeof e === 'string' ? e : (e?.type ?? `HTTP_${response.status}`),
            message: typeof e === 'object' && e?.message ? e.message : text.slice(0, 200),
            statusCode: response.status,
          };
        }
        return parsed;
      },
      false,
      true,
    );
    const fields = (body as { fields?: Record<string, unknown> } | undefined)?.fields;
    const cell = fields?.[fieldId] ?? Object.values(fields ?? {})[0];
    if (!Array.isArray(cell)) {
      throw new AirtableRequestError('rejected', 'INVALID_RESPONSE', 200, `Airtable's answer to ${what} does not hold the attachment cell`);
    }
    return cell;
  }

  /** Deletes up to 10 records in one request (retried: deleting again is harmless, or a 404/422 for the gone record). */
  async deleteRecords(tableId: string, ids: string[]): Promise<string[]> {
    if (!ids.length || ids.length > 10) throw new Error(`Airtable deletes 1 to 10 records a request, got ${ids.length}`);
    const response = await this.read(`deleting ${ids.length} records in table ${tableId} of base ${this.options.baseId}`, (headers) =>
      this.base.makeRequest({ method: 'DELETE', path: `/${encodeURIComponent(tableId)}`, qs: { records: ids }, headers }),
    );
    const parsed = z.object({ records: z.array(z.object({ id: z.string(), deleted: z.literal(true) })) }).safeParse(response.body);
    if (!parsed.success) {
      throw new AirtableRequestError('rejected', 'INVALID_RESPONSE', response.statusCode, `Airtable's answer to deleting records in table ${tableId} does not list them`);
    }
    return parsed.data.records.map((r) => r.id);
  }

  /** The base's tables and fields, from the Metadata API. */
  /** The base this client reads and writes. */
  get baseId(): string {
    return this.options.baseId;
  }

  async metadata(): Promise<MetadataTable[]> {
    const url = `${this.options.endpointUrl.replace(/\/$/, '')}/v0/meta/bases/${encodeURIComponent(this.options.baseId)}/tables`;
    const what = `base ${this.options.baseId} (metadata)`;
    const body = await this.read(what, async () => {
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { Authorization: `Bearer ${this.options.token}` },
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 60_000),
        });
      } catch (error) {
        const e = error as Error & { cause?: { code?: string; message?: string } };
        throw classify({ error: 'CONNECTION_ERROR', message: networkReason(e.message, e.cause), statusCode: null }, what, this.options.endpointUrl);
      }
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!response.ok) {
        const err = (json as { error?: { type?: string; message?: string } | string })?.error;
        const error = classify(
          { error: typeof err === 'string' ? err : err?.type, message: typeof err === 'object' ? err?.message : text.slice(0, 200), statusCode: response.status },
          what,
          this.options.endpointUrl,
        );
        if (response.status === 429 || response.status === 503) error.retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        throw error;
      }
      return json;
    });
    const parsed = metadataSchema.safeParse(body);
    if (!parsed.success) {
      throw new AirtableRequestError('rejected', 'INVALID_RESPONSE', 200, `Airtable's metadata for base ${this.options.baseId} is not a list of tables`);
    }
    return parsed.data.tables;
  }
}
