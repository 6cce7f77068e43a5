//! What the chain and the vault say when they refuse, in the words of the person at the
//! keyboard, with what to do next. The original message is kept after it, for whoever debugs.

/// Each known refusal: a fragment of the raw message (contract errors by name, RPC errors by
/// their usual text, vault codes) and the sentence to show instead.
const KNOWN: &[(&str, &str)] = &[
    (
        "EnforcedPause",
        "The Medkey registry is paused by its administrators: nothing can be granted, revoked or registered until they unpause it. Try again later.",
    ),
    (
        "insufficient funds",
        "This account has no ETH to pay the transaction fee. Leave out --direct to have the vault's relayer send it for you, or fund the account first.",
    ),
    (
        "relay_not_configured",
        "This vault does not relay transactions. Send it yourself with --direct (your account pays the fee).",
    ),
    (
        "ProviderNotActive",
        "That provider is not an active registered provider (never registered, or suspended by the registry). Check the address, or ask the registry.",
    ),
    (
        "ProviderNotRegistered",
        "That address is not a registered provider. Check the address, or ask the registry to register it.",
    ),
    ("ProviderAlreadyRegistered", "That provider is registered already."),
    ("ProviderNotSuspended", "That provider is not suspended, so there is nothing to reinstate."),
    ("InvalidEncryptionKey", "The encryption key is not a valid X25519 public key (32 bytes, not all zeros)."),
    ("EmptyCategories", "Name at least one category."),
    ("UnknownPurpose", "That purpose is not one the registry knows; see `medkey grant --help` for the list."),
    ("InvalidWindow", "The dates do not make a valid period: the end must be after the start and in the future."),
    ("GrantExists", "An identical grant exists already."),
    ("GrantNotFound", "No grant with that id exists on chain. Check it with `medkey grants`."),
    ("NotPatient", "Only the patient who made a grant can revoke it."),
    ("AlreadyRevoked", "That grant was revoked already."),
    ("SignatureExpired", "The signature expired before the transaction was sent. Run the command again."),
    ("InvalidNonce", "Another grant or revocation was signed meanwhile. Run the command again."),
    ("InvalidSignature", "The registry did not accept the signature. Check that the account signing is the patient's."),
    ("EmergencyAccessDisabled", "This patient has not turned on emergency access."),
    ("MissingReason", "Emergency access needs a reason (--reason)."),
    (
        "AccessControlUnauthorizedAccount",
        "This account lacks the registry role the command needs (registrar or admin).",
    ),
    ("mirror_stale", "The vault is catching up with the chain. Try again in a few seconds."),
    ("chain_unavailable", "The vault cannot reach the chain now. Try again shortly."),
    ("rate_limited", "Too many requests from this account for now. Wait a minute and try again."),
];

/// The plain sentence for a raw error message, if it is one we know.
pub fn explain(raw: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(fragment, _)| raw.contains(fragment)).map(|(_, plain)| *plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_refusals_read_as_sentences_and_others_are_left_alone() {
        let raw = "sending the grant: server returned an error response: error code 3: execution reverted: \
                   EnforcedPause(EnforcedPause)";
        assert!(explain(raw).unwrap().starts_with("The Medkey registry is paused"));
        let raw = "server returned an error response: error code -32003: Insufficient funds for gas * price + value";
        assert!(explain(&raw.to_lowercase()).unwrap().contains("no ETH"));
        assert!(explain("POST /v1/relay: relay_not_configured").unwrap().contains("--direct"));
        assert_eq!(explain("'x' is not a record id"), None);
    }
}
