//! Materials and how light scatters off them.

use super::geometry::Vec3;
use std::f64::consts::{FRAC_1_PI, PI};

/// A surface material, ready to render.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Material {
    /// Lambertian reflection.
    Diffuse { albedo: Vec3 },
    /// A light source (emits from the front face, reflects nothing).
    Emissive { radiance: Vec3 },
    /// A mirror, blurred by `roughness` (a random offset of the reflected direction).
    Metal { albedo: Vec3, roughness: f64 },
    /// A smooth dielectric (Fresnel-weighted reflection or refraction).
    Glass { ior: f64, tint: Vec3 },
}

/// What happens to a path at a surface.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scatter {
    /// The path ends here: it hit an emitter, or the scattered direction is invalid.
    Absorbed,
    /// It continues along `dir` with its throughput multiplied by `weight`. `diffuse` paths had light
    /// sampled explicitly at this vertex (next-event estimation); specular ones did not.
    Continue {
        dir: Vec3,
        weight: Vec3,
        diffuse: bool,
    },
}

/// The Lambertian BRDF value `albedo / π`.
pub(crate) fn lambert(albedo: Vec3) -> Vec3 {
    albedo * FRAC_1_PI
}

/// A cosine-weighted direction around unit `normal` from two uniforms.
pub(crate) fn cosine_direction(normal: Vec3, u1: f64, u2: f64) -> Vec3 {
    let (tangent, bitangent) = normal.basis();
    let radius = u1.sqrt();
    let phi = 2.0 * PI * u2;
    let z = (1.0 - u1).max(0.0).sqrt();
    tangent * (radius * phi.cos()) + bitangent * (radius * phi.sin()) + normal * z
}

/// A uniform point in the unit ball from three uniforms.
fn in_unit_ball(u: [f64; 3]) -> Vec3 {
    let z = 1.0 - 2.0 * u[0];
    let ring = (1.0 - z * z).max(0.0).sqrt();
    let phi = 2.0 * PI * u[1];
    Vec3::new(ring * phi.cos(), ring * phi.sin(), z) * u[2].cbrt()
}

fn reflect(dir: Vec3, normal: Vec3) -> Vec3 {
    dir - normal * (2.0 * dir.dot(normal))
}

/// Schlick's approximation of Fresnel reflectance.
fn schlick(cosine: f64, eta: f64) -> f64 {
    let r0 = ((1.0 - eta) / (1.0 + eta)).powi(2);
    r0 + (1.0 - r0) * (1.0 - cosine).powi(5)
}

impl Material {
    /// Scatters a ray arriving along unit `dir` at a surface whose unit normal `normal` faces the
    /// incoming ray (`front_face`: the ray arrived from the outside). `u` are three uniforms.
    pub fn scatter(&self, dir: Vec3, normal: Vec3, front_face: bool, u: [f64; 3]) -> Scatter {
        match *self {
            Material::Emissive { .. } => Scatter::Absorbed,
            Material::Diffuse { albedo } => Scatter::Continue {
                dir: cosine_direction(normal, u[0], u[1]),
                weight: albedo,
                diffuse: true,
            },
            Material::Metal { albedo, roughness } => {
                let fuzzed = reflect(dir, normal) + in_unit_ball(u) * roughness;
                match fuzzed.normalized() {
                    Some(out) if out.dot(normal) > 0.0 => Scatter::Continue {
                        dir: out,
                        weight: albedo,
                        diffuse: false,
                    },
                    _ => Scatter::Absorbed,
                }
            }
            Material::Glass { ior, tint } => {
                let eta = if front_face { 1.0 / ior } else { ior };
                let cos_i = (-dir.dot(normal)).min(1.0);
                let sin2_t = eta * eta * (1.0 - cos_i * cos_i);
                let reflected = sin2_t > 1.0 || u[2] < schlick(cos_i, eta);
                let out = if reflected {
                    reflect(dir, normal)
                } else {
                    dir * eta + normal * (eta * cos_i - (1.0 - sin2_t).max(0.0).sqrt())
                };
                match out.normalized() {
                    Some(out) => Scatter::Continue {
                        dir: out,
                        weight: tint,
                        diffuse: false,
                    },
                    None => Scatter::Absorbed,
                }
            }
        }
    }

    /// Radiance emitted towards the front side.
    pub fn emitted(&self) -> Vec3 {
        match *self {
            Material::Emissive { radiance } => radiance,
            _ => Vec3::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_directions_stay_in_the_hemisphere_with_mean_cosine_two_thirds() {
        let normal = Vec3::new(0.3, -0.5, 0.8).normalized().expect("unit");
        let n = 20_000;
        let mut sum = 0.0;
        for i in 0..n {
            let u1 = (i as f64 + 0.5) / n as f64;
            let u2 = ((i as f64) * 0.618_033_988_75).fract();
            let dir = cosine_direction(normal, u1, u2);
            assert!((dir.length() - 1.0).abs() < 1e-9);
            let cosine = dir.dot(normal);
            assert!(cosine >= -1e-12);
            sum += cosine;
        }
        assert!((sum / n as f64 - 2.0 / 3.0).abs() < 1e-3);
    }

    #[test]
    fn glass_refracts_straight_through_at_normal_incidence_or_reflects() {
        let glass = Material::Glass {
            ior: 1.5,
            tint: Vec3::ONE,
        };
        let dir = Vec3::new(0.0, 0.0, -1.0);
        let normal = Vec3::new(0.0, 0.0, 1.0);
        let Scatter::Continue { dir: out, .. } = glass.scatter(dir, normal, true, [0.0, 0.0, 0.9])
        else {
            panic!("glass continues");
        };
        assert!((out - dir).length() < 1e-12);
        let Scatter::Continue { dir: out, .. } = glass.scatter(dir, normal, true, [0.0, 0.0, 0.01])
        else {
            panic!("glass continues");
        };
        assert!((out - normal).length() < 1e-12);
    }
}
