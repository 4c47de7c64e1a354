import { describe, expect, it } from 'vitest';
import { incidentStatus } from '../db/safety.ts';
import { INCIDENT_STATUSES, isOpenIncident, OPEN_INCIDENT_STATUSES } from './incident-status.ts';
import { IncidentRow } from './rows.ts';

describe('open incidents', () => {
  it('[SO6] active and acknowledged are open; resolved and cancelled are not', () => {
    expect(INCIDENT_STATUSES.filter((status) => isOpenIncident({ status }))).toEqual([
      'active',
      'acknowledged',
    ]);
    expect([...OPEN_INCIDENT_STATUSES]).toEqual(['active', 'acknowledged']);
  });

  it('[SO6] the synced row shape and the database enum take their statuses from the same list', () => {
    expect(IncidentRow.shape.status.options).toEqual([...INCIDENT_STATUSES]);
    expect(incidentStatus.enumValues).toEqual([...INCIDENT_STATUSES]);
  });
});
