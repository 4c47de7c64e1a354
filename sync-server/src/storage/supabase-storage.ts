/**
 * Supabase Storage as the server reaches it with the service key (SUPABASE_URL + SUPABASE_SERVICE_KEY): read an
 * object back to verify it (verify-routes.ts), delete one that failed verification, and sign download links for
 * contacts (the alert page). The service key bypasses Storage's RLS, so every caller checks who may act first.
 *
 * Supabase answers most errors with HTTP 400 and the real status in the body (`{"statusCode":"404","error":
 * "not_found","message":"Object not found"}`), newer versions with the real status: both are read here.
 */
import { z } from 'zod';

export type SupabaseStorageConfig = { url: string; serviceKey: string };

type ObjectName = { bucket: string; path: string };

const SignedUrl = z.object({ signedURL: z.string().startsWith('/') });
const ErrorBody = z.object({ statusCode: z.union([z.string(), z.number()]) }).loose();

export class SupabaseStorageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type SupabaseStorage = {
  /** The object's bytes, or null when it does not exist. */
  download(object: ObjectName): Promise<{ body: ReadableStream<Uint8Array>; size: number | null } | null>;
  /** Deletes the object; a missing one is not an error. */
  remove(object: ObjectName): Promise<void>;
  /** An absolute download URL that works for `expiresIn` seconds. */
  sign(object: ObjectName, expiresIn: number): Promise<string>;
};

/** The status Supabase meant: the body's `statusCode` when it sent one, else the HTTP status. */
async function statusOf(response: Response): Promise<{ status: number; text: string }> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success && Number.isInteger(Number(parsed.data.statusCode))) {
      return { status: Number(parsed.data.statusCode), text };
    }
  } catch {
    // Not JSON: a gateway's page.
  }
  return { status: response.status, text };
}

export function supabaseStorage(
  config: SupabaseStorageConfig,
  fetchFn: typeof fetch = fetch,
): SupabaseStorage {
  const base = `${config.url}/storage/v1`;
  const headers = { authorization: `Bearer ${config.serviceKey}`, apikey: config.serviceKey };
  const objectUrl = (kind: string, object: ObjectName) =>
    `${base}/object/${kind}${object.bucket}/${object.path}`;
  const fail = async (what: string, response: Response) => {
    const { status, text } = await statusOf(response);
    return new SupabaseStorageError(status, `Supabase Storage ${what}: HTTP ${status} ${text.slice(0, 200)}`);
  };

  return {
    async download(object) {
      const response = await fetchFn(objectUrl('', object), { headers });
      if (response.ok && response.body !== null) {
        const length = Number(response.headers.get('content-length') ?? Number.NaN);
        return { body: response.body, size: Number.isInteger(length) ? length : null };
      }
      const error = await fail('download', response);
      if (error.status === 404) return null;
      throw error;
    },
    async remove(object) {
      const response = await fetchFn(objectUrl('', object), { method: 'DELETE', headers });
      if (response.ok) {
        await response.body?.cancel();
        return;
      }
      const error = await fail('delete', response);
      if (error.status !== 404) throw error;
    },
    async sign(object, expiresIn) {
      const response = await fetchFn(objectUrl('sign/', object), {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ expiresIn }),
      });
      if (!response.ok) throw await fail('sign', response);
      const { signedURL } = SignedUrl.parse(await response.json());
      return `${base}${signedURL}`;
    },
  };
}
