import { randomUUID } from 'node:crypto';
import { badInput } from '../errors.js';

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Session ids are 1–128 characters of [A-Za-z0-9_-]; they also name the session's workspace folder. */
export function checkSessionId(id: string): string {
  if (!SESSION_ID.test(id)) {
    throw badInput('A session id is 1 to 128 characters of A-Z, a-z, 0-9, "_" and "-".');
  }
  return id;
}

export const newId = (): string => randomUUID();
