/**
 * Graphviz DOT for an architecture graph (scripts/architecture/graph.ts): one node per resource,
 * coloured by the part it plays, edges styled by kind, all in the graph's sorted order so that
 * the same graph always gives the same text. Pure; svg.ts renders it.
 */
import type { ArchGraph, ArchNode, EdgeKind, NodeRole } from './graph';

const NODE_STYLE: Record<NodeRole, string> = {
  compute: 'shape=box, style="rounded,filled", fillcolor="#ffe0b2", color="#e65100"',
  messaging: 'shape=box, style="rounded,filled", fillcolor="#f8bbd0", color="#ad1457"',
  data: 'shape=cylinder, style=filled, fillcolor="#bbdefb", color="#0d47a1"',
  traffic: 'shape=box, style="rounded,filled", fillcolor="#d1c4e9", color="#4527a0"',
  identity: 'shape=ellipse, style=filled, fillcolor="#c8e6c9", color="#1b5e20"',
  network: 'shape=box, style="dashed,filled", fillcolor="#f5f5f5", color="#757575"',
  monitoring: 'shape=note, style=filled, fillcolor="#eeeeee", color="#9e9e9e", fontsize=10',
  other: 'shape=box, style=filled, fillcolor="#fff9c4", color="#827717"',
};

const EDGE_STYLE: Record<EdgeKind, string> = {
  trigger: 'color="#1565c0", fontcolor="#1565c0", penwidth=2',
  traffic: 'color="#4527a0", fontcolor="#4527a0", penwidth=2',
  permission: 'color="#2e7d32", fontcolor="#2e7d32", style=dashed',
  scaling: 'color="#e65100", fontcolor="#e65100", style=dashed',
  metric: 'color="#9e9e9e", fontcolor="#757575", style=dotted, arrowsize=0.6',
  reference: 'color="#616161", fontcolor="#616161", style=dotted',
  network: 'color="#bdbdbd", fontcolor="#9e9e9e", style=dashed, arrowhead=none',
};

const LEGEND = 'blue: triggers work · purple: traffic · dashed green: IAM permission · dashed orange: scaling · dotted: reference or metric · grey dashed: in the VPC';

/** Text for an HTML-like label. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '<BR/>');
}

/** A DOT double-quoted string. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function nodeLabel(node: ArchNode): string {
  const small = [node.type, ...node.details].map((line) => `<BR/><FONT POINT-SIZE="9">${escapeHtml(line)}</FONT>`).join('');
  return `<<B>${escapeHtml(node.label)}</B>${small}>`;
}

/** The DOT text of `graph`, titled `title`. */
export function toDot(graph: ArchGraph, title: string): string {
  const lines = [
    `digraph ${quote(title)} {`,
    '  graph [rankdir=TB, fontname="Helvetica", fontsize=16, labelloc=t, nodesep=0.35, ranksep=0.7, pad=0.3,',
    `         label=<<B>${escapeHtml(title)}</B><BR/><FONT POINT-SIZE="10">${escapeHtml(LEGEND)}</FONT>>];`,
    '  node [fontname="Helvetica", fontsize=12, margin="0.15,0.06"];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const node of graph.nodes) lines.push(`  ${quote(node.id)} [label=${nodeLabel(node)}, ${NODE_STYLE[node.role]}];`);
  for (const edge of graph.edges) {
    const label = edge.labels.length > 0 ? `label=${quote(edge.labels.join('\n'))}, ` : '';
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [${label}${EDGE_STYLE[edge.kind]}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
