// multipathd 0.9.4's command language, as far as the simulator speaks it: its keyword
// table (so unique prefixes and aliases resolve as they do there), the command shapes the
// simulator serves, and multipathd's reply when a command does not parse — the "not
// found" / "Missing argument" line, its version, and the command reference.

const VERSION_LINE = 'multipath-tools v0.9.4 (12/19, 2022)';

// [word, code, takes a parameter], in multipathd's order: a prefix matching two words is ambiguous.
const KEYWORDS: [string, string, boolean][] = [
  ['list', 'LIST', false], ['show', 'LIST', false], ['add', 'ADD', false], ['remove', 'DEL', false],
  ['del', 'DEL', false], ['switch', 'SWITCH', false], ['switchgroup', 'SWITCH', false],
  ['suspend', 'SUSPEND', false], ['resume', 'RESUME', false], ['reinstate', 'REINSTATE', false],
  ['fail', 'FAIL', false], ['resize', 'RESIZE', false], ['reset', 'RESET', false],
  ['reload', 'RELOAD', false], ['forcequeueing', 'FORCEQ', false], ['disablequeueing', 'DISABLEQ', false],
  ['restorequeueing', 'RESTOREQ', false], ['paths', 'PATHS', false], ['maps', 'MAPS', false],
  ['multipaths', 'MAPS', false], ['path', 'PATH', true], ['map', 'MAP', true], ['multipath', 'MAP', true],
  ['group', 'GROUP', true], ['reconfigure', 'RECONFIGURE', false], ['daemon', 'DAEMON', false],
  ['status', 'STATUS', false], ['stats', 'STATS', false], ['topology', 'TOPOLOGY', false],
  ['config', 'CONFIG', false], ['blacklist', 'BLACKLIST', false], ['devices', 'DEVICES', false],
  ['raw', 'RAW', false], ['wildcards', 'WILDCARDS', false], ['quit', 'QUIT', false], ['exit', 'QUIT', false],
  ['shutdown', 'SHUTDOWN', false], ['getprstatus', 'GETPRSTATUS', false], ['setprstatus', 'SETPRSTATUS', false],
  ['unsetprstatus', 'UNSETPRSTATUS', false], ['format', 'FMT', true], ['json', 'JSON', false],
  ['getprkey', 'GETPRKEY', false], ['setprkey', 'SETPRKEY', false], ['unsetprkey', 'UNSETPRKEY', false],
  ['key', 'KEY', true], ['local', 'LOCAL', false], ['setmarginal', 'SETMARGINAL', false],
  ['unsetmarginal', 'UNSETMARGINAL', false], ['all', 'ALL', false],
];

/** The command shapes the simulator answers, by their keyword codes. */
const HANDLED = [
  'LIST MAPS', 'LIST STATUS', 'LIST DAEMON', 'LIST MAPS JSON', 'LIST CONFIG', 'ADD MAP', 'DEL MAP', 'REINSTATE PATH', 'FAIL PATH',
  'SWITCH MAP GROUP', 'DISABLEQ MAP', 'RESTOREQ MAP', 'RESIZE MAP', 'RECONFIGURE',
] as const;
export type Handled = (typeof HANDLED)[number];

/** `param` is the first parameter (the map or path); `params` has each by its keyword's code. */
export type ParsedCommand = { ok: true; shape: Handled; param: string; params: Record<string, string> } | { ok: false; reply: string };

function findKeyword(word: string): [string, string, boolean] | undefined {
  let prefix: [string, string, boolean] | undefined;
  for (const k of KEYWORDS) {
    if (!k[0].startsWith(word)) continue;
    if (k[0] === word) return k;
    if (prefix) return undefined;
    prefix = k;
  }
  return prefix;
}

export function parseCommand(command: string): ParsedCommand {
  const words = command.split(/\s+/).filter(Boolean);
  const codes: string[] = [];
  const params: Record<string, string> = {};
  let param = '';
  for (let i = 0; i < words.length; i++) {
    const k = findKeyword(words[i]);
    // An unknown last word is "not found"; one in the middle gets the generic failure.
    if (!k) return { ok: false, reply: i === words.length - 1 ? help(command, 'not found') : 'fail\n' };
    codes.push(k[1]);
    if (k[2]) {
      if (i + 1 >= words.length) return { ok: false, reply: help(command, 'Missing argument') };
      params[k[1]] = words[++i];
      param ||= params[k[1]];
    }
  }
  const shape = codes.join(' ');
  if (!(HANDLED as readonly string[]).includes(shape)) return { ok: false, reply: help(command, 'Missing argument') };
  return { ok: true, shape: shape as Handled, param, params };
}

function help(command: string, problem: string): string {
  const lines = HANDLED.map((shape) =>
    shape
      .split(' ')
      .map((code) => {
        const words = KEYWORDS.filter((k) => k[1] === code);
        return ` ${words.map((k) => k[0]).join('|')}${words[0][2] ? ` $${words[0][0]}` : ''}`;
      })
      .join(''),
  );
  return `${command}: ${problem}\n${VERSION_LINE}\nCLI commands reference:\n${lines.join('\n')}\n`;
}
