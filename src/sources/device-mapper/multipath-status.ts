// The dm-mpath target's status and table parameters, as DM_TABLE_STATUS returns them
// (drivers/md/dm-mpath.c, multipath_status()). Both are flat lists of counted fields:
//
// status: <#features> <features>* <#hw-handler-status> <args>* <#groups> <next group>
//         ( <A|E|D> <#selector-group-status> <args>* <#paths> <#selector-path-status>
//           ( <dev_t> <A|F> <fail count> <selector-path-status>* )+ )+
// table:  <#features> <features>* <#hw-handler> <name> <args>* <#groups> <initial group>
//         ( <selector> <#selector-args> <args>* <#paths> <#selector-path-args>
//           ( <dev_t> <selector-path-args>* )+ )+
import { fail, ok, quoteSnippet, type Result } from '../../util/result';
import type { DmPathStatus, DmGroupStatus, DmMultipathStatus, DmGroupTable, DmMultipathTable } from '../../model/readings';

const GROUP_STATE = { A: 'active', E: 'enabled', D: 'disabled' } as const;
const DEV_T = /^\d{1,10}:\d{1,10}$/;

/** Reads the token list front to back; every failure names the 1-based token position. */
class Tokens {
  private pos = 0;
  constructor(private readonly tokens: string[]) {}

  get left(): number {
    return this.tokens.length - this.pos;
  }

  word(what: string): Result<string> {
    if (this.pos >= this.tokens.length) return fail(`ends after ${this.tokens.length} tokens, expected ${what}`);
    return ok(this.tokens[this.pos++]);
  }

  count(what: string, perItem = 1): Result<number> {
    const at = this.pos + 1;
    const w = this.word(what);
    if (!w.ok) return w;
    if (!/^\d{1,10}$/.test(w.value)) return fail(`token ${at} (${what}): ${quoteSnippet(w.value)} is not a count`);
    const n = Number(w.value);
    // Each counted item takes at least perItem tokens: a larger count cannot be satisfied.
    if (n * perItem > this.left) return fail(`token ${at} (${what}): ${n} does not fit in the ${this.left} tokens left`);
    return ok(n);
  }

  words(n: number, what: string): Result<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const w = this.word(what);
      if (!w.ok) return w;
      out.push(w.value);
    }
    return ok(out);
  }

  /** "<n> <arg>*" -> the args. */
  counted(what: string): Result<string[]> {
    const n = this.count(`${what} count`);
    return n.ok ? this.words(n.value, what) : n;
  }

  devT(what: string): Result<string> {
    const at = this.pos + 1;
    const w = this.word(what);
    if (!w.ok) return w;
    return DEV_T.test(w.value) ? w : fail(`token ${at} (${what}): ${quoteSnippet(w.value)} is not major:minor`);
  }

  end(): Result<void> {
    return this.left === 0 ? ok(undefined) : fail(`token ${this.pos + 1}: ${this.left} unexpected trailing tokens`);
  }
}

function tokenize(params: string): Tokens {
  const trimmed = params.trim();
  return new Tokens(trimmed === '' ? [] : trimmed.split(/\s+/));
}

export function parseMultipathStatus(params: string): Result<DmMultipathStatus> {
  const t = tokenize(params);
  const featureArgs = t.counted('feature');
  if (!featureArgs.ok) return featureArgs;
  const hwHandlerArgs = t.counted('hardware handler status');
  if (!hwHandlerArgs.ok) return hwHandlerArgs;
  // A group takes at least 4 tokens (state, selector status count, path count, selector args).
  const nGroups = t.count('group count', 4);
  if (!nGroups.ok) return nGroups;
  const nextGroup = t.count('next group');
  if (!nextGroup.ok) return nextGroup;
  if (nextGroup.value > nGroups.value) return fail(`next group ${nextGroup.value} is beyond the ${nGroups.value} groups`);

  const groups: DmGroupStatus[] = [];
  for (let g = 1; g <= nGroups.value; g++) {
    const group = statusGroup(t, g);
    if (!group.ok) return group;
    groups.push(group.value);
  }
  const end = t.end();
  if (!end.ok) return end;
  return ok({ featureArgs: featureArgs.value, hwHandlerArgs: hwHandlerArgs.value, nextGroup: nextGroup.value, groups });
}

function statusGroup(t: Tokens, g: number): Result<DmGroupStatus> {
  const stateChar = t.word(`group ${g} state`);
  if (!stateChar.ok) return stateChar;
  if (!Object.hasOwn(GROUP_STATE, stateChar.value)) return fail(`group ${g}: state ${quoteSnippet(stateChar.value)} is not A, E or D`);
  const state = GROUP_STATE[stateChar.value as keyof typeof GROUP_STATE];
  const selectorStatus = t.counted(`group ${g} selector status`);
  if (!selectorStatus.ok) return selectorStatus;
  const nPaths = t.count(`group ${g} path count`, 3);
  if (!nPaths.ok) return nPaths;
  const nArgs = t.count(`group ${g} selector path status count`);
  if (!nArgs.ok) return nArgs;

  const paths: DmPathStatus[] = [];
  for (let p = 1; p <= nPaths.value; p++) {
    const what = `group ${g} path ${p}`;
    const devT = t.devT(`${what} dev_t`);
    if (!devT.ok) return devT;
    const flag = t.word(`${what} state`);
    if (!flag.ok) return flag;
    if (flag.value !== 'A' && flag.value !== 'F') return fail(`${what}: state ${quoteSnippet(flag.value)} is not A or F`);
    const failCount = t.count(`${what} fail count`, 0);
    if (!failCount.ok) return failCount;
    const args = t.words(nArgs.value, `${what} selector status`);
    if (!args.ok) return args;
    paths.push({ devT: devT.value, active: flag.value === 'A', failCount: failCount.value });
  }
  return ok({ state, paths });
}

export function parseMultipathTable(params: string): Result<DmMultipathTable> {
  const t = tokenize(params);
  const features = t.counted('feature');
  if (!features.ok) return features;
  const hwHandler = t.counted('hardware handler');
  if (!hwHandler.ok) return hwHandler;
  // A group takes at least 4 tokens (selector name, its arg count, path count, path arg count).
  const nGroups = t.count('group count', 4);
  if (!nGroups.ok) return nGroups;
  const initialGroup = t.count('initial group');
  if (!initialGroup.ok) return initialGroup;
  if (initialGroup.value > nGroups.value) return fail(`initial group ${initialGroup.value} is beyond the ${nGroups.value} groups`);

  const groups: DmGroupTable[] = [];
  for (let g = 1; g <= nGroups.value; g++) {
    const group = tableGroup(t, g);
    if (!group.ok) return group;
    groups.push(group.value);
  }
  const end = t.end();
  if (!end.ok) return end;
  return ok({
    features: withCount(features.value),
    hardwareHandler: withCount(hwHandler.value),
    initialGroup: initialGroup.value,
    groups,
  });
}

function tableGroup(t: Tokens, g: number): Result<DmGroupTable> {
  const name = t.word(`group ${g} selector`);
  if (!name.ok) return name;
  const selectorArgs = t.counted(`group ${g} selector argument`);
  if (!selectorArgs.ok) return selectorArgs;
  const nPaths = t.count(`group ${g} path count`);
  if (!nPaths.ok) return nPaths;
  const nArgs = t.count(`group ${g} selector path argument count`);
  if (!nArgs.ok) return nArgs;

  const paths: DmGroupTable['paths'] = [];
  for (let p = 1; p <= nPaths.value; p++) {
    const devT = t.devT(`group ${g} path ${p} dev_t`);
    if (!devT.ok) return devT;
    const args = t.words(nArgs.value, `group ${g} path ${p} selector argument`);
    if (!args.ok) return args;
    paths.push({ devT: devT.value, args: args.value });
  }
  return ok({ selector: `${name.value} ${withCount(selectorArgs.value)}`, paths });
}

function withCount(args: string[]): string {
  return [String(args.length), ...args].join(' ');
}
