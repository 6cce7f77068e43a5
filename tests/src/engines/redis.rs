//! A Redis server of the test's own (Debian's redis-server), on a free port, keeping nothing on
//! disk; plain or TLS-only. It can be stopped and started again on the same port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::certs::TestCerts;
use super::{free_port, program, wait_for_port};

pub struct TempRedis {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl TempRedis {
    /// A new server; with `tls`, only TLS connections with that certificate (no client
    /// certificates asked for).
    pub fn start(tls: Option<&TestCerts>) -> Self {
        let port = free_port();
        let mut args: Vec<String> =
            ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"].iter().map(|s| s.to_string()).collect();
        match tls {
            Some(certs) => args.extend([
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port.to_string(),
                "--tls-cert-file".into(),
                certs.cert.display().to_string(),
                "--tls-key-file".into(),
                certs.key.display().to_string(),
                "--tls-ca-cert-file".into(),
                certs.ca.display().to_string(),
                "--tls-auth-clients".into(),
                "no".into(),
            ]),
            None => args.extend(["--port".into(), port.to_string()]),
        }
        let mut server = Self { port, args, child: None };
        server.start_again();
        server
    }

    pub fn start_again(&mut self) {
        let child = Command::new(program("redis-server", "redis-server"))
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(10), "redis-server");
    }

    /// Stops the server (SIGKILL: Redis keeps nothing here anyway).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
