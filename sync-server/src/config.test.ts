import { expect, it } from 'vitest';
import { readConfig } from './config.ts';

it('defaults to embedded PGlite in ./data on port 8787 with embedded auth', () => {
  const config = readConfig({});
  expect(config).toMatchObject({ port: 8787, databaseUrl: null, supabase: null, publicUrl: null });
  expect(config.dataDir).toMatch(/\/data$/);
});

it('treats empty variables as unset and trims a trailing slash from URLs', () => {
  const config = readConfig({ DATABASE_URL: '', PUBLIC_URL: 'https://vw.example.org/', SUPABASE_URL: '' });
  expect(config).toMatchObject({ databaseUrl: null, publicUrl: 'https://vw.example.org', supabase: null });
});

it('refuses a bad value, naming the variable', () => {
  expect(() => readConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  expect(() => readConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
  expect(() => readConfig({ SUPABASE_URL: 'https://x.supabase.co' })).toThrow(/SUPABASE_ANON_KEY/);
});

it('switches to Supabase Auth when SUPABASE_URL and SUPABASE_ANON_KEY are set', () => {
  const config = readConfig({
    SUPABASE_URL: 'https://x.supabase.co/',
    SUPABASE_ANON_KEY: 'anon',
    DATABASE_URL: 'postgres://u@h/db',
  });
  expect(config.supabase).toEqual({ url: 'https://x.supabase.co', anonKey: 'anon', serviceKey: null });
  expect(config.databaseUrl).toBe('postgres://u@h/db');
});

it('[PL9] purges tombstones daily by default; TOMBSTONE_PURGE_INTERVAL_MINUTES sets the interval, 0 turns it off', () => {
  expect(readConfig({}).tombstonePurgeIntervalMs).toBe(24 * 60 * 60_000);
  expect(readConfig({ TOMBSTONE_PURGE_INTERVAL_MINUTES: '30' }).tombstonePurgeIntervalMs).toBe(30 * 60_000);
  expect(readConfig({ TOMBSTONE_PURGE_INTERVAL_MINUTES: '0' }).tombstonePurgeIntervalMs).toBeNull();
  expect(readConfig({ TOMBSTONE_PURGE_INTERVAL_MINUTES: '' }).tombstonePurgeIntervalMs).toBe(
    24 * 60 * 60_000,
  );
  expect(() => readConfig({ TOMBSTONE_PURGE_INTERVAL_MINUTES: 'hourly' })).toThrow(
    /TOMBSTONE_PURGE_INTERVAL_MINUTES/,
  );
  expect(() => readConfig({ TOMBSTONE_PURGE_INTERVAL_MINUTES: '30000' })).toThrow(
    /TOMBSTONE_PURGE_INTERVAL_MINUTES/,
  );
});

it('[SE21] sync quotas default to 100,000 samples a push, 1,000,000 a day and 128 MiB a day; the SYNC_MAX_* variables set them', () => {
  expect(readConfig({}).syncQuotas).toEqual({
    samplesPerPush: 100_000,
    samplesPerDay: 1_000_000,
    pushBytesPerDay: 128 * 1024 * 1024,
  });
  const set = readConfig({
    SYNC_MAX_SAMPLES_PER_PUSH: '20000',
    SYNC_MAX_SAMPLES_PER_DAY: '50000',
    SYNC_MAX_PUSH_MIB_PER_DAY: '16',
  });
  expect(set.syncQuotas).toEqual({
    samplesPerPush: 20_000,
    samplesPerDay: 50_000,
    pushBytesPerDay: 16 * 1024 * 1024,
  });
  expect(() => readConfig({ SYNC_MAX_SAMPLES_PER_DAY: '0' })).toThrow(/SYNC_MAX_SAMPLES_PER_DAY/);
  expect(() => readConfig({ SYNC_MAX_SAMPLES_PER_PUSH: '5000' })).toThrow(/at least 10000/);
  expect(() => readConfig({ SYNC_MAX_SAMPLES_PER_PUSH: '60000', SYNC_MAX_SAMPLES_PER_DAY: '50000' })).toThrow(
    /SYNC_MAX_SAMPLES_PER_PUSH is larger/,
  );
});
