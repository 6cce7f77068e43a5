//! Where the registry's deployment file for a chain is found, so that `medkey` works from any
//! directory, not only inside the Medkey checkout: the directory given (`--deployments-dir`,
//! default `./deployments`), then the medkey home's `deployments/` (`~/.medkey/deployments`),
//! where `medkey dev` and `medkey deploy` also keep a copy of what they deploy.

use std::path::{Path, PathBuf};

use anyhow::Context;
use medkey_protocol::deployment::{Deployment, DeploymentError};

use crate::wallet::medkey_home;

/// The medkey home's copy of the deployment files.
pub fn home_dir() -> PathBuf {
    medkey_home().join("deployments")
}

/// The deployment of chain `chain_id`, from `dir` or else the medkey home, with a message that
/// names every place looked and how to fix it.
pub fn find(dir: &Path, chain_id: u64) -> anyhow::Result<Deployment> {
    let home = home_dir();
    match Deployment::load(dir, chain_id) {
        Ok(found) => Ok(found),
        Err(DeploymentError::Missing { .. }) if dir != home => match Deployment::load(&home, chain_id) {
            Ok(found) => Ok(found),
            Err(DeploymentError::Missing { .. }) => anyhow::bail!(
                "no deployment of the Medkey registry for chain {chain_id}: looked for {chain_id}.json in {} and in \
                 {}. Pass --deployments-dir (or set MEDKEY_DEPLOYMENTS_DIR) to the directory that has it, copy it \
                 into {}, or deploy a registry with `medkey deploy`",
                dir.display(),
                home.display(),
                home.display()
            ),
            Err(err) => Err(err.into()),
        },
        Err(err) => Err(err.into()),
    }
}

/// Saves `deployment` into `dir`, and a copy into the medkey home (best effort: the home may be
/// read-only in a container, and `dir` is what was asked for).
pub fn save(deployment: &Deployment, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = deployment.save(dir).with_context(|| format!("saving the deployment into {}", dir.display()))?;
    if let Err(err) = deployment.save(&home_dir()) {
        tracing::warn!("could not keep a copy of the deployment in {}: {err}", home_dir().display());
    }
    Ok(path)
}
