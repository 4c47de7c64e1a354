/**
 * Rows as pull delivers them and as the device stores them: JSON, camelCase, times as epoch milliseconds.
 * Every row carries the per-user `version` at which it last changed. Server-only columns (e.g. an incident's
 * silent escalation after a duress PIN) are never part of these shapes.
 */
import * as z from 'zod/mini';
import { ALERT_CHANNELS } from './alert-status.ts';
import { DistressScale, E164, EpochMs, Hlc, UuidV7 } from './common.ts';
import { INCIDENT_EVENT_TYPES } from './mutators.ts';
import { INCIDENT_STATUSES } from './incident-status.ts';
import { SCREENER_IDS } from '../screeners/screener-shape.ts';

const Version = z.int().check(z.minimum(0));
const MoodScale = z.int().check(z.minimum(1), z.maximum(5));
const OptionalLocation = {
  latitude: z.nullable(z.number()),
  longitude: z.nullable(z.number()),
  accuracyMeters: z.nullable(z.number()),
  locatedAt: z.nullable(EpochMs),
};

export const SettingsRow = z.strictObject({
  /** The user's id: one settings row per user. */
  id: z.uuid(),
  version: Version,
  sosCountdownSeconds: z.int(),
  cancelPinSet: z.boolean(),
  duressPinSet: z.boolean(),
  autoRecordAudioSeconds: z.int(),
  shareMediaWithContacts: z.boolean(),
  shareLocationWithContacts: z.boolean(),
  escalateTier2AfterSeconds: z.int(),
  escalateAllAfterSeconds: z.int(),
  updatedAt: EpochMs,
  /**
   * Protocol 6 (issue #14, SPEC SO40): the rest of the SOS settings, one record for all the user's devices.
   * `name` is the profile's display name ('' = none); `emergencyNumber` null = the region's default; `region`
   * null = the phone's own. Pull sends them only to protocol-6 clients; absent on rows stored before.
   */
  name: z.optional(z.string()),
  emergencyNumber: z.optional(z.nullable(z.string())),
  region: z.optional(z.nullable(z.string())),
  silentSos: z.optional(z.boolean()),
});

export const ContactRow = z.strictObject({
  id: UuidV7,
  version: Version,
  name: z.string(),
  phoneE164: E164,
  relationship: z.nullable(z.string()),
  tier: z.int().check(z.minimum(1), z.maximum(3)),
  notifyBySms: z.boolean(),
  shareLocation: z.boolean(),
  notes: z.nullable(z.string()),
  hlc: z.nullable(Hlc),
  updatedAt: EpochMs,
  /**
   * Protocol 3: the contact linked their own VitalWatch account from an alert link, so they get the alerts in the
   * app too (Web Push, realtime). Which account is never said. Pull always sends it to a protocol-3 client; it is
   * absent on rows a device stored before (from a protocol-2 pull) or created itself and has not pulled back.
   */
  appLinked: z.optional(z.boolean()),
});

export const IncidentRow = z.strictObject({
  id: UuidV7,
  version: Version,
  code: z.string(),
  trigger: z.enum(['panic_button', 'fall_detected', 'heart_rate_alert', 'check_in_missed']),
  status: z.enum(INCIDENT_STATUSES),
  triggeredAt: EpochMs,
  receivedAt: z.nullable(EpochMs),
  acknowledgedAt: z.nullable(EpochMs),
  resolvedAt: z.nullable(EpochMs),
  ...OptionalLocation,
});

export const IncidentEventRow = z.strictObject({
  id: UuidV7,
  version: Version,
  incidentId: UuidV7,
  type: z.enum(INCIDENT_EVENT_TYPES),
  at: EpochMs,
  /** `applied`: changed the incident; `absorbed`: arrived after a terminal state; `illegal`: refused transition. */
  outcome: z.enum(['applied', 'absorbed', 'illegal']),
  ...OptionalLocation,
});

export const AlertLogRow = z.strictObject({
  id: UuidV7,
  version: Version,
  incidentId: UuidV7,
  contactId: z.nullable(UuidV7),
  channel: z.enum(ALERT_CHANNELS),
  messageKind: z.enum(['alert', 'escalation', 'location_update', 'all_clear']),
  status: z.string(),
  statusHistory: z.array(z.strictObject({ status: z.string(), at: z.string() })),
  errorCode: z.nullable(z.string()),
  response: z.nullable(z.enum(['acknowledged', 'on_my_way', 'cannot_help'])),
  respondedAt: z.nullable(EpochMs),
  updatedAt: EpochMs,
});

export const MoodRow = z.strictObject({
  id: UuidV7,
  version: Version,
  recordedAt: EpochMs,
  mood: MoodScale,
  energy: z.nullable(MoodScale),
  anxiety: z.nullable(MoodScale),
  sleepHours: z.nullable(z.number()),
  emotions: z.array(z.string()),
  note: z.nullable(z.string()),
  hlc: z.nullable(Hlc),
  updatedAt: EpochMs,
});

export const CopingRow = z.strictObject({
  id: UuidV7,
  version: Version,
  tool: z.string(),
  startedAt: EpochMs,
  durationSeconds: z.nullable(z.int()),
  completed: z.boolean(),
  moodBefore: z.nullable(MoodScale),
  moodAfter: z.nullable(MoodScale),
  helpfulness: z.nullable(MoodScale),
  /**
   * Protocol 7 (issue #16, SPEC WB21): distress before and after, 0 … 10. Pull sends them only to protocol-7
   * clients; absent on rows stored before.
   */
  distressBefore: z.optional(z.nullable(DistressScale)),
  distressAfter: z.optional(z.nullable(DistressScale)),
});

/** A completed check-in questionnaire (PHQ-9 or GAD-7, SPEC WB40): its answers and the total they add up to. */
export const ScreenerResultRow = z.strictObject({
  id: UuidV7,
  version: Version,
  screener: z.enum(SCREENER_IDS),
  answers: z.array(z.int()),
  total: z.int(),
  completedAt: EpochMs,
});

export type SettingsRow = z.infer<typeof SettingsRow>;
export type ContactRow = z.infer<typeof ContactRow>;
export type IncidentRow = z.infer<typeof IncidentRow>;
export type IncidentEventRow = z.infer<typeof IncidentEventRow>;
export type AlertLogRow = z.infer<typeof AlertLogRow>;
export type MoodRow = z.infer<typeof MoodRow>;
export type CopingRow = z.infer<typeof CopingRow>;
export type ScreenerResultRow = z.infer<typeof ScreenerResultRow>;
