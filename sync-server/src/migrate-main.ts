// `pnpm db:migrate`: applies the committed migrations to the configured database (embedded or DATABASE_URL).
import { readConfig } from './config.ts';
import { openConfiguredDatabase } from './open-configured-database.ts';

const config = readConfig(process.env);
const database = await openConfiguredDatabase(config);
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
