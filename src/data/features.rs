//! A data set's feature values with what one pass over them tells ([`Scan`]), kept until they
//! change: the checks and choices that read every value (finite values before training, the
//! largest magnitude, the range and integrality `normalize` auto decides on) then cost one
//! pass per data set instead of one each, every epoch. Any mutable access through
//! [`std::ops::DerefMut`] forgets the scan, so it can never describe other values.

use rayon::prelude::*;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

/// What one pass over a set of f32 values finds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scan {
    /// The index of the first value (in order) that is NaN or infinite.
    pub(crate) first_non_finite: Option<usize>,
    /// The smallest and largest value, NaN ignored (+∞ and −∞ when there is none).
    pub(crate) lo: f32,
    pub(crate) hi: f32,
    /// Whether every value is a whole number in `0..=2³²` (`(v as u32) as f32 == v`).
    pub(crate) whole: bool,
}

impl Scan {
    /// Scans `values` in parallel (the caller's pool) by chunks, combined in order.
    pub(crate) fn of(values: &[f32]) -> Scan {
        values
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| Scan::serial(chunk, c * CHUNK))
            .reduce(Scan::empty, Scan::then)
    }

    /// Changes `values` (whole rows of `d`) by `f`, called on blocks of whole rows in
    /// parallel, and scans each block while it is still in cache: the scan of the new values
    /// for the cost of the change alone.
    pub(crate) fn after(values: &mut [f32], d: usize, f: impl Fn(&mut [f32]) + Sync) -> Scan {
        let block = Scan::row_block(d);
        values
            .par_chunks_mut(block)
            .enumerate()
            .map(|(c, chunk)| {
                f(chunk);
                Scan::serial(chunk, c * block)
            })
            .reduce(Scan::empty, Scan::then)
    }

    /// Values per parallel block of whole rows of `d` (about 32K).
    pub(crate) fn row_block(d: usize) -> usize {
        (CHUNK / d.max(1)).max(1) * d.max(1)
    }

    /// The scan of no values.
    fn empty() -> Scan {
        Scan { first_non_finite: None, lo: f32::INFINITY, hi: f32::NEG_INFINITY, whole: true }
    }

    /// One chunk's scan, on the calling thread; `start` is its first value's index.
    fn serial(values: &[f32], start: usize) -> Scan {
        // In lanes; the position of a non-finite value only when there is one.
        let mut lo = [f32::INFINITY; LANES];
        let mut hi = [f32::NEG_INFINITY; LANES];
        let mut flags = [0u32; LANES];
        let whole_lanes = values.len() / LANES * LANES;
        scan_lanes(&values[..whole_lanes], &mut lo, &mut hi, &mut flags);
        for (l, &v) in values[whole_lanes..].iter().enumerate() {
            lane(l, v, &mut lo, &mut hi, &mut flags);
        }
        let fold = |lanes: [f32; LANES], pick: fn(f32, f32) -> f32| {
            lanes.into_iter().reduce(pick).unwrap_or(f32::NAN)
        };
        let (lo, hi) = (fold(lo, f32::min), fold(hi, f32::max));
        let flags = flags.iter().fold(0, |a, f| a | f);
        let first_non_finite = if flags & NON_FINITE == 0 {
            None
        } else {
            values.iter().position(|v| !v.is_finite()).map(|i| start + i)
        };
        Scan { first_non_finite, lo, hi, whole: flags & NOT_WHOLE == 0 }
    }

    /// The scan of `self`'s values followed by `next`'s.
    fn then(self, next: Scan) -> Scan {
        Scan {
            first_non_finite: self.first_non_finite.or(next.first_non_finite),
            lo: self.lo.min(next.lo),
            hi: self.hi.max(next.hi),
            whole: self.whole && next.whole,
        }
    }

    /// The scan of byte values (an IDX or `.npy` array of u8 read as f32): always finite and
    /// whole, so only the range is looked at.
    pub(crate) fn of_bytes(bytes: &[u8]) -> Scan {
        let (lo, hi) = bytes
            .par_chunks(1 << 16)
            .map(|c| c.iter().fold((u8::MAX, u8::MIN), |(lo, hi), &b| (lo.min(b), hi.max(b))))
            .reduce(|| (u8::MAX, u8::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)));
        if bytes.is_empty() {
            return Scan::empty();
        }
        Scan { first_non_finite: None, lo: lo as f32, hi: hi as f32, whole: true }
    }

    /// The largest magnitude of a value, NaN ignored (0 without values).
    pub(crate) fn max_abs(&self) -> f32 {
        if self.lo > self.hi { 0.0 } else { self.lo.abs().max(self.hi.abs()) }
    }
}

/// Values per parallel chunk of a scan.
const CHUNK: usize = 1 << 15;
/// Lanes of [`Scan::serial`]'s loop.
const LANES: usize = 16;
/// [`lane`]'s flags: a value that is NaN or infinite, one that is not [`is_whole`].
const NON_FINITE: u32 = 1;
const NOT_WHOLE: u32 = 2;

/// One value `v` into lane `l` of the range and flags. (A comparison with NaN is false: NaN
/// leaves the range as it was.)
#[inline(always)]
fn lane(l: usize, v: f32, lo: &mut [f32; LANES], hi: &mut [f32; LANES], flags: &mut [u32; LANES]) {
    lo[l] = if v < lo[l] { v } else { lo[l] };
    hi[l] = if v > hi[l] { v } else { hi[l] };
    let finite = v.abs() < f32::INFINITY;
    flags[l] |= (u32::from(!finite) * NON_FINITE) | (u32::from(!is_whole(v)) * NOT_WHOLE);
}

crate::simd::multiversion! {
    /// Every value of `values` (whole chunks of [`LANES`]) into its lane, in plain comparisons
    /// (no early exit, no saturating cast) that become vector instructions.
    fn scan_lanes(values: &[f32], lo: &mut [f32; LANES], hi: &mut [f32; LANES], flags: &mut [u32; LANES]) {
        for chunk in values.chunks_exact(LANES) {
            for (l, &v) in chunk.iter().enumerate() {
                lane(l, v, lo, hi, flags);
            }
        }
    }
}

/// Whether `v` is a whole number in `0..=2³²`: `(v as u32) as f32 == v` (which saturates
/// 2³² to 2³² − 1, 2³² again as f32), in comparisons and
/// additions (exact below 2²³, where adding and subtracting 2²³ rounds to a whole number;
/// from 2²³ every f32 is whole).
fn is_whole(v: f32) -> bool {
    const TWO_23: f32 = 8_388_608.0;
    const TWO_32: f32 = 4_294_967_296.0;
    (0.0..=TWO_32).contains(&v) && (v >= TWO_23 || (v + TWO_23) - TWO_23 == v)
}

/// Feature values (row-major) and their [`Scan`], taken once when first asked for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Features {
    values: Vec<f32>,
    scan: OnceLock<Scan>,
}

impl Features {
    /// Values whose scan is known already (a reader that saw every value as it converted them).
    pub(crate) fn scanned(values: Vec<f32>, scan: Scan) -> Features {
        Features { values, scan: OnceLock::from(scan) }
    }

    /// Bytes as f32 values (an IDX or `.npy` array of u8), converted in parallel (the caller's
    /// pool) into `room` when it has as many values or more (a buffer whose pages are mapped
    /// already), their scan taken from the bytes.
    pub(crate) fn from_bytes(bytes: &[u8], room: Option<Vec<f32>>) -> Features {
        let values = match room {
            Some(mut room) if room.len() >= bytes.len() => {
                room.truncate(bytes.len());
                room.par_iter_mut().zip(bytes.par_iter()).for_each(|(v, &b)| *v = b as f32);
                room
            }
            _ => {
                let mut values = Vec::with_capacity(bytes.len());
                bytes.par_iter().map(|&b| b as f32).collect_into_vec(&mut values);
                values
            }
        };
        Features::scanned(values, Scan::of_bytes(bytes))
    }

    /// Changes the values in place by `change`, which returns the scan of the new values, or
    /// None when it left them as they were (their scan, if taken, is kept).
    pub(crate) fn change<E>(
        &mut self,
        change: impl FnOnce(&mut [f32]) -> Result<Option<Scan>, E>,
    ) -> Result<(), E> {
        let kept = std::mem::take(&mut self.scan);
        if let Some(scan) = change(&mut self.values)? {
            self.scan = OnceLock::from(scan);
        } else {
            self.scan = kept;
        }
        Ok(())
    }

    /// The values' scan, taken now (in parallel, on the caller's pool) if not yet known.
    pub(crate) fn scan(&self) -> &Scan {
        self.scan.get_or_init(|| Scan::of(&self.values))
    }
}

impl From<Vec<f32>> for Features {
    fn from(values: Vec<f32>) -> Features {
        Features { values, scan: OnceLock::new() }
    }
}

impl FromIterator<f32> for Features {
    fn from_iter<I: IntoIterator<Item = f32>>(values: I) -> Features {
        Features::from(values.into_iter().collect::<Vec<f32>>())
    }
}

/// Values compare as values (their scans follow from them).
impl PartialEq for Features {
    fn eq(&self, other: &Features) -> bool {
        self.values == other.values
    }
}

impl PartialEq<Vec<f32>> for Features {
    fn eq(&self, other: &Vec<f32>) -> bool {
        &self.values == other
    }
}

impl Deref for Features {
    type Target = Vec<f32>;
    fn deref(&self) -> &Vec<f32> {
        &self.values
    }
}

impl DerefMut for Features {
    /// The values, to change: their scan is forgotten (taken again when next asked for).
    fn deref_mut(&mut self) -> &mut Vec<f32> {
        self.scan = OnceLock::new();
        &mut self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_finds_the_first_bad_value_the_range_and_whole_numbers_at_any_size() {
        for n in [0usize, 1, 5, (1 << 15) - 1, 1 << 15, 3 << 15, 100_001] {
            let mut v: Vec<f32> = (0..n).map(|i| (i % 251) as f32).collect();
            let s = Scan::of(&v);
            assert_eq!(s.first_non_finite, None);
            assert!(s.whole);
            if n == 0 {
                assert_eq!(s.max_abs(), 0.0);
                continue;
            }
            assert_eq!((s.lo, s.hi), (0.0, (n.min(251) - 1) as f32));
            // Bad values late and early: the first one in order is named, NaN ignored in the range.
            v[n - 1] = f32::NAN;
            if n > 3 {
                v[n / 2] = f32::NEG_INFINITY;
                v[0] = 0.5;
            }
            let s = Scan::of(&v);
            let first = if n > 3 { n / 2 } else { n - 1 };
            assert_eq!(s.first_non_finite, Some(first), "n = {n}");
            assert!(!s.whole);
            let reference = v.iter().fold(0.0f32, |m, x| if x.abs() > m { x.abs() } else { m });
            assert_eq!(s.max_abs(), reference);
        }
        let bytes: Vec<u8> = (0..70_000).map(|i| (i % 200 + 3) as u8).collect();
        let as_f32: Vec<f32> = bytes.iter().map(|&b| b as f32).collect();
        assert_eq!(Scan::of_bytes(&bytes), Scan::of(&as_f32));
        assert_eq!(Scan::of_bytes(&[]), Scan::of(&[]));
        assert!(!Scan::of(&[-0.5, 3.0]).whole);
    }

    #[test]
    fn whole_numbers_are_those_a_cast_keeps() {
        let special =
            [0.0f32, -0.0, 0.5, 1.0, -1.0, 2.5, 8_388_607.5, 8_388_608.0, 16_777_217.0, 4_294_967_040.0];
        let more = [
            4_294_967_296.0f32,
            1e20,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-40,
            255.0,
            254.99998,
        ];
        for v in special.into_iter().chain(more).chain((0..2000).map(|i| i as f32 * 0.37)) {
            assert_eq!(is_whole(v), (v as u32) as f32 == v, "{v}");
        }
    }

    #[test]
    fn changing_the_values_forgets_their_scan() {
        let mut f = Features::from(vec![1.0f32, 2.0]);
        assert_eq!(f.scan().hi, 2.0);
        f.push(f32::INFINITY);
        assert_eq!(f.scan().first_non_finite, Some(2));
        f[2] = -7.0;
        assert_eq!((f.scan().first_non_finite, f.scan().lo), (None, -7.0));
        f.change(|v| {
            v[0] = 9.0;
            Ok::<_, ()>(Some(Scan::of(v)))
        })
        .unwrap();
        assert_eq!(f.scan().hi, 9.0);
        let g = f.clone();
        assert_eq!(g.scan().lo, -7.0);
        assert_eq!(Features::from_bytes(&[4, 200], None).scan(), &Scan::of(&[4.0, 200.0]));
        let roomy = Features::from_bytes(&[4, 200], Some(vec![7.0; 5]));
        assert_eq!((roomy.to_vec(), roomy.scan()), (vec![4.0, 200.0], &Scan::of(&[4.0, 200.0])));
        assert_eq!(Features::from_bytes(&[1, 2, 3], Some(vec![7.0; 2])).to_vec(), vec![1.0, 2.0, 3.0]);
    }
}
