import type { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import type { PushRequest } from '@vitalwatch/schema/protocol/push-request';

/** What came back, unparsed: the sync client parses `body` with the protocol's schemas. */
export interface TransportResponse {
  readonly status: number;
  /** The JSON body, or null when there was none or it was not JSON. */
  readonly body: unknown;
  /** The `Retry-After` header as sent (seconds or an HTTP date). */
  readonly retryAfter?: string;
}

/**
 * How the sync client reaches the server. A rejected promise means the request may or may not have arrived
 * (network error, timeout): the client keeps its outbox and tries again later.
 */
export interface SyncTransport {
  push(request: PushRequest, accessToken: string): Promise<TransportResponse>;
  pull(request: PullRequest, accessToken: string): Promise<TransportResponse>;
  /**
   * Opens a spare connection with a tiny request, so that a critical push written while a long request occupies
   * the first connection need not open one (a TCP and TLS handshake: one or two round trips) on HTTP/1.1. Optional:
   * a transport without connections has none.
   */
  warm?(): Promise<void>;
}
