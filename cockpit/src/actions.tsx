// The management methods (org.kernel.linux.storage.multipath1: Path.Fail/Reinstate,
// Map.SwitchGroup/SetQueueing/Resize, Manager.Reconfigure, each with a{sv} options last),
// each behind a confirmation; polkit (or Cockpit's administrative access) decides, and a
// refusal is shown in the dialog with the service's error.
import React, { useState } from 'react';
import { Alert, Button, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { ERROR, MANAGER, MAP, PATH, ROOT } from './api';
import type { DBusError } from './cockpit';
import { queueingOn, type GroupRow, type MapRow, type PathRow } from './view';

export interface Action {
  title: string;
  body: React.ReactNode;
  confirm: string;
  danger: boolean;
  path: string;
  iface: string;
  method: string;
  signature: string;
  args: unknown[];
}

export type Call = (path: string, iface: string, method: string, signature: string, args: unknown[]) => Promise<unknown>;

export function failPath(map: MapRow, p: PathRow): Action {
  const last = map.ValidPaths <= 1;
  return {
    title: `Fail path ${p.Device}?`,
    body: last ? (
      <>
        <strong>{p.Device} is the last valid path of {map.Name}.</strong> I/O to {map.Name} will queue or fail until a path is reinstated.
      </>
    ) : (
      <>
        The kernel stops sending I/O to {p.Device}; {map.Name} keeps {map.ValidPaths - 1} of {map.NumPaths} paths until it is reinstated.
      </>
    ),
    confirm: 'Fail path',
    danger: true,
    path: p.path,
    iface: PATH,
    method: 'Fail',
    signature: 'a{sv}',
    args: [{}],
  };
}

export const reinstatePath = (map: MapRow, p: PathRow): Action => ({
  title: `Reinstate path ${p.Device}?`,
  body: <>The kernel sends I/O of {map.Name} through {p.Device} again. If the path is still broken, its checker fails it again.</>,
  confirm: 'Reinstate',
  danger: false,
  path: p.path,
  iface: PATH,
  method: 'Reinstate',
  signature: 'a{sv}',
  args: [{}],
});

export const switchGroup = (map: MapRow, g: GroupRow): Action => ({
  title: `Switch ${map.Name} to path group ${g.Number}?`,
  body: <>I/O moves to the {g.paths.length} paths of group {g.Number} now. With failback other than manual, multipathd may switch back later.</>,
  confirm: 'Switch group',
  danger: false,
  path: map.path,
  iface: MAP,
  method: 'SwitchGroup',
  signature: 'ua{sv}',
  args: [g.Number, {}],
});

export function setQueueing(map: MapRow): Action {
  const on = queueingOn(map.Queueing);
  return {
    title: on ? `Stop queueing I/O on ${map.Name}?` : `Restore queueing on ${map.Name}?`,
    body: on ? (
      <>With no valid path, I/O to {map.Name} then fails at once instead of waiting for a path. Applications see errors.</>
    ) : (
      <>With no valid path, I/O to {map.Name} waits for a path again, as its configuration says.</>
    ),
    confirm: on ? 'Disable queueing' : 'Restore queueing',
    danger: on,
    path: map.path,
    iface: MAP,
    method: 'SetQueueing',
    signature: 'ba{sv}',
    args: [!on, {}],
  };
}

export const resize = (map: MapRow): Action => ({
  title: `Resize ${map.Name}?`,
  body: <>multipathd re-reads the size of {map.Name}'s paths and grows the map to match. Do this after the LUN was grown on the array.</>,
  confirm: 'Resize',
  danger: false,
  path: map.path,
  iface: MAP,
  method: 'Resize',
  signature: 'a{sv}',
  args: [{}],
});

export const reconfigure = (): Action => ({
  title: 'Reconfigure multipathd?',
  body: <>multipathd re-reads /etc/multipath.conf and reloads every map. Paths are briefly re-evaluated.</>,
  confirm: 'Reconfigure',
  danger: false,
  path: ROOT,
  iface: MANAGER,
  method: 'Reconfigure',
  signature: 'a{sv}',
  args: [{}],
});

const REASONS: Record<string, string> = {
  [`${ERROR}.NotAuthorized`]: 'Not authorized',
  [`${ERROR}.NotFound`]: 'It no longer exists',
  [`${ERROR}.Unavailable`]: 'multipathd is not available',
  [`${ERROR}.Failed`]: 'multipathd refused',
  'org.freedesktop.DBus.Error.UnknownMethod': 'This version of multipath-dbus cannot do this',
  'org.freedesktop.DBus.Error.AccessDenied': 'Denied by the D-Bus policy',
};

export function ActionDialog({ action, call, onClose }: { action: Action; call: Call; onClose: () => void }) {
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<DBusError | null>(null);
  const run = () => {
    setRunning(true);
    setError(null);
    call(action.path, action.iface, action.method, action.signature, action.args).then(onClose, (e: DBusError) => {
      setRunning(false);
      setError(e);
    });
  };
  return (
    <Modal variant="small" isOpen onClose={onClose} aria-labelledby="mp-action-title" id="mp-action">
      <ModalHeader title={action.title} labelId="mp-action-title" titleIconVariant={action.danger ? 'warning' : undefined} />
      <ModalBody>
        {action.body}
        {error && (
          <Alert variant="danger" isInline title={REASONS[error.name] ?? 'The action failed'} className="mp-action-error" data-error={error.name}>
            {error.message}
            <div className="mp-error-name">{error.name}</div>
          </Alert>
        )}
      </ModalBody>
      <ModalFooter>
        <Button variant={action.danger ? 'danger' : 'primary'} onClick={run} isLoading={running} isDisabled={running}>
          {action.confirm}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
