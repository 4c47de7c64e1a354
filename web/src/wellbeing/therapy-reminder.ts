/**
 * When the app reminds the user of their next therapy appointment (SPEC WB48): the soonest `nextSessionAt` still
 * ahead, within the next 24 hours, that the user has not dismissed.
 */

export const REMIND_WITHIN_MS = 24 * 3_600_000;

export type Appointment = { readonly id: string; readonly nextSessionAt: number | null; readonly providerName: string | null };

export function appointmentToRemind<A extends Appointment>(
  sessions: readonly A[],
  now: number,
  dismissed: ReadonlySet<string> = new Set(),
): (A & { nextSessionAt: number }) | null {
  let soonest: (A & { nextSessionAt: number }) | null = null;
  for (const session of sessions) {
    const at = session.nextSessionAt;
    if (at === null || at <= now || at - now > REMIND_WITHIN_MS || dismissed.has(`${session.id}@${at}`)) continue;
    if (soonest === null || at < soonest.nextSessionAt) soonest = { ...session, nextSessionAt: at };
  }
  return soonest;
}

/** The key a dismissal is kept under: a moved appointment is a new reminder. */
export function reminderKey(appointment: { id: string; nextSessionAt: number }): string {
  return `${appointment.id}@${appointment.nextSessionAt}`;
}
