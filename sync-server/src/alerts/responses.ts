/**
 * A contact's answer to an alert, from the `/a/<token>` page or an "OK <code>" SMS reply (SPEC AL8): kept on the
 * contact's link and on their ledger rows (so the user's app shows who answered what), and "OK" or "I'm on my
 * way" acknowledges the incident through the state machine, which also stops escalation (AL2). A duress incident
 * records the answer but adds no event the device could see.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { alertLinks, alertLogs, emergencyIncidents, incidentEvents } from '@vitalwatch/schema/db/tables';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { stepIncident } from '@vitalwatch/schema/protocol/incident-machine';
import type { Db } from '../db/database.ts';
import { nextUserVersion } from '../db/user-version.ts';
import type { Pokes } from '../sync/poke-hub.ts';

export type ContactResponse = 'acknowledged' | 'on_my_way' | 'cannot_help';

export async function recordResponse(
  deps: { db: Db; pokes: Pokes; now: () => Date; onChange?: (incidentId: string) => void },
  answer: { userId: string; incidentId: string; contactId: string; response: ContactResponse },
): Promise<void> {
  const at = deps.now();
  const version = await deps.db.transaction(async (tx) => {
    const version = await nextUserVersion(tx, answer.userId as UserId);
    const helps = answer.response !== 'cannot_help';
    await tx
      .update(alertLinks)
      .set({
        // "OK" after "I'm on my way" says nothing new; keep the more useful answer.
        response:
          answer.response === 'acknowledged'
            ? sql`case when ${alertLinks.response} = 'on_my_way' then 'on_my_way'::alert_response else 'acknowledged'::alert_response end`
            : answer.response,
        respondedAt: at,
      })
      .where(and(eq(alertLinks.incidentId, answer.incidentId), eq(alertLinks.contactId, answer.contactId)));
    const [link] = await tx
      .select({ response: alertLinks.response })
      .from(alertLinks)
      .where(and(eq(alertLinks.incidentId, answer.incidentId), eq(alertLinks.contactId, answer.contactId)));
    await tx
      .update(alertLogs)
      .set({ response: link?.response ?? answer.response, respondedAt: at, version, updatedAt: at })
      .where(
        and(
          eq(alertLogs.incidentId, answer.incidentId),
          eq(alertLogs.contactId, answer.contactId),
          inArray(alertLogs.messageKind, ['alert', 'escalation']),
        ),
      );

    const [incident] = await tx
      .select({ status: emergencyIncidents.status, silent: emergencyIncidents.silentEscalation })
      .from(emergencyIncidents)
      .where(eq(emergencyIncidents.id, answer.incidentId))
      .for('update');
    if (helps && incident !== undefined && !incident.silent) {
      const step = stepIncident(incident.status, 'acknowledged');
      if (step.outcome === 'applied') {
        await tx.insert(incidentEvents).values({
          id: newId(),
          userId: answer.userId,
          incidentId: answer.incidentId,
          type: 'acknowledged',
          at,
          contactIds: [answer.contactId],
          outcome: 'applied',
          version,
          createdAt: at,
        });
        await tx
          .update(emergencyIncidents)
          .set({ status: step.to, acknowledgedAt: at, version, updatedAt: at })
          .where(eq(emergencyIncidents.id, answer.incidentId));
      }
    }
    return version;
  });
  deps.pokes.publish(answer.userId as UserId, version);
  deps.onChange?.(answer.incidentId);
}
