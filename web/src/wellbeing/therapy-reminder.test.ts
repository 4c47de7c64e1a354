import { describe, expect, it } from 'vitest';
import { appointmentToRemind, reminderKey } from './therapy-reminder.ts';

const HOUR = 3_600_000;
const NOW = 1_000 * HOUR;
const session = (id: string, inHours: number | null) => ({
  id,
  providerName: 'Dr Okafor',
  nextSessionAt: inHours === null ? null : NOW + inHours * HOUR,
});

describe('therapy appointment reminders', () => {
  it('[WB48] reminds of the soonest appointment ahead within 24 hours, never one past or further off', () => {
    const sessions = [session('a', 30), session('b', 5), session('c', -1), session('d', null), session('e', 2)];
    expect(appointmentToRemind(sessions, NOW)?.id).toBe('e');
    expect(appointmentToRemind([session('a', 30), session('c', -1)], NOW)).toBeNull();
    expect(appointmentToRemind([session('x', 24)], NOW)?.id).toBe('x');
  });

  it('[WB48] a dismissed reminder stays dismissed until the appointment moves', () => {
    const soon = session('e', 2);
    const dismissed = new Set([reminderKey({ id: 'e', nextSessionAt: NOW + 2 * HOUR })]);
    expect(appointmentToRemind([soon], NOW, dismissed)).toBeNull();
    expect(appointmentToRemind([session('e', 3)], NOW, dismissed)?.id).toBe('e');
  });
});
