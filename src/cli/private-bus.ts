// A private dbus-daemon that behaves like the system bus (default-deny policy, our policy
// file included), for the demo and the tests. Nothing here touches the real system bus.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const POLICY_FILE = path.resolve(__dirname, '..', '..', 'dbus', 'org.kernel.linux.storage.multipath1.conf');

export interface PrivateBus {
  address: string;
  /** The dbus-daemon's pid (tests stop it to play a bus that does not read). */
  pid: number;
  socketPath: string;
  dir: string;
  stop(): Promise<void>;
}

export interface PrivateBusOptions {
  /** Also let this uid own the service name (the demo, when not run as root). */
  ownerUid?: number;
  /** The daemon's max_message_size (it disconnects a sender that exceeds it); its default otherwise. */
  maxMessageSize?: number;
  /** More policy files to include, as a system bus includes system.d (polkit's, for tests that run polkitd). */
  includes?: string[];
}

function busConfig(socketPath: string, opts: PrivateBusOptions): string {
  const extra =
    opts.ownerUid !== undefined && opts.ownerUid !== 0
      ? `<policy user="${os.userInfo().username}"><allow own="org.kernel.linux.storage.multipath1"/></policy>`
      : '';
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  ${opts.maxMessageSize !== undefined ? `<limit name="max_message_size">${opts.maxMessageSize}</limit>` : ''}
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  ${extra}
  <include>${POLICY_FILE}</include>
  ${(opts.includes ?? []).map((f) => `<include>${f}</include>`).join('\n  ')}
</busconfig>
`;
}

export async function startPrivateBus(opts: PrivateBusOptions = {}): Promise<PrivateBus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multipath-dbus-bus-'));
  // Other uids (the policy tests run clients as nobody) must reach the socket.
  fs.chmodSync(dir, 0o755);
  const socketPath = path.join(dir, 'bus');
  const configPath = path.join(dir, 'bus.conf');
  fs.writeFileSync(configPath, busConfig(socketPath, opts));
  const child: ChildProcess = spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.once('error', (e) => reject(new Error(`cannot start dbus-daemon: ${e.message}`)));
    child.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}): ${stderr.trim()}`)));
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
  });
  child.removeAllListeners('exit');
  return {
    address,
    pid: child.pid!,
    socketPath,
    dir,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
