//! A TOML document as plain values, for comparing what two documents mean regardless of how
//! they are written.

use std::collections::BTreeMap;

use toml_edit::{Item, Table, Value};

/// What a TOML value means: tables and inline tables alike, floats by their bits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plain {
    String(String),
    Integer(i64),
    Float(u64),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Plain>),
    Table(BTreeMap<String, Plain>),
}

impl Plain {
    pub(crate) fn of_table(table: &Table) -> Self {
        Self::Table(
            table.iter().filter_map(|(key, item)| Self::of_item(item).map(|plain| (key.to_owned(), plain))).collect(),
        )
    }

    fn of_item(item: &Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Value(value) => Some(Self::of_value(value)),
            Item::Table(table) => Some(Self::of_table(table)),
            Item::ArrayOfTables(tables) => Some(Self::Array(tables.iter().map(Self::of_table).collect())),
        }
    }

    fn of_value(value: &Value) -> Self {
        match value {
            Value::String(text) => Self::String(text.value().clone()),
            Value::Integer(number) => Self::Integer(*number.value()),
            Value::Float(number) => Self::Float(number.value().to_bits()),
            Value::Boolean(flag) => Self::Boolean(*flag.value()),
            Value::Datetime(datetime) => Self::Datetime(datetime.value().to_string()),
            Value::Array(array) => Self::Array(array.iter().map(Self::of_value).collect()),
            Value::InlineTable(table) => {
                Self::Table(table.iter().map(|(key, value)| (key.to_owned(), Self::of_value(value))).collect())
            }
        }
    }

    /// The document without `runtime.dlthub_telemetry`, and without `runtime` when nothing else
    /// is left in it: what a switch must keep.
    pub(crate) fn without_telemetry_switch(mut self) -> Self {
        if let Self::Table(root) = &mut self
            && let Some(Self::Table(runtime)) = root.get_mut("runtime")
        {
            runtime.remove("dlthub_telemetry");
            if runtime.is_empty() {
                root.remove("runtime");
            }
        }
        self
    }

    /// Every key and every string anywhere in the document, each with the path of keys that
    /// leads to it (a key's path ends with the key itself).
    pub(crate) fn texts(&self, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        match self {
            Self::String(text) | Self::Datetime(text) => out.push((path.clone(), text.clone())),
            Self::Array(items) => items.iter().for_each(|item| item.texts(path, out)),
            Self::Table(table) => {
                for (key, value) in table {
                    path.push(key.clone());
                    out.push((path.clone(), key.clone()));
                    value.texts(path, out);
                    path.pop();
                }
            }
            Self::Integer(_) | Self::Float(_) | Self::Boolean(_) => {}
        }
    }
}
