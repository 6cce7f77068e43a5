//! Real servers the tests start and stop themselves: PostgreSQL and Redis of their own (so a test
//! may restart them, or turn on TLS, without touching the machine's), HAProxy in front of vault
//! replicas, and a test certificate authority. Each fails the test loudly when its program is
//! missing, naming the Debian package that has it.

pub mod certs;
pub mod garage;
pub mod haproxy;
pub mod postgres;
pub mod redis;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A port free now on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `name` on the PATH, or the test fails saying which package to install.
pub fn program(name: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|p| p.is_file()))
        .unwrap_or_else(|| panic!("`{name}` is not installed: apt-get install {package}"))
}

/// Waits until something accepts TCP connections on `port` (or `within` passes: panics).
pub fn wait_for_port(port: u16, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on port {port} within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether this process is root (servers that refuse to run as root then run as their user).
#[allow(unsafe_code)]
pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe extern "C" {
        fn getuid() -> u32;
    }
    unsafe { getuid() == 0 }
}

/// Gives `path` (recursively) to the system user `user` (when running as root).
pub fn give_to(path: &Path, user: &str) {
    if is_root() {
        let status = std::process::Command::new("chown").arg("-R").arg(format!("{user}:{user}")).arg(path).status();
        assert!(status.is_ok_and(|s| s.success()), "chown {user} {}", path.display());
    }
}
