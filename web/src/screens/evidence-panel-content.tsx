/**
 * The evidence panel (loaded lazily by evidence-panel.tsx): "Record audio" (start/stop, elapsed time), "Take a
 * photo", and the incident's files with their upload state. "Uploaded ✓" appears only once the server completed
 * the upload (it checked the hash and recorded the file); a refusal shows the server's reason and keeps the file.
 *
 * A recording lives in this module, not in the component, so it goes on when the user looks at another screen;
 * "I'm safe" stops it.
 * With the synced setting `autoRecordAudioSeconds` > 0, recording starts by itself when a new incident opens
 * (once per incident on this device).
 *
 * Nothing here is awaited by the SOS flow; every failure ends as a message in the panel.
 */
import { liveQuery } from 'dexie';
import { createEffect, createSignal, Index, on, onCleanup, onMount, Show } from 'solid-js';
import { readSession } from '../sync/auth-session.ts';
import type { LocalDb } from '../sync/local-db.ts';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { filesOfIncident, type MediaFileRow } from '../media/media-db.ts';
import { mediaDb } from '../media/media-uploads.ts';
import { nudgeEvidenceUploads } from '../media/evidence-uploads.ts';
import { MediaStorageFullError, MediaStoreError } from '../media/media-store.ts';
import {
  CaptureError,
  MAX_RECORDING_SECONDS,
  recordAudio,
  type AudioRecording,
} from '../media/record-audio.ts';
import { takePhoto } from '../media/take-photo.ts';

type ActiveRecording = { incidentId: string; handle: AudioRecording };

const [recording, setRecording] = createSignal<ActiveRecording | null>(null);
const [problem, setProblem] = createSignal<string | null>(null);
const [starting, setStarting] = createSignal(false);

/** An incident this recent when the panel first shows it counts as "just opened" for auto-recording. */
const AUTO_RECORD_WINDOW_MS = 60_000;
const AUTO_RECORDED_KEY = 'vitalwatch.autoRecordedIncident';

function messageOf(error: unknown): string {
  if (
    error instanceof CaptureError ||
    error instanceof MediaStorageFullError ||
    error instanceof MediaStoreError
  ) {
    return error.message;
  }
  console.error('VitalWatch: evidence capture failed', error);
  return 'The capture failed. Your SOS is not affected.';
}

/**
 * "I'm safe" ends the recording (the panel is gone from the screen by then, and with it the Stop button). After a
 * duress PIN the incident reads `cancelled` and the screen looks like a plain cancel: the recording goes on
 * silently to its limit, as the escalation does (docs/safety-practice.md).
 */
function stopWhenResolved(db: LocalDb, incidentId: string, handle: AudioRecording): void {
  const subscription = liveQuery(() => db.emergency_incidents.get(incidentId)).subscribe({
    next: (incident) => {
      if (incident?.status === 'resolved') handle.stop();
    },
    error: () => undefined,
  });
  void handle.stored.finally(() => subscription.unsubscribe()).catch(() => undefined);
}

/** True the first time for an incident on this device. */
function claimAutoRecord(incidentId: string): boolean {
  try {
    if (localStorage.getItem(AUTO_RECORDED_KEY) === incidentId) return false;
    localStorage.setItem(AUTO_RECORDED_KEY, incidentId);
    return true;
  } catch {
    return false;
  }
}

function formatSize(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

function percent(file: MediaFileRow): number {
  return file.size === 0 ? 0 : Math.min(100, Math.floor((file.bytesSent / file.size) * 100));
}

function FileItem(props: { file: MediaFileRow; online: boolean; signedIn: boolean }) {
  const status = () => {
    const file = props.file;
    switch (file.state) {
      case 'uploaded':
        return 'Uploaded ✓';
      case 'failed-permanent':
        return `Not accepted: ${file.message ?? 'the server refused the file'}`;
      case 'uploading':
        return `Uploading ${percent(file)} %`;
      case 'waiting':
        if (!props.signedIn) return 'Will upload after you sign in';
        if (!props.online) return 'Waiting for network';
        return (
          file.message ??
          (file.bytesSent > 0 ? `Waiting to resume (${percent(file)} %)` : 'Waiting to upload')
        );
    }
  };
  const retry = () => {
    void mediaDb()
      .files.update(props.file.id, {
        state: 'waiting',
        message: null,
        uploadUrl: null,
        uploadCreatedAt: null,
      })
      .then(() => nudgeEvidenceUploads());
  };
  return (
    <li data-testid="evidence-file" data-state={props.file.state}>
      <span>
        {props.file.kind === 'audio' ? 'Audio' : 'Photo'}
        {props.file.durationMs === null ? '' : ` ${formatDuration(props.file.durationMs)}`} ·{' '}
        {formatSize(props.file.size)} · {formatTime(props.file.capturedAt)}
      </span>
      <br />
      <span class="evidence-status">{status()}</span>
      <Show when={props.file.state !== 'uploaded' && props.file.state !== 'failed-permanent'}>
        <progress max={props.file.size} value={props.file.bytesSent} aria-label="Upload progress" />
      </Show>
      <Show when={props.file.state === 'failed-permanent'}>
        <button type="button" onClick={retry}>
          Try again
        </button>
      </Show>
    </li>
  );
}

export default function EvidencePanelContent(props: { incidentId: string }) {
  const { device, prefs } = useApp();
  const media = mediaDb();
  const files = createLiveQuery(() => filesOfIncident(media, props.incidentId), []);
  const session = createLiveQuery(() => readSession(device.db), null);
  const [online, setOnline] = createSignal(navigator.onLine);
  const [now, setNow] = createSignal(Date.now());
  let photoInput: HTMLInputElement | undefined;

  const updateOnline = () => setOnline(navigator.onLine);
  window.addEventListener('online', updateOnline);
  window.addEventListener('offline', updateOnline);
  const tick = setInterval(() => setNow(Date.now()), 500);
  onCleanup(() => {
    window.removeEventListener('online', updateOnline);
    window.removeEventListener('offline', updateOnline);
    clearInterval(tick);
  });

  // A sign-in made while files wait: upload now rather than at the queue's next backoff.
  createEffect(
    on(
      () => session()?.userId,
      (userId) => {
        if (userId !== undefined) nudgeEvidenceUploads();
      },
    ),
  );

  const mine = () => {
    const active = recording();
    return active !== null && active.incidentId === props.incidentId ? active.handle : null;
  };

  async function startRecording(maxSeconds: number): Promise<void> {
    if (recording() !== null || starting()) return;
    setProblem(null);
    setStarting(true);
    const incidentId = props.incidentId;
    try {
      const handle = await recordAudio({
        media,
        incidentId,
        maxSeconds,
        location: prefs.prefs().lastFix,
        userId: (await readSession(device.db))?.userId ?? null,
        onStored: () => nudgeEvidenceUploads(),
      });
      setRecording({ incidentId, handle });
      stopWhenResolved(device.db, incidentId, handle);
      handle.stored
        .catch((error: unknown) => setProblem(messageOf(error)))
        .finally(() => setRecording((current) => (current?.handle === handle ? null : current)));
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setStarting(false);
    }
  }

  async function onPhoto(event: Event & { currentTarget: HTMLInputElement }): Promise<void> {
    const input = event.currentTarget;
    const file = input.files?.[0];
    if (file === undefined) return;
    setProblem(null);
    try {
      await takePhoto({
        media,
        incidentId: props.incidentId,
        file,
        location: prefs.prefs().lastFix,
        userId: (await readSession(device.db))?.userId ?? null,
        onStored: () => nudgeEvidenceUploads(),
      });
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      input.value = '';
    }
  }

  onMount(() => {
    nudgeEvidenceUploads();
    void (async () => {
      const incident = await device.db.emergency_incidents.get(props.incidentId);
      const seconds = (await device.db.user_settings.toCollection().first())?.autoRecordAudioSeconds ?? 0;
      if (incident === undefined || seconds <= 0) return;
      if (Date.now() - incident.triggeredAt > AUTO_RECORD_WINDOW_MS) return;
      if (recording() !== null || !claimAutoRecord(props.incidentId)) return;
      await startRecording(seconds);
    })();
  });

  return (
    <section class="evidence" aria-labelledby="evidence-title">
      <h3 id="evidence-title">Evidence</h3>
      <p>Recordings and photos are kept on this phone and uploaded when there is a connection.</p>
      <Show
        when={mine()}
        fallback={
          <button
            type="button"
            disabled={starting() || recording() !== null}
            onClick={() => void startRecording(MAX_RECORDING_SECONDS)}
          >
            Record audio
          </button>
        }
      >
        {(handle) => (
          <p>
            <span data-testid="recording-time">
              Recording {formatDuration(now() - handle().startedAt)} /{' '}
              {formatDuration(handle().maxSeconds * 1000)}
            </span>{' '}
            <button type="button" onClick={() => handle().stop()}>
              Stop recording
            </button>
          </p>
        )}
      </Show>
      <button type="button" onClick={() => photoInput?.click()}>
        Take a photo
      </button>
      <input
        ref={(element) => (photoInput = element)}
        type="file"
        accept="image/*"
        capture="environment"
        hidden
        aria-label="Photo file"
        onChange={(event) => void onPhoto(event)}
      />
      <Show when={problem()}>
        {(message) => (
          <p class="warning" role="alert">
            {message()}
          </p>
        )}
      </Show>
      <Show when={files().length > 0}>
        <ul aria-label="Evidence files">
          <Index each={files()}>
            {(file) => <FileItem file={file()} online={online()} signedIn={session() !== null} />}
          </Index>
        </ul>
      </Show>
    </section>
  );
}
