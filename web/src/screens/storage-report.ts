export interface StorageReport {
  persisted: boolean | null;
  usedBytes: number | null;
  text: string;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** `request`: call navigator.storage.persist() (onboarding); otherwise only ask whether it is persisted. */
export async function storageReport(request: boolean): Promise<StorageReport> {
  const storage = navigator.storage as StorageManager | undefined;
  if (storage === undefined) {
    return { persisted: null, usedBytes: null, text: 'This browser does not report its storage.' };
  }
  const persisted = request ? await storage.persist() : await storage.persisted();
  const estimate = await storage.estimate();
  const used = estimate.usage ?? null;
  const keep = persisted
    ? 'Your data is stored persistently: the browser will not delete it to free space.'
    : 'The browser did not grant persistent storage; it may delete data when the phone runs out of space. Installing the app to the home screen usually helps.';
  return {
    persisted,
    usedBytes: used,
    text: used === null ? keep : `${keep} Space used: ${formatBytes(used)}.`,
  };
}
