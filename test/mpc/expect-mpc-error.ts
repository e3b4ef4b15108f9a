/** Asserts that an action throws an MpcError with exactly this code and field. */
import { expect } from 'vitest';
import { MpcError } from '../../src/mpc/errors.ts';

export function expectMpcError(action: () => unknown, code: string, field: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MpcError);
  expect({ code: (caught as MpcError).code, field: (caught as MpcError).field }).toEqual({ code, field });
}
