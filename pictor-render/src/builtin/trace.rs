//! The path tracer: a scene prepared for one frame ([`World`]) and the Monte Carlo estimator of the
//! radiance arriving through a pixel.
//!
//! Paths start at the camera (pixel jitter, optional lens), scatter by material (cosine-weighted
//! diffuse, fuzzed mirror, Fresnel-weighted glass), and at diffuse vertices add next-event estimation:
//! one point sampled on one light (picked in proportion to area × emitted radiance), tested with a
//! shadow ray. Emission hit by a path therefore counts only after the camera or a specular bounce, or
//! when the emitter is not sampled explicitly (emissive planes, the sky). Russian roulette starts after
//! [`ROULETTE_AFTER`] bounces; paths stop after [`MAX_DEPTH`].

use super::camera::Camera;
use super::geometry::{
    Mesh, Ray, SurfaceHit, Triangle, Vec3, intersect_box, intersect_plane, intersect_sphere,
};
use super::material::{Material, Scatter, lambert};
use super::sampler::{PixelKey, SampleRng};
use super::scene::{BuiltinScene, MaterialSpec, ObjectSpec, SkySpec};
use std::collections::HashMap;
use std::f64::consts::PI;

/// Most surface interactions of a path.
pub(crate) const MAX_DEPTH: u32 = 8;
/// Bounces before Russian roulette may end a path.
pub(crate) const ROULETTE_AFTER: u32 = 3;
/// Nearest accepted intersection distance.
const T_MIN: f64 = 1e-9;

/// The random dimensions, per bounce. Bounce 0 is the camera; bounce `k ≥ 1` the `k`-th surface.
mod dim {
    pub const JITTER_X: u32 = 0;
    pub const JITTER_Y: u32 = 1;
    pub const LENS_R: u32 = 2;
    pub const LENS_PHI: u32 = 3;
    /// Three numbers for the material's scattering: 0, 1, 2.
    pub const BSDF: u32 = 0;
    pub const LIGHT_PICK: u32 = 3;
    pub const LIGHT_U: u32 = 4;
    pub const LIGHT_V: u32 = 5;
    pub const ROULETTE: u32 = 6;
}

/// A shape in its object's local frame.
#[derive(Clone, Debug)]
enum Shape {
    Sphere { center: Vec3, radius: f64 },
    Plane { point: Vec3, normal: Vec3 },
    Cuboid { min: Vec3, max: Vec3 },
    Mesh(Mesh),
}

/// An object placed for the frame.
#[derive(Clone, Debug)]
struct Object {
    shape: Shape,
    /// The keyframed translation at this frame.
    offset: Vec3,
    material: usize,
    /// Its emission is sampled by next-event estimation (so paths hitting it after a diffuse bounce
    /// must not count it again).
    sampled_light: bool,
}

/// The part of a light that can be sampled, in world coordinates.
#[derive(Clone, Copy, Debug)]
enum LightShape {
    Sphere { center: Vec3, radius: f64 },
    Triangle(Triangle),
    Parallelogram(Triangle),
}

#[derive(Clone, Copy, Debug)]
struct Light {
    shape: LightShape,
    radiance: Vec3,
}

/// A direction towards a light, the distance to it, its radiance and the sample's solid-angle
/// probability density (including the choice of light).
struct LightSample {
    dir: Vec3,
    distance: f64,
    radiance: Vec3,
    pdf: f64,
}

/// The nearest intersection of a ray with the world.
struct Hit {
    t: f64,
    normal: Vec3,
    object: usize,
}

/// A scene prepared for rendering one frame at one resolution.
#[derive(Clone, Debug)]
pub(crate) struct World {
    camera: Camera,
    sky: SkySpec,
    materials: Vec<Material>,
    objects: Vec<Object>,
    lights: Vec<Light>,
    /// Running sums of the lights' selection weights.
    light_cdf: Vec<f64>,
}

fn material_of(spec: &MaterialSpec) -> Material {
    match *spec {
        MaterialSpec::Diffuse { albedo } => Material::Diffuse {
            albedo: albedo.into(),
        },
        MaterialSpec::Emissive { color, strength } => Material::Emissive {
            radiance: Vec3::from(color) * strength,
        },
        MaterialSpec::Metal { albedo, roughness } => Material::Metal {
            albedo: albedo.into(),
            roughness,
        },
        MaterialSpec::Glass { ior, tint } => Material::Glass {
            ior,
            tint: tint.into(),
        },
    }
}

fn shape_of(spec: &ObjectSpec) -> Shape {
    match spec {
        ObjectSpec::Sphere { center, radius, .. } => Shape::Sphere {
            center: (*center).into(),
            radius: *radius,
        },
        ObjectSpec::Plane { point, normal, .. } => Shape::Plane {
            point: (*point).into(),
            normal: Vec3::from(*normal)
                .normalized()
                .unwrap_or(Vec3::new(0.0, 1.0, 0.0)),
        },
        ObjectSpec::Cuboid { min, max, .. } => Shape::Cuboid {
            min: (*min).into(),
            max: (*max).into(),
        },
        ObjectSpec::Mesh {
            vertices, indices, ..
        } => Shape::Mesh(Mesh::new(vertices, indices)),
    }
}

/// The six outward-facing faces of a box, as parallelograms.
fn box_faces(min: Vec3, max: Vec3) -> Vec<Triangle> {
    let size = max - min;
    let unit = [
        Vec3::new(1.0, 0.0, 0.0),
        Vec3::new(0.0, 1.0, 0.0),
        Vec3::new(0.0, 0.0, 1.0),
    ];
    let mut faces = Vec::with_capacity(6);
    for axis in 0..3 {
        let (b, c) = ((axis + 1) % 3, (axis + 2) % 3);
        let e_b = unit[b] * size.axis(b);
        let e_c = unit[c] * size.axis(c);
        // e_b × e_c points along +axis: the high face; swapped edges face -axis.
        faces.push(Triangle::new(
            min + unit[axis] * size.axis(axis),
            min + unit[axis] * size.axis(axis) + e_b,
            min + unit[axis] * size.axis(axis) + e_c,
        ));
        faces.push(Triangle::new(min, min + e_c, min + e_b));
    }
    faces
}

/// The sampleable parts of an emissive object, in world coordinates.
fn light_shapes(shape: &Shape, offset: Vec3) -> Vec<LightShape> {
    let moved = |t: &Triangle| Triangle {
        p0: t.p0 + offset,
        ..*t
    };
    match shape {
        Shape::Sphere { center, radius } => vec![LightShape::Sphere {
            center: *center + offset,
            radius: *radius,
        }],
        Shape::Plane { .. } => Vec::new(),
        Shape::Cuboid { min, max } => box_faces(*min, *max)
            .iter()
            .map(|face| LightShape::Parallelogram(moved(face)))
            .collect(),
        Shape::Mesh(mesh) => mesh
            .triangles()
            .iter()
            .filter(|t| t.area() > 0.0)
            .map(|t| LightShape::Triangle(moved(t)))
            .collect(),
    }
}

impl LightShape {
    fn area(&self) -> f64 {
        match self {
            LightShape::Sphere { radius, .. } => 4.0 * PI * radius * radius,
            LightShape::Triangle(t) => t.area(),
            LightShape::Parallelogram(t) => 2.0 * t.area(),
        }
    }

    /// A direction from `point` towards this light, the distance and the solid-angle density, from
    /// two uniforms. `None` when the light cannot be seen from `point` (behind it, inside it).
    fn sample(&self, point: Vec3, u: f64, v: f64) -> Option<(Vec3, f64, f64)> {
        match *self {
            LightShape::Sphere { center, radius } => sample_sphere(center, radius, point, u, v),
            LightShape::Triangle(t) => {
                let su = u.sqrt();
                let target = t.p0 + t.e1 * (su * (1.0 - v)) + t.e2 * (su * v);
                sample_flat(target, t.normal, t.area(), point)
            }
            LightShape::Parallelogram(t) => {
                let target = t.p0 + t.e1 * u + t.e2 * v;
                sample_flat(target, t.normal, 2.0 * t.area(), point)
            }
        }
    }
}

/// Uniform sampling of the cone of directions a sphere subtends from `point`.
fn sample_sphere(
    center: Vec3,
    radius: f64,
    point: Vec3,
    u: f64,
    v: f64,
) -> Option<(Vec3, f64, f64)> {
    let to_center = center - point;
    let distance2 = to_center.dot(to_center);
    let sin2_max = radius * radius / distance2;
    if sin2_max.is_nan() || sin2_max >= 1.0 {
        return None;
    }
    let cos_max = (1.0 - sin2_max).sqrt();
    let solid_angle = 2.0 * PI * (1.0 - cos_max);
    if solid_angle <= 0.0 {
        return None;
    }
    let axis = to_center.normalized()?;
    let cos_theta = 1.0 - u * (1.0 - cos_max);
    let sin_theta = (1.0 - cos_theta * cos_theta).max(0.0).sqrt();
    let phi = 2.0 * PI * v;
    let (a, b) = axis.basis();
    let dir = (a * (sin_theta * phi.cos()) + b * (sin_theta * phi.sin()) + axis * cos_theta)
        .normalized()?;
    let ray = Ray { origin: point, dir };
    let hit = intersect_sphere(center, radius, &ray, 0.0, f64::INFINITY)?;
    Some((dir, hit.t, 1.0 / solid_angle))
}

/// The direction, distance and solid-angle density of a point `target` sampled uniformly on a flat
/// light of area `area`, facing `normal`.
fn sample_flat(target: Vec3, normal: Vec3, area: f64, point: Vec3) -> Option<(Vec3, f64, f64)> {
    let to_light = target - point;
    let distance2 = to_light.dot(to_light);
    let distance = distance2.sqrt();
    let dir = to_light.normalized()?;
    let cos_light = -dir.dot(normal);
    if cos_light <= 1e-9 || area <= 0.0 {
        return None;
    }
    Some((dir, distance, distance2 / (cos_light * area)))
}

/// `point` moved a little off its surface, to the side of `side` (a unit normal).
fn offset_point(point: Vec3, side: Vec3) -> Vec3 {
    let scale = 1.0 + point.x.abs().max(point.y.abs()).max(point.z.abs());
    point + side * (1e-7 * scale)
}

impl World {
    /// Prepares a validated scene for `frame` of a `width × height` image.
    pub fn new(scene: &BuiltinScene, frame: u32, width: u32, height: u32) -> World {
        let names: HashMap<&str, usize> = scene
            .materials
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let materials: Vec<Material> = scene.materials.values().map(material_of).collect();
        let mut objects = Vec::with_capacity(scene.objects.len());
        let mut lights = Vec::new();
        for spec in &scene.objects {
            let material = names.get(spec.material()).copied().unwrap_or(0);
            let emitted = materials
                .get(material)
                .map(Material::emitted)
                .unwrap_or(Vec3::ZERO);
            let shape = shape_of(spec);
            let offset = Vec3::from(spec.translation_at(frame));
            let shapes = if emitted.max_component() > 0.0 {
                light_shapes(&shape, offset)
            } else {
                Vec::new()
            };
            let sampled_light = !shapes.is_empty();
            lights.extend(shapes.into_iter().map(|shape| Light {
                shape,
                radiance: emitted,
            }));
            objects.push(Object {
                shape,
                offset,
                material,
                sampled_light,
            });
        }
        let light_cdf = lights
            .iter()
            .scan(0.0, |sum, light| {
                *sum += light.shape.area() * light.radiance.mean();
                Some(*sum)
            })
            .collect();
        World {
            camera: Camera::new(&scene.camera, width, height),
            sky: scene.sky.clone(),
            materials,
            objects,
            lights,
            light_cdf,
        }
    }

    /// The mean of `samples` path samples through frame pixel `(x, y)`, as linear RGBA.
    pub fn render_pixel(&self, key: PixelKey, x: u32, y: u32, samples: u32) -> [f32; 4] {
        let mut sum = Vec3::ZERO;
        for index in 0..samples {
            let rng = key.sample(index);
            let ray = self.camera.ray(
                x,
                y,
                (rng.uniform(0, dim::JITTER_X), rng.uniform(0, dim::JITTER_Y)),
                (rng.uniform(0, dim::LENS_R), rng.uniform(0, dim::LENS_PHI)),
            );
            let radiance = self.radiance(rng, ray);
            // A non-finite sample would poison the pixel; drop it (counts as black).
            if radiance.is_finite() {
                sum += radiance;
            }
        }
        let mean = sum / f64::from(samples.max(1));
        [mean.x as f32, mean.y as f32, mean.z as f32, 1.0]
    }

    /// One path sample of the radiance arriving along `ray`.
    fn radiance(&self, rng: SampleRng, mut ray: Ray) -> Vec3 {
        let mut radiance = Vec3::ZERO;
        let mut throughput = Vec3::ONE;
        // Emission found by the path counts unless light was sampled explicitly at the last vertex.
        let mut count_emission = true;
        for bounce in 1..=MAX_DEPTH {
            let Some(hit) = self.intersect(&ray, f64::INFINITY) else {
                radiance += throughput.mul_elem(self.sky_radiance(ray.dir));
                break;
            };
            let Some(object) = self.objects.get(hit.object) else {
                break;
            };
            let material = self.materials.get(object.material).copied();
            let Some(material) = material else {
                break;
            };
            let front_face = ray.dir.dot(hit.normal) < 0.0;
            let normal = if front_face { hit.normal } else { -hit.normal };
            let point = ray.at(hit.t);
            if let Material::Emissive { radiance: emitted } = material {
                if front_face && (count_emission || !object.sampled_light) {
                    radiance += throughput.mul_elem(emitted);
                }
                break;
            }
            let u = [
                rng.uniform(bounce, dim::BSDF),
                rng.uniform(bounce, dim::BSDF + 1),
                rng.uniform(bounce, dim::BSDF + 2),
            ];
            let Scatter::Continue {
                dir,
                weight,
                diffuse,
            } = material.scatter(ray.dir, normal, front_face, u)
            else {
                break;
            };
            if diffuse {
                let direct = self.direct_light(point, normal, rng, bounce);
                radiance += throughput.mul_elem(lambert(weight).mul_elem(direct));
            }
            throughput = throughput.mul_elem(weight);
            count_emission = !diffuse;
            let side = if dir.dot(normal) >= 0.0 {
                normal
            } else {
                -normal
            };
            ray = Ray {
                origin: offset_point(point, side),
                dir,
            };
            if bounce >= ROULETTE_AFTER {
                let survival = throughput.max_component().clamp(0.05, 0.95);
                if rng.uniform(bounce, dim::ROULETTE) >= survival {
                    break;
                }
                throughput = throughput / survival;
            }
        }
        radiance
    }

    /// Next-event estimation at a diffuse point: the incident radiance × cosine / density of one light
    /// sample (to be multiplied by the BRDF), zero when the sample is occluded or faces away.
    fn direct_light(&self, point: Vec3, normal: Vec3, rng: SampleRng, bounce: u32) -> Vec3 {
        let Some(sample) = self.sample_light(point, rng, bounce) else {
            return Vec3::ZERO;
        };
        let cosine = sample.dir.dot(normal);
        if cosine <= 0.0 || sample.pdf <= 0.0 {
            return Vec3::ZERO;
        }
        let origin = offset_point(point, normal);
        let shadow = Ray {
            origin,
            dir: sample.dir,
        };
        let clearance = sample.distance - (origin - point).length();
        if self.occluded(&shadow, clearance * (1.0 - 1e-7)) {
            return Vec3::ZERO;
        }
        sample.radiance * (cosine / sample.pdf)
    }

    /// Picks a light (in proportion to its power) and a point on it.
    fn sample_light(&self, point: Vec3, rng: SampleRng, bounce: u32) -> Option<LightSample> {
        let total = *self.light_cdf.last()?;
        if total <= 0.0 {
            return None;
        }
        let target = rng.uniform(bounce, dim::LIGHT_PICK) * total;
        let index = self
            .light_cdf
            .partition_point(|&sum| sum <= target)
            .min(self.lights.len() - 1);
        let light = self.lights.get(index)?;
        let before = if index == 0 {
            0.0
        } else {
            self.light_cdf[index - 1]
        };
        let pick = (self.light_cdf[index] - before) / total;
        let (dir, distance, pdf) = light.shape.sample(
            point,
            rng.uniform(bounce, dim::LIGHT_U),
            rng.uniform(bounce, dim::LIGHT_V),
        )?;
        Some(LightSample {
            dir,
            distance,
            radiance: light.radiance,
            pdf: pdf * pick,
        })
    }

    fn sky_radiance(&self, dir: Vec3) -> Vec3 {
        match &self.sky {
            SkySpec::Constant { color } => (*color).into(),
            SkySpec::Gradient { horizon, zenith } => {
                let (horizon, zenith) = (Vec3::from(*horizon), Vec3::from(*zenith));
                horizon + (zenith - horizon) * dir.y.clamp(0.0, 1.0)
            }
        }
    }

    /// The nearest object hit along `ray` before `t_max`.
    fn intersect(&self, ray: &Ray, t_max: f64) -> Option<Hit> {
        let mut nearest: Option<Hit> = None;
        let mut t_max = t_max;
        for (index, object) in self.objects.iter().enumerate() {
            if let Some(hit) = object.intersect(ray, t_max) {
                t_max = hit.t;
                nearest = Some(Hit {
                    t: hit.t,
                    normal: hit.normal,
                    object: index,
                });
            }
        }
        nearest
    }

    /// Whether anything lies along `ray` before `t_max`.
    fn occluded(&self, ray: &Ray, t_max: f64) -> bool {
        self.objects
            .iter()
            .any(|object| object.intersect(ray, t_max).is_some())
    }
}

impl Object {
    fn intersect(&self, ray: &Ray, t_max: f64) -> Option<SurfaceHit> {
        let local = ray.shifted(self.offset);
        match &self.shape {
            Shape::Sphere { center, radius } => {
                intersect_sphere(*center, *radius, &local, T_MIN, t_max)
            }
            Shape::Plane { point, normal } => {
                intersect_plane(*point, *normal, &local, T_MIN, t_max)
            }
            Shape::Cuboid { min, max } => intersect_box(*min, *max, &local, T_MIN, t_max),
            Shape::Mesh(mesh) => mesh.intersect(&local, T_MIN, t_max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_faces_point_outwards_and_cover_the_surface() {
        let (min, max) = (Vec3::new(0.0, 0.0, 0.0), Vec3::new(1.0, 2.0, 3.0));
        let faces = box_faces(min, max);
        let centre = (min + max) / 2.0;
        let mut area = 0.0;
        for face in &faces {
            let face_centre = face.p0 + (face.e1 + face.e2) / 2.0;
            assert!((face_centre - centre).dot(face.normal) > 0.0);
            area += 2.0 * face.area();
        }
        assert!((area - 2.0 * (2.0 + 6.0 + 3.0)).abs() < 1e-12);
    }

    /// A diffuse point under a sphere light: the NEE estimate averages to the analytic irradiance.
    #[test]
    fn sphere_light_sampling_is_unbiased() {
        let light = LightShape::Sphere {
            center: Vec3::new(0.0, 2.0, 0.0),
            radius: 0.5,
        };
        let normal = Vec3::new(0.0, 1.0, 0.0);
        let n = 100_000;
        let mut sum = 0.0;
        for i in 0..n {
            let rng = PixelKey::new(3, 1, i, 0).sample(0);
            if let Some((dir, _, pdf)) =
                light.sample(Vec3::ZERO, rng.uniform(1, 4), rng.uniform(1, 5))
            {
                sum += dir.dot(normal).max(0.0) / pdf;
            }
        }
        // Irradiance of a unit-radiance sphere straight overhead: π sin²θ_max = π (r/d)².
        let expected = PI * 0.25 / 4.0;
        assert!((sum / f64::from(n) - expected).abs() < 0.01 * expected);
    }
}
