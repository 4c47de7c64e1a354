/**
 * Every rejected mutation goes to `mutation_errors` (PU3): device, lane, seq, name, args, code and the message the
 * user saw. Text Postgres cannot store (NUL, a lone surrogate) is kept as U+FFFD.
 */
import type { UserId } from '@vitalwatch/schema/ids';
import { mutationErrors } from '@vitalwatch/schema/db/tables';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { Mutation } from '@vitalwatch/schema/protocol/push-request';
import type { Tx } from '../db/database.ts';

export type Rejection = { mutation: Mutation; code: string; message: string };

/** Text Postgres refuses to store (NUL, a lone surrogate; in jsonb or text) as U+FFFD, for the error log. */
function storable(text: string): string {
  return text
    .replaceAll('\u0000', '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** `args` as the error log can keep them: every string and key through `storable`. */
function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storable(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storableJson(v)]));
  }
  return value;
}

/** One statement for all of them; nothing when there are none. */
export async function recordRejections(
  tx: Tx,
  push: { userId: UserId; clientId: string; lane: Lane; now: Date },
  rejections: readonly Rejection[],
): Promise<void> {
  if (rejections.length === 0) return;
  await tx.insert(mutationErrors).values(
    rejections.map(({ mutation, code, message }) => ({
      userId: push.userId,
      clientId: push.clientId,
      lane: push.lane,
      seq: mutation.seq,
      name: mutation.name,
      args: storableJson(mutation.args ?? null),
      code,
      message: storable(message),
      createdAt: push.now,
    })),
  );
}
