// The page: overview, maps, events, and the action dialog, over one Connection.
import React, { useEffect, useMemo, useState } from 'react';
import { Flex, FlexItem, PageSection, Stack, StackItem, Title } from '@patternfly/react-core';
import { ActionDialog, reconfigure, type Action } from './actions';
import { emptyObjects } from './api';
import { _ } from './cockpit';
import { EventList } from './event-list';
import { HealthLabel } from './health';
import { MapsTable } from './maps-table';
import { Overview } from './overview';
import { Connection, type View } from './session';
import { SourceAlerts, StateScreen } from './states';
import { mapRows, summarize } from './view';

export function App() {
  const [view, setView] = useState<View>({ state: { kind: 'connecting' }, objects: emptyObjects(), events: [] });
  const [action, setAction] = useState<Action | null>(null);
  const [connection] = useState(() => new Connection(setView));
  useEffect(() => {
    connection.start();
    return () => connection.stop();
  }, [connection]);

  const rows = useMemo(() => mapRows(view.objects), [view.objects]);
  const summary = useMemo(() => summarize(view.objects, rows), [view.objects, rows]);
  const nameKey = rows.map((m) => `${m.path}=${m.Name}`).join('\n');
  // Rebuilt only when a name changes, so that the event list is not re-rendered for nothing.
  const names = useMemo(() => new Map(rows.map((m) => [m.path, m.Name])), [nameKey]);
  const { state } = view;

  return (
    // No PatternFly Page: Cockpit's shell is the page around this one (masthead, navigation).
    <main className="mp-page" data-page={state.kind} data-paged={state.kind === 'ready' && state.paged}>
      <PageSection className="mp-header" hasBodyWrapper={false}>
        <Flex alignItems={{ default: 'alignItemsCenter' }}>
          <FlexItem>
            <Title headingLevel="h1">{_("Multipath")}</Title>
          </FlexItem>
          {state.kind === 'ready' && (
            <FlexItem>
              <HealthLabel health={summary.health} />
            </FlexItem>
          )}
        </Flex>
      </PageSection>
      <PageSection isFilled hasBodyWrapper={false}>
        {state.kind !== 'ready' ? (
          <StateScreen state={state} />
        ) : (
          <Stack hasGutter>
            <StackItem>
              <SourceAlerts manager={view.objects.manager} />
            </StackItem>
            <StackItem>
              <Overview summary={summary} manager={view.objects.manager} paged={state.paged} onReconfigure={() => setAction(reconfigure())} />
            </StackItem>
            <StackItem>
              <MapsTable maps={rows} objects={view.objects} act={setAction} expand={(map) => connection.expand(map)} />
            </StackItem>
            <StackItem>
              <EventList events={view.events} names={names} />
            </StackItem>
          </Stack>
        )}
      </PageSection>
      {action && <ActionDialog action={action} call={(...a) => connection.call(...a)} onClose={() => setAction(null)} />}
    </main>
  );
}
