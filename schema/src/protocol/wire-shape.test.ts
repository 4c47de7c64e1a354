import * as z from 'zod';
import { expect, it } from 'vitest';
import { PullRequest, PushRequest } from './client-messages.ts';
import { MUTATORS } from './mutators.ts';
import { PROTOCOL_VERSION } from './protocol-version.ts';
import { ROW_SCHEMAS } from './synced-tables.ts';
import { Poke, PullResponse, PullResponseV1, PushResponse } from './server-messages.ts';

// The snapshot is keyed by PROTOCOL_VERSION: changing any message or mutator shape without bumping the version
// fails here. After a deliberate bump, run `pnpm vitest run -u` and commit the new snapshot with a history note
// in protocol-version.ts.
it(`[PV1] the wire shapes of protocol v${PROTOCOL_VERSION} have not changed`, () => {
  const shapes = {
    PushRequest,
    PushResponse,
    PullRequest,
    PullResponse,
    PullResponseV1,
    Poke,
    ...Object.fromEntries(Object.entries(MUTATORS).map(([name, m]) => [name, m.args])),
    ...Object.fromEntries(Object.entries(ROW_SCHEMAS).map(([table, row]) => [`row:${table}`, row])),
  };
  const jsonSchemas = Object.fromEntries(
    Object.entries(shapes).map(([name, schema]) => [
      name,
      z.toJSONSchema(schema, { unrepresentable: 'any' }),
    ]),
  );
  expect(jsonSchemas).toMatchSnapshot();
});
