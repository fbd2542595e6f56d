//! The fuzzer's random numbers: SplitMix64, a few lines with no dependency, so that every
//! generated input is a pure function of (seed, target, iteration) and a crash found on one
//! machine is the same crash on another.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, good enough statistics for
/// choosing mutations, and any state is valid, so seeding needs no care.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The generator of one input: the same three numbers always give the same stream.
    pub fn for_input(seed: u64, target: usize, iteration: u64) -> Self {
        // Mixed once through the generator itself so that neighbouring iterations do not
        // start from neighbouring states.
        let mut r = Rng(seed ^ (target as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let base = r.next_u64();
        Rng(base ^ iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by Lemire's multiply-shift: no modulo bias worth
    /// the name at these sizes.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_input_coordinates_give_the_same_stream() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_input(7, 2, 99).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::for_input(7, 2, 99).next_u64(), Rng::for_input(7, 2, 100).next_u64());
        assert_ne!(Rng::for_input(7, 2, 99).next_u64(), Rng::for_input(7, 3, 99).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(1);
        assert_eq!(r.below(0), 0);
        for n in [1, 2, 3, 10, 1000] {
            assert!((0..1000).all(|_| r.below(n) < n));
        }
        assert!((0..1000).all(|_| (5..=9).contains(&r.range(5, 9))));
    }
}
