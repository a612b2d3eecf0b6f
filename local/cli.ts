#!/usr/bin/env node
/**
 * `npx cdk-cloud-patterns local [options] [Stack ...]`: the command of @cdk-cloud-patterns/local
 * (its `bin`) that runs the local cloud for a user's own CDK app, from the app's folder: the app
 * is synthesized with its own cdk.json `app` command and CDK CLI, its stacks are deployed into
 * moto, and every catalog workload they declare runs locally (local/start.ts does the rest, as
 * `npm start` does for the catalog). Its SDK clients and proxies are its own dependencies; the
 * CDK CLI is the app's (a peer): when it is missing it says what to install, before anything starts.
 */
import * as path from 'path';

/** Packages the local cloud needs from the user's app: its CDK CLI (a peer dependency). */
export const LOCAL_CLOUD_PEERS = ['aws-cdk'] as const;

const USAGE = `Usage: cdk-cloud-patterns local [options] [Stack ...]   (run it in your CDK app's folder)
       cdk-cloud-patterns local --help                     (the options)
`;

/** The packages of `names` that cannot be loaded from here or from `projectDir`. */
export function missingPackages(names: readonly string[], projectDir: string): string[] {
  return names.filter((name) => {
    try {
      require.resolve(`${name}/package.json`, { paths: [__dirname, projectDir] });
      return false;
    } catch {
      return true;
    }
  });
}

function cli(argv: readonly string[]): void {
  const [command, ...rest] = argv;
  if (command !== 'local') {
    process.stderr.write(`cdk-cloud-patterns: ${command === undefined ? 'which command?' : `unknown command ${command}`}\n\n${USAGE}`);
    process.exit(2);
  }
  const projectDir = process.cwd();
  const missing = missingPackages(LOCAL_CLOUD_PEERS, projectDir);
  if (missing.length > 0) {
    process.stderr.write(`cdk-cloud-patterns local: the local cloud needs ${missing.join(', ')}: npm i -D ${missing.join(' ')}\n`);
    process.exit(1);
  }
  // Loaded only now: it loads the SDK clients checked above.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runMain } = require(path.join(__dirname, 'start')) as typeof import('./start');
  runMain(rest, { command: 'cdk-cloud-patterns local', projectDir });
}

if (require.main === module) cli(process.argv.slice(2));
