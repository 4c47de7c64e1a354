/**
 * `incident.event@1`: appends one event to an incident's log and folds it through the state machine
 * (../incident-machine.ts). Every event is stored, whatever the machine says, with its outcome.
 *
 * A duress cancel is a cancel to anyone looking at the device: the incident shows `cancelled`, later events are
 * absorbed as after any cancel, and pull never carries `duress` or `silent_escalation`. Only the server knows, and
 * its alert jobs keep escalating from the events' locations. So that the ledger cannot tell either, every cancel
 * takes the incident's ledger rows off devices (pulled-tables.ts, AL29).
 */
import { eq } from 'drizzle-orm';
import { alertLogs, emergencyIncidents, incidentEvents } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { stepIncident } from '@vitalwatch/schema/protocol/incident-machine';
import { MutationRejected } from '../mutation-rejected.ts';
import { OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

type IncidentPatch = Partial<typeof emergencyIncidents.$inferInsert>;

export async function incidentEvent(
  ctx: MutationContext,
  args: MutatorArgs<'incident.event@1'>,
): Promise<MutationOutcome> {
  const existing = await ctx.tx
    .select({ id: incidentEvents.id, outcome: incidentEvents.outcome })
    .from(incidentEvents)
    .where(eq(incidentEvents.id, args.id));
  // The same event sent again under a new seq (e.g. re-queued after a local reset) is recognised by its id: it is
  // stored already, with its outcome, so it changes nothing and is `ok`, as a re-sent trigger is (CF2). A first
  // refusal (`illegal`) was answered and recorded when it happened; it is not answered or logged again (CF14).
  if (existing[0] !== undefined) return OK;

  const [incident] = await ctx.tx
    .select({
      status: emergencyIncidents.status,
      locatedAt: emergencyIncidents.locatedAt,
    })
    .from(emergencyIncidents)
    .where(eq(emergencyIncidents.id, args.incidentId))
    .for('update');
  if (incident === undefined) {
    throw new MutationRejected(
      'unknown_incident',
      'This update is for an alert the server does not have. If the alert is still going on, start a new one.',
    );
  }

  const step = stepIncident(incident.status, args.type);
  // The registry's builder, as the device predicts the event; the server-only columns beside it.
  const built = SYNCED_TABLE_REGISTRY.incident_events.build(args, step.outcome);
  await ctx.tx.insert(incidentEvents).values({
    ...built,
    userId: ctx.userId,
    at: new Date(built.at),
    locatedAt: built.locatedAt === null ? null : new Date(built.locatedAt),
    contactIds: args.contactIds ?? null,
    sent: args.sent ?? null,
    duress: args.duress ?? false,
    version: ctx.version,
    createdAt: ctx.now,
  });

  if (step.outcome === 'absorbed') return OK;
  if (step.outcome === 'illegal') {
    return { status: 'rejected', code: 'illegal_transition', message: step.why, kept: true };
  }

  const patch: IncidentPatch = {};
  if (step.to !== incident.status) {
    patch.status = step.to;
    if (step.to === 'acknowledged') patch.acknowledgedAt = new Date(args.at);
    if (step.to === 'resolved' || step.to === 'cancelled') patch.resolvedAt = new Date(args.at);
    if (step.to === 'cancelled' && args.duress === true) patch.silentEscalation = true;
  }
  const location = args.location;
  if (
    location !== undefined &&
    (incident.locatedAt === null || location.at >= incident.locatedAt.getTime())
  ) {
    patch.latitude = location.lat;
    patch.longitude = location.lng;
    patch.accuracyMeters = location.accuracyM ?? null;
    patch.locatedAt = new Date(location.at);
  }
  if (Object.keys(patch).length > 0) {
    await ctx.tx
      .update(emergencyIncidents)
      .set({ ...patch, version: ctx.version, updatedAt: ctx.now })
      .where(eq(emergencyIncidents.id, args.incidentId));
  }
  if (patch.status === 'cancelled') {
    // A cancelled incident, duress or not, has no ledger on devices (AL29): its rows become tombstones for them at
    // the cancel's version, so a device that pulled some drops them, as a fresh pull never shows them.
    await ctx.tx
      .update(alertLogs)
      .set({ version: ctx.version })
      .where(eq(alertLogs.incidentId, args.incidentId));
  }
  return OK;
}
