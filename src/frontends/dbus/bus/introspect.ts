// Introspection XML generated from the interface tables.
import type { ArgSpec, InterfaceSpec } from './interface-spec';

const DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">';

export const STANDARD: InterfaceSpec[] = [
  {
    name: 'org.freedesktop.DBus.Peer',
    properties: [],
    methods: [
      { name: 'Ping', in: [], out: [] },
      { name: 'GetMachineId', in: [], out: [{ name: 'machine_uuid', type: 's' }] },
    ],
    signals: [],
  },
  {
    name: 'org.freedesktop.DBus.Introspectable',
    properties: [],
    methods: [{ name: 'Introspect', in: [], out: [{ name: 'xml_data', type: 's' }] }],
    signals: [],
  },
  {
    name: 'org.freedesktop.DBus.Properties',
    properties: [],
    methods: [
      { name: 'Get', in: [{ name: 'interface_name', type: 's' }, { name: 'property_name', type: 's' }], out: [{ name: 'value', type: 'v' }] },
      { name: 'GetAll', in: [{ name: 'interface_name', type: 's' }], out: [{ name: 'props', type: 'a{sv}' }] },
      {
        name: 'Set',
        in: [
          { name: 'interface_name', type: 's' },
          { name: 'property_name', type: 's' },
          { name: 'value', type: 'v' },
        ],
        out: [],
      },
    ],
    signals: [
      {
        name: 'PropertiesChanged',
        args: [
          { name: 'interface_name', type: 's' },
          { name: 'changed_properties', type: 'a{sv}' },
          { name: 'invalidated_properties', type: 'as' },
        ],
      },
    ],
  },
];

export const OBJECT_MANAGER: InterfaceSpec = {
  name: 'org.freedesktop.DBus.ObjectManager',
  properties: [],
  methods: [{ name: 'GetManagedObjects', in: [], out: [{ name: 'objects', type: 'a{oa{sa{sv}}}' }] }],
  signals: [
    { name: 'InterfacesAdded', args: [{ name: 'object_path', type: 'o' }, { name: 'interfaces_and_properties', type: 'a{sa{sv}}' }] },
    { name: 'InterfacesRemoved', args: [{ name: 'object_path', type: 'o' }, { name: 'interfaces', type: 'as' }] },
  ],
};

const arg = (a: ArgSpec, direction?: 'in' | 'out') =>
  `<arg name="${a.name}" type="${a.type}"${direction ? ` direction="${direction}"` : ''}/>`;

function interfaceXml(spec: InterfaceSpec): string {
  const lines = [`  <interface name="${spec.name}">`];
  for (const m of spec.methods) {
    const inner = [...m.in.map((a) => arg(a, 'in')), ...m.out.map((a) => arg(a, 'out'))];
    lines.push(inner.length ? `    <method name="${m.name}">\n${inner.map((l) => `      ${l}`).join('\n')}\n    </method>` : `    <method name="${m.name}"/>`);
  }
  for (const s of spec.signals) {
    lines.push(s.args.length ? `    <signal name="${s.name}">\n${s.args.map((a) => `      ${arg(a)}`).join('\n')}\n    </signal>` : `    <signal name="${s.name}"/>`);
  }
  for (const p of spec.properties) lines.push(`    <property name="${p.name}" type="${p.type}" access="read"/>`);
  lines.push('  </interface>');
  return lines.join('\n');
}

export function nodeXml(interfaces: InterfaceSpec[], children: Iterable<string>): string {
  const kids = [...children].map((c) => `  <node name="${c}"/>`);
  return `${DOCTYPE}\n<node>\n${[...interfaces.map(interfaceXml), ...kids].join('\n')}\n</node>\n`;
}
