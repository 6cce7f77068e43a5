//! Writing an account's keystore: Web3 Secret Storage v3 (the format geth, MetaMask's import
//! and every Ethereum tool read), through `eth-keystore`'s own types, with geth's standard scrypt
//! cost (N = 2^18, r = 8, p = 1) rather than `eth-keystore`'s lighter default (2^13), written
//! mode 0600 through a temporary file. Reading stays with `eth-keystore` (any cost it names).
//! A passphrase is checked with zxcvbn, a strength estimator, before anything is written.

use std::path::Path;

use aes::cipher::{KeyIvInit, StreamCipher};
use alloy::signers::local::PrivateKeySigner;
use anyhow::bail;
use eth_keystore::{CipherparamsJson, CryptoJson, EthKeystore, KdfType, KdfparamsType};
use rand::RngCore;
use zeroize::Zeroizing;

/// geth's `StandardScryptN`: about a second and 256 MiB per unlock on a laptop.
pub const SCRYPT_LOG_N: u8 = 18;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

/// zxcvbn's score (0–4) a passphrase needs: 3 is "safely unguessable" for an offline attack
/// on a slow hash, which is what a stolen keystore faces.
pub const MIN_SCORE: u8 = 3;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Refuses a passphrase a strength estimator can guess, saying why and what would be better.
pub fn check_strength(passphrase: &str) -> anyhow::Result<()> {
    if passphrase.is_empty() {
        bail!("the passphrase is empty: choose one of four or more unrelated words");
    }
    let estimate = zxcvbn::zxcvbn(passphrase, &["medkey"]);
    if u8::from(estimate.score()) >= MIN_SCORE {
        return Ok(());
    }
    let mut advice = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            advice.push(warning.to_string());
        }
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    bail!(
        "this passphrase is too easy to guess{}. Choose a longer one, e.g. four or more unrelated words",
        if advice.is_empty() { String::new() } else { format!(" ({})", advice.join(" ")) }
    )
}

/// Encrypts `signer`'s key under `passphrase` and writes it to `path` (mode 0600, all or
/// nothing), refusing to overwrite unless `force`.
pub fn write(path: &Path, signer: &PrivateKeySigner, passphrase: &str, force: bool) -> anyhow::Result<()> {
    refuse_existing(path, force)?;
    crate::private_files::write_atomically(path, encrypt(signer, passphrase, SCRYPT_LOG_N)?.as_bytes())
}

/// Fails before any question is asked if `path` exists and may not be replaced.
pub fn refuse_existing(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!("{} already exists; pass --force to replace it (its key is lost unless backed up)", path.display());
    }
    Ok(())
}

/// The keystore JSON for `signer` at scrypt cost 2^`log_n`.
pub fn encrypt(signer: &PrivateKeySigner, passphrase: &str, log_n: u8) -> anyhow::Result<String> {
    let mut rng = rand::thread_rng();
    let (mut salt, mut iv, mut id) = (vec![0u8; 32], vec![0u8; 16], [0u8; 16]);
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    rng.fill_bytes(&mut id);
    let params =
        scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P).map_err(|_| anyhow::anyhow!("invalid scrypt parameters"))?;
    let mut derived = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase.as_bytes(), &salt, &params, derived.as_mut())
        .map_err(|_| anyhow::anyhow!("scrypt failed"))?;
    let mut ciphertext = signer.to_bytes().to_vec();
    Aes128Ctr::new(derived[..16].into(), iv.as_slice().into()).apply_keystream(&mut ciphertext);
    let mac = alloy::primitives::keccak256([&derived[16..32], ciphertext.as_slice()].concat());
    let keystore = EthKeystore {
        crypto: CryptoJson {
            cipher: "aes-128-ctr".into(),
            cipherparams: CipherparamsJson { iv },
            ciphertext,
            kdf: KdfType::Scrypt,
            kdfparams: KdfparamsType::Scrypt { dklen: 32, n: 1 << log_n, p: SCRYPT_P, r: SCRYPT_R, salt },
            mac: mac.to_vec(),
        },
        id: uuid::Builder::from_bytes(id)
            .set_variant(uuid::Variant::RFC4122)
            .set_version(uuid::Version::Random)
            .build(),
        version: 3,
    };
    Ok(serde_json::to_string(&keystore)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_keystore_reads_what_is_written_with_the_cost_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let signer = PrivateKeySigner::random();
        // A low cost keeps the test quick; `write` uses SCRYPT_LOG_N.
        let json = encrypt(&signer, "violet ladder quietly orbit", 10).unwrap();
        assert!(json.contains("\"n\":1024"), "{json}");
        assert!(!json.contains(&alloy::hex::encode(signer.to_bytes())), "stored encrypted");
        std::fs::write(dir.path().join("k.json"), &json).unwrap();
        let read =
            PrivateKeySigner::decrypt_keystore(dir.path().join("k.json"), "violet ladder quietly orbit").unwrap();
        assert_eq!(read.address(), signer.address());
        assert!(PrivateKeySigner::decrypt_keystore(dir.path().join("k.json"), "violet ladder quietly orbi").is_err());
    }

    #[test]
    fn weak_passphrases_are_refused_with_advice_and_strong_ones_pass() {
        for weak in ["", "password", "medkey123", "qwertyuiop", "alice1990", "aaaaaaaaaaaa"] {
            assert!(check_strength(weak).is_err(), "{weak:?} was accepted");
        }
        let advice = check_strength("password1").unwrap_err().to_string();
        assert!(advice.contains("too easy to guess"), "{advice}");
        for strong in ["correct horse battery staple", "violet ladder quietly orbit", "T7#vq!pL2@xz9&Rm"] {
            check_strength(strong).unwrap_or_else(|e| panic!("{strong:?}: {e}"));
        }
    }
}
