import { expect, it } from 'vitest';
import { INCIDENT_EVENT_TYPES } from './mutators.ts';
import { stepIncident } from './incident-machine.ts';
import type { IncidentStatus } from './incident-status.ts';

const STATUSES: IncidentStatus[] = ['active', 'acknowledged', 'resolved', 'cancelled'];

it('[CF3] decides every state × event pair: terminal states absorb everything, open states never absorb', () => {
  for (const status of STATUSES) {
    for (const event of INCIDENT_EVENT_TYPES) {
      const step = stepIncident(status, event);
      const terminal = status === 'resolved' || status === 'cancelled';
      expect(step.outcome === 'absorbed', `${status} × ${event}`).toBe(terminal);
    }
  }
  expect(stepIncident('active', 'acknowledged')).toEqual({ outcome: 'applied', to: 'acknowledged' });
  expect(stepIncident('acknowledged', 'resolved')).toEqual({ outcome: 'applied', to: 'resolved' });
  expect(stepIncident('acknowledged', 'cancelled')).toEqual({ outcome: 'applied', to: 'cancelled' });
  expect(stepIncident('acknowledged', 'acknowledged')).toMatchObject({ outcome: 'illegal' });
});
