/**
 * The local cloud's Auto Scaling group of web servers: server processes (the deployed program,
 * run with the deployed environment on a loopback port each), registered with the local load
 * balancer. As the group with ELB health checks does, a server the balancer marks unhealthy is
 * replaced: deregistered, killed if it still runs, and a new one launched. A rolling restart
 * (an instance refresh, or the reboot of every instance) launches the replacements, waits until
 * the balancer finds them healthy, then sends the old servers SIGTERM without telling the
 * balancer, as a shutdown does: each server must take itself out of rotation.
 */
import type { ChildProcess } from 'child_process';
import * as net from 'net';
import { WEB_TIER_ENV } from '../../contracts/web-tier';
import { freePort } from '../moto';
import { eachLine, exited, spawnNode } from '../processes';
import type { LocalLoadBalancer, TargetState, TargetView } from './load-balancer';

/** Options of a {@link ServerPool}. */
export interface ServerPoolOptions {
  /** Node arguments that start one server: the program (and any preload before it). */
  readonly nodeArgs: readonly string[];
  /** The server's environment (the deployed one; port, host and name are set per server). */
  readonly env: NodeJS.ProcessEnv;
  readonly balancer: LocalLoadBalancer;
  /** Prefix of the servers' ids. */
  readonly name: string;
  /** How long a new server may take to become healthy. */
  readonly healthyTimeoutMs: number;
  /**
   * The group's health check grace period: a server launched less than this long ago is not
   * replaced for being unhealthy (it may still be starting); once it has passed, it is.
   */
  readonly gracePeriodMs: number;
  /** How long a stopping server may take before SIGKILL (systemd's stop timeout). */
  readonly stopTimeoutMs: number;
  /** Each line a server prints. @default - dropped */
  readonly onLine?: (serverId: string, line: string) => void;
  /** A line for the user (replacements). @default - dropped */
  readonly note?: (line: string) => void;
  /** Working directory of the servers. @default - this process's */
  readonly cwd?: string;
}

/** A server of the pool. */
export interface PoolServer {
  readonly id: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly launchedAt: number;
  /** Being stopped on purpose (a restart, a scale-in): not to be replaced. */
  retiring: boolean;
}

/** What the pool did. */
export interface PoolStats {
  readonly servers: number;
  readonly launched: number;
  /** Servers replaced because the balancer found them unhealthy. */
  readonly replaced: number;
}

export class ServerPool {
  private readonly servers = new Map<string, PoolServer>();
  private count = 0;
  private replaced = 0;
  private stopping = false;
  private replacing = new Set<string>();

  constructor(private readonly options: ServerPoolOptions) {}

  /** Called by the owner of the balancer with every state change of a target. */
  onTargetState(target: TargetView, _previous: TargetState): void {
    const server = this.servers.get(target.id);
    if (!server || server.retiring || this.stopping || target.state !== 'unhealthy' || this.replacing.has(target.id)) return;
    const graceLeft = server.launchedAt + this.options.gracePeriodMs - Date.now();
    if (graceLeft > 0) {
      // Still in its grace period: look again when it ends.
      setTimeout(() => {
        const now = this.options.balancer.target(target.id);
        if (now) this.onTargetState(now, now.state);
      }, graceLeft + 10).unref();
      return;
    }
    this.replacing.add(target.id);
    this.options.note?.(`server ${target.id} is unhealthy in the local balancer: replacing it, as the Auto Scaling group does`);
    void this.replace(server).finally(() => this.replacing.delete(target.id));
  }

  get stats(): PoolStats {
    return { servers: this.live().length, launched: this.count, replaced: this.replaced };
  }

  /** Servers that serve or are about to (not retiring). */
  live(): PoolServer[] {
    return [...this.servers.values()].filter((s) => !s.retiring);
  }

  /** Pids of every server process. */
  pids(): number[] {
    return [...this.servers.values()].map((s) => s.child.pid!).filter(Boolean);
  }

  /** Starts a server and registers it (state `initial`); resolves once it is registered. */
  async launch(): Promise<PoolServer> {
    const id = `${this.options.name}-${++this.count}`;
    const port = await freePort();
    if (this.stopping) throw new Error(`the pool stopped before server ${id} started`);
    const child = spawnNode(this.options.nodeArgs, {
      cwd: this.options.cwd,
      env: { ...this.options.env, [WEB_TIER_ENV.port]: String(port), [WEB_TIER_ENV.host]: '127.0.0.1', [WEB_TIER_ENV.serverName]: id },
      detached: true,
    });
    eachLine(child.stdout, (line) => this.options.onLine?.(id, line));
    eachLine(child.stderr, (line) => this.options.onLine?.(id, line));
    const server: PoolServer = { id, child, url: `http://127.0.0.1:${port}`, launchedAt: Date.now(), retiring: false };
    this.servers.set(id, server);
    child.once('exit', () => {
      if (!server.retiring && !this.stopping) this.options.note?.(`server ${id} exited (${child.signalCode ?? child.exitCode}); the balancer's health checks will find it gone`);
    });
    // Registered once its program listens, as an instance joins the target group once it has
    // booted (an instance's program is up by then: a local one in a fraction of a second): its
    // first health check then counts. One that exits or never listens is registered all the same,
    // for the health checks to find it failing.
    await listening(port, child, this.options.healthyTimeoutMs);
    this.options.balancer.register(id, server.url);
    return server;
  }

  /** Launches `n` servers and waits until the balancer finds every one healthy. */
  async launchHealthy(n: number): Promise<PoolServer[]> {
    const launched = await Promise.all(Array.from({ length: n }, () => this.launch()));
    await Promise.all(launched.map((s) => this.options.balancer.waitHealthy(s.id, this.options.healthyTimeoutMs)));
    return launched;
  }

  /** Grows or shrinks the pool to `n` live servers (the newest leave first, drained by the balancer, then SIGTERM). */
  async scaleTo(n: number): Promise<void> {
    const live = this.live();
    if (n > live.length) await this.launchHealthy(n - live.length);
    else await Promise.all(live.slice(n).reverse().map((s) => this.terminate(s, true)));
  }

  /**
   * Replaces every server: launches as many new ones and waits until they are healthy, then
   * sends the old ones SIGTERM, without deregistering them first (as a reboot or `systemctl
   * restart` does), and removes them from the balancer once they have exited.
   */
  async rollingRestart(): Promise<void> {
    const old = this.live();
    for (const s of old) s.retiring = true;
    await this.launchHealthy(old.length);
    await Promise.all(old.map((s) => this.terminate(s, false)));
  }

  /** Sends `signal` to a server, as a fault would (it is not retired: the balancer will find out). */
  kill(id: string, signal: NodeJS.Signals): void {
    this.servers.get(id)?.child.kill(signal);
  }

  /** Stops every server (SIGTERM, then SIGKILL after the stop timeout). */
  /**
   * Stops every server: SIGTERM, then SIGKILL after the stop timeout, or after `graceMs` when the
   * balancer no longer sends them anything (the whole tier stops: nobody needs the readiness notice).
   */
  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.servers.values()].map((s) => this.terminate(s, false, graceMs)));
  }

  /**
   * Stops a server: with `deregisterFirst` the balancer drains it first (a scale-in or a
   * replacement, as the group does); then SIGTERM, SIGKILL after the stop timeout.
   */
  private async terminate(server: PoolServer, deregisterFirst: boolean, graceMs: number = this.options.stopTimeoutMs): Promise<void> {
    server.retiring = true;
    if (deregisterFirst) await this.options.balancer.deregister(server.id);
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
      await exited(server.child);
      clearTimeout(timer);
    }
    await this.options.balancer.deregister(server.id);
    this.servers.delete(server.id);
  }

  /**
   * Replaces a server as the group replaces an unhealthy instance: out of the balancer first, then
   * its replacement starts while it shuts down (an instance's termination does not hold up the new
   * instance's boot).
   */
  private async replace(server: PoolServer): Promise<void> {
    this.replaced++;
    server.retiring = true;
    await this.options.balancer.deregister(server.id);
    const terminated = this.terminate(server, false);
    // A replacement the tier's stop cut short is no failure (and says nothing after the stop).
    if (!this.stopping) await this.launchHealthy(1).catch((e: Error) => this.stopping || this.options.note?.(`the replacement of ${server.id} failed: ${e.message}`));
    await terminated;
  }
}

/** Resolves once something accepts a connection on 127.0.0.1:`port`, `child` has exited, or `timeoutMs` has passed. */
async function listening(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (child.exitCode === null && child.signalCode === null && Date.now() < until) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
