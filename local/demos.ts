/**
 * The demos the local cloud sends to the stacks that declare them, each as soon as the workload
 * it needs runs (local/demo.ts: DemoKind, DemoStarter). A new demo is a {@link DemoKind} in a file
 * of its own and a line here.
 */
import { jobDemos, type DemoKind } from './demo';
import { reportDemos } from './lock-demo';
import { uploadDemos } from './upload-demo';

export const DEMO_KINDS: readonly DemoKind[] = [jobDemos, uploadDemos, reportDemos];
