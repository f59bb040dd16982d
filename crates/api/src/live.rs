//! The calendar kept warm for a long-running front door (the app): the plan
//! and its incremental conflict checker, built once and then kept equal to
//! the database by every write, whoever makes it.
//!
//! The audit trail is the change feed. Every change to the calendar appends
//! audit entries in the same transaction (`relcal-store`), so the trail's
//! last number is the calendar's version, and the entries after the version
//! a [`Live`] was built at name exactly what changed: in this process, in
//! the sync loop, or in another process (the CLI on the same file). Changed
//! releases are re-read and re-checked one by one; a change to anything
//! else (a freeze, a team, an import) asks for a rebuild.

use crate::check::{badges_of, conflict_item, CheckSummary, ConflictBadge, ConflictsView};
use crate::error::{ApiError, ErrorCode};
use crate::release::check_approved;
use crate::write::{release_change, summary_of, write_release, Change, Details};
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{Checker, Interval, Plan, Release, ReleaseId};
use relcal_store::Store;
use serde::Serialize;

/// More changes than this since the last look are caught up by a rebuild.
const MAX_INCREMENTAL: usize = 2_000;

self_cell::self_cell!(
    /// A plan and the checker that borrows it. The checker holds its own
    /// copy of every release edited since (the plan's releases are as loaded).
    struct Warm {
        owner: Plan,
        #[covariant]
        dependent: Checker,
    }
);

/// Where opening the calendar has got to, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OpenProgress {
    /// This step, from 1.
    pub step: u32,
    /// How many steps there are.
    pub steps: u32,
    /// What it is doing, for a person ("Checking 100,000 releases for conflicts").
    pub what: String,
    /// Releases in the calendar (0 until known).
    pub releases: u32,
}

/// What [`Live::refresh`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Nothing had changed.
    Unchanged,
    /// This many releases were re-read and re-checked.
    Updated(usize),
    /// Something other than releases changed: [`Live::open`] again.
    Stale,
}

/// The calendar and its conflicts, warm. See the module documentation.
pub struct Live {
    /// `None`: the database holds no calendar.
    warm: Option<Warm>,
    /// The audit trail's last entry when the state was last brought up to date.
    seq: u64,
    /// The clock readiness rules were last checked against.
    now: DateTime<Utc>,
    /// The whole calendar's counts, until the next change (counting reads
    /// every conflict: a few milliseconds at 100,000 releases).
    summary: std::cell::OnceCell<CheckSummary>,
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn no_calendar(store: &Store) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "the database {} holds no calendar yet; import a plan first",
            store.path().display()
        ),
    )
}

impl Live {
    /// Reads and checks the calendar in `store` at `now`, telling `progress`
    /// before each step.
    pub fn open(
        store: &Store,
        now: DateTime<Utc>,
        progress: &mut dyn FnMut(OpenProgress),
    ) -> Result<Self, ApiError> {
        // The version first: a write that lands during the read is then
        // caught up again by the next refresh, never missed.
        let seq = store.audit_seq()?;
        progress(OpenProgress {
            step: 1,
            steps: 2,
            what: "Reading the calendar".into(),
            releases: 0,
        });
        let plan = store.load_plan()?;
        let releases = plan.as_ref().map_or(0, |p| p.releases.len());
        progress(OpenProgress {
            step: 2,
            steps: 2,
            what: format!("Checking {} releases for conflicts", thousands(releases)),
            releases: u32::try_from(releases).unwrap_or(u32::MAX),
        });
        let warm = plan.map(|plan| Warm::new(plan, |plan| Checker::new(plan, now)));
        Ok(Self {
            warm,
            seq,
            now,
            summary: std::cell::OnceCell::new(),
        })
    }

    /// Brings the state up to date with `store` and its clock to `now`:
    /// releases changed since are re-read and re-checked alone.
    pub fn refresh(&mut self, store: &Store, now: DateTime<Utc>) -> Result<Freshness, ApiError> {
        let seq = store.audit_seq()?;
        let freshness = if seq == self.seq {
            Freshness::Unchanged
        } else {
            match (
                &mut self.warm,
                store.changed_since(self.seq, MAX_INCREMENTAL)?,
            ) {
                (Some(warm), Some(objects))
                    if objects
                        .iter()
                        .all(|(kind, _)| kind == "release" || kind == "settings") =>
                {
                    let ids: Vec<&str> = objects
                        .iter()
                        .filter(|(kind, _)| kind == "release")
                        .map(|(_, id)| id.as_str())
                        .collect();
                    // Read apart from the feed: a release that no longer fits
                    // the calendar held here (its team or freeze changed
                    // meanwhile) means the next feed entries are a catalog change.
                    let Ok(loaded) = store.load_releases(warm.borrow_owner(), &ids) else {
                        return Ok(Freshness::Stale);
                    };
                    warm.with_dependent_mut(|_, checker| apply_loaded(checker, &ids, loaded));
                    self.seq = seq;
                    Freshness::Updated(ids.len())
                }
                _ => return Ok(Freshness::Stale),
            }
        };
        if let Some(warm) = &mut self.warm {
            warm.with_dependent_mut(|_, checker| checker.set_now(now));
        }
        if freshness != Freshness::Unchanged || now != self.now {
            self.summary = std::cell::OnceCell::new();
        }
        self.now = now;
        Ok(freshness)
    }

    /// [`Live::refresh`], rebuilding in place when it must.
    pub fn refresh_or_reopen(
        &mut self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<Freshness, ApiError> {
        let freshness = self.refresh(store, now)?;
        if freshness == Freshness::Stale {
            *self = Self::open(store, now, &mut |_| {})?;
        }
        Ok(freshness)
    }

    fn checker(&self) -> Option<&Checker<'_>> {
        self.warm.as_ref().map(Warm::borrow_dependent)
    }

    /// What [`crate::calendar_view`] shows for `[from, to)`, from the warm
    /// state (as of the last refresh): no database read.
    pub fn calendar_view(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<crate::CalendarView, ApiError> {
        let Some(warm) = &self.warm else {
            crate::calendar::check_range(from, to)?;
            return Ok(crate::calendar::empty_view());
        };
        let releases = warm.borrow_dependent().releases_overlapping(Interval {
            start: from,
            end: to,
        });
        crate::calendar::calendar_view_of(warm.borrow_owner(), from, to, releases)
    }

    /// The whole calendar's counts.
    pub fn summary(&self) -> CheckSummary {
        *self
            .summary
            .get_or_init(|| self.checker().map(summary_of).unwrap_or_default())
    }

    /// The conflicts panel and badges: every conflict, or with `range` those a
    /// view of it shows (of its releases, or in its period); the summary
    /// always counts the whole calendar. As of the last refresh.
    pub fn conflicts_view(&self, range: Option<Interval>) -> ConflictsView {
        self.conflicts_shown(range, true)
    }

    /// [`Live::conflicts_view`] with the list only when `items` (an open
    /// panel): the badges alone are what a calendar view needs, a small
    /// part of the list's weight.
    pub fn conflicts_shown(&self, range: Option<Interval>, items: bool) -> ConflictsView {
        let Some(checker) = self.checker() else {
            return ConflictsView::empty(self.now, None);
        };
        let shown: Vec<&relcal_domain::Conflict> = match (range, items) {
            (Some(range), true) => checker.in_view(range),
            (Some(_), false) => Vec::new(),
            (None, _) => checker.iter().collect(),
        };
        let badges = match range {
            Some(range) => checker
                .badges_in_view(range)
                .into_iter()
                .map(|(id, count, severity)| ConflictBadge::new(id.as_str(), count, severity))
                .collect(),
            None => badges_of(shown.iter().copied()),
        };
        let listed = if items {
            let mut listed: Vec<relcal_domain::Conflict> = shown.into_iter().cloned().collect();
            relcal_domain::sort_conflicts(&mut listed);
            listed
        } else {
            Vec::new()
        };
        let items = listed
            .into_iter()
            .map(|c| conflict_item(c, |id| checker.release(&ReleaseId::new(id))))
            .collect();
        ConflictsView {
            checked_at: utc(self.now),
            items,
            badges,
            summary: self.summary(),
            opening: None,
        }
    }

    /// Reschedules a release to `[start, end)` (instants, or local times in
    /// the calendar's zone), like [`crate::move_release`], from the warm
    /// state: nothing else is read or checked again.
    pub fn move_release(
        &mut self,
        store: &mut Store,
        id: &str,
        start: &str,
        end: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, ApiError> {
        self.change_release(store, id, "release.move", now, |release, object, plan| {
            Ok(release.with_window(object, start, end, plan.timezone)?)
        })
    }

    /// Sets a release's status, like [`crate::set_release_status`], from the
    /// warm state.
    pub fn set_release_status(
        &mut self,
        store: &mut Store,
        id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, ApiError> {
        self.change_release(store, id, "release.status", now, |release, object, plan| {
            let changed = release.with_status(object, status)?;
            check_approved(plan, &changed, object)?;
            Ok(changed)
        })
    }

    fn change_release(
        &mut self,
        store: &mut Store,
        id: &str,
        action: &str,
        now: DateTime<Utc>,
        change: impl Fn(&Release, &str, &Plan) -> Result<Release, ApiError>,
    ) -> Result<Change, ApiError> {
        self.refresh_or_reopen(store, now)?;
        let warm = self.warm.as_ref().ok_or_else(|| no_calendar(store))?;
        let plan = warm.borrow_owner();
        let checker = warm.borrow_dependent();
        let rid = ReleaseId::new(id);
        let release = checker
            .release(&rid)
            .cloned()
            .ok_or_else(|| crate::release::no_such_release(id))?;
        // Errors name the release as a plan file does, by its place in it;
        // that costs a count, so only when there is an error to name.
        let changed = match change(&release, "", plan) {
            Ok(changed) => changed,
            Err(_) => {
                let object = format!("releases[{}] (id \"{id}\")", store.release_index(id)?);
                change(&release, &object, plan)?
            }
        };
        let before = (checker.conflicts_of(&rid), self.summary());
        let undo = write_release(
            store,
            Some(&release),
            &changed,
            action,
            Details::default(),
            now,
        )?;
        // The write is in the audit trail like any other: catch up with it
        // (and with anything another connection wrote meanwhile).
        self.refresh_or_reopen(store, now)?;
        let checker = self.checker().ok_or_else(|| no_calendar(store))?;
        let after = (checker.conflicts_of(&rid), self.summary());
        Ok(release_change(&changed, before, after, undo))
    }
}
impl Live {
    /// One run of the notification scheduler, like
    /// [`crate::run_notifications`], from the warm state: the releases
    /// around `now` and the error conflicts as kept, nothing checked again.
    pub fn run_notifications(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        send: &mut dyn FnMut(&crate::OutgoingNotice) -> Result<(), String>,
    ) -> Result<crate::NotifyRun, ApiError> {
        self.prepare_notifications(store, now)?.run(store, send)
    }

    /// What a notification run needs from the warm state, taken out of it:
    /// the caller can then let go of the warm state (and the window's
    /// commands waiting for it) before the notices are shown, each a D-Bus
    /// call that may be slow ([`PreparedNotifications::run`]).
    pub fn prepare_notifications(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
    ) -> Result<PreparedNotifications, ApiError> {
        use crate::notify::{conflict_key, notice_range, run_since, ErrorConflict};
        // The app's caller has just brought it up to date (and opens it again
        // on its own thread when it must); this catches only a write that
        // landed in between.
        self.refresh_or_reopen(store, now)?;
        let settings = crate::notify_settings(store)?;
        let Some(warm) = &self.warm else {
            return Ok(PreparedNotifications(None));
        };
        let (checker, owner) = (warm.borrow_dependent(), warm.borrow_owner());
        let rules = settings.rules(owner.timezone)?;
        let at = run_since(store, now)?;
        let since = at.since;
        // The calendar without releases, and the releases (as edited since
        // it was read) whose notices this run can send or wait for: those
        // in its range, and those a waiting freeze exception request is for.
        let mut releases: Vec<Release> = checker
            .releases_overlapping(notice_range(&rules, since, now))
            .into_iter()
            .cloned()
            .collect();
        if rules
            .kinds
            .contains(&relcal_domain::NoticeKind::ExceptionRequested)
        {
            let mut held: std::collections::HashSet<ReleaseId> =
                releases.iter().map(|r| r.id.clone()).collect();
            for r in crate::exception_requests(store, true)? {
                let id = ReleaseId::new(&r.release);
                if !held.contains(&id) {
                    releases.extend(checker.release(&id).cloned());
                    held.insert(id);
                }
            }
        }
        let plan = Plan {
            timezone: owner.timezone,
            teams: owner.teams.clone(),
            services: owner.services.clone(),
            environments: owner.environments.clone(),
            freezes: owner.freezes.clone(),
            releases,
        };
        let errors = checker
            .iter()
            .filter(|c| c.severity == relcal_domain::ConflictSeverity::Error)
            .map(|c| ErrorConflict {
                key: conflict_key(
                    c.code,
                    c.releases.iter().map(ReleaseId::as_str),
                    c.freeze.as_ref().map(|f| f.as_str()),
                    &utc(c.period.start),
                ),
                code: c.code.to_owned(),
                message: c.message.clone(),
                release: c.releases.first().map(|r| r.as_str().to_owned()),
            })
            .collect();
        let summary = self.summary();
        Ok(PreparedNotifications(Some(Prepared {
            settings,
            plan,
            errors,
            summary,
            at,
        })))
    }

    /// What the tray shows, from the warm state (as of the last refresh).
    pub fn tray_status(&self, now: DateTime<Utc>) -> crate::TrayStatus {
        match &self.warm {
            Some(warm) => crate::notify::tray_status_of(warm.borrow_owner(), self.summary(), now),
            None => crate::TrayStatus::default(),
        }
    }
}

/// Puts releases re-read from the database into `checker`: those not read
/// back were deleted.
fn apply_loaded(checker: &mut Checker<'_>, ids: &[&str], loaded: Vec<Release>) {
    let present: std::collections::HashSet<ReleaseId> =
        loaded.iter().map(|r| r.id.clone()).collect();
    for id in ids {
        let id = ReleaseId::new(*id);
        if !present.contains(&id) {
            checker.remove_release(&id);
        }
    }
    for release in loaded {
        checker.upsert_release(release);
    }
}

/// A notification run taken out of the warm state
/// ([`Live::prepare_notifications`]), to be run without it.
pub struct PreparedNotifications(Option<Prepared>);

struct Prepared {
    settings: crate::NotifySettings,
    plan: Plan,
    errors: Vec<crate::notify::ErrorConflict>,
    summary: CheckSummary,
    at: crate::notify::RunAt,
}

impl PreparedNotifications {
    /// Sends what is due through `send` and records it (nothing when the
    /// warm state had no calendar).
    pub fn run(
        self,
        store: &mut Store,
        send: &mut dyn FnMut(&crate::OutgoingNotice) -> Result<(), String>,
    ) -> Result<crate::NotifyRun, ApiError> {
        match self.0 {
            None => Ok(crate::NotifyRun::default()),
            Some(p) => {
                crate::notify::run_on(store, &p.settings, &p.plan, p.errors, p.summary, p.at, send)
            }
        }
    }
}
