//! `relcal`: the engine without the window (shared/spec/cli.md).
//!
//! Glue only: parse arguments, call one `relcal_api` use case, print, and map
//! the outcome to the contract's exit codes (0 yes, 1 no, 2 invalid input or
//! usage, 3 could not work).

use clap::{Parser, Subcommand, ValueEnum};
use relcal_api::{ApiError, ErrorCode};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "relcal",
    version,
    about = "Release calendar engine: validate, import and export plans"
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
    /// Print the calendar as a plan.
    Export {
        #[command(flatten)]
        db: DbArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
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

fn run(cli: Cli) -> Result<(), ApiError> {
    match cli.command {
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
        Command::Import { plan, db, by: _ } => {
            // Validate before touching the database: invalid input writes nothing.
            let text = read_plan(&plan)?;
            relcal_api::validate_plan_text(&text)?;
            let path = db.path()?;
            let mut store = relcal_api::open_store(&path)?;
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
            if let ExportFormat::Ics = format {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    "--format ics: iCalendar export is not available in this version; use --format json",
                ));
            }
            let path = db.path()?;
            if !path.exists() {
                return Err(ApiError::new(
                    ErrorCode::Unavailable,
                    format!("cannot open the database {}: no such file", path.display()),
                ));
            }
            let store = relcal_api::open_store(&path)?;
            println!("{}", relcal_api::export_plan_json(&store)?);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relcal: {}", e.message);
            ExitCode::from(match e.code {
                ErrorCode::Validation | ErrorCode::NotFound => 2,
                ErrorCode::Unavailable | ErrorCode::Internal => 3,
            })
        }
    }
}
