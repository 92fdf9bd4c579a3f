// multipathd's `show config`: multipath.conf syntax with every setting spelled out.
// `section {` ... `}` blocks, `keyword value` lines; string values are quoted, a `"` inside
// doubled (""). Only the settings a client shows are kept; other sections are skipped.
import { fail, ok, quoteSnippet, type Result } from '../../util/result';
import type { BlacklistEntry, MultipathSettings } from '../../model/readings';

// multipathd's built-in defaults, for a keyword its reply leaves out.
const BUILTIN = { userFriendlyNames: false, findMultipaths: 'strict', pollingInterval: 5 };
const LIST_KINDS = new Set(['devnode', 'wwid', 'property', 'protocol']);
const DEVICE_KEYS = ['vendor', 'product'] as const;

export function parseShowConfig(text: string): Result<MultipathSettings> {
  const settings: MultipathSettings = { ...BUILTIN, blacklist: [], blacklistExceptions: [] };
  const sections: { name: string; line: number }[] = [];
  let sawDefaults = false;
  let device: Map<string, string> | undefined;

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i].trim();
    if (line === '' || line[0] === '#') continue;

    if (line === '}') {
      const closed = sections.pop();
      if (!closed) return fail(`line ${n}: "}" without an open section`);
      if (closed.name === 'device' && device) {
        const list = listFor(settings, sections[sections.length - 1]?.name);
        const pattern = DEVICE_KEYS.filter((k) => device!.has(k))
          .map((k) => `${k} ${quote(device!.get(k)!)}`)
          .join(' ');
        if (list && pattern) list.push({ kind: 'device', pattern });
        device = undefined;
      }
      continue;
    }

    const keyEnd = line.search(/[\s{]/);
    const key = keyEnd < 0 ? line : line.slice(0, keyEnd);
    const rest = keyEnd < 0 ? '' : line.slice(keyEnd).trim();
    if (rest === '{') {
      sections.push({ name: key, line: n });
      if (sections.length === 1 && key === 'defaults') sawDefaults = true;
      if (key === 'device') device = new Map();
      continue;
    }
    const value = readValue(rest);
    if (!value.ok) return fail(`line ${n}: ${key}: ${value.error}`);

    const path = sections.map((s) => s.name).join('/');
    if (path === 'defaults') {
      const r = applyDefault(settings, key, value.value);
      if (!r.ok) return fail(`line ${n}: ${r.error}`);
    } else if (LIST_KINDS.has(key) && listFor(settings, path)) {
      listFor(settings, path)!.push({ kind: key, pattern: value.value });
    } else if (device && sections.length === 2 && listFor(settings, sections[0].name)) {
      device.set(key, value.value);
    }
  }
  const open = sections.pop();
  if (open) return fail(`section "${open.name}" opened on line ${open.line} is never closed: truncated?`);
  if (!sawDefaults) return fail('no "defaults" section: not the output of show config');
  return ok(settings);
}

function listFor(settings: MultipathSettings, section: string | undefined): BlacklistEntry[] | undefined {
  if (section === 'blacklist') return settings.blacklist;
  if (section === 'blacklist_exceptions') return settings.blacklistExceptions;
  return undefined;
}

function applyDefault(settings: MultipathSettings, key: string, value: string): Result<void> {
  switch (key) {
    case 'user_friendly_names':
      if (value !== 'yes' && value !== 'no') return fail(`user_friendly_names ${quoteSnippet(value)} is not yes or no`);
      settings.userFriendlyNames = value === 'yes';
      break;
    case 'find_multipaths':
      if (value === '') return fail('find_multipaths is empty');
      settings.findMultipaths = value;
      break;
    case 'polling_interval': {
      const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
      if (!(n > 0)) return fail(`polling_interval ${quoteSnippet(value)} is not a positive number of seconds`);
      settings.pollingInterval = n;
      break;
    }
  }
  return ok(undefined);
}

/** `"text with ""quotes"""` -> its text; an unquoted value is the rest of the line. */
function readValue(rest: string): Result<string> {
  if (rest[0] !== '"') return ok(rest);
  let out = '';
  let i = 1;
  for (;;) {
    const q = rest.indexOf('"', i);
    if (q < 0) return fail(`unterminated string ${quoteSnippet(rest)}`);
    out += rest.slice(i, q);
    if (rest[q + 1] !== '"') return ok(out);
    out += '"';
    i = q + 2;
  }
}

function quote(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}
