/**
 * An Airtable endpoint that cannot be reached (nothing listening, a host
 * that does not resolve), through both of the client's ways to Airtable
 * (the Metadata API by fetch, records by airtable.js): the failure names
 * the endpoint (never a password) and AIRTABLE_ENDPOINT_URL, says why, and
 * comes after the attempts allowed.
 */
import { describe, expect, it } from 'vitest';
import { AirtableClient, AirtableRequestError, describeEndpoint } from '../src/sources/airtable/client.ts';
import { freePort } from '../src/db/embedded.ts';

function client(endpointUrl: string): AirtableClient {
  return new AirtableClient({ token: 'patSECRETtoken', baseId: 'appAAAAAAAAAAAAAA', endpointUrl, requestsPerSecond: 100, maxAttempts: 2, backoffMs: 5 });
}

async function failure(request: Promise<unknown>): Promise<AirtableRequestError> {
  const error = await request.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AirtableRequestError);
  return error as AirtableRequestError;
}

describe('an unreachable Airtable endpoint', () => {
  it('is named with the variable when nothing listens on its port (metadata and records)', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const metadata = await failure(client(endpoint).metadata());
    expect(metadata.kind).toBe('transient');
    expect(metadata.message).toBe(
      `Airtable could not be reached at ${endpoint} (AIRTABLE_ENDPOINT_URL) for base appAAAAAAAAAAAAAA (metadata): connect ECONNREFUSED ${endpoint.slice('http://'.length)} (gave up after 2 attempts)`,
    );
    const records = await failure(client(`${endpoint}/`).listPage('tblAAAAAAAAAAAAAA'));
    expect(records.message).toBe(
      `Airtable could not be reached at ${endpoint} (AIRTABLE_ENDPOINT_URL) for table tblAAAAAAAAAAAAAA of base appAAAAAAAAAAAAAA: connect ECONNREFUSED ${endpoint.slice('http://'.length)} (gave up after 2 attempts)`,
    );
    expect(records.message).not.toContain('patSECRETtoken');
  });

  it('is named with the variable when its host does not resolve', async () => {
    const error = await failure(client('http://airlift-no-such-host.invalid').metadata());
    expect(error.message).toMatch(
      /^Airtable could not be reached at http:\/\/airlift-no-such-host\.invalid \(AIRTABLE_ENDPOINT_URL\) for base appAAAAAAAAAAAAAA \(metadata\): getaddrinfo (ENOTFOUND|EAI_AGAIN) airlift-no-such-host\.invalid \(gave up after 2 attempts\)$/,
    );
  });

  it('is described without user, password or query', () => {
    expect(describeEndpoint('https://user:secret@proxy.example.com/airtable/?key=secret')).toBe('https://proxy.example.com/airtable');
    expect(describeEndpoint('https://api.airtable.com')).toBe('https://api.airtable.com');
  });
});
