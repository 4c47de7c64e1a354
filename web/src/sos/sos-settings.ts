/**
 * The SOS settings the flow and its screen read, in one place (SPEC SO13): the synced settings record (countdown,
 * emergency number, name, silent SOS, escalation times; device/prefs.ts `settings()`, SO40) and this phone's own
 * prefs (PIN hashes, last fix), both through `Prefs`.
 */
import type { Prefs } from '../device/prefs.ts';

export interface SosSettings {
  countdownSeconds: number;
  emergencyNumber: string;
  name: string;
  cancelPin: Prefs['cancelPin'];
  duressPin: Prefs['duressPin'];
  lastFix: Prefs['lastFix'];
  /** Every SOS is silent: no alarm sound, no vibration, a dim screen (issue #14 item 8). */
  silent: boolean;
  escalation: { tier2AfterMs: number; allAfterMs: number };
}

export function readSosSettings(prefs: Prefs): SosSettings {
  return {
    countdownSeconds: prefs.countdownSeconds,
    emergencyNumber: prefs.emergencyNumber,
    name: prefs.name,
    cancelPin: prefs.cancelPin,
    duressPin: prefs.duressPin,
    lastFix: prefs.lastFix,
    silent: prefs.silentSos,
    escalation: {
      tier2AfterMs: prefs.escalateTier2AfterSeconds * 1000,
      allAfterMs: prefs.escalateAllAfterSeconds * 1000,
    },
  };
}

/** A PIN field is shown when either PIN is set: with only a duress PIN it must be there, or it could never be entered. */
export function needsPin(settings: Pick<SosSettings, 'cancelPin' | 'duressPin'>): boolean {
  return settings.cancelPin !== null || settings.duressPin !== null;
}
