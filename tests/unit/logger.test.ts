import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { errorSink } from '../../src/observability/error-sink.js';
import { foldRepeats, RepeatedError } from '../../src/observability/fold.js';
import { safeError } from '../../src/observability/safe-error.js';
import { captureLogs, LEVEL } from '../utils/log-lines.js';
import { createManualClock } from '../utils/manual-clock.js';

/** A JSON.parse failure on a short input: V8 quotes the input in the message. */
function jsonParseError(input: string): SyntaxError {
  try {
    JSON.parse(input);
  } catch (error) {
    return error as SyntaxError;
  }
  throw new Error('parsed');
}

describe('LOG_LEVEL', () => {
  it('is info by default, any of pino\'s levels or silent in any case, and anything else refuses start-up naming it', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/^LOG_LEVEL must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "verbose"\.$/);
  });
});

describe('safeError', () => {
  it('keeps type, message, stack, code and the cause chain; leaves out every other field', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', address: '127.0.0.1' });
    const error = Object.assign(new Error('the store failed', { cause }), { detail: 'Failing row contains (s, marmalade-7431).', params: ['marmalade-7431'] });
    const safe = safeError(error);
    expect(safe).toEqual({
      type: 'Error',
      message: 'the store failed',
      stack: expect.stringContaining('\n    at '),
      cause: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:5432', stack: expect.any(String), code: 'ECONNREFUSED' },
    });
    expect(JSON.stringify(safe)).not.toContain('marmalade');
    // pino's own serializer would have written both fields.
    expect(JSON.stringify(pino.stdSerializers.err(error))).toContain('marmalade-7431');
  });

  it('a GraphQL error: its path and original error, not its source, nodes or extensions', () => {
    const original = new TypeError('x is undefined');
    const error = new GraphQLError(original.message, {
      path: ['session', 'messages', 0],
      originalError: original,
      extensions: { variables: { text: 'marmalade-7431' } },
    });
    const safe = safeError(error);
    expect(safe).toMatchObject({ type: 'GraphQLError', message: 'x is undefined', path: ['session', 'messages', 0], cause: { type: 'TypeError' } });
    expect(JSON.stringify(safe)).not.toContain('marmalade');
  });

  it('cuts the input V8 quotes in a JSON.parse failure out of its message and stack, in causes too', () => {
    const parse = jsonParseError('marmalade-7431 and more');
    expect(parse.message).toContain('marmalade'); // what is at stake
    const safe = safeError(new Error('unreadable message on Redis channel x', { cause: parse }));
    expect(safe.cause?.message).toBe(`Unexpected token 'm', (input left out) is not valid JSON`);
    expect(JSON.stringify(safe)).not.toContain('marmalade');
  });
});

describe('errorSink', () => {
  it('writes an error as one line at error with its stack, and a folded report as one line with the count as a field', () => {
    const logs = captureLogs('info');
    const clock = createManualClock();
    const report = foldRepeats(errorSink(logs.logger), { clock });
    for (let i = 0; i < 5; i++) report(Object.assign(new Error('database is away'), { code: 'ECONNREFUSED' }));
    clock.advance(1000);
    const lines = logs.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: LEVEL.error,
      msg: 'database is away',
      err: { type: 'Error', message: 'database is away', code: 'ECONNREFUSED', stack: expect.stringContaining('\n    at ') },
    });
    expect(lines[0]).not.toHaveProperty('repeated');
    expect(lines[1]).toMatchObject({
      level: LEVEL.error,
      repeated: 4,
      windowMs: 1000,
      msg: 'Error: database is away (repeated 4 more times within 1000 ms)',
      err: { type: 'Error', message: 'database is away', code: 'ECONNREFUSED' },
    });
  });

  it('a value that is not an Error is still one line at error', () => {
    const logs = captureLogs('error');
    errorSink(logs.logger)('a string');
    expect(logs.lines()).toEqual([expect.objectContaining({ level: LEVEL.error, err: { type: 'string', message: 'a string' } })]);
  });

  it('RepeatedError keeps its window', () => {
    expect(new RepeatedError(3, 250, new Error('x')).windowMs).toBe(250);
  });
});
