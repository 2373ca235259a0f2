/**
 * Airtable behind the source seam: the base's metadata checked against the
 * mapping (drift), a table listed page by page, sorted by its Last
 * Modified field so that a listing Airtable expires resumes where it was,
 * with a formula, instead of from the beginning, and the write side for the
 * push (./writer.ts): Airtable is a two-way source.
 */
import type { Mapping } from '../../mapping.ts';
import type { ListedPage, ListingPlan, ListingRequest, Source, SourceCheck } from '../source.ts';
import { AirtableRequestError, type AirtableClient, type RecordPage } from './client.ts';
import { checkDrift } from './drift.ts';
import { AirtableWriter } from './writer.ts';
import { AirtableFiles } from './files.ts';

/** Ids kept in a listing's resume point at most (a formula names each one). */
const MAX_RESUME_IDS = 1_000;

/** Airtable formula text for a field reference; names with braces cannot be referenced. */
export function fieldReference(name: string): string {
  if (name.includes('}')) throw new Error(`the field name "${name}" contains "}", which a formula cannot reference`);
  return `{${name}}`;
}

/**
 * The formula that lists what a listing sorted by Last Modified has not
 * staged yet: records modified after the resume point, or at exactly that
 * time and not among the ids staged with it. Records modified while the
 * table is listed move later in the order, so none is missed.
 */
export function resumeFormula(filter: string | undefined, lastModified: string, from: string, ids: string[]): string {
  if (!/^\d{4}-\d\d-\d\dT[0-9:.]+Z$/.test(from)) throw new Error(`not an ISO UTC timestamp: ${from}`);
  for (const id of ids) if (!/^rec[A-Za-z0-9]{14}$/.test(id)) throw new Error(`not an Airtable record id: ${id}`);
  const same = ids.length
    ? `AND(NOT(IS_BEFORE(${lastModified}, '${from}')), NOT(OR(${ids.map((id) => `RECORD_ID()='${id}'`).join(',')})))`
    : `NOT(IS_BEFORE(${lastModified}, '${from}'))`;
  const after = `OR(IS_AFTER(${lastModified}, '${from}'), ${same})`;
  return filter ? `AND(${filter}, ${after})` : after;
}

/** The resume state an Airtable listing keeps in its checkpoint with every page. */
interface AirtableListingState {
  /** The listing is sorted by Last Modified, so an expired one resumes at resume_from. */
  sorted?: boolean;
  /** The formula of the listing the offset belongs to (the filter and the resume clause). */
  list_formula?: string | null;
  /** The latest Last Modified time staged by the listing, and the ids staged with exactly that time. */
  resume_from?: string | null;
  resume_ids?: string[];
  /** How many times an expired listing was resumed at resume_from. */
  resumes?: number;
}

export class AirtableSource implements Source {
  readonly kind = 'airtable';
  readonly label = 'Airtable';
  readonly id: string;
  readonly recordKeyPattern = '^rec[A-Za-z0-9]{14}$';
  readonly uniqueKeys = true;
  /** The push writes back through the same client (and rate limiter) as the pull reads. */
  readonly writer: AirtableWriter;
  /** Attachment files: fresh URLs for downloads, uploads for the push. */
  readonly files: AirtableFiles;

  constructor(readonly client: AirtableClient) {
    this.id = client.baseId;
    this.writer = new AirtableWriter(client);
    this.files = new AirtableFiles(client);
  }

  async check(mapping: Mapping): Promise<SourceCheck> {
    // a wrong token or base fails here, before anything is staged
    return checkDrift(mapping, await this.client.metadata());
  }

  async plan(request: ListingRequest): Promise<ListingPlan> {
    // an incremental listing holds only what changed: nothing can be swept
    return { unchanged: false, complete: request.since === null && request.mode === 'full', state: {} };
  }

  /**
   * Lists a table page by page from the checkpoint's offset. The next page
   * is requested while the current one is being staged, so the database's
   * time hides under Airtable's latency.
   *
   * The listing is sorted by the table's Last Modified field, and each page
   * carries the latest time it holds and the ids listed at that time. When
   * Airtable expires the iterator (a long retry, a server restart, a killed
   * process resumed late), the listing resumes there with a formula, so
   * every page is read about once however often that happens. Only a
   * listing that has no resume point yet (or one begun unsorted) starts
   * again from the beginning. Once an iterator has expired, pages may hold
   * records this run staged already: they say so (mayRepeat).
   */
  async *listTable(request: ListingRequest): AsyncGenerator<ListedPage> {
    const { table, fieldNames, log } = request;
    const lmId = table.lastModifiedFieldId!;
    const lastModified = fieldReference(fieldNames?.get(lmId) ?? lmId);
    const filterByFormula = request.since ? `IS_AFTER(${lastModified}, '${request.since}')` : undefined;
    const meta = request.resume.state as AirtableListingState;
    let sorted = request.resume.cursor || meta.resume_from ? meta.sorted === true : true;
    let formula = request.resume.cursor ? (meta.list_formula ?? filterByFormula) : filterByFormula;
    let resumeFrom = sorted ? (meta.resume_from ?? null) : null;
    let resumeIds = sorted ? (meta.resume_ids ?? []) : [];
    let resumes = meta.resumes ?? 0;
    // a record may come again only once an iterator has expired
    let relisted = request.resume.attempt > 1 || resumes > 0;
    if (!request.resume.cursor && resumeFrom) {
      // resumed after the offset was lost with its process: go on from the resume point
      formula = resumeFormula(filterByFormula, lastModified, resumeFrom, resumeIds);
      relisted = true;
    }
    const fetchPage = (offset?: string | null) => {
      const promise = this.client.listPage(table.tableId, {
        offset: offset ?? undefined,
        pageSize: 100,
        filterByFormula: formula,
        sort: sorted ? [{ field: fieldNames?.get(lmId) ?? lmId, direction: 'asc' }] : undefined,
      });
      promise.catch(() => undefined); // awaited below; never an unhandled rejection
      return promise;
    };
    let pending: Promise<RecordPage> = fetchPage(request.resume.cursor);
    for (;;) {
      let page: RecordPage;
      try {
        page = await pending;
      } catch (error) {
        if (error instanceof AirtableRequestError && error.kind === 'iterator_expired') {
          relisted = true;
          if (sorted && resumeFrom) {
            resumes++;
            log.warn({ runId: request.runId, entity: table.entity, resumeFrom, resumes }, 'Airtable expired the listing; resuming it after the last record staged');
            formula = resumeFormula(filterByFormula, lastModified, resumeFrom, resumeIds);
          } else {
            log.warn({ runId: request.runId, entity: table.entity }, 'Airtable expired the listing; listing the table again (records already staged are not staged or counted twice)');
            await request.restart();
            sorted = true;
            formula = filterByFormula;
            resumeFrom = null;
            resumeIds = [];
          }
          pending = fetchPage(null);
          continue;
        }
        throw error;
      }
      if (page.offset) pending = fetchPage(page.offset);
      // The page's latest Last Modified time, the incremental high-water
      // mark, and in a sorted listing where it resumes.
      let highWaterMark: string | null = null;
      for (const r of page.records) {
        const value = r.fields[lmId];
        if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) continue;
        if (!highWaterMark || Date.parse(value) > Date.parse(highWaterMark)) highWaterMark = value;
      }
      if (sorted && highWaterMark) {
        const mark = highWaterMark;
        const atMark = page.records.filter((r) => typeof r.fields[lmId] === 'string' && Date.parse(r.fields[lmId] as string) === Date.parse(mark)).map((r) => r.id);
        const sameMark = resumeFrom !== null && Date.parse(resumeFrom) === Date.parse(mark);
        if (!resumeFrom || Date.parse(mark) >= Date.parse(resumeFrom)) {
          resumeIds = [...new Set([...(sameMark ? resumeIds : []), ...atMark])].slice(-MAX_RESUME_IDS);
          resumeFrom = mark;
        }
      }
      const state: AirtableListingState = { sorted, list_formula: formula ?? null, resume_from: resumeFrom, resume_ids: resumeIds, resumes };
      yield {
        records: page.records,
        invalid: page.invalid,
        cursor: page.offset ?? null,
        highWaterMark,
        state: state as Record<string, unknown>,
        mayRepeat: relisted,
      };
      if (!page.offset) return;
    }
  }
}
