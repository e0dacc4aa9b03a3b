//! What a run reports: server memory from `/proc/PID/status`, one measurement window's
//! counts and percentiles, and the output itself — ONE JSON line on stdout (for scripts)
//! and a human summary on stderr.

use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::client::{Conn, Shared};
use crate::tally::{Percentiles, Window, lost, percentiles_ms};

/// Memory of one server process.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rss {
    /// The process.
    pub pid: u32,
    /// Resident set now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident set (`VmHWM`), KiB.
    pub peak_kib: u64,
}

/// Reads a process's resident and peak memory; `None` when it is gone or unreadable.
pub fn rss(pid: u32) -> Option<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
    };
    Some(Rss {
        pid,
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// Memory of every given process that can be read.
pub fn rss_all(pids: &[u32]) -> Vec<Rss> {
    pids.iter().filter_map(|pid| rss(*pid)).collect()
}

/// One measurement window, summed over every connection.
#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    /// Target send rate, messages per second (0 for one-at-a-time modes).
    pub rate: f64,
    /// How long sending lasted, seconds.
    pub seconds: f64,
    /// Messages sent.
    pub sent: u64,
    /// Messages acknowledged by the server (committed).
    pub acked: u64,
    /// Deliveries expected: each acked message times its room's connected members.
    pub expected: u64,
    /// Unique deliveries.
    pub delivered: u64,
    /// Expected deliveries that never came.
    pub lost: u64,
    /// Arrivals of a message a connection already had.
    pub duplicated: u64,
    /// Deliveries after a higher seq of the same room.
    pub out_of_order: u64,
    /// `delivered / seconds`.
    pub deliveries_per_s: f64,
    /// Send-to-receipt latency of every delivery.
    pub latency_ms: Percentiles,
}

impl WindowReport {
    /// Whether the window met the bar: nothing lost, duplicated or reordered, every send
    /// acked, p99 within `p99_ms`.
    pub fn passes(&self, p99_ms: f64) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.out_of_order == 0
            && self.acked == self.sent
            && self.latency_ms.p99 <= p99_ms
    }
}

/// Takes window `w` out of every connection and sums it up; returns the report and the
/// merged window (for per-message analysis).
pub fn collect(
    conns: &[Conn],
    shared: &Shared,
    w: u32,
    rate: f64,
    seconds: f64,
) -> (WindowReport, Window) {
    let mut merged = Window::default();
    for conn in conns {
        merged.merge(conn.tally().take(w));
    }
    let counters = shared.window(w as usize);
    let expected = counters.expected.load(Ordering::Relaxed);
    let latency_ms = percentiles_ms(&mut merged.latencies_us);
    let report = WindowReport {
        rate,
        seconds,
        sent: counters.sent.load(Ordering::Relaxed),
        acked: counters.acked.load(Ordering::Relaxed),
        expected,
        delivered: merged.delivered,
        lost: lost(expected, merged.delivered),
        duplicated: merged.duplicated,
        out_of_order: merged.out_of_order,
        deliveries_per_s: if seconds > 0.0 {
            merged.delivered as f64 / seconds
        } else {
            0.0
        },
        latency_ms,
    };
    (report, merged)
}

/// One line for people.
pub fn human(report: &WindowReport) -> String {
    format!(
        "rate {:>8.0}/s  sent {:>7}  acked {:>7}  delivered {:>9}/{:<9} lost {:>6} dup {:>4} ooo {:>4}  {:>9.0} deliveries/s  p50 {:>7.1} p90 {:>7.1} p99 {:>7.1} max {:>7.1} ms",
        report.rate,
        report.sent,
        report.acked,
        report.delivered,
        report.expected,
        report.lost,
        report.duplicated,
        report.out_of_order,
        report.deliveries_per_s,
        report.latency_ms.p50,
        report.latency_ms.p90,
        report.latency_ms.p99,
        report.latency_ms.max,
    )
}

/// Prints the run's one JSON line on stdout.
#[allow(clippy::print_stdout, reason = "the report is this tool's output")]
pub fn emit<T: Serialize>(report: &T) {
    match serde_json::to_string(report) {
        Ok(line) => println!("{line}"),
        Err(err) => eprintln!("bench: cannot encode the report: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_memory_is_readable() {
        let me = rss(std::process::id()).expect("own /proc status");
        assert!(me.rss_kib > 0 && me.peak_kib >= me.rss_kib);
        assert!(rss(u32::MAX).is_none());
    }

    #[test]
    fn a_window_passes_only_without_loss_and_within_the_latency_bar() {
        let mut report = WindowReport {
            rate: 1.0,
            seconds: 1.0,
            sent: 2,
            acked: 2,
            expected: 20,
            delivered: 20,
            lost: 0,
            duplicated: 0,
            out_of_order: 0,
            deliveries_per_s: 20.0,
            latency_ms: Percentiles {
                p50: 1.0,
                p90: 2.0,
                p99: 99.0,
                max: 300.0,
            },
        };
        assert!(report.passes(100.0));
        report.lost = 1;
        assert!(!report.passes(100.0));
        report.lost = 0;
        report.latency_ms.p99 = 101.0;
        assert!(!report.passes(100.0));
    }
}
