/** cdk-cloud-patterns: the public API of the construct library. */
export { WorkQueue, WorkQueueEncryption, DEFAULT_MAX_RECEIVE_COUNT } from './work-queue/work-queue';
export type { WorkQueueProps } from './work-queue/work-queue';
export type { JobWorkerProps } from './work-queue/job-worker';
export { LambdaWorker } from './work-queue/lambda-worker';
export type { LambdaWorkerProps } from './work-queue/lambda-worker';
export { WorkQueueStack } from './stacks/work-queue-stack';
export type { WorkQueueStackProps } from './stacks/work-queue-stack';
export { PatternPropsError } from './core/validation';
export type { PropRule } from './core/validation';

// Image bootstrap: launch templates finished at boot from typed steps, or baked with Image Builder.
export { BootstrappedImage, amazonLinux2023Parameter } from './image-bootstrap/bootstrapped-image';
export type { BootstrappedImageProps, BakeOptions, BootstrappedGroupProps } from './image-bootstrap/bootstrapped-image';
export { BootStep, BootPhase, SecretSource, BOOT_DEFAULT_PATHS } from './image-bootstrap/boot-steps';
export type {
  BootStepOptions, BootStepBase, BootStepKind, PackagesStep, FileStep, S3FileStep, EnvironmentStep, CommandsStep, ServiceStep,
  SecretStep, SecretReference, FileStepOptions, AssetFileStepOptions, S3FileStepOptions, EnvironmentStepOptions,
  ServiceStepOptions, SecretStepOptions,
} from './image-bootstrap/boot-steps';
export { renderBootScript, renderComponentDocument, ScriptPart, BOOT_LOG_FILE } from './image-bootstrap/boot-script';
export type { BootScriptOptions, BootSignalTarget } from './image-bootstrap/boot-script';
export { SecretGuard, findSecretLookalikes } from './image-bootstrap/secret-guard';
export type { SecretLookalike } from './image-bootstrap/secret-guard';
export { ImageBakery } from './image-bootstrap/image-bakery';
export type { ImageBakeryProps } from './image-bootstrap/image-bakery';
export { ImageBootstrapStack } from './stacks/image-bootstrap-stack';
export type { ImageBootstrapStackProps } from './stacks/image-bootstrap-stack';

// The render farm: EC2 workers that run a LambdaWorker's handler unchanged, scaling on the backlog.
export {
  FleetWorker, FLEET_WORKER_TAGS, FLEET_LIFECYCLE_HOOK_NAME, FLEET_AGENT_VISIBILITY_SECONDS, FLEET_AGENT_STOP_SECONDS,
  FLEET_AGENT_DIRECTORY, FLEET_AGENT_ENV_FILE, FLEET_AGENT_SERVICE,
} from './work-queue/fleet-worker';
export type { FleetWorkerProps } from './work-queue/fleet-worker';
export { BacklogScaling, BACKLOG_PER_INSTANCE_EXPRESSION, WAITING_WITH_NO_INSTANCE_EXPRESSION } from './work-queue/fleet-scaling';
export type { BacklogScalingProps } from './work-queue/fleet-scaling';
export { FleetWorkerStack } from './stacks/fleet-worker-stack';
export type { FleetWorkerStackProps } from './stacks/fleet-worker-stack';
export * from './web-tier';
