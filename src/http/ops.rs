//! Operations endpoints: `/healthz` for load balancers, `/metrics` for Prometheus.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(metrics))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the database answers (a Redis outage degrades but does not stop the
    /// instance), else `unavailable`.
    pub status: &'static str,
    /// `ok` or `down`.
    pub database: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// `ok` or `down`; absent when the instance runs without Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<&'static str>,
}

/// # `GET /healthz`
///
/// The state of each dependency. 200 while the database answers (with Redis down the
/// instance still serves its own sockets), 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let backend = state.store.backend_name();
    let redis = state.publisher.redis_up().map(|up| if up { "ok" } else { "down" });
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(Health { status: "ok", database: "ok", backend, redis })),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            let health = Health { status: "unavailable", database: "down", backend, redis };
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(health))
        }
    }
}

/// # `GET /metrics`
///
/// Prometheus / OpenMetrics text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics text", content_type = "application/openmetrics-text")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], {
        state.metrics.bus_failed_publishes(state.publisher.failed_publishes());
        state.metrics.render()
    })
}
