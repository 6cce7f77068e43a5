//! `deployments/<chain-id>.json`: where the ConsentRegistry lives on one network.

use std::{
    fs,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub chain_id: u64,
    pub contract: String,
    pub address: Address,
    /// Block that holds the deployment transaction; indexers start reading logs here.
    pub deploy_block: u64,
    pub tx_hash: B256,
    /// keccak256 of the `abi/ConsentRegistry.json` the contract was deployed from.
    pub abi_hash: B256,
    pub deployer: Address,
    pub admin: Address,
    /// The vault operator's Ed25519 audit key (hex): `medkey audit verify` trusts tree heads
    /// signed by it. Absent until a vault for this network publishes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error("no deployment for chain {chain_id}: {path} does not exist (deploy with `medkey deploy`)")]
    Missing { chain_id: u64, path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid deployment file: {source}")]
    Invalid { path: PathBuf, source: serde_json::Error },
    #[error("{path} is for chain {found}, expected chain {expected}")]
    WrongChain { path: PathBuf, expected: u64, found: u64 },
}

impl Deployment {
    /// `dir/<chain-id>.json`.
    pub fn path(dir: &Path, chain_id: u64) -> PathBuf {
        dir.join(format!("{chain_id}.json"))
    }

    pub fn load(dir: &Path, chain_id: u64) -> Result<Self, DeploymentError> {
        let path = Self::path(dir, chain_id);
        let text = fs::read_to_string(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => DeploymentError::Missing { chain_id, path: path.clone() },
            _ => DeploymentError::Io { path: path.clone(), source },
        })?;
        let deployment: Self =
            serde_json::from_str(&text).map_err(|source| DeploymentError::Invalid { path: path.clone(), source })?;
        if deployment.chain_id != chain_id {
            return Err(DeploymentError::WrongChain { path, expected: chain_id, found: deployment.chain_id });
        }
        Ok(deployment)
    }

    /// Writes atomically (temp file + rename), so a crash never leaves half a file behind.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, DeploymentError> {
        let path = Self::path(dir, self.chain_id);
        let io = |source| DeploymentError::Io { path: path.clone(), source };
        fs::create_dir_all(dir).map_err(io)?;
        let tmp = path.with_extension("json.tmp");
        let mut text = serde_json::to_string_pretty(self).expect("deployment serializes");
        text.push('\n');
        fs::write(&tmp, text).map_err(io)?;
        fs::rename(&tmp, &path).map_err(io)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Deployment {
        Deployment {
            chain_id: 5,
            contract: "ConsentRegistry".into(),
            address: Address::repeat_byte(1),
            deploy_block: 7,
            tx_hash: B256::repeat_byte(2),
            abi_hash: B256::repeat_byte(3),
            deployer: Address::repeat_byte(4),
            admin: Address::repeat_byte(5),
            audit_key: Some("ab".repeat(32)),
        }
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample().save(dir.path()).unwrap();
        assert!(path.ends_with("5.json"));
        assert_eq!(Deployment::load(dir.path(), 5).unwrap(), sample());
    }

    #[test]
    fn load_reports_missing_invalid_and_wrong_chain_precisely() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Deployment::load(dir.path(), 9), Err(DeploymentError::Missing { chain_id: 9, .. })));
        fs::write(dir.path().join("9.json"), "{").unwrap();
        assert!(matches!(Deployment::load(dir.path(), 9), Err(DeploymentError::Invalid { .. })));
        sample().save(dir.path()).unwrap();
        fs::rename(dir.path().join("5.json"), dir.path().join("6.json")).unwrap();
        assert!(matches!(
            Deployment::load(dir.path(), 6),
            Err(DeploymentError::WrongChain { expected: 6, found: 5, .. })
        ));
    }
}
