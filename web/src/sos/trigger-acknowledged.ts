import type { LocalDb } from '../sync/local-db.ts';

/**
 * The server acknowledged the incident's trigger: its outbox entry is gone. Later entries (location updates, the
 * SMS answers) do not count: the incident is at the server even while they wait. The only source of "received
 * by the server" on screen, of the SOS flow's "the server has it" (contact-reach.ts) and of the upload order.
 * It needs only the local database, so the media code can ask it without importing the SOS flow.
 */
export async function triggerAcknowledged(db: LocalDb, incidentId: string): Promise<boolean> {
  const pending = await db.outbox
    .where('refs')
    .equals(`emergency_incidents/${incidentId}`)
    .filter((entry) => entry.name === 'incident.trigger@1')
    .count();
  return pending === 0;
}
