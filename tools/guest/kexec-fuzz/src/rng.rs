// SPDX-License-Identifier: GPL-2.0

//! The fuzzer's only source of randomness: SplitMix64 (Steele, Lea and Flood,
//! "Fast splittable pseudorandom number generators", 2014). One 64-bit state, a
//! full period of 2^64, and every draw depends on nothing but the seed and the
//! number of draws before it, so a seed replays the same calls on any kernel.

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function, also used to derive independent seeds.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// An independent generator for stream `n` of this seed (a thread, a file).
    pub fn fork(seed: u64, n: u64) -> Self {
        Rng::new(mix(seed ^ mix(n.wrapping_add(GAMMA))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by Lemire's multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `per_mille`/1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// An index into `weights`, with probability proportional to its weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if r < w as u64 {
                return i;
            }
            r -= w as u64;
        }
        weights.len() - 1
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// A byte string of `len` printable ASCII characters (no NUL, no newline).
    pub fn printable(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| b' ' + self.below(95) as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..1000).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::new(42);
        for &v in &a {
            assert_eq!(r.next_u64(), v);
        }
        let mut other = Rng::new(43);
        assert_ne!(other.next_u64(), a[0]);
    }

    #[test]
    fn known_values() {
        // SplitMix64 from state 0: the reference implementation's first outputs.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut r = Rng::new(7);
        for n in [1u64, 2, 3, 10, 4096, u64::MAX] {
            for _ in 0..200 {
                assert!(r.below(n) < n);
            }
        }
        assert_eq!(r.below(0), 0);
        for _ in 0..200 {
            let v = r.range(5, 9);
            assert!((5..=9).contains(&v));
        }
        let _ = r.range(0, u64::MAX);
        let mut hits = [0u32; 3];
        for _ in 0..3000 {
            hits[r.weighted(&[1, 0, 2])] += 1;
        }
        assert_eq!(hits[1], 0);
        assert!(hits[2] > hits[0]);
    }

    #[test]
    fn forks_differ_and_repeat() {
        let a = Rng::fork(1, 0).next_u64();
        let b = Rng::fork(1, 1).next_u64();
        assert_ne!(a, b);
        assert_eq!(Rng::fork(1, 0).next_u64(), a);
    }

    #[test]
    fn fill_and_printable() {
        let mut r = Rng::new(3);
        let mut buf = [0u8; 13];
        r.fill(&mut buf);
        assert!(buf.iter().any(|&b| b != 0));
        let p = r.printable(100);
        assert!(p.iter().all(|&b| (b' '..=b'~').contains(&b)));
    }
}
