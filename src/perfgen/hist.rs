//! A fixed log-linear histogram of TSC-cycle latencies: 32 sub-buckets per
//! power of two (about 3 % resolution), no allocation after creation.

/// Sub-buckets per power of two (as a shift).
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Powers of two covered above the linear range (values up to 2^40 cycles).
const GROUPS: usize = 40;

/// Latency histogram in TSC cycles.
#[derive(Clone, Debug)]
pub struct LatHist {
    buckets: Box<[u64]>,
    count: u64,
    max: u64,
}

impl Default for LatHist {
    fn default() -> Self {
        Self::new()
    }
}

impl LatHist {
    /// An empty histogram (the only allocation).
    pub fn new() -> LatHist {
        LatHist {
            buckets: vec![0u64; SUB * (GROUPS + 1)].into_boxed_slice(),
            count: 0,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < SUB as u64 {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros(); // >= SUB_BITS
        let group = (msb - SUB_BITS + 1) as usize;
        let sub = ((v >> (msb - SUB_BITS)) as usize) & (SUB - 1);
        (group * SUB + sub).min(SUB * (GROUPS + 1) - 1)
    }

    /// Upper bound (inclusive) of the values in bucket `i`.
    fn upper(i: usize) -> u64 {
        if i + 1 >= SUB * (GROUPS + 1) {
            return u64::MAX; // the overflow bucket
        }
        let (group, sub) = (i / SUB, (i % SUB) as u64);
        if group == 0 {
            return sub;
        }
        let shift = (group - 1) as u32;
        ((SUB as u64 + sub + 1) << shift) - 1
    }

    /// Count one sample.
    #[inline]
    pub fn record(&mut self, cycles: u64) {
        let i = Self::index(cycles);
        self.buckets[i] += 1;
        self.count += 1;
        self.max = self.max.max(cycles);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Largest sample.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `q` quantile (0..=1) in cycles: an upper bound of the bucket
    /// holding it (never above the maximum). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &b) in self.buckets.iter().enumerate() {
            seen += b;
            if seen >= rank {
                return Some(Self::upper(i).min(self.max));
            }
        }
        Some(self.max)
    }
}
