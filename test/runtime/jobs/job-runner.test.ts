/**
 * JobRunner's signal, without an emulator (no idempotency): the job's signal is made when the
 * handler first reads it, and reads the same whenever that is: aborted at the deadline, aborted
 * when the worker stops, never after the job settled. One stop listener per stop signal, however
 * many jobs run.
 */
import { getEventListeners } from 'events';
import { setTimeout as sleep } from 'timers/promises';
import { defineJobHandler, type JobContext } from '../../../runtime/index';
import { JobRunner } from '../../../runtime/jobs/job-runner';
import type { JobMessage } from '../../../runtime/jobs/types';

const message = (n = 1): JobMessage => ({ messageId: `m-${n}`, body: JSON.stringify({ n }), receiveCount: 1 } as JobMessage);

/** A runner whose handler runs `body` with the job's context. */
function runnerOf(body: (context: JobContext) => Promise<unknown>) {
  return new JobRunner(defineJobHandler(async (_job: { n: number }, context) => body(context)).definition, undefined);
}

describe('JobRunner: the job\'s signal', () => {
  test('read at the start, it aborts at the deadline, saying so', async () => {
    let signal: AbortSignal | undefined;
    const runner = runnerOf(async (context) => {
      signal = context.signal;
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
      return 'stopped';
    });
    const outcome = await runner.run(message(), Date.now() + 50);
    expect(outcome).toEqual({ ok: true, result: 'stopped' });
    expect(signal!.aborted).toBe(true);
    expect((signal!.reason as Error).message).toBe('the job passed its deadline');
  });

  test('read first after the deadline passed, it is already aborted', async () => {
    const runner = runnerOf(async (context) => {
      await sleep(Math.max(context.deadline - Date.now(), 0) + 20);
      return { aborted: context.signal.aborted, reason: (context.signal.reason as Error | undefined)?.message };
    });
    expect(await runner.run(message(), Date.now() + 30)).toEqual({ ok: true, result: { aborted: true, reason: 'the job passed its deadline' } });
  });

  test('read first after the worker began stopping, it is already aborted; read before, it aborts then', async () => {
    const stop = new AbortController();
    const seen: string[] = [];
    const early = runnerOf(async (context) => {
      const signal = context.signal;
      await sleep(60);
      seen.push(`early ${signal.aborted} ${(signal.reason as Error).message}`);
    });
    const late = runnerOf(async (context) => {
      await sleep(60);
      seen.push(`late ${context.signal.aborted} ${(context.signal.reason as Error).message}`);
    });
    const runs = [early.run(message(1), Date.now() + 60_000, { stop: stop.signal }), late.run(message(2), Date.now() + 60_000, { stop: stop.signal })];
    await sleep(20);
    stop.abort();
    await Promise.all(runs);
    expect(seen.sort()).toEqual(['early true the worker is stopping', 'late true the worker is stopping']);
  });

  test('a job that settled before its deadline or the stop: its signal never aborts, even read later', async () => {
    const stop = new AbortController();
    let kept: JobContext | undefined;
    const runner = runnerOf(async (context) => { kept = context; });
    await runner.run(message(), Date.now() + 30, { stop: stop.signal });
    stop.abort();
    await sleep(60);
    expect(kept!.signal.aborted).toBe(false);
  });

  test('one listener on the stop signal, however many jobs run at once', async () => {
    const stop = new AbortController();
    const runner = runnerOf(async (context) => { await sleep(30); return context.signal.aborted; });
    const runs = Array.from({ length: 50 }, (_, i) => runner.run(message(i), Date.now() + 60_000, { stop: stop.signal }));
    await sleep(5);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    expect((await Promise.all(runs)).every((o) => o.ok && o.result === false)).toBe(true);
  });
});
