/**
 * Twilio's webhook signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed by the auth token, over the URL
 * Twilio requested (with its query string) followed by every form parameter, names sorted, each written as name
 * then value. A repeated name contributes each of its distinct values in sorted order (as twilio-node's
 * `getExpectedTwilioSignature` does; its published vectors are in the tests). Sorting is by UTF-16 code unit,
 * JavaScript's default, which is what Twilio's libraries use.
 *
 * Twilio has signed some requests with the scheme's default port written out (`https://host:443/…`) and some
 * without, so validation accepts either form, like Twilio's own validators.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignedParams = Readonly<Record<string, string | readonly string[]>>;

export function twilioSignature(authToken: string, url: string, params: SignedParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      data += name + value;
    } else {
      for (const each of [...new Set(value)].sort()) data += name + each;
    }
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** The URL as given, and with the default port added or removed when it has none or the default. */
function urlVariants(url: string): string[] {
  const variants = new Set([url]);
  const match = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(url);
  if (match) {
    const [, scheme = '', authority = '', rest = ''] = match;
    const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
    const portMatch = /^(.*?)(?::(\d+))?$/.exec(authority);
    const host = portMatch?.[1] ?? authority;
    const port = portMatch?.[2];
    if (port === undefined) variants.add(`${scheme}://${host}:${defaultPort}${rest}`);
    else if (port === defaultPort) variants.add(`${scheme}://${host}${rest}`);
  }
  return [...variants];
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** True when `header` is Twilio's signature of this request; a missing or empty header is never valid. */
export function isValidTwilioSignature(
  authToken: string,
  url: string,
  params: SignedParams,
  header: string | undefined,
): boolean {
  if (!header || !authToken) return false;
  // Evaluate every variant (no early return) so timing does not reveal which form matched.
  let valid = false;
  for (const variant of urlVariants(url)) {
    if (sameText(twilioSignature(authToken, variant, params), header)) valid = true;
  }
  return valid;
}
