//! Freeze exceptions asked for and decided: the rules a request and its
//! approval must meet, wherever they are made (a desktop, the server).
//!
//! An exception is asked for by one person and approved by another: the
//! approver is neither the one who asked nor the release's owner. The
//! request itself is not part of the plan (the plan holds only approved
//! exceptions, `overrides`); desktops and the server keep requests beside
//! the calendar.

use crate::{Freeze, Plan, Release};
use chrono::{DateTime, Utc};

/// Why an exception cannot be asked for or approved: the plan-format field
/// at fault and the reason, or that the freeze does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionRefusal {
    /// The freeze named does not exist.
    NoSuchFreeze(String),
    /// A field of the exception is wrong (`overrides.freeze`, ...).
    Field(&'static str, String),
}

impl std::fmt::Display for ExceptionRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExceptionRefusal::NoSuchFreeze(id) => write!(f, "freeze \"{id}\" does not exist"),
            ExceptionRefusal::Field(field, why) => write!(f, "field `{field}`: {why}"),
        }
    }
}

/// The freeze an exception for `release` would break, checked: it exists and
/// applies to the release, the release has no exception to it yet, and
/// `expires`, when given, is after `now`.
pub fn exception_target<'p>(
    plan: &'p Plan,
    release: &Release,
    freeze: &str,
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<&'p Freeze, ExceptionRefusal> {
    if let Some(at) = expires {
        if at <= now {
            return Err(ExceptionRefusal::Field(
                "overrides.expires",
                format!("{} is not in the future", crate::utc_text(at)),
            ));
        }
    }
    let Some(f) = plan.freezes.iter().find(|f| f.id.as_str() == freeze) else {
        return Err(ExceptionRefusal::NoSuchFreeze(freeze.to_owned()));
    };
    if !f.scope.matches(release) {
        return Err(ExceptionRefusal::Field(
            "overrides.freeze",
            format!("{} does not apply to this release", f.name),
        ));
    }
    if release.overrides.iter().any(|o| o.freeze == f.id) {
        return Err(ExceptionRefusal::Field(
            "overrides.freeze",
            format!("it already has an exception to {}", f.name),
        ));
    }
    Ok(f)
}

/// Whether `approver` may approve an exception for `release` that
/// `requested_by` asked for: someone else, who does not run the release.
pub fn approver_refusal(
    release: &Release,
    requested_by: &str,
    approver: &str,
) -> Option<ExceptionRefusal> {
    let (asked, approver) = (requested_by.trim(), approver.trim());
    if asked == approver {
        return Some(ExceptionRefusal::Field(
            "overrides.by",
            format!("{approver} asked for the exception and cannot also approve it"),
        ));
    }
    if release.owner.as_deref().map(str::trim) == Some(approver) {
        return Some(ExceptionRefusal::Field(
            "overrides.by",
            format!("{approver} runs this release and cannot approve its exception"),
        ));
    }
    None
}

/// What may be done with a request still waiting, besides approving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Taken back, by who asked.
    Withdraw,
    /// Refused, by someone else.
    Decline,
}

/// Why `actor` may not make `decision` on a waiting request that
/// `requested_by` asked for (`None`: they may): only who asked withdraws,
/// and who asked never declines (they withdraw). Roles are the server's
/// to add (declining takes an approver there).
pub fn decision_refusal(decision: Decision, requested_by: &str, actor: &str) -> Option<String> {
    let asked = requested_by.trim() == actor.trim();
    match decision {
        Decision::Withdraw if !asked => {
            Some(format!("only {requested_by} who asked may withdraw it"))
        }
        Decision::Decline if asked => {
            Some("you asked for it; withdraw it instead of declining it".to_owned())
        }
        _ => None,
    }
}

/// The refusal of a second request for an exception someone has already
/// asked for (request `id`, still waiting), for the request's `field`.
pub fn already_asked(field: &'static str, requested_by: &str, id: &str) -> ExceptionRefusal {
    ExceptionRefusal::Field(
        field,
        format!("{requested_by} already asked for this exception (request {id})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        crate::parse_plan(
            r#"{"version":1,"timezone":"UTC",
            "teams":[{"id":"t","name":"T"}],"services":[{"id":"s","team":"t"}],
            "environments":[{"id":"prod","name":"Prod"},{"id":"stg","name":"Staging"}],
            "freezes":[{"id":"f","name":"Year end","severity":"hard","start":"2027-01-01T00:00:00Z","end":"2027-01-05T00:00:00Z","scope":{"environments":["prod"]}}],
            "releases":[
              {"id":"r","title":"R","team":"t","services":["s"],"environment":"prod","start":"2027-01-02T10:00:00Z","end":"2027-01-02T11:00:00Z","status":"planned","owner":"ana"},
              {"id":"q","title":"Q","team":"t","services":["s"],"environment":"stg","start":"2027-01-02T10:00:00Z","end":"2027-01-02T11:00:00Z","status":"planned"},
              {"id":"p","title":"P","team":"t","services":["s"],"environment":"prod","start":"2027-01-03T10:00:00Z","end":"2027-01-03T11:00:00Z","status":"planned",
               "overrides":[{"freeze":"f","reason":"hotfix","by":"li"}]}]}"#,
        )
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_exception_needs_a_freeze_that_applies_and_none_yet_and_a_future_expiry() {
        let plan = plan();
        let now = at("2026-12-01T00:00:00Z");
        let [r, q, p] = [0, 1, 2].map(|i| &plan.releases[i]);
        assert_eq!(
            exception_target(&plan, r, "f", None, now).map(|f| f.name.as_str()),
            Ok("Year end")
        );
        assert!(exception_target(&plan, r, "f", Some(at("2027-01-03T00:00:00Z")), now).is_ok());
        assert_eq!(
            exception_target(&plan, r, "nope", None, now),
            Err(ExceptionRefusal::NoSuchFreeze("nope".into()))
        );
        let refused = |r, f, e| match exception_target(&plan, r, f, e, now) {
            Err(ExceptionRefusal::Field(field, why)) => format!("{field}: {why}"),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            refused(q, "f", None),
            "overrides.freeze: Year end does not apply to this release"
        );
        assert_eq!(
            refused(p, "f", None),
            "overrides.freeze: it already has an exception to Year end"
        );
        assert_eq!(
            refused(r, "f", Some(now)),
            "overrides.expires: 2026-12-01T00:00:00Z is not in the future"
        );
    }

    #[test]
    fn only_who_asked_withdraws_and_never_declines() {
        assert_eq!(decision_refusal(Decision::Withdraw, "ana", "ana"), None);
        assert_eq!(decision_refusal(Decision::Decline, "ana", "li"), None);
        assert_eq!(
            decision_refusal(Decision::Withdraw, "ana", "li").as_deref(),
            Some("only ana who asked may withdraw it")
        );
        assert_eq!(
            decision_refusal(Decision::Decline, "ana", " ana").as_deref(),
            Some("you asked for it; withdraw it instead of declining it")
        );
        assert_eq!(
            already_asked("freeze", "ana", "x-1").to_string(),
            "field `freeze`: ana already asked for this exception (request x-1)"
        );
    }

    #[test]
    fn the_approver_is_neither_who_asked_nor_the_owner() {
        let plan = plan();
        let r = &plan.releases[0];
        assert_eq!(approver_refusal(r, "kai", "li"), None);
        assert!(approver_refusal(r, "kai", " kai ")
            .unwrap()
            .to_string()
            .contains("kai asked for the exception"));
        assert!(approver_refusal(r, "kai", "ana")
            .unwrap()
            .to_string()
            .contains("ana runs this release"));
    }
}
