//! Garage, a real S3-compatible object store (`make setup` builds it from crates.io into
//! `tools/garage/bin/garage`, once): one node of the test's own, with a layout, a bucket and an
//! access key, on free ports. It can be stopped and started again with its data, and gives the
//! `AWS_*` variables `medkey serve` reads for `blobs.backend = "s3"`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_for_port};

pub struct Garage {
    dir: tempfile::TempDir,
    binary: PathBuf,
    pub s3_port: u16,
    rpc_port: u16,
    child: Option<Child>,
    pub bucket: String,
    pub key_id: String,
    pub secret_key: String,
}

/// The Garage `make setup` installs.
pub fn binary() -> PathBuf {
    let path = crate::workspace_root().join("tools/garage/bin/garage");
    assert!(path.is_file(), "{} is missing: run `make setup` (it builds Garage once)", path.display());
    path
}

impl Garage {
    /// A one-node Garage with bucket `medkey` and a key allowed to read and write it.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("medkey-garage").tempdir().unwrap();
        let (s3_port, rpc_port, admin_port) = (free_port(), free_port(), free_port());
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).unwrap();
        let config = format!(
            "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\nrpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_secret = \"{secret}\"\n\n[s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\n\
             root_domain = \".s3.garage.localhost\"\n\n[admin]\napi_bind_addr = \"127.0.0.1:{admin_port}\"\n",
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
            secret = alloy::hex::encode(secret),
        );
        std::fs::write(dir.path().join("garage.toml"), config).unwrap();
        let mut garage = Self {
            dir,
            binary: binary(),
            s3_port,
            rpc_port,
            child: None,
            bucket: "medkey".into(),
            key_id: String::new(),
            secret_key: String::new(),
        };
        garage.start_again();
        let node = garage.cli(&["node", "id", "-q"]);
        let node = node.trim().split('@').next().unwrap().to_owned();
        garage.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        garage.cli(&["layout", "apply", "--version", "1"]);
        garage.cli(&["bucket", "create", "medkey"]);
        let created = garage.cli(&["key", "create", "medkey-test"]);
        garage.key_id = field(&created, "Key ID:");
        garage.secret_key = field(&created, "Secret key:");
        garage.cli(&["bucket", "allow", "--read", "--write", "--owner", "medkey", "--key", "medkey-test"]);
        garage
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("garage.toml")
    }

    /// Runs `garage -c … args`; panics with its output unless it succeeds.
    pub fn cli(&self, args: &[&str]) -> String {
        for _ in 0..50 {
            let out = Command::new(&self.binary).arg("-c").arg(self.config()).args(args).output().unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if out.status.success() {
                return text;
            }
            // Right after start, the node may not answer its own RPC yet.
            if !text.contains("connect") && !text.contains("Connection") {
                panic!("garage {args:?} failed:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("garage {args:?} never succeeded");
    }

    /// Starts the stopped server again, with its data; returns once the S3 API listens.
    pub fn start_again(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.config())
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("garage starts");
        self.child = Some(child);
        wait_for_port(self.rpc_port, Duration::from_secs(20), "garage (RPC)");
        wait_for_port(self.s3_port, Duration::from_secs(20), "garage (S3 API)");
    }

    /// Stops the server (SIGKILL: what it acknowledged is on disk already).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The variables `medkey serve` reads for this bucket (object_store's `AWS_*`).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", "garage".into()),
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.s3_port)),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false".into()),
        ]
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The value after `name` on its line of Garage's output.
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .trim()
        .to_owned()
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}
