// How health and path state look everywhere on the page: one colour and icon per value.
import React from 'react';
import { Label } from '@patternfly/react-core';
import CheckCircleIcon from '@patternfly/react-icons/dist/esm/icons/check-circle-icon';
import ExclamationCircleIcon from '@patternfly/react-icons/dist/esm/icons/exclamation-circle-icon';
import ExclamationTriangleIcon from '@patternfly/react-icons/dist/esm/icons/exclamation-triangle-icon';
import QuestionCircleIcon from '@patternfly/react-icons/dist/esm/icons/question-circle-icon';
import type { Health } from './api';
import { N_, _ } from './cockpit';
import type { PathRow } from './view';

type Status = 'success' | 'warning' | 'danger' | undefined;

export const HEALTH: Record<Health, { status: Status; icon: React.ReactNode; text: string }> = {
  optimal: { status: 'success', icon: <CheckCircleIcon />, text: N_('Optimal') },
  degraded: { status: 'warning', icon: <ExclamationTriangleIcon />, text: N_('Degraded') },
  failed: { status: 'danger', icon: <ExclamationCircleIcon />, text: N_('Failed') },
  unknown: { status: undefined, icon: <QuestionCircleIcon />, text: N_('Unknown') },
};

export const HealthLabel = ({ health }: { health: Health }) => {
  const h = HEALTH[health] ?? HEALTH.unknown;
  return (
    <Label isCompact status={h.status} color={h.status ? undefined : 'grey'} icon={h.status ? undefined : h.icon} data-health={health}>
      {_(h.text)}
    </Label>
  );
};

export const PathStateLabel = ({ path }: { path: PathRow }) =>
  path.DmState === 'failed' ? (
    <Label isCompact status="danger">
      {_('Failed')}
    </Label>
  ) : (
    <Label isCompact status="success">
      {_('Active')}
    </Label>
  );

/** One dot per path (up to 16), the valid ones green, so a map's paths read at a glance. */
export const PathPips = ({ total, valid }: { total: number; valid: number }) => (
  <span className="mp-pips" aria-hidden="true">
    {Array.from({ length: Math.min(total, 16) }, (_x, i) => (
      <span key={i} className={i < valid ? 'mp-pip' : 'mp-pip mp-pip-failed'} />
    ))}
  </span>
);
