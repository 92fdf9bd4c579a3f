import { describe, expect, it } from 'vitest';
import { parseShowConfig } from '../../../src/sources/multipathd/show-config';
import { fixture } from '../../helpers/fixtures';

describe('show config from multipathd 0.9.4', () => {
  const r = parseShowConfig(fixture('multipathd-0.9.4/show-config.txt'));
  const s = r.ok ? r.value : undefined;

  it('reads the settings a client shows', () => {
    expect(r.ok).toBe(true);
    expect(s).toMatchObject({ userFriendlyNames: true, findMultipaths: 'off', pollingInterval: 5 });
  });

  it('reads the blacklist: the devnode pattern, then each device entry', () => {
    expect(s!.blacklist[0]).toEqual({ kind: 'devnode', pattern: '!^(sd[a-z]|dasd[a-z]|nvme[0-9])' });
    expect(s!.blacklist).toHaveLength(15);
    expect(s!.blacklist.slice(1, 3)).toEqual([
      { kind: 'device', pattern: 'vendor "SGI" product "Universal Xport"' },
      { kind: 'device', pattern: 'vendor "^DGC" product "LUNZ"' },
    ]);
    expect(s!.blacklist.every((e, i) => (i === 0) === (e.kind === 'devnode'))).toBe(true);
  });

  it('reads the exceptions, and nothing from the devices section', () => {
    expect(s!.blacklistExceptions).toEqual([{ kind: 'property', pattern: '(SCSI_IDENT_|ID_WWN)' }]);
    expect(s!.blacklist.some((e) => e.pattern.includes('3PARdata'))).toBe(false);
  });
});

describe('parseShowConfig', () => {
  const wrap = (body: string) => `defaults {\n\tpolling_interval 10\n}\n${body}`;

  it('reads "" as a quote inside a string and keeps only the keys a device entry has', () => {
    const r = parseShowConfig(wrap('blacklist {\n\twwid "a""b"\n\tdevice {\n\t\tproduct "Say ""hi"""\n\t\tpath_checker "tur"\n\t}\n\tprotocol "scsi:fcp"\n}\n'));
    expect(r.ok && r.value.blacklist).toEqual([
      { kind: 'wwid', pattern: 'a"b' },
      { kind: 'device', pattern: 'product "Say ""hi"""' },
      { kind: 'protocol', pattern: 'scsi:fcp' },
    ]);
  });

  it("uses multipathd's built-in defaults for keywords the reply leaves out, and skips unknown sections", () => {
    const r = parseShowConfig('defaults {\n}\nfuture_section {\n\tnested {\n\t\tdevnode "x"\n\t}\n}\n');
    expect(r).toEqual({ ok: true, value: { userFriendlyNames: false, findMultipaths: 'strict', pollingInterval: 5, blacklist: [], blacklistExceptions: [] } });
  });

  it.each([
    ['', /no "defaults" section/],
    ['defaults {\n\tuser_friendly_names "maybe"\n}', /line 2: user_friendly_names "maybe" is not yes or no/],
    ['defaults {\n\tpolling_interval 0\n}', /line 2: polling_interval "0"/],
    ['defaults {\n\tpolling_interval 5\n', /section "defaults" opened on line 1 is never closed/],
    ['}\n', /line 1: "}" without an open section/],
    ['defaults {\n\talias_prefix "mpath\n}', /line 2: alias_prefix: unterminated string/],
  ])('refuses %j, saying why', (text, error) => {
    const r = parseShowConfig(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(error);
  });
});
