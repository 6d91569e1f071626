//! `bp-par show input`: what a model sees of a picture. The row made from the PNG (cropped,
//! resized, centred, in the training images' polarity and levels), enlarged, with the model's
//! prediction and its top class probabilities (or its outputs, for regression) beside it.

use super::{check_output_folder, file_name, image_model};
use crate::cli::viz::{BLACK, BLUE, Canvas, GRAY, LIGHT};
use bp_par::error::{Error, Result};
use bp_par::model::Task;
use bp_par::network::argmax;
use std::path::Path;

/// Classes listed beside the picture, most probable first.
const TOP: usize = 5;

/// Draws what `model` sees of the picture `image` into the PNG `output`.
pub fn input(model: &Path, image: &Path, output: &Path) -> Result<()> {
    check_output_folder("-o", output)?;
    if image.is_dir() {
        return Err(Error::data(image, "is a folder; show input draws one PNG picture"));
    }
    let (m, shape, stats) = image_model(model)?;
    let data = super::image_rows(image, &[image.to_path_buf()], shape, &stats)?;
    let seen = data.features().to_vec();
    let out = m.outputs(&data)?;
    let mut lines: Vec<(String, Option<f32>)> = Vec::new();
    if m.task == Task::Classify {
        let names = m.schema.class_names.as_deref();
        let class = |c: usize| names.and_then(|n| n.get(c)).map_or_else(|| c.to_string(), |n| n.clone());
        lines.push((format!("predicted: {}", class(argmax(&out))), None));
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by(|&a, &b| out[b].total_cmp(&out[a]).then(a.cmp(&b)));
        for &c in order.iter().take(TOP) {
            lines.push((format!("{}: {:.1}%", class(c), 100.0 * out[c]), Some(out[c])));
        }
    } else {
        lines.push(("outputs:".to_string(), None));
        lines.extend(
            out.iter().enumerate().map(|(i, v)| (format!("y{i} = {}", bp_par::error::short(*v)), None)),
        );
    }
    let title = format!("what {} sees of {}", file_name(model), file_name(image));
    draw(&seen, shape, [stats.background as f32, stats.ink as f32], &lines, &title)?.save(output)?;
    crate::cli::common::emit(&format!("wrote what the model sees to {}\n", output.display()))
}

/// The row `seen` (`shape`) enlarged (low values black, high white, as the model's pixels
/// run), with `lines` of text to its right (a bar under those with a probability).
fn draw(
    seen: &[f32],
    [h, w]: [usize; 2],
    levels: [f32; 2],
    lines: &[(String, Option<f32>)],
    title: &str,
) -> Result<Canvas> {
    let zoom = (280 / h.max(w)).max(1);
    let (iw, ih) = ((w * zoom) as i64, (h * zoom) as i64);
    let text_w = lines.iter().map(|(s, _)| Canvas::text_width(s, 2)).max().unwrap_or(0).max(200);
    let width = (iw + text_w + 50).max(Canvas::text_width(title, 2) + 20);
    let height = (ih + 60).max(40 + 40 * lines.len() as i64 + 20);
    let mut c = Canvas::checked(width as usize, height as usize)?;
    c.title(width / 2, 12, title, 2, width - 20);
    let (lo, hi) = (levels[0].min(levels[1]), levels[0].max(levels[1]));
    for y in 0..h {
        for x in 0..w {
            let t = ((seen[y * w + x] - lo) / (hi - lo)).clamp(0.0, 1.0);
            c.fill_rect(
                10 + (x * zoom) as i64,
                40 + (y * zoom) as i64,
                zoom as i64,
                zoom as i64,
                [(255.0 * t) as u8; 3],
            );
        }
    }
    c.rect(9, 39, iw + 2, ih + 2, 1, GRAY);
    let x0 = iw + 30;
    for (i, (text, p)) in lines.iter().enumerate() {
        let y = 44 + 40 * i as i64;
        c.text(x0, y, text, 2, BLACK);
        if let Some(p) = p {
            c.fill_rect(x0, y + 20, text_w, 8, LIGHT);
            c.fill_rect(x0, y + 20, (text_w as f32 * p.clamp(0.0, 1.0)) as i64, 8, BLUE);
        }
    }
    Ok(c)
}
