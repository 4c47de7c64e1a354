/**
 * Erasing this device's copy when its account is deleted (SPEC DR7, DR11): here on the device, or on another device,
 * which learns it from the server's `401 account_deleted` on its next sync (auth-session.ts). Every table of the
 * device database is emptied in one transaction (the synced rows, the outbox, the server copies, the session,
 * the account binding), and `accountDeletedAt` is written last, so the app can tell the person what happened
 * (ui/sync-status-bar.tsx). The evidence files and the device's settings live elsewhere (device/erase-device.ts).
 */
import { metaRow, type LocalDb } from './local-db.ts';

/** The server's answer to any token of a deleted account (sync-server/src/auth/deleted-accounts.ts). */
export const ACCOUNT_DELETED_CODE = 'account_deleted';

export async function eraseLocalData(db: LocalDb, at: number): Promise<void> {
  await db.transaction('rw', db.tables, async () => {
    for (const table of db.tables) await table.clear();
    await db.meta.put(metaRow('accountDeletedAt', at));
  });
}

/** Whether a refused answer says the account was deleted (reads a copy: the caller may still read the body). */
export async function saysAccountDeleted(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => null);
  return (
    typeof body === 'object' &&
    body !== null &&
    'error_code' in body &&
    body.error_code === ACCOUNT_DELETED_CODE
  );
}
