// What a native NVMe multipath map shows in place of a dm map's: a menu whose entries are
// disabled and say why, and each ANA group's paths with their controller, how it is reached
// and the ANA state the target reports, in place of a dm path's dev_t, checker and WWPNs.
// No action anywhere: the kernel chooses NVMe paths by ANA state, multipathd does not manage
// them, and every management method answers NotSupported.
import React, { useState } from 'react';
import { Dropdown, DropdownItem, DropdownList, Label, MenuToggle, type LabelProps } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import EllipsisVIcon from '@patternfly/react-icons/dist/esm/icons/rh-ui-ellipsis-vertical-fill-icon';
import { N_, _, format } from './cockpit';
import { PathStateLabel } from './health';
import type { GroupRow } from './view';

/** Why an NVMe map offers no action. */
export const NVME_UNMANAGED = N_("Native NVMe multipath is the kernel's own: multipathd does not manage it, so its paths, groups, queueing and size cannot be changed here.");

/**
 * A dm map's menu with its entries disabled, each with the reason as its tooltip (on hover
 * and on keyboard focus). Not ActionsColumn's own tooltips: it wraps each item in an element
 * that a menu may not hold, and describes the list item instead of the menu item.
 */
export function NvmeMenu() {
  const [open, setOpen] = useState(false);
  return (
    <Dropdown
      isOpen={open}
      onOpenChange={setOpen}
      popperProps={{ position: 'end', direction: 'down' }}
      toggle={(ref) => <MenuToggle ref={ref} aria-label={_('Actions')} variant="plain" icon={<EllipsisVIcon />} isExpanded={open} onClick={() => setOpen(!open)} />}
    >
      <DropdownList>
        {[_('Queueing…'), _('Resize…')].map((title) => (
          <DropdownItem key={title} isAriaDisabled tooltipProps={{ content: _(NVME_UNMANAGED) }}>
            {title}
          </DropdownItem>
        ))}
      </DropdownList>
    </Dropdown>
  );
}

/** Usable states in calm colours, the ones that take the path out of use in alarming ones. */
const ANA_COLOR: Record<string, LabelProps['color']> = {
  optimized: 'green',
  'non-optimized': 'blue',
  change: 'orange',
  inaccessible: 'red',
  'persistent-loss': 'red',
};

/** The kernel's name for the state, as `nvme list-subsys` prints it; none on a controller without ANA. */
const AnaStateLabel = ({ state }: { state: string }) =>
  state ? (
    <Label isCompact color={ANA_COLOR[state] ?? 'grey'}>
      {state}
    </Label>
  ) : (
    <>—</>
  );

export const NvmePathsTable = ({ group }: { group: GroupRow }) => (
  <Table aria-label={format(_('Paths of ANA group $0'), group.Number)} variant="compact" borders={false} className="mp-paths-table">
    <Thead>
      <Tr>
        <Th>{_('Device')}</Th>
        <Th>{_('State')}</Th>
        <Th>{_('ANA state')}</Th>
        <Th>{_('Controller')}</Th>
        <Th modifier="fitContent">{_('Transport')}</Th>
        <Th>{_('Address')}</Th>
      </Tr>
    </Thead>
    <Tbody>
      {group.paths.map((p) => {
        const failed = p.DmState === 'failed';
        return (
          <Tr key={p.path} data-path={p.Device} data-state={p.DmState} data-ana={p.AnaState} className={failed ? 'mp-path mp-path-failed' : 'mp-path'}>
            <Td dataLabel={_('Device')} className="mp-mono">
              {p.Device}
            </Td>
            <Td dataLabel={_('State')}>
              <PathStateLabel path={p} />
            </Td>
            <Td dataLabel={_('ANA state')}>
              <AnaStateLabel state={p.AnaState} />
            </Td>
            <Td dataLabel={_('Controller')}>
              <span className="mp-mono">{p.Controller}</span>{' '}
              <span className="mp-sub" data-controller-state={p.ControllerState}>
                {p.ControllerState}
              </span>
            </Td>
            <Td dataLabel={_('Transport')}>{p.Transport || '—'}</Td>
            <Td dataLabel={_('Address')} className="mp-mono" modifier="breakWord">
              {p.Address || '—'}
            </Td>
          </Tr>
        );
      })}
    </Tbody>
  </Table>
);
