/**
 * The package dependency direction (STYLE.md §1: schema ← web, sw, sync-server) and the module rule of §7 (no
 * `export *`), checked on every source file of every package; and that the app writes its synced data only through
 * the mutators (SPEC CL1, issue #3): outside the sync engine (web/src/sync) nothing writes a synced Dexie table.
 *
 * eslint.config.js's no-restricted-imports gives the same feedback in the editor, but it cannot see everything:
 * this test also parses dynamic `import()`, `import x = require()`, `require()`, type positions
 * (`import('x').T`) and relative paths that climb into another package's folder. Specifiers are read from the
 * TypeScript AST, so commented-out imports and strings that merely look like imports do not count.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = import.meta.dirname;

/** Workspace folders (pnpm-workspace.yaml); bench is a leaf (programs) and is only a possible import target. */
const WORKSPACE_DIRS = ['schema', 'sync-server', 'web', 'sw', 'bench'] as const;
type WorkspaceDir = (typeof WORKSPACE_DIRS)[number];

/** The source folders scanned, per package. */
const SCANNED: Partial<Record<WorkspaceDir, readonly string[]>> = {
  schema: ['src'],
  web: ['src'],
  sw: ['src'],
  'sync-server': ['src', 'test'],
};

const SOURCE_FILE = /\.(c|m)?tsx?$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'dev-dist', 'coverage']);

type ImportKind = 'import' | 'export-from' | 'dynamic import()' | 'require()' | 'import type position';

interface ImportRef {
  readonly line: number;
  readonly specifier: string;
  readonly kind: ImportKind;
}

interface ParsedFile {
  /** The file's syntax tree, kept for the other scans (the synced-table writes). */
  readonly source: ts.SourceFile;
  readonly imports: readonly ImportRef[];
  /** Lines of `export * from` / `export * as ns from`. */
  readonly exportStars: readonly { readonly line: number; readonly text: string }[];
}

interface ScannedFile extends ParsedFile {
  readonly pkg: WorkspaceDir;
  /** Repository-relative, with forward slashes. */
  readonly file: string;
}

/** Where an import specifier points. */
type Target =
  | { readonly kind: 'same-package' }
  /** `subpath` is relative to the package folder without extension, e.g. 'src/db/tables'. */
  | {
      readonly kind: 'workspace';
      readonly pkg: WorkspaceDir;
      readonly subpath: string;
      readonly viaRelativePath: boolean;
    }
  | { readonly kind: 'outside-workspace'; readonly resolved: string }
  | { readonly kind: 'external'; readonly packageName: string; readonly specifier: string };

function parseSource(fileName: string, text: string): ts.SourceFile {
  const kind = fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  return ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
}

const lineOf = (source: ts.SourceFile, node: ts.Node) =>
  source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;

function parseImports(fileName: string, text: string): ParsedFile {
  const source = parseSource(fileName, text);
  const imports: ImportRef[] = [];
  const exportStars: { line: number; text: string }[] = [];
  const literal = (node: ts.Node | undefined) =>
    node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
      ? node.text
      : null;
  const add = (node: ts.Node, specifier: string | null, kind: ImportKind) => {
    if (specifier !== null) imports.push({ line: lineOf(source, node), specifier, kind });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, literal(node.moduleSpecifier), 'import');
    } else if (ts.isExportDeclaration(node)) {
      add(node, literal(node.moduleSpecifier), 'export-from');
      if (
        node.moduleSpecifier !== undefined &&
        (node.exportClause === undefined || ts.isNamespaceExport(node.exportClause))
      ) {
        exportStars.push({ line: lineOf(source, node), text: node.getText(source) });
      }
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, literal(node.moduleReference.expression), 'require()');
    } else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        add(node, literal(node.arguments[0]), 'dynamic import()');
      } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
        add(node, literal(node.arguments[0]), 'require()');
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, literal(node.argument.literal), 'import type position');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { source, imports, exportStars };
}

function listSourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : listSourceFiles(full);
    return entry.isFile() && SOURCE_FILE.test(entry.name) ? [full] : [];
  });
}

function toRepoPath(absolute: string): string {
  return path.relative(ROOT, absolute).split(path.sep).join('/');
}

function readPackageName(dir: WorkspaceDir): string {
  const manifest: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8'));
  if (
    typeof manifest !== 'object' ||
    manifest === null ||
    !('name' in manifest) ||
    typeof manifest.name !== 'string'
  ) {
    throw new Error(`${dir}/package.json has no name`);
  }
  return manifest.name;
}

/** '@vitalwatch/schema' → 'schema', … read from each package.json so a rename cannot silently blind the test. */
const WORKSPACE_BY_NAME = new Map(WORKSPACE_DIRS.map((dir) => [readPackageName(dir), dir] as const));

function externalPackageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function withoutExtension(subpath: string): string {
  return subpath.replace(/\.(c|m)?[jt]sx?$/, '');
}

function resolveTarget(importer: ScannedFile, specifier: string): Target {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const resolved = toRepoPath(path.resolve(ROOT, path.dirname(importer.file), specifier));
    const [top, ...rest] = resolved.split('/');
    const pkg = WORKSPACE_DIRS.find((dir) => dir === top);
    if (pkg === undefined) return { kind: 'outside-workspace', resolved };
    if (pkg === importer.pkg) return { kind: 'same-package' };
    return { kind: 'workspace', pkg, subpath: withoutExtension(rest.join('/')), viaRelativePath: true };
  }
  const packageName = externalPackageName(specifier);
  const pkg = WORKSPACE_BY_NAME.get(packageName);
  if (pkg === undefined) return { kind: 'external', packageName, specifier };
  // Workspace packages export './*' → './src/*.ts' (see each package.json "exports").
  const sub = specifier.slice(packageName.length + 1);
  return {
    kind: 'workspace',
    pkg,
    subpath: withoutExtension(sub === '' ? 'src' : `src/${sub}`),
    viaRelativePath: false,
  };
}

function isNodeBuiltin(specifier: string): boolean {
  return (
    specifier.startsWith('node:') ||
    builtinModules.includes(specifier) ||
    builtinModules.includes(externalPackageName(specifier))
  );
}

/** Server and database libraries: never in the browser bundle, the service worker or schema. */
const SERVER_LIBRARIES = new Set(['fastify', 'pg', '@electric-sql/pglite']);
const isServerLibrary = (name: string) => SERVER_LIBRARIES.has(name) || name.startsWith('@fastify/');
/** Browser/UI and storage libraries that schema must stay independent of. */
const isClientLibrary = (name: string) =>
  name === 'dexie' || name === 'solid-js' || name.startsWith('workbox-');

const scanned: readonly ScannedFile[] = Object.entries(SCANNED).flatMap(([pkg, dirs]) =>
  dirs.flatMap((dir) =>
    listSourceFiles(path.join(ROOT, pkg, dir)).map((absolute): ScannedFile => {
      const file = toRepoPath(absolute);
      return { pkg: pkg as WorkspaceDir, file, ...parseImports(file, fs.readFileSync(absolute, 'utf8')) };
    }),
  ),
);

/**
 * Every import in the given packages for which `reason` returns a string, formatted for the failure message as
 * 'file:line  kind 'specifier' — reason'. An empty list means the rule holds.
 */
function violations(
  packages: readonly WorkspaceDir[],
  reason: (target: Target, ref: ImportRef) => string | null,
) {
  return scanned
    .filter((file) => packages.includes(file.pkg))
    .flatMap((file) =>
      file.imports.flatMap((ref) => {
        const why = reason(resolveTarget(file, ref.specifier), ref);
        return why === null ? [] : [`${file.file}:${ref.line}  ${ref.kind} '${ref.specifier}' — ${why}`];
      }),
    );
}

describe('architecture (STYLE.md §1, §7)', () => {
  it('scans source files in every package, and the parser finds every kind of import', () => {
    for (const pkg of Object.keys(SCANNED)) {
      expect(
        scanned.filter((file) => file.pkg === pkg).length,
        `no .ts/.tsx files found under ${pkg}/ — did a folder move?`,
      ).toBeGreaterThan(0);
    }
    const parsed = parseImports(
      'fixture.tsx',
      [
        "import a from 'static';",
        "import type { B } from 'type-only';",
        "export { c } from 'named-reexport';",
        "export * from 'star';",
        "export * as ns from 'star-as';",
        "const d = await import('dynamic');",
        "import e = require('import-equals');",
        "const f = require('require-call');",
        "type G = import('type-position').G;",
        "// import h from 'commented-out';",
        'const i = \'import j from "in-a-string"\';',
      ].join('\n'),
    );
    expect(parsed.imports.map((ref) => ref.specifier)).toEqual([
      'static',
      'type-only',
      'named-reexport',
      'star',
      'star-as',
      'dynamic',
      'import-equals',
      'require-call',
      'type-position',
    ]);
    expect(parsed.exportStars.map((star) => star.line)).toEqual([4, 5]);
  });

  it('schema depends on no other workspace package: it is the bottom layer (schema ← web, sw, sync-server)', () => {
    expect(
      violations(['schema'], (target) =>
        target.kind === 'workspace' ? `schema must not depend on ${target.pkg}` : null,
      ),
    ).toEqual([]);
  });

  it('schema imports nothing from Node, the DOM libraries, Dexie, fastify or a database driver', () => {
    expect(
      violations(['schema'], (target) => {
        if (target.kind !== 'external') return null;
        if (isNodeBuiltin(target.specifier))
          return 'a Node built-in (schema also runs in the browser and the SW)';
        if (isServerLibrary(target.packageName)) return 'a server/database library';
        if (isClientLibrary(target.packageName)) return 'a browser/UI/storage library';
        return null;
      }),
    ).toEqual([]);
  });

  it('web and sw never import sync-server code, the drizzle table files or server libraries', () => {
    expect(
      violations(['web', 'sw'], (target) => {
        if (target.kind === 'workspace' && target.pkg === 'sync-server')
          return 'server code in the browser bundle';
        if (target.kind === 'workspace' && target.pkg === 'schema' && target.subpath.startsWith('src/db/')) {
          return 'the drizzle table files (@vitalwatch/schema/db/*) are server-only';
        }
        if (
          target.kind === 'external' &&
          (isServerLibrary(target.packageName) || target.packageName === 'drizzle-orm')
        ) {
          return 'a server/database library in the browser bundle';
        }
        return null;
      }),
    ).toEqual([]);
  });

  it('web and sw use no Node built-ins: they run in the browser and in a service worker', () => {
    expect(
      violations(['web', 'sw'], (target) =>
        target.kind === 'external' && isNodeBuiltin(target.specifier) ? 'a Node built-in' : null,
      ),
    ).toEqual([]);
  });

  it('sw takes from web only its framework-free sync library (web/src/sync), never UI code', () => {
    expect(
      violations(['sw'], (target) =>
        target.kind === 'workspace' && target.pkg === 'web' && !target.subpath.startsWith('src/sync/')
          ? `sw may import only @vitalwatch/web/sync/* (got ${target.subpath})`
          : null,
      ),
    ).toEqual([]);
  });

  it('web/src/sync stays framework-free (it runs in the service worker): no Solid, no app code outside the folder', () => {
    const offending = scanned
      .filter((file) => file.file.startsWith('web/src/sync/'))
      .flatMap((file) =>
        file.imports
          .filter((ref) => {
            if (ref.specifier.startsWith('solid-js')) return true;
            if (!ref.specifier.startsWith('.')) return false;
            const resolved = toRepoPath(path.resolve(ROOT, path.dirname(file.file), ref.specifier));
            return !resolved.startsWith('web/src/sync/');
          })
          .map((ref) => `${file.file}:${ref.line}  ${ref.specifier}`),
      );
    expect(offending).toEqual([]);
  });

  it('sync-server never imports the web app or the service worker', () => {
    expect(
      violations(['sync-server'], (target) =>
        target.kind === 'workspace' && (target.pkg === 'web' || target.pkg === 'sw')
          ? `sync-server must not depend on ${target.pkg}`
          : null,
      ),
    ).toEqual([]);
  });

  it('packages reach each other only by package name, never by a relative path into another package or outside the workspace', () => {
    expect(
      violations(['schema', 'web', 'sw', 'sync-server'], (target) => {
        if (target.kind === 'workspace' && target.viaRelativePath) {
          return `import it as '${[...WORKSPACE_BY_NAME].find(([, dir]) => dir === target.pkg)?.[0]}/…' (its package.json exports)`;
        }
        if (target.kind === 'outside-workspace')
          return `resolves to ${target.resolved}, outside every package`;
        return null;
      }),
    ).toEqual([]);
  });

  it('no import cycle inside web, sw or schema, type-only imports included (a cycle makes load order and the bundle fragile)', () => {
    // sync-server still has two (alerts/dispatcher ↔ plan-incidents, sms-events ↔ safe-reply): left to its owners.
    const files = scanned.filter((file) => file.pkg !== 'sync-server');
    const known = new Set(files.map((file) => file.file));
    const edges = new Map(
      files.map((file) => [
        file.file,
        file.imports
          .filter((ref) => ref.specifier.startsWith('.'))
          .map((ref) => toRepoPath(path.resolve(ROOT, path.dirname(file.file), ref.specifier)))
          .filter((target) => known.has(target)),
      ]),
    );
    const cycles: string[] = [];
    const done = new Set<string>();
    const path_: string[] = [];
    const visit = (file: string) => {
      if (done.has(file)) return;
      const at = path_.indexOf(file);
      if (at >= 0) {
        cycles.push([...path_.slice(at), file].join(' → '));
        return;
      }
      path_.push(file);
      for (const next of edges.get(file) ?? []) visit(next);
      path_.pop();
      done.add(file);
    };
    for (const file of known) visit(file);
    expect(cycles).toEqual([]);
  });

  it('[SO6] the device and the service worker never spell "open incident" out themselves: they ask isOpenIncident', () => {
    const spelled =
      /status\s*===\s*'active'\s*\|\||status\s*===\s*'acknowledged'\s*\|\||'active',\s*'acknowledged'\]/;
    const offenders = scanned
      .filter((file) => (file.pkg === 'web' || file.pkg === 'sw') && !/\.test\.tsx?$/.test(file.file))
      .filter((file) => spelled.test(file.source.text))
      .map((file) => file.file);
    expect(offenders).toEqual([]);
  });

  it('no file uses `export *`: re-export by name, or import from the defining file', () => {
    const stars = scanned.flatMap((file) =>
      file.exportStars.map((star) => `${file.file}:${star.line}  ${star.text}`),
    );
    expect(stars).toEqual([]);
  });
});

/** Dexie's write methods on a Table or a Collection. */
const DEXIE_WRITES = new Set([
  'add',
  'bulkAdd',
  'put',
  'bulkPut',
  'update',
  'bulkUpdate',
  'delete',
  'bulkDelete',
  'clear',
  'modify',
]);

/**
 * Device tables the app may write outside the sync engine: `meta` (the last sync time it shows) and `rejections`
 * (the user dismisses one). Every other table of `LocalDb` holds synced rows or their outbox, bases and samples.
 */
const APP_WRITABLE_TABLES = new Set(['meta', 'rejections']);
const LOCAL_DB_FILE = 'web/src/sync/local-db.ts';

/** The tables `LocalDb` declares (`declare name: Table<…>`), read from its AST so a new table is guarded at once. */
function localDbTables(): string[] {
  const source = parseSource(LOCAL_DB_FILE, fs.readFileSync(path.join(ROOT, LOCAL_DB_FILE), 'utf8'));
  const localDb = source.statements.find(
    (node): node is ts.ClassDeclaration => ts.isClassDeclaration(node) && node.name?.text === 'LocalDb',
  );
  return (localDb?.members ?? []).flatMap((member) =>
    ts.isPropertyDeclaration(member) &&
    ts.isIdentifier(member.name) &&
    member.type !== undefined &&
    ts.isTypeReferenceNode(member.type) &&
    /^(Entity)?Table$/.test(member.type.typeName.getText(source))
      ? [member.name.text]
      : [],
  );
}

interface TableUse {
  readonly line: number;
  readonly table: string;
  /** The write (`put`, `modify`, `transaction('rw')`, …), or null for a read. */
  readonly write: string | null;
}

/**
 * Every use of a guarded table in a file: `x.table.m(…)` and chains through it (`x.table.where(…).modify(…)`),
 * `x.table(name)`, `x.rows(name)` (a name that is not a literal counts as any table), and a read-write
 * `transaction` that names one (as a Table or by name, in an array or not). A table reached through a
 * local alias (`const t = db.mood_entries`) is not followed; the code here does not do that.
 */
function tableUses(source: ts.SourceFile, guarded: ReadonlySet<string>): TableUse[] {
  /**
   * The guarded table an expression reaches, following calls and property accesses towards the root, and the
   * node that names it (every call of one chain reaches the same node). A string names a table (`transaction`).
   */
  const tableOf = (node: ts.Expression): { table: string; node: ts.Node } | null => {
    let at: ts.Expression = node;
    for (;;) {
      if (ts.isStringLiteralLike(at)) {
        return guarded.has(at.text) ? { table: at.text, node: at } : null;
      } else if (ts.isPropertyAccessExpression(at)) {
        if (guarded.has(at.name.text)) return { table: at.name.text, node: at };
        at = at.expression;
      } else if (ts.isCallExpression(at)) {
        const callee = at.expression;
        const first = at.arguments[0];
        if (
          ts.isPropertyAccessExpression(callee) &&
          (callee.name.text === 'table' || callee.name.text === 'rows') &&
          first !== undefined
        ) {
          // A name that is not a literal could be any table.
          if (!ts.isStringLiteralLike(first)) return { table: '(any table)', node: at };
          if (guarded.has(first.text)) return { table: first.text, node: at };
        }
        at = callee;
      } else if (
        ts.isElementAccessExpression(at) ||
        ts.isNonNullExpression(at) ||
        ts.isParenthesizedExpression(at) ||
        ts.isAwaitExpression(at)
      ) {
        at = at.expression;
      } else {
        return null;
      }
    }
  };
  const uses: TableUse[] = [];
  /** A chain (`db.t.where().modify()`) is visited from its outermost call: that one is the use, read or write. */
  const counted = new Set<ts.Node>();
  const add = (node: ts.Node, found: { table: string; node: ts.Node } | null, write: string | null) => {
    if (found === null || counted.has(found.node)) return;
    counted.add(found.node);
    uses.push({ line: lineOf(source, node), table: found.table, write });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      if (method === 'transaction') {
        const [mode, ...scope] = node.arguments;
        const writes =
          mode !== undefined && ts.isStringLiteralLike(mode) && /^(rw|readwrite)/.test(mode.text);
        // Dexie takes the tables as arguments or in one array, each a Table or its name.
        const tables = scope.flatMap((arg) => (ts.isArrayLiteralExpression(arg) ? [...arg.elements] : [arg]));
        for (const table of tables) add(node, tableOf(table), writes ? "transaction('rw')" : null);
      } else {
        add(node, tableOf(node.expression.expression), DEXIE_WRITES.has(method) ? method : null);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return uses;
}

describe('the app writes synced data only through the mutators (SPEC CL1, issue #3)', () => {
  const guarded = new Set(localDbTables().filter((name) => !APP_WRITABLE_TABLES.has(name)));
  /** The app and the service worker outside the sync engine; tests write tables to set up their cases. */
  const appFiles = scanned.filter(
    ({ pkg, file }) =>
      (pkg === 'web' || pkg === 'sw') && !file.startsWith('web/src/sync/') && !/\.test\.tsx?$/.test(file),
  );
  const uses = appFiles.flatMap(({ file, source }) =>
    tableUses(source, guarded).map((use) => ({ file, ...use })),
  );

  it('reads LocalDb’s tables, and finds writes in every form it checks', () => {
    expect([...guarded]).toEqual(
      expect.arrayContaining(['mood_entries', 'emergency_incidents', 'outbox', 'samples']),
    );
    const fixture = [
      'await db.mood_entries.put(row);',
      'await db.emergency_contacts.where("phone").equals(p).modify({ name });',
      "await db.table('incident_events').add(event);",
      'await device.db.rows(table).bulkPut(rows);',
      "await db.transaction('rw', [db.meta, db.samples], async () => {});",
      "await db.transaction('rw!', 'meta', 'bases', async () => {});",
      "await db.transaction('rw', db.outbox, async () => {});",
      'await db.mood_entries.get(id);',
      "await db.transaction('r', db.mood_entries, async () => {});",
      'await db.meta.put(row);',
      'const n = await db.mood_entries.count(); await db.mood_entries.where("id").equals(id).delete();',
    ].join('\n');
    expect(tableUses(parseSource('fixture.ts', fixture), guarded)).toEqual([
      { line: 1, table: 'mood_entries', write: 'put' },
      { line: 2, table: 'emergency_contacts', write: 'modify' },
      { line: 3, table: 'incident_events', write: 'add' },
      { line: 4, table: '(any table)', write: 'bulkPut' },
      { line: 5, table: 'samples', write: "transaction('rw')" },
      { line: 6, table: 'bases', write: "transaction('rw')" },
      { line: 7, table: 'outbox', write: "transaction('rw')" },
      { line: 8, table: 'mood_entries', write: null },
      { line: 9, table: 'mood_entries', write: null },
      { line: 11, table: 'mood_entries', write: null },
      { line: 11, table: 'mood_entries', write: 'delete' },
    ]);
  });

  it('outside web/src/sync the app and the service worker only read synced tables', () => {
    // The screens do read them (live queries): a scan that sees no reads would be blind, not clean.
    expect(uses.filter((use) => use.write === null).length).toBeGreaterThan(10);
    expect(
      uses
        .filter((use) => use.write !== null)
        .map((use) => `${use.file}:${use.line}  ${use.write} on ${use.table}: write it through a mutator`),
    ).toEqual([]);
  });
});
