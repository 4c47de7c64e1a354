/**
 * "Pull now" signals for a user's open event streams (`GET /sync/events`). In-process: a commit on this instance
 * reaches the streams on this instance. With several instances, a Postgres LISTEN/NOTIFY bridge publishes into
 * every instance's hub (see postgres-pokes.ts).
 */
import { EventEmitter } from 'node:events';
import type { UserId } from '@vitalwatch/schema/ids';

export type PokeListener = (version: number) => void;

/** Where pushes announce commits and event streams listen for them. */
export type Pokes = {
  subscribe(userId: UserId, listener: PokeListener): () => void;
  publish(userId: UserId, version: number): void;
};

/** The in-process hub: enough for one instance (and for PGlite, which is always one). */
export class PokeHub implements Pokes {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open stream; a user with many tabs and devices is not a leak.
    this.emitter.setMaxListeners(0);
  }

  subscribe(userId: UserId, listener: PokeListener): () => void {
    this.emitter.on(userId, listener);
    return () => this.emitter.off(userId, listener);
  }

  publish(userId: UserId, version: number): void {
    this.emitter.emit(userId, version);
  }

  listenerCount(userId: UserId): number {
    return this.emitter.listenerCount(userId);
  }
}
