// The systemd unit a caller runs in, read from its process's cgroup (as systemd names it),
// for the audit only: the bus daemon vouches for the uid and pid, nothing vouches for this.
import * as fs from 'node:fs';

/** The innermost unit in a /proc/PID/cgroup text (the v2 "0::" line, else the systemd v1 one). */
export function unitFromCgroup(text: string): string {
  const lines = text.split('\n');
  const line = lines.find((l) => l.startsWith('0::')) ?? lines.find((l) => l.includes(':name=systemd:'));
  if (!line) return '';
  const parts = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).split('/');
  for (let i = parts.length - 1; i >= 0; i--) if (/^[\w:.\\@-]+\.(service|scope)$/.test(parts[i])) return parts[i];
  return '';
}

/** The seam: read /proc/PID/cgroup ('' if the process is gone or hidden). */
export function readCgroup(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return '';
  }
}
