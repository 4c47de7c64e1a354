/**
 * SPEC CL1 (issue #3): the app writes its synced data only through the mutators. Outside the sync engine
 * (web/src/sync) nothing writes a synced Dexie table, its outbox, bases or samples; the screens only read them.
 *
 * Most of it is a type (RG6): `LocalDb` gives every synced table by name (`db.mood_entries`) a read-only view, so
 * `db.mood_entries.put(…)` does not compile (local-db.test.ts proves it). This scan keeps what the type cannot
 * see: a write through a collection (`db.t.where(…).modify(…)`), a table reached by name (`db.table(…)`,
 * `db.rows(…)`), a read-write transaction, and the outbox, bases and samples. Import rules are
 * dependency-cruiser's (.dependency-cruiser.cjs). It reads the TypeScript syntax tree, so comments and strings
 * that merely look like writes do not count.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { SYNCED_TABLE_REGISTRY } from './schema/src/protocol/synced-tables.ts';

const ROOT = import.meta.dirname;
const SCANNED_DIRS = ['web/src', 'sw/src'];
const SOURCE_FILE = /\.(c|m)?tsx?$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'dev-dist', 'coverage']);

function parseSource(fileName: string, text: string): ts.SourceFile {
  const kind = fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  return ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
}

const lineOf = (source: ts.SourceFile, node: ts.Node) =>
  source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;

function listSourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : listSourceFiles(full);
    return entry.isFile() && SOURCE_FILE.test(entry.name) ? [full] : [];
  });
}

const scanned = SCANNED_DIRS.flatMap((dir) =>
  listSourceFiles(path.join(ROOT, dir)).map((absolute) => {
    const file = path.relative(ROOT, absolute).split(path.sep).join('/');
    return { file, source: parseSource(file, fs.readFileSync(absolute, 'utf8')) };
  }),
);

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

/** The synced tables (the registry's) and the tables `LocalDb` declares, so a new table is guarded at once. */
function localDbTables(): string[] {
  return [...Object.keys(SYNCED_TABLE_REGISTRY), ...declaredTables()];
}

/** The tables `LocalDb` declares (`declare name: Table<…>`), read from its AST. */
function declaredTables(): string[] {
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
        const target = node.expression.expression;
        // `db.<synced table>.put(…)` does not compile (the read-only view, RG6): the type keeps that one.
        const typed =
          ts.isPropertyAccessExpression(target) && Object.hasOwn(SYNCED_TABLE_REGISTRY, target.name.text);
        add(node, tableOf(target), DEXIE_WRITES.has(method) && !typed ? method : null);
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
    ({ file }) => !file.startsWith('web/src/sync/') && !/\.test\.tsx?$/.test(file),
  );
  const uses = appFiles.flatMap(({ file, source }) =>
    tableUses(source, guarded).map((use) => ({ file, ...use })),
  );

  it('[CL1] reads LocalDb’s tables, and finds writes in every form it checks', () => {
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
      // The compiler refuses this one (RG6); the scan leaves it to the type.
      { line: 1, table: 'mood_entries', write: null },
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

  it('[CL1] outside web/src/sync the app and the service worker only read synced tables', () => {
    // The screens do read them (live queries): a scan that sees no reads would be blind, not clean.
    expect(uses.filter((use) => use.write === null).length).toBeGreaterThan(10);
    expect(
      uses
        .filter((use) => use.write !== null)
        .map((use) => `${use.file}:${use.line}  ${use.write} on ${use.table}: write it through a mutator`),
    ).toEqual([]);
  });
});
