//! A plan's text read without an intermediate `serde_json::Value`: the top
//! level as raw (key, text) pairs, each element typed from its own text, and
//! serde's wording turned into a field and a message.

use crate::wire::*;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;

/// The top level of a plan as (key, raw text) pairs, in order, keys repeated as given.
pub(super) struct RawTop<'a>(pub(super) Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawTop<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Entries<'a> {
            type Value = RawTop<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a plan object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawTop<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    out.push((key, map.next_value::<&'a RawValue>()?));
                }
                Ok(RawTop(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// One JSON value of a plan: raw text from a file, or a value the app built.
pub(super) enum Element<'a> {
    Raw(&'a RawValue),
    Value(Value),
}

/// The JSON type of a value, for errors.
#[derive(PartialEq, Eq)]
pub(super) enum Shape {
    Null,
    Array,
    Object,
    Other,
}

impl<'a> Element<'a> {
    pub(super) fn shape(&self) -> Shape {
        match self {
            Self::Raw(raw) => match raw.get().trim_start().as_bytes().first() {
                Some(b'n') => Shape::Null,
                Some(b'[') => Shape::Array,
                Some(b'{') => Shape::Object,
                _ => Shape::Other,
            },
            Self::Value(Value::Null) => Shape::Null,
            Self::Value(Value::Array(_)) => Shape::Array,
            Self::Value(Value::Object(_)) => Shape::Object,
            Self::Value(_) => Shape::Other,
        }
    }

    /// A small value (version, timezone) as a `Value`; a number JSON allows
    /// but a `Value` cannot hold (`1e999999`) stays its text.
    pub(super) fn value(self) -> Value {
        match self {
            Self::Raw(raw) => serde_json::from_str(raw.get())
                .unwrap_or_else(|_| Value::String(raw.get().to_owned())),
            Self::Value(v) => v,
        }
    }

    /// The elements of an array (the caller checked the shape).
    pub(super) fn items(self) -> Vec<Element<'a>> {
        match self {
            Self::Raw(raw) => serde_json::from_str::<Vec<&'a RawValue>>(raw.get())
                .map(|items| items.into_iter().map(Element::Raw).collect())
                .unwrap_or_default(),
            Self::Value(Value::Array(items)) => items.into_iter().map(Element::Value).collect(),
            Self::Value(_) => vec![],
        }
    }

    /// The element's `id`, when it has a string one, for naming it in errors.
    pub(super) fn id(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct IdOnly {
            id: Option<Value>,
        }
        let id = match self {
            Self::Raw(raw) => serde_json::from_str::<IdOnly>(raw.get()).ok()?.id?,
            Self::Value(v) => v.get("id")?.clone(),
        };
        id.as_str().map(str::to_owned)
    }

    /// The element as `T`, or the path and message of the first problem.
    pub(super) fn typed<T: DeserializeOwned>(&self) -> Result<T, (String, String)> {
        let result = match self {
            Self::Raw(raw) => {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                serde_path_to_error::deserialize::<_, Obj<T>>(&mut de)
            }
            Self::Value(v) => serde_path_to_error::deserialize::<_, Obj<T>>(v),
        };
        result.map(|o| o.0).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            describe_serde_error(&path, &inner)
        })
    }
}

/// Turns serde's wording into (field, message) for a person.
pub(super) fn describe_serde_error(path: &str, message: &str) -> (String, String) {
    let path = if path == "." { "" } else { path };
    // Strip serde_json's position suffix; the object is named instead.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((name, expected)) = rest.split_once('`') {
            // serde_path_to_error's path already ends with the unknown key.
            let field = if path.is_empty() { name } else { path };
            let expected = expected.trim_start_matches(", ").replace('`', "");
            return (field.to_owned(), format!("unknown field; {expected}"));
        }
    }
    // serde names the key, the path names the object holding it.
    let field_of = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for (prefix, said) in [
        (
            "duplicate field `",
            "duplicate field: a key appears once per object",
        ),
        ("missing field `", "missing"),
    ] {
        if let Some((name, _)) = message.strip_prefix(prefix).and_then(|r| r.split_once('`')) {
            return (field_of(name), said.into());
        }
    }
    (path.to_owned(), message)
}
