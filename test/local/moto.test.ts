/**
 * The embedded AWS's version check and its adjustments' warnings: a moto outside the tested
 * range is named with the range and the install command, and an adjustment that cannot be
 * applied to moto says so at once (instead of vanishing into a buffer while good jobs go to
 * the dead-letter queue).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MOTO_TESTED_RANGE_TEXT, motoVersion, motoVersionWarning, startMoto } from '../../local/moto';

describe('the moto version check', () => {
  test.each(['5.2.1', '5.2.9', '5.2.10'])('accepts %s, inside the tested range', (version) => {
    expect(motoVersionWarning(version)).toBeUndefined();
  });

  test.each(['5.3.0', '5.1.9', '6.0.0', '4.2.14', ''])('warns on "%s", naming the tested range and how to install it', (version) => {
    expect(motoVersionWarning(version)).toMatch(new RegExp(`outside the range the local cloud is tested with \\(>=5\\.2\\.1 <5\\.3\\)[\\s\\S]*pip install "moto\\[server\\]>=5\\.2\\.1,<5\\.3"`));
  });

  test('finds the moto of this machine inside the range', () => {
    expect(MOTO_TESTED_RANGE_TEXT).toBe('>=5.2.1 <5.3');
    expect(motoVersionWarning(motoVersion())).toBeUndefined();
  });
});

describe('the adjustments to moto', () => {
  test('say at once, while moto runs on, when one cannot be applied to this moto', async () => {
    // GIVEN a moto whose CloudFormation lacks what one adjustment wraps (as a later moto might)
    const site = fs.mkdtempSync(path.join(os.tmpdir(), 'moto-site-'));
    fs.writeFileSync(path.join(site, 'sitecustomize.py'), 'from moto.cloudformation import parsing\ndel parsing.parse_and_create_resource\n');
    const warnings: string[] = [];
    try {
      // WHEN the embedded AWS starts
      const moto = await startMoto({ onWarning: (line) => warnings.push(line), env: { ...process.env, PYTHONPATH: site } });
      try {
        // THEN that adjustment's warning is given as a line, the others applied, and moto answers
        expect(warnings).toEqual([expect.stringMatching(/^local cloud: could not record failed CloudFormation resources as stack events in this moto version \(AttributeError/)]);
        expect(moto.warnings()).toEqual(warnings);
        const res = await fetch(`http://127.0.0.1:${moto.port}/moto-api/`);
        expect(res.ok).toBe(true);
      } finally {
        await moto.stop();
      }
    } finally {
      fs.rmSync(site, { recursive: true, force: true });
    }
  });
});
