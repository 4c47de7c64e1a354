/**
 * Client-generated ids are UUIDv7: time-ordered (B-tree inserts stay append-mostly) and unique without
 * coordination, so a device can create rows offline. Branded so ids of different kinds cannot be mixed up.
 */
import { uuidv7 } from 'uuidv7';

export type UserId = string & { readonly __brand: 'UserId' };
export type IncidentId = string & { readonly __brand: 'IncidentId' };
export type ContactId = string & { readonly __brand: 'ContactId' };
export type MediaFileId = string & { readonly __brand: 'MediaFileId' };
export type SessionId = string & { readonly __brand: 'SessionId' };

export function newId<Id extends string>(): Id {
  // The brand exists only at compile time; every value from uuidv7() is a valid id of any kind.
  return uuidv7() as Id;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function isUuidV7(value: string): boolean {
  return UUID_V7.test(value);
}
