//! The HTTP JSON API over an [`Index`] (`wiretrace serve`).
//!
//! | route | does |
//! |---|---|
//! | `POST /check` | check one article (a JSON Lines record) against the index; the body of the response is the JSON report of `wiretrace index check --format json` |
//! | `POST /documents` | add one article: 201 when added, 200 when already present with the same text, 409 when present with another text |
//! | `GET /documents/{id}` | the stored document (metadata and text), 404 when missing |
//! | `GET /health` | `{"status": "ok", "documents": N}` |
//!
//! Request bodies are one JSON object with `id`, `text` and optionally
//! `outlet`, `published`, `url`, `title`, as one line of a JSON Lines
//! input. Bodies over [`ServeOptions::body_limit`] get 413; bad input a
//! 4xx; every error body is `{"error": "..."}`. Index work runs on the
//! blocking thread pool (redb: many readers, one writer); a request whose
//! work takes longer than [`ServeOptions::timeout`] gets 503 (the work
//! itself is not interrupted: an add that was started still commits or
//! not, atomically).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::corpus::{Document, parse_jsonl_line};
use crate::error::{Error, Result};
use crate::index::{AddOutcome, Index};
use crate::report::write_json;

/// Limits of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit: usize,
    /// Longest time a request may take (reading the body, then the index
    /// work), each separately.
    pub timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            body_limit: 8 * 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
struct App {
    index: Arc<Index>,
    options: ServeOptions,
}

/// Serve the API on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(
    index: Arc<Index>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
) -> Result<()> {
    let app = Router::new()
        .route("/health", get(health))
        .route("/check", post(check))
        .route("/documents", post(add_document))
        .route("/documents/{id}", get(get_document))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(App { index, options });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| Error::Io {
            what: "the HTTP server".into(),
            source: e,
        })
}

/// Open the index in `db`, bind `listen`, print the bound address on
/// standard output (`wiretrace: listening on http://ADDR`) and serve until
/// Ctrl-C or SIGTERM, on a multi-threaded runtime.
pub fn serve_blocking(db: &Path, listen: SocketAddr, options: ServeOptions) -> Result<()> {
    let index = Arc::new(Index::open(db)?);
    let io = |what: &str, source| Error::Io {
        what: what.to_string(),
        source,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| io("starting the HTTP runtime", e))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| io(&format!("binding {listen}"), e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| io("reading the bound address", e))?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "wiretrace: listening on http://{bound}")
                .and_then(|_| out.flush())
                .map_err(|e| io("standard output", e))?;
        }
        serve(index, listener, options).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Read the body (within the size and time limits) and parse it as one
/// JSON Lines record.
async fn read_article(
    app: &App,
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<Document, Response> {
    let limit = app.options.body_limit;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes =
        match tokio::time::timeout(app.options.timeout, axum::body::to_bytes(body, limit)).await {
            Err(_) => {
                return Err(error(
                    StatusCode::REQUEST_TIMEOUT,
                    "request body not received in time",
                ));
            }
            Ok(Err(_)) => return Err(too_large()),
            Ok(Ok(b)) => b,
        };
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("body is not UTF-8: {e}")))?;
    let (doc, _warnings) =
        parse_jsonl_line(text).map_err(|reason| error(StatusCode::BAD_REQUEST, reason))?;
    Ok(doc)
}

/// Run `f` on the blocking pool within the time limit.
async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&Index) -> Result<T> + Send + 'static,
) -> std::result::Result<T, Response> {
    let index = Arc::clone(&app.index);
    let task = tokio::task::spawn_blocking(move || f(&index));
    match tokio::time::timeout(app.options.timeout, task).await {
        Err(_) => Err(error(StatusCode::SERVICE_UNAVAILABLE, "request timed out")),
        Ok(Err(_)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        Ok(Ok(Err(e))) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Ok(Ok(Ok(v))) => Ok(v),
    }
}

async fn health(State(app): State<App>) -> Response {
    match blocking(&app, |index| index.document_count()).await {
        Ok(n) => json(
            StatusCode::OK,
            serde_json::json!({ "status": "ok", "documents": n }),
        ),
        Err(r) => r,
    }
}

async fn check(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let doc = match read_article(&app, &headers, body).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let result = blocking(&app, move |index| {
        let report = index.check(vec![doc])?;
        let mut buf = Vec::new();
        write_json(&report, &mut buf).map_err(|e| Error::Io {
            what: "the report".into(),
            source: e,
        })?;
        Ok(buf)
    })
    .await;
    match result {
        Ok(buf) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            buf,
        )
            .into_response(),
        Err(r) => r,
    }
}

async fn add_document(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let doc = match read_article(&app, &headers, body).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let id = doc.id.clone();
    match blocking(&app, move |index| index.add(&doc)).await {
        Ok(AddOutcome::Added) => json(
            StatusCode::CREATED,
            serde_json::json!({ "id": id, "status": "added" }),
        ),
        Ok(AddOutcome::AlreadyIndexed) => json(
            StatusCode::OK,
            serde_json::json!({ "id": id, "status": "already indexed" }),
        ),
        Ok(AddOutcome::Conflict) => error(
            StatusCode::CONFLICT,
            format!("document {id:?} is already indexed with another text"),
        ),
        Err(r) => r,
    }
}

async fn get_document(State(app): State<App>, UrlPath(id): UrlPath<String>) -> Response {
    let wanted = id.clone();
    match blocking(&app, move |index| index.get(&wanted)).await {
        Ok(Some(doc)) => match serde_json::to_value(&doc) {
            Ok(v) => json(StatusCode::OK, v),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no document {id:?}")),
        Err(r) => r,
    }
}
