// A real local stack for end-to-end tests: `medkey dev` (anvil, the ConsentRegistry, the
// indexer and the vault on SQLite) from the workspace's own build, on free ports, in a
// temporary directory so the tracked deployments/31337.json is never rewritten.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Address } from 'viem';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export function medkeyBinary(): string {
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target');
  const bin = join(target, 'debug/medkey');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`make build\` first (make test-web does)`);
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface DevStack {
  rpcUrl: string;
  vaultUrl: string;
  /** The SIWE domain the dev vault expects. */
  siweDomain: string;
  chainId: number;
  registry: Address;
  auditKey: string;
  deploymentsDir: string;
  /** anvil's well-known dev keys (public knowledge, never real funds). */
  keys: { admin: `0x${string}`; patient: `0x${string}`; lab: `0x${string}`; clinic: `0x${string}` };
  stop(): Promise<void>;
}

export async function startDevStack(
  options: {
    webRoot?: string;
    /** FHIR base URLs the app lists under "Connect a provider". */ smartEndpoints?: string[];
  } = {},
): Promise<DevStack> {
  const dir = mkdtempSync(join(tmpdir(), 'medkey-web-e2e-'));
  const [rpc, vault, metrics] = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    medkeyBinary(),
    [
      'dev',
      '--port',
      String(rpc),
      '--vault-addr',
      `127.0.0.1:${vault}`,
      '--metrics-addr',
      `127.0.0.1:${metrics}`,
      '--mirror-db',
      join(dir, 'dev.sqlite'),
      '--blob-dir',
      join(dir, 'blobs'),
      '--deployments-dir',
      join(dir, 'deployments'),
      '--web-root',
      options.webRoot ?? join(dir, 'no-app'),
      ...(options.smartEndpoints ?? []).flatMap((endpoint) => ['--smart-endpoint', endpoint]),
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        MEDKEY_HOME: join(dir, 'home'),
        MEDKEY_ANVIL: join(repoRoot, 'tools/node_modules/.bin/anvil'),
        RUST_LOG: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`medkey dev did not start in 60 s:\n${output}`)), 60_000);
    const check = () => {
      if (output.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`medkey dev exited (${code}):\n${output}`));
    });
  });
  const deployment = JSON.parse(readFileSync(join(dir, 'deployments/31337.json'), 'utf8'));
  return {
    rpcUrl: `http://127.0.0.1:${rpc}`,
    vaultUrl: `http://127.0.0.1:${vault}`,
    siweDomain: `localhost:${vault}`,
    chainId: deployment.chainId,
    registry: deployment.address,
    auditKey: deployment.auditKey,
    deploymentsDir: join(dir, 'deployments'),
    keys: {
      admin: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
      patient: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
      lab: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
      clinic: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The environment the medkey CLI runs in against the stack, as `privateKey`. */
export function medkeyCliEnv(stack: DevStack, privateKey: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MEDKEY_PRIVATE_KEY: privateKey,
    MEDKEY_VAULT_URL: stack.vaultUrl,
    MEDKEY_SIWE_DOMAIN: stack.siweDomain,
    MEDKEY_RPC_URL: stack.rpcUrl,
    MEDKEY_DEPLOYMENTS_DIR: stack.deploymentsDir,
    MEDKEY_HOME: join(stack.deploymentsDir, '..', 'home'),
  };
}

/** Runs the medkey CLI against the stack as `privateKey`; resolves with stdout, rejects with stderr. */
export function medkeyCli(stack: DevStack, privateKey: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(medkeyBinary(), args, {
      cwd: repoRoot,
      env: medkeyCliEnv(stack, privateKey),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`medkey ${args.join(' ')} → ${code}\n${err}`)),
    );
  });
}
