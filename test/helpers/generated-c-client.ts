// A C client generated from the contract XML by gdbus-codegen and compiled with gcc
// (libglib2.0-dev, gcc), as the README's "Clients" section tells a C developer to.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

export const CONTRACT = path.resolve(__dirname, '..', '..', 'dbus', 'org.kernel.linux.storage.multipath1.xml');

const sh = (script: string, cwd: string, ...args: string[]) => promisify(execFile)('sh', ['-ec', script, 'sh', ...args], { cwd });

/** Generate mpd-generated.{c,h} in `dir` and compile `source` with them into `dir`/`name`; its path. */
export async function buildGeneratedClient(dir: string, source: string, name: string): Promise<string> {
  await sh(
    `gdbus-codegen --interface-prefix org.kernel.linux.storage.multipath1. --c-namespace Mpd --c-generate-object-manager --generate-c-code mpd-generated "$1"
     gcc -Wall -Werror -I. -o "$2" "$3" mpd-generated.c $(pkg-config --cflags --libs gio-2.0 gio-unix-2.0)`,
    dir,
    CONTRACT,
    name,
    source,
  );
  return path.join(dir, name);
}
