/**
 * What the SMS event handlers (sms-events.ts: status callbacks and replies; safe-reply.ts: "SAFE <code> <PIN>")
 * share: their dependencies and the contact a reply comes from. Its own file, so neither handler imports the other
 * for a type.
 */
import type { Db } from '../db/database.ts';
import type { Pokes } from '../sync/poke-hub.ts';

export type SmsEventDeps = {
  db: Db;
  pokes: Pokes;
  now: () => Date;
  provider: string;
  maxAttempts: number;
  onChange?: (incidentId: string) => void;
};

/** A contact we texted an alert, and the incident it was for. */
export type AlertedContact = {
  user_id: string;
  incident_id: string;
  contact_id: string;
  name: string | null;
};
