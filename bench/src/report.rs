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

/// CPU time a process (with its child processes, for PostgreSQL's backends) has used, in
/// seconds, from `/proc/PID/stat` (clock ticks of 1/100 s, Linux's `USER_HZ`).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    fn ticks(stat: &str) -> Option<(u32, u64)> {
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let ppid = fields.get(1)?.parse().ok()?;
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some((ppid, utime + stime))
    }
    let own = ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?.1;
    let children: u64 = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| ticks(&stat))
        .filter(|(ppid, _)| *ppid == pid)
        .map(|(_, t)| t)
        .sum();
    Some((own + children) as f64 / 100.0)
}

/// CPU used by a process during a window.
#[derive(Debug, Clone, Serialize)]
pub struct CpuUse {
    /// The process (`0`: this tool).
    pub pid: u32,
    /// CPU seconds used.
    pub cpu_s: f64,
}

/// CPU seconds of each process (this tool included, as pid 0), for differences.
pub fn cpu_snapshot(pids: &[u32]) -> Vec<(u32, f64)> {
    let mut all: Vec<(u32, f64)> = pids
        .iter()
        .filter_map(|pid| cpu_seconds(*pid).map(|s| (*pid, s)))
        .collect();
    if let Some(own) = cpu_seconds(std::process::id()) {
        all.push((0, own));
    }
    all
}

/// CPU each process used between two snapshots.
pub fn cpu_between(before: &[(u32, f64)], after: &[(u32, f64)]) -> Vec<CpuUse> {
    after
        .iter()
        .filter_map(|(pid, end)| {
            let start = before.iter().find(|(p, _)| p == pid)?.1;
            Some(CpuUse {
                pid: *pid,
                cpu_s: ((end - start) * 100.0).round() / 100.0,
            })
        })
        .collect()
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
    /// Send-to-ack latency (the database path alone).
    pub ack_latency_ms: Percentiles,
    /// CPU each process used meanwhile (servers, Redis, PostgreSQL with its backends,
    /// and this tool as pid 0), when asked for.
    pub cpu: Vec<CpuUse>,
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

/// Takes window `w` out of every connection and sums it up; returns the report, the
/// merged window and the ack latencies (for per-message analysis).
pub fn collect(
    conns: &[Conn],
    shared: &Shared,
    w: u32,
    rate: f64,
    seconds: f64,
) -> (WindowReport, Window, Vec<u32>) {
    let mut merged = Window::default();
    let mut acks = Vec::new();
    for conn in conns {
        let (window, ack) = conn.tally().take(w);
        merged.merge(window);
        acks.extend(ack);
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
        ack_latency_ms: percentiles_ms(&mut acks),
        cpu: Vec::new(),
    };
    (report, merged, acks)
}

/// One line for people.
pub fn human(report: &WindowReport) -> String {
    let cpu: Vec<String> = report
        .cpu
        .iter()
        .map(|c| {
            format!(
                "{}:{:.2}",
                if c.pid == 0 {
                    "bench".to_owned()
                } else {
                    c.pid.to_string()
                },
                c.cpu_s
            )
        })
        .collect();
    format!(
        "rate {:>8.0}/s  sent {:>7}  acked {:>7}  delivered {:>9}/{:<9} lost {:>6} dup {:>4} ooo {:>4}  {:>9.0} deliveries/s  p50 {:>7.1} p90 {:>7.1} p99 {:>7.1} max {:>7.1} ms  ack p50 {:.1} p99 {:.1} ms  cpu s {}",
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
        report.ack_latency_ms.p50,
        report.ack_latency_ms.p99,
        cpu.join(" "),
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
    fn cpu_use_is_the_difference_between_snapshots() {
        assert!(cpu_seconds(std::process::id()).is_some());
        let used = cpu_between(&[(7, 1.0), (0, 2.0)], &[(7, 1.5), (0, 2.25), (9, 4.0)]);
        let used: Vec<(u32, f64)> = used.iter().map(|c| (c.pid, c.cpu_s)).collect();
        assert_eq!(used, vec![(7, 0.5), (0, 0.25)]);
    }

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
            ack_latency_ms: Percentiles::default(),
            cpu: Vec::new(),
        };
        assert!(report.passes(100.0));
        report.lost = 1;
        assert!(!report.passes(100.0));
        report.lost = 0;
        report.latency_ms.p99 = 101.0;
        assert!(!report.passes(100.0));
    }
}
