// Every map: sortable, filterable and paged so that a host with thousands of maps stays
// usable; a row expands to its path groups and paths.
import React, { useMemo, useState } from 'react';
import {
  Button,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  EmptyState,
  EmptyStateBody,
  Flex,
  FlexItem,
  Label,
  LabelGroup,
  Pagination,
  SearchInput,
  ToggleGroup,
  ToggleGroupItem,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { ActionsColumn, ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import SearchIcon from '@patternfly/react-icons/dist/esm/icons/search-icon';
import { failPath, reinstatePath, resize, setQueueing, switchGroup, type Action } from './actions';
import { HealthLabel, PathPips, PathStateLabel } from './health';
import { HEALTH_ORDER, formatBytes, queueingOn, type GroupRow, type MapRow } from './view';

type Column = { title: string; width: ThProps['width']; key: (m: MapRow) => string | number };
const COLUMNS: Column[] = [
  { title: 'Name', width: 15, key: (m) => m.Name },
  { title: 'WWID', width: 30, key: (m) => m.Wwid },
  { title: 'Vendor / product', width: 20, key: (m) => `${m.Vendor} ${m.Product}` },
  { title: 'Size', width: 10, key: (m) => m.Size },
  { title: 'Health', width: 10, key: (m) => HEALTH_ORDER[m.Health] ?? 2 },
  { title: 'Paths', width: 15, key: (m) => (m.NumPaths ? m.ValidPaths / m.NumPaths : 1) },
];

/** multipathd prints "[undef]" (or nothing) where it does not know. */
const known = (s: string | undefined): string => (!s || s === '[undef]' ? '—' : s);

const matches = (m: MapRow, text: string): boolean =>
  [m.Name, m.Wwid, m.Vendor, m.Product, m.SysfsName, ...m.pathRows.map((p) => p.Device)].some((s) => s?.toLowerCase().includes(text));

export function MapsTable({ maps, act }: { maps: MapRow[]; act: (a: Action) => void }) {
  const [filter, setFilter] = useState('');
  const [problemsOnly, setProblemsOnly] = useState(false);
  const [sort, setSort] = useState<{ index: number; direction: 'asc' | 'desc' }>({ index: 0, direction: 'asc' });
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(20);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());

  const shown = useMemo(() => {
    const text = filter.trim().toLowerCase();
    const key = COLUMNS[sort.index].key;
    const sign = sort.direction === 'asc' ? 1 : -1;
    return maps
      .filter((m) => (!problemsOnly || m.Health !== 'optimal') && (!text || matches(m, text)))
      .sort((a, b) => {
        const x = key(a);
        const y = key(b);
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
        return sign * c || a.Name.localeCompare(b.Name, undefined, { numeric: true });
      });
  }, [maps, filter, problemsOnly, sort]);

  const lastPage = Math.max(1, Math.ceil(shown.length / perPage));
  const current = Math.min(page, lastPage);
  const visible = shown.slice((current - 1) * perPage, current * perPage);
  const problems = maps.filter((m) => m.Health !== 'optimal').length;

  const sortBy = (index: number): ThProps['sort'] => ({
    sortBy: { index: sort.index, direction: sort.direction },
    onSort: (_e, i, direction) => setSort({ index: i, direction }),
    columnIndex: index,
  });
  const toggle = (path: string) =>
    setExpanded((old) => {
      const next = new Set(old);
      if (!next.delete(path)) next.add(path);
      return next;
    });

  return (
    <Card className="mp-maps">
      <CardHeader>
        <CardTitle component="h2">Multipath devices</CardTitle>
      </CardHeader>
      <CardBody>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <SearchInput
                placeholder="Filter by name, WWID, vendor or device"
                value={filter}
                onChange={(_e, v) => {
                  setFilter(v);
                  setPage(1);
                }}
                onClear={() => setFilter('')}
                aria-label="Filter maps"
                className="mp-filter"
              />
            </ToolbarItem>
            <ToolbarItem>
              <ToggleGroup aria-label="Which maps">
                <ToggleGroupItem text={`All ${maps.length}`} isSelected={!problemsOnly} onChange={() => setProblemsOnly(false)} />
                <ToggleGroupItem text={`Problems ${problems}`} isSelected={problemsOnly} onChange={() => setProblemsOnly(true)} />
              </ToggleGroup>
            </ToolbarItem>
            <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
              <Pagination
                itemCount={shown.length}
                perPage={perPage}
                page={current}
                onSetPage={(_e, p) => setPage(p)}
                onPerPageSelect={(_e, n) => {
                  setPerPage(n);
                  setPage(1);
                }}
                isCompact
                perPageOptions={[10, 20, 50, 100, 500].map((n) => ({ title: String(n), value: n }))}
              />
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {shown.length === 0 ? (
          <EmptyState headingLevel="h3" titleText={maps.length ? 'No map matches' : 'No multipath maps'} icon={SearchIcon} variant="sm">
            <EmptyStateBody>{maps.length ? 'Change the filter to see more maps.' : 'multipathd has not assembled any map on this host.'}</EmptyStateBody>
          </EmptyState>
        ) : (
          <Table aria-label="Multipath maps" variant="compact" className="mp-maps-table">
            <Thead>
              <Tr>
                <Th screenReaderText="Details" />
                {COLUMNS.map((c, i) => (
                  <Th key={c.title} sort={sortBy(i)} width={c.width} modifier="nowrap">
                    {c.title}
                  </Th>
                ))}
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            {visible.map((m, rowIndex) => {
              const isExpanded = expanded.has(m.path);
              return (
                <Tbody key={m.path} isExpanded={isExpanded}>
                  <Tr data-map={m.Name} data-health={m.Health} className={`mp-map mp-map-${m.Health}`}>
                    <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(m.path), expandId: `mp-expand-${m.Name}` }} />
                    <Td dataLabel="Name" className="mp-name">
                      {m.Name}
                      {m.SysfsName && <span className="mp-sub">{m.SysfsName}</span>}
                    </Td>
                    <Td dataLabel="WWID" className="mp-mono" modifier="breakWord">
                      {m.Wwid}
                    </Td>
                    <Td dataLabel="Vendor / product">
                      {m.Vendor} {m.Product}
                    </Td>
                    <Td dataLabel="Size">{formatBytes(m.Size)}</Td>
                    <Td dataLabel="Health">
                      <HealthLabel health={m.Health} />
                    </Td>
                    <Td dataLabel="Paths" className="mp-paths-cell">
                      <span className="mp-count">
                        {m.ValidPaths}/{m.NumPaths}
                      </span>
                      <PathPips paths={m.pathRows} />
                    </Td>
                    <Td isActionCell>
                      <ActionsColumn
                        items={[
                          { title: queueingOn(m.Queueing) ? 'Disable queueing…' : 'Restore queueing…', onClick: () => act(setQueueing(m)) },
                          { title: 'Resize…', onClick: () => act(resize(m)) },
                        ]}
                      />
                    </Td>
                  </Tr>
                  <Tr isExpanded={isExpanded}>
                    <Td colSpan={COLUMNS.length + 2}>
                      <ExpandableRowContent>{isExpanded && <MapDetails map={m} act={act} />}</ExpandableRowContent>
                    </Td>
                  </Tr>
                </Tbody>
              );
            })}
          </Table>
        )}
      </CardBody>
    </Card>
  );
}

function MapDetails({ map, act }: { map: MapRow; act: (a: Action) => void }) {
  const facts: [string, string][] = [
    ['Features', map.Features],
    ['Hardware handler', map.HardwareHandler],
    ['Queueing', map.Queueing],
    ['Failback', map.Failback],
    ['Path faults', String(map.PathFaults ?? 0)],
  ];
  return (
    <div className="mp-details" data-details={map.Name}>
      <LabelGroup className="mp-facts" numLabels={facts.length}>
        {facts
          .filter(([, v]) => v && v !== '-')
          .map(([k, v]) => (
            <Label key={k} variant="outline" isCompact>
              {k}: {v}
            </Label>
          ))}
      </LabelGroup>
      {map.groups.length > 0 && !map.groups.some((g) => g.DmState === 'active') && (
        <div className="mp-sub mp-no-active">No path group is active: the kernel takes the one it names next at the next I/O.</div>
      )}
      {map.groups.map((g) => (
        <GroupDetails key={g.path} map={map} group={g} act={act} />
      ))}
    </div>
  );
}

function GroupDetails({ map, group, act }: { map: MapRow; group: GroupRow; act: (a: Action) => void }) {
  const active = group.DmState === 'active';
  return (
    <div className={`mp-group${active ? ' mp-group-active' : ''}`} data-group={group.Number}>
      <Flex className="mp-group-head" alignItems={{ default: 'alignItemsCenter' }}>
        <FlexItem>
          <strong>Path group {group.Number}</strong>
        </FlexItem>
        <FlexItem>
          <Label isCompact color={active ? 'blue' : group.DmState === 'disabled' ? 'grey' : 'teal'}>
            {group.DmState}
          </Label>
        </FlexItem>
        <FlexItem className="mp-sub">
          {group.Selector} · priority {group.Priority}
          {group.Marginal ? ' · marginal' : ''}
        </FlexItem>
        {!active && (
          <FlexItem align={{ default: 'alignRight' }}>
            <Button variant="secondary" size="sm" onClick={() => act(switchGroup(map, group))}>
              Switch to this group
            </Button>
          </FlexItem>
        )}
      </Flex>
      <Table aria-label={`Paths of group ${group.Number}`} variant="compact" borders={false} className="mp-paths-table">
        <Thead>
          <Tr>
            <Th>Device</Th>
            <Th>State</Th>
            <Th>Checker</Th>
            <Th>Priority</Th>
            <Th>Host WWPN</Th>
            <Th>Target WWPN</Th>
            <Th>Fail count</Th>
            <Th screenReaderText="Actions" />
          </Tr>
        </Thead>
        <Tbody>
          {group.paths.map((p) => {
            const failed = p.DmState === 'failed';
            return (
              <Tr key={p.path} data-path={p.Device} data-state={p.DmState} className={failed ? 'mp-path mp-path-failed' : 'mp-path'}>
                <Td dataLabel="Device" className="mp-mono">
                  {p.Device}
                  <span className="mp-sub">{p.DevT}</span>
                </Td>
                <Td dataLabel="State">
                  <PathStateLabel path={p} />
                </Td>
                <Td dataLabel="Checker">
                  {known(p.CheckerState)}
                  {p.Checker && <span className="mp-sub">{p.Checker}</span>}
                </Td>
                <Td dataLabel="Priority">{p.Priority}</Td>
                <Td dataLabel="Host WWPN" className="mp-mono">
                  {known(p.HostWwpn)}
                </Td>
                <Td dataLabel="Target WWPN" className="mp-mono">
                  {known(p.TargetWwpn)}
                </Td>
                <Td dataLabel="Fail count">{p.FailCount}</Td>
                <Td dataLabel="Action" modifier="fitContent">
                  {failed ? (
                    <Button variant="link" size="sm" isInline onClick={() => act(reinstatePath(map, p))}>
                      Reinstate
                    </Button>
                  ) : (
                    <Button variant="link" size="sm" isInline isDanger onClick={() => act(failPath(map, p))}>
                      Fail
                    </Button>
                  )}
                </Td>
              </Tr>
            );
          })}
        </Tbody>
      </Table>
    </div>
  );
}
