//! The values the dashboard's label filters offer.

use super::{DbError, Store, on_pool};

/// Every value each label takes in the fleet (non-empty, sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LabelValues {
    pub team: Vec<String>,
    pub environment: Vec<String>,
    pub region: Vec<String>,
}

impl Store {
    /// The distinct teams, environments and regions of the registered targets: the choices
    /// of the cluster list's filters (three small `SELECT DISTINCT`s, not every target row).
    pub async fn label_values(&self) -> Result<LabelValues, DbError> {
        let mut values = LabelValues::default();
        for (column, out) in [
            ("team", &mut values.team),
            ("environment", &mut values.environment),
            ("region", &mut values.region),
        ] {
            // `column` is one of three fixed names above, never input.
            let sql = format!(
                "SELECT DISTINCT {column} FROM targets WHERE {column} <> '' ORDER BY {column}"
            );
            *out = on_pool!(self, |pool| {
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_all(pool)
                    .await?
            });
        }
        Ok(values)
    }
}
