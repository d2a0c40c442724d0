import { auditServer } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../utils/server.js';

describe('GraphQL over HTTP', () => {
  it("passes every one of graphql-http's audits (the spec's own suite)", async () => {
    const server = await startTestServer();
    const results = await auditServer({ url: server.url });
    const failed = results.filter((result) => result.status !== 'ok').map(({ id, name, status }) => `${id} ${status}: ${name}`);
    expect(failed).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(61);
  });

  it('answers a body that is not JSON, or not a GraphQL request, with 400 BAD_REQUEST whatever the Accept header', async () => {
    const server = await startTestServer();
    const bodies: Array<[string, Record<string, string>, string | undefined]> = [
      ['not JSON', { 'content-type': 'application/json' }, '{ "not a JSON'],
      ['empty JSON body', { 'content-type': 'application/json' }, ''],
      ['no body, no content type', {}, undefined],
      ['no query', { 'content-type': 'application/json' }, '{}'],
      ['a query that is not a string', { 'content-type': 'application/json' }, '{"query":5}'],
      ['null', { 'content-type': 'application/json' }, 'null'],
    ];
    for (const [what, headers, body] of bodies) {
      for (const accept of [undefined, '*/*', 'application/json', 'application/graphql-response+json', 'text/event-stream']) {
        const res = await fetch(server.url, { method: 'POST', headers: { ...headers, ...(accept ? { accept } : {}) }, body });
        const text = await res.text();
        expect({ what, accept, status: res.status }).toEqual({ what, accept, status: 400 });
        expect(text).toContain('"code":"BAD_REQUEST"');
        // The parser's own message (which echoes the body) is not passed on.
        expect(text).not.toContain('originalError');
      }
    }
    // A well-formed request whose document fails validation is not one: 200 under
    // application/json, as the spec asks (its own audit checks this too).
    const invalid = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ nope }' }),
    });
    expect(invalid.status).toBe(200);
    expect(await invalid.json()).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
  });
});
