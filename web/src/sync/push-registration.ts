/**
 * What the page (device/push-subscription.ts) and the service worker (sw/src/push-renewal.ts) share to register a Web Push
 * subscription with the server: the server key's shape, the `POST /push/subscriptions` call and its outcome.
 * No window-only API here: the service worker imports it.
 */
import * as z from 'zod/mini';

export type SubscribeOutcome =
  | { ok: true }
  | {
      ok: false;
      reason: 'unsupported' | 'denied' | 'offline' | 'push_service' | 'server' | 'signed_out';
      message: string;
    };

export const VapidKeyResponse = z.object({ publicKey: z.string() });

export function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** Sends this browser's subscription to the server for the signed-in account. */
export async function register(
  origin: string,
  accessToken: string,
  subscription: PushSubscription,
  doFetch: Fetch = (input, init) => fetch(input, init),
) {
  const response = await doFetch(`${origin}/push/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify(subscription.toJSON()),
  });
  if (response.ok) return { ok: true } as const;
  if (response.status === 401)
    return { ok: false, reason: 'signed_out', message: 'Sign in again to turn on alerts.' } as const;
  return {
    ok: false,
    reason: 'server',
    message: `The server did not accept this device (HTTP ${response.status}). Try again later.`,
  } as const;
}
