/**
 * The account a signing request names must be one this wallet derives: the index (which the
 * phone signs with, Q_i = Q + t_i·G) must give the address (which the phone shows). Otherwise a
 * compromised extension could show account 0 and get a signature for account 1.
 */
import { accountAddress } from '../mpc/derivation.ts';
import type { Point } from '../mpc/curve.ts';
import type { AccountRef } from '../wallet/signing-request.ts';
import { WalletError } from '../wallet/wallet-error.ts';

export interface AccountRoot {
  /** Q, the wallet's joint public key. */
  readonly publicKey: Point;
  readonly chainCode: Uint8Array;
}

/** The account as this wallet derives it; `bad_request` when the index does not give the address. */
export function derivedAccount(root: AccountRoot | null, account: AccountRef): AccountRef {
  if (!root) throw new WalletError('bad_request', 'request.account', 'this device holds no key to derive accounts from');
  const address = accountAddress(root.publicKey, root.chainCode, account.index);
  if (address.toLowerCase() !== account.address.toLowerCase()) throw new WalletError('bad_request', 'request.account.address', `is not the address of account ${account.index} of this wallet`);
  return { index: account.index, address };
}
