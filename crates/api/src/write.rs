//! The one write path. Every change of every calendar object (a release
//! moved in the app, a freeze saved, a checklist item ticked from the CLI,
//! an undo, a sync pull, an adapter run, a holiday import) ends here, in
//! [`commit`] or [`commit_document`], and from here in one
//! [`relcal_store::Write`]: validated, audited and written in one
//! transaction.
//!
//! A single change returns one [`Change`]: what changed, the conflicts it
//! gained and resolved, and the [`Undo`] that takes it back
//! ([`crate::undo_change`]).

use crate::check::{CheckSummary, ConflictReport};
use crate::error::ApiError;
use crate::Undo;
use chrono::{DateTime, Utc};
use relcal_domain::{utc_text as utc, Checker, Conflict, ObjectKind, Plan, Release, ReleaseId};
use relcal_store::{AuditRecord, ChecklistDetail, RollbackDetail, Store, Write};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// What one change of a calendar object did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Change {
    /// What kind of object changed.
    pub kind: ObjectKind,
    /// Its id.
    pub id: String,
    /// Whether the change created, updated or deleted it.
    pub action: ChangeAction,
    /// The release as the change left it, when a release changed and is
    /// still there.
    pub release: Option<ReleaseAfter>,
    /// The whole calendar's counts before the change.
    pub before: CheckSummary,
    /// The whole calendar's counts after the change.
    pub after: CheckSummary,
    /// Conflicts the change created (at most 50; see `gained_total`). For a
    /// release, those of the release.
    pub gained: Vec<ConflictReport>,
    /// How many conflicts the change created.
    pub gained_total: u32,
    /// Conflicts the change resolved (at most 50; see `resolved_total`).
    pub resolved: Vec<ConflictReport>,
    /// How many conflicts the change resolved.
    pub resolved_total: u32,
    /// What takes the change back (`undo_change`).
    pub undo: Undo,
}

/// What a change did to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// It is new.
    Created,
    /// It was there and is changed.
    Updated,
    /// It is gone.
    Deleted,
}

/// A release as a change left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleaseAfter {
    /// Its title.
    pub title: String,
    /// Its window, RFC 3339 UTC.
    pub start: String,
    /// Its window, RFC 3339 UTC.
    pub end: String,
    /// Its status.
    pub status: String,
    /// All its conflicts now.
    pub conflicts: Vec<ConflictReport>,
}

/// How many gained and resolved conflicts a change lists.
pub(crate) const LISTED: usize = 50;

/// What the plan format does not carry, written with a release: some of
/// its checklist items' details and its rollback plan's, or (as an undo
/// keeps them) all it has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Details {
    pub checklist: Vec<ChecklistDetail>,
    pub rollback: Option<RollbackDetail>,
}

impl Details {
    fn is_empty(&self) -> bool {
        self.checklist.is_empty() && self.rollback.is_none()
    }

    /// All that is stored for release `id`.
    pub(crate) fn stored(store: &Store, id: &str) -> Result<Self, ApiError> {
        Ok(Details {
            checklist: store.checklist_details(id)?,
            rollback: store.rollback_detail(id)?,
        })
    }

    /// All that is stored for `release`'s checklist items (a removed item's
    /// details stay in the database, unseen) and its rollback plan.
    pub(crate) fn stored_for(store: &Store, release: &Release) -> Result<Self, ApiError> {
        let items: HashSet<&str> = release.checklist.iter().map(|c| c.id.as_str()).collect();
        Ok(Self::stored(store, release.id.as_str())?.only(&items))
    }

    /// These details, of the checklist items in `items` only.
    pub(crate) fn only(mut self, items: &HashSet<&str>) -> Self {
        self.checklist
            .retain(|c| items.contains(c.item_id.as_str()));
        self
    }

    /// These details with `written` written over them.
    fn with(&self, written: &Details) -> Details {
        let mut checklist = self.checklist.clone();
        for d in &written.checklist {
            match checklist.iter_mut().find(|c| c.item_id == d.item_id) {
                Some(c) => *c = d.clone(),
                None => checklist.push(d.clone()),
            }
        }
        Details {
            checklist,
            rollback: written.rollback.clone().or_else(|| self.rollback.clone()),
        }
    }

    /// As an undo keeps them: JSON text, or none when there are none.
    pub(crate) fn saved(&self) -> Option<String> {
        (!self.is_empty()).then(|| serde_json::json!(self).to_string())
    }
}

/// One change to write.
pub(crate) enum Edit<'a> {
    /// A release put (created or changed), with its details. Its conflicts
    /// are worked out on the calendar's checker, not by checking it all.
    Release {
        /// The release as it is to be.
        changed: Box<Release>,
        /// The audit action (`release.move`, ...).
        action: &'a str,
        /// What the plan format does not carry.
        details: Details,
    },
    /// Any object put or removed in a whole calendar (validated): a team, a
    /// service, an environment, a freeze, or a release deleted or put back.
    Object {
        /// The calendar after the change.
        changed: Plan,
        /// What changed.
        kind: ObjectKind,
        /// Its id.
        id: &'a str,
        /// Where it was, for putting a deleted release back there.
        position: Option<u32>,
        /// An undo, recorded as `restored`.
        restoring: bool,
        /// A release put back: the details it had.
        details: Details,
    },
}

fn key(c: &ConflictReport) -> (&str, &[String], Option<&str>, &str) {
    (&c.code, &c.releases, c.freeze.as_deref(), &c.start)
}

/// The conflicts as reports, and their counts.
pub(crate) fn reports(conflicts: Vec<Conflict>) -> (Vec<ConflictReport>, CheckSummary) {
    let mut summary = CheckSummary::default();
    let list = conflicts
        .into_iter()
        .map(|c| {
            summary.count(c.severity);
            ConflictReport::from(c)
        })
        .collect();
    (list, summary)
}

/// The conflicts of `after` missing from `before`: (listed, total).
pub(crate) fn difference(
    after: &[ConflictReport],
    before: &[ConflictReport],
) -> (Vec<ConflictReport>, u32) {
    let seen: HashSet<_> = before.iter().map(key).collect();
    let new: Vec<&ConflictReport> = after.iter().filter(|c| !seen.contains(&key(c))).collect();
    let total = u32::try_from(new.len()).unwrap_or(u32::MAX);
    (new.into_iter().take(LISTED).cloned().collect(), total)
}

/// The checker's counts by severity.
pub(crate) fn summary_of(checker: &Checker<'_>) -> CheckSummary {
    let [errors, warnings, infos] = checker.count_by_severity();
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    CheckSummary {
        errors: n(errors),
        warnings: n(warnings),
        infos: n(infos),
    }
}

/// Validates nothing more (`edit` holds checked values), works out what
/// the change does to the conflicts, writes it with its audit record in one
/// transaction, and reports it. `plan` is the stored calendar before.
pub(crate) fn commit(
    store: &mut Store,
    plan: &Plan,
    edit: Edit<'_>,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    match edit {
        Edit::Release {
            changed,
            action,
            details,
        } => commit_release(store, plan, *changed, action, details, now),
        Edit::Object {
            changed,
            kind,
            id,
            position,
            restoring,
            details,
        } => commit_object(
            store,
            plan,
            changed,
            (kind, id),
            (position, details),
            restoring,
            now,
        ),
    }
}

fn commit_release(
    store: &mut Store,
    plan: &Plan,
    changed: Release,
    action: &str,
    details: Details,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let id: ReleaseId = changed.id.clone();
    let mut checker = Checker::new(plan, now);
    let before = (checker.conflicts_of(&id), summary_of(&checker));
    checker.upsert_release(changed.clone());
    let after = (checker.conflicts_of(&id), summary_of(&checker));
    let old = plan.releases.iter().find(|r| r.id == changed.id);
    let undo = write_release(store, old, &changed, action, details, now)?;
    Ok(release_change(&changed, before, after, undo))
}

/// Writes `changed` (replacing `old`, if any) with `details` and its audit
/// record; returns what takes it back. How a caller that keeps its own
/// checker ([`crate::Live`]) writes a release.
pub(crate) fn write_release(
    store: &mut Store,
    old: Option<&Release>,
    changed: &Release,
    action: &str,
    details: Details,
    now: DateTime<Utc>,
) -> Result<Undo, ApiError> {
    let old_release = old;
    let old = old.map(relcal_domain::release_to_json);
    let new = relcal_domain::release_to_json(changed);
    let action = match (&old, action) {
        (None, "release.update") => "release.create",
        (_, a) => a,
    };
    let id = changed.id.as_str();
    // What an undo needs to put the details back, when they change.
    let kept = if details.is_empty() {
        None
    } else {
        let before = Details::stored_for(store, old_release.unwrap_or(changed))?;
        let items: HashSet<&str> = changed.checklist.iter().map(|c| c.id.as_str()).collect();
        let after = before.with(&details).only(&items);
        Some((before, after))
    };
    let rec = crate::audit::record(
        store,
        now,
        action,
        ("release", id),
        old.as_ref(),
        Some(&new),
    );
    store.write(Write::new(std::slice::from_ref(&rec)).release_with_details(
        changed,
        None,
        &details.checklist,
        details.rollback.as_ref(),
    ))?;
    tracing::info!(release = id, action, "release changed");
    Ok(Undo {
        kind: ObjectKind::Release,
        id: id.to_owned(),
        before: old.map(|v| v.to_string()),
        after: Some(new.to_string()),
        position: None,
        details_before: kept.as_ref().and_then(|(before, _)| before.saved()),
        details_after: kept.as_ref().and_then(|(_, after)| after.saved()),
    })
}

/// The [`Change`] of a release written by [`write_release`]: its conflicts
/// and the calendar's counts before and after.
pub(crate) fn release_change(
    changed: &Release,
    (before, before_summary): (Vec<Conflict>, CheckSummary),
    (after, after_summary): (Vec<Conflict>, CheckSummary),
    undo: Undo,
) -> Change {
    let (before, _) = reports(before);
    let (after, _) = reports(after);
    let (gained, gained_total) = difference(&after, &before);
    let (resolved, resolved_total) = difference(&before, &after);
    Change {
        kind: ObjectKind::Release,
        id: changed.id.to_string(),
        action: if undo.before.is_some() {
            ChangeAction::Updated
        } else {
            ChangeAction::Created
        },
        release: Some(ReleaseAfter {
            title: changed.title.clone(),
            start: utc(changed.start.utc),
            end: utc(changed.end.utc),
            status: changed.status.as_str().to_owned(),
            conflicts: after,
        }),
        before: before_summary,
        after: after_summary,
        gained,
        gained_total,
        resolved,
        resolved_total,
        undo,
    }
}

fn commit_object(
    store: &mut Store,
    plan: &Plan,
    changed: Plan,
    (kind, id): (ObjectKind, &str),
    (restore_at, details): (Option<u32>, Details),
    restoring: bool,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let previous = plan.object_json(kind, id);
    let new_value = changed.object_json(kind, id).map(|(_, v)| v);
    // Where it was: a release's stored position, else its index in its list.
    let position = match (&previous, kind) {
        (None, _) => None,
        (Some(_), ObjectKind::Release) => store.release_position(id)?,
        (Some((i, _)), _) => i64::try_from(*i).ok(),
    }
    .map(|p| u32::try_from(p).unwrap_or(u32::MAX));
    let previous = previous.map(|(_, v)| v);
    let (before_list, before) = reports(relcal_domain::check(plan, now));
    let (after_list, after) = reports(relcal_domain::check(&changed, now));
    let action = match (&previous, &new_value) {
        (_, None) => ChangeAction::Deleted,
        (None, Some(_)) => ChangeAction::Created,
        (Some(_), Some(_)) => ChangeAction::Updated,
    };
    // An undo is recorded as what it is.
    let verb = match action {
        _ if restoring => "restored",
        ChangeAction::Created => "created",
        ChangeAction::Updated => "updated",
        ChangeAction::Deleted => "deleted",
    };
    let rec = crate::audit::record(
        store,
        now,
        &format!("{}.{verb}", kind.noun()),
        (kind.noun(), id),
        previous.as_ref(),
        new_value.as_ref(),
    );
    let records = [rec];
    let write = Write::new(&records);
    let release = changed.releases.iter().find(|r| r.id.as_str() == id);
    // A release deleted takes its details with it: its undo keeps them.
    let deleted_details = match (kind, &previous, release) {
        (ObjectKind::Release, Some(_), None) => {
            match plan.releases.iter().find(|r| r.id.as_str() == id) {
                Some(deleted) => Details::stored_for(store, deleted)?.saved(),
                None => None,
            }
        }
        _ => None,
    };
    store.write(match (kind, release) {
        (ObjectKind::Release, Some(r)) => write.release_with_details(
            r,
            restore_at.map(i64::from),
            &details.checklist,
            details.rollback.as_ref(),
        ),
        (ObjectKind::Release, None) => write.delete_release(id),
        _ => write.catalog(&changed),
    })?;
    tracing::info!(kind = kind.noun(), id, ?action, "calendar object changed");
    let release = match (kind, release) {
        (ObjectKind::Release, Some(r)) => Some(ReleaseAfter {
            title: r.title.clone(),
            start: utc(r.start.utc),
            end: utc(r.end.utc),
            status: r.status.as_str().to_owned(),
            conflicts: after_list
                .iter()
                .filter(|c| c.releases.iter().any(|x| x == id))
                .cloned()
                .collect(),
        }),
        _ => None,
    };
    let (gained, gained_total) = difference(&after_list, &before_list);
    let (resolved, resolved_total) = difference(&before_list, &after_list);
    Ok(Change {
        kind,
        id: id.to_owned(),
        action,
        release,
        before,
        after,
        gained,
        gained_total,
        resolved,
        resolved_total,
        undo: Undo {
            kind,
            id: id.to_owned(),
            before: previous.as_ref().map(Value::to_string),
            after: new_value.as_ref().map(Value::to_string),
            position,
            details_before: deleted_details,
            details_after: details.saved(),
        },
    })
}

/// Writes a calendar document into which many objects were put at once (a
/// sync pull, an adapter run), validated again as a whole; `catalog_changed` when a team, service, environment or
/// freeze was put or removed; `releases` the ids of the releases put or
/// removed. One transaction with `records`; nothing is written without
/// records. A first pull into an empty database writes the whole calendar.
pub(crate) fn commit_document(
    store: &mut Store,
    doc: relcal_domain::wire::WirePlan,
    records: &[AuditRecord],
    catalog_changed: bool,
    releases: &[String],
) -> Result<(), ApiError> {
    if records.is_empty() {
        return Ok(());
    }
    let changed = relcal_domain::parse_plan_document(doc)?;
    commit_plan(store, &changed, records, catalog_changed, releases)
}

/// Writes releases changed at once (each already validated against the
/// stored calendar: an adapter setting statuses or artifacts) with their
/// records, in one transaction; nothing without records.
pub(crate) fn commit_releases(
    store: &mut Store,
    releases: &[Release],
    records: &[AuditRecord],
) -> Result<(), ApiError> {
    if records.is_empty() {
        return Ok(());
    }
    let write = releases
        .iter()
        .fold(Write::new(records), |w, r| w.release(r));
    store.write(write)?;
    Ok(())
}

/// [`commit_document`] of a calendar already validated (a holiday import, an adapter).
pub(crate) fn commit_plan(
    store: &mut Store,
    changed: &Plan,
    records: &[AuditRecord],
    catalog_changed: bool,
    releases: &[String],
) -> Result<(), ApiError> {
    let mut write = Write::new(records);
    if store.is_empty()? {
        write = write.whole(changed);
    } else {
        if catalog_changed {
            write = write.catalog(changed);
        }
        for id in releases {
            match changed.releases.iter().find(|r| r.id.as_str() == id) {
                Some(r) => write = write.release(r),
                None if store.release_position(id)?.is_some() => {
                    write = write.delete_release(id);
                }
                // Created and deleted again before it reached us.
                None => {}
            }
        }
    }
    store.write(write)?;
    Ok(())
}
