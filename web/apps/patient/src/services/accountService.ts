// Her account's second factor: turning TOTP on (a QR code for her authenticator app, then
// recovery codes shown once) and off (a code or a recovery code).

import type { StatusState } from '@medkey/app-shell';
import type { ServiceContext } from './context.ts';

export interface AccountSlice extends StatusState {
  /** The second factor: whether it is on, and an enrolment under way (QR code, then recovery codes once). */
  mfa?: { enabled: boolean; setup?: { secret: string; qr: string }; recoveryCodes?: string[] } | undefined;
}

export class AccountService {
  constructor(private readonly ctx: ServiceContext<AccountSlice>) {}

  async loadMfa(): Promise<void> {
    await this.ctx.run(undefined, async () => {
      const status = await this.ctx.signedIn().vault.mfaStatus();
      this.ctx.set({ mfa: { enabled: status.enabled } });
    });
  }

  /** Turning the second factor on: a secret shown as a QR code for her authenticator app. */
  async startMfa(): Promise<void> {
    await this.ctx.run(undefined, async () => {
      const setup = await this.ctx.signedIn().vault.mfaSetup();
      const { toDataURL } = await import('qrcode');
      const qr = await toDataURL(setup.otpauth_url, { margin: 1, width: 240 });
      this.ctx.set({ mfa: { enabled: false, setup: { secret: setup.secret, qr } } });
    });
  }

  async confirmMfa(code: string): Promise<void> {
    await this.ctx.run(undefined, async () => {
      const { recovery_codes } = await this.ctx.signedIn().vault.mfaEnable(code.trim());
      this.ctx.set({
        mfa: { enabled: true, recoveryCodes: recovery_codes },
        notice: 'Second factor on. Keep the recovery codes below somewhere safe: they are shown only now.',
      });
    });
  }

  async disableMfa(code: string): Promise<void> {
    const text = code.trim();
    await this.ctx.run(undefined, async () => {
      await this.ctx.signedIn().vault.mfaDisable(/^\d{6}$/.test(text) ? { totp: text } : { recovery_code: text });
      this.ctx.set({ mfa: { enabled: false }, notice: 'Second factor off.' });
    });
  }
}
