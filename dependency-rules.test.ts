/**
 * The import rules (.dependency-cruiser.cjs, ADR 0025) as tests: the repository keeps them (SPEC CL17, CL18), and
 * the rules do catch each kind of break, in every form of import, on a small made-up repository. `pnpm lint` runs
 * the same tool on the same folders (`pnpm lint:deps`).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = import.meta.dirname;
/** The CLI itself (the package exports no bin path), as `pnpm lint:deps` runs it. */
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
/** What `pnpm lint:deps` cruises, read from package.json so the two cannot drift apart. */
async function lintedPaths(): Promise<string[]> {
  const manifest = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = manifest.scripts['lint:deps'] ?? '';
  return script.split(/\s+/).slice(3); // depcruise --config .dependency-cruiser.cjs <paths…>
}

type Violation = { rule: string; from: string; to: string; cycle?: string[] };

async function cruise(
  cwd: string,
  paths: readonly string[],
): Promise<{ modules: number; violations: Violation[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [DEPCRUISE, '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json', ...paths],
    { cwd, maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const result = JSON.parse(stdout) as {
    summary: {
      totalCruised: number;
      violations: { rule: { name: string }; from: string; to: string; cycle?: { name: string }[] }[];
    };
  };
  return {
    modules: result.summary.totalCruised,
    violations: result.summary.violations.map((v) => ({
      rule: v.rule.name,
      from: v.from,
      to: v.to,
      ...(v.cycle && { cycle: v.cycle.map((c) => c.name) }),
    })),
  };
}

describe('import rules (dependency-cruiser)', () => {
  it('[CL17][CL18] the repository keeps them: no cycle, the package directions and the layers hold', async () => {
    const paths = await lintedPaths();
    expect(paths).toEqual(expect.arrayContaining(['schema/src', 'web/src', 'sw/src', 'sync-server/src']));
    const { modules, violations } = await cruise(ROOT, paths);
    // A cruise that found nothing would be blind, not clean.
    expect(modules).toBeGreaterThan(300);
    expect(violations).toEqual([]);
  });

  it('[CL17][CL18] they catch a cycle, a wrong direction and a layer broken, by any form of import', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-deps-'));
    const files: Record<string, string> = {
      'tsconfig.base.json': await fs.readFile(path.join(ROOT, 'tsconfig.base.json'), 'utf8'),
      // A type-only cycle is a cycle.
      'web/src/ui/a.ts': "import type { B } from './b.ts';\nexport type A = B | 1;\n",
      'web/src/ui/b.ts': "import type { A } from './a.ts';\nexport type B = A | 2;\n",
      // The sync library takes nothing from the app (a dynamic import) and no test support in product code.
      'web/src/sync/s.ts':
        "export const s = () => import('../ui/a.ts');\nexport type T = import('../../test-support/t.ts').T;\n",
      'web/test-support/t.ts': 'export type T = 1;\n',
      // A lower layer imports a higher one (a type position).
      'web/src/media/m.ts': "export type D = import('../screens/screen.ts').S;\n",
      'web/src/screens/screen.ts': 'export type S = 1;\n',
      // schema: a Node built-in, a server library, another package.
      'schema/src/p.ts':
        "import fs from 'node:fs';\nimport 'fastify';\nimport '@vitalwatch/web/sync/s.ts';\nexport const p = fs;\n",
      // The service worker reaches UI code by a relative path; a require() of a Node built-in.
      'sw/src/w.ts':
        "import '../../web/src/ui/a.ts';\nconst os = require('node:os');\nexport const w = os;\n",
      // The server's sync routes import alert delivery.
      'sync-server/src/sync/r.ts': "export { x } from '../alerts/x.ts';\n",
      'sync-server/src/alerts/x.ts': 'export const x = 1;\n',
    };
    try {
      for (const [file, text] of Object.entries(files)) {
        await fs.mkdir(path.join(dir, path.dirname(file)), { recursive: true });
        await fs.writeFile(path.join(dir, file), text);
      }
      const { violations } = await cruise(dir, ['web', 'schema', 'sw', 'sync-server']);
      const found = violations.map((v) => `${v.rule}: ${v.from} → ${v.to}`).sort();
      expect(found).toEqual(
        [
          // A cycle is reported once, from one of its files.
          'no-circular: web/src/ui/a.ts → web/src/ui/b.ts',
          'web-sync-stays-framework-free: web/src/sync/s.ts → web/src/ui/a.ts',
          'product-code-not-test-support: web/src/sync/s.ts → web/test-support/t.ts',
          'web-sync-tests-only-use-test-support: web/src/sync/s.ts → web/test-support/t.ts',
          'web-layers-media-below-device: web/src/media/m.ts → web/src/screens/screen.ts',
          'schema-no-node-builtins: schema/src/p.ts → fs',
          'schema-runs-everywhere: schema/src/p.ts → fastify',
          'not-to-unresolvable: schema/src/p.ts → fastify',
          'schema-is-the-bottom-layer: schema/src/p.ts → @vitalwatch/web/sync/s.ts',
          'not-to-unresolvable: schema/src/p.ts → @vitalwatch/web/sync/s.ts',
          'sw-takes-only-web-sync: sw/src/w.ts → web/src/ui/a.ts',
          'packages-by-name: sw/src/w.ts → web/src/ui/a.ts',
          'browser-no-node-builtins: sw/src/w.ts → os',
          'server-sync-below-alerts: sync-server/src/sync/r.ts → sync-server/src/alerts/x.ts',
        ].sort(),
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
