/**
 * One call of the server's account API (`/api/v1/…`) as the signed-in account, for screens that act online only
 * (linking to a contact's alerts, answering a contact's request). Either the parsed answer, or a problem worded for
 * the person: offline, signed out, or the server's own `{ message }` (every server error carries one). Nothing here
 * queues or retries: these are answers the person must see land.
 */
import * as z from 'zod/mini';
import type { SessionTokens } from '../sync/auth-session.ts';

export type ApiProblem = {
  text: string;
  /** The sign-in ended: the screen offers the account screen instead of "Try again". */
  signIn: boolean;
  /** The server could not be reached: the screen may try again when the connection is back. */
  offline: boolean;
};

export type ApiOutcome<T> = { ok: true; value: T } | { ok: false; problem: ApiProblem };

export const OFFLINE_PROBLEM: ApiProblem = {
  text: 'You are offline. This needs a connection; nothing was changed.',
  signIn: false,
  offline: true,
};

export const SIGNED_OUT_PROBLEM: ApiProblem = {
  text: 'Your sign-in has ended. Sign in again under Account and sync.',
  signIn: true,
  offline: false,
};

function serverMessage(body: unknown, status: number): string {
  const message =
    typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
      ? body.message
      : null;
  return message ?? `The server did not accept this (HTTP ${status}). Try again later.`;
}

export async function callAccountApi<S extends z.ZodMiniType>(
  tokens: SessionTokens,
  request: { method: 'GET' | 'POST' | 'DELETE'; path: string; body?: unknown },
  answer: S,
): Promise<ApiOutcome<z.infer<S>>> {
  const fail = (problem: ApiProblem) => ({ ok: false, problem }) as const;
  if (!navigator.onLine) return fail(OFFLINE_PROBLEM);
  const accessToken = await tokens.getAccessToken().catch(() => null);
  if (accessToken === null) return fail(SIGNED_OUT_PROBLEM);
  let response: Response;
  try {
    response = await fetch(request.path, {
      method: request.method,
      headers: {
        authorization: `Bearer ${accessToken}`,
        ...(request.body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
      cache: 'no-store',
    });
  } catch {
    return fail(
      navigator.onLine
        ? { text: 'The server could not be reached. Try again.', signIn: false, offline: true }
        : OFFLINE_PROBLEM,
    );
  }
  const body: unknown = await response.json().catch(() => null);
  if (response.status === 401) return fail(SIGNED_OUT_PROBLEM);
  if (!response.ok)
    return fail({ text: serverMessage(body, response.status), signIn: false, offline: false });
  const parsed = z.safeParse(answer, body);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : fail({
        text: 'The server answered in a way this app does not understand.',
        signIn: false,
        offline: false,
      });
}
