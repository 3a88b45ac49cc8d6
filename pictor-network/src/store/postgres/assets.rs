//! `AssetsTx` on PostgreSQL: blobs each account holds (proof of possession) and committed scene manifests, with the read rights they give.

use super::*;
use crate::store::AssetsTx;

impl AssetsTx for PgTx {
    async fn holds_blob(&mut self, account: u64, hash: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1::BIGINT FROM blob_holders WHERE account_id = $1 AND hash = $2",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(hash)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(found.is_some())
    }

    async fn add_blob_holder(&mut self, account: u64, hash: &str, size: u64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO blob_holders (account_id, hash, size) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(hash)
        .bind(to_i64(size, "size")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn held_bytes(&mut self, account: u64) -> StoreResult<u64> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0)::BIGINT FROM blob_holders WHERE account_id = $1",
        )
        .bind(to_i64(account, "account_id")?)
        .fetch_one(&mut *self.tx)
        .await?;
        u64::try_from(total).map_err(|_| StoreError::OutOfRange { column: "size" })
    }

    async fn insert_asset(&mut self, row: &AssetRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO assets (owner, id, manifest, total_size, files) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(to_i64(row.owner, "owner")?)
        .bind(&row.id)
        .bind(&row.manifest_json)
        .bind(to_i64(row.total_size, "total_size")?)
        .bind(i64::from(row.files))
        .execute(&mut *self.tx)
        .await?;
        for hash in &row.hashes {
            sqlx::query(
                "INSERT INTO asset_blobs (asset_id, hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&row.id)
            .bind(hash)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    async fn asset(&mut self, owner: u64, id: &str) -> StoreResult<Option<AssetRow>> {
        sqlx::query("SELECT * FROM assets WHERE owner = $1 AND id = $2")
            .bind(to_i64(owner, "owner")?)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(asset_row)
            .transpose()
    }

    async fn asset_any_owner(&mut self, id: &str) -> StoreResult<Option<AssetRow>> {
        sqlx::query("SELECT * FROM assets WHERE id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(asset_row)
            .transpose()
    }

    async fn asset_contains(&mut self, asset: &str, hash: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1::BIGINT FROM asset_blobs WHERE asset_id = $1 AND hash = $2",
        )
        .bind(asset)
        .bind(hash)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(found.is_some())
    }

    async fn may_read_asset(&mut self, account: u64, role: &str, asset: &str) -> StoreResult<bool> {
        let sql = match role {
            "worker" | "farm" => {
                "SELECT 1::BIGINT FROM tasks t JOIN jobs j ON j.id = t.job_id
                 WHERE t.state_name = 'leased' AND (t.state::jsonb ->> 'worker')::BIGINT = $1
                   AND (j.spec::jsonb ->> 'scene') = $2 LIMIT 1"
            }
            "checker" => {
                "SELECT 1::BIGINT FROM checks c JOIN tasks t ON t.id = c.task_id JOIN jobs j ON j.id = t.job_id
                 WHERE c.state = 'leased' AND c.checker = $1 AND (j.spec::jsonb ->> 'scene') = $2 LIMIT 1"
            }
            _ => return Ok(false),
        };
        let found: Option<i64> = sqlx::query_scalar(sql)
            .bind(to_i64(account, "account")?)
            .bind(asset)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    async fn may_read_blob(&mut self, account: u64, role: &str, hash: &str) -> StoreResult<bool> {
        let sql = match role {
            "creator" => {
                "SELECT 1::BIGINT FROM frames f JOIN jobs j ON j.id = f.job_id WHERE j.owner = $1 AND f.hash = $2 LIMIT 1"
            }
            "worker" | "farm" => {
                "SELECT 1::BIGINT FROM tasks t JOIN jobs j ON j.id = t.job_id
                   JOIN asset_blobs b ON b.asset_id = (j.spec::jsonb ->> 'scene')
                 WHERE t.state_name = 'leased' AND (t.state::jsonb ->> 'worker')::BIGINT = $1 AND b.hash = $2 LIMIT 1"
            }
            "checker" => {
                "SELECT 1::BIGINT FROM checks c JOIN tasks t ON t.id = c.task_id JOIN jobs j ON j.id = t.job_id
                 WHERE c.state = 'leased' AND c.checker = $1 AND (
                   EXISTS (SELECT 1::BIGINT FROM jsonb_array_elements(COALESCE(c.subject, t.outputs)::jsonb) o(value) WHERE o.value ->> 'hash' = $2
                                                                      OR o.value -> 'evidence' ->> 'hash' = $2)
                   OR EXISTS (SELECT 1::BIGINT FROM asset_blobs b
                              WHERE b.asset_id = (j.spec::jsonb ->> 'scene') AND b.hash = $2))
                 LIMIT 1"
            }
            _ => return Ok(false),
        };
        let found: Option<i64> = sqlx::query_scalar(sql)
            .bind(to_i64(account, "account")?)
            .bind(hash)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }
}
