import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfigFile } from '../../src/config/config-file';

const parse = (text: string) => parseConfigFile(text, '/etc/multipath-dbus.conf');

describe('parseConfigFile', () => {
  it('publishes nothing unless told to: defaults are off, 60 s, a kernel poll each second, 4096 events, 16 MiB, 30 MiB messages, info', () => {
    expect(DEFAULT_CONFIG).toEqual({
      enable: false,
      refreshInterval: 60,
      kernelPollInterval: 1,
      historySize: 4096,
      netlinkBuffer: 16 * 1024 * 1024,
      maxMessageSize: 30 * 1024 * 1024,
      logLevel: 'info',
    });
    expect(parse('')).toEqual({ ok: true, value: DEFAULT_CONFIG });
  });

  it('reads every key, with comments and blank lines around them', () => {
    const text = [
      '# multipath-dbus settings',
      '',
      'enable = yes   # turn it on',
      'socket = @/org/kernel/linux/storage/multipathd',
      'refresh_interval=0',
      'kernel_poll_interval = 5',
      '  history_size = 100000',
      'netlink_buffer = 64M',
      'max_message_size = 1M',
      'log_level = debug',
    ].join('\n');
    expect(parse(text)).toEqual({
      ok: true,
      value: {
        enable: true,
        socket: '@/org/kernel/linux/storage/multipathd',
        refreshInterval: 0,
        kernelPollInterval: 5,
        historySize: 100000,
        netlinkBuffer: 64 * 1024 * 1024,
        maxMessageSize: 1024 * 1024,
        logLevel: 'debug',
      },
    });
  });

  it.each([
    ['yes', true],
    ['True', true],
    ['1', true],
    ['no', false],
    ['false', false],
    ['0', false],
  ])('reads enable = %s', (v, expected) => {
    const r = parse(`enable = ${v}`);
    expect(r.ok && r.value.enable).toBe(expected);
  });

  it.each([
    ['65536', 65536],
    ['64K', 65536],
    ['512k', 512 * 1024],
    ['1G', 1024 ** 3],
  ])('reads netlink_buffer = %s', (v, bytes) => {
    const r = parse(`netlink_buffer = ${v}`);
    expect(r.ok && r.value.netlinkBuffer).toBe(bytes);
  });

  it('accepts a quoted socket path', () => {
    const r = parse('socket = "/run/multipathd.socket"');
    expect(r.ok && r.value.socket).toBe('/run/multipathd.socket');
  });

  it.each([
    ['enable yes', '1: expected "key = value"'],
    ['\n\nfoo = 1', '3: unknown key "foo"'],
    ['enable = perhaps', '1: enable must be yes or no'],
    ['enable =', '1: enable has no value'],
    ['enable = yes\nenable = no', '2: enable is already set on line 1'],
    ['history_size = 15', '1: history_size must be'],
    ['history_size = 1000001', '1: history_size must be'],
    ['history_size = 1e3', '1: history_size must be'],
    ['refresh_interval = 86401', '1: refresh_interval must be'],
    ['refresh_interval = -1', '1: refresh_interval must be'],
    ['kernel_poll_interval = 3601', '1: kernel_poll_interval must be seconds from 0 (not polled) to 3600'],
    ['kernel_poll_interval = 0.5', '1: kernel_poll_interval must be'],
    ['netlink_buffer = 63K', '1: netlink_buffer must be 64K to 1G'],
    ['netlink_buffer = 2G', '1: netlink_buffer must be 64K to 1G'],
    ['netlink_buffer = 16 MiB', '1: netlink_buffer must be 64K to 1G'],
    ['max_message_size = 129M', '1: max_message_size must be 64K to 128M'],
    ['max_message_size = 32K', '1: max_message_size must be 64K to 128M'],
    ['log_level = verbose', '1: log_level must be one of error, warning, notice, info, debug'],
    ['socket = multipathd', '1: socket must be an absolute path or @abstract-name'],
    [`socket = @${'x'.repeat(107)}`, '1: socket is longer than 107 bytes'],
  ])('refuses %j as FILE:LINE: what is wrong', (text, error) => {
    const r = parse(text);
    expect(r.ok).toBe(false);
    const prefix = `/etc/multipath-dbus.conf:${error}`;
    expect(!r.ok && r.error.slice(0, prefix.length)).toBe(prefix);
  });
});
