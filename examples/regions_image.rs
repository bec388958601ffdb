//! Draws the measured regions on frames of a video, to check by eye that
//! they sit on this person's features: `regions_image VIDEO OUT.png`.
//!
//! Runs the engine over the video and, at a quarter, a half and three
//! quarters of it, draws each region's rectangle where the landmark pose puts
//! it (patient's left in orange, right in blue, the rigid references and the
//! lips in grey) with the FaceMesh landmark each region is anchored on as a
//! dot, side by side in one image.

use std::path::Path;

use anyhow::{Context, Result};
use twitchscope::analysis::{AnalysisConfig, Engine};
use twitchscope::frame::{Frame, FrameSource};
use twitchscope::regions::{Rect, Region, Side, Similarity, rect_corners_in_image};
use twitchscope::source::VideoFileSource;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (video, out) = match args.as_slice() {
        [_, v, o] => (Path::new(v), Path::new(o)),
        _ => anyhow::bail!("usage: regions_image VIDEO OUT.png"),
    };
    let mut source = VideoFileSource::open(video)?;
    let total = source.info().frames.unwrap_or(0).max(4);
    let wanted = [total / 4, total / 2, 3 * total / 4];
    let mut engine = Engine::new(AnalysisConfig::default())?;
    let mut frame = Frame::default();
    let mut kept: Vec<Frame> = Vec::new();
    let mut poses: Vec<(u64, Similarity)> = Vec::new();
    let mut ready = Vec::new();
    while source.next_frame(&mut frame)? {
        if wanted.contains(&frame.index) {
            kept.push(frame.clone());
        }
        engine.push_frame(&frame, &mut ready)?;
    }
    engine.finish(&mut ready)?;
    for r in &ready {
        if let Some(p) = r.sample.pose
            && wanted.contains(&r.index)
        {
            poses.push((r.index, p));
        }
    }
    let layout = engine.layout().context("no face found")?.clone();
    let mut tiles = Vec::new();
    for f in &kept {
        let Some((_, pose)) = poses.iter().find(|(i, _)| *i == f.index) else {
            continue;
        };
        let mut img = image::RgbImage::from_raw(f.width as u32, f.height as u32, f.rgb.clone())
            .context("frame size")?;
        let rect = |img: &mut image::RgbImage, r: &Rect, colour: [u8; 3]| {
            let c = rect_corners_in_image(r, pose);
            for k in 0..4 {
                line(img, c[k], c[(k + 1) % 4], colour);
            }
        };
        for &r in &layout.references {
            rect(&mut img, &r, [160, 160, 160]);
        }
        rect(&mut img, &layout.lips, [160, 160, 160]);
        let inverse = pose.inverse();
        for side in Side::BOTH {
            let colour = match side {
                Side::Left => [255, 140, 0],
                Side::Right => [40, 120, 255],
            };
            for region in Region::ALL {
                rect(&mut img, &layout.rect(side, region), colour);
                let a = inverse.apply(layout.anchor(side, region));
                dot(&mut img, a, colour);
            }
        }
        tiles.push(img);
    }
    anyhow::ensure!(
        !tiles.is_empty(),
        "no frame with a face at the sampled times"
    );
    let (w, h) = (tiles[0].width(), tiles[0].height());
    let mut sheet = image::RgbImage::new(w * tiles.len() as u32, h);
    for (i, t) in tiles.iter().enumerate() {
        image::imageops::overlay(&mut sheet, t, (i as u32 * w) as i64, 0);
    }
    sheet
        .save(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn put(img: &mut image::RgbImage, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, image::Rgb(c));
    }
}

fn line(img: &mut image::RgbImage, a: [f32; 2], b: [f32; 2], c: [u8; 3]) {
    let steps = ((b[0] - a[0]).abs().max((b[1] - a[1]).abs()).ceil() as usize).max(1);
    for i in 0..=steps {
        let f = i as f32 / steps as f32;
        let (x, y) = (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]));
        put(img, x.round() as i64, y.round() as i64, c);
    }
}

fn dot(img: &mut image::RgbImage, p: [f32; 2], c: [u8; 3]) {
    for dy in -2..=2 {
        for dx in -2..=2 {
            put(img, p[0].round() as i64 + dx, p[1].round() as i64 + dy, c);
        }
    }
}
