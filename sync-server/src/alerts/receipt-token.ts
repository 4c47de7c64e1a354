/**
 * Receipt tokens (SPEC AL31): each Web Push and realtime message carries `<ledger row id>.<secret>`, 128 random
 * bits made when the row is planned and kept only in the row's `body` (the exact payload sent, server-only). A
 * device that shows the message posts the token back; holding it proves it got that one message.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export function newReceiptToken(rowId: string): string {
  return `${rowId}.${randomBytes(16).toString('base64url')}`;
}

/** The ledger row a well-formed token names (receipt-routes.ts checks the shape first). */
export function receiptRowId(token: string): string {
  return token.slice(0, token.indexOf('.'));
}

/** Whether `presented` is the token stored in the row's payload, compared in constant time. */
export function receiptMatches(storedBody: string | null, presented: string): boolean {
  let stored: unknown;
  try {
    stored = storedBody === null ? null : JSON.parse(storedBody);
  } catch {
    return false;
  }
  const expected =
    typeof stored === 'object' && stored !== null && 'receipt' in stored && typeof stored.receipt === 'string'
      ? Buffer.from(stored.receipt)
      : null;
  const given = Buffer.from(presented);
  return expected !== null && expected.length === given.length && timingSafeEqual(expected, given);
}
