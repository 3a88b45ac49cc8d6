//! The job-event typings of the language bindings are generated from the one event vocabulary,
//! `pictor_core::api::JobEvent`, through its JSON Schema (schemars, serializing contract: the shape
//! the network sends):
//!
//! - `bindings/node/index.d.ts`: `JobEventKind`, `JobEventData` (each kind's `data`) and `JobEvent`,
//!   a union discriminated by `kind`;
//! - `bindings/python/python/pictor/events.py`: `JobEventKind` (a `Literal`), a `TypedDict` per kind
//!   and `JobEventData`, their union (`_pictor.pyi` types `JobEvent.kind` and `JobEvent.data` with
//!   them).
//!
//! Each file holds the generated text between a `BEGIN GENERATED JobEvent` and an
//! `END GENERATED JobEvent` marker line; this test fails when the text drifts, and rewrites it when
//! run with `PICTOR_UPDATE_TYPINGS=1`.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::api::JobEvent;
use pictor_core::schema::{COMPONENTS_SCHEMAS, wire_settings};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::PathBuf;

const BEGIN: &str = "BEGIN GENERATED JobEvent";
const END: &str = "END GENERATED JobEvent";
const HOW: &str = "(cargo test -p pictor-network --test wire_typings)";

/// A field's type, as far as the event vocabulary needs.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Integer,
    /// An amount of money: an integer of micro-credits.
    Money,
    Number,
    String,
    Bool,
    Null,
    /// One of these strings.
    Literal(Vec<String>),
    Array(Box<Ty>),
    Union(Vec<Ty>),
    /// An object; `name` when it is a named wire type (`TaskOutput`).
    Object {
        name: Option<String>,
        description: String,
        fields: Vec<Field>,
    },
}

#[derive(Clone, Debug, PartialEq)]
struct Field {
    name: String,
    description: String,
    required: bool,
    ty: Ty,
}

/// One kind of event: its wire name, what it means, and its `data`'s fields.
#[derive(Debug)]
struct Kind {
    kind: String,
    description: String,
    fields: Vec<Field>,
}

fn description(schema: &Value) -> String {
    schema["description"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn parse(schema: &Value, definitions: &Map<String, Value>) -> Ty {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix(COMPONENTS_SCHEMAS)
            .unwrap_or_else(|| panic!("a $ref outside the components: {reference}"));
        if name == "Money" {
            return Ty::Money;
        }
        let definition = &definitions[name];
        return match parse(definition, definitions) {
            Ty::Object { fields, .. } => Ty::Object {
                name: Some(name.to_string()),
                description: description(definition),
                fields,
            },
            other => other,
        };
    }
    if let Some(any) = schema["anyOf"].as_array() {
        return Ty::Union(any.iter().map(|s| parse(s, definitions)).collect());
    }
    if let Some(one) = schema["oneOf"].as_array() {
        let names: Option<Vec<String>> = one
            .iter()
            .map(|s| s["const"].as_str().map(str::to_string))
            .collect();
        return Ty::Literal(names.unwrap_or_else(|| panic!("unsupported oneOf: {schema}")));
    }
    if let Some(name) = schema["const"].as_str() {
        return Ty::Literal(vec![name.to_string()]);
    }
    match &schema["type"] {
        Value::String(ty) => match ty.as_str() {
            "integer" => Ty::Integer,
            "number" => Ty::Number,
            "string" => Ty::String,
            "boolean" => Ty::Bool,
            "null" => Ty::Null,
            "array" => Ty::Array(Box::new(parse(&schema["items"], definitions))),
            "object" => Ty::Object {
                name: None,
                description: description(schema),
                fields: fields(schema, definitions),
            },
            other => panic!("unsupported type {other}: {schema}"),
        },
        Value::Array(types) => Ty::Union(
            types
                .iter()
                .map(|ty| {
                    let mut single = schema.clone();
                    single["type"] = ty.clone();
                    parse(&single, definitions)
                })
                .collect(),
        ),
        _ => panic!("unsupported schema: {schema}"),
    }
}

/// The properties of an object schema: the required ones in the order of the Rust fields, then
/// the optional ones by name.
fn fields(schema: &Value, definitions: &Map<String, Value>) -> Vec<Field> {
    let empty = Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&str> = required.clone();
    names.extend(
        properties
            .keys()
            .map(String::as_str)
            .filter(|name| !required.contains(name)),
    );
    names
        .into_iter()
        .map(|name| {
            let property = &properties[name];
            let required = required.contains(&name);
            let mut ty = parse(property, definitions);
            // With the serializing contract a field is optional only when serde may skip it
            // (`skip_serializing_if = "Option::is_none"`): then it is absent, never null.
            if !required && let Ty::Union(types) = &ty {
                let not_null: Vec<Ty> = types.iter().filter(|t| **t != Ty::Null).cloned().collect();
                ty = match not_null.as_slice() {
                    [single] => single.clone(),
                    _ => Ty::Union(not_null),
                };
            }
            Field {
                name: name.to_string(),
                description: description(property),
                required,
                ty,
            }
        })
        .collect()
}

/// Every kind of event, from the schema of `JobEvent`, in the enum's order.
fn kinds() -> Vec<Kind> {
    let mut generator = wire_settings().for_serialize().into_generator();
    generator.subschema_for::<JobEvent>();
    let definitions = generator.take_definitions(true);
    let variants = definitions["JobEvent"]["oneOf"]
        .as_array()
        .expect("JobEvent's schema is one of its variants");
    let kinds: Vec<Kind> = variants
        .iter()
        .map(|variant| Kind {
            kind: variant["properties"]["kind"]["const"]
                .as_str()
                .expect("a variant's kind is a constant")
                .to_string(),
            description: description(variant),
            fields: fields(&variant["properties"]["data"], &definitions),
        })
        .collect();
    let names: Vec<&str> = kinds.iter().map(|k| k.kind.as_str()).collect();
    assert_eq!(
        names,
        JobEvent::KINDS,
        "the schema lists every kind, in order"
    );
    kinds
}

fn is_money(ty: &Ty) -> bool {
    match ty {
        Ty::Money => true,
        Ty::Union(types) => types.iter().any(is_money),
        _ => false,
    }
}

/// A field's description, with the unit of an amount of money.
fn field_doc(field: &Field) -> String {
    if is_money(&field.ty) {
        format!("{} In micro-credits.", field.description)
    } else {
        field.description.clone()
    }
}

// --- TypeScript ---------------------------------------------------------------------------------

fn ts_doc(out: &mut String, indent: &str, doc: &str) {
    let lines: Vec<&str> = doc.lines().collect();
    match lines.as_slice() {
        [] => {}
        [line] => {
            let _ = writeln!(out, "{indent}/** {line} */");
        }
        lines => {
            let _ = writeln!(out, "{indent}/**");
            for line in lines {
                let _ = writeln!(out, "{}", format!("{indent} * {line}").trim_end());
            }
            let _ = writeln!(out, "{indent} */");
        }
    }
}

fn ts_type(ty: &Ty, indent: &str) -> String {
    match ty {
        Ty::Integer | Ty::Money | Ty::Number => "number".into(),
        Ty::String => "string".into(),
        Ty::Bool => "boolean".into(),
        Ty::Null => "null".into(),
        Ty::Literal(names) => names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(" | "),
        Ty::Array(item) => match item.as_ref() {
            Ty::Object { .. } | Ty::Union(_) | Ty::Literal(_) => {
                format!("Array<{}>", ts_type(item, indent))
            }
            item => format!("{}[]", ts_type(item, indent)),
        },
        Ty::Union(types) => types
            .iter()
            .map(|t| ts_type(t, indent))
            .collect::<Vec<_>>()
            .join(" | "),
        Ty::Object { fields, .. } => ts_object(fields, indent),
    }
}

fn ts_object(fields: &[Field], indent: &str) -> String {
    if fields.is_empty() {
        return "Record<string, never>".into();
    }
    let inner = format!("{indent}  ");
    let mut out = String::from("{\n");
    for field in fields {
        ts_doc(&mut out, &inner, &field_doc(field));
        let optional = if field.required { "" } else { "?" };
        let _ = writeln!(
            out,
            "{inner}{}{optional}: {}",
            field.name,
            ts_type(&field.ty, &inner)
        );
    }
    out.push_str(indent);
    out.push('}');
    out
}

fn typescript(kinds: &[Kind]) -> String {
    let mut out = String::new();
    out.push_str("/** What a job event can say: `pictor_core::api::JobEvent::KINDS`. */\n");
    out.push_str("export type JobEventKind =\n");
    for kind in kinds {
        let _ = writeln!(out, "  | '{}'", kind.kind);
    }
    out.push('\n');
    out.push_str(
        "/**
 * The `data` of each kind of job event, as the network sends it (snake_case keys, passed through
 * as JSON). Ids, counts and times are numbers, and so are amounts of money inside `data`: integers
 * of micro-credits (1 credit = 1 000 000), not the `Money` objects of the rest of this API. (A
 * value past `Number.MAX_SAFE_INTEGER`, which no real id, count or amount reaches, would arrive as
 * a `bigint`.)
 */
export interface JobEventData {
",
    );
    for kind in kinds {
        ts_doc(&mut out, "  ", &kind.description);
        let _ = writeln!(out, "  {}: {}", kind.kind, ts_object(&kind.fields, "  "));
    }
    out.push_str("}\n\n");
    out.push_str(
        "/**
 * One event of a job: a union discriminated by `kind`, so checking `event.kind` types
 * `event.data` (`if (event.kind === 'task_accepted') event.data.frames`). The stream ends after
 * `completed`, `failed` or `cancelled`.
 */
export type JobEvent = {
  [K in JobEventKind]: {
    /** Sequence number within the job, from 1. */
    seq: number
    /** What happened. */
    kind: K
    /** Unix time, ms. */
    atMs: number
    /** The event's details: see {@link JobEventData}. */
    data: JobEventData[K]
  }
}[JobEventKind]
",
    );
    out
}

// --- Python -------------------------------------------------------------------------------------

/// A named `TypedDict` to write: its name, docstring and fields.
type PyClass = (String, String, Vec<Field>);

fn camel(kind: &str) -> String {
    kind.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn py_docstring(out: &mut String, indent: &str, doc: &str) {
    if doc.is_empty() {
        return;
    }
    let body = doc.lines().collect::<Vec<_>>().join(&format!("\n{indent}"));
    let _ = writeln!(out, "{indent}\"\"\"{body}\"\"\"");
}

/// The Python type of `ty`; named objects become `TypedDict` classes appended to `classes`.
fn py_type(ty: &Ty, classes: &mut Vec<PyClass>) -> String {
    match ty {
        Ty::Integer | Ty::Money => "int".into(),
        Ty::Number => "float".into(),
        Ty::String => "str".into(),
        Ty::Bool => "bool".into(),
        Ty::Null => "None".into(),
        Ty::Literal(names) => format!(
            "Literal[{}]",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ty::Array(item) => format!("list[{}]", py_type(item, classes)),
        Ty::Union(types) => types
            .iter()
            .map(|t| py_type(t, classes))
            .collect::<Vec<_>>()
            .join(" | "),
        Ty::Object {
            name,
            description,
            fields,
        } => {
            let name = format!(
                "{}Data",
                name.as_deref()
                    .expect("nested objects are named wire types")
            );
            if !classes.iter().any(|(n, _, _)| *n == name) {
                classes.push((name.clone(), description.clone(), fields.clone()));
            }
            name
        }
    }
}

fn py_fields(out: &mut String, fields: &[&Field], classes: &mut Vec<PyClass>) {
    for field in fields {
        let _ = writeln!(out, "    {}: {}", field.name, py_type(&field.ty, classes));
        py_docstring(out, "    ", &field_doc(field));
    }
}

/// A `TypedDict` class; optional fields go to a `total=False` subclass (`NotRequired` needs 3.11).
fn py_class(out: &mut String, name: &str, doc: &str, fields: &[Field], classes: &mut Vec<PyClass>) {
    let required: Vec<&Field> = fields.iter().filter(|f| f.required).collect();
    let optional: Vec<&Field> = fields.iter().filter(|f| !f.required).collect();
    if optional.is_empty() {
        let _ = writeln!(out, "\n\nclass {name}(TypedDict):");
        py_docstring(out, "    ", doc);
        py_fields(out, &required, classes);
    } else {
        let base = format!("_{name}Required");
        let _ = writeln!(out, "\n\nclass {base}(TypedDict):");
        let _ = writeln!(out, "    \"\"\"The fields of ``{name}`` always sent.\"\"\"");
        py_fields(out, &required, classes);
        let _ = writeln!(out, "\n\nclass {name}({base}, total=False):");
        py_docstring(out, "    ", doc);
        py_fields(out, &optional, classes);
    }
}

fn python(kinds: &[Kind]) -> String {
    let mut out = String::new();
    out.push_str("JobEventKind: TypeAlias = Literal[\n");
    for kind in kinds {
        let _ = writeln!(out, "    \"{}\",", kind.kind);
    }
    out.push_str("]\n");
    out.push_str(
        "\"\"\"What a job event can say (``pictor_core::api::JobEvent::KINDS``): ``JobEvent.kind``.\"\"\"\n",
    );
    let mut body = String::new();
    let mut classes: Vec<PyClass> = Vec::new();
    let mut names = Vec::new();
    for kind in kinds {
        let name = format!("{}Data", camel(&kind.kind));
        let doc = format!(
            "The ``data`` of a ``{}`` event. {}",
            kind.kind, kind.description
        );
        py_class(&mut body, &name, &doc, &kind.fields, &mut classes);
        names.push(name);
    }
    // The named types the kinds contain go first (each may name more, appended as it is written).
    let mut nested = String::new();
    let mut done = 0;
    while done < classes.len() {
        let (name, doc, fields) = classes[done].clone();
        py_class(&mut nested, &name, &doc, &fields, &mut classes);
        done += 1;
    }
    out.push_str(&nested);
    out.push_str(&body);
    out.push_str("\n\nJobEventData: TypeAlias = (\n");
    for (i, name) in names.iter().enumerate() {
        let bar = if i == 0 { "" } else { "| " };
        let _ = writeln!(out, "    {bar}{name}");
    }
    out.push_str(")\n");
    out.push_str(
        "\"\"\"The ``data`` of any job event (``JobEvent.data``): check ``JobEvent.kind``, then narrow
with ``typing.cast`` to that kind's class, e.g. ``cast(TaskAcceptedData, event.data)``.\"\"\"\n",
    );
    out
}

// --- The files ----------------------------------------------------------------------------------

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Checks (or, with `PICTOR_UPDATE_TYPINGS=1`, rewrites) the text between the marker lines of a
/// file; `comment` is the file's line-comment prefix.
fn check_block(relative: &str, comment: &str, generated: &str) {
    let path = repo_path(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let begin_line = format!("{comment} {BEGIN} {HOW}\n");
    let end_line = format!("{comment} {END}\n");
    let start = text
        .find(&begin_line)
        .unwrap_or_else(|| panic!("{relative} has no line `{}`", begin_line.trim_end()))
        + begin_line.len();
    let end = start
        + text[start..]
            .find(&end_line)
            .unwrap_or_else(|| panic!("{relative} has no line `{}`", end_line.trim_end()));
    let committed = &text[start..end];
    if committed == generated {
        return;
    }
    if std::env::var_os("PICTOR_UPDATE_TYPINGS").is_some() {
        let updated = format!("{}{generated}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).unwrap_or_else(|e| panic!("{relative}: {e}"));
        return;
    }
    let line = committed
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
    panic!(
        "{relative}: the generated JobEvent typings drifted from pictor_core::api::JobEvent, first at line {}:\n  committed: {:?}\n  generated: {:?}\nrun `PICTOR_UPDATE_TYPINGS=1 cargo test -p pictor-network --test wire_typings`, review the diff and commit it",
        text[..start].lines().count() + line + 1,
        committed.lines().nth(line).unwrap_or("<end of the block>"),
        generated.lines().nth(line).unwrap_or("<end of the block>"),
    );
}

#[test]
fn the_node_typings_match_the_event_vocabulary() {
    check_block("bindings/node/index.d.ts", "//", &typescript(&kinds()));
}

#[test]
fn the_python_typings_match_the_event_vocabulary() {
    check_block(
        "bindings/python/python/pictor/events.py",
        "#",
        &python(&kinds()),
    );
}

#[test]
fn every_kind_and_field_is_typed() {
    let kinds = kinds();
    let field = |kind: &str, name: &str| {
        kinds
            .iter()
            .find(|k| k.kind == kind)
            .and_then(|k| k.fields.iter().find(|f| f.name == name))
            .cloned()
            .unwrap_or_else(|| panic!("{kind}.{name}"))
    };
    assert_eq!(field("task_accepted", "cost").ty, Ty::Money);
    let short = field("paused", "short");
    assert!(!short.required && short.ty == Ty::Money, "{short:?}");
    let worker = field("task_expired", "worker");
    assert!(worker.required && worker.ty == Ty::Union(vec![Ty::Integer, Ty::Null]));
    assert!(
        kinds
            .iter()
            .any(|k| k.kind == "cancelled" && k.fields.is_empty())
    );
    let ts = typescript(&kinds);
    assert!(ts.contains("  cancelled: Record<string, never>\n"), "{ts}");
    assert!(ts.contains("    short?: number\n"), "{ts}");
    let py = python(&kinds);
    assert!(
        py.contains("class PausedData(_PausedDataRequired, total=False):"),
        "{py}"
    );
    assert!(py.contains("    outputs: list[TaskOutputData]\n"), "{py}");
}
