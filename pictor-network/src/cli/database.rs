//! `--database`: where a coordinator's state lives — a SQLite file or a PostgreSQL database.

use anyhow::{Result, bail};
use sqlx::postgres::PgConnectOptions;
use std::path::PathBuf;
use std::str::FromStr;

/// The store `--database` names.
pub(super) enum Database {
    /// A SQLite database file: the data directory's, or the one named.
    Sqlite(Option<PathBuf>),
    /// A PostgreSQL database.
    Postgres(Box<PgConnectOptions>),
}

impl Database {
    /// Parses `--database`: `sqlite`, `sqlite:PATH`, or a `postgres://` / `postgresql://` URL
    /// without a password.
    pub(super) fn parse(text: &str) -> Result<Database> {
        if text == "sqlite" {
            return Ok(Database::Sqlite(None));
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            if path.is_empty() || path.starts_with("//") {
                bail!("--database: sqlite:PATH names a database file, e.g. sqlite:/srv/pictor.db");
            }
            return Ok(Database::Sqlite(Some(PathBuf::from(path))));
        }
        let Some(rest) = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
        else {
            bail!(
                "--database: {text:?} is neither `sqlite`, `sqlite:PATH` nor a postgres:// URL \
                 (postgres://USER@HOST[:PORT]/DATABASE)"
            );
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if let Some((user_info, _)) = authority.rsplit_once('@')
            && user_info.contains(':')
        {
            bail!(
                "--database: the URL holds a password, which every user of this machine could read \
                 in the process list; give it in PGPASSWORD or ~/.pgpass instead"
            );
        }
        let options = PgConnectOptions::from_str(text)
            .map_err(|error| anyhow::anyhow!("--database: not a PostgreSQL URL: {error}"))?;
        Ok(Database::Postgres(Box::new(options)))
    }
}

#[cfg(test)]
mod tests {
    use super::Database;

    fn refusal(text: &str) -> String {
        match Database::parse(text) {
            Ok(_) => panic!("{text} was accepted"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn the_database_is_sqlite_or_a_postgres_url_without_a_password() {
        assert!(matches!(
            Database::parse("sqlite"),
            Ok(Database::Sqlite(None))
        ));
        assert!(matches!(
            Database::parse("sqlite:/srv/pictor/state.db"),
            Ok(Database::Sqlite(Some(path))) if path == std::path::Path::new("/srv/pictor/state.db")
        ));
        for url in [
            "postgres://pictor@db.example/pictor",
            "postgresql://pictor@localhost:5433/pictor?sslmode=require",
            "postgres://pictor@localhost/pictor?host=/run/postgresql",
        ] {
            assert!(
                matches!(Database::parse(url), Ok(Database::Postgres(_))),
                "{url}"
            );
        }
        let password = refusal("postgres://pictor:hunter2@db.example/pictor");
        assert!(password.contains("PGPASSWORD"), "{password}");
        assert!(
            !password.contains("hunter2"),
            "the refusal repeats no secret"
        );
        for other in ["mysql://x@y/z", "sqlite:", "sqlite://x", "", "postgres"] {
            let error = refusal(other);
            assert!(error.contains("--database"), "{other}: {error}");
        }
    }
}
