/**
 * Airtable's write side of the seam (SourceWriter), for the push: reads by
 * record id and by Last Modified against the mirror's version, POST (or an
 * upsert), PATCH and DELETE through the base's client, and Airtable's
 * errors in the push's terms (src/sources/source.ts, WriteFailure).
 */
import type { TableMapping } from '../../mapping.ts';
import type { Logger } from '../../log.ts';
import type { RecordToWrite, SourceRecord, SourceWriter, WriteFailure } from '../source.ts';
import { AirtableRequestError, type AirtableClient } from './client.ts';
import { chunks } from '../../chunks.ts';

/** Airtable's error types for a record that does not exist (any more). */
export const RECORD_GONE = ['MODEL_ID_NOT_FOUND', 'ROW_DOES_NOT_EXIST', 'NOT_FOUND'];

/** Records Airtable reads by id in one request (a RECORD_ID() formula). */
const READ_BY_ID_MAX = 100;

/** An Airtable error in the push's terms; any other error is only its message. */
export function classifyAirtableError(error: unknown): WriteFailure {
  if (!(error instanceof AirtableRequestError)) {
    return { refused: false, gone: false, stopsThePush: false, message: error instanceof Error ? error.message : String(error), code: null };
  }
  const gone = RECORD_GONE.includes(error.type);
  return {
    // a 404 for a record is the record's problem (refused)
    refused: error.kind === 'rejected' || error.kind === 'not_found',
    gone,
    // a wrong token, or a 404 for the table or base: everyone's problem
    stopsThePush: error.kind === 'authentication' || (error.kind === 'not_found' && !gone),
    message: error.message,
    code: error.type,
    response: { type: error.type, status: error.statusCode },
  };
}


export class AirtableWriter implements SourceWriter {
  /** Airtable writes at most 10 records a request. */
  readonly maxRecordsPerWrite = 10;

  constructor(readonly client: AirtableClient) {}

  get requests(): number {
    return this.client.requests;
  }

  get requestsPerSecond(): number {
    return this.client.limiter.requestsPerSecond;
  }

  /** By id, 100 records a request, one request after the other. */
  async readByKeys(table: TableMapping, keys: string[]): Promise<SourceRecord[]> {
    const records: SourceRecord[] = [];
    for (const ids of chunks(keys, READ_BY_ID_MAX)) records.push(...(await this.client.readRecords(table.tableId, ids)));
    return records;
  }

  /** One formula request (see AirtableClient.readRecordsModifiedSince); a formula Airtable refuses (the Last Modified field renamed since the last pull) is undefined. */
  async readChangedSince(
    table: TableMapping,
    marks: Array<{ id: string; since: string | null }>,
    options: { lastModifiedField: string; log: Logger },
  ): Promise<SourceRecord[] | undefined> {
    try {
      return await this.client.readRecordsModifiedSince(table.tableId, options.lastModifiedField, marks);
    } catch (error) {
      if (!(error instanceof AirtableRequestError && error.type === 'INVALID_FILTER_BY_FORMULA')) throw error;
      options.log.warn({ entity: table.entity, err: error.message }, 'Airtable refused the modified-since formula; reading the records by id');
      return undefined;
    }
  }

  /** POST, or PATCH with performUpsert when the table has an upsert key (`upsertOn`, matched on those fields). */
  create(table: TableMapping, records: RecordToWrite[]): Promise<SourceRecord[]> {
    return this.client.writeRecords(
      table.tableId,
      'POST',
      records.map((r) => ({ fields: r.fields })),
      { typecast: table.typecast, upsertOn: this.upsertFields(table) },
    );
  }

  /** PATCH of the fields sent. */
  update(table: TableMapping, records: Array<Required<RecordToWrite>>): Promise<SourceRecord[]> {
    return this.client.writeRecords(
      table.tableId,
      'PATCH',
      records.map((r) => ({ id: r.id, fields: r.fields })),
      { typecast: table.typecast, upsertOn: undefined },
    );
  }

  delete(table: TableMapping, keys: string[]): Promise<string[]> {
    return this.client.deleteRecords(table.tableId, keys);
  }

  /** An upsert finds the record its lost answer made; a plain POST would make a second one. */
  createIsRepeatable(table: TableMapping): boolean {
    return Boolean(this.upsertFields(table));
  }

  classify(error: unknown): WriteFailure {
    return classifyAirtableError(error);
  }

  /** The field ids of the table's upsert key. */
  private upsertFields(table: TableMapping): string[] | undefined {
    return table.upsertOn?.map((column) => table.fields.find((f) => f.column === column)!.fieldId);
  }
}
