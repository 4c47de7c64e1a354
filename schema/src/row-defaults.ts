/**
 * What a synced row holds where nobody said otherwise: one home for the database's column defaults
 * (schema/src/db), the server's inserts and the device's own copy of a row it created (web/src/sync/apply-mutation.ts),
 * which must agree exactly for a device to keep its row without pulling it back (SPEC PU12).
 */

/** A new emergency contact: alerted at once (tier 1), by SMS, with the user's location. */
export const CONTACT_DEFAULTS = {
  relationship: null,
  tier: 1,
  notifyBySms: true,
  shareLocation: true,
  notes: null,
} as const;

/** A user's settings before they change any (the row provisioning creates). */
export const SETTINGS_DEFAULTS = {
  /** Seconds between pressing SOS and alerting; 0 sends at once. */
  sosCountdownSeconds: 5,
  autoRecordAudioSeconds: 0,
  shareMediaWithContacts: false,
  shareLocationWithContacts: true,
  /** Tier 2 is alerted 2 minutes after the SOS without an acknowledgement, everyone after 5. */
  escalateTier2AfterSeconds: 120,
  escalateAllAfterSeconds: 300,
} as const;
