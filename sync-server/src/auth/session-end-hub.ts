/**
 * "This session has ended" notices for whatever a session keeps open: today the event streams (`GET /sync/events`,
 * which also carry realtime alerts). Sign-out and refresh-token reuse publish the sessions they revoked, after
 * their transaction committed; a stream of such a session ends at once (SPEC SE42).
 *
 * In-process by default. On Postgres, postgres-pokes.ts carries them to every instance over LISTEN/NOTIFY; a notice
 * lost while that connection is down is caught by the stream's own check of its session at each heartbeat.
 */
import { EventEmitter } from 'node:events';

export type SessionEnds = {
  /** Calls `listener` once the session ends; returns the unsubscribe. */
  subscribe(sessionId: string, listener: () => void): () => void;
  publish(sessionId: string): void;
};

export class SessionEndHub implements SessionEnds {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open stream; many devices on one session are not a leak.
    this.emitter.setMaxListeners(0);
  }

  subscribe(sessionId: string, listener: () => void): () => void {
    this.emitter.on(sessionId, listener);
    return () => this.emitter.off(sessionId, listener);
  }

  publish(sessionId: string): void {
    this.emitter.emit(sessionId);
  }
}
