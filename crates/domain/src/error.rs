//! Validation errors that name the object and the field.

use std::fmt;

/// One problem in a plan: which object (`releases[3] (id "r-17")`), which field
/// (`end`, `approvals[0].at`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The object, e.g. `releases[3] (id "r-17")` or `plan`.
    pub object: String,
    /// The field inside the object, e.g. `end` or `scope.teams[1]`. Empty when
    /// the object as a whole is wrong.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(
                f,
                "{}: field `{}`: {}",
                self.object, self.field, self.message
            )
        }
    }
}

/// Every problem found in a plan. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    errors: Vec<FieldError>,
}

impl PlanError {
    /// Builds an error from a non-empty list of problems.
    pub(crate) fn new(errors: Vec<FieldError>) -> Self {
        debug_assert!(!errors.is_empty());
        Self { errors }
    }

    /// A plan-level error with a single message.
    pub fn single(object: &str, field: &str, message: impl Into<String>) -> Self {
        Self::new(vec![FieldError {
            object: object.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// The problems, in document order.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        if n > 1 {
            writeln!(f, "the plan has {n} errors:")?;
        }
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
