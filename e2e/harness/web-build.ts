/**
 * Builds the web app (app + service worker, exactly as `pnpm build` does) into a temporary folder, once per build
 * id in this process. The id becomes `<html data-build>` (web/vite.config.ts reads VITALWATCH_BUILD_ID), so a
 * test can tell which build a page runs; two ids give two deployable builds for the update test.
 *
 * `--manifest` also writes `.vite/manifest.json` (not precached, not served as part of the app) so the budget
 * checks can follow the entry's static imports.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface WebBuild {
  readonly buildId: string;
  /** Absolute path of the built app: pass it to the server as WEB_DIST. */
  readonly dir: string;
}

const builds = new Map<string, Promise<WebBuild>>();

async function runViteBuild(buildId: string): Promise<WebBuild> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `vitalwatch-web-${buildId.replace(/[^\w-]/g, '_')}-`));
  const args = ['--filter', '@vitalwatch/web', 'exec', 'vite', 'build', '--configLoader', 'runner'];
  args.push('--outDir', dir, '--emptyOutDir', '--manifest', '--logLevel', 'warn');
  // Vitest sets NODE_ENV=test; a build must not inherit it (vite-plugin-pwa would build the worker with
  // Workbox's development logging, and the sizes would not be the shipped ones).
  const { NODE_ENV: _nodeEnv, ...env } = process.env;
  await new Promise<void>((resolve, reject) => {
    execFile(
      'pnpm',
      args,
      { cwd: REPO_ROOT, env: { ...env, VITALWATCH_BUILD_ID: buildId }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`web build ${buildId} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve();
      },
    );
  });
  return { buildId, dir };
}

/** The build for `buildId`, built on first use; later calls in this process share it. */
export function buildWeb(buildId: string): Promise<WebBuild> {
  let build = builds.get(buildId);
  if (build === undefined) {
    build = runViteBuild(buildId);
    builds.set(buildId, build);
    // A failed build is not cached: the next caller gets the error again from a fresh attempt.
    build.catch(() => builds.delete(buildId));
  }
  return build;
}

/** Deletes every build this process made. */
export async function removeWebBuilds(): Promise<void> {
  const all = await Promise.allSettled(builds.values());
  builds.clear();
  for (const result of all) {
    if (result.status === 'fulfilled') await rm(result.value.dir, { recursive: true, force: true });
  }
}
