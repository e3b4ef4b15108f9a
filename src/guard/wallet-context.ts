/**
 * What the parts of one wallet's handling (guard-signer.ts, guard-operations.ts,
 * guard-membership.ts) share: the store, the clock, the wallet's current state, and the links to
 * its devices. GuardWallet (guard-wallet.ts) implements it.
 */
import type { MemberIdentity } from '../mpc/member-signature.ts';
import type { Member, WalletShare } from '../mpc/wallet-share.ts';
import type { AuditEntry, GuardStore, LinkRecord } from './guard-store.ts';

export type LinkInfo = Pick<LinkRecord, 'id' | 'deviceKey' | 'deviceRole'>;

export interface WalletContext {
  /** The Guard's id of this wallet (its row). */
  readonly id: string;
  readonly store: GuardStore;
  readonly now: () => number;
  /** The Guard's identity for this wallet (its member key). */
  identity(): MemberIdentity;
  /** The Guard's current share, null before it joined and after it was removed. */
  share(): WalletShare | null;
  /** Stores a changed share (with its audit entry) before anything depends on it. */
  saveShare(share: WalletShare, audit: AuditEntry): Promise<void>;
  /** The wallet's devices linked to the Guard. */
  links(): readonly LinkInfo[];
  /** The current member a link's device is, if it is one. */
  memberOfLink(linkId: string): Member | null;
  /** How the audit log names a link's device. */
  actor(linkId: string): string;
  send(linkId: string, message: unknown): void;
  /** To every linked device of the wallet. */
  broadcast(message: unknown): void;
  /** The delayed queue changed: every device is shown it again. */
  queueChanged(): void;
}
