import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents from schema.graphql, the way a front end using Switchboard would set up
 * graphql-codegen: the tests' operations (tests/utils/operations.ts) and the client library's
 * (src/client/documents.ts) become TypedDocumentNodes. `npm run codegen` regenerates tests/gql
 * and src/client/gql; a test fails when it is out of step.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  emitLegacyCommonJSImports: false,
  ignoreNoDocuments: false,
  generates: {
    'tests/gql/': {
      documents: ['tests/**/*.ts', '!tests/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
    // The client library's own operations (switchboard/client), so it ships without the tests'.
    'src/client/gql/': {
      documents: ['src/client/documents.ts'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
    // The web app's operations, next to the components that use them (the client library's
    // fragments included, which they spread).
    'web/src/gql/': {
      documents: ['web/src/**/*.tsx', 'src/client/documents.ts'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
    // Apollo Client's InMemoryCache must know the union's members to match `... on Event`
    // fragments; without possibleTypes it silently drops those fields.
    'tests/gql/possible-types.ts': {
      plugins: ['fragment-matcher'],
      config: { useExplicitTyping: true },
    },
  },
};

export default config;
