/**
 * An HTTP proxy in front of moto's server that answers CompleteLifecycleAction itself, which
 * moto 5 does not implement, and forwards every other request to moto unchanged: the fault
 * proxy (fault-proxy.ts) with one rule. The agent's Auto Scaling client talks to it with the
 * real protocol (AWS Query), so nothing is mocked at the SDK level. Bound to 127.0.0.1 at a
 * free port.
 */
import { startFaultProxy } from './fault-proxy';

export interface AutoScalingProxy {
  readonly endpoint: string;
  /** The CompleteLifecycleAction calls received, as their query parameters. */
  readonly completedLifecycleActions: Record<string, string>[];
  stop(): Promise<void>;
}

const COMPLETED = {
  status: 200,
  headers: { 'content-type': 'text/xml' },
  body: '<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">' +
    '<CompleteLifecycleActionResult/><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>' +
    '</CompleteLifecycleActionResponse>',
};

export async function startAutoScalingProxy(motoEndpoint: string): Promise<AutoScalingProxy> {
  const completed: Record<string, string>[] = [];
  const proxy = await startFaultProxy(motoEndpoint, (request) => {
    if (request.action !== 'CompleteLifecycleAction') return undefined;
    completed.push(Object.fromEntries(new URLSearchParams(request.body)));
    return COMPLETED;
  });
  return { endpoint: proxy.endpoint, completedLifecycleActions: completed, stop: () => proxy.stop() };
}
