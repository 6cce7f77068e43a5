//! HAProxy (Debian's haproxy) in front of vault replicas: round robin, each replica
//! health-checked on `/readyz` twice a second, the client's address passed on in
//! `X-Forwarded-For` after dropping any the client sent (the shipped rules; the vault trusts it
//! from 127.0.0.1 only when told to), and a request whose
//! connection to a replica failed sent to another one (nothing was sent, so nothing is repeated).
//! `docs/operations/haproxy.cfg` is the production version of this file.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, program, wait_for_port};

pub struct Haproxy {
    pub port: u16,
    /// The statistics page (`/stats`), for the tests' failure messages.
    pub stats_port: u16,
    config: PathBuf,
    _dir: tempfile::TempDir,
    child: Child,
}

/// The shipped configuration's `http-request del-header` lines (the client's own forwarding
/// headers dropped), so that the tests run exactly what operators are told to run.
fn shipped_header_rules() -> String {
    let shipped = std::fs::read_to_string(crate::workspace_root().join("docs/operations/haproxy.cfg")).unwrap();
    let rules: String = shipped
        .lines()
        .filter(|line| line.trim_start().starts_with("http-request del-header"))
        .map(|line| format!("    {}\n", line.trim()))
        .collect();
    assert!(!rules.is_empty(), "docs/operations/haproxy.cfg drops no client forwarding header");
    rules
}

/// The configuration for `backends` (ports on 127.0.0.1), listening on `port`. HAProxy's own
/// 502 and 503 are the shipped error files (docs/operations/errors), in the API's error shape.
pub fn config(port: u16, stats_port: u16, backends: &[u16]) -> String {
    let header_rules = shipped_header_rules();
    let errors = crate::workspace_root().join("docs/operations/errors");
    let errorfiles: String = [502, 503]
        .iter()
        .map(|status| format!("    errorfile {status} {}/{status}.http\n", errors.display()))
        .collect();
    let mut text = format!(
        "global\n    maxconn 4096\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n    \
         timeout http-request 15s\n    retries 3\n    option redispatch 1\n    \
         retry-on conn-failure empty-response\n    option forwardfor\n{errorfiles}\n\
         frontend vault\n    bind 127.0.0.1:{port}\n{header_rules}    default_backend replicas\n\n\
         backend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n    \
         http-check expect status 200\n    default-server inter 500ms fall 2 rise 2\n    \
         # A request that may have changed something is never sent twice by the proxy.\n    \
         http-request disable-l7-retry if !METH_GET !METH_HEAD\n"
    );
    for (i, backend) in backends.iter().enumerate() {
        text.push_str(&format!("    server vault{} 127.0.0.1:{backend} check\n", i + 1));
    }
    text.push_str(&format!(
        "\nfrontend stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /stats\n"
    ));
    text
}

impl Haproxy {
    pub fn start(backends: &[u16]) -> Self {
        let dir = tempfile::Builder::new().prefix("medkey-haproxy").tempdir().unwrap();
        let (port, stats_port) = (free_port(), free_port());
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(&config, self::config(port, stats_port, backends)).unwrap();
        let binary = program("haproxy", "haproxy");
        let check = Command::new(&binary).arg("-c").arg("-f").arg(&config).output().expect("haproxy -c runs");
        assert!(
            check.status.success(),
            "haproxy refuses its configuration:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(&binary)
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy starts");
        wait_for_port(port, Duration::from_secs(10), "haproxy");
        Self { port, stats_port, config, _dir: dir, child }
    }

    pub fn config_path(&self) -> &std::path::Path {
        &self.config
    }

    /// The process id (to read its CPU time from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
