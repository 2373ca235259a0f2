/**
 * SQL that makes Delta records set-based, for the benchmarks that need more
 * records than the emulator serves quickly (bench/integrity.ts,
 * bench/link-resolution.ts): functions in schema bench that return Airtable
 * envelopes page by page.
 */
import type { Sql } from 'postgres';
import { entityMappingRow, writeValidationRules, type Mapping } from '../src/mapping.ts';

/** The shipped mapping in sync.entity_mappings and its rules, as the runner writes them before a run. */
export async function writeMapping(sync: Sql, mapping: Mapping, baseId: string): Promise<void> {
  const rows = mapping.tables.map((t) => ({
    ...entityMappingRow(t),
    source_id: baseId,
    field_names: Object.fromEntries(t.fields.filter((f) => f.column).map((f) => [f.column!, f.name])),
  }));
  await sync`
    insert into sync.entity_mappings (entity, source_id, source_table, table_name, field_ids, field_names, attachment_field_ids, last_modified_field_id)
    select entity, source_id, source_table, table_name, field_ids, field_names, attachment_field_ids, last_modified_field_id
    from jsonb_to_recordset(${sync.json(rows)}) as r (entity text, source_id text, source_table text, table_name text, field_ids jsonb,
                                                      field_names jsonb, attachment_field_ids jsonb, last_modified_field_id text)`;
  await writeValidationRules(sync, mapping);
}

/*
 * Record generators, in SQL: Airtable envelopes {id, created_time, fields,
 * hash} keyed by the mapping's field ids, with values shaped like those of
 * tools/generator/generator.ts (links as lists of record ids, lookups as lists,
 * collaborators as objects, attachments, dates as ISO dates, empty cells
 * absent). Ids are md5-derived, so keys are scattered as Airtable's are.
 */
export const GENERATORS = `
create schema bench;
create function bench.rid(kind text, i bigint) returns text language sql stable
as $$ select 'rec' || substr(md5(kind || i), 1, 14) $$;
create function bench.iso(t timestamptz) returns text language sql stable
as $$ select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
create function bench.staff(k bigint) returns jsonb language sql stable
as $$ select jsonb_build_object('id', 'usr' || substr(md5('staff' || (1 + k % 8)), 1, 14),
                                'email', 'staff' || (1 + k % 8) || '@deltaanalytical.com', 'name', 'Staff Member ' || (1 + k % 8)) $$;
create function bench.envelope(id text, created timestamptz, fields jsonb) returns jsonb language sql stable
as $$ select jsonb_build_object('id', id, 'created_time', bench.iso(created), 'fields', fields,
                                'hash', encode(sha256(convert_to(fields::text, 'UTF8')), 'hex')) $$;
create function bench.state(i bigint) returns text language sql stable
as $$ select ('{AL,AK,AZ,AR,CA,CO,CT,DE,DC,FL,GA,HI,ID,IL,IN,IA,KS,KY,LA,ME,MD,MA,MI,MN,MS,MO,MT,NE,NV,NH,NJ,NM,NY,NC,ND,OH,OK,OR,PA,RI,SC,SD,TN,TX,UT,VT,VA,WA,WV,WI,WY}'::text[])[1 + (i - 1) % 51] $$;

create function bench.regulators(lo bigint, hi bigint) returns setof jsonb language sql stable as $$
  select bench.envelope(bench.rid('regulator', i), timestamptz '2022-01-01 00:00:00+00' + i * interval '1 hour', jsonb_strip_nulls(jsonb_build_object(
    'fldtmASk12fGsd6OS', bench.state(i) || ' Department of Agriculture',
    'fldvJBbLeJT9yad38', bench.state(i),
    'fld2IWNJn0u5vKUvN', 'Department of Agriculture',
    'fldxwDWfezJn3hIQ7', 'Regulator Contact ' || i,
    'fldctgC938Csv6bJw', 'contact' || i || '@agr.' || lower(bench.state(i)) || '.gov',
    'fldzWDJBhn6ZibaaK', '(212) 555-' || lpad(i::text, 4, '0'),
    'fldeSJue0fwJAwMVF', 'https://www.agr.' || lower(bench.state(i)) || '.gov',
    'fldHoCpAgdWoXGc91', (array['Agency portal', 'Kelly Registration Systems', 'Email', 'Paper mail'])[1 + i % 4],
    'fldBSIVVhIf8psxUO', (array['Annual', 'Annual', 'Biennial', 'Triennial'])[1 + i % 4],
    'fldoQh2Z9dzm14DkC', 1 + i % 12,
    'fldFvLh05ueJLjrcd', 100 + (i % 10) * 50,
    'fld4V4sAYjz3SxR1b', case when i % 2 = 0 then 50 end,
    'fld3zYxcXGGSE8h2S', case when i % 4 = 0 then true end,
    'fldb0z4gETllchxoI', '["Pesticide", "Fertilizer", "Disinfectant"]'::jsonb,
    'fldw7PqcIkPbQuj95', bench.iso(timestamptz '2025-06-01 00:00:00+00' + i * interval '1 minute'))))
  from generate_series(lo, hi) i order by i
$$;

create function bench.clients(lo bigint, hi bigint) returns setof jsonb language sql stable as $$
  select bench.envelope(bench.rid('client', i), timestamptz '2022-01-01 00:00:00+00' + i * interval '1 minute', jsonb_strip_nulls(jsonb_build_object(
    'fldcRQ5EWmHA7hkmK', 'Client ' || i || ' Agrochemicals LLC',
    'fldPlUSdlUpal2YU2', 'CL-' || lpad(i::text, 5, '0'),
    'fldAxUQDrygYjpbpO', (array['Active', 'Active', 'Active', 'Prospect', 'On Hold', 'Inactive'])[1 + i % 6],
    'fld4TzQXVp4I3JsJY', 'Contact Person ' || i,
    'fldwvK9BoMpuwDLuw', 'contact' || i || '@client' || i || '.com',
    'fldqa4xrGdS4F1c8m', '(415) 555-' || lpad((i % 10000)::text, 4, '0'),
    'fldLCmTDVbhK0iSy8', (100 + i % 9800) || ' Market Street' || chr(10) || 'Fresno, CA 93701',
    'fldxPp0psGj5j1gUm', (10 + i % 90) || '-' || lpad((i * 7919 % 10000000)::text, 7, '0'),
    'fldIcvtGQXI6ZQK25', bench.staff(i),
    'fldOKlvaggwBuA1DW', date '2010-01-01' + (i % 4000)::int,
    'fldAaSynzxQzeTNAI', case when i % 10 < 7 then (50 + i % 4950) * 100 end,
    'fld4nncVN1i1Qbxro', case when i % 3 = 0 then 'Prefers email contact.' end,
    'fldCEwXPTULg5Yy0O', bench.iso(timestamptz '2022-01-01 00:00:00+00' + i * interval '1 minute'),
    'fld62rLIbyozCjTuf', bench.iso(timestamptz '2025-01-01 00:00:00+00' + i * interval '1 minute'))))
  from generate_series(lo, hi) i order by i
$$;

create function bench.products(lo bigint, hi bigint, n_clients bigint) returns setof jsonb language sql stable as $$
  select bench.envelope(bench.rid('product', i), timestamptz '2023-01-01 00:00:00+00' + i * interval '1 minute', jsonb_strip_nulls(jsonb_build_object(
    'flditdl13jzXqvGJG', 'Agri' || i || ' ' || (array['EC Herbicide', '10-10-10 Fertilizer', 'Disinfectant Spray', 'Bio Stim', 'Soil Conditioner', 'Feed Mix'])[1 + i % 6],
    'fldeHngYQ2AQ2a41D', jsonb_build_array(bench.rid('client', 1 + (i * 7) % n_clients)),
    'fldIDSraJoY8Q7bP4', case when i % 6 in (0, 2) then (100 + i % 99000) || '-' || i end,
    'fld7R2F44pjr4HOTx', (array['Pesticide', 'Fertilizer', 'Disinfectant', 'Biostimulant', 'Soil Amendment', 'Animal Feed'])[1 + i % 6],
    'fldlfnfaf4aov6djj', case when i % 6 = 0 then 'Glyphosate 41.0%' || chr(10) || 'Other ingredients 59.0%' end,
    'fld2ryBoRxCP6rela', (array['Caution', 'Warning', 'Danger', 'None'])[1 + i % 4],
    'flddjxYm3lLnbsGPN', case when i % 20 = 0 then true end,
    'fldeqFJkIqQxjVyxf', bench.iso(timestamptz '2025-02-01 00:00:00+00' + i * interval '1 second'))))
  from generate_series(lo, hi) i order by i
$$;

create function bench.registrations(lo bigint, hi bigint, n_products bigint, n_clients bigint) returns setof jsonb language sql stable as $$
  select bench.envelope(bench.rid('reg', g), timestamptz '2023-06-01 00:00:00+00' + g * interval '20 seconds', jsonb_strip_nulls(jsonb_build_object(
    'fldA4ZhVdt9lLBWYm', 'Agri' || a.p || ' - ' || a.code,
    'flddw2j5Mu2TJtX7Q', jsonb_build_array(bench.rid('client', 1 + (a.p * 7) % n_clients)),
    'fldZawXe2RiH9oSci', jsonb_build_array(bench.rid('product', a.p)),
    'fldUF86Yp8B0Aea5U', jsonb_build_array(bench.rid('regulator', a.st)),
    'fldmiaUjYsE4lzH9y', jsonb_build_array(a.code),
    'fldaeH9V1UBJK7tSW', a.status,
    'fldHNUoPRoouBCa5N', (array['New', 'Renewal', 'Renewal', 'Renewal', 'Amendment'])[1 + g % 5],
    'fldoW6e4UMxIOza8A', case when d.approved is not null then a.code || '-' || extract(year from d.approved) || '-' || lpad((g % 99999)::text, 5, '0') end,
    'fldlwKx8C5WVAJ2Nt', d.submitted,
    'fldUsOARR7hF2Iu6K', d.approved,
    'fldFUnYOjlHNdzRKr', d.expiration,
    'fldYhg9rHaOArcpNI', case when d.submitted is not null then 100 + (a.st % 10) * 50 + case when g % 20 = 0 then 50 else 0 end end,
    'fldXLXCmjDVPxX7Ok', case when d.submitted is not null then 'INV-' || extract(year from d.submitted) || '-' || lpad(g::text, 7, '0') end,
    'fldZu0JXcyOOEs3H1', case when g % 5 <> 0 then 1 + (g / 5) % 5 end,
    'fldQLBPSEUDUZuZxO', case g % 10 when 1 then '["Rush"]'::jsonb when 2 then '["Label Change", "Data Call-In"]'::jsonb
                                     when 3 then '["Tonnage Report"]'::jsonb when 4 then '["Needs Client Input"]'::jsonb end,
    'fldgMx8UeILqd0Uqf', case when g % 10 <> 0 then bench.staff(g) end,
    'fldTHJoTD5wtFrQa2', case when d.submitted is not null and g % 5 < 3 then jsonb_build_array(jsonb_build_object(
        'id', 'att' || substr(md5('att' || g), 1, 14),
        'url', 'https://v5.airtableusercontent.com/v3/u/35/35/1767225600000/' || substr(md5('u' || g), 1, 22) || '/' || md5('v' || g),
        'filename', a.code || '-application-' || extract(year from d.submitted) || '.pdf',
        'size', 50000 + (g * 7919) % 2950000, 'type', 'application/pdf')) end,
    'fldAyIsjK0FfnseyZ', case when g % 7 = 0 then 'Awaiting the client''s signed letter of authorization before submission.' end,
    'fldAM8PpzJILIsvyw', case when d.expiration is not null then d.expiration - date '2026-01-01' end,
    'fld425nv1ODHaAQNP', bench.iso(timestamptz '2025-01-01 00:00:00+00' + g * interval '17 seconds'))))
  from generate_series(lo, hi) g
  cross join lateral (select 1 + (g * 7919) % n_products as p, 1 + (g * 13) % 51 as st, bench.state(1 + (g * 13) % 51) as code,
               (array['Approved', 'Approved', 'Approved', 'Approved', 'Approved', 'Approved', 'Approved', 'Approved', 'Expired', 'Expired',
                      'Pending Review', 'Pending Review', 'Submitted', 'Submitted', 'In Preparation', 'In Preparation',
                      'Not Started', 'Deficiency', 'Denied', 'Withdrawn'])[1 + (g * 17) % 20] as status) a
  cross join lateral (select case when a.status in ('Approved', 'Expired') then date '2027-06-30' - ((g * 37) % 900)::int end as expiration) e
  cross join lateral (select e.expiration,
                             e.expiration - 365 + (g % 60)::int as approved,
                             case when a.status in ('Approved', 'Expired') then e.expiration - 365 + (g % 60)::int - (14 + g % 100)::int
                                  when a.status in ('Submitted', 'Pending Review', 'Deficiency') then date '2026-01-01' - (1 + g % 150)::int
                                  when a.status in ('Denied', 'Withdrawn') then date '2026-01-01' - (30 + g % 570)::int end as submitted) d
  order by g
$$;`;
