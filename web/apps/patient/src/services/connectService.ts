// "Connect a provider": a SMART on FHIR patient launch in a sign-in window, the pull of her
// records from the provider's FHIR API (both in @medkey/client's smart/), then the same plan an
// uploaded file gets (validated, categorised, checked against what she has, confirmed by her).
// Each connection (endpoints, her id there, refresh token, sync cursor) is sealed here and kept
// by the vault as an opaque blob, so "Sync now" works from any of her devices; access tokens stay
// in this service's memory for one pull and are dropped after.
import type { AppConfig, StatusState } from '@medkey/app-shell';
import {
  MedkeyError,
  connectionFrom,
  connectionKey,
  discoverSmart,
  finishLaunch,
  openConnection,
  pullRecords,
  revokeRefreshToken,
  sealConnection,
  sessionOf,
  SmartError,
  startLaunch,
  type ProviderConnection,
  type PullFailure,
  type PullResult,
} from '@medkey/client';
import { base64 } from '@scure/base';
import type { PlannedRecord } from './importFile.ts';
import { plural, type ServiceContext } from './context.ts';
import type { RecordItem } from './timeline.ts';

/** One of her kept connections, opened here (or why it would not open). */
export interface ConnectionItem {
  id: string;
  revision: number;
  connection?: ProviderConnection;
  problem?: string;
}

export interface ConnectSlice extends StatusState {
  config?: AppConfig | undefined;
  planned: PlannedRecord[];
  records: RecordItem[];
  /** Her provider connections, as her devices keep them (sealed in the vault). */
  connections: ConnectionItem[];
  /** Waiting for her to sign in at a provider (she may stop waiting). */
  signingIn: boolean;
  /** What the last pull could not bring, named (the rest was kept). */
  pullFailures: PullFailure[];
}

export const EMPTY_CONNECT: Pick<ConnectSlice, 'pullFailures' | 'signingIn' | 'connections'> = {
  pullFailures: [],
  signingIn: false,
  connections: [],
};

/** The sign-in window: opened by the click itself (a pop-up opened later is blocked). */
export interface SignInWindow {
  open(): Window | null;
}

/** How long the app waits for her to sign in before it gives up. */
const SIGN_IN_MINUTES = 10;

/**
 * The address the sign-in window comes back to, from connected.js over a same-origin
 * BroadcastChannel (the window's `opener` link is cut by the app's Cross-Origin-Opener-Policy,
 * on purpose). `finishLaunch` then checks it carries this launch's state.
 */
function callbackFrom(cancelled: Promise<never>): Promise<string> {
  const channel = new BroadcastChannel('medkey-smart-callback');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const answer = new Promise<string>((resolve, reject) => {
    channel.onmessage = (event: MessageEvent) => {
      const url = (event.data as { url?: unknown } | null)?.url;
      if (typeof url === 'string') resolve(url);
    };
    timer = setTimeout(
      () =>
        reject(
          new SmartError(
            'refused',
            `You did not finish signing in within ${SIGN_IN_MINUTES} minutes. Connect again when you are ready.`,
          ),
        ),
      SIGN_IN_MINUTES * 60_000,
    );
  });
  return Promise.race([answer, cancelled]).finally(() => {
    clearTimeout(timer);
    channel.close();
  });
}

/** A pull waiting for her to confirm what came; the connection moves on once it is stored. */
interface PendingSync {
  id: string;
  server: string;
  cursor: string | undefined;
}

const hostOf = (connection: ProviderConnection) => new URL(connection.server.fhirBase).host;

export class ConnectService {
  private stopWaiting: ((why: Error) => void) | undefined;
  private pending: PendingSync | undefined;

  constructor(
    private readonly ctx: ServiceContext<ConnectSlice>,
    /** Plans what came as if it were a file she chose (RecordsService.planFile). */
    private readonly planFile: (file: File) => Promise<void>,
    private readonly signInWindow: SignInWindow = {
      open: () => window.open('about:blank', 'medkey-connect', 'popup,width=520,height=720'),
    },
  ) {}

  /** The providers this Medkey server lists (its operator's choice). */
  endpoints(): { address: string; name: string }[] {
    return this.ctx.state.config?.smart_endpoints ?? [];
  }

  /** Her kept connections, opened here. */
  async loadConnections(): Promise<void> {
    await this.ctx.run(undefined, async () => {
      this.ctx.set({ connections: await this.readConnections() });
    });
  }

  private async readConnections(): Promise<ConnectionItem[]> {
    const { vault, wallet } = this.ctx.signedIn();
    const key = connectionKey(this.ctx.keys().secret);
    const { connections } = await vault.connections();
    return Promise.all(
      connections.map(async ({ id, sealed, revision }) => {
        try {
          return { id, revision, connection: await openConnection(key, wallet.address, id, base64.decode(sealed)) };
        } catch {
          return {
            id,
            revision,
            problem: 'This connection could not be opened with your key. Remove it and connect again.',
          };
        }
      }),
    );
  }

  /**
   * Keeps `connection` sealed in the vault: new, or replacing the revision this device read. When
   * another device replaced it first, the newest copy is read and only what this device learnt
   * (a rotated refresh token, a cursor, a status) is written over it, once.
   */
  private async keep(
    connection: ProviderConnection,
    revision: number | undefined,
    changes?: Partial<ProviderConnection>,
  ) {
    const { vault, wallet } = this.ctx.signedIn();
    const key = connectionKey(this.ctx.keys().secret);
    const put = async (c: ProviderConnection, r: number | undefined) =>
      vault.putConnection(c.id, {
        sealed: base64.encode(await sealConnection(key, wallet.address, c)),
        ...(r !== undefined && { revision: r }),
      });
    let kept: { revision: number };
    let saved = connection;
    try {
      kept = await put(connection, revision);
    } catch (err) {
      if (!(err instanceof MedkeyError && err.code === 'connection_changed' && revision !== undefined && changes))
        throw err;
      const newest = (await this.readConnections()).find((c) => c.id === connection.id);
      if (!newest?.connection) throw err;
      saved = { ...newest.connection, ...changes };
      kept = await put(saved, newest.revision);
    }
    const item = { id: saved.id, revision: kept.revision, connection: saved };
    const others = this.ctx.state.connections.filter((c) => c.id !== saved.id);
    this.ctx.set({ connections: [...others, item] });
    return item;
  }

  /** Call from the click itself: the sign-in window must open before anything is awaited. */
  async connect(address: string, again?: ConnectionItem): Promise<void> {
    this.ctx.set({ notice: undefined, pullFailures: [] });
    const popup = this.signInWindow.open();
    if (!popup) {
      this.ctx.set({
        error: 'Your browser blocked the provider’s sign-in window. Allow pop-ups for this site, then connect again.',
      });
      return;
    }
    const pulled = await this.ctx.run('Finding your provider…', async () => {
      try {
        const server = await discoverSmart(address);
        const host = new URL(server.fhirBase).host;
        const clientId = this.ctx.state.config?.smart_client_id ?? 'medkey';
        const launch = await startLaunch(
          server,
          clientId,
          new URL('/connected.html', window.location.origin).toString(),
        );
        popup.location.href = launch.authorizeUrl;
        this.ctx.set({
          signingIn: true,
          busy: `Sign in at ${host} in the window that opened, then allow Medkey to read your records.`,
        });
        const cancelled = new Promise<never>((_, reject) => (this.stopWaiting = reject));
        const back = await callbackFrom(cancelled).finally(() => {
          this.stopWaiting = undefined;
          this.ctx.set({ signingIn: false });
        });
        const session = await finishLaunch(launch, back);
        // Kept at once (sealed), so a pull she does not confirm can be synced later from any device.
        const fresh = connectionFrom(session, again?.id);
        const kept = await this.keep(
          again?.connection ? { ...fresh, connectedAt: again.connection.connectedAt, ...this.cursorOf(again) } : fresh,
          again?.revision,
        );
        return this.pull(kept.connection, kept.revision, session);
      } finally {
        popup.close(); // (a no-op once the window went to the provider: it closes itself)
        this.ctx.set({ busy: undefined });
      }
    });
    if (pulled) await this.review(pulled);
  }

  private cursorOf(item: ConnectionItem): Partial<ProviderConnection> {
    const cursor = item.connection?.cursor;
    return cursor ? { cursor } : {};
  }

  /** "Sync now": only what changed since the last sync, the same plan to confirm. */
  async sync(id: string): Promise<void> {
    this.ctx.set({ notice: undefined, pullFailures: [] });
    const item = this.ctx.state.connections.find((c) => c.id === id);
    if (!item?.connection) return;
    const pulled = await this.ctx.run(`Asking ${hostOf(item.connection)} what is new…`, async () => {
      try {
        // The newest copy: another device may have synced since, and the provider rotated the token.
        const connections = await this.readConnections();
        this.ctx.set({ connections });
        const newest = connections.find((c) => c.id === id);
        if (!newest?.connection) throw new Error('This connection was removed on another device.');
        return await this.pull(newest.connection, newest.revision, sessionOf(newest.connection));
      } finally {
        this.ctx.set({ busy: undefined });
      }
    });
    if (pulled) await this.review(pulled);
  }

  /**
   * Pulls from a connection: searches from its cursor, what she has already left out (same
   * server, type and id, same content), the rest planned. A refresh token the provider rotated
   * is kept at once; one it refuses leaves the connection waiting for her to sign in again.
   */
  private async pull(
    connection: ProviderConnection,
    revision: number,
    session: ReturnType<typeof sessionOf>,
  ): Promise<{ connection: ProviderConnection; result: PullResult } | undefined> {
    const host = hostOf(connection);
    const known = new Map<string, string>();
    for (const record of this.ctx.state.records)
      if (record.source?.server === connection.server.fhirBase)
        known.set(`${record.source.resourceType}/${record.source.id}`, record.source.sha256);
    let result: PullResult;
    try {
      result = await pullRecords(session, {
        ...(connection.cursor && known.size > 0 && { since: connection.cursor }),
        known,
        onProgress: (p) =>
          this.ctx.set({
            busy: `Bringing your records from ${host}: ${p.step} (${plural(p.resources, 'record')} so far)…`,
          }),
      });
    } catch (err) {
      if (err instanceof SmartError && err.code === 'token') {
        const { refreshToken: _dropped, ...rest } = connection;
        await this.keep({ ...rest, status: 'reconnect' }, revision, { status: 'reconnect' });
        throw new SmartError('token', `${host} no longer accepts Medkey’s sign-in. Reconnect to it to sync again.`);
      }
      throw err;
    }
    let current = { connection, revision };
    const rotated = result.session.refreshToken;
    if (rotated && rotated !== connection.refreshToken) {
      const kept = await this.keep({ ...connection, refreshToken: rotated }, revision, { refreshToken: rotated });
      current = { connection: kept.connection, revision: kept.revision };
    }
    this.ctx.set({ pullFailures: result.failures });
    if (result.resources.length === 0) {
      // Nothing new: the connection moves on now (there is nothing to confirm).
      await this.moveOn(current.connection, current.revision, result.cursor);
      this.ctx.set({ notice: `Nothing new from ${host}: your records from it are up to date.` });
      return undefined;
    }
    this.pending = { id: connection.id, server: connection.server.fhirBase, cursor: result.cursor };
    return { connection: current.connection, result };
  }

  /** What came, planned like a file: nothing is stored until she confirms. */
  private async review({ connection, result }: { connection: ProviderConnection; result: PullResult }): Promise<void> {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: result.resources.map((resource) => ({ resource })),
    };
    await this.planFile(
      new File([JSON.stringify(bundle)], `${hostOf(connection)}.json`, { type: 'application/fhir+json' }),
    );
    // Each record keeps where it came from, to be sealed with it; one she has from before becomes its new version.
    const mine = new Map<string, RecordItem>();
    for (const record of this.ctx.state.records)
      if (record.source?.server === connection.server.fhirBase)
        mine.set(`${record.source.resourceType}/${record.source.id}`, record);
    this.ctx.set({
      planned: this.ctx.state.planned.map((p) => {
        const key = `${p.resource.resourceType}/${p.resource.id ?? ''}`;
        const source = result.sources.get(key);
        const before = mine.get(key);
        if (!source) return p;
        if (!before) return { ...p, pulledFrom: source };
        // A new version keeps its record's category (the binding names it).
        return {
          ...p,
          pulledFrom: source,
          replaces: before.view.record_id,
          category: before.view.category as PlannedRecord['category'],
          source: 'chosen',
        };
      }),
    });
  }

  /** After she stored what a pull brought: the connection's cursor moves on. */
  async stored(planned: readonly PlannedRecord[]): Promise<void> {
    const pending = this.pending;
    if (!pending || !planned.some((p) => p.pulledFrom?.server === pending.server)) return;
    this.pending = undefined;
    const item = this.ctx.state.connections.find((c) => c.id === pending.id);
    if (item?.connection) await this.moveOn(item.connection, item.revision, pending.cursor);
  }

  private async moveOn(connection: ProviderConnection, revision: number, cursor: string | undefined): Promise<void> {
    const changes = { syncedAt: new Date().toISOString(), ...(cursor && { cursor }) };
    await this.keep({ ...connection, ...changes }, revision, changes);
  }

  /** Removes a connection: the provider is asked to forget the token, then the vault deletes the blob. */
  async disconnect(id: string): Promise<void> {
    const item = this.ctx.state.connections.find((c) => c.id === id);
    if (!item) return;
    this.ctx.set({ notice: undefined });
    await this.ctx.run('Disconnecting…', async () => {
      const revoked = item.connection ? await revokeRefreshToken(sessionOf(item.connection)) : false;
      await this.ctx.signedIn().vault.deleteConnection(id);
      const host = item.connection ? hostOf(item.connection) : 'this provider';
      this.ctx.set({
        connections: this.ctx.state.connections.filter((c) => c.id !== id),
        busy: undefined,
        notice: revoked
          ? `Disconnected from ${host}; it was told to forget Medkey’s access. Your records from it stay in Medkey.`
          : `Disconnected from ${host}. It offers no way to withdraw Medkey’s access from here: you can do that in its patient portal. Your records from it stay in Medkey.`,
      });
    });
  }

  /** She closed the sign-in window, or changed her mind: stop waiting for it. */
  cancel(): void {
    this.stopWaiting?.(new SmartError('refused', 'You stopped connecting. Nothing was brought in.'));
  }
}
