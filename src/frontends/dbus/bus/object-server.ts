// The export layer. dbus-next's own Interface class cannot see callers, cannot unexport one
// interface, and mishandles Properties.Set, so every method call on this connection is
// answered here from the declarative tables: validate -> dispatch -> reply, and signals
// (PropertiesChanged, InterfacesAdded/Removed) are sent only for real changes.
import * as fs from 'node:fs';
import * as dbus from 'dbus-next';
import type { BusConnection } from './connection';
import { onMethodCall } from './dbus-next-internals';
import { signatureOf, type InterfaceSpec, type MethodSpec } from './interface-spec';
import { nodeXml, OBJECT_MANAGER, STANDARD } from './introspect';
import { validText, I32_MAX, I32_MIN, U32_MAX, U64_MAX } from '../../../model/value-limits';
import { variant } from './values';
import { align8, MessageTooLarge, objectEntrySize, parseSignature, premarshalObject, type ObjectInterfaces, type Premarshalled } from './wire';

export { variant };
export type Props = Record<string, unknown>;
/**
 * An interface's values read from their one owner when needed (the model's immutable
 * snapshot, captured): the server keeps the view, never a copy of the values. A new view
 * replaces the old one whole; what differs between them is announced.
 */
export type PropsView = () => Props;
/** Values the server keeps (merged on update: a caller may set one), or a view of them. */
export type PropsSource = Props | PropsView;

/** A source's values as its owner holds them (numbers not yet promoted). */
const read = (source: PropsSource): Props => (typeof source === 'function' ? source() : source);

export interface MethodCall {
  path: string;
  iface: string;
  member: string;
  args: unknown[];
  sender: string;
  /** The caller allows interactive authorization (polkit may ask a password). */
  allowInteractive: boolean;
  /** The uid admission found (see ObjectServerOptions.admit); undefined without admission. */
  uid?: number;
}

export type MethodHandler = (call: MethodCall) => unknown[] | Promise<unknown[]>;

/** Thrown by handlers for a named D-Bus error; anything else becomes Error.Failed. */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ObjectServerOptions {
  objectManagerPath: string;
  interfaces: InterfaceSpec[];
  handlers: Record<string, MethodHandler>;
  /** Told about every failure that was not a DBusError (a bug): in a handler, in routing, in a flush. */
  onInternalError?: (e: unknown, context: string) => void;
  /**
   * Signals are dropped, not queued, while this many bytes wait in our memory for the bus
   * daemon (BusConnection.outboundBytes): a bus that stops reading must not grow our memory.
   * Default DEFAULT_MAX_OUTBOUND_BYTES.
   */
  maxOutboundBytes?: number;
  /** Signals were dropped and the queue has drained: clients must be told to re-read. */
  onSignalsDropped?: (count: number) => void;
  /** A signal was not sent because the bus would refuse it (see BusConnection.maxMessageBytes). */
  onSignalTooLarge?: (what: string, e: MessageTooLarge) => void;
  /** What a caller whose reply is too large should use instead, by "interface.member". */
  tooLargeHints?: Record<string, string>;
  /**
   * Caller budgets: every method call waits for `admit` (a rejection with a DBusError is the
   * answer), which says whose budget the call spends; `charge` is told that uid and the size
   * of every reply sent. The uid is resolved once, at admission: nothing the bus (or a
   * forged signal) says later moves the charge elsewhere.
   */
  admit?: (sender: string) => Promise<number>;
  charge?: (uid: number, bytes: number) => void;
  /**
   * How long the marshalled GetManagedObjects entries are kept after the last call that
   * used them (default ENTRIES_KEPT_MS); then only their sizes stay, for refusals.
   */
  entriesKeptMs?: number;
  /** The kept entries were let go: `bytes` of them are garbage now (serve collects them). */
  onEntriesReleased?: (bytes: number) => void;
}

/** One page of the managed objects (see Manager.GetManagedObjectsPage). */
export interface ObjectPage {
  /** The a{oa{sa{sv}}} entries, already marshalled. */
  objects: Premarshalled[];
  next: string;
}

/**
 * A client's pages follow each other within milliseconds, and a hammering caller's calls
 * too: the entries serve those. Kept longer they are the reply's size again in memory
 * (7.6 MiB at 1,000 x 4, 48 MiB at 8,192 x 4) for a read that may not come for hours.
 */
const ENTRIES_KEPT_MS = 2000;

/** Bytes that may wait for the bus daemon before signals are dropped (then the caller says Resynchronized). */
export const DEFAULT_MAX_OUTBOUND_BYTES = 16 * 1024 * 1024;

/** More than the largest header we send: fixed part, reply serial, a unique-name destination, the signature. */
const HEADER_RESERVE = 512;

const ERR = 'org.freedesktop.DBus.Error.';
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const NO_REPLY_EXPECTED = 0x1;

interface RawMessage {
  type: number;
  flags?: number;
  serial: number;
  path: string;
  interface?: string;
  member: string;
  signature?: string;
  sender: string;
  body?: unknown[];
  /** Set by admission: the uid the call and its reply are charged to. */
  uid?: number;
}

/** Deep equality of property values: arrays, structs, dicts and variants by content. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

type Type = ReturnType<typeof parseSignature>[number];
/** Property types parsed once: the tables name a handful. */
const PARSED = new Map<string, Type>();
function parsedType(type: string): Type {
  let parsed = PARSED.get(type);
  if (!parsed) PARSED.set(type, (parsed = parseSignature(type)[0]));
  return parsed;
}
const OBJECT_PATH = /^\/$|^(\/[A-Za-z0-9_]+)+$/;

/**
 * Why a value does not fit its type (undefined: it fits). Outside data was made to fit at
 * the model's edge (model/clean-values.ts); this is the assertion that nothing reached a message around it, since
 * one bad value makes dbus-daemon drop the whole connection.
 */
function misfit(t: Type, v: unknown): string | undefined {
  const int = (lo: number, hi: number) => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `${String(v)} is not in ${lo}..${hi}`);
  switch (t.code) {
    case 's':
      return typeof v === 'string' && validText(v) ? undefined : 'not a string D-Bus can carry (NUL or invalid UTF-8)';
    case 'o':
      return typeof v === 'string' && OBJECT_PATH.test(v) ? undefined : `${JSON.stringify(v)} is not an object path`;
    case 'u':
      return int(0, U32_MAX);
    case 'i':
      return int(I32_MIN, I32_MAX);
    case 't':
      return typeof v === 'bigint' && v >= 0n && v <= U64_MAX ? undefined : `${String(v)} is not a uint64`;
    case 'b':
      return typeof v === 'boolean' ? undefined : `${String(v)} is not a boolean`;
    case 'a': {
      const child = t.children[0];
      if (child.code === '{') {
        const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
        for (const [k, x] of entries) {
          const why = misfit(child.children[0], k) ?? misfit(child.children[1], x);
          if (why) return why;
        }
        return undefined;
      }
      if (!Array.isArray(v)) return 'not an array';
      for (const x of v) {
        const why = misfit(child, x);
        if (why) return why;
      }
      return undefined;
    }
    case '(':
      if (!Array.isArray(v) || v.length !== t.children.length) return 'not a struct';
      for (const [i, c] of t.children.entries()) {
        const why = misfit(c, v[i]);
        if (why) return why;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Numbers where the table says 't' or 'x' are promoted, so handlers need not care. */
function coerce(type: string, value: unknown): unknown {
  if ((type === 't' || type === 'x') && typeof value === 'number') return BigInt(value);
  return value;
}

export class ObjectServer {
  private readonly specs = new Map<string, InterfaceSpec>();
  /** interface -> property -> signature */
  private readonly propTypes = new Map<string, Map<string, string>>();
  /** "interface.member" -> the signal's arguments and signature. */
  private readonly signalSpecs = new Map<string, { args: InterfaceSpec['signals'][number]['args']; signature: string }>();
  /** What Get/GetAll answer and what was or will be announced: values kept here, or views of them. */
  private readonly objects = new Map<string, Map<string, PropsSource>>();
  /** Changed since the last flush: path -> interface -> property -> the value clients last saw. */
  private readonly pending = new Map<string, Map<string, Map<string, unknown>>>();
  private flushScheduled = false;
  private machineId: string | undefined;
  private dropped = 0;
  /**
   * Each object's GetManagedObjects entry, marshalled when first asked for, or only its size
   * while a refusal needed no more; dropped when the object changes.
   */
  private readonly entries = new Map<string, Premarshalled | number>();
  /**
   * GetManagedObjects' reply as far as it is known: the 8-aligned sizes of the managed
   * objects' kept entries (or sizes), kept current as they are made and dropped. With it a
   * reply past the limit is refused at once; walking every object to find out let one uid's
   * refused calls keep a core busy.
   */
  private keptEntryBytes = 0;
  /** Managed objects without a kept entry or size: what keptEntryBytes does not count yet. */
  private readonly unsized = new Set<string>();
  /** The managed objects' paths in byte order, while the set of objects does not change. */
  private sorted: string[] | undefined;
  /** Lets the entries go ENTRIES_KEPT_MS after the last call that used them. */
  private entriesTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: BusConnection,
    private readonly options: ObjectServerOptions,
  ) {
    for (const s of options.interfaces) {
      this.specs.set(s.name, s);
      this.propTypes.set(s.name, new Map(s.properties.map((p) => [p.name, p.type])));
      for (const sig of s.signals) this.signalSpecs.set(`${s.name}.${sig.name}`, { args: sig.args, signature: signatureOf(sig.args) });
    }
    onMethodCall(bus.raw, (msg: dbus.Message) => {
      void this.admitted(msg as unknown as RawMessage);
      return true;
    });
  }

  has(path: string): boolean {
    return this.objects.has(path);
  }

  paths(): IterableIterator<string> {
    return this.objects.keys();
  }

  /**
   * Create or update one object. A new object or interface is announced at once
   * (InterfacesAdded); changed values are announced at the end of the burst, one
   * PropertiesChanged per object and interface, and only if they still differ from what
   * clients last saw.
   */
  setObject(path: string, interfaces: Map<string, PropsSource>): void {
    const current = this.objects.get(path);
    if (!current) {
      const kept = new Map<string, PropsSource>();
      const announced: Record<string, Record<string, dbus.Variant>> = {};
      for (const [i, source] of interfaces) {
        const values = this.normalize(i, read(source));
        kept.set(i, typeof source === 'function' ? source : values);
        announced[i] = this.marshalProps(i, values);
      }
      this.objects.set(path, kept);
      this.dropEntry(path);
      this.sorted = undefined;
      this.signal(this.options.objectManagerPath, OBJECT_MANAGER.name, 'InterfacesAdded', 'oa{sa{sv}}', [path, announced]);
      return;
    }
    const removed = [...current.keys()].filter((i) => !interfaces.has(i));
    if (removed.length > 0) {
      this.dropEntry(path);
      for (const i of removed) {
        current.delete(i);
        this.pending.get(path)?.delete(i);
      }
      this.signal(this.options.objectManagerPath, OBJECT_MANAGER.name, 'InterfacesRemoved', 'oas', [path, removed]);
    }
    const added: Record<string, Record<string, dbus.Variant>> = {};
    for (const [iface, source] of interfaces) {
      const was = current.get(iface);
      if (!was) {
        const values = this.normalize(iface, read(source));
        current.set(iface, typeof source === 'function' ? source : values);
        this.dropEntry(path);
        added[iface] = this.marshalProps(iface, values);
        continue;
      }
      const old = read(was);
      const props = read(source);
      // Kept values are updated in place; a view replaces the one before it.
      const kept = typeof source === 'function' ? undefined : typeof was === 'function' ? { ...old } : was;
      current.set(iface, kept ?? source);
      // Most of a burst's updates change one or two values: only those are checked.
      for (const [k, raw] of Object.entries(props)) {
        const type = this.typeOf(iface, k);
        const v = coerce(type, raw);
        const before = coerce(type, old[k]);
        if (kept) kept[k] = v;
        if (same(before, v)) continue;
        this.assertFits(`${iface}.${k}`, type, v);
        this.dropEntry(path);
        let byIface = this.pending.get(path);
        if (!byIface) this.pending.set(path, (byIface = new Map()));
        let seen = byIface.get(iface);
        if (!seen) byIface.set(iface, (seen = new Map()));
        if (!seen.has(k)) seen.set(k, before);
        else if (same(seen.get(k), v)) seen.delete(k);
      }
    }
    if (Object.keys(added).length > 0) this.signal(this.options.objectManagerPath, OBJECT_MANAGER.name, 'InterfacesAdded', 'oa{sa{sv}}', [path, added]);
    if (this.pending.size > 0) this.scheduleFlush();
  }

  removeObject(path: string): void {
    const current = this.objects.get(path);
    if (!current) return;
    this.objects.delete(path);
    this.pending.delete(path);
    this.dropEntry(path);
    this.sorted = undefined;
    this.signal(this.options.objectManagerPath, OBJECT_MANAGER.name, 'InterfacesRemoved', 'oas', [path, [...current.keys()]]);
  }

  /** One PropertiesChanged per object and interface for everything changed since the last flush. */
  flush(): void {
    for (const [path, byIface] of this.pending) {
      const obj = this.objects.get(path)!;
      for (const [iface, seen] of byIface) {
        if (seen.size === 0) continue;
        const values = this.values(iface, obj.get(iface)!);
        const changed: Props = {};
        for (const k of seen.keys()) changed[k] = values[k];
        this.signal(path, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as', [iface, this.marshalProps(iface, changed), []]);
      }
    }
    this.pending.clear();
  }

  emitSignal(path: string, iface: string, member: string, args: unknown[]): void {
    const spec = this.signalSpecs.get(`${iface}.${member}`);
    if (!spec) throw new Error(`no signal ${iface}.${member} in the tables`);
    const { args: specArgs, signature } = spec;
    if (args.length !== specArgs.length) throw new Error(`${member} takes ${specArgs.length} arguments, got ${args.length}`);
    // Once per event in a storm: the arguments are promoted in place, and a message is made only for a misfit.
    for (let i = 0; i < args.length; i++) {
      const { name, type } = specArgs[i];
      const v = (args[i] = coerce(type, args[i]));
      const why = misfit(parsedType(type), v);
      if (why) throw new Error(`${member} argument ${name} at ${path}: ${why}`);
    }
    this.signal(path, iface, member, signature, args);
  }

  private signal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    if (this.dropped > 0) {
      this.dropped++;
      return;
    }
    if (this.bus.outboundBytes > (this.options.maxOutboundBytes ?? DEFAULT_MAX_OUTBOUND_BYTES)) {
      this.dropped = 1;
      this.bus.once('drain', () => {
        const n = this.dropped;
        this.dropped = 0;
        this.options.onSignalsDropped?.(n);
      });
      return;
    }
    try {
      this.bus.sendSignal(path, iface, member, signature, body);
    } catch (e) {
      if (!(e instanceof MessageTooLarge)) throw e;
      this.options.onSignalTooLarge?.(`${iface}.${member} on ${path}`, e);
    }
  }

  /**
   * Managed objects in byte order of their paths, those after `after`, at most `max`, and
   * no more than fit in one reply (sizes known before marshalling): bounded work per call.
   */
  page(after: string, max: number): ObjectPage {
    const sorted = this.sortedPaths();
    // The first path after `after`: "\0" sorts below every character a path may hold.
    const lo = this.firstAtLeast(`${after}\0`);
    const limit = this.replyBudget;
    const objects: Premarshalled[] = [];
    let bytes = 8;
    let i = lo;
    let count = 0;
    for (; i < sorted.length && count < max; i++) {
      const p = sorted[i];
      if (!this.managed(p)) continue;
      // The reply also carries `next`, at most this path.
      const entry = this.entry(p);
      const size = align8(entry.bytes.length);
      if (bytes + size + 8 + Buffer.byteLength(p) > limit) break;
      bytes += size;
      count++;
      objects.push(entry);
    }
    this.entriesUsed();
    if (count === 0 && i < sorted.length) {
      throw new DBusError(
        `${ERR}LimitsExceeded`,
        `the object ${sorted[i]} alone is larger than the message size limit (${this.bus.maxMessageBytes} bytes); read its properties one by one with org.freedesktop.DBus.Properties.Get`,
      );
    }
    return { objects, next: i < sorted.length ? sorted[i - 1] : '' };
  }

  /** Bytes a reply body may take: the message limit less room for any header. */
  get replyBudget(): number {
    return this.bus.maxMessageBytes - HEADER_RESERVE;
  }

  /** Every object path in byte order (object paths are ASCII, so UTF-16 order is byte order). */
  private sortedPaths(): string[] {
    if (!this.sorted) this.sorted = [...this.objects.keys()].sort();
    return this.sorted;
  }

  /** The objects GetManagedObjects and its pages return: the manager's and those below it. */
  private managed(path: string): boolean {
    const root = this.options.objectManagerPath;
    return path === root || path.startsWith(`${root}/`);
  }

  private entry(path: string): Premarshalled {
    const kept = this.entries.get(path);
    if (typeof kept === 'object') return kept;
    const e = premarshalObject(path, this.interfacesOf(this.objects.get(path)!));
    this.entries.set(path, e);
    if (this.unsized.delete(path)) this.keptEntryBytes += align8(e.bytes.length);
    return e;
  }

  private entriesUsed(): void {
    if (this.entriesTimer) this.entriesTimer.refresh();
    else this.entriesTimer = setTimeout(() => this.releaseEntries(), this.options.entriesKeptMs ?? ENTRIES_KEPT_MS).unref();
  }

  /** Each kept entry becomes its size: the running total and refusals stay as they were. */
  private releaseEntries(): void {
    this.entriesTimer = undefined;
    let bytes = 0;
    for (const [path, e] of this.entries) {
      if (typeof e !== 'object') continue;
      bytes += e.bytes.length;
      this.entries.set(path, e.bytes.length);
    }
    this.options.onEntriesReleased?.(bytes);
  }

  /** Nothing left to fire once the front end stops. */
  stop(): void {
    if (this.entriesTimer) clearTimeout(this.entriesTimer);
    this.entriesTimer = undefined;
  }

  /** The object at `path` is new, changed or gone: its entry is no longer what GetManagedObjects would send. */
  private dropEntry(path: string): void {
    const e = this.entries.get(path);
    if (e !== undefined) {
      this.entries.delete(path);
      if (this.managed(path)) this.keptEntryBytes -= align8(typeof e === 'number' ? e : e.bytes.length);
    }
    if (this.objects.has(path) && this.managed(path)) this.unsized.add(path);
    else this.unsized.delete(path);
  }

  /**
   * GetManagedObjects' reply size, counted until it is past the limit: the running total,
   * then the sizes of objects that are new or changed since, measured now without making
   * their entries (a refused reply needs none; the pages that follow make each as they need
   * it) and kept. `measured` is what that counted, for the caller's budget. The work is that
   * of the changes, not of the objects: a refusal repeated costs nothing more.
   */
  private managedObjectsSize(): { bytes: number; measured: number } {
    let bytes = HEADER_RESERVE + 8 + this.keptEntryBytes;
    let measured = 0;
    const limit = this.bus.maxMessageBytes;
    const sized: string[] = [];
    for (const p of this.unsized) {
      if (bytes > limit) break;
      const size = align8(objectEntrySize(p, this.interfacesOf(this.objects.get(p)!)));
      this.entries.set(p, size);
      sized.push(p);
      bytes += size;
      measured += size;
    }
    // Deleted after the walk: deleting each as it was walked took two thirds of the walk's own time (profile at 8,192 x 4).
    if (sized.length === this.unsized.size) this.unsized.clear();
    else for (const p of sized) this.unsized.delete(p);
    this.keptEntryBytes += measured;
    return { bytes, measured };
  }

  /** Changes made in one turn of the event loop go out together. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      try {
        this.flush();
      } catch (e) {
        this.internalError(e, 'the end-of-burst flush');
      }
    });
  }

  private internalError(e: unknown, context: string): void {
    if (this.options.onInternalError) this.options.onInternalError(e, context);
    else throw e;
  }

  /** An interface's values as clients see them: a view is read now (numbers promoted; its owner's values were checked when it was set). */
  private values(iface: string, source: PropsSource): Props {
    if (typeof source !== 'function') return source;
    const types = this.typesOf(iface);
    const out: Props = {};
    for (const [k, v] of Object.entries(read(source))) out[k] = coerce(types.get(k) ?? '', v);
    return out;
  }

  /** A copy with numbers promoted where the table says 't' or 'x'; a name outside the tables is a bug and throws. */
  private normalize(iface: string, props: Props): Props {
    this.typesOf(iface);
    const out: Props = {};
    for (const [k, v] of Object.entries(props)) {
      const type = this.typeOf(iface, k);
      out[k] = coerce(type, v);
      this.assertFits(`${iface}.${k}`, type, out[k]);
    }
    return out;
  }

  /** A property's type from the tables; a name outside them is a bug and throws. */
  private typeOf(iface: string, prop: string): string {
    const type = this.typesOf(iface).get(prop);
    if (!type) throw new Error(`no property ${prop} on ${iface} in the tables`);
    return type;
  }

  private typesOf(iface: string): Map<string, string> {
    const types = this.propTypes.get(iface);
    if (!types) throw new Error(`no interface ${iface} in the tables`);
    return types;
  }

  private assertFits(what: string, type: string, value: unknown): void {
    const why = misfit(parsedType(type), value);
    if (why) throw new Error(`${what}: ${why}`);
  }

  private marshalProps(iface: string, props: Props): Record<string, dbus.Variant> {
    const types = this.propTypes.get(iface)!;
    const out: Record<string, dbus.Variant> = {};
    for (const [k, v] of Object.entries(props)) out[k] = variant(types.get(k)!, v);
    return out;
  }

  /** For premarshalObject: a view is read as it is (the writer promotes numbers itself). */
  private *interfacesOf(ifaces: Map<string, PropsSource>): ObjectInterfaces {
    for (const [i, source] of ifaces) yield [i, this.propTypes.get(i)!, read(source)];
  }

  /** The one place replies are sent: one that the bus would refuse becomes LimitsExceeded, naming the alternative. */
  private reply(msg: RawMessage, signature: string, body: unknown[]): void {
    if ((msg.flags ?? 0) & NO_REPLY_EXPECTED) return;
    try {
      const bytes = this.bus.sendReply(msg, signature, body);
      if (msg.uid !== undefined) this.options.charge?.(msg.uid, bytes);
    } catch (e) {
      if (!(e instanceof MessageTooLarge)) throw e;
      this.tooLarge(msg, e.message);
    }
  }

  private tooLarge(msg: RawMessage, why: string): void {
    const hint = this.options.tooLargeHints?.[`${msg.interface ?? ''}.${msg.member}`];
    this.error(msg, `${ERR}LimitsExceeded`, `the reply to ${msg.member} would be ${why}${hint ? `; ${hint}` : ''}`);
  }

  /**
   * Caller budgets first (see ObjectServerOptions.admit), then the call. A call that asks for
   * no reply is run only if its method returns nothing (it has an effect): a query whose
   * answer nobody reads would be work that no budget sees.
   */
  private async admitted(msg: RawMessage): Promise<void> {
    if ((msg.flags ?? 0) & NO_REPLY_EXPECTED) {
      // Without an interface, the method is the object's own, as route() finds it.
      const ifaces = msg.interface ? [msg.interface] : [...(this.objects.get(msg.path)?.keys() ?? [])];
      const method = ifaces.map((i) => this.specs.get(i)?.methods.find((m) => m.name === msg.member)).find((m) => m !== undefined);
      if (method?.out.length !== 0) return;
    }
    try {
      msg.uid = await this.options.admit?.(msg.sender);
    } catch (e) {
      const refusal = e instanceof DBusError ? e : new DBusError(`${ERR}Failed`, 'internal error');
      return this.error(msg, refusal.errorName, refusal.message);
    }
    await this.dispatch(msg);
  }

  private error(msg: RawMessage, name: string, text: string): void {
    if ((msg.flags ?? 0) & NO_REPLY_EXPECTED) return;
    this.bus.sendError(msg, name, text);
  }

  private async dispatch(msg: RawMessage): Promise<void> {
    try {
      await this.route(msg);
    } catch (e) {
      // Never let a bad message or a bug leave a caller without an answer.
      try {
        this.error(msg, `${ERR}Failed`, 'internal error');
      } finally {
        this.internalError(e, `${msg.interface ?? '(no interface)'}.${msg.member} on ${msg.path} from ${msg.sender}`);
      }
    }
  }

  private checkArgs(msg: RawMessage, expected: string): boolean {
    const got = msg.signature ?? '';
    if (got === expected) return true;
    this.error(msg, `${ERR}InvalidArgs`, `${msg.member} takes arguments of type "${expected}", got "${got}"`);
    return false;
  }

  private async route(msg: RawMessage): Promise<void> {
    const { path, member } = msg;
    const iface = msg.interface ?? '';
    const obj = this.objects.get(path);
    switch (iface) {
      case 'org.freedesktop.DBus.Introspectable':
        if (member === 'Introspect' && this.checkArgs(msg, '')) return this.introspect(msg);
        break;
      case 'org.freedesktop.DBus.Peer':
        if (member === 'Ping' && this.checkArgs(msg, '')) return this.reply(msg, '', []);
        if (member === 'GetMachineId' && this.checkArgs(msg, '')) return this.reply(msg, 's', [this.readMachineId()]);
        break;
      case 'org.freedesktop.DBus.Properties':
        return this.properties(msg, obj);
      case OBJECT_MANAGER.name:
        if (member === 'GetManagedObjects' && path === this.options.objectManagerPath && this.checkArgs(msg, '')) {
          const { bytes, measured } = this.managedObjectsSize();
          if (bytes > this.bus.maxMessageBytes) {
            // A refusal is charged what it measured, as a reply is charged what it carries.
            if (msg.uid !== undefined) this.options.charge?.(msg.uid, measured);
            return this.tooLarge(msg, `more than ${this.bus.maxMessageBytes} bytes, the message size limit`);
          }
          const out: Premarshalled[] = [];
          for (const p of this.objects.keys()) if (this.managed(p)) out.push(this.entry(p));
          this.entriesUsed();
          return this.reply(msg, 'a{oa{sa{sv}}}', [out]);
        }
        break;
      default: {
        if (!obj) return this.error(msg, `${ERR}UnknownObject`, `no object at ${path}`);
        const candidates = iface ? [iface] : [...obj.keys()];
        for (const name of candidates) {
          const method = obj.has(name) ? this.specs.get(name)?.methods.find((m) => m.name === member) : undefined;
          if (method) return this.invoke(msg, name, method);
        }
      }
    }
    if (!obj && !this.isAncestor(path)) return this.error(msg, `${ERR}UnknownObject`, `no object at ${path}`);
    this.error(msg, `${ERR}UnknownMethod`, `no method ${member} on interface ${iface || '(none)'} at ${path}`);
  }

  private async invoke(msg: RawMessage, iface: string, method: MethodSpec): Promise<void> {
    if (!this.checkArgs(msg, signatureOf(method.in))) return;
    const handler = this.options.handlers[`${iface}.${method.name}`];
    const call: MethodCall = {
      path: msg.path,
      iface,
      member: method.name,
      args: msg.body ?? [],
      sender: msg.sender,
      allowInteractive: ((msg.flags ?? 0) & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0,
      uid: msg.uid,
    };
    if (!handler) return this.error(msg, `${ERR}NotSupported`, `${method.name} is not implemented`);
    try {
      const out = await handler(call);
      this.reply(msg, signatureOf(method.out), out.map((v, i) => coerce(method.out[i].type, v)));
    } catch (e) {
      if (e instanceof DBusError) return this.error(msg, e.errorName, e.message);
      this.error(msg, `${ERR}Failed`, `${method.name} failed`);
      this.internalError(e, `${iface}.${method.name} from ${call.sender}`);
    }
  }

  private properties(msg: RawMessage, obj: Map<string, PropsSource> | undefined): void {
    const { member } = msg;
    const expected: Record<string, string> = { Get: 'ss', GetAll: 's', Set: 'ssv' };
    if (!(member in expected)) return this.error(msg, `${ERR}UnknownMethod`, `no method ${member} on org.freedesktop.DBus.Properties`);
    if (!this.checkArgs(msg, expected[member])) return;
    if (!obj) return this.error(msg, `${ERR}UnknownObject`, `no object at ${msg.path}`);
    const [iface, name] = msg.body as [string, string];
    const source = obj.get(iface);
    if (!source) return this.error(msg, `${ERR}UnknownInterface`, `no interface ${iface} at ${msg.path}`);
    const props = this.values(iface, source);
    if (member === 'GetAll') return this.reply(msg, 'a{sv}', [this.marshalProps(iface, props)]);
    const type = this.propTypes.get(iface)!.get(name);
    if (!type) return this.error(msg, `${ERR}UnknownProperty`, `no property ${name} on ${iface}`);
    if (member === 'Set') return this.error(msg, `${ERR}PropertyReadOnly`, `${name} is read-only; changes go through methods`);
    if (!Object.hasOwn(props, name)) return this.error(msg, `${ERR}UnknownProperty`, `${name} has no value at ${msg.path}`);
    this.reply(msg, 'v', [variant(type, props[name])]);
  }

  private isAncestor(path: string): boolean {
    const prefix = path === '/' ? '/' : `${path}/`;
    return this.sortedPaths()[this.firstAtLeast(prefix)]?.startsWith(prefix) ?? false;
  }

  /**
   * The child names under `prefix`, from the sorted index: after each child, skip its
   * descendants ("<child>/..." sorts below "<child>0"), so the work is per child, not per
   * object, and an unprivileged Introspect of a leaf costs no walk over every object.
   */
  private childrenOf(prefix: string): Set<string> {
    const sorted = this.sortedPaths();
    const children = new Set<string>();
    for (let i = this.firstAtLeast(prefix); i < sorted.length && sorted[i].startsWith(prefix); ) {
      const child = sorted[i].slice(prefix.length).split('/')[0];
      children.add(child);
      i = this.firstAtLeast(`${prefix}${child}0`, i + 1);
    }
    return children;
  }

  /** Index of the first sorted path >= key (from `lo`). */
  private firstAtLeast(key: string, lo = 0): number {
    const sorted = this.sortedPaths();
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private introspect(msg: RawMessage): void {
    const path = msg.path;
    const children = this.childrenOf(path === '/' ? '/' : `${path}/`);
    const obj = this.objects.get(path);
    const isManager = path === this.options.objectManagerPath;
    if (!obj && !isManager && children.size === 0) return this.error(msg, `${ERR}UnknownObject`, `no object at ${path}`);
    // Intermediate nodes only list their children, so `busctl tree` can walk down to the objects.
    const ifaces = obj ? [...STANDARD] : STANDARD.filter((s) => s.name !== 'org.freedesktop.DBus.Properties');
    if (isManager) ifaces.push(OBJECT_MANAGER);
    for (const name of obj?.keys() ?? []) ifaces.push(this.specs.get(name)!);
    this.reply(msg, 's', [nodeXml(ifaces, children)]);
  }

  private readMachineId(): string {
    if (this.machineId === undefined) {
      try {
        this.machineId = fs.readFileSync('/etc/machine-id', 'utf8').trim();
      } catch {
        this.machineId = '';
      }
    }
    return this.machineId;
  }
}
