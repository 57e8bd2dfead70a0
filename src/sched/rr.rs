//! Round robin (ip_vs_rr.c).
//!
//! Invariants: the cursor is `None` (list head) or the index of the last
//! picked dest; a pick scans the dests after the cursor, wrapping at most
//! once (a single pass when the cursor is the head), and returns the first
//! eligible one. On rebind the cursor follows its dest; if that dest was
//! removed it moves to the entry before the removed dest's surviving
//! successor (`ip_vs_rr_del_dest`: `p->next->prev`).

use super::common::eligible;
use super::{Dest, DestLoad};

/// Per-worker rr cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RrState {
    cursor: Option<usize>,
}

impl RrState {
    pub fn new() -> RrState {
        RrState { cursor: None }
    }

    pub fn cursor(&self) -> Option<usize> {
        self.cursor
    }

    pub(crate) fn rebind(
        &mut self,
        old_n: usize,
        new_n: usize,
        map: &dyn Fn(usize) -> Option<usize>,
    ) {
        let Some(c) = self.cursor else { return };
        if let Some(j) = map(c) {
            self.cursor = Some(j);
            return;
        }
        // Removed: the cursor goes to the predecessor of the old successor.
        self.cursor = match ((c + 1)..old_n).find_map(map) {
            Some(0) => None,
            Some(j) => Some(j - 1),
            None => new_n.checked_sub(1),
        };
    }
}

/// ip_vs_rr_schedule.
pub fn pick(st: &mut RrState, dests: &[Dest], load: &[DestLoad]) -> Option<usize> {
    let n = dests.len().min(load.len());
    let last = st.cursor.filter(|&c| c < n);
    let mut start = last.map_or(0, |c| c + 1);
    for _pass in 0..2 {
        for i in start..n {
            if eligible(&dests[i], &load[i]) {
                st.cursor = Some(i);
                return Some(i);
            }
            if Some(i) == last {
                return None;
            }
        }
        if last.is_none() {
            break;
        }
        start = 0;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Flags, Scheduler, State, Table};
    use super::*;

    fn s(v: &[usize]) -> Vec<Option<usize>> {
        v.iter().map(|&i| Some(i)).collect()
    }

    #[test]
    fn cases() {
        let mut over = idle(4);
        over[2].overloaded = true;
        let mut removed = dests(&[1, 1, 1]);
        removed[0].available = false;
        let cases: Vec<SeqCase> = vec![
            ("plain", dests(&[1, 1, 1]), idle(3), s(&[0, 1, 2, 0, 1, 2])),
            ("weights ignored", dests(&[5, 1]), idle(2), s(&[0, 1, 0, 1])),
            (
                "skip weight 0",
                dests(&[1, 0, 1]),
                idle(3),
                s(&[0, 2, 0, 2]),
            ),
            (
                "skip overloaded",
                dests(&[1, 1, 1, 1]),
                over,
                s(&[0, 1, 3, 0, 1, 3]),
            ),
            ("skip removed", removed, idle(3), s(&[1, 2, 1])),
            ("all weight 0", dests(&[0, 0]), idle(2), vec![None, None]),
            ("empty", dests(&[]), idle(0), vec![None]),
            ("single", dests(&[3]), idle(1), s(&[0, 0, 0])),
        ];
        for (name, d, l, want) in cases {
            assert_eq!(seq(Scheduler::Rr, &d, &l, want.len()), want, "{name}");
        }
    }

    #[test]
    fn cursor_survives_and_stops() {
        let d = dests(&[1, 1, 1]);
        let t = Table::build(Scheduler::Rr, Flags::default(), &d, 0).unwrap();
        let mut st = State::new(&t);
        let mut l = idle(3);
        assert_eq!(t.pick(&mut st, &d, &l, &flow()), Some(0));
        assert_eq!(t.pick(&mut st, &d, &l, &flow()), Some(1));
        // Everything overloaded: None, cursor unchanged.
        for x in l.iter_mut() {
            x.overloaded = true;
        }
        assert_eq!(t.pick(&mut st, &d, &l, &flow()), None);
        l[1].overloaded = false;
        assert_eq!(t.pick(&mut st, &d, &l, &flow()), Some(1)); // cursor itself, after a full wrap
        l = idle(3);
        assert_eq!(t.pick(&mut st, &d, &l, &flow()), Some(2));
    }

    #[test]
    fn rebind_on_removal_and_add() {
        // Cursor on B (index 1) of A,B,C; remove B: next pick is C.
        let mut st = RrState { cursor: Some(1) };
        st.rebind(3, 2, &|i| [Some(0), None, Some(1)][i]);
        assert_eq!(st.cursor, Some(0));
        let d = dests(&[1, 1]);
        assert_eq!(pick(&mut st, &d, &idle(2)), Some(1));
        // Cursor on last (C) removed: cursor -> new last, next pick wraps to head.
        let mut st = RrState { cursor: Some(2) };
        st.rebind(3, 2, &|i| [Some(0), Some(1), None][i]);
        assert_eq!(st.cursor, Some(1));
        assert_eq!(pick(&mut st, &d, &idle(2)), Some(0));
        // New dest added at head (indices shift by one): cursor follows dest.
        let mut st = RrState { cursor: Some(0) };
        st.rebind(2, 3, &|i| Some(i + 1));
        assert_eq!(st.cursor, Some(1));
        // Cursor out of range of the slice: treated as head, no panic.
        let mut st = RrState { cursor: Some(99) };
        assert_eq!(pick(&mut st, &d, &idle(2)), Some(0));
    }
}
