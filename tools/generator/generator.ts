/**
 * A deterministic generator of Delta Analytical's registration-tracking base
 * (Clients, State Regulators, Products, Registrations) for the emulator and
 * for tests: realistic clean data plus a controlled share of planted
 * problems, each one listed in `planted`.
 *
 * Same options -> byte-identical output (seeded PRNG, fixed default clock).
 * The table/field ids, names, types and choices come from the shared
 * schema.json (AIRLIFT_SCHEMA_JSON, default ../shared/airtable-base/schema.json
 * beside the project), or from the built-in copy below when that file is
 * absent. Values are addressed by field id, so a schema with renamed fields
 * still works (its names are used in the output); fields it lacks are left out.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AirtableRecord, BaseData, FieldSchema, TableData } from '../emulator/emulator.ts';

// ---------------------------------------------------------------------------
// Ids of the shipped base

export const DELTA_TABLE_IDS = {
  clients: 'tblZaclZULDATjmXm',
  regulators: 'tbljwculB4C3VOXW3',
  products: 'tblTtyLvxr2Ta4SfO',
  registrations: 'tblmNqfo6lv6OCavM',
} as const;

export const DELTA_FIELD_IDS = {
  clients: {
    name: 'fldcRQ5EWmHA7hkmK',
    code: 'fldPlUSdlUpal2YU2',
    status: 'fldAxUQDrygYjpbpO',
    contact: 'fld4TzQXVp4I3JsJY',
    email: 'fldwvK9BoMpuwDLuw',
    phone: 'fldqa4xrGdS4F1c8m',
    address: 'fldLCmTDVbhK0iSy8',
    taxId: 'fldxPp0psGj5j1gUm',
    manager: 'fldIcvtGQXI6ZQK25',
    since: 'fldOKlvaggwBuA1DW',
    budget: 'fldAaSynzxQzeTNAI',
    notes: 'fld4nncVN1i1Qbxro',
    products: 'fldCaf35PRGBxxQcb',
    registrations: 'fld6wugZAgUmucKBr',
    created: 'fldCEwXPTULg5Yy0O',
    lastModified: 'fld62rLIbyozCjTuf',
  },
  regulators: {
    name: 'fldtmASk12fGsd6OS',
    state: 'fldvJBbLeJT9yad38',
    type: 'fld2IWNJn0u5vKUvN',
    contact: 'fldxwDWfezJn3hIQ7',
    email: 'fldctgC938Csv6bJw',
    phone: 'fldzWDJBhn6ZibaaK',
    website: 'fldeSJue0fwJAwMVF',
    portal: 'fldHoCpAgdWoXGc91',
    cycle: 'fldBSIVVhIf8psxUO',
    month: 'fldoQh2Z9dzm14DkC',
    fee: 'fldFvLh05ueJLjrcd',
    lateFee: 'fld4V4sAYjz3SxR1b',
    wetSignature: 'fld3zYxcXGGSE8h2S',
    types: 'fldb0z4gETllchxoI',
    notes: 'fldZinc4iyZgiBpYa',
    registrations: 'fld78G5sQ65TnlBJr',
    lastModified: 'fldw7PqcIkPbQuj95',
  },
  products: {
    name: 'flditdl13jzXqvGJG',
    client: 'fldeHngYQ2AQ2a41D',
    epa: 'fldIDSraJoY8Q7bP4',
    type: 'fld7R2F44pjr4HOTx',
    ingredients: 'fldlfnfaf4aov6djj',
    signalWord: 'fld2ryBoRxCP6rela',
    label: 'fldm98vOtlVmdetoO',
    discontinued: 'flddjxYm3lLnbsGPN',
    registrations: 'fldbKFcQPsAVqcSiL',
    lastModified: 'fldeqFJkIqQxjVyxf',
  },
  registrations: {
    registration: 'fldA4ZhVdt9lLBWYm',
    client: 'flddw2j5Mu2TJtX7Q',
    product: 'fldZawXe2RiH9oSci',
    regulator: 'fldUF86Yp8B0Aea5U',
    state: 'fldmiaUjYsE4lzH9y',
    status: 'fldaeH9V1UBJK7tSW',
    type: 'fldHNUoPRoouBCa5N',
    stateRegNo: 'fldoW6e4UMxIOza8A',
    submitted: 'fldlwKx8C5WVAJ2Nt',
    approved: 'fldUsOARR7hF2Iu6K',
    expiration: 'fldFUnYOjlHNdzRKr',
    fee: 'fldYhg9rHaOArcpNI',
    invoice: 'fldXLXCmjDVPxX7Ok',
    priority: 'fldZu0JXcyOOEs3H1',
    tags: 'fldQLBPSEUDUZuZxO',
    assignedTo: 'fldgMx8UeILqd0Uqf',
    documents: 'fldTHJoTD5wtFrQa2',
    notes: 'fldAyIsjK0FfnseyZ',
    daysUntilExpiration: 'fldAM8PpzJILIsvyw',
    lastModified: 'fld425nv1ODHaAQNP',
  },
} as const;

const T = DELTA_TABLE_IDS;
const C = DELTA_FIELD_IDS.clients;
const S = DELTA_FIELD_IDS.regulators;
const P = DELTA_FIELD_IDS.products;
const R = DELTA_FIELD_IDS.registrations;

// ---------------------------------------------------------------------------
// Schema: the shared schema.json, or this built-in copy of it

export interface SchemaTable {
  id: string;
  name: string;
  primaryFieldId: string;
  fields: FieldSchema[];
  views?: { id: string; name: string; type: string }[];
  description?: string;
}
export interface SchemaJson {
  tables: SchemaTable[];
}

const DT = {
  result: {
    type: 'dateTime',
    options: { dateFormat: { name: 'iso', format: 'YYYY-MM-DD' }, timeFormat: { name: '24hour', format: 'HH:mm' }, timeZone: 'utc' },
  },
};
const DATE = { dateFormat: { name: 'iso', format: 'YYYY-MM-DD' } };
const CUR = { precision: 2, symbol: '$' };
const CHECK = { icon: 'check', color: 'greenBright' };
const ATT = { isReversed: false };
const sel = (s: string) => ({ choices: s.split('|').map((c) => ({ id: 'sel' + c.slice(0, 14), name: c.slice(15) })) });
const link = (linkedTableId: string, prefersSingleRecordLink: boolean) => ({ linkedTableId, isReversed: false, prefersSingleRecordLink });

const BUILTIN_TABLES: [string, string, string, string, [string, string, string, unknown?][]][] = [
  ['tblZaclZULDATjmXm', 'Clients', 'fldcRQ5EWmHA7hkmK', 'viwo0irnsFKMnV8du', [
    ['fldcRQ5EWmHA7hkmK', "Client Name", 'singleLineText'],
    ['fldPlUSdlUpal2YU2', "Client Code", 'singleLineText'],
    ['fldAxUQDrygYjpbpO', "Status", 'singleSelect', sel('kjQGlYmb0thiIS:Active|E9h4ln7u0d6f4Z:Prospect|V9BKpVEokyMrtZ:On Hold|rHyUnxIRt4FL3S:Inactive')],
    ['fld4TzQXVp4I3JsJY', "Primary Contact", 'singleLineText'],
    ['fldwvK9BoMpuwDLuw', "Email", 'email'],
    ['fldqa4xrGdS4F1c8m', "Phone", 'phoneNumber'],
    ['fldLCmTDVbhK0iSy8', "Mailing Address", 'multilineText'],
    ['fldxPp0psGj5j1gUm', "Federal Tax ID", 'singleLineText'],
    ['fldIcvtGQXI6ZQK25', "Account Manager", 'singleCollaborator'],
    ['fldOKlvaggwBuA1DW', "Client Since", 'date', DATE],
    ['fldAaSynzxQzeTNAI', "Annual Budget", 'currency', CUR],
    ['fld4nncVN1i1Qbxro', "Notes", 'multilineText'],
    ['fldCaf35PRGBxxQcb', "Products", 'multipleRecordLinks', link('tblTtyLvxr2Ta4SfO', false)],
    ['fld6wugZAgUmucKBr', "Registrations", 'multipleRecordLinks', link('tblmNqfo6lv6OCavM', false)],
    ['fldCEwXPTULg5Yy0O', "Created", 'createdTime', DT],
    ['fld62rLIbyozCjTuf', "Last Modified", 'lastModifiedTime', DT],
  ]],
  ['tbljwculB4C3VOXW3', 'State Regulators', 'fldtmASk12fGsd6OS', 'viwqTpwBfxSTSU3Sv', [
    ['fldtmASk12fGsd6OS', "Agency Name", 'singleLineText'],
    ['fldvJBbLeJT9yad38', "State", 'singleSelect', sel('t66gWshNKWr8Lz:AL|PE5Y7IDsEJxOWn:AK|ODGMANhzvNvx3V:AZ|sbevp22ycUUaHz:AR|S2UOXEeFAl3ue9:CA|IhCxkHZFQZHSjm:CO|Fcvl8GbaeWFFlA:CT|aBTvRvaGmQz06U:DE|7Nug4vZhV2Cxlu:DC|U4XhfI81aRaG3d:FL|D7wmSF4jL1crGi:GA|zW9oVDUaPR8nJM:HI|OEOXHce5QgYonh:ID|m5D6f2qKKDCVif:IL|tHYcvbVQPQRhYL:IN|p10Gf6RLyoFRJt:IA|9kfO6plU8PSPl0:KS|4ChYPKgWunlOXJ:KY|AEx1xKXPb6qpyK:LA|cCHbhoeHf2VwXY:ME|erz22sSSR8xEeE:MD|8AVYkfCf0g5s0S:MA|F29yVLgD84oDWc:MI|07Mixcx0b4QDlH:MN|TZXlULR8ASK5bP:MS|LaEyjTAyMRSPu3:MO|QJUh8CyLKb1Pdr:MT|1TnNl8oaEIfXj9:NE|h59yZ0fvP91l97:NV|kBptu5Xx0AHWV3:NH|biHnltG3Umh6CN:NJ|uLo1NMaOYsFa6m:NM|Ek4LcgGwOI18BQ:NY|tikHS5j2MFd2fI:NC|0yoptKg8pe7z4N:ND|u6NvImzdmIz7SV:OH|VlM5vE0z1ygXtY:OK|gp5bKK84qzN5Qt:OR|hqf0ezM3cMboXw:PA|w5cszXNUGQc4Ay:PR|kdGQBsQ5dGGrmR:RI|MtpnIYBPHdMibA:SC|SVSW8BVrGmz1yv:SD|V634BjNxXppag1:TN|U2k57Q54xbXS7n:TX|z4D4SJJrrYWrlY:UT|8Yj6cA6xW0sGrw:VT|hRrh0CNm9Wm9lT:VA|2GibYnEdztPxPk:WA|Xsg7QEOyAexJZW:WV|s7XwH00D91ZFBI:WI|jfEjqfdnvCkHNo:WY')],
    ['fld2IWNJn0u5vKUvN', "Agency Type", 'singleSelect', sel('vw5Jcrv7uWEza9:Department of Agriculture|8gJXsW6uTMldUE:Environmental Protection|7pkGDC4n7iiZoH:Chemist / Feed & Fertilizer|JeZEzwGeTjgQrp:Structural Pest Control|X6doOO4efCp35e:Other')],
    ['fldxwDWfezJn3hIQ7', "Contact Name", 'singleLineText'],
    ['fldctgC938Csv6bJw', "Contact Email", 'email'],
    ['fldzWDJBhn6ZibaaK', "Phone", 'phoneNumber'],
    ['fldeSJue0fwJAwMVF', "Website", 'url'],
    ['fldHoCpAgdWoXGc91', "Submission Portal", 'singleSelect', sel('9kVtpKJEcXDtBI:Agency portal|K6f5AvEn5VWwRM:Kelly Registration Systems|lpzL089jAOzVyI:Email|uHJ0uHj8eDxUVG:Paper mail')],
    ['fldBSIVVhIf8psxUO', "Renewal Cycle", 'singleSelect', sel('LF6BcUZSVYhGWm:Annual|Fp24k2Z9ErHAqr:Biennial|Glh1BtMpl3xhnp:Triennial|u4nn4pebuAFaku:Five-year')],
    ['fldoQh2Z9dzm14DkC', "Renewal Month", 'number', {"precision": 0}],
    ['fldFvLh05ueJLjrcd', "Registration Fee", 'currency', CUR],
    ['fld4V4sAYjz3SxR1b', "Late Fee", 'currency', CUR],
    ['fld3zYxcXGGSE8h2S', "Requires Wet Signature", 'checkbox', CHECK],
    ['fldb0z4gETllchxoI', "Product Types Regulated", 'multipleSelects', sel('PgSzl9quFuvjyF:Pesticide|Q95uOLkWlVzwRM:Fertilizer|e1idMSa6b6utS4:Soil Amendment|8lrHJnJbWdljwN:Biostimulant|tyKVvONXgo0CVt:Disinfectant|BDCaXNz38DfaKB:Animal Feed')],
    ['fldZinc4iyZgiBpYa', "Notes", 'multilineText'],
    ['fld78G5sQ65TnlBJr', "Registrations", 'multipleRecordLinks', link('tblmNqfo6lv6OCavM', false)],
    ['fldw7PqcIkPbQuj95', "Last Modified", 'lastModifiedTime', DT],
  ]],
  ['tblTtyLvxr2Ta4SfO', 'Products', 'flditdl13jzXqvGJG', 'viw0SAB81eT0kOHJW', [
    ['flditdl13jzXqvGJG', "Product Name", 'singleLineText'],
    ['fldeHngYQ2AQ2a41D', "Client", 'multipleRecordLinks', link('tblZaclZULDATjmXm', true)],
    ['fldIDSraJoY8Q7bP4', "EPA Registration Number", 'singleLineText'],
    ['fld7R2F44pjr4HOTx', "Product Type", 'singleSelect', sel('PgSzl9quFuvjyF:Pesticide|Q95uOLkWlVzwRM:Fertilizer|e1idMSa6b6utS4:Soil Amendment|8lrHJnJbWdljwN:Biostimulant|tyKVvONXgo0CVt:Disinfectant|BDCaXNz38DfaKB:Animal Feed')],
    ['fldlfnfaf4aov6djj', "Active Ingredients", 'multilineText'],
    ['fld2ryBoRxCP6rela', "Signal Word", 'singleSelect', sel('3JN7WYkmBPWoas:None|LheObGX5XmT0Sr:Caution|6YHdrkXY9MpT8c:Warning|hBLAcAJDBCEuUb:Danger')],
    ['fldm98vOtlVmdetoO', "Label", 'multipleAttachments', ATT],
    ['flddjxYm3lLnbsGPN', "Discontinued", 'checkbox', CHECK],
    ['fldbKFcQPsAVqcSiL', "Registrations", 'multipleRecordLinks', link('tblmNqfo6lv6OCavM', false)],
    ['fldeqFJkIqQxjVyxf', "Last Modified", 'lastModifiedTime', DT],
  ]],
  ['tblmNqfo6lv6OCavM', 'Registrations', 'fldA4ZhVdt9lLBWYm', 'viw5XGQljIDyZ7uqG', [
    ['fldA4ZhVdt9lLBWYm', "Registration", 'formula', {"formula": "CONCATENATE({Product}, ' - ', {State})", "isValid": true, "referencedFieldIds": [], "result": {"type": "singleLineText"}}],
    ['flddw2j5Mu2TJtX7Q', "Client", 'multipleRecordLinks', link('tblZaclZULDATjmXm', true)],
    ['fldZawXe2RiH9oSci', "Product", 'multipleRecordLinks', link('tblTtyLvxr2Ta4SfO', true)],
    ['fldUF86Yp8B0Aea5U', "State Regulator", 'multipleRecordLinks', link('tbljwculB4C3VOXW3', true)],
    ['fldmiaUjYsE4lzH9y', "State", 'multipleLookupValues', {"isValid": true, "recordLinkFieldId": "fldUF86Yp8B0Aea5U", "fieldIdInLinkedTable": "fldvJBbLeJT9yad38", "result": {"type": "singleSelect"}}],
    ['fldaeH9V1UBJK7tSW', "Status", 'singleSelect', sel('bVT57OpjLgdThf:Not Started|OpAnWKvlMrbQKx:In Preparation|ZJAEQKjJpe2jNb:Submitted|2nfY9bcaoGha52:Pending Review|9Ah6RKdsTNGf2b:Deficiency|h7QuQMKikOAdh7:Approved|2kBN6xEPfMkqWy:Denied|QkolUdNWdUyILQ:Expired|AMCwP8irAL8Cj2:Withdrawn')],
    ['fldHNUoPRoouBCa5N', "Registration Type", 'singleSelect', sel('GP3VSbLtNnrAx0:New|9KkTPXkXgsHWwX:Renewal|pLMjrlGZuY67hk:Amendment')],
    ['fldoW6e4UMxIOza8A', "State Registration Number", 'singleLineText'],
    ['fldlwKx8C5WVAJ2Nt', "Submitted Date", 'date', DATE],
    ['fldUsOARR7hF2Iu6K', "Approved Date", 'date', DATE],
    ['fldFUnYOjlHNdzRKr', "Expiration Date", 'date', DATE],
    ['fldYhg9rHaOArcpNI', "Fee Paid", 'currency', CUR],
    ['fldXLXCmjDVPxX7Ok', "Invoice Number", 'singleLineText'],
    ['fldZu0JXcyOOEs3H1', "Priority", 'rating', {"icon": "star", "max": 5, "color": "yellowBright"}],
    ['fldQLBPSEUDUZuZxO', "Tags", 'multipleSelects', sel('NOvNn8uotlaJsF:Rush|oQxA6e9IwNzPHz:Label Change|LblMeyot99GnFA:Data Call-In|VMe6y2tdS1ekFp:Tonnage Report|RjBkFeI1fXQ9im:Needs Client Input')],
    ['fldgMx8UeILqd0Uqf', "Assigned To", 'singleCollaborator'],
    ['fldTHJoTD5wtFrQa2', "Documents", 'multipleAttachments', ATT],
    ['fldAyIsjK0FfnseyZ', "Notes", 'multilineText'],
    ['fldAM8PpzJILIsvyw', "Days Until Expiration", 'formula', {"formula": "DATETIME_DIFF({Expiration Date}, TODAY(), 'days')", "isValid": true, "referencedFieldIds": [], "result": {"type": "number", "options": {"precision": 0}}}],
    ['fld425nv1ODHaAQNP', "Last Modified", 'lastModifiedTime', DT],
  ]],
];

/** The built-in description of the shipped base (identical to schema.json). */
export function builtInDeltaSchema(): SchemaJson {
  return {
    tables: BUILTIN_TABLES.map(([id, name, primaryFieldId, viewId, fields]) => ({
      id,
      name,
      primaryFieldId,
      fields: fields.map(([fid, fname, type, options]) => {
        const f: FieldSchema = { id: fid, name: fname, type };
        if (options !== undefined) f.options = JSON.parse(JSON.stringify(options));
        return f;
      }),
      views: [{ id: viewId, name: 'Grid view', type: 'grid' }],
    })),
  };
}

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the shared schema.json is looked for. */
export function deltaSchemaPath(): string {
  return process.env.AIRLIFT_SCHEMA_JSON || path.resolve(PROJECT_ROOT, '../shared/airtable-base/schema.json');
}

/** The shared schema.json when present, else the built-in copy. */
export function loadDeltaSchema(): SchemaJson {
  const p = deltaSchemaPath();
  if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as SchemaJson;
  return builtInDeltaSchema();
}

/** The Metadata API's answer for a base. */
export function generateSchema(base: BaseData): { tables: SchemaTable[] } {
  return {
    tables: base.tables.map((t) => {
      const out: SchemaTable = { id: t.id, name: t.name, primaryFieldId: t.primaryFieldId, fields: JSON.parse(JSON.stringify(t.fields)) };
      if (t.description !== undefined) out.description = t.description;
      out.views = t.views ? JSON.parse(JSON.stringify(t.views)) : [{ id: 'viw' + t.id.slice(3), name: 'Grid view', type: 'grid' }];
      return out;
    }),
  };
}

// ---------------------------------------------------------------------------
// PRNG

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

class Rng {
  private a: number;
  constructor(seed: number, stream: string) {
    this.a = hashString(`${seed}:${stream}`) ^ Math.imul(seed | 0, 0x9e3779b1);
  }
  /** mulberry32 */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.a ^ (this.a >>> 15), 1 | this.a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<V>(arr: readonly V[]): V {
    return arr[Math.floor(this.next() * arr.length)]!;
  }
  weighted<V>(pairs: readonly (readonly [V, number])[]): V {
    let total = 0;
    for (const [, w] of pairs) total += w;
    let x = this.next() * total;
    for (const [v, w] of pairs) {
      x -= w;
      if (x < 0) return v;
    }
    return pairs[pairs.length - 1]![0];
  }
  chars(n: number, alphabet = ALNUM): string {
    // Several characters per draw: 62^5 < 2^32.
    const k = alphabet.length;
    const per = k <= 10 ? 9 : 5;
    const span = k ** per;
    let s = '';
    while (s.length < n) {
      let x = Math.floor(this.next() * span);
      for (let j = 0; j < per && s.length < n; j++) {
        s += alphabet[x % k];
        x = Math.floor(x / k);
      }
    }
    return s;
  }
  digits(n: number): string {
    return this.chars(n, '0123456789');
  }
  shuffle<V>(arr: V[]): V[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [arr[i], arr[j]] = [arr[j]!, arr[i]!];
    }
    return arr;
  }
}

/** A deterministic base id for a seed ('app' + 14 characters). */
export function baseIdForSeed(seed: number): string {
  return 'app' + new Rng(seed, 'base-id').chars(14);
}

// ---------------------------------------------------------------------------
// Domain vocabulary

const STATES: [string, string][] = [
  ['AL', 'Alabama'], ['AK', 'Alaska'], ['AZ', 'Arizona'], ['AR', 'Arkansas'], ['CA', 'California'], ['CO', 'Colorado'],
  ['CT', 'Connecticut'], ['DE', 'Delaware'], ['DC', 'District of Columbia'], ['FL', 'Florida'], ['GA', 'Georgia'], ['HI', 'Hawaii'],
  ['ID', 'Idaho'], ['IL', 'Illinois'], ['IN', 'Indiana'], ['IA', 'Iowa'], ['KS', 'Kansas'], ['KY', 'Kentucky'],
  ['LA', 'Louisiana'], ['ME', 'Maine'], ['MD', 'Maryland'], ['MA', 'Massachusetts'], ['MI', 'Michigan'], ['MN', 'Minnesota'],
  ['MS', 'Mississippi'], ['MO', 'Missouri'], ['MT', 'Montana'], ['NE', 'Nebraska'], ['NV', 'Nevada'], ['NH', 'New Hampshire'],
  ['NJ', 'New Jersey'], ['NM', 'New Mexico'], ['NY', 'New York'], ['NC', 'North Carolina'], ['ND', 'North Dakota'], ['OH', 'Ohio'],
  ['OK', 'Oklahoma'], ['OR', 'Oregon'], ['PA', 'Pennsylvania'], ['PR', 'Puerto Rico'], ['RI', 'Rhode Island'], ['SC', 'South Carolina'],
  ['SD', 'South Dakota'], ['TN', 'Tennessee'], ['TX', 'Texas'], ['UT', 'Utah'], ['VT', 'Vermont'], ['VA', 'Virginia'],
  ['WA', 'Washington'], ['WV', 'West Virginia'], ['WI', 'Wisconsin'], ['WY', 'Wyoming'],
];

const AG = 'Department of Agriculture';
const EP = 'Environmental Protection';
const CH = 'Chemist / Feed & Fertilizer';
const OT = 'Other';
const ALL_TYPES = ['Pesticide', 'Fertilizer', 'Soil Amendment', 'Biostimulant', 'Disinfectant', 'Animal Feed'];
const PEST_TYPES = ['Pesticide', 'Disinfectant'];
const FERT_TYPES = ['Fertilizer', 'Soil Amendment', 'Biostimulant', 'Animal Feed'];

/** [state, agency name, agency type, product types] — one or two agencies per state, DC and PR (60). */
const AGENCIES: [string, string, string, string[]][] = (() => {
  const special: Record<string, [string, string]> = {
    AL: ['Alabama Department of Agriculture and Industries', AG],
    AK: ['Alaska Department of Environmental Conservation', EP],
    CA: ['California Department of Pesticide Regulation', EP],
    CT: ['Connecticut Department of Energy and Environmental Protection', EP],
    DC: ['DC Department of Energy and Environment', EP],
    FL: ['Florida Department of Agriculture and Consumer Services', AG],
    ID: ['Idaho State Department of Agriculture', AG],
    IN: ['Office of Indiana State Chemist', CH],
    IA: ['Iowa Department of Agriculture and Land Stewardship', AG],
    LA: ['Louisiana Department of Agriculture and Forestry', AG],
    ME: ['Maine Board of Pesticides Control', OT],
    MA: ['Massachusetts Department of Agricultural Resources', AG],
    MI: ['Michigan Department of Agriculture and Rural Development', AG],
    MS: ['Mississippi Department of Agriculture and Commerce', AG],
    NH: ['New Hampshire Department of Agriculture, Markets and Food', AG],
    NJ: ['New Jersey Department of Environmental Protection', EP],
    NY: ['New York State Department of Environmental Conservation', EP],
    NC: ['North Carolina Department of Agriculture and Consumer Services', AG],
    OK: ['Oklahoma Department of Agriculture, Food and Forestry', AG],
    RI: ['Rhode Island Department of Environmental Management', EP],
    SC: ['Clemson University Department of Pesticide Regulation', OT],
    SD: ['South Dakota Department of Agriculture and Natural Resources', AG],
    UT: ['Utah Department of Agriculture and Food', AG],
    VT: ['Vermont Agency of Agriculture, Food and Markets', AG],
    VA: ['Virginia Department of Agriculture and Consumer Services', AG],
    WA: ['Washington State Department of Agriculture', AG],
    WI: ['Wisconsin Department of Agriculture, Trade and Consumer Protection', AG],
  };
  const second: Record<string, [string, string]> = {
    CA: ['California Department of Food and Agriculture', AG],
    KY: ['University of Kentucky Division of Regulatory Services', CH],
    MS: ['Mississippi State Chemical Laboratory', CH],
    MO: ['Missouri Fertilizer Control Board', CH],
    NJ: ['New Jersey Department of Agriculture', AG],
    NY: ['New York State Department of Agriculture and Markets', AG],
    SC: ['Clemson University Department of Fertilizer Regulatory and Certification Services', CH],
    TX: ['Office of the Texas State Chemist', CH],
  };
  const out: [string, string, string, string[]][] = [];
  for (const [code, name] of STATES) {
    const [agency, type] = special[code] ?? [`${name} ${AG}`, AG];
    const two = second[code];
    out.push([code, agency, type, two ? PEST_TYPES : ALL_TYPES]);
    if (two) out.push([code, two[0], two[1], FERT_TYPES]);
  }
  return out;
})();

const FIRST = [
  'James', 'Maria', 'Robert', 'Linda', 'Michael', 'Patricia', 'David', 'Jennifer', 'William', 'Elizabeth', 'Richard', 'Susan',
  'Joseph', 'Jessica', 'Thomas', 'Karen', 'Charles', 'Nancy', 'Daniel', 'Lisa', 'Matthew', 'Sandra', 'Anthony', 'Ashley',
  'Mark', 'Emily', 'Steven', 'Michelle', 'Andrew', 'Amanda', 'Kevin', 'Melissa', 'Brian', 'Rebecca', 'Jason', 'Laura',
  'Carlos', 'Ana', 'Wei', 'Priya', 'Ahmed', 'Grace', 'Luis', 'Hannah', 'Tyler', 'Megan', 'Dale', 'Brenda',
];
const LAST = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez',
  'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Thompson', 'White', 'Harris', 'Clark',
  'Lewis', 'Walker', 'Hall', 'Young', 'King', 'Wright', 'Scott', 'Green', 'Baker', 'Adams', 'Nelson', 'Hill',
  'Schmidt', 'Olson', 'Peterson', 'Larson', 'Nguyen', 'Patel', 'Chen', 'Kowalski', 'Hoffman', 'Becker', 'Lindqvist', 'Okafor',
];
const STAFF = [
  'Maria Gonzalez', 'James Whitfield', 'Priya Raman', 'Tom Becker', 'Linda Osei', 'Kevin Nguyen', 'Sarah Lindqvist', 'Daniel Okafor',
];
const CO_PREFIX = [
  'Prairie', 'Heartland', 'Gulf Coast', 'Summit', 'Cascade', 'Blue Ridge', 'Great Plains', 'Pioneer', 'Evergreen', 'Red River',
  'Sierra', 'Golden Valley', 'Northstar', 'Liberty', 'Keystone', 'Bayou', 'Mesa', 'Harvest', 'Lakeshore', 'Ozark',
  'Sunbelt', 'Tidewater', 'Big Sky', 'Coastal', 'Frontier', 'Granite', 'Magnolia', 'Piedmont', 'Rocky Mountain', 'Silver Creek',
  'Timberline', 'Wabash', 'Badger', 'Buckeye', 'Cornerstone', 'Meridian', 'Pinnacle', 'Cimarron', 'Chesapeake', 'High Plains',
];
const CO_CORE = [
  'Agri', 'AgroScience', 'Crop Protection', 'Crop Science', 'Fertilizer', 'Chemical', 'Ag Solutions', 'Turf & Ornamental',
  'Soil Health', 'Plant Nutrition', 'BioSolutions', 'Agronomics', 'Feed & Grain', 'Animal Nutrition', 'Sanitation', 'Seed & Chemical',
];
const CO_SUFFIX = ['Inc.', 'LLC', 'Corp.', 'Co.', 'Company', 'Holdings LLC', 'Group', 'Ltd.'];
const CITIES: [string, string, string][] = [
  ['Des Moines', 'IA', '503'], ['Fresno', 'CA', '937'], ['Lubbock', 'TX', '794'], ['Omaha', 'NE', '681'], ['Fargo', 'ND', '581'],
  ['Salinas', 'CA', '939'], ['Raleigh', 'NC', '276'], ['Memphis', 'TN', '381'], ['Kansas City', 'MO', '641'], ['Decatur', 'IL', '625'],
  ['Yakima', 'WA', '989'], ['Boise', 'ID', '837'], ['Greeley', 'CO', '806'], ['Ames', 'IA', '500'], ['Lincoln', 'NE', '685'],
  ['Sioux Falls', 'SD', '571'], ['Wichita', 'KS', '672'], ['Tulsa', 'OK', '741'], ['Little Rock', 'AR', '722'], ['Jackson', 'MS', '392'],
  ['Baton Rouge', 'LA', '708'], ['Lakeland', 'FL', '338'], ['Macon', 'GA', '312'], ['Columbia', 'SC', '292'], ['Richmond', 'VA', '232'],
  ['Lancaster', 'PA', '176'], ['Columbus', 'OH', '432'], ['Fort Wayne', 'IN', '468'], ['Lansing', 'MI', '489'], ['Madison', 'WI', '537'],
  ['St. Paul', 'MN', '551'], ['Billings', 'MT', '591'], ['Modesto', 'CA', '953'], ['Yuma', 'AZ', '853'], ['Las Cruces', 'NM', '880'],
  ['Salem', 'OR', '973'], ['Amarillo', 'TX', '791'], ['Champaign', 'IL', '618'], ['Louisville', 'KY', '402'], ['Greensboro', 'NC', '274'],
];
const STREETS = ['Main St', 'Industrial Pkwy', 'Commerce Dr', 'Elevator Rd', 'Co Rd 12', 'Harvest Ln', 'Research Blvd', 'Depot St', 'Highway 30', 'Mill Rd'];
const AREA_CODES = [515, 559, 806, 402, 701, 831, 919, 901, 816, 217, 509, 208, 970, 605, 316, 918, 501, 601, 225, 863, 478, 803, 804, 717, 614, 260, 517, 608, 651, 406];
const BRAND_A = ['Aqua', 'Nitro', 'Sani', 'Terra', 'Crop', 'Weed', 'Bug', 'Fungi', 'Root', 'Green', 'Pure', 'Feed', 'Soil', 'Yield', 'Clear', 'Agri', 'Bio', 'Hydro', 'Pest', 'Vita', 'Field', 'Leaf', 'Grain', 'Harvest', 'Prime', 'Shield', 'Stalk', 'Seed', 'Turf', 'Micro'];
const BRAND_B = ['Guard', 'Max', 'Shield', 'Boost', 'Sure', 'Away', 'Block', 'Stop', 'Rally', 'Surge', 'Kill', 'Right', 'Pro', 'Star', 'Path', 'Gen', 'Force', 'Cide', 'Zone', 'Lock', 'Flex', 'Core', 'Edge', 'Mate', 'Wise', 'Grow', 'Rite', 'Tek', 'Plex', 'Vantage'];
const VARIANTS = ['', '', '', 'Plus', 'Pro', 'Ultra', 'II', 'Max', 'Gold', 'Advanced', 'Select', 'Xtra'];
const FORMULATIONS: Record<string, string[]> = {
  Pesticide: ['2.5 EC', '41% SL', '75 WDG', '4F', 'SC', 'Granular', 'DF', 'ME', '3.3 EC', 'Ready-to-Use'],
  Fertilizer: ['28-0-0', '10-34-0', '20-20-20', '32-0-0 UAN', '0-0-62', '12-0-0-26S', '6-24-6', '18-46-0', '46-0-0'],
  'Soil Amendment': ['Gypsum', 'Humate', 'Lime Pellets', 'Compost Blend', 'Sulfur 90'],
  Biostimulant: ['Kelp Extract', 'Amino', 'Humic 12%', 'Microbial', 'Fulvic'],
  Disinfectant: ['RTU', 'Concentrate', 'Wipes', 'Spray', 'Foaming Cleaner'],
  'Animal Feed': ['Mineral Premix', 'Layer Crumble', 'Cattle Protein Tub', 'Horse Pellet', 'Swine Starter'],
};
const PEST_AI = ['Glyphosate', 'Atrazine', 'Imidacloprid', 'Bifenthrin', 'Mesotrione', '2,4-D', 'Dicamba', 'Azoxystrobin', 'Tebuconazole', 'Glufosinate', 'S-Metolachlor', 'Lambda-cyhalothrin', 'Permethrin', 'Pyraclostrobin', 'Chlorantraniliprole'];
const DISINF_AI = ['Alkyl dimethyl benzyl ammonium chloride', 'Sodium hypochlorite', 'Hydrogen peroxide', 'Peroxyacetic acid', 'Citric acid'];
const REG_NOTES = [
  'Renewal packet sent to client for signature.',
  'Waiting on CSF from manufacturer.',
  'State requested revised label; resubmitted.',
  'Tonnage report due with renewal.',
  'Client asked to hold until the new formulation is approved.',
  'Fee paid by client directly to the state.',
  'Approved; certificate saved to Documents.',
  'Deficiency letter received: efficacy data requested.',
  'Label amendment pending EPA stamped copy.',
  'Called reviewer, expects decision within 30 days.',
];
const CLIENT_NOTES = ['Prefers email contact.', 'Net-30 billing; invoices to AP.', 'Key account: quarterly review.', 'Uses a third-party formulator.', 'Send renewal reminders 90 days out.', 'Registrations handled jointly with their distributor.'];
const REGULATOR_NOTES = ['Renewals open 60 days before expiration.', 'Requires notarized application.', 'Tonnage reports due quarterly.', 'Accepts electronic signatures.', 'Late fee applies after the renewal month.', 'Label review backlog of about 90 days.'];

// ---------------------------------------------------------------------------
// Planted problems

export const PLANTED_KINDS = [
  'whitespace',
  'case-duplicate',
  'accents',
  'cjk',
  'emoji',
  'huge-text',
  'na-email',
  'phone-format',
  'currency-3-decimals',
  'currency-negative',
  'currency-huge',
  'renewal-month-out-of-range',
  'approval-before-submission',
  'new-select-option',
  'empty-primary',
  'two-linked-records',
  'dangling-link',
  'client-mismatch',
  'formula-error',
  'formula-nan',
] as const;
export type PlantedKind = (typeof PLANTED_KINDS)[number];

export interface PlantedProblem {
  /** Table name (as in the schema used). */
  table: string;
  tableId: string;
  recordId: string;
  /** Field name (as in the schema used). */
  field: string;
  fieldId: string;
  kind: PlantedKind;
  /** The planted cell value (null = the cell was emptied). */
  value: unknown;
}

export interface GeneratorOptions {
  seed: number;
  registrations: number;
  /** Share of records with a planted problem (default 0.02). At least one of each kind is planted when > 0. */
  messiness?: number;
  /** "Now" for timestamps and Days Until Expiration (default 2026-11-01T00:00:00.000Z, fixed for determinism). */
  now?: Date;
  /** The schema to fill (default loadDeltaSchema()). */
  schema?: SchemaJson;
  /**
   * Multiplies every attachment's declared size (default 1: labels of 40 KB
   * to 4 MB, documents of 30 KB to 3 MB, as Delta's are). The demo serves
   * the files' bytes and uses 1/100, so that a 50,000-registration base
   * holds hundreds of megabytes of files rather than tens of gigabytes.
   * Sizes are drawn first and scaled after, so the rest of the base does
   * not change with it.
   */
  attachmentSizeScale?: number;
}

export type GeneratedBase = BaseData & { planted: PlantedProblem[] };

export const DEFAULT_NOW = '2026-11-01T00:00:00.000Z';

type TableKey = 'clients' | 'regulators' | 'products' | 'registrations';
interface Gen {
  id: string;
  createdMs: number;
  lmMs: number;
  c: Record<string, unknown>;
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();
const dateOnly = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

const CYCLE_YEARS: Record<string, number> = { Annual: 1, Biennial: 2, Triennial: 3, 'Five-year': 5 };

/**
 * Generates the base. Deterministic for (seed, registrations, messiness, now, schema).
 */
export function generateDeltaBase(options: GeneratorOptions): GeneratedBase {
  const seed = options.seed;
  const nReg = Math.max(0, Math.floor(options.registrations));
  const messiness = Math.max(0, Math.min(1, options.messiness ?? 0.02));
  const nowMs = (options.now ?? new Date(DEFAULT_NOW)).getTime();
  const todayMs = Date.UTC(new Date(nowMs).getUTCFullYear(), new Date(nowMs).getUTCMonth(), new Date(nowMs).getUTCDate());
  const schema = options.schema ?? loadDeltaSchema();

  const rng = new Rng(seed, 'data');
  const idRng = new Rng(seed, 'ids');
  const usedIds = new Set<string>();
  const newRecId = (): string => {
    for (;;) {
      const id = 'rec' + idRng.chars(14);
      if (!usedIds.has(id)) {
        usedIds.add(id);
        return id;
      }
    }
  };
  const attId = () => 'att' + idRng.chars(14);
  const urlExpiry = Math.ceil((nowMs + 2 * 3600_000) / 3600_000) * 3600_000;
  const sizeScale = options.attachmentSizeScale ?? 1;
  const attachment = (filename: string, type: string, size: number) => ({
    id: attId(),
    url: `https://v5.airtableusercontent.com/v3/u/35/35/${urlExpiry}/${idRng.chars(22)}/${idRng.chars(43)}`,
    filename,
    size: Math.max(1, Math.round(size * sizeScale)),
    type,
  });
  const person = () => `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
  const phone = () => `(${rng.pick(AREA_CODES)}) ${rng.int(201, 989)}-${pad(rng.int(0, 9999), 4)}`;

  // Staff (collaborators)
  const staff = STAFF.map((name) => ({
    id: 'usr' + idRng.chars(14),
    email: `${name.toLowerCase().replace(' ', '.')}@deltaanalytical.com`,
    name,
  }));

  // ----- State regulators
  const regulators: Gen[] = [];
  const regulatorTypes = new Map<string, string[]>();
  const regulatorsByState = new Map<string, Gen[]>();
  for (const [code, name, type, types] of AGENCIES) {
    const createdMs = nowMs - 730 * DAY + rng.int(0, 20) * DAY + rng.int(0, DAY - 1);
    const g: Gen = { id: newRecId(), createdMs, lmMs: createdMs, c: {} };
    const initials = name
      .split(/[\s,]+/)
      .filter((w) => w && !['of', 'and', 'the', 'for', '&'].includes(w.toLowerCase()))
      .map((w) => w[0]!.toLowerCase())
      .join('');
    const domain = `${initials}.${code.toLowerCase()}.gov`;
    const contact = person();
    const cycle = rng.weighted([['Annual', 60], ['Biennial', 20], ['Triennial', 15], ['Five-year', 5]] as const);
    const fee = rng.pick([50, 75, 100, 125, 150, 200, 250, 300, 350, 400, 500, 750, 1000, 1500]);
    Object.assign(g.c, {
      [S.name]: name,
      [S.state]: code,
      [S.type]: type,
      [S.contact]: contact,
      [S.email]: `${contact.toLowerCase().replace(/[^a-z]+/g, '.')}@${domain}`,
      [S.phone]: phone(),
      [S.website]: `https://www.${domain}`,
      [S.portal]: rng.weighted([['Agency portal', 40], ['Kelly Registration Systems', 25], ['Email', 20], ['Paper mail', 15]] as const),
      [S.cycle]: cycle,
      [S.month]: rng.int(1, 12),
      [S.fee]: fee,
      [S.types]: types,
    });
    if (rng.chance(0.5)) g.c[S.lateFee] = rng.chance(0.5) ? fee / 2 : rng.pick([25, 50, 100, 250]);
    if (rng.chance(0.25)) g.c[S.wetSignature] = true;
    if (rng.chance(0.3)) g.c[S.notes] = rng.pick(REGULATOR_NOTES);
    regulators.push(g);
    regulatorTypes.set(g.id, types);
    const list = regulatorsByState.get(code) ?? [];
    list.push(g);
    regulatorsByState.set(code, list);
  }

  // ----- Clients
  const nClients = nReg === 0 ? 20 : Math.max(20, Math.round(nReg / 150));
  const clients: Gen[] = [];
  const clientNames = new Set<string>();
  const clientEpa = new Map<string, { company: number; next: number }>();
  for (let i = 0; i < nClients; i++) {
    let prefix = '';
    let core = '';
    let name = '';
    for (let tries = 0; ; tries++) {
      prefix = rng.pick(CO_PREFIX);
      core = rng.pick(CO_CORE);
      name = `${prefix} ${core} ${rng.pick(CO_SUFFIX)}`;
      if (tries > 30) name = `${name} ${i + 1}`;
      if (!clientNames.has(name.toLowerCase())) break;
    }
    clientNames.add(name.toLowerCase());
    const createdMs = nowMs - 730 * DAY + Math.floor(rng.next() * 365 * DAY);
    const g: Gen = { id: newRecId(), createdMs, lmMs: createdMs, c: {} };
    const contact = person();
    const domain = `${slug(prefix + core).replace(/-/g, '')}.com`;
    const [city, st, zip] = rng.pick(CITIES);
    const code = `${(prefix[0]! + core.replace(/[^A-Za-z]/g, '').slice(0, 2)).toUpperCase()}-${pad(i + 1, 4)}`;
    Object.assign(g.c, {
      [C.name]: name,
      [C.code]: code,
      [C.status]: rng.weighted([['Active', 75], ['Prospect', 8], ['On Hold', 7], ['Inactive', 10]] as const),
      [C.contact]: contact,
      [C.email]: `${contact.toLowerCase().replace(/[^a-z]+/g, '.')}@${domain}`,
      [C.phone]: phone(),
      [C.address]: `${rng.int(100, 9899)} ${rng.pick(STREETS)}\n${city}, ${st} ${zip}${pad(rng.int(0, 99), 2)}`,
      [C.taxId]: `${pad(rng.int(10, 99), 2)}-${pad(rng.int(0, 9999999), 7)}`,
      [C.manager]: rng.pick(staff),
      [C.since]: dateOnly(createdMs - rng.int(0, 15 * 365) * DAY),
      [C.created]: iso(createdMs),
    });
    if (rng.chance(0.7)) g.c[C.budget] = rng.int(50, 5000) * 100;
    if (rng.chance(0.3)) g.c[C.notes] = rng.pick(CLIENT_NOTES);
    clients.push(g);
    clientEpa.set(g.id, { company: rng.int(100, 99999), next: 1 });
  }

  // ----- Products
  const nProducts = nReg === 0 ? 0 : Math.max(1, Math.round(nReg / 15));
  const products: Gen[] = [];
  const productNames = new Set<string>();
  const productType = new Map<string, string>();
  for (let i = 0; i < nProducts; i++) {
    // Skewed: a few clients own many products.
    const client = clients[Math.floor(clients.length * Math.pow(rng.next(), 1.6))]!;
    const type = rng.weighted([['Pesticide', 40], ['Fertilizer', 25], ['Disinfectant', 10], ['Biostimulant', 8], ['Soil Amendment', 7], ['Animal Feed', 10]] as const);
    let name = '';
    for (let tries = 0; ; tries++) {
      const variant = rng.pick(VARIANTS);
      name = `${rng.pick(BRAND_A)}${rng.pick(BRAND_B)}${variant ? ' ' + variant : ''} ${rng.pick(FORMULATIONS[type]!)}`;
      if (tries > 30) name = `${name} ${i + 1}`;
      if (!productNames.has(name.toLowerCase())) break;
    }
    productNames.add(name.toLowerCase());
    const createdMs = client.createdMs + Math.floor(rng.next() * Math.max(DAY, nowMs - 30 * DAY - client.createdMs));
    const g: Gen = { id: newRecId(), createdMs, lmMs: createdMs, c: {} };
    g.c[P.name] = name;
    g.c[P.client] = [client.id];
    g.c[P.type] = type;
    if (type === 'Pesticide' || type === 'Disinfectant') {
      const epa = clientEpa.get(client.id)!;
      g.c[P.epa] = `${epa.company}-${epa.next++}${rng.chance(0.05) ? '-' + rng.int(1000, 99999) : ''}`;
      const ai = type === 'Pesticide' ? rng.pick(PEST_AI) : rng.pick(DISINF_AI);
      const pct = type === 'Pesticide' ? rng.int(50, 650) / 10 : rng.int(5, 100) / 10;
      g.c[P.ingredients] = `${ai} ${pct.toFixed(1)}%\nOther ingredients ${(100 - pct).toFixed(1)}%`;
      g.c[P.signalWord] = rng.weighted([['Caution', 55], ['Warning', 30], ['Danger', 15]] as const);
      if (rng.chance(0.9)) g.c[P.label] = [attachment(`${slug(name)}-label.pdf`, 'application/pdf', rng.int(80_000, 4_000_000))];
    } else {
      if (type === 'Fertilizer') {
        const m = /^(\d+)-(\d+)-(\d+)/.exec(g.c[P.name] as string);
        if (m) g.c[P.ingredients] = `Total Nitrogen (N) ${m[1]}%\nAvailable Phosphate (P2O5) ${m[2]}%\nSoluble Potash (K2O) ${m[3]}%`;
      } else if (type === 'Animal Feed') {
        g.c[P.ingredients] = `Crude Protein min ${rng.int(8, 40)}%\nCrude Fat min ${rng.int(2, 8)}%\nCrude Fiber max ${rng.int(5, 25)}%`;
      } else if (rng.chance(0.6)) {
        g.c[P.ingredients] = rng.pick(['Humic acids 12%', 'Ascophyllum nodosum extract 100%', 'Calcium sulfate dihydrate 97%', 'Bacillus subtilis 1 x 10^9 CFU/g']);
      }
      if (rng.chance(0.5)) g.c[P.signalWord] = 'None';
      if (rng.chance(0.5)) g.c[P.label] = [attachment(`${slug(name)}-label.pdf`, 'application/pdf', rng.int(40_000, 2_000_000))];
    }
    if (rng.chance(0.05)) g.c[P.discontinued] = true;
    products.push(g);
    productType.set(g.id, type);
  }

  // ----- Registrations: product x state x cycle
  const registrations: Gen[] = [];
  if (nProducts > 0) {
    const weights = products.map(() => 0.3 + rng.next() * 1.7);
    const total = weights.reduce((a, b) => a + b, 0);
    const counts = weights.map((w) => Math.floor((w / total) * nReg));
    let rest = nReg - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]!++;
    let invoiceSeq = rng.int(1000, 5000);
    const statusWeights = [
      ['Approved', 45], ['Expired', 12], ['Pending Review', 8], ['Submitted', 8], ['In Preparation', 8],
      ['Not Started', 6], ['Deficiency', 5], ['Denied', 3], ['Withdrawn', 5],
    ] as const;
    for (let pi = 0; pi < nProducts; pi++) {
      const product = products[pi]!;
      const type = productType.get(product.id)!;
      const clientId = (product.c[P.client] as string[])[0]!;
      const states = rng.shuffle(STATES.map(([code]) => code));
      for (let j = 0; j < counts[pi]!; j++) {
        const code = states[j % states.length]!;
        const cycleNo = Math.floor(j / states.length);
        const agencies = regulatorsByState.get(code)!;
        const regulator = agencies.find((a) => regulatorTypes.get(a.id)!.includes(type)) ?? agencies[0]!;
        const createdMs = product.createdMs + Math.floor(Math.pow(rng.next(), 0.8) * Math.max(DAY, nowMs - product.createdMs - 3600_000));
        const g: Gen = { id: newRecId(), createdMs, lmMs: createdMs, c: {} };
        const c = g.c;
        c[R.client] = [clientId];
        c[R.product] = [product.id];
        c[R.regulator] = [regulator.id];
        const status = rng.weighted(statusWeights);
        c[R.status] = status;
        c[R.type] = cycleNo > 0 ? 'Renewal' : rng.chance(0.1) ? 'Amendment' : 'New';
        const years = CYCLE_YEARS[regulator.c[S.cycle] as string] ?? 1;
        const month = regulator.c[S.month] as number;
        const endOfMonth = (year: number) => Date.UTC(year, month, 0); // last day of the renewal month
        let submitted: number | undefined;
        let approved: number | undefined;
        let expiration: number | undefined;
        if (status === 'Approved' || status === 'Expired') {
          const target = status === 'Approved' ? todayMs + rng.int(1, years * 365) * DAY : todayMs - rng.int(1, 500) * DAY;
          let y = new Date(target).getUTCFullYear();
          expiration = endOfMonth(y);
          if (status === 'Approved' && expiration <= todayMs) expiration = endOfMonth(++y);
          if (status === 'Expired' && expiration >= todayMs) expiration = endOfMonth(--y);
          approved = expiration - years * 365 * DAY + rng.int(1, 60) * DAY;
          if (approved >= expiration) approved = expiration - 30 * DAY;
          submitted = approved - rng.int(14, 120) * DAY;
        } else if (status === 'Submitted' || status === 'Pending Review' || status === 'Deficiency') {
          submitted = todayMs - rng.int(1, 150) * DAY;
        } else if (status === 'Denied' || (status === 'Withdrawn' && rng.chance(0.7))) {
          submitted = todayMs - rng.int(30, 600) * DAY;
        }
        if (submitted !== undefined) c[R.submitted] = dateOnly(submitted);
        if (approved !== undefined) c[R.approved] = dateOnly(approved);
        if (expiration !== undefined) {
          c[R.expiration] = dateOnly(expiration);
          c[R.daysUntilExpiration] = Math.trunc((expiration - todayMs) / DAY) || 0;
        }
        if (approved !== undefined) {
          const y = new Date(approved).getUTCFullYear();
          const n = rng.int(1, 99999);
          c[R.stateRegNo] = [`${code}-${y}-${pad(n, 5)}`, pad(n * 7 + 100000, 6), `${code}${pad(n, 5)}`, `${y}-${pad(n % 10000, 4)}`][
            STATES.findIndex(([s]) => s === code) % 4
          ];
        }
        if (submitted !== undefined) {
          const fee = regulator.c[S.fee] as number;
          const late = regulator.c[S.lateFee] as number | undefined;
          c[R.fee] = late !== undefined && rng.chance(0.05) ? fee + late : fee;
          c[R.invoice] = `INV-${new Date(submitted).getUTCFullYear()}-${pad(invoiceSeq++, 6)}`;
        }
        if (rng.chance(0.8)) c[R.priority] = rng.weighted([[1, 10], [2, 20], [3, 40], [4, 20], [5, 10]] as const);
        if (rng.chance(0.4)) {
          const tags = rng.shuffle(['Rush', 'Label Change', 'Data Call-In', 'Tonnage Report', 'Needs Client Input']).slice(0, rng.int(1, 2));
          c[R.tags] = tags;
        }
        if (rng.chance(0.9)) c[R.assignedTo] = rng.pick(staff);
        if (submitted !== undefined && rng.chance(0.6)) {
          const docs = [attachment(`${code}-application-${new Date(submitted).getUTCFullYear()}.pdf`, 'application/pdf', rng.int(50_000, 3_000_000))];
          if (approved !== undefined && rng.chance(0.6)) {
            docs.push(attachment(`${code}-approval-letter-${new Date(approved).getUTCFullYear()}.pdf`, 'application/pdf', rng.int(30_000, 900_000)));
          }
          c[R.documents] = docs;
        }
        if (rng.chance(0.15)) c[R.notes] = rng.pick(REG_NOTES);
        registrations.push(g);
      }
    }
  }

  // Last modified: often untouched since creation, sometimes edited later, a few very recently.
  const lastModified = (g: Gen) => {
    const x = rng.next();
    if (x < 0.45) g.lmMs = g.createdMs + rng.int(0, 120) * 1000;
    else if (x < 0.97) g.lmMs = g.createdMs + Math.floor(rng.next() * (nowMs - g.createdMs));
    else g.lmMs = Math.max(g.createdMs, nowMs - rng.int(60, 3 * 86400) * 1000);
    g.lmMs = Math.min(Math.max(g.lmMs, g.createdMs), nowMs);
  };
  for (const list of [regulators, clients, products, registrations]) for (const g of list) lastModified(g);

  const byCreated = (a: Gen, b: Gen) => a.createdMs - b.createdMs;
  clients.sort(byCreated);
  products.sort(byCreated);
  registrations.sort(byCreated);

  // ----- Planting
  const planted: { key: TableKey; rec: Gen; fieldId: string; kind: PlantedKind; value: unknown }[] = [];
  const newOptions = new Map<string, string[]>();
  if (messiness > 0) {
    plant({ rng: new Rng(seed, 'mess'), messiness, tables: { clients, regulators, products, registrations }, planted, newOptions, usedIds, idRng });
  }

  // ----- Reverse links, lookups, formulas, last-modified propagation
  const byIdOf = (list: Gen[]) => new Map(list.map((g) => [g.id, g]));
  const clientById = byIdOf(clients);
  const productById = byIdOf(products);
  const regulatorById = byIdOf(regulators);
  const pushLink = (target: Gen | undefined, field: string, id: string, atMs: number) => {
    if (!target) return;
    // Each source lists a target once, so no duplicate check is needed.
    const list = (target.c[field] as string[] | undefined) ?? [];
    list.push(id);
    target.c[field] = list;
    if (atMs > target.lmMs) target.lmMs = Math.min(atMs, nowMs);
  };
  for (const p of products) {
    for (const id of (p.c[P.client] as string[] | undefined) ?? []) pushLink(clientById.get(id), C.products, p.id, p.createdMs);
  }
  for (const r of registrations) {
    for (const id of (r.c[R.client] as string[] | undefined) ?? []) pushLink(clientById.get(id), C.registrations, r.id, r.createdMs);
    const productNamesOf: string[] = [];
    for (const id of (r.c[R.product] as string[] | undefined) ?? []) {
      const g = productById.get(id);
      pushLink(g, P.registrations, r.id, r.createdMs);
      const n = g?.c[P.name];
      if (typeof n === 'string' && n !== '') productNamesOf.push(n);
    }
    const stateCodes: string[] = [];
    for (const id of (r.c[R.regulator] as string[] | undefined) ?? []) {
      const g = regulatorById.get(id);
      pushLink(g, S.registrations, r.id, r.createdMs);
      if (g && typeof g.c[S.state] === 'string') stateCodes.push(g.c[S.state] as string);
    }
    r.c[R.state] = stateCodes.length ? stateCodes : undefined;
    // CONCATENATE({Product}, ' - ', {State})
    r.c[R.registration] = `${productNamesOf.join(', ')} - ${stateCodes.join(', ')}`;
  }
  for (const list of [clients, regulators, products, registrations]) {
    for (const g of list) {
      const lm = iso(Math.max(g.lmMs, g.createdMs));
      if (list === clients) g.c[C.lastModified] = lm;
      else if (list === regulators) g.c[S.lastModified] = lm;
      else if (list === products) g.c[P.lastModified] = lm;
      else g.c[R.lastModified] = lm;
    }
  }

  // ----- Output in the schema's terms
  const gens: Record<string, Gen[]> = { [T.clients]: clients, [T.regulators]: regulators, [T.products]: products, [T.registrations]: registrations };
  const keyOf: Record<string, TableKey> = { [T.clients]: 'clients', [T.regulators]: 'regulators', [T.products]: 'products', [T.registrations]: 'registrations' };
  const optionRng = new Rng(seed, 'options');
  const tables: TableData[] = [];
  const names = new Map<string, { table: string; fields: Map<string, string> }>();
  for (const st of schema.tables) {
    const fields: FieldSchema[] = JSON.parse(JSON.stringify(st.fields));
    for (const f of fields) {
      const added = newOptions.get(f.id);
      if (!added || !f.options || !Array.isArray(f.options.choices)) continue;
      for (const name of added) {
        if (!(f.options.choices as { name: string }[]).some((c) => c.name === name)) {
          (f.options.choices as { id: string; name: string }[]).push({ id: 'sel' + optionRng.chars(14), name });
        }
      }
    }
    const fieldNames = new Map(fields.map((f) => [f.id, f.name]));
    names.set(st.id, { table: st.name, fields: fieldNames });
    const order = fields.map((f) => f.id);
    const records: AirtableRecord[] = (gens[st.id] ?? []).map((g) => {
      const out: Record<string, unknown> = {};
      for (const fid of order) {
        const v = g.c[fid];
        if (v === undefined || v === null || v === '' || v === false || (Array.isArray(v) && v.length === 0)) continue;
        out[fieldNames.get(fid)!] = v;
      }
      return { id: g.id, createdTime: iso(g.createdMs), fields: out };
    });
    const t: TableData = { id: st.id, name: st.name, primaryFieldId: st.primaryFieldId, fields, records };
    if (st.views) t.views = JSON.parse(JSON.stringify(st.views));
    if (st.description !== undefined) t.description = st.description;
    tables.push(t);
    void keyOf;
  }
  const tableIdOf: Record<TableKey, string> = { clients: T.clients, regulators: T.regulators, products: T.products, registrations: T.registrations };
  const plantedOut: PlantedProblem[] = [];
  for (const p of planted) {
    const tableId = tableIdOf[p.key];
    const n = names.get(tableId);
    const field = n?.fields.get(p.fieldId);
    if (!n || !field) continue; // the schema in use lacks this field
    plantedOut.push({ table: n.table, tableId, recordId: p.rec.id, field, fieldId: p.fieldId, kind: p.kind, value: p.value });
  }
  return { tables, planted: plantedOut };
}

// ---------------------------------------------------------------------------

interface PlantContext {
  rng: Rng;
  messiness: number;
  tables: Record<TableKey, Gen[]>;
  planted: { key: TableKey; rec: Gen; fieldId: string; kind: PlantedKind; value: unknown }[];
  newOptions: Map<string, string[]>;
  usedIds: Set<string>;
  idRng: Rng;
}

const KIND_TARGETS: Record<PlantedKind, [TableKey, string][]> = {
  whitespace: [['products', P.name], ['clients', C.name], ['registrations', R.stateRegNo], ['clients', C.contact], ['regulators', S.contact]],
  'case-duplicate': [['products', P.name], ['clients', C.name]],
  accents: [['clients', C.name], ['products', P.name], ['clients', C.contact], ['registrations', R.notes]],
  cjk: [['clients', C.name], ['products', P.name], ['registrations', R.notes]],
  emoji: [['products', P.name], ['registrations', R.notes], ['clients', C.notes]],
  'huge-text': [['registrations', R.notes], ['clients', C.notes], ['products', P.ingredients]],
  'na-email': [['clients', C.email], ['regulators', S.email]],
  'phone-format': [['clients', C.phone], ['regulators', S.phone]],
  'currency-3-decimals': [['registrations', R.fee], ['clients', C.budget], ['regulators', S.fee]],
  'currency-negative': [['registrations', R.fee], ['clients', C.budget]],
  'currency-huge': [['clients', C.budget], ['registrations', R.fee]],
  'renewal-month-out-of-range': [['regulators', S.month]],
  'approval-before-submission': [['registrations', R.approved]],
  'new-select-option': [['registrations', R.status], ['registrations', R.tags], ['clients', C.status], ['products', P.type], ['regulators', S.portal]],
  'empty-primary': [['clients', C.name]],
  'two-linked-records': [['registrations', R.product]],
  'dangling-link': [['registrations', R.product], ['registrations', R.regulator], ['registrations', R.client], ['products', P.client]],
  'client-mismatch': [['registrations', R.client]],
  'formula-error': [['registrations', R.daysUntilExpiration]],
  'formula-nan': [['registrations', R.daysUntilExpiration]],
};

const NEW_OPTIONS: Record<string, string[]> = {
  [R.status]: ['On Hold – Client', 'Awaiting Payment'],
  [R.tags]: ['Urgent!!', 'Needs Translation'],
  [C.status]: ['Acquired', 'Do Not Contact'],
  [P.type]: ['Adjuvant', 'Plant Growth Regulator'],
  [S.portal]: ['Fax', 'NPIRS'],
};

const ACCENTED: Record<string, string[]> = {
  [C.name]: ['Agroquímica del Pacífico S.A. de C.V.', 'Société Agricole Française', 'Düngemittel Müller GmbH', 'Fertilizantes São João Ltda.', 'Coopérative Agricole Québécoise', 'Øresund Agro ApS'],
  [P.name]: ['Protección Total 2.5 EC', 'Engrais Fleur-de-Lys 10-10-10', 'Süßwasser Algaecide RTU', 'Crème de Sol Humate'],
  [C.contact]: ['José Hernández', 'Zoë Brontë', 'François Lefèvre', 'Renée Åström'],
  [R.notes]: ['Révision de l’étiquette demandée par l’État; réponse envoyée.', 'Señora Núñez confirmó el pago de la tarifa.'],
};
const CJK: Record<string, string[]> = {
  [C.name]: ['中化农业 Sinochem Agro', '住友化学 Sumitomo Chemical America', '농협케미컬 Nonghyup Chemical', '江苏扬农化工 Yangnong Chemical'],
  [P.name]: ['绿盾 GreenShield 20 SC', '除草王 HerbKing 41% SL', '살균제 FungiClear WDG'],
  [R.notes]: ['客户要求在续期前确认标签更改。', '登録番号の確認待ち。'],
};
const EMOJI: Record<string, string[]> = {
  [P.name]: ['GreenLeaf 🌱 Organics Soil Builder', 'BugBuster 🐛🚫 RTU', 'SunGrow ☀️ 20-20-20'],
  [R.notes]: ['Approved!! 🎉 send label to client 📎', '⚠️ check fee before renewal', 'Client called 📞 twice, waiting on CSF ⏳'],
  [C.notes]: ['VIP client ⭐⭐⭐', 'Great partner 🤝 — renewals on autopilot ✅'],
};
const PHONES = ['+1 515-555-0134', '515.555.0134', '5155550134', '(515) 555-0134 ext. 12', '555-0134', '+44 20 7946 0958', '1-800-FERTILE', 'call front desk', '515 555 0134 / 515 555 0199', '+1 (559) 555 0100'];

function hugeText(rng: Rng): string {
  const parts: string[] = [];
  let len = 0;
  for (let i = 1; len < 20_480; i++) {
    const p = `Correspondence log entry ${i}: spoke with the state reviewer about the label (rev. ${rng.int(1, 9)}), ` +
      `CSF dated ${2020 + rng.int(0, 6)}-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}, fee schedule and tonnage reporting. ` +
      `Action items: resubmit the efficacy summary, confirm the distributor product name, and update the registration tracker.\n`;
    parts.push(p);
    len += p.length;
  }
  return parts.join('');
}

function plant(ctx: PlantContext): void {
  const { rng, tables } = ctx;
  const total = tables.clients.length + tables.regulators.length + tables.products.length + tables.registrations.length;
  const target = Math.round(ctx.messiness * total);
  const taken = new Set<string>();
  const slots: PlantedKind[] = [...PLANTED_KINDS];
  const extra: PlantedKind[] = [];
  for (let i = slots.length; i < target; i++) extra.push(rng.pick(PLANTED_KINDS));
  const usedText = new Set<string>();

  const freshId = (): string => {
    for (;;) {
      const id = 'rec' + ctx.idRng.chars(14);
      if (!ctx.usedIds.has(id)) {
        ctx.usedIds.add(id);
        return id;
      }
    }
  };
  const uniqueText = (options: string[]): string => {
    for (const o of options) {
      if (!usedText.has(o)) {
        usedText.add(o);
        return o;
      }
    }
    const o = `${rng.pick(options)} ${usedText.size + 1}`;
    usedText.add(o);
    return o;
  };

  let byId: Map<string, Gen> | undefined;
  let byClient: Map<string, Gen[]> | undefined;
  const productById = () => (byId ??= new Map(tables.products.map((g) => [g.id, g])));
  const productsByClient = () => {
    if (!byClient) {
      byClient = new Map();
      for (const g of tables.products) {
        const c = (g.c[P.client] as string[] | undefined)?.[0];
        if (!c) continue;
        const list = byClient.get(c) ?? [];
        list.push(g);
        byClient.set(c, list);
      }
    }
    return byClient;
  };

  /** Plants `kind` on `rec`; returns false when the record does not fit. */
  const apply = (kind: PlantedKind, key: TableKey, rec: Gen, fieldId: string): boolean => {
    const c = rec.c;
    const cur = c[fieldId];
    let value: unknown;
    switch (kind) {
      case 'whitespace': {
        if (typeof cur !== 'string' || cur === '') return false;
        value = rng.pick([`  ${cur}`, `${cur} `, ` ${cur}  `, `${cur}\t`]);
        break;
      }
      case 'case-duplicate': {
        let other: string | undefined;
        for (let i = 0; i < 50 && other === undefined; i++) {
          const g = rng.pick(tables[key]);
          if (g !== rec && !taken.has(g.id) && typeof g.c[fieldId] === 'string') other = g.c[fieldId] as string;
        }
        if (other === undefined) return false;
        value = other !== other.toUpperCase() ? other.toUpperCase() : other.toLowerCase();
        if (value === other) return false;
        break;
      }
      case 'accents':
        value = uniqueText(ACCENTED[fieldId]!);
        break;
      case 'cjk':
        value = uniqueText(CJK[fieldId]!);
        break;
      case 'emoji':
        value = uniqueText(EMOJI[fieldId]!);
        break;
      case 'huge-text':
        value = hugeText(rng);
        break;
      case 'na-email':
        value = rng.pick(['n/a', 'N/A']);
        break;
      case 'phone-format':
        value = rng.pick(PHONES);
        break;
      case 'currency-3-decimals':
        value = (rng.int(10, 499_999) * 10 + rng.int(1, 9)) / 1000;
        break;
      case 'currency-negative':
        value = -rng.int(100, 250_000) / 100;
        break;
      case 'currency-huge':
        value = rng.pick([12345678901.5, 99999999999.99, 25000000000]);
        break;
      case 'renewal-month-out-of-range':
        value = rng.pick([0, 13]);
        break;
      case 'approval-before-submission': {
        const sub = c[R.submitted];
        if (typeof sub !== 'string' || typeof c[R.approved] !== 'string') return false;
        value = dateOnly(Date.parse(`${sub}T00:00:00Z`) - rng.int(1, 90) * DAY);
        break;
      }
      case 'new-select-option': {
        const name = rng.pick(NEW_OPTIONS[fieldId]!);
        const list = ctx.newOptions.get(fieldId) ?? [];
        if (!list.includes(name)) list.push(name);
        ctx.newOptions.set(fieldId, list);
        value = fieldId === R.tags ? [...((cur as string[] | undefined) ?? []), name] : name;
        break;
      }
      case 'empty-primary':
        if (cur === undefined) return false;
        value = null;
        break;
      case 'two-linked-records': {
        const p = (cur as string[] | undefined)?.[0];
        if (!p || tables.products.length < 2) return false;
        const owner = (productById().get(p)?.c[P.client] as string[] | undefined)?.[0];
        const same = (owner ? productsByClient().get(owner) : undefined)?.filter((g) => g.id !== p) ?? [];
        let other = same.length ? rng.pick(same) : rng.pick(tables.products);
        for (let i = 0; other.id === p && i < 50; i++) other = rng.pick(tables.products);
        if (other.id === p) return false;
        value = [p, other.id];
        break;
      }
      case 'dangling-link': {
        const dead = freshId();
        value = Array.isArray(cur) && cur.length && rng.chance(0.5) ? [...(cur as string[]), dead] : [dead];
        break;
      }
      case 'client-mismatch': {
        const current = (cur as string[] | undefined)?.[0];
        if (tables.clients.length < 2) return false;
        let other = rng.pick(tables.clients);
        while (other.id === current) other = rng.pick(tables.clients);
        value = [other.id];
        break;
      }
      case 'formula-error':
        value = { error: '#ERROR!' };
        break;
      case 'formula-nan':
        value = { specialValue: 'NaN' };
        break;
    }
    c[fieldId] = value === null ? undefined : value;
    taken.add(rec.id);
    ctx.planted.push({ key, rec, fieldId, kind, value });
    return true;
  };

  const tryPlant = (kind: PlantedKind, targets: [TableKey, string][]): boolean => {
    for (const [key, fieldId] of targets) {
      const list = tables[key];
      if (!list.length) continue;
      for (let attempt = 0; attempt < 40; attempt++) {
        const rec = list[Math.floor(rng.next() * list.length)]!;
        if (taken.has(rec.id)) continue;
        if (apply(kind, key, rec, fieldId)) return true;
      }
    }
    return false;
  };

  // One of each kind on its preferred target, then the rest spread by table
  // size, no table beyond its own share (so that a small parent table, whose
  // problems reach every record linking to it, is not planted far more
  // densely than the share asked for).
  for (const kind of slots) tryPlant(kind, KIND_TARGETS[kind]);
  const cap = (key: TableKey) => Math.max(1, Math.round(ctx.messiness * tables[key].length));
  const plantedIn = (key: TableKey) => ctx.planted.filter((p) => p.key === key).length;
  for (const kind of extra) {
    const targets = KIND_TARGETS[kind].filter((t) => plantedIn(t[0]) < cap(t[0]));
    if (!targets.length) continue;
    const weighted = targets.map((t) => [t, tables[t[0]].length] as const);
    const first = rng.weighted(weighted);
    tryPlant(kind, [first, ...targets.filter((t) => t !== first)]);
  }
}
