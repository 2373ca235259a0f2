/**
 * Structured logs (pino): JSON lines for machines, or a short readable line
 * on a terminal. AIRLIFT_LOG_LEVEL sets the level. Secrets never reach a log:
 * URLs are logged through describeUrl(), and known secret keys are redacted.
 */
import pino from 'pino';

export function createLogger(level = process.env.AIRLIFT_LOG_LEVEL ?? 'info') {
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
