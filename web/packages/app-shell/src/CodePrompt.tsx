import { Button, TextInput } from '@mantine/core';
import { useState } from 'react';

/** Sign-in's second step, when the account has a second factor. */
export function CodePrompt({ onAnswer }: { onAnswer: (code: string) => void }) {
  const [code, setCode] = useState('');
  return (
    <form
      aria-labelledby="code-title"
      onSubmit={(e) => {
        e.preventDefault();
        onAnswer(code);
      }}
    >
      <h2 id="code-title">Your second factor</h2>
      <TextInput
        id="signin-code"
        label="Six-digit code from your authenticator app (or a recovery code)"
        value={code}
        onChange={(e) => setCode(e.currentTarget.value)}
        inputMode="numeric"
        autoComplete="one-time-code"
      />
      <Button type="submit" mt="sm">
        Sign in
      </Button>
    </form>
  );
}
