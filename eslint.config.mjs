// ESLint (flat config), run by `npm test`: typescript-eslint's recommended rules, and the import
// boundaries of the repository's tiers, so that a package never reaches into another's code:
//   contracts/   imports nothing of ours (each package compiles it in);
//   runtime/     (@cdk-cloud-patterns/runtime), lambda/ and apps/ (code that runs in the cloud)
//                never import aws-cdk-lib or constructs, nor the library, the local cloud or tests;
//   lib/         (the constructs, cdk-cloud-patterns) never imports the runtime, the local cloud
//                or the examples (lib/stacks/, lambda/, apps/); lib/stacks/ (the examples) may;
//   local/       (@cdk-cloud-patterns/local) reads what was deployed, never the constructs.
// A folder with a package.json (runtime/, local/) is imported by a file path, never as a folder:
// a folder import resolves to the package's built `main`, not to its source. Nowhere is the root
// of aws-cdk-lib imported (its modules' own paths are), nor cdk-nag but through a typed require.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Relative imports of a top-level folder, from any depth: `../../lib/core/x`, `../runtime/index`. */
const folder = (name) => `^(\\.\\./)+${name}(/|$)`;
const CDK = { regex: '^(aws-cdk-lib|constructs)(/|$)', message: 'runs in the cloud: it never loads aws-cdk-lib or constructs (the construct library is lib/).' };
const TESTS = { regex: `${folder('test')}|${folder('bench')}|${folder('scripts')}`, message: 'product code never imports tests, benchmarks or scripts.' };
const FOLDER_IMPORT = { regex: '^(\\.\\./)+(runtime|local)$', message: 'import a file of the package (e.g. runtime/index), not its folder: a folder import resolves to the built package.' };

// Everywhere: the root of aws-cdk-lib (and cdk-nag, whose declarations import it) puts every module's declarations into a program.
const CDK_ROOT = {
  regex: '^(aws-cdk-lib|cdk-nag)$',
  message: 'import aws-cdk-lib/core or the module\'s own path (aws-cdk-lib/aws-s3), and cdk-nag through a typed require (lib/testing/checks.ts, test/support/cdk-nag.ts): the root of aws-cdk-lib (and cdk-nag, whose declarations import it) puts every module\'s declarations, a million lines, into the programs of tsc, jsii and TypeDoc (docs/decisions.md).',
};
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns: [...patterns, FOLDER_IMPORT] }] });

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'cdk.out*/**', '.tmp/**', '.local-cloud/**', 'coverage/**', 'test/**/__fixtures__/**', '**/*.d.ts', 'bench/results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...Object.fromEntries(['process', 'console', 'Buffer', '__dirname', 'require', 'module', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'URL', 'fetch', 'AbortController', 'AbortSignal', 'performance', 'TextEncoder', 'TextDecoder', 'structuredClone', 'queueMicrotask'].map((g) => [g, 'readonly'])) } },
    rules: {
      // Unused names fail the type-check already (noUnusedLocals, noUnusedParameters); `_x` marks one kept on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      ...restrict(CDK_ROOT),
    },
  },
  {
    files: ['contracts/**'],
    rules: restrict({ regex: '^\\.\\./', message: 'the contracts import nothing of ours: every package compiles them in.' }, { regex: '^[^.]', message: 'the contracts are plain TypeScript: no package import.' }),
  },
  {
    files: ['runtime/**', 'lambda/**', 'apps/**'],
    rules: restrict(CDK, TESTS, { regex: `${folder('lib')}|${folder('local')}`, message: 'runs in the cloud: it never imports the construct library or the local cloud.' }),
  },
  {
    files: ['lib/**'],
    ignores: ['lib/stacks/**'],
    rules: restrict(TESTS, {
      regex: `${folder('runtime')}|${folder('local')}|${folder('lambda')}|${folder('apps')}|^\\.\\./stacks(/|$)|^\\./stacks(/|$)|^@cdk-cloud-patterns/`,
      message: 'the construct library never imports the runtime, the local cloud or the examples (lib/stacks, lambda, apps): it bundles the runtime from the user\'s project at synth instead.',
    }, CDK_ROOT),
  },
  {
    files: ['local/**'],
    rules: restrict(CDK, TESTS, { regex: `${folder('lib')}|${folder('lambda')}|${folder('apps')}`, message: 'the local cloud reads what was deployed (templates, workload declarations), never the constructs or the examples.' }),
  },
  {
    files: ['**/*.cjs', '**/*.js', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
