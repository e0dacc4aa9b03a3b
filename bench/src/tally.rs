//! The counting logic, pure and I/O-free: which deliveries are new, duplicated or out of
//! order on one connection's view of one room, how many were lost, and latency
//! percentiles. Everything the load tool reports is computed here, so it is tested here.
//!
//! A connection must see each seq of a room once, in increasing order. [`SeqTracker`]
//! classifies every arrival: a seq seen before is a duplicate (not a delivery); a new seq
//! lower than one already seen arrived out of order (it still counts as delivered); a seq
//! at or below the room's position when tracking began is stale. Loss is what was expected
//! (acked messages times the room's connected members) minus the unique deliveries.

/// How one arrival was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// A seq not seen before, higher than every seq seen so far.
    InOrder,
    /// A seq not seen before, but lower than one already seen.
    OutOfOrder,
    /// A seq seen before.
    Duplicate,
    /// A seq at or below the position tracking started from (the room's history).
    Stale,
}

impl Receipt {
    /// Whether this arrival is a delivery (the first of its seq).
    pub fn is_delivery(self) -> bool {
        matches!(self, Self::InOrder | Self::OutOfOrder)
    }
}

/// What one connection has seen of one room: a bitset of seqs after a starting position.
#[derive(Debug, Clone)]
pub struct SeqTracker {
    after: i64,
    highest: i64,
    seen: Vec<u64>,
}

impl SeqTracker {
    /// Tracks the seqs after `after` (the room's newest seq when the connection opened).
    pub fn new(after: i64) -> Self {
        Self {
            after,
            highest: after,
            seen: Vec::new(),
        }
    }

    /// Classifies the arrival of `seq` and remembers it.
    pub fn record(&mut self, seq: i64) -> Receipt {
        if seq <= self.after {
            return Receipt::Stale;
        }
        let Ok(index) = usize::try_from(seq - self.after - 1) else {
            return Receipt::Stale;
        };
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & bit != 0 {
            return Receipt::Duplicate;
        }
        self.seen[word] |= bit;
        if seq < self.highest {
            Receipt::OutOfOrder
        } else {
            self.highest = seq;
            Receipt::InOrder
        }
    }
}

/// Deliveries of one measurement window, on one connection or merged over many.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// Unique deliveries (in order or not).
    pub delivered: u64,
    /// Arrivals of a seq already delivered, plus stale ones.
    pub duplicated: u64,
    /// Deliveries that came after a higher seq of the same room.
    pub out_of_order: u64,
    /// End-to-end latency of each delivery, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Window {
    /// Counts one arrival that took `latency_us` from send to receipt.
    pub fn record(&mut self, receipt: Receipt, latency_us: u64) {
        match receipt {
            Receipt::InOrder => {}
            Receipt::OutOfOrder => self.out_of_order += 1,
            Receipt::Duplicate | Receipt::Stale => {
                self.duplicated += 1;
                return;
            }
        }
        self.delivered += 1;
        self.latencies_us
            .push(u32::try_from(latency_us).unwrap_or(u32::MAX));
    }

    /// Adds another window's counts and latencies to this one.
    pub fn merge(&mut self, other: Window) {
        self.delivered += other.delivered;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.latencies_us.extend(other.latencies_us);
    }

    /// The largest latency, in microseconds (0 when nothing was delivered).
    pub fn max_latency_us(&self) -> u32 {
        self.latencies_us.iter().copied().max().unwrap_or(0)
    }
}

/// Deliveries expected and not made: never negative.
pub fn lost(expected: u64, delivered: u64) -> u64 {
    expected.saturating_sub(delivered)
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of sorted samples; 0 for none.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50 / p90 / p99 / max of microsecond samples, reported in milliseconds. Sorts in place.
pub fn percentiles_ms(samples: &mut [u32]) -> Percentiles {
    samples.sort_unstable();
    let ms = |us: u32| f64::from(us) / 1000.0;
    Percentiles {
        p50: ms(percentile(samples, 50.0)),
        p90: ms(percentile(samples, 90.0)),
        p99: ms(percentile(samples, 99.0)),
        max: ms(samples.last().copied().unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_of(tracker: &mut SeqTracker, seqs: &[i64]) -> Window {
        let mut window = Window::default();
        for (i, seq) in seqs.iter().enumerate() {
            window.record(tracker.record(*seq), i as u64 * 10);
        }
        window
    }

    #[test]
    fn seqs_in_order_are_all_deliveries() {
        let mut tracker = SeqTracker::new(0);
        let window = window_of(&mut tracker, &[1, 2, 3, 4]);
        assert_eq!(
            (window.delivered, window.duplicated, window.out_of_order),
            (4, 0, 0)
        );
        assert_eq!(tracker.record(5), Receipt::InOrder);
        assert_eq!(window.latencies_us, vec![0, 10, 20, 30]);
    }

    #[test]
    fn a_repeated_seq_is_a_duplicate_and_not_a_delivery() {
        let mut tracker = SeqTracker::new(0);
        let window = window_of(&mut tracker, &[1, 2, 2, 3, 1]);
        assert_eq!(window.delivered, 3);
        assert_eq!(window.duplicated, 2);
        assert_eq!(window.out_of_order, 0);
        assert_eq!(window.latencies_us.len(), 3, "duplicates carry no latency");
    }

    #[test]
    fn a_late_seq_after_a_higher_one_is_out_of_order_but_delivered() {
        let mut tracker = SeqTracker::new(10);
        let window = window_of(&mut tracker, &[11, 13, 12, 14]);
        assert_eq!(window.delivered, 4);
        assert_eq!(window.out_of_order, 1);
        assert_eq!(tracker.record(12), Receipt::Duplicate);
    }

    #[test]
    fn a_gap_shows_as_loss_against_the_expected_count() {
        let mut tracker = SeqTracker::new(0);
        let window = window_of(&mut tracker, &[1, 2, 4, 5]);
        assert_eq!(window.delivered, 4);
        assert_eq!(lost(5, window.delivered), 1);
        assert_eq!(lost(3, 4), 0, "more than expected is never negative loss");
    }

    #[test]
    fn seqs_from_before_tracking_began_are_stale() {
        let mut tracker = SeqTracker::new(100);
        assert_eq!(tracker.record(100), Receipt::Stale);
        assert_eq!(tracker.record(-5), Receipt::Stale);
        assert_eq!(tracker.record(101), Receipt::InOrder);
        assert!(!Receipt::Stale.is_delivery());
    }

    #[test]
    fn seqs_far_apart_are_tracked_across_words_of_the_bitset() {
        let mut tracker = SeqTracker::new(0);
        assert_eq!(tracker.record(1_000), Receipt::InOrder);
        assert_eq!(tracker.record(64), Receipt::OutOfOrder);
        assert_eq!(tracker.record(65), Receipt::OutOfOrder);
        assert_eq!(tracker.record(1_000), Receipt::Duplicate);
        assert_eq!(tracker.record(64), Receipt::Duplicate);
    }

    #[test]
    fn merged_windows_add_up() {
        let mut a = Window::default();
        a.record(Receipt::InOrder, 5);
        a.record(Receipt::Duplicate, 7);
        let mut b = Window::default();
        b.record(Receipt::OutOfOrder, 9);
        a.merge(b);
        assert_eq!((a.delivered, a.duplicated, a.out_of_order), (2, 1, 1));
        assert_eq!(a.max_latency_us(), 9);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples: Vec<u32> = (1..=100).rev().map(|ms| ms * 1000).collect();
        let p = percentiles_ms(&mut samples);
        assert_eq!(
            p,
            Percentiles {
                p50: 50.0,
                p90: 90.0,
                p99: 99.0,
                max: 100.0
            }
        );
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 99.0), 4);
    }
}
