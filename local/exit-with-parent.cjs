// Preloaded (node -r) into every Node child of the local cloud: the child exits when its
// parent's IPC channel closes, so it never outlives the local cloud, even one killed with
// SIGKILL. The channel is unreferenced so that it alone does not keep a finished child alive.
// Plain CommonJS, not TypeScript: it runs before any loader.
'use strict';
if (process.channel) {
  process.on('disconnect', () => process.exit(70));
  process.channel.unref();
}
