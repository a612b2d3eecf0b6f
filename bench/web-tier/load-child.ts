/**
 * Load for the web-tier benchmark, in its own process so that it does not share the balancer's
 * event loop or the benchmark's: autocannon against argv[2] with argv[3] connections, for argv[4]
 * seconds or until the parent sends `stop`; then it sends its figures (and its own CPU time) and exits.
 */
import autocannon from 'autocannon';

const [url, connections, seconds] = process.argv.slice(2);
const cpu = process.cpuUsage();
const instance = autocannon({ url: url!, connections: Number(connections), duration: Number(seconds) }, (error, r) => {
  if (error) {
    process.send!({ type: 'error', message: String(error) });
  } else {
    const used = process.cpuUsage(cpu);
    process.send!({
      type: 'result',
      requests: r.requests.total,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      failed: r.non2xx + r.errors + r.timeouts,
      durationMs: r.duration * 1000,
      cpuMs: (used.user + used.system) / 1000,
    });
  }
  process.disconnect();
});
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') instance.stop();
});
