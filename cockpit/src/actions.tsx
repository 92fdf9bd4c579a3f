// The management methods (org.kernel.linux.storage.multipath1: Path.Fail/Reinstate,
// Map.SwitchGroup/SetQueueing/Resize, Manager.Reconfigure, each with a{sv} options last),
// each behind a confirmation; polkit (or Cockpit's administrative access) decides, and a
// refusal is shown in the dialog with the service's error.
import React, { useState } from 'react';
import { Alert, Button, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { ERROR, MANAGER, MAP, PATH, ROOT } from './api';
import { N_, _, format, type DBusError } from './cockpit';
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
    title: format(_('Fail path $0?'), p.Device),
    body: last ? (
      <>
        <strong>{format(_('$0 is the last valid path of $1.'), p.Device, map.Name)}</strong> {format(_('I/O to $0 will queue or fail until a path is reinstated.'), map.Name)}
      </>
    ) : (
      format(_('The kernel stops sending I/O to $0; $1 keeps $2 of $3 paths until it is reinstated.'), p.Device, map.Name, map.ValidPaths - 1, map.NumPaths)
    ),
    confirm: _('Fail path'),
    danger: true,
    path: p.path,
    iface: PATH,
    method: 'Fail',
    signature: 'a{sv}',
    args: [{}],
  };
}

export const reinstatePath = (map: MapRow, p: PathRow): Action => ({
  title: format(_('Reinstate path $0?'), p.Device),
  body: format(_('The kernel sends I/O of $0 through $1 again. If the path is still broken, its checker fails it again.'), map.Name, p.Device),
  confirm: _('Reinstate'),
  danger: false,
  path: p.path,
  iface: PATH,
  method: 'Reinstate',
  signature: 'a{sv}',
  args: [{}],
});

export const switchGroup = (map: MapRow, g: GroupRow): Action => ({
  title: format(_('Switch $0 to path group $1?'), map.Name, g.Number),
  body: format(_('I/O moves to the $0 paths of group $1 now. With failback other than manual, multipathd may switch back later.'), g.paths.length, g.Number),
  confirm: _('Switch group'),
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
    title: format(on ? _('Stop queueing I/O on $0?') : _('Restore queueing on $0?'), map.Name),
    body: format(
      on
        ? _('With no valid path, I/O to $0 then fails at once instead of waiting for a path. Applications see errors.')
        : _('With no valid path, I/O to $0 waits for a path again, as its configuration says.'),
      map.Name,
    ),
    confirm: on ? _('Disable queueing') : _('Restore queueing'),
    danger: on,
    path: map.path,
    iface: MAP,
    method: 'SetQueueing',
    signature: 'ba{sv}',
    args: [!on, {}],
  };
}

export const resize = (map: MapRow): Action => ({
  title: format(_('Resize $0?'), map.Name),
  body: format(_("multipathd re-reads the size of $0's paths and grows the map to match. Do this after the LUN was grown on the array."), map.Name),
  confirm: _('Resize'),
  danger: false,
  path: map.path,
  iface: MAP,
  method: 'Resize',
  signature: 'a{sv}',
  args: [{}],
});

export const reconfigure = (): Action => ({
  title: _('Reconfigure multipathd?'),
  body: _('multipathd re-reads /etc/multipath.conf and reloads every map. Paths are briefly re-evaluated.'),
  confirm: _('Reconfigure'),
  danger: false,
  path: ROOT,
  iface: MANAGER,
  method: 'Reconfigure',
  signature: 'a{sv}',
  args: [{}],
});

const REASONS: Record<string, string> = {
  [`${ERROR}.NotAuthorized`]: N_('Not authorized'),
  [`${ERROR}.NotFound`]: N_('It no longer exists'),
  [`${ERROR}.Unavailable`]: N_('multipathd is not available'),
  [`${ERROR}.Failed`]: N_('multipathd refused'),
  'org.freedesktop.DBus.Error.UnknownMethod': N_('This version of multipath-dbus cannot do this'),
  'org.freedesktop.DBus.Error.AccessDenied': N_('Denied by the D-Bus policy'),
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
          <Alert variant="danger" isInline title={REASONS[error.name] ? _(REASONS[error.name]) : _('The action failed')} className="mp-action-error" data-error={error.name}>
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
          {_('Cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
