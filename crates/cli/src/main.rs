//! `relcal`: the engine without the window (docs/cli.md).
//!
//! Glue only: parse arguments, call one `relcal_api` use case, print, and map
//! the outcome to the contract's exit codes (0 yes, 1 no, 2 invalid input or
//! usage, 3 could not work).

/// Standard output that a closed pipe (`relcal check | head`) ends quietly:
/// what is left to print is dropped, and the exit code stays the command's
/// answer. `print!` and `println!` below are these, not std's, which panic.
mod out;

macro_rules! println {
    () => {
        $crate::out::write(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*), true)
    };
}

macro_rules! print {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*), false)
    };
}

/// Parsing a plan is mostly small allocations; mimalloc makes them cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod exceptions;
mod releases;

use args::{
    AuditCommand, Cli, Command, DbArg, ExportFormat, GitHubCommand, GitLabCommand, TextOrJson,
};
use clap::Parser;
use relcal_api::{ApiError, ErrorCode};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn read_plan(path: &Path) -> Result<String, ApiError> {
    std::fs::read_to_string(path).map_err(|e| {
        ApiError::new(
            ErrorCode::Validation,
            format!("PLAN: cannot read {}: {e}", path.display()),
        )
    })
}

fn instant(flag: &str, text: Option<&str>) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    match text {
        None => Ok(relcal_api::clock::now()),
        Some(t) => relcal_api::clock::parse_instant(flag, t),
    }
}

pub(crate) fn open_existing(path: &Path) -> Result<relcal_api::Store, ApiError> {
    if !path.exists() {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            format!("cannot open the database {}: no such file", path.display()),
        ));
    }
    relcal_api::open_store(path)
}

/// The calendar of a plan file, or of a database (the default one when neither is given).
fn plan_from(plan: Option<PathBuf>, db: Option<PathBuf>) -> Result<relcal_api::Plan, ApiError> {
    match plan {
        Some(plan) => relcal_api::validate_plan_text(&read_plan(&plan)?),
        None => {
            let path = match db {
                Some(p) => p,
                None => relcal_api::default_db_path()?,
            };
            relcal_api::stored_plan(&open_existing(&path)?)
        }
    }
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), ApiError> {
    let json = serde_json::to_string_pretty(value)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    println!("{json}");
    Ok(())
}

/// Runs `check`; `Ok(false)` when error-severity conflicts were found.
fn check(
    plan: Option<PathBuf>,
    db: Option<PathBuf>,
    now: Option<String>,
    dst: bool,
    format: TextOrJson,
) -> Result<bool, ApiError> {
    let now = instant("--now", now.as_deref())?;
    let plan = plan_from(plan, db)?;
    if format == TextOrJson::Json {
        let report = if dst {
            relcal_api::check_plan_with_dst(&plan, now)
        } else {
            relcal_api::check_plan(&plan, now)
        };
        print_json(&report)?;
        return Ok(report.summary.errors == 0);
    }
    if dst {
        let report = relcal_api::check_plan_with_dst(&plan, now);
        let s = report.summary;
        let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        for c in &report.conflicts {
            println!("{:<8} {:<22} {}", c.severity, c.code, c.message);
        }
        println!(
            "{}, {}, {}",
            plural(s.errors, "error"),
            plural(s.warnings, "warning"),
            plural(s.infos, "info")
        );
        return Ok(s.errors == 0);
    }
    let checker = relcal_api::check_conflicts(&plan, now);
    let conflicts = checker.sorted();
    let s = relcal_api::summary_of(conflicts.iter().copied());
    let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out::buffered(|w| {
        for c in &conflicts {
            writeln!(w, "{:<8} {:<22} {}", c.severity.as_str(), c.code, c.message)?;
        }
        writeln!(
            w,
            "{}, {}, {}",
            plural(s.errors, "error"),
            plural(s.warnings, "warning"),
            plural(s.infos, "info")
        )
    });
    // The process ends next, and the OS takes its memory back at once:
    // freeing the calendar and its index piece by piece would only cost time.
    drop(conflicts);
    std::mem::forget(checker);
    std::mem::forget(plan);
    Ok(s.errors == 0)
}

/// Runs `gate`; `Ok(false)` when a hard freeze blocks.
#[allow(
    clippy::too_many_arguments,
    reason = "one parameter per command-line flag"
)]
fn gate(
    plan: Option<PathBuf>,
    db: Option<PathBuf>,
    env: String,
    services: Vec<String>,
    team: Option<String>,
    at: Option<String>,
    format: TextOrJson,
) -> Result<bool, ApiError> {
    let at = instant("--at", at.as_deref())?;
    let report =
        relcal_api::gate_plan(&plan_from(plan, db)?, &env, &services, team.as_deref(), at)?;
    if format == TextOrJson::Json {
        print_json(&report)?;
    } else {
        println!("{}", report.message);
        for f in &report.blocked_by {
            println!("  blocked by {}", f.description);
        }
        for f in &report.warnings {
            println!("  warning: {}", f.description);
        }
        for f in &report.upcoming {
            println!("  upcoming within 24 h: {}", f.description);
        }
    }
    Ok(report.allowed)
}

/// `gate --wait`: reads the calendar (the file or the database, again each
/// time, so a freeze lifted early or added meanwhile counts) until the scope
/// may start; says why it waits and until when. True when open, false when
/// the timeout ran out first.
fn gate_wait(
    (plan, db): (Option<PathBuf>, Option<PathBuf>),
    (env, services, team): (String, Vec<String>, Option<String>),
    timeout: Option<&str>,
    format: TextOrJson,
) -> Result<bool, ApiError> {
    let limit = relcal_api::gate_timeout(timeout.unwrap_or("PT24H"))?;
    let started = relcal_api::clock::now();
    let deadline = started + limit;
    let mut said = String::new();
    loop {
        let now = relcal_api::clock::now();
        let report = relcal_api::gate_plan(
            &plan_from(plan.clone(), db.clone())?,
            &env,
            &services,
            team.as_deref(),
            now,
        )?;
        if report.allowed || now >= deadline {
            if format == TextOrJson::Json {
                print_json(&report)?;
            } else if report.allowed {
                println!("{}", report.message);
            } else {
                println!(
                    "gate: still closed after waiting {}: {}",
                    timeout.unwrap_or("PT24H"),
                    report.message
                );
            }
            return Ok(report.allowed);
        }
        let next = relcal_api::gate_recheck_at(&report, now, deadline);
        // Said again only when it changes (a pipeline log stays short).
        let why = format!(
            "waiting: {}{}",
            report.message,
            report.blocked_by.iter().fold(String::new(), |mut s, f| {
                s.push_str(&format!(
                    "
  blocked by {}",
                    f.description
                ));
                s
            })
        );
        if why != said {
            eprintln!("{why}");
            eprintln!(
                "  reading the calendar again at {} (at least every minute)",
                next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            said = why;
        }
        let pause = (next - relcal_api::clock::now())
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1));
        std::thread::sleep(pause);
    }
}

/// Runs `slot`; `Ok(false)` when no slot starts within the search.
fn slot(
    (plan, db): (Option<PathBuf>, Option<PathBuf>),
    request: &relcal_api::SlotRequest,
    format: TextOrJson,
) -> Result<bool, ApiError> {
    let now = relcal_api::clock::now();
    let report = relcal_api::slot_plan(&plan_from(plan, db)?, request, now)?;
    if format == TextOrJson::Json {
        print_json(&report.contract_json())?;
    } else {
        println!("{}", report.message);
        if let (Some(start), Some(end)) = (&report.start, &report.end) {
            println!("  start {start}");
            println!("  end   {end}");
        }
        if !report.skipped.is_empty() {
            println!("  earlier times were refused:");
        }
        for k in &report.skipped {
            println!("  {} to {}  {:<22} {}", k.start, k.end, k.code, k.reason);
        }
        if report.skipped_truncated {
            println!("  (and more)");
        }
    }
    Ok(report.found)
}

/// The calendar and the risk weights: a plan file's with the model's
/// weights, or a database's with the team's.
fn plan_and_weights(
    plan: Option<PathBuf>,
    db: Option<PathBuf>,
) -> Result<(relcal_api::Plan, relcal_api::RiskWeights), ApiError> {
    match plan {
        Some(_) => Ok((plan_from(plan, None)?, relcal_api::RiskWeights::default())),
        None => {
            let path = match db {
                Some(p) => p,
                None => relcal_api::default_db_path()?,
            };
            let store = open_existing(&path)?;
            Ok((
                relcal_api::stored_plan(&store)?,
                relcal_api::risk_weights(&store)?,
            ))
        }
    }
}

/// Runs `agenda`.
fn agenda(
    (plan, db): (Option<PathBuf>, Option<PathBuf>),
    from: Option<&str>,
    to: Option<&str>,
    format: args::MdOrJson,
) -> Result<(), ApiError> {
    let now = relcal_api::clock::now();
    let from = instant("--from", from)?;
    let to = match to {
        Some(t) => relcal_api::clock::parse_instant("--to", t)?,
        None => from + chrono::Duration::days(7),
    };
    let (calendar, weights) = plan_and_weights(plan, db)?;
    let a = relcal_api::agenda(&calendar, &weights, from, to, now)?;
    match format {
        args::MdOrJson::Json => print_json(&a),
        args::MdOrJson::Md => {
            print!("{}", relcal_api::agenda_markdown(&a));
            Ok(())
        }
    }
}

/// Runs `metrics`.
fn metrics(
    (plan, db): (Option<PathBuf>, Option<PathBuf>),
    (from, to): (Option<String>, Option<String>),
    (environments, teams): (&[String], &[String]),
    format: TextOrJson,
) -> Result<(), ApiError> {
    let to = instant("--to", to.as_deref())?;
    let from = match from {
        Some(t) => relcal_api::clock::parse_instant("--from", &t)?,
        None => to - chrono::Duration::days(30),
    };
    let (calendar, entered) = match plan {
        Some(_) => (plan_from(plan, None)?, None),
        None => {
            let path = match db {
                Some(p) => p,
                None => relcal_api::default_db_path()?,
            };
            let store = open_existing(&path)?;
            let plan = relcal_api::stored_plan(&store)?;
            let facts = relcal_api::audit_facts(&store, &plan)?;
            (plan, Some(facts))
        }
    };
    let r = relcal_api::metrics_report(&calendar, from, to, environments, teams, entered.as_ref())?;
    if format == TextOrJson::Json {
        return print_json(&r);
    }
    let figure = |x: Option<f64>, unit: &str| {
        x.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}{unit}"))
    };
    println!(
        "{} to {} · {} · {}",
        r.from,
        r.to,
        if r.environments.is_empty() {
            "no environment".to_owned()
        } else {
            r.environments.join(", ")
        },
        if r.teams.is_empty() {
            "all teams".to_owned()
        } else {
            r.teams.join(", ")
        }
    );
    println!(
        "deployments            {} ({:.2} a week)",
        r.deployments, r.deployment_frequency_per_week
    );
    println!(
        "change failure rate    {}",
        r.change_failure_rate.map_or_else(
            || "n/a".to_owned(),
            |v| format!("{:.1}% ({} rolled back)", v * 100.0, r.rolled_back)
        )
    );
    println!(
        "time to restore        {} (median of {})",
        figure(r.time_to_restore_median_hours, " h"),
        r.restored
    );
    println!(
        "lead time              {} (median of {}{})",
        figure(r.lead_time_median_hours, " h"),
        r.lead_time_samples,
        if r.lead_time_source == "none" {
            "; needs --db"
        } else {
            ""
        }
    );
    let rush = &r.deploy_rush;
    println!(
        "deploy rush            {} in the 48 h before {} freeze start{} ({} a day against {:.2}{})",
        rush.deployments,
        rush.freeze_starts,
        if rush.freeze_starts == 1 { "" } else { "s" },
        rush.per_day
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
        rush.baseline_per_day,
        rush.ratio.map(|x| format!(", {x:.1}×")).unwrap_or_default()
    );
    let after = &r.after_freeze;
    let pct = |x: Option<f64>| x.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}%", v * 100.0));
    println!(
        "after freezes          {} failed of {} in the week after {} freeze end{} (against {})",
        pct(after.change_failure_rate),
        after.deployments,
        after.freeze_ends,
        if after.freeze_ends == 1 { "" } else { "s" },
        pct(after.baseline_change_failure_rate)
    );
    if r.lead_time_source != "none" {
        println!(
            "delay from freezes     {} release{} moved out, {:.1} h in all (median {})",
            r.freeze_delay.releases,
            if r.freeze_delay.releases == 1 {
                ""
            } else {
                "s"
            },
            r.freeze_delay.total_hours,
            figure(r.freeze_delay.median_hours, " h")
        );
        println!(
            "approval lead time     {}",
            figure(r.approval_lead_time_median_hours, " h")
        );
        println!(
            "start to rollback      {}",
            figure(r.start_to_rollback_median_hours, " h")
        );
        println!(
            "moved                  {} release{}, {} move{} (median {})",
            r.moved_releases,
            if r.moved_releases == 1 { "" } else { "s" },
            r.moves,
            if r.moves == 1 { "" } else { "s" },
            figure(r.move_median_hours, " h")
        );
    }
    Ok(())
}

/// Runs `risk`.
fn risk(
    (plan, db): (Option<PathBuf>, Option<PathBuf>),
    release: Option<&str>,
    from: Option<&str>,
    format: TextOrJson,
) -> Result<(), ApiError> {
    let from = instant("--from", from)?;
    let (calendar, weights) = plan_and_weights(plan, db)?;
    let report = relcal_api::risk_report(&calendar, weights, release, from)?;
    if format == TextOrJson::Json {
        return print_json(&report);
    }
    if report.releases.is_empty() {
        println!(
            "no active release starts from {}",
            from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
    for r in &report.releases {
        println!(
            "{:>3} {:<6} {} ({}, {}, {})",
            r.risk.score, r.risk.level, r.title, r.id, r.environment, r.start
        );
        for f in &r.risk.factors {
            println!("      +{:<3} {}", f.points, f.reason);
        }
    }
    Ok(())
}

/// Opens the database for a change made by `by` (default: the database's
/// user setting, else the OS user).
pub(crate) fn open_as(db: &DbArg, by: Option<&str>) -> Result<relcal_api::Store, ApiError> {
    let mut store = open_existing(&db.path()?)?;
    relcal_api::load_user_name(&mut store)?;
    if let Some(by) = by {
        if by.trim().is_empty() {
            return Err(ApiError::new(ErrorCode::Validation, "--by: give a name"));
        }
        store.set_actor(by);
    }
    Ok(store)
}

/// Runs `audit`; `Ok(false)` when the chain is broken.
fn audit(command: AuditCommand) -> Result<bool, ApiError> {
    match command {
        AuditCommand::Verify { db, server } => {
            let store = open_existing(&db.path()?)?;
            let verdict = match server {
                None => relcal_api::audit_verify(&store)?,
                Some(server) => {
                    let mut http = relcal_http::HttpTransport::connect(&server)?;
                    relcal_api::audit_verify_anchored(&store, &mut http)?
                }
            };
            if verdict.intact {
                println!("{}", verdict.message);
            } else {
                eprintln!("relcal: {}", verdict.message);
            }
            Ok(verdict.intact)
        }
        AuditCommand::Log {
            db,
            release,
            format,
        } => {
            let store = open_existing(&db.path()?)?;
            let entries = relcal_api::audit_log(&store, release.as_deref())?;
            if format == TextOrJson::Json {
                print_json(&entries)?;
            } else {
                let mut out = String::new();
                for e in &entries {
                    out.push_str(&format!(
                        "#{:<5} {}  {:<12} {:<22} {} {}: {}\n",
                        e.seq, e.at, e.actor, e.action, e.object_kind, e.object_id, e.summary
                    ));
                }
                out.push_str(&format!("{} entries", entries.len()));
                println!("{out}");
            }
            Ok(true)
        }
    }
}

/// Shows one notification on the desktop (D-Bus on Linux).
fn show(notice: &relcal_api::OutgoingNotice) -> Result<(), String> {
    notify_rust::Notification::new()
        .appname("Relcal")
        .summary(&notice.summary)
        .body(&notice.body)
        .show()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs `notify`.
fn notify(db: DbArg, once: bool, now: Option<String>) -> Result<bool, ApiError> {
    let mut store = open_existing(&db.path()?)?;
    relcal_api::load_user_name(&mut store)?;
    let mut sink = |n: &relcal_api::OutgoingNotice| -> Result<(), String> {
        show(n)?;
        println!("sent: {}: {}", n.summary, n.body.replace('\n', " / "));
        Ok(())
    };
    if once {
        let at = instant("--now", now.as_deref())?;
        let run = relcal_api::run_notifications(&mut store, at, &mut sink)?;
        if run.held {
            println!("do-not-disturb is on: nothing sent");
        }
        println!(
            "{} sent; next {}",
            run.sent.len(),
            run.next_at.as_deref().unwrap_or("none within a week")
        );
        return Ok(true);
    }
    // The scheduler: wake when the next notice is due, and at least every
    // minute, so a changed clock, a resumed laptop or an edit made elsewhere
    // is noticed. No busy polling.
    loop {
        let now = relcal_api::clock::now();
        let run = match relcal_api::run_notifications(&mut store, now, &mut sink) {
            Ok(run) => run,
            Err(e) if e.code == ErrorCode::Unavailable => {
                eprintln!("relcal: {} (retrying in a minute)", e.message);
                std::thread::sleep(std::time::Duration::from_secs(60));
                continue;
            }
            Err(e) => return Err(e),
        };
        let next = run
            .next_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc());
        let wait = next
            .map(|t| (t - relcal_api::clock::now()).num_milliseconds())
            .unwrap_or(60_000)
            .clamp(1_000, 60_000);
        std::thread::sleep(std::time::Duration::from_millis(
            u64::try_from(wait).unwrap_or(60_000),
        ));
    }
}

fn print_report(what: &str, r: &relcal_api::AdapterReport) {
    println!(
        "{what}: {} created, {} updated, {} removed, {} unchanged, {} skipped",
        r.created,
        r.updated,
        r.removed,
        r.unchanged,
        r.skipped.len()
    );
    for s in &r.skipped {
        println!("  skipped: {s}");
    }
}

/// Says which freezes were not pushed, on stderr.
fn say_refused(refused: &[relcal_api::Refusal]) {
    for r in refused {
        eprintln!(
            "relcal: freeze \"{}\" ({}) is not pushed: {}",
            r.freeze, r.name, r.reason
        );
    }
}

/// Runs `argocd sync-windows`; `Ok(false)` when a freeze was refused.
fn argocd(command: args::ArgoCommand) -> Result<bool, ApiError> {
    let args::ArgoCommand::SyncWindows {
        plan,
        db,
        filter,
        format,
    } = command;
    let plan = plan_from(plan, db)?;
    let filter = relcal_api::FreezeFilter {
        environments: filter.environments,
        services: Vec::new(),
        include_soft: filter.include_soft,
    };
    let windows = relcal_api::argocd_sync_windows(&plan, &filter, relcal_api::clock::now())?;
    match format {
        args::YamlOrJson::Json => print_json(&serde_json::json!({
            "syncWindows": windows.windows,
            "refused": windows.refused,
        }))?,
        args::YamlOrJson::Yaml => print!("{}", relcal_api::sync_windows_yaml(&windows, &plan)),
    }
    say_refused(&windows.refused);
    Ok(windows.refused.is_empty())
}

/// Runs `gitlab freezes|deployments|push-freezes`; `Ok(false)` when a
/// freeze could not be pushed.
fn adapt_gitlab(command: GitLabCommand) -> Result<bool, ApiError> {
    match command {
        GitLabCommand::PushFreezes {
            on,
            services,
            filter,
            dry_run,
            format,
        } => {
            let plan = relcal_api::stored_plan(&open_existing(&on.db.path()?)?)?;
            let filter = relcal_api::FreezeFilter {
                environments: filter.environments,
                services,
                include_soft: filter.include_soft,
            };
            let r = relcal_api::push_gitlab_freezes(
                &plan,
                &on.client()?,
                &on.project,
                &filter,
                relcal_api::clock::now(),
                dry_run,
            )?;
            if format == TextOrJson::Json {
                print_json(&r)?;
            } else {
                let count = |a: &str| r.periods.iter().filter(|p| p.action == a).count();
                println!(
                    "GitLab {}: {} freeze period{}{} ({} kept, {} updated, {} created), {} removed",
                    r.project,
                    r.periods.len(),
                    if r.periods.len() == 1 { "" } else { "s" },
                    if r.dry_run { " would be" } else { "" },
                    count("kept"),
                    count("updated"),
                    count("created"),
                    r.removed.len()
                );
                for p in &r.periods {
                    println!(
                        "  {:<8} `{}` to `{}` ({}){}  from {}{}",
                        p.action,
                        p.freeze_start,
                        p.freeze_end,
                        p.cron_timezone,
                        p.id.map(|id| format!(" #{id}")).unwrap_or_default(),
                        p.freezes.join(", "),
                        if p.one_off {
                            " (one-off: cron repeats its date yearly; the next push after it ends removes it)"
                        } else {
                            ""
                        }
                    );
                }
                for id in &r.removed {
                    println!("  removed  #{id}");
                }
            }
            say_refused(&r.refused);
            return Ok(r.refused.is_empty());
        }
        GitLabCommand::Freezes { on, environments } => {
            let periods = on.client()?.freeze_periods(&on.project)?;
            let mut store = open_as(&on.db, None)?;
            let r = relcal_api::import_gitlab_freezes(
                &mut store,
                &on.project,
                &periods,
                &environments,
                relcal_api::clock::now(),
            )?;
            print_report(&format!("GitLab {} freeze periods", on.project), &r);
        }
        GitLabCommand::Deployments { on, environment } => {
            let list = on
                .client()?
                .deployments(&on.project, environment.as_deref())?;
            let mut store = open_as(&on.db, None)?;
            let r =
                relcal_api::apply_gitlab_deployments(&mut store, &list, relcal_api::clock::now())?;
            print_report(&format!("GitLab {} deployments", on.project), &r);
        }
    }
    Ok(true)
}

/// Runs `github releases`.
fn adapt_github(command: GitHubCommand) -> Result<(), ApiError> {
    let GitHubCommand::Releases { db, repo, api } = command;
    let mut store = open_as(&db, None)?;
    let now = relcal_api::clock::now();
    match relcal_api::poll_github_releases(
        &mut store,
        &relcal_http::HttpForges::new(),
        &api,
        &repo,
        now,
    )? {
        None => println!("GitHub {repo} releases: not modified since the last poll"),
        Some(r) => print_report(&format!("GitHub {repo} releases"), &r),
    }
    Ok(())
}

/// Runs `sync`.
fn sync(db: DbArg, server: String) -> Result<bool, ApiError> {
    // Without a token nothing is opened or written, as before the database exists.
    let transport = relcal_http::HttpTransport::connect(server.trim_end_matches('/'))?;
    // A new desktop joins with a new database: its first sync fills it.
    let mut store = relcal_api::open_store(&db.path()?)?;
    relcal_api::load_user_name(&mut store)?;
    let report = relcal_api::sync_with(
        &mut store,
        &server,
        |_| Ok(transport),
        relcal_api::clock::now(),
    )?;
    println!(
        "pushed {} ({} merged), pulled {}, {} new conflict{}",
        report.pushed,
        report.merged,
        report.pulled,
        report.conflicts,
        if report.conflicts == 1 { "" } else { "s" }
    );
    Ok(report.conflicts == 0)
}

/// Runs `conflicts --sync`; exit 1 while any is unresolved.
fn sync_conflicts(db: DbArg, format: TextOrJson) -> Result<bool, ApiError> {
    let store = open_existing(&db.path()?)?;
    let list = relcal_api::sync_conflicts(&store)?;
    if format == TextOrJson::Json {
        let items: Vec<serde_json::Value> = list
            .iter()
            .map(|(m, k, i, d)| serde_json::json!({ "mutation_id": m, "kind": k, "id": i, "detail": d }))
            .collect();
        print_json(&items)?;
    } else {
        for (m, k, i, d) in &list {
            let what = match d["outcome"].as_str() {
                Some("conflict") => format!("changed on both sides: {}", d["fields"]),
                _ => format!("refused: {}", d["reason"].as_str().unwrap_or("")),
            };
            println!("{k} {i}: {what} ({m})");
        }
        println!("{} unresolved", list.len());
    }
    Ok(list.is_empty())
}

fn run(cli: Cli) -> Result<bool, ApiError> {
    relcal_api::clock::init()?;
    match cli.command {
        Command::Check {
            plan,
            db,
            now,
            dst,
            format,
        } => return check(plan, db, now, dst, format),
        Command::Gate {
            plan,
            db,
            env,
            services,
            team,
            at,
            wait,
            timeout,
            format,
        } => {
            if wait {
                return gate_wait(
                    (plan, db),
                    (env, services, team),
                    timeout.as_deref(),
                    format,
                );
            }
            return gate(plan, db, env, services, team, at, format);
        }
        Command::Slot {
            plan,
            db,
            env,
            services,
            team,
            owner,
            after_releases,
            duration,
            after,
            within,
            avoid_soft,
            format,
        } => {
            let request = relcal_api::SlotRequest {
                environment: env,
                services,
                team,
                owner,
                after_releases,
                duration,
                after,
                within,
                avoid_soft,
                moving: None,
            };
            return slot((plan, db), &request, format);
        }
        Command::Risk {
            plan,
            db,
            release,
            from,
            format,
        } => risk((plan, db), release.as_deref(), from.as_deref(), format)?,
        Command::Agenda {
            plan,
            db,
            from,
            to,
            format,
        } => agenda((plan, db), from.as_deref(), to.as_deref(), format)?,
        Command::Metrics {
            plan,
            db,
            from,
            to,
            environments,
            teams,
            format,
        } => metrics((plan, db), (from, to), (&environments, &teams), format)?,
        Command::Exception {
            id,
            freeze,
            reason,
            requested_by,
            expires,
            db,
            by,
        } => {
            let expires = expires
                .as_deref()
                .map(|t| relcal_api::clock::parse_instant("--expires", t))
                .transpose()?;
            let mut store = open_as(&db, by.as_deref())?;
            let change = relcal_api::grant_exception(
                &mut store,
                &id,
                &freeze,
                &reason,
                &requested_by,
                expires,
                relcal_api::clock::now(),
            )?;
            releases::print_change(&change);
        }
        Command::Exceptions { action } => exceptions::exceptions(action)?,
        Command::Release { change } => releases::release(change)?,
        Command::Approve { id, revoke, db, by } => {
            releases::approve(&id, revoke, &db, by.as_deref())?
        }
        Command::Checklist {
            id,
            done,
            undone,
            db,
            by,
            format,
        } => releases::checklist(&id, &done, &undone, &db, by.as_deref(), format)?,
        Command::Releases {
            db,
            from,
            to,
            format,
        } => releases::releases(&db, from.as_deref(), to.as_deref(), format)?,
        Command::Freezes { db, format } => releases::freezes(&db, format)?,
        Command::GoNoGo { db, days, format } => releases::go_no_go(&db, days, format)?,
        Command::Gitlab { command } => return adapt_gitlab(command),
        Command::Argocd { command } => return argocd(command),
        Command::Github { command } => adapt_github(command)?,
        Command::Audit { command } => return audit(command),
        Command::Notify { db, once, now } => return notify(db, once, now),
        Command::Sync { db, server } => return sync(db, server),
        Command::Login { server } => {
            let mut token = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut token).map_err(|e| {
                ApiError::new(
                    ErrorCode::Validation,
                    format!("standard input: cannot read the token: {e}"),
                )
            })?;
            let server = server.trim_end_matches('/');
            relcal_http::save_token(server, &token)?;
            println!("the token for {server} is in the OS keyring");
        }
        Command::Logout { server } => {
            let server = server.trim_end_matches('/');
            relcal_http::forget_token(server)?;
            println!("no token for {server} is kept in the OS keyring now");
        }
        Command::Conflicts {
            db,
            sync: _,
            resolve,
            keep,
            format,
        } => {
            if let (Some(id), Some(keep)) = (resolve, keep) {
                let keep_mine = match keep.as_str() {
                    "mine" => true,
                    "theirs" => false,
                    other => {
                        return Err(ApiError::new(
                            ErrorCode::Validation,
                            format!("--keep: \"{other}\" is not mine or theirs"),
                        ))
                    }
                };
                let mut store = open_as(&db, None)?;
                relcal_api::resolve_sync_conflict(
                    &mut store,
                    &id,
                    keep_mine,
                    relcal_api::clock::now(),
                )?;
                println!(
                    "resolved {id}: {}",
                    if keep_mine {
                        "yours goes out at the next sync"
                    } else {
                        "theirs is applied here"
                    }
                );
                return Ok(true);
            }
            return sync_conflicts(db, format);
        }
        Command::Validate { plan } => {
            let parsed = relcal_api::validate_plan_text(&read_plan(&plan)?)?;
            println!(
                "{}: valid ({} teams, {} services, {} environments, {} freezes, {} releases)",
                plan.display(),
                parsed.teams.len(),
                parsed.services.len(),
                parsed.environments.len(),
                parsed.freezes.len(),
                parsed.releases.len()
            );
        }
        Command::Import { plan, db, by } => {
            // Validate before touching the database: invalid input writes nothing.
            let text = read_plan(&plan)?;
            relcal_api::validate_plan_text(&text)?;
            let path = db.path()?;
            let mut store = relcal_api::open_store(&path)?;
            relcal_api::load_user_name(&mut store)?;
            if let Some(by) = by.as_deref().filter(|b| !b.trim().is_empty()) {
                store.set_actor(by);
            }
            let s = relcal_api::import_plan_text(&mut store, &text)?;
            println!(
                "imported {} into {}: {} teams, {} services, {} environments, {} freezes, {} releases",
                plan.display(),
                path.display(),
                s.teams,
                s.services,
                s.environments,
                s.freezes,
                s.releases
            );
        }
        Command::Export { db, format } => {
            let store = open_existing(&db.path()?)?;
            match format {
                ExportFormat::Json => println!("{}", relcal_api::export_plan_json(&store)?),
                ExportFormat::Ics => {
                    print!(
                        "{}",
                        relcal_api::export_plan_ics(&store, relcal_api::clock::now())?
                    )
                }
            }
        }
    }
    Ok(true)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = run(cli);
    out::flush();
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("relcal: {}", e.message);
            ExitCode::from(match e.code {
                ErrorCode::Validation | ErrorCode::NotFound => 2,
                ErrorCode::Unavailable
                | ErrorCode::Internal
                | ErrorCode::Unauthorized
                | ErrorCode::Forbidden => 3,
            })
        }
    }
}
