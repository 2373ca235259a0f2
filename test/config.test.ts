/** Environment validation: defaults, and errors that name the variable. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadEnvironment, logLevel } from '../src/config.ts';

describe('loadEnvironment', () => {
  it('defaults to the embedded server under .airlift', () => {
    const env = loadEnvironment({});
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.AIRLIFT_DATA_DIR).toBe(path.resolve('.airlift'));
    expect(env.AIRLIFT_DATABASE_NAME).toBe('airlift');
  });

  it('treats empty variables as unset', () => {
    expect(loadEnvironment({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it('accepts postgres and postgresql URLs', () => {
    expect(loadEnvironment({ DATABASE_URL: 'postgresql://u@h/db' }).DATABASE_URL).toBe('postgresql://u@h/db');
  });

  it('names each bad variable and what was expected', () => {
    let error: unknown;
    try {
      loadEnvironment({ DATABASE_URL: 'mysql://h/db', AIRLIFT_DATABASE_NAME: 'Bad-Name', AIRLIFT_LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('DATABASE_URL: expected a postgres:// or postgresql:// URL');
    expect(message).toContain('AIRLIFT_DATABASE_NAME: expected a lower-case SQL identifier');
    expect(message).toContain('AIRLIFT_LOG_LEVEL');
    expect((error as ConfigurationError).exitCode).toBe(2);
  });

  it('names a bad log level on one line with the levels it takes', () => {
    expect(() => loadEnvironment({ AIRLIFT_LOG_LEVEL: 'loud' })).toThrow(
      new ConfigurationError('Bad configuration: AIRLIFT_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"'),
    );
  });
});

describe('logLevel', () => {
  it('is AIRLIFT_LOG_LEVEL, info when unset or empty', () => {
    expect(logLevel({ AIRLIFT_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(logLevel({})).toBe('info');
    expect(logLevel({ AIRLIFT_LOG_LEVEL: '' })).toBe('info');
  });

  it('throws the ConfigurationError loadEnvironment throws for a bad level, whatever else is wrong', () => {
    let error: unknown;
    try {
      logLevel({ AIRLIFT_LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://h/db' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe('Bad configuration: AIRLIFT_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"');
  });
});

describe('AIRTABLE_ENDPOINT_URL', () => {
  it('must be an absolute http(s) URL with a host and no credentials, named when it is not', () => {
    for (const value of ['htp:/nope', 'http:/nope', 'api.airtable.com', 'ftp://api.airtable.com', 'http://', 'https://user:secret@api.airtable.com']) {
      expect(() => loadEnvironment({ AIRTABLE_ENDPOINT_URL: value }), value).toThrow(
        new ConfigurationError('Bad configuration: AIRTABLE_ENDPOINT_URL: expected an absolute http:// or https:// URL without user or password, such as https://api.airtable.com'),
      );
    }
  });

  it('takes http and https URLs, without a trailing slash, and defaults to Airtable', () => {
    expect(loadEnvironment({}).AIRTABLE_ENDPOINT_URL).toBe('https://api.airtable.com');
    expect(loadEnvironment({ AIRTABLE_ENDPOINT_URL: 'http://127.0.0.1:3000/' }).AIRTABLE_ENDPOINT_URL).toBe('http://127.0.0.1:3000');
    expect(loadEnvironment({ AIRTABLE_ENDPOINT_URL: 'https://proxy.example.com/airtable' }).AIRTABLE_ENDPOINT_URL).toBe('https://proxy.example.com/airtable');
  });
});
