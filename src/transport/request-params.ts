import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Yoga reads the `variables` and `extensions` parameters of a GET query string (and of a
 * form-encoded POST) with a bare `JSON.parse`, so malformed JSON there escapes as a
 * SyntaxError, which the error masking can only take for a server fault ("Unexpected
 * error.", logged). This answers it as Yoga answers a malformed JSON body: 400 BAD_REQUEST.
 * Register it after Yoga's own parsers (any place in `plugins`): it wraps the one chosen.
 */
export function useRequestParamsJson(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw createGraphQLError('Request parameters sent invalid JSON.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      });
    },
  };
}
