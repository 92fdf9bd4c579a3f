// The part of Cockpit's base1 API (loaded by index.html as ../base1/cockpit.js) that this
// page uses, typed. Nothing is bundled from Cockpit: the page talks to the bridge it runs in.

export interface DBusError {
  name: string;
  message: string;
  problem?: string;
}

export interface DBusCallOptions {
  type?: string;
  flags?: string;
  timeout?: number;
}

export interface Subscription {
  remove(): void;
}

export interface DBusClient {
  watch(match: { path_namespace?: string; path?: string }): Promise<void> & { remove(): void };
  call(path: string, iface: string, method: string, args: unknown[], options?: DBusCallOptions): Promise<unknown[]>;
  subscribe(
    match: { interface?: string; member?: string; path?: string; path_namespace?: string },
    cb: (path: string, iface: string, signal: string, args: unknown[]) => void,
  ): Subscription;
  addEventListener(event: 'owner', cb: (ev: unknown, owner: string | null) => void): void;
  addEventListener(event: 'close', cb: (ev: unknown, options: { problem?: string; message?: string }) => void): void;
  addEventListener(event: 'notify', cb: (ev: unknown, data: Record<string, Record<string, Record<string, unknown> | null>>) => void): void;
  close(problem?: string): void;
}

export interface CockpitFile {
  read(): Promise<string | null>;
  close(): void;
}

export interface Cockpit {
  dbus(name: string, options: { bus: 'system'; superuser?: 'try' | 'require' }): DBusClient;
  file(path: string): CockpitFile;
  variant(type: string, value: unknown): { t: string; v: unknown };
  message(problem: unknown): string;
  gettext(s: string): string;
  ngettext(singular: string, plural: string, n: number): string;
  /** "$0 of $1" with the arguments in place. */
  format(template: string, ...args: unknown[]): string;
  /** The language of the session's translations ("de", "en"…). */
  language: string;
  /** Navigates the shell (the top frame) to another page, e.g. "/storage#/dm-3". */
  jump(path: string, host?: string): void;
  transport: { wait(cb: () => void): void; host: string };
}

declare global {
  interface Window {
    cockpit: Cockpit;
  }
}

export const cockpit: Cockpit = window.cockpit;

/** Every string the page shows goes through these (cockpit/po.mjs extracts their literals). */
export const _ = (s: string): string => cockpit.gettext(s);
export const ngettext = (singular: string, plural: string, n: number): string => cockpit.ngettext(singular, plural, n);
/** Marks a message for extraction where it is translated later, with _() on the variable. */
export const N_ = (s: string): string => s;
export const format = (template: string, ...args: unknown[]): string => cockpit.format(template, ...args);
