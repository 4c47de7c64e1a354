/**
 * `POST /api/v1/alert-receipts`: a contact's device says an alert is on its screen (SPEC AL31–AL33). The service
 * worker posts it once it has shown a Web Push notification, the open app once it has put a realtime alert on
 * screen with sound. The body names the incident and the message's receipt token (receipt-token.ts); no sign-in,
 * since the contact's phone may be signed out, and the token is the credential: it names its ledger row, and only
 * that row's payload held its secret.
 *
 * The row becomes `shown`, which counts as observed reach (schema/src/protocol/alert-status.ts), with the server's
 * time of the receipt; the user's next version and a poke bring it to their devices. Every refusal (unknown row,
 * another incident's, a channel with no receipts, a wrong secret) is the same 404, so it tells a guesser nothing.
 * A second receipt for a row changes nothing and is answered `already`. Counted per address in the public bucket
 * like every unauthenticated route (http/rate-limits.ts): the device retries a refusal for too many requests.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import {
  ALERT_RECEIPTS_PATH,
  AlertReceipt,
  type AlertReceiptAnswer,
} from '@vitalwatch/schema/protocol/alert-receipt';
import type { Db } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import { nextUserVersion } from '../db/user-version.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { historyEntry } from './plan-incidents.ts';
import { receiptMatches, receiptRowId } from './receipt-token.ts';

/** A receipt is about 120 bytes of JSON. */
const RECEIPT_BODY_LIMIT = 1024;

type ReceiptRow = {
  user_id: UserId;
  incident_id: string;
  channel: string;
  status: string;
  body: string | null;
};

export async function registerReceiptRoutes(
  app: FastifyInstance,
  deps: { db: Db; pokes: Pokes; now: () => Date },
): Promise<void> {
  app.post(
    ALERT_RECEIPTS_PATH,
    { bodyLimit: RECEIPT_BODY_LIMIT },
    async (request): Promise<AlertReceiptAnswer> => {
      const { incidentId, receipt } = parseInput(AlertReceipt, request.body, 'body');
      const rowId = receiptRowId(receipt);
      const [row] = await queryRows<ReceiptRow>(
        deps.db,
        sql`select user_id, incident_id, channel, status, body from alert_logs where id = ${rowId}`,
      );
      if (
        row === undefined ||
        row.incident_id !== incidentId ||
        (row.channel !== 'web_push' && row.channel !== 'realtime') ||
        !receiptMatches(row.body, receipt)
      ) {
        throw new HttpError(404, 'unknown_receipt', 'No alert has this receipt.');
      }
      if (row.status === 'shown') return { status: 'shown', already: true };

      const at = deps.now();
      // The user's version first, then the row (the order every ledger writer takes its locks in, ADR 0010).
      const version = await deps.db.transaction(async (tx) => {
        const next = await nextUserVersion(tx, row.user_id);
        const updated = await queryRows<{ id: string }>(
          tx,
          sql`update alert_logs
               set status = 'shown', status_history = status_history || ${JSON.stringify([historyEntry('shown', at)])}::jsonb,
                   lease_until = null, next_attempt_at = null,
                   version = ${next}, updated_at = ${at.toISOString()}::timestamptz
             where id = ${rowId} and status <> 'shown'
             returning id`,
        );
        return updated.length > 0 ? next : null;
      });
      if (version !== null) deps.pokes.publish(row.user_id, version);
      return { status: 'shown', already: version === null };
    },
  );
}
