//! Not a test: /healthz alone, served by axum::serve and by the vault's own server, to measure
//! what the server's limits cost per request. `serve_overhead axum|vault PORT`.
use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap();
    let port: u16 = args.next().unwrap().parse().unwrap();
    let app = Router::new().route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    match which.as_str() {
        "axum" => {
            axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap()
        }
        _ => medkey_vault::http::serve(listener, app, Default::default(), std::future::pending()).await.unwrap(),
    }
}
