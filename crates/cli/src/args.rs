//! The command line as clap reads it: every command, its flags and their
//! help (the contract is docs/cli.md).

use clap::{Parser, Subcommand, ValueEnum};
use relcal_api::ApiError;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "relcal",
    version,
    about = "Release calendar engine: validate, check, gate, import and export plans",
    after_help = "The plan format, the conflict rules and this command line are documented in \
                  Relcal's docs/: plan-format.md, conflict-rules.md and cli.md."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
        /// Also list daylight-saving warnings for the year from --now (info
        /// codes dst.gap, dst.fold, window.dst_drift; docs/dst.md).
        #[arg(long)]
        dst: bool,
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
        #[arg(long, value_name = "INSTANT", conflicts_with = "wait")]
        at: Option<String>,
        /// Wait until the scope may start, reading the calendar again at
        /// least every minute; exit 1 when --timeout runs out first.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits at most (ISO 8601). Default: PT24H.
        #[arg(long, value_name = "DURATION", requires = "wait")]
        timeout: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// The earliest start of a release with this scope and length that would
    /// have no error-severity conflict. Exit 0 found, 1 none within --within.
    Slot {
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
        /// The team running the release (default: the team owning the services).
        #[arg(long, value_name = "T")]
        team: Option<String>,
        /// Whose release it is: their other releases must not overlap it.
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// A release it must follow (repeat for several).
        #[arg(long = "after-release", value_name = "ID")]
        after_releases: Vec<String>,
        /// Its length (ISO 8601: PT2H, P1D; days count on the team's wall clock).
        #[arg(long, value_name = "DURATION")]
        duration: String,
        /// The earliest start (RFC 3339). Default: now.
        #[arg(long, value_name = "INSTANT")]
        after: Option<String>,
        /// How far past --after to look (ISO 8601). Default: P90D.
        #[arg(long, value_name = "DURATION")]
        within: Option<String>,
        /// Keep out of soft freezes too.
        #[arg(long)]
        avoid_soft: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Risk scores with their reasons (docs/risk.md): every active release
    /// from --from (default now), highest first, or one release.
    Risk {
        /// A plan file (default weights); or use --db (the team's weights).
        plan: Option<PathBuf>,
        /// Use the calendar and weights in this database instead of a plan file.
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        db: Option<PathBuf>,
        /// Only this release.
        #[arg(long, value_name = "ID")]
        release: Option<String>,
        /// Releases starting at or after this instant (RFC 3339). Default: now.
        #[arg(long, value_name = "INSTANT", conflicts_with = "release")]
        from: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// The CAB agenda: releases starting in the range that await a decision,
    /// by environment and risk, with readiness, rollback, approvals,
    /// conflicts and the decision asked for.
    Agenda {
        /// A plan file (the model's risk weights); or use --db (the team's).
        plan: Option<PathBuf>,
        /// Use the calendar in this database instead of a plan file.
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        db: Option<PathBuf>,
        /// Range start (RFC 3339). Default: now.
        #[arg(long, value_name = "INSTANT")]
        from: Option<String>,
        /// Range end (RFC 3339). Default: seven days after --from.
        #[arg(long, value_name = "INSTANT")]
        to: Option<String>,
        /// Output format: Markdown for a meeting document, or JSON.
        #[arg(long, value_enum, default_value_t = MdOrJson::Md)]
        format: MdOrJson,
    },
    /// Delivery metrics over a period (docs/metrics.md): deployment frequency,
    /// change failure rate, time to restore, lead time (with --db).
    Metrics {
        /// A plan file; or use --db (lead time needs the audit trail).
        plan: Option<PathBuf>,
        /// Use the calendar and audit trail in this database instead of a plan file.
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        db: Option<PathBuf>,
        /// Period start (RFC 3339). Default: 30 days before --to.
        #[arg(long, value_name = "INSTANT")]
        from: Option<String>,
        /// Period end, exclusive (RFC 3339). Default: now.
        #[arg(long, value_name = "INSTANT")]
        to: Option<String>,
        /// An environment (repeat for several). Default: the production ones.
        #[arg(long = "env", value_name = "ENV")]
        environments: Vec<String>,
        /// A team (repeat for several). Default: all.
        #[arg(long = "team", value_name = "T")]
        teams: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Grant a freeze exception as yourself (--by, else your user name): the
    /// approver acts; who asked is named, and may not be you; the release's
    /// owner may not grant it. With --expires the freeze applies again from then.
    /// (To ask first and have it approved later, see `relcal exceptions`.)
    Exception {
        /// Release id.
        id: String,
        /// The freeze it may run in.
        #[arg(long, value_name = "FREEZE")]
        freeze: String,
        /// Why the freeze must be broken.
        #[arg(long)]
        reason: String,
        /// Who asked for it.
        #[arg(long, value_name = "NAME")]
        requested_by: String,
        /// When it ends (RFC 3339).
        #[arg(long, value_name = "INSTANT")]
        expires: Option<String>,
        #[command(flatten)]
        db: DbArg,
        /// Who approves (recorded in the audit trail). Default: the OS user.
        #[arg(long)]
        by: Option<String>,
    },
    /// Freeze exceptions asked for by one person and approved by another,
    /// maybe on another desktop (a synced database carries the requests).
    Exceptions {
        #[command(subcommand)]
        action: ExceptionsCommand,
    },
    /// Change one release: a pipeline marks it in progress, done or rolled back, or reschedules it.
    Release {
        #[command(subcommand)]
        change: ReleaseCommand,
    },
    /// Approve a release as yourself (--by, else your user name), or withdraw
    /// your approval (--revoke). The owner cannot approve; each person counts once.
    Approve {
        /// Release id.
        id: String,
        /// Withdraw the approval instead.
        #[arg(long)]
        revoke: bool,
        #[command(flatten)]
        db: DbArg,
        /// Who approves (recorded in the audit trail). Default: the user name.
        #[arg(long)]
        by: Option<String>,
    },
    /// Show a release's readiness checklist, or tick (--done) and untick
    /// (--undone) its items; an unknown item writes nothing.
    Checklist {
        /// Release id.
        id: String,
        /// Tick this item (its id; repeat for several).
        #[arg(long = "done", value_name = "ITEM")]
        done: Vec<String>,
        /// Untick this item (repeat for several).
        #[arg(long = "undone", value_name = "ITEM")]
        undone: Vec<String>,
        #[command(flatten)]
        db: DbArg,
        /// Who ticks (recorded with the item and in the audit trail).
        #[arg(long)]
        by: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// List the releases in a range (default: the next 30 days).
    Releases {
        #[command(flatten)]
        db: DbArg,
        /// From (RFC 3339, or a local time in the calendar's zone). Default: now.
        #[arg(long, value_name = "T")]
        from: Option<String>,
        /// To (at most 366 days after --from). Default: 30 days after --from.
        #[arg(long, value_name = "T")]
        to: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// List the freezes, each with its rule in words.
    Freezes {
        #[command(flatten)]
        db: DbArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// The go/no-go view: each active release of the next N days with its
    /// verdict (go, at_risk, no_go) and the reasons.
    #[command(name = "go-no-go")]
    GoNoGo {
        #[command(flatten)]
        db: DbArg,
        /// Days ahead, 1 to 31.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=31))]
        days: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// GitLab adapters: deploy freeze periods and deployments.
    Gitlab {
        #[command(subcommand)]
        command: GitLabCommand,
    },
    /// Argo CD: the calendar's freezes as an AppProject's sync windows.
    Argocd {
        #[command(subcommand)]
        command: ArgoCommand,
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
pub(crate) struct GitLabProject {
    #[command(flatten)]
    pub(crate) db: DbArg,
    /// The GitLab instance, e.g. https://gitlab.com.
    #[arg(long, value_name = "URL")]
    pub(crate) url: String,
    /// The project: its id or group/name path.
    #[arg(long)]
    pub(crate) project: String,
}

impl GitLabProject {
    /// The instance, with the token from GITLAB_TOKEN or the keyring.
    pub(crate) fn client(&self) -> Result<relcal_http::GitLab, ApiError> {
        relcal_http::GitLab::new(&self.url, relcal_http::gitlab_token(&self.url))
    }
}

#[derive(Subcommand)]
pub(crate) enum GitLabCommand {
    /// Import a project's deploy freeze periods as recurring freezes (the
    /// project's freezes here become exactly GitLab's). Token: GITLAB_TOKEN.
    Freezes {
        #[command(flatten)]
        on: GitLabProject,
        /// Limit the freezes to these environments (comma-separated ids; default: all).
        #[arg(long, value_delimiter = ',')]
        environments: Vec<String>,
    },
    /// Make the project's deploy freeze periods exactly the calendar's
    /// freezes that a cron pattern can say (the others are named on stderr
    /// and make the exit code 1): keeps, rewrites, adds and removes periods.
    /// Token: GITLAB_TOKEN, with the `api` scope.
    PushFreezes {
        #[command(flatten)]
        on: GitLabProject,
        /// Only freezes that can apply to this service (repeat for several; default: any).
        #[arg(long = "service", value_name = "S")]
        services: Vec<String>,
        #[command(flatten)]
        filter: PushFilter,
        /// Say what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
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

/// Which freezes go out (`gitlab push-freezes`, `argocd sync-windows`).
#[derive(clap::Args)]
pub(crate) struct PushFilter {
    /// Only freezes that can apply in this environment (repeat for several).
    #[arg(long = "env", value_name = "ENV")]
    pub(crate) environments: Vec<String>,
    /// Soft freezes too (default: hard freezes only).
    #[arg(long)]
    pub(crate) include_soft: bool,
}

#[derive(Subcommand)]
pub(crate) enum ArgoCommand {
    /// Print the freezes a cron pattern can say exactly as Argo CD sync
    /// windows (kind: deny) for an AppProject's spec; the others are named on
    /// stderr and make the exit code 1.
    SyncWindows {
        /// A plan file; or use --db.
        plan: Option<PathBuf>,
        /// Use the calendar in this database instead of a plan file.
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        db: Option<PathBuf>,
        #[command(flatten)]
        filter: PushFilter,
        /// Output format.
        #[arg(long, value_enum, default_value_t = YamlOrJson::Yaml)]
        format: YamlOrJson,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MdOrJson {
    Md,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum YamlOrJson {
    Yaml,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum GitHubCommand {
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
pub(crate) enum ExceptionsCommand {
    /// Ask, as yourself (--by, else your user name), for an exception to a
    /// freeze for a release; someone else approves it later. Prints its id.
    Ask {
        /// Release id.
        id: String,
        /// The freeze it should run in.
        #[arg(long, value_name = "FREEZE")]
        freeze: String,
        /// Why the freeze must be broken.
        #[arg(long)]
        reason: String,
        /// When the exception would end (RFC 3339).
        #[arg(long, value_name = "INSTANT")]
        expires: Option<String>,
        #[command(flatten)]
        db: DbArg,
        /// Who asks (recorded in the audit trail). Default: the user name.
        #[arg(long)]
        by: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// List the requests, newest first (pending ones only unless --all).
    List {
        #[command(flatten)]
        db: DbArg,
        /// Also those approved, declined or withdrawn.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Approve a request as yourself: the release gets the exception, with
    /// who asked, the reason and the expiry. Not for who asked, nor for the
    /// release's owner.
    Approve {
        /// Request id (`relcal exceptions list`).
        request: String,
        #[command(flatten)]
        db: DbArg,
        /// Who approves. Default: the user name.
        #[arg(long)]
        by: Option<String>,
    },
    /// Decline a request as yourself, saying why.
    Decline {
        /// Request id.
        request: String,
        /// Why.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        db: DbArg,
        /// Who declines. Default: the user name.
        #[arg(long)]
        by: Option<String>,
    },
    /// Withdraw a request you made.
    Withdraw {
        /// Request id.
        request: String,
        #[command(flatten)]
        db: DbArg,
        /// Who withdraws (who asked). Default: the user name.
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ReleaseCommand {
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
pub(crate) enum AuditCommand {
    /// Check the hash chain. Exit 0 intact, 1 broken (naming the first bad entry).
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// Also check it against the heads this sync server kept for this
        /// database, so a chain rewritten with its head is caught.
        #[arg(long, value_name = "URL")]
        server: Option<String>,
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
pub(crate) struct DbArg {
    /// The app's SQLite database. Default: the app's own database in the platform data dir.
    #[arg(long, value_name = "FILE")]
    pub(crate) db: Option<PathBuf>,
}

impl DbArg {
    pub(crate) fn path(&self) -> Result<PathBuf, ApiError> {
        match &self.db {
            Some(p) => Ok(p.clone()),
            None => relcal_api::default_db_path(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TextOrJson {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ExportFormat {
    Json,
    Ics,
}
