//! The SQL of [`PeopleTx`](super::PeopleTx), one text for both stores: each query is built with
//! the backend's [`SqlBuilder`] (sqlx's `QueryBuilder` numbers the placeholders the PostgreSQL
//! way), and each backend only runs it on its transaction.

use super::sql::{Columns, SqlBuilder, get_u64, to_i64};
use super::{PersonRow, StoreResult};

pub(crate) fn insert_person<B: SqlBuilder>(
    login: &str,
    password_hash: &str,
    created_at_ms: u64,
) -> StoreResult<B> {
    let mut built = B::new("INSERT INTO people (login, password_hash, created_at_ms) VALUES (");
    built
        .push_bind_text(login.to_string())
        .push(", ")
        .push_bind_text(password_hash.to_string())
        .push(", ")
        .push_bind_int(to_i64(created_at_ms, "created_at_ms")?)
        .push(") RETURNING id");
    Ok(built)
}

pub(crate) fn person_by_login<B: SqlBuilder>(login: &str) -> B {
    let mut built = B::new("SELECT * FROM people WHERE login = ");
    built.push_bind_text(login.to_string());
    built
}

pub(crate) fn person<B: SqlBuilder>(id: u64) -> StoreResult<B> {
    let mut built = B::new("SELECT * FROM people WHERE id = ");
    built.push_bind_int(to_i64(id, "id")?);
    Ok(built)
}

pub(crate) fn link_account<B: SqlBuilder>(person: u64, account: u64) -> StoreResult<B> {
    let mut built = B::new("INSERT INTO person_accounts (account_id, person_id) VALUES (");
    built
        .push_bind_int(to_i64(account, "account_id")?)
        .push(", ")
        .push_bind_int(to_i64(person, "person_id")?)
        .push(")");
    Ok(built)
}

pub(crate) fn person_of_account<B: SqlBuilder>(account: u64) -> StoreResult<B> {
    let mut built = B::new("SELECT person_id FROM person_accounts WHERE account_id = ");
    built.push_bind_int(to_i64(account, "account_id")?);
    Ok(built)
}

pub(crate) fn accounts_of_person<B: SqlBuilder>(person: u64) -> StoreResult<B> {
    let mut built = B::new("SELECT account_id FROM person_accounts WHERE person_id = ");
    built
        .push_bind_int(to_i64(person, "person_id")?)
        .push(" ORDER BY account_id");
    Ok(built)
}

/// A row of `people`.
pub(crate) fn person_row(row: &impl Columns) -> StoreResult<PersonRow> {
    Ok(PersonRow {
        id: get_u64(row, "id")?,
        login: row.text("login")?,
        password_hash: row.text("password_hash")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
    })
}

/// Implements [`PeopleTx`](super::PeopleTx) for a backend's transaction type (whose `tx` field is
/// its open transaction, run through the backend's `exec` module), running this module's queries: invoked once by each backend.
macro_rules! impl_people_tx {
    ($tx:ty, $builder:ty) => {
        impl $crate::store::PeopleTx for $tx {
            async fn insert_person(
                &mut self,
                login: &str,
                password_hash: &str,
                created_at_ms: u64,
            ) -> StoreResult<u64> {
                let id: i64 = $crate::store::people_sql::insert_person::<$builder>(
                    login,
                    password_hash,
                    created_at_ms,
                )?
                .build_query_scalar()
                .fetch_one(&mut *self.tx)
                .await?;
                u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
            }

            async fn person_by_login(
                &mut self,
                login: &str,
            ) -> StoreResult<Option<$crate::store::PersonRow>> {
                $crate::store::people_sql::person_by_login::<$builder>(login)
                    .build()
                    .fetch_optional(&mut *self.tx)
                    .await?
                    .as_ref()
                    .map($crate::store::people_sql::person_row)
                    .transpose()
            }

            async fn person(&mut self, id: u64) -> StoreResult<Option<$crate::store::PersonRow>> {
                $crate::store::people_sql::person::<$builder>(id)?
                    .build()
                    .fetch_optional(&mut *self.tx)
                    .await?
                    .as_ref()
                    .map($crate::store::people_sql::person_row)
                    .transpose()
            }

            async fn link_account(&mut self, person: u64, account: u64) -> StoreResult<()> {
                $crate::store::people_sql::link_account::<$builder>(person, account)?
                    .build()
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn person_of_account(&mut self, account: u64) -> StoreResult<Option<u64>> {
                let person: Option<i64> =
                    $crate::store::people_sql::person_of_account::<$builder>(account)?
                        .build_query_scalar()
                        .fetch_optional(&mut *self.tx)
                        .await?;
                person
                    .map(|id| {
                        u64::try_from(id).map_err(|_| StoreError::OutOfRange {
                            column: "person_id",
                        })
                    })
                    .transpose()
            }

            async fn accounts_of_person(&mut self, person: u64) -> StoreResult<Vec<u64>> {
                let ids: Vec<i64> =
                    $crate::store::people_sql::accounts_of_person::<$builder>(person)?
                        .build_query_scalar()
                        .fetch_all(&mut *self.tx)
                        .await?;
                ids.into_iter()
                    .map(|id| {
                        u64::try_from(id).map_err(|_| StoreError::OutOfRange {
                            column: "account_id",
                        })
                    })
                    .collect()
            }
        }
    };
}
pub(crate) use impl_people_tx;
