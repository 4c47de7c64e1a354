import * as z from 'zod/mini';
import { E164_PATTERN } from '../phone-patterns.ts';

export const Uuid = z.uuid();
export const UuidV7 = z.uuid({ version: 'v7' });
/** Milliseconds since the Unix epoch. */
export const EpochMs = z.int().check(z.minimum(0), z.maximum(8_640_000_000_000_000));
export const Seq = z.int().check(z.minimum(1));
/** Hybrid logical clock, `<physical ms, 13 digits>-<counter, 4 hex>-<node id>`: sorts as text. */
export const Hlc = z.string().check(z.regex(/^\d{13}-[0-9a-f]{4}-[0-9a-f-]{1,36}$/));
export const E164 = z.string().check(z.regex(new RegExp(E164_PATTERN)));

export const Location = z.strictObject({
  lat: z.number().check(z.minimum(-90), z.maximum(90)),
  lng: z.number().check(z.minimum(-180), z.maximum(180)),
  accuracyM: z.optional(z.number().check(z.minimum(0))),
  at: EpochMs,
});
export type Location = z.infer<typeof Location>;

/** The highest distress rating (SPEC WB21): a coping tool's use is rated 0 (no distress) … DISTRESS_MAX. */
export const DISTRESS_MAX = 10;
export const DistressScale = z.int().check(z.minimum(0), z.maximum(DISTRESS_MAX));
