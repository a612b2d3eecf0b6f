/**
 * Image bootstrap: launch templates finished at boot from typed steps, or baked into an AMI with
 * EC2 Image Builder, and the guard that keeps secrets out of user data.
 *
 * @module image-bootstrap
 */
// The public API of the pattern; the script renderers and the rest of this folder are internal.
export { BootstrappedImage } from './bootstrapped-image';
export type {
  BootstrappedImageProps, BakeOptions, BootstrappedGroupProps, BootstrappedMixedInstancesPolicy, BootStepsByPhase,
} from './bootstrapped-image';
// BootStep's static directories are stable: where steps put environment files, secrets and service logs.
export {
  BootStep, BootStepKind, BootPhase, SecretSource, SecretService, ServiceRestart,
  PackagesStep, FileStep, S3FileStep, EnvironmentStep, CommandsStep, ServiceStep, SecretStep,
} from './boot-steps';
export type {
  BootStepOptions, FileStepOptions, AssetFileStepOptions, S3FileStepOptions, EnvironmentStepOptions, ServiceStepOptions,
  SecretStepOptions, SecretFieldOptions,
} from './boot-steps';
export { SecretGuard } from './secret-guard';
export type { SecretLookalike } from './secret-guard';
export type { ServiceFleetProps } from './service-fleet';
export { ImageBakery } from './image-bakery';
export type { ImageBakeryProps } from './image-bakery';
