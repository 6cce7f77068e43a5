// Everything the patient app does, outside React: the wallet, the session, the encryption key
// (in memory only, wiped on lock), her records opened in this browser, adding records. Screens
// read `state` and call these methods; they hold no logic of their own.

import {
  CATEGORIES,
  MedkeyError,
  SENSITIVE_CATEGORIES,
  deriveAndPublishKey,
  deriveEncryptionKey,
  collect,
  decryptStream,
  encryptToBlob,
  openRecordContent,
  createShareLink,
  refreshShareLink,
  buildPatientSummary,
  type FhirResource,
  type PatientSummary,
  type SummaryInput,
  providerEncryptionKey,
  publishedKey,
  sealNewRecord,
  wrapAll,
  checkVaultLog,
  readEmergency,
  setEmergency,
  type EmergencySettings,
  type CheckedLog,
  type Category,
  type Deployment,
  type EncryptionKeyPair,
  type GrantRequest,
  type RegisteredProvider,
  type Schemas,
  type Sealed,
  auditEventBundle,
  checkDirectoryEntry,
  checkedNames,
  exportBundle,
  type CheckedEntry,
} from '@medkey/client';
import { asResource, dateOf, selfReportedResource, titleOf, typeName, UNSHOWABLE, type Resource, type SelfReport } from '@medkey/fhir-display';
import { isAddress, type Address, type Hex } from 'viem';
import { NO_FILTER, attachedFile, newestFirst, type RecordFilter, type RecordItem } from './timeline.ts';
import { plan, readRecordsFile, type PlannedRecord } from './importFile.ts';
import { saveFile } from './saveFile.ts';
import { bundleText, lockScreenImage, qrImage, recordsFor, type CardFace, type LinkForm } from './linkSharing.ts';
import { lookUpProvider, share, stopSharing, type ShareContext } from './sharing.ts';
import { ANVIL_KEYS, AppStore, deploymentOf, type AppConfig, type StatusState, type WalletChoice } from '@medkey/app-shell';

export type Phase = 'loading' | 'connect' | 'welcome' | 'ready';
export type Screen = 'records' | 'record' | 'add' | 'sharing' | 'share' | 'links' | 'card' | 'activity' | 'settings';

export interface PatientState extends StatusState {
  phase: Phase;
  screen: Screen;
  config?: AppConfig | undefined;
  wallets: WalletChoice[];
  address?: string | undefined;
  /** What is happening now, and what the person should do (e.g. "sign in your wallet"). */
  busy?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
  records: RecordItem[];
  selected?: string | undefined;
  planned: PlannedRecord[];
  grants: Schemas['GrantView'][];
  /** The provider the share wizard looked up on chain. */
  provider?: RegisteredProvider | undefined;
  /** Directory entries of the providers she deals with, checked against the chain, by lower-case address. */
  names: Record<string, CheckedEntry>;
  /** The share wizard's directory search. */
  found?: CheckedEntry[] | undefined;
  activity?: CheckedLog | undefined;
  /** The timeline's filters. */
  filter: RecordFilter;
  requests: Schemas['AccessRequestView'][];
  /** A grant the share wizard starts from (an access request being approved). */
  prefill?: SharePrefill | undefined;
  /** Break-glass: what an emergency provider may open, and who. */
  emergency?: EmergencySettings | undefined;
  /** The second factor: whether it is on, and an enrolment under way (QR code, then recovery codes once). */
  mfa?: { enabled: boolean; setup?: { secret: string; qr: string }; recoveryCodes?: string[] } | undefined;
  /** A decrypted attachment shown on the record screen (an object URL, revoked on leaving). */
  preview?: { url: string; contentType: string; title: string } | undefined;
  /** Her SMART Health Links, each with every time someone asked for it. */
  shareLinks?: Schemas['ShareLinkView'][] | undefined;
  /** The link just made: shown once (the key is in it and is kept nowhere). */
  newLink?: { link: string; viewerUrl: string; qr: string; label: string } | undefined;
  /** The emergency card under review (built here from her records), then made (shown once). */
  cardDraft?: PatientSummary | undefined;
  card?: { header: CardFace; qr: string; lockScreen: string; viewerUrl: string; passcode: boolean } | undefined;
  /** The versions of the record on screen, and an earlier one she opened. */
  history?: { recordId: string; versions: Schemas['VersionView'][]; shown?: { version: number; resource: Resource } } | undefined;
}

export interface SharePrefill {
  requestId: string;
  provider: string;
  categories: Category[];
  purpose: string;
  days: number;
}

/** Minutes of inactivity after which the app locks itself and forgets every key and record. */
export const IDLE_LOCK_MINUTES = 15;

export class PatientApp extends AppStore<PatientState> {
  private keys?: EncryptionKeyPair | undefined;
  private idleTimer?: ReturnType<typeof setTimeout>;
  /** The last audit head this page checked (memory only): the next one must continue it. */
  private lastHead?: { size: number; root: string } | undefined;

  constructor(private readonly idleMs = IDLE_LOCK_MINUTES * 60_000) {
    super({ phase: 'loading', screen: 'records', wallets: [], records: [], planned: [], grants: [], requests: [], filter: NO_FILTER, names: {} });
  }

  private get deployment(): Deployment {
    return deploymentOf(this.state.config!);
  }


  start(): Promise<void> {
    return this.startWith([{ key: ANVIL_KEYS.patient, name: 'Dev wallet (local test chain only)' }]);
  }

  /** Connects a wallet and signs in (one signature); a first visit goes to the welcome step. */
  async connect(choice: WalletChoice): Promise<void> {
    const config = this.state.config;
    if (!config) return;
    try {
      const { wallet, vault } = await this.signIn(choice, config);
      const published = await publishedKey(vault, wallet.address, config.chain_id).catch((err: unknown) => {
        if (err instanceof MedkeyError && err.status === 404) return undefined;
        throw err;
      });
      if (!published) {
        this.set({ phase: 'welcome', address: wallet.address, busy: undefined });
        return;
      }
      this.set({ busy: 'Sign the key message in your wallet to open your records on this device.' });
      const keys = await deriveEncryptionKey(wallet);
      if (!keys.publicKey.every((b, i) => b === published[i])) {
        keys.secret.fill(0);
        throw new MedkeyError('key_mismatch', 'This wallet signed differently from when your key was created, so it cannot open your records. Use the wallet (and account) you set Medkey up with.');
      }
      this.keys = keys;
      this.set({ phase: 'ready', address: wallet.address, busy: undefined });
      this.armIdleLock();
      await this.loadRecords();
    } catch (err) {
      this.fail(err);
    }
  }

  /** First visit: derive her key (asking twice to be sure her wallet is deterministic) and publish it. */
  async createKey(): Promise<void> {
    const { wallet, session, chain, state } = this;
    if (!wallet || !session || !chain || !state.config) return;
    this.set({ busy: 'Sign the key message twice, then the message that publishes your key.', error: undefined });
    try {
      this.keys = await deriveAndPublishKey(session, wallet, state.config.chain_id, { checkDeterministic: true, chain });
      this.set({ phase: 'ready', busy: undefined, notice: 'Your encryption key is ready. Only this wallet can recreate it.' });
      this.armIdleLock();
      await this.loadRecords();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Lists her records, fetches them 500 to a call, and opens each one here. */
  async loadRecords(): Promise<void> {
    const { vault, keys } = this;
    if (!vault || !keys) return;
    this.set({ busy: 'Opening your records…' });
    try {
      const views = (await vault.listRecords()).filter((v) => !v.erased);
      const items: RecordItem[] = [];
      for (let i = 0; i < views.length; i += 500) {
        const { records } = await vault.fetchRecords(views.slice(i, i + 500).map((v) => v.record_id));
        items.push(...(await Promise.all(records.map((content) => this.open(content)))));
      }
      this.set({ records: newestFirst(items), busy: undefined });
    } catch (err) {
      this.fail(err);
    }
  }

  private async open(content: Schemas['RecordContent']): Promise<RecordItem> {
    const view = content.record;
    try {
      const opened = await openRecordContent(view, content.ciphertext, content.wrapped_key, this.keys!.secret);
      opened.dataKey.fill(0);
      const resource = asResource(opened.resource);
      if (!resource) return { view, text: opened.text, title: `${typeName(view.resource_type)} (could not be shown)`, problem: UNSHOWABLE };
      return { view, resource, text: opened.text, title: titleOf(resource), ...(dateOf(resource) ? { date: dateOf(resource)! } : {}) };
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      return { view, title: `${view.resource_type} (could not be opened)`, problem };
    }
  }

  /** Erases one of her records for good (crypto-shredded in the vault), then shows the rest. */
  async eraseRecord(recordId: string): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
    this.set({ busy: 'Erasing the record…', error: undefined, notice: undefined });
    try {
      await vault.eraseRecord(recordId);
      this.set({ busy: undefined, screen: 'records', records: this.state.records.filter((r) => r.view.record_id !== recordId), notice: 'The record was erased.' });
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Adds a PDF or image as a DocumentReference record with the file attached: encrypted here in
   * chunks, then uploaded, with progress for both.
   */
  async attachFile(file: File): Promise<void> {
    const { vault, keys, wallet } = this;
    if (!vault || !keys || !wallet) return;
    if (!/^(application\/pdf|image\/(png|jpeg|gif|webp))$/.test(file.type)) {
      this.set({ error: `${file.name} is not a PDF or an image (PNG, JPEG, GIF, WebP). Choose one of those.` });
      return;
    }
    try {
      const resource: Resource = {
        resourceType: 'DocumentReference',
        status: 'current',
        date: new Date().toISOString(),
        description: file.name,
        content: [{ attachment: { contentType: file.type, title: file.name, size: file.size } }],
      };
      const sealed = await sealNewRecord({ owner: wallet.address, resource, category: 'documents', readers: [{ address: wallet.address, publicKey: keys.publicKey }] });
      const created = await vault.createRecord(sealed.body);
      await this.uploadAttachment(created.record.record_id, sealed, file, file.name);
      this.set({ busy: undefined, screen: 'records', notice: `${file.name} added, encrypted in this browser.` });
      await this.loadRecords();
      await this.refreshLinks(['documents']);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Encrypts `file` under the new record's data key (then wiped) and uploads it, with progress. */
  private async uploadAttachment(recordId: string, sealed: Sealed, file: Blob, name: string): Promise<void> {
    const percent = (done: number, total: number) => (total === 0 ? 100 : Math.floor((done / total) * 100));
    try {
      const ciphertext = await encryptToBlob(sealed.dataKey, sealed.binding, file, (done, total) =>
        this.set({ busy: `Encrypting ${name}: ${percent(done, total)}%` }),
      );
      await this.vault!.uploadAttachmentBlob(recordId, sealed.binding.version, ciphertext, (sent, total) =>
        this.set({ busy: `Uploading ${name}: ${percent(sent, total)}%` }),
      );
    } finally {
      sealed.dataKey.fill(0);
    }
  }

  /** The plaintext of a record's attached file, decrypted here as it streams in. */
  private async attachmentStream(recordId: string): Promise<ReadableStream<Uint8Array>> {
    const vault = this.vault!;
    const fetched = await vault.fetchRecord(recordId);
    const opened = await openRecordContent(fetched.record, fetched.ciphertext, fetched.wrapped_key, this.keys!.secret);
    const { stream } = await vault.downloadAttachment(recordId);
    const key = opened.dataKey;
    // The key is wiped once the stream is read to the end or abandoned.
    return stream.pipeThrough(decryptStream(key, opened.binding)).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({ flush: () => void key.fill(0) }),
    );
  }

  /** Decrypts a record's attached file here and shows it (PDF or image), for this screen only. */
  async showAttachment(recordId: string): Promise<void> {
    const item = this.state.records.find((r) => r.view.record_id === recordId);
    const file = attachedFile(item);
    if (!this.vault || !this.keys || !file) return;
    this.set({ busy: 'Opening the file…', error: undefined });
    try {
      const plain = await collect(await this.attachmentStream(recordId));
      this.clearPreview();
      const blob = new Blob([plain as BlobPart], { type: file.contentType });
      if (!/^(application\/pdf|image\/)/.test(file.contentType)) {
        // Not something a page can show safely: she saves it instead (a download she asked for).
        saveFile(blob, file.title);
        this.set({ busy: undefined, notice: `${file.title} decrypted and saved to your downloads.` });
        return;
      }
      const url = URL.createObjectURL(blob);
      this.set({ busy: undefined, preview: { url, contentType: file.contentType, title: file.title } });
    } catch (err) {
      this.fail(err);
    }
  }

  /** A record's versions, newest first (what each says is opened only when she asks). */
  async loadHistory(recordId: string): Promise<void> {
    const { vault } = this;
    if (!vault) return;
    try {
      const { versions } = await vault.recordHistory(recordId);
      this.set({ history: { recordId, versions } });
      // Changed elsewhere since the timeline was opened (her CLI, another device): show the latest.
      const shown = this.state.records.find((r) => r.view.record_id === recordId);
      if (shown && versions[0] && versions[0].version !== shown.view.version) {
        const latest = await this.open(await vault.fetchRecord(recordId));
        this.set({ records: this.state.records.map((r) => (r.view.record_id === recordId ? latest : r)) });
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Opens an earlier version of a record here, to read beside the current one. */
  async showVersion(recordId: string, version: number): Promise<void> {
    const { vault, keys, state } = this;
    if (!vault || !keys || state.history?.recordId !== recordId) return;
    try {
      const content = await vault.fetchRecordVersion(recordId, version);
      const opened = await openRecordContent(content.record, content.ciphertext, content.wrapped_key, keys.secret, version);
      opened.dataKey.fill(0);
      this.set({ history: { ...state.history, shown: { version, resource: opened.resource as Resource } } });
    } catch (err) {
      this.fail(err);
    }
  }

  private clearPreview() {
    if (this.state.preview) URL.revokeObjectURL(this.state.preview.url);
    if (this.state.preview) this.set({ preview: undefined });
  }

  async loadMfa(): Promise<void> {
    if (!this.vault) return;
    try {
      const status = await this.vault.mfaStatus();
      this.set({ mfa: { enabled: status.enabled } });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Turning the second factor on: a secret shown as a QR code for her authenticator app. */
  async startMfa(): Promise<void> {
    if (!this.vault) return;
    try {
      const setup = await this.vault.mfaSetup();
      const { toDataURL } = await import('qrcode');
      const qr = await toDataURL(setup.otpauth_url, { margin: 1, width: 240 });
      this.set({ error: undefined, mfa: { enabled: false, setup: { secret: setup.secret, qr } } });
    } catch (err) {
      this.fail(err);
    }
  }

  async confirmMfa(code: string): Promise<void> {
    if (!this.vault) return;
    try {
      const { recovery_codes } = await this.vault.mfaEnable(code.trim());
      this.set({ error: undefined, mfa: { enabled: true, recoveryCodes: recovery_codes }, notice: 'Second factor on. Keep the recovery codes below somewhere safe: they are shown only now.' });
    } catch (err) {
      this.fail(err);
    }
  }

  async disableMfa(code: string): Promise<void> {
    if (!this.vault) return;
    const text = code.trim();
    try {
      await this.vault.mfaDisable(/^\d{6}$/.test(text) ? { totp: text } : { recovery_code: text });
      this.set({ error: undefined, mfa: { enabled: false }, notice: 'Second factor off.' });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Her encryption key's public half, for the settings page. */
  publicKeyHex(): string | undefined {
    return this.keys ? `0x${[...this.keys.publicKey].map((b) => b.toString(16).padStart(2, '0')).join('')}` : undefined;
  }

  setFilter(filter: Partial<RecordFilter>) {
    this.set({ filter: { ...this.state.filter, ...filter } });
  }

  show(screen: Screen, selected?: string) {
    this.clearPreview();
    // Leaving a screen drops what it had under way (a planned upload, a prefilled grant): nothing is stored unasked.
    this.set({
      screen,
      ...(selected ? { selected } : {}),
      error: undefined,
      notice: undefined,
      provider: undefined,
      ...(screen === 'share' ? {} : { prefill: undefined }),
      ...(screen === 'add' ? {} : { planned: [] }),
      history: undefined,
    });
    // After the record is on screen: its history is below it and can come a moment later.
    if (screen === 'record' && selected) setTimeout(() => void this.loadHistory(selected), 0);
    if (screen === 'sharing') {
      void this.loadGrants();
      void this.loadRequests();
      void this.loadEmergency();
    }
    if (screen === 'links') void this.loadShareLinks();
    // A link or card is shown once, on the screen that made it.
    this.set({ newLink: undefined, cardDraft: undefined, card: undefined });
    if (screen === 'activity') void this.loadActivity();
    if (screen === 'settings') void this.loadMfa();
  }

  private shareContext(): ShareContext | undefined {
    const { vault, wallet, chain, keys } = this;
    return vault && wallet && chain && keys ? { vault, wallet, chain, keys, deployment: this.deployment } : undefined;
  }

  /**
   * Reloads the grants until `grantId` is in the state wanted: the relay answers once the
   * transaction is mined, and the vault's mirror of the chain may be a block behind.
   */
  private async waitForGrant(grantId: string, wanted: (state: string) => boolean): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      await this.loadGrants();
      const grant = this.state.grants.find((g) => g.grant.grant_id.toLowerCase() === grantId.toLowerCase());
      if ((grant && wanted(grant.state)) || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  async loadGrants(): Promise<void> {
    if (!this.vault) return;
    try {
      const listing = await this.vault.grants();
      const grants = Array.isArray(listing) ? listing : [];
      grants.sort((a, b) => b.grant.block_number - a.grant.block_number);
      this.set({ grants });
      await this.loadNames(grants.map((g) => g.grant.provider), true);
    } catch (err) {
      this.fail(err);
    }
  }

  async loadEmergency(): Promise<void> {
    const { vault, chain, wallet } = this;
    if (!vault || !chain || !wallet) return;
    try {
      this.set({ emergency: await readEmergency(vault, chain, this.deployment, wallet.address) });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Saves her break-glass choice: one transaction from her wallet, then keys wrapped ahead. */
  async saveEmergency(settings: EmergencySettings): Promise<void> {
    const { vault, chain, wallet, keys } = this;
    if (!vault || !chain || !wallet || !keys) return;
    const bad = settings.providers.find((p) => !isAddress(p));
    if (bad) {
      this.set({ error: `“${bad}” is not a provider address (0x and 40 letters and digits). Copy it from the provider.` });
      return;
    }
    this.set({ busy: 'Confirm the transaction in your wallet (it pays a small network fee).', error: undefined });
    try {
      const wrapped = await setEmergency({ vault, wallet, chain, deployment: this.deployment, secret: keys.secret }, settings, (done, total) =>
        this.set({ busy: `Preparing your records for emergencies: ${done} of ${total}…` }),
      );
      this.set({
        busy: undefined,
        emergency: settings,
        notice: settings.categories.length === 0 ? 'Emergency access is off.' : `Saved. ${wrapped} record${wrapped === 1 ? '' : 's'} ready for the providers you named.`,
      });
    } catch (err) {
      this.fail(err);
    }
  }

  async loadRequests(): Promise<void> {
    if (!this.vault) return;
    try {
      const requests = await this.vault.accessRequests('pending');
      this.set({ requests });
      await this.loadNames(requests.map((r) => r.provider));
    } catch (err) {
      this.fail(err);
    }
  }

  /** Opens the share wizard filled in from a provider's request; she still reviews and signs. */
  approve(request: Schemas['AccessRequestView']) {
    const categories = request.categories.filter((c): c is Category => (CATEGORIES as readonly string[]).includes(c));
    this.set({
      screen: 'share',
      error: undefined,
      notice: undefined,
      prefill: { requestId: request.id, provider: request.provider, categories, purpose: request.purpose, days: Math.max(1, Math.round(request.duration_secs / 86_400)) },
    });
    void this.lookUp(request.provider);
  }

  async decline(requestId: string): Promise<void> {
    if (!this.vault) return;
    try {
      await this.vault.declineRequest(requestId);
      this.set({ notice: 'Request declined. The provider sees that you said no.' });
      await this.loadRequests();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Her records as one FHIR Bundle file, decrypted here, attached files inline, for her to keep
   * (a download she asked for). Records that could not be opened are left out and named.
   */
  async exportRecords(): Promise<Blob | undefined> {
    if (!this.vault || !this.keys) return undefined;
    const items = this.state.records.flatMap((r) =>
      r.resource
        ? [{ resource: r.resource, ...(r.text ? { text: r.text } : {}), category: r.view.category as Category, ...(attachedFile(r) ? { attachment: () => this.attachmentStream(r.view.record_id) } : {}) }]
        : [],
    );
    const left = this.state.records.length - items.length;
    try {
      const blob = await exportBundle(items, (done, total) => this.set({ busy: `Preparing your file: record ${done} of ${total}…` }));
      this.set({
        busy: undefined,
        notice: `${items.length} record${items.length === 1 ? '' : 's'} saved to a FHIR file, attached files included.` +
          (left > 0 ? ` ${left} could not be opened and ${left === 1 ? 'is' : 'are'} not in it.` : ''),
      });
      return blob;
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  /** The activity she checked, as FHIR AuditEvents (a download she asked for). */
  activityAsFhir(): Blob | undefined {
    const { activity, config } = this.state;
    if (!activity?.check.ok || !config) return undefined;
    const bundle = auditEventBundle(config.chain_id, activity.entries.map((e) => e.entry));
    return new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/fhir+json' });
  }

  /**
   * Names for these providers from the directory, each checked against the chain; `fresh` reads
   * known ones again too (a suspension or a new profile since).
   */
  async loadNames(addresses: string[], fresh = false): Promise<void> {
    const { vault, chain } = this;
    const missing = fresh ? addresses : addresses.filter((a) => !this.state.names[a.toLowerCase()]);
    if (!vault || !chain || missing.length === 0) return;
    try {
      const found = await checkedNames(vault, chain, this.deployment, missing);
      this.set({ names: { ...this.state.names, ...Object.fromEntries(found) } });
    } catch {
      // Names are a help: without them, addresses show.
    }
  }

  /** Searches the directory by name, organisation, city or NPI; each result checked on chain. */
  async findProviders(query: string): Promise<void> {
    const { vault, chain } = this;
    if (!vault || !chain) return;
    if (query.trim() === '') {
      this.set({ found: undefined });
      return;
    }
    try {
      const page = await vault.searchDirectory({ q: query, per_page: 10 });
      const found = await Promise.all(
        page.providers.map(async (entry) => ({ entry, verdict: await checkDirectoryEntry(entry, chain, this.deployment) })),
      );
      this.set({ found, error: undefined });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Reads a provider's registration from the chain (never from the vault). */
  async lookUp(address: string): Promise<void> {
    const ctx = this.shareContext();
    if (!ctx) return;
    if (!isAddress(address.trim())) {
      this.set({ provider: undefined, error: 'That is not a provider address: it starts with 0x and has 40 more letters and digits. Copy it from the provider.' });
      return;
    }
    try {
      this.set({ error: undefined, provider: await lookUpProvider(ctx, address.trim() as Address) });
      await this.loadNames([address.trim()]);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Signs the grant in the wallet and shares her existing records in those categories. */
  async share(request: GrantRequest): Promise<void> {
    const ctx = this.shareContext();
    if (!ctx) return;
    this.set({ busy: 'Sign the grant in your wallet (it costs nothing).', error: undefined });
    try {
      const views = this.state.records.map((r) => r.view);
      const { grantId, shared } = await share(ctx, request, views, (done, total) =>
        this.set({ busy: total === 0 ? 'Shared.' : `Sharing your existing records: ${done} of ${total}…` }),
      );
      const answered = this.state.prefill?.requestId;
      if (answered) await ctx.vault.approveRequest(answered, grantId);
      await this.waitForGrant(grantId, (state) => state !== 'revoked');
      this.set({ busy: undefined, screen: 'sharing', provider: undefined, notice: `Shared. ${shared} existing record${shared === 1 ? '' : 's'} can now be opened by the provider.` });
    } catch (err) {
      this.fail(err);
    }
  }

  async revoke(grantId: string): Promise<void> {
    const ctx = this.shareContext();
    if (!ctx) return;
    this.set({ busy: 'Sign the revocation in your wallet (it costs nothing).', error: undefined });
    try {
      await stopSharing(ctx, grantId as Hex);
      this.set({ busy: 'Sharing stopped on the chain; waiting for the vault to see it…' });
      await this.waitForGrant(grantId, (state) => state === 'revoked');
      this.set({ busy: undefined, notice: 'Sharing stopped. The vault refuses this provider from now on.' });
    } catch (err) {
      this.fail(err);
    }
  }

  async loadShareLinks(): Promise<void> {
    if (!this.vault) return;
    try {
      this.set({ shareLinks: await this.vault.shareLinks() });
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * A SMART Health Link to her records in `form.categories`: the Bundle is encrypted here under a
   * fresh key that goes only into the link; the vault keeps the ciphertext.
   */
  async createShareLink(form: LinkForm): Promise<void> {
    if (!this.vault) return;
    const chosen = recordsFor(this.state.records, form.categories);
    if (!form.label.trim()) return this.set({ error: 'Give the link a name, so you can tell your links apart (for example, “For my new dentist”).' });
    if (chosen.length === 0) return this.set({ error: 'None of your records is in the categories you chose. Choose at least one category with records in it.' });
    if (form.passcode && form.passcode.length < 4) return this.set({ error: 'A passcode has at least 4 characters. Tell it to the person separately from the link.' });
    this.set({ busy: `Encrypting ${chosen.length} record${chosen.length === 1 ? '' : 's'} for the link…`, error: undefined, newLink: undefined });
    try {
      const created = await createShareLink(this.vault, bundleText(chosen), {
        label: form.label,
        passcode: form.passcode || undefined,
        expiresAt: form.days > 0 ? new Date(Date.now() + form.days * 86_400_000) : undefined,
        singleUse: form.singleUse,
        longLived: form.followChanges ? { categories: form.categories, accountSecret: this.keys!.secret } : undefined,
      });
      // The QR holds the viewer URL, so a phone's camera opens it in a browser (SHL allows either form).
      const qr = await qrImage(created.viewerUrl);
      created.key.fill(0);
      this.set({ busy: undefined, newLink: { link: created.link, viewerUrl: created.viewerUrl, qr, label: form.label }, notice: 'Your link is ready. Copy or print it now: Medkey does not keep it.' });
      await this.loadShareLinks();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Builds her patient summary from her opened records, for her to review before anything is shared. */
  draftEmergencyCard(input: Omit<SummaryInput, 'resources'>): void {
    if (!input.name.trim()) return this.set({ error: 'Write your name as a doctor should see it on the card.' });
    if (input.contacts.some((c) => !c.name.trim() || !c.phone.trim())) return this.set({ error: 'Give each emergency contact a name and a phone number, or remove the contact.' });
    const resources = this.state.records.flatMap((r) => (r.resource ? [r.resource as FhirResource] : []));
    this.set({ error: undefined, card: undefined, cardDraft: buildPatientSummary({ ...input, resources }) });
  }

  /** The reviewed summary as an emergency SMART Health Link (no expiry), shown as a card to print. */
  async makeEmergencyCard(passcode: string, show: { bloodGroup: boolean; allergies: boolean }): Promise<void> {
    const draft = this.state.cardDraft;
    if (!this.vault || !draft) return;
    if (passcode && passcode.length < 4) return this.set({ error: 'A passcode has at least 4 characters. Leave it empty if a stranger must open the card without asking you.' });
    this.set({ busy: 'Encrypting your summary for the card…', error: undefined });
    try {
      const created = await createShareLink(this.vault, JSON.stringify(draft.bundle), { label: 'Emergency card', passcode: passcode || undefined, purpose: 'emergency' });
      created.key.fill(0);
      const qr = await qrImage(created.viewerUrl);
      // The card's face says only what she chose to show to whoever sees it.
      const face: CardFace = { name: draft.header.name, bloodGroup: show.bloodGroup ? draft.header.bloodGroup : undefined, allergies: show.allergies ? draft.header.allergies : [] };
      const lockScreen = await lockScreenImage(face, qr);
      this.set({ busy: undefined, cardDraft: undefined, card: { header: face, qr, lockScreen, viewerUrl: created.viewerUrl, passcode: Boolean(passcode) }, notice: 'Your emergency card is ready. Print it or save it as an image now: Medkey does not keep it.' });
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Her long-lived links that follow `changed` categories get new files from her records as they
   * are now (encrypted here; the vault cannot). A failure is said, and the records stay stored.
   */
  private async refreshLinks(changed: Category[]): Promise<void> {
    const { vault, keys } = this;
    if (!vault || !keys) return;
    try {
      const due = (await vault.shareLinks()).filter((l) => l.long_lived && l.state === 'active' && l.categories.some((c) => changed.includes(c as Category)));
      for (const link of due) {
        await refreshShareLink(vault, link.id, bundleText(recordsFor(this.state.records, link.categories as Category[])), keys.secret);
      }
      if (due.length > 0) this.set({ notice: `${this.state.notice ?? ''} ${due.length} link${due.length === 1 ? '' : 's'} that follow${due.length === 1 ? 's' : ''} these records updated.`.trim() });
    } catch (err) {
      this.set({ error: `Your records are stored, but a link that follows them could not be updated: ${err instanceof Error ? err.message : String(err)} Open your links to try again.` });
    }
  }

  async revokeShareLink(id: string): Promise<void> {
    if (!this.vault) return;
    try {
      await this.vault.revokeShareLink(id);
      this.set({ notice: 'Link stopped. Nobody can open it from now on.', newLink: undefined });
      await this.loadShareLinks();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Her activity log, checked here: the operator's signature, every entry, the chain's anchor. */
  async loadActivity(): Promise<void> {
    const { vault, chain, state } = this;
    if (!vault || !chain || !state.config) return;
    this.set({ busy: 'Checking your activity log…' });
    try {
      const activity = await checkVaultLog(vault, chain, this.deployment, state.config.audit_key, this.lastHead);
      if (activity.check.ok && activity.head) this.lastHead = { size: activity.head.size, root: activity.head.root };
      this.set({ activity, busy: undefined });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Reads a FHIR JSON or C-CDA file and plans what would be stored, nothing sealed yet. */
  async planFile(file: File): Promise<void> {
    this.set({ error: undefined, notice: undefined, busy: `Reading ${file.name}…` });
    try {
      const planned = (await readRecordsFile(file)).map(plan);
      this.set({ planned, busy: undefined });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Adds something she notes herself (as valid FHIR) to what will be stored. */
  planSelfReport(report: SelfReport) {
    try {
      this.set({ error: undefined, planned: [...this.state.planned, plan({ resource: selfReportedResource(report) })] });
    } catch (err) {
      this.fail(err);
    }
  }

  setPlannedCategory(index: number, category: Category) {
    const planned = this.state.planned.map((p, i) =>
      i === index ? { ...p, category, sensitive: SENSITIVE_CATEGORIES.includes(category) } : p,
    );
    this.set({ planned });
  }

  /** Seals each planned resource here and stores it; wraps it for providers she already shares the category with. */
  async storePlanned(): Promise<void> {
    const { vault, keys, wallet, chain, state } = this;
    if (!vault || !keys || !wallet || !chain) return;
    if (state.planned.some((p) => !p.category)) {
      this.set({ error: 'Choose a category for every record first: it decides who you share it with.' });
      return;
    }
    try {
      let done = 0;
      for (const plan of state.planned) {
        this.set({ busy: `Encrypting and storing record ${done + 1} of ${state.planned.length}…` });
        const sealed = await sealNewRecord({
          owner: wallet.address,
          resource: plan.resource,
          text: plan.text,
          category: plan.category!,
          readers: [{ address: wallet.address, publicKey: keys.publicKey }],
        });
        const created = await vault.createRecord(sealed.body);
        const readers = [];
        for (const { provider } of created.providers_needing_keys) {
          readers.push({ address: provider as `0x${string}`, publicKey: await providerEncryptionKey(chain, this.deployment, provider as `0x${string}`) });
        }
        if (readers.length > 0) await vault.addKeys(created.record.record_id, 1, { wrapped_keys: await wrapAll(sealed.dataKey, sealed.binding, readers) });
        if (plan.attachment) {
          await this.uploadAttachment(created.record.record_id, sealed, plan.attachment.file, plan.attachment.title);
        } else {
          sealed.dataKey.fill(0);
        }
        done += 1;
      }
      const changed = [...new Set(state.planned.map((p) => p.category!))];
      this.set({ planned: [], busy: undefined, screen: 'records', notice: `${done} record${done === 1 ? '' : 's'} added, encrypted in this browser.` });
      await this.loadRecords();
      await this.refreshLinks(changed);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Forgets the key and every opened record, and signs out. */
  async lock(reason = 'Medkey locked itself after a while without use. Connect again to continue.'): Promise<void> {
    this.clearPreview();
    this.keys?.secret.fill(0);
    this.keys = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const session = this.session;
    this.session = undefined;
    this.set({ phase: 'connect', emergency: undefined, mfa: undefined, askingCode: false, records: [], planned: [], grants: [], requests: [], names: {}, found: undefined, prefill: undefined, activity: undefined, history: undefined, shareLinks: undefined, newLink: undefined, cardDraft: undefined, card: undefined, provider: undefined, selected: undefined, screen: 'records', notice: reason, busy: undefined, address: undefined });
    await session?.signOut().catch(() => undefined);
  }

  /** Restarts the idle countdown (the app calls this on every keypress, click and scroll). */
  touch = () => {
    if (this.state.phase === 'ready') this.armIdleLock();
  };

  private armIdleLock() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.lock(), this.idleMs);
  }
}

export { CATEGORY_LABELS } from '@medkey/app-shell';
export { CATEGORIES };
