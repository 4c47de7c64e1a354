import type { LocalDb } from '../sync/local-db.ts';
import type { IncidentRow } from '@vitalwatch/schema/protocol/rows';

/** Incidents not yet resolved or cancelled, newest first. */
export async function openIncidents(db: LocalDb): Promise<IncidentRow[]> {
  const rows = await db.emergency_incidents.orderBy('triggeredAt').reverse().toArray();
  return rows.filter((row) => row.status === 'active' || row.status === 'acknowledged');
}
