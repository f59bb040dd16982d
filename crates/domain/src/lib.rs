//! Relcal's pure domain.
//!
//! This crate knows the plan format (`docs/plan-format.md`), time zones,
//! ISO 8601 durations and RFC 5545 recurrence. It turns untrusted JSON into a
//! validated [`Plan`] and back.
//!
//! Architecture invariant: no I/O, no async, no database. Everything here is a
//! pure function of its inputs (the current time is always passed in), so it
//! can be tested with tables of small plans and used by every front door.

#![deny(missing_docs)]

mod audit;
mod conflicts;
mod cron;
mod document;
mod dst;
mod duration;
mod error;
mod exception;
mod export;
mod gate;
mod hex;
mod ics;
mod ids;
mod kind;
mod metrics;
mod notify;
mod plan;
mod push;
mod recurrence;
mod risk;
mod shift;
mod slot;
mod time;
mod validate;
pub mod wire;

pub use audit::{
    chain, entry_hash, verify_chain, AuditEntry, AuditRecord, ChainBreak, Chained, GENESIS,
};
pub use conflicts::{check, human_time, sort_conflicts, Checker, Conflict, ConflictSeverity};
pub use cron::{freeze_from_cron, CronError, CronFreeze, CronPart};
pub use document::{
    changed_fields, clashing_fields, field_names, merge_fields, Fields, WireObject,
};
pub use dst::{dst_warnings, DstWarning};
pub use duration::{PlanDuration, MAX_DAYS};
pub use error::{FieldError, PlanError};
pub use exception::{
    already_asked, approver_refusal, decision_refusal, exception_target, Decision, ExceptionRefusal,
};
pub use export::release_to_json;
pub use gate::{gate, FreezeHit, GateAnswer, GateQuery, GateQueryError};
pub use hex::hex;
pub use ics::{day_start, freezes_from_ics, plan_to_ics, ImportedFreeze};
pub use ids::{EnvironmentId, FreezeId, ReleaseId, ServiceId, TeamId};
pub use kind::ObjectKind;
pub use metrics::{
    deployments_of, freeze_effects, median, metrics, AfterFreeze, DeployRush, FreezeDelay,
    FreezeEffects, Metrics, MetricsQuery, Move,
};
pub use notify::{
    first_run_notices, next_notice_at, notices_between, quiet_hours, Notice, NoticeKind,
    NotifyRules, QuietHours,
};
pub use plan::{
    AllowedWindow, Approval, ChecklistItem, Environment, Freeze, FreezeOverride, FreezeSchedule,
    FreezeSeverity, Plan, Release, ReleaseStatus, RollbackPlan, ScheduleText, Scope, Service, Team,
};
pub use push::{freeze_as_cron, CronPeriod};
pub use recurrence::{
    Frequency, Occurrence, Recurrence, RecurrenceRule, MAX_COUNT, MAX_INTERVAL,
    MAX_OCCURRENCES_PER_DAY,
};
pub use risk::{risk_of, Risk, RiskFactor, RiskWeights};
pub use slot::{find_slot, Skipped, SlotAnswer, SlotQuery, MAX_SKIPPED};
pub use time::{
    check_year, end_of_supported_years, resolve_local, utc_text, Interval, PlanTime, TimeValue,
    MAX_YEAR, MIN_YEAR,
};
pub use validate::{
    parse_plan, parse_plan_document, parse_plan_value, parse_release_document, parse_release_value,
};
pub use wire::PLAN_FORMAT_VERSION;

/// IANA time zone, re-exported so callers need not depend on chrono-tz.
pub use chrono_tz::Tz;
