// The service's event history and live signals, newest first, with time and serial.
import React from 'react';
import { Card, CardBody, CardHeader, CardTitle, Label } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import type { LoggedEvent } from './events';
import { _, cockpit, format } from './cockpit';
import { lastElement } from './view';

const COLOR: Record<string, 'red' | 'green' | 'orange' | 'blue' | 'purple' | 'grey'> = {
  PathFailed: 'red',
  Failed: 'red',
  PathReinstated: 'green',
  Restored: 'green',
  PolicyChanged: 'blue',
  Resynchronized: 'purple',
  MapAdded: 'grey',
  MapRemoved: 'orange',
};

const SHOWN = 100;
/** What an admin follows; the history also has PathAdded/PathRemoved, one per path. */
const KINDS = new Set(Object.keys(COLOR));

function describe(e: LoggedEvent, names: Map<string, string>): string {
  const map = names.get(e.object) ?? lastElement(e.object);
  const d = e.details;
  switch (e.kind) {
    case 'PathFailed':
    case 'PathReinstated':
      return format(_('$0 of $1 · $2 valid'), lastElement(String(d.Path)), map, d.ValidPaths);
    case 'PolicyChanged':
      return `${map}: ${(d.Properties as string[] | undefined)?.join(', ')}`;
    case 'Resynchronized':
      return format(_('state re-read ($0)'), d.Reason);
    case 'MapAdded':
    case 'MapRemoved':
      return `${d.Name ?? map}`;
    default:
      return map;
  }
}

export const EventList = React.memo(function EventList({ events, names }: { events: LoggedEvent[]; names: Map<string, string> }) {
  const newest = events.filter((e) => KINDS.has(e.kind)).slice(-SHOWN).reverse();
  return (
    <Card className="mp-events">
      <CardHeader>
        <CardTitle component="h2">{_('Events')}</CardTitle>
      </CardHeader>
      <CardBody className="mp-events-body">
        {newest.length === 0 ? (
          <div className="mp-sub">{_('No events since the service started.')}</div>
        ) : (
          <Table aria-label={_('Events')} variant="compact" borders={false} className="mp-events-table">
            <Thead>
              <Tr>
                <Th width={15}>{_('Time')}</Th>
                <Th width={10}>{_('Serial')}</Th>
                <Th width={20}>{_('Event')}</Th>
                <Th>{_('Details')}</Th>
              </Tr>
            </Thead>
            <Tbody>
              {newest.map((e) => (
                <Tr key={e.serial} data-serial={e.serial} data-kind={e.kind}>
                  <Td dataLabel={_('Time')} className="mp-sub">
                    {e.received ? e.received.toLocaleTimeString(cockpit.language) : _('earlier')}
                  </Td>
                  <Td dataLabel={_('Serial')} className="mp-mono">
                    {e.serial}
                  </Td>
                  <Td dataLabel={_('Event')}>
                    <Label isCompact color={COLOR[e.kind] ?? 'grey'}>
                      {e.kind}
                    </Label>
                    {e.details.Synthesized ? <span className="mp-sub"> {_('found by a re-read')}</span> : null}
                  </Td>
                  <Td dataLabel={_('Details')}>{describe(e, names)}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
});
