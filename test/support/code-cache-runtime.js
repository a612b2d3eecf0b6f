/**
 * Jest's runtime, with a V8 code cache of the modules under node_modules for the life of a worker.
 *
 * Jest runs every test file in a fresh module registry, so each file compiles aws-cdk-lib, the AWS
 * SDK and the rest again from source (a worker runs about twenty files). This runtime compiles a
 * node_modules file as a vm.Script of jest's own module wrapper, and when the test file ends keeps
 * V8's code cache of it (made then, so it holds the functions the file ran, not only the top
 * level); the next file that loads the same source starts from that cache. Only compiling is
 * skipped: every file still gets its own module instances, run in its own context. Our own
 * sources (transformed, with source maps) are compiled as jest compiles them. A source that
 * differs, or a cache V8 rejects, compiles from source. If jest's runtime no longer has what this
 * replaces, it runs as jest's (docs/decisions.md, "Jest keeps compiled node_modules").
 *
 * It also reads a node_modules file once per worker rather than once per test file: jest's file
 * cache lives as long as one test file, and each file read a thousand modules' text again (the
 * reads, their decoding and the fresh memory they take). A kept text is used while the file's size
 * and modification time are unchanged, and the same string goes to every test file, so that the
 * code cache's comparison of sources is one of identity.
 *
 * And it disables, when a test file ends, the AsyncLocalStorage instances that ran during it (it
 * wraps `run` and `enterWith` of Node's class in the worker to see them): see storagesRun below.
 */
'use strict';
const { AsyncLocalStorage } = require('async_hooks');
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const JestRuntime = require('jest-runtime').default;

/** filename -> { source, data }: the code cache of each node_modules file this worker compiled. */
const codeCache = new Map();
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/**
 * `readFile` (jest's file cache's, a path to its text) with the texts of node_modules files kept
 * in `kept` (filename -> { source, size, mtimeMs }) and used again while the file's size and
 * modification time are those it had when read. Any other path, or one that cannot be looked at,
 * goes to `readFile` as before.
 */
function keepNodeModulesSources(readFile, kept) {
  return (filename) => {
    if (typeof filename !== 'string' || !filename.includes(NODE_MODULES)) return readFile(filename);
    let stat;
    try {
      stat = fs.statSync(filename);
    } catch {
      return readFile(filename); // jest's own error for a file that is not there
    }
    const entry = kept.get(filename);
    if (entry !== undefined && entry.size === stat.size && entry.mtimeMs === stat.mtimeMs) return entry.source;
    const source = readFile(filename);
    kept.set(filename, { source, size: stat.size, mtimeMs: stat.mtimeMs });
    return source;
  };
}

/** The texts of the node_modules files this worker read ({@link keepNodeModulesSources}). */
const sources = new Map();

/**
 * The AsyncLocalStorage instances run while the current test file runs. Node (20) keeps every
 * instance ever run in a list it walks for each promise and callback the process creates, until
 * the instance is disabled; jest-circus runs one of its own per test file, as does a module of the
 * file's that keeps one, and nothing disables them, so a worker's later files paid for all of its
 * earlier files' (26 in one process running test/runtime). They are disabled when the file ends,
 * with the rest of its modules; an instance run again is enabled again (Node's own rule).
 */
const storagesRun = new Set();

/** Disables every AsyncLocalStorage run since the last call ({@link storagesRun}). */
function disableStoragesRun() {
  for (const storage of storagesRun) storage.disable();
  storagesRun.clear();
}
for (const method of ['run', 'enterWith']) {
  const original = AsyncLocalStorage.prototype[method];
  if (typeof original !== 'function' || typeof AsyncLocalStorage.prototype.disable !== 'function') continue;
  AsyncLocalStorage.prototype[method] = function (...args) {
    storagesRun.add(this);
    return original.apply(this, args);
  };
}

class CodeCacheRuntime extends JestRuntime {
  constructor(...args) {
    super(...args);
    this.compiledHere = [];
    const fileCache = this.fileCache;
    if (fileCache && typeof fileCache.readFile === 'function') fileCache.readFile = keepNodeModulesSources(fileCache.readFile.bind(fileCache), sources);
    const executor = this.executor;
    if (!executor || typeof executor.compile !== 'function' || !Array.isArray(executor.injectedModuleParameters) || typeof executor.dynamicImport !== 'function') return;
    const compile = executor.compile.bind(executor);
    executor.compile = (source, filename) => {
      const context = executor.environment.getVmContext();
      if (context == null || !filename.includes(NODE_MODULES)) return compile(source, filename);
      // The wrapper on the first line, its width taken off that line's columns: stack traces are unchanged.
      const head = `(function (${executor.injectedModuleParameters.join(', ')}) {`;
      const entry = codeCache.get(filename);
      const cachedData = entry !== undefined && entry.source === source ? entry.data : undefined;
      let script;
      try {
        script = new vm.Script(`${head}${source}\n})`, {
          filename,
          columnOffset: -head.length,
          cachedData,
          importModuleDynamically: (specifier, _script, importAttributes) => executor.dynamicImport(specifier, filename, context, importAttributes),
        });
      } catch {
        return compile(source, filename); // jest's own message for a syntax error
      }
      if (cachedData === undefined || script.cachedDataRejected) this.compiledHere.push({ filename, source, script });
      return script.runInContext(context);
    };
  }

  teardown() {
    disableStoragesRun();
    for (const { filename, source, script } of this.compiledHere) {
      try {
        codeCache.set(filename, { source, data: script.createCachedData() });
      } catch {
        // no cache of this one: it compiles from source next time
      }
    }
    this.compiledHere = [];
    return super.teardown();
  }
}

module.exports = CodeCacheRuntime;
module.exports.keepNodeModulesSources = keepNodeModulesSources;
module.exports.disableStoragesRun = disableStoragesRun;
