/** Jest runs TypeScript through @swc/jest (no type-checking: `npm run typecheck` does that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  // One moto per worker for the whole run, wiped before each file that uses it (test/support/shared-moto.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Known slow files first, so none starts last on a fresh clone (no timing cache yet).
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
  // node_modules compiled once per worker, not once per test file (test/support/code-cache-runtime.js).
  runtime: '<rootDir>/test/support/code-cache-runtime.js',
  testTimeout: 60_000,
  // In the project, not the temporary folder: npm test points TMPDIR at a scratch folder it removes (scripts/test.ts).
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  // Four workers on this 2-core machine: many files wait on emulators and child processes (the
  // worker-agent files use a quarter to a third of a core), so more files than cores fill that
  // time. Measured with npm test (the type-check and the lint beside jest): jest 245 s with three
  // workers, 223 s with four, every test passing (docs/decisions.md, Local cloud and tests).
  maxWorkers: 4,
  // Jest reported "A worker process has failed to exit gracefully" at the end of every full run,
  // though no test leaves a handle open: each worker ends its event loop at once, but the process
  // takes 0.3 to 0.7 ms per MB of its memory to go away on this VM (a worker of 0.5 to 1.5 GB, so
  // past jest's 0.5 s), and jest then kills it and prints that warning. 5 s keeps the warning
  // for a true leak (docs/decisions.md, "A worker's slow exit is not a leak").
  workerGracefulExitTimeout: 5_000,
};
