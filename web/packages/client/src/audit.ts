// Checking the vault's audit log in the client: Ed25519-signed tree heads, RFC 9162 inclusion
// and consistency proofs (SHA-256, leaf = H(0x00 ‖ leaf), node = H(0x01 ‖ left ‖ right)), and
// the head the vault anchored on chain. protocol/src/audit is the Rust side; the proofs are
// ct-merkle's, and the cross vectors check both agree at every size.
//
// The two proof verifiers are written here, from RFC 9162 §2.1.3.2 and §2.1.4.2: npm has no
// maintained implementation (the one package, @transmute/rfc9162 0.0.5, skips a step of the
// consistency algorithm), and sigstore's verifies inclusion only, inside its own bundle types.

import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import { hexToBytes, type PublicClient } from 'viem';
import type { Schemas, VaultClient } from './api/client.ts';
import { readAuditAnchor, type Deployment } from './chain/registry.ts';

/** An audit entry as the vault serves it (serde of protocol/src/audit/entry.rs). */
export type AuditEntry = Schemas['Entry'];
/** A signed tree head as the vault serves it. */
export type SignedTreeHead = Schemas['TreeHead'];
type ProvenEntry = Schemas['ProvenEntry'];

const ENTRY_DOMAIN = utf8ToBytes('medkey/v1/audit-entry');
const HEAD_DOMAIN = utf8ToBytes('medkey/v1/tree-head');

function u64(value: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

function shortText(text: string): Uint8Array {
  const bytes = utf8ToBytes(text).subarray(0, 255);
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}

function optional(bytes: Uint8Array | undefined): Uint8Array {
  return bytes ? concatBytes(Uint8Array.of(1), bytes) : Uint8Array.of(0);
}

const hex = (value: string) => hexToBytes((value.startsWith('0x') ? value : `0x${value}`) as `0x${string}`);

/** The entry's canonical bytes: two parties with one entry derive one leaf. */
export function canonicalEntry(entry: AuditEntry): Uint8Array {
  return concatBytes(
    ENTRY_DOMAIN,
    shortText(entry.kind),
    u64(entry.at_ms),
    hex(entry.actor),
    optional(entry.patient ? hex(entry.patient) : undefined),
    optional(entry.record_id ? Uint8Array.from(entry.record_id) : undefined),
    optional(entry.grant_id ? hex(entry.grant_id) : undefined),
    optional(entry.purpose === null || entry.purpose === undefined ? undefined : Uint8Array.of(entry.purpose)),
    shortText(entry.outcome),
  );
}

/** The value the tree commits to (the tree then hashes H(0x00 ‖ leaf)). */
export function entryLeaf(entry: AuditEntry): Uint8Array {
  return sha256(canonicalEntry(entry));
}

export function treeHeadMessage(head: SignedTreeHead): Uint8Array {
  return concatBytes(HEAD_DOMAIN, u64(head.chain_id), u64(head.size), hex(head.root), u64(head.timestamp_ms));
}

/** Whether the operator (its Ed25519 key from the deployment, not from the vault) signed `head`. */
export function verifyTreeHead(head: SignedTreeHead, operatorKey: Uint8Array): boolean {
  try {
    return ed25519.verify(hex(head.signature), treeHeadMessage(head), operatorKey, { zip215: false });
  } catch {
    return false;
  }
}

const leafHash = (leaf: Uint8Array) => sha256(concatBytes(Uint8Array.of(0), leaf));
const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(concatBytes(Uint8Array.of(1), left, right));
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** RFC 9162 §2.1.3.2: is `leaf` at `index` of the tree of `size` leaves whose root is `root`? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: Uint8Array[],
  root: Uint8Array,
): boolean {
  if (index < 0 || index >= size) return false;
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leafHash(leaf);
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

/** RFC 9162 §2.1.4.2: is the tree (`oldSize`, `oldRoot`) a prefix of (`newSize`, `newRoot`)? */
export function verifyConsistency(
  oldSize: number,
  oldRoot: Uint8Array,
  newSize: number,
  newRoot: Uint8Array,
  proof: Uint8Array[],
): boolean {
  if (oldSize < 1 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  if (proof.length === 0) return false;
  // Step 2: a power-of-two old tree is itself the first node of the path.
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  let fn = BigInt(oldSize - 1);
  let sn = BigInt(newSize - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return equal(fr, oldRoot) && equal(sr, newRoot) && sn === 0n;
}

export const proofHashes = (proof: readonly string[]) => proof.map(hex);

/** The result of checking what the vault showed, in words the activity page can show. */
export type AuditFailure =
  'bad_signature' | 'wrong_chain' | 'not_consistent' | 'not_included' | 'anchor_mismatch' | 'busy';

export type AuditCheck = { ok: true; size: number } | { ok: false; reason: AuditFailure; message: string };

export function auditFailure(reason: AuditFailure): AuditCheck {
  if (reason === 'busy') {
    return {
      ok: false,
      reason,
      message: 'The activity log kept changing while it was being checked. Try again in a moment.',
    };
  }
  const messages = {
    bad_signature: "The vault's activity log is not signed by its operator's key.",
    wrong_chain: "The vault's activity log belongs to another network.",
    not_consistent:
      'The activity log does not continue the one this browser saw before: entries may have been removed or changed.',
    not_included: 'An activity entry the vault showed is not in its signed log.',
    anchor_mismatch: 'The activity log does not match the copy anchored on the public chain.',
  } as const;
  return { ok: false, reason, message: `${messages[reason]} Do not rely on this list; tell your vault's operator.` };
}

/** A tree size and root this client trusts: the last head it checked, or the anchor on chain. */
export interface KnownHead {
  size: number;
  root: string;
}

export interface CheckedLog {
  check: AuditCheck;
  /** The head every entry was checked against (keep it as the next `lastSeen`). */
  head?: SignedTreeHead;
  entries: ProvenEntry[];
  /** The head anchored on chain, when there is one. */
  anchored?: KnownHead & { anchoredAt: Date };
}

/** Where the log comes from: a VaultClient's `auditEntries` and `consistency`. */
export interface AuditSource {
  entries(): Promise<Schemas['ProvenEntries']>;
  consistency(from: number): Promise<Schemas['ConsistencyAnswer']>;
}

/**
 * Everything the activity page shows, checked: the head is the operator's (its key from the
 * deployment, not the vault), every entry is in it, and it continues both the head this client
 * saw last and the head anchored on chain. A log that grows while it is checked is retried.
 */
export async function checkAuditLog(args: {
  source: AuditSource;
  operatorKey: Uint8Array;
  chainId: number;
  lastSeen?: KnownHead;
  anchored?: KnownHead & { anchoredAt: Date };
}): Promise<CheckedLog> {
  const anchored = args.anchored && args.anchored.size > 0 ? args.anchored : undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const { tree_head: head, entries } = await args.source.entries();
    const fail = (reason: AuditFailure): CheckedLog => ({
      check: auditFailure(reason),
      head,
      entries,
      ...(anchored ? { anchored } : {}),
    });
    if (!verifyTreeHead(head, args.operatorKey)) return fail('bad_signature');
    if (head.chain_id !== args.chainId) return fail('wrong_chain');
    const root = hex(head.root);
    for (const e of entries) {
      if (!verifyInclusion(entryLeaf(e.entry), e.leaf_index, head.size, proofHashes(e.proof), root))
        return fail('not_included');
    }
    let moved = false;
    for (const [known, reason] of [
      [args.lastSeen, 'not_consistent'],
      [anchored, 'anchor_mismatch'],
    ] as const) {
      if (!known) continue;
      if (known.size > head.size) return fail(reason);
      if (known.size === head.size) {
        if (!equal(hex(known.root), root)) return fail(reason);
        continue;
      }
      const answer = await args.source.consistency(known.size);
      if (!verifyTreeHead(answer.tree_head, args.operatorKey)) return fail('bad_signature');
      if (answer.tree_head.size !== head.size) {
        moved = true; // the log grew between the two calls: check again against one head
        break;
      }
      if (!equal(hex(answer.tree_head.root), root)) return fail(reason);
      if (!verifyConsistency(known.size, hex(known.root), head.size, root, proofHashes(answer.proof)))
        return fail(reason);
    }
    if (!moved) return { check: { ok: true, size: head.size }, head, entries, ...(anchored ? { anchored } : {}) };
  }
  return { check: auditFailure('busy'), entries: [] };
}

/**
 * The log the vault shows the signed-in account, checked here: the operator's signature on the
 * head, every entry's inclusion, consistency with `lastSeen` and with the anchor on chain.
 */
export async function checkVaultLog(
  vault: Pick<VaultClient, 'auditEntries' | 'consistency'>,
  chain: Pick<PublicClient, 'readContract'>,
  deployment: Deployment,
  operatorKeyHex: string,
  lastSeen?: KnownHead,
): Promise<CheckedLog> {
  const anchor = await readAuditAnchor(chain, deployment).catch(() => undefined);
  return checkAuditLog({
    source: { entries: () => vault.auditEntries(), consistency: (from) => vault.consistency(from) },
    operatorKey: hexToBytes(`0x${operatorKeyHex.replace(/^0x/, '')}`),
    chainId: deployment.chainId,
    ...(lastSeen ? { lastSeen } : {}),
    ...(anchor && anchor.size > 0 ? { anchored: anchor } : {}),
  });
}
