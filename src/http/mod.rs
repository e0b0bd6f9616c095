//! The HTTP surface: one router per resource, merged here with the API documentation,
//! the cross-origin guard, body limits, metrics and request logs.

mod auth;
mod calendar;
mod export;
pub mod extract;
mod files;
mod messages;
mod moderation;
mod notifications;
mod ops;
mod pins;
mod presence;
mod qa;
mod rooms;
mod web;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::credentials::check_same_origin;
use crate::error::{AppError, ErrorBody, ErrorDetail};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "EventSync Chat API", description = "REST API of EventSync Chat. Real-time events use Socket.IO on `/socket.io/`; see docs/realtime.md."),
    modifiers(&SecurityAddon),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        crate::chat::export::ExportFormat,
        crate::domain::room::ParticipantFilter,
        crate::domain::qa::QuestionSort,
        crate::domain::qa::QuestionStatus,
    )),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "events", description = "Events and attendees"),
        (name = "rooms", description = "Chat rooms, participants, read markers"),
        (name = "messages", description = "Messages, replies, reactions, polls"),
        (name = "files", description = "Uploads, downloads and thumbnails"),
        (name = "qa", description = "Session Q&A: questions, votes, review"),
        (name = "notifications", description = "Mentions and other notifications"),
        (name = "moderation", description = "Moderation actions and the moderation log"),
        (name = "presence", description = "Online status and custom status messages"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

/// Every documented route, and the OpenAPI document describing them. The document is
/// finished as JSON, for what utoipa's attributes and types cannot say: the text rules'
/// patterns (which attributes name by placeholder) and links (utoipa's `Link` writes
/// `operation_id` where OpenAPI says `operationId`).
pub fn api() -> (Router<AppState>, Value) {
    let (router, mut doc) = routes();
    document_common_errors(&mut doc);
    let mut doc = serde_json::to_value(&doc).expect("the API document is JSON");
    each_object(&mut doc, &mut |schema| {
        let rule = match schema.get("pattern").and_then(Value::as_str) {
            Some("text") => crate::domain::TEXT_PATTERN,
            Some("non_blank_text") => crate::domain::NON_BLANK_TEXT_PATTERN,
            _ => return,
        };
        schema.insert("pattern".into(), rule.into());
    });
    document_links(&mut doc);
    (router, doc)
}

/// Where the id in a creating operation's answer is used next, as an OpenAPI link (so a
/// client generator, or a fuzzer's stateful phase, can chain them).
struct Link {
    method: &'static str,
    path: &'static str,
    /// What the paths of the created thing's operations start with.
    targets: &'static [&'static str],
    /// Their path parameters, as runtime expressions.
    parameters: &'static [(&'static str, &'static str)],
}

const LINKS: &[Link] = &[
    Link {
        method: "post",
        path: "/api/chat/rooms",
        targets: &["/api/chat/rooms/{id}"],
        parameters: &[("id", "$response.body#/id")],
    },
    Link {
        method: "post",
        path: "/api/chat/rooms/{id}/messages",
        targets: &["/api/chat/messages/{id}"],
        parameters: &[("id", "$response.body#/id")],
    },
    Link {
        method: "post",
        path: "/api/chat/rooms/{id}/upload",
        targets: &["/api/chat/files/{id}"],
        parameters: &[("id", "$response.body#/attachments/0/id")],
    },
    Link {
        method: "post",
        path: "/api/chat/rooms/{id}/questions",
        targets: &["/api/chat/rooms/{id}/questions/{qid}"],
        parameters: &[("id", "$request.path.id"), ("qid", "$response.body#/id")],
    },
    Link {
        method: "post",
        path: "/api/events",
        targets: &["/api/events/{id}", "/api/chat/events/{id}"],
        parameters: &[("id", "$response.body#/id")],
    },
];

/// Adds [`LINKS`] to the first success answer of each creating operation, one link per
/// operation under the created thing's path.
fn document_links(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let operations: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().into_iter().flat_map(|m| m.values());
            methods.filter_map(|op| Some((path.clone(), op.get("operationId")?.as_str()?.to_owned())))
        })
        .collect();
    for Link { method, path, targets: prefixes, parameters } in LINKS {
        let links: serde_json::Map<String, Value> = operations
            .iter()
            .filter(|(target, _)| {
                prefixes.iter().any(|prefix| target == prefix || target.starts_with(&format!("{prefix}/")))
            })
            .map(|(_, operation_id)| {
                let parameters: serde_json::Map<String, Value> =
                    parameters.iter().map(|(name, from)| ((*name).to_owned(), (*from).into())).collect();
                (
                    operation_id.clone(),
                    serde_json::json!({"operationId": operation_id, "parameters": parameters}),
                )
            })
            .collect();
        let responses = paths
            .get_mut(*path)
            .and_then(|item| item.get_mut(*method))
            .and_then(|op| op.get_mut("responses"));
        let success = responses
            .and_then(Value::as_object_mut)
            .and_then(|responses| responses.iter_mut().find(|(status, _)| status.starts_with('2')))
            .and_then(|(_, response)| response.as_object_mut());
        if let Some(response) = success {
            response.insert("links".into(), Value::Object(links));
        }
    }
}

/// Calls `edit` on every JSON object in `value`, outermost first.
fn each_object(value: &mut Value, edit: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match value {
        Value::Object(fields) => {
            edit(fields);
            fields.values_mut().for_each(|v| each_object(v, edit));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| each_object(v, edit)),
        _ => {}
    }
}

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(calendar::router())
        .merge(rooms::router())
        .merge(messages::router())
        .merge(moderation::router())
        .merge(files::router())
        .merge(pins::router())
        .merge(qa::router())
        .merge(export::router())
        .merge(notifications::router())
        .merge(presence::router())
        .merge(ops::router())
        .split_for_parts()
}

/// Documents on every operation the errors it can answer before its own rules run, so
/// the document is a complete contract (a schema-driven client meets no status it was
/// not told of): 401 where it needs a session, 400/404 where its path has ids, 400 for
/// a bad query, the body errors where it takes a JSON body, 403 for a cookie-carrying
/// change from another origin.
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    fn add(op: &mut Operation, status: &str, description: &str) {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            RefOr::T(
                ResponseBuilder::new().description(description).content("application/json", content).build(),
            )
        });
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let ids_in_path = path.contains('{');
        let reads = [(&mut item.get, false)];
        let changes = [
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (op, changing) in reads.into_iter().chain(changes) {
            let Some(op) = op.as_mut() else { continue };
            let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
            if authenticated {
                add(op, "401", "`unauthenticated`: no valid session");
                if changing {
                    add(op, "403", "`cross_origin_refused`, or the caller may not do this");
                }
            }
            if ids_in_path {
                add(op, "400", "`invalid_path_parameter`");
                add(op, "404", "`not_found`");
                if authenticated {
                    add(op, "403", "`not_participant`, or the caller may not do this");
                }
            }
            let has_query = op
                .parameters
                .as_ref()
                .is_some_and(|ps| ps.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query)));
            if has_query {
                add(op, "400", "`invalid_query`");
            }
            if op.request_body.is_some() {
                add(op, "400", "`malformed_json`, `incomplete_body`");
                add(op, "408", "`request_timeout`: the body stopped arriving");
                add(op, "413", "`payload_too_large`");
                add(op, "415", "`unsupported_media_type`");
                add(op, "422", "`invalid_body`");
            }
            if authenticated {
                add(op, "503", "`server_busy`: the database is saturated; retry after `Retry-After`");
            }
        }
    }
}

/// The whole HTTP application (Socket.IO is layered on by the caller).
pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = api();
    let max_expiry = state.limits.max_file_expiry_seconds;
    // A limit that is a setting: the document states this server's.
    each_object(&mut openapi, &mut |schema| {
        if let Some(Value::Object(expires_in)) =
            schema.get_mut("properties").and_then(|p| p.get_mut("expires_in"))
        {
            expires_in.insert("maximum".into(), max_expiry.into());
        }
    });
    Router::new()
        .merge(api)
        .merge(web::router())
        .merge(
            SwaggerUi::new("/api/docs").external_urls_from_iter_unchecked([("/api/openapi.json", openapi)]),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.limits.max_json_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin_guard))
        .layer(middleware::from_fn_with_state(state.clone(), declared_size_guard))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(CatchPanicLayer::custom(|_| AppError::internal("handler panicked").into_response()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// Every response: browsers must not guess content types. JSON answers also forbid
/// every kind of content and framing, so an API response opened as a page does nothing.
pub async fn security_headers(mut response: Response) -> Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    response
}

/// Answers 413 at once when a request declares a body over the limit, before a byte of
/// it is read. Uploads have their own limit, checked once the caller is known
/// (`chat::files::authorize_upload`).
async fn declared_size_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if files::is_upload_path(request.uri().path()) {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = state.limits.max_json_bytes;
    if declared.is_some_and(|len| len > limit as u64) {
        return AppError::PayloadTooLarge(format!("request bodies here are limited to {limit} bytes"))
            .into_response();
    }
    next.run(request).await
}

/// Refuses cookie-authenticated state-changing requests from other origins (CSRF).
async fn same_origin_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match check_same_origin(request.method(), request.headers(), &state.limits.trusted_origins) {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

async fn not_found() -> AppError {
    AppError::NotFound("route")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
