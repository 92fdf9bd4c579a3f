// Where multipathd listens: the socket file of multipath-tools >= 0.12, then the abstract
// name every version binds. MULTIPATH_SOCKET_NAME (multipath-tools >= 0.12) replaces both,
// read as libmpathcmd reads it: "@name" is abstract, anything else a path.
const SOCKET_PATH = '/run/multipathd.socket';
const ABSTRACT_NAME = '/org/kernel/linux/storage/multipathd';

export function defaultSocketCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.MULTIPATH_SOCKET_NAME;
  if (override) return [override];
  return [SOCKET_PATH, `@${ABSTRACT_NAME}`];
}
