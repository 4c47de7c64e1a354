/**
 * An alert link (`#/link/<token>`) opened while signed out, kept for this tab (sessionStorage) until the account
 * screen has signed the user in and takes them back to it. Storage may be unavailable (some private modes): then
 * the user opens the link again, nothing else breaks.
 */
const KEY = 'vitalwatch:pending-app-link';

export function rememberAppLink(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    // No storage: the link in the alert still works after sign-in.
  }
}

/** The remembered token, forgotten as it is read; null when there is none. */
export function takeAppLink(): string | null {
  try {
    const token = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    return token;
  } catch {
    return null;
  }
}
