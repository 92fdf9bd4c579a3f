// Kernel-like names and numbers for simulated devices, so a simulated host looks like a real one.

/** sda..sdz, sdaa..sdzz, sdaaa.. as the sd driver names disks. */
export function sdName(index: number): string {
  let name = '';
  let i = index;
  do {
    name = String.fromCharCode(97 + (i % 26)) + name;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return `sd${name}`;
}

/** The sd driver's dev_t: bits 4-7 of the disk index pick the major (8, 65-71, 128-135), the rest the minor, 16 per disk. */
export function sdDevT(index: number): string {
  const majorIndex = (index & 0xf0) >> 4;
  const major = majorIndex === 0 ? 8 : majorIndex < 8 ? 64 + majorIndex : 120 + majorIndex;
  const minor = ((index & 0xf) << 4) | (index & 0xfff00);
  return `${major}:${minor}`;
}

/** mpatha..mpathz, mpathaa.. as user_friendly_names assigns them. */
export function mpathName(index: number): string {
  return `mpath${sdName(index).slice(2)}`;
}

export function simWwid(index: number): string {
  return `3600a0980383030523424457a4a${index.toString(16).padStart(6, '0')}`;
}
