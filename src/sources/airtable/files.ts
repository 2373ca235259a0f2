/**
 * Airtable's attachments behind the seam (SourceFiles): fresh URLs by
 * reading records again (100 a request, through the API's limiter), and
 * files attached here sent back: up to 5 MB through the content host's
 * upload endpoint, larger ones by a URL Airtable fetches itself.
 */
import type { SourceAttachment, SourceFiles } from '../source.ts';
import type { AirtableClient } from './client.ts';

/** Airtable's upload endpoint takes files up to 5 MB. */
export const AIRTABLE_MAX_UPLOAD_BYTES = 5 * 1024 * 1024;

/** A cell item as Airtable returns it, or null when it is not an attachment. */
function attachmentOf(item: unknown): SourceAttachment | null {
  if (!item || typeof item !== 'object') return null;
  const a = item as Record<string, unknown>;
  if (typeof a.id !== 'string') return null;
  return {
    id: a.id,
    url: typeof a.url === 'string' ? a.url : '',
    filename: typeof a.filename === 'string' ? a.filename : a.id,
    size: typeof a.size === 'number' ? a.size : null,
    type: typeof a.type === 'string' ? a.type : null,
  };
}

export function attachmentCell(cell: unknown): SourceAttachment[] {
  return Array.isArray(cell) ? cell.map(attachmentOf).filter((a): a is SourceAttachment => a !== null) : [];
}

export class AirtableFiles implements SourceFiles {
  /** Airtable's content host serves files beside the API; 8 at once keeps a pull's downloads from crowding its listing. */
  readonly downloadConcurrency = 8;
  readonly maxUploadBytes = AIRTABLE_MAX_UPLOAD_BYTES;

  constructor(private readonly client: AirtableClient) {}

  async freshUrls(items: Array<{ key: string; sourceTable: string; recordKey: string; fieldId: string }>): Promise<Map<string, string>> {
    const urls = new Map<string, string>();
    const byTable = new Map<string, Set<string>>();
    for (const item of items) {
      if (!byTable.has(item.sourceTable)) byTable.set(item.sourceTable, new Set());
      byTable.get(item.sourceTable)!.add(item.recordKey);
    }
    for (const [table, keys] of byTable) {
      const ids = [...keys];
      for (let i = 0; i < ids.length; i += 100) {
        for (const record of await this.client.readRecords(table, ids.slice(i, i + 100))) {
          for (const cell of Object.values(record.fields)) {
            for (const a of attachmentCell(cell)) if (a.url) urls.set(a.id, a.url);
          }
        }
      }
    }
    return urls;
  }

  async upload(recordKey: string, fieldId: string, file: { filename: string; contentType: string; content: Buffer }): Promise<SourceAttachment[]> {
    return attachmentCell(await this.client.uploadAttachment(recordKey, fieldId, file));
  }

  async readCell(sourceTable: string, recordKey: string, fieldId: string): Promise<SourceAttachment[] | undefined> {
    const [record] = await this.client.readRecords(sourceTable, [recordKey]);
    return record ? attachmentCell(record.fields[fieldId]) : undefined;
  }

  async writeCell(sourceTable: string, recordKey: string, fieldId: string, cell: Array<{ id: string } | { url: string; filename: string }>): Promise<SourceAttachment[]> {
    const [written] = await this.client.writeRecords(sourceTable, 'PATCH', [{ id: recordKey, fields: { [fieldId]: cell } }]);
    return attachmentCell(written?.fields[fieldId]);
  }
}
