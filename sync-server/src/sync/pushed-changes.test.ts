import { describe, expect, it } from 'vitest';
import { NO_CHANGES, pushedChanges } from './pushed-changes.ts';

const INCIDENT = '0190a000-0000-7000-8000-00000000000a';
const OTHER = '0190a000-0000-7000-8000-00000000000b';

describe('what a push hands alert delivery', () => {
  it('[DB6] incident mutations hand over their incident, once; contacts and settings the plan facts; the rest nothing', () => {
    expect(
      pushedChanges([
        {
          name: 'incident.trigger@1',
          args: { id: INCIDENT, code: 'A7F3', trigger: 'panic_button', triggeredAt: 1 },
        },
        { name: 'incident.event@1', args: { id: OTHER, incidentId: INCIDENT, type: 'location', at: 2 } },
      ]),
    ).toEqual({ incidentIds: [INCIDENT], planFacts: false });
    expect(
      pushedChanges([
        { name: 'mood.upsert@1', args: { id: OTHER, recordedAt: 1, fields: { mood: 3 } } },
        { name: 'settings.update@1', args: { fields: {} } },
      ]),
    ).toEqual({ incidentIds: [], planFacts: true });
    expect(pushedChanges([{ name: 'mood.delete@1', args: { id: OTHER } }])).toEqual(NO_CHANGES);
  });
});
