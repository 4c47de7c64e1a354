/**
 * The `token` of a signed download URL: an HS256 JWT (HMAC-SHA256 with the server's URL key) naming one object,
 * `{url: "<bucket>/<path>", iat, exp}`: the claim Supabase Storage puts in its own signed URLs. It grants reading
 * that object until `exp` and nothing else; it is not a session and names no user.
 */
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { HttpError } from '../http/http-error.ts';
import type { UrlSigningKey } from './url-signing-key.ts';

const ISSUER = 'vitalwatch-storage';

export async function signObjectToken(
  key: UrlSigningKey,
  object: { bucket: string; path: string },
  expiresInSeconds: number,
  now: Date,
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ url: `${object.bucket}/${object.path}` })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + expiresInSeconds)
    .sign(key);
}

/** Throws a 403 unless `token` is ours, unexpired, and names exactly this object; returns when it expires. */
export async function verifyObjectToken(
  key: UrlSigningKey,
  token: string,
  object: { bucket: string; path: string },
  now: Date,
): Promise<Date> {
  let url: unknown;
  let exp: number | undefined;
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      currentDate: now,
    });
    url = payload.url;
    exp = payload.exp;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      throw new HttpError(403, 'signed_url_expired', 'this link has expired: ask for a new one');
    }
    if (error instanceof joseErrors.JOSEError) {
      throw new HttpError(
        403,
        'invalid_signature',
        'this link is not valid: its signature does not check out',
      );
    }
    throw error;
  }
  if (url !== `${object.bucket}/${object.path}` || exp === undefined) {
    throw new HttpError(403, 'invalid_signature', 'this link was signed for another file');
  }
  return new Date(exp * 1000);
}
