/**
 * How the background core talks to the other members of the wallet: a PhoneLink made per
 * unlocked session, with a pairing driver (QR link, SAS confirmation, then key generation for a
 * new wallet, adding the device that scanned it, or joining the wallet for a recovery), a
 * co-signer (a signature with any member this browser signs with), and the members' driver (the
 * member list, removals, the default co-signer's status, questions for the user). The production
 * link (phone-link.ts) runs over the relay; tests plug in their own.
 */
import type { DirectSettings } from '../channel/direct-path.ts';
import type { PairingKind } from '../channel/pairing-offer.ts';
import type { GuardDecision, GuardLinkProgress, GuardPolicyState } from '../session/guard-links.ts';
import type { QueueItem } from '../guard/guard-messages.ts';
import type { Policy } from '../guard/policy.ts';
import type { GuardRecoveryView } from '../session/guard-recovery.ts';
import type { MemberRow } from '../session/member-row.ts';
import type { SettingsBody } from '../session/settings-record.ts';
import type { ChangeProgress, Decision } from '../session/wallet-member.ts';
import type { PairedKey } from './accounts.ts';
import type { CoSigner } from './co-signer.ts';

/** adding: the device that scanned is being added; joining: this browser joins a wallet (recovery). */
export type PairingPhase = 'idle' | 'showing-code' | 'confirm-sas' | 'generating-key' | 'adding' | 'joining' | 'failed';

export interface PairingProgress {
  readonly phase: PairingPhase;
  /** What the code on screen is for. */
  readonly kind?: PairingKind;
  /** The link the QR code encodes (pairing data in the fragment). */
  readonly link: string | null;
  /** The short authentication string both screens show. */
  readonly sas: string | null;
  readonly error: string | null;
  readonly expiresAt: number | null;
}

export const IDLE_PAIRING: PairingProgress = { phase: 'idle', link: null, sas: null, error: null, expiresAt: null };

export interface PairingDriver {
  /** Shows a new pairing code of this kind (replacing any previous attempt); `replace`: a member the added device replaces. */
  start(kind?: PairingKind, replace?: string): Promise<void>;
  confirmSas(matches: boolean): void;
  cancel(): void;
  progress(): PairingProgress;
  onProgress(listener: (progress: PairingProgress) => void): () => void;
}

export interface PairingResult {
  readonly pairedKey: PairedKey;
  readonly deviceName: string;
}

/** Encrypted records in the vault (UnlockedVault satisfies it). */
export interface SecretRecords {
  get<T>(key: string): Promise<T | undefined>;
  putMany(records: Record<string, unknown>): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The vault as the member links use it: also writes and deletes in one transaction, and lists its records. */
export interface MemberSecrets extends SecretRecords {
  replace(records: Record<string, unknown>, deletes: readonly string[]): Promise<void>;
  keys(): Promise<string[]>;
}

/** One member of the wallet as the Devices page shows it. */
export interface MemberRowView extends MemberRow {
  /** This browser signs with it (it is P1 of their pair and the pair key is set up). */
  readonly coSigns: boolean;
  readonly problem: string | null;
}

export interface MembersView {
  readonly epoch: number;
  readonly members: readonly MemberRowView[];
  /** Every pair of members and whether it can sign now (and if not, why). */
  readonly pairs: readonly { readonly a: string; readonly b: string; readonly canSign: boolean; readonly why: string | null }[];
  readonly decisions: readonly Decision[];
  readonly change: ChangeProgress | null;
  /** The last membership change: who it removed, and whether every remaining member deleted its old share. */
  readonly last: { readonly at: number; readonly removed: readonly string[]; readonly complete: boolean; readonly waitingFor: readonly string[] } | null;
  /** This browser was removed from the wallet. */
  readonly removed: boolean;
}

/** Adding the Duet Guard from the Devices page (docs/guard.md, "In the apps"). */
export interface GuardDriver {
  progress(): GuardLinkProgress;
  /** Links this browser to the Guard (its URL and the code it printed); resolves with the SAS on screen. */
  enrol(guardUrl: string, code: string): Promise<void>;
  confirmSas(matches: boolean): void;
  /** The first code of the authenticator app; then the phone's code is shown. */
  confirmSecondFactor(code: string): Promise<void>;
  /** A new code for the phone (the last one expired). */
  phoneCode(): Promise<void>;
  /** The reshare that adds the linked Guard, with the phone (linked to the Guard too) as the second dealer. */
  add(): Promise<void>;
  cancel(): void;
  /** The Guard's decision on signing request `id` (its reasons shown in the approval window). */
  decision(id: string): GuardDecision | null;
  /** The authenticator app's code for a request the Guard asked it for. */
  enterCode(id: string, code: string): Promise<void>;
  /** The Guard this browser works with (the member, else the one it is linking): its rules and delayed queue. */
  panel(): GuardPanel | null;
  /** A new policy for that Guard (`code` for a loosening once the Guard is a member). */
  setPolicy(policy: Policy, code?: string): Promise<unknown>;
  /** Cancels an item of that Guard's delayed queue ("request:<id>", "policy:<id>", "recovery:<id>"). */
  cancelQueued(item: string, code?: string): Promise<void>;
  /** A browser joining a wallet (a recovery): links to the Guard by the Guard link the coordinating phone shows. */
  linkDevice(link: string): Promise<void>;
}

export interface GuardPanel {
  readonly guardKey: string;
  /** The Guard is a member of the wallet (before: it applies any policy at once). */
  readonly member: boolean;
  readonly policy: GuardPolicyState | null;
  readonly queue: readonly QueueItem[];
}

/** Replacing a lost phone with the Duet Guard as the second dealer (docs/guard.md, "Recovery"). */
export interface GuardRecoveryDriver {
  view(): GuardRecoveryView | null;
  /** A fresh Guard link for the new phone (the last code expired). */
  newDeviceLink(): Promise<void>;
  /** Opens the recovery at the Guard with the authenticator's code. */
  open(code: string): Promise<void>;
  /** Asks the Guard its clock and queue (the Devices page opened). */
  refresh(): Promise<void>;
  /** The security period passed: the change starts with the Guard as dealer. */
  finish(): Promise<void>;
  /** A cancelled recovery opened again with the same new phone. */
  reopen(): Promise<void>;
  cancel(): Promise<void>;
}

/**
 * The member that deals with this browser when it adds a device: the first one it signs with that is
 * online, else any that can. Never the Duet Guard: it deals only in a recovery its gates opened
 * (docs/guard.md, "Recovery"), so a change with it as dealer would stall.
 */
export function chooseSecondDealer(rows: readonly MemberRowView[], removing: readonly string[]): string | null {
  const candidates = rows.filter((row) => !row.self && !row.suspect && !row.blocked && row.role !== 'guard' && !removing.includes(row.key));
  return (candidates.find((row) => row.coSigns && row.online) ?? candidates.find((row) => row.online) ?? candidates[0])?.key ?? null;
}

/** What the extension knows about the wallet's members, and what its user can do about them. */
export interface MembersDriver {
  /** Null while this browser holds no wallet (not paired, or joining). */
  view(): MembersView | null;
  /** A browser that joins (a recovery): its questions and progress, or null. */
  joiningView(): { readonly decisions: readonly Decision[]; readonly step: string; readonly error: string | null } | null;
  decide(id: string, yes: boolean): void;
  /** Removes `key` with `dealer` (another member that stays) as the second dealer. */
  remove(key: string, dealer: string): Promise<void>;
  retry(): Promise<void>;
  cancel(): void;
  cutOffRemoved(): Promise<void>;
  rename(key: string, name: string): Promise<void>;
  /** Signs the settings record (accounts, names, networks) and sends it to every member. */
  shareSettings(body: SettingsBody): void;
  /** A signature this browser made, for every other member's history. */
  shareHistory(entry: { readonly id: string; readonly title: string; readonly detail: string; readonly with: string }): void;
  readonly guard?: GuardDriver;
  readonly guardRecovery?: GuardRecoveryDriver;
}

export interface PhoneLinkContext {
  readonly secrets: MemberSecrets;
  readonly relayUrl: string;
  readonly phoneAppUrl: string;
  now(): number;
  /** Stores the link's own records and the paired key in one vault write, then records the device. */
  completePairing(result: PairingResult, linkRecords: Record<string, unknown>): Promise<void>;
  /** Anything heard from a member (for "last seen"). */
  seen(at: number): void;
  /** This browser joined a wallet (a recovery): its key is known now; accounts come with the settings record. */
  joined?(pairedKey: PairedKey): Promise<void>;
  /** The settings record a member sent, checked (after a recovery). */
  settings?(body: SettingsBody): void;
  /** The members changed (the Devices page refreshes). */
  membersChanged?(): void;
  /** The direct path's settings as they are now (read at each attempt); default: on, no ICE server. */
  directPath?(): DirectSettings;
}

export interface PhoneLink {
  readonly pairing: PairingDriver;
  readonly coSigner: CoSigner;
  readonly members?: MembersDriver;
  /** Unpair: delete this link's records from the vault and stop. */
  forget(): Promise<void>;
  /** The direct path's settings changed: reopen it with them. */
  directPathChanged?(): void;
  close(): void;
}

export type PhoneLinkFactory = (context: PhoneLinkContext) => PhoneLink;
