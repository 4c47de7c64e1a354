/**
 * `settings.update@1`: the user's settings row, last-writer-wins field by field, by HLC. The PIN verifiers
 * (`cancelPin`, `duressPin`) are fields like the others, stored in their server-only columns
 * (db/pin-verifier-column.ts); pull only ever says whether one is set. `name` and `emergencyNumber` (protocol 6,
 * SPEC SO40) are the profile's `display_name` and `emergency_number` (users): the alert text and page read them
 * there, and pull joins them into the settings row, whose version this mutation moves.
 */
import { eq } from 'drizzle-orm';
import { userSettings, users } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { advanceClocks, loadClocks, saveClocks, winningFields } from '../field-clocks.ts';
import { maxHlc } from '@vitalwatch/schema/protocol/hlc';
import { encodePinVerifier } from '../../db/pin-verifier-column.ts';
import { OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

type SettingsFields = MutatorArgs<'settings.update@1'>['fields'];

export async function settingsUpdate(
  ctx: MutationContext,
  args: MutatorArgs<'settings.update@1'>,
): Promise<MutationOutcome> {
  // Provisioning creates the row; a user created some other way gets the defaults first.
  await ctx.tx
    .insert(userSettings)
    .values({ userId: ctx.userId })
    .onConflictDoNothing({ target: userSettings.userId });
  const [row] = await ctx.tx
    .select({ hlc: userSettings.hlc })
    .from(userSettings)
    .where(eq(userSettings.userId, ctx.userId))
    .for('update');
  const clocks = await loadClocks(ctx, 'user_settings', ctx.userId);
  const winners = winningFields<keyof SettingsFields>(args.fields, clocks, ctx.hlc);
  if (winners.length === 0) return OK;
  const patch: Partial<SettingsFields> = {};
  for (const field of winners) Object.assign(patch, { [field]: args.fields[field] });
  const { cancelPin, duressPin, name, emergencyNumber, ...columns } = patch;
  if (name !== undefined || emergencyNumber !== undefined) {
    await ctx.tx
      .update(users)
      .set({
        ...(name !== undefined && { displayName: profileName(name) }),
        ...(emergencyNumber !== undefined && { emergencyNumber }),
        updatedAt: ctx.now,
      })
      .where(eq(users.id, ctx.userId));
  }
  await ctx.tx
    .update(userSettings)
    .set({
      ...columns,
      ...(cancelPin !== undefined && { cancelPinHash: encodePinVerifier(cancelPin) }),
      ...(duressPin !== undefined && { duressPinHash: encodePinVerifier(duressPin) }),
      hlc: maxHlc(row?.hlc ?? null, ctx.hlc),
      version: ctx.version,
      updatedAt: ctx.now,
    })
    .where(eq(userSettings.userId, ctx.userId));
  await saveClocks(ctx, 'user_settings', ctx.userId, advanceClocks(clocks, winners, ctx.hlc));
  return OK;
}

/** A name with its outer spaces trimmed; nothing left = no name (alerts then use none). */
function profileName(name: string | null): string | null {
  const trimmed = name?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
}
