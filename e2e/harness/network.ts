/**
 * Shapes requests in a route handler. Chromium's network throttling (Network.emulateNetworkConditions) does not
 * apply to requests the service worker makes (docs/platform-facts.md), but a context-level route sees both the page's
 * and the worker's requests, so slow, failing or held requests are made here.
 *
 * A route sees a service worker's requests only if it was installed before that worker started: install it
 * before the first page (and gate it with a flag) when a test must shape the worker's requests
 * (e2e/sos-flow.browser.test.ts does).
 *
 * Offline/online is `context.setOffline(true | false)`: it makes the worker's fetches fail too, and a `sync`
 * registered while offline fires after going online again.
 */
import type { BrowserContext, Request, Route } from 'playwright-core';

export interface ShapedRequest {
  readonly method: string;
  readonly url: string;
  /** Made by the service worker (true) or by a page (false). */
  readonly fromServiceWorker: boolean;
}

export interface RequestShape {
  /** Which requests to shape: a URL pathname prefix ('/sync/'), a RegExp on the full URL, or a predicate. */
  readonly match: string | RegExp | ((url: URL, request: Request) => boolean);
  /** Wait this long before answering (after a hold is released). */
  readonly delayMs?: number;
  /** Hold each request until release() (or remove()). */
  readonly hold?: boolean;
  /** Fail with this network error instead of sending (e.g. 'internetdisconnected', 'timedout', 'failed'). */
  readonly abort?: 'failed' | 'timedout' | 'internetdisconnected' | 'connectionrefused' | 'connectionreset';
  /** Answer with this status (and an error body) instead of sending. */
  readonly status?: number;
}

export interface RequestShaper {
  /** Every request the shape matched, in arrival order. */
  readonly requests: readonly ShapedRequest[];
  /** Lets held requests (and later ones) through. */
  release(): void;
  /** Removes the route; held requests are let through. */
  remove(): Promise<void>;
}

function matcher(match: RequestShape['match']): (url: URL, request: Request) => boolean {
  if (typeof match === 'string') return (url) => url.pathname.startsWith(match);
  if (match instanceof RegExp) return (url) => match.test(url.href);
  return match;
}

export async function shapeRequests(context: BrowserContext, shape: RequestShape): Promise<RequestShaper> {
  const matches = matcher(shape.match);
  const requests: ShapedRequest[] = [];
  let released = !shape.hold;
  const waiting: (() => void)[] = [];
  const release = () => {
    released = true;
    for (const resume of waiting.splice(0)) resume();
  };

  const urlMatches = (url: URL) => url.protocol.startsWith('http');
  const handler = async (route: Route, request: Request) => {
    if (!matches(new URL(request.url()), request)) {
      await route.fallback();
      return;
    }
    requests.push({
      method: request.method(),
      url: request.url(),
      fromServiceWorker: request.serviceWorker() !== null,
    });
    if (!released) await new Promise<void>((resume) => waiting.push(resume));
    if (shape.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, shape.delayMs));
    try {
      if (shape.abort !== undefined) await route.abort(shape.abort);
      else if (shape.status !== undefined) {
        await route.fulfill({
          status: shape.status,
          contentType: 'application/json',
          body: JSON.stringify({
            error_code: 'e2e_shaped',
            message: `shaped by the test: HTTP ${shape.status}`,
          }),
        });
      } else await route.fallback();
    } catch {
      // The page or context closed while the request was held: nothing left to answer.
    }
  };
  await context.route(urlMatches, handler);
  return {
    requests,
    release,
    async remove() {
      release();
      await context.unroute(urlMatches, handler);
    },
  };
}
