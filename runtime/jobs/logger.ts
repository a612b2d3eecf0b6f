/**
 * JSON log lines on stdout/stderr: CloudWatch Logs (and Lambda's JSON log format) index their
 * fields. A dozen lines of code instead of a logging dependency in every bundle.
 */
import type { JobLogger } from './types';

type Level = 'INFO' | 'WARN' | 'ERROR';

/** A logger that adds `fields` to every line. */
export function createLogger(fields: Record<string, unknown> = {}): JobLogger {
  const write = (level: Level, message: string, extra?: Record<string, unknown>) => {
    const line = JSON.stringify({ level, message, ...fields, ...extra, timestamp: new Date().toISOString() });
    if (level === 'INFO') console.log(line);
    else console.error(line);
  };
  return {
    info: (message, extra) => write('INFO', message, extra),
    warn: (message, extra) => write('WARN', message, extra),
    error: (message, extra) => write('ERROR', message, extra),
  };
}

/** The fields worth logging of an error: name, message and, for unexpected ones, the stack. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { errorName: error.name, errorMessage: error.message, ...(error.name === 'MalformedJobError' ? {} : { stack: error.stack }) };
  }
  return { errorName: typeof error, errorMessage: String(error) };
}
