/**
 * An incident's statuses, and the one predicate that decides whether an incident is still open (SPEC SO6): the
 * device's screens, its upload order and the server's pages and dispatcher all ask this, so "open" cannot mean
 * two things. `acknowledged` is open: a contact answered, but the user has not said they are safe.
 */
export const INCIDENT_STATUSES = ['active', 'acknowledged', 'resolved', 'cancelled'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** The statuses of an incident that is not over yet (for SQL: `status in (…)`). */
export const OPEN_INCIDENT_STATUSES = ['active', 'acknowledged'] as const satisfies readonly IncidentStatus[];

export function isOpenIncident(incident: { readonly status: IncidentStatus }): boolean {
  return incident.status === 'active' || incident.status === 'acknowledged';
}
