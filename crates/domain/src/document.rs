//! A plan file as a JSON document: finding, putting and removing one object
//! by kind and id. The sync log, the adapters and the editors change a
//! calendar this way, then validate the whole document again
//! ([`crate::parse_plan_value`]).

use crate::kind::ObjectKind;
use serde_json::Value;

/// Where the object `id` is in a plan-file list.
pub fn position(list: &[Value], id: &str) -> Option<usize> {
    list.iter()
        .position(|v| v.get("id").and_then(Value::as_str) == Some(id))
}

/// The object `id` of `kind` in a plan document.
pub fn object_in(doc: &Value, kind: ObjectKind, id: &str) -> Option<Value> {
    let list = doc.get(kind.list())?.as_array()?;
    position(list, id).map(|i| list[i].clone())
}

/// Puts `value` in place of the object `id` (or at `at`, else at the end),
/// or removes it.
pub fn put(doc: &mut Value, kind: ObjectKind, id: &str, value: Option<Value>, at: Option<usize>) {
    let Some(list) = doc.get_mut(kind.list()).and_then(Value::as_array_mut) else {
        return;
    };
    match (position(list, id), value) {
        (Some(i), Some(v)) => list[i] = v,
        (None, Some(v)) => match at {
            Some(i) => list.insert(i.min(list.len()), v),
            None => list.push(v),
        },
        (Some(i), None) => {
            list.remove(i);
        }
        (None, None) => {}
    }
}
