import { useApp } from './app-context.ts';

/** Shown on the home and SOS screens (docs/safety-practice.md: say it plainly). */
export function SafetyNotice() {
  const { prefs } = useApp();
  return (
    <p class="notice">
      SMS alerts are best effort. VitalWatch does not replace your local emergency number. If you are in
      danger, call <a href={`tel:${prefs.prefs().emergencyNumber}`}>{prefs.prefs().emergencyNumber}</a>.
    </p>
  );
}
