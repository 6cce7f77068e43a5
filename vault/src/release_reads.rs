//! Coalesced record reads for key releases. Concurrent releases hand their (record, reader)
//! pair to one reader task, which answers everything queued with a single query: under load a
//! batch costs one database round trip instead of one per request, and nothing is cached, so an
//! erasure or a new version is seen by the very next release. The reader keeps one connection
//! of its own ([`HeldConnection`]), so a batch is one query and nothing else.

use alloy::primitives::Address;
use tokio::sync::{mpsc, oneshot};

use crate::db::HeldConnection;
use crate::records::{Records, ReleaseView};
use medkey_protocol::RecordId;

const MAX_BATCH: usize = 256;

type Pending = ((RecordId, Address), oneshot::Sender<Result<Option<ReleaseView>, ReadError>>);

#[derive(Clone, Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading the record failed: {0}")]
    Database(String),
    #[error("the database is not answering: {0}")]
    Unavailable(String),
    #[error("the record reader has stopped")]
    Closed,
}

#[derive(Clone, Debug)]
pub struct ReleaseReads {
    queue: mpsc::Sender<Pending>,
}

impl ReleaseReads {
    /// Starts the reader task on the current Tokio runtime, on a connection of its own; it
    /// stops when the last handle drops.
    pub fn new(records: Records) -> Self {
        let (queue, pending) = mpsc::channel(4 * MAX_BATCH);
        let conn = HeldConnection::new(records.pool().clone());
        tokio::spawn(read_batches(records, conn, pending));
        Self { queue }
    }

    /// The record as a release to `reader` sees it; `None` if there is no such record.
    pub async fn get(&self, record_id: RecordId, reader: Address) -> Result<Option<ReleaseView>, ReadError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(((record_id, reader), reply)).await.map_err(|_| ReadError::Closed)?;
        answer.await.map_err(|_| ReadError::Closed)?
    }
}

async fn read_batches(records: Records, mut conn: HeldConnection, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pairs: Vec<(RecordId, Address)> = batch.iter().map(|(pair, _)| *pair).collect();
        let read = conn.run(async |conn| records.for_release_on(conn, &pairs).await).await;
        match read {
            Ok(found) => {
                // Several requests in a batch may ask for the same pair.
                for (pair, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(found.get(&pair).cloned()));
                }
            }
            Err(err) => {
                let err = match &err {
                    crate::records::RecordError::Database(db) if crate::db::is_unavailable(db) => {
                        ReadError::Unavailable(err.to_string())
                    }
                    _ => ReadError::Database(err.to_string()),
                };
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}
