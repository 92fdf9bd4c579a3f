// The service's settings: the file, then the command line on top, so tests need no root paths.
import * as fs from 'node:fs';
import { DEFAULT_CONFIG, parseConfigFile, type ServiceConfig } from './config-file';
import type { Result } from '../util/result';

export const DEFAULT_CONFIG_PATH = '/etc/multipath-dbus.conf';

export function loadConfig(file: string, overrides: Partial<ServiceConfig>): Result<ServiceConfig & { source: string }> {
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT') return { ok: false, error: `${file}: ${err.message}` };
  }
  let base: ServiceConfig = DEFAULT_CONFIG;
  if (text !== undefined) {
    const parsed = parseConfigFile(text, file);
    if (!parsed.ok) return parsed;
    base = parsed.value;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ok: true, value: { ...base, ...defined, source: text === undefined ? `${file} (absent)` : file } };
}
