// What the page shows instead of the topology: the service absent, disabled, or stopped;
// an error; and multipathd or kernel events missing.
import React from 'react';
import { Alert, ClipboardCopy, EmptyState, EmptyStateBody, EmptyStateFooter, Spinner } from '@patternfly/react-core';
import CubesIcon from '@patternfly/react-icons/dist/esm/icons/cubes-icon';
import PowerOffIcon from '@patternfly/react-icons/dist/esm/icons/power-off-icon';
import ExclamationCircleIcon from '@patternfly/react-icons/dist/esm/icons/exclamation-circle-icon';
import type { ManagerProps } from './api';
import { N_, _ } from './cockpit';
import type { Absence, State } from './session';

const ABSENT: Record<Absence, { title: string; body: string; commands: string[] }> = {
  'not-installed': {
    title: N_('The multipath service is not installed'),
    body: N_('This page shows what multipath-dbus publishes on the system bus. Install it, enable it, and start it:'),
    commands: ['sudo npm run install-system', "sudo sed -i 's/^enable = no/enable = yes/' /etc/multipath-dbus.conf", 'sudo systemctl enable --now multipath-dbus'],
  },
  disabled: {
    title: N_('The multipath service is disabled'),
    body: N_('multipath-dbus publishes nothing until /etc/multipath-dbus.conf says enable = yes. Enable it and start it:'),
    commands: ["sudo sed -i 's/^enable = no/enable = yes/' /etc/multipath-dbus.conf", 'sudo systemctl enable --now multipath-dbus'],
  },
  stopped: {
    title: N_('The multipath service is not running'),
    body: N_('multipath-dbus is enabled but nobody owns org.kernel.linux.storage.multipath1 on the system bus. Start it, and see its log if it stops again:'),
    commands: ['sudo systemctl start multipath-dbus', 'journalctl -u multipath-dbus'],
  },
};

export function StateScreen({ state }: { state: Exclude<State, { kind: 'ready' }> }) {
  switch (state.kind) {
    case 'connecting':
      return <EmptyState headingLevel="h2" titleText={_('Reading the multipath topology')} icon={Spinner} data-state="connecting" />;
    case 'absent': {
      const a = ABSENT[state.why];
      return (
        <EmptyState headingLevel="h2" titleText={_(a.title)} icon={state.why === 'not-installed' ? CubesIcon : PowerOffIcon} data-state="absent" data-why={state.why}>
          <EmptyStateBody>{_(a.body)}</EmptyStateBody>
          <EmptyStateFooter className="mp-commands">
            {a.commands.map((c) => (
              <ClipboardCopy key={c} isReadOnly hoverTip={_('Copy')} clickTip={_('Copied')} variant="inline-compact" className="mp-command">
                {c}
              </ClipboardCopy>
            ))}
          </EmptyStateFooter>
        </EmptyState>
      );
    }
    case 'error':
      return (
        <EmptyState headingLevel="h2" titleText={_('Cannot talk to the multipath service')} icon={ExclamationCircleIcon} status="danger" data-state="error">
          <EmptyStateBody>{state.message}</EmptyStateBody>
        </EmptyState>
      );
  }
}

/** Banners over a live topology when one of its sources is missing. */
export function SourceAlerts({ manager }: { manager: ManagerProps | null }) {
  if (!manager) return null;
  return (
    <>
      {!manager.MultipathdAvailable && (
        <Alert variant="warning" isInline title={_('multipathd is not available')} className="mp-alert" data-alert="multipathd">
          {_('Path states still come from the kernel, live; names, checker states and priorities are as multipathd last reported them. Check')}{' '}
          <code>systemctl status multipathd</code>.
        </Alert>
      )}
      {!manager.KernelEventsAvailable && (
        <Alert variant="warning" isInline title={_('Kernel events are not available')} className="mp-alert" data-alert="kernel">
          {_('A failing path shows up only when the service next reads multipathd and device-mapper.')}
        </Alert>
      )}
    </>
  );
}
