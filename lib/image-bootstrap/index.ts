/**
 * Image bootstrap: launch templates finished at boot from typed steps, or baked into an AMI with
 * EC2 Image Builder, and the guard that keeps secrets out of user data. The public API of the
 * pattern; the script renderers and the rest of this folder are internal.
 */
export { BootstrappedImage } from './bootstrapped-image';
export type { BootstrappedImageProps, BakeOptions, BootstrappedGroupProps } from './bootstrapped-image';
// BOOT_DEFAULT_PATHS is stable: where steps put environment files, secrets and service logs.
export { BootStep, BootPhase, SecretSource, BOOT_DEFAULT_PATHS } from './boot-steps';
export type {
  BootStepOptions, BootStepBase, BootStepKind, PackagesStep, FileStep, S3FileStep, EnvironmentStep, CommandsStep, ServiceStep,
  SecretStep, SecretReference, FileStepOptions, AssetFileStepOptions, S3FileStepOptions, EnvironmentStepOptions,
  ServiceStepOptions, SecretStepOptions,
} from './boot-steps';
export { SecretGuard, findSecretLookalikes } from './secret-guard';
export type { SecretLookalike } from './secret-guard';
export { ImageBakery } from './image-bakery';
export type { ImageBakeryProps } from './image-bakery';
