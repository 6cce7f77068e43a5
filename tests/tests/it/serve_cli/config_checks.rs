//! `medkey serve` refusing what it must not run with: another chain, and each bad
//! configuration with a precise message; `--check` printing the resolved settings, no secret.

use super::*;

/// A node serving another chain than `chain.chain_id` is refused before anything starts.
#[test]
fn refuses_a_node_on_another_chain() {
    let anvil = spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let config =
        base_config(&anvil.endpoint(), "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1, "sqlite://mirror.sqlite")
            .replace("chain_id = 31337", "chain_id = 1");
    let config_path = write(dir.path(), "medkey.toml", &config);
    let (code, _, stderr) =
        run(dir.path(), &["--config", config_path.to_str().unwrap()], &[("MEDKEY_VAULT_SECRET", VAULT_SECRET.into())]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("serves chain 31337, but chain.chain_id is 1"), "{stderr}");
    assert!(!dir.path().join("mirror.sqlite").exists(), "nothing may start before the chain is checked");
}

/// Each bad configuration fails with exit 1 (2 for a usage error) and a message naming the key
/// and where it came from; none of them connects to anything or prints a secret.
#[test]
fn rejects_bad_configurations_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let good = base_config("http://127.0.0.1:9", "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1, "sqlite://m.sqlite");
    let secret = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned())];
    let check = |config: &str, env: &[(&str, String)]| {
        let path = write(dir.path(), "medkey.toml", config);
        let result = run(dir.path(), &["--config", path.to_str().unwrap(), "--check"], env);
        assert_no_secret(&format!("{}{}", result.1, result.2), &[VAULT_SECRET]);
        result
    };
    let fails = |config: &str, env: &[(&str, String)], expected: &[&str]| {
        let (code, stdout, stderr) = check(config, env);
        assert_eq!(code, Some(1), "expected failure with {expected:?}:\n{stdout}\n{stderr}");
        for needle in expected {
            assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
        }
    };

    let (code, stdout, stderr) = check(&good, &secret);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");

    // A typo in the file, and in an override.
    fails(
        &good.replace("[identity]", "[vault]\nlistn = \"0.0.0.0:8080\"\n\n[identity]"),
        &secret,
        &["vault.listn", "medkey.toml", "unknown key `listn`", "listen"],
    );
    fails(&format!("{good}\n[vualt]\nlisten = \"0.0.0.0:8080\"\n"), &secret, &["vualt", "unknown key"]);
    let mut env = secret.to_vec();
    env.push(("MEDKEY_VAULT__LISTN", "0.0.0.0:8080".into()));
    fails(&good, &env, &["vault.listn (MEDKEY_VAULT__LISTN)", "unknown key `listn`"]);

    // Malformed values, in the file and in an override.
    fails(
        &good.replace("poll_interval_ms = 50", "confirmations = \"twelve\""),
        &secret,
        &["chain.confirmations", "medkey.toml", "expected u64"],
    );
    fails(
        &good.replace("poll_interval_ms = 50", "confirmations = 12"),
        &secret,
        &["freshness.max_lag_blocks (default): is 3 but chain.confirmations is 12", "at least 15"],
    );
    let mut env = secret.to_vec();
    env.push(("MEDKEY_VAULT__LISTEN", "localhost-8080".into()));
    fails(&good, &env, &["vault.listen (MEDKEY_VAULT__LISTEN)", "socket address"]);
    // A secret pasted into the wrong variable is named by type only, never echoed.
    let mut env = secret.to_vec();
    env.push(("MEDKEY_ANCHORING__ENABLED", AUDIT_SEED.into()));
    fails(&good, &env, &["anchoring.enabled (MEDKEY_ANCHORING__ENABLED)", "expected a boolean"]);
    let (_, stdout, stderr) = check(&good, &env);
    assert_no_secret(&format!("{stdout}{stderr}"), &[AUDIT_SEED]);
    fails(
        &good.replace("sqlite://m.sqlite", "mysql://db/medkey"),
        &secret,
        &["database.url", "must start with postgres://"],
    );
    fails(&good.replace("http://127.0.0.1:9", "127.0.0.1:8545"), &secret, &["chain.rpc_url", "not an http(s)://"]);
    fails(&good.replace(DOMAIN, "https://vault.example.org/"), &secret, &["identity.domain", "no scheme or path"]);
    fails(
        &good.replace("registry = ", "# registry = "),
        &secret,
        &["chain.registry (default): is not set but chain.deploy_block is"],
    );
    fails(
        &good.replace("dir = \"blobs\"", "backend = \"s3\""),
        &secret,
        &["blobs.bucket", "is not set: it names the S3 bucket"],
    );
    fails(&good.replace("[identity]\ndomain", "[identity]\nrealm"), &secret, &["identity.realm", "unknown key"]);
    fails(&good.replace("domain = ", "# domain = "), &secret, &["identity.domain: missing", "MEDKEY_IDENTITY__DOMAIN"]);

    // Secrets: missing, short, malformed, in the file, or in a configuration override.
    fails(&good, &[], &["no vault secret", "MEDKEY_VAULT_SECRET", "never starts with a default secret"]);
    fails(&good, &[("MEDKEY_VAULT_SECRET", "abcd".into())], &["MEDKEY_VAULT_SECRET", "at least 32 bytes"]);
    fails(&good, &[("MEDKEY_VAULT_SECRET", "not hex, but secret-ish".into())], &["MEDKEY_VAULT_SECRET is not hex"]);
    fails(
        &good.replace("[identity]", &format!("[vault]\nsecret = \"{VAULT_SECRET}\"\n\n[identity]")),
        &secret,
        &["vault.secret", "never read from the configuration", "MEDKEY_VAULT_SECRET"],
    );
    let mut env = secret.to_vec();
    env.push(("MEDKEY_RELAYER__KEY", VAULT_SECRET.into()));
    fails(
        &good,
        &env,
        &["relayer.key (MEDKEY_RELAYER__KEY)", "never read from the configuration", "MEDKEY_RELAYER_KEY"],
    );
    fails(&format!("{good}\n[relayer]\nenabled = true\n"), &secret, &["relayer.enabled is true", "MEDKEY_RELAYER_KEY"]);
    fails(
        &format!("{good}\n[audit]\nkey_file = \"missing.key\"\n"),
        &secret,
        &["audit.key_file", "cannot read missing.key"],
    );
    let mut env = secret.to_vec();
    env.push(("MEDKEY_AUDIT_KEY", "abcdef".into()));
    fails(&good, &env, &["MEDKEY_AUDIT_KEY", "32 bytes"]);

    // [notifications]: the webhook secret missing, short, in the file or in an override, from
    // an unreadable file or from two places; a bad or missing URL; bad tunables; typos.
    let hooks = format!("{good}\n[notifications]\nurl = \"https://hooks.example.org/medkey\"\n");
    let mut with_hook_secret = secret.to_vec();
    with_hook_secret.push(("MEDKEY_WEBHOOK_SECRET", WEBHOOK_SECRET.into()));
    let (code, stdout, stderr) = check(&hooks, &with_hook_secret);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    fails(
        &hooks,
        &secret,
        &[
            "[notifications] is configured but no webhook secret is set: set MEDKEY_WEBHOOK_SECRET (at least 32 \
             bytes",
            "notifications.secret_file",
        ],
    );
    let mut env = secret.to_vec();
    env.push(("MEDKEY_WEBHOOK_SECRET", "too-short\n".into()));
    fails(&hooks, &env, &["MEDKEY_WEBHOOK_SECRET: the webhook secret must be at least 32 bytes, not 9"]);
    fails(
        &format!("{hooks}secret = \"{WEBHOOK_SECRET}\"\n"),
        &secret,
        &[
            "notifications.secret (",
            "medkey.toml): secrets are never read from the configuration; set MEDKEY_WEBHOOK_SECRET in the \
             environment or name a file holding it with notifications.secret_file",
        ],
    );
    let (_, stdout, stderr) = check(&format!("{hooks}secret = \"{WEBHOOK_SECRET}\"\n"), &secret);
    assert_no_secret(&format!("{stdout}{stderr}"), &[WEBHOOK_SECRET]);
    let mut env = secret.to_vec();
    env.push(("MEDKEY_NOTIFICATIONS__WEBHOOK_SECRET", WEBHOOK_SECRET.into()));
    fails(
        &hooks,
        &env,
        &[
            "notifications.webhook_secret (MEDKEY_NOTIFICATIONS__WEBHOOK_SECRET): secrets are never read",
            "MEDKEY_WEBHOOK_SECRET",
        ],
    );
    let (_, stdout, stderr) = check(&hooks, &env);
    assert_no_secret(&format!("{stdout}{stderr}"), &[WEBHOOK_SECRET]);
    fails(
        &format!("{hooks}secret_file = \"missing.secret\"\n"),
        &secret,
        &["notifications.secret_file: cannot read missing.secret"],
    );
    let hook_secret_file = write_secret_file(dir.path(), "webhook.secret", &format!("{WEBHOOK_SECRET}\n"));
    let with_file = format!("{hooks}secret_file = \"{}\"\n", hook_secret_file.display());
    let (code, stdout, stderr) = check(&with_file, &secret);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("signed with a secret from notifications.secret_file"), "{stdout}");
    assert_no_secret(&format!("{stdout}{stderr}"), &[WEBHOOK_SECRET]);
    fails(&with_file, &with_hook_secret, &["both MEDKEY_WEBHOOK_SECRET and notifications.secret_file", "use one"]);
    fails(
        &hooks.replace("https://hooks.example.org/medkey", "ftp://hooks.example.org/medkey"),
        &with_hook_secret,
        &["notifications.url (", "medkey.toml): 'ftp://hooks.example.org/medkey' is not an http:// or https:// URL"],
    );
    fails(
        &hooks.replace("https://hooks.example.org/medkey", "hooks.example.org/medkey"),
        &with_hook_secret,
        &["notifications.url (", "medkey.toml): 'hooks.example.org/medkey' is not an http:// or https:// URL"],
    );
    let mut env = with_hook_secret.clone();
    env.push(("MEDKEY_NOTIFICATIONS__URL", "http://".into()));
    fails(&hooks, &env, &["notifications.url (MEDKEY_NOTIFICATIONS__URL): 'http://' is not an http:// or https://"]);
    fails(
        &format!("{good}\n[notifications]\nmax_attempts = 3\n"),
        &with_hook_secret,
        &["notifications.url: missing (set it in the file or with MEDKEY_NOTIFICATIONS__URL)"],
    );
    fails(
        &format!("{hooks}max_attempts = 0\nfirst_retry_ms = 5000\nmax_backoff_secs = 2\n"),
        &with_hook_secret,
        &[
            "notifications.max_attempts (",
            "medkey.toml): must be at least 1",
            "notifications.max_backoff_secs (",
            "medkey.toml): must be at least notifications.first_retry_ms (5000 ms)",
        ],
    );
    fails(
        &format!("{hooks}max_attempt = 3\n"),
        &with_hook_secret,
        &["notifications.max_attempt", "unknown key `max_attempt`", "max_attempts"],
    );
    // A webhook secret without the section starts, with a warning.
    let (code, stdout, stderr) = check(&good, &with_hook_secret);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("MEDKEY_WEBHOOK_SECRET is set but there is no [notifications] section: it is not used"),
        "{stderr}"
    );
    assert!(stdout.contains("# webhooks          off"), "{stdout}");

    // Without a deployment file or a registry in the file, the missing file is named.
    let no_registry = good.replace("registry = ", "# registry = ").replace("deploy_block = ", "# deploy_block = ");
    fails(&no_registry, &secret, &["no deployment for chain 31337", "deployments/31337.json"]);

    // Not a --check: a missing secret stops the start just the same.
    let path = write(dir.path(), "medkey.toml", &good);
    let (code, _, stderr) = run(dir.path(), &["--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no vault secret: set MEDKEY_VAULT_SECRET"), "{stderr}");

    let (code, _, stderr) = run(dir.path(), &["--config", "nowhere.toml"], &secret);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot read the config file nowhere.toml"), "{stderr}");
    let (code, _, stderr) = run(dir.path(), &[], &secret);
    assert_eq!(code, Some(2), "clap usage error: {stderr}");
    assert!(stderr.contains("--config"), "{stderr}");
}

/// `--check` prints every resolved setting with its source, and secrets only by where they
/// came from, without connecting to anything (the database and chain here do not exist).
#[test]
fn check_prints_the_resolved_settings_but_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let relayer = PrivateKeySigner::random();
    let operator = PrivateKeySigner::random();
    let operator_file = write_secret_file(dir.path(), "operator.key", &format!("0x{}\n", hex_key(&operator)));
    let secret_file = write_secret_file(dir.path(), "vault.secret", VAULT_SECRET);
    let mut config =
        base_config("http://127.0.0.1:9", "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1, "sqlite://m.sqlite");
    config.push_str(&format!(
        "\n[vault]\nsecret_file = \"{}\"\n\n[relayer]\nenabled = true\n\n[anchoring]\nenabled = true\nkey_file = \"{}\"\n",
        secret_file.display(),
        operator_file.display()
    ));
    let path = write(dir.path(), "medkey.toml", &config);
    let database_url = format!("postgres://medkey:{DB_PASSWORD}@127.0.0.1:1/medkey");
    let env = [
        ("MEDKEY_RELAYER_KEY", hex_key(&relayer)),
        ("MEDKEY_AUDIT_KEY", AUDIT_SEED.to_owned()),
        ("MEDKEY_DATABASE__URL", database_url),
        ("MEDKEY_VAULT__LISTEN", "0.0.0.0:18080".to_owned()),
        ("MEDKEY_CHAIN__CONFIRMATIONS", "2".to_owned()),
    ];
    let (code, stdout, stderr) = run(dir.path(), &["--config", path.to_str().unwrap(), "--check"], &env);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let line = |key: &str| {
        stdout.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap_or_else(|| panic!("no {key} in:\n{stdout}"))
    };
    assert!(line("listen").contains("\"0.0.0.0:18080\"") && line("listen").ends_with("# MEDKEY_VAULT__LISTEN"));
    assert!(line("confirmations").contains("= 2") && line("confirmations").ends_with("# MEDKEY_CHAIN__CONFIRMATIONS"));
    assert!(line("url").contains("postgres://medkey:***@127.0.0.1:1/medkey"), "{stdout}");
    assert!(line("domain").ends_with("medkey.toml"), "{stdout}");
    assert!(line("max_lag_blocks").ends_with("# default"), "{stdout}");
    assert!(stdout.contains(&format!("relayer           account {}", relayer.address())), "{stdout}");
    assert!(stdout.contains(&format!("anchoring         account {}", operator.address())), "{stdout}");
    assert!(stdout.contains("from vault.secret_file"), "{stdout}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
    let output = format!("{stdout}\n{stderr}");
    assert_no_secret(&output, &[VAULT_SECRET, AUDIT_SEED, &hex_key(&relayer), &hex_key(&operator), DB_PASSWORD]);
}

/// Every configuration the repository ships (and the Docker image carries) passes `--check` with
/// its secrets in the environment, and production.toml, the documented one, names every key
/// (none is left to a default it does not show).
#[test]
fn every_shipped_configuration_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned()),
        ("MEDKEY_RELAYER_KEY", hex_key(&PrivateKeySigner::random())),
        ("MEDKEY_OPERATOR_KEY", hex_key(&PrivateKeySigner::random())),
        // No deployment file for the shipped networks here: name the registry instead.
        ("MEDKEY_CHAIN__REGISTRY", "0x5FbDB2315678afecb367f032d93F642f64180aa3".to_owned()),
        ("MEDKEY_CHAIN__DEPLOY_BLOCK", "1".to_owned()),
    ];
    let configs: Vec<std::path::PathBuf> = std::fs::read_dir(medkey_e2e::workspace_root().join("config"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    let names: Vec<_> = configs.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for expected in ["development.toml", "production.toml", "staging.toml"] {
        assert!(names.iter().any(|n| n == expected), "config/{expected} is shipped: {names:?}");
    }
    for config in &configs {
        let (code, stdout, stderr) = run(dir.path(), &["--config", config.to_str().unwrap(), "--check"], &env);
        assert_eq!(code, Some(0), "{}:\n{stdout}\n{stderr}", config.display());
        assert!(stdout.contains("configuration OK"), "{}:\n{stdout}", config.display());
        if config.ends_with("production.toml") {
            let defaulted: Vec<&str> = stdout.lines().filter(|l| l.ends_with("# default")).collect();
            assert!(defaulted.is_empty(), "production.toml leaves these to defaults it does not show: {defaulted:#?}");
        }
    }
}
