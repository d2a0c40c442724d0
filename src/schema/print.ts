import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.js';

/** The schema as committed in schema.graphql; a test fails when the two differ. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
