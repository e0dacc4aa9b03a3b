//! Prometheus metrics (`/metrics`): the recorder is installed once per process and the
//! hot-path handles are resolved once, so counting a frame is one atomic add.

use std::sync::{LazyLock, OnceLock};

use metrics::{Counter, Gauge, counter, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (first call only) and returns its handle. Must run
/// before any metric below is first touched, which `Application::build` guarantees.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(err) => {
                tracing::warn!(error = %err, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

/// The metrics in text exposition format.
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

macro_rules! handle {
    ($name:ident: $kind:ty = $make:ident!($key:literal), $doc:literal) => {
        #[doc = $doc]
        pub static $name: LazyLock<$kind> = LazyLock::new(|| $make!($key));
    };
}

handle!(OPEN_CONNECTIONS: Gauge = gauge!("confab_open_connections"), "WebSocket connections open now.");
handle!(FRAMES_IN: Counter = counter!("confab_frames_in_total"), "Client frames received.");
handle!(FRAMES_OUT: Counter = counter!("confab_frames_out_total"), "Server frames written to sockets.");
handle!(BUS_PUBLISHED: Counter = counter!("confab_bus_published_total"), "Envelopes published to the bus.");
handle!(BUS_RECEIVED: Counter = counter!("confab_bus_received_total"), "Envelopes received from other instances.");
handle!(BUS_DROPPED: Counter = counter!("confab_bus_dropped_total"), "Envelopes dropped: the publish queue was full.");
handle!(REDIS_RECONNECTS: Counter = counter!("confab_redis_reconnects_total"), "Times the Redis bus connected again after losing its connection.");
handle!(SLOW_CONSUMERS: Counter = counter!("confab_slow_consumer_disconnects_total"), "Connections closed because their outbound queue overflowed.");
handle!(FRAMES_OVER_BUDGET: Counter = counter!("confab_frames_over_budget_total"), "Client frames refused because their connection sent too many too fast.");
handle!(BACKFILL_REQUESTS: Counter = counter!("confab_backfill_requests_total"), "Backfill frames served to clients.");
handle!(PRESENCE_CHANGES: Counter = counter!("confab_presence_changes_total"), "Users announced online or offline by this instance.");
handle!(GAP_REPAIRS: Counter = counter!("confab_gap_repairs_total"), "Room gaps filled from the database instead of the bus.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touched_metrics_are_rendered() {
        install();
        FRAMES_IN.increment(3);
        OPEN_CONNECTIONS.increment(1.0);
        OPEN_CONNECTIONS.increment(1.0);
        let text = render();
        assert!(text.contains("confab_frames_in_total 3"), "{text}");
        assert!(text.contains("confab_open_connections 2"), "{text}");
    }
}
