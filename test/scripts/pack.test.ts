/**
 * The pack's report (scripts/pack.ts): npm pack --json prints the prepack scripts' lines before
 * its JSON report; the tarballs are read from the report, and a report without a package, or
 * without JSON, fails naming what is missing. (The pack itself runs in every `npm test`, for
 * test/package/*.) Its builds emit without tsc's type-check, which the same `npm test` runs.
 */
import { typeCheckArgs } from '../../scripts/build';
import { packEnv, tarballsFromReport } from '../../scripts/pack';

const report = (names: string[]) => JSON.stringify(names.map((name) => ({ name, filename: `${name.replace('@', '').replace('/', '-')}-0.1.0.tgz` })), null, 2);

describe('the pack\'s report', () => {
  test('names each package\'s tarball in the folder, after the prepack scripts\' output', () => {
    const stdout = `built cdk-cloud-patterns into dist in 12.0 s\n${report(['cdk-cloud-patterns', '@cdk-cloud-patterns/runtime', '@cdk-cloud-patterns/local'])}\n`;
    expect(tarballsFromReport('/packs', stdout)).toEqual({
      constructs: '/packs/cdk-cloud-patterns-0.1.0.tgz',
      runtime: '/packs/cdk-cloud-patterns-runtime-0.1.0.tgz',
      local: '/packs/cdk-cloud-patterns-local-0.1.0.tgz',
    });
  });

  test('fails naming the package the report lacks, or the missing report', () => {
    expect(() => tarballsFromReport('/packs', report(['cdk-cloud-patterns', '@cdk-cloud-patterns/runtime'])))
      .toThrow("npm pack's report has no @cdk-cloud-patterns/local (it has cdk-cloud-patterns, @cdk-cloud-patterns/runtime)");
    expect(() => tarballsFromReport('/packs', 'npm ERR! something\n')).toThrow(/npm pack printed no JSON report:\nnpm ERR! something/);
  });
});

describe('the pack\'s builds', () => {
  test('emit the runtime and the local cloud without tsc\'s type-check (npm test runs it); a build of its own checks', () => {
    expect(typeCheckArgs('/repo/runtime', packEnv({ PATH: '/bin' }))).toBeUndefined();
    expect(typeCheckArgs('/repo/runtime', { PATH: '/bin' })).toEqual([expect.stringMatching(/typescript-7\/bin\/tsc$/), '--noEmit', '-p', '/repo/runtime/tsconfig.build.json']);
    expect(packEnv({ PATH: '/bin' })).toMatchObject({ PATH: '/bin', npm_config_loglevel: 'error' });
  });
});
