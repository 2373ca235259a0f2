/**
 * An emulator of the Airtable Web API (v0) for tests and demos: records
 * (list, listRecords, get, create, update, replace, upsert, delete) and the
 * Metadata API's table list, with Airtable's error bodies, validation, rate
 * limits (5 requests/s per base, 50/s per token, 30 s penalty), expiring list
 * offsets and failure injection. The official `airtable` client works against
 * it unchanged when pointed at `emulator.url` with `endpointUrl`.
 *
 * node:http only. Records are kept in memory, keyed internally by field id,
 * so renaming a field renames it in every record at once.
 *
 * It also plays Airtable's content host: attachment files are served at
 * signed, expiring URLs (`/content/...`, with the `attachmentContent`
 * option), files are uploaded with `POST /v0/{baseId}/{recordId}/{field}/uploadAttachment`,
 * and a write whose attachment cell lists `{url}` objects fetches the URL.
 * Generated attachments (no uploaded bytes) are served as deterministic
 * synthetic bytes of their declared size: see attachmentBytes().
 */
import http from 'node:http';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import {
  compileFormula,
  FormulaEvalError,
  FormulaSyntaxError,
  formulaValueToCell,
  type CompiledFormula,
  type FormulaValue,
} from './formula.ts';

// ---------------------------------------------------------------------------
// Public types

export interface FieldSchema {
  id: string;
  name: string;
  type: string;
  options?: Record<string, any>;
  description?: string;
}

export interface AirtableRecord {
  id: string;
  createdTime: string;
  fields: Record<string, unknown>;
}

export interface TableData {
  id: string;
  name: string;
  primaryFieldId: string;
  fields: FieldSchema[];
  records: AirtableRecord[];
  /** Optional, returned by the Metadata API (a default grid view otherwise). */
  views?: { id: string; name: string; type: string }[];
  description?: string;
}

export interface BaseData {
  tables: TableData[];
}

export interface EmulatorOptions {
  /** 0 = any free port on 127.0.0.1 (default 0). */
  port?: number;
  /** The only accepted bearer token (default 'patTESTTOKEN.emulator'). */
  token?: string;
  /** baseId -> data. The emulator copies records; the caller's objects are not modified. */
  bases: Record<string, BaseData>;
  /**
   * Default {requestsPerSecond: 5, penaltyMs: 30000} per base, plus
   * `tokenRequestsPerSecond` (default 50) per token across bases. false disables.
   */
  rateLimit?: { requestsPerSecond: number; penaltyMs: number; tokenRequestsPerSecond?: number } | false;
  /** Added to every response (default 0). */
  latencyMs?: number | (() => number);
  /** List offsets expire after this much inactivity (default 5 min, real time); also invalidated by restart(). */
  offsetTtlMs?: number;
  /** Clock for createdTime / lastModifiedTime / TODAY() (default real time). */
  now?: () => Date;
  /**
   * Re-sign attachment URLs on every response, as Airtable does: the expiry
   * segment of airtableusercontent.com URLs becomes now + 2 hours (rounded up
   * to the hour), so the same attachment comes back with a different URL over
   * time. Default false (URLs returned as stored). Superseded by
   * `attachmentContent`.
   */
  rotateAttachmentUrls?: boolean;
  /**
   * Serve attachment files, as Airtable's content host does: every attachment
   * the emulator renders (API answers and emulator.base() reads) gets a URL on
   * the emulator itself, `${url}/content/<expiresAtMs>/<attachmentId>/<signature>/<filename-url-encoded>`,
   * signed with an HMAC (a forged or edited URL is 403) and valid until
   * `attachmentUrlTtlMs` after the response (then 410 "URL expired"); reading
   * the record again gives a fresh URL. GET (or HEAD) of it answers the file's
   * bytes with its Content-Type and Content-Length; uploaded and fetched files
   * keep their real bytes, generated ones get attachmentBytes(id, size).
   * Writes whose attachment cells list `{url, filename?}` objects fetch the URL
   * before answering (a failed fetch adds an empty, size 0 file). Content
   * requests are not rate limited and are counted apart (stats.contentRequests).
   * Default false: attachment URLs are returned as stored and `{url}` cells are
   * recorded without fetching. (The content routes and uploadAttachment answer
   * either way.)
   */
  attachmentContent?: boolean;
  /** How long an attachment URL stays valid after the response that carried it (default 2 hours; clock: `now`). */
  attachmentUrlTtlMs?: number;
  /** Added before the response headers of each content request (default 0; `latencyMs` does not apply to them). */
  contentLatencyMs?: number | (() => number);
}

export interface EmulatorStats {
  /** Every HTTP request received, except downloads of attachment content (counted in contentRequests). */
  requests: number;
  /** Requests answered 429 by the rate limiter. */
  rateLimited: number;
  /** Requests by route: meta, list, listRecords, get, create, update, replace, delete, uploadAttachment, unknown. */
  byRoute: Record<string, number>;
  /** Records created, updated or deleted through the API (not through emulator.base()). */
  writes: number;
  /** Write requests (POST create, PATCH, PUT, DELETE, uploadAttachment) that succeeded. */
  writeRequests: number;
  /** GET/HEAD requests of attachment content URLs (/content/...), whatever their answer. */
  contentRequests: number;
  /** Bytes of attachment content sent (file bodies only, including cut-short ones). */
  contentBytes: number;
  /** Content requests answered 200 with the file. */
  contentServed: number;
  /** URLs of `{url}` attachment cells fetched successfully by writes (attachmentContent on). */
  attachmentFetches: number;
  /** ... and fetches that failed (the attachment was added empty, size 0). */
  attachmentFetchFailures: number;
}

export interface InjectedFailure {
  method?: string;
  /** Tested against the path (e.g. /v0/appX/Clients) and against the full request URL with its query string. */
  path?: RegExp;
  /**
   * HTTP status, or 'network' to destroy the socket without answering, or
   * 'truncate' to process the request normally (writes are applied) but send
   * only part of the answer's body after complete headers (Content-Length of
   * the whole body), then destroy the socket: a download or answer cut short.
   */
  status: number | 'network' | 'truncate';
  /** With 'truncate': how many bytes of the body are sent (default half of it, rounded down). */
  truncateAfterBytes?: number;
  /** JSON body (objects) or raw text (strings); a default Airtable-like error body otherwise. */
  body?: unknown;
  /** How many matching requests fail (default 1). */
  count?: number;
  headers?: Record<string, string>;
}

export interface TableHandle {
  /** Records with fields keyed by field name (copies). */
  list(): AirtableRecord[];
  get(id: string): AirtableRecord | undefined;
  /**
   * Creates a record as a user would in the Airtable UI (new select options are added; computed fields may be set verbatim).
   * Attachment objects with a url are recorded without fetching it (unlike API writes with attachmentContent):
   * they keep the size and type given and are served as synthetic bytes of that size (see setAttachmentContent).
   */
  create(fields: Record<string, unknown>): AirtableRecord;
  /**
   * Partial update by field name (or id). Bumps the lastModifiedTime fields when a
   * non-computed value changes; setting only computed fields (formula, lookup...)
   * stores them verbatim without bumping, like a formula recomputation.
   */
  update(id: string, fields: Record<string, unknown>): AirtableRecord;
  /** Deletes the record and unlinks it from linked records (keepLinks: leave dangling links behind). */
  delete(id: string, options?: { keepLinks?: boolean }): void;
}

export interface BaseHandle {
  table(idOrName: string): TableHandle;
  /** What the Metadata API returns. */
  schema(): { tables: unknown[] };
  renameField(tableIdOrName: string, fieldId: string, newName: string): void;
  addField(tableIdOrName: string, field: FieldSchema): void;
  removeField(tableIdOrName: string, fieldId: string): void;
  changeFieldType(tableIdOrName: string, fieldId: string, newType: string): void;
  addSelectOption(tableIdOrName: string, fieldId: string, name: string): void;
}

export interface Emulator {
  /** e.g. http://127.0.0.1:43123 (use as endpointUrl). */
  url: string;
  port: number;
  token: string;
  stop(): Promise<void>;
  /** Forget all list offsets (as a server restart does). */
  restart(): void;
  stats: EmulatorStats;
  resetStats(): void;
  injectFailure(f: InjectedFailure): void;
  base(baseId: string): BaseHandle;
  /**
   * The bytes the content host serves for an attachment: its stored bytes
   * (uploaded, fetched or set), else the synthetic bytes of a known attachment's
   * declared size; undefined for an unknown or removed attachment.
   */
  attachmentContent(attachmentId: string): Buffer | undefined;
  /**
   * Replaces the bytes served for an attachment (its id, size and type in the
   * records are left as they are, so a test can make a download disagree with
   * the metadata), or with null removes them (its URLs answer 404 afterwards).
   */
  setAttachmentContent(attachmentId: string, bytes: Buffer | null): void;
}

// ---------------------------------------------------------------------------
// Internal model

interface Rec {
  id: string;
  createdTime: string;
  /** The record's last modification time (what LAST_MODIFIED_TIME() returns). */
  lastModified: string;
  /** Cells keyed by field id; empty cells are absent. */
  cells: Record<string, unknown>;
}

interface Table {
  id: string;
  name: string;
  primaryFieldId: string;
  description?: string;
  views: { id: string; name: string; type: string }[];
  fields: FieldSchema[];
  byId: Map<string, FieldSchema>;
  byName: Map<string, FieldSchema>;
  records: Map<string, Rec>;
  /** Bumped on every schema change (invalidates compiled formulas). */
  version: number;
  /** Bumped when records are created or deleted; keys the shared snapshot of ids. */
  idsVersion: number;
  idsCache?: { version: number; ids: string[] };
  formulaCache: Map<string, CompiledFormula>;
}

interface Collaborator {
  id: string;
  email?: string;
  name?: string;
}

interface Base {
  id: string;
  tables: Table[];
  collaborators: Map<string, Collaborator>;
  collaboratorsByEmail: Map<string, Collaborator>;
}

interface ListIterator {
  id: string;
  baseId: string;
  tableId: string;
  signature: string;
  ids: string[];
  /** rec id in an issued offset -> position of that record in ids. */
  positions: Map<string, number>;
  lastUsed: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'object' && body && 'error' in body ? JSON.stringify(body) : String(status));
  }
}

function err(status: number, type: string, message: string): ApiError {
  return new ApiError(status, { error: { type, message } });
}

const COMPUTED_TYPES = new Set([
  'formula',
  'rollup',
  'count',
  'lookup',
  'multipleLookupValues',
  'createdTime',
  'lastModifiedTime',
  'autoNumber',
  'createdBy',
  'lastModifiedBy',
  'button',
  'externalSyncSource',
  'aiText',
]);
const TEXT_TYPES = new Set(['singleLineText', 'multilineText', 'richText', 'email', 'url', 'phoneNumber']);
const NUMBER_TYPES = new Set(['number', 'currency', 'percent', 'duration', 'rating']);

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function newId(prefix: string): string {
  const bytes = randomBytes(14);
  let s = prefix;
  for (let i = 0; i < 14; i++) s += ID_CHARS[bytes[i]! % 62];
  return s;
}
const RECORD_ID = /^rec[A-Za-z0-9]{14}$/;

const MAX_BODY = 1024 * 1024;
const MAX_URL = 16 * 1024;
/** Live list iterators kept at most (least recently used evicted). */
const MAX_ITERATORS = 256;

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === '' || v === false || (Array.isArray(v) && v.length === 0);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

// ---------------------------------------------------------------------------
// Loading

function buildTable(t: TableData): Table {
  const fields = t.fields.map((f) => clone(f));
  const table: Table = {
    id: t.id,
    name: t.name,
    primaryFieldId: t.primaryFieldId,
    description: t.description,
    views: t.views ? clone(t.views) : [{ id: 'viw' + t.id.slice(3, 17).padEnd(14, 'X'), name: 'Grid view', type: 'grid' }],
    fields,
    byId: new Map(),
    byName: new Map(),
    records: new Map(),
    version: 0,
    idsVersion: 0,
    formulaCache: new Map(),
  };
  reindex(table);
  for (const f of fields) ensureChoiceIds(f);
  const lmFields = fields.filter((f) => f.type === 'lastModifiedTime');
  for (const r of t.records) {
    if (table.records.has(r.id)) throw new Error(`duplicate record id ${r.id} in table ${t.name}`);
    const cells: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.fields ?? {})) {
      const f = table.byName.get(k) ?? table.byId.get(k);
      if (!f) throw new Error(`record ${r.id} of table ${t.name} has a value for unknown field "${k}"`);
      if (!isEmpty(v)) cells[f.id] = v;
    }
    let lastModified = r.createdTime;
    for (const f of lmFields) {
      const v = cells[f.id];
      if (typeof v === 'string' && v > lastModified) lastModified = v;
    }
    table.records.set(r.id, { id: r.id, createdTime: r.createdTime, lastModified, cells });
  }
  return table;
}

function reindex(table: Table): void {
  table.byId = new Map(table.fields.map((f) => [f.id, f]));
  table.byName = new Map(table.fields.map((f) => [f.name, f]));
  table.version++;
  table.formulaCache.clear();
}

function ensureChoiceIds(f: FieldSchema): void {
  const choices = f.options?.choices as { id?: string; name: string }[] | undefined;
  if (!Array.isArray(choices)) return;
  for (const c of choices) if (!c.id) c.id = newId('sel');
}

function buildBase(id: string, data: BaseData): Base {
  const base: Base = { id, tables: data.tables.map(buildTable), collaborators: new Map(), collaboratorsByEmail: new Map() };
  for (const t of base.tables) {
    const collabFields = t.fields.filter((f) => f.type === 'singleCollaborator' || f.type === 'multipleCollaborators');
    if (collabFields.length === 0) continue;
    for (const r of t.records.values()) {
      for (const f of collabFields) {
        const v = r.cells[f.id];
        for (const c of Array.isArray(v) ? v : [v]) registerCollaborator(base, c);
      }
    }
  }
  return base;
}

function registerCollaborator(base: Base, c: unknown): void {
  if (!c || typeof c !== 'object') return;
  const o = c as Collaborator;
  if (typeof o.id !== 'string' || base.collaborators.has(o.id)) return;
  const collab: Collaborator = { id: o.id };
  if (typeof o.email === 'string') collab.email = o.email;
  if (typeof o.name === 'string') collab.name = o.name;
  base.collaborators.set(o.id, collab);
  if (collab.email) base.collaboratorsByEmail.set(collab.email.toLowerCase(), collab);
}

// ---------------------------------------------------------------------------
// The engine: everything except HTTP

interface WriteOptions {
  typecast: boolean;
  /** A user editing in the UI (emulator.base()): lenient, computed fields stored verbatim. */
  direct: boolean;
}

/** Deferred side effects of a validated write (new select options, records created by typecast). */
type Effect = () => void;

class Engine {
  readonly bases = new Map<string, Base>();
  rotateAttachmentUrls = false;
  /** Render attachment URLs on the emulator's content host (option attachmentContent). */
  attachmentContent = false;
  /** Files fetched for the `{url}` attachment cells of the write being applied (set only around it). */
  fetched: Map<string, FetchedFile> | undefined;
  constructor(
    bases: Record<string, BaseData>,
    readonly now: () => Date,
    readonly content: ContentStore,
  ) {
    for (const [id, data] of Object.entries(bases)) this.bases.set(id, buildBase(id, data));
  }

  nowIso(): string {
    return this.now().toISOString();
  }

  table(base: Base, idOrName: string): Table | undefined {
    return base.tables.find((t) => t.id === idOrName) ?? base.tables.find((t) => t.name === idOrName);
  }

  tableById(base: Base, id: string): Table | undefined {
    return base.tables.find((t) => t.id === id);
  }

  /** The link field on the other side of `field`, if Airtable would keep them in step. */
  inverseOf(base: Base, table: Table, field: FieldSchema): { table: Table; field: FieldSchema } | undefined {
    if (field.type !== 'multipleRecordLinks') return undefined;
    const other = this.tableById(base, field.options?.linkedTableId);
    if (!other) return undefined;
    const explicit = field.options?.inverseLinkFieldId as string | undefined;
    if (explicit) {
      const f = other.byId.get(explicit);
      return f ? { table: other, field: f } : undefined;
    }
    if (other === table) return undefined;
    const back = other.fields.filter((f) => f.type === 'multipleRecordLinks' && f.options?.linkedTableId === table.id && !f.options?.inverseLinkFieldId);
    const forth = table.fields.filter((f) => f.type === 'multipleRecordLinks' && f.options?.linkedTableId === other.id && !f.options?.inverseLinkFieldId);
    if (back.length === 1 && forth.length === 1) return { table: other, field: back[0]! };
    return undefined;
  }

  resolveField(table: Table, key: string): FieldSchema | undefined {
    return table.byName.get(key) ?? table.byId.get(key);
  }

  // ----- rendering

  render(table: Table, rec: Rec, byId: boolean, only?: Set<string>): AirtableRecord {
    const fields: Record<string, unknown> = {};
    for (const f of table.fields) {
      if (only && !only.has(f.id)) continue;
      let v = rec.cells[f.id];
      if (v === undefined) continue;
      if (f.type === 'multipleAttachments' && Array.isArray(v)) {
        if (this.attachmentContent) v = this.contentCell(v);
        else if (this.rotateAttachmentUrls) v = this.resign(v);
      }
      fields[byId ? f.id : f.name] = v;
    }
    return { id: rec.id, createdTime: rec.createdTime, fields };
  }

  /** An attachment cell with fresh content-host URLs (valid for the TTL from now); remembers each file's declared size and type. */
  contentCell(list: unknown[]): unknown[] {
    const expiresAt = this.now().getTime() + this.content.ttlMs;
    return list.map((a) => {
      if (!a || typeof a !== 'object' || typeof (a as { id?: unknown }).id !== 'string') return a;
      const o = a as { id: string; filename?: unknown; size?: unknown; type?: unknown };
      const filename = typeof o.filename === 'string' ? o.filename : 'file';
      const type = typeof o.type === 'string' ? o.type : guessMime(filename);
      this.content.meta.set(o.id, { size: typeof o.size === 'number' ? o.size : 0, type });
      return { ...o, url: this.content.url(o.id, filename, expiresAt) };
    });
  }

  /** The declared size and type of an attachment, searched in every record (slow; for URLs of attachments never rendered). */
  findAttachment(id: string): { size: number; type: string } | undefined {
    for (const base of this.bases.values()) {
      for (const table of base.tables) {
        const fields = table.fields.filter((f) => f.type === 'multipleAttachments');
        if (!fields.length) continue;
        for (const rec of table.records.values()) {
          for (const f of fields) {
            const v = rec.cells[f.id];
            if (!Array.isArray(v)) continue;
            for (const a of v as { id?: unknown; filename?: unknown; size?: unknown; type?: unknown }[]) {
              if (!a || a.id !== id) continue;
              const filename = typeof a.filename === 'string' ? a.filename : 'file';
              return { size: typeof a.size === 'number' ? a.size : 0, type: typeof a.type === 'string' ? a.type : guessMime(filename) };
            }
          }
        }
      }
    }
    return undefined;
  }

  resign(list: unknown[]): unknown[] {
    const expiry = String(Math.ceil((this.now().getTime() + 2 * 3600_000) / 3600_000) * 3600_000);
    return list.map((a) => {
      if (!a || typeof a !== 'object' || typeof (a as { url?: unknown }).url !== 'string') return a;
      const o = a as { url: string };
      return { ...o, url: o.url.replace(/^(https:\/\/[^/]*airtableusercontent\.com\/v\d+\/u\/\d+\/\d+\/)\d{13}\//, `$1${expiry}/`) };
    });
  }

  renderCopy(table: Table, rec: Rec): AirtableRecord {
    return clone(this.render(table, rec, false));
  }

  metadata(base: Base): { tables: unknown[] } {
    return {
      tables: base.tables.map((t) => {
        const out: Record<string, unknown> = { id: t.id, name: t.name, primaryFieldId: t.primaryFieldId };
        if (t.description !== undefined) out.description = t.description;
        out.fields = clone(t.fields);
        out.views = clone(t.views);
        return out;
      }),
    };
  }

  // ----- formulas

  linkResolver(base: Base) {
    return (field: { options?: Record<string, unknown> | null }, ids: string[]): FormulaValue[] => {
      const linked = this.tableById(base, String(field.options?.linkedTableId ?? ''));
      if (!linked) return ids;
      const primary = linked.byId.get(linked.primaryFieldId);
      const out: FormulaValue[] = [];
      for (const id of ids) {
        const r = linked.records.get(id);
        if (!r || !primary) continue;
        const v = r.cells[primary.id];
        if (v === undefined) continue;
        out.push(typeof v === 'object' && v !== null && !Array.isArray(v) ? null : (v as FormulaValue));
      }
      return out;
    };
  }

  compile(base: Base, table: Table, source: string): CompiledFormula {
    let c = table.formulaCache.get(source);
    if (!c) {
      if (table.formulaCache.size > 500) table.formulaCache.clear();
      c = compileFormula(source, table.fields, { fieldsKeyedBy: 'id', resolveLinks: this.linkResolver(base), now: this.now });
      table.formulaCache.set(source, c);
    }
    return c;
  }

  /** Recomputes lookups and formulas of a record (never bumps lastModifiedTime). */
  recompute(base: Base, table: Table, rec: Rec, skip?: Set<string>): void {
    for (const f of table.fields) {
      if (skip?.has(f.id)) continue;
      if (f.type === 'multipleLookupValues' || f.type === 'lookup') {
        const linkField = table.byId.get(f.options?.recordLinkFieldId);
        const linked = linkField ? this.tableById(base, linkField.options?.linkedTableId) : undefined;
        const target = f.options?.fieldIdInLinkedTable as string | undefined;
        if (!linkField || !linked || !target) continue;
        const ids = rec.cells[linkField.id];
        const values: unknown[] = [];
        if (Array.isArray(ids)) {
          for (const id of ids) {
            const r = linked.records.get(String(id));
            const v = r?.cells[target];
            if (v === undefined) continue;
            if (Array.isArray(v)) values.push(...v);
            else values.push(v);
          }
        }
        if (values.length) rec.cells[f.id] = values;
        else delete rec.cells[f.id];
      } else if (f.type === 'count') {
        const linkField = table.byId.get(f.options?.recordLinkFieldId);
        if (!linkField) continue;
        const ids = rec.cells[linkField.id];
        rec.cells[f.id] = Array.isArray(ids) ? ids.length : 0;
      }
    }
    for (const f of table.fields) {
      if (skip?.has(f.id) || f.type !== 'formula') continue;
      const source = f.options?.formula;
      if (typeof source !== 'string' || f.options?.isValid === false) continue;
      let compiled: CompiledFormula;
      try {
        compiled = this.compile(base, table, source);
      } catch {
        continue; // a formula this subset cannot parse keeps its generated value
      }
      let cell: unknown;
      try {
        cell = formulaValueToCell(
          compiled.evaluate({ id: rec.id, createdTime: rec.createdTime, lastModifiedTime: rec.lastModified, fields: rec.cells }),
          f.options?.result?.type,
        );
      } catch (e) {
        if (!(e instanceof FormulaEvalError)) continue;
        cell = { error: '#ERROR!' };
      }
      if (cell === null || cell === undefined) delete rec.cells[f.id];
      else rec.cells[f.id] = cell;
    }
  }

  hasComputed(table: Table): boolean {
    return table.fields.some((f) => f.type === 'formula' || f.type === 'multipleLookupValues' || f.type === 'lookup' || f.type === 'count');
  }

  // ----- writes

  /** Validates one value for a field; returns the cell to store (null = empty). */
  normalize(base: Base, table: Table, f: FieldSchema, v: unknown, opts: WriteOptions, effects: Effect[], pending: PendingState, current?: Rec): unknown {
    const bad = (why?: string) =>
      err(422, 'INVALID_VALUE_FOR_COLUMN', why ?? `Field "${f.name}" cannot accept the provided value`);
    if (COMPUTED_TYPES.has(f.type)) {
      if (opts.direct) return isEmpty(v) ? null : clone(v);
      throw err(422, 'INVALID_VALUE_FOR_COLUMN', `Field "${f.name}" cannot accept a value because the field is computed`);
    }
    if (v === null || v === undefined) return null;
    if (TEXT_TYPES.has(f.type)) {
      if (typeof v === 'string') return v === '' ? null : v;
      if (opts.typecast && (typeof v === 'number' || typeof v === 'boolean')) return String(v);
      throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not a string`);
    }
    if (NUMBER_TYPES.has(f.type)) {
      let n: number;
      if (typeof v === 'number') n = v;
      else if (opts.typecast && typeof v === 'string') {
        const s = v.replace(/[$,%\s]/g, '');
        if (s === '') return null;
        n = Number(s);
      } else throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not a number`);
      if (!Number.isFinite(n)) throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not a number`);
      if (f.type === 'rating') {
        if (n === 0) return null;
        const max = Number(f.options?.max ?? 5);
        if (!Number.isInteger(n) || n < 1 || n > max) throw bad(`Field "${f.name}" cannot accept the value ${n}: ratings are whole numbers from 1 to ${max}`);
      }
      return n;
    }
    switch (f.type) {
      case 'checkbox': {
        if (typeof v === 'boolean') return v ? true : null;
        if (opts.typecast) {
          const s = String(v).trim().toLowerCase();
          return ['true', '1', 'yes', 'checked', 'x', 'on'].includes(s) ? true : null;
        }
        throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not a boolean`);
      }
      case 'date':
      case 'dateTime': {
        if (typeof v !== 'string') throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not a date`);
        if (v === '') return null;
        const strict = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(v);
        const d = strict || opts.typecast ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : v) : new Date(NaN);
        if (Number.isNaN(d.getTime())) throw bad(`Field "${f.name}" cannot accept the provided value: "${v}" is not a valid date`);
        return f.type === 'date' ? d.toISOString().slice(0, 10) : d.toISOString();
      }
      case 'singleSelect': {
        let s: string;
        if (typeof v === 'string') s = v;
        else if (opts.typecast && (typeof v === 'number' || typeof v === 'boolean')) s = String(v);
        else throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not a string`);
        if (s === '') return null;
        this.requireChoice(f, s, opts, effects, pending);
        return s;
      }
      case 'multipleSelects': {
        let arr: unknown[];
        if (Array.isArray(v)) arr = v;
        else if (opts.typecast && typeof v === 'string') arr = v.split(',').map((s) => s.trim()).filter(Boolean);
        else throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not an array of choices`);
        const out: string[] = [];
        for (const item of arr) {
          if (typeof item !== 'string') throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(item)} is not a choice name`);
          if (item === '' || out.includes(item)) continue;
          this.requireChoice(f, item, opts, effects, pending);
          out.push(item);
        }
        return out.length ? out : null;
      }
      case 'singleCollaborator':
        return this.collaborator(base, f, v, opts, bad);
      case 'multipleCollaborators': {
        if (!Array.isArray(v)) throw bad(`Field "${f.name}" cannot accept the provided value: expected an array of collaborators`);
        const out = v.map((c) => this.collaborator(base, f, c, opts, bad)).filter((c) => c !== null);
        return out.length ? out : null;
      }
      case 'multipleRecordLinks':
        return this.links(base, f, v, opts, effects, pending, bad);
      case 'multipleAttachments': {
        if (!Array.isArray(v)) throw bad(`Field "${f.name}" cannot accept the provided value: expected an array of attachments`);
        const existing = current && Array.isArray(current.cells[f.id]) ? (current.cells[f.id] as { id?: string }[]) : [];
        const out: unknown[] = [];
        for (const a of v) {
          if (!a || typeof a !== 'object') throw bad(`Field "${f.name}" cannot accept the provided value: attachments are objects with a url`);
          const o = a as Record<string, unknown>;
          const known = typeof o.id === 'string' ? existing.find((x) => x.id === o.id) : undefined;
          if (known) out.push(known);
          else if (typeof o.url === 'string') {
            let filename = typeof o.filename === 'string' ? o.filename : 'file';
            if (typeof o.filename !== 'string') {
              try {
                filename = decodeURIComponent(o.url.split('?')[0]!.split('/').pop() || 'file');
              } catch {
                /* a malformed escape: keep 'file' */
              }
            }
            const id = typeof o.id === 'string' ? o.id : newId('att');
            let url = o.url;
            let size = typeof o.size === 'number' ? o.size : 0;
            let type = typeof o.type === 'string' ? o.type : guessMime(filename);
            // With attachmentContent, the URL was fetched before the write (as Airtable
            // fetches it): the attachment keeps those bytes and is served by the emulator.
            const got = this.fetched?.get(o.url);
            if (got) {
              size = got.bytes.length;
              if (got.type) type = got.type;
              url = this.content.url(id, filename, this.now().getTime() + this.content.ttlMs);
              const t = type;
              effects.push(() => this.content.put(id, got.bytes, t));
            }
            out.push({ id, url, filename, size, type });
          } else throw bad(`Field "${f.name}" cannot accept the provided value: attachment objects need a url or an existing id`);
        }
        return out.length ? out : null;
      }
      default:
        return isEmpty(v) ? null : clone(v);
    }
  }

  requireChoice(f: FieldSchema, name: string, opts: WriteOptions, effects: Effect[], pending: PendingState): void {
    const choices = (f.options?.choices ?? []) as { id: string; name: string }[];
    if (choices.some((c) => c.name === name)) return;
    const key = `${f.id}\u0000${name}`;
    if (pending.options.has(key)) return;
    if (!opts.typecast && !opts.direct) {
      throw err(422, 'INVALID_MULTIPLE_CHOICE_OPTIONS', `Insufficient permissions to create new select option ""${name}""`);
    }
    pending.options.add(key);
    effects.push(() => {
      f.options ??= {};
      f.options.choices ??= [];
      const list = f.options.choices as { id: string; name: string; color?: string }[];
      if (!list.some((c) => c.name === name)) list.push({ id: newId('sel'), name });
    });
  }

  collaborator(base: Base, f: FieldSchema, v: unknown, opts: WriteOptions, bad: (why?: string) => ApiError): Collaborator | null {
    if (v === null || v === undefined || v === '') return null;
    let found: Collaborator | undefined;
    if (typeof v === 'string' && opts.typecast) found = base.collaboratorsByEmail.get(v.toLowerCase()) ?? base.collaborators.get(v);
    else if (typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Collaborator;
      if (typeof o.id === 'string') {
        found = base.collaborators.get(o.id);
        if (!found && /^usr[A-Za-z0-9]{14}$/.test(o.id)) {
          found = { id: o.id, ...(typeof o.email === 'string' ? { email: o.email } : {}), ...(typeof o.name === 'string' ? { name: o.name } : {}) };
          registerCollaborator(base, found);
        }
      } else if (typeof o.email === 'string') found = base.collaboratorsByEmail.get(o.email.toLowerCase());
    }
    if (!found) throw bad(`Field "${f.name}" cannot accept the provided value: ${JSON.stringify(v)} is not a collaborator of this base`);
    return { ...found };
  }

  links(base: Base, f: FieldSchema, v: unknown, opts: WriteOptions, effects: Effect[], pending: PendingState, bad: (why?: string) => ApiError): string[] | null {
    const linked = this.tableById(base, f.options?.linkedTableId);
    let items: unknown[];
    if (Array.isArray(v)) items = v;
    else if (typeof v === 'string' && (opts.typecast || opts.direct)) items = RECORD_ID.test(v) ? [v] : v.split(',').map((s) => s.trim()).filter(Boolean);
    else throw bad(`Value "${JSON.stringify(v)}" is not a valid array of record IDs.`);
    const out: string[] = [];
    for (const item of items) {
      let id: string | undefined;
      if (typeof item === 'string') id = item;
      else if (item && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string') id = (item as { id: string }).id;
      else throw bad(`Value "${JSON.stringify(v)}" is not a valid array of record IDs.`);
      if (opts.direct) {
        if (!out.includes(id)) out.push(id);
        continue;
      }
      if (RECORD_ID.test(id)) {
        if (!linked || !(linked.records.has(id) || pending.created.has(id))) {
          throw err(422, 'ROW_DOES_NOT_EXIST', `Record ID ${id} does not exist`);
        }
      } else if (opts.typecast && linked) {
        // typecast: match the linked table's primary field, else create a record with that name.
        const name = id;
        const cacheKey = `${linked.id}\u0000${name}`;
        const primary = linked.primaryFieldId;
        let match = pending.byName.get(cacheKey);
        if (!match) {
          for (const r of linked.records.values()) {
            if (r.cells[primary] === name) {
              match = r.id;
              break;
            }
          }
        }
        if (!match) {
          const newRecId = newId('rec');
          match = newRecId;
          pending.byName.set(cacheKey, newRecId);
          pending.created.add(newRecId);
          const primaryField = linked.byId.get(primary);
          effects.push(() => {
            const t = this.nowIso();
            const rec: Rec = { id: newRecId, createdTime: t, lastModified: t, cells: {} };
            if (primaryField && !COMPUTED_TYPES.has(primaryField.type)) rec.cells[primary] = name;
            this.stampCreated(linked, rec);
            linked.records.set(newRecId, rec);
            linked.idsVersion++;
          });
        }
        id = match;
      } else {
        throw bad(`Value "${id}" is not a valid record ID.`);
      }
      if (!out.includes(id)) out.push(id);
    }
    return out.length ? out : null;
  }

  stampCreated(table: Table, rec: Rec): void {
    for (const f of table.fields) {
      if (f.type === 'createdTime') rec.cells[f.id] = rec.createdTime;
      if (f.type === 'lastModifiedTime') rec.cells[f.id] = rec.lastModified;
    }
  }

  /** Whether a change to these fields bumps this lastModifiedTime field. */
  watches(lm: FieldSchema, changed: Iterable<string>, table: Table): boolean {
    const refs = lm.options?.referencedFieldIds;
    for (const id of changed) {
      const f = table.byId.get(id);
      if (!f || COMPUTED_TYPES.has(f.type)) continue;
      if (!Array.isArray(refs) || refs.length === 0 || refs.includes(id)) return true;
    }
    return false;
  }

  bump(table: Table, rec: Rec, changed: Iterable<string>, at: string): void {
    const list = [...changed];
    let any = false;
    for (const f of table.fields) {
      if (f.type !== 'lastModifiedTime') continue;
      if (this.watches(f, list, table)) {
        rec.cells[f.id] = at;
        any = true;
      }
    }
    if (any || list.some((id) => !COMPUTED_TYPES.has(table.byId.get(id)?.type ?? ''))) rec.lastModified = at;
  }

  /**
   * Validates a batch of writes (nothing changes if any fails), then applies
   * them. Items without `rec` are created; `mode` says how existing records
   * are updated (put clears the fields not sent).
   */
  writeBatch(
    base: Base,
    table: Table,
    items: { rec?: Rec; fields: Record<string, unknown> }[],
    mode: 'create' | 'patch' | 'put',
    opts: WriteOptions,
  ): Rec[] {
    const effects: Effect[] = [];
    const pending: PendingState = { options: new Set(), byName: new Map(), created: new Set() };
    const planned: { rec?: Rec; values: Map<string, unknown> }[] = [];
    for (const item of items) {
      if (!item.fields || typeof item.fields !== 'object' || Array.isArray(item.fields)) {
        throw err(422, 'INVALID_REQUEST_UNKNOWN', 'Invalid request: parameter validation failed. Check your request data.');
      }
      const values = new Map<string, unknown>();
      for (const [key, raw] of Object.entries(item.fields)) {
        const f = this.resolveField(table, key);
        if (!f) {
          if (opts.direct) throw new Error(`Unknown field name: "${key}" in table ${table.name}`);
          throw err(422, 'UNKNOWN_FIELD_NAME', `Unknown field name: "${key}"`);
        }
        values.set(f.id, this.normalize(base, table, f, raw, opts, effects, pending, item.rec));
      }
      planned.push({ rec: item.rec, values });
    }
    for (const e of effects) e();
    const at = this.nowIso();
    const out: Rec[] = [];
    const touched = new Map<Rec, Table>();
    for (const p of planned) {
      let rec = p.rec;
      const isNew = !rec;
      const before: Record<string, unknown> = rec ? { ...rec.cells } : {};
      if (!rec) {
        const id = newId('rec');
        rec = { id, createdTime: at, lastModified: at, cells: {} };
        table.records.set(id, rec);
        table.idsVersion++;
      }
      const cells = rec.cells;
      if (mode === 'put' && !isNew) {
        for (const f of table.fields) if (!COMPUTED_TYPES.has(f.type) && !p.values.has(f.id)) delete cells[f.id];
      }
      for (const [id, v] of p.values) {
        if (v === null) delete cells[id];
        else cells[id] = v;
      }
      const changed = new Set<string>();
      for (const f of table.fields) if (!sameValue(before[f.id], cells[f.id])) changed.add(f.id);
      if (isNew) this.stampCreated(table, rec);
      else this.bump(table, rec, changed, at);
      // Keep the other side of each link in step.
      for (const fid of changed) {
        const f = table.byId.get(fid)!;
        const inv = this.inverseOf(base, table, f);
        if (!inv) continue;
        const was = new Set(Array.isArray(before[fid]) ? (before[fid] as string[]) : []);
        const now = new Set(Array.isArray(cells[fid]) ? (cells[fid] as string[]) : []);
        for (const id of was) {
          if (now.has(id)) continue;
          const other = inv.table.records.get(id);
          const current = other?.cells[inv.field.id];
          if (!other || !Array.isArray(current) || !current.includes(rec.id)) continue;
          const list = (current as string[]).filter((x) => x !== rec.id);
          if (list.length) other.cells[inv.field.id] = list;
          else delete other.cells[inv.field.id];
          this.bump(inv.table, other, [inv.field.id], at);
          touched.set(other, inv.table);
        }
        for (const id of now) {
          if (was.has(id)) continue;
          const other = inv.table.records.get(id);
          if (!other) continue;
          const list = Array.isArray(other.cells[inv.field.id]) ? (other.cells[inv.field.id] as string[]) : [];
          if (!list.includes(rec.id)) {
            other.cells[inv.field.id] = [...list, rec.id];
            this.bump(inv.table, other, [inv.field.id], at);
            touched.set(other, inv.table);
          }
        }
      }
      // Computed fields set explicitly by a direct edit are kept as given.
      const explicit = opts.direct ? new Set([...p.values.keys()].filter((id) => COMPUTED_TYPES.has(table.byId.get(id)!.type))) : undefined;
      if (this.hasComputed(table)) this.recompute(base, table, rec, explicit);
      this.recomputeDependents(base, table, rec, touched);
      out.push(rec);
    }
    for (const [r, t] of touched) if (this.hasComputed(t)) this.recompute(base, t, r);
    return out;
  }

  /** Records that show this record's values through a link (lookups, formulas) are recomputed. */
  recomputeDependents(base: Base, table: Table, rec: Rec, touched: Map<Rec, Table>): void {
    for (const f of table.fields) {
      if (f.type !== 'multipleRecordLinks') continue;
      const other = this.tableById(base, f.options?.linkedTableId);
      if (!other || !this.hasComputed(other)) continue;
      const ids = rec.cells[f.id];
      if (!Array.isArray(ids)) continue;
      for (const id of ids) {
        const r = other.records.get(String(id));
        if (r) touched.set(r, other);
      }
    }
  }

  deleteRecords(base: Base, table: Table, recs: Rec[], keepLinks = false): void {
    const at = this.nowIso();
    const touched = new Map<Rec, Table>();
    for (const rec of recs) table.records.delete(rec.id);
    table.idsVersion++;
    if (keepLinks) return;
    for (const rec of recs) {
      for (const f of table.fields) {
        const inv = this.inverseOf(base, table, f);
        if (!inv) continue;
        const ids = rec.cells[f.id];
        if (!Array.isArray(ids)) continue;
        for (const id of ids) {
          const other = inv.table.records.get(String(id));
          if (!other) continue;
          const list = other.cells[inv.field.id];
          if (!Array.isArray(list) || !list.includes(rec.id)) continue;
          const rest = list.filter((x) => x !== rec.id);
          if (rest.length) other.cells[inv.field.id] = rest;
          else delete other.cells[inv.field.id];
          this.bump(inv.table, other, [inv.field.id], at);
          touched.set(other, inv.table);
        }
      }
    }
    for (const [r, t] of touched) if (this.hasComputed(t)) this.recompute(base, t, r);
  }
}

interface PendingState {
  options: Set<string>;
  byName: Map<string, string>;
  created: Set<string>;
}

function guessMime(filename: string): string {
  const ext = filename.toLowerCase().split('.').pop() ?? '';
  const map: Record<string, string> = {
    pdf: 'application/pdf',
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    txt: 'text/plain',
    csv: 'text/csv',
    doc: 'application/msword',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  };
  return map[ext] ?? 'application/octet-stream';
}

// ---------------------------------------------------------------------------
// Attachment content

/** Largest file uploadAttachment accepts (decoded), as Airtable's content host. */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
/** Largest request body of uploadAttachment (5 MB in base64 plus room, so an oversized file gets its own 413). */
const MAX_UPLOAD_BODY = 16 * 1024 * 1024;
/** Largest file a `{url}` cell fetch keeps (a larger one fails like an unreachable URL). */
const MAX_FETCH_BYTES = 64 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;
const SYNTHETIC_HEADER = Buffer.from('%PDF-1.4\n', 'latin1');
const BLOCK_SIZE = 64 * 1024;
/** Files are written in chunks of this size (fewer, larger socket writes): the block repeated. */
const CHUNK_SIZE = 4 * BLOCK_SIZE;
/** Synthetic chunks kept (256 KB each): the files being downloaded at once, with room. */
const MAX_BLOCKS = 128;
const blockCache = new Map<string, Buffer>();

/**
 * The 64 KB pseudo-random block a generated attachment's bytes repeat
 * (xorshift128 seeded by SHA-256 of the id), repeated to CHUNK_SIZE bytes.
 */
function syntheticBlock(id: string): Buffer {
  const hit = blockCache.get(id);
  if (hit) {
    blockCache.delete(id);
    blockCache.set(id, hit); // most recently used last
    return hit;
  }
  const seed = createHash('sha256').update(id).digest();
  let a = seed.readUInt32LE(0) | 1;
  let b = seed.readUInt32LE(4);
  let c = seed.readUInt32LE(8);
  let d = seed.readUInt32LE(12);
  const block = Buffer.allocUnsafe(CHUNK_SIZE);
  for (let i = 0; i < BLOCK_SIZE; i += 4) {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    block.writeUInt32LE(d, i);
  }
  for (let i = BLOCK_SIZE; i < CHUNK_SIZE; i += BLOCK_SIZE) block.copy(block, i, 0, BLOCK_SIZE);
  if (blockCache.size >= MAX_BLOCKS) blockCache.delete(blockCache.keys().next().value as string);
  blockCache.set(id, block);
  return block;
}

/**
 * The bytes of a generated attachment (one without uploaded content), as
 * chunks of at most 256 KB: `%PDF-1.4\n`, then the attachment's 64 KB
 * pseudo-random block (derived from the id) repeated, cut at exactly `size`
 * bytes. Nothing of the size of the file is allocated.
 */
export function* attachmentChunks(id: string, size: number): Generator<Buffer> {
  const total = Math.max(0, Math.floor(size));
  const head = Math.min(total, SYNTHETIC_HEADER.length);
  if (head > 0) yield SYNTHETIC_HEADER.subarray(0, head);
  let left = total - head;
  if (left <= 0) return;
  const block = syntheticBlock(id);
  while (left > 0) {
    const n = Math.min(left, CHUNK_SIZE);
    yield block.subarray(0, n);
    left -= n;
  }
}

/** The whole synthetic file of a generated attachment (see attachmentChunks). */
export function attachmentBytes(id: string, size: number): Buffer {
  return Buffer.concat([...attachmentChunks(id, size)]);
}

/** Hex SHA-256 of a generated attachment's synthetic bytes: what a download of it must hash to. */
export function sha256OfAttachment(id: string, size: number): string {
  const h = createHash('sha256');
  for (const chunk of attachmentChunks(id, size)) h.update(chunk);
  return h.digest('hex');
}

function* bufferChunks(bytes: Buffer): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += CHUNK_SIZE) yield bytes.subarray(i, i + CHUNK_SIZE);
}

/** What a `{url}` attachment cell's fetch brought back (bytes empty when it failed). */
interface FetchedFile {
  bytes: Buffer;
  type?: string;
  failed: boolean;
}

/**
 * The content host's state: the signing secret, the real bytes of uploaded,
 * fetched or replaced files, and the declared size and type of every
 * attachment whose URL was handed out (so that its URL can be served without
 * searching the records).
 */
class ContentStore {
  /** e.g. http://127.0.0.1:43123, set once the server listens. */
  baseUrl = '';
  private readonly secret = randomBytes(32);
  readonly files = new Map<string, Buffer>();
  readonly meta = new Map<string, { size: number; type: string }>();
  /** Attachments whose content was removed (setAttachmentContent(id, null)): 404. */
  readonly removed = new Set<string>();
  constructor(readonly ttlMs: number) {}

  private signature(expiresAt: string, id: string, filename: string): string {
    return createHmac('sha256', this.secret).update(`${expiresAt}\n${id}\n${filename}`).digest('base64url').slice(0, 32);
  }

  /** A URL of the file, valid until expiresAtMs. */
  url(id: string, filename: string, expiresAtMs: number): string {
    const exp = String(Math.floor(expiresAtMs));
    return `${this.baseUrl}/content/${exp}/${encodeURIComponent(id)}/${this.signature(exp, id, filename)}/${encodeURIComponent(filename)}`;
  }

  verify(expiresAt: string, id: string, filename: string, signature: string): boolean {
    const want = Buffer.from(this.signature(expiresAt, id, filename));
    const got = Buffer.from(signature);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  put(id: string, bytes: Buffer, type: string): void {
    this.files.set(id, bytes);
    this.meta.set(id, { size: bytes.length, type });
    this.removed.delete(id);
  }

  /** The file served for an attachment, given its declared metadata when not in the store yet. */
  open(id: string, declared?: { size: number; type: string }): { size: number; type: string; chunks: () => Iterable<Buffer> } | undefined {
    if (this.removed.has(id)) return undefined;
    const meta = this.meta.get(id) ?? declared;
    const bytes = this.files.get(id);
    if (bytes) return { size: bytes.length, type: meta?.type ?? 'application/octet-stream', chunks: () => bufferChunks(bytes) };
    if (!meta) return undefined;
    return { size: meta.size, type: meta.type, chunks: () => attachmentChunks(id, meta.size) };
  }
}

/** The media type of a Content-Type header, without parameters. */
function mediaType(header: string | null): string | undefined {
  const t = header?.split(';')[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

// ---------------------------------------------------------------------------
// Listing

interface ListParams {
  pageSize?: unknown;
  offset?: unknown;
  maxRecords?: unknown;
  fields?: unknown;
  filterByFormula?: unknown;
  sort?: unknown;
  view?: unknown;
  cellFormat?: unknown;
  returnFieldsByFieldId?: unknown;
  recordMetadata?: unknown;
}

function parseIntParam(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? n : NaN;
}

function parseBool(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}

function sortKey(engine: Engine, base: Base, f: FieldSchema, v: unknown): number | string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (f.type === 'singleSelect' && typeof v === 'string') {
    const i = ((f.options?.choices ?? []) as { name: string }[]).findIndex((c) => c.name === v);
    return i >= 0 ? i : 1e9;
  }
  if (typeof v === 'string') return v.toLowerCase();
  if (Array.isArray(v)) {
    if (f.type === 'multipleRecordLinks') {
      return engine
        .linkResolver(base)(f, v.map(String))
        .map((x) => (x === null ? '' : String(x)))
        .join(', ')
        .toLowerCase();
    }
    return v
      .map((x) => (x && typeof x === 'object' ? String((x as { name?: unknown; filename?: unknown }).name ?? (x as { filename?: unknown }).filename ?? '') : String(x)))
      .join(', ')
      .toLowerCase();
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.name === 'string') return o.name.toLowerCase();
    return null;
  }
  return String(v);
}

// ---------------------------------------------------------------------------
// Rate limiting

class Limiter {
  private times: number[] = [];
  private penaltyUntil = 0;
  /** true = allowed. */
  hit(now: number, rps: number, penaltyMs: number): boolean {
    if (now < this.penaltyUntil) return false;
    const cutoff = now - 1000;
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! <= cutoff) drop++;
    if (drop) this.times.splice(0, drop);
    if (this.times.length >= rps) {
      this.penaltyUntil = now + penaltyMs;
      this.times = [];
      return false;
    }
    this.times.push(now);
    return true;
  }
  inPenalty(now: number): boolean {
    return now < this.penaltyUntil;
  }
}

// ---------------------------------------------------------------------------
// HTTP

const NOT_FOUND = new ApiError(404, { error: 'NOT_FOUND' });
const RATE_LIMITED = () => err(429, 'RATE_LIMIT_REACHED', 'Rate limit exceeded. Please try again later');
const INVALID_REQUEST = () => err(422, 'INVALID_REQUEST_UNKNOWN', 'Invalid request: parameter validation failed. Check your request data.');

const DEFAULT_FAILURE_BODIES: Record<number, unknown> = {
  400: { error: { type: 'INVALID_REQUEST_UNKNOWN', message: 'Invalid request' } },
  401: { error: { type: 'AUTHENTICATION_REQUIRED', message: 'Authentication required' } },
  403: { error: { type: 'INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND', message: 'Invalid permissions, or the requested model was not found.' } },
  404: { error: 'NOT_FOUND' },
  413: { error: { type: 'REQUEST_TOO_LARGE', message: 'Request body is too large' } },
  422: { error: { type: 'INVALID_REQUEST_UNKNOWN', message: 'Invalid request: parameter validation failed. Check your request data.' } },
  429: { error: { type: 'RATE_LIMIT_REACHED', message: 'Rate limit exceeded. Please try again later' } },
  500: { error: { type: 'SERVER_ERROR', message: 'Server error' } },
  502: { error: { type: 'BAD_GATEWAY', message: 'Bad gateway' } },
  503: { error: { type: 'SERVICE_UNAVAILABLE', message: 'The service is temporarily unavailable. Please retry shortly.' } },
  504: { error: { type: 'GATEWAY_TIMEOUT', message: 'Gateway timeout' } },
};

type Route =
  | { name: 'meta'; baseId: string }
  | { name: 'list' | 'create' | 'update' | 'replace' | 'deleteMany'; baseId: string; table: string }
  | { name: 'listRecords'; baseId: string; table: string }
  | { name: 'get' | 'updateOne' | 'replaceOne' | 'deleteOne'; baseId: string; table: string; recordId: string }
  | { name: 'uploadAttachment'; baseId: string; recordId: string; field: string }
  | { name: 'unknown' };

function routeOf(method: string, pathname: string): Route {
  let parts: string[];
  try {
    parts = pathname.split('/').map((p) => decodeURIComponent(p));
  } catch {
    return { name: 'unknown' };
  }
  const root = parts.shift();
  if (root !== '') return { name: 'unknown' };
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  const version = parts.shift();
  if (version !== 'v0') return { name: 'unknown' };
  if (parts[0] === 'meta') {
    if (parts.length === 4 && parts[1] === 'bases' && parts[3] === 'tables' && method === 'GET') return { name: 'meta', baseId: parts[2]! };
    return { name: 'unknown' };
  }
  if (parts[0] === 'bases') return { name: 'unknown' };
  if (parts.length === 2) {
    const [baseId, table] = parts as [string, string];
    if (method === 'GET') return { name: 'list', baseId, table };
    if (method === 'POST') return { name: 'create', baseId, table };
    if (method === 'PATCH') return { name: 'update', baseId, table };
    if (method === 'PUT') return { name: 'replace', baseId, table };
    if (method === 'DELETE') return { name: 'deleteMany', baseId, table };
    return { name: 'unknown' };
  }
  if (parts.length === 3) {
    const [baseId, table, third] = parts as [string, string, string];
    if (third === 'listRecords' && method === 'POST') return { name: 'listRecords', baseId, table };
    if (method === 'GET') return { name: 'get', baseId, table, recordId: third };
    if (method === 'PATCH') return { name: 'updateOne', baseId, table, recordId: third };
    if (method === 'PUT') return { name: 'replaceOne', baseId, table, recordId: third };
    if (method === 'DELETE') return { name: 'deleteOne', baseId, table, recordId: third };
  }
  if (parts.length === 4 && parts[3] === 'uploadAttachment' && method === 'POST') {
    return { name: 'uploadAttachment', baseId: parts[0]!, recordId: parts[1]!, field: parts[2]! };
  }
  return { name: 'unknown' };
}

const STAT_ROUTE: Record<Route['name'], string> = {
  meta: 'meta',
  list: 'list',
  listRecords: 'listRecords',
  get: 'get',
  create: 'create',
  update: 'update',
  updateOne: 'update',
  replace: 'replace',
  replaceOne: 'replace',
  deleteMany: 'delete',
  deleteOne: 'delete',
  uploadAttachment: 'uploadAttachment',
  unknown: 'unknown',
};

/** /content/<expiresAtMs>/<attachmentId>/<signature>/<filename>: a download from the content host. */
const CONTENT_PATH = /^\/content\/(\d{1,16})\/([^/]+)\/([^/]+)\/([^/]*)$/;

const LIST_QUERY_KEY = /^(?:pageSize|offset|maxRecords|filterByFormula|view|cellFormat|timeZone|userLocale|returnFieldsByFieldId|method|fields(?:\[\d*\])?|sort\[\d+\]\[(?:field|direction)\]|recordMetadata(?:\[\d*\])?)$/;
const LIST_BODY_KEYS = new Set([
  'pageSize',
  'offset',
  'maxRecords',
  'filterByFormula',
  'view',
  'cellFormat',
  'timeZone',
  'userLocale',
  'returnFieldsByFieldId',
  'method',
  'fields',
  'sort',
  'recordMetadata',
]);

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const token = options.token ?? 'patTESTTOKEN.emulator';
  const now = options.now ?? (() => new Date());
  const content = new ContentStore(options.attachmentUrlTtlMs ?? 2 * 3600_000);
  const engine = new Engine(options.bases, now, content);
  engine.rotateAttachmentUrls = options.rotateAttachmentUrls === true;
  engine.attachmentContent = options.attachmentContent === true;
  const rate =
    options.rateLimit === false
      ? false
      : {
          requestsPerSecond: options.rateLimit?.requestsPerSecond ?? 5,
          penaltyMs: options.rateLimit?.penaltyMs ?? 30_000,
          tokenRequestsPerSecond: options.rateLimit?.tokenRequestsPerSecond ?? 50,
        };
  const offsetTtlMs = options.offsetTtlMs ?? 5 * 60_000;
  const iterators = new Map<string, ListIterator>();
  const baseLimiters = new Map<string, Limiter>();
  const tokenLimiter = new Limiter();
  const failures: (InjectedFailure & { remaining: number })[] = [];
  const stats: EmulatorStats = {
    requests: 0,
    rateLimited: 0,
    byRoute: {},
    writes: 0,
    writeRequests: 0,
    contentRequests: 0,
    contentBytes: 0,
    contentServed: 0,
    attachmentFetches: 0,
    attachmentFetchFailures: 0,
  };
  const sockets = new Set<Socket>();

  const latency = (): number => {
    const l = options.latencyMs;
    if (!l) return 0;
    return Math.max(0, typeof l === 'function' ? l() : l);
  };
  const contentLatency = (): number => {
    const l = options.contentLatencyMs;
    if (!l) return 0;
    return Math.max(0, typeof l === 'function' ? l() : l);
  };

  function getBase(id: string): Base {
    const b = engine.bases.get(id);
    if (!b) {
      throw err(
        403,
        'INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND',
        'Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.',
      );
    }
    return b;
  }

  function getTable(base: Base, idOrName: string): Table {
    const t = engine.table(base, idOrName);
    if (!t) throw err(404, 'TABLE_NOT_FOUND', `Could not find table ${idOrName} in application ${base.id}`);
    return t;
  }

  function getRecord(table: Table, id: string): Rec {
    const r = table.records.get(id);
    if (!r) {
      if (!RECORD_ID.test(id)) throw NOT_FOUND;
      throw err(404, 'MODEL_ID_NOT_FOUND', `Could not find record ${id}`);
    }
    return r;
  }

  // ----- list

  function list(base: Base, table: Table, p: ListParams): unknown {
    const pageSize = parseIntParam(p.pageSize) ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      throw err(422, 'INVALID_PAGE_SIZE_PARAMETER', `Invalid page size: ${String(p.pageSize)}. The page size must be an integer from 1 to 100.`);
    }
    const maxRecords = parseIntParam(p.maxRecords);
    if (maxRecords !== undefined && (!Number.isInteger(maxRecords) || maxRecords < 1)) {
      throw err(422, 'INVALID_MAX_RECORDS', `Invalid maxRecords: ${String(p.maxRecords)}. It must be a positive integer.`);
    }
    if (p.cellFormat !== undefined && p.cellFormat !== 'json') {
      throw err(422, 'INVALID_REQUEST_UNKNOWN', `cellFormat "${String(p.cellFormat)}" is not supported by the emulator (json only)`);
    }
    const byId = parseBool(p.returnFieldsByFieldId);
    let only: Set<string> | undefined;
    if (p.fields !== undefined) {
      const names = Array.isArray(p.fields) ? p.fields : [p.fields];
      only = new Set();
      for (const n of names) {
        const f = typeof n === 'string' ? engine.resolveField(table, n) : undefined;
        if (!f) throw err(422, 'UNKNOWN_FIELD_NAME', `Unknown field name: "${String(n)}"`);
        only.add(f.id);
      }
    }
    const sort: { field: FieldSchema; desc: boolean }[] = [];
    if (p.sort !== undefined) {
      if (!Array.isArray(p.sort)) throw INVALID_REQUEST();
      for (const s of p.sort) {
        const o = (s ?? {}) as { field?: unknown; direction?: unknown };
        const f = typeof o.field === 'string' ? engine.resolveField(table, o.field) : undefined;
        if (!f) throw err(422, 'UNKNOWN_FIELD_NAME', `Unknown field name: "${String(o.field)}"`);
        const dir = o.direction === undefined ? 'asc' : String(o.direction).toLowerCase();
        if (dir !== 'asc' && dir !== 'desc') throw err(422, 'INVALID_SORT_PARAMETER', `Invalid sort direction: ${String(o.direction)}`);
        sort.push({ field: f, desc: dir === 'desc' });
      }
    }
    const formula = typeof p.filterByFormula === 'string' && p.filterByFormula.trim() !== '' ? p.filterByFormula : undefined;
    if (p.filterByFormula !== undefined && typeof p.filterByFormula !== 'string') throw INVALID_REQUEST();
    const signature = JSON.stringify([base.id, table.id, formula ?? '', sort.map((s) => [s.field.id, s.desc]), maxRecords ?? null, p.view ?? null]);

    let it: ListIterator;
    let pos: number;
    const t = performance.now();
    if (p.offset !== undefined && p.offset !== '') {
      const offset = String(p.offset);
      const m = /^(itr[A-Za-z0-9]+)\/(rec[A-Za-z0-9]+)$/.exec(offset);
      if (!m) throw err(422, 'INVALID_OFFSET_VALUE', `The value of offset ${offset} is invalid`);
      const found = iterators.get(m[1]!);
      const expired = found && t - found.lastUsed > offsetTtlMs;
      if (!found || expired || found.signature !== signature || !found.positions.has(m[2]!)) {
        if (found && expired) iterators.delete(found.id);
        throw err(422, 'LIST_RECORDS_ITERATOR_NOT_AVAILABLE', 'The list records iterator is not available anymore. Please restart the listing from the beginning.');
      }
      it = found;
      pos = found.positions.get(m[2]!)!;
    } else {
      let compiled: CompiledFormula | undefined;
      if (formula) {
        try {
          compiled = engine.compile(base, table, formula);
        } catch (e) {
          if (e instanceof FormulaSyntaxError) {
            throw err(422, 'INVALID_FILTER_BY_FORMULA', `The formula for filtering records is invalid: ${e.message}`);
          }
          throw e;
        }
      }
      let ids: string[];
      if (!compiled && !sort.length && maxRecords === undefined) {
        // The common full read: iterators share one snapshot of the ids per table state.
        if (table.idsCache?.version !== table.idsVersion) table.idsCache = { version: table.idsVersion, ids: [...table.records.keys()] };
        ids = table.idsCache.ids;
      } else {
        let recs = [...table.records.values()];
        if (compiled) {
          const c = compiled;
          recs = recs.filter((r) => c({ id: r.id, createdTime: r.createdTime, lastModifiedTime: r.lastModified, fields: r.cells }));
        }
        if (sort.length) {
          const keyed = recs.map((r) => ({ r, k: sort.map((s) => sortKey(engine, base, s.field, r.cells[s.field.id])) }));
          keyed.sort((a, b) => {
            for (let i = 0; i < sort.length; i++) {
              const x = a.k[i]!;
              const y = b.k[i]!;
              let c = 0;
              if (x === null && y === null) c = 0;
              else if (x === null) c = -1;
              else if (y === null) c = 1;
              else if (typeof x === 'number' && typeof y === 'number') c = x - y;
              else {
                const xs = String(x);
                const ys = String(y);
                c = xs < ys ? -1 : xs > ys ? 1 : 0;
              }
              if (c !== 0) return sort[i]!.desc ? -c : c;
            }
            return 0;
          });
          recs = keyed.map((x) => x.r);
        }
        if (maxRecords !== undefined) recs = recs.slice(0, maxRecords);
        ids = recs.map((r) => r.id);
      }
      it = { id: newId('itr'), baseId: base.id, tableId: table.id, signature, ids, positions: new Map(), lastUsed: t };
      pos = 0;
      sweepIterators(t);
      iterators.set(it.id, it);
    }
    it.lastUsed = t;
    // Most recently used last, for the LRU eviction in sweepIterators.
    iterators.delete(it.id);
    iterators.set(it.id, it);
    const page: AirtableRecord[] = [];
    const withComments = Array.isArray(p.recordMetadata) ? p.recordMetadata.includes('commentCount') : p.recordMetadata === 'commentCount';
    while (pos < it.ids.length && page.length < pageSize) {
      const r = table.records.get(it.ids[pos++]!);
      if (!r) continue; // deleted since the listing started
      const out = engine.render(table, r, byId, only);
      page.push(withComments ? { ...out, commentCount: 0 } as AirtableRecord : out);
    }
    // Skip trailing deleted records so that a last page is not followed by an empty one.
    while (pos < it.ids.length && !table.records.has(it.ids[pos]!)) pos++;
    const body: { records: AirtableRecord[]; offset?: string } = { records: page };
    if (pos < it.ids.length) {
      const next = it.ids[pos]!;
      it.positions.set(next, pos);
      body.offset = `${it.id}/${next}`;
    } else {
      iterators.delete(it.id); // finished: its offsets are spent
    }
    return body;
  }

  function sweepIterators(t: number): void {
    for (const [id, it] of iterators) if (t - it.lastUsed > offsetTtlMs) iterators.delete(id);
    while (iterators.size >= MAX_ITERATORS) {
      const first = iterators.keys().next().value as string;
      iterators.delete(first);
    }
  }

  function parseListQuery(q: URLSearchParams): ListParams {
    const p: ListParams = {};
    const fields: string[] = [];
    const sort: { field?: string; direction?: string }[] = [];
    const meta: string[] = [];
    for (const [k, v] of q) {
      if (!LIST_QUERY_KEY.test(k)) throw INVALID_REQUEST();
      if (k.startsWith('fields')) fields.push(v);
      else if (k.startsWith('recordMetadata')) meta.push(v);
      else if (k.startsWith('sort[')) {
        const m = /^sort\[(\d+)\]\[(field|direction)\]$/.exec(k)!;
        const i = Number(m[1]);
        sort[i] ??= {};
        sort[i]![m[2] as 'field' | 'direction'] = v;
      } else if (k === 'method' || k === 'timeZone' || k === 'userLocale') continue;
      else (p as Record<string, unknown>)[k] = v;
    }
    if (fields.length) p.fields = fields;
    if (meta.length) p.recordMetadata = meta;
    if (sort.length) p.sort = sort.filter(Boolean);
    return p;
  }

  // ----- writes over HTTP

  function asObject(body: unknown): Record<string, unknown> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw err(422, 'INVALID_REQUEST_MISSING_FIELDS', 'Could not find field "fields" in the request body');
    }
    return body as Record<string, unknown>;
  }

  function checkKeys(o: Record<string, unknown>, allowed: string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) throw err(422, 'INVALID_REQUEST_UNKNOWN', `Invalid request: parameter validation failed. Check your request data. (unknown parameter "${k}")`);
    }
  }

  function recordsArray(o: Record<string, unknown>, verb: string): Record<string, unknown>[] {
    const recs = o.records;
    if (!Array.isArray(recs) || recs.length === 0) {
      throw err(422, 'INVALID_RECORDS', `You must provide an array of up to 10 record objects, each with a "fields" key, to ${verb}`);
    }
    if (recs.length > 10) throw err(422, 'INVALID_RECORDS', `You can ${verb} at most 10 records at a time (got ${recs.length})`);
    for (const r of recs) if (!r || typeof r !== 'object' || Array.isArray(r)) throw err(422, 'INVALID_RECORDS', 'Each record must be an object');
    return recs as Record<string, unknown>[];
  }

  function writeOpts(o: Record<string, unknown>): WriteOptions {
    return { typecast: o.typecast === true, direct: false };
  }

  function create(base: Base, table: Table, body: unknown): unknown {
    const o = asObject(body);
    checkKeys(o, ['records', 'fields', 'typecast', 'returnFieldsByFieldId']);
    const byId = parseBool(o.returnFieldsByFieldId);
    if (o.records === undefined && o.fields !== undefined) {
      const [rec] = engine.writeBatch(base, table, [{ fields: o.fields as Record<string, unknown> }], 'create', writeOpts(o));
      stats.writes += 1;
      return engine.render(table, rec!, byId);
    }
    const recs = recordsArray(o, 'create');
    const items = recs.map((r) => ({ fields: (r.fields ?? {}) as Record<string, unknown> }));
    const out = engine.writeBatch(base, table, items, 'create', writeOpts(o));
    stats.writes += out.length;
    return { records: out.map((r) => engine.render(table, r, byId)) };
  }

  function update(base: Base, table: Table, body: unknown, mode: 'patch' | 'put'): unknown {
    const o = asObject(body);
    checkKeys(o, ['records', 'typecast', 'returnFieldsByFieldId', 'performUpsert']);
    const byId = parseBool(o.returnFieldsByFieldId);
    const recs = recordsArray(o, 'update');
    const upsert = o.performUpsert as { fieldsToMergeOn?: unknown } | undefined;
    const opts = writeOpts(o);
    if (upsert !== undefined) {
      const merge = upsert && Array.isArray(upsert.fieldsToMergeOn) ? upsert.fieldsToMergeOn : undefined;
      if (!merge || merge.length < 1 || merge.length > 3) {
        throw err(422, 'INVALID_REQUEST_UNKNOWN', 'performUpsert.fieldsToMergeOn must be an array of 1 to 3 field names or ids');
      }
      const mergeFields = merge.map((n) => {
        const f = typeof n === 'string' ? engine.resolveField(table, n) : undefined;
        if (!f) throw err(422, 'UNKNOWN_FIELD_NAME', `Unknown field name: "${String(n)}"`);
        if (COMPUTED_TYPES.has(f.type) || f.type === 'multipleRecordLinks' || f.type === 'multipleAttachments') {
          throw err(422, 'INVALID_FIELD_TYPE_FOR_UPSERT', `Field "${f.name}" cannot be used in fieldsToMergeOn`);
        }
        return f;
      });
      const items: { rec?: Rec; fields: Record<string, unknown> }[] = [];
      for (const r of recs) {
        const fields = (r.fields ?? {}) as Record<string, unknown>;
        if (typeof r.id === 'string') {
          items.push({ rec: getRowForBatch(table, r.id), fields });
          continue;
        }
        const wanted = mergeFields.map((f) => {
          const key = Object.keys(fields).find((k) => engine.resolveField(table, k) === f);
          if (key === undefined) {
            throw err(422, 'INVALID_VALUE_FOR_COLUMN', `Field "${f.name}" used in fieldsToMergeOn is missing from a record`);
          }
          const probeEffects: Effect[] = [];
          return engine.normalize(base, table, f, fields[key], { ...opts, typecast: true }, probeEffects, { options: new Set(), byName: new Map(), created: new Set() });
        });
        const matches: Rec[] = [];
        for (const rec of table.records.values()) {
          if (mergeFields.every((f, i) => sameValue(rec.cells[f.id] ?? null, wanted[i] ?? null))) {
            matches.push(rec);
            if (matches.length > 1) break;
          }
        }
        if (matches.length > 1) {
          throw err(422, 'INVALID_RECORDS', `Upsert failed: more than one record matches the fieldsToMergeOn values of a record`);
        }
        items.push({ rec: matches[0], fields });
      }
      const out = engine.writeBatch(base, table, items, mode, opts);
      stats.writes += out.length;
      return {
        records: out.map((r) => engine.render(table, r, byId)),
        createdRecords: out.filter((_, i) => !items[i]!.rec).map((r) => r.id),
        updatedRecords: out.filter((_, i) => !!items[i]!.rec).map((r) => r.id),
      };
    }
    const items = recs.map((r) => {
      if (typeof r.id !== 'string') throw err(422, 'INVALID_RECORDS', 'Each record to update must have an "id"');
      return { rec: getRowForBatch(table, r.id), fields: (r.fields ?? {}) as Record<string, unknown> };
    });
    const out = engine.writeBatch(base, table, items, mode, opts);
    stats.writes += out.length;
    return { records: out.map((r) => engine.render(table, r, byId)) };
  }

  function getRowForBatch(table: Table, id: string): Rec {
    const r = table.records.get(id);
    if (!r) throw err(422, 'ROW_DOES_NOT_EXIST', `Record ID ${id} does not exist in this table`);
    return r;
  }

  function updateOne(base: Base, table: Table, recordId: string, body: unknown, mode: 'patch' | 'put'): unknown {
    const o = asObject(body);
    checkKeys(o, ['fields', 'typecast', 'returnFieldsByFieldId']);
    const rec = getRecord(table, recordId);
    if (!o.fields || typeof o.fields !== 'object') throw err(422, 'INVALID_REQUEST_MISSING_FIELDS', 'Could not find field "fields" in the request body');
    const [out] = engine.writeBatch(base, table, [{ rec, fields: o.fields as Record<string, unknown> }], mode, writeOpts(o));
    stats.writes += 1;
    return engine.render(table, out!, parseBool(o.returnFieldsByFieldId));
  }

  function deleteMany(base: Base, table: Table, q: URLSearchParams): unknown {
    const ids: string[] = [];
    for (const [k, v] of q) {
      if (/^records(\[\d*\])?$/.test(k)) {
        if (!ids.includes(v)) ids.push(v);
      } else throw INVALID_REQUEST();
    }
    if (ids.length === 0) throw err(422, 'INVALID_RECORDS', 'You must provide up to 10 record ids in records[] to delete');
    if (ids.length > 10) throw err(422, 'INVALID_RECORDS', `You can delete at most 10 records at a time (got ${ids.length})`);
    const recs = ids.map((id) => getRecord(table, id));
    engine.deleteRecords(base, table, recs);
    stats.writes += recs.length;
    return { records: recs.map((r) => ({ id: r.id, deleted: true })) };
  }

  // ----- attachments: uploads and `{url}` cells

  /** POST /v0/{baseId}/{recordId}/{field}/uploadAttachment: appends the file to the record's cell. */
  function uploadAttachment(base: Base, recordId: string, fieldKey: string, body: unknown): unknown {
    let table: Table | undefined;
    let rec: Rec | undefined;
    for (const t of base.tables) {
      rec = t.records.get(recordId);
      if (rec) {
        table = t;
        break;
      }
    }
    if (!rec || !table) {
      if (!RECORD_ID.test(recordId)) throw NOT_FOUND;
      throw err(404, 'MODEL_ID_NOT_FOUND', `Could not find record ${recordId}`);
    }
    const f = engine.resolveField(table, fieldKey);
    if (!f) throw err(404, 'FIELD_NOT_FOUND', `Could not find field "${fieldKey}" in table ${table.name}`);
    if (f.type !== 'multipleAttachments') throw err(422, 'INVALID_REQUEST_UNKNOWN', `Field "${f.name}" is not an attachment field`);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw INVALID_REQUEST();
    const o = body as Record<string, unknown>;
    checkKeys(o, ['contentType', 'file', 'filename']);
    if (typeof o.contentType !== 'string' || o.contentType.trim() === '') throw err(422, 'INVALID_REQUEST_UNKNOWN', 'contentType must be a non-empty string');
    if (typeof o.filename !== 'string' || o.filename === '') throw err(422, 'INVALID_REQUEST_UNKNOWN', 'filename must be a non-empty string');
    if (typeof o.file !== 'string' || !/^[A-Za-z0-9+/_\-\s]*={0,2}\s*$/.test(o.file)) throw err(422, 'INVALID_REQUEST_UNKNOWN', 'file must be the base64 encoded content of the file');
    const bytes = Buffer.from(o.file, 'base64');
    if (bytes.length > MAX_UPLOAD_BYTES) {
      throw err(413, 'REQUEST_TOO_LARGE', `The file is ${bytes.length} bytes; uploadAttachment accepts files of up to ${MAX_UPLOAD_BYTES} bytes`);
    }
    const id = newId('att');
    const type = o.contentType.trim();
    content.put(id, bytes, type);
    const att = { id, url: content.url(id, o.filename, now().getTime() + content.ttlMs), filename: o.filename, size: bytes.length, type };
    const current = Array.isArray(rec.cells[f.id]) ? (rec.cells[f.id] as { id?: unknown }[]) : [];
    // As a user write: existing attachments kept by id, lastModifiedTime bumped, formulas recomputed.
    const cell = [...current.map((a) => (a && typeof a.id === 'string' ? { id: a.id } : a)), att];
    engine.writeBatch(base, table, [{ rec, fields: { [f.id]: cell } }], 'patch', { typecast: false, direct: false });
    stats.writes += 1;
    const rendered = engine.render(table, rec, true, new Set([f.id]));
    return { id: rec.id, createdTime: rec.createdTime, fields: { [f.id]: rendered.fields[f.id] ?? [] } };
  }

  /**
   * The URLs a write's attachment cells ask the emulator to fetch: `{url}`
   * objects that are not an attachment the record already has (those are
   * kept by id). Best effort: a body the write will reject lists nothing.
   */
  function urlsToFetch(a: Admitted): string[] {
    const r = a.route;
    if (r.name !== 'create' && r.name !== 'update' && r.name !== 'replace' && r.name !== 'updateOne' && r.name !== 'replaceOne') return [];
    const table = engine.table(a.base, r.table);
    const o = a.body;
    if (!table || !o || typeof o !== 'object' || Array.isArray(o)) return [];
    const body = o as { records?: unknown; fields?: unknown };
    const items: { id?: unknown; fields?: unknown }[] = [];
    if (Array.isArray(body.records)) items.push(...(body.records as { id?: unknown; fields?: unknown }[]));
    else if (body.fields !== undefined) items.push({ id: 'recordId' in r ? r.recordId : undefined, fields: body.fields });
    const urls = new Set<string>();
    for (const item of items) {
      if (!item || typeof item !== 'object' || !item.fields || typeof item.fields !== 'object') continue;
      const rec = typeof item.id === 'string' ? table.records.get(item.id) : undefined;
      for (const [key, v] of Object.entries(item.fields as Record<string, unknown>)) {
        const f = engine.resolveField(table, key);
        if (!f || f.type !== 'multipleAttachments' || !Array.isArray(v)) continue;
        const existing = rec && Array.isArray(rec.cells[f.id]) ? (rec.cells[f.id] as { id?: unknown }[]) : [];
        for (const x of v) {
          if (!x || typeof x !== 'object' || typeof (x as { url?: unknown }).url !== 'string') continue;
          const att = x as { id?: unknown; url: string };
          if (typeof att.id === 'string' && existing.some((e) => e && e.id === att.id)) continue;
          urls.add(att.url);
        }
      }
    }
    return [...urls];
  }

  async function fetchFile(u: string): Promise<FetchedFile> {
    try {
      if (!/^https?:\/\//i.test(u)) throw new Error('not an http(s) URL');
      const res = await fetch(u, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`HTTP ${res.status}`);
      }
      const bytes = Buffer.from(await res.arrayBuffer());
      if (bytes.length > MAX_FETCH_BYTES) throw new Error('too large');
      stats.attachmentFetches++;
      return { bytes, type: mediaType(res.headers.get('content-type')), failed: false };
    } catch {
      stats.attachmentFetchFailures++;
      return { bytes: Buffer.alloc(0), failed: true };
    }
  }

  // ----- dispatch

  interface Admitted {
    route: Exclude<Route, { name: 'unknown' }>;
    base: Base;
    body: unknown;
  }

  /** Routing, rate limits, the base and the JSON body: everything checked before a request does anything. */
  function admit(method: string, url: URL, rawBody: string): Admitted {
    const route = routeOf(method, url.pathname);
    if (route.name === 'unknown') throw NOT_FOUND;
    // Token-wide and per-base rate limits (after authentication).
    const t = performance.now();
    if (rate) {
      if (!tokenLimiter.hit(t, rate.tokenRequestsPerSecond, rate.penaltyMs)) {
        stats.rateLimited++;
        throw RATE_LIMITED();
      }
    }
    const base = getBase(route.baseId);
    if (rate) {
      let lim = baseLimiters.get(base.id);
      if (!lim) baseLimiters.set(base.id, (lim = new Limiter()));
      if (!lim.hit(t, rate.requestsPerSecond, rate.penaltyMs)) {
        stats.rateLimited++;
        throw RATE_LIMITED();
      }
    }
    let body: unknown;
    if (method !== 'GET' && method !== 'DELETE' && rawBody.trim() !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        throw err(422, 'INVALID_REQUEST_BODY', 'Could not parse the request body as JSON');
      }
    }
    return { route, base, body };
  }

  function execute(url: URL, a: Admitted): { status: number; body: unknown; headers?: Record<string, string> } {
    const { route, base, body } = a;
    if (route.name === 'meta') return { status: 200, body: engine.metadata(base) };
    if (route.name === 'uploadAttachment') return { status: 200, body: uploadAttachment(base, route.recordId, route.field, body) };
    const table = getTable(base, route.table);
    switch (route.name) {
      case 'list':
        return { status: 200, body: list(base, table, parseListQuery(url.searchParams)) };
      case 'listRecords': {
        const o = body === undefined ? {} : asObject(body);
        for (const k of Object.keys(o)) if (!LIST_BODY_KEYS.has(k)) throw INVALID_REQUEST();
        return { status: 200, body: list(base, table, o as ListParams) };
      }
      case 'get': {
        for (const k of url.searchParams.keys()) {
          if (!/^(returnFieldsByFieldId|cellFormat|timeZone|userLocale)$/.test(k)) throw INVALID_REQUEST();
        }
        const cellFormat = url.searchParams.get('cellFormat');
        if (cellFormat !== null && cellFormat !== 'json') throw err(422, 'INVALID_REQUEST_UNKNOWN', 'cellFormat must be json');
        const rec = getRecord(table, route.recordId);
        return { status: 200, body: engine.render(table, rec, parseBool(url.searchParams.get('returnFieldsByFieldId'))) };
      }
      case 'create':
        return { status: 200, body: create(base, table, body) };
      case 'update':
        return { status: 200, body: update(base, table, body, 'patch') };
      case 'replace':
        return { status: 200, body: update(base, table, body, 'put') };
      case 'updateOne':
        return { status: 200, body: updateOne(base, table, route.recordId, body, 'patch') };
      case 'replaceOne':
        return { status: 200, body: updateOne(base, table, route.recordId, body, 'put') };
      case 'deleteMany':
        return { status: 200, body: deleteMany(base, table, url.searchParams) };
      case 'deleteOne': {
        const rec = getRecord(table, route.recordId);
        engine.deleteRecords(base, table, [rec]);
        stats.writes += 1;
        return { status: 200, body: { id: rec.id, deleted: true } };
      }
    }
  }

  /** Sends an answer; with `cut` (bytes, -1 = half) only that much of the body, then the socket is destroyed. */
  function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, cut?: number): void {
    const delay = latency();
    const write = () => {
      if (res.destroyed || res.writableEnded) return;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const h: Record<string, string> = {
        'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
        ...headers,
      };
      res.writeHead(status, h);
      if (cut === undefined) {
        res.end(text);
        return;
      }
      const buf = Buffer.from(text);
      const n = cut < 0 ? Math.floor(buf.length / 2) : Math.min(cut, buf.length);
      res.write(buf.subarray(0, n), () => res.destroy());
    };
    if (delay > 0) setTimeout(write, delay).unref();
    else write();
  }

  /** A plain-text answer of the content host (its errors are not Airtable API error bodies). */
  function sendContentError(res: http.ServerResponse, status: number, text: string, cut?: number): void {
    const write = () => {
      if (res.destroyed || res.writableEnded) return;
      const buf = Buffer.from(text);
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(buf.length) });
      if (cut === undefined) res.end(buf);
      else res.write(buf.subarray(0, cut < 0 ? Math.floor(buf.length / 2) : Math.min(cut, buf.length)), () => res.destroy());
    };
    const delay = contentLatency();
    if (delay > 0) setTimeout(write, delay).unref();
    else write();
  }

  /**
   * GET/HEAD /content/<expiresAtMs>/<attachmentId>/<signature>/<filename>:
   * 403 for a signature that does not match (forged or edited URL), 410 once
   * expired, 404 for an unknown or removed attachment, else the file, streamed
   * in chunks of at most 256 KB with backpressure.
   */
  function serveContent(req: http.IncomingMessage, res: http.ServerResponse, url: URL, cut?: number): void {
    const m = CONTENT_PATH.exec(url.pathname);
    let id: string;
    let filename: string;
    try {
      if (!m) throw new Error('not a content URL');
      id = decodeURIComponent(m[2]!);
      filename = decodeURIComponent(m[4]!);
    } catch {
      sendContentError(res, 404, 'Not found', cut);
      return;
    }
    const [, expiresAt, , signature] = m;
    if (!content.verify(expiresAt!, id, filename, signature!)) {
      sendContentError(res, 403, 'Forbidden: invalid signature', cut);
      return;
    }
    if (now().getTime() > Number(expiresAt)) {
      sendContentError(res, 410, 'URL expired', cut);
      return;
    }
    let file = content.open(id);
    if (!file && !content.removed.has(id)) {
      // An attachment whose URL was not rendered by this emulator (e.g. signed before a restart of the data): search for it.
      const declared = engine.findAttachment(id);
      if (declared) {
        content.meta.set(id, declared);
        file = content.open(id);
      }
    }
    if (!file) {
      sendContentError(res, 404, 'Not found', cut);
      return;
    }
    const f = file;
    const write = () => {
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(200, {
        'content-type': f.type,
        'content-length': String(f.size),
        'cache-control': 'private, max-age=0',
        'accept-ranges': 'none',
      });
      stats.contentServed++;
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const limit = cut === undefined ? undefined : cut < 0 ? Math.floor(f.size / 2) : Math.min(cut, f.size);
      const it = f.chunks()[Symbol.iterator]();
      let sent = 0;
      const step = (): void => {
        for (;;) {
          if (res.destroyed) return;
          if (limit !== undefined && sent >= limit) {
            res.write(Buffer.alloc(0), () => res.destroy()); // flushed: drop the connection mid-body
            return;
          }
          const next = it.next();
          if (next.done) {
            res.end();
            return;
          }
          let chunk = next.value;
          if (limit !== undefined && sent + chunk.length > limit) chunk = chunk.subarray(0, limit - sent);
          sent += chunk.length;
          stats.contentBytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', step);
            return;
          }
        }
      };
      step();
    };
    const delay = contentLatency();
    if (delay > 0) setTimeout(write, delay).unref();
    else write();
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, rawBody: string, tooLarge: boolean): void {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://emulator.local');
    } catch {
      send(res, 404, { error: 'NOT_FOUND' });
      return;
    }
    // Downloads from the content host: no authentication, no rate limit, their own stats.
    const isContent = (method === 'GET' || method === 'HEAD') && url.pathname.startsWith('/content/');
    const route = isContent ? undefined : routeOf(method, url.pathname);
    if (isContent) stats.contentRequests++;
    else {
      const statName = STAT_ROUTE[route!.name];
      stats.byRoute[statName] = (stats.byRoute[statName] ?? 0) + 1;
    }

    const failure = failures.find(
      (f) => f.remaining > 0 && (!f.method || f.method.toUpperCase() === method) && (!f.path || f.path.test(url.pathname) || f.path.test(rawUrl)),
    );
    let cut: number | undefined;
    if (failure) {
      failure.remaining--;
      if (failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
      if (failure.status === 'network') {
        const delay = isContent ? contentLatency() : latency();
        const kill = () => req.socket.destroy();
        if (delay > 0) setTimeout(kill, delay).unref();
        else kill();
        return;
      }
      if (failure.status === 'truncate') cut = failure.truncateAfterBytes ?? -1;
      else {
        const body = failure.body !== undefined ? failure.body : (DEFAULT_FAILURE_BODIES[failure.status] ?? { error: { type: 'UNEXPECTED_ERROR', message: `HTTP ${failure.status}` } });
        if (isContent) {
          // The content host's latency, not the API's.
          const delay = contentLatency();
          const answer = () => {
            if (res.destroyed || res.writableEnded) return;
            const text = typeof body === 'string' ? body : JSON.stringify(body);
            res.writeHead(failure.status as number, {
              'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
              'content-length': String(Buffer.byteLength(text)),
              ...failure.headers,
            });
            res.end(text);
          };
          if (delay > 0) setTimeout(answer, delay).unref();
          else answer();
        } else send(res, failure.status, body, failure.headers);
        return;
      }
    }
    if (isContent) {
      serveContent(req, res, url, cut);
      return;
    }
    const fail = (e: unknown) => {
      if (e instanceof ApiError) send(res, e.status, e.body, e.headers, cut);
      else send(res, 500, { error: { type: 'SERVER_ERROR', message: `Emulator error: ${(e as Error).message}` } }, {}, cut);
    };
    const run = (a: Admitted, fetched?: Map<string, FetchedFile>) => {
      engine.fetched = fetched;
      try {
        const out = execute(url, a);
        if (method !== 'GET' && route!.name !== 'listRecords' && route!.name !== 'meta') stats.writeRequests++;
        send(res, out.status, out.body, out.headers, cut);
      } catch (e) {
        fail(e);
      } finally {
        engine.fetched = undefined;
      }
    };
    let admitted: Admitted;
    try {
      if (rawUrl.length > MAX_URL) throw err(414, 'REQUEST_URI_TOO_LONG', `The request URL is longer than ${MAX_URL} characters; use POST .../listRecords`);
      if (tooLarge) throw err(413, 'REQUEST_TOO_LARGE', 'Request body is too large');
      const auth = req.headers.authorization ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
      if (!m || m[1] !== token) throw err(401, 'AUTHENTICATION_REQUIRED', 'Authentication required');
      admitted = admit(method, url, rawBody);
    } catch (e) {
      fail(e);
      return;
    }
    // Airtable fetches the URLs of `{url}` attachment cells itself; here before the write is applied.
    const urls = engine.attachmentContent ? urlsToFetch(admitted) : [];
    if (urls.length === 0) {
      run(admitted);
      return;
    }
    void Promise.all(urls.map(async (u) => [u, await fetchFile(u)] as const)).then((pairs) => run(admitted, new Map(pairs)));
  }

  const server = http.createServer({ maxHeaderSize: 96 * 1024 }, (req, res) => {
    const path = req.url ?? '/';
    const method = (req.method ?? 'GET').toUpperCase();
    if (!((method === 'GET' || method === 'HEAD') && path.startsWith('/content/'))) stats.requests++;
    // uploadAttachment carries a file of up to 5 MB in base64.
    const maxBody = /\/uploadAttachment\/?(?:\?|$)/.test(path) ? MAX_UPLOAD_BODY : MAX_BODY;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => handle(req, res, tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge));
    req.on('error', () => res.destroy());
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  content.baseUrl = `http://127.0.0.1:${port}`;

  function baseHandle(baseId: string): BaseHandle {
    const base = engine.bases.get(baseId);
    if (!base) throw new Error(`unknown base ${baseId}`);
    const tbl = (idOrName: string): Table => {
      const t = engine.table(base, idOrName);
      if (!t) throw new Error(`unknown table ${idOrName} in base ${baseId}`);
      return t;
    };
    const fld = (t: Table, fieldId: string): FieldSchema => {
      const f = t.byId.get(fieldId) ?? t.byName.get(fieldId);
      if (!f) throw new Error(`unknown field ${fieldId} in table ${t.name}`);
      return f;
    };
    const direct: WriteOptions = { typecast: true, direct: true };
    return {
      table(idOrName) {
        const t = tbl(idOrName);
        return {
          list: () => [...t.records.values()].map((r) => engine.renderCopy(t, r)),
          get: (id) => {
            const r = t.records.get(id);
            return r ? engine.renderCopy(t, r) : undefined;
          },
          create: (fields) => engine.renderCopy(t, engine.writeBatch(base, t, [{ fields }], 'create', direct)[0]!),
          update: (id, fields) => {
            const rec = t.records.get(id);
            if (!rec) throw new Error(`no record ${id} in table ${t.name}`);
            return engine.renderCopy(t, engine.writeBatch(base, t, [{ rec, fields }], 'patch', direct)[0]!);
          },
          delete: (id, opts) => {
            const rec = t.records.get(id);
            if (!rec) throw new Error(`no record ${id} in table ${t.name}`);
            engine.deleteRecords(base, t, [rec], opts?.keepLinks === true);
          },
        };
      },
      schema: () => engine.metadata(base),
      renameField(tableIdOrName, fieldId, newName) {
        const t = tbl(tableIdOrName);
        const f = fld(t, fieldId);
        if (f.name === newName) return;
        if (t.byName.has(newName)) throw new Error(`table ${t.name} already has a field named ${newName}`);
        const old = f.name;
        f.name = newName;
        // Airtable rewrites formulas that reference the field by name.
        const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        for (const other of t.fields) {
          if (other.type === 'formula' && typeof other.options?.formula === 'string') {
            other.options.formula = other.options.formula.replace(new RegExp(`\\{${esc(old)}\\}`, 'g'), `{${newName}}`);
          }
        }
        reindex(t);
      },
      addField(tableIdOrName, field) {
        const t = tbl(tableIdOrName);
        if (t.byId.has(field.id)) throw new Error(`table ${t.name} already has field ${field.id}`);
        if (t.byName.has(field.name)) throw new Error(`table ${t.name} already has a field named ${field.name}`);
        const f = clone(field);
        ensureChoiceIds(f);
        t.fields.push(f);
        reindex(t);
      },
      removeField(tableIdOrName, fieldId) {
        const t = tbl(tableIdOrName);
        const f = fld(t, fieldId);
        if (f.id === t.primaryFieldId) throw new Error('the primary field cannot be removed');
        t.fields = t.fields.filter((x) => x !== f);
        for (const r of t.records.values()) delete r.cells[f.id];
        reindex(t);
      },
      changeFieldType(tableIdOrName, fieldId, newType) {
        const t = tbl(tableIdOrName);
        const f = fld(t, fieldId);
        convertField(base, t, f, newType);
        reindex(t);
      },
      addSelectOption(tableIdOrName, fieldId, name) {
        const t = tbl(tableIdOrName);
        const f = fld(t, fieldId);
        if (f.type !== 'singleSelect' && f.type !== 'multipleSelects') throw new Error(`field ${f.name} is not a select field`);
        f.options ??= {};
        f.options.choices ??= [];
        const list = f.options.choices as { id: string; name: string }[];
        if (!list.some((c) => c.name === name)) list.push({ id: newId('sel'), name });
        reindex(t);
      },
    };
  }

  const emulator: Emulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    stats,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections?.();
      });
    },
    restart() {
      iterators.clear();
    },
    resetStats() {
      stats.requests = 0;
      stats.rateLimited = 0;
      stats.byRoute = {};
      stats.writes = 0;
      stats.writeRequests = 0;
      stats.contentRequests = 0;
      stats.contentBytes = 0;
      stats.contentServed = 0;
      stats.attachmentFetches = 0;
      stats.attachmentFetchFailures = 0;
    },
    injectFailure(f) {
      failures.push({ ...f, remaining: f.count ?? 1 });
    },
    base: baseHandle,
    attachmentContent(attachmentId) {
      let file = content.open(attachmentId);
      if (!file && !content.removed.has(attachmentId)) file = content.open(attachmentId, engine.findAttachment(attachmentId));
      if (!file) return undefined;
      return Buffer.concat([...file.chunks()]);
    },
    setAttachmentContent(attachmentId, bytes) {
      if (bytes === null) {
        content.files.delete(attachmentId);
        content.removed.add(attachmentId);
        return;
      }
      const type = content.meta.get(attachmentId)?.type ?? engine.findAttachment(attachmentId)?.type ?? 'application/octet-stream';
      content.put(attachmentId, Buffer.from(bytes), type);
    },
  };
  return emulator;
}

/** Converts a field's cells to a new type, roughly as Airtable's field editor does. */
function convertField(base: Base, table: Table, f: FieldSchema, newType: string): void {
  const oldType = f.type;
  if (oldType === newType) return;
  const text = (v: unknown): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) {
      const parts = v.map((x) => text(x)).filter((x): x is string => !!x);
      return parts.length ? parts.join(', ') : null;
    }
    if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return (o.name ?? o.filename ?? o.email ?? null) as string | null;
    }
    return null;
  };
  const choiceNames = new Set<string>();
  for (const r of table.records.values()) {
    const v = r.cells[f.id];
    let out: unknown = null;
    if (TEXT_TYPES.has(newType)) out = text(v);
    else if (NUMBER_TYPES.has(newType)) {
      const s = text(v);
      const n = s === null ? NaN : Number(s.replace(/[$,%\s]/g, ''));
      out = s !== null && s.trim() !== '' && Number.isFinite(n) ? n : null;
    } else if (newType === 'checkbox') out = v !== undefined && v !== null && v !== '' && v !== 0 ? true : null;
    else if (newType === 'singleSelect') {
      const s = text(Array.isArray(v) ? v[0] : v);
      out = s ? s : null;
      if (s) choiceNames.add(s);
    } else if (newType === 'multipleSelects') {
      const list = Array.isArray(v) ? v.map(text).filter((x): x is string => !!x) : (text(v)?.split(',').map((s) => s.trim()).filter(Boolean) ?? []);
      out = list.length ? list : null;
      for (const s of list) choiceNames.add(s);
    } else if (newType === 'date' || newType === 'dateTime') {
      const s = text(v);
      const d = s ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00.000Z` : s) : null;
      out = d && !Number.isNaN(d.getTime()) ? (newType === 'date' ? d.toISOString().slice(0, 10) : d.toISOString()) : null;
    } else out = null;
    if (out === null) delete r.cells[f.id];
    else r.cells[f.id] = out;
  }
  f.type = newType;
  if (newType === 'singleSelect' || newType === 'multipleSelects') {
    const existing = (f.options?.choices ?? []) as { id: string; name: string }[];
    const choices = [...existing];
    for (const n of choiceNames) if (!choices.some((c) => c.name === n)) choices.push({ id: newId('sel'), name: n });
    f.options = { choices };
  } else if (newType === 'number') f.options = { precision: 0 };
  else if (newType === 'currency') f.options = { precision: 2, symbol: '$' };
  else if (newType === 'percent') f.options = { precision: 0 };
  else if (newType === 'rating') f.options = { icon: 'star', max: 5, color: 'yellowBright' };
  else if (newType === 'checkbox') f.options = { icon: 'check', color: 'greenBright' };
  else if (newType === 'date') f.options = { dateFormat: { name: 'iso', format: 'YYYY-MM-DD' } };
  else if (newType === 'dateTime') f.options = { dateFormat: { name: 'iso', format: 'YYYY-MM-DD' }, timeFormat: { name: '24hour', format: 'HH:mm' }, timeZone: 'utc' };
  else delete f.options;
  void base;
}
