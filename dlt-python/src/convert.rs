//! Python values to JSON, as Python's `json.dumps` would write them for the types dlt sends;
//! anything else becomes `null`, so an object's text (a path, a secret in its `repr`) never
//! leaves.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// How deep nested lists and dicts are followed; deeper values (and cycles) become `null`.
const MAX_DEPTH: usize = 16;

/// The properties of an event: a dict's entries with text keys (others are left out); `None`
/// or anything that is not a dict gives no properties.
pub(crate) fn properties(value: Option<&Bound<'_, PyAny>>) -> Map<String, Value> {
    match value.and_then(|value| value.cast::<PyDict>().ok()) {
        Some(dict) => object(dict, 0),
        None => Map::new(),
    }
}

fn object(dict: &Bound<'_, PyDict>, depth: usize) -> Map<String, Value> {
    dict.iter()
        .filter_map(|(key, value)| {
            let key = key.cast::<PyString>().ok()?.to_cow().ok()?.into_owned();
            Some((key, json(&value, depth + 1)))
        })
        .collect()
}

fn json(value: &Bound<'_, PyAny>, depth: usize) -> Value {
    if depth > MAX_DEPTH || value.is_none() {
        return Value::Null;
    }
    // `bool` is a subclass of `int`: it is checked first.
    if let Ok(flag) = value.cast::<PyBool>() {
        return Value::Bool(flag.is_true());
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(integer) = value.extract::<i64>() {
            return Value::from(integer);
        }
        if let Ok(integer) = value.extract::<u64>() {
            return Value::from(integer);
        }
        return value.extract::<f64>().ok().and_then(Number::from_f64).map_or(Value::Null, Value::Number);
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        return Number::from_f64(float.value()).map_or(Value::Null, Value::Number);
    }
    if let Ok(text) = value.cast::<PyString>() {
        return text.to_cow().map_or(Value::Null, |text| Value::String(text.into_owned()));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return Value::Array(list.iter().map(|item| json(&item, depth + 1)).collect());
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        return Value::Array(tuple.iter().map(|item| json(&item, depth + 1)).collect());
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        return Value::Object(object(dict, depth));
    }
    Value::Null
}
