//! Files that hold health data, keys or sessions: readable by this user only (mode 0600), and,
//! where a half-written file would do harm (a keystore, an export), written beside their target
//! and moved into place only when complete. Decrypted records and attachments always are
//! ([`write_new`], [`Pending`]): an existing file's looser mode is never kept, and a symbolic link
//! in the target's place is refused rather than followed.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// A new temporary file in `dir` (which must exist), mode 0600; `persist` it to its final name.
pub fn temp_in(dir: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".medkey")
        .permissions(mode())
        .tempfile_in(dir)
        .with_context(|| format!("writing in {}", dir.display()))
}

/// Writes `bytes` to `path` (mode 0600) all or nothing: through a temporary file beside it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut file = temp_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Refuses a symbolic link at `path`: writing through it would put health data wherever it points.
fn refuse_symlink(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => anyhow::bail!(
            "{} is a symbolic link; name a regular file (decrypted health data is never written through a link)",
            path.display()
        ),
        _ => Ok(()),
    }
}

/// Writes decrypted data to `path`: a new 0600 file moved into place (never an existing file's
/// mode, never through a symbolic link).
pub fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    refuse_symlink(path)?;
    write_atomically(path, bytes)
}

/// A decrypted file being written (streamed) beside `path`; [`Pending::finish`] moves it into place.
pub struct Pending {
    temp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Pending {
    pub fn begin(path: &Path) -> anyhow::Result<Self> {
        refuse_symlink(path)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Ok(Self { temp: temp_in(dir)?, path: path.to_owned() })
    }

    pub fn file(&mut self) -> &mut std::fs::File {
        self.temp.as_file_mut()
    }

    /// Synced and renamed over `path` (dropped unfinished, the temporary file is removed).
    pub fn finish(self) -> anyhow::Result<()> {
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.path).with_context(|| format!("writing {}", self.path.display()))?;
        Ok(())
    }
}

/// `path` created (or truncated) readable by this user only.
pub fn create(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(unix)]
fn mode() -> std::fs::Permissions {
    std::os::unix::fs::PermissionsExt::from_mode(0o600)
}

#[cfg(not(unix))]
fn mode() -> std::fs::Permissions {
    std::fs::metadata(".").map(|m| m.permissions()).expect("the working directory")
}
