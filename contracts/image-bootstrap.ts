/**
 * The image-bootstrap pattern's contract between the boot script lib/ generates and the tools
 * that read a deployed launch template's user data (local/: the local cloud runs a FleetWorker's
 * agent with the environment file its instances would get). The file-writing lines and the
 * environment file's format are rendered and parsed here, so that writer and reader cannot drift.
 */

/** Single-quotes `value` for bash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** An absolute path under `$BOOT_ROOT` (empty on an instance, a sandbox in tests), quoted. */
export function bootRootedPath(p: string): string {
  return `"\${BOOT_ROOT}"${shellQuote(p)}`;
}

/** The line that starts writing `p` with a quoted here-document ending at `delimiter`. */
export function heredocOpening(p: string, delimiter: string): string {
  return `cat > ${bootRootedPath(p)} <<'${delimiter}'`;
}

/** The line that drops the newline a here-document adds, for a content without a final one. */
export function heredocTruncation(p: string): string {
  return `truncate -s -1 ${bootRootedPath(p)}`;
}

/** An environment file (`NAME='value'` lines, for systemd's EnvironmentFile and for `. file`). */
export function environmentFileContent(variables: { readonly [name: string]: string }): string {
  return Object.entries(variables).map(([k, v]) => `${k}='${v}'\n`).join('');
}

/** The variables of an environment file written by {@link environmentFileContent}. */
export function parseEnvironmentFile(content: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of content.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)='(.*)'$/.exec(line);
    if (m) variables[m[1]!] = m[2]!;
  }
  return variables;
}

/**
 * The content the boot script `script` writes to `p` with a here-document
 * ({@link heredocOpening}), or undefined when it writes no such file.
 */
export function fileFromBootScript(script: string, p: string): string | undefined {
  const lines = script.split('\n');
  const opening = new RegExp(`^${escapeRegExp(heredocOpening(p, '\u0000')).replace('\u0000', '(BOOT_EOF(?:_\\d+)?)')}$`);
  for (let i = 0; i < lines.length; i++) {
    const delimiter = opening.exec(lines[i]!)?.[1];
    if (delimiter === undefined) continue;
    const end = lines.indexOf(delimiter, i + 1);
    if (end < 0) return undefined;
    const body = lines.slice(i + 1, end).join('\n');
    return lines[end + 1] === heredocTruncation(p) ? body : `${body}\n`;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
