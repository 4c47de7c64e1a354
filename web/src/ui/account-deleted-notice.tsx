/**
 * Shown once the device erased its copy because the account was deleted (SPEC DR11), here or on another device;
 * loaded only then (sync-status-bar.tsx), so the first visit does not carry it. On first show it also erases the
 * evidence files and the settings in localStorage (the device database is erased already).
 */
import { onMount } from 'solid-js';
import type { LocalDb } from '../sync/local-db.ts';
import { eraseDeviceFiles } from '../device/erase-device.ts';

export default function AccountDeletedNotice(props: { db: LocalDb }) {
  onMount(() => void eraseDeviceFiles());
  return (
    <div class="warning" role="alert" data-testid="account-deleted">
      <p>
        This account was deleted, with everything it held on the server. This device has erased its copy too:
        contacts, moods, incidents, recordings and settings. VitalWatch keeps working here without an account;
        you can create a new one under Account and sync.
      </p>
      <button type="button" onClick={() => void props.db.meta.delete('accountDeletedAt')}>
        OK
      </button>
    </div>
  );
}
