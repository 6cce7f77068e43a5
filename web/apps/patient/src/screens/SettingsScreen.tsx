import { Button, TextInput } from '@mantine/core';
import { useState } from 'react';
import { usePatientApp } from '../usePatientApp.ts';

export function SettingsScreen() {
  const [state, app] = usePatientApp();
  const [code, setCode] = useState('');
  const mfa = state.mfa;
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Your account</h1>
      <h2>Encryption key</h2>
      <p>
        Made from your wallet’s signature; only this wallet can make it again. Public part:{' '}
        <code className="address">{app.login.publicKeyHex()}</code>
      </p>
      <h2>Second factor</h2>
      {mfa?.enabled && !mfa.recoveryCodes && <p>On: signing in asks for a code from your authenticator app.</p>}
      {mfa && !mfa.enabled && !mfa.setup && (
        <>
          <p>Off. With it on, someone who gets hold of your wallet still needs your phone to sign in.</p>
          <Button type="button" onClick={() => void app.account.startMfa()}>
            Turn on the second factor
          </Button>
        </>
      )}
      {mfa?.setup && !mfa.enabled && (
        <>
          <p>Scan this code with an authenticator app (or type the key below), then enter the six digits it shows.</p>
          <img src={mfa.setup.qr} alt="QR code for your authenticator app" width={240} height={240} />
          <p>
            Key:{' '}
            <code className="address" data-testid="totp-secret">
              {mfa.setup.secret}
            </code>
          </p>
        </>
      )}
      {mfa?.recoveryCodes && (
        <>
          <p>Recovery codes (each works once, if you lose your phone):</p>
          <ul className="codes">
            {mfa.recoveryCodes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {(mfa?.setup || (mfa?.enabled && !mfa.recoveryCodes)) && (
        <>
          <TextInput
            label={mfa.enabled ? 'Code (or a recovery code) to turn it off' : 'Six-digit code'}
            id="mfa-code"
            value={code}
            onChange={(e) => setCode(e.currentTarget.value)}
            inputMode="numeric"
            autoComplete="one-time-code"
          />
          <Button
            type="button"

            onClick={() => {
              void (mfa.enabled ? app.account.disableMfa(code) : app.account.confirmMfa(code));
              setCode('');
            }}
          >
            {mfa.enabled ? 'Turn off the second factor' : 'Confirm'}
          </Button>
        </>
      )}
    </section>
  );
}
