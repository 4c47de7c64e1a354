/**
 * The account's copy of this device's PIN hashes (SPEC AL19), so the server can check a contact's SMS
 * "SAFE <code> <PIN>". They travel as fields of `settings.update@1`: queued in the outbox in the same local
 * transaction as any other change (signed out, they wait for the account the device signs in to) and ordered by
 * HLC on the server. `prefs.pinsQueuedIn` names the local database whose outbox took the current hashes; a device
 * whose PIN was set before the server could check it, or whose database was replaced, queues them once at start.
 */
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { PinVerifier } from '@vitalwatch/schema/protocol/pin-verifier';
import { readMeta, type LocalDb } from '../sync/local-db.ts';
import type { Mutators } from '../sync/mutators.ts';
import type { DevicePrefsStore, PinHash } from './prefs.ts';

type PinFields = Pick<MutatorArgs<'settings.update@1'>['fields'], 'cancelPin' | 'duressPin'>;

export interface PinDevice {
  readonly db: LocalDb;
  readonly mutators: Pick<Mutators, 'updateSettings'>;
}

/** Queues PIN hashes that were set, changed or removed (null) on this device. */
export async function queuePinChange(
  device: PinDevice,
  prefs: DevicePrefsStore,
  pins: PinFields,
): Promise<void> {
  await device.mutators.updateSettings({ fields: pins });
  const { clientId } = await readMeta(device.db, ['clientId']);
  prefs.update({ pinsQueuedIn: clientId ?? null });
}

/**
 * Once per local database: queues the PINs this device already has. A device without PINs sends nothing, so it
 * never removes the PINs another of the user's devices gave the account.
 */
export async function queueStoredPins(device: PinDevice, prefs: DevicePrefsStore): Promise<void> {
  const { cancelPin, duressPin, pinsQueuedIn } = prefs.prefs();
  const { clientId } = await readMeta(device.db, ['clientId']);
  if (clientId !== undefined && clientId === pinsQueuedIn) return;
  const pins: PinFields = {
    ...(isVerifier(cancelPin) && { cancelPin }),
    ...(isVerifier(duressPin) && { duressPin }),
  };
  if (pins.cancelPin === undefined && pins.duressPin === undefined) return;
  await queuePinChange(device, prefs, pins);
}

/** A hash an older build stored in another form stays on the device, where it still works. */
function isVerifier(hash: PinHash | null): hash is PinHash {
  return hash !== null && PinVerifier.safeParse(hash).success;
}
