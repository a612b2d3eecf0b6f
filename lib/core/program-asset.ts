/**
 * The program an instance runs, as an S3 asset: bundled at synth from the user's entry with a
 * generated main (esbuild on this machine, no Docker), or taken from a directory already
 * bundled. FleetWorker ships its worker agent this way and WebTier its web server; the
 * instance downloads and extracts it (BootStep.fileFromAsset) and systemd runs it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib/core';
import * as s3Assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { AGENT_NODE_MAJOR, AGENT_PROGRAM_FILE } from './bundling';
import type { PropRule } from './validation';

const JS_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** How a construct names the props of its program's source, for {@link programSourceRules}. */
export interface ProgramSourceProps {
  /** The user's file to bundle. */
  readonly entry?: string;
  /** Its export the program runs. */
  readonly handler?: string;
  /** The prop holding a program already bundled (`code`, `programDirectory`), and its value. */
  readonly prebuilt: { readonly prop: string; readonly directory?: string };
  /** What `entry` is, as in "a request handler" or "a job handler". */
  readonly handlerKind: string;
  /** What the program is, as in "server" or "agent". */
  readonly programKind: string;
}

/** The checks of where a program comes from: exactly one source, which exists, and a valid handler export. */
export function programSourceRules(p: ProgramSourceProps): PropRule[] {
  const { prop, directory } = p.prebuilt;
  return [
    {
      failed: (p.entry === undefined) === (directory === undefined),
      prop: `entry, ${prop}`,
      message: `give exactly one: \`entry\` (${p.handlerKind} file to bundle with the ${p.programKind}) or \`${prop}\` (${p.programKind === 'agent' ? 'an' : 'a'} ${p.programKind} program already bundled); received ${p.entry === undefined ? 'neither' : 'both'}.`,
    },
    {
      failed: p.entry !== undefined && !fs.existsSync(p.entry),
      prop: 'entry',
      message: `must be the ${p.handlerKind.replace(/^an? /, '')}'s file, but there is no file at ${p.entry} (relative paths start from ${process.cwd()}).`,
    },
    {
      failed: directory !== undefined && !fs.existsSync(path.join(directory, AGENT_PROGRAM_FILE)),
      prop,
      message: `must hold the bundled ${p.programKind} program ${AGENT_PROGRAM_FILE}, but ${path.join(directory ?? '', AGENT_PROGRAM_FILE)} does not exist.`,
    },
    {
      failed: p.handler !== undefined && (p.entry === undefined || !JS_IDENTIFIER.test(p.handler)),
      prop: 'handler',
      message: p.entry === undefined
        ? `only applies to \`entry\`; a program in \`${prop}\` already names its handler. Remove \`handler\` or give \`entry\`.`
        : `must be the name the handler is exported under in \`entry\` (a JavaScript identifier), received "${p.handler}".`,
    },
  ];
}

/** Where a program comes from: exactly one of `entry` (bundled now) or `directory` (already bundled). */
export interface ProgramAssetSource {
  /** The user's module, bundled with the runtime's main by `bundle`. */
  readonly entry?: string;
  /** The export of `entry` the program runs. */
  readonly exportName: string;
  /** The runtime module the program's main imports (part of the asset's cache key). */
  readonly runtimeModule: string;
  /** Bundles `entry` into `outDir` (index.mjs). */
  readonly bundle: (entry: string, outDir: string, exportName: string) => void;
  /** A directory holding the program already bundled. */
  readonly directory?: string;
}

/** The asset of a program, bundled from `source.entry` or taken from `source.directory`. */
export function programAsset(scope: Construct, id: string, source: ProgramAssetSource): s3Assets.Asset {
  if (source.entry === undefined) return new s3Assets.Asset(scope, id, { path: source.directory! });
  const entry = path.resolve(source.entry);
  return new s3Assets.Asset(scope, id, {
    path: path.dirname(entry),
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: the local bundler below always bundles (esbuild on this machine).
      image: DockerImage.fromRegistry(`public.ecr.aws/docker/library/node:${AGENT_NODE_MAJOR}`),
      local: new ProgramBundler(entry, source.exportName, source.runtimeModule, source.bundle),
    },
  });
}

/**
 * Bundles a program at synth (an asset's local bundling). Its public fields are part of CDK's
 * asset cache key, so two entries (or two runtimes) never share a bundle.
 */
class ProgramBundler implements ILocalBundling {
  constructor(
    public readonly entry: string,
    public readonly exportName: string,
    public readonly runtimeModule: string,
    private readonly bundle: (entry: string, outDir: string, exportName: string) => void,
  ) {}

  public tryBundle(outputDir: string): boolean {
    this.bundle(this.entry, outputDir, this.exportName);
    return true;
  }
}
