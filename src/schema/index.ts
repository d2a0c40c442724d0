import { builder } from './builder.js';
import './scalars.js';
import './enums.js';
import './events.js';
import './session.js';
import './permissions.js';
import './config.js';

/** The one schema; `npm run schema` prints it to schema.graphql. */
export const schema = builder.toSchema({ sortSchema: true });
export type { Context } from './builder.js';
