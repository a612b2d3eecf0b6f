/**
 * Watches the agent's own event loop: heartbeats, lease renewals and receives are timers and
 * callbacks on it, so while something computes on it (a handler run without job threads, say)
 * none of them fires, and a message comes back to the queue while its job still runs.
 *
 * Two measures: perf_hooks' monitorEventLoopDelay (never reset) gives the longest delay since the
 * start, for the stats; and a tick every 100 ms measures how late it fires, which tells each hold
 * apart as it ends (a histogram read and reset on a timer can miss a hold that its own sampling
 * timer has not recorded yet, or one that began before its first sample).
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'perf_hooks';

/** Holds from about this long are reported: a heartbeat due then was late by as much. */
export const EVENT_LOOP_BLOCK_REPORT_MS = 1000;

/** How often the tick fires; a hold is measured to within this. */
const TICK_MS = 100;

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private lastTick: number;
  private max = 0;
  private blocks = 0;

  /** @param onBlocked called when the loop was held for about `thresholdMs` or more, with how long */
  constructor(private readonly onBlocked: (blockedMs: number) => void, private readonly thresholdMs: number = EVENT_LOOP_BLOCK_REPORT_MS) {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** The longest the loop was held, in ms, since the monitor started. */
  public get maxDelayMs(): number {
    const sampled = this.histogram.count > 0 ? this.histogram.max / 1e6 : 0;
    return Math.round(Math.max(this.max, sampled));
  }

  /** Times the loop was held for about the threshold or more. */
  public get blockCount(): number {
    return this.blocks;
  }

  /** Measures now (the tick does it every 100 ms); a stop calls it to count a hold that just ended. */
  public tick(): void {
    const now = performance.now();
    // Late by the hold, less the part of it that fell before the tick was due (at most a tick).
    const late = Math.max(0, now - this.lastTick - TICK_MS);
    this.lastTick = now;
    this.max = Math.max(this.max, late);
    if (late >= this.thresholdMs - TICK_MS) {
      this.blocks += 1;
      this.onBlocked(Math.round(late));
    }
  }

  public stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
