//! The deterministic random numbers the generated data is drawn from.

use uuid::Uuid;

/// splitmix64: deterministic, dependency-free.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn weighted<T: Copy>(&mut self, items: &[(u64, T)]) -> T {
        let mut pick = self.below(items.iter().map(|(w, _)| w).sum());
        for (w, item) in items {
            if pick < *w {
                return *item;
            }
            pick -= w;
        }
        items[0].1
    }

    pub fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(
            (u128::from(self.next()) << 64 | u128::from(self.next())).to_le_bytes(),
        )
        .into_uuid()
    }
}
