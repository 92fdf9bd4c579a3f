// Every map: sortable, filterable and paged so that a host with thousands of maps stays
// usable; a row expands to its path groups and paths.
import React, { useEffect, useMemo, useState } from 'react';
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
  Spinner,
  ToolbarItem,
} from '@patternfly/react-core';
import { ActionsColumn, ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import SearchIcon from '@patternfly/react-icons/dist/esm/icons/search-icon';
import { failPath, reinstatePath, resize, setQueueing, switchGroup, type Action } from './actions';
import { N_, _, format } from './cockpit';
import { HealthLabel, PathPips, PathStateLabel } from './health';
import { NVME_UNMANAGED, NvmeMenu, NvmePathsTable } from './nvme';
import { StorageLink } from './storage-link';
import type { Objects } from './api';
import { HEALTH_ORDER, detailsLoaded, formatBytes, isNvme, lastElement, mapGroups, queueingOn, type GroupRow, type MapRow } from './view';

type Column = { title: string; width: ThProps['width']; key: (m: MapRow) => string | number };
const COLUMNS: Column[] = [
  { title: N_('Name'), width: 15, key: (m) => m.Name },
  { title: N_('WWID'), width: 30, key: (m) => m.Wwid },
  { title: N_('Vendor / product'), width: 20, key: (m) => `${m.Vendor} ${m.Product}` },
  { title: N_('Size'), width: 10, key: (m) => m.Size },
  { title: N_('Health'), width: 10, key: (m) => HEALTH_ORDER[m.Health] ?? 2 },
  { title: N_('Paths'), width: 15, key: (m) => (m.NumPaths ? m.ValidPaths / m.NumPaths : 1) },
];

/** multipathd prints "[undef]" (or nothing) where it does not know. */
const known = (s: string | undefined): string => (!s || s === '[undef]' ? '—' : s);

/** A map's path devices are the last elements of its Paths (…/paths/sdb): no path object is needed. */
const matches = (m: MapRow, text: string): boolean =>
  [m.Name, m.Wwid, m.Vendor, m.Product, m.SysfsName, ...(m.Paths ?? []).map(lastElement)].some((s) => s?.toLowerCase().includes(text));

/** One collator for every comparison: localeCompare with options builds one per call, too slow for thousands of maps. */
const collator = new Intl.Collator(undefined, { numeric: true });

interface Props {
  maps: MapRow[];
  objects: Objects;
  act: (a: Action) => void;
  /** The map at this object path is shown expanded (its paths are read). */
  expand: (map: string) => void;
}

export function MapsTable({ maps, objects, act, expand }: Props) {
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
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
        return sign * c || collator.compare(a.Name, b.Name);
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
        <CardTitle component="h2">{_('Multipath devices')}</CardTitle>
      </CardHeader>
      <CardBody>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <SearchInput
                placeholder={_('Filter by name, WWID, vendor or device')}
                value={filter}
                onChange={(_e, v) => {
                  setFilter(v);
                  setPage(1);
                }}
                onClear={() => setFilter('')}
                aria-label={_('Filter maps')}
                className="mp-filter"
              />
            </ToolbarItem>
            <ToolbarItem>
              <ToggleGroup aria-label={_('Which maps')}>
                <ToggleGroupItem text={format(_('All $0'), maps.length)} isSelected={!problemsOnly} onChange={() => setProblemsOnly(false)} />
                <ToggleGroupItem text={format(_('Problems $0'), problems)} isSelected={problemsOnly} onChange={() => setProblemsOnly(true)} />
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
          <EmptyState headingLevel="h3" titleText={maps.length ? _('No map matches') : _('No multipath maps')} icon={SearchIcon} variant="sm">
            <EmptyStateBody>{maps.length ? _('Change the filter to see more maps.') : _('multipathd has not assembled any map on this host.')}</EmptyStateBody>
          </EmptyState>
        ) : (
          <Table aria-label={_('Multipath maps')} variant="compact" className="mp-maps-table">
            <Thead>
              <Tr>
                <Th screenReaderText={_('Details')} />
                {COLUMNS.map((c, i) => (
                  <Th key={c.title} sort={sortBy(i)} width={c.width} modifier="nowrap">
                    {_(c.title)}
                  </Th>
                ))}
                <Th screenReaderText={_('Actions')} />
              </Tr>
            </Thead>
            {visible.map((m, rowIndex) => {
              const isExpanded = expanded.has(m.path);
              return (
                <Tbody key={m.path} isExpanded={isExpanded}>
                  <Tr data-map={m.Name} data-health={m.Health} className={`mp-map mp-map-${m.Health}`}>
                    <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(m.path), expandId: `mp-expand-${m.Name}` }} />
                    <Td dataLabel={_('Name')} className="mp-name">
                      {/* An NVMe namespace's name is its head device's: the name itself is the link. */}
                      {m.SysfsName && m.SysfsName === m.Name ? <StorageLink sysfs={m.SysfsName} asName /> : m.Name}
                      {isNvme(m) && (
                        <Label isCompact color="purple" className="mp-kind" data-kind-label="nvme">
                          {_('NVMe')}
                        </Label>
                      )}
                      {m.SysfsName && m.SysfsName !== m.Name && <StorageLink sysfs={m.SysfsName} />}
                    </Td>
                    <Td dataLabel={_('WWID')} className="mp-mono" modifier="breakWord">
                      {m.Wwid}
                    </Td>
                    <Td dataLabel={_('Vendor / product')}>
                      {m.Vendor} {m.Product}
                    </Td>
                    <Td dataLabel={_('Size')}>{formatBytes(m.Size)}</Td>
                    <Td dataLabel={_('Health')}>
                      <HealthLabel health={m.Health} />
                    </Td>
                    <Td dataLabel={_('Paths')} className="mp-paths-cell">
                      <span className="mp-count">
                        {m.ValidPaths}/{m.NumPaths}
                      </span>
                      <PathPips total={m.NumPaths} valid={m.ValidPaths} />
                    </Td>
                    <Td isActionCell>
                      {isNvme(m) ? (
                        <NvmeMenu />
                      ) : (
                        <ActionsColumn
                          items={[
                            { title: queueingOn(m.Queueing) ? _('Disable queueing…') : _('Restore queueing…'), onClick: () => act(setQueueing(m)) },
                            { title: _('Resize…'), onClick: () => act(resize(m)) },
                          ]}
                        />
                      )}
                    </Td>
                  </Tr>
                  <Tr isExpanded={isExpanded}>
                    <Td colSpan={COLUMNS.length + 2}>
                      <ExpandableRowContent>{isExpanded && <MapDetails map={m} objects={objects} act={act} expand={expand} />}</ExpandableRowContent>
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

function MapDetails({ map, objects, act, expand }: { map: MapRow; objects: Objects; act: (a: Action) => void; expand: (map: string) => void }) {
  // After every render: a path added to the map, or a new session, is read too.
  useEffect(() => expand(map.path));
  const groups = mapGroups(objects, map);
  const nvme = isNvme(map);
  const facts: [string, string][] = nvme
    ? [
        [_('Subsystem NQN'), map.SubsystemNqn],
        [_('I/O policy'), map.IoPolicy],
      ]
    : [
        [_('Features'), map.Features],
        [_('Hardware handler'), map.HardwareHandler],
        [_('Queueing'), map.Queueing],
        [_('Failback'), map.Failback],
        [_('Path faults'), String(map.PathFaults ?? 0)],
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
      {!detailsLoaded(objects, map) && <Spinner size="md" aria-label={format(_('Loading the paths of $0'), map.Name)} />}
      {nvme && <div className="mp-sub mp-unmanaged">{_(NVME_UNMANAGED)}</div>}
      {/* An NVMe group is active only with an optimized usable path: none active is no pending switch. */}
      {!nvme && groups.length > 0 && !groups.some((g) => g.DmState === 'active') && (
        <div className="mp-sub mp-no-active">{_('No path group is active: the kernel takes the one it names next at the next I/O.')}</div>
      )}
      {groups.map((g) => (
        <GroupDetails key={g.path} map={map} group={g} act={act} />
      ))}
    </div>
  );
}

function GroupDetails({ map, group, act }: { map: MapRow; group: GroupRow; act: (a: Action) => void }) {
  const active = group.DmState === 'active';
  const nvme = isNvme(map);
  return (
    <div className={`mp-group${active ? ' mp-group-active' : ''}`} data-group={group.Number}>
      <Flex className="mp-group-head" alignItems={{ default: 'alignItemsCenter' }}>
        <FlexItem>
          <strong>{format(nvme ? _('ANA group $0') : _('Path group $0'), group.Number)}</strong>
        </FlexItem>
        <FlexItem>
          <Label isCompact color={active ? 'blue' : group.DmState === 'disabled' ? 'grey' : 'teal'}>
            {group.DmState}
          </Label>
        </FlexItem>
        {!nvme && (
          <FlexItem className="mp-sub">
            {format(_('$0 · priority $1'), group.Selector, group.Priority)}
            {group.Marginal ? ` · ${_('marginal')}` : ''}
          </FlexItem>
        )}
        {!nvme && !active && (
          <FlexItem align={{ default: 'alignRight' }}>
            <Button variant="secondary" size="sm" onClick={() => act(switchGroup(map, group))}>
              {_('Switch to this group')}
            </Button>
          </FlexItem>
        )}
      </Flex>
      {nvme ? <NvmePathsTable group={group} /> : <DmPathsTable map={map} group={group} act={act} />}
    </div>
  );
}

function DmPathsTable({ map, group, act }: { map: MapRow; group: GroupRow; act: (a: Action) => void }) {
  return (
    <Table aria-label={format(_('Paths of group $0'), group.Number)} variant="compact" borders={false} className="mp-paths-table">
      <Thead>
        <Tr>
          <Th>{_('Device')}</Th>
          <Th>{_('State')}</Th>
          <Th>{_('Checker')}</Th>
          <Th>{_('Priority')}</Th>
          <Th>{_('Host WWPN')}</Th>
          <Th>{_('Target WWPN')}</Th>
          <Th>{_('Fail count')}</Th>
          <Th screenReaderText={_('Actions')} />
        </Tr>
      </Thead>
      <Tbody>
        {group.paths.map((p) => {
          const failed = p.DmState === 'failed';
          return (
            <Tr key={p.path} data-path={p.Device} data-state={p.DmState} className={failed ? 'mp-path mp-path-failed' : 'mp-path'}>
              <Td dataLabel={_('Device')} className="mp-mono">
                {p.Device}
                <span className="mp-sub">{p.DevT}</span>
              </Td>
              <Td dataLabel={_('State')}>
                <PathStateLabel path={p} />
              </Td>
              <Td dataLabel={_('Checker')}>
                {known(p.CheckerState)}
                {p.Checker && <span className="mp-sub">{p.Checker}</span>}
              </Td>
              <Td dataLabel={_('Priority')}>{p.Priority}</Td>
              <Td dataLabel={_('Host WWPN')} className="mp-mono">
                {known(p.HostWwpn)}
              </Td>
              <Td dataLabel={_('Target WWPN')} className="mp-mono">
                {known(p.TargetWwpn)}
              </Td>
              <Td dataLabel={_('Fail count')}>{p.FailCount}</Td>
              <Td dataLabel={_('Action')} modifier="fitContent">
                {failed ? (
                  <Button variant="link" size="sm" isInline onClick={() => act(reinstatePath(map, p))}>
                    {_('Reinstate')}
                  </Button>
                ) : (
                  <Button variant="link" size="sm" isInline isDanger onClick={() => act(failPath(map, p))}>
                    {_('Fail')}
                  </Button>
                )}
              </Td>
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
}
