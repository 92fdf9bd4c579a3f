// Where multipathd listens: the socket-activated path of multipath-tools >= 0.12, then the
// abstract name every version binds. MULTIPATH_SOCKET_NAME overrides, as in multipath-tools.
export const SOCKET_PATH = '/run/multipathd.socket';
export const ABSTRACT_NAME = '/org/kernel/linux/storage/multipathd';

export function defaultSocketCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.MULTIPATH_SOCKET_NAME;
  // multipathd 0.9.x binds the variable's value as an abstract name.
  if (override) return [`@${override.replace(/^@/, '')}`];
  return [SOCKET_PATH, `@${ABSTRACT_NAME}`];
}
