/**
 * "SAFE <code> <PIN>" by SMS from a contact who was alerted for incident <code> (SPEC AL15–AL18). The server holds
 * the device's PIN verifiers (salted PBKDF2-SHA256, `settings.update@1`), never the PINs:
 * - the cancel PIN resolves the incident exactly as the app's "I'm safe" does: a `resolved` event through the
 *   `incident.event@1` mutator and its state machine, so the all-clear goes out (AL5) and the device pulls it;
 * - the duress PIN gets the very same answer but records the app's duress cancel (`cancelled`, `duress`), so
 *   escalation goes on silently and the device sees a plain cancel (AL6, CF4);
 * - anything else is a wrong PIN and changes nothing but the incident's count of them; at 5, only the app can end
 *   the incident, whatever PIN comes next.
 * Without a cancel PIN on the server (a device that never sent one) only the app can end an incident.
 *
 * An attempt is counted before the PIN is checked and given back when it proves right, so guesses sent in
 * parallel cannot get past the limit, and a crash in between costs a try rather than granting one.
 */
import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import { emergencyIncidents, userSettings } from '@vitalwatch/schema/db/tables';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import type { PinVerifier } from '@vitalwatch/schema/protocol/pin-verifier';
import { decodePinVerifier } from '../db/pin-verifier-column.ts';
import { nextUserVersion } from '../db/user-version.ts';
import { incidentEvent } from '../sync/mutators/incident-event.ts';
import type { AlertedContact, SmsEventDeps } from './sms-event-deps.ts';

export const MAX_SMS_PIN_FAILURES = 5;

export const ONLY_THE_APP = 'only the person who sent the alert can end it, from their app.';

const SAFE_REPLY = /^\s*SAFE\s+([A-Za-z0-9]{4,8})\s+([0-9]{4,8})\s*$/i;

/** The code (upper case) and PIN of a "SAFE <code> <PIN>" message; null for any other text. */
export function parseSafeReply(body: string): { code: string; pin: string } | null {
  const match = SAFE_REPLY.exec(body);
  return match === null ? null : { code: match[1]!.toUpperCase(), pin: match[2]! };
}

const derive = promisify(pbkdf2);

async function pinMatches(pin: string, verifier: PinVerifier | null): Promise<boolean> {
  if (verifier === null) return false;
  const expected = Buffer.from(verifier.hash, 'hex');
  const actual = await derive(pin, Buffer.from(verifier.salt, 'hex'), verifier.iterations, 32, 'sha256');
  return timingSafeEqual(actual, expected);
}

/** Answers "SAFE <code> <PIN>" from `contact`, who was alerted for the incident with that code. */
export async function applySafeReply(
  deps: SmsEventDeps,
  contact: AlertedContact,
  reply: { code: string; pin: string },
): Promise<string> {
  const [pins] = await deps.db
    .select({ cancel: userSettings.cancelPinHash, duress: userSettings.duressPinHash })
    .from(userSettings)
    .where(eq(userSettings.userId, contact.user_id));
  const cancel = decodePinVerifier(pins?.cancel ?? null);
  if (cancel === null) return `VitalWatch: ${ONLY_THE_APP}`;
  const duress = decodePinVerifier(pins?.duress ?? null);

  const failures = emergencyIncidents.smsPinFailures;
  const [reserved] = await deps.db
    .update(emergencyIncidents)
    .set({ smsPinFailures: sql`${failures} + 1` })
    .where(and(eq(emergencyIncidents.id, contact.incident_id), lt(failures, MAX_SMS_PIN_FAILURES)))
    .returning({ failures });
  if (reserved === undefined) return `VitalWatch: too many wrong PINs, so ${ONLY_THE_APP}`;

  // Both checks, always: the time taken says nothing about which PIN it was.
  const [isDuress, isCancel] = await Promise.all([
    pinMatches(reply.pin, duress),
    pinMatches(reply.pin, cancel),
  ]);
  if (!isDuress && !isCancel) {
    const left = MAX_SMS_PIN_FAILURES - reserved.failures;
    return left > 0
      ? `VitalWatch: that PIN is wrong; alert ${reply.code} is still on. ${left} ${left === 1 ? 'try' : 'tries'} left.`
      : `VitalWatch: that PIN is wrong, and it was the last try: ${ONLY_THE_APP}`;
  }
  await endIncident(deps, contact, isDuress);
  // The same words for both PINs: whoever holds the contact's phone cannot tell a duress PIN from the real one.
  return `VitalWatch: thank you. Alert ${reply.code} from ${contact.name ?? 'them'} is now ended.`;
}

/** The app's own events: "I'm safe" (`resolved`) or the duress cancel, with the contact as the one who sent it. */
async function endIncident(deps: SmsEventDeps, contact: AlertedContact, duress: boolean): Promise<void> {
  const userId = contact.user_id as UserId;
  const now = deps.now();
  const version = await deps.db.transaction(async (tx) => {
    // The user's version first, then the incident, as a push takes them: the other order could deadlock with it.
    const version = await nextUserVersion(tx, userId);
    // The try counted before the check is given back.
    const failures = emergencyIncidents.smsPinFailures;
    await tx
      .update(emergencyIncidents)
      .set({ smsPinFailures: sql`${failures} - 1` })
      .where(and(eq(emergencyIncidents.id, contact.incident_id), gt(failures, 0)));
    // Incident events are not last-writer-wins: the mutator never reads the HLC.
    await incidentEvent(
      { tx, userId, version, hlc: '', now },
      {
        id: newId(),
        incidentId: contact.incident_id,
        type: duress ? 'cancelled' : 'resolved',
        at: now.getTime(),
        contactIds: [contact.contact_id],
        ...(duress && { duress: true }),
      },
    );
    return version;
  });
  deps.pokes.publish(userId, version);
  deps.onChange?.(contact.incident_id);
}
