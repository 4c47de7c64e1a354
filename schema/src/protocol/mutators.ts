/**
 * Named, versioned mutators: what a device may ask the server to do. Each is applied locally first (web/),
 * queued in the outbox with its lane, and applied again on the server (sync-server/). The server accepts the
 * current version of each and, for one release after a bump, the previous one.
 */
import * as z from 'zod/mini';
import { DistressScale, E164, EpochMs, Hlc, Location, UuidV7 } from './common.ts';
import type { Lane } from './lane.ts';
import { PinVerifier } from './pin-verifier.ts';
import { EMERGENCY_NUMBER_PATTERN } from '../phone-patterns.ts';
import { MAX_NAME_LENGTH, REGION_PATTERN } from '../settings-patterns.ts';
import { MAX_UTC_OFFSET_MINUTES, MIN_UTC_OFFSET_MINUTES } from '../sms/sms-time.ts';
import { lastSampleTime, MAX_SAMPLE_TIME_MS } from './sample-ids.ts';
import { SCREENER_ANSWER_MAX, SCREENER_ITEM_COUNT } from '../screeners/screener-shape.ts';

/** The most samples one `samples.append` entry carries. */
export const MAX_SAMPLES_PER_ENTRY = 10_000;

const MoodScale = z.int().check(z.minimum(1), z.maximum(5));

export const IncidentTriggerArgs = z.strictObject({
  id: UuidV7,
  code: z.string().check(z.regex(/^[A-Z0-9]{4,8}$/)),
  trigger: z.enum(['panic_button', 'fall_detected', 'heart_rate_alert', 'check_in_missed']),
  triggeredAt: EpochMs,
  location: z.optional(Location),
  /**
   * The phone's UTC offset at `triggeredAt` in minutes east (UTC+3 → 180), so the server's SMS shows the local time
   * as the phone's own text does (SPEC SO4). Protocol 5; absent from older apps, whose alerts show UTC.
   */
  utcOffsetMinutes: z.optional(
    z.int().check(z.minimum(MIN_UTC_OFFSET_MINUTES), z.maximum(MAX_UTC_OFFSET_MINUTES)),
  ),
});

export const INCIDENT_EVENT_TYPES = [
  'location',
  'acknowledged',
  'resolved',
  'cancelled',
  'sms_composer_opened',
  'sms_user_reported',
] as const;

export const IncidentEventArgs = z.strictObject({
  id: UuidV7,
  incidentId: UuidV7,
  type: z.enum(INCIDENT_EVENT_TYPES),
  at: EpochMs,
  location: z.optional(Location),
  /** `sms_composer_opened`: the contacts the composer was opened for. */
  contactIds: z.optional(z.array(UuidV7).check(z.maxLength(50))),
  /** `sms_user_reported`: the user's answer to "Did the message send?". */
  sent: z.optional(z.boolean()),
  /** `cancelled` with the duress PIN: looks like a cancel, escalates silently. */
  duress: z.optional(z.boolean()),
});

export const MoodUpsertArgs = z.strictObject({
  id: UuidV7,
  recordedAt: EpochMs,
  /** Only the fields this edit changed; each wins or loses on its own (field-level last-writer-wins by HLC). */
  fields: z.strictObject({
    mood: z.optional(MoodScale),
    energy: z.optional(z.nullable(MoodScale)),
    anxiety: z.optional(z.nullable(MoodScale)),
    sleepHours: z.optional(z.nullable(z.number().check(z.minimum(0), z.maximum(24)))),
    emotions: z.optional(z.array(z.string().check(z.maxLength(40))).check(z.maxLength(20))),
    note: z.optional(z.nullable(z.string().check(z.maxLength(10_000)))),
  }),
});

export const MoodDeleteArgs = z.strictObject({ id: UuidV7 });

export const ContactUpsertArgs = z.strictObject({
  id: UuidV7,
  fields: z.strictObject({
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    relationship: z.optional(z.nullable(z.string().check(z.maxLength(100)))),
    tier: z.optional(z.int().check(z.minimum(1), z.maximum(3))),
    notifyBySms: z.optional(z.boolean()),
    shareLocation: z.optional(z.boolean()),
    notes: z.optional(z.nullable(z.string().check(z.maxLength(2_000)))),
  }),
  /** A new contact's number, or a change of number: compare-and-swap against `expectedPhoneE164`. */
  phoneE164: z.optional(E164),
  /** The number this device last saw; null for a new contact. A mismatch is a conflict, never an overwrite. */
  expectedPhoneE164: z.optional(z.nullable(E164)),
});

export const ContactDeleteArgs = z.strictObject({ id: UuidV7, expectedPhoneE164: E164 });

export const SettingsUpdateArgs = z.strictObject({
  fields: z.strictObject({
    sosCountdownSeconds: z.optional(z.int().check(z.minimum(0), z.maximum(10))),
    autoRecordAudioSeconds: z.optional(z.int().check(z.minimum(0), z.maximum(600))),
    shareMediaWithContacts: z.optional(z.boolean()),
    shareLocationWithContacts: z.optional(z.boolean()),
    escalateTier2AfterSeconds: z.optional(z.int().check(z.minimum(30), z.maximum(3_600))),
    escalateAllAfterSeconds: z.optional(z.int().check(z.minimum(30), z.maximum(7_200))),
    /**
     * Since protocol 2: the device's hash of its cancel / duress PIN, so the server can check "SAFE <code> <PIN>"
     * by SMS; null removes it. Stored server-side only: pull says `cancelPinSet` / `duressPinSet`, never the hash.
     */
    cancelPin: z.optional(z.nullable(PinVerifier)),
    duressPin: z.optional(z.nullable(PinVerifier)),
    /**
     * Since protocol 6 (issue #14, SPEC SO40): the user's name as alerts say it (the server keeps it as the
     * profile's `display_name`, so its SMS and the alert page carry it); null or empty removes it.
     */
    name: z.optional(z.nullable(z.string().check(z.maxLength(MAX_NAME_LENGTH)))),
    /** Protocol 6: the number the SOS screen offers to call; null = the region's default. */
    emergencyNumber: z.optional(z.nullable(z.string().check(z.regex(new RegExp(EMERGENCY_NUMBER_PATTERN))))),
    /** Protocol 6: ISO 3166-1 alpha-2 (`KE`); null = the phone's own region. */
    region: z.optional(z.nullable(z.string().check(z.regex(new RegExp(REGION_PATTERN))))),
    /** Protocol 6: SOS without alarm sound or vibration, on a dimmed screen. */
    silentSos: z.optional(z.boolean()),
  }),
});

export const CopingLogArgs = z.strictObject({
  id: UuidV7,
  tool: z.string().check(z.regex(/^[a-z0-9_]{1,64}$/)),
  startedAt: EpochMs,
  durationSeconds: z.optional(z.int().check(z.minimum(0), z.maximum(86_400))),
  completed: z.boolean(),
  moodBefore: z.optional(MoodScale),
  moodAfter: z.optional(MoodScale),
  helpfulness: z.optional(MoodScale),
  /** Protocol 7 (issue #16, SPEC WB21): distress the user rated before and after, 0 (none) … 10 (the worst). */
  distressBefore: z.optional(DistressScale),
  distressAfter: z.optional(DistressScale),
});

const ScreenerAnswer = z.int().check(z.minimum(0), z.maximum(SCREENER_ANSWER_MAX));

/**
 * A completed check-in questionnaire (protocol 7, SPEC WB40): every answer, 0–3, as many as the questionnaire has
 * items. The total is not sent: device and server both add it up (the registry's builder).
 */
export const ScreenerRecordArgs = z.union([
  z.strictObject({
    id: UuidV7,
    screener: z.literal('phq9'),
    answers: z.array(ScreenerAnswer).check(z.length(SCREENER_ITEM_COUNT.phq9)),
    completedAt: EpochMs,
  }),
  z.strictObject({
    id: UuidV7,
    screener: z.literal('gad7'),
    answers: z.array(ScreenerAnswer).check(z.length(SCREENER_ITEM_COUNT.gad7)),
    completedAt: EpochMs,
  }),
]);

/**
 * Sensor samples of one kind, columnar, one id per sample: sample i was taken at t0 + dt[0] + … + dt[i] and measured
 * v[i]. What apps before protocol 4 send; devices now send `samples.append@2` (one id per batch).
 */
export const SamplesAppendArgs = z
  .strictObject({
    kind: z.int().check(z.minimum(1), z.maximum(7)),
    t0: EpochMs,
    ids: z.array(UuidV7).check(z.minLength(1), z.maxLength(MAX_SAMPLES_PER_ENTRY)),
    dt: z.array(z.int().check(z.minimum(0))),
    v: z.array(z.number()),
  })
  .check(
    z.refine((s) => s.dt.length === s.ids.length && s.v.length === s.ids.length, {
      message: 'ids, dt and v must have the same length',
    }),
  );

/**
 * Since protocol 4, what devices send: sensor samples of one kind, columnar, under ONE id for the batch. Sample i
 * was taken at t0 + dt[0] + … + dt[i], measured v[i], and its id is derived from `id`, i and its time
 * (`sampleIds` in sample-ids.ts, SPEC CF13), so every time must fit a UUIDv7's 48-bit timestamp.
 */
export const SamplesAppendArgsV2 = z
  .strictObject({
    kind: z.int().check(z.minimum(1), z.maximum(7)),
    t0: EpochMs,
    id: UuidV7,
    dt: z.array(z.int().check(z.minimum(0))).check(z.minLength(1), z.maxLength(MAX_SAMPLES_PER_ENTRY)),
    v: z.array(z.number()),
  })
  .check(
    z.refine((s) => s.v.length === s.dt.length, { message: 'dt and v must have the same length' }),
    z.refine((s) => lastSampleTime(s.t0, s.dt) <= MAX_SAMPLE_TIME_MS, {
      message: 'a sample time is past the year 10889 (t0 + the dt steps); check the device clock',
    }),
  );

/** Every mutator by `name@version`, with its lane and argument schema. */
export const MUTATORS = {
  'incident.trigger@1': { lane: 'critical', args: IncidentTriggerArgs },
  'incident.event@1': { lane: 'critical', args: IncidentEventArgs },
  'mood.upsert@1': { lane: 'user', args: MoodUpsertArgs },
  'mood.delete@1': { lane: 'user', args: MoodDeleteArgs },
  'contact.upsert@1': { lane: 'user', args: ContactUpsertArgs },
  'contact.delete@1': { lane: 'user', args: ContactDeleteArgs },
  'settings.update@1': { lane: 'user', args: SettingsUpdateArgs },
  'coping.log@1': { lane: 'user', args: CopingLogArgs },
  'screener.record@1': { lane: 'user', args: ScreenerRecordArgs },
  // Still accepted: pending entries written by older apps.
  'samples.append@1': { lane: 'bulk', args: SamplesAppendArgs },
  'samples.append@2': { lane: 'bulk', args: SamplesAppendArgsV2 },
} as const satisfies Record<string, { lane: Lane; args: z.ZodMiniType }>;

export type MutatorName = keyof typeof MUTATORS;
export type MutatorArgs<N extends MutatorName> = z.infer<(typeof MUTATORS)[N]['args']>;
export const MUTATOR_NAMES = Object.keys(MUTATORS) as MutatorName[];

export function isMutatorName(name: string): name is MutatorName {
  return Object.hasOwn(MUTATORS, name);
}

/** Ties a mutation to the HLC of the device's edit (mood and contact fields use it for last-writer-wins). */
export const MutationHlc = Hlc;
