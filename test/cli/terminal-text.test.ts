import { describe, expect, it } from 'vitest';
import { terminalText } from '../../src/cli/terminal-text';

describe('terminalText', () => {
  it('leaves printable text, UTF-8 included, alone', () => {
    expect(terminalText('mpatha 3600a0980383030 NETAPP,LUN C-Mode Größe ✓')).toBe('mpatha 3600a0980383030 NETAPP,LUN C-Mode Größe ✓');
  });

  it('escapes controls as C escapes, C1 and bidirectional overrides as \\u, and the backslash itself', () => {
    expect(terminalText('\x1b[31m\x00\x7f\t\n\r\x07')).toBe('\\x1b[31m\\x00\\x7f\\t\\n\\r\\a');
    expect(terminalText('\u009b2J \u202egnp.exe')).toBe('\\u009b2J \\u202egnp.exe');
    expect(terminalText('a\\x1b')).toBe('a\\\\x1b');
  });
});
