/**
 * Reads `GET /sync/events` (server-sent events) with fetch, which can send the Bearer header EventSource cannot,
 * and hands every `poke` event's data to `onPoke` (the sync loop parses it with the protocol's Poke schema and
 * pulls if its cursor is older), and every `alert` event's to `onAlert` (the incoming-alert overlay). The stream is a hint, never the only trigger: the loop also pulls on a timer.
 *
 * While open it reconnects after a drop, with a growing delay (1 s doubling to 60 s, reset by a stream that
 * delivered something); with no session it waits for `wake()` (sign-in, `online`). `stop()` ends it.
 */
export interface PokeStreamDeps {
  getAccessToken: () => Promise<string | null>;
  onPoke: (message: unknown) => void;
  /**
   * An `alert` event: someone who lists this user as an emergency contact needs help (SPEC AL32). Unparsed JSON;
   * the handler parses it with the protocol's AlertPush schema.
   */
  onAlert?: (message: unknown) => void;
  baseUrl?: string;
  fetch?: typeof fetch;
  /** For tests. */
  setTimeout?: (callback: () => void, ms: number) => unknown;
}

export interface PokeStream {
  /** Connect now if not connected (after sign-in, on `online`). */
  wake(): void;
  stop(): void;
}

/** Splits an SSE byte stream into events and returns the data of each `poke` and each `alert` event. */
export function parseSseChunk(buffer: string): { events: string[]; alerts: string[]; rest: string } {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? '';
  const events: string[] = [];
  const alerts: string[] = [];
  for (const block of blocks) {
    let type = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) (type === 'poke' ? events : type === 'alert' ? alerts : []).push(data.join('\n'));
  }
  return { events, alerts, rest };
}

export function startPokeStream(deps: PokeStreamDeps): PokeStream {
  const doFetch = deps.fetch ?? ((input, init) => fetch(input, init));
  const later = deps.setTimeout ?? ((callback, ms) => globalThis.setTimeout(callback, ms));
  let controller: AbortController | null = null;
  let stopped = false;
  let retryMs = 1_000;

  async function run(): Promise<void> {
    const token = await deps.getAccessToken();
    if (token === null || stopped) {
      controller = null;
      return;
    }
    const abort = new AbortController();
    controller = abort;
    let delivered = false;
    try {
      const response = await doFetch(`${deps.baseUrl ?? ''}/sync/events`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: abort.signal,
        cache: 'no-store',
      });
      if (response.ok && response.body !== null) {
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSseChunk(buffer + value);
          buffer = parsed.rest;
          for (const [data, handle] of [
            ...parsed.events.map((data) => [data, deps.onPoke] as const),
            ...parsed.alerts.map((data) => [data, deps.onAlert] as const),
          ]) {
            delivered = true;
            try {
              handle?.(JSON.parse(data));
            } catch {
              // Not JSON: ignored, like any message its schema refuses.
            }
          }
        }
      }
    } catch {
      // Offline, aborted or dropped: reconnect below unless stopped.
    }
    if (stopped || controller !== abort) return;
    controller = null;
    retryMs = delivered ? 1_000 : Math.min(retryMs * 2, 60_000);
    later(() => {
      if (!stopped && controller === null) void run();
    }, retryMs);
  }

  void run();
  return {
    wake() {
      if (stopped || controller !== null) return;
      retryMs = 1_000;
      void run();
    },
    stop() {
      stopped = true;
      controller?.abort();
      controller = null;
    },
  };
}
