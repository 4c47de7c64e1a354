/** Past and open incidents with what happened to each (events as the device and server recorded them). */
import { For } from 'solid-js';
import type { IncidentEventRow } from '@vitalwatch/schema/protocol/rows';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { formatDateTime } from '../ui/relative-time.ts';

const STATUS: Record<string, string> = {
  active: 'Open',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved: you were safe',
  cancelled: 'Cancelled',
};

function describe(event: IncidentEventRow): string {
  switch (event.type) {
    case 'location':
      return `Location ${event.latitude?.toFixed(5) ?? '?'}, ${event.longitude?.toFixed(5) ?? '?'}`;
    case 'sms_composer_opened':
      return 'Messaging app opened for the SMS';
    case 'sms_user_reported':
      return 'You answered whether the SMS sent';
    case 'acknowledged':
      return 'Acknowledged';
    case 'resolved':
      return 'Marked safe';
    case 'cancelled':
      return 'Cancelled';
  }
}

export default function HistoryScreen() {
  const { device } = useApp();
  const incidents = createLiveQuery(
    () => device.db.emergency_incidents.orderBy('triggeredAt').reverse().toArray(),
    [],
  );
  const events = createLiveQuery(() => device.db.incident_events.toArray(), []);
  const eventsOf = (id: string) =>
    events()
      .filter((e) => e.incidentId === id)
      .sort((a, b) => a.at - b.at);

  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Incident history</h2>
      <ul class="history">
        <For each={incidents()} fallback={<li>No incidents.</li>}>
          {(incident) => (
            <li>
              <strong>
                SOS {incident.code} · {STATUS[incident.status]}
              </strong>{' '}
              {formatDateTime(incident.triggeredAt)}
              <ul>
                <For each={eventsOf(incident.id)}>
                  {(event) => (
                    <li>
                      {formatDateTime(event.at)}: {describe(event)}
                    </li>
                  )}
                </For>
              </ul>
            </li>
          )}
        </For>
      </ul>
    </section>
  );
}
