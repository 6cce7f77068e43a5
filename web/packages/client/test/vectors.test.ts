// The Rust side's vectors (protocol/tests/vectors/rust-v1.json) opened and rebuilt byte for
// byte here, and this library's own vectors written for the Rust test to open
// (protocol/tests/vectors/typescript-v1.json, cross_vectors.rs::typescript_vectors_open_in_rust).

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesToHex, hexToBytes, recoverAddress, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  CATEGORIES,
  SENSITIVE_CATEGORIES,
  bindingBytes,
  canonicalEntry,
  checkAuditLog,
  decryptBytes,
  digestOf,
  encryptBytes,
  encryptionPublicKey,
  inferCategory,
  entryLeaf,
  keyFromSignature,
  npiIsValid,
  openOrigin,
  openRecord,
  originKey,
  accountEncryptionKey,
  accountOf,
  accountPrivateKey,
  connectionKey,
  openConnection,
  sealConnection,
  profileCommitment,
  profileDigest,
  specialtyName,
  proofHashes,
  sealOrigin,
  sealRecord,
  unwrapKey,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
  walletKeyStatement,
  wrapKey,
  type AuditEntry,
  type RecordBinding,
  type SignedTreeHead,
  type TypedDataJson,
} from '../src/index.ts';

const vectorsDir = fileURLToPath(new URL('../../../../protocol/tests/vectors/', import.meta.url));
const rust = JSON.parse(readFileSync(`${vectorsDir}rust-v1.json`, 'utf8'));
const b = (value: string) => hexToBytes(value as Hex);
/** Another account than the vectors' owner (anvil's account 0). */
const account0: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const filler = (length: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251);

function binding(fields: Record<string, unknown>): RecordBinding {
  return {
    recordId: fields.record_id as string,
    version: fields.version as number,
    owner: fields.owner as Address,
    category: fields.category as number,
    resourceType: fields.resource_type as string,
  };
}

describe('the Rust vectors', () => {
  const bound = binding(rust.binding.fields);

  it('name the same consent categories in the same bit order, the sensitive ones from the shared file', () => {
    expect([...CATEGORIES]).toEqual(rust.category_list);
    expect([...SENSITIVE_CATEGORIES]).toEqual([
      'mental_health',
      'substance_use',
      'sexual_reproductive_health',
      'genetics',
    ]);
  });

  it('encode the same binding', () => {
    expect(bytesToHex(bindingBytes(bound))).toBe(rust.binding.bytes);
  });

  it('open, and seal again to the same bytes', async () => {
    const key = b(rust.record.data_key);
    const opened = await openRecord(key, bound, b(rust.record.sealed));
    expect(new TextDecoder().decode(opened)).toBe(rust.record.plaintext);
    const resealed = await sealRecord(
      key,
      bound,
      new TextEncoder().encode(rust.record.plaintext),
      b(rust.record.nonce),
    );
    expect(bytesToHex(resealed)).toBe(rust.record.sealed);
  });

  it('unwrap, and wrap again to the same bytes', async () => {
    const secret = b(rust.wrap.recipient_secret);
    expect(bytesToHex(await encryptionPublicKey(secret))).toBe(rust.wrap.recipient_public);
    const key = await unwrapKey(b(rust.wrap.wrapped), secret, bound);
    expect(bytesToHex(key)).toBe(rust.record.data_key);
    const again = await wrapKey(key, b(rust.wrap.recipient_public), bound, b(rust.wrap.ephemeral_secret));
    expect(bytesToHex(again)).toBe(rust.wrap.wrapped);
  });

  it('decrypt every stream at and around the chunk boundary, and encrypt to the same bytes', async () => {
    const key = b(rust.record.data_key);
    for (const c of rust.streams.cases) {
      expect(await decryptBytes(key, bound, b(c.stream))).toEqual(filler(c.length));
      const made = await encryptBytes(key, bound, filler(c.length), c.chunk_size, b(c.prefix));
      expect(bytesToHex(made), `length ${c.length}`).toBe(c.stream);
    }
  });

  it('derive the same wallet key from the same account', async () => {
    const v = rust.wallet_key;
    expect(walletKeyStatement(v.account)).toBe(v.statement);
    const account = privateKeyToAccount(v.private_key);
    const signature = await account.signMessage({ message: v.statement });
    expect(signature).toBe(v.signature);
    const pair = await keyFromSignature(v.account, signature);
    expect(bytesToHex(pair.secret)).toBe(v.secret);
    expect(bytesToHex(pair.publicKey)).toBe(v.public_key);
  });

  it('hash the grant to the same EIP-712 digest', () => {
    expect(digestOf(rust.eip712.typed_data as TypedDataJson)).toBe(rust.eip712.digest);
  });

  it('hash a provider profile to the same digest and commitment, and take its signature', async () => {
    const v = rust.directory_profile;
    const deployment = { chainId: rust.eip712.chain_id as number, address: rust.eip712.registry as Address };
    expect(profileDigest(v.profile, deployment)).toBe(v.digest);
    expect(profileCommitment(v.profile, deployment)).toBe(v.commitment);
    expect((await recoverAddress({ hash: v.digest, signature: v.signature })).toLowerCase()).toBe(v.profile.provider);
    expect(npiIsValid(v.profile.npi)).toBe(true);
    expect(npiIsValid('1234567890')).toBe(false);
    expect(specialtyName(v.profile.taxonomy)).toBe('Family Medicine');
  });

  it('check the audit log: signed heads, every inclusion and consistency proof', () => {
    const audit = rust.audit;
    const operator = b(audit.operator_public_key);
    const heads = audit.tree_heads as SignedTreeHead[];
    for (const head of heads) expect(verifyTreeHead(head, operator)).toBe(true);
    const forged = { ...heads[0]!, size: heads[0]!.size + 1 };
    expect(verifyTreeHead(forged, operator)).toBe(false);

    const entries = audit.entries as { entry: AuditEntry; canonical: string; leaf: string }[];
    for (const e of entries) {
      expect(bytesToHex(canonicalEntry(e.entry))).toBe(e.canonical);
      expect(bytesToHex(entryLeaf(e.entry))).toBe(e.leaf);
    }
    const last = heads[heads.length - 1]!;
    for (const { leaf_index, proof } of audit.inclusion as { leaf_index: number; proof: string[] }[]) {
      const leaf = b(entries[leaf_index]!.leaf);
      expect(verifyInclusion(leaf, leaf_index, last.size, proofHashes(proof), b(last.root))).toBe(true);
      expect(verifyInclusion(leaf, (leaf_index + 1) % last.size, last.size, proofHashes(proof), b(last.root))).toBe(
        false,
      );
    }
    for (const { from, proof } of audit.consistency as { from: number; proof: string[] }[]) {
      const old = heads[from - 1]!;
      expect(verifyConsistency(from, b(old.root), last.size, b(last.root), proofHashes(proof)), `from ${from}`).toBe(
        true,
      );
      if (from < last.size) {
        const other = heads[from % heads.length === 0 ? 0 : from]!;
        expect(verifyConsistency(from, b(other.root), last.size, b(last.root), proofHashes(proof))).toBe(false);
      }
    }
  });
});

describe('category inference', () => {
  it('files every resource under the category the Rust side infers', () => {
    const cases = rust.categories as { resource: object; category: string | null }[];
    expect(cases.length).toBeGreaterThan(15);
    for (const { resource, category } of cases) {
      expect(inferCategory(resource) ?? null, JSON.stringify(resource).slice(0, 80)).toBe(category);
    }
  });
});

describe('the whole audit check over the Rust vectors', () => {
  const audit = rust.audit;
  const heads = audit.tree_heads as SignedTreeHead[];
  const last = heads[heads.length - 1]!;
  const entries = (audit.entries as { entry: AuditEntry }[]).map((e, i) => ({
    leaf_index: i,
    entry: e.entry,
    proof: (audit.inclusion as { proof: string[] }[])[i]!.proof,
  }));
  const source = {
    entries: async () => ({ tree_head: last, entries: structuredClone(entries) }),
    consistency: async (from: number) => ({
      tree_head: last,
      proof: (audit.consistency as { from: number; proof: string[] }[]).find((c) => c.from === from)!.proof,
    }),
  };
  const base = { source, operatorKey: b(audit.operator_public_key), chainId: 31337 };
  const at = (size: number) => ({ size, root: heads[size - 1]!.root });

  it('accepts the log that continues the head seen and the anchor', async () => {
    const checked = await checkAuditLog({ ...base, lastSeen: at(3), anchored: { ...at(5), anchoredAt: new Date() } });
    expect(checked.check).toEqual({ ok: true, size: 7 });
  });

  it('flags an edited entry, a forked or shrunk log, another chain and a forged head', async () => {
    const edited = {
      ...source,
      entries: async () => ({
        tree_head: last,
        entries: entries.map((e, i) =>
          i === 2 ? { ...e, entry: { ...e.entry, outcome: 'no_live_grant_edited' } } : e,
        ),
      }),
    };
    const reason = async (args: Partial<Parameters<typeof checkAuditLog>[0]>) => {
      const { check } = await checkAuditLog({ ...base, ...args });
      return check.ok ? 'ok' : check.reason;
    };
    expect(await reason({ source: edited })).toBe('not_included');
    expect(await reason({ lastSeen: { size: 3, root: heads[3]!.root } })).toBe('not_consistent');
    expect(await reason({ lastSeen: { size: 8, root: last.root } })).toBe('not_consistent');
    expect(await reason({ anchored: { size: 4, root: heads[2]!.root, anchoredAt: new Date() } })).toBe(
      'anchor_mismatch',
    );
    expect(await reason({ chainId: 1 })).toBe('wrong_chain');
    expect(await reason({ operatorKey: new Uint8Array(32).fill(7) })).toBe('bad_signature');
  });
});

describe('this library', () => {
  it('open a record origin, provider source included, and seal it again to the same bytes', async () => {
    const v = rust.origin;
    const key = originKey(b(v.owner_secret));
    const opened = await openOrigin(key, v.record_id, v.owner, b(v.sealed));
    expect(opened).toEqual(JSON.parse(v.origin));
    expect(opened.source?.resourceType).toBe('Condition');
    // Rust's JSON is the same text JSON.stringify writes for the same object: the bytes match.
    expect(bytesToHex(await sealOrigin(key, v.record_id, v.owner, opened, b(v.nonce)))).toBe(v.sealed);
    await expect(openOrigin(key, v.record_id, account0, b(v.sealed))).rejects.toThrow();
  });

  it('derive a passkey account and its encryption key per epoch from an account secret, as Rust does', async () => {
    const v = rust.account_secret;
    const secret = b(v.secret);
    expect(accountPrivateKey(secret)).toBe(v.private_key);
    expect(accountOf(secret).address).toBe(v.address);
    for (const epoch of v.epochs as { epoch: number; x25519_secret: string; x25519_public: string }[]) {
      const key = await accountEncryptionKey(secret, epoch.epoch);
      expect([bytesToHex(key.secret), bytesToHex(key.publicKey)]).toEqual([epoch.x25519_secret, epoch.x25519_public]);
    }
    expect(v.epochs[0].x25519_public).not.toBe(v.epochs[1].x25519_public);
  });

  it('open a sealed provider connection and seal it again to the same bytes', async () => {
    const v = rust.connection;
    const key = connectionKey(b(v.owner_secret));
    const id = JSON.parse(v.connection).id as string;
    const opened = await openConnection(key, v.owner, id, b(v.sealed));
    expect(opened).toEqual(JSON.parse(v.connection));
    expect(bytesToHex(await sealConnection(key, v.owner, opened, b(v.nonce)))).toBe(v.sealed);
    await expect(openConnection(key, account0, id, b(v.sealed))).rejects.toThrow();
    // An origin's key does not open it: each kind of sealed blob has its own label.
    await expect(openConnection(originKey(b(v.owner_secret)), v.owner, id, b(v.sealed))).rejects.toThrow();
  });

  it('writes vectors the Rust side opens', async () => {
    const account = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');
    const bound: RecordBinding = {
      recordId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      version: 1,
      owner: account.address,
      category: 0,
      resourceType: 'DiagnosticReport',
    };
    const key = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const recipient = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const plaintext = JSON.stringify({
      resourceType: 'DiagnosticReport',
      status: 'final',
      conclusion: 'Normal — 正常',
    });
    const statement = walletKeyStatement(account.address);
    const signature = await account.signMessage({ message: statement });
    const derived = await keyFromSignature(account.address, signature);
    const originText = JSON.stringify({
      bundles: [],
      source: {
        server: 'https://ehr.example/fhir',
        resourceType: 'Observation',
        id: 'o-7',
        retrievedAt: '2026-12-07T11:00:00.000Z',
        sha256: 'ab12',
      },
    });
    const cases = [];
    for (const length of [0, 1, 1023, 1024, 1025, 2048, 3000]) {
      cases.push({ length, stream: bytesToHex(await encryptBytes(key, bound, filler(length), 1024)) });
    }
    const vectors = {
      comment: 'Written by web/packages/client/test/vectors.test.ts; opened by protocol/tests/cross_vectors.rs.',
      binding: {
        fields: {
          record_id: bound.recordId,
          version: 1,
          owner: bound.owner,
          category: 0,
          resource_type: bound.resourceType,
        },
        bytes: bytesToHex(bindingBytes(bound)),
      },
      record: { plaintext, sealed: bytesToHex(await sealRecord(key, bound, new TextEncoder().encode(plaintext))) },
      wrap: {
        recipient_secret: bytesToHex(recipient),
        recipient_public: bytesToHex(await encryptionPublicKey(recipient)),
        wrapped: bytesToHex(await wrapKey(key, await encryptionPublicKey(recipient), bound)),
      },
      streams: { cases },
      wallet_key: { account: account.address, statement, signature, public_key: bytesToHex(derived.publicKey) },
      category_list: [...CATEGORIES],
      origin: {
        owner_secret: bytesToHex(recipient),
        record_id: bound.recordId,
        owner: bound.owner,
        origin: originText,
        sealed: bytesToHex(await sealOrigin(originKey(recipient), bound.recordId, bound.owner, JSON.parse(originText))),
      },
    };
    // Fresh randomness each run: the Rust test opens whatever was last written, so the file is
    // rewritten only when asked (npm run vectors), keeping the committed file stable.
    if (process.env.MEDKEY_WRITE_VECTORS) {
      writeFileSync(`${vectorsDir}typescript-v1.json`, `${JSON.stringify(vectors, null, 2)}\n`);
    }
    // And this library opens what it wrote.
    const unwrapped = await unwrapKey(b(vectors.wrap.wrapped), recipient, bound);
    expect(new TextDecoder().decode(await openRecord(unwrapped, bound, b(vectors.record.sealed)))).toBe(plaintext);
    for (const c of cases) expect(await decryptBytes(unwrapped, bound, b(c.stream))).toEqual(filler(c.length));
  });
});
