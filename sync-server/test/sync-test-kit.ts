/**
 * Drives the real sync routes over HTTP (`app.inject`) with real tokens from the embedded sign-up: no mocks. The
 * server's clock is a test-owned value (`clock.ms`), starting at real time so tokens stay valid.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import * as z from 'zod/mini';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import type { MutatorArgs, MutatorName } from '@vitalwatch/schema/protocol/mutators';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { decodePullPage } from '@vitalwatch/schema/protocol/pull-page';
import { PullResponse, type PullResponseV1 } from '@vitalwatch/schema/protocol/pull-response';
import type { Mutation, PushRequest } from '@vitalwatch/schema/protocol/push-request';
import { PushResponse } from '@vitalwatch/schema/protocol/push-response';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { ROW_SCHEMAS } from '@vitalwatch/schema/protocol/synced-tables';
import type { Database } from '../src/db/database.ts';
import { startEmbeddedApp, type RunningApp } from './test-app.ts';

export type TestClock = { ms: number };

export type SyncServer = RunningApp & { clock: TestClock };

export async function startSyncServer(
  database: Database,
  options: Omit<NonNullable<Parameters<typeof startEmbeddedApp>[1]>, 'now'> & { clock?: TestClock } = {},
): Promise<SyncServer> {
  const { clock: given, ...overrides } = options;
  const clock: TestClock = given ?? { ms: Date.now() };
  const server = await startEmbeddedApp(database, { ...overrides, now: () => new Date(clock.ms) });
  return { ...server, clock };
}

export type TestUser = { userId: UserId; token: string };

let accounts = 0;

/** A new account, signed in: sign-up answers the user without a session (SE45), so the session comes from sign-in. */
export async function signUp(app: FastifyInstance): Promise<TestUser> {
  accounts += 1;
  const payload = { email: `sync-${accounts}-${newId()}@example.org`, password: 'a long enough passphrase' };
  const up = await app.inject({ method: 'POST', url: '/auth/v1/signup', payload });
  if (up.statusCode !== 200) throw new Error(`sign-up failed: ${up.body}`);
  const response = await app.inject({ method: 'POST', url: '/auth/v1/token?grant_type=password', payload });
  if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.body}`);
  const body = response.json<{ access_token: string; user: { id: UserId } }>();
  return { userId: body.user.id, token: body.access_token };
}

/** An HLC at `ms` (13 digits), as a device with `node` would write it. */
export function hlc(ms: number, counter = 0, node = 'd1'): string {
  return `${String(ms).padStart(13, '0')}-${counter.toString(16).padStart(4, '0')}-${node}`;
}

export function mutation<N extends MutatorName>(
  seq: number,
  name: N,
  args: MutatorArgs<N>,
  at: { hlc?: string; createdAt?: number } = {},
): Mutation {
  const createdAt = at.createdAt ?? Date.now();
  return { seq, name, args, hlc: at.hlc ?? hlc(createdAt), createdAt };
}

/** A `samples.append@2` entry of `n` heart-rate samples (as small on the wire as samples get: all zero steps). */
export function samplesEntry(seq: number, n: number, t0 = Date.now()): Mutation {
  return mutation(seq, 'samples.append@2', {
    kind: 1,
    t0,
    id: newId(),
    dt: Array.from({ length: n }, () => 0),
    v: Array.from({ length: n }, () => 60),
  });
}

/** Entries of at most 10,000 samples (the protocol's most per entry) carrying `total` samples, seqs from `seq`. */
export function samplesEntries(seq: number, total: number): Mutation[] {
  const entries: Mutation[] = [];
  for (let left = total; left > 0; left -= 10_000) {
    entries.push(samplesEntry(seq + entries.length, Math.min(left, 10_000)));
  }
  return entries;
}

/** A mutation the schema would refuse (unknown name, bad args): built without the types' help on purpose. */
export function rawMutation(seq: number, name: string, args: unknown, createdAt = Date.now()): Mutation {
  return { seq, name, args, hlc: hlc(createdAt), createdAt };
}

export function pushBody(clientId: string, lane: Lane, mutations: Mutation[]): PushRequest {
  return { protocolVersion: PROTOCOL_VERSION, clientId, lane, sentAt: Date.now(), mutations };
}

type SendOptions = { gzip?: boolean; acceptGzip?: boolean; headers?: Record<string, string> };

export async function post(
  app: FastifyInstance,
  url: string,
  token: string,
  body: unknown,
  options: SendOptions = {},
): Promise<LightMyRequestResponse> {
  const json = JSON.stringify(body);
  return app.inject({
    method: 'POST',
    url,
    payload: options.gzip === true ? zlib.gzipSync(json) : json,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(options.gzip === true && { 'content-encoding': 'gzip' }),
      ...(options.acceptGzip === true && { 'accept-encoding': 'gzip' }),
      ...options.headers,
    },
  });
}

/** The JSON body of a response, gunzipped if it came compressed. */
export function responseJson(response: LightMyRequestResponse): unknown {
  const raw =
    response.headers['content-encoding'] === 'gzip'
      ? zlib.gunzipSync(response.rawPayload)
      : response.rawPayload;
  return JSON.parse(raw.toString('utf8'));
}

/** Pushes and expects 200; the response is parsed with the protocol's own schema. */
export async function push(
  app: FastifyInstance,
  user: TestUser,
  body: PushRequest,
  options: SendOptions = {},
): Promise<PushResponse> {
  const response = await post(app, '/sync/push', user.token, body, options);
  if (response.statusCode !== 200) throw new Error(`push: ${response.statusCode} ${response.body}`);
  return z.parse(PushResponse, responseJson(response));
}

/**
 * Pulls one page and expects 200; the response is parsed with PullResponse (columnar, protocol 4), decoded to
 * changes as the device does, and every row parsed with its ROW_SCHEMAS shape (strict objects: a server-only
 * column in a row fails here).
 */
export async function pull(
  app: FastifyInstance,
  user: TestUser,
  request: { clientId?: string; cursor: number; limit?: number; skip?: Array<[number, number]> },
  options: SendOptions = {},
): Promise<PullResponseV1> {
  const body = {
    protocolVersion: PROTOCOL_VERSION,
    clientId: request.clientId ?? newId(),
    cursor: request.cursor,
    ...(request.limit !== undefined && { limit: request.limit }),
    ...(request.skip !== undefined && { skip: request.skip }),
  };
  const response = await post(app, '/sync/pull', user.token, body, options);
  if (response.statusCode !== 200) throw new Error(`pull: ${response.statusCode} ${response.body}`);
  const wire = z.parse(PullResponse, responseJson(response));
  const page = { protocolVersion: wire.protocolVersion, ...decodePullPage(wire) };
  for (const change of page.changes) {
    if (change.op === 'put') z.parse(ROW_SCHEMAS[change.table], change.row);
  }
  return page;
}

/** Pulls page after page until `complete`; returns the pages. */
export async function pullAll(
  app: FastifyInstance,
  user: TestUser,
  cursor: number,
  limit?: number,
): Promise<PullResponseV1[]> {
  const pages: PullResponseV1[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const page = await pull(app, user, { cursor, ...(limit !== undefined && { limit }) });
    pages.push(page);
    if (page.complete) return pages;
    cursor = page.cursor;
  }
  throw new Error('pull never completed');
}

/** A device's view after applying pages in order: table → id → row (tombstones remove). */
export function applyPages(
  pages: PullResponseV1[],
  into: Map<string, Map<string, Record<string, unknown>>> = new Map(),
): Map<string, Map<string, Record<string, unknown>>> {
  for (const page of pages) {
    if (page.reset) into.clear();
    for (const change of page.changes) {
      const table = into.get(change.table) ?? new Map<string, Record<string, unknown>>();
      into.set(change.table, table);
      if (change.op === 'put') table.set(String(change.row.id), change.row);
      else table.delete(change.id);
    }
  }
  return into;
}

export type EventStream<T> = {
  status: number;
  next(): Promise<T>;
  onEnd(listener: () => void): void;
  close(): void;
};

/**
 * Opens `GET /sync/events` over real HTTP (`token` null: without one); `next()` resolves with the data of the next
 * event named `name` (`poke`, or `alert` for a contact's realtime alert), parsed by `parse`. Other events and the
 * heartbeat are skipped.
 */
export async function openEventStream<T>(
  baseUrl: string,
  token: string | null,
  name: string,
  parse: (data: unknown) => T,
): Promise<EventStream<T>> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${baseUrl}/sync/events`,
      { headers: token === null ? {} : { authorization: `Bearer ${token}` } },
      (response) => {
        const queue: T[] = [];
        const waiting: Array<(event: T) => void> = [];
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const lines = buffer.slice(0, end).split('\n');
            buffer = buffer.slice(end + 2);
            const data = lines.find((line) => line.startsWith('data: '));
            if (!lines.includes(`event: ${name}`) || data === undefined) continue;
            const event = parse(JSON.parse(data.slice(6)));
            const waiter = waiting.shift();
            if (waiter) waiter(event);
            else queue.push(event);
          }
        });
        resolve({
          status: response.statusCode ?? 0,
          next: () =>
            new Promise((resolveNext) => {
              const ready = queue.shift();
              if (ready) resolveNext(ready);
              else waiting.push(resolveNext);
            }),
          onEnd: (listener) => response.once('end', listener),
          close: () => request.destroy(),
        });
      },
    );
    request.on('error', reject);
  });
}
