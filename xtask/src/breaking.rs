//! Breaking-change detection between two versions of a JSON Schema document.
//!
//! Breaking is anything a consumer of the old data or a producer of old messages would trip
//! over: a field removed (or renamed), a type narrowed, a newly required field, a constant or
//! an enum value changed. Adding an optional field is not breaking.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// Every breaking change from `old` to `new`, one sentence each naming where it is.
pub(crate) fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut changes = Vec::new();
    compare(old, new, "", &mut changes);
    let (Some(old_defs), Some(new_defs)) = (defs(old), defs(new)) else {
        return changes;
    };
    for (name, old_def) in old_defs {
        let path = format!("$defs/{name}");
        match new_defs.get(name) {
            Some(new_def) => compare(old_def, new_def, &path, &mut changes),
            None => changes.push(format!("{path}: definition removed")),
        }
    }
    changes
}

fn defs(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("$defs").and_then(Value::as_object)
}

/// Compares one schema node with its new version, then its fields and items.
fn compare(old: &Value, new: &Value, path: &str, changes: &mut Vec<String>) {
    let at = if path.is_empty() { "(root)" } else { path };
    let (old_types, new_types) = (accepted_types(old), accepted_types(new));
    if let Some(new_types) = &new_types {
        let narrowed = match &old_types {
            None => true,
            Some(old_types) => old_types.iter().any(|t| !accepts(new_types, t)),
        };
        if narrowed {
            changes.push(format!(
                "{at}: type narrowed from {} to {}",
                describe(&old_types),
                describe(&Some(new_types.clone()))
            ));
        }
    }
    if let Some(new_const) = new.get("const")
        && old.get("const") != Some(new_const)
    {
        changes.push(format!("{at}: now the constant {new_const}"));
    }
    if let (Some(old_enum), Some(new_enum)) = (enum_values(old), enum_values(new)) {
        for value in old_enum.iter().filter(|value| !new_enum.contains(value)) {
            changes.push(format!("{at}: enum value {value} removed"));
        }
    }
    if new.get("additionalProperties") == Some(&Value::Bool(false))
        && old.get("additionalProperties") != Some(&Value::Bool(false))
    {
        changes.push(format!("{at}: unknown fields are now rejected"));
    }
    let old_required = required(old);
    for field in required(new).difference(&old_required) {
        changes.push(format!("{at}: field `{field}` is newly required"));
    }
    let empty = Map::new();
    let new_fields = new.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    for (field, old_field) in old.get("properties").and_then(Value::as_object).unwrap_or(&empty) {
        let field_path = format!("{path}/{field}");
        match new_fields.get(field) {
            Some(new_field) => compare(old_field, new_field, &field_path, changes),
            None => changes.push(format!("{field_path}: field removed")),
        }
    }
    if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
        compare(old_items, new_items, &format!("{path}[]"), changes);
    }
}

/// The JSON types (or referenced definitions, as `$ref:<target>`) a node accepts; `None` when
/// it does not constrain the type.
fn accepted_types(node: &Value) -> Option<BTreeSet<String>> {
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        return Some(BTreeSet::from([format!("$ref:{reference}")]));
    }
    if let Some(variants) = node.get("anyOf").or_else(|| node.get("oneOf")).and_then(Value::as_array) {
        let mut union = BTreeSet::new();
        for variant in variants {
            union.extend(accepted_types(variant)?);
        }
        return Some(union);
    }
    match node.get("type")? {
        Value::String(name) => Some(BTreeSet::from([name.clone()])),
        Value::Array(names) => Some(names.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
        _ => None,
    }
}

/// Whether a set of accepted types still accepts `old_type`; `number` covers `integer`.
fn accepts(types: &BTreeSet<String>, old_type: &str) -> bool {
    types.contains(old_type) || (old_type == "integer" && types.contains("number"))
}

fn describe(types: &Option<BTreeSet<String>>) -> String {
    match types {
        None => "any".into(),
        Some(types) => types.iter().cloned().collect::<Vec<_>>().join("|"),
    }
}

fn enum_values(node: &Value) -> Option<&Vec<Value>> {
    node.get("enum").and_then(Value::as_array)
}

fn required(node: &Value) -> BTreeSet<&str> {
    node.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::breaking_changes;

    fn schema(properties: serde_json::Value, required: &[&str]) -> serde_json::Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    #[test]
    fn adding_an_optional_field_is_not_breaking() {
        let old = schema(json!({"a": {"type": "string"}}), &["a"]);
        let new = schema(json!({"a": {"type": "string"}, "b": {"type": ["string", "null"]}}), &["a"]);
        assert_eq!(breaking_changes(&old, &new), Vec::<String>::new());
    }

    #[test]
    fn widening_a_type_is_not_breaking() {
        let old = schema(json!({"a": {"type": "integer"}, "b": {"type": "string"}}), &[]);
        let new = schema(json!({"a": {"type": "number"}, "b": {"type": ["string", "null"]}}), &[]);
        assert_eq!(breaking_changes(&old, &new), Vec::<String>::new());
    }

    #[test]
    fn removing_or_renaming_a_field_is_breaking() {
        let old = schema(json!({"elapsed": {"type": "number"}}), &[]);
        let new = schema(json!({"duration": {"type": "number"}}), &[]);
        assert_eq!(breaking_changes(&old, &new), ["/elapsed: field removed"]);
    }

    #[test]
    fn narrowing_a_type_is_breaking() {
        let old = schema(json!({"hash": {"type": ["string", "null"]}, "n": {"type": "number"}}), &[]);
        let new = schema(json!({"hash": {"type": "string"}, "n": {"type": "integer"}}), &[]);
        assert_eq!(
            breaking_changes(&old, &new),
            ["/hash: type narrowed from null|string to string", "/n: type narrowed from number to integer"]
        );
    }

    #[test]
    fn a_newly_required_field_is_breaking() {
        let old = schema(json!({"a": {"type": "string"}}), &[]);
        let new = schema(json!({"a": {"type": "string"}}), &["a"]);
        assert_eq!(breaking_changes(&old, &new), ["(root): field `a` is newly required"]);
    }

    #[test]
    fn changes_inside_definitions_and_nullable_references_are_found() {
        let old = json!({
            "properties": {"context": {"anyOf": [{"$ref": "#/$defs/Context"}, {"type": "null"}]}},
            "$defs": {"Context": schema(json!({"cpu": {"type": "integer"}}), &[]), "Gone": {"type": "string"}},
        });
        let new = json!({
            "properties": {"context": {"$ref": "#/$defs/Context"}},
            "$defs": {"Context": schema(json!({}), &[])},
        });
        assert_eq!(
            breaking_changes(&old, &new),
            [
                "/context: type narrowed from $ref:#/$defs/Context|null to $ref:#/$defs/Context",
                "$defs/Context/cpu: field removed",
                "$defs/Gone: definition removed",
            ]
        );
    }

    #[test]
    fn enum_values_and_constants_may_not_change() {
        let old = schema(json!({"c": {"enum": ["command", "mcp"]}, "n": {"const": "load"}}), &[]);
        let new = schema(json!({"c": {"enum": ["command"]}, "n": {"const": "loaded"}}), &[]);
        assert_eq!(breaking_changes(&old, &new), ["/c: enum value \"mcp\" removed", "/n: now the constant \"loaded\""]);
    }
}
