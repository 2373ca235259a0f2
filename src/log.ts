/**
 * Structured logs (pino): JSON lines for machines, or a short readable line
 * on a terminal. AIRLIFT_LOG_LEVEL sets the level, checked as every variable
 * is (a bad one is a configuration error, exit code 2). Secrets never reach
 * a log: URLs are logged through describeUrl(), and known secret keys are
 * redacted.
 */
import pino from 'pino';
import { logLevel, type LogLevel } from './config.ts';

/** A logger at `level`, by default AIRLIFT_LOG_LEVEL's (a bad value throws the ConfigurationError naming it). */
export function createLogger(level: LogLevel = logLevel()) {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey'], censor: '***' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
export type Logger = ReturnType<typeof createLogger>;
