/**
 * A TCP proxy that shapes a link the way a slow mobile network does, and meters what crosses it. Both sync
 * systems in sync-compare-bench.ts talk to their servers through it, so they see the same link.
 *
 * Link model, per direction (client → server and server → client), shared by every connection:
 * - **Bandwidth**: one FIFO transmitter. Each chunk a socket delivers is cut into MSS-sized segments (1,460 B);
 *   a segment starts when the transmitter is free and occupies it for `bytes × 8 / bandwidth`. One deep FIFO
 *   (no fair queuing, no drops on overflow): a request sent while a big transfer holds the link waits behind it,
 *   as on many cellular links.
 * - **Latency**: a segment arrives RTT/2 after it left the transmitter.
 * - **Connection set-up**: a new connection's first client bytes cannot leave before accept + RTT (SYN, SYN-ACK).
 * - **Loss** (`lossRate`): each segment is lost with that probability (a seeded PRNG). A lost segment is sent again
 *   after one RTT (fast retransmit: the duplicate ACKs of the segments behind it take about an RTT), occupies the
 *   transmitter twice, and holds back everything behind it on its connection (TCP delivers in order).
 *   Not modelled: slow start, congestion-window cuts after a loss, retransmission timeouts. Real TCP would
 *   be slower than this model on every lossy transfer, the big ones most.
 *
 * Meter: bytes per direction as they cross the proxy, i.e. the TCP payload: HTTP request and status lines,
 * headers and bodies (plain HTTP, no TLS; TCP/IP headers not counted), and every HTTP request, parsed from the
 * client's byte stream (request line, Content-Length or chunked framing), by method and path.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export type LinkProfile = {
  /** Short name used in tables and JSON, e.g. '300ms-750kbit'. */
  name: string;
  rttMs: number;
  kbitPerSecond: number;
  /** Probability that a segment is lost (retransmitted after one RTT). */
  lossRate: number;
};

export type MeterSnapshot = {
  requests: number;
  /** `METHOD /path` (query removed, ids collapsed) → count. */
  requestsByRoute: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
  /**
   * Bytes per route and direction. Client bytes go to the request they belong to; server bytes to the last
   * request sent on their connection (both clients wait for a response before the next request on a connection).
   */
  bytesByRoute: Record<string, { up: number; down: number }>;
  /** The first request head seen per route (bearer tokens shortened), to show what each client sends. */
  heads: Record<string, string>;
  connections: number;
  segments: number;
  lostSegments: number;
};

export type ShapingProxy = {
  readonly port: number;
  readonly url: string;
  setProfile(profile: LinkProfile): void;
  /** A copy of the counters since the proxy started. */
  snapshot(): MeterSnapshot;
  close(): Promise<void>;
};

const MSS = 1_460;

/** One direction of the link: a FIFO transmitter and the propagation delay. */
class LinkDirection {
  #freeAt = 0;
  constructor(
    private readonly profile: () => LinkProfile,
    private readonly random: () => number,
    private readonly meter: { segments: number; lostSegments: number },
  ) {}

  /**
   * Arrival time (performance.now() ms) of each segment of `bytes` handed to the link at `now`, never before
   * `notBefore` (connection set-up) nor before the previous arrival on the same stream (`lastArrival`).
   */
  schedule(bytes: number, now: number, notBefore: number, lastArrival: number): number[] {
    const { rttMs, kbitPerSecond, lossRate } = this.profile();
    const bytesPerMs = (kbitPerSecond * 1000) / 8 / 1000;
    const arrivals: number[] = [];
    let previous = lastArrival;
    for (let offset = 0; offset < bytes; offset += MSS) {
      const size = Math.min(MSS, bytes - offset);
      const start = Math.max(now, notBefore, this.#freeAt);
      const sent = start + size / bytesPerMs;
      this.#freeAt = sent;
      this.meter.segments += 1;
      let arrival = sent + rttMs / 2;
      if (lossRate > 0 && this.random() < lossRate) {
        this.meter.lostSegments += 1;
        this.#freeAt += size / bytesPerMs; // the retransmission takes the link again
        arrival += rttMs;
      }
      previous = Math.max(previous, arrival);
      arrivals.push(previous);
    }
    return arrivals;
  }
}

/** Delivers one connection direction's segments to `target` at their arrival times, in order. */
class DelayedStream {
  #queue: Array<{ at: number; data: Buffer }> = [];
  #timer: NodeJS.Timeout | null = null;
  #ended = false;
  lastArrival = 0;

  constructor(
    private readonly target: net.Socket,
    private readonly link: LinkDirection,
    private readonly notBefore: () => number,
  ) {}

  push(chunk: Buffer): void {
    const arrivals = this.link.schedule(chunk.length, performance.now(), this.notBefore(), this.lastArrival);
    arrivals.forEach((at, i) => this.#queue.push({ at, data: chunk.subarray(i * MSS, (i + 1) * MSS) }));
    this.lastArrival = arrivals.at(-1) ?? this.lastArrival;
    this.#arm();
  }

  /** Ends the target once everything queued has been delivered. */
  end(): void {
    this.#ended = true;
    this.#arm();
  }

  destroy(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
  }

  #arm(): void {
    if (this.#timer !== null) return;
    const head = this.#queue[0];
    if (head === undefined) {
      if (this.#ended && !this.target.destroyed) this.target.end();
      return;
    }
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#flush();
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  #flush(): void {
    const now = performance.now() + 0.5; // timers fire at whole milliseconds
    const due: Buffer[] = [];
    while (this.#queue.length > 0 && (this.#queue[0]?.at ?? Infinity) <= now) {
      const next = this.#queue.shift();
      if (next !== undefined) due.push(next.data);
    }
    if (due.length > 0 && !this.target.destroyed) this.target.write(Buffer.concat(due));
    this.#arm();
  }
}

/**
 * Counts HTTP/1.1 requests in a client's byte stream: a header block, then a body framed by Content-Length or
 * chunked transfer coding. Enough for the requests fetch and node-fetch send (no pipelining tricks, no upgrades).
 */
class RequestCounter {
  #buffer: Buffer = Buffer.alloc(0);
  #bodyLeft = 0;
  #chunked = false;

  constructor(private readonly onRequest: (method: string, path: string, head: string) => void) {}

  feed(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, this.#buffer.length);
        this.#buffer = this.#buffer.subarray(take);
        this.#bodyLeft -= take;
        if (this.#bodyLeft > 0) return;
      }
      if (this.#chunked) {
        const lineEnd = this.#buffer.indexOf('\r\n');
        if (lineEnd === -1) return;
        const size = Number.parseInt(this.#buffer.subarray(0, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          // Last chunk: no trailers from our clients, so the terminating blank line follows.
          if (this.#buffer.length < lineEnd + 4) return;
          this.#buffer = this.#buffer.subarray(lineEnd + 4);
          this.#chunked = false;
          continue;
        }
        this.#buffer = this.#buffer.subarray(lineEnd + 2);
        this.#bodyLeft = size + 2; // the chunk and its CRLF
        continue;
      }
      const headerEnd = this.#buffer.indexOf('\r\n\r\n');
      if (headerEnd === -1) return;
      const head = this.#buffer.subarray(0, headerEnd).toString('latin1');
      this.#buffer = this.#buffer.subarray(headerEnd + 4);
      const [requestLine = '', ...headerLines] = head.split('\r\n');
      const [method = '?', target = '?'] = requestLine.split(' ');
      this.onRequest(method, target, head);
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line
          .slice(colon + 1)
          .trim()
          .toLowerCase();
        if (name === 'content-length') this.#bodyLeft = Number(value);
        if (name === 'transfer-encoding' && value.includes('chunked')) this.#chunked = true;
      }
    }
  }
}

/** `/moods/_local/abc123?x=1` → `/moods/_local/…`; our routes and CouchDB's `_` endpoints stay readable. */
function routeOf(method: string, target: string): string {
  const path = target.split('?')[0] ?? target;
  const parts = path
    .split('/')
    .map((part, i) => (i >= 2 && !part.startsWith('_') && part !== '' ? '…' : part));
  if (path.startsWith('/sync/') || path.startsWith('/auth/')) return `${method} ${path}`;
  return `${method} ${parts.join('/')}`;
}

export async function startShapingProxy(options: {
  upstreamPort: number;
  /** Where to listen (0: any free port). */
  port?: number;
  profile: LinkProfile;
  random: () => number;
}): Promise<ShapingProxy> {
  let profile = options.profile;
  const meter: MeterSnapshot = {
    requests: 0,
    requestsByRoute: {},
    bytesUp: 0,
    bytesDown: 0,
    bytesByRoute: {},
    heads: {},
    connections: 0,
    segments: 0,
    lostSegments: 0,
  };
  const up = new LinkDirection(() => profile, options.random, meter);
  const down = new LinkDirection(() => profile, options.random, meter);
  const sockets = new Set<net.Socket>();

  // Half-open: a client's FIN must not cut off the response bytes still travelling towards it.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    meter.connections += 1;
    const acceptedAt = performance.now();
    const upstream = net.connect({ port: options.upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const toServer = new DelayedStream(upstream, up, () => acceptedAt + profile.rttMs);
    const toClient = new DelayedStream(client, down, () => 0);
    let route = '(no request yet)';
    const routeBytes = () => (meter.bytesByRoute[route] ??= { up: 0, down: 0 });
    const counter = new RequestCounter((method, target, head) => {
      meter.requests += 1;
      route = routeOf(method, target);
      meter.requestsByRoute[route] = (meter.requestsByRoute[route] ?? 0) + 1;
      meter.heads[route] ??= head.replace(/(authorization: Bearer \S{12})\S+/i, '$1…');
    });
    client.on('data', (chunk: Buffer) => {
      meter.bytesUp += chunk.length;
      counter.feed(chunk);
      routeBytes().up += chunk.length;
      toServer.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      meter.bytesDown += chunk.length;
      routeBytes().down += chunk.length;
      toClient.push(chunk);
    });
    client.on('end', () => toServer.end());
    upstream.on('end', () => toClient.end());
    const teardown = () => {
      toServer.destroy();
      toClient.destroy();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', () => {
      sockets.delete(client);
      if (!upstream.destroyed && upstream.writableEnded) upstream.destroy();
    });
    upstream.on('close', () => sockets.delete(upstream));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy: no port');

  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    setProfile(next) {
      profile = next;
    },
    snapshot: () => ({
      ...meter,
      requestsByRoute: { ...meter.requestsByRoute },
      bytesByRoute: Object.fromEntries(
        Object.entries(meter.bytesByRoute).map(([name, bytes]) => [name, { ...bytes }]),
      ),
      heads: { ...meter.heads },
    }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What happened on the link between two snapshots. */
export function meterDelta(before: MeterSnapshot, after: MeterSnapshot): MeterSnapshot {
  const requestsByRoute: Record<string, number> = {};
  for (const [route, count] of Object.entries(after.requestsByRoute)) {
    const delta = count - (before.requestsByRoute[route] ?? 0);
    if (delta > 0) requestsByRoute[route] = delta;
  }
  const bytesByRoute: Record<string, { up: number; down: number }> = {};
  for (const [route, bytes] of Object.entries(after.bytesByRoute)) {
    const was = before.bytesByRoute[route] ?? { up: 0, down: 0 };
    if (bytes.up > was.up || bytes.down > was.down) {
      bytesByRoute[route] = { up: bytes.up - was.up, down: bytes.down - was.down };
    }
  }
  return {
    requests: after.requests - before.requests,
    requestsByRoute,
    bytesUp: after.bytesUp - before.bytesUp,
    bytesDown: after.bytesDown - before.bytesDown,
    bytesByRoute,
    heads: after.heads,
    connections: after.connections - before.connections,
    segments: after.segments - before.segments,
    lostSegments: after.lostSegments - before.lostSegments,
  };
}
