import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Signature, Transaction, Wallet, recoverAddress, hexlify } from 'ethers';
import { accountAddress, accountPublicKey } from '../../src/mpc/derivation.ts';
import { bigIntToBytes } from '../../src/mpc/bytes.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import type { EcdsaSignature } from '../../src/mpc/signature.ts';
import { dealKeyShares } from './dealer.ts';
import { loadPaillierFixture, loadPreparedPaillierFixture } from './fixtures.ts';
import { runKeygen, runSign } from './protocol-driver.ts';

function expectSignature(outcome: ReturnType<typeof runSign>): EcdsaSignature {
  if (outcome.kind !== 'signature') throw outcome.error;
  return outcome.signature;
}

const ACCOUNTS = [0, 1, 7, 2 ** 31 - 1];
const HONEST_SIGNATURES = 200;

describe('two-party signing, honest parties', () => {
  const { p1, p2 } = runKeygen(loadPreparedPaillierFixture(1));

  it(`produces ${HONEST_SIGNATURES} valid low-s signatures across accounts`, () => {
    for (let i = 0; i < HONEST_SIGNATURES; i++) {
      const account = ACCOUNTS[i % ACCOUNTS.length] as number;
      const digest = randomBytes(32);
      const signature = expectSignature(runSign(p1, p2, digest, account));
      const publicKey = accountPublicKey(p1.publicKey, p1.chainCode, account).toBytes(true);
      const compact = new Uint8Array([...bigIntToBytes(signature.r, 32), ...bigIntToBytes(signature.s, 32)]);
      expect(secp256k1.verify(compact, digest, publicKey, { prehash: false, lowS: true })).toBe(true);
      const recovered = recoverAddress(hexlify(digest), Signature.from({ r: hexlify(bigIntToBytes(signature.r, 32)), s: hexlify(bigIntToBytes(signature.s, 32)), yParity: signature.yParity }));
      expect(recovered).toBe(accountAddress(p1.publicKey, p1.chainCode, account));
    }
  });

  it('signs an EIP-1559 transaction that recovers the account as sender', () => {
    const from = accountAddress(p1.publicKey, p1.chainCode, 1);
    const tx = Transaction.from({
      type: 2,
      chainId: 31337n,
      nonce: 3,
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      value: 10n ** 18n,
      gasLimit: 21000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      data: '0x',
    });
    const digest = Uint8Array.from(Buffer.from(tx.unsignedHash.slice(2), 'hex'));
    const signature = expectSignature(runSign(p1, p2, digest, 1));
    tx.signature = Signature.from({ r: hexlify(bigIntToBytes(signature.r, 32)), s: hexlify(bigIntToBytes(signature.s, 32)), yParity: signature.yParity });
    expect(tx.from).toBe(from);
    expect(Transaction.from(tx.serialized).from).toBe(from);
  });

  it('both parties derive the same account addresses', () => {
    for (const account of ACCOUNTS) {
      expect(accountAddress(p2.publicKey, p2.chainCode, account)).toBe(accountAddress(p1.publicKey, p1.chainCode, account));
    }
    expect(new Set(ACCOUNTS.map((a) => accountAddress(p1.publicKey, p1.chainCode, a))).size).toBe(ACCOUNTS.length);
  });
});

describe('known-key check (EIP-155 example)', () => {
  it('a dealt split of 0x4646…46 signs the EIP-155 example hash and recovers its address', () => {
    const privateKey = BigInt(`0x${'46'.repeat(32)}`);
    const { p1, p2 } = dealKeyShares(privateKey, loadPaillierFixture(2));
    const tx = Transaction.from({ type: 0, nonce: 9, gasPrice: 20n * 10n ** 9n, gasLimit: 21000n, to: '0x3535353535353535353535353535353535353535', value: 10n ** 18n, data: '0x', chainId: 1n });
    expect(tx.unsignedHash).toBe('0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53');
    const digest = Uint8Array.from(Buffer.from(tx.unsignedHash.slice(2), 'hex'));
    const signature = expectSignature(runSign(p1, p2, digest, 0));
    const recovered = recoverAddress(tx.unsignedHash, Signature.from({ r: hexlify(bigIntToBytes(signature.r, 32)), s: hexlify(bigIntToBytes(signature.s, 32)), yParity: signature.yParity }));
    expect(recovered.toLowerCase()).toBe('0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f');
    expect(new Wallet(`0x${'46'.repeat(32)}`).address.toLowerCase()).toBe(recovered.toLowerCase());
  });
});
