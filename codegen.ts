import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents from schema.graphql, the way a front end using Switchboard would set up
 * graphql-codegen: the tests' operations (tests/utils/operations.ts) and the client library's
 * (src/client/documents.ts) become TypedDocumentNodes. `npm run codegen` regenerates tests/gql
 * and src/client/gql; a test fails when it is out of step.
 */
/** The client preset, as every target of typed documents here uses it. */
const typedDocuments = (documents: string[]) => ({
  documents,
  preset: 'client' as const,
  presetConfig: { fragmentMasking: false },
  config: {
    useTypeImports: true,
    enumsAsTypes: true,
    scalars: { DateTime: 'string', JSON: 'unknown' },
  },
});

const config: CodegenConfig = {
  schema: 'schema.graphql',
  emitLegacyCommonJSImports: false,
  ignoreNoDocuments: false,
  generates: {
    'tests/gql/': typedDocuments(['tests/**/*.ts', '!tests/gql/**']),
    // The client library's own operations (switchboard/client), so it ships without the tests'.
    'src/client/gql/': typedDocuments(['src/client/documents.ts']),
    // The web app's operations, next to the components that use them (the client library's
    // fragments included, which they spread).
    'web/src/gql/': typedDocuments(['web/src/**/*.tsx', 'src/client/documents.ts']),
    // Apollo Client's InMemoryCache must know the union's members to match `... on Event`
    // fragments; without possibleTypes it silently drops those fields.
    'tests/gql/possible-types.ts': {
      plugins: ['fragment-matcher'],
      config: { useExplicitTyping: true },
    },
  },
};

export default config;
