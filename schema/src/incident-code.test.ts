import { describe, expect, it } from 'vitest';
import { INCIDENT_CODE_ALPHABET, newIncidentCode } from './incident-code.ts';

describe('incident codes', () => {
  it('[CL19] are 4 characters from one alphabet without look-alikes, drawn uniformly (bytes ≥ 250 rejected)', () => {
    for (const lookAlike of '0O1IL5S2Z8B') expect(INCIDENT_CODE_ALPHABET).not.toContain(lookAlike);
    const bytes = [255, 250, 0, 1, 2, 3, 4, 5];
    expect(newIncidentCode(() => Uint8Array.from(bytes))).toBe('ACDE');
    for (let i = 0; i < 200; i++) expect(newIncidentCode()).toMatch(/^[ACDEFGHJKMNPQRTUVWXY34679]{4}$/);
  });
});
