/**
 * Which channels this server can alert through, as its `/config.json` says (SPEC SO42): server SMS (an SMS
 * provider is configured), Web Push (VAPID keys) and realtime (alerts to a contact's open app). Settings, onboarding
 * and the SOS words promise only these. The last answer is kept in localStorage, so offline the app still knows
 * what the server could do when it last asked; before any answer, nothing is promised (`null`).
 */
import * as z from 'zod/mini';

export const ServerChannels = z.object({ sms: z.boolean(), webPush: z.boolean(), realtime: z.boolean() });
export type ServerChannels = z.infer<typeof ServerChannels>;

const ConfigChannels = z.looseObject({ channels: z.optional(ServerChannels) });
const KEY = 'vitalwatch.channels.v1';

/** The channels from the last answer, or null if the server never said (or is too old to say). */
export function cachedServerChannels(storage: Storage = localStorage): ServerChannels | null {
  try {
    const parsed = ServerChannels.safeParse(JSON.parse(storage.getItem(KEY) ?? 'null'));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Asks the server; on any failure, the last known answer. */
export async function fetchServerChannels(
  storage: Storage = localStorage,
  fetcher: typeof fetch = fetch,
): Promise<ServerChannels | null> {
  try {
    const response = await fetcher('/config.json', { cache: 'no-store' });
    if (!response.ok) return cachedServerChannels(storage);
    const parsed = ConfigChannels.safeParse(await response.json());
    const channels = parsed.success ? (parsed.data.channels ?? null) : null;
    if (channels === null) return cachedServerChannels(storage);
    storage.setItem(KEY, JSON.stringify(channels));
    return channels;
  } catch {
    return cachedServerChannels(storage);
  }
}
