//! A TCP proxy in front of anvil that can misbehave on demand, for testing how the indexer
//! copes with a node that errors, hangs or drops connections. Changing the mode closes every
//! open connection, so pooled keep-alive connections see the new behaviour at once.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward bytes both ways.
    Pass,
    /// Answer every request with HTTP 500.
    ServerError,
    /// Accept and never answer (the client's timeout fires).
    Hang,
    /// Accept and close at once (connection reset / empty reply).
    Drop,
}

pub struct FaultyProxy {
    pub url: String,
    mode: watch::Sender<Mode>,
}

impl FaultyProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (mode, watcher) = watch::channel(Mode::Pass);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, watcher.clone()));
            }
        });
        Self { url, mode }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let current = *mode.borrow_and_update();
    let work = async {
        match current {
            Mode::Pass => {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            }
            Mode::ServerError => {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = client.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let body = r#"{"error":"injected fault"}"#;
                    let reply = format!(
                        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if client.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            }
            Mode::Hang => std::future::pending::<()>().await,
            Mode::Drop => {}
        }
    };
    tokio::select! {
        _ = work => {}
        _ = mode.changed() => {}
    }
}
