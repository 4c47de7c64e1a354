import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/database.ts';

export function openConfiguredDatabase(config: Config): Promise<Database> {
  return config.databaseUrl === null
    ? openDatabase({ kind: 'pglite', dataDir: config.dataDir })
    : openDatabase({ kind: 'postgres', url: config.databaseUrl, unpooledUrl: config.databaseUrlUnpooled });
}
