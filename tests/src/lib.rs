//! Harness for the end-to-end tests in `tests/tests/`: finds the built `medkey` binary and the
//! project-local anvil, and fails loudly (never skips) when either is missing.

pub mod chain;
pub mod daemon;
pub mod db;
pub mod engines;
pub mod fhir_refs;
pub mod load;
pub mod mirror;
pub mod proxy;
pub mod scenario;
pub mod sealed;
pub mod serve;
pub mod vault;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use alloy::node_bindings::{Anvil, AnvilInstance};

/// The workspace root (where `Cargo.toml`, `abi/` and `deployments/` live).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The `medkey` binary built alongside this test (`cargo build --bins` / `make test` build it).
pub fn medkey_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> (a test) or target/<profile>/<bench> (a bench binary)
    // -> target/<profile>/medkey
    let dir = exe.parent().expect("the executable's directory");
    let profile_dir = if dir.ends_with("deps") { dir.parent().expect("target/<profile>") } else { dir };
    let bin = profile_dir.join("medkey");
    assert!(bin.is_file(), "{} is missing: build it first with `cargo build --bins` (make test does)", bin.display());
    bin
}

/// A medkey home (keystore, deployment copies, audit state) of this test process's own, so no
/// test reads or writes the real `~/.medkey`. A static is never dropped, so the home cannot
/// delete itself when the process ends: homes live under the target directory
/// (`test-homes/<pid>`), and each new one first removes those whose process has exited, so a
/// test run leaves at most the homes of processes still running, and nothing in the system's
/// temporary folder.
pub fn test_home() -> &'static Path {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
        let root = target.join("test-homes");
        std::fs::create_dir_all(&root).expect("the test homes' directory");
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let pid = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok());
            if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let home = root.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("a medkey home for this test process");
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("a private home");
        home
    })
}

/// `medkey` as the tests run it: in the test process's own medkey home (a test may set another).
pub fn medkey_command() -> Command {
    let mut cmd = Command::new(medkey_bin());
    cmd.env("MEDKEY_HOME", test_home());
    cmd
}

/// Runs `medkey` with `args` and extra environment, returning its output.
pub fn medkey(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = medkey_command();
    cmd.args(args).current_dir(workspace_root()).env_remove("MEDKEY_PRIVATE_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("medkey runs")
}

/// Runs the FHIR R4 validator (`scripts/fhir_validate.py` in the `tools/py` venv that `make setup`
/// installs) on `files`: (valid, its report).
pub fn fhir_validate(files: &[&Path]) -> (bool, String) {
    let python = workspace_root().join("tools/py/bin/python");
    assert!(python.exists(), "{} is missing: run `make setup`", python.display());
    let out = Command::new(python)
        .arg(workspace_root().join("scripts/fhir_validate.py"))
        .args(files)
        .output()
        .expect("the FHIR validator runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// The project-local anvil (`make setup` installs it).
pub fn anvil_path() -> PathBuf {
    let path = std::env::var_os("MEDKEY_ANVIL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tools/node_modules/.bin/anvil"));
    assert!(path.exists(), "{} is missing: run `make setup` (or set MEDKEY_ANVIL)", path.display());
    path
}

/// A fresh anvil on a free port; killed when dropped.
pub fn spawn_anvil() -> AnvilInstance {
    Anvil::at(anvil_path()).try_spawn().expect("anvil starts")
}
