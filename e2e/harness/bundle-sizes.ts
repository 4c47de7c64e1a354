/**
 * Byte sizes of a web build, gzip-compressed (zlib level 9, what a static server with precompression sends):
 *
 * - entry JavaScript: what index.html makes the browser load before the app can run: its module scripts, its
 *   modulepreloads, and (when the build wrote `.vite/manifest.json`, as buildWeb's does) every chunk those import
 *   statically. Dynamic imports are not counted here; the budget program also records what Chromium actually
 *   fetched on a first visit.
 * - precache: every file in the service worker's injected precache manifest (`self.__WB_MANIFEST` in sw.js),
 *   i.e. everything an installed app downloads up front. sw.js itself is reported separately.
 *
 * 1 KB = 1,000 bytes (Vite's "kB"), the stricter reading of the budgets.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export const KB = 1000;
export const BUDGETS = { entryJsGzipKb: 80, precacheGzipKb: 500 } as const;

export interface SizedFile {
  /** Path inside the build, e.g. 'assets/index-BSXcZfHr.js'. */
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface BundleSizes {
  readonly entryJs: readonly SizedFile[];
  readonly entryJsGzipBytes: number;
  readonly precache: readonly SizedFile[];
  readonly precacheGzipBytes: number;
  readonly serviceWorker: SizedFile;
}

export function sizeOf(dist: string, file: string): SizedFile {
  const content = readFileSync(path.join(dist, file));
  return { file, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
}

const sum = (files: readonly SizedFile[]) => files.reduce((total, f) => total + f.gzipBytes, 0);

/** '/assets/x.js' or 'assets/x.js' → 'assets/x.js' (same-origin paths only). */
function toBuildPath(reference: string): string | null {
  if (/^[a-z]+:\/\//i.test(reference) || reference.startsWith('//')) return null;
  return reference.replace(/^\.?\//, '').split(/[?#]/)[0] ?? null;
}

function attribute(tag: string, name: string): string | null {
  return new RegExp(`\\s${name}\\s*=\\s*["']([^"']*)["']`, 'i').exec(tag)?.[1] ?? null;
}

/** Module scripts and modulepreloads referenced by index.html. */
export function entryScriptsOf(indexHtml: string): string[] {
  const files: string[] = [];
  for (const [tag] of indexHtml.matchAll(/<script\b[^>]*>/gi)) {
    const src = attribute(tag, 'src');
    if (src !== null) files.push(src);
  }
  for (const [tag] of indexHtml.matchAll(/<link\b[^>]*>/gi)) {
    const rel = attribute(tag, 'rel');
    const href = attribute(tag, 'href');
    if (href !== null && rel !== null && rel.split(/\s+/).includes('modulepreload')) files.push(href);
  }
  return files.map(toBuildPath).filter((file): file is string => file !== null);
}

interface ManifestChunk {
  file: string;
  imports?: string[];
}

/** Adds every chunk the given files import statically, by Vite's build manifest. */
function withStaticImports(dist: string, files: string[]): string[] {
  const manifestPath = path.join(dist, '.vite', 'manifest.json');
  if (!existsSync(manifestPath)) return files;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, ManifestChunk>;
  const byFile = new Map(Object.values(manifest).map((chunk) => [chunk.file, chunk]));
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const key of byFile.get(file)?.imports ?? []) {
      const imported = manifest[key];
      if (imported !== undefined) visit(imported.file);
    }
  };
  files.forEach(visit);
  return [...seen];
}

/** The URLs in the precache manifest workbox injected into sw.js. */
export function precacheUrlsOf(swJs: string): string[] {
  const urls: string[] = [];
  for (const [entry] of swJs.matchAll(/\{[^{}]*"revision"\s*:[^{}]*\}/g)) {
    const url = /"url"\s*:\s*"([^"]+)"/.exec(entry)?.[1];
    if (url !== undefined) urls.push(url);
  }
  if (urls.length === 0) {
    throw new Error('found no precache manifest entries in sw.js: has the injection format changed?');
  }
  return urls;
}

export function measureBundleSizes(dist: string): BundleSizes {
  const entryFiles = withStaticImports(
    dist,
    entryScriptsOf(readFileSync(path.join(dist, 'index.html'), 'utf8')),
  );
  if (entryFiles.length === 0) throw new Error(`index.html in ${dist} loads no script`);
  const entryJs = entryFiles.map((file) => sizeOf(dist, file));
  const precacheFiles = [...new Set(precacheUrlsOf(readFileSync(path.join(dist, 'sw.js'), 'utf8')))];
  const precache = precacheFiles.map((url) => sizeOf(dist, toBuildPath(url) ?? url));
  return {
    entryJs,
    entryJsGzipBytes: sum(entryJs),
    precache,
    precacheGzipBytes: sum(precache),
    serviceWorker: sizeOf(dist, 'sw.js'),
  };
}
