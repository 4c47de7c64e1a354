/**
 * Every query made on behalf of a user goes through `withUser`: one transaction in which the request's claims
 * and the `authenticated` role are set with `set_config(…, true)`, so they end with the transaction. Nothing is
 * session state, which is what Neon's transaction-mode pooler (PgBouncer) requires. `authenticated` owns no
 * table, so row-level security applies even when the connection is a superuser (PGlite) or the tables' owner.
 */
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Db, Tx } from './database.ts';

export type RequestClaims = { sub: UserId; role: 'authenticated'; [claim: string]: unknown };

export async function withUser<T>(db: Db, claims: RequestClaims, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', 'authenticated', true)`,
    );
    return work(tx);
  });
}
