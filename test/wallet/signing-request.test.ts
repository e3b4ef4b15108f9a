import { describe, expect, it } from 'vitest';
import { Wallet, hexlify, toUtf8Bytes, Transaction, Signature } from 'ethers';
import { UNLIMITED_APPROVAL_WARNING, displayModel } from '../../src/wallet/decode.ts';
import { decodeSigningRequest, encodeSigningRequest, shortCode, signingDigest, unsignedTransaction, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { WalletRequestError } from '../../src/wallet/wallet-error.ts';

const account = { index: 0, address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' };
const base = { id: '00112233445566778899aabbccddeeff', origin: 'http://localhost:3000', chainId: 31337, account, createdAt: 1_700_000_000_000 };
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const SPENDER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

type TransactionRequest = Extract<SigningRequest, { kind: 'transaction' }>;

function tx(data: string, value = 0n): TransactionRequest {
  return { ...base, kind: 'transaction', tx: { to: TOKEN, value, data, nonce: 1, gasLimit: 60_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n } };
}

const encodeCall = (selector: string, ...words: bigint[]) => selector + words.map((w) => w.toString(16).padStart(64, '0')).join('');

describe('signing request', () => {
  it('round-trips through canonical JSON', () => {
    const request = tx('0x');
    expect(decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(request))))).toEqual(request);
  });

  it('computes the EIP-191 digest of personal_sign', () => {
    const request: SigningRequest = { ...base, kind: 'personal_sign', message: hexlify(toUtf8Bytes('hello')) };
    expect(hexlify(signingDigest(request))).toBe('0x50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750');
  });

  it('computes the EIP-712 digest of the Mail example', () => {
    const request: SigningRequest = {
      ...base,
      chainId: 1,
      kind: 'typed_data',
      typedData: {
        domain: { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
        types: {
          EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
          Person: [{ name: 'name', type: 'string' }, { name: 'wallet', type: 'address' }],
          Mail: [{ name: 'from', type: 'Person' }, { name: 'to', type: 'Person' }, { name: 'contents', type: 'string' }],
        },
        primaryType: 'Mail',
        message: { from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' }, to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' }, contents: 'Hello, Bob!' },
      },
    };
    expect(hexlify(signingDigest(request))).toBe('0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2');
    expect(displayModel(request).fields.some((f) => f.label === 'Mail.contents' && f.value === 'Hello, Bob!')).toBe(true);
  });

  it('signs a transaction digest that ethers assembles into a valid signed transaction', () => {
    const request = tx('0x', 10n ** 17n);
    const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
    const signature = wallet.signingKey.sign(signingDigest(request));
    const signed = unsignedTransaction(request);
    signed.signature = Signature.from(signature);
    expect(Transaction.from(signed.serialized).from).toBe(wallet.address);
  });

  it('gives both devices the same short code', () => {
    const request = tx('0x');
    expect(shortCode(request)).toMatch(/^[A-Z2-9]{3}-[A-Z2-9]{3}$/);
    expect(shortCode(decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(request)))))).toBe(shortCode(request));
  });

  it('refuses bad fields with an error naming them', () => {
    const good = encodeSigningRequest(tx('0x')) as Record<string, unknown>;
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, id: 'x' }, 'request.id'],
      [{ ...good, origin: 'javascript:alert(1)' }, 'request.origin'],
      [{ ...good, kind: 'eth_sign' }, 'request.kind'],
      [{ ...good, chainId: -1 }, 'request.chainId'],
      [{ ...good, tx: { ...(good.tx as object), to: '0x1234' } }, 'request.tx.to'],
      [{ ...good, tx: { ...(good.tx as object), value: '12' } }, 'request.tx.value'],
      [{ ...good, tx: { ...(good.tx as object), data: '0xabc' } }, 'request.tx.data'],
    ];
    for (const [value, field] of cases) {
      expect(() => decodeSigningRequest(value)).toThrowError(WalletRequestError);
      try {
        decodeSigningRequest(value);
      } catch (error) {
        expect((error as WalletRequestError).field).toBe(field);
      }
    }
  });
});

describe('display decoding', () => {
  it('decodes an ETH transfer', () => {
    const request = tx('0x', 15n * 10n ** 17n);
    const model = displayModel({ ...request, tx: { ...request.tx, to: SPENDER } });
    expect(model.title).toBe('Send ETH');
    expect(model.fields.find((f) => f.label === 'Amount')?.value).toBe('1.5 ETH');
    expect(model.fields.find((f) => f.label === 'Max network fee')?.value).toBe('0.00012 ETH (max)');
  });

  it('decodes ERC-20 transfer and approve, and warns on unlimited approvals', () => {
    const transfer = displayModel(tx(encodeCall('0xa9059cbb', BigInt(SPENDER), 1000n)));
    expect(transfer.title).toContain('ERC-20 transfer');
    expect(transfer.fields.find((f) => f.label === 'Recipient')?.value).toBe(SPENDER);
    const limited = displayModel(tx(encodeCall('0x095ea7b3', BigInt(SPENDER), 5n)));
    expect(limited.warnings).toEqual([]);
    const unlimited = displayModel(tx(encodeCall('0x095ea7b3', BigInt(SPENDER), (1n << 256n) - 1n)));
    expect(unlimited.warnings).toEqual([UNLIMITED_APPROVAL_WARNING]);
    expect(unlimited.fields.find((f) => f.label === 'Allowance')?.value).toContain('unlimited');
    expect(displayModel(tx(encodeCall('0x095ea7b3', BigInt(SPENDER), 1n << 255n))).warnings).toEqual([UNLIMITED_APPROVAL_WARNING]);
  });

  it('shows other calls by selector with raw data, and personal messages as text or hex', () => {
    const other = displayModel(tx('0xdeadbeef00'));
    expect(other.fields.find((f) => f.label === 'Function selector')?.value).toBe('0xdeadbeef');
    expect(displayModel({ ...base, kind: 'personal_sign', message: hexlify(toUtf8Bytes('Sign in to Example')) }).fields[1]).toEqual({ label: 'Message', value: 'Sign in to Example' });
    expect(displayModel({ ...base, kind: 'personal_sign', message: '0x00ff01' }).fields[1]).toEqual({ label: 'Message (hex)', value: '0x00ff01' });
  });
});
