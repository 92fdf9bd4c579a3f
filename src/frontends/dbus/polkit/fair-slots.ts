// How many questions may wait for polkit's answer at once: all of them travel on the service's
// one bus connection, and dbus-daemon refuses a connection's 129th call awaiting a reply
// (LimitsExceeded) — whoever made it. So at most `total` at once, at most `perUid` of them for
// one uid; a uid's further calls wait (at most `waitingPerUid` of them, the rest are refused
// with LimitsExceeded), and free slots go to the waiting uids in turn, one call each, so a uid
// with many calls waiting delays nobody else's.
import { DBusError } from '../bus/object-server';

export interface SlotLimits {
  total: number;
  perUid: number;
  waitingPerUid: number;
}

interface User {
  running: number;
  waiting: (() => void)[];
}

export class FairSlots {
  private running = 0;
  private readonly users = new Map<number, User>();
  /** uids with calls waiting, the next to be served first. */
  private readonly turns: number[] = [];

  constructor(readonly limits: SlotLimits) {}

  /** Resolves to the function that gives the slot back; rejects with LimitsExceeded when too many of the uid's calls wait. */
  acquire(uid: number): Promise<() => void> {
    let u = this.users.get(uid);
    if (!u) this.users.set(uid, (u = { running: 0, waiting: [] }));
    if (u.waiting.length === 0 && u.running < this.limits.perUid && this.running < this.limits.total) return Promise.resolve(this.take(uid, u));
    if (u.waiting.length >= this.limits.waitingPerUid) {
      return Promise.reject(
        new DBusError(
          'org.freedesktop.DBus.Error.LimitsExceeded',
          `uid ${uid} already has ${u.running} authorization checks with polkit and ${u.waiting.length} waiting; retry later`,
        ),
      );
    }
    const user = u;
    return new Promise((resolve) => {
      if (user.waiting.length === 0) this.turns.push(uid);
      user.waiting.push(() => resolve(this.take(uid, user)));
    });
  }

  private take(uid: number, u: User): () => void {
    this.running++;
    u.running++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.running--;
      u.running--;
      if (u.running === 0 && u.waiting.length === 0) this.users.delete(uid);
      this.serve();
    };
  }

  /** One waiting call per uid in turn, skipping uids that hold all their own slots. */
  private serve(): void {
    for (let i = 0; i < this.turns.length && this.running < this.limits.total; ) {
      const uid = this.turns[i];
      const u = this.users.get(uid)!;
      if (u.running >= this.limits.perUid) {
        i++;
        continue;
      }
      this.turns.splice(i, 1);
      const start = u.waiting.shift()!;
      if (u.waiting.length > 0) this.turns.push(uid);
      start();
    }
  }
}
