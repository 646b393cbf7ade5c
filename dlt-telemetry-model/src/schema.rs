//! JSON Schemas (draft 2020-12) generated from the model's types, as committed under
//! `docs/schemas/`.

use schemars::Schema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::batch::SegmentBatch;
use crate::events::visit_known_events;
use crate::message::{EventCategory, TrackMessage};
use crate::trace::PipelineTrace;

/// Prefix of every schema's `$id`.
const ID_PREFIX: &str = "urn:dlt-telemetry:schema:";

/// One generated schema and the path it is committed at, relative to `docs/schemas/`.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaFile {
    /// e.g. `message.schema.json` or `events/pipeline_load.schema.json`.
    pub path: String,
    /// The schema document.
    pub schema: Value,
}

/// Every schema of the model: the message, the batch, the trace and one per known event.
pub fn schema_files() -> Vec<SchemaFile> {
    let events = event_schemas();
    let message = message_schema(&events);
    let mut files = vec![
        SchemaFile { path: "batch.schema.json".into(), schema: batch_schema(&message).into() },
        SchemaFile { path: "message.schema.json".into(), schema: message.into() },
        SchemaFile { path: "trace.schema.json".into(), schema: trace_schema().into() },
    ];
    files.extend(events.into_iter().map(|(event, schema)| SchemaFile {
        path: format!("events/{event}.schema.json"),
        schema: with_id(schema, &format!("event:{event}")).into(),
    }));
    files
}

/// The generator every schema of the model is made with.
pub(crate) fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().into_generator()
}

/// The properties schema of each known event, with `event_category` and `event_name` pinned.
fn event_schemas() -> Vec<(String, Map<String, Value>)> {
    let mut events = Vec::new();
    visit_known_events(|event, description, schema| {
        let mut schema = into_object(schema);
        schema.insert("description".into(), description.into());
        if let Some((category, name)) = EventCategory::split_event(&event) {
            pin_event_fields(&mut schema, json!({"const": category.as_str()}), json!({"const": name}));
        }
        schema.insert("title".into(), format!("{event} properties").into());
        events.push((event, schema));
    });
    events
}

/// A schema as a JSON object; `true` and `false` become their object forms `{}` and
/// `{"not": {}}`.
fn into_object(schema: Schema) -> Map<String, Value> {
    match schema.to_value() {
        Value::Object(object) => object,
        Value::Bool(false) => Map::from_iter([("not".to_owned(), json!({}))]),
        _ => Map::new(),
    }
}

/// Adds `event_category` and `event_name` to an object schema's properties and requires them.
fn pin_event_fields(schema: &mut Map<String, Value>, category: Value, name: Value) {
    let category_doc = "The event's category: the part of `event` before the first `_`.";
    let name_doc = "The event's name within its category: the part of `event` after the first `_`.";
    edit_object(schema, "properties", |properties| {
        properties.insert("event_category".into(), with_description(category, category_doc));
        properties.insert("event_name".into(), with_description(name, name_doc));
    });
    let required = schema.entry("required").or_insert_with(|| json!([]));
    if let Value::Array(required) = required {
        required.extend([json!("event_category"), json!("event_name")]);
    }
}

fn with_description(mut schema: Value, description: &str) -> Value {
    if let Value::Object(object) = &mut schema {
        object.insert("description".into(), description.into());
    }
    schema
}

/// Edits the object under `key` in place, creating it (last) when missing or not an object.
fn edit_object(object: &mut Map<String, Value>, key: &str, edit: impl FnOnce(&mut Map<String, Value>)) {
    if let Some(Value::Object(inner)) = object.get_mut(key) {
        edit(inner);
        return;
    }
    let mut inner = Map::new();
    edit(&mut inner);
    object.insert(key.into(), inner.into());
}

/// The message schema: any event of the four categories, and the typed properties of each
/// known event, chosen by the value of `event`.
fn message_schema(events: &[(String, Map<String, Value>)]) -> Map<String, Value> {
    let mut message = into_object(generator().root_schema_for::<TrackMessage>());
    let categories: Vec<&str> = EventCategory::ALL.iter().map(|c| c.as_str()).collect();
    let mut properties = Map::from_iter([
        ("type".to_owned(), json!("object")),
        (
            "description".to_owned(),
            json!("What happened: the event's own fields, then `event_category` and `event_name`."),
        ),
    ]);
    pin_event_fields(&mut properties, json!({"enum": categories}), json!({"type": "string", "minLength": 1}));
    edit_object(&mut message, "properties", |fields| {
        fields.insert("properties".into(), properties.into());
    });
    let mut conditions = Vec::new();
    for (event, schema) in events {
        let mut schema = schema.clone();
        hoist_defs(&mut schema, &mut message);
        edit_object(&mut message, "$defs", |defs| {
            defs.insert(event.clone(), schema.into());
        });
        conditions.push(json!({
            "if": {"properties": {"event": {"const": event}}, "required": ["event"]},
            "then": {"properties": {"properties": {"$ref": format!("#/$defs/{event}")}}},
        }));
    }
    message.insert("allOf".into(), conditions.into());
    with_id(message, "message")
}

/// The batch schema: its messages are checked against the whole message schema.
fn batch_schema(message: &Map<String, Value>) -> Map<String, Value> {
    let mut batch = into_object(generator().root_schema_for::<SegmentBatch>());
    let mut message = message.clone();
    hoist_defs(&mut message, &mut batch);
    message.shift_remove("$id");
    edit_object(&mut batch, "$defs", |defs| {
        defs.insert("TrackMessage".into(), message.into());
    });
    with_id(batch, "batch")
}

fn trace_schema() -> Map<String, Value> {
    with_id(into_object(generator().root_schema_for::<PipelineTrace>()), "trace")
}

/// Moves `schema`'s `$defs` (and drops its `$schema`) into `root`'s `$defs`, so that `schema`
/// can live inside `root` with its `#/$defs/...` references still pointing at the right place.
fn hoist_defs(schema: &mut Map<String, Value>, root: &mut Map<String, Value>) {
    schema.shift_remove("$schema");
    if let Some(Value::Object(nested)) = schema.shift_remove("$defs") {
        edit_object(root, "$defs", |defs| defs.extend(nested));
    }
}

/// Keys of a schema object in the order they read best; others follow in their own order.
const KEY_ORDER: [&str; 10] = [
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "allOf",
    "$defs",
];

/// Gives a document its `$schema` and `$id`, orders its top-level keys for reading, and joins
/// the lines of doc-comment descriptions.
fn with_id(mut schema: Map<String, Value>, name: &str) -> Map<String, Value> {
    schema.insert("$schema".into(), "https://json-schema.org/draft/2020-12/schema".into());
    schema.insert("$id".into(), format!("{ID_PREFIX}{name}").into());
    let mut ordered = Map::new();
    for key in KEY_ORDER {
        if let Some(value) = schema.shift_remove(key) {
            ordered.insert(key.into(), value);
        }
    }
    ordered.extend(schema);
    join_description_lines(&mut ordered);
    ordered
}

/// Doc comments wrap at 100 columns; a description reads better as one paragraph.
fn join_description_lines(object: &mut Map<String, Value>) {
    for (key, value) in object.iter_mut() {
        match value {
            Value::String(text) if key == "description" => *text = text.replace('\n', " "),
            Value::Object(inner) => join_description_lines(inner),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        join_description_lines(inner);
                    }
                }
            }
            _ => {}
        }
    }
}
