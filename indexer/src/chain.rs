//! The indexer's view of the node: the few RPC calls it makes, each bounded by a timeout and
//! reduced to one error type the sync loop can classify (retry, or narrow the log range).

use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use futures_util::Stream;
use futures_util::StreamExt;

use crate::model::BlockRef;

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("{call} timed out after {timeout:?}")]
    Timeout { call: &'static str, timeout: Duration },
    #[error("{call} failed: {message}")]
    Failed { call: &'static str, message: String },
}

impl RpcError {
    /// Whether an eth_getLogs failure says the range was too big (providers word it many ways:
    /// "query returned more than 10000 results", "block range is too wide", "limit exceeded"…).
    pub fn suggests_smaller_range(&self) -> bool {
        match self {
            Self::Timeout { .. } => true,
            Self::Failed { message, .. } => {
                let message = message.to_ascii_lowercase();
                ["too many", "more than", "limit", "range", "too large", "too wide", "exceed", "timeout"]
                    .iter()
                    .any(|needle| message.contains(needle))
            }
        }
    }
}

fn is_websocket(url: &str) -> bool {
    url.starts_with("ws://") || url.starts_with("wss://")
}

async fn connect(url: &str, timeout: Duration) -> Result<DynProvider, RpcError> {
    match tokio::time::timeout(timeout, ProviderBuilder::new().connect(url)).await {
        Err(_) => Err(RpcError::Timeout { call: "connect", timeout }),
        Ok(Err(err)) => Err(RpcError::Failed { call: "connect", message: err.to_string() }),
        Ok(Ok(provider)) => Ok(provider.erased()),
    }
}

impl RpcError {
    fn redacted(self, url: &str) -> Self {
        match self {
            Self::Failed { call, message } => Self::Failed { call, message: redact_url(&message, url) },
            timeout => timeout,
        }
    }
}

/// `message` without the RPC URL's secrets (reqwest quotes the URL, with a trailing slash when
/// the path is empty): the one redaction helper every command uses.
fn redact_url(message: &str, url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.is_empty() {
        return message.to_owned();
    }
    let shown = medkey_protocol::redact::redact_url(url);
    medkey_protocol::redact::scrub_urls(&message.replace(&format!("{url}/"), &shown).replace(url, &shown))
}

/// A block header, as far as the mirror cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub block: BlockRef,
    pub parent_hash: B256,
}

#[derive(Clone, Debug)]
pub struct Chain {
    provider: DynProvider,
    registry: Address,
    timeout: Duration,
    /// Where new-head notifications come from: the WebSocket endpoint, if any.
    heads: Option<DynProvider>,
    /// The endpoints as given; stripped from error messages, since hosted RPC URLs carry API keys.
    urls: Vec<String>,
}

impl Chain {
    /// Connects for calls to `url` (HTTP(S) or WebSocket) and, when given or when `url` is
    /// itself a WebSocket, subscribes to new heads over `ws_url`. Calls are best made over HTTP:
    /// alloy's WebSocket client leaves Nagle's algorithm on, which costs about 40 ms per
    /// request/response exchange.
    pub async fn connect(
        url: &str,
        ws_url: Option<&str>,
        registry: Address,
        timeout: Duration,
    ) -> Result<Self, RpcError> {
        let provider = connect(url, timeout).await.map_err(|err| err.redacted(url))?;
        let heads = match ws_url {
            Some(ws) => Some(connect(ws, timeout).await.map_err(|err| err.redacted(ws))?),
            None if is_websocket(url) => Some(provider.clone()),
            None => None,
        };
        let urls = [Some(url), ws_url].into_iter().flatten().map(str::to_owned).collect();
        Ok(Self { provider, registry, timeout, heads, urls })
    }

    async fn call<T, E: std::fmt::Display>(
        &self,
        call: &'static str,
        future: impl IntoFuture<Output = Result<T, E>>,
    ) -> Result<T, RpcError> {
        match tokio::time::timeout(self.timeout, future.into_future()).await {
            Err(_) => Err(RpcError::Timeout { call, timeout: self.timeout }),
            Ok(Err(err)) => {
                let message = self.urls.iter().fold(err.to_string(), |m, url| redact_url(&m, url));
                Err(RpcError::Failed { call, message })
            }
            Ok(Ok(value)) => Ok(value),
        }
    }

    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        self.call("eth_chainId", self.provider.get_chain_id()).await
    }

    pub async fn head(&self) -> Result<u64, RpcError> {
        self.call("eth_blockNumber", self.provider.get_block_number()).await
    }

    /// The node's finalized block number (errors on nodes without finality, e.g. old anvil).
    pub async fn finalized(&self) -> Result<u64, RpcError> {
        let block =
            self.call("eth_getBlockByNumber", self.provider.get_block_by_number(BlockNumberOrTag::Finalized)).await?;
        block
            .map(|b| b.header.number)
            .ok_or(RpcError::Failed { call: "eth_getBlockByNumber", message: "node has no finalized block".into() })
    }

    /// The canonical header at `number`, or `None` when the chain is shorter.
    pub async fn header(&self, number: u64) -> Result<Option<Header>, RpcError> {
        let block = self
            .call("eth_getBlockByNumber", self.provider.get_block_by_number(BlockNumberOrTag::Number(number)))
            .await?;
        Ok(block.map(|b| Header {
            block: BlockRef { number: b.header.number, hash: b.header.hash, timestamp: b.header.timestamp },
            parent_hash: b.header.parent_hash,
        }))
    }

    /// The registry's logs in `from..=to`.
    pub async fn logs_in_range(&self, from: u64, to: u64) -> Result<Vec<Log>, RpcError> {
        let filter = Filter::new().address(self.registry).from_block(from).to_block(to);
        self.call("eth_getLogs", self.provider.get_logs(&filter)).await
    }

    /// The registry's logs in exactly the block with this hash: immune to a reorg between
    /// reading the header and reading the logs.
    pub async fn logs_in_block(&self, hash: B256) -> Result<Vec<Log>, RpcError> {
        let filter = Filter::new().address(self.registry).at_block_hash(hash);
        self.call("eth_getLogs", self.provider.get_logs(&filter)).await
    }

    /// New-head notifications when the node offers a subscription (WebSocket), else `None`
    /// and the caller polls.
    pub async fn new_heads(&self) -> Option<impl Stream<Item = ()> + Unpin + use<>> {
        let heads = self.heads.as_ref()?;
        match self.call("eth_subscribe", heads.subscribe_blocks()).await {
            Ok(subscription) => Some(subscription.into_stream().map(|_| ())),
            Err(err) => {
                tracing::warn!(%err, "no newHeads subscription; polling instead");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_quote_the_rpc_url() {
        let url = "https://mainnet.example/v3/secret-api-key";
        let message = format!("error sending request for url ({url}/): connection refused");
        assert_eq!(
            redact_url(&message, url),
            "error sending request for url (https://mainnet.example/…): connection refused"
        );
        assert!(!redact_url(&format!("at {url}"), &format!("{url}/")).contains("secret-api-key"));
    }

    #[test]
    fn range_errors_are_recognised_in_their_many_wordings() {
        for message in
            ["query returned more than 10000 results", "block range is too wide", "Log response size exceeded"]
        {
            assert!(RpcError::Failed { call: "eth_getLogs", message: message.into() }.suggests_smaller_range());
        }
        assert!(
            !RpcError::Failed { call: "eth_getLogs", message: "connection refused".into() }.suggests_smaller_range()
        );
        assert!(RpcError::Timeout { call: "eth_getLogs", timeout: Duration::from_secs(1) }.suggests_smaller_range());
    }
}
