// The committed API types are exactly what openapi-typescript makes of the committed OpenAPI
// document (itself checked against the vault's code by tests/tests/it/vault_openapi.rs), so a
// handler change that is not regenerated (`make api`) fails here.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));

it('src/api/schema.ts is generated from vault/openapi.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medkey-api-'));
  const out = join(dir, 'schema.ts');
  const bin = join(pkg, '../../node_modules/.bin/openapi-typescript');
  execFileSync(bin, ['../../../vault/openapi.json', '--empty-objects-unknown', '-o', out], { cwd: pkg, stdio: 'pipe' });
  const committed = readFileSync(join(pkg, 'src/api/schema.ts'), 'utf8');
  const generated = readFileSync(out, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  expect(committed === generated, 'src/api/schema.ts is stale: run `make api` and commit it').toBe(true);
});
