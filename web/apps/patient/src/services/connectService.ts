// "Connect a provider": a SMART on FHIR patient launch in a sign-in window, the pull of her
// records from the provider's FHIR API (both in @medkey/client's smart/), then the same plan an
// uploaded file gets (validated, categorised, checked against what she has, confirmed by her).
// Tokens stay in this service's memory for the pull and are dropped after; nothing is stored.
import type { AppConfig, StatusState } from '@medkey/app-shell';
import {
  discoverSmart,
  finishLaunch,
  pullRecords,
  SmartError,
  startLaunch,
  type PullFailure,
  type RecordSource,
} from '@medkey/client';
import { bytesToHex } from 'viem';
import type { PlannedRecord } from './importFile.ts';
import { plural, type ServiceContext } from './context.ts';

/** Where each pulled resource came from, keyed `Type/id`, with the SHA-256 of its JSON. */
async function sourcesOf(server: string, resources: PulledResource[]): Promise<Map<string, RecordSource>> {
  const retrievedAt = new Date().toISOString();
  const sources = new Map<string, RecordSource>();
  for (const resource of resources) {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(resource)));
    const meta = resource.meta as { versionId?: unknown; lastUpdated?: unknown } | undefined;
    sources.set(`${resource.resourceType}/${resource.id}`, {
      server,
      resourceType: resource.resourceType,
      id: resource.id ?? '',
      ...(typeof meta?.versionId === 'string' && { versionId: meta.versionId }),
      ...(typeof meta?.lastUpdated === 'string' && { lastUpdated: meta.lastUpdated }),
      retrievedAt,
      sha256: bytesToHex(new Uint8Array(digest)).slice(2),
    });
  }
  return sources;
}

type PulledResource = Awaited<ReturnType<typeof pullRecords>>['resources'][number];

export interface ConnectSlice extends StatusState {
  config?: AppConfig | undefined;
  planned: PlannedRecord[];
  /** Waiting for her to sign in at a provider (she may stop waiting). */
  signingIn: boolean;
  /** What the last pull could not bring, named (the rest was kept). */
  pullFailures: PullFailure[];
}

export const EMPTY_CONNECT: Pick<ConnectSlice, 'pullFailures' | 'signingIn'> = { pullFailures: [], signingIn: false };

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

export class ConnectService {
  private stopWaiting: ((why: Error) => void) | undefined;

  constructor(
    private readonly ctx: ServiceContext<ConnectSlice>,
    /** Plans what came as if it were a file she chose (RecordsService.planFile). */
    private readonly planFile: (file: File) => Promise<void>,
    private readonly signInWindow: SignInWindow = {
      open: () => window.open('about:blank', 'medkey-connect', 'popup,width=520,height=720'),
    },
  ) {}

  /** The providers this Medkey server lists (its operator's choice). */
  endpoints(): string[] {
    return this.ctx.state.config?.smart_endpoints ?? [];
  }

  /** Call from the click itself: the sign-in window must open before anything is awaited. */
  async connect(address: string): Promise<void> {
    this.ctx.set({ notice: undefined, pullFailures: [] });
    const popup = this.signInWindow.open();
    if (!popup) {
      this.ctx.set({
        error: 'Your browser blocked the provider’s sign-in window. Allow pop-ups for this site, then connect again.',
      });
      return;
    }
    let host = address;
    let sources = new Map<string, RecordSource>();
    const file = await this.ctx.run('Finding your provider…', async () => {
      try {
        const server = await discoverSmart(address);
        host = new URL(server.fhirBase).host;
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
        const pulled = await pullRecords(session, {
          onProgress: (p) =>
            this.ctx.set({
              busy: `Bringing your records from ${host}: ${p.step} (${plural(p.resources, 'record')} so far)…`,
            }),
        });
        this.ctx.set({ pullFailures: pulled.failures });
        sources = await sourcesOf(server.fhirBase, pulled.resources);
        const bundle = {
          resourceType: 'Bundle',
          type: 'collection',
          entry: pulled.resources.map((resource) => ({ resource })),
        };
        return new File([JSON.stringify(bundle)], `${host}.json`, { type: 'application/fhir+json' });
      } finally {
        popup.close(); // (a no-op once the window went to the provider: it closes itself)
        this.ctx.set({ busy: undefined });
      }
    });
    // What came is planned like a file: nothing is stored until she confirms. Each record keeps
    // where it came from, to be sealed with it.
    if (!file) return;
    await this.planFile(file);
    this.ctx.set({
      planned: this.ctx.state.planned.map((p) => {
        const source = sources.get(`${p.resource.resourceType}/${p.resource.id ?? ''}`);
        return source ? { ...p, pulledFrom: source } : p;
      }),
    });
  }

  /** She closed the sign-in window, or changed her mind: stop waiting for it. */
  cancel(): void {
    this.stopWaiting?.(new SmartError('refused', 'You stopped connecting. Nothing was brought in.'));
  }
}
