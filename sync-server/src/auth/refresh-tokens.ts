/**
 * Refresh tokens of the embedded provider, shaped so that the server can tell which session issued a token it no
 * longer accepts (ADR 0015, SPEC SE40–SE41), without storing anything but the current and previous token's hashes:
 *
 *   token = base64url( session id (16 bytes) ‖ body (24 bytes) ‖ tag (16 bytes) )        75 characters
 *   tag   = HMAC-SHA256(refresh-token key, session id ‖ body), first 16 bytes
 *   body  = 24 random bytes for a session's first token;
 *           HMAC-SHA256(refresh-token key, "next" ‖ parent token), first 24 bytes, for each rotation's next one.
 *
 * Invariants:
 * - A valid tag proves the server issued the token for that session (the key never leaves the process: it is
 *   derived from the signing key, signing-key.ts). So a used token of any generation is recognised as "this
 *   session's, already used", which is what reuse detection needs; a forged one is just unknown.
 * - The next token is a function of its parent: a refresh repeated within the reuse interval (a lost answer, two
 *   tabs at once) gets the very token the first one got, as GoTrue returns the active token to its parent.
 * - Tokens issued before this format (43 random characters) are still accepted while current; they carry no
 *   session id, so only the immediately previous one is recognised as reused.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionId } from '@vitalwatch/schema/ids';

const ID_BYTES = 16;
const BODY_BYTES = 24;
const TAG_BYTES = 16;
const TOKEN_BYTES = ID_BYTES + BODY_BYTES + TAG_BYTES;

function uuidBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function tag(key: Buffer, idAndBody: Buffer): Buffer {
  return createHmac('sha256', key).update(idAndBody).digest().subarray(0, TAG_BYTES);
}

function assemble(key: Buffer, sessionId: SessionId, body: Buffer): string {
  const idAndBody = Buffer.concat([uuidBytes(sessionId), body]);
  return Buffer.concat([idAndBody, tag(key, idAndBody)]).toString('base64url');
}

/** What the database keeps of a refresh token. */
export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A session's first refresh token. */
export function firstRefreshToken(key: Buffer, sessionId: SessionId): string {
  return assemble(key, sessionId, randomBytes(BODY_BYTES));
}

/** The token that replaces `parent` when it is used: always the same one for the same parent. */
export function nextRefreshToken(key: Buffer, sessionId: SessionId, parent: string): string {
  const body = createHmac('sha256', key).update('next').update(parent).digest().subarray(0, BODY_BYTES);
  return assemble(key, sessionId, body);
}

/** The session that issued `token`, when its tag proves we did; null for a forged, mangled or older-format token. */
export function refreshTokenSession(key: Buffer, token: string): SessionId | null {
  if (token.length !== Math.ceil((TOKEN_BYTES * 4) / 3)) return null;
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== TOKEN_BYTES || bytes.toString('base64url') !== token) return null;
  const idAndBody = bytes.subarray(0, ID_BYTES + BODY_BYTES);
  if (!timingSafeEqual(tag(key, idAndBody), bytes.subarray(ID_BYTES + BODY_BYTES))) return null;
  return uuidText(bytes.subarray(0, ID_BYTES)) as SessionId;
}
