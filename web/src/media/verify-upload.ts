/**
 * The last step of an upload to Supabase Storage (issue #6, ADR 0008). Supabase stores whatever arrives; the
 * sync server then reads the object back, checks its type and SHA-256 and writes the `media_files` row
 * (`POST /storage/v1/verify`, sync-server/src/storage/verify-routes.ts). Only its 2xx makes the file "uploaded".
 *
 * | verify answer                                   | result         | the queue                                  |
 * | ----------------------------------------------- | -------------- | ------------------------------------------ |
 * | 2xx                                              | `uploaded`     | file → uploaded                            |
 * | 422 (hash, type: the object was deleted), 404    | `resend`       | waits; tus starts again from the first byte |
 * | no answer                                        | `offline`      | waits; asks again (no bytes re-sent)       |
 * | 401, 5xx, other 4xx                              | as for uploads | upload-result.ts                           |
 *
 * Which store the device writes to follows from the session: its auth URL is on this server's origin in the
 * embedded mode (the server checks files as they arrive) and on Supabase's otherwise. A wrong guess costs one
 * request: the embedded server answers verify from its own rows.
 */
import { SignedOutError, classifyUploadError, readBody, type UploadResult } from './upload-result.ts';

export const VERIFY_PATH = '/storage/v1/verify';

/** Whether uploads go to another origin than this server's (Supabase Storage), so the server must verify them. */
export function needsServerVerify(authUrl: string, serverOrigin: string): boolean {
  try {
    return new URL(authUrl).origin !== new URL(serverOrigin).origin;
  } catch {
    return false;
  }
}

export interface UploadVerifierDeps {
  /** This server's origin (the page's, `location.origin`). */
  readonly serverOrigin: string;
  getAccessToken(): Promise<string | null>;
  readonly fetch?: typeof fetch;
}

/** Asks the server to verify an object the device uploaded to Supabase; never rejects. */
export type UploadVerifier = (metadata: Record<string, string>) => Promise<UploadResult>;

export function createUploadVerifier(deps: UploadVerifierDeps): UploadVerifier {
  const doFetch = deps.fetch ?? ((input, init) => fetch(input, init));
  return async (metadata) => {
    let response: Response;
    let text: string;
    try {
      const token = await deps.getAccessToken();
      if (token === null) throw new SignedOutError();
      response = await doFetch(`${deps.serverOrigin}${VERIFY_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(metadata),
      });
      text = await response.text();
    } catch (error) {
      return classifyUploadError(error instanceof SignedOutError ? error : { causingError: error });
    }
    if (response.ok) return { kind: 'uploaded' };
    if (response.status === 422 || response.status === 404) {
      const { message } = readBody(text);
      return { kind: 'resend', message: message ?? `the server answered HTTP ${response.status}` };
    }
    return classifyUploadError({
      originalResponse: {
        getStatus: () => response.status,
        getBody: () => text,
        getHeader: (name: string) => response.headers.get(name) ?? undefined,
      },
    });
  };
}
