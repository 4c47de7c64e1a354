/**
 * `incident.trigger@1`: an SOS. Creation always succeeds: a re-sent trigger (same id) is a no-op, and a short code
 * that another of the user's incidents already uses is replaced by a fresh one from the same alphabet
 * (`@vitalwatch/schema/incident-code`, SPEC CL19; pull delivers it).
 */
import { and, eq, ne } from 'drizzle-orm';
import { emergencyIncidents } from '@vitalwatch/schema/db/tables';
import { newIncidentCode } from '@vitalwatch/schema/incident-code';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { MutationRejected } from '../mutation-rejected.ts';
import { OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

async function codeTaken(ctx: MutationContext, code: string, id: string): Promise<boolean> {
  const rows = await ctx.tx
    .select({ id: emergencyIncidents.id })
    .from(emergencyIncidents)
    .where(
      and(
        eq(emergencyIncidents.userId, ctx.userId),
        eq(emergencyIncidents.code, code),
        ne(emergencyIncidents.id, id),
      ),
    );
  return rows.length > 0;
}

export async function incidentTrigger(
  ctx: MutationContext,
  args: MutatorArgs<'incident.trigger@1'>,
): Promise<MutationOutcome> {
  let code = args.code;
  // Pushes of one user are serialised by the user's version lock, so nobody takes the code between check and insert.
  while (await codeTaken(ctx, code, args.id)) code = newIncidentCode();
  // The registry's builder (the device's prediction); the server stamps when it received it.
  const built = SYNCED_TABLE_REGISTRY.emergency_incidents.build(args);
  const inserted = await ctx.tx
    .insert(emergencyIncidents)
    .values({
      ...built,
      userId: ctx.userId,
      code,
      triggeredAt: new Date(built.triggeredAt),
      receivedAt: ctx.now,
      acknowledgedAt: null,
      resolvedAt: null,
      locatedAt: built.locatedAt === null ? null : new Date(built.locatedAt),
      // Only for the words of the alerts (local time in SMS, SPEC SO4); protocol < 5 apps send none → UTC.
      ...(args.utcOffsetMinutes !== undefined && {
        deviceContext: { utcOffsetMinutes: args.utcOffsetMinutes },
      }),
      version: ctx.version,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    })
    .onConflictDoNothing({ target: emergencyIncidents.id })
    .returning({ id: emergencyIncidents.id });
  if (inserted.length > 0) return OK;
  // The id exists: our own incident sent again (no-op), or (invisible through RLS) someone else's.
  const mine = await ctx.tx
    .select({ id: emergencyIncidents.id })
    .from(emergencyIncidents)
    .where(eq(emergencyIncidents.id, args.id));
  if (mine.length > 0) return OK;
  throw new MutationRejected(
    'forbidden',
    'This alert id belongs to another account; the alert was not saved.',
  );
}
