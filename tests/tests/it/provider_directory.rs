//! The verified provider directory end to end, on a real chain, through the real `medkey`:
//! a provider applies with a profile its wallet signs → the registrar reviews it and approves
//! from its own wallet (registerProvider carries the profile's hash) → the profile is listed and
//! found by name, specialty and city → a patient's `medkey grants` shows the name → a directory
//! entry the vault edited is flagged, not believed → a suspension with a reason shows in the
//! directory with its words. Also: declines with a reason the applicant sees, one pending
//! application per wallet, every refusal with its code, and admin pages closed to accounts
//! without the registrar role (the refusal logged).

use alloy::primitives::{Address, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::vault::{DOMAIN, TestVault};
use medkey_protocol::directory::DirectoryProfile;
use serde_json::{Value, json};

struct World {
    chain: TestChain,
    _db: TestDb,
    indexer: RunningIndexer,
    vault: TestVault,
    deployments: tempfile::TempDir,
}

impl World {
    async fn start(backend: Backend) -> Self {
        let chain = TestChain::start().await;
        let db = TestDb::new(backend).await;
        let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
        indexer.wait_for_block(chain.head().await).await;
        let vault = TestVault::start(&indexer).await;
        let deployments = chain.deployments_dir();
        Self { chain, _db: db, indexer, vault, deployments }
    }

    async fn synced(&self) {
        let head = self.chain.head().await;
        self.indexer.wait_for_block(head).await;
        self.vault.wait_for_mirror_head(head).await;
    }

    async fn login(&self, who: &PrivateKeySigner) -> String {
        self.vault.login(who, self.chain.chain_id()).await
    }

    /// Runs `medkey` as `key`'s account against this world; (success, stdout, stderr).
    async fn medkey(&self, key: &PrivateKeySigner, args: &[&str]) -> (bool, String, String) {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let rpc = self.chain.rpc_url();
        let dir = self.deployments.path().display().to_string();
        let flags = ["--vault", &self.vault.url, "--siwe-domain", DOMAIN, "--rpc-url", &rpc, "--deployments-dir", &dir];
        // The directory and the chain's events are public: no sign-in, so no SIWE domain.
        let public = args[0] == "directory" || args[0] == "chain";
        all.extend(
            flags.iter().filter(|f| !(public && (**f == "--siwe-domain" || **f == DOMAIN))).map(|s| s.to_string()),
        );
        let key = alloy::hex::encode_prefixed(key.to_bytes());
        let output = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = all.iter().map(String::as_str).collect();
            medkey_e2e::medkey(&args, &[("MEDKEY_PRIVATE_KEY", &key)])
        })
        .await
        .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (output.status.success(), text(&output.stdout), text(&output.stderr))
    }

    /// A profile of `who`, signed by `who` in this registry's domain.
    fn signed_profile(&self, who: &PrivateKeySigner, name: &str, npi: &str) -> (DirectoryProfile, String) {
        let profile = DirectoryProfile {
            provider: who.address(),
            encryption_key: alloy::primitives::B256::left_padding_from(who.address().as_slice()),
            display_name: name.into(),
            organization: "Harbor Health".into(),
            npi: npi.into(),
            taxonomy: "207RC0000X".into(),
            city: "Portland".into(),
            country: "US".into(),
            website: String::new(),
            phone: String::new(),
            email: "desk@harbor.example".into(),
            issued_at: 1_800_000_000,
        };
        let digest = profile.signing_hash(self.chain.chain_id(), self.chain.registry);
        let signature = who.sign_hash_sync(&digest).unwrap();
        (profile, alloy::hex::encode_prefixed(signature.as_bytes()))
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        self.vault.call(method, path, token, body).await
    }
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn a_provider_applies_is_approved_found_and_suspended(backend: Backend) {
    let world = World::start(backend).await;
    let keys = world.chain.keys.clone();
    let (admin, provider, patient) = (keys[0].clone(), keys[3].clone(), keys[1].clone());

    // The provider applies with the real client: its wallet signs the profile and its own
    // encryption key.
    let (ok, out, err) = world
        .medkey(
            &provider,
            &[
                "provider",
                "apply",
                "--name",
                "Dr. Ana Reyes",
                "--organization",
                "Harbor Heart Clinic",
                "--npi",
                "1234567893",
                "--taxonomy",
                "207RC0000X",
                "--city",
                "Portland",
                "--country",
                "US",
                "--phone",
                "+1 503 555 0100",
                "--json",
            ],
        )
        .await;
    assert!(ok, "{out}{err}");
    let application: Value = serde_json::from_str(&out).unwrap();
    let id = application["id"].as_str().unwrap().to_owned();
    assert_eq!(application["status"], "pending");
    assert_eq!(application["kind"], "register");
    assert_eq!(application["specialty"], "Cardiovascular Disease");

    // One waiting application per wallet.
    let (ok, _, err) = world
        .medkey(
            &provider,
            &[
                "provider",
                "apply",
                "--name",
                "Dr. Ana Reyes",
                "--npi",
                "1234567893",
                "--taxonomy",
                "207RC0000X",
                "--city",
                "Portland",
                "--country",
                "US",
                "--phone",
                "+1 503 555 0100",
            ],
        )
        .await;
    assert!(!ok && err.contains("application_pending"), "{err}");

    // Nobody without the registrar role sees the queue, and the refusal is logged: once a window,
    // however often it is tried (a looping client costs the operator no anchoring).
    let patient_token = world.login(&patient).await;
    for _ in 0..20 {
        let (status, body) = world.call("GET", "/v1/admin/applications", Some(&patient_token), None).await;
        assert_eq!((status, code(&body)), (403, Some("not_registrar")), "{body}");
    }
    let (_, roles) = world.call("GET", "/v1/admin/roles", Some(&patient_token), None).await;
    assert_eq!(roles["roles"], json!([]));
    let refused: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM access_log WHERE kind = 'admin_get' AND outcome = 'not_registrar'")
            .fetch_one(world.indexer.store.pool())
            .await
            .unwrap();
    assert_eq!(refused, 1, "twenty refusals, one entry");

    // Not listed before the registry commits to it.
    let (status, body) = world.call("GET", &format!("/v1/directory/{}", provider.address()), None, None).await;
    assert_eq!((status, code(&body)), (404, Some("not_listed")), "{body}");

    // The registrar (the deployer holds every role) reviews and approves from its own wallet.
    let admin_token = world.login(&admin).await;
    let (_, roles) = world.call("GET", "/v1/admin/roles", Some(&admin_token), None).await;
    assert_eq!(roles["roles"], json!(["admin", "registrar", "pauser", "operator"]));
    let (ok, out, err) = world.medkey(&admin, &["admin", "applications"]).await;
    assert!(ok && out.contains("Dr. Ana Reyes") && out.contains("1234567893") && out.contains(&id), "{out}{err}");
    let (ok, out, err) = world.medkey(&admin, &["admin", "approve", &id, "--json"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("\"listed\":true"), "{out}");
    let on_chain = world.chain.registry().getProvider(provider.address()).call().await.unwrap();
    assert_eq!(on_chain.status, 1);
    assert_eq!(alloy::hex::encode_prefixed(on_chain.profileHash), application["profile_hash"].as_str().unwrap());
    world.synced().await;

    // Found by name (any case), by specialty and city, by NPI; not by a city it is not in.
    for query in ["?q=reyes", "?q=HARBOR", "?specialty=207RC0000X&city=portland", "?q=1234567893"] {
        let (status, page) = world.call("GET", &format!("/v1/directory{query}"), None, None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], 1, "{query}: {page}");
        let entry = &page["providers"][0];
        assert_eq!(entry["profile"]["display_name"], "Dr. Ana Reyes");
        assert_eq!(entry["status"], "active");
        assert!(entry["verified_at_ms"].as_u64().is_some(), "{entry}");
    }
    let (_, page) = world.call("GET", "/v1/directory?city=salem", None, None).await;
    assert_eq!(page["total"], 0);
    let (ok, out, err) = world.medkey(&patient, &["directory", "show", &provider.address().to_string()]).await;
    assert!(ok && out.contains("Dr. Ana Reyes — verified"), "{out}{err}");
    let (_, mine) =
        world.call("GET", "/v1/provider-applications/mine", Some(&world.login(&provider).await), None).await;
    assert_eq!(mine[0]["status"], "approved", "{mine}");

    // A patient's grants show the provider's name beside its address.
    let request = world.chain.request(provider.address(), &[medkey_protocol::Category::LabResults]).await;
    world.chain.grant(patient.address(), request).await;
    world.synced().await;
    let (ok, out, err) = world.medkey(&patient, &["grants"]).await;
    assert!(ok && out.contains(&format!("Dr. Ana Reyes ({})", provider.address())), "{out}{err}");
    let provider_text = provider.address().to_string();
    let (ok, out, err) = world.medkey(&patient, &["chain", "events", "--provider", &provider_text]).await;
    assert!(ok && out.contains("ProviderRegistered") && out.contains("provider_name=\"Dr. Ana Reyes\""), "{out}{err}");

    // With --names, a provider sees the name a patient shared in her Patient record (opening it
    // is a logged key release); without it, addresses only.
    let dir = tempfile::tempdir().unwrap();
    let details = dir.path().join("me.json");
    let me = json!({"resourceType": "Patient", "name": [{"use": "official", "given": ["María"], "family": "Núñez"}]});
    std::fs::write(&details, me.to_string()).unwrap();
    let (ok, out, err) =
        world.medkey(&patient, &["upload", details.to_str().unwrap(), "--category", "documents"]).await;
    assert!(ok, "{out}{err}");
    let share =
        ["grant", "--provider", &provider_text, "--categories", "documents", "--until", "2030-01-01", "--direct"];
    let (ok, out, err) = world.medkey(&patient, &share).await;
    assert!(ok, "{out}{err}");
    world.synced().await;
    let patient_text = patient.address().to_string();
    let (ok, out, err) = world.medkey(&provider, &["provider", "patients", "--names"]).await;
    assert!(ok && out.contains(&format!("María Núñez ({patient_text})")), "{out}{err}");
    let (ok, out, _) = world.medkey(&provider, &["provider", "patients"]).await;
    assert!(ok && out.contains(&patient_text) && !out.contains("María"), "{out}");

    // A vault that edits a listed profile is caught by every client: the signature and the
    // chain's hash no longer match.
    let pool = world.indexer.store.pool();
    let stored: String = sqlx::query_scalar("SELECT profile_json FROM provider_applications WHERE id = $1")
        .bind(id.clone())
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE provider_applications SET profile_json = $1 WHERE id = $2")
        .bind(stored.replace("1234567893", "1245319599"))
        .bind(id.clone())
        .execute(pool)
        .await
        .unwrap();
    let (ok, out, err) = world.medkey(&patient, &["directory", "show", &provider.address().to_string()]).await;
    assert!(ok && out.contains("⚠ Dr. Ana Reyes — NOT verified"), "{out}{err}");
    let (ok, out, _) = world.medkey(&patient, &["grants"]).await;
    assert!(ok && out.contains("unverified name \"Dr. Ana Reyes\""), "{out}");
    sqlx::query("UPDATE provider_applications SET profile_json = $1 WHERE id = $2")
        .bind(stored)
        .bind(id.clone())
        .execute(pool)
        .await
        .unwrap();

    // Suspension carries a reason: its hash on chain, its words with the vault, shown to all.
    let reason = "Licence under review by the state board";
    let (ok, out, err) = world
        .medkey(&admin, &["admin", "provider", "suspend", &provider.address().to_string(), "--reason", reason])
        .await;
    assert!(ok, "{out}{err}");
    world.synced().await;
    let (_, entry) = world.call("GET", &format!("/v1/directory/{}", provider.address()), None, None).await;
    assert_eq!(entry["status"], "suspended", "{entry}");
    assert_eq!(entry["registry_action"]["kind"], "suspended");
    assert_eq!(entry["registry_action"]["reason"], reason);
    assert_eq!(entry["registry_action"]["reason_hash"], keccak256(reason).to_string());
    let (ok, out, err) = world.medkey(&patient, &["directory", "show", &provider.address().to_string()]).await;
    assert!(ok && out.contains("suspended by the registry on") && out.contains(reason), "{out}{err}");

    // A vault that edits its own database to show another reason, with that reason's own hash, is
    // caught: clients compare with the hash the registry's event carries.
    let made_up = "Convicted of prescription fraud";
    sqlx::query("INSERT INTO registry_reasons (reason_hash, reason, added_by, added_at_ms) VALUES ($1, $2, $3, 0)")
        .bind(keccak256(made_up).to_vec())
        .bind(made_up)
        .bind(admin.address().to_vec())
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE directory SET action_reason = $1 WHERE provider = $2")
        .bind(keccak256(made_up).to_vec())
        .bind(provider.address().to_vec())
        .execute(pool)
        .await
        .unwrap();
    let (_, entry) = world.call("GET", &format!("/v1/directory/{}", provider.address()), None, None).await;
    assert_eq!(entry["registry_action"]["reason"], made_up, "the vault now tells the made-up reason: {entry}");
    let (ok, out, err) = world.medkey(&patient, &["directory", "show", &provider.address().to_string()]).await;
    assert!(ok && out.contains("NOT verified") && out.contains("not the one shown"), "{out}{err}");
    sqlx::query("UPDATE directory SET action_reason = $1 WHERE provider = $2")
        .bind(keccak256(reason).to_vec())
        .bind(provider.address().to_vec())
        .execute(pool)
        .await
        .unwrap();

    // The console's history of the provider: registered, then suspended with the reason's words.
    let path = format!("/v1/admin/providers/{}/history", provider.address());
    let (status, history) = world.call("GET", &path, Some(&admin_token), None).await;
    assert_eq!(status, 200, "{history}");
    let kinds: Vec<&str> = history.as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["registered", "suspended"], "{history}");
    assert_eq!(history[1]["reason"], reason);
    assert!(history[1]["at_ms"].as_u64().is_some(), "{history}");
    let (status, body) = world.call("GET", &path, Some(&patient_token), None).await;
    assert_eq!((status, code(&body)), (403, Some("no_registry_role")), "{body}");
}

async fn declines_refusals_and_bad_input(backend: Backend) {
    let world = World::start(backend).await;
    let keys = world.chain.keys.clone();
    let (admin, applicant, stranger) = (keys[0].clone(), keys[4].clone(), keys[5].clone());
    let token = world.login(&applicant).await;

    // Each bad field is refused with its name; a profile signed by someone else, or naming
    // someone else, is refused.
    let (mut profile, signature) = world.signed_profile(&applicant, "Dr. Sam Ortiz", "1245319599");
    let apply = |profile: &DirectoryProfile, signature: &str| json!({"profile": profile, "signature": signature});
    let mut bad = profile.clone();
    bad.npi = "1245319590".into();
    let (status, body) =
        world.call("POST", "/v1/provider-applications", Some(&token), Some(apply(&bad, &signature))).await;
    assert_eq!((status, code(&body)), (400, Some("invalid_profile")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("npi:"), "{body}");
    let (_, forged) = world.signed_profile(&stranger, "Dr. Sam Ortiz", "1245319599");
    let (status, body) =
        world.call("POST", "/v1/provider-applications", Some(&token), Some(apply(&profile, &forged))).await;
    assert_eq!((status, code(&body)), (400, Some("invalid_signature")), "{body}");
    let (theirs, their_signature) = world.signed_profile(&stranger, "Dr. Sam Ortiz", "1245319599");
    let (status, body) =
        world.call("POST", "/v1/provider-applications", Some(&token), Some(apply(&theirs, &their_signature))).await;
    assert_eq!((status, code(&body)), (403, Some("not_your_profile")), "{body}");
    let (status, body) = world.call("POST", "/v1/provider-applications", None, Some(apply(&profile, &signature))).await;
    assert_eq!(status, 401, "{body}");

    let (status, application) =
        world.call("POST", "/v1/provider-applications", Some(&token), Some(apply(&profile, &signature))).await;
    assert_eq!(status, 201, "{application}");
    let id = application["id"].as_str().unwrap();

    // The registrar cannot list it before the chain commits to it, and declines it.
    let admin_token = world.login(&admin).await;
    let (status, body) =
        world.call("POST", &format!("/v1/admin/applications/{id}/confirm"), Some(&admin_token), None).await;
    assert_eq!((status, code(&body)), (409, Some("not_on_chain")), "{body}");
    let decline = |reason: &str| Some(json!({"reason": reason}));
    let path = format!("/v1/admin/applications/{id}/decline");
    let (status, body) = world.call("POST", &path, Some(&admin_token), decline("  ")).await;
    assert_eq!((status, code(&body)), (400, Some("invalid_reason")), "{body}");
    let (status, body) = world.call("POST", &path, Some(&token), decline("no")).await;
    assert_eq!((status, code(&body)), (403, Some("not_registrar")), "{body}");
    let reason = "We could not match this NPI to your name in NPPES.";
    let (status, body) = world.call("POST", &path, Some(&admin_token), decline(reason)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("declined")), "{body}");
    let (status, body) = world.call("POST", &path, Some(&admin_token), decline(reason)).await;
    assert_eq!((status, code(&body)), (409, Some("not_pending")), "{body}");
    let (_, mine) = world.call("GET", "/v1/provider-applications/mine", Some(&token), None).await;
    assert_eq!((mine[0]["status"].as_str(), mine[0]["reason"].as_str()), (Some("declined"), Some(reason)), "{mine}");
    let (ok, out, _) = world.medkey(&applicant, &["provider", "application"]).await;
    assert!(ok && out.contains(&format!("declined: {reason}")), "{out}");

    // Declined, the applicant may apply again (with the profile fixed).
    profile.display_name = "Dr. Samuel Ortiz".into();
    let digest = profile.signing_hash(world.chain.chain_id(), world.chain.registry);
    let signature = alloy::hex::encode_prefixed(applicant.sign_hash_sync(&digest).unwrap().as_bytes());
    let (status, body) =
        world.call("POST", "/v1/provider-applications", Some(&token), Some(apply(&profile, &signature))).await;
    assert_eq!(status, 201, "{body}");

    // The console's status page: for role holders only; the roles from the chain's events.
    let (status, body) = world.call("GET", "/v1/admin/status", Some(&token), None).await;
    assert_eq!((status, code(&body)), (403, Some("no_registry_role")), "{body}");
    let (status, system) = world.call("GET", "/v1/admin/status", Some(&admin_token), None).await;
    assert_eq!(status, 200, "{system}");
    let admin_address = admin.address().to_string();
    for role in ["admin", "registrar", "pauser", "operator"] {
        let held =
            system["roles"].as_array().unwrap().iter().any(|h| h["role"] == role && h["account"] == admin_address);
        assert!(held, "{role}: {system}");
    }
    assert!(system["anchoring"]["log_size"].as_u64().unwrap() > 0, "{system}");
    assert_eq!(system["indexer"]["fresh"], true, "{system}");
    assert!(system.get("relayer").is_none(), "no relayer configured: {system}");
    assert_eq!(system["webhooks"]["enabled"], false);
    let (status, body) = world.call("GET", "/v1/admin/webhooks", Some(&admin_token), None).await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(0)), "{body}");
    let (status, body) = world.call("POST", "/v1/admin/webhooks/abc/retry", Some(&token), None).await;
    assert_eq!((status, code(&body)), (403, Some("not_operator")), "{body}");
    let (status, body) = world.call("POST", "/v1/admin/webhooks/abc/retry", Some(&admin_token), None).await;
    assert_eq!((status, code(&body)), (409, Some("notifications_off")), "{body}");

    // The registry refuses a registration without a profile hash, and the directory refuses bad
    // queries with a code.
    let registry = world.chain.registry();
    let zero = registry.registerProvider(stranger.address(), profile.encryption_key, Default::default());
    assert!(zero.from(world.chain.admin()).call().await.is_err());
    for query in ["?page=0", "?per_page=101", "?specialty=cardiology", "?country=USA", "?sort=name"] {
        let (status, body) = world.call("GET", &format!("/v1/directory{query}"), None, None).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    let (status, body) = world.call("POST", "/v1/directory/lookup", None, Some(json!({"addresses": ["0x1234"]}))).await;
    assert_eq!((status, code(&body)), (400, Some("invalid_address")), "{body}");
    let many: Vec<String> = (0..501u64).map(|i| Address::left_padding_from(&i.to_be_bytes()).to_string()).collect();
    let (status, body) = world.call("POST", "/v1/directory/lookup", None, Some(json!({"addresses": many}))).await;
    assert_eq!((status, code(&body)), (400, Some("too_many_addresses")), "{body}");
}

/// The directory is public, so reads (searches and lookups alike) are limited per client IP.
async fn directory_reads_are_limited_per_ip(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    let limits = medkey_vault::limits::LimitSettings { directory_per_ip_per_minute: 3, ..Default::default() };
    let vault = TestVault::start_with(&indexer, limits).await;
    let lookup = json!({"addresses": [chain.admin().to_string()]});
    for _ in 0..2 {
        assert_eq!(vault.call("GET", "/v1/directory?q=lopez", None, None).await.0, 200);
    }
    assert_eq!(vault.call("POST", "/v1/directory/lookup", None, Some(lookup.clone())).await.0, 200);
    let (status, body) = vault.call("GET", "/v1/directory?q=lopez", None, None).await;
    assert_eq!((status, code(&body)), (429, Some("rate_limited")), "{body}");
    let (status, body) = vault.call("POST", "/v1/directory/lookup", None, Some(lookup)).await;
    assert_eq!((status, code(&body)), (429, Some("rate_limited")), "{body}");
}

on_both_backends!(a_provider_applies_is_approved_found_and_suspended);
on_both_backends!(directory_reads_are_limited_per_ip);
on_both_backends!(declines_refusals_and_bad_input);
