//! The README's first command as a new user meets it: `medkey dev` starts a chain, deploys the
//! registry, registers two demo providers, runs the indexer and the vault on SQLite, and prints a
//! three-line walkthrough. This test runs those three lines exactly as printed (in bash, from a
//! directory outside the checkout, `medkey` not on the PATH): the patient uploads an official
//! FHIR example, grants the demo lab through the relay, and the lab decrypts it.

use std::path::Path;
use std::process::Command;

use medkey_e2e::daemon::Daemon;
use medkey_e2e::{medkey_bin, workspace_root};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `script` in bash from `dir` (in the tests' medkey home); (success, stdout, stderr).
fn bash(script: &str, dir: &Path) -> (bool, String, String) {
    let out = Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .env("MEDKEY_HOME", medkey_e2e::test_home())
        .env_remove("MEDKEY_PRIVATE_KEY")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_walkthrough_works() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).display().to_string();
    let (chain, vault, metrics) = (free_port(), free_port(), free_port());
    // Started outside the checkout with the default deployments directory (in the medkey home,
    // never the checkout's tracked deployments/); the commands then run from yet another directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut command = medkey_e2e::medkey_command();
    command
        .current_dir(dir.path())
        .env("MEDKEY_ANVIL", workspace_root().join("tools/node_modules/.bin/anvil"))
        .env_remove("MEDKEY_PRIVATE_KEY")
        .args([
            "dev",
            "--port",
            &chain.to_string(),
            "--vault-addr",
            &format!("127.0.0.1:{vault}"),
            "--metrics-addr",
            &format!("127.0.0.1:{metrics}"),
            "--mirror-db",
            &at("dev.sqlite"),
            "--blob-dir",
            &at("blobs"),
        ]);
    let mut dev = Daemon::spawn("medkey dev", command);
    let printed = dev.wait_for_output("Press Ctrl-C").await;
    assert!(printed.contains("demo lab") && printed.contains("demo clinic"), "{printed}");
    let steps: Vec<&str> = printed
        .lines()
        .skip_while(|line| !line.starts_with("Try it"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .map(str::trim)
        .collect();
    assert_eq!(steps.len(), 3, "a three-line walkthrough:\n{printed}");
    assert!(medkey_e2e::test_home().join("deployments/31337.json").exists(), "dev state in the medkey home");
    assert!(!Path::new(&at("deployments")).exists(), "nothing written where it was started");
    assert!(printed.contains("by anvil account 8"), "the anchorer has an account of its own:\n{printed}");

    assert!(
        steps[0].contains(&medkey_bin().canonicalize().unwrap().display().to_string()),
        "by its full path: {}",
        steps[0]
    );
    let (ok, out, err) = bash(steps[0], elsewhere.path());
    assert!(ok, "step 1 `{}`:\n{out}{err}", steps[0]);
    let record = out.lines().nth(1).and_then(|row| row.split_whitespace().next()).expect("the uploaded record's id");
    let export = steps[0].split("; ").next().unwrap();
    let (ok, out, err) = bash(&format!("{export}; {}", steps[1]), elsewhere.path());
    assert!(ok && out.contains("shared    1 record(s)"), "step 2 `{}`:\n{out}{err}", steps[1]);
    let (ok, out, err) = bash(&steps[2].replace("<record id from upload>", record), elsewhere.path());
    assert!(ok, "step 3 `{}`:\n{out}{err}", steps[2]);
    let fetched: serde_json::Value = serde_json::from_str(&out).unwrap();
    let original: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("tests/fixtures/fhir-r4/Observation-bloodgroup.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(fetched, original, "the lab decrypts exactly what the patient uploaded");

    let (status, output) = dev.terminate();
    assert!(status.success(), "Ctrl-C / SIGTERM stops medkey dev cleanly:\n{output}");
}
