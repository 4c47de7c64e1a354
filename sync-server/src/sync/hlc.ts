/**
 * Hybrid logical clocks as the protocol sends them (`<physical ms, 13 digits>-<counter, 4 hex>-<node id>`), which
 * sort as text. The server only compares them to break last-writer-wins ties; it never orders by device time.
 */

/** How far ahead of the server's clock a device's HLC may claim to be (FIELD-NOTES §1: +5 min). */
export const MAX_HLC_LEAD_MS = 5 * 60 * 1000;

/**
 * A device with a clock running days ahead would otherwise win every last-writer-wins race until real time
 * caught up. Its physical part is cut to server time + 5 min; counter and node id are kept, so two clamped
 * HLCs still order deterministically.
 */
export function clampHlc(hlc: string, now: Date): string {
  const physical = Number(hlc.slice(0, 13));
  const limit = now.getTime() + MAX_HLC_LEAD_MS;
  if (physical <= limit) return hlc;
  return `${String(limit).padStart(13, '0')}${hlc.slice(13)}`;
}

export function maxHlc(a: string | null, b: string): string {
  return a !== null && a > b ? a : b;
}
