import { isOpenIncident } from '@vitalwatch/schema/protocol/incident-status';
import type { IncidentRow } from '@vitalwatch/schema/protocol/rows';
import type { LocalDb } from '../sync/local-db.ts';

/** Incidents not yet resolved or cancelled (SPEC SO6: `isOpenIncident`), newest first. */
export async function openIncidents(db: LocalDb): Promise<IncidentRow[]> {
  const rows = await db.emergency_incidents.orderBy('triggeredAt').reverse().toArray();
  return rows.filter(isOpenIncident);
}
