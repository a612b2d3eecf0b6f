/**
 * The catalog's architecture diagrams: every stack that `addCatalogStacks` registers,
 * synthesized offline, its template turned into a graph (graph.ts), DOT (dot.ts) and SVG by
 * Graphviz compiled to WebAssembly (@viz-js/viz: no system install). `npm run diagrams`
 * (scripts/diagrams.ts) writes them to docs/diagrams/; test/docs/diagrams.test.ts checks that
 * the committed ones are current.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { instance } from '@viz-js/viz';
import { App, Stack } from 'aws-cdk-lib/core';
import { addCatalogStacks } from '../../lib/stacks/catalog-app';
import { toDot } from './dot';
import { architectureGraph, type CfnTemplate } from './graph';

/** Where the diagrams live, from the repository root: `<dir>/<StackName>.svg`. */
export const DIAGRAMS_DIR = path.join('docs', 'diagrams');

/** One Graphviz instance per process: compiling its WebAssembly is the slow part. */
let vizInstance: ReturnType<typeof instance> | undefined;

/** The SVG of one template's architecture. */
export async function renderDiagram(template: CfnTemplate, title: string): Promise<string> {
  vizInstance ??= instance();
  const viz = await vizInstance;
  return viz.renderString(toDot(architectureGraph(template), title), { format: 'svg', engine: 'dot' });
}

/** Every stack's synthesized template, by stack name, in name order. */
export function synthesizeTemplates(addStacks: (app: App) => void): Map<string, CfnTemplate> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'diagrams-'));
  try {
    // CDK's own template validation adds seconds and nothing a diagram needs; cfn-lint and the catalog test run it.
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    addStacks(app);
    const assembly = app.synth();
    const names = app.node.children.filter((c): c is Stack => c instanceof Stack).map((s) => s.stackName).sort();
    return new Map(names.map((name) => [name, assembly.getStackByName(name).template as CfnTemplate]));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** `<StackName>.svg` -> SVG text for each template, by stack name. */
export async function renderDiagrams(templates: ReadonlyMap<string, CfnTemplate>): Promise<Map<string, string>> {
  const diagrams = new Map<string, string>();
  for (const [name, template] of templates) diagrams.set(`${name}.svg`, await renderDiagram(template, name));
  return diagrams;
}

/** `<StackName>.svg` -> SVG text for every stack of the catalog app. */
export async function catalogDiagrams(): Promise<Map<string, string>> {
  return renderDiagrams(synthesizeTemplates(addCatalogStacks));
}
