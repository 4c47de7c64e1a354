import { describe, expect, it } from 'vitest';
import { isGsm7, SOS_SMS_MAX_CHARS } from './gsm7.ts';
import { buildTestSms } from './test-sms.ts';

describe('the words of "Test my SOS"', () => {
  it('[SO44] say TEST first, that nobody needs help, and ask for a reply, in one GSM-7 segment for every name', () => {
    const names = [
      '',
      'Ama',
      'Maria Fernanda Gonzalez de la Cruz Hernandez',
      'Zoë Ørsted-Łukasiewicz',
      '王小明',
      'x'.repeat(100),
      'A '.repeat(50),
    ];
    for (const name of names) {
      const text = buildTestSms(name);
      expect(text, name).toMatch(/^TEST from VitalWatch: /);
      expect(text, name).toContain('Nobody needs help. Reply OK');
      expect(isGsm7(text), name).toBe(true);
      expect(text.length, name).toBeLessThanOrEqual(SOS_SMS_MAX_CHARS);
    }
    expect(buildTestSms('Ama')).toBe(
      'TEST from VitalWatch: Ama is testing their SOS alerts. Nobody needs help. Reply OK so they know texts reach you.',
    );
    // A name with no GSM-7 letters is left out rather than sent as UCS-2.
    expect(buildTestSms('王小明')).toMatch(/^TEST from VitalWatch: someone who listed you/);
  });
});
