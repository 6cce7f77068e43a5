// Her records, opened in this browser: the timeline (every record decrypted here, one that will
// not open kept with its reason), adding records from files or her own notes (sealed here, keys
// wrapped for the providers she already shares the category with), attached files, versions,
// erasing, and her whole record as one FHIR file.

import {
  SENSITIVE_CATEGORIES,
  collect,
  decryptStream,
  encryptToBlob,
  exportBundle,
  openRecordContent,
  providerEncryptionKey,
  readEmergency,
  sealNewRecord,
  type Category,
  type Schemas,
  type Sealed,
  openOrigin,
  originKey,
} from '@medkey/client';
import {
  NO_RECORDS,
  asResource,
  dateOf,
  selfReportedResource,
  titleOf,
  typeName,
  UNSHOWABLE,
  type RecordIndex,
  type ResultsByTest,
  type Resource,
  type SelfReport,
} from '@medkey/fhir-display';
import type { StatusState } from '@medkey/app-shell';
import { base64 } from '@scure/base';
import { plural, type ServiceContext } from './context.ts';
import { importProgress, interruptedImport } from './importProgress.ts';
import { plan, type PlannedRecord } from './importFile.ts';
import { planInWorker } from './planInWorker.ts';
import { keepIn, markStored } from './planChecks.ts';
import { saveFile } from './saveFile.ts';
import { storeInBatches, storeUpdates, withPulledOrigin, wrapForProviders } from './storeRecords.ts';
import { NO_FILTER, attachedFile, newestFirst, readTogether, type RecordFilter, type RecordItem } from './timeline.ts';
import type { Hex } from 'viem';

export interface RecordsSlice extends StatusState {
  records: RecordItem[];
  /** Her opened records by the references other records make to them (see `readTogether`). */
  index: RecordIndex;
  /** Her lab results and vital signs by test, with trends (the Results screen). */
  results: { lab: ResultsByTest; vital: ResultsByTest };
  /** The timeline's filters. */
  filter: RecordFilter;
  /** What an upload would store, read from a file or her notes, nothing sealed yet. */
  planned: PlannedRecord[];
  /**
   * A decrypted attachment shown on the record screen: a PDF or image by object URL (revoked on
   * leaving), a plain-text note as its text (a clinical note a provider's API sends as text/plain).
   */
  preview?: { url: string; contentType: string; title: string; text?: string } | undefined;
  /** The versions of the record on screen, and an earlier one she opened. */
  history?:
    | { recordId: string; versions: Schemas['VersionView'][]; shown?: { version: number; resource: Resource } }
    | undefined;
  /** Set when a record is stored or erased: back to the timeline. */
  screen?: string;
}

export const EMPTY_RECORDS: Pick<
  RecordsSlice,
  'records' | 'index' | 'results' | 'filter' | 'planned' | 'preview' | 'history'
> = {
  records: [],
  index: NO_RECORDS,
  results: { lab: { trends: [], once: [] }, vital: { trends: [], once: [] } },
  filter: NO_FILTER,
  planned: [],
  preview: undefined,
  history: undefined,
};

/** `planned` in the category she chose (her choice replaces the file's reason). */
function chosen(planned: PlannedRecord, category: Category): PlannedRecord {
  const { reason: _reason, because, ...rest } = planned;
  return {
    ...rest,
    category,
    source: 'chosen',
    sensitive: SENSITIVE_CATEGORIES.includes(category),
    // The evidence named the category it was for: it stays only if she kept that one.
    ...(because && category === planned.category ? { because } : {}),
  };
}

/** The longest plain-text file shown on the record screen (a longer one is saved as a download). */
const MAX_TEXT_PREVIEW = 1024 * 1024;

export class RecordsService {
  constructor(
    private readonly ctx: ServiceContext<RecordsSlice>,
    /** Called after records of these categories were stored (links that follow them refresh; a sync moves on). */
    private readonly onStored: (categories: Category[], stored: PlannedRecord[]) => Promise<void> = async () =>
      undefined,
  ) {}

  /** Lists her records, fetches them 500 to a call, and opens each one here. */
  async load(): Promise<void> {
    await this.ctx.run('Opening your records…', async () => {
      const { vault } = this.ctx.signedIn();
      const views = (await vault.listRecords()).filter((v) => !v.erased);
      const items: RecordItem[] = [];
      for (let i = 0; i < views.length; i += 500) {
        const { records } = await vault.fetchRecords(views.slice(i, i + 500).map((v) => v.record_id));
        items.push(...(await Promise.all(records.map((content) => this.open(content)))));
      }
      const { records, index, results } = readTogether(items);
      const interrupted = interruptedImport();
      this.ctx.set({ records: newestFirst(records), index, results, ...(interrupted ? { notice: interrupted } : {}) });
    });
  }

  /**
   * What changed in the vault since the timeline was opened (a provider added a record under her
   * write grant, her other device stored or erased one): only those records are fetched and
   * opened, and a sentence says what came. Quiet when nothing changed or the vault cannot be asked.
   */
  async refresh(): Promise<void> {
    const { vault } = this.ctx.signedIn();
    const before = this.ctx.state.records;
    const views = (await vault.listRecords()).filter((v) => !v.erased);
    const shown = new Map(before.map((r) => [r.view.record_id, r]));
    const changed = views.filter((v) => shown.get(v.record_id)?.view.version !== v.version);
    const live = new Set(views.map((v) => v.record_id));
    const gone = this.ctx.state.records.filter((r) => !live.has(r.view.record_id));
    if (changed.length === 0 && gone.length === 0) return;
    const fresh: RecordItem[] = [];
    for (let i = 0; i < changed.length; i += 500) {
      const { records } = await vault.fetchRecords(changed.slice(i, i + 500).map((v) => v.record_id));
      fresh.push(...(await Promise.all(records.map((content) => this.open(content)))));
    }
    // Her records changed here meanwhile (an import, an erase, a reload): this answer is older than
    // them, and applying it would hide what was just stored. The next refresh starts afresh.
    if (this.ctx.state.records !== before) return;
    const replaced = new Set(fresh.map((r) => r.view.record_id));
    const kept = before.filter((r) => live.has(r.view.record_id) && !replaced.has(r.view.record_id));
    const { records, index, results } = readTogether([...kept, ...fresh]);
    const added = fresh.filter((r) => !shown.has(r.view.record_id)).length;
    this.ctx.set({
      records: newestFirst(records),
      index,
      results,
      ...(added > 0 ? { notice: `${plural(added, 'new record')} arrived since you opened your records.` } : {}),
    });
  }

  /** One record opened here; a record that will not open or show is kept with the reason. */
  async open(content: Schemas['RecordContent']): Promise<RecordItem> {
    const view = content.record;
    try {
      const opened = await openRecordContent(view, content.ciphertext, content.wrapped_key, this.ctx.keys().secret);
      opened.dataKey.fill(0);
      const resource = asResource(opened.resource);
      if (!resource)
        return {
          view,
          text: opened.text,
          title: `${typeName(view.resource_type)} (could not be shown)`,
          problem: UNSHOWABLE,
        };
      const date = dateOf(resource);
      const source = await this.sourceOf(content);
      return {
        view,
        resource,
        text: opened.text,
        title: titleOf(resource),
        ...(date ? { date } : {}),
        ...(source ? { source } : {}),
      };
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      return { view, title: `${view.resource_type} (could not be opened)`, problem };
    }
  }

  /** Where a record pulled from a provider came from; nothing for any other (or an origin that will not open). */
  private async sourceOf(content: Schemas['RecordContent']) {
    if (!content.origin) return undefined;
    const { address } = this.ctx.signedIn().wallet;
    try {
      const source = (
        await openOrigin(
          originKey(this.ctx.keys().secret),
          content.record.record_id,
          address,
          base64.decode(content.origin),
        )
      ).source;
      const ok =
        source &&
        typeof source.server === 'string' &&
        typeof source.resourceType === 'string' &&
        typeof source.id === 'string' &&
        typeof source.sha256 === 'string';
      return ok ? source : undefined;
    } catch {
      return undefined; // the record shows as it is; only the next sync cannot recognise it
    }
  }

  setFilter(filter: Partial<RecordFilter>) {
    this.ctx.set({ filter: { ...this.ctx.state.filter, ...filter } });
  }

  /** Erases one of her records for good (crypto-shredded in the vault), then shows the rest. */
  async erase(recordId: string): Promise<void> {
    this.ctx.set({ notice: undefined });
    await this.ctx.run('Erasing the record…', async () => {
      await this.ctx.signedIn().vault.eraseRecord(recordId);
      this.ctx.set({
        screen: 'records',
        records: this.ctx.state.records.filter((r) => r.view.record_id !== recordId),
        notice: 'The record was erased.',
      });
    });
  }

  /** Reads a FHIR JSON or C-CDA file and plans what would be stored, nothing sealed yet. */
  async planFile(file: File): Promise<void> {
    this.ctx.set({ notice: undefined });
    await this.ctx.run(`Reading ${file.name}…`, async () => {
      const { planned, keys } = await planInWorker(file, (words) => this.ctx.set({ busy: words }));
      this.ctx.set({ planned: markStored(planned, keys, this.ctx.state.records), busy: undefined });
    });
  }

  /** Adds something she notes herself (as valid FHIR) to what will be stored. */
  planSelfReport(report: SelfReport) {
    try {
      this.ctx.set({
        error: undefined,
        planned: [...this.ctx.state.planned, plan({ resource: selfReportedResource(report) })],
      });
    } catch (err) {
      this.ctx.set({ error: err instanceof Error ? err.message : String(err) });
    }
  }

  setPlannedCategory(index: number, category: Category) {
    const planned = this.ctx.state.planned.map((p, i) => (i === index ? chosen(p, category) : p));
    this.ctx.set({ planned });
  }

  /** "Set all like this": every record still waiting for her choice goes to `category`. */
  setUndecidedCategories(category: Category) {
    const planned = this.ctx.state.planned.map((p) => (p.category ? p : chosen(p, category)));
    this.ctx.set({ planned });
  }

  /** Seals each planned resource here and stores it; wraps it for providers she already shares the category with. */
  /** Stores what was left out for `reason` too (she said so, having read why). */
  keepIn(reason: 'invalid' | 'stored') {
    this.ctx.set({ planned: keepIn(this.ctx.state.planned, reason) });
  }

  async storePlanned(): Promise<void> {
    const planned = this.ctx.state.planned.filter((p) => !p.skip);
    if (planned.some((p) => !p.category)) {
      return this.ctx.set({ error: 'Choose a category for every record first: it decides who you share it with.' });
    }
    const progress = importProgress();
    await this.ctx.run(undefined, async () => {
      const { vault, wallet, chain } = this.ctx.signedIn();
      const keys = this.ctx.keys();
      let done = 0;
      progress.start(planned.length);
      // Each provider's published key is read from the chain once per import, not per record.
      const providerKeys = new Map<string, Promise<Uint8Array>>();
      const providerKey = (provider: string) => {
        const key = providerKeys.get(provider) ?? providerEncryptionKey(chain, this.ctx.deployment(), provider as Hex);
        providerKeys.set(provider, key);
        return key;
      };
      const step = Math.max(1, Math.floor(planned.length / 100));
      const stored = (count: number) => {
        const before = done;
        done += count;
        progress.stored(done);
        // Progress in steps of 1 %: each step re-renders the screen, so not one per record.
        if (Math.floor(before / step) !== Math.floor(done / step) || done === planned.length)
          this.ctx.set({ busy: `Encrypting and storing your records: ${done} of ${planned.length}…` });
      };
      const owner = { address: wallet.address, publicKey: keys.publicKey };
      // A new version goes to whoever reads its category now: live grants and break-glass.
      let readers: Promise<{
        grants: Schemas['GrantView'][];
        emergency: { categories: string[]; providers: string[] };
      }>;
      const readersFor = async (category: string) => {
        readers ??= Promise.all([
          vault.grants('patient'),
          readEmergency(vault, chain, this.ctx.deployment(), wallet.address),
        ]).then(([listing, emergency]) => ({ grants: Array.isArray(listing) ? listing : [], emergency }));
        const { grants, emergency } = await readers;
        const providers = new Set(
          grants.filter((g) => g.state === 'live' && g.categories.includes(category)).map((g) => g.grant.provider),
        );
        if (emergency.categories.includes(category)) for (const p of emergency.providers) providers.add(p);
        return Promise.all([...providers].map(async (p) => ({ address: p as Hex, publicKey: await providerKey(p) })));
      };
      // A record with a file goes on its own (its upload shows its own progress).
      const storeWithFile = async (item: PlannedRecord) => {
        const sealed = await sealNewRecord({
          owner: wallet.address,
          resource: item.resource,
          text: item.text,
          category: item.category!,
          readers: [owner],
        });
        await withPulledOrigin(sealed, item, originKey(this.ctx.keys().secret));
        const created = await vault.createRecord(sealed.body);
        await wrapForProviders({ vault, providerKey }, created, sealed);
        await this.uploadAttachment(created.record.record_id, sealed, item.attachment!.file, item.attachment!.title);
        stored(1);
      };
      try {
        this.ctx.set({ busy: `Encrypting and storing your records: 0 of ${planned.length}…` });
        await storeInBatches(
          planned.filter((p) => !p.attachment && !p.replaces),
          { vault, owner, providerKey, stored, originKey: originKey(this.ctx.keys().secret) },
        );
        const current = new Map(this.ctx.state.records.map((r) => [r.view.record_id, r.view]));
        await storeUpdates(
          planned.filter((p) => p.replaces),
          current,
          {
            vault,
            owner,
            readersFor,
            stored,
            originKey: originKey(this.ctx.keys().secret),
            attach: (recordId, sealed, item) =>
              this.uploadAttachment(recordId, sealed, item.attachment!.file, item.attachment!.title),
          },
        );
        for (const item of planned.filter((p) => p.attachment && !p.replaces)) await storeWithFile(item);
      } catch (err) {
        // Said with what was stored, so she knows where she is: adding the file again skips those.
        const words = err instanceof Error ? err.message : String(err);
        throw new Error(
          `${words} ${done} of ${planned.length} records were stored before it stopped; add the file again to store the rest (what is stored already is skipped).`,
        );
      } finally {
        progress.finish();
      }
      this.ctx.set({
        planned: [],
        busy: undefined,
        screen: 'records',
        notice: `${plural(done, 'record')} added, encrypted in this browser.`,
      });
      await this.load();
      await this.onStored([...new Set(planned.map((p) => p.category!))], planned);
    });
  }

  /**
   * Adds a PDF or image as a DocumentReference record with the file attached: encrypted here in
   * chunks, then uploaded, with progress for both.
   */
  async attachFile(file: File): Promise<void> {
    if (!/^(application\/pdf|image\/(png|jpeg|gif|webp))$/.test(file.type)) {
      return this.ctx.set({
        error: `${file.name} is not a PDF or an image (PNG, JPEG, GIF, WebP). Choose one of those.`,
      });
    }
    await this.ctx.run(undefined, async () => {
      const { vault, wallet } = this.ctx.signedIn();
      const resource: Resource = {
        resourceType: 'DocumentReference',
        status: 'current',
        date: new Date().toISOString(),
        description: file.name,
        content: [{ attachment: { contentType: file.type, title: file.name, size: file.size } }],
      };
      const sealed = await sealNewRecord({
        owner: wallet.address,
        resource,
        category: 'documents',
        readers: [{ address: wallet.address, publicKey: this.ctx.keys().publicKey }],
      });
      const created = await vault.createRecord(sealed.body);
      await this.uploadAttachment(created.record.record_id, sealed, file, file.name);
      this.ctx.set({ busy: undefined, screen: 'records', notice: `${file.name} added, encrypted in this browser.` });
      await this.load();
      await this.onStored(['documents'], []);
    });
  }

  /** Decrypts a record's attached file here and shows it (PDF or image), for this screen only. */
  async showAttachment(recordId: string): Promise<void> {
    const file = attachedFile(this.ctx.state.records.find((r) => r.view.record_id === recordId));
    if (!file) return this.ctx.set({ error: 'This record has no file attached.' });
    await this.ctx.run('Opening the file…', async () => {
      const plain = await collect(await this.attachmentStream(recordId));
      this.clearPreview();
      const blob = new Blob([plain as BlobPart], { type: file.contentType });
      // Plain text is shown as text (never as markup); a long one is saved instead.
      if (/^text\/plain\b/.test(file.contentType) && plain.length <= MAX_TEXT_PREVIEW) {
        const text = new TextDecoder().decode(plain);
        this.ctx.set({ busy: undefined, preview: { url: '', contentType: 'text/plain', title: file.title, text } });
        return;
      }
      if (!/^(application\/pdf|image\/)/.test(file.contentType)) {
        // Not something a page can show safely: she saves it instead (a download she asked for).
        saveFile(blob, file.title);
        this.ctx.set({ busy: undefined, notice: `${file.title} decrypted and saved to your downloads.` });
        return;
      }
      this.ctx.set({
        busy: undefined,
        preview: { url: URL.createObjectURL(blob), contentType: file.contentType, title: file.title },
      });
    });
  }

  clearPreview() {
    const preview = this.ctx.state.preview;
    if (!preview) return;
    if (preview.url) URL.revokeObjectURL(preview.url);
    this.ctx.set({ preview: undefined });
  }

  /** A record's versions, newest first (what each says is opened only when she asks). */
  async loadHistory(recordId: string): Promise<void> {
    await this.ctx.run(undefined, async () => {
      const { vault } = this.ctx.signedIn();
      const { versions } = await vault.recordHistory(recordId);
      this.ctx.set({ history: { recordId, versions } });
      // Changed elsewhere since the timeline was opened (her CLI, another device): show the latest.
      const shown = this.ctx.state.records.find((r) => r.view.record_id === recordId);
      if (shown && versions[0] && versions[0].version !== shown.view.version) {
        const latest = await this.open(await vault.fetchRecord(recordId));
        const { records, index, results } = readTogether(
          this.ctx.state.records.map((r) => (r.view.record_id === recordId ? latest : r)),
        );
        this.ctx.set({ records, index, results });
      }
    });
  }

  /** Opens an earlier version of a record here, to read beside the current one. */
  async showVersion(recordId: string, version: number): Promise<void> {
    const history = this.ctx.state.history;
    if (history?.recordId !== recordId)
      return this.ctx.set({ error: 'Open the record again to see its earlier versions.' });
    await this.ctx.run(undefined, async () => {
      const content = await this.ctx.signedIn().vault.fetchRecordVersion(recordId, version);
      const opened = await openRecordContent(
        content.record,
        content.ciphertext,
        content.wrapped_key,
        this.ctx.keys().secret,
        version,
      );
      opened.dataKey.fill(0);
      this.ctx.set({ history: { ...history, shown: { version, resource: opened.resource as Resource } } });
    });
  }

  /**
   * Her records as one FHIR Bundle file, decrypted here, attached files inline, for her to keep
   * (a download she asked for). Records that could not be opened are left out and named.
   */
  async exportRecords(): Promise<Blob | undefined> {
    const records = this.ctx.state.records;
    const items = records.flatMap((r) =>
      r.resource
        ? [
            {
              resource: r.resource,
              ...(r.text ? { text: r.text } : {}),
              category: r.view.category as Category,
              ...(attachedFile(r) ? { attachment: () => this.attachmentStream(r.view.record_id) } : {}),
            },
          ]
        : [],
    );
    const left = records.length - items.length;
    return this.ctx.run(undefined, async () => {
      this.ctx.keys();
      const blob = await exportBundle(items, (done, total) =>
        this.ctx.set({ busy: `Preparing your file: record ${done} of ${total}…` }),
      );
      this.ctx.set({
        busy: undefined,
        notice:
          `${plural(items.length, 'record')} saved to a FHIR file, attached files included.` +
          (left > 0 ? ` ${left} could not be opened and ${left === 1 ? 'is' : 'are'} not in it.` : ''),
      });
      return blob;
    });
  }

  /** Encrypts `file` under the new record's data key (then wiped) and uploads it, with progress. */
  private async uploadAttachment(
    recordId: string,
    sealed: Pick<Sealed, 'dataKey' | 'binding'>,
    file: Blob,
    name: string,
  ): Promise<void> {
    const percent = (done: number, total: number) => (total === 0 ? 100 : Math.floor((done / total) * 100));
    try {
      const ciphertext = await encryptToBlob(sealed.dataKey, sealed.binding, file, (done, total) =>
        this.ctx.set({ busy: `Encrypting ${name}: ${percent(done, total)}%` }),
      );
      await this.ctx
        .signedIn()
        .vault.uploadAttachmentBlob(recordId, sealed.binding.version, ciphertext, (sent, total) =>
          this.ctx.set({ busy: `Uploading ${name}: ${percent(sent, total)}%` }),
        );
    } finally {
      sealed.dataKey.fill(0);
    }
  }

  /** The plaintext of a record's attached file, decrypted here as it streams in. */
  private async attachmentStream(recordId: string): Promise<ReadableStream<Uint8Array>> {
    const { vault } = this.ctx.signedIn();
    const fetched = await vault.fetchRecord(recordId);
    const opened = await openRecordContent(
      fetched.record,
      fetched.ciphertext,
      fetched.wrapped_key,
      this.ctx.keys().secret,
    );
    const { stream } = await vault.downloadAttachment(recordId);
    const key = opened.dataKey;
    // The key is wiped once the stream is read to the end or abandoned.
    return stream
      .pipeThrough(decryptStream(key, opened.binding))
      .pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: () => void key.fill(0) }));
  }
}
