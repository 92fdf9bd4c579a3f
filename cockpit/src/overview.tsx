// The host at a glance: worst health, maps by health, paths, and where the state comes from.
import React from 'react';
import { Button, Card, CardBody, CardTitle, Flex, FlexItem, Grid, GridItem, Label } from '@patternfly/react-core';
import type { ManagerProps } from './api';
import { HEALTH } from './health';
import type { Summary } from './view';

const Source = ({ ok, yes, no }: { ok: boolean; yes: string; no: string }) => (
  <Label isCompact status={ok ? 'success' : 'warning'}>
    {ok ? yes : no}
  </Label>
);

export function Overview({ summary, manager, paged, onReconfigure }: { summary: Summary; manager: ManagerProps | null; paged: boolean; onReconfigure: () => void }) {
  const h = HEALTH[summary.health] ?? HEALTH.unknown;
  const problems = summary.byHealth.degraded + summary.byHealth.failed;
  return (
    <Grid hasGutter md={6} xl={3} className="mp-overview">
      <GridItem>
        <Card className={`mp-card mp-health mp-health-${summary.health}`} data-overall={summary.health}>
          <CardTitle>Health</CardTitle>
          <CardBody>
            <Flex alignItems={{ default: 'alignItemsCenter' }} spaceItems={{ default: 'spaceItemsSm' }}>
              <FlexItem className="mp-health-icon">{h.icon}</FlexItem>
              <FlexItem className="mp-big">{h.text}</FlexItem>
            </Flex>
            <div className="mp-sub">{problems === 0 ? `All ${summary.maps} maps have every path` : `${problems} of ${summary.maps} maps need attention`}</div>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem>
        <Card className="mp-card">
          <CardTitle>Maps</CardTitle>
          <CardBody>
            <div className="mp-big" data-map-count={summary.maps}>
              {summary.maps}
            </div>
            <div className="mp-sub" data-maps-optimal={summary.byHealth.optimal}>
              {summary.byHealth.optimal} optimal · {summary.byHealth.degraded} degraded · {summary.byHealth.failed} failed
            </div>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem>
        <Card className="mp-card">
          <CardTitle>Paths</CardTitle>
          <CardBody>
            <div className="mp-big">
              {summary.paths - summary.failedPaths}
              <span className="mp-of">/{summary.paths}</span>
            </div>
            <div className={summary.failedPaths ? 'mp-sub mp-bad' : 'mp-sub'} data-failed-paths={summary.failedPaths}>
              {summary.failedPaths ? `${summary.failedPaths} failed` : 'none failed'}
            </div>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem>
        <Card className="mp-card">
          <CardTitle>Sources</CardTitle>
          <CardBody>
            <Flex direction={{ default: 'column' }} spaceItems={{ default: 'spaceItemsXs' }} alignItems={{ default: 'alignItemsFlexStart' }}>
              <Source ok={manager?.MultipathdAvailable ?? false} yes="multipathd connected" no="multipathd unavailable" />
              <Source ok={manager?.KernelEventsAvailable ?? false} yes="kernel events live" no="no kernel events" />
              {paged && (
                <Label isCompact color="blue" title="The topology is larger than one D-Bus message: it was read with GetManagedObjectsPage">
                  read in pages
                </Label>
              )}
            </Flex>
            <Flex className="mp-sub" alignItems={{ default: 'alignItemsCenter' }}>
              <FlexItem>multipath-dbus {manager?.Version}</FlexItem>
              <FlexItem>
                <Button variant="link" isInline size="sm" onClick={onReconfigure}>
                  Reconfigure…
                </Button>
              </FlexItem>
            </Flex>
          </CardBody>
        </Card>
      </GridItem>
    </Grid>
  );
}
