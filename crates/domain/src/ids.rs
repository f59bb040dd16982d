//! Newtype ids, so a team id can never be passed where a release id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id string. Validation (non-empty, unique) happens in plan parsing.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// Id of a team.
    TeamId
);
id_type!(
    /// Id of a service.
    ServiceId
);
id_type!(
    /// Id of an environment.
    EnvironmentId
);
id_type!(
    /// Id of a freeze.
    FreezeId
);
id_type!(
    /// Id of a release.
    ReleaseId
);
