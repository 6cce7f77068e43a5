// A vault in memory for the services' unit tests (as Bitwarden's and Medplum's clients test
// their services against fakes): it keeps what the client sends and answers the way the real
// vault does for the calls the services make, and it can be told to fail.

import {
  MedkeyError,
  encryptionPublicKey,
  type EncryptionKeyPair,
  type Schemas,
  type VaultClient,
} from '@medkey/client';
import { AppStore, type ShellState, type SignedIn, type StatusState } from '@medkey/app-shell';
import type { Address } from 'viem';
import type { ServiceContext } from '../../src/services/context.ts';
import { lockedError } from '../../src/services/sessionService.ts';

export const OWNER: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

type Stored = { view: Schemas['RecordView']; ciphertext: string; keys: Schemas['WrappedKeyBody'][] };

export class FakeVault {
  records = new Map<string, Stored>();
  calls: string[] = [];
  links: Schemas['ShareLinkView'][] = [];
  requests: Schemas['AccessRequestView'][] = [];
  grantList: Schemas['GrantView'][] = [];
  /** The next call of this name fails with this error. */
  failNext?: { call: string; error: Error } | undefined;

  private step(call: string) {
    this.calls.push(call);
    if (this.failNext?.call === call) {
      const { error } = this.failNext;
      this.failNext = undefined;
      throw error;
    }
  }

  async listRecords(): Promise<Schemas['RecordView'][]> {
    this.step('listRecords');
    return [...this.records.values()].map((r) => r.view);
  }

  async fetchRecords(ids: string[]): Promise<Schemas['RecordContents']> {
    this.step('fetchRecords');
    const records = ids.flatMap((id) => {
      const stored = this.records.get(id);
      if (!stored) return [];
      const key = stored.keys.find((k) => k.recipient.toLowerCase() === OWNER.toLowerCase());
      return [{ record: stored.view, ciphertext: stored.ciphertext, wrapped_key: key?.wrapped ?? null }];
    });
    return { records, missing: [] } as unknown as Schemas['RecordContents'];
  }

  async createRecord(body: Schemas['CreateRecordBody']): Promise<Schemas['RecordCreated']> {
    this.step('createRecord');
    const view: Schemas['RecordView'] = {
      record_id: body.record_id,
      category: body.category,
      resource_type: body.resource_type,
      owner: OWNER,
      created_by: OWNER,
      created_at_ms: Date.now(),
      updated_at_ms: Date.now(),
      erased: false,
      version: 1,
    };
    this.records.set(body.record_id, { view, ciphertext: body.ciphertext, keys: body.wrapped_keys });
    return { record: view, providers_needing_keys: [] };
  }

  /** Providers with a live grant, per category: a record stored without their key names them. */
  sharedWith: Partial<Record<string, string[]>> = {};
  /** Batches of more records than this are refused as too large (413), as a small body limit would. */
  batchLimit = 500;

  async createRecords(bodies: Schemas['CreateRecordBody'][]): Promise<Schemas['RecordsCreated']> {
    this.step(`createRecords ${bodies.length}`);
    if (bodies.length > this.batchLimit) throw new MedkeyError('body_too_large', 'The request is too large.', 413);
    const records = [];
    for (const body of bodies) {
      const { record } = await this.createRecord(body);
      this.calls.pop();
      const wrapped = new Set(body.wrapped_keys.map((k) => k.recipient.toLowerCase()));
      const needing = (this.sharedWith[body.category] ?? []).filter((p) => !wrapped.has(p.toLowerCase()));
      records.push({
        record,
        providers_needing_keys: needing.map((provider) => ({ provider, encryption_key: `0x${'11'.repeat(32)}` })),
      });
    }
    return { records };
  }

  async addKeys(id: string, _version: number, body: Schemas['KeysBody']): Promise<void> {
    this.step(`addKeys ${body.wrapped_keys.length}`);
    this.records.get(id)!.keys.push(...body.wrapped_keys);
  }

  async eraseRecord(id: string): Promise<void> {
    this.step('eraseRecord');
    this.records.delete(id);
  }

  async grants(): Promise<Schemas['GrantListing']> {
    this.step('grants');
    return this.grantList;
  }

  async accessRequests(): Promise<Schemas['AccessRequestView'][]> {
    this.step('accessRequests');
    return this.requests;
  }

  async declineRequest(id: string): Promise<Schemas['AccessRequestView']> {
    this.step(`declineRequest ${id}`);
    const request = this.requests.find((r) => r.id === id)!;
    this.requests = this.requests.filter((r) => r.id !== id);
    return { ...request, status: 'declined' };
  }

  async shareLinks(): Promise<Schemas['ShareLinkView'][]> {
    this.step('shareLinks');
    return this.links;
  }

  async revokeShareLink(id: string): Promise<void> {
    this.step(`revokeShareLink ${id}`);
    this.links = this.links.map((l) => (l.id === id ? { ...l, state: 'revoked' } : l));
  }

  async lookupDirectory(): Promise<Schemas['DirectoryLookup']> {
    this.step('lookupDirectory');
    return { providers: [] } as unknown as Schemas['DirectoryLookup'];
  }

  async mfaDisable(factor: Schemas['FactorBody']): Promise<void> {
    this.step(`mfaDisable ${JSON.stringify(factor)}`);
  }

  client(): VaultClient {
    return this as unknown as VaultClient;
  }
}

/** Her key pair, made from a fixed secret (the real app derives it from her wallet). */
export async function testKeys(): Promise<EncryptionKeyPair> {
  const secret = new Uint8Array(32).fill(7);
  return { secret, publicKey: await encryptionPublicKey(secret) };
}

/** The real store (its `run` and `set`), with `set` reachable from a test. */
class TestStore<S extends ShellState> extends AppStore<S> {
  patch = (patch: Partial<S>) => this.set(patch);
}

/**
 * A service context over `initial`, on the app's own store (busy words, errors in words), signed
 * in to `vault` unless `signedOut`. `busyWords` collects every progress sentence shown.
 */
export function fakeContext<S extends StatusState>(
  initial: S,
  vault: FakeVault,
  keys: EncryptionKeyPair | undefined,
  signedOut = false,
): ServiceContext<S> & { busyWords: string[] } {
  const store = new TestStore<S & ShellState>({ phase: 'ready', wallets: [], ...initial });
  const busyWords: string[] = [];
  store.subscribe(() => {
    const busy = store.state.busy;
    if (busy && busyWords.at(-1) !== busy) busyWords.push(busy);
  });
  return {
    get state() {
      return store.state;
    },
    busyWords,
    set: (patch) => store.patch(patch as Partial<S & ShellState>),
    run: store.run,
    // Signed out, the app's own store answers (it holds no wallet); signed in, the fake vault does.
    signedIn: signedOut
      ? store.signedIn
      : (): SignedIn => ({
          vault: vault.client(),
          wallet: { address: OWNER } as SignedIn['wallet'],
          session: {} as SignedIn['session'],
          chain: {} as SignedIn['chain'],
        }),
    keys() {
      if (!keys) throw lockedError();
      return keys;
    },
    deployment() {
      throw new Error('these tests use no chain');
    },
  };
}
