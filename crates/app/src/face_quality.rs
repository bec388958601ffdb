//! How well the face in the newest frame can be measured, and what the
//! person can do about it: each [`FaceHint`] names one problem in words
//! that say what to do ("move closer"), so a self-check at a desk can be
//! put right before it is recorded.
//!
//! [`FaceQuality::measure`] is a pure function of a frame and where the
//! face sits in it; [`FaceQuality::hints`] turns the measures into hints.

use twitchscope_engine::frame::Frame;
use twitchscope_engine::regions::{Region, RegionLayout, Side, Similarity, rect_corners_in_image};

/// Face-quality measures of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaceQuality {
    pub face_found: bool,
    /// Mean full-range luma of the face (its measured regions), or of the
    /// frame's centre without a face, 0–255.
    pub brightness: f32,
    /// Mean luma of the picture around the face, 0–255 (without a face:
    /// the frame's centre, like `brightness`).
    pub background: f32,
    /// Fraction of the face's box outside the picture.
    pub outside: f32,
    /// Outer eye-corner distance in image pixels (when a face is tracked).
    pub interocular_px: Option<f32>,
    /// Head roll against the reference face, degrees.
    pub roll_deg: Option<f32>,
    /// Head turned left or right, degrees (see `head_yaw_deg`).
    pub yaw_deg: Option<f32>,
    /// Residual head speed (face units / s).
    pub head_speed: f32,
    /// Faces the detector found in the picture at its last count.
    pub faces_in_view: usize,
}

/// One thing that makes the face harder to measure, with what to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaceHint {
    NoFace,
    TooDark,
    Backlit,
    TooBright,
    PartlyOut,
    TooFar,
    TooClose,
    Tilted,
    Turned,
    Moving,
    OtherFaces(usize),
}

/// Below this mean luma the face's lids sink into the camera's noise.
const DARK: f32 = 50.0;
/// Above it the skin's texture washes out.
const BRIGHT: f32 = 215.0;
/// A face this much darker than what surrounds it is lit from behind (a
/// window, a lamp): the camera exposes for the light, not the face.
const BACKLIT_RATIO: f32 = 0.6;
/// Eye corners closer than this (pixels) leave a lid a few pixels high.
const FAR_PX: f32 = 60.0;
/// Eye corners further apart than this: the face fills the picture and a
/// nod takes it out.
const CLOSE_PX: f32 = 400.0;
/// A face more out of the picture than this loses regions.
const OUTSIDE: f32 = 0.05;
/// Head roll beyond this many degrees.
const TILT_DEG: f32 = 12.0;
/// Head turned left or right beyond this many degrees: the far eye is seen
/// foreshortened and at a slant, and its lids partly behind the nose, so the
/// two eyes no longer look alike to the camera, while the detector compares
/// them. (The face mesh's turn reads 0–5° on frontal faces and jitters by a
/// few degrees, so the hint is well clear of a face looking at the screen
/// beside the camera.)
const TURNED_DEG: f32 = 25.0;
/// Residual head speed (face units / s) beyond which motion is refused.
const MOVING: f32 = 60.0;

impl FaceHint {
    /// The problem and what to do about it, in a few words.
    pub fn advice(self) -> String {
        match self {
            FaceHint::NoFace => "no face: sit facing the camera".into(),
            FaceHint::TooDark => "too dark: add light in front of you".into(),
            FaceHint::Backlit => "backlit: face the window or lamp, not with it behind you".into(),
            FaceHint::TooBright => "too bright: soften the light on your face".into(),
            FaceHint::PartlyOut => "face partly out of the picture: move to the centre".into(),
            FaceHint::TooFar => "too far: move closer to the camera".into(),
            FaceHint::TooClose => "too close: move back a little".into(),
            FaceHint::Tilted => "head tilted: hold it upright".into(),
            FaceHint::Turned => "head turned: turn towards the camera".into(),
            FaceHint::Moving => "head moving: keep still".into(),
            FaceHint::OtherFaces(n) => {
                // The tracker keeps the face it follows (the largest when it
                // first looked); a newcomer is not measured, but can hide it.
                format!(
                    "{n} faces in the picture: others should step out of view (only the followed face is measured)"
                )
            }
        }
    }

    /// Whether measuring stops (true) or only suffers (false).
    pub fn blocks(self) -> bool {
        matches!(
            self,
            FaceHint::NoFace | FaceHint::TooDark | FaceHint::PartlyOut
        )
    }
}

impl FaceQuality {
    /// Measures `frame` with the face where `pose` (image → canonical)
    /// puts `layout`'s regions; without them, only the light.
    pub fn measure(
        frame: &Frame,
        pose: Option<Similarity>,
        layout: Option<&RegionLayout>,
        yaw_deg: Option<f32>,
        head_speed: f32,
        faces_in_view: usize,
    ) -> FaceQuality {
        let face = match (pose, layout) {
            (Some(p), Some(l)) => Some((p, l)),
            _ => None,
        };
        let face_box = face.map(|(p, l)| {
            let mut b = [
                f32::INFINITY,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
            ];
            for side in Side::BOTH {
                for region in Region::ALL {
                    for [x, y] in rect_corners_in_image(&l.rect(side, region), &p) {
                        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
                    }
                }
            }
            b
        });
        let mut q = FaceQuality::measure_box(frame, face_box);
        q.face_found = pose.is_some();
        if let Some((p, l)) = face {
            q.interocular_px = Some(l.interocular / p.scale().max(1e-6));
            q.roll_deg = Some(p.b.atan2(p.a).to_degrees());
            q.yaw_deg = yaw_deg;
        }
        q.head_speed = head_speed;
        q.faces_in_view = faces_in_view;
        q
    }

    /// The light on and around the face box `[x0, y0, x1, y1]` (image
    /// pixels; `None`: the frame's centre quarter) and how much of the box
    /// is outside the picture. Every 4th pixel of every 4th row.
    pub fn measure_box(frame: &Frame, face_box: Option<[f32; 4]>) -> FaceQuality {
        let (w, h) = (frame.width, frame.height);
        let centre = [
            w as f32 / 4.0,
            h as f32 / 4.0,
            0.75 * w as f32,
            0.75 * h as f32,
        ];
        let b = face_box.unwrap_or(centre);
        let inside = |x: usize, y: usize| {
            (x as f32) >= b[0] && (x as f32) < b[2] && (y as f32) >= b[1] && (y as f32) < b[3]
        };
        let (mut face_sum, mut face_n, mut rest_sum, mut rest_n) = (0u64, 0u64, 0u64, 0u64);
        for y in (0..h).step_by(4) {
            for x in (0..w).step_by(4) {
                let v = u64::from(frame.luma.get(y * w + x).copied().unwrap_or(0));
                if inside(x, y) {
                    face_sum += v;
                    face_n += 1;
                } else {
                    rest_sum += v;
                    rest_n += 1;
                }
            }
        }
        let mean = |s: u64, n: u64| if n > 0 { s as f32 / n as f32 } else { 0.0 };
        let brightness = mean(face_sum, face_n);
        let area = ((b[2] - b[0]) * (b[3] - b[1])).max(0.0);
        let clipped = (b[2].min(w as f32) - b[0].max(0.0)).max(0.0)
            * (b[3].min(h as f32) - b[1].max(0.0)).max(0.0);
        FaceQuality {
            brightness,
            background: if face_box.is_some() {
                mean(rest_sum, rest_n)
            } else {
                brightness
            },
            outside: if area > 0.0 {
                1.0 - clipped / area
            } else {
                0.0
            },
            ..FaceQuality::default()
        }
    }

    /// What stands in the way of a good measurement, the most serious
    /// first; empty when nothing does.
    pub fn hints(&self) -> Vec<FaceHint> {
        let mut hints = Vec::new();
        if !self.face_found {
            hints.push(FaceHint::NoFace);
        }
        if self.brightness < DARK {
            hints.push(FaceHint::TooDark);
        } else if self.face_found && self.brightness < BACKLIT_RATIO * self.background {
            hints.push(FaceHint::Backlit);
        } else if self.brightness > BRIGHT {
            hints.push(FaceHint::TooBright);
        }
        if self.face_found && self.outside > OUTSIDE {
            hints.push(FaceHint::PartlyOut);
        }
        match self.interocular_px {
            Some(d) if d < FAR_PX => hints.push(FaceHint::TooFar),
            Some(d) if d > CLOSE_PX => hints.push(FaceHint::TooClose),
            _ => {}
        }
        if self.yaw_deg.is_some_and(|y| y.abs() > TURNED_DEG) {
            hints.push(FaceHint::Turned);
        }
        if self.roll_deg.is_some_and(|r| r.abs() > TILT_DEG) {
            hints.push(FaceHint::Tilted);
        } else if self.face_found && self.head_speed > MOVING {
            hints.push(FaceHint::Moving);
        }
        if self.faces_in_view > 1 {
            hints.push(FaceHint::OtherFaces(self.faces_in_view));
        }
        hints
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 320×240 frame of `around` luma with a `face` luma box at
    /// (100, 60)–(220, 180).
    fn frame(around: u8, face: u8) -> Frame {
        let (w, h) = (320, 240);
        let mut f = Frame::default();
        f.ensure_size(w, h);
        for y in 0..h {
            for x in 0..w {
                let in_face = (100..220).contains(&x) && (60..180).contains(&y);
                f.luma[y * w + x] = if in_face { face } else { around };
            }
        }
        f
    }

    const FACE: [f32; 4] = [100.0, 60.0, 220.0, 180.0];

    fn found(mut q: FaceQuality) -> FaceQuality {
        q.face_found = true;
        q.interocular_px = Some(100.0);
        q.roll_deg = Some(0.0);
        q.yaw_deg = Some(0.0);
        q.faces_in_view = 1;
        q
    }

    #[test]
    fn a_well_lit_steady_face_needs_no_hint() {
        let q = found(FaceQuality::measure_box(&frame(120, 130), Some(FACE)));
        assert!((q.brightness - 130.0).abs() < 1.0 && (q.background - 120.0).abs() < 1.0);
        assert_eq!(q.outside, 0.0);
        assert!(q.hints().is_empty(), "{:?}", q.hints());
    }

    #[test]
    fn light_from_behind_is_backlit_and_a_dark_room_too_dark() {
        let q = found(FaceQuality::measure_box(&frame(230, 90), Some(FACE)));
        assert_eq!(q.hints(), vec![FaceHint::Backlit]);
        let q = found(FaceQuality::measure_box(&frame(40, 30), Some(FACE)));
        assert_eq!(q.hints(), vec![FaceHint::TooDark]);
        let q = found(FaceQuality::measure_box(&frame(120, 240), Some(FACE)));
        assert_eq!(q.hints(), vec![FaceHint::TooBright]);
    }

    #[test]
    fn a_face_over_the_edge_is_partly_out() {
        // Half of the box beyond the right edge.
        let q = found(FaceQuality::measure_box(
            &frame(120, 130),
            Some([260.0, 60.0, 380.0, 180.0]),
        ));
        assert!((q.outside - 0.5).abs() < 0.01, "{}", q.outside);
        assert_eq!(q.hints(), vec![FaceHint::PartlyOut]);
    }

    #[test]
    fn distance_tilt_turn_motion_and_other_faces_each_say_what_to_do() {
        let base = found(FaceQuality::measure_box(&frame(120, 130), Some(FACE)));
        let hint = |change: &dyn Fn(&mut FaceQuality)| {
            let mut q = base;
            change(&mut q);
            q.hints()
        };
        assert_eq!(hint(&|q| q.interocular_px = Some(40.0)), [FaceHint::TooFar]);
        assert_eq!(
            hint(&|q| q.interocular_px = Some(500.0)),
            [FaceHint::TooClose]
        );
        assert_eq!(hint(&|q| q.roll_deg = Some(-20.0)), [FaceHint::Tilted]);
        assert_eq!(hint(&|q| q.yaw_deg = Some(-40.0)), [FaceHint::Turned]);
        assert_eq!(hint(&|q| q.yaw_deg = Some(30.0)), [FaceHint::Turned]);
        assert!(hint(&|q| q.yaw_deg = Some(10.0)).is_empty());
        assert_eq!(hint(&|q| q.head_speed = 90.0), [FaceHint::Moving]);
        assert_eq!(hint(&|q| q.faces_in_view = 2), [FaceHint::OtherFaces(2)]);
        let mut none = FaceQuality::measure_box(&frame(120, 130), None);
        none.faces_in_view = 0;
        assert_eq!(none.hints(), [FaceHint::NoFace]);
        for h in [
            FaceHint::NoFace,
            FaceHint::TooDark,
            FaceHint::Backlit,
            FaceHint::TooBright,
            FaceHint::PartlyOut,
            FaceHint::TooFar,
            FaceHint::TooClose,
            FaceHint::Tilted,
            FaceHint::Turned,
            FaceHint::Moving,
            FaceHint::OtherFaces(2),
        ] {
            // Each names the problem, then what to do after the colon.
            let advice = h.advice();
            assert!(
                advice
                    .split_once(": ")
                    .is_some_and(|(_, todo)| !todo.is_empty())
            );
        }
    }
}
