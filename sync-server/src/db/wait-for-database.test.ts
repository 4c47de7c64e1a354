import { describe, expect, it } from 'vitest';
import { MAX_RETRY_MS, waitForDatabase } from './wait-for-database.ts';

/** How node-postgres (through drizzle) reports a database that is not listening yet. */
function refused(): Error {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  return new Error('Failed query: select pg_advisory_lock(7715001)', { cause });
}

describe('waitForDatabase (start-up)', () => {
  it('[DF4] tries again while the database is unreachable, backing off to 15 s, and says what it waits for', async () => {
    const slept: number[] = [];
    const logged: string[] = [];
    let attempts = 0;
    const result = await waitForDatabase(
      'migrations',
      async () => {
        attempts += 1;
        if (attempts <= 7) throw refused();
        return 'migrated';
      },
      { log: (message) => logged.push(message), sleep: async (ms) => void slept.push(ms) },
    );
    expect(result).toBe('migrated');
    expect(slept).toEqual([500, 1_000, 2_000, 4_000, 8_000, MAX_RETRY_MS, MAX_RETRY_MS]);
    expect(logged).toHaveLength(7);
    expect(logged[0]).toBe(
      'migrations: waiting for the database (connect ECONNREFUSED 127.0.0.1:5432); attempt 1 failed, trying again in 0.5 s',
    );
  });

  it('[DF4] a drop mid-migration (57P01, then a dead connection) is waited out too', async () => {
    const failures: Error[] = [
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      new Error('Connection terminated unexpectedly'),
    ];
    const result = await waitForDatabase(
      'migrations',
      async () => {
        const failure = failures.shift();
        if (failure !== undefined) throw failure;
        return 'migrated';
      },
      { log: () => {}, sleep: async () => {} },
    );
    expect(result).toBe('migrated');
  });

  it('[DF4] a failure that waiting cannot fix (a wrong password) ends start-up at once', async () => {
    const wrongPassword = Object.assign(new Error('password authentication failed for user "vw"'), {
      code: '28P01',
    });
    const slept: number[] = [];
    await expect(
      waitForDatabase(
        'migrations',
        async () => {
          throw wrongPassword;
        },
        { log: () => {}, sleep: async (ms) => void slept.push(ms) },
      ),
    ).rejects.toBe(wrongPassword);
    expect(slept).toEqual([]);
  });
});
