import { createLogger, type Logger, type LogLevel } from '../../src/observability/logger.js';

/** One parsed log line: pino's fields and whatever the call added. */
export type LogLine = Record<string, unknown> & { level: number; msg?: string };

export interface CapturedLogs {
  /** A real pino logger (the app's own kind) writing to memory instead of stdout. */
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): LogLine[];
  /** Everything written so far, as written. */
  text(): string;
}

/** A logger at `level` whose JSON lines a test reads. */
export function captureLogs(level: LogLevel = 'info'): CapturedLogs {
  let text = '';
  const logger = createLogger({ level, destination: { write: (line: string) => void (text += line) } });
  return { logger, lines: () => parseLines(text), text: () => text };
}

/** Each line of `text` as JSON; throws (naming the line) on one that is not a JSON object. */
export function parseLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`not a JSON object: ${line}`);
      return parsed as LogLine;
    });
}

/** pino's numbers for the levels. */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
