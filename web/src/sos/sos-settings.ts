/**
 * The SOS settings the flow and its screen read, in one place (SPEC SO13). Today they come from two homes: the
 * device's prefs (countdown, PINs, emergency number, silent SOS, last fix) and the synced `user_settings` row
 * (escalation times, when this device has pulled it). Issue #14 item 7 moves them into one synced record; only
 * this file then changes.
 */
import type { SettingsRow } from '@vitalwatch/schema/protocol/rows';
import type { Prefs } from '../device/prefs.ts';
import { SETTINGS_DEFAULTS } from '@vitalwatch/schema/row-defaults';

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

type Escalation = Pick<SettingsRow, 'escalateTier2AfterSeconds' | 'escalateAllAfterSeconds'>;

export function readSosSettings(prefs: Prefs, synced: Escalation | undefined): SosSettings {
  return {
    countdownSeconds: prefs.countdownSeconds,
    emergencyNumber: prefs.emergencyNumber,
    name: prefs.name,
    cancelPin: prefs.cancelPin,
    duressPin: prefs.duressPin,
    lastFix: prefs.lastFix,
    silent: prefs.silentSos,
    escalation: {
      tier2AfterMs: (synced ?? SETTINGS_DEFAULTS).escalateTier2AfterSeconds * 1000,
      allAfterMs: (synced ?? SETTINGS_DEFAULTS).escalateAllAfterSeconds * 1000,
    },
  };
}

/** A PIN field is shown when either PIN is set: with only a duress PIN it must be there, or it could never be entered. */
export function needsPin(settings: Pick<SosSettings, 'cancelPin' | 'duressPin'>): boolean {
  return settings.cancelPin !== null || settings.duressPin !== null;
}
