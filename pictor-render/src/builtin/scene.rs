//! The built-in renderer's scene format (TOML or JSON), its validation and the demo scene.
//!
//! ```toml
//! [camera]
//! position = [0.0, 1.0, 3.4]
//! look_at = [0.0, 1.0, 0.0]
//! up = [0.0, 1.0, 0.0]      # optional, default +y
//! fov_degrees = 40.0        # vertical field of view
//! aperture = 0.0            # optional lens radius (0 = pinhole)
//! focus_distance = 3.4      # optional, default |look_at - position|
//!
//! sky = { type = "gradient", horizon = [0.8, 0.9, 1.0], zenith = [0.2, 0.4, 0.9] }
//! # or { type = "constant", color = [0, 0, 0] } (the default: black)
//!
//! [materials]
//! white = { type = "diffuse", albedo = [0.73, 0.73, 0.73] }
//! lamp = { type = "emissive", color = [1.0, 0.9, 0.7], strength = 12.0 }
//! steel = { type = "metal", albedo = [0.9, 0.9, 0.9], roughness = 0.1 }
//! crystal = { type = "glass", ior = 1.5 }   # optional tint = [r, g, b]
//!
//! [[objects]]
//! type = "sphere"           # or "plane", "box", "mesh"
//! center = [0.0, 0.5, 0.0]
//! radius = 0.5
//! material = "white"
//! keyframes = [{ frame = 1, translate = [0, 0, 0] }, { frame = 24, translate = [0, 1, 0] }]
//! ```
//!
//! Planes take `point` and `normal`, boxes `min` and `max` (axis-aligned), meshes `vertices`
//! (`[[x, y, z], ...]`) and `indices` (`[[a, b, c], ...]`, counter-clockwise seen from the front).
//! Emissive surfaces emit from their front side: the outside of spheres and boxes, the side the plane's
//! normal points to, the counter-clockwise side of triangles. Keyframes translate an object, linearly
//! interpolated between frames and clamped outside them; frames must increase strictly.

use crate::error::{RenderError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Most objects in a scene.
pub const MAX_OBJECTS: usize = 10_000;
/// Most triangles over all meshes of a scene.
pub const MAX_TRIANGLES: usize = 100_000;
/// Most vertices over all meshes of a scene.
pub const MAX_VERTICES: usize = 300_000;
/// Most materials in a scene.
pub const MAX_MATERIALS: usize = 1_024;
/// Most keyframes of one object.
pub const MAX_KEYFRAMES: usize = 10_000;
/// Largest scene file read, in bytes.
pub const MAX_SCENE_BYTES: u64 = 64 << 20;
/// Largest absolute coordinate or colour value accepted (keeps arithmetic far from overflow).
pub const MAX_MAGNITUDE: f64 = 1e6;

/// A scene of the built-in renderer, as read from a `.toml` or `.json` file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinScene {
    /// The `[camera]` table: where the image is seen from, its field of view and its lens.
    pub camera: CameraSpec,
    /// What rays that hit nothing see (black when absent).
    #[serde(default)]
    pub sky: SkySpec,
    /// Materials by name.
    #[serde(default)]
    pub materials: BTreeMap<String, MaterialSpec>,
    /// The shapes, each naming an entry of `materials`; at most `MAX_OBJECTS` (none: only sky).
    #[serde(default)]
    pub objects: Vec<ObjectSpec>,
}

/// A thin-lens (or pinhole) camera.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    /// Eye position.
    pub position: [f64; 3],
    /// The point looked at (the centre of the image).
    pub look_at: [f64; 3],
    /// The up direction (default `[0, 1, 0]`); must not be parallel to the view direction.
    #[serde(default = "default_up")]
    pub up: [f64; 3],
    /// Vertical field of view, degrees, in `(0, 180)`.
    pub fov_degrees: f64,
    /// Lens radius in scene units; 0 (the default) is a pinhole camera with everything sharp.
    #[serde(default)]
    pub aperture: f64,
    /// Distance of the sharp plane (default: the distance to `look_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus_distance: Option<f64>,
}

fn default_up() -> [f64; 3] {
    [0.0, 1.0, 0.0]
}

fn default_tint() -> [f64; 3] {
    [1.0, 1.0, 1.0]
}

/// The colour of rays that leave the scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SkySpec {
    /// One colour in every direction (black: no light from outside).
    Constant {
        /// Linear RGB radiance.
        color: [f64; 3],
    },
    /// `horizon` at and below the horizon, blending linearly to `zenith` straight up.
    Gradient {
        /// Linear RGB radiance at the horizon.
        horizon: [f64; 3],
        /// Linear RGB radiance straight up.
        zenith: [f64; 3],
    },
}

impl Default for SkySpec {
    fn default() -> Self {
        SkySpec::Constant {
            color: [0.0, 0.0, 0.0],
        }
    }
}

/// How a surface scatters or emits light; objects name one by its key in `materials`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MaterialSpec {
    /// Matte (Lambertian).
    Diffuse {
        /// Reflectance per channel, each in `0..=1`.
        albedo: [f64; 3],
    },
    /// A light: emits `color × strength` from its front side, reflects nothing.
    Emissive {
        /// Linear RGB colour, each ≥ 0.
        color: [f64; 3],
        /// Multiplier, ≥ 0.
        strength: f64,
    },
    /// A (possibly blurry) mirror.
    Metal {
        /// Reflectance per channel, each in `0..=1`.
        albedo: [f64; 3],
        /// Blur, `0..=1` (0 = perfect mirror).
        roughness: f64,
    },
    /// Clear glass.
    Glass {
        /// Index of refraction, `1..=4`.
        ior: f64,
        /// Transmission and reflection colour per channel, each in `0..=1` (default white).
        #[serde(default = "default_tint")]
        tint: [f64; 3],
    },
}

/// A translation at one frame; between keyframes objects move linearly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyframe {
    /// The frame at which the offset is exactly `translate`; frames must increase strictly.
    pub frame: u32,
    /// Offset added to the object's coordinates at this frame.
    pub translate: [f64; 3],
}

/// An object: a shape, its material's name and optional keyframes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ObjectSpec {
    /// A sphere; emissive spheres emit outwards.
    Sphere {
        /// Centre.
        center: [f64; 3],
        /// Radius, > 0.
        radius: f64,
        /// Name of an entry of `materials`.
        material: String,
        /// Animation (none: static).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keyframes: Vec<Keyframe>,
    },
    /// An infinite plane through `point`; its front, the side that emits, faces along `normal`.
    Plane {
        /// Any point on the plane; with `normal` it fixes the plane.
        point: [f64; 3],
        /// Its normal (any non-zero length); emissive planes emit towards it.
        normal: [f64; 3],
        /// Name of an entry of `materials`.
        material: String,
        /// Animation (none: static).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keyframes: Vec<Keyframe>,
    },
    /// An axis-aligned box.
    #[serde(rename = "box")]
    Cuboid {
        /// The corner with the smallest coordinates.
        min: [f64; 3],
        /// The opposite corner; larger than `min` on every axis.
        max: [f64; 3],
        /// Name of an entry of `materials`.
        material: String,
        /// Animation (none: static).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keyframes: Vec<Keyframe>,
    },
    /// A triangle mesh; its vertices and triangles count towards `MAX_VERTICES` and
    /// `MAX_TRIANGLES`, summed over all meshes.
    Mesh {
        /// Vertex positions.
        vertices: Vec<[f64; 3]>,
        /// Triangles as vertex indices, counter-clockwise seen from the front.
        indices: Vec<[u32; 3]>,
        /// Name of an entry of `materials`.
        material: String,
        /// Animation (none: static).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keyframes: Vec<Keyframe>,
    },
}

impl ObjectSpec {
    /// The material's name.
    pub fn material(&self) -> &str {
        match self {
            ObjectSpec::Sphere { material, .. }
            | ObjectSpec::Plane { material, .. }
            | ObjectSpec::Cuboid { material, .. }
            | ObjectSpec::Mesh { material, .. } => material,
        }
    }

    /// The keyframes (empty: static).
    pub fn keyframes(&self) -> &[Keyframe] {
        match self {
            ObjectSpec::Sphere { keyframes, .. }
            | ObjectSpec::Plane { keyframes, .. }
            | ObjectSpec::Cuboid { keyframes, .. }
            | ObjectSpec::Mesh { keyframes, .. } => keyframes,
        }
    }

    /// The translation at `frame`: keyframes interpolated linearly, clamped to the first and last.
    pub fn translation_at(&self, frame: u32) -> [f64; 3] {
        let keys = self.keyframes();
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return [0.0; 3];
        };
        if frame <= first.frame {
            return first.translate;
        }
        if frame >= last.frame {
            return last.translate;
        }
        let next = keys.partition_point(|key| key.frame <= frame);
        let (a, b) = (&keys[next - 1], &keys[next]);
        let t = f64::from(frame - a.frame) / f64::from(b.frame - a.frame);
        std::array::from_fn(|i| a.translate[i] + (b.translate[i] - a.translate[i]) * t)
    }
}

impl BuiltinScene {
    /// Reads, parses (`.toml` or `.json`, by extension) and validates a scene file.
    pub fn load(path: &Path) -> Result<BuiltinScene> {
        let not_found = |reason: String| RenderError::SceneNotFound {
            path: path.to_path_buf(),
            reason,
        };
        let invalid = |reason: String| RenderError::SceneInvalid {
            path: path.to_path_buf(),
            reason,
        };
        let metadata = std::fs::metadata(path).map_err(|error| not_found(error.to_string()))?;
        if !metadata.is_file() {
            return Err(not_found("not a regular file".into()));
        }
        if metadata.len() > MAX_SCENE_BYTES {
            return Err(invalid(format!(
                "{} bytes is larger than the {MAX_SCENE_BYTES}-byte limit",
                metadata.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|error| not_found(error.to_string()))?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let scene = match extension.as_deref() {
            Some("toml") => BuiltinScene::from_toml(&text),
            Some("json") => BuiltinScene::from_json(&text),
            _ => Err("unsupported file extension: use .toml or .json".to_string()),
        }
        .map_err(invalid)?;
        Ok(scene)
    }

    /// Parses and validates TOML text; the error is the reason, for the caller to wrap.
    pub fn from_toml(text: &str) -> Result<BuiltinScene, String> {
        let scene: BuiltinScene = toml::from_str(text).map_err(|error| error.to_string())?;
        scene.validate()?;
        Ok(scene)
    }

    /// Parses and validates JSON text; the error is the reason, for the caller to wrap.
    pub fn from_json(text: &str) -> Result<BuiltinScene, String> {
        let scene: BuiltinScene = serde_json::from_str(text).map_err(|error| error.to_string())?;
        scene.validate()?;
        Ok(scene)
    }

    /// Checks every number is finite and in range, names resolve and the size caps hold. The error
    /// names the field, e.g. `objects[2].radius must be > 0`.
    pub fn validate(&self) -> Result<(), String> {
        validate_camera(&self.camera)?;
        match &self.sky {
            SkySpec::Constant { color } => check_colour("sky.color", color, None)?,
            SkySpec::Gradient { horizon, zenith } => {
                check_colour("sky.horizon", horizon, None)?;
                check_colour("sky.zenith", zenith, None)?;
            }
        }
        if self.materials.len() > MAX_MATERIALS {
            return Err(format!("more than {MAX_MATERIALS} materials"));
        }
        for (name, material) in &self.materials {
            validate_material(&format!("materials.{name}"), material)?;
        }
        if self.objects.len() > MAX_OBJECTS {
            return Err(format!(
                "{} objects: at most {MAX_OBJECTS}",
                self.objects.len()
            ));
        }
        let (mut triangles, mut vertices) = (0usize, 0usize);
        for (index, object) in self.objects.iter().enumerate() {
            let field = format!("objects[{index}]");
            validate_object(&field, object)?;
            if !self.materials.contains_key(object.material()) {
                return Err(format!(
                    "{field}.material \"{}\" is not defined in [materials]",
                    object.material()
                ));
            }
            if let ObjectSpec::Mesh {
                vertices: v,
                indices,
                ..
            } = object
            {
                triangles += indices.len();
                vertices += v.len();
            }
        }
        if triangles > MAX_TRIANGLES {
            return Err(format!(
                "{triangles} triangles: at most {MAX_TRIANGLES} in all meshes"
            ));
        }
        if vertices > MAX_VERTICES {
            return Err(format!(
                "{vertices} vertices: at most {MAX_VERTICES} in all meshes"
            ));
        }
        Ok(())
    }

    /// The demo scene (the one [`demo_scene_toml`] describes): a Cornell-like room — white floor,
    /// ceiling and back wall, red and green side walls, open towards the camera — lit by one small
    /// square lamp under the ceiling, with a mirror-like metal sphere, a glass sphere, a white block and
    /// an orange ball that rises from the floor between frames 1 and 24.
    pub fn demo() -> BuiltinScene {
        let diffuse = |albedo| MaterialSpec::Diffuse { albedo };
        let materials = BTreeMap::from([
            ("white".to_string(), diffuse([0.73, 0.73, 0.73])),
            ("red".to_string(), diffuse([0.65, 0.06, 0.05])),
            ("green".to_string(), diffuse([0.12, 0.45, 0.15])),
            ("orange".to_string(), diffuse([0.85, 0.45, 0.1])),
            (
                "lamp".to_string(),
                MaterialSpec::Emissive {
                    color: [1.0, 0.85, 0.65],
                    strength: 10.0,
                },
            ),
            (
                "steel".to_string(),
                MaterialSpec::Metal {
                    albedo: [0.9, 0.9, 0.9],
                    roughness: 0.08,
                },
            ),
            (
                "crystal".to_string(),
                MaterialSpec::Glass {
                    ior: 1.5,
                    tint: [1.0, 1.0, 1.0],
                },
            ),
        ]);
        let plane = |point, normal, material: &str| ObjectSpec::Plane {
            point,
            normal,
            material: material.to_string(),
            keyframes: Vec::new(),
        };
        let sphere = |center, radius, material: &str| ObjectSpec::Sphere {
            center,
            radius,
            material: material.to_string(),
            keyframes: Vec::new(),
        };
        let objects = vec![
            plane([0.0, 0.0, 0.0], [0.0, 1.0, 0.0], "white"),
            plane([0.0, 2.0, 0.0], [0.0, -1.0, 0.0], "white"),
            plane([0.0, 0.0, -1.0], [0.0, 0.0, 1.0], "white"),
            plane([-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], "red"),
            plane([1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], "green"),
            ObjectSpec::Mesh {
                vertices: vec![
                    [-0.3, 1.98, -0.3],
                    [0.3, 1.98, -0.3],
                    [0.3, 1.98, 0.3],
                    [-0.3, 1.98, 0.3],
                ],
                indices: vec![[0, 1, 2], [0, 2, 3]],
                material: "lamp".to_string(),
                keyframes: Vec::new(),
            },
            ObjectSpec::Cuboid {
                min: [0.15, 0.0, -0.8],
                max: [0.65, 0.9, -0.35],
                material: "white".to_string(),
                keyframes: Vec::new(),
            },
            sphere([-0.5, 0.35, -0.45], 0.35, "steel"),
            sphere([0.4, 0.3, 0.3], 0.3, "crystal"),
            ObjectSpec::Sphere {
                center: [-0.35, 0.18, 0.45],
                radius: 0.18,
                material: "orange".to_string(),
                keyframes: vec![
                    Keyframe {
                        frame: 1,
                        translate: [0.0, 0.0, 0.0],
                    },
                    Keyframe {
                        frame: 24,
                        translate: [0.2, 0.9, 0.0],
                    },
                ],
            },
        ];
        BuiltinScene {
            camera: CameraSpec {
                position: [0.0, 1.0, 3.4],
                look_at: [0.0, 1.0, 0.0],
                up: [0.0, 1.0, 0.0],
                fov_degrees: 40.0,
                aperture: 0.0,
                focus_distance: None,
            },
            sky: SkySpec::default(),
            materials,
            objects,
        }
    }
}

/// [`BuiltinScene::demo`] as TOML text (what `pictor demo` writes to disk).
pub fn demo_scene_toml() -> &'static str {
    DEMO_SCENE_TOML
}

const DEMO_SCENE_TOML: &str = r#"# Pictor built-in renderer: demo scene.
# A Cornell-like room lit by one small lamp, with metal, glass and diffuse objects;
# the orange ball rises between frames 1 and 24.

[camera]
position = [0.0, 1.0, 3.4]
look_at = [0.0, 1.0, 0.0]
up = [0.0, 1.0, 0.0]
fov_degrees = 40.0
aperture = 0.0

[sky]
type = "constant"
color = [0.0, 0.0, 0.0]

[materials]
white = { type = "diffuse", albedo = [0.73, 0.73, 0.73] }
red = { type = "diffuse", albedo = [0.65, 0.06, 0.05] }
green = { type = "diffuse", albedo = [0.12, 0.45, 0.15] }
orange = { type = "diffuse", albedo = [0.85, 0.45, 0.1] }
lamp = { type = "emissive", color = [1.0, 0.85, 0.65], strength = 10.0 }
steel = { type = "metal", albedo = [0.9, 0.9, 0.9], roughness = 0.08 }
crystal = { type = "glass", ior = 1.5, tint = [1.0, 1.0, 1.0] }

# The room: floor, ceiling, back wall, red left wall, green right wall.
[[objects]]
type = "plane"
point = [0.0, 0.0, 0.0]
normal = [0.0, 1.0, 0.0]
material = "white"

[[objects]]
type = "plane"
point = [0.0, 2.0, 0.0]
normal = [0.0, -1.0, 0.0]
material = "white"

[[objects]]
type = "plane"
point = [0.0, 0.0, -1.0]
normal = [0.0, 0.0, 1.0]
material = "white"

[[objects]]
type = "plane"
point = [-1.0, 0.0, 0.0]
normal = [1.0, 0.0, 0.0]
material = "red"

[[objects]]
type = "plane"
point = [1.0, 0.0, 0.0]
normal = [-1.0, 0.0, 0.0]
material = "green"

# The lamp: a 0.6 × 0.6 square facing down, just under the ceiling.
[[objects]]
type = "mesh"
vertices = [[-0.3, 1.98, -0.3], [0.3, 1.98, -0.3], [0.3, 1.98, 0.3], [-0.3, 1.98, 0.3]]
indices = [[0, 1, 2], [0, 2, 3]]
material = "lamp"

[[objects]]
type = "box"
min = [0.15, 0.0, -0.8]
max = [0.65, 0.9, -0.35]
material = "white"

[[objects]]
type = "sphere"
center = [-0.5, 0.35, -0.45]
radius = 0.35
material = "steel"

[[objects]]
type = "sphere"
center = [0.4, 0.3, 0.3]
radius = 0.3
material = "crystal"

[[objects]]
type = "sphere"
center = [-0.35, 0.18, 0.45]
radius = 0.18
material = "orange"
keyframes = [
    { frame = 1, translate = [0.0, 0.0, 0.0] },
    { frame = 24, translate = [0.2, 0.9, 0.0] },
]
"#;

/// Error unless `value` is finite and within ±[`MAX_MAGNITUDE`].
fn check_number(field: &str, value: f64) -> Result<(), String> {
    if !value.is_finite() {
        return Err(format!("{field} must be a finite number, not {value}"));
    }
    if value.abs() > MAX_MAGNITUDE {
        return Err(format!("{field} = {value} is beyond ±{MAX_MAGNITUDE}"));
    }
    Ok(())
}

fn check_vector(field: &str, value: &[f64; 3]) -> Result<(), String> {
    for (i, v) in value.iter().enumerate() {
        check_number(&format!("{field}[{i}]"), *v)?;
    }
    Ok(())
}

/// A colour: finite, ≥ 0 and, when `max` is given, at most `max`.
fn check_colour(field: &str, value: &[f64; 3], max: Option<f64>) -> Result<(), String> {
    check_vector(field, value)?;
    for (i, v) in value.iter().enumerate() {
        if *v < 0.0 {
            return Err(format!("{field}[{i}] must be ≥ 0"));
        }
        if let Some(max) = max.filter(|max| v > max) {
            return Err(format!("{field}[{i}] = {v} must be ≤ {max}"));
        }
    }
    Ok(())
}

fn check_non_zero(field: &str, value: &[f64; 3]) -> Result<(), String> {
    check_vector(field, value)?;
    if value.iter().all(|v| v.abs() < 1e-12) {
        return Err(format!("{field} must not be the zero vector"));
    }
    Ok(())
}

fn validate_camera(camera: &CameraSpec) -> Result<(), String> {
    check_vector("camera.position", &camera.position)?;
    check_vector("camera.look_at", &camera.look_at)?;
    check_non_zero("camera.up", &camera.up)?;
    check_number("camera.fov_degrees", camera.fov_degrees)?;
    if !(camera.fov_degrees > 0.0 && camera.fov_degrees < 180.0) {
        return Err("camera.fov_degrees must be in (0, 180)".into());
    }
    check_number("camera.aperture", camera.aperture)?;
    if camera.aperture < 0.0 {
        return Err("camera.aperture must be ≥ 0".into());
    }
    if let Some(focus) = camera.focus_distance {
        check_number("camera.focus_distance", focus)?;
        if focus <= 0.0 {
            return Err("camera.focus_distance must be > 0".into());
        }
    }
    let view: [f64; 3] = std::array::from_fn(|i| camera.look_at[i] - camera.position[i]);
    let length = view.iter().map(|v| v * v).sum::<f64>().sqrt();
    if length < 1e-9 {
        return Err("camera.look_at must differ from camera.position".into());
    }
    let up_length = camera.up.iter().map(|v| v * v).sum::<f64>().sqrt();
    let cosine =
        view.iter().zip(&camera.up).map(|(a, b)| a * b).sum::<f64>() / (length * up_length);
    if cosine.abs() > 0.999_999 {
        return Err("camera.up must not be parallel to the view direction".into());
    }
    Ok(())
}

fn validate_material(field: &str, material: &MaterialSpec) -> Result<(), String> {
    match material {
        MaterialSpec::Diffuse { albedo } => {
            check_colour(&format!("{field}.albedo"), albedo, Some(1.0))
        }
        MaterialSpec::Emissive { color, strength } => {
            check_colour(&format!("{field}.color"), color, None)?;
            check_number(&format!("{field}.strength"), *strength)?;
            if *strength < 0.0 {
                return Err(format!("{field}.strength must be ≥ 0"));
            }
            Ok(())
        }
        MaterialSpec::Metal { albedo, roughness } => {
            check_colour(&format!("{field}.albedo"), albedo, Some(1.0))?;
            check_number(&format!("{field}.roughness"), *roughness)?;
            if !(0.0..=1.0).contains(roughness) {
                return Err(format!("{field}.roughness must be in 0..=1"));
            }
            Ok(())
        }
        MaterialSpec::Glass { ior, tint } => {
            check_number(&format!("{field}.ior"), *ior)?;
            if !(1.0..=4.0).contains(ior) {
                return Err(format!("{field}.ior must be in 1..=4"));
            }
            check_colour(&format!("{field}.tint"), tint, Some(1.0))
        }
    }
}

fn validate_keyframes(field: &str, keyframes: &[Keyframe]) -> Result<(), String> {
    if keyframes.len() > MAX_KEYFRAMES {
        return Err(format!("{field}.keyframes: at most {MAX_KEYFRAMES}"));
    }
    for (i, key) in keyframes.iter().enumerate() {
        check_vector(&format!("{field}.keyframes[{i}].translate"), &key.translate)?;
        if i > 0 && key.frame <= keyframes[i - 1].frame {
            return Err(format!(
                "{field}.keyframes[{i}].frame must be greater than the previous keyframe's"
            ));
        }
    }
    Ok(())
}

fn validate_object(field: &str, object: &ObjectSpec) -> Result<(), String> {
    validate_keyframes(field, object.keyframes())?;
    match object {
        ObjectSpec::Sphere { center, radius, .. } => {
            check_vector(&format!("{field}.center"), center)?;
            check_number(&format!("{field}.radius"), *radius)?;
            if *radius <= 0.0 {
                return Err(format!("{field}.radius must be > 0"));
            }
        }
        ObjectSpec::Plane { point, normal, .. } => {
            check_vector(&format!("{field}.point"), point)?;
            check_non_zero(&format!("{field}.normal"), normal)?;
        }
        ObjectSpec::Cuboid { min, max, .. } => {
            check_vector(&format!("{field}.min"), min)?;
            check_vector(&format!("{field}.max"), max)?;
            if (0..3).any(|i| min[i] >= max[i]) {
                return Err(format!("{field}.max must exceed {field}.min on every axis"));
            }
        }
        ObjectSpec::Mesh {
            vertices, indices, ..
        } => {
            if indices.is_empty() {
                return Err(format!("{field}.indices must list at least one triangle"));
            }
            if vertices.len() > MAX_VERTICES {
                return Err(format!("{field}.vertices: at most {MAX_VERTICES}"));
            }
            if indices.len() > MAX_TRIANGLES {
                return Err(format!(
                    "{field}.indices: at most {MAX_TRIANGLES} triangles"
                ));
            }
            for (i, vertex) in vertices.iter().enumerate() {
                check_vector(&format!("{field}.vertices[{i}]"), vertex)?;
            }
            for (i, triangle) in indices.iter().enumerate() {
                if let Some(bad) = triangle.iter().find(|&&v| v as usize >= vertices.len()) {
                    return Err(format!(
                        "{field}.indices[{i}] refers to vertex {bad}, but there are only {}",
                        vertices.len()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The path used in errors about scenes that did not come from a file.
pub(crate) fn in_memory_path() -> PathBuf {
    PathBuf::from("<in-memory scene>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_toml_parses_back_to_the_demo_scene() {
        let parsed = BuiltinScene::from_toml(demo_scene_toml()).expect("demo parses");
        assert_eq!(parsed, BuiltinScene::demo());
        BuiltinScene::demo().validate().expect("demo is valid");
    }

    #[test]
    fn json_round_trip() {
        let json = serde_json::to_string(&BuiltinScene::demo()).expect("json");
        assert_eq!(
            BuiltinScene::from_json(&json).expect("parse"),
            BuiltinScene::demo()
        );
    }

    #[test]
    fn keyframes_interpolate_and_clamp() {
        let demo = BuiltinScene::demo();
        let ball = demo.objects.last().expect("ball");
        assert_eq!(ball.translation_at(0), [0.0, 0.0, 0.0]);
        assert_eq!(ball.translation_at(1), [0.0, 0.0, 0.0]);
        assert_eq!(ball.translation_at(24), [0.2, 0.9, 0.0]);
        assert_eq!(ball.translation_at(1000), [0.2, 0.9, 0.0]);
        let middle = ball.translation_at(12);
        assert!((middle[1] - 0.9 * 11.0 / 23.0).abs() < 1e-12);
    }

    fn reason(text: &str) -> String {
        BuiltinScene::from_toml(text).expect_err("invalid scene")
    }

    const CAMERA: &str = "[camera]\nposition = [0, 0, 5]\nlook_at = [0, 0, 0]\nfov_degrees = 40\n\
        [materials]\nm = { type = \"diffuse\", albedo = [0.5, 0.5, 0.5] }\n";

    #[test]
    fn errors_name_the_field() {
        let sphere = |radius: &str| {
            format!(
                "{CAMERA}[[objects]]\ntype = \"sphere\"\ncenter = [0, 0, 0]\nradius = {radius}\nmaterial = \"m\"\n"
            )
        };
        assert!(BuiltinScene::from_toml(&sphere("1")).is_ok());
        assert_eq!(reason(&sphere("-1")), "objects[0].radius must be > 0");
        assert!(reason(&sphere("nan")).starts_with("objects[0].radius must be a finite number"));
        assert!(reason(&sphere("inf")).contains("finite"));
        let unknown = format!(
            "{CAMERA}[[objects]]\ntype = \"sphere\"\ncenter = [0, 0, 0]\nradius = 1\nmaterial = \"m\"\ncolour = 3\n"
        );
        assert!(reason(&unknown).contains("colour"), "{}", reason(&unknown));
        let undefined = sphere("1").replace("material = \"m\"\n", "material = \"gold\"\n");
        assert!(reason(&undefined).contains("objects[0].material \"gold\""));
        let mesh = format!(
            "{CAMERA}[[objects]]\ntype = \"mesh\"\nvertices = [[0,0,0],[1,0,0],[0,1,0]]\nindices = [[0,1,3]]\nmaterial = \"m\"\n"
        );
        assert!(reason(&mesh).starts_with("objects[0].indices[0] refers to vertex 3"));
        let bad_albedo = CAMERA.replace("[0.5, 0.5, 0.5]", "[0.5, 1.5, 0.5]");
        assert!(reason(&bad_albedo).starts_with("materials.m.albedo[1]"));
        let bad_fov = CAMERA.replace("fov_degrees = 40", "fov_degrees = 180");
        assert!(reason(&bad_fov).starts_with("camera.fov_degrees"));
        let unsorted = format!(
            "{}keyframes = [{{ frame = 5, translate = [0,0,0] }}, {{ frame = 5, translate = [1,0,0] }}]\n",
            sphere("1")
        );
        assert!(reason(&unsorted).starts_with("objects[0].keyframes[1].frame"));
        let unknown_top = format!("{CAMERA}[render]\nbounces = 3\n");
        assert!(reason(&unknown_top).contains("render"));
    }
}
