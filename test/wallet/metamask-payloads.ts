/** The two real payloads MetaMask signs and Duet used to refuse before any window opened (issue 17). */
const PERMIT2 = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
const UNIVERSAL_ROUTER = '0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD';

/** A Permit2 PermitBatch as a real dApp sent it: `version` in the domain, not in its EIP712Domain type. */
export const PERMIT2_BATCH_WITH_VERSION = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    PermitDetails: [
      { name: 'token', type: 'address' },
      { name: 'amount', type: 'uint160' },
      { name: 'expiration', type: 'uint48' },
      { name: 'nonce', type: 'uint48' },
    ],
    PermitBatch: [
      { name: 'details', type: 'PermitDetails[]' },
      { name: 'spender', type: 'address' },
      { name: 'sigDeadline', type: 'uint256' },
    ],
  },
  primaryType: 'PermitBatch',
  domain: { name: 'Permit2', version: '1', chainId: 1, verifyingContract: PERMIT2 },
  message: {
    details: [{ token: USDC, amount: '1461501637330902918203684832716283019655932542975', expiration: '1735689600', nonce: '0' }],
    spender: UNIVERSAL_ROUTER,
    sigDeadline: '1735689600',
  },
};

/** The right checksum is 0x70997970C51812dc3A010C7d01b50e0d17dc79C8: one letter's case is flipped. */
export const WRONG_CHECKSUM_SPENDER = '0x70997970c51812dc3A010C7d01b50e0d17dc79C8';

/** An ERC-721 permit (EIP-4494) whose spender has a wrong EIP-55 checksum. */
export const NFT_PERMIT_WRONG_CHECKSUM = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    Permit: [
      { name: 'spender', type: 'address' },
      { name: 'tokenId', type: 'uint256' },
      { name: 'nonce', type: 'uint256' },
      { name: 'deadline', type: 'uint256' },
    ],
  },
  primaryType: 'Permit',
  domain: { name: 'Duet Punks', version: '1', chainId: 1, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  message: { spender: WRONG_CHECKSUM_SPENDER, tokenId: '42', nonce: 0, deadline: '0x6774c880' },
};
