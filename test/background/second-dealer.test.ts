/** Which member deals with this browser when it adds a device (never the Duet Guard, which deals only in a gated recovery). */
import { describe, expect, it } from 'vitest';
import { chooseSecondDealer, type MemberRowView } from '../../src/background/pairing.ts';

function row(key: string, role: MemberRowView['role'], fields: Partial<MemberRowView> = {}): MemberRowView {
  return { key, index: 0, name: key, role, self: false, online: true, path: 'relay', lastSeen: null, healthAt: null, suspect: false, blocked: false, coSigns: true, problem: null, ...fields };
}

describe('the second dealer of an added device', () => {
  it('is never the Guard, even when it is the only member online that co-signs', () => {
    const rows = [row('browser', 'extension', { self: true }), row('phone', 'phone', { online: false }), row('guard', 'guard')];
    expect(chooseSecondDealer(rows, [])).toBe('phone');
    expect(chooseSecondDealer([row('browser', 'extension', { self: true }), row('guard', 'guard')], [])).toBeNull();
  });

  it('prefers a member online that co-signs, and skips suspects, blocked members and the one being replaced', () => {
    const rows = [row('browser', 'extension', { self: true }), row('a', 'phone', { suspect: true }), row('b', 'phone', { online: false }), row('c', 'phone', { coSigns: false }), row('d', 'phone')];
    expect(chooseSecondDealer(rows, [])).toBe('d');
    expect(chooseSecondDealer(rows, ['d'])).toBe('c');
  });
});
