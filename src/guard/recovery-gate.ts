/**
 * The Guard's gates on recovery, pure. The Guard deals in a reshare (gives its weighted share to a
 * new member set) only for a recovery that a user device opened with the second factor, whose
 * security period (policy.recoveryHours, default 48) has passed without any device cancelling it,
 * and only to exactly the member set that device's user approved:
 *
 *   open     a current member device sends the new members and the two dealers (one of them the
 *            Guard) with a valid code; every member that is not a current one must be a device
 *            linked to this Guard (so the Guard authenticated it); the set is stored with ready_at
 *   cancel   any device of the wallet; a device that the recovery removes needs the code too (a
 *            thief holding it cannot stop its own removal, the user with the code can stop an
 *            attacker's recovery)
 *   deal     a reshare proposal from the recovery's epoch with exactly these members and dealers,
 *            after ready_at → the Guard's approval (once: the recovery is then used)
 *
 * Anything else the Guard is asked to deal in is refused (`approveMembers` returns null), so no
 * coordinator can make it deal to a set no user approved on a device of their own.
 */
import { equalBytes } from '../mpc/bytes.ts';
import type { ReshareProposal } from '../mpc/reshare.ts';
import { decodeMember } from '../mpc/wallet-share-codec.ts';
import { memberId, sameMember, type Member, type WalletShare } from '../mpc/wallet-share.ts';
import type { RecoveryRecord } from './guard-store.ts';

export class RecoveryRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryRequestError';
  }
}

export interface RecoveryRequest {
  readonly members: readonly Member[];
  readonly dealers: readonly [number, number];
}

/**
 * Checks what a device asks: a member set that keeps the Guard, changes no kept member, adds
 * only linked devices with fresh indices, and two dealers from the current members, one of them
 * the Guard. `linkedKeys`: identity keys (hex) of the devices linked to the Guard for this wallet.
 */
export function checkRecoveryRequest(share: WalletShare, rawMembers: unknown, rawDealers: unknown, linkedKeys: ReadonlySet<string>): RecoveryRequest {
  if (!Array.isArray(rawMembers) || rawMembers.length < 2 || rawMembers.length > 16) throw new RecoveryRequestError('members must list 2 to 16 members');
  let members: Member[];
  try {
    members = rawMembers.map((entry, k) => decodeMember(entry, `members[${k}]`));
  } catch (error) {
    throw new RecoveryRequestError(error instanceof Error ? error.message : 'a member is malformed');
  }
  for (let k = 1; k < members.length; k++) if ((members[k] as Member).index <= (members[k - 1] as Member).index) throw new RecoveryRequestError('members must be sorted by index, each index once');
  if (new Set(members.map(memberId)).size !== members.length) throw new RecoveryRequestError('two members share an identity key');
  const { wallet } = share;
  const self = wallet.members.find((member) => member.index === share.self) as Member;
  if (!members.some((member) => sameMember(member, self))) throw new RecoveryRequestError('the new members must keep this Guard as it is');
  for (const member of members) {
    const current = wallet.members.find((candidate) => candidate.index === member.index);
    if (current) {
      if (!sameMember(current, member)) throw new RecoveryRequestError(`member ${member.index} would change`);
      continue;
    }
    if (member.index < wallet.nextIndex) throw new RecoveryRequestError(`index ${member.index} was used before`);
    if (member.joinedEpoch !== wallet.epoch + 1) throw new RecoveryRequestError(`member ${member.index} must join in epoch ${wallet.epoch + 1}`);
    if (member.role === 'guard') throw new RecoveryRequestError('a recovery adds no other Guard');
    if (!linkedKeys.has(memberId(member))) throw new RecoveryRequestError(`member ${member.index} is not a device linked to this Guard: link it first (a device code)`);
  }
  if (!Array.isArray(rawDealers) || rawDealers.length !== 2 || !rawDealers.every((dealer) => Number.isInteger(dealer))) throw new RecoveryRequestError('dealers must be two member indices');
  const dealers = rawDealers as [number, number];
  if (dealers[0] === dealers[1]) throw new RecoveryRequestError('two distinct dealers are needed');
  if (!dealers.includes(share.self)) throw new RecoveryRequestError('this Guard is not one of the dealers: it has nothing to gate');
  for (const dealer of dealers) {
    if (!wallet.members.some((member) => member.index === dealer) || !members.some((member) => member.index === dealer)) throw new RecoveryRequestError(`dealer ${dealer} must be a current member that stays`);
  }
  return { members, dealers };
}

/** The members a recovery removes (current members not in its new set). */
export function removedByRecovery(share: WalletShare, recovery: Pick<RecoveryRecord, 'members'>): Member[] {
  const kept = recovery.members.map((entry, k) => decodeMember(entry, `recovery.members[${k}]`));
  return share.wallet.members.filter((member) => !kept.some((other) => other.index === member.index && equalBytes(other.identityKey, member.identityKey)));
}

/** Whether `proposal` is exactly what `recovery` approved: same epoch, members and dealers. */
export function recoveryMatches(recovery: RecoveryRecord, proposal: ReshareProposal): boolean {
  const members = recovery.members.map((entry, k) => decodeMember(entry, `recovery.members[${k}]`));
  const sameDealers = [...recovery.dealers].sort().join() === [...proposal.dealers].sort().join();
  return (
    recovery.fromEpoch === proposal.fromEpoch &&
    sameDealers &&
    members.length === proposal.newMembers.length &&
    members.every((member, k) => sameMember(member, proposal.newMembers[k] as Member))
  );
}
