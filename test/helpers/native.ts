import { expect } from 'vitest';
import { NativeError } from '../../src/native/addon';

/** The NativeError a call throws (fails the test if it throws anything else, or nothing). */
export function thrown(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NativeError);
    return e as NativeError;
  }
  throw new Error('expected a NativeError, nothing was thrown');
}
