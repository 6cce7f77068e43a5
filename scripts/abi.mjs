#!/usr/bin/env node
// Writes abi/ConsentRegistry.json from forge's build output, or with --check fails when the
// checked-in file differs from what the contract compiles to (run after `forge build`).
// The file holds the ABI and the creation bytecode, so Rust code can bind to and deploy the
// contract with alloy's sol! and no Foundry at run time.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const artifactPath = join(root, "contracts/out/ConsentRegistry.sol/ConsentRegistry.json");
const abiPath = join(root, "abi/ConsentRegistry.json");

if (!existsSync(artifactPath)) {
  console.error(`abi: ${artifactPath} is missing; run forge build first`);
  process.exit(2);
}
const artifact = JSON.parse(readFileSync(artifactPath, "utf8"));
const out = {
  contractName: "ConsentRegistry",
  abi: artifact.abi,
  bytecode: artifact.bytecode.object,
  deployedBytecode: artifact.deployedBytecode.object,
};
const text = JSON.stringify(out, null, 2) + "\n";

if (process.argv.includes("--check")) {
  const current = existsSync(abiPath) ? readFileSync(abiPath, "utf8") : "";
  if (current !== text) {
    console.error("abi: abi/ConsentRegistry.json does not match the compiled contract.");
    console.error("     Run `make abi` and commit the result.");
    process.exit(1);
  }
  console.log(`abi: abi/ConsentRegistry.json matches the contract`);
} else {
  writeFileSync(abiPath, text);
  console.log(`abi: wrote abi/ConsentRegistry.json`);
}
