//! The camera: pixel coordinates (with a sub-pixel jitter) to primary rays.

use super::geometry::{Ray, Vec3};
use super::scene::CameraSpec;
use std::f64::consts::PI;

/// A thin-lens camera for a `width × height` frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Camera {
    origin: Vec3,
    /// Right, up and backward unit vectors.
    right: Vec3,
    up: Vec3,
    backward: Vec3,
    half_width: f64,
    half_height: f64,
    lens_radius: f64,
    focus_distance: f64,
    width: f64,
    height: f64,
}

impl Camera {
    /// The camera of a validated scene for a full frame of `width × height` pixels.
    pub fn new(spec: &CameraSpec, width: u32, height: u32) -> Camera {
        let origin = Vec3::from(spec.position);
        let look_at = Vec3::from(spec.look_at);
        let backward = (origin - look_at)
            .normalized()
            .unwrap_or(Vec3::new(0.0, 0.0, 1.0));
        let right = Vec3::from(spec.up)
            .cross(backward)
            .normalized()
            .unwrap_or(Vec3::new(1.0, 0.0, 0.0));
        let up = backward.cross(right);
        let half_height = (spec.fov_degrees.to_radians() / 2.0).tan();
        let (width, height) = (f64::from(width.max(1)), f64::from(height.max(1)));
        Camera {
            origin,
            right,
            up,
            backward,
            half_width: half_height * width / height,
            half_height,
            lens_radius: spec.aperture,
            focus_distance: spec
                .focus_distance
                .unwrap_or_else(|| (look_at - origin).length()),
            width,
            height,
        }
    }

    /// The ray through frame pixel `(x, y)` at sub-pixel offset `jitter` (each in `[0, 1)`), leaving
    /// the lens at the point picked by `lens` (two uniforms; ignored for a pinhole).
    pub fn ray(&self, x: u32, y: u32, jitter: (f64, f64), lens: (f64, f64)) -> Ray {
        let sx = (f64::from(x) + jitter.0) / self.width * 2.0 - 1.0;
        let sy = 1.0 - (f64::from(y) + jitter.1) / self.height * 2.0;
        let direction =
            self.right * (sx * self.half_width) + self.up * (sy * self.half_height) - self.backward;
        if self.lens_radius <= 0.0 {
            return Ray {
                origin: self.origin,
                dir: direction.normalized().unwrap_or(-self.backward),
            };
        }
        let focus_point = self.origin + direction * self.focus_distance;
        let radius = self.lens_radius * lens.0.sqrt();
        let angle = 2.0 * PI * lens.1;
        let origin =
            self.origin + self.right * (radius * angle.cos()) + self.up * (radius * angle.sin());
        Ray {
            origin,
            dir: (focus_point - origin)
                .normalized()
                .unwrap_or(-self.backward),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_pixel_looks_at_look_at() {
        let spec = CameraSpec {
            position: [0.0, 1.0, 5.0],
            look_at: [0.0, 1.0, 0.0],
            up: [0.0, 1.0, 0.0],
            fov_degrees: 60.0,
            aperture: 0.1,
            focus_distance: None,
        };
        let camera = Camera::new(&spec, 2, 2);
        let ray = camera.ray(1, 1, (0.0, 0.0), (0.0, 0.0));
        assert!((ray.dir - Vec3::new(0.0, 0.0, -1.0)).length() < 1e-12);
        // The top-left pixel looks up and to the left.
        let corner = camera.ray(0, 0, (0.0, 0.0), (0.0, 0.0));
        assert!(corner.dir.x < 0.0 && corner.dir.y > 0.0);
        // Every lens point focuses on the same point at the focus distance.
        let a = camera.ray(1, 1, (0.0, 0.0), (0.9, 0.3));
        let focus = a.at(a.origin.z / -a.dir.z);
        assert!((focus - Vec3::new(0.0, 1.0, 0.0)).length() < 1e-9);
    }
}
