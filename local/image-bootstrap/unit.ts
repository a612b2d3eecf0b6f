/**
 * The part of a systemd service unit that the local cloud applies when it runs a
 * BootstrappedImage's service as a supervised process (local/image-bootstrap/service.ts): the
 * command line, its environment (Environment=, EnvironmentFile=), its credentials
 * (LoadCredential=), its working and runtime directories, its restart policy and its output file.
 * Every other directive is listed, so the local cloud can say what it did not apply (the user,
 * the sandboxing options).
 */

/** A service unit, as far as a local run goes. */
export interface ServiceUnit {
  /** ExecStart=, split into the program and its arguments (systemd's quoting). */
  readonly execStart: readonly string[];
  /** Environment= assignments, in order. */
  readonly environment: Readonly<Record<string, string>>;
  /** EnvironmentFile= paths; `optional` for a `-` prefix (a missing file is no error). */
  readonly environmentFiles: readonly { readonly path: string; readonly optional: boolean }[];
  /** LoadCredential=<name>:<path>. */
  readonly credentials: readonly { readonly name: string; readonly path: string }[];
  readonly workingDirectory?: string;
  /** RuntimeDirectory= names (each /run/<name>, RUNTIME_DIRECTORY in the service's environment). */
  readonly runtimeDirectories: readonly string[];
  /** Restart=: no, always, on-success, on-failure, on-abnormal, on-abort, on-watchdog. */
  readonly restart: string;
  /** RestartSec=, in ms (systemd's default: 100 ms). */
  readonly restartMs: number;
  /** TimeoutStopSec=, in ms, when set. */
  readonly stopTimeoutMs?: number;
  /** StandardOutput=append:<file> (or file:), when set. */
  readonly outputFile?: string;
  /** Directives of [Service] and [Unit] that a local run does not apply (User=, DynamicUser=, sandboxing...), as `Key=value`. */
  readonly notApplied: readonly string[];
}

/** Directives a local run applies (or that change nothing here: descriptions, ordering, install). */
const APPLIED = new Set([
  'ExecStart', 'Environment', 'EnvironmentFile', 'LoadCredential', 'WorkingDirectory', 'RuntimeDirectory', 'Restart', 'RestartSec',
  'TimeoutStopSec', 'StandardOutput', 'StandardError', 'Type', 'Description', 'Wants', 'After', 'Before', 'Requires', 'WantedBy',
]);

/** Splits a command line or an Environment= value as systemd does: whitespace-separated words, double or single quotes, backslash escapes. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  // `%%` is a literal `%` (specifiers are not expanded locally).
  return words.map((w) => w.replace(/%%/g, '%'));
}

/** Seconds (`5`, `5s`, `1min`, `500ms`) as systemd writes a time span, in ms. */
function timeSpanMs(value: string): number {
  const units: Record<string, number> = { '': 1000, s: 1000, sec: 1000, ms: 1, min: 60_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) total += Number(n) * (units[unit!] ?? 1000);
  return total;
}

/** Parses the unit file `text`. Throws an Error naming what is missing when it has no ExecStart=. */
export function parseServiceUnit(text: string): ServiceUnit {
  let execStart: string[] | undefined;
  const environment: Record<string, string> = {};
  const environmentFiles: { path: string; optional: boolean }[] = [];
  const credentials: { name: string; path: string }[] = [];
  const runtimeDirectories: string[] = [];
  const notApplied: string[] = [];
  let workingDirectory: string | undefined;
  let restart = 'no';
  let restartMs = 100;
  let stopTimeoutMs: number | undefined;
  let outputFile: string | undefined;
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (section === 'Install') continue;
    if (!APPLIED.has(key)) {
      notApplied.push(`${key}=${value}`);
      continue;
    }
    switch (key) {
      // The prefixes (-, @, +, !, :) change error handling and privileges, which a local run does not model.
      case 'ExecStart': execStart = splitWords(value.replace(/^[-@+!:]+/, '')); break;
      case 'Environment':
        for (const assignment of splitWords(value)) {
          const at = assignment.indexOf('=');
          if (at > 0) environment[assignment.slice(0, at)] = assignment.slice(at + 1);
        }
        break;
      case 'EnvironmentFile': environmentFiles.push({ path: value.replace(/^-/, ''), optional: value.startsWith('-') }); break;
      case 'LoadCredential': {
        const at = value.indexOf(':');
        if (at > 0) credentials.push({ name: value.slice(0, at), path: value.slice(at + 1) });
        break;
      }
      case 'WorkingDirectory': workingDirectory = value.replace(/^-/, ''); break;
      case 'RuntimeDirectory': runtimeDirectories.push(...splitWords(value)); break;
      case 'Restart': restart = value; break;
      case 'RestartSec': restartMs = timeSpanMs(value); break;
      case 'TimeoutStopSec': stopTimeoutMs = timeSpanMs(value); break;
      case 'StandardOutput': {
        const file = /^(?:append|file):(.+)$/.exec(value);
        if (file) outputFile = file[1];
        break;
      }
      default: break;
    }
  }
  if (!execStart || execStart.length === 0) throw new Error('its unit has no ExecStart=');
  return { execStart, environment, environmentFiles, credentials, workingDirectory, runtimeDirectories, restart, restartMs, stopTimeoutMs, outputFile, notApplied };
}

/**
 * Whether systemd restarts a service that ended with `code` or `signal` under `restart`. The
 * signals SIGHUP, SIGINT, SIGTERM and SIGPIPE end a service cleanly, as exit code 0 does.
 */
export function restartsAfter(restart: string, code: number | null, signal: NodeJS.Signals | null): boolean {
  const clean = (code === 0 && signal === null) || (signal !== null && ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'].includes(signal));
  switch (restart) {
    case 'always': return true;
    case 'on-success': return clean;
    case 'on-failure': return !clean;
    case 'on-abnormal': return signal !== null && !clean;
    case 'on-abort': return signal !== null && !clean;
    default: return false;
  }
}
