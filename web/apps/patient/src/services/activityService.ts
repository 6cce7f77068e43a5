// Her activity log, checked in this browser before it is shown: the operator's signature on the
// tree head, every entry's inclusion, the head continuing the last one this page saw, and the
// anchor on chain; and the checked log as FHIR AuditEvents for her to keep.

import { auditEventBundle, checkVaultLog, type CheckedLog } from '@medkey/client';
import type { AppConfig, StatusState } from '@medkey/app-shell';
import type { ServiceContext } from './context.ts';

export interface ActivitySlice extends StatusState {
  activity?: CheckedLog | undefined;
  config?: AppConfig | undefined;
}

export class ActivityService {
  /** The last audit head this page checked (memory only): the next one must continue it. */
  private lastHead?: { size: number; root: string } | undefined;

  constructor(private readonly ctx: ServiceContext<ActivitySlice>) {}

  async load(): Promise<void> {
    const config = this.ctx.state.config;
    if (!config)
      return this.ctx.set({ error: 'This page could not read its settings from the vault. Reload the page.' });
    await this.ctx.run('Checking your activity log…', async () => {
      const { vault, chain } = this.ctx.signedIn();
      const activity = await checkVaultLog(vault, chain, this.ctx.deployment(), config.audit_key, this.lastHead);
      if (activity.check.ok && activity.head) this.lastHead = { size: activity.head.size, root: activity.head.root };
      this.ctx.set({ activity });
    });
  }

  /** The activity she checked, as FHIR AuditEvents (a download she asked for). */
  asFhir(): Blob | undefined {
    const { activity, config } = this.ctx.state;
    if (!activity?.check.ok || !config) return undefined;
    const bundle = auditEventBundle(
      config.chain_id,
      activity.entries.map((e) => e.entry),
    );
    return new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/fhir+json' });
  }
}
