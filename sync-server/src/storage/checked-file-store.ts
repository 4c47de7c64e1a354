/**
 * @tus/file-store with a look at the first bytes before anything is written: an upload whose bytes are not what
 * its declared content type says is refused at its first chunk (415) and deleted, rather than after the whole
 * file has crossed a weak network. The completion hook checks the stored file again (upload-routes.ts), so a
 * header split across chunks is caught there at the latest.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { bytesMatchType, SNIFF_BYTES } from './media-types.ts';
import { TusRefusal } from './tus-refusal.ts';

async function readPrefix(file: string, length: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads at least `length` bytes (fewer if the stream ends) and returns them with a stream of the whole body. */
async function peek(source: Readable, length: number): Promise<{ head: Buffer; body: Readable }> {
  const iterator: AsyncIterator<Buffer> = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let received = 0;
  while (received < length) {
    const next = await iterator.next();
    if (next.done === true) break;
    chunks.push(next.value);
    received += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* whole() {
    try {
      if (head.length > 0) yield head;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
        yield next.value;
    } finally {
      await iterator.return?.();
    }
  }
  return { head, body: Readable.from(whole(), { objectMode: false }) };
}

export class CheckedFileStore extends FileStore {
  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    if (offset >= SNIFF_BYTES) return super.write(readable, id, offset);
    const upload = await this.getUpload(id);
    const contentType = upload.metadata?.contentType ?? '';
    const needed = Math.min(SNIFF_BYTES, upload.size ?? SNIFF_BYTES);
    const stored = offset > 0 ? await readPrefix(path.join(this.directory, id), offset) : Buffer.alloc(0);
    const { head, body } = await peek(readable, needed - stored.length);
    const start = Buffer.concat([stored, head]).subarray(0, needed);
    if (start.length === needed && !bytesMatchType(contentType, start)) {
      // Read the rest of this request first: a client still sending its chunk would otherwise see a reset
      // connection instead of this answer.
      for await (const chunk of body) void chunk;
      await this.remove(id);
      throw new TusRefusal(
        415,
        'content_mismatch',
        `the file's first bytes are not ${contentType}: upload refused and deleted`,
      );
    }
    return super.write(body, id, offset);
  }
}
