//! `relcal`: the engine without the window (docs/cli.md).
//!
//! Glue only: parse arguments, call one `relcal_api` use case, print, and map
//! the outcome to the contract's exit codes (0 yes, 1 no, 2 invalid input or
//! usage, 3 could not work).

/// Standard output that a closed pipe (`relcal check | head`) ends quietly:
/// what is left to print is dropped, and the exit code stays the command's
/// answer. `print!` and `println!` below are these, not std's, which panic.
mod out {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};

    static CLOSED: AtomicBool = AtomicBool::new(false);

    pub fn write(args: std::fmt::Arguments<'_>, newline: bool) {
        if CLOSED.load(Ordering::Relaxed) {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let written = stdout.write_fmt(args).and_then(|()| {
            if newline {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        });
        if written.is_err() {
            // A reader that went away (EPIPE) or a full disk: nothing more can be shown.
            CLOSED.store(true, Ordering::Relaxed);
        }
    }

    /// Writes a long output through one buffer, ending quietly like `write`.
    pub fn buffered(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
        if CLOSED.load(Ordering::Relaxed) {
            return;
        }
        let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        if f(&mut stdout).and_then(|()| stdout.flush()).is_err() {
            CLOSED.store(true, Ordering::Relaxed);
        }
    }

    /// Flushes what is buffered, ignoring a reader that went away.
    pub fn flush() {
        if !CLOSED.load(Ordering::Relaxed) && std::io::stdout().lock().flush().is_err() {
            CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

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

use clap::{Parser, Subcommand, ValueEnum};
use relcal_api::{ApiError, ErrorCode};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "relcal",
    version,
    about = "Release calendar engine: validate, check, gate, import and export plans",
    after_help = "The plan format, the conflict rules and this command line are documented in \
                  Relcal's docs/: plan-format.md, conflict-rules.md and cli.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate a plan file. Exit 0 valid, 2 invalid.
    Validate {
        /// The plan file (JSON).
        plan: PathBuf,
    },
    /// List conflicts (docs/conflict-rules.md). Exit 0 no errors, 1 errors found.
    Check {
        /// A plan file; or use --db.
        plan: Option<PathBuf>,
        /// Check the calendar in this database instead of a plan file.
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        db: Option<PathBuf>,
        /// The time readiness rules compare against (RFC 3339). Default: now.
        #[arg(long, value_name = "INSTANT")]
        now: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// May a release with this scope start now? Exit 0 allowed, 1 blocked by a hard freeze.
    Gate {
        /// A plan file; or use --db.
        plan: Option<PathBuf>,
        /// Use the calendar in this database instead of a plan file.
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        db: Option<PathBuf>,
        /// The target environment id.
        #[arg(long, value_name = "ENV")]
        env: String,
        /// A service the release changes (repeat for several).
        #[arg(long = "service", value_name = "S")]
        services: Vec<String>,
        /// The team running the release (default: the owners of the services).
        #[arg(long, value_name = "T")]
        team: Option<String>,
        /// The instant to ask about (RFC 3339). Default: now.
        #[arg(long, value_name = "INSTANT")]
        at: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Change one release: a pipeline marks it in progress, done or rolled back, or reschedules it.
    Release {
        #[command(subcommand)]
        change: ReleaseCommand,
    },
    /// GitLab adapters: deploy freeze periods and deployments.
    Gitlab {
        #[command(subcommand)]
        command: GitLabCommand,
    },
    /// GitHub adapter: releases.
    Github {
        #[command(subcommand)]
        command: GitHubCommand,
    },
    /// Replace the calendar in the database with a plan, in one transaction.
    Import {
        /// The plan file (JSON).
        plan: PathBuf,
        #[command(flatten)]
        db: DbArg,
        /// Who acts (recorded in the audit trail). Default: the OS user.
        #[arg(long)]
        by: Option<String>,
    },
    /// The audit trail: check its hash chain, or list its entries.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Desktop notifications of freezes, releases and readiness gaps: run the
    /// scheduler without a window, or (--once) send what is due and exit.
    Notify {
        #[command(flatten)]
        db: DbArg,
        /// Send what is due now (or at --now) and exit.
        #[arg(long)]
        once: bool,
        /// The instant to act at (RFC 3339), with --once. Default: now.
        #[arg(long, value_name = "INSTANT", requires = "once")]
        now: Option<String>,
    },
    /// Keep a server token in the OS keyring (read from standard input), for
    /// `relcal sync` and the app.
    Login {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long, value_name = "URL")]
        server: String,
    },
    /// Forget the keyring's token for a server.
    Logout {
        /// The server.
        #[arg(long, value_name = "URL")]
        server: String,
    },
    /// Push this database's changes to a release API server and pull its
    /// changes, once (a new database is created and filled). The token comes
    /// from RELCAL_TOKEN or the OS keyring (`relcal login`).
    Sync {
        #[command(flatten)]
        db: DbArg,
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long, value_name = "URL")]
        server: String,
    },
    /// Conflicts waiting for a person: --sync lists unresolved sync conflicts.
    Conflicts {
        #[command(flatten)]
        db: DbArg,
        /// Sync conflicts (the only kind listed here so far).
        #[arg(long, required = true)]
        sync: bool,
        /// Resolve this conflict (its id, as listed) instead of listing.
        #[arg(long, value_name = "ID", requires = "keep")]
        resolve: Option<String>,
        /// With --resolve: keep `mine` (sent again at the next sync) or take `theirs` (the server's copy, now).
        #[arg(long, value_name = "mine|theirs", requires = "resolve")]
        keep: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Print the calendar as a plan.
    Export {
        #[command(flatten)]
        db: DbArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
    },
}

/// A calendar and the GitLab project it follows.
#[derive(clap::Args)]
struct GitLabProject {
    #[command(flatten)]
    db: DbArg,
    /// The GitLab instance, e.g. https://gitlab.com.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The project: its id or group/name path.
    #[arg(long)]
    project: String,
}

impl GitLabProject {
    /// The instance, with the token from GITLAB_TOKEN or the keyring.
    fn client(&self) -> Result<relcal_http::GitLab, ApiError> {
        relcal_http::GitLab::new(&self.url, relcal_http::gitlab_token(&self.url))
    }
}

#[derive(Subcommand)]
enum GitLabCommand {
    /// Import a project's deploy freeze periods as recurring freezes (the
    /// project's freezes here become exactly GitLab's). Token: GITLAB_TOKEN.
    Freezes {
        #[command(flatten)]
        on: GitLabProject,
        /// Limit the freezes to these environments (comma-separated ids; default: all).
        #[arg(long, value_delimiter = ',')]
        environments: Vec<String>,
    },
    /// Set the status of releases from a project's latest deployments
    /// (matched by version = deployed ref, and environment). Token: GITLAB_TOKEN.
    Deployments {
        #[command(flatten)]
        on: GitLabProject,
        /// Only deployments to this GitLab environment.
        #[arg(long)]
        environment: Option<String>,
    },
}

#[derive(Subcommand)]
enum GitHubCommand {
    /// Set the artifact of releases from a repository's GitHub releases
    /// (matched by version = tag); polls with the last ETag. Token: GITHUB_TOKEN.
    Releases {
        #[command(flatten)]
        db: DbArg,
        /// owner/name.
        #[arg(long)]
        repo: String,
        /// The API, for GitHub Enterprise (https://host/api/v3).
        #[arg(long, value_name = "URL", default_value = "https://api.github.com")]
        api: String,
    },
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Set a release's status (draft, planned, approved, in_progress, done, rolled_back, cancelled).
    Status {
        /// Release id.
        id: String,
        /// The new status.
        status: String,
        #[command(flatten)]
        db: DbArg,
        /// Who acts (recorded in the audit trail). Default: the OS user.
        #[arg(long)]
        by: Option<String>,
    },
    /// Reschedule a release.
    Move {
        /// Release id.
        id: String,
        /// New start (RFC 3339, or a local time in the calendar's zone).
        #[arg(long, value_name = "T")]
        start: String,
        /// New end.
        #[arg(long, value_name = "T")]
        end: String,
        #[command(flatten)]
        db: DbArg,
        /// Who acts (recorded in the audit trail). Default: the OS user.
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain. Exit 0 intact, 1 broken (naming the first bad entry).
    Verify {
        #[command(flatten)]
        db: DbArg,
    },
    /// List audit entries, oldest first.
    Log {
        #[command(flatten)]
        db: DbArg,
        /// Only the entries about this release.
        #[arg(long, value_name = "ID")]
        release: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
}

#[derive(clap::Args)]
struct DbArg {
    /// The app's SQLite database. Default: the app's own database in the platform data dir.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
}

impl DbArg {
    fn path(&self) -> Result<PathBuf, ApiError> {
        match &self.db {
            Some(p) => Ok(p.clone()),
            None => relcal_api::default_db_path(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TextOrJson {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Json,
    Ics,
}

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

fn open_existing(path: &Path) -> Result<relcal_api::Store, ApiError> {
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

fn print_json(value: &impl serde::Serialize) -> Result<(), ApiError> {
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
    format: TextOrJson,
) -> Result<bool, ApiError> {
    let now = instant("--now", now.as_deref())?;
    let plan = plan_from(plan, db)?;
    if format == TextOrJson::Json {
        let report = relcal_api::check_plan(&plan, now);
        print_json(&report)?;
        return Ok(report.summary.errors == 0);
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

/// Opens the database for a change made by `by` (default: the database's
/// user setting, else the OS user).
fn open_as(db: &DbArg, by: Option<&str>) -> Result<relcal_api::Store, ApiError> {
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
        AuditCommand::Verify { db } => {
            let store = open_existing(&db.path()?)?;
            let verdict = relcal_api::audit_verify(&store)?;
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

/// Runs `gitlab freezes|deployments`.
fn adapt_gitlab(command: GitLabCommand) -> Result<(), ApiError> {
    match command {
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
    Ok(())
}

/// Runs `github releases`.
fn adapt_github(command: GitHubCommand) -> Result<(), ApiError> {
    let GitHubCommand::Releases { db, repo, api } = command;
    let mut store = open_as(&db, None)?;
    let now = relcal_api::clock::now();
    match relcal_api::poll_github_releases(&mut store, &relcal_http::HttpForges, &api, &repo, now)?
    {
        None => println!("GitHub {repo} releases: not modified since the last poll"),
        Some(r) => print_report(&format!("GitHub {repo} releases"), &r),
    }
    Ok(())
}

/// Runs `sync`.
fn sync(db: DbArg, server: String) -> Result<bool, ApiError> {
    let (token, _) = relcal_http::load_token(server.trim_end_matches('/'))?;
    // A new desktop joins with a new database: its first sync fills it.
    let mut store = relcal_api::open_store(&db.path()?)?;
    relcal_api::load_user_name(&mut store)?;
    let mut http = relcal_http::HttpTransport::new(&server, &token)?;
    let base = http.base().to_owned();
    let report =
        relcal_api::sync_and_record(&mut store, &base, &mut http, relcal_api::clock::now())?;
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

/// Prints what a release change did: the new state and the conflicts it gained or lost.
fn print_change(change: &relcal_api::ReleaseChange) {
    println!(
        "{} ({}): {} from {} to {}",
        change.title, change.release, change.status, change.start, change.end
    );
    let key =
        |c: &relcal_api::ConflictReport| (c.code.clone(), c.releases.clone(), c.freeze.clone());
    for c in &change.after {
        if !change.before.iter().any(|b| key(b) == key(c)) {
            println!("  new {:<8} {:<22} {}", c.severity, c.code, c.message);
        }
    }
    for c in &change.before {
        if !change.after.iter().any(|a| key(a) == key(c)) {
            println!("  gone {:<7} {:<22} {}", c.severity, c.code, c.message);
        }
    }
    let s = change.summary;
    println!(
        "calendar: {} errors, {} warnings, {} infos",
        s.errors, s.warnings, s.infos
    );
}

fn release(change: ReleaseCommand) -> Result<(), ApiError> {
    let now = relcal_api::clock::now();
    let done = match change {
        ReleaseCommand::Status { id, status, db, by } => {
            let mut store = open_as(&db, by.as_deref())?;
            relcal_api::set_release_status(&mut store, &id, &status, now)?
        }
        ReleaseCommand::Move {
            id,
            start,
            end,
            db,
            by,
        } => {
            let mut store = open_as(&db, by.as_deref())?;
            relcal_api::move_release(&mut store, &id, &start, &end, now)?
        }
    };
    print_change(&done);
    Ok(())
}

fn run(cli: Cli) -> Result<bool, ApiError> {
    relcal_api::clock::init()?;
    match cli.command {
        Command::Check {
            plan,
            db,
            now,
            format,
        } => return check(plan, db, now, format),
        Command::Gate {
            plan,
            db,
            env,
            services,
            team,
            at,
            format,
        } => return gate(plan, db, env, services, team, at, format),
        Command::Release { change } => release(change)?,
        Command::Gitlab { command } => adapt_gitlab(command)?,
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
