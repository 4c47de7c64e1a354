/**
 * Lint is for correctness; prettier owns style (no stylistic rules, no eslint-plugin-prettier).
 *
 * Layers, in order: ignores → JS + typescript-eslint type-checked recommendations → our correctness rules →
 * per-runtime globals → relaxations for tests. What may import what (package directions, layers, no cycles) is
 * dependency-cruiser's alone (.dependency-cruiser.cjs, run by `pnpm lint` after eslint), not repeated here.
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TS_AND_JS = ['**/*.{ts,tsx,mts,cts,js,mjs,cjs}'];
const TESTS = ['**/*.test.{ts,tsx}', '**/test/**/*.ts'];
/** Files that run in Node at build or dev time even though they live in a browser package. */
const WEB_NODE_TOOLING = ['web/vite.config.ts', 'web/scripts/**'];

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    'data/',
    'sync-server/data/',
    'web/dev-dist/',
    'schema/drizzle/',
    '**/coverage/',
  ]),

  {
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
      reportUnusedInlineConfigs: 'error',
    },
  },

  {
    files: TS_AND_JS,
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: {
          // Files in no package tsconfig: linted with the root tsconfig's options (Node types, strict).
          // Globs must not use `**` here, and each one must stay small (the default project is slow).
          allowDefaultProject: ['schema/drizzle.config.ts', 'web/scripts/*.mjs', '.dependency-cruiser.cjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Un-awaited promises swallow errors (a failed SOS send must never vanish silently). `void p` marks the
      // deliberate fire-and-forget.
      '@typescript-eslint/no-floating-promises': 'error',
      // Solid's JSX handlers may return promises (onClick={async () => …}); everywhere else a promise passed
      // where a void callback is expected is a bug (e.g. an async fastify hook given to a sync API).
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      // `return promise` inside try/catch skips the catch and runs `finally` (releasing a lock or a transaction)
      // before the promise settles.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // A union state/event with a case missing is a silent fall-through; docs/coding-habits.md §8 wants missing pairs to fail.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      // verbatimModuleSyntax keeps every import not marked `type` at runtime: keep type-only imports marked, and
      // never leave `import { type A } from 'x'`, which still loads 'x' for its side effects.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'all',
          caughtErrorsIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // An async function without `await` is harmless (and often deliberate: it turns a sync throw into a
      // rejection, or satisfies a Promise-returning signature); the real bug, a missing await at the call site,
      // is no-floating-promises' job.
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'smart'],
      // docs/coding-habits.md §7: import from the defining file; a package's entry lists its exports by name.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ExportAllDeclaration[exported=null]',
          message:
            'No `export * from`: re-export by name, or import from the defining file (docs/coding-habits.md §7).',
        },
        {
          selector: 'ExportAllDeclaration[exported!=null]',
          message: 'No `export * as ns from`: import from the defining file (docs/coding-habits.md §7).',
        },
      ],
    },
  },

  // Runtimes. TypeScript already knows each package's globals (its tsconfig `lib`/`types`), so `no-undef` is off
  // for TS files by typescript-eslint; these globals matter for plain JS files.
  {
    files: ['**/*.{js,mjs,cjs}', 'sync-server/**', 'bench/**', ...WEB_NODE_TOOLING, '*.ts', 'schema/*.ts'],
    languageOptions: { globals: globals.node },
  },
  { files: ['web/src/**'], languageOptions: { globals: globals.browser } },
  { files: ['sw/src/**'], languageOptions: { globals: globals.serviceworker } },

  {
    files: TESTS,
    rules: {
      // Tests poke at untyped JSON responses and mocks; keep the promise rules, which catch un-awaited
      // `expect(...).rejects` and missing awaits.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
