//! Files that hold health data, keys or sessions: readable by this user only (mode 0600), and,
//! where a half-written file would do harm (a keystore, an export), written beside their target
//! and moved into place only when complete.

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
