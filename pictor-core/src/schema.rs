//! JSON Schemas of the wire types (cargo feature `schema`), for the network's OpenAPI document.
//!
//! Every type of [`crate::api`], and every type those contain, implements
//! [`schemars::JsonSchema`] when the feature is on. Most derive it, so the schema follows the serde
//! attributes (renames, tags, defaults, flattening); the types with a hand-written wire form get a
//! hand-written schema here that matches their JSON exactly:
//!
//! | type | JSON |
//! | --- | --- |
//! | [`Money`] | an integer of micro-credits (`#[serde(transparent)]` `u64`) |
//! | [`AssetId`], [`BlobHash`] | a string of 64 hex digits |
//! | [`FrameSet`] | its text form, `"1-100x2,150"` |
//! | [`VersionConstraint`] | its text form, `"*"`, `">=3.6"`, `"=3.4.1"`, `"3.6"` |
//!
//! The SDK and the language bindings build without the feature (and without schemars).
//!
//! ```
//! use pictor_core::api::JobEventView;
//! use pictor_core::schema::{openapi_generator, schemars};
//! let mut generator = openapi_generator();
//! let reference = generator.subschema_for::<JobEventView>();
//! assert_eq!(reference.get("$ref").and_then(|r| r.as_str()), Some("#/components/schemas/JobEventView"));
//! assert!(generator.definitions().contains_key("Money"));
//! # let _: &schemars::SchemaGenerator = &generator;
//! ```

use crate::asset::BlobHash;
use crate::ids::AssetId;
use crate::job::{FrameSet, VersionConstraint};
use crate::money::Money;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

/// The schemars crate the wire types implement `JsonSchema` of: use this one (rather than a
/// dependency of your own, which could be another version) to generate their schemas.
pub use schemars;

/// Where an OpenAPI document keeps its named schemas; the `$ref`s the generator writes point here.
pub const COMPONENTS_SCHEMAS: &str = "#/components/schemas/";

/// The settings of every wire schema: JSON Schema draft 2020-12 (OpenAPI 3.1's dialect), every
/// named type referenced as `#/components/schemas/{name}`, no `$schema` keyword, and descriptions
/// that read as plain text (see [`plain_description`]).
///
/// The contract is serde's deserializing one (a field with a default is optional): each schema
/// says what the receiving side accepts, which what the sending side writes always satisfies.
/// `.for_serialize()` gives the sending side's exact shape instead (a field is optional only when
/// it may be skipped), as the binding typings use.
pub fn wire_settings() -> schemars::generate::SchemaSettings {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    settings.with_transform(schemars::transform::RecursiveTransform(
        plain_description as fn(&mut Schema),
    ))
}

/// A schema generator for an OpenAPI 3.1 document, with [`wire_settings`].
///
/// Generate each body with [`SchemaGenerator::subschema_for`], then put
/// [`SchemaGenerator::take_definitions`] (with transforms) under `components.schemas`.
pub fn openapi_generator() -> SchemaGenerator {
    wire_settings().into_generator()
}

/// Rewrites a schema's `description` (taken from rustdoc) as plain text: drops code blocks (the
/// doc-tests) and turns intra-doc links into their text, so `[`Money`](crate::Money)` and
/// `[`Money`]` both read `` `Money` ``.
pub fn plain_description(schema: &mut Schema) {
    if let Some(serde_json::Value::String(text)) = schema.get_mut("description") {
        *text = plain_doc(text);
    }
}

/// The text of a rustdoc comment without its code blocks and link targets.
fn plain_doc(doc: &str) -> String {
    let mut prose = String::with_capacity(doc.len());
    let mut in_code = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let mut out = String::with_capacity(prose.len());
    let mut rest = prose.trim_end();
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let label_end = after.find(']');
        match label_end {
            // `[label](target)`: keep the label.
            Some(end) if after[end + 1..].starts_with('(') && after[end + 1..].contains(')') => {
                out.push_str(&after[..end]);
                let target = &after[end + 1..];
                let close = target.find(')').unwrap_or(target.len() - 1);
                rest = &target[close + 1..];
            }
            // `[`item`]`: an intra-doc link; keep the code span.
            Some(end)
                if after[..end].starts_with('`') && after[..end].ends_with('`') && end > 1 =>
            {
                out.push_str(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A 64-digit hex string with its description.
fn hex_hash_schema(description: &str) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^[0-9a-fA-F]{64}$",
        "description": description,
    })
}

impl JsonSchema for Money {
    fn schema_name() -> Cow<'static, str> {
        "Money".into()
    }

    fn schema_id() -> Cow<'static, str> {
        "pictor_core::Money".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "format": "uint64",
            "minimum": 0,
            "description": "An amount of money in micro-credits (1 credit = 1 000 000 µcr): a JSON integer, never a float.",
        })
    }
}

impl JsonSchema for AssetId {
    fn schema_name() -> Cow<'static, str> {
        "AssetId".into()
    }

    fn schema_id() -> Cow<'static, str> {
        "pictor_core::AssetId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        hex_hash_schema(
            "A committed scene: the BLAKE3 hash of its manifest, 64 hex digits (answered lowercase).",
        )
    }
}

impl JsonSchema for BlobHash {
    fn schema_name() -> Cow<'static, str> {
        "BlobHash".into()
    }

    fn schema_id() -> Cow<'static, str> {
        "pictor_core::BlobHash".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        hex_hash_schema(
            "The BLAKE3 hash of a blob's bytes, 64 hex digits (answered lowercase): the blob's address.",
        )
    }
}

impl JsonSchema for FrameSet {
    fn schema_name() -> Cow<'static, str> {
        "FrameSet".into()
    }

    fn schema_id() -> Cow<'static, str> {
        "pictor_core::FrameSet".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": 65536,
            "description": "Frames, written as artists write them: comma-separated parts, each `N`, `A-B` (every frame from A to B) or `A-BxS` (every S-th frame); no frame twice, at most 100 000 frames, numbers up to 1 048 574.",
            "examples": ["1-250", "1-100x2,150,200-210"],
        })
    }
}

impl JsonSchema for VersionConstraint {
    fn schema_name() -> Cow<'static, str> {
        "VersionConstraint".into()
    }

    fn schema_id() -> Cow<'static, str> {
        "pictor_core::VersionConstraint".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Which renderer versions a job accepts: `*` (any), `>=3.6` (this or newer), `=3.4.1` (exactly) or `3.6` (any 3.6.x).",
            "examples": ["*", ">=4.2", "=3.6.5", "4.1"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::JobEvent;

    #[test]
    fn hand_written_schemas_match_the_json() {
        let mut generator = openapi_generator();
        for (reference, name) in [
            (generator.subschema_for::<Money>(), "Money"),
            (generator.subschema_for::<AssetId>(), "AssetId"),
            (generator.subschema_for::<BlobHash>(), "BlobHash"),
            (generator.subschema_for::<FrameSet>(), "FrameSet"),
            (
                generator.subschema_for::<VersionConstraint>(),
                "VersionConstraint",
            ),
        ] {
            assert_eq!(
                reference.get("$ref").and_then(|r| r.as_str()),
                Some(format!("{COMPONENTS_SCHEMAS}{name}").as_str())
            );
        }
        let definitions = generator.take_definitions(true);
        assert_eq!(definitions["Money"]["type"], "integer");
        assert_eq!(
            serde_json::to_value(Money::from_micros(5)).expect("json"),
            5
        );
        for name in ["AssetId", "BlobHash", "FrameSet", "VersionConstraint"] {
            assert_eq!(definitions[name]["type"], "string", "{name}");
        }
    }

    #[test]
    fn every_event_kind_is_a_variant_of_the_schema() {
        let mut generator = openapi_generator();
        generator.subschema_for::<JobEvent>();
        let definitions = generator.take_definitions(true);
        let variants = definitions["JobEvent"]["oneOf"]
            .as_array()
            .expect("JobEvent is one of its variants");
        let kinds: Vec<&str> = variants
            .iter()
            .filter_map(|variant| variant["properties"]["kind"]["const"].as_str())
            .collect();
        assert_eq!(kinds, JobEvent::KINDS);
    }

    #[test]
    fn descriptions_lose_code_blocks_and_link_targets() {
        let doc = "A job, see [`JobSpec`](crate::JobSpec) and [`Money`].\n\n```\nlet x = 1;\n```\nTags `[A-Z]`, [a] b.";
        assert_eq!(
            plain_doc(doc),
            "A job, see `JobSpec` and `Money`.\n\nTags `[A-Z]`, [a] b."
        );
    }
}
