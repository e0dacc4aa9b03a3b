//! Per-room delivery order. Messages are committed in seq order but published by
//! independent tasks (and instances), so they can reach an instance out of order: 133
//! before 132. Each instance therefore releases a room's messages to its connections
//! strictly in seq order, holding back any that arrive early until the gap is filled —
//! by the late publish, or by reading the missing seqs from the database. Seqs already
//! released are dropped, which also makes a duplicated publish harmless.
//!
//! Pure bookkeeping, no I/O: `realtime` owns one `RoomOrder` per occupied room and does
//! the reading.

use std::collections::BTreeMap;

use confab_protocol::Seq;

/// Most messages held back in one room; past that the gap is repaired at once.
pub const MAX_PENDING: usize = 10_000;

/// What `RoomOrder::accept` decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted<T> {
    /// Release these, in this order (the accepted one and any it unblocked).
    Release(Vec<T>),
    /// Held back behind a gap. `start_repair` is true when no repair is running yet.
    HeldBack {
        /// Whether the caller must start a repair of this room's gap.
        start_repair: bool,
    },
    /// Already released before: dropped.
    Duplicate,
}

/// The release state of one room on this instance.
#[derive(Debug)]
pub struct RoomOrder<T> {
    released: i64,
    pending: BTreeMap<i64, T>,
    repairing: bool,
}

impl<T> RoomOrder<T> {
    /// A room whose messages up to `released` need not be delivered live.
    pub fn new(released: Seq) -> Self {
        Self {
            released: released.0,
            pending: BTreeMap::new(),
            repairing: false,
        }
    }

    /// The highest seq released so far.
    pub fn released(&self) -> Seq {
        Seq(self.released)
    }

    /// Whether messages are held back behind a gap.
    pub fn has_gap(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether too many messages are held back to wait any longer.
    pub fn overfull(&self) -> bool {
        self.pending.len() >= MAX_PENDING
    }

    /// Takes in the message with `seq`.
    pub fn accept(&mut self, seq: Seq, item: T) -> Accepted<T> {
        let seq = seq.0;
        if seq <= self.released || self.pending.contains_key(&seq) {
            return Accepted::Duplicate;
        }
        if seq == self.released + 1 {
            self.released = seq;
            let mut out = vec![item];
            out.extend(self.drain_ready());
            return Accepted::Release(out);
        }
        self.pending.insert(seq, item);
        let start_repair = !self.repairing;
        self.repairing = true;
        Accepted::HeldBack { start_repair }
    }

    fn drain_ready(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(item) = self.pending.remove(&(self.released + 1)) {
            self.released += 1;
            out.push(item);
        }
        out
    }

    /// Marks the repair finished: returns whether a gap remains (repair again).
    pub fn repair_done(&mut self) -> bool {
        self.repairing = self.has_gap();
        self.repairing
    }

    /// Gives up on the current gap (the database has nothing for it): releases everything
    /// held back up to the next gap, in order.
    pub fn skip_gap(&mut self) -> Vec<T> {
        match self.pending.keys().next().copied() {
            Some(first) => {
                self.released = first - 1;
                self.drain_ready()
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_messages_are_released_at_once() {
        let mut order = RoomOrder::new(Seq(0));
        assert_eq!(order.accept(Seq(1), 'a'), Accepted::Release(vec!['a']));
        assert_eq!(order.accept(Seq(2), 'b'), Accepted::Release(vec!['b']));
        assert_eq!(order.released(), Seq(2));
    }

    #[test]
    fn an_early_message_waits_for_the_gap_and_then_both_go_in_order() {
        let mut order = RoomOrder::new(Seq(131));
        assert_eq!(
            order.accept(Seq(133), 'c'),
            Accepted::HeldBack { start_repair: true }
        );
        assert_eq!(
            order.accept(Seq(134), 'd'),
            Accepted::HeldBack {
                start_repair: false
            }
        );
        assert_eq!(
            order.accept(Seq(132), 'b'),
            Accepted::Release(vec!['b', 'c', 'd'])
        );
        assert!(!order.has_gap());
        assert!(!order.repair_done());
    }

    #[test]
    fn duplicates_and_old_seqs_are_dropped() {
        let mut order = RoomOrder::new(Seq(5));
        assert_eq!(order.accept(Seq(5), 'x'), Accepted::Duplicate);
        assert_eq!(
            order.accept(Seq(7), 'y'),
            Accepted::HeldBack { start_repair: true }
        );
        assert_eq!(order.accept(Seq(7), 'y'), Accepted::Duplicate);
        assert_eq!(order.accept(Seq(6), 'z'), Accepted::Release(vec!['z', 'y']));
        assert_eq!(order.accept(Seq(6), 'z'), Accepted::Duplicate);
    }

    #[test]
    fn skipping_a_gap_releases_what_was_held_back_up_to_the_next_gap() {
        let mut order = RoomOrder::new(Seq(0));
        order.accept(Seq(3), 'c');
        order.accept(Seq(4), 'd');
        order.accept(Seq(6), 'f');
        assert_eq!(order.skip_gap(), vec!['c', 'd']);
        assert_eq!(order.released(), Seq(4));
        assert!(order.repair_done(), "the gap before 6 remains");
        assert_eq!(order.accept(Seq(5), 'e'), Accepted::Release(vec!['e', 'f']));
    }
}
