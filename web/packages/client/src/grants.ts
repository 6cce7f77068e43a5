// Grants and revocations without gas: the vault drafts the EIP-712 message, this module checks
// the draft field by field against what the person asked for (the vault is not trusted to
// draft honestly), the wallet signs it, and the vault's relayer sends it.

import { getAddress, hashTypedData, zeroHash, type Address, type Hex, type TypedDataDefinition } from 'viem';
import type { Schemas, VaultClient } from './api/client.ts';
import type { Deployment } from './chain/registry.ts';
import { categoryMask, purposeIndex, type Category, type Purpose } from './consent.ts';
import { MedkeyError } from './errors.ts';
import type { Wallet } from './wallet.ts';

export interface GrantRequest {
  provider: Address;
  categories: Category[];
  purpose: Purpose;
  /** Until when; the grant ends at this instant. */
  expiresAt: Date;
  /** From when; omitted: at once. */
  notBefore?: Date;
  /** May the provider add records too? */
  write?: boolean;
  /** Only these records (their ids) rather than whole categories. */
  records?: string[];
}

/** What the EIP-712 types of a grant and a revocation must be, exactly (protocol/src/eip712.rs). */
export const GRANT_TYPES = {
  Grant: [
    { name: 'patient', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'categories', type: 'uint16' },
    { name: 'recordsRoot', type: 'bytes32' },
    { name: 'purpose', type: 'uint8' },
    { name: 'notBefore', type: 'uint32' },
    { name: 'expiresAt', type: 'uint32' },
    { name: 'write', type: 'bool' },
    { name: 'nonce', type: 'uint64' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export const REVOKE_TYPES = {
  Revoke: [
    { name: 'patient', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'nonce', type: 'uint64' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

const MAX_DEADLINE_S = 7 * 86_400;

/** The JSON `eth_signTypedData_v4` takes, as the vault returns it. */
export type TypedDataJson = Schemas['TypedDataJson'];

function mismatch(field: string, drafted: unknown, wanted: unknown): MedkeyError {
  return new MedkeyError(
    'draft_mismatch',
    `The vault's draft does not match what you asked for (${field}: it says ${String(drafted)}, you asked for ` +
      `${String(wanted)}). Nothing was signed. Try again, and tell the vault's operator if it happens again.`,
  );
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function checkDomainAndTypes(
  typed: TypedDataJson,
  deployment: Deployment,
  primaryType: 'Grant' | 'Revoke',
  types: typeof GRANT_TYPES | typeof REVOKE_TYPES,
): void {
  const d = typed.domain;
  if (d.name !== 'Medkey ConsentRegistry' || d.version !== '1')
    throw mismatch('domain', d.name, 'Medkey ConsentRegistry v1');
  if (Number(d.chainId) !== deployment.chainId) throw mismatch('chain', d.chainId, deployment.chainId);
  if (!d.verifyingContract || getAddress(d.verifyingContract) !== getAddress(deployment.address)) {
    throw mismatch('registry', d.verifyingContract, deployment.address);
  }
  if (typed.primaryType !== primaryType) throw mismatch('kind', typed.primaryType, primaryType);
  const { EIP712Domain: _domain, ...rest } = typed.types;
  const shape = (t: Record<string, readonly { name: string; type: string }[]>) =>
    Object.entries(t)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, fields]) => [name, fields.map((f) => `${f.type} ${f.name}`)]);
  if (!same(shape(rest), shape(types)))
    throw mismatch('types', JSON.stringify(shape(rest)), JSON.stringify(shape(types)));
}

function checkDeadline(deadline: unknown, nowS: number): void {
  const value = Number(deadline);
  if (!Number.isSafeInteger(value) || value <= nowS || value > nowS + MAX_DEADLINE_S + 60) {
    throw mismatch('signature deadline', deadline, `within ${MAX_DEADLINE_S / 86_400} days`);
  }
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Throws unless `typed` is exactly the grant `request` by `patient` on `deployment`. */
export function checkGrantDraft(
  typed: TypedDataJson,
  request: GrantRequest,
  patient: Address,
  deployment: Deployment,
  nowS: number = Math.floor(Date.now() / 1000),
): void {
  checkDomainAndTypes(typed, deployment, 'Grant', GRANT_TYPES);
  const m = typed.message;
  const want: [string, unknown, unknown][] = [
    ['patient', getAddress(String(m.patient)), getAddress(patient)],
    ['provider', getAddress(String(m.provider)), getAddress(request.provider)],
    ['categories', Number(m.categories), categoryMask(request.categories)],
    ['purpose', Number(m.purpose), purposeIndex(request.purpose)],
    ['from', Number(m.notBefore), request.notBefore ? seconds(request.notBefore) : 0],
    ['until', Number(m.expiresAt), seconds(request.expiresAt)],
    ['write access', Boolean(m.write), Boolean(request.write)],
  ];
  for (const [field, drafted, wanted] of want) if (drafted !== wanted) throw mismatch(field, drafted, wanted);
  const root = String(m.recordsRoot);
  const specific = (request.records?.length ?? 0) > 0;
  // The root of a record set is the vault's registration of it; what the set means is checked
  // again by the gate, which refuses records outside it.
  if (specific ? root === zeroHash : root !== zeroHash) {
    throw mismatch(
      'records',
      specific ? 'all records' : 'specific records',
      specific ? 'specific records' : 'all records',
    );
  }
  checkDeadline(m.deadline, nowS);
}

export function checkRevokeDraft(
  typed: TypedDataJson,
  grantId: Hex,
  patient: Address,
  deployment: Deployment,
  nowS: number = Math.floor(Date.now() / 1000),
): void {
  checkDomainAndTypes(typed, deployment, 'Revoke', REVOKE_TYPES);
  const m = typed.message;
  if (getAddress(String(m.patient)) !== getAddress(patient)) throw mismatch('patient', m.patient, patient);
  if (String(m.grantId).toLowerCase() !== grantId.toLowerCase()) throw mismatch('grant', m.grantId, grantId);
  checkDeadline(m.deadline, nowS);
}

/**
 * `typed` with its integers as bigints and the chain id as a number, the way viem (and the
 * wallet behind it) takes them; the vault's JSON writes large integers as hex strings.
 */
export function toTypedDataDefinition(typed: TypedDataJson): TypedDataDefinition {
  const fields = typed.types[typed.primaryType] ?? [];
  const message: Record<string, unknown> = { ...typed.message };
  for (const { name, type } of fields) {
    if (/^u?int\d*$/.test(type)) message[name] = BigInt(message[name] as string | number);
  }
  const { EIP712Domain: _domain, ...types } = typed.types;
  return {
    domain: { ...typed.domain, chainId: Number(typed.domain.chainId) },
    types,
    primaryType: typed.primaryType,
    message,
  } as unknown as TypedDataDefinition;
}

/** The EIP-712 digest a wallet signs for `typed` (viem's hashing, independent of the vault's). */
export function digestOf(typed: TypedDataJson): Hex {
  return hashTypedData(toTypedDataDefinition(typed));
}

export interface Relayed {
  grantId: Hex;
  txHash: Hex;
}

/** Drafts, checks, signs (EIP-712 in the wallet) and relays a grant. */
export async function grantViaRelay(
  vault: VaultClient,
  wallet: Wallet,
  deployment: Deployment,
  request: GrantRequest,
): Promise<Relayed> {
  const draft = await vault.grantTypedData({
    provider: request.provider,
    categories: request.categories,
    purpose: request.purpose,
    expires_at: seconds(request.expiresAt),
    ...(request.notBefore ? { not_before: seconds(request.notBefore) } : {}),
    ...(request.write ? { write: true } : {}),
    ...(request.records?.length ? { records: request.records } : {}),
  });
  checkGrantDraft(draft.typed_data, request, wallet.address, deployment);
  return relaySigned(vault, wallet, draft.typed_data, draft.digest);
}

/** Drafts, checks, signs and relays the revocation of `grantId`. */
export async function revokeViaRelay(
  vault: VaultClient,
  wallet: Wallet,
  deployment: Deployment,
  grantId: Hex,
): Promise<Relayed> {
  const draft = await vault.revokeTypedData({ grant_id: grantId });
  checkRevokeDraft(draft.typed_data, grantId, wallet.address, deployment);
  return relaySigned(vault, wallet, draft.typed_data, draft.digest);
}

async function relaySigned(
  vault: VaultClient,
  wallet: Wallet,
  typed: TypedDataJson,
  vaultDigest: string,
): Promise<Relayed> {
  if (digestOf(typed).toLowerCase() !== vaultDigest.toLowerCase()) {
    throw mismatch('digest', vaultDigest, digestOf(typed));
  }
  const signature = await wallet.signTypedData(toTypedDataDefinition(typed));
  const relayed = await vault.relay({ typed_data: typed, signature });
  return { grantId: relayed.grant_id as Hex, txHash: relayed.tx_hash as Hex };
}
