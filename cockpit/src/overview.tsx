// The host at a glance: worst health, maps by health, paths, and where the state comes from.
import React from 'react';
import { Button, Card, CardBody, CardTitle, Flex, FlexItem, Grid, GridItem, Label } from '@patternfly/react-core';
import type { ManagerProps } from './api';
import { _, format, ngettext } from './cockpit';
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
          <CardTitle>{_('Health')}</CardTitle>
          <CardBody>
            <Flex alignItems={{ default: 'alignItemsCenter' }} spaceItems={{ default: 'spaceItemsSm' }}>
              <FlexItem className="mp-health-icon">{h.icon}</FlexItem>
              <FlexItem className="mp-big">{_(h.text)}</FlexItem>
            </Flex>
            <div className="mp-sub">{problems === 0
                ? format(ngettext('The map has every path', 'All $0 maps have every path', summary.maps), summary.maps)
                : format(ngettext('$0 of $1 map needs attention', '$0 of $1 maps need attention', summary.maps), problems, summary.maps)}</div>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem>
        <Card className="mp-card">
          <CardTitle>{_('Maps')}</CardTitle>
          <CardBody>
            <div className="mp-big" data-map-count={summary.maps}>
              {summary.maps}
            </div>
            <div className="mp-sub" data-maps-optimal={summary.byHealth.optimal}>
              {format(_('$0 optimal · $1 degraded · $2 failed'), summary.byHealth.optimal, summary.byHealth.degraded, summary.byHealth.failed)}
            </div>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem>
        <Card className="mp-card">
          <CardTitle>{_('Paths')}</CardTitle>
          <CardBody>
            <div className="mp-big">
              {summary.paths - summary.failedPaths}
              <span className="mp-of">/{summary.paths}</span>
            </div>
            <div className={summary.failedPaths ? 'mp-sub mp-bad' : 'mp-sub'} data-failed-paths={summary.failedPaths}>
              {summary.failedPaths ? format(_('$0 failed'), summary.failedPaths) : _('none failed')}
            </div>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem>
        <Card className="mp-card">
          <CardTitle>{_('Sources')}</CardTitle>
          <CardBody>
            <Flex direction={{ default: 'column' }} spaceItems={{ default: 'spaceItemsXs' }} alignItems={{ default: 'alignItemsFlexStart' }}>
              <Source ok={manager?.MultipathdAvailable ?? false} yes={_('multipathd connected')} no={_('multipathd unavailable')} />
              <Source ok={manager?.KernelEventsAvailable ?? false} yes={_('kernel events live')} no={_('no kernel events')} />
              {paged && (
                <Label isCompact color="blue" title={_("Too many objects to read at once: every map was read in brief with GetMapSummaries, and a map's paths are read when it is expanded")}>
                  {_('read in pages')}
                </Label>
              )}
            </Flex>
            <Flex className="mp-sub" alignItems={{ default: 'alignItemsCenter' }}>
              <FlexItem>multipath-dbus {manager?.Version}</FlexItem>
              <FlexItem>
                <Button variant="link" isInline size="sm" onClick={onReconfigure}>
                  {_('Reconfigure…')}
                </Button>
              </FlexItem>
            </Flex>
          </CardBody>
        </Card>
      </GridItem>
    </Grid>
  );
}
