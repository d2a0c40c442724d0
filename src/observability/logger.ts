import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { safeError } from './safe-error.js';

/** A pino logger: `logger.info({ sessionId }, 'turn ended')`, `logger.child({ turnId })`. */
export type Logger = PinoLogger;

/** `LOG_LEVEL`'s values, most severe first; `silent` writes nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** The least severe level written. @default 'info' */
  level?: LogLevel;
  /**
   * Where the JSON lines go: anything with `write(line)`. Tests pass one they read.
   * @default stdout, written synchronously: a few lines a turn, and the last ones before an
   * exit (a fatal error, "stopped") are never lost in a buffer
   */
  destination?: DestinationStream;
}

/**
 * Switchboard's logs: one JSON object a line (pino), `level` as pino's number, `time` in ms
 * since the epoch, and an error under `err` through `safeError` (type, message, stack,
 * code, cause; no field that may quote what a user wrote). `npm run dev` pipes them through
 * pino-pretty.
 *
 * What is logged at `info` and above carries ids, counts, durations and codes, never a
 * message's text, a tool's input, a token or a key.
 *
 * @example
 * const logger = createLogger({ level: 'debug' });
 * logger.child({ sessionId, turnId }).info({ reason: 'END_TURN', durationMs: 812 }, 'turn ended');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      serializers: { err: safeError },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

let fallback: Logger | null = null;

/**
 * Where a part used on its own (without createApp or main.ts handing it a logger) reports
 * its errors: errors only, as JSON lines on stdout. Made on first use.
 */
export function defaultLogger(): Logger {
  fallback ??= createLogger({ level: 'error' });
  return fallback;
}
