//! Vectors, rays and ray/shape intersection: spheres, planes, axis-aligned boxes and triangle meshes
//! (with a bounding volume hierarchy).

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

/// A 3-vector of `f64`: points, directions and RGB colours.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Vec3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Vec3 {
    pub const ZERO: Vec3 = Vec3::new(0.0, 0.0, 0.0);
    pub const ONE: Vec3 = Vec3::new(1.0, 1.0, 1.0);

    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Vec3 { x, y, z }
    }

    pub fn dot(self, other: Vec3) -> f64 {
        self.x * other.x + self.y * other.y + self.z * other.z
    }

    pub fn cross(self, other: Vec3) -> Vec3 {
        Vec3::new(
            self.y * other.z - self.z * other.y,
            self.z * other.x - self.x * other.z,
            self.x * other.y - self.y * other.x,
        )
    }

    pub fn length(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// The unit vector along `self`, or `None` for a (near-)zero or non-finite vector.
    pub fn normalized(self) -> Option<Vec3> {
        let length = self.length();
        (length > 1e-300 && length.is_finite()).then(|| self / length)
    }

    /// Component-wise product (colour filtering).
    pub fn mul_elem(self, other: Vec3) -> Vec3 {
        Vec3::new(self.x * other.x, self.y * other.y, self.z * other.z)
    }

    pub fn max_component(self) -> f64 {
        self.x.max(self.y).max(self.z)
    }

    pub fn min_elem(self, other: Vec3) -> Vec3 {
        Vec3::new(
            self.x.min(other.x),
            self.y.min(other.y),
            self.z.min(other.z),
        )
    }

    pub fn max_elem(self, other: Vec3) -> Vec3 {
        Vec3::new(
            self.x.max(other.x),
            self.y.max(other.y),
            self.z.max(other.z),
        )
    }

    /// Component `axis` (0 = x, 1 = y, 2 = z).
    pub fn axis(self, axis: usize) -> f64 {
        match axis {
            0 => self.x,
            1 => self.y,
            _ => self.z,
        }
    }

    /// Mean of the three components (a colour's grey level).
    pub fn mean(self) -> f64 {
        (self.x + self.y + self.z) / 3.0
    }

    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite() && self.z.is_finite()
    }

    /// Two unit vectors completing the unit vector `self` to an orthonormal basis
    /// (Duff et al., "Building an Orthonormal Basis, Revisited", 2017).
    pub fn basis(self) -> (Vec3, Vec3) {
        let sign = 1.0_f64.copysign(self.z);
        let a = -1.0 / (sign + self.z);
        let b = self.x * self.y * a;
        (
            Vec3::new(1.0 + sign * self.x * self.x * a, sign * b, -sign * self.x),
            Vec3::new(b, sign + self.y * self.y * a, -self.y),
        )
    }
}

impl From<[f64; 3]> for Vec3 {
    fn from(v: [f64; 3]) -> Self {
        Vec3::new(v[0], v[1], v[2])
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    fn add(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl AddAssign for Vec3 {
    fn add_assign(&mut self, o: Vec3) {
        *self = *self + o;
    }
}

impl Sub for Vec3 {
    type Output = Vec3;
    fn sub(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Vec3;
    fn mul(self, s: f64) -> Vec3 {
        Vec3::new(self.x * s, self.y * s, self.z * s)
    }
}

impl Div<f64> for Vec3 {
    type Output = Vec3;
    fn div(self, s: f64) -> Vec3 {
        Vec3::new(self.x / s, self.y / s, self.z / s)
    }
}

impl Neg for Vec3 {
    type Output = Vec3;
    fn neg(self) -> Vec3 {
        Vec3::new(-self.x, -self.y, -self.z)
    }
}

/// A ray with a unit direction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ray {
    pub origin: Vec3,
    pub dir: Vec3,
}

impl Ray {
    pub fn at(&self, t: f64) -> Vec3 {
        self.origin + self.dir * t
    }

    /// The same ray with its origin moved by `-offset` (into an object's local frame).
    pub fn shifted(&self, offset: Vec3) -> Ray {
        Ray {
            origin: self.origin - offset,
            dir: self.dir,
        }
    }
}

/// Where a ray meets a surface: the distance and the outward unit normal there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SurfaceHit {
    pub t: f64,
    pub normal: Vec3,
}

/// The nearest intersection of `ray` with a sphere in `(t_min, t_max)`.
pub(crate) fn intersect_sphere(
    center: Vec3,
    radius: f64,
    ray: &Ray,
    t_min: f64,
    t_max: f64,
) -> Option<SurfaceHit> {
    let oc = ray.origin - center;
    let half_b = oc.dot(ray.dir);
    let c = oc.dot(oc) - radius * radius;
    let discriminant = half_b * half_b - c;
    if discriminant < 0.0 {
        return None;
    }
    let root = discriminant.sqrt();
    let t = [-half_b - root, -half_b + root]
        .into_iter()
        .find(|t| *t > t_min && *t < t_max)?;
    let normal = (ray.at(t) - center) / radius;
    Some(SurfaceHit { t, normal })
}

/// The intersection of `ray` with an infinite plane (unit `normal`) in `(t_min, t_max)`.
pub(crate) fn intersect_plane(
    point: Vec3,
    normal: Vec3,
    ray: &Ray,
    t_min: f64,
    t_max: f64,
) -> Option<SurfaceHit> {
    let denominator = normal.dot(ray.dir);
    if denominator.abs() < 1e-12 {
        return None;
    }
    let t = (point - ray.origin).dot(normal) / denominator;
    (t > t_min && t < t_max).then_some(SurfaceHit { t, normal })
}

/// The unit vector along `axis`, signed.
fn axis_vector(axis: usize, sign: f64) -> Vec3 {
    match axis {
        0 => Vec3::new(sign, 0.0, 0.0),
        1 => Vec3::new(0.0, sign, 0.0),
        _ => Vec3::new(0.0, 0.0, sign),
    }
}

/// The nearest intersection of `ray` with the surface of the box `[min, max]` in `(t_min, t_max)`,
/// from outside or inside (slab method).
pub(crate) fn intersect_box(
    min: Vec3,
    max: Vec3,
    ray: &Ray,
    t_min: f64,
    t_max: f64,
) -> Option<SurfaceHit> {
    let (mut near, mut far) = (f64::NEG_INFINITY, f64::INFINITY);
    let (mut near_axis, mut far_axis) = (0, 0);
    for axis in 0..3 {
        let (origin, dir) = (ray.origin.axis(axis), ray.dir.axis(axis));
        let (lo, hi) = (min.axis(axis), max.axis(axis));
        if dir.abs() < 1e-300 {
            if origin < lo || origin > hi {
                return None;
            }
            continue;
        }
        let (mut t0, mut t1) = ((lo - origin) / dir, (hi - origin) / dir);
        if t0 > t1 {
            std::mem::swap(&mut t0, &mut t1);
        }
        if t0 > near {
            (near, near_axis) = (t0, axis);
        }
        if t1 < far {
            (far, far_axis) = (t1, axis);
        }
        if near > far {
            return None;
        }
    }
    let sign_of = |axis: usize| 1.0_f64.copysign(ray.dir.axis(axis));
    if near > t_min && near < t_max {
        Some(SurfaceHit {
            t: near,
            normal: axis_vector(near_axis, -sign_of(near_axis)),
        })
    } else if far > t_min && far < t_max {
        Some(SurfaceHit {
            t: far,
            normal: axis_vector(far_axis, sign_of(far_axis)),
        })
    } else {
        None
    }
}

/// An axis-aligned bounding box.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Aabb {
    pub min: Vec3,
    pub max: Vec3,
}

impl Aabb {
    const EMPTY: Aabb = Aabb {
        min: Vec3::new(f64::INFINITY, f64::INFINITY, f64::INFINITY),
        max: Vec3::new(f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY),
    };

    fn grow(self, point: Vec3) -> Aabb {
        Aabb {
            min: self.min.min_elem(point),
            max: self.max.max_elem(point),
        }
    }

    fn union(self, other: Aabb) -> Aabb {
        Aabb {
            min: self.min.min_elem(other.min),
            max: self.max.max_elem(other.max),
        }
    }

    fn longest_axis(&self) -> usize {
        let size = self.max - self.min;
        if size.x >= size.y && size.x >= size.z {
            0
        } else if size.y >= size.z {
            1
        } else {
            2
        }
    }

    /// Whether the ray enters the box within `(t_min, t_max)`; `inv_dir` is `1 / ray.dir`. NaNs (a
    /// zero direction component on a slab boundary) are ignored by `min`/`max`, which keeps the test
    /// conservative.
    fn hit(&self, ray: &Ray, inv_dir: Vec3, t_min: f64, t_max: f64) -> bool {
        let (mut near, mut far) = (t_min, t_max);
        for axis in 0..3 {
            let t0 = (self.min.axis(axis) - ray.origin.axis(axis)) * inv_dir.axis(axis);
            let t1 = (self.max.axis(axis) - ray.origin.axis(axis)) * inv_dir.axis(axis);
            near = near.max(t0.min(t1));
            far = far.min(t0.max(t1));
        }
        near <= far
    }
}

/// A triangle as a corner and two edges, with its unit normal (zero when degenerate).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Triangle {
    pub p0: Vec3,
    pub e1: Vec3,
    pub e2: Vec3,
    pub normal: Vec3,
}

impl Triangle {
    pub fn new(a: Vec3, b: Vec3, c: Vec3) -> Self {
        let (e1, e2) = (b - a, c - a);
        Triangle {
            p0: a,
            e1,
            e2,
            normal: e1.cross(e2).normalized().unwrap_or(Vec3::ZERO),
        }
    }

    pub fn area(&self) -> f64 {
        0.5 * self.e1.cross(self.e2).length()
    }

    fn centroid(&self) -> Vec3 {
        self.p0 + (self.e1 + self.e2) / 3.0
    }

    fn bounds(&self) -> Aabb {
        Aabb::EMPTY
            .grow(self.p0)
            .grow(self.p0 + self.e1)
            .grow(self.p0 + self.e2)
    }

    /// Möller–Trumbore: the distance to the triangle along `ray`, within `(t_min, t_max)`.
    fn intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        let p = ray.dir.cross(self.e2);
        let det = self.e1.dot(p);
        if det.abs() < 1e-14 {
            return None;
        }
        let inv_det = 1.0 / det;
        let s = ray.origin - self.p0;
        let u = s.dot(p) * inv_det;
        if !(0.0..=1.0).contains(&u) {
            return None;
        }
        let q = s.cross(self.e1);
        let v = ray.dir.dot(q) * inv_det;
        if v < 0.0 || u + v > 1.0 {
            return None;
        }
        let t = self.e2.dot(q) * inv_det;
        (t > t_min && t < t_max).then_some(t)
    }
}

/// Most triangles in a BVH leaf.
const LEAF_SIZE: usize = 4;
/// Traversal stack depth: the median-split tree of 100k triangles is about 16 levels deep.
const STACK_DEPTH: usize = 64;

/// A BVH node: a leaf holds `count > 0` triangles from `first`; an inner node (`count == 0`) has its
/// children at `first` and `first + 1`.
#[derive(Clone, Copy, Debug)]
struct BvhNode {
    bounds: Aabb,
    first: u32,
    count: u32,
}

/// A triangle mesh with a bounding volume hierarchy (median split on the longest axis).
#[derive(Clone, Debug)]
pub(crate) struct Mesh {
    triangles: Vec<Triangle>,
    nodes: Vec<BvhNode>,
}

impl Mesh {
    /// Builds the mesh and its BVH. Indices must be in range (the scene validator checks them).
    pub fn new(vertices: &[[f64; 3]], indices: &[[u32; 3]]) -> Mesh {
        let vertex = |i: u32| Vec3::from(vertices.get(i as usize).copied().unwrap_or([0.0; 3]));
        let mut triangles: Vec<Triangle> = indices
            .iter()
            .map(|&[a, b, c]| Triangle::new(vertex(a), vertex(b), vertex(c)))
            .collect();
        let mut nodes = Vec::with_capacity(2 * triangles.len() / LEAF_SIZE + 1);
        nodes.push(BvhNode {
            bounds: Aabb::EMPTY,
            first: 0,
            count: 0,
        });
        let len = triangles.len();
        build_node(&mut triangles, &mut nodes, 0, 0, len);
        Mesh { triangles, nodes }
    }

    pub fn triangles(&self) -> &[Triangle] {
        &self.triangles
    }

    /// The nearest triangle hit along `ray` in `(t_min, t_max)`.
    pub fn intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<SurfaceHit> {
        let inv_dir = Vec3::new(1.0 / ray.dir.x, 1.0 / ray.dir.y, 1.0 / ray.dir.z);
        let mut closest: Option<SurfaceHit> = None;
        let mut t_max = t_max;
        let mut stack = [0u32; STACK_DEPTH];
        let mut depth = 1;
        while depth > 0 {
            depth -= 1;
            let Some(node) = self.nodes.get(stack[depth] as usize) else {
                continue;
            };
            if !node.bounds.hit(ray, inv_dir, t_min, t_max) {
                continue;
            }
            if node.count > 0 {
                let range = node.first as usize..(node.first + node.count) as usize;
                for triangle in self.triangles.get(range).unwrap_or_default() {
                    if let Some(t) = triangle.intersect(ray, t_min, t_max) {
                        t_max = t;
                        closest = Some(SurfaceHit {
                            t,
                            normal: triangle.normal,
                        });
                    }
                }
            } else if depth + 2 <= STACK_DEPTH {
                stack[depth] = node.first;
                stack[depth + 1] = node.first + 1;
                depth += 2;
            }
        }
        closest
    }
}

/// Fills node `index` for `triangles[start..end]`, splitting recursively.
fn build_node(
    triangles: &mut [Triangle],
    nodes: &mut Vec<BvhNode>,
    index: usize,
    start: usize,
    end: usize,
) {
    let slice = &mut triangles[start..end];
    let bounds = slice
        .iter()
        .fold(Aabb::EMPTY, |acc, triangle| acc.union(triangle.bounds()));
    if slice.len() <= LEAF_SIZE {
        nodes[index] = BvhNode {
            bounds,
            first: start as u32,
            count: slice.len() as u32,
        };
        return;
    }
    let centroids = slice
        .iter()
        .fold(Aabb::EMPTY, |acc, triangle| acc.grow(triangle.centroid()));
    let axis = centroids.longest_axis();
    let middle = slice.len() / 2;
    slice.select_nth_unstable_by(middle, |a, b| {
        a.centroid().axis(axis).total_cmp(&b.centroid().axis(axis))
    });
    let left = nodes.len();
    let placeholder = BvhNode {
        bounds: Aabb::EMPTY,
        first: 0,
        count: 0,
    };
    nodes.push(placeholder);
    nodes.push(placeholder);
    nodes[index] = BvhNode {
        bounds,
        first: left as u32,
        count: 0,
    };
    build_node(triangles, nodes, left, start, start + middle);
    build_node(triangles, nodes, left + 1, start + middle, end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ray(origin: [f64; 3], dir: [f64; 3]) -> Ray {
        Ray {
            origin: origin.into(),
            dir: Vec3::from(dir).normalized().expect("direction"),
        }
    }

    #[test]
    fn spheres_planes_and_boxes() {
        let r = ray([0.0, 0.0, 5.0], [0.0, 0.0, -1.0]);
        let hit = intersect_sphere(Vec3::ZERO, 1.0, &r, 1e-6, f64::INFINITY).expect("sphere");
        assert!((hit.t - 4.0).abs() < 1e-12 && hit.normal == Vec3::new(0.0, 0.0, 1.0));
        let inside = ray([0.0, 0.0, 0.0], [1.0, 0.0, 0.0]);
        let hit = intersect_sphere(Vec3::ZERO, 1.0, &inside, 1e-6, f64::INFINITY).expect("inside");
        assert!((hit.t - 1.0).abs() < 1e-12 && hit.normal.x > 0.99);
        let hit =
            intersect_plane(Vec3::ZERO, Vec3::new(0.0, 0.0, 1.0), &r, 1e-6, 10.0).expect("plane");
        assert!((hit.t - 5.0).abs() < 1e-12);
        assert!(intersect_plane(Vec3::ZERO, Vec3::new(0.0, 0.0, 1.0), &r, 1e-6, 4.0).is_none());
        let (lo, hi) = (Vec3::new(-1.0, -1.0, -1.0), Vec3::new(1.0, 1.0, 1.0));
        let hit = intersect_box(lo, hi, &r, 1e-6, f64::INFINITY).expect("box");
        assert!((hit.t - 4.0).abs() < 1e-12 && hit.normal == Vec3::new(0.0, 0.0, 1.0));
        let hit = intersect_box(lo, hi, &inside, 1e-6, f64::INFINITY).expect("inside box");
        assert!((hit.t - 1.0).abs() < 1e-12 && hit.normal == Vec3::new(1.0, 0.0, 0.0));
        assert!(intersect_box(lo, hi, &ray([0.0, 3.0, 5.0], [0.0, 0.0, -1.0]), 0.0, 9.0).is_none());
    }

    #[test]
    fn mesh_bvh_agrees_with_brute_force() {
        // A 40×40 grid of quads (3,200 triangles) on z = 0, slightly bumped.
        let n = 40;
        let mut vertices = Vec::new();
        for j in 0..=n {
            for i in 0..=n {
                let (x, y) = (i as f64 / n as f64, j as f64 / n as f64);
                vertices.push([x, y, 0.05 * ((x * 7.0).sin() + (y * 5.0).cos())]);
            }
        }
        let mut indices = Vec::new();
        for j in 0..n {
            for i in 0..n {
                let a = (j * (n + 1) + i) as u32;
                let b = a + 1;
                let c = a + (n + 1) as u32;
                indices.push([a, b, c + 1]);
                indices.push([a, c + 1, c]);
            }
        }
        let mesh = Mesh::new(&vertices, &indices);
        for k in 0..200 {
            let (x, y) = ((k % 17) as f64 / 16.0, (k / 17) as f64 / 12.0);
            let r = ray([x * 1.2 - 0.1, y * 1.2 - 0.1, 1.0], [0.1, -0.05, -1.0]);
            let brute = mesh
                .triangles()
                .iter()
                .filter_map(|t| t.intersect(&r, 1e-9, f64::INFINITY))
                .min_by(f64::total_cmp);
            let fast = mesh.intersect(&r, 1e-9, f64::INFINITY).map(|hit| hit.t);
            assert_eq!(brute, fast, "ray {k}");
        }
    }
}
