/**
 * `contact.upsert@1` and `contact.delete@1`.
 *
 * - Names, relationship, tier, notes and the two switches are last-writer-wins field by field, by HLC.
 * - The phone number is compare-and-swap: a change (or a delete) names the number the device last saw; if the
 *   server has another, the mutation is rejected as `conflict` with the server's number, and nothing changes.
 * - The same number created as two contacts (two offline devices, two ids): the later id is merged into the
 *   contact the server already has. Its fields join by LWW, its id becomes a tombstone (pull tells devices to drop
 *   it), and `contact_merges` sends every later mutation naming it to the survivor. The device hears `ok`.
 * - A deleted contact stays deleted: a later edit is rejected as `deleted`.
 * - A new phone number ends the contact's link to a VitalWatch account (SPEC AL27): that account proved itself
 *   with an alert link sent to the old number, so it may be someone else's now.
 */
import { and, eq, isNull, ne } from 'drizzle-orm';
import { contactMerges, emergencyContacts } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { advanceClocks, loadClocks, saveClocks, winningFields } from '../field-clocks.ts';
import { maxHlc } from '@vitalwatch/schema/protocol/hlc';
import { MutationRejected } from '../mutation-rejected.ts';
import { OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

type ContactFields = MutatorArgs<'contact.upsert@1'>['fields'];
type ContactField = keyof ContactFields;
type ContactRecord = typeof emergencyContacts.$inferSelect;

/** Locks the contact an id stands for now (after merges) for this mutation; `row` is absent if it never existed. */
async function lockContact(ctx: MutationContext, requestedId: string) {
  const id = await resolveContactId(ctx, requestedId);
  const [row] = await ctx.tx
    .select()
    .from(emergencyContacts)
    .where(eq(emergencyContacts.id, id))
    .for('update');
  return { id, row };
}

/** The contact an id stands for now: itself, or the contact it was merged into (following chains). */
async function resolveContactId(ctx: MutationContext, id: string): Promise<string> {
  let current = id;
  for (let hops = 0; hops < 16; hops++) {
    const [merge] = await ctx.tx
      .select({ survivorId: contactMerges.survivorId })
      .from(contactMerges)
      .where(eq(contactMerges.mergedId, current));
    if (merge === undefined) return current;
    current = merge.survivorId;
  }
  return current;
}

async function liveContactWithPhone(
  ctx: MutationContext,
  phone: string,
  exceptId: string,
): Promise<ContactRecord | undefined> {
  const [row] = await ctx.tx
    .select()
    .from(emergencyContacts)
    .where(
      and(
        eq(emergencyContacts.userId, ctx.userId),
        eq(emergencyContacts.phoneE164, phone),
        isNull(emergencyContacts.deletedAt),
        ne(emergencyContacts.id, exceptId),
      ),
    )
    .for('update');
  return row;
}

/** Applies the fields that win by HLC to `row`; bumps the row's version when anything (or `force`) changed. */
async function mergeFields(
  ctx: MutationContext,
  row: ContactRecord,
  fields: ContactFields,
  extra: { phoneE164?: string; force?: boolean } = {},
): Promise<void> {
  const clocks = await loadClocks(ctx, 'emergency_contacts', row.id);
  const winners = winningFields<ContactField>(fields, clocks, ctx.hlc);
  if (winners.length === 0 && extra.phoneE164 === undefined && extra.force !== true) return;
  const patch: Partial<ContactFields> = {};
  for (const field of winners) Object.assign(patch, { [field]: fields[field] });
  await ctx.tx
    .update(emergencyContacts)
    .set({
      ...patch,
      // The account linked from an alert link (and one asking to be) proved itself with a text to the old number.
      ...(extra.phoneE164 !== undefined && {
        phoneE164: extra.phoneE164,
        contactUserId: null,
        appLinkRequestedBy: null,
        appLinkRequestedAt: null,
      }),
      hlc: winners.length > 0 ? maxHlc(row.hlc, ctx.hlc) : row.hlc,
      version: ctx.version,
      updatedAt: ctx.now,
    })
    .where(eq(emergencyContacts.id, row.id));
  if (winners.length > 0) {
    await saveClocks(ctx, 'emergency_contacts', row.id, advanceClocks(clocks, winners, ctx.hlc));
  }
}

function phoneConflict(serverPhone: string, attempted: 'change' | 'delete'): MutationRejected {
  const outcome = attempted === 'change' ? 'your change was not applied' : 'the contact was not deleted';
  return new MutationRejected(
    'conflict',
    `This contact's number is ${serverPhone} on the server (changed on another device), so ${outcome}. ` +
      `Check which number is right, then ${attempted} the contact again.`,
  );
}

export async function contactUpsert(
  ctx: MutationContext,
  args: MutatorArgs<'contact.upsert@1'>,
): Promise<MutationOutcome> {
  const { id, row } = await lockContact(ctx, args.id);

  if (row === undefined) {
    if (args.phoneE164 === undefined) {
      throw new MutationRejected(
        'invalid_args',
        'A new contact needs a phone number. Open the contact, add the number and save it again.',
      );
    }
    const twin = await liveContactWithPhone(ctx, args.phoneE164, id);
    if (twin !== undefined) {
      // Same person created on two devices: keep the contact the server had first.
      await mergeFields(ctx, twin, args.fields, { force: true });
      await ctx.tx.insert(emergencyContacts).values({
        id,
        userId: ctx.userId,
        name: args.fields.name ?? twin.name,
        phoneE164: args.phoneE164,
        hlc: ctx.hlc,
        deletedAt: ctx.now,
        version: ctx.version,
        createdAt: ctx.now,
        updatedAt: ctx.now,
      });
      await ctx.tx.insert(contactMerges).values({
        mergedId: id,
        userId: ctx.userId,
        survivorId: twin.id,
        version: ctx.version,
        createdAt: ctx.now,
      });
      return OK;
    }
    // The registry's builder, as the device built its own copy.
    const built = SYNCED_TABLE_REGISTRY.emergency_contacts.build(args, {
      hlc: ctx.hlc,
      at: ctx.now.getTime(),
    });
    if (built === null) {
      throw new MutationRejected(
        'invalid_args',
        'A new contact needs a name. Open the contact, add a name and save it again.',
      );
    }
    await ctx.tx.insert(emergencyContacts).values({
      ...built,
      id,
      userId: ctx.userId,
      version: ctx.version,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    });
    const written = Object.keys(args.fields).filter((f) => args.fields[f as ContactField] !== undefined);
    await saveClocks(ctx, 'emergency_contacts', id, advanceClocks({}, written, ctx.hlc));
    return OK;
  }

  if (row.deletedAt !== null) {
    throw new MutationRejected(
      'deleted',
      'This contact was deleted on another device, so this edit was not kept. Add the contact again if you still need them.',
    );
  }

  let newPhone: string | undefined;
  if (args.phoneE164 !== undefined && args.phoneE164 !== row.phoneE164) {
    if (args.expectedPhoneE164 !== row.phoneE164) throw phoneConflict(row.phoneE164, 'change');
    const holder = await liveContactWithPhone(ctx, args.phoneE164, row.id);
    if (holder !== undefined) {
      throw new MutationRejected(
        'conflict',
        `${args.phoneE164} already belongs to your contact "${holder.name}". Edit or delete that contact first.`,
      );
    }
    newPhone = args.phoneE164;
  }
  await mergeFields(ctx, row, args.fields, newPhone === undefined ? {} : { phoneE164: newPhone });
  return OK;
}

export async function contactDelete(
  ctx: MutationContext,
  args: MutatorArgs<'contact.delete@1'>,
): Promise<MutationOutcome> {
  const { id, row } = await lockContact(ctx, args.id);
  // Never created (its creation was rejected) or already deleted: nothing to do.
  if (row === undefined || row.deletedAt !== null) return OK;
  if (row.phoneE164 !== args.expectedPhoneE164) throw phoneConflict(row.phoneE164, 'delete');
  await ctx.tx
    .update(emergencyContacts)
    .set({ deletedAt: ctx.now, version: ctx.version, updatedAt: ctx.now })
    .where(eq(emergencyContacts.id, id));
  return OK;
}
