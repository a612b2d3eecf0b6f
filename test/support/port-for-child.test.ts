/**
 * portForChild (test/support/local-aws.ts): a port for a process started later to bind, below the
 * system's ephemeral range, free when picked.
 */
import * as fs from 'fs';
import * as net from 'net';
import { portForChild } from './local-aws';

test('picks a free port below the ephemeral range, where listen(0) never hands one out', async () => {
  const low = fs.existsSync('/proc/sys/net/ipv4/ip_local_port_range')
    ? Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    : 32_768;
  const ports = await Promise.all(Array.from({ length: 5 }, () => portForChild()));
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(20_000);
    expect(port).toBeLessThan(low);
    // and it can be bound now
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
    await new Promise((r) => server.close(r));
  }
});
