/**
 * The SHA-256 (hex), size and first bytes of a file as it streams past, in one pass: for a file tus stored
 * (upload-routes.ts) and for one read back from Supabase Storage (verify-routes.ts).
 */
import { createHash } from 'node:crypto';
import { SNIFF_BYTES } from './media-types.ts';

export type Digest = { sha256: string; size: number; head: Buffer };

/** Stops reading and throws `tooLarge()` as soon as more than `limit` bytes have arrived. */
export async function digestBytes(
  chunks: AsyncIterable<Uint8Array>,
  limit: { bytes: number; tooLarge: () => Error } | null = null,
): Promise<Digest> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  for await (const chunk of chunks) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += bytes.length;
    if (limit !== null && size > limit.bytes) throw limit.tooLarge();
    hash.update(bytes);
    if (headLength < SNIFF_BYTES) {
      head.push(bytes.subarray(0, SNIFF_BYTES - headLength));
      headLength += Math.min(bytes.length, SNIFF_BYTES - headLength);
    }
  }
  return { sha256: hash.digest('hex'), size, head: Buffer.concat(head) };
}
