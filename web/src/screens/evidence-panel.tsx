/**
 * `<EvidencePanel incidentId=… />` on the open incident: record audio, take photos, and see each file's upload.
 *
 * This file is only the boundary, and it is all the SOS screen's entry chunk carries: the panel itself
 * (evidence-panel-content.tsx, with the media database and tus-js-client) is a lazy chunk. It has its own
 * Suspense (nothing is shown while it loads, so the app-wide "Loading…" never replaces the incident) and its own
 * ErrorBoundary (a chunk that fails to load or a panel that throws leaves the SOS screen as it was).
 */
import { ErrorBoundary, lazy, Suspense } from 'solid-js';

const EvidencePanelContent = lazy(() => import('./evidence-panel-content.tsx'));

export function EvidencePanel(props: { incidentId: string }) {
  return (
    <ErrorBoundary
      fallback={(error: unknown) => {
        console.error('VitalWatch: the evidence panel failed', error);
        return (
          <p class="warning">Recording and photos are not available right now. Your SOS is not affected.</p>
        );
      }}
    >
      <Suspense fallback={null}>
        <EvidencePanelContent incidentId={props.incidentId} />
      </Suspense>
    </ErrorBoundary>
  );
}
