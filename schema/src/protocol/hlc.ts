/**
 * Hybrid logical clock (Kulkarni et al., 2014) in the protocol's text form `<13-digit ms>-<4 hex counter>-<node>`
 * (schema/src/protocol/common.ts `Hlc`), which sorts as text. The node is the device's clientId.
 *
 * It only breaks last-writer-wins ties between devices (docs/sync-design.md): the queue is ordered by seq and sync by
 * server version, never by a device clock. Invariants: every stamp this node issues is greater than every stamp
 * it issued or received before, and its physical part never runs more than `HLC_MAX_DRIFT_MS` ahead of `now`
 * because of a remote stamp (a device with a clock years ahead must not drag ours along; the server clamps to
 * the same bound with `clampHlc`).
 */

export interface HlcState {
  /** Physical part, ms since the epoch. */
  readonly ms: number;
  /** Logical part, 0…0xffff. */
  readonly counter: number;
}

export interface ParsedHlc extends HlcState {
  readonly node: string;
}

export const HLC_ZERO: HlcState = { ms: 0, counter: 0 };
const MAX_COUNTER = 0xffff;
/** How far ahead of local time a received stamp may move the clock (matches the server's clamp). */
export const HLC_MAX_DRIFT_MS = 5 * 60_000;
const HLC_TEXT = /^(\d{13})-([0-9a-f]{4})-([0-9a-f-]{1,36})$/;

export function formatHlc(state: HlcState, node: string): string {
  return `${String(state.ms).padStart(13, '0')}-${state.counter.toString(16).padStart(4, '0')}-${node}`;
}

export function parseHlc(text: string): ParsedHlc | null {
  const match = HLC_TEXT.exec(text);
  if (match === null) return null;
  return { ms: Number(match[1]), counter: parseInt(match[2] ?? '0', 16), node: match[3] ?? '' };
}

/** Orders two states; ties in (ms, counter) are broken by the node id in the text form. */
export function compareHlc(a: HlcState, b: HlcState): number {
  return a.ms - b.ms || a.counter - b.counter;
}

/** A local event or a send: the next stamp after `last` at physical time `nowMs`. */
export function tickHlc(last: HlcState, nowMs: number): HlcState {
  const now = Math.floor(nowMs);
  if (now > last.ms) return { ms: now, counter: 0 };
  return bump(last.ms, last.counter + 1);
}

/** Merges a stamp seen from another node (a pulled row): later local stamps sort after it. */
export function receiveHlc(last: HlcState, remote: HlcState, nowMs: number): HlcState {
  const now = Math.floor(nowMs);
  const remoteMs = Math.min(remote.ms, now + HLC_MAX_DRIFT_MS);
  const ms = Math.max(last.ms, remoteMs, now);
  const counter =
    ms === last.ms && ms === remoteMs
      ? Math.max(last.counter, remote.counter) + 1
      : ms === last.ms
        ? last.counter + 1
        : ms === remoteMs
          ? remote.counter + 1
          : 0;
  return bump(ms, counter);
}

/** A counter past 0xffff borrows a millisecond from the future: stamps stay unique and ordered. */
function bump(ms: number, counter: number): HlcState {
  return counter > MAX_COUNTER ? { ms: ms + 1, counter: 0 } : { ms, counter };
}

/**
 * The server's side of the same bound: a device with a clock running days ahead would otherwise win every
 * last-writer-wins race until real time caught up. The physical part is cut to server time + 5 min; counter and
 * node id are kept, so two clamped HLCs still order deterministically.
 */
export function clampHlc(hlc: string, now: Date): string {
  const physical = Number(hlc.slice(0, 13));
  const limit = now.getTime() + HLC_MAX_DRIFT_MS;
  if (physical <= limit) return hlc;
  return `${String(limit).padStart(13, '0')}${hlc.slice(13)}`;
}

/** The later of two HLC texts (they sort as text). */
export function maxHlc(a: string | null, b: string): string {
  return a !== null && a > b ? a : b;
}
