//! SMART Health Links on the vault: a patient creates links (passcode, expiry, single use), the
//! public manifest answers with file locations good for an hour, and each refusal has its code:
//! wrong passcode (401 with remainingAttempts, the link disabled when they run out), expired,
//! revoked (files too, at once), used; parallel requests cannot get a single-use link twice nor
//! try more passcodes than allowed; every request is listed for the patient with the name given
//! and is in the audit log before it is answered.

use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::vault::TestVault;
use serde_json::{Value, json};

/// A compact JWE in form (the vault only checks the form; the web tests decrypt real ones).
const JWE: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..cVdlcnR5dWlvcGFz.Y2lwaGVydGV4dA.dGFnLXRhZy10YWctdGFn";

fn link_id(n: u8) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [n; 32])
}

struct World {
    _chain: TestChain,
    db: TestDb,
    _indexer: RunningIndexer,
    vault: TestVault,
    token: String,
    http: reqwest::Client,
}

impl World {
    async fn start(backend: Backend) -> Self {
        let chain = TestChain::start().await;
        let db = TestDb::new(backend).await;
        let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
        indexer.wait_for_block(chain.head().await).await;
        let vault = TestVault::start(&indexer).await;
        let token = vault.login(&chain.keys[1], chain.chain_id()).await;
        Self { _chain: chain, db, _indexer: indexer, vault, token, http: reqwest::Client::new() }
    }

    async fn create(&self, id: &str, extra: Value) -> (u16, Value) {
        self.create_as(&self.token, id, extra).await
    }

    /// A link created by the account signed in with `token`.
    async fn create_as(&self, token: &str, id: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({
            "id": id, "manifest_url": format!("{}/shl/{id}", self.vault.url), "label": "For Dr. Okafor",
            "files": [{"content_type": "application/fhir+json;fhirVersion=4.0.1", "jwe": JWE}],
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        self.vault.call("POST", "/v1/share-links", Some(token), Some(body)).await
    }

    async fn manifest(&self, id: &str, body: Value) -> (u16, Value) {
        self.vault.call("POST", &format!("/shl/{id}"), None, Some(body)).await
    }

    async fn get(&self, url: &str) -> (u16, String) {
        let response = self.http.get(url).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn links(&self) -> Vec<Value> {
        let (status, links) = self.vault.call("GET", "/v1/share-links", Some(&self.token), None).await;
        assert_eq!(status, 200, "{links}");
        links.as_array().unwrap().clone()
    }

    async fn audit_kinds(&self) -> Vec<(String, String)> {
        let rows = sqlx::query_as::<_, (String, String)>("SELECT kind, outcome FROM access_log ORDER BY leaf_index")
            .fetch_all(&self.db.pool().await)
            .await
            .unwrap();
        rows.into_iter().filter(|(kind, _)| kind.starts_with("share_link")).collect()
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn a_link_is_opened_refused_and_revoked_with_every_use_listed(backend: Backend) {
    let world = World::start(backend).await;
    let id = link_id(1);
    let (status, created) = world.create(&id, json!({"passcode": "tulip-42"})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["state"].as_str(), created["has_passcode"].as_bool()), (Some("active"), Some(true)));

    // The right passcode: a location good for an hour, which answers with the JWE.
    let (status, manifest) =
        world.manifest(&id, json!({"recipient": "Dr. Okafor, St Mary's", "passcode": "tulip-42"})).await;
    assert_eq!(status, 200, "{manifest}");
    assert_eq!(manifest["status"], "finalized");
    let location = manifest["files"][0]["location"].as_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/shl/{id}/files/0?ticket=", world.vault.url)), "{location}");
    assert_eq!(world.get(&location).await, (200, JWE.to_owned()));
    assert_eq!(world.get(&format!("{}/shl/{id}/files/0?ticket=made-up", world.vault.url)).await.0, 404);
    // embeddedLengthMax: small files come inline.
    let (_, inline) =
        world.manifest(&id, json!({"recipient": "Viewer", "passcode": "tulip-42", "embeddedLengthMax": 10_000})).await;
    assert_eq!(inline["files"][0]["embedded"], JWE);

    // A wrong passcode: 401 with remainingAttempts, counting down (a right one gives its attempt back).
    let (status, refused) = world.manifest(&id, json!({"recipient": "Someone", "passcode": "tulip-43"})).await;
    assert_eq!((status, refused["remainingAttempts"].as_u64(), code(&refused)), (401, Some(9), "wrong_passcode"));
    let (status, refused) = world.manifest(&id, json!({"recipient": "Someone"})).await;
    assert_eq!((status, refused["remainingAttempts"].as_u64()), (401, Some(8)));
    let (status, bad) = world.manifest(&id, json!({"recipient": " "})).await;
    assert_eq!((status, code(&bad)), (400, "invalid_request"));
    assert_eq!(world.manifest(&link_id(9), json!({"recipient": "x"})).await.0, 404);

    // Revoked: the manifest and the location it gave stop at once.
    let (status, _) = world.vault.call("DELETE", &format!("/v1/share-links/{id}"), Some(&world.token), None).await;
    assert_eq!(status, 204);
    let (status, gone) = world.manifest(&id, json!({"recipient": "Dr. Okafor", "passcode": "tulip-42"})).await;
    assert_eq!((status, code(&gone)), (404, "link_revoked"));
    assert_eq!(world.get(&location).await.0, 404, "the location died with the link");

    let links = world.links().await;
    assert_eq!(links[0]["state"], "revoked");
    let uses: Vec<(String, String)> = links[0]["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["recipient"].as_str().unwrap().to_owned(), a["outcome"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("Dr. Okafor, St Mary's", "ok"),
        ("Viewer", "ok"),
        ("Someone", "wrong_passcode"),
        ("Someone", "wrong_passcode"),
        ("Dr. Okafor", "revoked"),
    ];
    assert_eq!(uses, expected.map(|(r, o)| (r.to_owned(), o.to_owned())));
    let logged = world.audit_kinds().await;
    let logged: Vec<(&str, &str)> = logged.iter().map(|(k, o)| (k.as_str(), o.as_str())).collect();
    assert_eq!(
        logged,
        [
            ("share_link_created", "ok"),
            ("share_link_opened", "ok"),
            ("share_link_opened", "ok"),
            ("share_link_refused", "wrong_passcode"),
            ("share_link_refused", "wrong_passcode"),
            ("share_link_revoked", "ok"),
            ("share_link_refused", "revoked"),
        ]
    );
    world.db.cleanup().await;
}
on_both_backends!(a_link_is_opened_refused_and_revoked_with_every_use_listed);

async fn races_and_limits_hold(backend: Backend) {
    let world = World::start(backend).await;

    // Twenty requests at once for a single-use link: exactly one gets the files.
    let once = link_id(2);
    assert_eq!(world.create(&once, json!({"single_use": true})).await.0, 201);
    let answers = futures_util::future::join_all(
        (0..20).map(|i| world.manifest(&once, json!({"recipient": format!("Racer {i}")}))),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(answers.iter().filter(|(s, _)| *s != 200).all(|(s, b)| *s == 404 && code(b) == "link_used"));

    // Thirty wrong passcodes at once: no more than ten are tried, then the link is disabled,
    // and the right passcode no longer opens it.
    let guarded = link_id(3);
    assert_eq!(world.create(&guarded, json!({"passcode": "right-one"})).await.0, 201);
    let answers = futures_util::future::join_all(
        (0..30).map(|i| world.manifest(&guarded, json!({"recipient": "Guesser", "passcode": format!("guess-{i}")}))),
    )
    .await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 401).count(), 10);
    assert!(answers.iter().filter(|(s, _)| *s != 401).all(|(s, b)| *s == 404 && code(b) == "link_disabled"));
    let (status, body) =
        world.manifest(&guarded, json!({"recipient": "Owner's doctor", "passcode": "right-one"})).await;
    assert_eq!((status, code(&body)), (404, "link_disabled"));

    // Expired.
    let soon = link_id(4);
    let expires = medkey_protocol::clock::now_ms() + 300;
    assert_eq!(world.create(&soon, json!({"expires_at_ms": expires})).await.0, 201);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (status, body) = world.manifest(&soon, json!({"recipient": "Late"})).await;
    assert_eq!((status, code(&body)), (404, "link_expired"));

    // Bad input, each with its reason; an id used twice.
    for (extra, why) in [
        (json!({"id": "short"}), "id is 32 random bytes"),
        (json!({"manifest_url": "https://elsewhere.example/x"}), "manifest_url"),
        (json!({"label": ""}), "label"),
        (json!({"passcode": "abc"}), "passcode"),
        (json!({"files": [{"content_type": "text/html", "jwe": JWE}]}), "content_type"),
        (json!({"files": [{"content_type": "application/fhir+json", "jwe": "not-a-jwe"}]}), "compact JWE"),
        (json!({"expires_at_ms": 1}), "past"),
    ] {
        let id = link_id(5);
        let mut merged = json!({"id": id});
        merged.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let target = merged["id"].as_str().unwrap().to_owned();
        let (status, body) = world.create(&target, merged).await;
        assert_eq!((status, code(&body)), (400, "invalid_link"), "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(why), "{body}");
    }
    assert_eq!(world.create(&once, json!({})).await.0, 409);
    let (status, _) = world.vault.call("GET", "/v1/share-links", None, None).await;
    assert_eq!(status, 401, "listing needs her session");
    world.db.cleanup().await;
}
on_both_backends!(races_and_limits_hold);

/// The outside probes' findings, each held: tickets stop with the link, right passcodes are never
/// refused for guesses beside them, a refused direct request counts and is listed, an expired
/// long-lived link's files stay as they were, manifests name content types exactly, and one
/// account's link creations (an Argon2 hash each) are bounded.
async fn share_links_do_what_they_say(backend: Backend) {
    let world = World::start(backend).await;
    let location = |manifest: &Value| manifest["files"][0]["location"].as_str().unwrap().to_owned();

    // Manifests name the specification's content type exactly, whatever the client sent.
    let plain = link_id(20);
    assert_eq!(world.create(&plain, json!({})).await.0, 201);
    let (status, manifest) = world.manifest(&plain, json!({"recipient": "A receiver"})).await;
    assert_eq!(status, 200, "{manifest}");
    assert_eq!(manifest["files"][0]["contentType"], "application/fhir+json", "{manifest}");

    // The manifest URL is this vault's: not another host's, whose ticketed locations the vault
    // would then hand out.
    let elsewhere = link_id(24);
    let (status, body) =
        world.create(&elsewhere, json!({"manifest_url": format!("https://elsewhere.example/shl/{elsewhere}")})).await;
    assert_eq!((status, code(&body)), (400, "invalid_link"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("manifest_url"), "{body}");

    // Any origin may call the public link endpoints (a receiver is often a web page), and only them.
    let preflight = world
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/shl/{plain}", world.vault.url))
        .header("origin", "https://viewer.clinic.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "preflight: {}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let answered = world
        .http
        .post(format!("{}/shl/{plain}", world.vault.url))
        .header("origin", "https://viewer.clinic.example")
        .json(&json!({"recipient": "A clinic's viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.headers()["access-control-allow-origin"], "*");
    let hers = world
        .http
        .get(format!("{}/v1/share-links", world.vault.url))
        .bearer_auth(&world.token)
        .header("origin", "https://viewer.clinic.example")
        .send()
        .await
        .unwrap();
    assert_eq!(hers.status(), 200);
    assert!(hers.headers().get("access-control-allow-origin").is_none(), "her own routes allow no other origin");

    // A ticket stops when its link expires.
    let brief = link_id(21);
    let expires = medkey_protocol::clock::now_ms() + 3_000;
    assert_eq!(world.create(&brief, json!({"expires_at_ms": expires})).await.0, 201);
    let (status, manifest) = world.manifest(&brief, json!({"recipient": "Quick"})).await;
    assert_eq!(status, 200, "{manifest}");
    let ticketed = location(&manifest);
    assert_eq!(world.get(&ticketed).await.0, 200);
    while medkey_protocol::clock::now_ms() <= expires + 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(world.get(&ticketed).await.0, 404, "a ticket outlived its expired link");

    // Fifteen right passcodes and three wrong ones at once: every right one opens the link, and a
    // ticket stops once guesses disable it.
    let guarded = link_id(22);
    assert_eq!(world.create(&guarded, json!({"passcode": "right-one"})).await.0, 201);
    let answers = futures_util::future::join_all((0..18).map(|i| {
        let passcode = if i % 6 == 5 { format!("guess-{i}") } else { "right-one".to_owned() };
        world.manifest(&guarded, json!({"recipient": format!("Nurse {i}"), "passcode": passcode}))
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 15, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3, "{statuses:?}");
    let ticketed = location(&answers.iter().find(|(s, _)| *s == 200).unwrap().1);
    for i in 0..7 {
        let (status, _) =
            world.manifest(&guarded, json!({"recipient": "Guesser", "passcode": format!("no-{i}")})).await;
        assert_eq!(status, 401);
    }
    let (status, body) = world.manifest(&guarded, json!({"recipient": "Guesser", "passcode": "right-one"})).await;
    assert_eq!((status, code(&body)), (404, "link_disabled"));
    assert_eq!(world.get(&ticketed).await.0, 404, "a ticket outlived its disabled link");

    // A direct request for a passcode link is refused, listed, and counted by the rate limit.
    let direct = format!("{}/shl/{guarded}?recipient=Direct%20asker", world.vault.url);
    let (status, body) = world.get(&direct).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not_direct"), "{body}");
    let listed = world.links().await;
    let accesses = &listed.iter().find(|l| l["id"] == guarded.as_str()).unwrap()["accesses"];
    assert!(
        accesses.as_array().unwrap().iter().any(|a| a["recipient"] == "Direct asker" && a["outcome"] == "not_direct"),
        "{accesses}"
    );
    let mut last = 0;
    for _ in 0..70 {
        last = world.get(&direct).await.0;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "direct requests for a passcode link were never rate-limited");

    // An expired long-lived link's files cannot be replaced.
    let standing = link_id(23);
    let expires = medkey_protocol::clock::now_ms() + 3_000;
    assert_eq!(world.create(&standing, json!({"long_lived": true, "expires_at_ms": expires})).await.0, 201);
    let files = json!({"files": [{"content_type": "application/fhir+json", "jwe": JWE}]});
    let path = format!("/v1/share-links/{standing}/files");
    assert_eq!(world.vault.call("PUT", &path, Some(&world.token), Some(files.clone())).await.0, 204);
    while medkey_protocol::clock::now_ms() <= expires + 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = world.vault.call("PUT", &path, Some(&world.token), Some(files)).await;
    assert_eq!(status, 404, "{body}");

    // Ten links a minute per account (each passcode is a 19 MiB hash), then 429: twelve at once
    // from an account that has made none (at once, so that no cell comes back meanwhile).
    let other = world.vault.login(&world._chain.keys[2], world._chain.chain_id()).await;
    let ids: Vec<String> = (0..12u8).map(|n| link_id(40 + n)).collect();
    let answers: Vec<(u16, String)> = futures_util::future::join_all(
        ids.iter().map(|id| world.create_as(&other, id, json!({"passcode": "tulip-42"}))),
    )
    .await
    .into_iter()
    .map(|(status, body)| (status, code(&body).to_owned()))
    .collect();
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 10, "{answers:?}");
    assert!(answers.iter().filter(|(s, _)| *s != 201).all(|(s, c)| *s == 429 && c == "rate_limited"), "{answers:?}");
    world.db.cleanup().await;
}
on_both_backends!(share_links_do_what_they_say);
