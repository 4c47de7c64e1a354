/**
 * The two ways of appending one user's sensor batch that the bench compares. Both are one statement per batch,
 * both skip rows whose id already exists (a retried upload), and both convert from the columnar batch inside the
 * timed region, because the server has to do that conversion too.
 */
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { sensorReadings } from '@vitalwatch/schema/db/tables';
import type { Db } from '@vitalwatch/sync-server/db/database';
import type { SensorBatch } from './sensor-samples.ts';

export type AppendMethodName = 'unnest' | 'drizzle-values';

export type AppendMethod = {
  name: AppendMethodName;
  append(db: Db, userId: UserId, batch: SensorBatch): Promise<void>;
};

/**
 * The bulk lane's statement (docs/sync-design.md): five bind parameters whatever the batch size, so the statement
 * text is constant and nothing grows with the batch but the arrays. The user id is a scalar next to the unnest
 * (unnest only takes arrays; sending the same id 10,000 times would only add bytes).
 */
export const unnestAppend: AppendMethod = {
  name: 'unnest',
  async append(db, userId, batch) {
    const recordedAt = batch.recordedAtMs.map((ms) => new Date(ms).toISOString());
    await db.execute(sql`
      insert into ${sensorReadings} (id, user_id, recorded_at, kind, value)
      select u.id, ${userId}::uuid, u.recorded_at, u.kind, u.value
      from unnest(
        ${sql.param(batch.ids)}::uuid[],
        ${sql.param(recordedAt)}::timestamptz[],
        ${sql.param(batch.kinds)}::smallint[],
        ${sql.param(batch.values)}::real[]
      ) as u(id, recorded_at, kind, value)
      on conflict do nothing`);
  },
};

/** drizzle's multi-row VALUES: 5 bind parameters per row, a statement text that grows with the batch. */
export const drizzleValuesAppend: AppendMethod = {
  name: 'drizzle-values',
  async append(db, userId, batch) {
    const rows = batch.ids.map((id, i) => ({
      id,
      userId,
      recordedAt: new Date(batch.recordedAtMs[i] ?? 0),
      kind: batch.kinds[i] ?? 0,
      value: batch.values[i] ?? 0,
    }));
    await db.insert(sensorReadings).values(rows).onConflictDoNothing();
  },
};
