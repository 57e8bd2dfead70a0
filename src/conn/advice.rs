//! Advice to the kernel about the table's two big allocations (records and
//! index), given before they are first touched. The table has no unchecked
//! code and no DPDK: whoever builds it passes the hook (the worker passes
//! `dpdk::advise_huge_pages`, which asks for transparent huge pages; tests
//! pass [`no_advice`]).

/// Called once per allocation with its address range (the whole capacity),
/// before any of it is written.
pub type PageAdvice = fn(start: usize, len: usize);

/// No advice: the kernel backs the memory as it likes.
pub fn no_advice(_start: usize, _len: usize) {}

/// Give `advice` the range of `v`'s whole capacity.
pub(crate) fn advise<T>(v: &Vec<T>, advice: PageAdvice) {
    let start = v.as_ptr() as usize;
    let len = v.capacity().saturating_mul(std::mem::size_of::<T>());
    advice(start, len);
}
