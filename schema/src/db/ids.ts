/** Column helpers for client-generated UUIDv7 ids (see ../ids.ts). */
import { type SQL, sql } from 'drizzle-orm';
import { type AnyPgColumn, uuid } from 'drizzle-orm/pg-core';
import { newId } from '../ids.ts';

/** A uuid primary key that a device may generate; the database refuses anything but a UUIDv7. */
export function clientIdColumn() {
  return uuid('id')
    .primaryKey()
    .$defaultFn(() => newId());
}

export function isUuidV7Check(column: AnyPgColumn): SQL {
  return sql`substr(${column}::text, 15, 1) = '7'`;
}
