//! A PostgreSQL server of the test's own: `initdb` into a temporary directory and `pg_ctl`, from
//! Debian's postgresql package (run as the `postgres` user when the tests run as root, which
//! PostgreSQL requires). It can be stopped and started again on the same port with its data,
//! and can require TLS.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::certs::TestCerts;
use super::{free_port, give_to, is_root};

pub struct TempPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    running: bool,
}

/// The newest installed server's programs (`/usr/lib/postgresql/<version>/bin`).
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server is not installed: apt-get install postgresql")
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    found.sort();
    found.pop().expect("no initdb under /usr/lib/postgresql: apt-get install postgresql")
}

/// `program args…`, as the postgres user if this process is root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TempPostgres {
    /// A new cluster listening on 127.0.0.1 (trust authentication, user `postgres`). With
    /// `tls`, it serves TLS with that certificate and refuses TCP connections without it.
    pub fn start(tls: Option<&TestCerts>) -> Self {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("medkey-pg").tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        give_to(dir.path(), "postgres");
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        run(initdb, "initdb");
        let port = free_port();
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nmax_connections = 200\n\
             fsync = on\nlog_min_messages = warning\n",
            dir.path().display()
        );
        let mut hba = "local all all trust\n".to_owned();
        match tls {
            Some(certs) => {
                std::fs::copy(&certs.cert, data.join("server.crt")).unwrap();
                std::fs::copy(&certs.key, data.join("server.key")).unwrap();
                conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
                // TLS or nothing: a client that does not ask for it is refused.
                hba.push_str("hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n");
            }
            None => hba.push_str("host all all 127.0.0.1/32 trust\n"),
        }
        let append = |name: &str, text: &str| {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().append(true).open(data.join(name)).unwrap();
            file.write_all(text.as_bytes()).unwrap();
        };
        append("postgresql.conf", &conf);
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        give_to(dir.path(), "postgres");
        if tls.is_some() {
            std::fs::set_permissions(data.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
        }
        let mut server = Self { dir, bin, port, running: false };
        server.start_again();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `postgres://postgres@<host>:<port>/postgres` and `extra` as the query (e.g.
    /// `sslmode=verify-full&sslrootcert=…`).
    pub fn url(&self, host: &str, extra: &str) -> String {
        let query = if extra.is_empty() { String::new() } else { format!("?{extra}") };
        format!("postgres://postgres@{host}:{}/postgres{query}", self.port)
    }

    /// Starts the stopped server again, on its port with its data; returns once it accepts
    /// connections.
    pub fn start_again(&mut self) {
        let log = self.dir.path().join("server.log");
        let mut start = as_postgres(&self.bin.join("pg_ctl"));
        start.arg("-D").arg(self.data()).arg("-l").arg(&log).args(["-w", "-t", "60", "start"]);
        run(start, "pg_ctl start");
        self.running = true;
    }

    /// Stops the server (fast: sessions are cut, committed data kept).
    pub fn stop(&mut self) {
        let mut stop = as_postgres(&self.bin.join("pg_ctl"));
        stop.arg("-D").arg(self.data()).args(["-m", "fast", "-w", "stop"]);
        run(stop, "pg_ctl stop");
        self.running = false;
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if self.running {
            let mut stop = as_postgres(&self.bin.join("pg_ctl"));
            stop.arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]);
            let _ = stop.output();
        }
    }
}
