// Declarative D-Bus interface tables: one per interface, the single source for dispatch,
// argument checking, marshalling and introspection.

export interface ArgSpec {
  name: string;
  type: string;
}

/** Every property is read-only: changes go through methods. */
export interface PropertySpec {
  name: string;
  type: string;
}

export interface MethodSpec {
  name: string;
  in: ArgSpec[];
  out: ArgSpec[];
}

export interface SignalSpec {
  name: string;
  args: ArgSpec[];
}

export interface InterfaceSpec {
  name: string;
  properties: PropertySpec[];
  methods: MethodSpec[];
  signals: SignalSpec[];
}

export const signatureOf = (args: ArgSpec[]): string => args.map((a) => a.type).join('');
