//! Statements on a SQLite connection run where they are called: no hand-off to a connection
//! thread and back per statement (issue 16: those hand-offs were most of a settlement's cost).
//!
//! The builder reads like sqlx's (`query(sql).bind(v).fetch_optional(&mut self.tx).await?`), so
//! the SQL of both stores keeps one shape, but each call steps the statement on the calling thread
//! through [`rusqlite`] — a few microseconds for the indexed statements of the service — and
//! answers a future that is already complete. Statements are prepared once per connection and
//! kept in its cache; rows come back owned ([`Row`]), read by column name through
//! [`Columns`](crate::store::sql::Columns).

use super::{StoreError, StoreResult};
use crate::store::sql::Columns;
use rusqlite::types::Value;
use std::borrow::Cow;
use std::future::{Ready, ready};
use std::sync::Arc;

/// A value a statement binds.
pub(crate) trait Bind {
    /// The value as SQLite stores it.
    fn value(self) -> Value;
}

impl Bind for i64 {
    fn value(self) -> Value {
        Value::Integer(self)
    }
}

impl Bind for i32 {
    fn value(self) -> Value {
        Value::Integer(i64::from(self))
    }
}

impl Bind for u32 {
    fn value(self) -> Value {
        Value::Integer(i64::from(self))
    }
}

impl Bind for bool {
    fn value(self) -> Value {
        Value::Integer(i64::from(self))
    }
}

impl Bind for String {
    fn value(self) -> Value {
        Value::Text(self)
    }
}

impl Bind for &String {
    fn value(self) -> Value {
        Value::Text(self.clone())
    }
}

impl Bind for &str {
    fn value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl Bind for Vec<u8> {
    fn value(self) -> Value {
        Value::Blob(self)
    }
}

impl Bind for &Vec<u8> {
    fn value(self) -> Value {
        Value::Blob(self.clone())
    }
}

impl Bind for &[u8] {
    fn value(self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl<T: Bind> Bind for Option<T> {
    fn value(self) -> Value {
        self.map_or(Value::Null, Bind::value)
    }
}

impl<'a, T> Bind for &'a Option<T>
where
    &'a T: Bind,
{
    fn value(self) -> Value {
        self.as_ref().map_or(Value::Null, Bind::value)
    }
}

/// A value a statement's result column decodes to.
pub(crate) trait Decode: Sized {
    /// `value` of column `column` as this type.
    fn decode(value: &Value, column: &str) -> StoreResult<Self>;
}

fn mismatch(column: &str, expected: &'static str, value: &Value) -> StoreError {
    StoreError::Decode {
        column: column.to_owned(),
        expected,
        found: match value {
            Value::Null => "NULL",
            Value::Integer(_) => "INTEGER",
            Value::Real(_) => "REAL",
            Value::Text(_) => "TEXT",
            Value::Blob(_) => "BLOB",
        },
    }
}

impl Decode for i64 {
    fn decode(value: &Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Integer(int) => Ok(*int),
            other => Err(mismatch(column, "INTEGER", other)),
        }
    }
}

impl Decode for String {
    fn decode(value: &Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Text(text) => Ok(text.clone()),
            other => Err(mismatch(column, "TEXT", other)),
        }
    }
}

impl Decode for Vec<u8> {
    fn decode(value: &Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Blob(bytes) => Ok(bytes.clone()),
            other => Err(mismatch(column, "BLOB", other)),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(value: &Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Null => Ok(None),
            value => T::decode(value, column).map(Some),
        }
    }
}

/// One result row, owned: its columns' names (shared by the rows of one answer) and values.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of the column named `column`.
    fn raw(&self, column: &str) -> StoreResult<&Value> {
        self.names
            .iter()
            .position(|name| name == column)
            .and_then(|index| self.values.get(index))
            .ok_or_else(|| StoreError::Decode {
                column: column.to_owned(),
                expected: "a column of the answer",
                found: "no such column",
            })
    }

    /// The column named `column`, decoded.
    pub(crate) fn try_get<T: Decode>(&self, column: &str) -> StoreResult<T> {
        T::decode(self.raw(column)?, column)
    }

    /// The columns' names and values, in the statement's order (for copying a table whole).
    pub(crate) fn into_values(self) -> Vec<Value> {
        self.values
    }
}

impl Columns for Row {
    fn int(&self, column: &'static str) -> StoreResult<i64> {
        self.try_get(column)
    }
    fn opt_int(&self, column: &'static str) -> StoreResult<Option<i64>> {
        self.try_get(column)
    }
    fn text(&self, column: &'static str) -> StoreResult<String> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &'static str) -> StoreResult<Option<String>> {
        self.try_get(column)
    }
    fn bytes(&self, column: &'static str) -> StoreResult<Vec<u8>> {
        self.try_get(column)
    }
}

/// What a statement that returns no rows did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Done {
    changes: u64,
}

impl Done {
    /// Rows the statement inserted, changed or deleted.
    pub(crate) fn rows_affected(&self) -> u64 {
        self.changes
    }
}

/// The text of a statement: a literal, or one put together at run time.
pub(crate) trait SqlText {
    /// The text.
    fn text(self) -> Cow<'static, str>;
}

impl SqlText for &'static str {
    fn text(self) -> Cow<'static, str> {
        Cow::Borrowed(self)
    }
}

impl SqlText for String {
    fn text(self) -> Cow<'static, str> {
        Cow::Owned(self)
    }
}

impl SqlText for sqlx::AssertSqlSafe<String> {
    fn text(self) -> Cow<'static, str> {
        Cow::Owned(self.0)
    }
}

/// A statement with its bound values; [`query`] starts one.
#[derive(Debug)]
pub(crate) struct Query {
    sql: Cow<'static, str>,
    values: Vec<Value>,
}

/// A statement: `?` placeholders, bound in order by [`Query::bind`].
pub(crate) fn query(sql: impl SqlText) -> Query {
    Query {
        sql: sql.text(),
        values: Vec::new(),
    }
}

/// A statement answering one column, decoded as `T`.
pub(crate) fn query_scalar<T: Decode>(sql: impl SqlText) -> QueryScalar<T> {
    QueryScalar {
        query: query(sql),
        decode: std::marker::PhantomData,
    }
}

/// Several statements without bound values (the migrations), run in order.
pub(crate) fn raw_sql(sql: impl SqlText) -> RawSql {
    RawSql { sql: sql.text() }
}

impl Query {
    /// Binds the next `?`.
    pub(crate) fn bind(mut self, value: impl Bind) -> Self {
        self.values.push(value.value());
        self
    }

    /// Runs the statement to its end (any rows it answers are read and dropped).
    pub(crate) fn execute(self, conn: &mut rusqlite::Connection) -> Ready<StoreResult<Done>> {
        ready(
            self.run(conn, |_| Ok(()), None)
                .map(|(_, changes)| Done { changes }),
        )
    }

    /// Every row the statement answers.
    pub(crate) fn fetch_all(self, conn: &mut rusqlite::Connection) -> Ready<StoreResult<Vec<Row>>> {
        ready(self.rows(conn, None))
    }

    /// The first row, if any.
    pub(crate) fn fetch_optional(
        self,
        conn: &mut rusqlite::Connection,
    ) -> Ready<StoreResult<Option<Row>>> {
        ready(self.rows(conn, Some(1)).map(|rows| rows.into_iter().next()))
    }

    /// The first row; no row is an error.
    pub(crate) fn fetch_one(self, conn: &mut rusqlite::Connection) -> Ready<StoreResult<Row>> {
        ready(
            self.rows(conn, Some(1))
                .and_then(|rows| rows.into_iter().next().ok_or(StoreError::NoRow)),
        )
    }

    fn rows(self, conn: &rusqlite::Connection, limit: Option<usize>) -> StoreResult<Vec<Row>> {
        let mut names: Option<Arc<[String]>> = None;
        let mut rows = Vec::new();
        self.run(
            conn,
            |row| {
                let statement = row.as_ref();
                let count = statement.column_count();
                let names = names
                    .get_or_insert_with(|| {
                        statement
                            .column_names()
                            .into_iter()
                            .map(str::to_owned)
                            .collect()
                    })
                    .clone();
                let values = (0..count)
                    .map(|index| row.get::<_, Value>(index))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                rows.push(Row { names, values });
                Ok(())
            },
            limit,
        )?;
        Ok(rows)
    }

    /// Steps the statement, handing each row to `each` (at most `limit` rows, then the statement
    /// is reset: a `LIMIT`less read stops there); answers the rows seen and the changes made.
    fn run(
        self,
        conn: &rusqlite::Connection,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
        limit: Option<usize>,
    ) -> StoreResult<(usize, u64)> {
        let mut statement = conn.prepare_cached(&self.sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(self.values.iter()))?;
        let mut seen = 0;
        while limit.is_none_or(|limit| seen < limit) {
            let Some(row) = rows.next()? else { break };
            each(row)?;
            seen += 1;
        }
        drop(rows);
        Ok((seen, conn.changes()))
    }
}

/// A [`Query`] whose first column is its answer.
#[derive(Debug)]
pub(crate) struct QueryScalar<T> {
    query: Query,
    decode: std::marker::PhantomData<fn() -> T>,
}

impl<T: Decode> QueryScalar<T> {
    /// Binds the next `?`.
    pub(crate) fn bind(mut self, value: impl Bind) -> Self {
        self.query = self.query.bind(value);
        self
    }

    /// The first row's first column; no row is an error.
    pub(crate) fn fetch_one(self, conn: &mut rusqlite::Connection) -> Ready<StoreResult<T>> {
        ready(
            self.first(conn)
                .and_then(|value| value.ok_or(StoreError::NoRow)),
        )
    }

    /// The first row's first column, if there is a row.
    pub(crate) fn fetch_optional(
        self,
        conn: &mut rusqlite::Connection,
    ) -> Ready<StoreResult<Option<T>>> {
        ready(self.first(conn))
    }

    /// Every row's first column.
    pub(crate) fn fetch_all(self, conn: &mut rusqlite::Connection) -> Ready<StoreResult<Vec<T>>> {
        ready(
            self.query
                .rows(conn, None)
                .and_then(|rows| rows.iter().map(Self::column).collect()),
        )
    }

    fn first(self, conn: &rusqlite::Connection) -> StoreResult<Option<T>> {
        let rows = self.query.rows(conn, Some(1))?;
        rows.first().map(Self::column).transpose()
    }

    fn column(row: &Row) -> StoreResult<T> {
        let name = row.names.first().map_or("", String::as_str);
        match row.values.first() {
            Some(value) => T::decode(value, name),
            None => Err(StoreError::NoRow),
        }
    }
}

/// Statements without bound values, run in order by [`RawSql::execute`].
#[derive(Debug)]
pub(crate) struct RawSql {
    sql: Cow<'static, str>,
}

impl RawSql {
    /// Runs every statement of the text.
    pub(crate) fn execute(self, conn: &mut rusqlite::Connection) -> Ready<StoreResult<()>> {
        ready(conn.execute_batch(&self.sql).map_err(StoreError::from))
    }
}

/// A statement put together piece by piece (a listing's optional filters), binding as it goes.
#[derive(Debug)]
pub(crate) struct QueryBuilder {
    query: Query,
}

impl crate::store::sql::SqlBuilder for QueryBuilder {
    fn new(sql: &str) -> Self {
        QueryBuilder {
            query: query(sql.to_owned()),
        }
    }

    fn push(&mut self, sql: &str) -> &mut Self {
        self.query.sql.to_mut().push_str(sql);
        self
    }

    fn push_bind_int(&mut self, value: i64) -> &mut Self {
        self.query.sql.to_mut().push('?');
        self.query.values.push(Value::Integer(value));
        self
    }

    fn push_bind_text(&mut self, value: String) -> &mut Self {
        self.query.sql.to_mut().push('?');
        self.query.values.push(Value::Text(value));
        self
    }
}

impl QueryBuilder {
    /// The statement as built.
    pub(crate) fn build(self) -> Query {
        self.query
    }

    /// The statement as built, answering its first column as `T`.
    pub(crate) fn build_query_scalar<T: Decode>(self) -> QueryScalar<T> {
        QueryScalar {
            query: self.query,
            decode: std::marker::PhantomData,
        }
    }
}
