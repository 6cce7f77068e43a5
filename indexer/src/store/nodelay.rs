//! TCP_NODELAY on the PostgreSQL connections, which sqlx 0.9.0 leaves off (sqlx#4335; the fix,
//! sqlx#4336, is merged upstream but not released). Without it, a message longer than one TCP
//! segment (a batch of audit entries, a chart's worth of record ids) has its last segment held
//! back by Nagle's algorithm until the server's delayed ACK, about 40 ms: a 1,000-record chart
//! took 245 ms on PostgreSQL instead of 50 (BENCHMARKS.md, issue #15). Remove this module once
//! sqlx sets the option itself.
//!
//! sqlx does not hand out its socket, so after connecting we ask the server which port this
//! connection comes from, find the process's socket bound to that port and connected to the
//! server's, and set the option on it. Connections through a Unix socket, or a proxy that hides
//! the port, are left as they are.

use std::net::SocketAddr;

use sqlx::{AnyConnection, Row};

/// Sets TCP_NODELAY on the socket of `conn` (a PostgreSQL connection), if it can be found.
pub async fn set_on(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if let Some(ports) = ports(conn).await? {
        with_socket(ports, |socket| {
            if let Err(err) = socket.set_tcp_nodelay(true) {
                tracing::warn!(%err, "could not set TCP_NODELAY on a database connection");
            }
        });
    }
    Ok(())
}

/// Whether TCP_NODELAY is on for the socket of `conn`; `None` if the socket cannot be found.
pub async fn is_set(conn: &mut AnyConnection) -> Result<Option<bool>, sqlx::Error> {
    let Some(ports) = ports(conn).await? else { return Ok(None) };
    Ok(with_socket(ports, |socket| socket.tcp_nodelay().ok()).flatten())
}

/// This connection's (client, server) ports as the server sees them; `None` over a Unix socket.
async fn ports(conn: &mut AnyConnection) -> Result<Option<(u16, u16)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT inet_client_port() AS client, inet_server_port() AS server").fetch_one(&mut *conn).await?;
    let port = |column: &str| -> Result<Option<u16>, sqlx::Error> {
        Ok(row.try_get::<Option<i32>, _>(column)?.and_then(|port| u16::try_from(port).ok()))
    };
    Ok(port("client")?.zip(port("server")?))
}

/// Runs `f` on the process's socket bound to `local` and connected to `peer` (ports).
#[cfg(target_os = "linux")]
fn with_socket<T>((local, peer): (u16, u16), f: impl FnOnce(socket2::SockRef<'_>) -> T) -> Option<T> {
    use std::os::fd::BorrowedFd;

    let fds = std::fs::read_dir("/proc/self/fd").ok()?;
    for fd in fds.flatten().filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok()) {
        // SAFETY: the descriptor is listed as open in this process. Another thread may close
        // it meanwhile; the calls below then fail with EBADF, or, were the number reused at
        // once, read another socket's addresses, which will not match. Nothing but `f` acts on
        // it, and only on the socket whose two ports match.
        #[allow(unsafe_code)]
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let port = |addr: std::io::Result<socket2::SockAddr>| addr.ok()?.as_socket().map(|a: SocketAddr| a.port());
        if port(socket.local_addr()) == Some(local) && port(socket.peer_addr()) == Some(peer) {
            return Some(f(socket));
        }
    }
    None
}

/// Elsewhere the process's descriptors are not listed the same way; sqlx's default stands.
#[cfg(not(target_os = "linux"))]
fn with_socket<T>(_: (u16, u16), _: impl FnOnce(socket2::SockRef<'_>) -> T) -> Option<T> {
    None
}
