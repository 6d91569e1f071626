//! Area-averaging resampling (each destination pixel is the mean of the source over its
//! area, as MNIST's anti-aliased digits were made) and the placement of a cropped drawing in
//! the model's canvas so that its centre of mass lands on a given point.

use super::centre_of_mass;

/// For each of `n_src` source pixels, the destination pixels it covers and by how much, when
/// source pixel `i` spans `[offset + scale·i, offset + scale·(i + 1)]` and destination pixel
/// `j` spans `[j, j + 1]` (of `n_dst`; what falls outside is dropped).
fn spans(n_src: usize, scale: f64, offset: f64, n_dst: usize) -> Vec<Vec<(usize, f64)>> {
    (0..n_src)
        .map(|i| {
            let (lo, hi) = (offset + scale * i as f64, offset + scale * (i + 1) as f64);
            let first = lo.floor().max(0.0) as usize;
            let last = (hi.ceil().max(0.0) as usize).min(n_dst);
            (first..last)
                .filter_map(|j| {
                    let covered = hi.min(j as f64 + 1.0) - lo.max(j as f64);
                    (covered > 0.0).then_some((j, covered))
                })
                .collect()
        })
        .collect()
}

/// Rounding dust of the sums snapped to exact ink (1) and exact background (0).
fn snap(v: f64) -> f32 {
    if v > 1.0 - 1e-6 {
        1.0
    } else if v < 1e-6 {
        0.0
    } else {
        v as f32
    }
}

/// `src` (`[sh, sw]`, values in [0, 1]) scaled by `scale` and shifted by `offset`
/// (`[row, column]`, in destination pixels) into a `[h, w]` canvas: each destination pixel
/// the mean of the source over its area, 0 where there is no source.
pub(super) fn resample(
    src: &[f32],
    [sh, sw]: [usize; 2],
    [h, w]: [usize; 2],
    scale: f64,
    offset: [f64; 2],
) -> Vec<f32> {
    let rows = spans(sh, scale, offset[0], h);
    let cols = spans(sw, scale, offset[1], w);
    // tmp (h, sw): the source's rows resampled; then its columns, into out (h, w).
    let mut tmp = vec![0.0f64; h * sw];
    for (i, covers) in rows.iter().enumerate() {
        let src_row = &src[i * sw..(i + 1) * sw];
        for &(j, wy) in covers {
            for (t, &s) in tmp[j * sw..(j + 1) * sw].iter_mut().zip(src_row) {
                *t += wy * s as f64;
            }
        }
    }
    let mut out = vec![0.0f64; h * w];
    for j in 0..h {
        for (x, covers) in cols.iter().enumerate() {
            let v = tmp[j * sw + x];
            if v != 0.0 {
                for &(k, wx) in covers {
                    out[j * w + k] += v * wx;
                }
            }
        }
    }
    out.into_iter().map(snap).collect()
}

/// The drawing `crop` (`[ch, cw]`, ink amounts in [0, 1]) resized so that its longer side is
/// `box_side` pixels (less if the canvas is narrower), placed in a `[h, w]` canvas with its
/// centre of mass on `centre` (`[row, column]`, pixel indices): to within 1e-3 pixel, unless
/// that would push the drawing over the canvas's edge (it then touches the edge instead).
pub(super) fn place(
    crop: &[f32],
    [ch, cw]: [usize; 2],
    [h, w]: [usize; 2],
    box_side: f64,
    centre: [f64; 2],
) -> Vec<f32> {
    let scale = (box_side / ch.max(cw) as f64).min(h as f64 / ch as f64).min(w as f64 / cw as f64);
    let room = [(h as f64 - ch as f64 * scale).max(0.0), (w as f64 - cw as f64 * scale).max(0.0)];
    // In continuous coordinates pixel i spans [i, i + 1]: its centre is i + 0.5.
    let com = centre_of_mass(crop, [ch, cw]).unwrap_or([(ch as f64 - 1.0) / 2.0, (cw as f64 - 1.0) / 2.0]);
    let mut offset = [0, 1].map(|k| (centre[k] + 0.5 - scale * (com[k] + 0.5)).clamp(0.0, room[k]));
    let mut out = resample(crop, [ch, cw], [h, w], scale, offset);
    // Area averaging moves the discrete centre of mass by a fraction of a pixel: correct it.
    for _ in 0..6 {
        let Some(now) = centre_of_mass(&out, [h, w]) else { break };
        let next = [0, 1].map(|k| (offset[k] + centre[k] - now[k]).clamp(0.0, room[k]));
        if (0..2).all(|k| (next[k] - offset[k]).abs() < 1e-4) {
            break;
        }
        offset = next;
        out = resample(crop, [ch, cw], [h, w], scale, offset);
    }
    out
}
