// Every failure the library reports is a MedkeyError: a stable code for programs and a sentence
// for people that says what happened and what to do next.

export class MedkeyError extends Error {
  override readonly name = 'MedkeyError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class EnvelopeError extends MedkeyError {
  constructor(code: EnvelopeErrorCode, message: string) {
    super(code, message);
  }
}

export type EnvelopeErrorCode =
  'unsupported_version' | 'truncated' | 'authentication' | 'weak_public_key' | 'chunk_size' | 'resource_type';

export const authenticationFailed = () =>
  new EnvelopeError('authentication', 'envelope failed authentication (wrong key, wrong record, or tampered)');
