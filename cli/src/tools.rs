//! Where the project-local dev tools live (installed by scripts/setup.sh).

use std::path::PathBuf;

use anyhow::{Context, bail};

/// The anvil binary: `$MEDKEY_ANVIL`, else `tools/node_modules/.bin/anvil` below the current
/// directory or the source checkout this binary was built from, else `anvil` on PATH.
pub fn anvil() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("MEDKEY_ANVIL") {
        return Ok(PathBuf::from(path));
    }
    let local = PathBuf::from("tools/node_modules/.bin/anvil");
    let built_from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/node_modules/.bin/anvil");
    for candidate in [local, built_from] {
        if candidate.exists() {
            return candidate.canonicalize().context("resolving the anvil path");
        }
    }
    match which_on_path("anvil") {
        Some(path) => Ok(path),
        None => bail!("anvil not found: run `make setup` (installs Foundry into tools/) or set MEDKEY_ANVIL"),
    }
}

fn which_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}
