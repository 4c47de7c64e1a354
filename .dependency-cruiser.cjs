/**
 * The one enforcer of what may import what (issue 15, ADR 0025, SPEC CL17): the direction between the workspace
 * packages, the layers inside them, and no import cycles. `pnpm lint` runs it (`pnpm lint:deps` alone), so CI does.
 *
 * Paths are repository-relative. dependency-cruiser sees every form of import the TypeScript compiler does: static,
 * `export … from`, dynamic `import()`, `require()`, `import x = require()`, type-only imports and `import('x').T`
 * type positions (tsPreCompilationDeps), and a workspace package's name resolves to the file it names (each
 * package.json's "exports"), so `@vitalwatch/web/sync/x` and `../web/src/sync/x` are the same edge.
 *
 * What the tool cannot express stays elsewhere: no `export *` is an eslint rule (eslint.config.js), and "outside
 * web/src/sync nothing writes a synced table" (SPEC CL1) is web/src/sync/synced-writes.test.ts.
 */

/** The packages whose source the package rules hold for (bench, integration and e2e are programs and tests). */
const PACKAGES = '^(schema|web|sw|sync-server)/';
const TESTS = '(\\.test\\.tsx?$|^web/test-support/|^sync-server/test/)';
/** Server and database libraries: never in the browser bundle, the service worker or schema. */
const SERVER_LIBRARIES = '(^|node_modules/)(fastify|@fastify/[^/]+|pg|@electric-sql/pglite)(/|$)';
/** Browser, UI and storage libraries that schema stays independent of. */
const CLIENT_LIBRARIES = '(^|node_modules/)(dexie|solid-js|workbox-[^/]+)(/|$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No import cycles, type-only ones included: a cycle makes load order matter and every file in it one unit. ' +
        'Move the shared part (often a type) into a file both sides import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file (a moved or misspelt path) would blind every other rule.',
      from: {},
      to: { couldNotResolve: true, pathNot: '^virtual:' },
    },

    // --- the package direction: schema ← web, sw, sync-server (docs/coding-habits.md §1) -----------------------
    {
      name: 'schema-is-the-bottom-layer',
      severity: 'error',
      comment: 'schema depends on no other workspace package.',
      from: { path: '^schema/' },
      to: { path: '^(@vitalwatch/)?(web|sw|sync-server|bench|integration|e2e)/' },
    },
    {
      name: 'schema-runs-everywhere',
      severity: 'error',
      comment:
        'schema runs unchanged in the browser, the service worker and the server: no Node built-ins, no DOM, Dexie, ' +
        'fastify or database-driver code.',
      from: { path: '^schema/src/' },
      to: { path: `(${SERVER_LIBRARIES}|${CLIENT_LIBRARIES})` },
    },
    {
      name: 'schema-no-node-builtins',
      severity: 'error',
      from: { path: '^schema/src/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-no-server-code',
      severity: 'error',
      comment:
        'The web app and the service worker never import sync-server code, the drizzle table files ' +
        '(schema/src/db: server-only) or server/database libraries: they would be bundled into the browser.',
      from: { path: '^(web|sw)/' },
      to: {
        path: `^(@vitalwatch/)?(sync-server/|schema/src/db/|schema/db/)|(^|node_modules/)drizzle-orm(/|$)|${SERVER_LIBRARIES}`,
      },
    },
    {
      name: 'browser-no-node-builtins',
      severity: 'error',
      comment:
        'Browser and service-worker code cannot use Node built-ins (build tooling in web/ runs in Node).',
      from: { path: '^(web/src|sw/src)/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'sw-takes-only-web-sync',
      severity: 'error',
      comment:
        'The service worker takes from web only its framework-free sync library (web/src/sync), never UI code.',
      from: { path: '^sw/' },
      to: { path: '^web/', pathNot: '^web/src/sync/' },
    },
    {
      name: 'server-not-browser',
      severity: 'error',
      comment: 'sync-server never imports the web app or the service worker.',
      from: { path: '^sync-server/' },
      to: { path: '^(@vitalwatch/)?(web|sw)/' },
    },
    {
      name: 'packages-by-name',
      severity: 'error',
      comment:
        'A package reaches another only by its name (its package.json exports), never by a relative path into the ' +
        'other folder or outside the workspace.',
      from: { path: `${PACKAGES}` },
      to: { dependencyTypes: ['local'], pathNot: '^$1/' },
    },
    {
      name: 'product-code-not-test-support',
      severity: 'error',
      comment:
        'Fakes, test devices and fuzz scenarios (web/test-support, sync-server/test) are for tests: no product ' +
        'file imports them, so no package entry exports them (SPEC CL18).',
      from: { path: PACKAGES, pathNot: TESTS },
      to: { path: '^(web/test-support|sync-server/test)/' },
    },

    // --- layers inside web: screens → ui → device → media → sync (and sos, the SOS domain helpers) -------------
    {
      name: 'web-sync-stays-framework-free',
      severity: 'error',
      comment:
        'web/src/sync runs in the service worker and in Node tests: no Solid, and nothing of the app outside the ' +
        'folder (its tests may use web/test-support).',
      from: { path: '^web/src/sync/' },
      to: { path: '^web/|(^|node_modules/)solid-js(/|$)', pathNot: '^web/(src/sync|test-support)/' },
    },
    {
      name: 'web-sync-tests-only-use-test-support',
      severity: 'error',
      from: { path: '^web/src/sync/', pathNot: TESTS },
      to: { path: '^web/test-support/' },
    },
    {
      name: 'web-layers-device-below-ui',
      severity: 'error',
      comment: 'device (the device object, prefs, sensors) is below ui and screens.',
      from: { path: '^web/src/device/' },
      to: { path: '^web/src/(ui|screens)/|^web/src/(app|main)\\.tsx$' },
    },
    {
      name: 'web-layers-media-below-device',
      severity: 'error',
      comment: 'media (evidence capture and uploads) is below device, ui and screens.',
      from: { path: '^web/src/media/' },
      to: { path: '^web/src/(device|ui|screens)/|^web/src/(app|main)\\.tsx$' },
    },
    {
      name: 'web-layers-sos-below-ui',
      severity: 'error',
      comment: 'sos (codes, SMS text, location schedule) is below ui and screens.',
      from: { path: '^web/src/sos/' },
      to: { path: '^web/src/(ui|screens)/|^web/src/(app|main)\\.tsx$' },
    },
    {
      name: 'web-layers-wellbeing-below-screens',
      severity: 'error',
      comment:
        'wellbeing (coping tools, support sheet logic and its small components; issue #16) is below ui and screens.',
      from: { path: '^web/src/wellbeing/' },
      to: { path: '^web/src/(ui|screens)/|^web/src/(app|main)\\.tsx$' },
    },
    {
      name: 'web-layers-ui-below-screens',
      severity: 'error',
      comment: 'ui (shared components, app context, flows) is below screens.',
      from: { path: '^web/src/ui/' },
      to: { path: '^web/src/screens/|^web/src/(app|main)\\.tsx$' },
    },
    {
      name: 'web-screens-below-app',
      severity: 'error',
      from: { path: '^web/src/screens/' },
      to: { path: '^web/src/(app|main)\\.tsx$' },
    },

    // --- layers inside sync-server: app/main → alerts, storage → sync → auth, http → db ------------------------
    {
      name: 'server-sync-below-alerts',
      severity: 'error',
      comment:
        'Alert delivery depends on sync (pokes, the mutators it reuses, what a push changed), never back: the ' +
        'sync routes hand alerts what they need through callbacks and shapes of their own (pushed-changes.ts).',
      from: { path: '^sync-server/src/sync/' },
      to: { path: '^sync-server/src/(alerts|storage)/' },
    },
    {
      name: 'server-alerts-and-storage-apart',
      severity: 'error',
      comment:
        'Alert delivery and the evidence store meet only in app.ts (a signer passed in), not by import.',
      from: { path: '^sync-server/src/(alerts|storage)/', pathNot: TESTS },
      to: { path: '^sync-server/src/(alerts|storage)/', pathNot: '^sync-server/src/$1/' },
    },
    {
      name: 'server-db-is-the-bottom',
      severity: 'error',
      comment: 'db (connections, withUser, version counters) imports no feature folder.',
      from: { path: '^sync-server/src/db/', pathNot: TESTS },
      to: { path: '^sync-server/src/(alerts|storage|sync|auth|http)/' },
    },
    {
      name: 'server-entry-points-on-top',
      severity: 'error',
      comment: 'Only main.ts and tests start the app: no feature imports app.ts or main.ts.',
      from: { path: '^sync-server/src/', pathNot: `${TESTS}|^sync-server/src/(main|migrate-main)\\.ts$` },
      to: { path: '^sync-server/src/(app|main)\\.ts$' },
    },
  ],
  options: {
    exclude: { path: '(^|/)(dist|dev-dist|coverage)/|^bench/results/' },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (a type cycle is still a cycle).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
