import { RepeatedError } from './fold.js';
import { defaultLogger, type Logger } from './logger.js';
import { safeError } from './safe-error.js';

/**
 * An `onError` that writes each error to `logger` at `error`, with its stack (`err`, through
 * safeError). A RepeatedError from foldRepeats becomes one line for the error it stands for,
 * with `repeated` (how many were folded into it) and `windowMs` as fields.
 */
export function errorSink(logger: Logger): (error: unknown) => void {
  return (error) => {
    if (error instanceof RepeatedError) {
      logger.error({ err: error.cause, repeated: error.count, windowMs: error.windowMs }, safeError(error).message);
      return;
    }
    // The message as safeError leaves it (the `err` field goes through it as the serializer).
    logger.error({ err: error }, error instanceof Error ? safeError(error).message : 'a value that is not an Error was thrown');
  };
}

/**
 * The `onError` default of the parts that can be used on their own (the event log, the
 * transports, the stores, the pub/sub): errors only, JSON lines on stdout.
 */
export function logError(error: unknown): void {
  errorSink(defaultLogger())(error);
}
