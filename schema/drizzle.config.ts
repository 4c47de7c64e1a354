import { defineConfig } from 'drizzle-kit';

// Generates SQL migrations into ./drizzle from the tables of record. Roles and grants live in the hand-written
// migration 0000 (drizzle-kit cannot create a role only if it is missing).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/tables.ts',
  out: './drizzle',
});
