/** One member of the wallet as a device's member list shows it (the Devices page, the phone's list). */
import type { LinkPath } from '../channel/path-switch.ts';
import type { MemberRole } from '../mpc/wallet-share.ts';

export interface MemberRow {
  readonly key: string;
  readonly index: number;
  readonly name: string;
  readonly role: MemberRole;
  readonly self: boolean;
  readonly online: boolean;
  /** How this device's messages reach it while online: directly (WebRTC) or through the relay. */
  readonly path: LinkPath;
  readonly lastSeen: number | null;
  /** The last proof that its share works (this device: now). */
  readonly healthAt: number | null;
  /** A signature with it failed (it may be compromised). */
  readonly suspect: boolean;
  /** Its removal began: no pair with it signs. */
  readonly blocked: boolean;
}
